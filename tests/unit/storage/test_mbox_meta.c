/* test_mbox_meta.c - Dovecot's IMAP headers in mbox messages. The input
 * headers are what Debian's Dovecot 2.3 wrote (mbox:~/mail, APPEND with
 * flags and keywords, STORE, EXPUNGE), taken from a real run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/str.h"
#include "storage/mbox_meta.h"

/* the first and second messages of that mbox, without their From_ lines */
static const char dovecot1[] =
	"Subject: one\n"
	"X-IMAPbase: 1795619822 0000000004 $Label1 work todo\n"
	"X-UID: 1\n"
	"Status: RO\n"
	"X-Keywords: todo                                                \n"
	"Content-Length: 17\n"
	"\n"
	"body one\nFrom me\n";
static const char dovecot2[] =
	"Subject: two\n"
	"X-UID: 2\n"
	"Status: O\n"
	"X-Status: AF\n"
	"X-Keywords: $Label1 work                                          \n"
	"Content-Length: 9\n"
	"\n"
	"body two\n";

static void
test_dovecot_written(void **state)
{
	struct mbox_meta m;

	mbox_meta_parse(dovecot1, sizeof(dovecot1) - 1, &m);
	assert_true(m.has_base);
	assert_int_equal(m.uidvalidity, 1795619822u);
	assert_int_equal(m.last_uid, 4);
	assert_int_equal(m.nbase_keywords, 3);
	assert_string_equal(m.base_keywords[0], "$Label1");
	assert_string_equal(m.base_keywords[2], "todo");
	assert_int_equal(m.uid, 1);
	assert_int_equal(m.flags, MBOX_SEEN | MBOX_OLD);
	assert_int_equal(m.nkeywords, 1);
	assert_string_equal(m.keywords[0], "todo");
	assert_int_equal(m.header_len, strstr(dovecot1, "\n\n") + 2 - dovecot1);
	mbox_meta_free(&m);

	mbox_meta_parse(dovecot2, sizeof(dovecot2) - 1, &m);
	assert_false(m.has_base);
	assert_int_equal(m.uid, 2);
	assert_int_equal(m.flags, MBOX_OLD | MBOX_ANSWERED | MBOX_FLAGGED);
	assert_int_equal(m.nkeywords, 2);
	assert_string_equal(m.keywords[1], "work");
	mbox_meta_free(&m);
}

static void
test_format_round_trip(void **state)
{
	struct mbox_meta m, again;
	struct str out;

	mbox_meta_parse(dovecot1, sizeof(dovecot1) - 1, &m);
	m.flags |= MBOX_DELETED | MBOX_DRAFT;
	str_init(&out, 256);
	mbox_meta_format(&m, true, &out);
	assert_string_equal(out.s,
	    "X-IMAPbase: 1795619822 0000000004 $Label1 work todo\n"
	    "X-UID: 1\nStatus: RO\nX-Status: TD\nX-Keywords: todo\n");
	str_append(&out, "\nbody\n");
	mbox_meta_parse(out.s, out.len, &again);
	assert_int_equal(again.uid, 1);
	assert_int_equal(again.flags, m.flags);
	assert_int_equal(again.last_uid, 4);
	assert_int_equal(again.nbase_keywords, 3);
	assert_int_equal(again.header_len, out.len - 5);
	mbox_meta_free(&again);
	mbox_meta_free(&m);
	str_deinit(&out);
}

static void
test_odd_input(void **state)
{
	static const char odd[] =
		"x-uid: 99999999999\n"		/* overflows: ignored */
		"X-UID: 7\n"
		"STATUS: R\n"
		"X-Keywords: a\n b a\n"		/* folded, "a" twice */
		"X-IMAP: 5 nope\n"		/* no second number: ignored */
		"X-IMAPbase: 6 9\n"
		"no colon here\n"
		"\r\nX-UID: 8\n";		/* CRLF blank line ends the header */
	struct mbox_meta m;

	mbox_meta_parse(odd, sizeof(odd) - 1, &m);
	assert_int_equal(m.uid, 7);
	assert_int_equal(m.flags, MBOX_SEEN);
	assert_int_equal(m.nkeywords, 2);
	assert_string_equal(m.keywords[1], "b");
	assert_true(m.has_base);
	assert_int_equal(m.uidvalidity, 6);
	assert_int_equal(m.last_uid, 9);
	assert_true(mbox_meta_is_ours("x-status: A", 11));
	assert_false(mbox_meta_is_ours("Subject: x", 10));
	mbox_meta_free(&m);
	/* a keyword with a control character (a NUL too) is left out */
	mbox_meta_parse("X-Keywords: a b\001 \0x c\n\n", 23, &m);
	assert_int_equal(m.nkeywords, 2);
	assert_string_equal(m.keywords[1], "c");
	mbox_meta_free(&m);
	mbox_meta_parse("", 0, &m);
	assert_int_equal(m.header_len, 0);
	mbox_meta_free(&m);
}

static void
test_pseudo_message(void **state)
{
	/* the header of the pseudo message Debian's Dovecot wrote when every
	 * message was expunged, and ours parsed back */
	static const char dovecot[] =
	    "Date: Wed, 25 Nov 2026 17:21:33 +0000\n"
	    "From: Mail System Internal Data <MAILER-DAEMON@vm>\n"
	    "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
	    "Message-ID: <1795627293@vm>\n"
	    "X-IMAP: 1795627293 0000000004 $Label1 foo bar                            \n"
	    "Status: RO\n\nThis text is part of the internal format of your mail folder\n";
	char *kw[] = { "a", "$b" };
	struct mbox_meta m;
	struct str out;
	const char *nl;

	(void)state;
	mbox_meta_parse(dovecot, sizeof(dovecot) - 1, &m);
	assert_true(m.pseudo && m.has_base);
	assert_int_equal(m.uidvalidity, 1795627293);
	assert_int_equal(m.last_uid, 4);
	assert_int_equal(m.nbase_keywords, 3);
	assert_string_equal(m.base_keywords[2], "bar");
	mbox_meta_free(&m);
	/* an X-IMAPbase is no pseudo message */
	mbox_meta_parse("X-IMAPbase: 1 0000000002\n\n", 26, &m);
	assert_true(m.has_base && !m.pseudo);
	mbox_meta_free(&m);

	str_init(&out, 512);
	mbox_meta_pseudo(77, 12, kw, 2, 1795627293, &out);
	assert_memory_equal(out.s, "From MAILER_DAEMON  Wed Nov 25 17:21:33 2026\n", 45);
	nl = strchr(out.s, '\n');
	mbox_meta_parse(nl + 1, out.len - (size_t)(nl + 1 - out.s), &m);
	assert_true(m.pseudo);
	assert_int_equal(m.uidvalidity, 77);
	assert_int_equal(m.last_uid, 12);
	assert_int_equal(m.nbase_keywords, 2);
	assert_string_equal(m.base_keywords[1], "$b");
	assert_int_equal(m.flags, MBOX_SEEN | MBOX_OLD);
	assert_non_null(strstr(out.s, "\nX-IMAP: 77 0000000012 a $b\n"));
	assert_non_null(strstr(out.s,
	    "\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"));
	/* it ends with the separator line */
	assert_memory_equal(out.s + out.len - 2, "\n\n", 2);
	mbox_meta_free(&m);
	str_deinit(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dovecot_written),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_odd_input),
		cmocka_unit_test(test_pseudo_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
