/* test_maincf.c - main.cf parsing, expansion and typed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/maincf.h"
#include "lib/str.h"
#include "lib/util.h"

static struct maincf *
parse(const char *text)
{
	struct maincf *mc = maincf_new("/nonexistent");
	const char *err = NULL;

	assert_int_equal(maincf_parse(mc, "/x/main.cf", text, strlen(text), &err), 0);
	return mc;
}

static void
expect_expansion(const char *text, const char *name, const char *want)
{
	struct maincf *mc = parse(text);
	struct str out;
	const char *err = NULL;

	str_init(&out, 32);
	assert_int_equal(maincf_get(mc, name, &out, &err), 0);
	assert_string_equal(out.s, want);
	str_deinit(&out);
	maincf_free(&mc);
	assert_null(mc);
}

static void
test_table_is_sorted_and_complete(void **state)
{
	size_t i;

	for (i = 1; i < maincf_nparams; i++)
		assert_true(strcmp(maincf_params[i - 1].name, maincf_params[i].name) < 0);
	for (i = 0; i < maincf_nparams; i++) {
		assert_ptr_equal(maincf_param_find(maincf_params[i].name), &maincf_params[i]);
		assert_true((maincf_params[i].def != NULL) != (maincf_params[i].def_fn != NULL));
		assert_non_null(maincf_params[i].help);
	}
	assert_null(maincf_param_find("no_such_parameter"));
}

static void
test_later_setting_wins_and_continuations_join(void **state)
{
	expect_expansion("relayhost = a\nrelayhost = b\n", "relayhost", "b");
	expect_expansion("mydestination = a,\n# comment inside\n   b,\n\tc\n", "mydestination",
	    "a, b, c");
	expect_expansion("relayhost=[x]:25   \n", "relayhost", "[x]:25");
}

static void
test_dollar_forms(void **state)
{
	expect_expansion("a = 1\nrelayhost = $a ${a} $(a) $$a\n", "relayhost", "1 1 1 $a");
	expect_expansion("a = 1\nrelayhost = ${a?set}${b?set}|${a:unset}${b:unset}\n",
	    "relayhost", "set|unset");
	expect_expansion("a = 1\nrelayhost = ${a?{yes}:{no}} ${b?{yes}:{no}}\n", "relayhost",
	    "yes no");
	expect_expansion("relayhost = ${{x} == {x} ? {eq} : {ne}} ${{10} < {9} ? {lt} : {ge}}\n",
	    "relayhost", "eq ge");
	expect_expansion("compatibility_level = 3.6\nrelayhost = "
	    "${{$compatibility_level} <level {2} ? {old} : {new}}\n", "relayhost", "new");
	/* The stock defaults under the default compatibility level 0. */
	expect_expansion("", "smtpd_relay_restrictions", "");
	expect_expansion("compatibility_level = 2\n", "smtpd_relay_restrictions",
	    "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination");
	expect_expansion("", "smtpd_timeout", "300s");
	expect_expansion("stress = yes\n", "smtpd_timeout", "10s");
}

static void
test_derived_defaults(void **state)
{
	struct maincf *mc = parse("myhostname = mail.example.com\n");
	struct str out;
	const char *err;

	str_init(&out, 32);
	assert_int_equal(maincf_get(mc, "mydomain", &out, &err), 0);
	assert_string_equal(out.s, "example.com");
	assert_int_equal(maincf_get(mc, "mydestination", &out, &err), 0);
	assert_string_equal(out.s, "mail.example.com, localhost.example.com, localhost");
	assert_int_equal(maincf_get(mc, "mynetworks", &out, &err), 0);
	assert_non_null(strstr(out.s, "127.0.0.0/8"));
	maincf_free(&mc);
	mc = parse("myhostname = mail.example.com\nmynetworks_style = host\n");
	assert_int_equal(maincf_get(mc, "mynetworks", &out, &err), 0);
	assert_non_null(strstr(out.s, "127.0.0.1/32"));
	maincf_free(&mc);
	str_deinit(&out);
}

static void
test_loops_and_bad_expressions_fail(void **state)
{
	static const char *const bad[] = {
		"a = $b\nb = $a\nrelayhost = $a\n",
		"relayhost = ${a\n",
		"relayhost = ${{x} = {y} ? {1} : {2}}\n",
		"relayhost = ${{x} == {y} ? {1}}\n",
		"relayhost = ${}\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct maincf *mc = parse(bad[i]);
		struct str out;
		const char *err = NULL;

		str_init(&out, 32);
		assert_int_equal(maincf_get(mc, "relayhost", &out, &err), -1);
		assert_non_null(err);
		str_deinit(&out);
		maincf_free(&mc);
	}
}

static void
test_syntax_errors_name_line(void **state)
{
	struct maincf *mc = maincf_new("/x");
	const char *err = NULL;

	assert_int_equal(maincf_parse(mc, "/x/main.cf", "a = 1\n\nfoo bar\n", 16, &err), -1);
	assert_string_equal(err, "/x/main.cf, line 3: missing '=' after attribute name: \"foo bar\"");
	assert_int_equal(maincf_parse(mc, "/x/main.cf", "= 1\n", 4, &err), -1);
	assert_string_equal(err, "/x/main.cf, line 1: missing attribute name: \"= 1\"");
	maincf_free(&mc);
}

static void
test_typed_values(void **state)
{
	struct maincf *mc = parse("smtpd_timeout = 5m\nmaximal_queue_lifetime = 2\n"
	    "disable_vrfy_command = yes\nmessage_size_limit = 1024\nsmtpd_recipient_limit = x\n");
	const char *err = NULL;
	long l;
	bool b;

	assert_int_equal(maincf_get_time(mc, "smtpd_timeout", &l, &err), 0);
	assert_int_equal(l, 300);
	/* A bare number has the parameter's own unit: days here. */
	assert_int_equal(maincf_get_time(mc, "maximal_queue_lifetime", &l, &err), 0);
	assert_int_equal(l, 2 * 86400);
	assert_int_equal(maincf_get_bool(mc, "disable_vrfy_command", &b, &err), 0);
	assert_true(b);
	assert_int_equal(maincf_get_long(mc, "message_size_limit", &l, &err), 0);
	assert_int_equal(l, 1024);
	assert_int_equal(maincf_get_long(mc, "smtpd_recipient_limit", &l, &err), -1);
	assert_non_null(strstr(err, "line 5: bad numerical configuration: smtpd_recipient_limit = x"));
	assert_false(maincf_parse_time("5x", 's', &l));
	assert_false(maincf_parse_time("5ss", 's', &l));
	assert_false(maincf_parse_bool("maybe", &b));
	maincf_free(&mc);
}

static void
test_list_split_keeps_braces(void **state)
{
	struct strvec v;

	strvec_init(&v);
	maincf_list_split(" a, b\tc,,{ x y } inline:{ k=v, l=w }", &v);
	assert_int_equal(v.n, 5);
	assert_string_equal(v.v[0], "a");
	assert_string_equal(v.v[2], "c");
	assert_string_equal(v.v[3], "{ x y }");
	assert_string_equal(v.v[4], "inline:{ k=v, l=w }");
	strvec_deinit(&v);
}

static void
test_unused_and_referenced(void **state)
{
	struct maincf *mc = parse("foo = 1\nbar = 2\nsmtpd_banner = $bar\n");
	struct strvec unused;

	strvec_init(&unused);
	maincf_unused(mc, &unused);
	assert_int_equal(unused.n, 1);
	assert_string_equal(unused.v[0], "foo");
	strvec_deinit(&unused);
	maincf_free(&mc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_sorted_and_complete),
		cmocka_unit_test(test_later_setting_wins_and_continuations_join),
		cmocka_unit_test(test_dollar_forms),
		cmocka_unit_test(test_derived_defaults),
		cmocka_unit_test(test_loops_and_bad_expressions_fail),
		cmocka_unit_test(test_syntax_errors_name_line),
		cmocka_unit_test(test_typed_values),
		cmocka_unit_test(test_list_split_keeps_braces),
		cmocka_unit_test(test_unused_and_referenced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
