/* test_mastercf.c - master.cf parsing, postconf -M formatting, checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mastercf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

static struct mastercf *
parse_ok(const char *text)
{
	struct mastercf *mc = mastercf_new();
	const char *err = NULL;

	if (mastercf_parse(mc, "/x/master.cf", text, strlen(text), &err) != 0)
		fail_msg("unexpected error: %s", err);
	return mc;
}

static void
expect_error(const char *text, const char *want)
{
	struct mastercf *mc = mastercf_new();
	const char *err = NULL;

	assert_int_equal(mastercf_parse(mc, "/x/master.cf", text, strlen(text), &err), -1);
	assert_non_null(err);
	assert_string_equal(err, want);
	mastercf_free(&mc);
	assert_null(mc);
}

/* expect_format - text parses to one entry that postconf -M prints as want */
static void
expect_format(const char *text, const char *want, const char *want_folded)
{
	struct mastercf *mc = parse_ok(text);
	const struct mastercf_service *s;
	struct str out;
	size_t n;

	s = mastercf_services(mc, &n);
	assert_int_equal(n, 1);
	str_init(&out, 128);
	mastercf_format_service(&s[0], &out);
	assert_string_equal(out.s, want);
	if (want_folded != NULL) {
		str_reset(&out);
		mastercf_format_service_folded(&s[0], &out);
		assert_string_equal(out.s, want_folded);
	}
	str_deinit(&out);
	mastercf_free(&mc);
}

static char *
read_source_file(const char *rel, struct str *buf)
{
	const char *src = getenv("YUBIN_SRCDIR");
	char *path = xasprintf("%s/%s", src != NULL ? src : ".", rel);

	if (file_read(path, 1 << 20, buf) != 0)
		fail_msg("cannot read %s", path);
	return path;
}

static void
test_master_cf_dist_parses_with_defaults(void **state)
{
	struct str text, out;
	struct mastercf *mc = mastercf_new();
	const struct mastercf_service *s;
	const char *err = NULL;
	char *path;
	size_t n;

	str_init(&text, 8192);
	path = read_source_file("fuzz/corpus/mastercf/master.cf.dist", &text);
	assert_int_equal(mastercf_parse(mc, path, text.s, text.len, &err), 0);
	assert_int_equal(mastercf_warnings(mc)->n, 0);
	s = mastercf_services(mc, &n);
	assert_int_equal(n, 31);
	assert_string_equal(s[0].name, "smtp");
	assert_int_equal(s[0].type, MASTERCF_INET);
	assert_false(s[0].private_);
	assert_true(s[0].unpriv);
	assert_true(s[0].chroot);
	assert_int_equal(s[0].maxproc, -1);
	assert_string_equal(s[0].command, "smtpd");
	assert_int_equal(s[0].line, 12);

	s = mastercf_find(mc, "tlsmgr", "unix");
	assert_non_null(s);
	assert_int_equal(s->wakeup, 1000);
	assert_true(s->wakeup_cond);
	assert_int_equal(s->maxproc, 1);
	assert_true(s->private_);

	s = mastercf_find(mc, "postlog", "unix-dgram");
	assert_non_null(s);
	assert_int_equal(s->type, MASTERCF_UNIX_DGRAM);
	assert_false(s->chroot);

	/* "-" chroot is n since Postfix 3.0; local has unpriv n */
	s = mastercf_find(mc, "local", "unix");
	assert_false(s->unpriv);
	assert_false(s->chroot);

	s = mastercf_find(mc, "relay", "unix");
	assert_int_equal(s->nopts, 1);
	assert_string_equal(s->opts[0].name, "syslog_name");
	assert_string_equal(s->opts[0].value, "postfix/$service_name");

	/* pipe arguments are not daemon options */
	s = mastercf_find(mc, "maildrop", "unix");
	assert_int_equal(s->nopts, 0);
	assert_string_equal(s->argv.v[s->args_index], "flags=DRXhu");
	assert_string_equal(s->argv.v[s->argv.n - 1], "${recipient}");

	str_init(&out, 256);
	mastercf_format_service(mastercf_find(mc, "scalemail-backend", "unix"), &out);
	assert_string_equal(out.s, "scalemail-backend unix - n       n       -       2       pipe "
	    "flags=R user=scalemail argv=/usr/lib/scalemail/bin/scalemail-store ${nexthop} "
	    "${user} ${extension}\n");
	str_reset(&out);
	mastercf_format_service_folded(mastercf_find(mc, "scalemail-backend", "unix"), &out);
	assert_string_equal(out.s, "scalemail-backend unix - n       n       -       2       pipe "
	    "flags=R\n    user=scalemail argv=/usr/lib/scalemail/bin/scalemail-store ${nexthop}\n"
	    "    ${user} ${extension}\n");
	str_deinit(&out);
	assert_null(mastercf_find(mc, "smtp", "fifo"));
	mastercf_free(&mc);
	str_deinit(&text);
	free(path);
}

static void
test_stock_submission_and_smtps_entries(void **state)
{
	static const char text[] =
	    "submission inet n       -       y       -       -       smtpd\n"
	    "  -o syslog_name=postfix/submission\n"
	    "  -o smtpd_tls_security_level=encrypt\n"
	    "  -o smtpd_sasl_auth_enable=yes\n"
	    "  -o smtpd_tls_auth_only=yes\n"
	    "  -o smtpd_reject_unlisted_recipient=no\n"
	    "#     a comment line inside an entry does not end it\n"
	    "  -o smtpd_client_restrictions=\n"
	    "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
	    "  -o milter_macro_daemon_name=ORIGINATING\n"
	    "smtps     inet  n       -       y       -       -       smtpd\n"
	    "  -o syslog_name=postfix/smtps\n"
	    "  -o smtpd_tls_wrappermode=yes\n";
	struct mastercf *mc = parse_ok(text);
	const struct mastercf_service *s;
	struct str out;
	size_t n;

	s = mastercf_services(mc, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[0].nopts, 8);
	assert_string_equal(s[0].opts[5].name, "smtpd_client_restrictions");
	assert_string_equal(s[0].opts[5].value, "");
	assert_string_equal(s[0].opts[6].value, "permit_sasl_authenticated,reject");
	assert_int_equal(s[1].line, 11);
	assert_string_equal(s[1].name, "smtps");

	str_init(&out, 256);
	mastercf_format_service(&s[1], &out);
	assert_string_equal(out.s, "smtps      inet  n       -       y       -       -       smtpd "
	    "-o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes\n");
	str_reset(&out);
	mastercf_format_service_folded(&s[1], &out);
	assert_string_equal(out.s, "smtps      inet  n       -       y       -       -       smtpd\n"
	    "    -o syslog_name=postfix/smtps\n    -o smtpd_tls_wrappermode=yes\n");
	str_deinit(&out);
	mastercf_free(&mc);
}

static void
test_continuation_and_comment_lines(void **state)
{
	struct mastercf *mc = parse_ok(
	    "# header\n\n"
	    "smtp inet n - n - - smtpd\n"
	    "\n"				/* a blank line does not end the entry */
	    "# nor does a comment\n"
	    "\t-o a=b\n"
	    "   \n"
	    "pickup unix n - y 60 1 pickup\n");
	const struct mastercf_service *s;
	size_t n;

	s = mastercf_services(mc, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[0].line, 3);
	assert_int_equal(s[0].nopts, 1);
	assert_int_equal(s[1].line, 8);
	mastercf_free(&mc);

	/* continuation text without an entry: warned about and skipped */
	mc = parse_ok("  -o stray=1\nsmtp inet n - n - - smtpd\n");
	s = mastercf_services(mc, &n);
	assert_int_equal(n, 1);
	assert_int_equal(mastercf_warnings(mc)->n, 1);
	assert_string_equal(mastercf_warnings(mc)->v[0],
	    "/x/master.cf: line 1: logical line must not start with whitespace: \"  -o stray=1\"");
	mastercf_free(&mc);

	/* no newline at the end, CR LF line ends */
	mc = parse_ok("smtp inet n - n - - smtpd\r\n  -o x=y\r\nrelay unix - - n - - smtp");
	s = mastercf_services(mc, &n);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].opts[0].value, "y");
	assert_string_equal(s[1].command, "smtp");
	mastercf_free(&mc);
}

static void
test_option_forms_are_normalized(void **state)
{
	/* -o a=b, -o { c = d e }, -oe=f, -v, -o{ g = h }, then arguments */
	expect_format("smtp inet n - n - - smtpd\n  -o a=b\n  -o { c = d e }\n"
	    " -oe=f -v -o{ g = h }\n  x {y z} -o i=j\n",
	    "smtp       inet  n       -       n       -       -       smtpd -o a=b -o {c=d e} "
	    "-o e=f -v -o g=h x {y z} -o i=j\n",
	    "smtp       inet  n       -       n       -       -       smtpd\n    -o a=b\n"
	    "    -o {c=d e}\n    -o e=f\n    -v\n    -o g=h\n    x {y z} -o i=j\n");
	/* "-vo" splits into "-v" "-o"; the first argument never gets braces */
	expect_format("s unix - - - - - cmd -voa=b {p q} {r s}\n",
	    "s          unix  -       -       -       -       -       cmd -v -o a=b p q {r s}\n",
	    NULL);

	struct mastercf *mc = parse_ok("smtp inet n - n - - smtpd -o { c = d e } -oe=f -v "
	    "-o{g=h} -o nothing x -o i=j\n");
	const struct mastercf_service *s;
	size_t n;

	s = mastercf_services(mc, &n);
	assert_int_equal(s->nopts, 3);
	assert_string_equal(s->opts[0].name, "c");
	assert_string_equal(s->opts[0].value, "d e");
	assert_string_equal(s->opts[1].name, "e");
	assert_string_equal(s->opts[2].name, "g");
	assert_true(s->verbose);
	mastercf_free(&mc);
}

static void
test_brace_problems_warn(void **state)
{
	struct mastercf *mc = parse_ok("smtp inet n - n - - smtpd -o { c = d e \n");
	const struct strvec *w = mastercf_warnings(mc);
	const struct mastercf_service *s;
	size_t n;

	assert_int_equal(w->n, 1);
	assert_string_equal(w->v[0], "/x/master.cf: line 1: missing '}' in \"{ c = d e \"");
	s = mastercf_services(mc, &n);
	assert_string_equal(s->opts[0].value, "d e");
	mastercf_free(&mc);

	mc = parse_ok("smtp inet n - n - - smtpd -o { c }\n");
	w = mastercf_warnings(mc);
	assert_int_equal(w->n, 1);
	assert_string_equal(w->v[0],
	    "/x/master.cf: line 1: missing '=' after attribute name: \"c\"");
	mastercf_free(&mc);

	mc = parse_ok("smtp inet n - n - - smtpd -o {a=b}x\n");
	assert_string_equal(mastercf_warnings(mc)->v[0],
	    "/x/master.cf: line 1: syntax error after '}' in \"{a=b}x\"");
	mastercf_free(&mc);
}

static void
test_host_port_service_names(void **state)
{
	static const struct {
		const char	*name;
		const char	*host;
		const char	*port;
		int		 number;
	} cases[] = {
		{ "smtp", "", "smtp", 25 },
		{ "submission", "", "submission", 587 },
		{ "smtps", "", "smtps", 465 },
		{ "submissions", "", "submissions", 465 },
		{ "127.0.0.1:2525", "127.0.0.1", "2525", 2525 },
		{ "[::1]:2525", "::1", "2525", 2525 },
		{ ":2525", "", "2525", 2525 },
		{ "mx.example.com:smtp", "mx.example.com", "smtp", 25 },
	};
	static const char *const bad[] = { "[::1", "[::1]", "[::1]x", "host:", "a b:25",
		"1.2.3.4:po/rt" };
	struct str host, port;
	const char *why;
	size_t i;

	str_init(&host, 16);
	str_init(&port, 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		str_reset(&host);
		str_reset(&port);
		assert_int_equal(mastercf_inet_split(cases[i].name, &host, &port, &why), 0);
		assert_string_equal(host.s, cases[i].host);
		assert_string_equal(port.s, cases[i].port);
		assert_int_equal(mastercf_port_number(port.s), cases[i].number);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mastercf_inet_split(bad[i], &host, &port, &why), -1);
	assert_int_equal(mastercf_port_number("0"), -1);
	assert_int_equal(mastercf_port_number("65536"), -1);
	assert_int_equal(mastercf_port_number("no-such-service-here"), -1);
	str_deinit(&host);
	str_deinit(&port);

	expect_format("127.0.0.1:2525 inet n - n - - smtpd\n",
	    "127.0.0.1:2525 inet n    -       n       -       -       smtpd\n", NULL);
	expect_format("[::1]:2525 inet n - n - - smtpd\n",
	    "[::1]:2525 inet  n       -       n       -       -       smtpd\n", NULL);
}

static void
test_bad_fields_fail_with_postconf_wording(void **state)
{
	expect_error("smtp inet n - n - - smtpd\nfoo bar\n",
	    "file /x/master.cf: line 2: bad field count");
	expect_error("smtp inet n - n - - smtpd\n\n# c\nfoo\n  bar baz\n",
	    "file /x/master.cf: line 4: bad field count");
	expect_error("smtp inet n - n - -\n", "file /x/master.cf: line 1: bad field count");
	expect_error("smtp xinet n - n - - smtpd\n",
	    "file /x/master.cf: line 1: invalid type field \"xinet\" in "
	    "\"smtp xinet n - n - - smtpd\"");
	expect_error("smtp inet x - n - - smtpd\n",
	    "file /x/master.cf: line 1: invalid private field \"x\" in "
	    "\"smtp inet x - n - - smtpd\"");
	expect_error("smtp inet n yy n - - smtpd\n",
	    "file /x/master.cf: line 1: invalid unprivileged field \"yy\" in "
	    "\"smtp inet n yy n - - smtpd\"");
	expect_error("smtp inet n - Y - - smtpd\n",
	    "file /x/master.cf: line 1: invalid chroot field \"Y\" in "
	    "\"smtp inet n - Y - - smtpd\"");
	expect_error("smtp inet n - n 1x - smtpd\n",
	    "file /x/master.cf: line 1: invalid wakeup field \"1x\" in "
	    "\"smtp inet n - n 1x - smtpd\"");
	expect_error("a unix n - n 10?? - cmd\n",
	    "file /x/master.cf: line 1: invalid wakeup field \"10??\" in "
	    "\"a unix n - n 10?? - cmd\"");
	expect_error("smtp inet n - n 0 -1 smtpd\n",
	    "file /x/master.cf: line 1: invalid process_limit field \"-1\" in "
	    "\"smtp inet n - n 0 -1 smtpd\"");
	/* continuation lines are joined in the quoted text, as postconf does */
	expect_error("x unix n - n - bad\n  cmd\n",
	    "file /x/master.cf: line 1: invalid process_limit field \"bad\" in "
	    "\"x unix n - n - bad  cmd\"");
}

static void
test_validate_reports_master_problems(void **state)
{
	struct mastercf *mc = parse_ok(
	    "smtp inet n - n - - smtpd\n"
	    "smtp inet n - n - - smtpd -o x=1\n"	/* duplicate: the last one wins */
	    "smtp unix - - n - - smtp\n"		/* another type is no duplicate */
	    "127.0.0.2:2525 inet y - n - - smtpd\n"
	    "[::1 inet n - n - - smtpd\n"
	    "nosuchport inet n - n - - smtpd\n"
	    "w unix - - n ? - cmd\n"
	    "o unix - - n - - cmd -o novalue\n");
	struct strvec errors, warnings;

	strvec_init(&errors);
	strvec_init(&warnings);
	assert_int_equal(mastercf_validate(mc, &errors, &warnings), 5);
	assert_int_equal(warnings.n, 1);
	assert_string_equal(warnings.v[0], "/x/master.cf: line 2: duplicate master.cf entry for "
	    "service \"smtp\" (inet) -- using the last entry");
	assert_int_equal(mastercf_find(mc, "smtp", "inet")->line, 2);
	assert_string_equal(errors.v[0], "/x/master.cf: line 4: inet service cannot be private");
	assert_string_equal(errors.v[1], "/x/master.cf: line 5: missing \"]\" in \"[::1\"");
	assert_string_equal(errors.v[2], "/x/master.cf: line 6: unknown service: nosuchport/tcp");
	assert_string_equal(errors.v[3],
	    "/x/master.cf: line 7: field \"wakeup_time\": bad value: \"?\"");
	assert_string_equal(errors.v[4], "/x/master.cf: line 8: invalid \"-o novalue\" option: "
	    "missing '=' after attribute name");
	strvec_deinit(&errors);
	strvec_deinit(&warnings);
	mastercf_free(&mc);
}

static void
test_garbage_is_bounded(void **state)
{
	struct mastercf *mc;
	struct str big;
	const char *err;
	size_t i, n;

	/* NUL bytes end a logical line's text, as in Postfix */
	static const char nul[] = "smtp inet n - n - - smtpd\0 garbage\n\x01\x02\xff\n";
	mc = mastercf_new();
	err = NULL;
	(void)mastercf_parse(mc, "m", nul, sizeof(nul) - 1, &err);
	mastercf_free(&mc);

	/* binary garbage: no crash; either an error or some services */
	str_init(&big, 1 << 20);
	for (i = 0; i < 200000; i++)
		str_append_c(&big, (int)((i * 7919u + (i >> 3)) & 0xff));
	mc = mastercf_new();
	(void)mastercf_parse(mc, "m", big.s, big.len, &err);
	mastercf_free(&mc);

	/* a megabyte line and thousands of -o */
	str_reset(&big);
	str_append(&big, "smtp inet n - n - - smtpd");
	for (i = 0; i < 5000; i++)
		str_appendf(&big, "\n -o p%zu=v%zu", i, i);
	str_append(&big, " x");
	for (i = 0; i < 1000000; i++)
		str_append_c(&big, 'a');
	str_append_c(&big, '\n');
	mc = mastercf_new();
	assert_int_equal(mastercf_parse(mc, "m", big.s, big.len, &err), 0);
	assert_int_equal(mastercf_services(mc, &n)->nopts, 5000);
	mastercf_free(&mc);

	/* many duplicate entries: validation stays linear */
	str_reset(&big);
	for (i = 0; i < 50000; i++)
		str_append(&big, "a unix - - n - - b\n");
	mc = mastercf_new();
	assert_int_equal(mastercf_parse(mc, "m", big.s, big.len, &err), 0);
	{
		struct strvec e, w;

		strvec_init(&e);
		strvec_init(&w);
		assert_int_equal(mastercf_validate(mc, &e, &w), 0);
		assert_int_equal(w.n, 49999);
		strvec_deinit(&e);
		strvec_deinit(&w);
	}
	mastercf_free(&mc);
	str_deinit(&big);

	/* a missing file */
	mc = mastercf_new();
	assert_int_equal(mastercf_load(mc, "/nonexistent/master.cf", &err), -1);
	assert_string_equal(err, "open /nonexistent/master.cf: No such file or directory");
	mastercf_free(&mc);
	mastercf_free(&mc);	/* NULL-safe */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_master_cf_dist_parses_with_defaults),
		cmocka_unit_test(test_stock_submission_and_smtps_entries),
		cmocka_unit_test(test_continuation_and_comment_lines),
		cmocka_unit_test(test_option_forms_are_normalized),
		cmocka_unit_test(test_brace_problems_warn),
		cmocka_unit_test(test_host_port_service_names),
		cmocka_unit_test(test_bad_fields_fail_with_postconf_wording),
		cmocka_unit_test(test_validate_reports_master_problems),
		cmocka_unit_test(test_garbage_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
