/* test_smtpd_data.c - the DATA/BDAT message reader: dot-unstuffing, the end
 * line split anywhere, CRLF to LF, the size limit, Message-ID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "smtpd/smtpd_data.h"

/* run - feed in, step bytes at a time; the content, and how many bytes of
 * in were left after the end */
static void
run(bool bdat, size_t max, const char *in, size_t step, struct str *content, size_t *rest_r,
    struct smtpd_data *d)
{
	size_t len = strlen(in), off = 0, n, used;

	smtpd_data_init(d, bdat, max);
	str_reset(content);
	while (off < len && !smtpd_data_done(d)) {
		n = len - off < step ? len - off : step;
		used = smtpd_data_feed(d, in + off, n);
		off += used;
		str_append_n(content, d->out.s, d->out.len);
		str_reset(&d->out);
	}
	if (bdat) {
		smtpd_data_finish(d);
		str_append_n(content, d->out.s, d->out.len);
		str_reset(&d->out);
	}
	*rest_r = len - off;
}

static void
test_dots_are_unstuffed_and_the_end_is_found_whatever_the_chunking(void **state)
{
	const char *in = "Subject: x\r\n\r\n..leading dot\r\n.\r\n";
	struct smtpd_data d;
	struct str c;
	size_t step, rest;

	str_init(&c, 64);
	for (step = 1; step <= strlen(in); step++) {
		run(false, 0, in, step, &c, &rest, &d);
		assert_true(smtpd_data_done(&d));
		assert_string_equal(c.s, "Subject: x\n\n.leading dot\n");
		assert_int_equal(rest, 0);
		smtpd_data_deinit(&d);
	}
	str_deinit(&c);
}

static void
test_what_follows_the_end_is_left_for_the_next_command(void **state)
{
	struct smtpd_data d;
	struct str c;
	size_t rest;

	str_init(&c, 64);
	run(false, 0, "a\r\n.\r\nQUIT\r\n", 1, &c, &rest, &d);
	assert_string_equal(c.s, "a\n");
	assert_int_equal(rest, strlen("QUIT\r\n"));
	smtpd_data_deinit(&d);
	str_deinit(&c);
}

static void
test_bare_lf_ends_lines_and_bare_cr_is_kept(void **state)
{
	struct smtpd_data d;
	struct str c;
	size_t rest;

	str_init(&c, 64);
	run(false, 0, "a\nb\rc\r\n.\n", 2, &c, &rest, &d);
	assert_true(smtpd_data_done(&d));
	assert_string_equal(c.s, "a\nb\rc\n");
	smtpd_data_deinit(&d);
	/* a line that is only "." inside a longer one is not the end */
	run(false, 0, "x.\r\n.x\r\n.\r\n", 1, &c, &rest, &d);
	assert_string_equal(c.s, "x.\nx\n");
	smtpd_data_deinit(&d);
	str_deinit(&c);
}

static void
test_size_overflow_discards_but_still_finds_the_end(void **state)
{
	struct smtpd_data d;
	struct str c, in;
	size_t rest;
	int i;

	str_init(&c, 64);
	str_init(&in, 4096);
	for (i = 0; i < 100; i++)
		str_append(&in, "0123456789\r\n");
	str_append(&in, ".\r\n");
	run(false, 100, in.s, 7, &c, &rest, &d);
	assert_true(smtpd_data_done(&d));
	assert_true(d.overflow);
	assert_true(c.len <= 100);
	assert_int_equal(d.size, 1100);
	smtpd_data_deinit(&d);
	str_deinit(&in);
	str_deinit(&c);
}

static void
test_long_lines_pass_whole_and_memory_stays_bounded(void **state)
{
	struct smtpd_data d;
	size_t len = 3 * SMTPD_DATA_OUT_MAX, off = 0, used, total = 0;
	char *in = malloc(len + 8);

	memset(in, 'x', len);
	memcpy(in + len, "\r\n.\r\n", 6);
	smtpd_data_init(&d, false, 0);
	while (!smtpd_data_done(&d)) {
		used = smtpd_data_feed(&d, in + off, len + 5 - off);
		off += used;
		assert_true(d.out.len <= SMTPD_DATA_OUT_MAX);
		total += d.out.len;
		str_reset(&d.out);
	}
	assert_int_equal(total, len + 1);
	smtpd_data_deinit(&d);
	free(in);
}

static void
test_bdat_keeps_dots_and_joins_cr_lf_across_chunks(void **state)
{
	struct smtpd_data d;
	struct str c;
	size_t rest;

	str_init(&c, 64);
	run(true, 0, "a\r\n.\r\n..b\r\nlast", 1, &c, &rest, &d);
	assert_string_equal(c.s, "a\n.\n..b\nlast\n");
	smtpd_data_deinit(&d);
	str_deinit(&c);
}

static void
test_the_first_message_id_is_noted(void **state)
{
	struct smtpd_data d;
	struct str c;
	size_t rest;

	str_init(&c, 64);
	run(false, 0, "From: a\r\nMessage-Id:  <x@y> \r\nMessage-ID: <z@y>\r\n\r\n"
	    "Message-ID: <body@y>\r\n.\r\n", 3, &c, &rest, &d);
	assert_string_equal(d.msgid.s, "<x@y>");
	smtpd_data_deinit(&d);
	run(false, 0, "\r\nMessage-ID: <body@y>\r\n.\r\n", 3, &c, &rest, &d);
	assert_string_equal(d.msgid.s, "");
	smtpd_data_deinit(&d);
	str_deinit(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dots_are_unstuffed_and_the_end_is_found_whatever_the_chunking),
		cmocka_unit_test(test_what_follows_the_end_is_left_for_the_next_command),
		cmocka_unit_test(test_bare_lf_ends_lines_and_bare_cr_is_kept),
		cmocka_unit_test(test_size_overflow_discards_but_still_finds_the_end),
		cmocka_unit_test(test_long_lines_pass_whole_and_memory_stays_bounded),
		cmocka_unit_test(test_bdat_keeps_dots_and_joins_cr_lf_across_chunks),
		cmocka_unit_test(test_the_first_message_id_is_noted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
