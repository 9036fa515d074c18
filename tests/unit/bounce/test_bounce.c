/* test_bounce.c - the composition of delivery status notifications
 * (bounce/bounce.h): Postfix's wording, RFC 3464 structure, what of the
 * original is returned. tests/e2e/test_bounce.py parses real notices with
 * Python's email package. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bounce/bounce.h"
#include "lib/str.h"
#include "queue/qfile.h"

static const char original[] =
    "Received: by host\r\n"
    "From: alice@example.org\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "line one\r\n"
    "line two\r\n"
    "line three\r\n";

static void
info(struct bounce_info *b, enum bounce_kind kind)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->queue_id = "4ABCDEF";
	b->new_id = "5NEWID";
	b->sender = "alice@example.org";
	b->to = "alice@example.org";
	b->from = "MAILER-DAEMON@mx.example.com";
	b->myhostname = "mx.example.com";
	b->arrival = 1700000000;
	b->now = 1700000100;
	b->delay_warning_time = 4 * 3600;
	b->max_lifetime = 5 * 86400;
	b->content = original;
	b->content_len = sizeof(original) - 1;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_failure(void **state)
{
	struct bounce_rcpt r[2] = {
		{ "bob@nouser.test", NULL, 0, "5.1.1", "no such user", "none", NULL },
		{ "carol@example.net", "rfc822;list@example.org", 0, "5.7.1",
		  "host mx.example.net[192.0.2.1] said: 550 5.7.1 rejected", "mx.example.net", NULL },
	};
	struct bounce_info b;
	struct str out;

	info(&b, BOUNCE_FAILURE);
	str_init(&out, 4096);
	bounce_compose(&b, r, 2, &out);
	assert_non_null(strstr(out.s, "\nFrom: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n"));
	assert_non_null(strstr(out.s, "\nSubject: Undelivered Mail Returned to Sender\n"));
	assert_non_null(strstr(out.s, "\nTo: alice@example.org\n"));
	assert_non_null(strstr(out.s, "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"5NEWID.1700000100/mx.example.com\"\n"));
	assert_non_null(strstr(out.s, "This is the mail system at host mx.example.com.\n\n"
	    "I'm sorry to have to inform you that your message could not\n"
	    "be delivered to one or more recipients. It's attached below.\n"));
	assert_non_null(strstr(out.s, "<bob@nouser.test>: no such user\n"));
	assert_non_null(strstr(out.s, "<carol@example.net> (expanded from <list@example.org>): "));
	assert_non_null(strstr(out.s, "Reporting-MTA: dns; mx.example.com\n"));
	assert_non_null(strstr(out.s, "X-Postfix-Queue-ID: 4ABCDEF\n"));
	assert_non_null(strstr(out.s, "\nFinal-Recipient: rfc822; bob@nouser.test\n"
	    "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: X-Postfix; no such user\n"));
	assert_non_null(strstr(out.s, "Original-Recipient: rfc822;list@example.org\n"));
	assert_non_null(strstr(out.s, "Remote-MTA: dns; mx.example.net\n"
	    "Diagnostic-Code: smtp; host mx.example.net[192.0.2.1] said: 550 5.7.1 rejected\n"));
	/* the whole original (RET not given), LF line ends */
	assert_non_null(strstr(out.s, "Content-Type: message/rfc822\n"));
	assert_non_null(strstr(out.s, "Subject: hello\n\nline one\nline two\nline three\n"));
	assert_null(strstr(out.s, "\r"));
	/* three parts and the final boundary */
	assert_int_equal(count(out.s, "\n--5NEWID.1700000100/mx.example.com\n"), 3);
	assert_int_equal(count(out.s, "\n--5NEWID.1700000100/mx.example.com--\n"), 1);
	str_deinit(&out);

	/* RET=HDRS: headers only */
	b.ret_hdrs = true;
	b.envid = "ENV-42";
	str_init(&out, 4096);
	bounce_compose(&b, r, 1, &out);
	assert_non_null(strstr(out.s, "Content-Type: text/rfc822-headers\n"));
	assert_non_null(strstr(out.s, "Subject: hello\n"));
	assert_null(strstr(out.s, "line one"));
	assert_non_null(strstr(out.s, "Original-Envelope-Id: ENV-42\nReporting-MTA:"));
	str_deinit(&out);

	/* bounce_size_limit: cut at a line end, headers always kept */
	b.ret_hdrs = false;
	b.size_limit = strstr(original, "line two") - original + 3;
	str_init(&out, 4096);
	bounce_compose(&b, r, 1, &out);
	assert_non_null(strstr(out.s, "line one\n"));
	assert_null(strstr(out.s, "line two"));
	str_deinit(&out);
}

static void
test_delay(void **state)
{
	struct bounce_rcpt r = { "bob@slow.test", NULL, QFILE_NOTIFY_DELAY, "4.4.1",
		"connect to slow.test: Connection timed out", "none", NULL };
	struct bounce_info b;
	struct str out;

	info(&b, BOUNCE_DELAY);
	str_init(&out, 4096);
	bounce_compose(&b, &r, 1, &out);
	assert_non_null(strstr(out.s, "\nSubject: Delayed Mail (still being retried)\n"));
	assert_non_null(strstr(out.s, "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR "
	    "MESSAGE. #\n"));
	assert_non_null(strstr(out.s, "Your message could not be delivered for more than 4 "
	    "hour(s).\nIt will be retried until it is 5 day(s) old.\n"));
	assert_non_null(strstr(out.s, "Action: delayed\nStatus: 4.4.1\n"));
	assert_non_null(strstr(out.s, "Will-Retry-Until: "));
	assert_non_null(strstr(out.s, "Content-Type: text/rfc822-headers\n"));
	assert_null(strstr(out.s, "line one"));
	str_deinit(&out);

	b.postmaster_copy = true;
	str_init(&out, 4096);
	bounce_compose(&b, &r, 1, &out);
	assert_non_null(strstr(out.s, "\nSubject: Postmaster Warning: Delayed Mail\n"));
	str_deinit(&out);
}

/* NOTIFY=SUCCESS: Postfix's success template, Action: delivered (or the
 * transport's relayed/expanded), no Remote-MTA for local(8), headers only
 * unless RET=FULL */
static void
test_success(void **state)
{
	struct bounce_rcpt r[2] = {
		{ "bob@example.com", NULL, QFILE_NOTIFY_SUCCESS, "2.0.0", "delivered to mailbox",
		  "local", NULL },
		{ "list@example.com", NULL, QFILE_NOTIFY_SUCCESS, "2.0.0", "delivered to mailbox",
		  "local", "expanded" },
	};
	struct bounce_info b;
	struct str out;

	info(&b, BOUNCE_SUCCESS);
	str_init(&out, 4096);
	bounce_compose(&b, r, 2, &out);
	assert_non_null(strstr(out.s, "\nSubject: Successful Mail Delivery Report\n"));
	assert_non_null(strstr(out.s, "This is the mail system at host mx.example.com.\n\n"
	    "Your message was successfully delivered to the destination(s)\n"
	    "listed below. If the message was delivered to mailbox you will\n"
	    "receive no further notifications. Otherwise you may still receive\n"
	    "notifications of mail delivery errors from other systems.\n\n"
	    "                   The mail system\n\n<bob@example.com>: delivered to mailbox\n"));
	assert_null(strstr(out.s, "For further assistance"));
	assert_non_null(strstr(out.s, "\nFinal-Recipient: rfc822; bob@example.com\n"
	    "Action: delivered\nStatus: 2.0.0\nDiagnostic-Code: X-Postfix; delivered to mailbox\n"));
	assert_non_null(strstr(out.s, "\nAction: expanded\n"));
	assert_null(strstr(out.s, "Remote-MTA"));
	assert_null(strstr(out.s, "Will-Retry-Until"));
	assert_non_null(strstr(out.s, "Content-Description: Delivered Message Headers\n"
	    "Content-Type: text/rfc822-headers\n"));
	assert_null(strstr(out.s, "line one"));
	str_deinit(&out);
	b.ret_full = true;
	str_init(&out, 4096);
	bounce_compose(&b, r, 1, &out);
	assert_non_null(strstr(out.s, "Content-Description: Delivered Message\n"
	    "Content-Type: message/rfc822\n"));
	assert_non_null(strstr(out.s, "line one"));
	str_deinit(&out);
}

/* sendmail -v: every recipient with its own action, Postfix's verify
 * template text, headers only */
static void
test_trace(void **state)
{
	struct bounce_rcpt r[2] = {
		{ "bob@example.com", NULL, 0, "2.0.0", "delivered to mailbox", "local",
		  "delivered" },
		{ "carol@example.com", NULL, 0, "4.2.0", "mailbox locked", "local", "delayed" },
	};
	struct bounce_info b;
	struct str out;

	info(&b, BOUNCE_TRACE);
	str_init(&out, 4096);
	bounce_compose(&b, r, 2, &out);
	assert_non_null(strstr(out.s, "\nSubject: Mail Delivery Status Report\n"));
	assert_non_null(strstr(out.s, "This is the mail system at host mx.example.com.\n\n"
	    "Enclosed is the mail delivery report that you requested.\n\n"
	    "                   The mail system\n\n"));
	assert_non_null(strstr(out.s, "Final-Recipient: rfc822; bob@example.com\n"
	    "Action: delivered\n"));
	assert_non_null(strstr(out.s, "Final-Recipient: rfc822; carol@example.com\n"
	    "Action: delayed\nStatus: 4.2.0\n"));
	assert_non_null(strstr(out.s, "Content-Type: text/rfc822-headers\n"));
	assert_null(strstr(out.s, "line one"));
	str_deinit(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
