/* test_imap_parser.c - the IMAP command gatherer and argument parser:
 * synchronizing literals stop for "+ OK", LITERAL+ does not, input fed a
 * byte at a time gives the same command, oversized literals (4 GB) and
 * lines are refused before anything is read, lists nest to the limit and
 * no further, Dovecot's error texts; sequence sets; quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "lib/mem.h"

/* feed - the whole input; counts continuations; the last result */
static enum imap_feed
feed(struct imap_parser *p, const char *in, size_t len, bool bytewise, int *conts)
{
	size_t off = 0, used;
	enum imap_feed r = IMAP_FEED_MORE;

	*conts = 0;
	while (off < len) {
		size_t n = bytewise ? 1 : len - off;

		r = imap_parser_feed(p, in + off, n, &used);
		off += used;
		if (r == IMAP_FEED_CONTINUE)
			(*conts)++;
		else if (r != IMAP_FEED_MORE)
			return r;
	}
	return r;
}

static void
test_literals_and_lists(void **state)
{
	static const char in[] = "A1 LOGIN {5}\r\nal\nce {6+}\r\nsecret (\"q\\\"x\" NIL (a b) BODY[HEADER.FIELDS (X Y)]<0.5>)\r\n";
	int pass;

	for (pass = 0; pass < 2; pass++) {
		struct imap_parser p;
		struct imap_arg *args;
		const char *tag, *name;
		size_t n;
		int conts;

		imap_parser_init(&p, IMAP_DEFAULT_MAX_LINE, 1 << 20);
		assert_int_equal(feed(&p, in, sizeof(in) - 1, pass == 1, &conts), IMAP_FEED_COMMAND);
		assert_int_equal(conts, 1);	/* {5} only: {6+} is LITERAL+ */
		assert_int_equal(imap_parser_args(&p, &tag, &name, &args, &n), 0);
		assert_string_equal(tag, "A1");
		assert_string_equal(name, "LOGIN");
		assert_int_equal(n, 3);
		assert_int_equal(args[0].type, IMAP_ARG_LITERAL);
		assert_int_equal(args[0].len, 5);
		assert_memory_equal(args[0].str, "al\nce", 5);
		assert_string_equal(args[1].str, "secret");
		assert_int_equal(args[2].type, IMAP_ARG_LIST);
		assert_int_equal(args[2].count, 4);
		assert_string_equal(args[2].list[0].str, "q\"x");
		assert_int_equal(args[2].list[1].type, IMAP_ARG_NIL);
		assert_int_equal(args[2].list[2].count, 2);
		assert_string_equal(args[2].list[3].str, "BODY[HEADER.FIELDS (X Y)]<0.5>");
		imap_parser_deinit(&p);
	}
}

static void
test_uid_commands_and_errors(void **state)
{
	static const struct {
		const char *in, *tag, *name, *error;
	} cases[] = {
		{ "t uid fetch 1:* FLAGS\r\n", "t", "UID FETCH", NULL },
		{ "t FETCH 1 (FLAGS\r\n", "t", "FETCH", "Missing ')'" },
		{ "t FETCH 1 FLAGS)\r\n", "t", "FETCH", "Unexpected ')'" },
		{ "t LOGIN \"x\r\n", "t", "LOGIN", "Missing '\"'" },
		{ "+ NOOP\r\n", "*", "", "Invalid tag" },
		{ "t\r\n", "t", "", "Invalid tag" },
		{ "t 1FOO\r\n", "t", "", "Invalid command" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_parser p;
		struct imap_arg *args;
		const char *tag, *name;
		size_t n;
		int conts, r;

		imap_parser_init(&p, IMAP_DEFAULT_MAX_LINE, 1 << 20);
		assert_int_equal(feed(&p, cases[i].in, strlen(cases[i].in), false, &conts),
		    IMAP_FEED_COMMAND);
		r = imap_parser_args(&p, &tag, &name, &args, &n);
		assert_int_equal(r, cases[i].error == NULL ? 0 : -1);
		assert_string_equal(tag, cases[i].tag);
		if (cases[i].error != NULL)
			assert_string_equal(imap_parser_error(&p), cases[i].error);
		else
			assert_string_equal(name, cases[i].name);
		imap_parser_deinit(&p);
	}
}

static void
test_limits(void **state)
{
	struct imap_parser p;
	struct imap_arg *args;
	const char *tag, *name;
	char *deep;
	size_t n, i, used;
	int conts;

	/* a 4 GB literal is refused at its announcement */
	imap_parser_init(&p, IMAP_DEFAULT_MAX_LINE, 64u << 20);
	assert_int_equal(feed(&p, "a APPEND INBOX {4294967296}\r\n", 29, false, &conts),
	    IMAP_FEED_FATAL);
	assert_string_equal(imap_parser_error(&p), "Literal size too large");
	assert_true(p.buf.cap < 4096);
	imap_parser_reset(&p);
	/* a literal within the APPEND limit is not one for SELECT */
	assert_int_equal(imap_parser_feed(&p, "a APPEND INBOX {100000}\r\n", 25, &used),
	    IMAP_FEED_CONTINUE);
	imap_parser_reset(&p);
	assert_int_equal(imap_parser_feed(&p, "a SELECT {100000}\r\n", 19, &used), IMAP_FEED_FATAL);
	imap_parser_reset(&p);
	assert_int_equal(imap_parser_feed(&p, "a SELECT {99999999999999999999}\r\n", 33, &used),
	    IMAP_FEED_FATAL);
	imap_parser_deinit(&p);
	/* a line past max_line */
	imap_parser_init(&p, 100, 1000);
	deep = xmalloc(20001);
	memset(deep, 'x', 200);
	assert_int_equal(imap_parser_feed(&p, deep, 200, &used), IMAP_FEED_FATAL);
	imap_parser_deinit(&p);
	/* 10,000 parentheses: refused, not a stack overflow */
	imap_parser_init(&p, IMAP_DEFAULT_MAX_LINE, 1000);
	memcpy(deep, "a SEARCH ", 9);
	for (i = 9; i < 10009; i++)
		deep[i] = '(';
	memcpy(deep + i, "\r\n", 2);
	assert_int_equal(feed(&p, deep, i + 2, false, &conts), IMAP_FEED_COMMAND);
	assert_int_equal(imap_parser_args(&p, &tag, &name, &args, &n), -1);
	assert_string_equal(imap_parser_error(&p), "Too deep nesting of lists");
	free(deep);
	/* the parser is reusable after reset, and pipelined input stays */
	imap_parser_reset(&p);
	assert_int_equal(imap_parser_feed(&p, "a NOOP\r\nb NOOP\r\n", 16, &used), IMAP_FEED_COMMAND);
	assert_int_equal(used, 8);
	imap_parser_deinit(&p);
}

/* a MULTIAPPEND holds all its messages at once: each literal within the
 * append limit is not enough, their sum is bounded too (or one command of
 * many 64 MB literals would take unbounded memory) */
static void
test_multiappend_total(void **state)
{
	struct imap_parser p;
	char *in = xmalloc(4096);
	size_t len, used;
	int conts;

	(void)state;
	imap_parser_init(&p, IMAP_DEFAULT_MAX_LINE, 1000);
	/* 600 + 400 = the limit: accepted */
	len = (size_t)snprintf(in, 4096, "a APPEND INBOX {600+}\r\n%0600d {400+}\r\n%0400d\r\n",
	    0, 0);
	assert_int_equal(feed(&p, in, len, false, &conts), IMAP_FEED_COMMAND);
	imap_parser_reset(&p);
	/* 600 + 600: the second announcement ends it, before its bytes */
	len = (size_t)snprintf(in, 4096, "a APPEND INBOX {600+}\r\n%0600d {600+}\r\n", 0);
	assert_int_equal(imap_parser_feed(&p, in, len, &used), IMAP_FEED_FATAL);
	assert_int_equal(used, len);
	assert_string_equal(imap_parser_error(&p), "Literal size too large");
	/* the count starts again with the next command */
	imap_parser_reset(&p);
	len = (size_t)snprintf(in, 4096, "b APPEND INBOX {600+}\r\n%0600d {400+}\r\n%0400d\r\n",
	    0, 0);
	assert_int_equal(feed(&p, in, len, false, &conts), IMAP_FEED_COMMAND);
	imap_parser_deinit(&p);
	free(in);
}

static void
test_seqsets(void **state)
{
	struct imap_seqset s;

	assert_int_equal(imap_seqset_parse("1,3:5,7:*", &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(imap_seqset_contains(&s, 4, 10));
	assert_false(imap_seqset_contains(&s, 6, 10));
	assert_true(imap_seqset_contains(&s, 10, 10));
	imap_seqset_deinit(&s);
	assert_int_equal(imap_seqset_parse("*:3", &s), 0);
	assert_true(imap_seqset_contains(&s, 2, 2));	/* "*" = 2: 2:3 */
	imap_seqset_deinit(&s);
	assert_int_equal(imap_seqset_parse("$", &s), 0);
	assert_true(s.saved);
	assert_int_equal(imap_seqset_parse("0", &s), -1);
	/* the largest number is not "*" */
	assert_int_equal(imap_seqset_parse("1:4294967295", &s), 0);
	assert_true(imap_seqset_contains(&s, 3, 3));
	imap_seqset_deinit(&s);
	assert_int_equal(imap_seqset_parse("4294967295", &s), 0);
	assert_false(imap_seqset_contains(&s, 3, 3));
	imap_seqset_deinit(&s);
	assert_int_equal(imap_seqset_parse("4294967296", &s), -1);
	assert_int_equal(imap_seqset_parse("1:x", &s), -1);
	assert_int_equal(imap_seqset_parse("1,", &s), -1);
	assert_int_equal(imap_seqset_parse("4294967296", &s), -1);
	assert_int_equal(imap_seqset_parse("", &s), -1);
}

static void
test_quote(void **state)
{
	struct str s;

	str_init(&s, 16);
	imap_quote(&s, "a\"b\\c", 5);
	assert_string_equal(s.s, "\"a\\\"b\\\\c\"");
	str_reset(&s);
	imap_quote(&s, "x\r\ny", 4);
	assert_string_equal(s.s, "{4}\r\nx\r\ny");
	str_reset(&s);
	imap_quote(&s, NULL, 0);
	assert_string_equal(s.s, "NIL");
	str_deinit(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals_and_lists),
		cmocka_unit_test(test_uid_commands_and_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_multiappend_total),
		cmocka_unit_test(test_seqsets),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
