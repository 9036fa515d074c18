/* test_dovecot_conf.c - dovecot.conf parsing, includes, variables, errors
 * and doveconf output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/dovecot_conf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

static struct dovecot_conf *
parse_ok(const char *text)
{
	struct dovecot_conf *conf = dovecot_conf_new();
	const char *err = NULL;

	if (dovecot_conf_parse_buffer(conf, "/x/dovecot.conf", text, strlen(text),
	    DOVECOT_CONF_NO_INCLUDES, &err) != 0)
		fail_msg("unexpected error: %s", err);
	return conf;
}

static void
want_error(const char *text, const char *want)
{
	struct dovecot_conf *conf = dovecot_conf_new();
	const char *err = NULL;

	assert_int_equal(dovecot_conf_parse_buffer(conf, "/x/dovecot.conf", text, strlen(text),
	    DOVECOT_CONF_NO_INCLUDES, &err), -1);
	assert_non_null(err);
	if (strcmp(err, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", err, want);
	dovecot_conf_free(&conf);
	assert_null(conf);
}

static void
want_value(const char *text, const char *path, const char *want)
{
	struct dovecot_conf *conf = parse_ok(text);
	const char *v = dovecot_conf_get(conf, path);

	if (want == NULL)
		assert_null(v);
	else if (v == NULL || strcmp(v, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", path, v == NULL ? "(null)" : v, want);
	dovecot_conf_free(&conf);
}

static char *
dump(const char *text, unsigned flags)
{
	struct dovecot_conf *conf = parse_ok(text);
	struct str out;

	str_init(&out, 256);
	dovecot_conf_dump(conf, flags, &out);
	dovecot_conf_free(&conf);
	return str_export(&out);
}

static void
test_table(void **state)
{
	size_t i;

	for (i = 0; i < dovecot_conf_settings_count; i++) {
		const struct dovecot_conf_setting *s = &dovecot_conf_settings[i];

		assert_ptr_equal(dovecot_conf_setting_find(s->section, s->name), s);
		assert_non_null(s->help);
		assert_true((s->type == DC_ENUM) == (s->enum_values != NULL));
	}
	assert_string_equal(dovecot_conf_setting_find("", "ssl_min_protocol")->def, "TLSv1.2");
	assert_string_equal(dovecot_conf_setting_find("", "listen")->def, "*, ::");
	assert_null(dovecot_conf_setting_find("", "no_such_setting"));
}

static void
test_values_and_quoting(void **state)
{
	want_value("mail_uid = x\n", "mail_uid", "x");
	want_value("mail_uid=x   \n", "mail_uid", "x");
	want_value("mail_uid = a # comment\n", "mail_uid", "a");
	want_value("mail_uid = \"a#b\\\"c\\\\d\"\n", "mail_uid", "a#b\"c\\d");
	want_value("mail_uid = 'a \"b'  # c\n", "mail_uid", "a \"b");
	want_value("mail_uid = \"abc\n", "mail_uid", "\"abc");
	want_value("mail_uid = a\"b\n", "mail_uid", "a\"b");
	want_value("mail_gid = \\\n   x\n", "mail_gid", "x");
	want_value("mail_uid = a\r\n", "mail_uid", "a");
	want_value("", "mail_uid", "");
	want_value("", "ssl_cipher_list",
	    "ALL:!kRSA:!SRP:!kDHd:!DSS:!aNULL:!eNULL:!EXPORT:!DES:!3DES:!MD5:!PSK:!RC4:!ADH:!LOW@STRENGTH");
	/* typed values are kept in doveconf's form */
	want_value("imap_idle_notify_interval = 5m\n", "imap_idle_notify_interval", "5 mins");
	want_value("submission_max_mail_size = 2048\n", "submission_max_mail_size", "2 k");
	want_value("verbose_proctitle = Y\n", "verbose_proctitle", "yes");
	want_value("first_valid_uid = 0010\n", "first_valid_uid", "10");
}

static void
test_file_values(void **state)
{
	struct dovecot_conf *conf = parse_ok("ssl_cert = <  /nonexistent/x.pem\n");
	struct str s;

	assert_string_equal(dovecot_conf_get(conf, "ssl_cert"), "</nonexistent/x.pem");
	str_init(&s, 16);
	assert_int_equal(dovecot_conf_value_read(conf, dovecot_conf_get(conf, "ssl_cert"), &s), -1);
	assert_int_equal(dovecot_conf_value_read(conf, "plain", &s), 0);
	assert_string_equal(s.s, "plain");
	str_deinit(&s);
	dovecot_conf_free(&conf);
}

static void
test_variables(void **state)
{
	/* $key appends to what the file set so far; unset protocols is "" */
	want_value("protocols = $protocols imap\nprotocols = $protocols pop3\n", "protocols",
	    " imap pop3");
	want_value("login_greeting = $login_greeting x\n", "login_greeting",
	    "Dovecot (Debian) ready. x");
	want_value("mail_uid = x\nmail_uid = a   $mail_uid   b\n", "mail_uid", "a x b");
	/* only the key's own name is expanded, as doveconf does */
	want_value("mail_uid = $protocols\n", "mail_uid", "$protocols");
	want_value("mail_uid = x\nmail_uid = '$mail_uid y'\n", "mail_uid", "$mail_uid y");
	/* self-reference of an unset key is its default, never a loop */
	want_value("mail_uid = $mail_uid\n", "mail_uid", "");
	want_error("plugin {\n  x = 1\n  x = $x y\n}\n",
	    "Error in configuration file /x/dovecot.conf line 3: Unknown variable: $x");
}

static void
test_sections(void **state)
{
	const char *text =
	    "namespace inbox {\n  inbox = yes\n}\n"
	    "namespace inbox {\n  mailbox \"Sent Messages\" {\n    special_use = \\Sent\n  }\n}\n"
	    "service imap-login {\n  inet_listener imaps {\n    port = 1993\n  }\n}\n"
	    "plugin {\n  sieve = file:~/sieve\n}\nplugin {\n  zz = 1\n}\n"
	    "passdb {\n  driver = pam\n}\npassdb {\n  driver = passwd-file\n}\n";
	struct dovecot_conf *conf = parse_ok(text);
	const struct dovecot_conf_section *root = dovecot_conf_root(conf);
	size_t i, npassdb = 0;

	assert_string_equal(dovecot_conf_get(conf, "namespace/inbox/inbox"), "yes");
	assert_string_equal(dovecot_conf_get(conf, "namespace/inbox/list"), "yes");
	assert_string_equal(dovecot_conf_get(conf,
	    "namespace/inbox/mailbox/Sent Messages/special_use"), "\\Sent");
	assert_string_equal(dovecot_conf_get(conf, "plugin/sieve"), "file:~/sieve");
	assert_string_equal(dovecot_conf_get(conf, "plugin/zz"), "1");
	assert_null(dovecot_conf_get(conf, "plugin/nope"));
	assert_string_equal(dovecot_conf_get(conf, "service/imap-login/inet_listener/imaps/port"),
	    "1993");
	/* built-in service defaults without any configuration */
	assert_string_equal(dovecot_conf_get(conf, "service/imap-login/inet_listener/imap/port"),
	    "143");
	assert_string_equal(dovecot_conf_get(conf, "service/imap/process_limit"), "1024");
	assert_null(dovecot_conf_get(conf, "namespace/nope/location"));
	assert_null(dovecot_conf_get(conf, "no_such_setting"));
	for (i = 0; i < dovecot_conf_section_count(root); i++) {
		const struct dovecot_conf_section *s = dovecot_conf_section_child(root, i);

		if (strcmp(dovecot_conf_section_type(s), "passdb") == 0) {
			npassdb++;
			assert_null(dovecot_conf_section_name(s));
			assert_string_equal(dovecot_conf_section_get(s, "result_success"),
			    "return-ok");
		}
	}
	assert_int_equal(npassdb, 2);	/* unnamed list sections never merge */
	dovecot_conf_free(&conf);
}

static void
test_filters(void **state)
{
	const char *text =
	    "mail_plugins = quota\n"
	    "protocol imap {\n  mail_plugins = $mail_plugins imap_quota\n}\n"
	    "protocol !imap {\n  mail_debug = yes\n}\n"
	    "remote 10.0.0.0/8 {\n  mail_plugins = remote\n}\n"
	    "local 192.0.2.1 {\n  protocol imap {\n    mail_plugins = local\n  }\n}\n";
	struct dovecot_conf *conf = parse_ok(text);
	struct dovecot_conf_filter f = { "imap", NULL, NULL };

	assert_string_equal(dovecot_conf_get_filtered(conf, &f, "mail_plugins"), "quota imap_quota");
	assert_string_equal(dovecot_conf_get_filtered(conf, &f, "mail_debug"), "no");
	f.protocol = "pop3";
	assert_string_equal(dovecot_conf_get_filtered(conf, &f, "mail_plugins"), "quota");
	assert_string_equal(dovecot_conf_get_filtered(conf, &f, "mail_debug"), "yes");
	f.remote_ip = "10.1.2.3";
	assert_string_equal(dovecot_conf_get_filtered(conf, &f, "mail_plugins"), "remote");
	f.protocol = "imap";
	f.local_ip = "192.0.2.1";
	assert_string_equal(dovecot_conf_get_filtered(conf, &f, "mail_plugins"), "local");
	dovecot_conf_free(&conf);

	/* the typed readers of a protocol's view: "" / false / 0 when unset
	 * or not of the type */
	conf = parse_ok("mail_max_userip_connections = 7\n"
	    "protocol pop3 {\n  mail_max_userip_connections = 3\n  verbose_proctitle = yes\n}\n"
	    "protocol imap {\n  login_greeting = lots\n}\n");
	{
		char *v = dovecot_conf_protocol_str(conf, "pop3", "mail_max_userip_connections");

		assert_string_equal(v, "3");
		free(v);
		v = dovecot_conf_protocol_str(conf, "pop3", "no_such_setting");
		assert_string_equal(v, "");
		free(v);
	}
	assert_int_equal(dovecot_conf_protocol_uint(conf, "pop3", "mail_max_userip_connections"), 3);
	assert_int_equal(dovecot_conf_protocol_uint(conf, "lmtp", "mail_max_userip_connections"), 7);
	assert_int_equal(dovecot_conf_protocol_uint(conf, "imap", "login_greeting"), 0);
	assert_true(dovecot_conf_protocol_bool(conf, "pop3", "verbose_proctitle"));
	assert_false(dovecot_conf_protocol_bool(conf, "imap", "verbose_proctitle"));
	assert_false(dovecot_conf_protocol_bool(conf, "pop3", "mail_max_userip_connections"));
	dovecot_conf_free(&conf);
	want_error("protocol imap {\n  protocol pop3 {\n  }\n}\n",
	    "Error in configuration file /x/dovecot.conf line 2: "
	    "Nested protocol { protocol { .. } } block not allowed");
}

static void
test_dump(void **state)
{
	char *out;

	out = dump("protocols = $protocols imap\nssl = yes\nmail_uid = \"a#b\"\n"
	    "namespace inbox {\n  mailbox Sent {\n    special_use = \\Sent\n  }\n"
	    "  mailbox \"Sent Messages\" {\n    special_use = \\Sent\n  }\n  inbox = yes\n}\n"
	    "ssl_key = </k.pem\nplugin {\n  url = http://u:p@h/x\n  a_password = s\n}\n"
	    "protocol imap {\n  ssl = yes\n}\n", DOVECOT_CONF_DUMP_NONDEFAULT);
	assert_string_equal(out,
	    "mail_uid = \"a#b\"\n"
	    "namespace inbox {\n  inbox = yes\n  location = \n"
	    "  mailbox Sent {\n    special_use = \\Sent\n  }\n"
	    "  mailbox \"Sent Messages\" {\n    special_use = \\Sent\n  }\n  prefix = \n}\n"
	    "plugin {\n  a_password = # hidden, use -P to show it\n"
	    "  url = http://#hidden_use-P_to_show#@h/x\n}\n"
	    "protocols = \" imap\"\n"
	    "ssl_key = # hidden, use -P to show it\n"
	    "protocol imap {\n  ssl = yes\n}\n");
	free(out);
	out = dump("ssl_key = </k.pem\n", DOVECOT_CONF_DUMP_NONDEFAULT | DOVECOT_CONF_DUMP_SHOW_SECRETS);
	assert_string_equal(out, "ssl_key = </k.pem\n");
	free(out);
	out = dump("", 0);
	assert_non_null(strstr(out, "\nlisten = *, ::\n"));
	assert_non_null(strstr(out, "\nssl_key = \n"));
	free(out);
}

static void
test_errors_name_file_and_line(void **state)
{
	want_error("\n\nfoo = 1\n",
	    "Error in configuration file /x/dovecot.conf line 3: Unknown setting: foo");
	want_error("bar\n", "Error in configuration file /x/dovecot.conf line 1: Expecting '{'");
	want_error("service imap {\n",
	    "Error in configuration file /x/dovecot.conf: Missing '}' (section started at "
	    "/x/dovecot.conf:1)");
	want_error("}\n", "Error in configuration file /x/dovecot.conf line 1: Unexpected '}'");
	want_error("plugin {\n  x {\n  }\n}\n",
	    "Error in configuration file /x/dovecot.conf line 2: Section not allowed here");
	want_error("namespace {\n  mailbox x {\n    bogus = 1\n  }\n}\n",
	    "Error in configuration file /x/dovecot.conf line 3: "
	    "Unknown setting: namespace { mailbox { bogus");
	want_error("bogus x {\n}\n",
	    "Error in configuration file /x/dovecot.conf line 1: Unknown setting: bogus { bogus");
	want_error("ssl = maybe\n",
	    "Error in configuration file /x/dovecot.conf line 1: Invalid value: maybe");
	want_error("verbose_proctitle = maybe\n",
	    "Error in configuration file /x/dovecot.conf line 1: "
	    "Invalid boolean value: maybe (use yes or no)");
	want_error("first_valid_uid = abc\n",
	    "Error in configuration file /x/dovecot.conf line 1: "
	    "Invalid number abc: Not a valid number");
	want_error("imap_idle_notify_interval = 5\n",
	    "Error in configuration file /x/dovecot.conf line 1: "
	    "Time interval '5' is missing units (add e.g. 's' for seconds)");
	want_error("submission_max_mail_size = 10x\n",
	    "Error in configuration file /x/dovecot.conf line 1: Invalid size: 10x");
	want_error("= 3\n", "Error in configuration file /x/dovecot.conf line 1: "
	    "Missing key name ('=' at the beginning of line)");
	want_error("!include /etc/passwd\n",
	    "Error in configuration file /x/dovecot.conf line 1: Includes are disabled here");
}

static void
test_malformed_input_is_bounded(void **state)
{
	struct dovecot_conf *conf;
	struct str big;
	const char *err;
	size_t i;

	/* NUL ends a line's text, as in Dovecot */
	conf = dovecot_conf_new();
	assert_int_equal(dovecot_conf_parse_buffer(conf, "n.conf", "mail_uid = a\0b\nfoo\n", 19,
	    0, &err), -1);
	assert_string_equal(err, "Error in configuration file n.conf line 2: Expecting '{'");
	dovecot_conf_free(&conf);
	/* deep nesting is capped */
	str_init(&big, 4096);
	for (i = 0; i < 100; i++)
		str_append(&big, "namespace x {\n");
	conf = dovecot_conf_new();
	assert_int_equal(dovecot_conf_parse_buffer(conf, "d.conf", big.s, big.len, 0, &err), -1);
	dovecot_conf_free(&conf);
	str_reset(&big);
	for (i = 0; i < 100; i++)
		str_append(&big, "local 10.0.0.1 {\nremote 10.0.0.2 {\nprotocol imap {\n");
	conf = dovecot_conf_new();
	assert_int_equal(dovecot_conf_parse_buffer(conf, "d.conf", big.s, big.len, 0, &err), -1);
	dovecot_conf_free(&conf);
	/* a megabyte-long line and binary garbage */
	str_reset(&big);
	str_append(&big, "login_greeting = ");
	for (i = 0; i < 1024 * 1024; i++)
		str_append_c(&big, 'a' + (int)(i % 26));
	str_append(&big, "\n");
	for (i = 0; i < 4096; i++)
		str_append_c(&big, (int)((i * 7919) & 0xff));
	conf = dovecot_conf_new();
	(void)dovecot_conf_parse_buffer(conf, "g.conf", big.s, big.len, 0, &err);
	dovecot_conf_free(&conf);
	str_deinit(&big);
}

/* Include tests use a temporary directory of real files. */
static char tmpdir[64];

static void
put(const char *name, const char *text)
{
	char *path = path_join(tmpdir, name);

	assert_int_equal(file_write_atomic(path, text, strlen(text), 0644), 0);
	free(path);
}

static int
parse_dir(const char *name, struct dovecot_conf **conf_r, const char **err_r)
{
	char *path = path_join(tmpdir, name);
	int ret;

	*conf_r = dovecot_conf_new();
	ret = dovecot_conf_parse_file(*conf_r, path, 0, err_r);
	free(path);
	return ret;
}

static void
test_includes(void **state)
{
	struct dovecot_conf *conf;
	const char *err = NULL;
	char sub[128], want[512];
	size_t i;

	strcpy(tmpdir, "/tmp/test_dovecot_conf.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put("conf.d/10-a.conf", "protocols = $protocols a\n");
	put("conf.d/20-b.conf", "protocols = $protocols b\nssl_cert = <cert.pem\n");
	put("cert.pem", "CERT");
	put("main.conf", "!include conf.d/*.conf\n!include_try missing/*.conf\n"
	    "!include_try nothere.conf\n!include_try \"conf.d/{20-b,none}.conf\"\n");
	assert_int_equal(parse_dir("main.conf", &conf, &err), 0);
	assert_string_equal(dovecot_conf_get(conf, "protocols"), " a b b");
	{
		struct str s;

		/* relative to the file that set it */
		put("conf.d/cert.pem", "CERT2");
		str_init(&s, 16);
		assert_int_equal(dovecot_conf_value_read(conf, dovecot_conf_get(conf, "ssl_cert"),
		    &s), 0);
		assert_string_equal(s.s, "CERT2");
		str_deinit(&s);
	}
	dovecot_conf_free(&conf);

	/* a missing !include is an error with file and line */
	put("bad.conf", "\n!include nothere.conf\n");
	assert_int_equal(parse_dir("bad.conf", &conf, &err), -1);
	snprintf(want, sizeof(want), "Error in configuration file %s/bad.conf line 2: No matches",
	    tmpdir);
	assert_string_equal(err, want);
	dovecot_conf_free(&conf);

	/* loops, direct and indirect */
	put("loop.conf", "!include loop.conf\n");
	assert_int_equal(parse_dir("loop.conf", &conf, &err), -1);
	assert_non_null(strstr(err, "Recursive include file"));
	dovecot_conf_free(&conf);
	put("l1.conf", "!include l2.conf\n");
	put("l2.conf", "!include_try l1.conf\n");
	assert_int_equal(parse_dir("l1.conf", &conf, &err), -1);
	assert_non_null(strstr(err, "Recursive include file"));
	dovecot_conf_free(&conf);

	/* sections must close in their own file; errors name the included file */
	put("conf.d/30-open.conf", "namespace x {\n");
	put("open.conf", "!include conf.d/30-open.conf\n}\n");
	assert_int_equal(parse_dir("open.conf", &conf, &err), -1);
	assert_non_null(strstr(err, "30-open.conf: Missing '}'"));
	dovecot_conf_free(&conf);

	/* a glob matching more files than allowed fails instead of reading them */
	snprintf(sub, sizeof(sub), "%s/many", tmpdir);
	assert_int_equal(mkdir(sub, 0755), 0);
	for (i = 0; i < DOVECOT_CONF_MAX_FILES + 1; i++) {
		char name[64];

		snprintf(name, sizeof(name), "many/%04zu.conf", i);
		put(name, "");
	}
	put("many.conf", "!include many/*.conf\n");
	assert_int_equal(parse_dir("many.conf", &conf, &err), -1);
	assert_non_null(strstr(err, "Too many included files"));
	dovecot_conf_free(&conf);

	/* the whole top file missing is Dovecot's open() message */
	assert_int_equal(parse_dir("nope.conf", &conf, &err), -1);
	assert_non_null(strstr(err, "open("));
	assert_non_null(strstr(err, "No such file or directory"));
	dovecot_conf_free(&conf);

	snprintf(want, sizeof(want), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(want), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_values_and_quoting),
		cmocka_unit_test(test_file_values),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_malformed_input_is_bounded),
		cmocka_unit_test(test_includes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
