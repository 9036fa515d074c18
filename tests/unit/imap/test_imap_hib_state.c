/* test_imap_hib_state.c - the hibernation state record: ranges from a UID
 * array, format and parse back, and refusals (missing, repeated and unknown
 * keys, control characters, UID lists out of order or overlapping,
 * numbers out of range, no final newline). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "imap/imap_hib_state.h"
#include "lib/str.h"

static const char good[] = "YUBIN-HIB 1\nuser\tdemo\nsession\tabc\nrip\t127.0.0.1\n"
    "lip\t127.0.0.1\ntag\tA5\nmailbox\tINBOX\nuidvalidity\t17\nmodseq\t12\n"
    "uids\t1:5,7,9:12\nopts\tc\nin\t100\nout\t2000\n";

static void
test_roundtrip(void **state)
{
	static const uint32_t uids[] = { 1, 2, 3, 5, 9, 10, 4000000000u };
	struct imap_hib_state st, back;
	const char *err;
	struct str out;

	(void)state;
	memset(&st, 0, sizeof(st));
	imap_hib_state_uids_set(&st, uids, 7);
	assert_int_equal(st.nuids, 4);
	assert_int_equal(st.count, 7);
	snprintf(st.user, sizeof(st.user), "demo");
	snprintf(st.tag, sizeof(st.tag), "a1");
	snprintf(st.mailbox, sizeof(st.mailbox), "INBOX");
	st.uidvalidity = 99;
	st.modseq = 1ull << 40;
	st.qresync = st.rev2 = true;
	str_init(&out, 128);
	assert_int_equal(imap_hib_state_format(&st, &out), 0);
	assert_non_null(strstr(out.s, "uids\t1:3,5,9:10,4000000000\n"));
	assert_int_equal(imap_hib_state_parse(&back, out.s, out.len, &err), 0);
	assert_int_equal(back.count, 7);
	assert_int_equal(back.nuids, 4);
	assert_int_equal(back.uids[3].lo, 4000000000u);
	assert_true(back.qresync && back.rev2 && !back.condstore && !back.readonly);
	assert_int_equal(back.modseq, 1ull << 40);
	assert_string_equal(back.mailbox, "INBOX");
	imap_hib_state_deinit(&back);
	/* a tab in a value cannot travel */
	snprintf(st.mailbox, sizeof(st.mailbox), "a\tb");
	assert_int_equal(imap_hib_state_format(&st, &out), -1);
	imap_hib_state_deinit(&st);
	str_deinit(&out);
}

/* bad - good with one substring replaced must not parse */
static void
bad(const char *from, const char *to)
{
	struct imap_hib_state st;
	const char *err;
	char buf[1024];
	const char *at = strstr(good, from);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	assert_int_equal(imap_hib_state_parse(&st, buf, strlen(buf), &err), -1);
	imap_hib_state_deinit(&st);
}

static void
test_refusals(void **state)
{
	struct imap_hib_state st;
	const char *err;

	(void)state;
	assert_int_equal(imap_hib_state_parse(&st, good, strlen(good), &err), 0);
	assert_int_equal(st.count, 5 + 1 + 4);
	imap_hib_state_deinit(&st);
	/* no final newline */
	assert_int_equal(imap_hib_state_parse(&st, good, strlen(good) - 1, &err), -1);
	imap_hib_state_deinit(&st);
	bad("YUBIN-HIB 1", "YUBIN-HIB 2");
	bad("user\tdemo\n", "");
	bad("user\tdemo\n", "user\tdemo\nuser\tother\n");
	bad("user\tdemo", "uid\t0");
	bad("tag\tA5", "tag\tA\x01");
	bad("tag\tA5", "tag\tA 5");
	bad("uids\t1:5,7,9:12", "uids\t1:5,6");
	bad("uids\t1:5,7,9:12", "uids\t1:5,3");
	bad("uids\t1:5,7,9:12", "uids\t5:1");
	bad("uids\t1:5,7,9:12", "uids\t0:3");
	bad("uids\t1:5,7,9:12", "uids\t1,");
	bad("uids\t1:5,7,9:12", "uids\t1:4294967296");
	bad("uids\t1:5,7,9:12", "uids\t1::3");
	bad("uidvalidity\t17", "uidvalidity\t0");
	bad("modseq\t12", "modseq\t18446744073709551616");
	bad("opts\tc", "opts\tcc");
	bad("opts\tc", "opts\tx");
	bad("in\t100", "in\t-1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
