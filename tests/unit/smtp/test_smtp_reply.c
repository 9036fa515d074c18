/* test_smtp_reply.c - the SMTP client's reply parser: single and
 * multi-line replies, enhanced status codes, the bounds (line count,
 * mismatched continuation codes, garbage), and EHLO keywords. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtp/smtp-private.h"
#include "smtp/smtp_reply.h"

static int
feed(struct smtp_reply *r, const char *line)
{
	const char *err;

	return smtp_reply_feed(r, line, strlen(line), &err);
}

static void
test_multiline_reply(void **state)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "550-5.1.1 <u@example.com>: Recipient address rejected:"), 0);
	assert_int_equal(feed(&r, "550 5.1.1 User unknown"), 1);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.dsn, "5.1.1");
	assert_string_equal(r.text.s, "550-5.1.1 <u@example.com>: Recipient address rejected: "
	    "550 5.1.1 User unknown");
	/* the next line starts a new reply */
	assert_int_equal(feed(&r, "250 2.0.0 Ok: queued as ABC"), 1);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.text.s, "250 2.0.0 Ok: queued as ABC");
	/* a code alone; no detail code of another class */
	assert_int_equal(feed(&r, "421"), 1);
	assert_int_equal(r.code, 421);
	assert_int_equal(feed(&r, "250 5.1.1 odd"), 1);
	assert_string_equal(r.dsn, "");
	smtp_reply_deinit(&r);
}

static void
test_bad_replies(void **state)
{
	struct smtp_reply r;
	char big[SMTP_REPLY_LINE_MAX + 10];
	int i, rc = 0;

	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "hello"), -1);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "650 no such class"), -1);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "250x"), -1);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "250-a"), 0);
	assert_int_equal(feed(&r, "251 b"), -1);
	smtp_reply_reset(&r);
	/* endless continuation lines end in an error, not in memory growth */
	for (i = 0; i < SMTP_REPLY_LINES_MAX + 5 && rc == 0; i++)
		rc = feed(&r, "220-still talking");
	assert_int_equal(rc, -1);
	assert_true(i <= SMTP_REPLY_LINES_MAX + 1);
	smtp_reply_reset(&r);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "250 ", 4);
	assert_int_equal(feed(&r, big), -1);
	smtp_reply_deinit(&r);
}

static void
test_ehlo_keywords(void **state)
{
	struct smtp_reply r;
	struct smtp_ehlo e;

	smtp_reply_init(&r);
	feed(&r, "250-mx.example.com hello PIPELINING");
	feed(&r, "250-PIPELINING");
	feed(&r, "250-SIZE 10240000");
	feed(&r, "250-starttls");
	feed(&r, "250-AUTH LOGIN");
	feed(&r, "250-AUTH=PLAIN");
	feed(&r, "250-8BITMIME");
	feed(&r, "250 SMTPUTF8");
	smtp_ehlo_parse(&r, &e);
	assert_true(e.ext & SMTP_EXT_PIPELINING);
	assert_true(e.ext & SMTP_EXT_STARTTLS);
	assert_true(e.ext & SMTP_EXT_8BITMIME);
	assert_true(e.ext & SMTP_EXT_SMTPUTF8);
	assert_true(e.ext & SMTP_EXT_AUTH);
	assert_true(e.auth_plain && e.auth_login);
	assert_int_equal(e.size_limit, 10240000);
	/* the greeting line's words are not keywords */
	smtp_reply_reset(&r);
	feed(&r, "250 mx.example.com PIPELINING STARTTLS");
	smtp_ehlo_parse(&r, &e);
	assert_int_equal(e.ext, 0);
	smtp_reply_deinit(&r);
}

static void
test_nexthops(void **state)
{
	struct smtp_nexthop nh;
	const char *err;

	assert_int_equal(smtp_nexthop_parse("[10.0.0.1]:2525", false, 25, &nh, &err), 0);
	assert_string_equal(nh.host, "10.0.0.1");
	assert_int_equal(nh.port, 2525);
	assert_true(nh.no_mx);
	smtp_nexthop_deinit(&nh);
	assert_int_equal(smtp_nexthop_parse("example.com", false, 25, &nh, &err), 0);
	assert_false(nh.no_mx);
	assert_int_equal(nh.port, 25);
	smtp_nexthop_deinit(&nh);
	assert_int_equal(smtp_nexthop_parse("example.com:587", false, 25, &nh, &err), 0);
	assert_false(nh.no_mx);
	assert_int_equal(nh.port, 587);
	smtp_nexthop_deinit(&nh);
	assert_int_equal(smtp_nexthop_parse("[ipv6:::1]:25", false, 25, &nh, &err), 0);
	assert_string_equal(nh.host, "::1");
	smtp_nexthop_deinit(&nh);
	assert_int_equal(smtp_nexthop_parse("unix:/run/lmtp", true, 24, &nh, &err), 0);
	assert_true(nh.is_unix);
	assert_string_equal(nh.host, "/run/lmtp");
	smtp_nexthop_deinit(&nh);
	assert_int_equal(smtp_nexthop_parse("inet:lmtp.example:2424", true, 24, &nh, &err), 0);
	assert_true(nh.no_mx);
	assert_int_equal(nh.port, 2424);
	smtp_nexthop_deinit(&nh);
	assert_int_equal(smtp_nexthop_parse("[]", false, 25, &nh, &err), -1);
	assert_int_equal(smtp_nexthop_parse("[x]junk", false, 25, &nh, &err), -1);
	assert_int_equal(smtp_nexthop_parse("host:99999", false, 25, &nh, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multiline_reply),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_ehlo_keywords),
		cmocka_unit_test(test_nexthops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
