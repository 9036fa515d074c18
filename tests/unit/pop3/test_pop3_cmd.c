/* test_pop3_cmd.c - POP3 command lines (verbs case-insensitive, one
 * space, junk refused), message number arguments with Dovecot's error
 * texts, dot-stuffing of RETR and TOP bodies, and the connection's line
 * reader fed one byte at a time, with CRLF or LF, and an overlong line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/str.h"
#include "pop3/pop3.h"
#include "pop3/pop3_conn.h"

static void
test_command_lines(void **state)
{
	static const struct {
		const char	*name, *line, *want_verb, *want_args;
		bool		 want_ok;
	} cases[] = {
		{ "a verb alone has empty arguments", "stat", "STAT", "", true },
		{ "the verb is upper-cased, arguments kept", "uSeR Alice B", "USER", "Alice B", true },
		{ "one space only is eaten", "PASS  two", "PASS", " two", true },
		{ "an empty line is no command", "", "", NULL, false },
		{ "a digit in the verb is no command", "R3TR 1", "", NULL, false },
		{ "a verb past the buffer is no command", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "", NULL, false },
		{ "a leading space is no command", " QUIT", "", NULL, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char verb[16];
		const char *args = NULL;
		bool ok = pop3_cmd_parse(cases[i].line, verb, sizeof(verb), &args);

		if (ok != cases[i].want_ok || strcmp(verb, cases[i].want_verb) != 0 ||
		    (ok && strcmp(args, cases[i].want_args) != 0))
			fail_msg("%s: %s", cases[i].name, cases[i].line);
	}
}

static void
test_message_numbers(void **state)
{
	struct str e;
	unsigned n;
	const char *rest;

	str_init(&e, 64);
	assert_int_equal(pop3_msgnum("12", &n, NULL, &e), 0);
	assert_int_equal(n, 12);
	assert_int_equal(pop3_msgnum("x", &n, NULL, &e), -1);
	assert_string_equal(e.s, "Invalid message number: x");
	assert_int_equal(pop3_msgnum("1 2", &n, NULL, &e), -1);
	assert_string_equal(e.s, "Noise after message number:  2");
	assert_int_equal(pop3_msgnum("99999999999", &n, NULL, &e), -1);
	assert_int_equal(pop3_msgnum("3 10", &n, &rest, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rest, "10");
	str_deinit(&e);
}

static void
test_dot_stuffing(void **state)
{
	static const char msg[] = "A: b\n.hidden: x\n\n.line\nline2\r\nend";
	struct str out;

	str_init(&out, 64);
	pop3_dot_stuff(&out, msg, strlen(msg), -1);
	assert_string_equal(out.s, "A: b\r\n..hidden: x\r\n\r\n..line\r\nline2\r\nend\r\n");
	str_reset(&out);
	pop3_dot_stuff(&out, msg, strlen(msg), 0);
	assert_string_equal(out.s, "A: b\r\n..hidden: x\r\n\r\n");
	str_reset(&out);
	pop3_dot_stuff(&out, msg, strlen(msg), 1);
	assert_string_equal(out.s, "A: b\r\n..hidden: x\r\n\r\n..line\r\n");
	str_deinit(&out);
}

static void
test_lines_one_byte_at_a_time(void **state)
{
	static const char input[] = "USER a\r\nPASS b\nQUIT\r\n";
	struct pop3_conn c;
	struct str line;
	int sv[2];
	size_t i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pop3_conn_init(&c, sv[0], 5000);
	str_init(&line, 16);
	/* the writer has put everything in one byte per write; the reader
	 * must see whole lines regardless */
	for (i = 0; i < sizeof(input) - 1; i++)
		assert_int_equal(write(sv[1], input + i, 1), 1);
	close(sv[1]);
	assert_int_equal(pop3_conn_getline(&c, &line, 64), POP3_READ_LINE);
	assert_string_equal(line.s, "USER a");
	assert_int_equal(pop3_conn_getline(&c, &line, 64), POP3_READ_LINE);
	assert_string_equal(line.s, "PASS b");
	assert_int_equal(pop3_conn_getline(&c, &line, 64), POP3_READ_LINE);
	assert_string_equal(line.s, "QUIT");
	assert_int_equal(pop3_conn_getline(&c, &line, 64), POP3_READ_EOF);
	pop3_conn_deinit(&c);
	close(sv[0]);
	str_deinit(&line);
}

static void
test_overlong_line_is_refused(void **state)
{
	struct pop3_conn c;
	struct str line;
	char big[3000];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(big, 'A', sizeof(big));
	assert_int_equal(write(sv[1], big, sizeof(big)), (ssize_t)sizeof(big));
	pop3_conn_init(&c, sv[0], 5000);
	str_init(&line, 16);
	assert_int_equal(pop3_conn_getline(&c, &line, POP3_LOGIN_MAX_LINE), POP3_READ_TOO_LONG);
	assert_true(line.len <= POP3_LOGIN_MAX_LINE);
	pop3_conn_deinit(&c);
	close(sv[0]);
	close(sv[1]);
	str_deinit(&line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_lines),
		cmocka_unit_test(test_message_numbers),
		cmocka_unit_test(test_dot_stuffing),
		cmocka_unit_test(test_lines_one_byte_at_a_time),
		cmocka_unit_test(test_overlong_line_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
