/* test_sieve.c - the Sieve engine: parse and validation errors with line
 * and column, :matches captures and its linear time, the result's implicit
 * keep and conflicts, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve.h"

static const char msg[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob+lists@example.com, carol@example.net\r\n"
	"Subject: =?UTF-8?B?aMOpbGxv?= world\r\n"
	"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
	"\r\n"
	"Body text here.\r\n";

/* compile_errors - the error text of compiling src ("" when it compiles) */
static char *
compile_errors(const char *src)
{
	struct sieve_limits lim;
	struct sieve_extset ext;
	struct str errs;
	struct sieve_script *sc;

	sieve_limits_default(&lim);
	sieve_extset_default(&ext);
	str_init(&errs, 64);
	sc = sieve_compile("t", src, strlen(src), &lim, &ext, &errs);
	sieve_script_free(&sc);
	return str_export(&errs);
}

/* run - the printed result of src on msg, or "ERROR: ..." */
static char *
run(const char *src, unsigned max_redirects)
{
	struct sieve_limits lim;
	struct sieve_extset ext;
	struct str errs, out;
	struct sieve_script *sc;
	struct sieve_msg *m;
	struct sieve_result *res;
	struct sieve_env env;

	sieve_limits_default(&lim);
	if (max_redirects > 0)
		lim.max_redirects = max_redirects;
	sieve_extset_default(&ext);
	str_init(&errs, 64);
	str_init(&out, 256);
	sc = sieve_compile("t", src, strlen(src), &lim, &ext, &errs);
	if (sc == NULL) {
		str_deinit(&out);
		return str_export(&errs);
	}
	memset(&env, 0, sizeof(env));
	env.env_from = "alice@example.org";
	env.env_to = "bob+lists@example.com";
	m = sieve_msg_new(msg, strlen(msg));
	res = sieve_result_new();
	if (sieve_run(sc, m, &env, res, &errs) != SIEVE_OK) {
		str_append(&out, "ERROR: ");
		str_append(&out, errs.s);
	} else
		sieve_result_print(res, &env, &out);
	sieve_result_free(&res);
	sieve_msg_free(&m);
	sieve_script_free(&sc);
	str_deinit(&errs);
	return str_export(&out);
}

static void
test_errors_name_line_and_column(void **state)
{
	char *e = compile_errors("keep;\nif header :is \"subject\" {\n}\n");

	assert_non_null(strstr(e, "t: line 2: error: the header test requires 2 positional "
	    "argument(s), but 1 is/are specified (column 4)."));
	assert_non_null(strstr(e, "t: error: validation failed."));
	free(e);
	e = compile_errors("keep;\n  \"abc\n");
	assert_non_null(strstr(e, "t: line 3: error: end of file before end of quoted string "
	    "started at line 2 (column 1)."));
	assert_non_null(strstr(e, "t: error: parse failed."));
	free(e);
	e = compile_errors("require \"nosuch\";\nfoo;\nfoo;\n");
	assert_non_null(strstr(e, "line 1: error: require command: unknown Sieve capability "
	    "`nosuch'."));
	assert_non_null(strstr(e, "t: line 2: error: unknown command 'foo' (only reported once "
	    "at first occurrence) (column 1)."));
	assert_null(strstr(e, "line 3"));
	free(e);
}

static void
test_valid_scripts_compile(void **state)
{
	static const char *const ok[] = {
		"require [\"fileinto\", \"reject\"];\nif anyof (size :over 1M, header :contains "
		"[\"from\",\"to\"] \"x\") { fileinto \"a\"; } elsif not exists \"x\" { reject "
		"text:\nline\n..dot\n.\n; } else { keep; }\n",
		"# comment\n/* bracket\ncomment */ keep;",
		"require \"encoded-character\"; if header :is \"x\" \"${hex: 41 42}\" { stop; }",
		"require [\"variables\", \"regex\"]; if header :regex \"subject\" \"^(a|b)+$\" { set "
		"\"x\" \"${1}\"; }",
		NULL,
	};
	size_t i;

	for (i = 0; ok[i] != NULL; i++) {
		char *e = compile_errors(ok[i]);

		assert_string_equal(e, "");
		free(e);
	}
}

static void
test_limits_stop_runaway_scripts(void **state)
{
	struct str s;
	char *e;
	int i;

	str_init(&s, 1024);
	for (i = 0; i < 100; i++)
		str_append(&s, "if true {");
	for (i = 0; i < 100; i++)
		str_append(&s, "}");
	e = compile_errors(s.s);
	assert_non_null(strstr(e, "nested deeper than 32 levels"));
	free(e);
	str_reset(&s);
	str_append(&s, "if header :is \"x\" [");
	for (i = 0; i < 2000; i++)
		str_append(&s, i ? ",\"a\"" : "\"a\"");
	str_append(&s, "] { keep; }");
	e = compile_errors(s.s);
	assert_non_null(strstr(e, "string list has more than 1024 items"));
	free(e);
	str_deinit(&s);
	e = compile_errors("require \"regex\"; if header :regex \"x\" \"(a)\\\\1\" { keep; }");
	assert_non_null(strstr(e, "back-references are not supported"));
	free(e);
}

static void
test_matches_captures_shortest_then_rest(void **state)
{
	struct sv_matchvars mv;
	int i;

	memset(&mv, 0, sizeof(mv));
	for (i = 0; i < 10; i++)
		str_init(&mv.v[i], 8);
	assert_true(sv_glob(SV_CMP_CASEMAP, "[acme-users] [fwd] version 1.0 is out", 37,
	    "[*] *", 5, &mv));
	assert_string_equal(mv.v[1].s, "acme-users");
	assert_string_equal(mv.v[2].s, "[fwd] version 1.0 is out");
	assert_true(sv_glob(SV_CMP_CASEMAP, "abc", 3, "a?c", 3, &mv));
	assert_string_equal(mv.v[1].s, "b");
	assert_false(sv_glob(SV_CMP_OCTET, "ABC", 3, "a*", 2, NULL));
	assert_true(sv_glob(SV_CMP_CASEMAP, "a*b", 3, "a\\*b", 4, NULL));
	assert_false(sv_glob(SV_CMP_CASEMAP, "axb", 3, "a\\*b", 4, NULL));
	for (i = 0; i < 10; i++)
		str_deinit(&mv.v[i]);
}

static void
test_matches_is_linear_on_hostile_patterns(void **state)
{
	/* "*a*a*a*...b" against "aaaa...": exponential for a backtracker */
	char v[20001], p[401];
	clock_t t0 = clock();
	int i;

	memset(v, 'a', 20000);
	v[20000] = 0;
	for (i = 0; i < 200; i++)
		p[2 * i] = '*', p[2 * i + 1] = 'a';
	p[400] = 'b';
	assert_false(sv_glob(SV_CMP_CASEMAP, v, 20000, p, 401, NULL));
	/* bounded: at most value*pattern steps, far under a second */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

static void
test_implicit_keep_and_cancellation(void **state)
{
	char *o;

	o = run("keep;", 0);
	assert_non_null(strstr(o, "Performed actions:\n\n * store message in folder: INBOX\n"));
	assert_non_null(strstr(o, "Implicit keep:\n\n  (none)\n"));
	free(o);
	o = run("require \"copy\"; redirect :copy \"a@b.c\";", 0);
	assert_non_null(strstr(o, " * redirect message to: <a@b.c>\n        + preserve implicit "
	    "keep\n"));
	assert_non_null(strstr(o, "Implicit keep:\n\n * store message in folder: INBOX\n"));
	free(o);
	o = run("require \"fileinto\"; fileinto \"A\"; fileinto \"A\";", 0);
	assert_non_null(strstr(o, "folder: A\n"));
	assert_null(strstr(strstr(o, "folder: A\n") + 1, "folder: A\n"));
	free(o);
	o = run("require \"subaddress\"; if address :is :detail \"to\" \"lists\" { discard; }", 0);
	assert_non_null(strstr(o, " * discard\n"));
	free(o);
	o = run("if header :contains \"subject\" \"h\xc3\xa9llo\" { discard; }", 0);
	assert_non_null(strstr(o, " * discard\n"));
	free(o);
}

static void
test_conflicts_and_limits_are_runtime_errors(void **state)
{
	char *o;

	o = run("require \"reject\"; keep; reject \"no\";", 0);
	assert_non_null(strstr(o, "ERROR: t: line 1: error: reject/ereject action conflicts "
	    "with other action: the store action (t: line 1) tries to deliver the message."));
	free(o);
	o = run("redirect \"a@b.c\"; redirect \"b@b.c\";", 1);
	assert_non_null(strstr(o, "number of redirect actions exceeds policy limit (2 > 1)"));
	free(o);
	o = run("require \"vacation\"; vacation \"a\"; vacation \"b\";", 0);
	assert_non_null(strstr(o, "duplicate vacation action not allowed"));
	free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_name_line_and_column),
		cmocka_unit_test(test_valid_scripts_compile),
		cmocka_unit_test(test_limits_stop_runaway_scripts),
		cmocka_unit_test(test_matches_captures_shortest_then_rest),
		cmocka_unit_test(test_matches_is_linear_on_hostile_patterns),
		cmocka_unit_test(test_implicit_keep_and_cancellation),
		cmocka_unit_test(test_conflicts_and_limits_are_runtime_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
