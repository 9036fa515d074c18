/* test_lmtp_cmd.c - LMTP command lines, MAIL/RCPT paths with Dovecot's
 * error texts, MAIL parameters, user+detail splitting, and the DATA
 * reader: dot-unstuffing, CRLF to LF, the end found across pieces fed
 * one byte at a time, and the size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/str.h"
#include "lmtp/lmtp.h"

static void
test_command_lines(void **state)
{
	const char *args;

	(void)state;
	assert_int_equal(lmtp_cmd_parse("LHLO host", &args), LMTP_CMD_LHLO);
	assert_string_equal(args, "host");
	assert_int_equal(lmtp_cmd_parse("mail FROM:<a@b>", &args), LMTP_CMD_MAIL);
	assert_string_equal(args, "FROM:<a@b>");
	assert_int_equal(lmtp_cmd_parse("DATA", &args), LMTP_CMD_DATA);
	assert_string_equal(args, "");
	assert_int_equal(lmtp_cmd_parse("EHLO x", &args), LMTP_CMD_UNKNOWN);
	assert_int_equal(lmtp_cmd_parse("HELO x", &args), LMTP_CMD_UNKNOWN);
	assert_int_equal(lmtp_cmd_parse("", &args), LMTP_CMD_NONE);
	assert_int_equal(lmtp_cmd_parse(" NOOP", &args), LMTP_CMD_NONE);
	assert_int_equal(lmtp_cmd_parse("NO0P", &args), LMTP_CMD_NONE);
	assert_int_equal(lmtp_cmd_parse("ABCDEFGHIJKLMNOPQRSTUVWXYZ", &args), LMTP_CMD_NONE);
}

static void
test_paths(void **state)
{
	static const struct {
		const char *args, *kw;
		bool	 null_ok;
		int	 rc;
		const char *addr_or_error, *params;
	} cases[] = {
		{ "FROM:<a@b.example>", "FROM", true, 0, "a@b.example", "" },
		{ "from: <a@b> BODY=8BITMIME", "FROM", true, 0, "a@b", "BODY=8BITMIME" },
		{ "FROM:<>", "FROM", true, 0, "", "" },
		{ "TO:<alice>", "TO", false, 0, "alice", "" },
		{ "TO:<@r1,@r2:alice@x>", "TO", false, 0, "alice@x", "" },
		{ "TO:<\"q u\"@x>", "TO", false, 0, "\"q u\"@x", "" },
		{ "TO:<a@[127.0.0.1]>", "TO", false, 0, "a@[127.0.0.1]", "" },
		{ "FROM:a@b", "FROM", true, -1, "Invalid FROM: Missing '<' at beginning of path", "" },
		{ "TO:alice", "TO", false, -1, "Invalid TO: Missing '<' at beginning of path", "" },
		{ "TO:<>", "TO", false, -1, "Invalid TO: Null path not allowed", "" },
		{ "TO:<bad address>", "TO", false, -1, "Invalid TO: Missing '>' at end of path", "" },
		{ "TO:<a@b", "TO", false, -1, "Invalid TO: Missing '>' at end of path", "" },
		{ "TO:<a@[1<2]>", "TO", false, -1, "Invalid TO: Missing '>' at end of path", "" },
		{ "", "TO", false, -1, "Invalid parameters", "" },
		{ "FROM:<a@b>", "TO", false, -1, "Invalid parameters", "" },
	};
	struct str addr;
	const char *params, *err;

	(void)state;
	str_init(&addr, 64);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = lmtp_path_parse(cases[i].args, cases[i].kw, cases[i].null_ok, &addr,
		    &params, &err);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_string_equal(addr.s, cases[i].addr_or_error);
			assert_string_equal(params, cases[i].params);
		} else {
			assert_string_equal(err, cases[i].addr_or_error);
		}
	}
	str_deinit(&addr);
	assert_true(lmtp_mail_params_ok(""));
	assert_true(lmtp_mail_params_ok("BODY=8BITMIME"));
	assert_true(lmtp_mail_params_ok("body=7bit"));
	assert_false(lmtp_mail_params_ok("SIZE=100"));
	assert_false(lmtp_mail_params_ok("BODY=8BITMIME SIZE=1"));
	assert_false(lmtp_mail_params_ok("BODY=BINARYMIME"));
}

static void
test_detail(void **state)
{
	struct str user, detail;

	(void)state;
	str_init(&user, 32);
	str_init(&detail, 32);
	lmtp_split_detail("alice+foo@x", "+", &user, &detail);
	assert_string_equal(user.s, "alice@x");
	assert_string_equal(detail.s, "foo");
	lmtp_split_detail("alice-a+b", "+-", &user, &detail);
	assert_string_equal(user.s, "alice");
	assert_string_equal(detail.s, "a+b");
	lmtp_split_detail("bob@x+y", "+", &user, &detail);
	assert_string_equal(user.s, "bob@x+y");
	assert_string_equal(detail.s, "");
	lmtp_split_detail("carol+", "", &user, &detail);
	assert_string_equal(user.s, "carol+");
	str_deinit(&user);
	str_deinit(&detail);
}

static void
test_data(void **state)
{
	static const char in[] = "Subject: x\r\n\r\n..dot\r\nbare\rcr\r\n.\r\nNOOP\r\n";
	struct lmtp_data d;
	struct str out;
	size_t used = 0, i;

	(void)state;
	str_init(&out, 64);
	lmtp_data_init(&d, 1000);
	used = lmtp_data_feed(&d, in, sizeof(in) - 1, &out);
	assert_true(d.done);
	assert_int_equal(used, strlen(in) - strlen("NOOP\r\n"));
	assert_string_equal(out.s, "Subject: x\n\n.dot\nbare\rcr\n");
	/* one byte at a time */
	str_reset(&out);
	lmtp_data_init(&d, 1000);
	for (i = 0; i < sizeof(in) - 1 && !d.done; i++)
		assert_int_equal(lmtp_data_feed(&d, in + i, 1, &out), 1);
	assert_true(d.done);
	assert_string_equal(out.s, "Subject: x\n\n.dot\nbare\rcr\n");
	/* ".x" at a line start is stuffing; "." mid-line is data */
	str_reset(&out);
	lmtp_data_init(&d, 1000);
	(void)lmtp_data_feed(&d, "a.\r\n.\r\n", 7, &out);
	assert_true(d.done);
	assert_string_equal(out.s, "a.\n");
	/* over the cap: counted, dropped, the end still found */
	str_reset(&out);
	lmtp_data_init(&d, 4);
	(void)lmtp_data_feed(&d, "123456\r\n.\r\n", 11, &out);
	assert_true(d.done);
	assert_true(d.overflow);
	assert_true(out.len <= 4);
	str_deinit(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_lines),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
