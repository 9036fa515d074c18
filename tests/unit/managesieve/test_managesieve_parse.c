/* test_managesieve_parse.c - ManageSieve command lines: verbs, atoms,
 * quoted strings with their two escapes, literals in both forms (also
 * split across reads: MORE until whole), the size cap found from the
 * literal's header, errors dropping the bad line only, and quoting of
 * replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/str.h"
#include "managesieve/managesieve_parse.h"

static enum msieve_parse
parse(const char *in, struct msieve_cmd *cmd, size_t *used, const char **err)
{
	return msieve_parse(in, strlen(in), 1024, cmd, used, err);
}

static void
test_commands(void **state)
{
	struct msieve_cmd cmd;
	const char *err;
	size_t used;
	static const char put[] = "putscript \"my \\\"x\\\\\" {11+}\r\nkeep;\r\nstop\r\nNOOP\r\n";

	(void)state;
	assert_int_equal(parse("CAPABILITY\r\n", &cmd, &used, &err), MSIEVE_PARSE_OK);
	assert_string_equal(cmd.verb, "CAPABILITY");
	assert_int_equal(cmd.nargs, 0);
	assert_int_equal(used, 12);
	msieve_cmd_deinit(&cmd);
	assert_int_equal(parse("Authenticate \"PLAIN\" \"AGEAYg==\"\r\n", &cmd, &used, &err),
	    MSIEVE_PARSE_OK);
	assert_string_equal(cmd.verb, "AUTHENTICATE");
	assert_int_equal(cmd.nargs, 2);
	assert_string_equal(cmd.args[0].s, "PLAIN");
	msieve_cmd_deinit(&cmd);
	assert_int_equal(parse(put, &cmd, &used, &err), MSIEVE_PARSE_OK);
	assert_string_equal(cmd.verb, "PUTSCRIPT");
	assert_int_equal(cmd.nargs, 2);
	assert_string_equal(cmd.args[0].s, "my \"x\\");
	assert_int_equal(cmd.args[1].len, 11);
	assert_memory_equal(cmd.args[1].s, "keep;\r\nstop", 11);
	assert_int_equal(used, strlen(put) - strlen("NOOP\r\n"));
	msieve_cmd_deinit(&cmd);
	/* a synchronizing literal, an atom argument, LF alone */
	assert_int_equal(parse("HAVESPACE {3}\r\nabc 100\n", &cmd, &used, &err), MSIEVE_PARSE_OK);
	assert_int_equal(cmd.args[1].type, MSIEVE_ARG_ATOM);
	assert_string_equal(cmd.args[1].s, "100");
	msieve_cmd_deinit(&cmd);
}

static void
test_incomplete_and_errors(void **state)
{
	static const char put[] = "PUTSCRIPT \"a\" {10+}\r\n0123456789\r\n";
	struct msieve_cmd cmd;
	const char *err;
	size_t used, i;

	(void)state;
	/* every proper prefix needs more; the whole is one command */
	for (i = 0; i < sizeof(put) - 1; i++)
		assert_int_equal(msieve_parse(put, i, 1024, &cmd, &used, &err), MSIEVE_PARSE_MORE);
	assert_int_equal(msieve_parse(put, sizeof(put) - 1, 1024, &cmd, &used, &err),
	    MSIEVE_PARSE_OK);
	msieve_cmd_deinit(&cmd);
	/* the cap: refused from the header, its line dropped */
	assert_int_equal(parse("PUTSCRIPT \"a\" {999999+}\r\n", &cmd, &used, &err),
	    MSIEVE_PARSE_ERROR);
	assert_string_equal(err, "Literal too big");
	assert_int_equal(used, strlen("PUTSCRIPT \"a\" {999999+}\r\n"));
	/* bad syntax drops its line only */
	assert_int_equal(parse("GETSCRIPT \"a\\x\"\r\nNOOP\r\n", &cmd, &used, &err),
	    MSIEVE_PARSE_ERROR);
	assert_int_equal(used, strlen("GETSCRIPT \"a\\x\"\r\n"));
	assert_int_equal(parse("\r\n", &cmd, &used, &err), MSIEVE_PARSE_ERROR);
	assert_int_equal(parse("NOOP  \"x\"\r\n", &cmd, &used, &err), MSIEVE_PARSE_ERROR);
	assert_int_equal(parse("NOOP \"unterminated\r\n", &cmd, &used, &err), MSIEVE_PARSE_ERROR);
	assert_int_equal(parse("A 1 2 3 4 5 6 7 8 9\r\n", &cmd, &used, &err), MSIEVE_PARSE_ERROR);
	assert_string_equal(err, "Too many arguments");
}

static void
test_quote(void **state)
{
	struct str out;

	(void)state;
	str_init(&out, 64);
	msieve_quote(&out, "a \"b\" \\", 7);
	assert_string_equal(out.s, "\"a \\\"b\\\" \\\\\"");
	str_reset(&out);
	msieve_quote(&out, "x\r\ny", 4);
	assert_string_equal(out.s, "{4}\r\nx\r\ny");
	str_deinit(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_incomplete_and_errors),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
