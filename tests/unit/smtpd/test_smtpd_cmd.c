/* test_smtpd_cmd.c - the SMTP command-line parser and command table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "smtpd/smtpd.h"

static void
test_verbs_are_found_in_any_case_and_unknown_ones_get_their_slot(void **state)
{
	struct { const char *verb; const char *name; } cases[] = {
		{ "HELO", "helo" }, { "ehlo", "ehlo" }, { "MaIl", "mail" }, { "RCPT", "rcpt" },
		{ "DATA", "data" }, { "BDAT", "bdat" }, { "RSET", "rset" }, { "NOOP", "noop" },
		{ "VRFY", "vrfy" }, { "QUIT", "quit" }, { "STARTTLS", "starttls" }, { "AUTH", "auth" },
		{ "HELP", NULL }, { "ETRN", NULL }, { "MAILX", NULL }, { "", NULL },
	};
	const struct smtpd_cmd *c;
	size_t i, slot;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = smtpd_cmd_find(cases[i].verb, strlen(cases[i].verb), &slot);
		if (cases[i].name == NULL) {
			assert_null(c);
			assert_true(slot < SMTPD_NCMD);
		} else {
			assert_non_null(c);
			assert_string_equal(c->name, cases[i].name);
			assert_ptr_equal(&smtpd_cmds[slot], c);
		}
	}
	/* the statistics slots that smtpd_msg.c counts by number */
	assert_string_equal(smtpd_cmds[SMTPD_CMD_SLOT_DATA].name, "data");
	assert_string_equal(smtpd_cmds[SMTPD_CMD_SLOT_BDAT].name, "bdat");
}

static void
test_a_line_splits_into_verb_and_arguments(void **state)
{
	struct { const char *line; size_t verb; const char *args; } cases[] = {
		{ "MAIL FROM:<a@b>", 4, "FROM:<a@b>" },
		{ "NOOP", 4, "" },
		{ "HELO  \t host name", 4, "host name" },
		{ "QUIT ", 4, "" },
	};
	const char *args;
	size_t i, vlen;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(smtpd_cmd_split(cases[i].line, strlen(cases[i].line), &vlen, &args));
		assert_int_equal(vlen, cases[i].verb);
		assert_string_equal(args, cases[i].args);
	}
	assert_false(smtpd_cmd_split("", 0, &vlen, &args));
	assert_false(smtpd_cmd_split("   ", 3, &vlen, &args));
	assert_false(smtpd_cmd_split(" NOOP", 5, &vlen, &args));
}

static void
test_mail_from_paths_parse_as_postfix_reads_them(void **state)
{
	struct { const char *args; int rc; const char *addr; const char *params; } cases[] = {
		{ "FROM:<a@example.org>", 0, "a@example.org", "" },
		{ "from:<a@example.org> SIZE=10 BODY=8BITMIME", 0, "a@example.org", "SIZE=10 BODY=8BITMIME" },
		{ "FROM: <a@example.org>", 0, "a@example.org", "" },
		{ "FROM:root@localhost", 0, "root@localhost", "" },
		{ "FROM:<>", 0, "", "" },
		{ "FROM", -1, NULL, NULL },
		{ "FROM:", -1, NULL, NULL },
		{ "TO:<a@b>", -1, NULL, NULL },
		{ "FROM:<a@b>junk", -2, NULL, NULL },
		{ "FROM:<a b@c>", -2, NULL, NULL },
	};
	struct str out;
	const char *params;
	size_t i;
	int rc;

	str_init(&out, 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = smtpd_cmd_path(cases[i].args, "FROM:", 0, &out, &params);
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d, want %d", cases[i].args, rc, cases[i].rc);
		if (rc == 0) {
			assert_string_equal(out.s, cases[i].addr);
			assert_string_equal(params, cases[i].params);
		}
	}
	str_deinit(&out);
}

static void
test_esmtp_parameters_come_out_one_by_one(void **state)
{
	const char *p = "SIZE=100  BODY=8BITMIME SMTPUTF8", *k, *v;
	size_t kl, vl;

	assert_true(smtpd_cmd_param(&p, &k, &kl, &v, &vl));
	assert_int_equal(kl, 4);
	assert_memory_equal(k, "SIZE", 4);
	assert_int_equal(vl, 3);
	assert_memory_equal(v, "100", 3);
	assert_true(smtpd_cmd_param(&p, &k, &kl, &v, &vl));
	assert_memory_equal(v, "8BITMIME", 8);
	assert_true(smtpd_cmd_param(&p, &k, &kl, &v, &vl));
	assert_int_equal(kl, 8);
	assert_null(v);
	assert_false(smtpd_cmd_param(&p, &k, &kl, &v, &vl));
}

static void
test_xtext_follows_rfc_3461(void **state)
{
	assert_true(smtpd_xtext_is_valid("abc+2Bdef", 9));
	assert_false(smtpd_xtext_is_valid("abc+2", 5));
	assert_false(smtpd_xtext_is_valid("a=b", 3));
	assert_false(smtpd_xtext_is_valid("a b", 3));
	assert_false(smtpd_xtext_is_valid("", 0));
}

static void
test_a_path_of_maximum_length_is_parsed_and_one_more_is_not(void **state)
{
	size_t n = ADDRESS_MAX - strlen("@example.org");
	char *line = malloc(n + 64);
	struct str out;
	const char *params;

	str_init(&out, 16);
	strcpy(line, "FROM:<");
	memset(line + 6, 'a', n);
	strcpy(line + 6 + n, "@example.org>");
	assert_int_equal(smtpd_cmd_path(line, "FROM:", 0, &out, &params), 0);
	assert_int_equal(out.len, ADDRESS_MAX);
	memset(line + 6, 'a', n + 1);
	strcpy(line + 7 + n, "@example.org>");
	assert_int_equal(smtpd_cmd_path(line, "FROM:", 0, &out, &params), -2);
	str_deinit(&out);
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs_are_found_in_any_case_and_unknown_ones_get_their_slot),
		cmocka_unit_test(test_a_line_splits_into_verb_and_arguments),
		cmocka_unit_test(test_mail_from_paths_parse_as_postfix_reads_them),
		cmocka_unit_test(test_esmtp_parameters_come_out_one_by_one),
		cmocka_unit_test(test_xtext_follows_rfc_3461),
		cmocka_unit_test(test_a_path_of_maximum_length_is_parsed_and_one_more_is_not),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
