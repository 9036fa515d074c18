/* test_str.c - the owned string and its overflow rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"

static void
test_append_grows_and_stays_terminated(void **state)
{
	struct str s;
	int i;

	str_init(&s, 1);
	for (i = 0; i < 1000; i++)
		str_append_c(&s, 'a' + i % 26);
	assert_int_equal(s.len, 1000);
	assert_int_equal(strlen(s.s), 1000);
	str_appendf(&s, "%d-%s", 42, "x");
	assert_string_equal(s.s + 1000, "42-x");
	str_truncate(&s, 3);
	assert_string_equal(s.s, "abc");
	str_deinit(&s);
}

static void
test_max_sets_sticky_overflow(void **state)
{
	struct str s;

	str_init(&s, 4);
	s.max = 5;
	str_append(&s, "abc");
	str_append(&s, "def");
	assert_true(s.overflow);
	assert_string_equal(s.s, "abc");
	str_append(&s, "d");
	assert_true(s.overflow);
	assert_string_equal(s.s, "abcd");
	str_reset(&s);
	assert_false(s.overflow);
	str_deinit(&s);
}

static void
test_export_and_free(void **state)
{
	struct str *s = str_new(0);
	char *p;

	str_append(s, "hello");
	p = str_export(s);
	assert_string_equal(p, "hello");
	assert_int_equal(s->len, 0);
	free(p);
	str_free(&s);
	assert_null(s);
	str_free(&s);
}

static void
test_log_line_shape_is_postfix(void **state)
{
	struct str line;

	str_init(&line, 64);
	/* 2025-11-23 22:22:17 in the test's time zone (TZ=UTC set in main). */
	log_format_line(&line, 1763936537, "host", "yubin/smtpd", 1234, LOG_LEVEL_INFO,
	    "3F2A1B2C3D: client=client.example[192.0.2.10]");
	assert_string_equal(line.s, "Nov 23 22:22:17 host yubin/smtpd[1234]: "
	    "3F2A1B2C3D: client=client.example[192.0.2.10]\n");
	str_reset(&line);
	log_format_line(&line, 1763936537, "host", "yubin/qmgr", 7, LOG_LEVEL_WARN, "odd");
	assert_string_equal(line.s, "Nov 23 22:22:17 host yubin/qmgr[7]: warning: odd\n");
	str_reset(&line);
	log_format_line(&line, 1762207337, "h", "t", 1, LOG_LEVEL_INFO, "x");
	assert_string_equal(line.s, "Nov  3 22:02:17 h t[1]: x\n");
	str_deinit(&line);
}

static void
test_log_printable_caps_and_masks(void **state)
{
	struct str out;

	str_init(&out, 16);
	log_printable(&out, "ab\r\n\x01\xff" "cd", 100);
	assert_string_equal(out.s, "ab????cd");
	str_reset(&out);
	log_printable(&out, "abcdef", 3);
	assert_string_equal(out.s, "abc...");
	str_deinit(&out);
}

static void
test_strvec(void **state)
{
	struct strvec v;

	strvec_init(&v);
	strvec_push(&v, "b");
	strvec_push(&v, "a");
	strvec_push(&v, "c");
	strvec_sort(&v);
	assert_string_equal(v.v[0], "a");
	assert_null(v.v[3]);
	assert_true(strvec_contains(&v, "c"));
	assert_false(strvec_contains(&v, "d"));
	strvec_deinit(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_grows_and_stays_terminated),
		cmocka_unit_test(test_max_sets_sticky_overflow),
		cmocka_unit_test(test_export_and_free),
		cmocka_unit_test(test_log_line_shape_is_postfix),
		cmocka_unit_test(test_log_printable_caps_and_masks),
		cmocka_unit_test(test_strvec),
	};

	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
