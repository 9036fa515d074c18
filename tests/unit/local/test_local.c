/* test_local.c - local delivery's first half: unsafe local parts,
 * forward_path expansion, target splitting, Delivered-To scanning, and
 * alias expansion into a plan (every target kind, :include:, owner-
 * senders, self-reference, loops, remote addresses, restrictions) with a
 * fake user database, so nothing forks and nothing is written. */
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

#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "local/local.h"

static int
fake_users(const char *name, struct local_user *u)
{
	static const char *const known[] = { "alice", "bob", "carol", "nobody" };
	size_t i;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(known[i], name) != 0)
			continue;
		u->name = xstrdup(name);
		u->home = xasprintf("/home/%s", name);
		u->shell = xstrdup("/bin/sh");
		u->uid = (uid_t)(1000 + i);
		u->gid = (gid_t)(1000 + i);
		return 1;
	}
	return 0;
}

static void
test_unsafe_local_parts(void **state)
{
	static const struct {
		const char	*local;
		bool		 safe;
	} cases[] = {
		{ "alice", true },
		{ "alice+ext", true },
		{ "first.last", true },
		{ "|rm -rf /", false },
		{ "../../etc/passwd", false },
		{ "a/b", false },
		{ "a\nb", false },
		{ "\"quoted\"", false },
		{ ":include:", false },
		{ "-oQ", false },
		{ "a..b", false },
		{ "", false },
		{ "a`id`", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (local_part_is_safe(cases[i].local) != cases[i].safe)
			fail_msg("%s: want %d", cases[i].local, cases[i].safe);
}

static void
test_forward_path_expansion(void **state)
{
	struct local_vars v = { .user = "alice", .home = "/home/alice", .shell = "/bin/sh",
	    .recipient = "alice+lists@example.com", .extension = "lists",
	    .domain = "example.com", .local = "alice+lists", .recipient_delimiter = "+" };
	struct str out;

	str_init(&out, 64);
	assert_int_equal(local_expand_path("$home/.forward${recipient_delimiter}${extension}",
	    &v, &out), 1);
	assert_string_equal(out.s, "/home/alice/.forward+lists");
	assert_int_equal(local_expand_path("$home/.forward", &v, &out), 1);
	assert_string_equal(out.s, "/home/alice/.forward");
	assert_int_equal(local_expand_path("/var/fwd/$user${extension?.x}${shell:none}", &v, &out),
	    1);
	assert_string_equal(out.s, "/var/fwd/alice.x");
	/* without an extension the first default item is skipped */
	v.extension = NULL;
	assert_int_equal(local_expand_path("$home/.forward${recipient_delimiter}${extension}",
	    &v, &out), 0);
	assert_int_equal(local_expand_path("$(home)/f${extension:-plain}", &v, &out), 1);
	assert_string_equal(out.s, "/home/alice/f-plain");
	assert_int_equal(local_expand_path("${home", &v, &out), -1);
	assert_int_equal(local_expand_path("$", &v, &out), -1);
	str_deinit(&out);
}

static void
test_split_targets(void **state)
{
	struct strvec v;

	strvec_init(&v);
	/* commands, files and includes run to the next comma outside
	 * quotes; plain addresses also end at white space */
	local_split_targets("bob, \"|/usr/bin/vacation -a x, y\", /var/log/m,"
	    ":include:/etc/list, carol  dave@example.com,\\alice", &v);
	assert_int_equal(v.n, 7);
	assert_string_equal(v.v[0], "bob");
	assert_string_equal(v.v[1], "|/usr/bin/vacation -a x, y");
	assert_string_equal(v.v[2], "/var/log/m");
	assert_string_equal(v.v[3], ":include:/etc/list");
	assert_string_equal(v.v[4], "carol");
	assert_string_equal(v.v[5], "dave@example.com");
	assert_string_equal(v.v[6], "\\alice");
	strvec_deinit(&v);
}

static void
test_delivered_to_scan(void **state)
{
	static const char msg[] = "Received: x\r\nDelivered-To: Alice@Example.COM \r\n"
	    "Subject: s\r\n\r\nDelivered-To: body@example.com\r\n";
	struct strvec v;

	strvec_init(&v);
	local_delivered_to(msg, sizeof(msg) - 1, &v);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.v[0], "alice@example.com");
	strvec_deinit(&v);
}

/* A plan for rcpt with these aliases; results as "kind rcpt target sender". */
struct fixture {
	struct maincf	*cf;
	struct maps	*aliases;
	struct strvec	 delivered;
	char		 dir[64];
};

static void
plan_text(struct fixture *f, const char *rcpt, struct str *out)
{
	static const char *const kinds[] = { "mailbox", "command", "file", "forward", "virtual",
	    "bounce", "defer", "pass" };
	struct local_expand_ctx ctx;
	struct local_plan plan;
	const char *err;
	size_t i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cf = f->cf;
	ctx.aliases = f->aliases;
	ctx.alias_uid = 0;
	ctx.lookup_user = fake_users;
	ctx.service = "local";
	ctx.sender = "sender@remote.example";
	ctx.delivered_to = &f->delivered;
	ctx.dev_mode = false;
	assert_int_equal(local_expand(&ctx, rcpt, &plan, &err), 0);
	str_reset(out);
	for (i = 0; i < plan.n; i++) {
		const struct local_item *it = &plan.v[i];

		str_appendf(out, "%s %s ", kinds[it->kind], it->rcpt);
		if (it->kind == LOCAL_BOUNCE || it->kind == LOCAL_DEFER)
			str_appendf(out, "%s %s", it->status, it->reason);
		else
			str_appendf(out, "%s <%s> uid=%ld", it->target, it->sender, (long)it->user.uid);
		str_append_c(out, '\n');
	}
	local_plan_deinit(&plan);
}

static int
fixture_setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct str conf, spec;
	const char *err;
	FILE *fp;
	char path[128];

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_local.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/list", f->dir);
	fp = fopen(path, "w");
	fprintf(fp, "# members\ncarol\nfriend@remote.example, |/bin/true\n");
	fclose(fp);
	chmod(path, 0644);
	str_init(&conf, 512);
	str_appendf(&conf,
	    "myorigin = example.com\nmydestination = example.com, localhost\n"
	    "default_transport = smtp\nrecipient_delimiter = +\n"
	    "mail_spool_directory = /var/mail\nforward_path = %s/nonexistent/$user\n"
	    "allow_mail_to_commands = alias\nallow_mail_to_files = alias\n", f->dir);
	f->cf = maincf_new("/nonexistent");
	if (maincf_parse(f->cf, "main.cf", conf.s, conf.len, &err) != 0)
		return -1;
	str_init(&spec, 512);
	str_appendf(&spec, "inline:{ { team = alice, bob, remote@other.example }, "
	    "{ cmd = \"|/usr/bin/procmail -a x\" }, file=/var/log/archive, "
	    "{ list = :include:%s/list }, owner-list=alice, { self = self, alice }, "
	    "loop1=loop2, loop2=loop1, { dup = alice, alice, team }, "
	    "postmaster=root, root=alice }", f->dir);
	f->aliases = maps_open(spec.s, 0, &err);
	if (f->aliases == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	strvec_init(&f->delivered);
	str_deinit(&conf);
	str_deinit(&spec);
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	maps_free(&f->aliases);
	maincf_free(&f->cf);
	strvec_deinit(&f->delivered);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	(void)system(cmd);
	free(f);
	return 0;
}

static void
test_plan_user_and_extension(void **state)
{
	struct fixture *f = *state;
	struct str out;

	str_init(&out, 256);
	plan_text(f, "Alice+Tag@example.com", &out);
	assert_string_equal(out.s,
	    "mailbox alice+tag@example.com /var/mail/alice <sender@remote.example> uid=1000\n");
	plan_text(f, "nosuch@example.com", &out);
	assert_string_equal(out.s, "bounce nosuch@example.com 5.1.1 unknown user: \"nosuch\"\n");
	plan_text(f, "../../etc/passwd@example.com", &out);
	assert_string_equal(out.s,
	    "bounce ../../etc/passwd@example.com 5.1.1 unknown user: \"../../etc/passwd\"\n");
	plan_text(f, "|rm -rf /@example.com", &out);
	assert_string_equal(out.s, "bounce |rm -rf /@example.com 5.1.1 unknown user: \"|rm -rf /\"\n");
	str_deinit(&out);
}

static void
test_plan_alias_kinds(void **state)
{
	struct fixture *f = *state;
	struct str out;

	str_init(&out, 256);
	plan_text(f, "team@example.com", &out);
	assert_string_equal(out.s,
	    "mailbox alice@example.com /var/mail/alice <sender@remote.example> uid=1000\n"
	    "mailbox bob@example.com /var/mail/bob <sender@remote.example> uid=1001\n"
	    "forward remote@other.example remote@other.example <sender@remote.example> uid=0\n");
	/* commands and files of a root-owned table run as default_privs */
	plan_text(f, "cmd@example.com", &out);
	assert_string_equal(out.s, "command cmd@example.com /usr/bin/procmail -a x "
	    "<sender@remote.example> uid=1003\n");
	plan_text(f, "file@example.com", &out);
	assert_string_equal(out.s, "file file@example.com /var/log/archive "
	    "<sender@remote.example> uid=1003\n");
	/* an include file: its members, and the owner- alias as sender; a
	 * command in it needs "include" in allow_mail_to_commands */
	plan_text(f, "list@example.com", &out);
	assert_string_equal(out.s,
	    "mailbox carol@example.com /var/mail/carol <owner-list@example.com> uid=1002\n"
	    "forward friend@remote.example friend@remote.example <owner-list@example.com> uid=0\n"
	    "bounce list@example.com 5.7.1 mail to command is restricted\n");
	str_deinit(&out);
}

static void
test_plan_self_reference_loops_duplicates(void **state)
{
	struct fixture *f = *state;
	struct str out;

	str_init(&out, 256);
	/* self: self alice - "self" is not expanded again; no such user */
	plan_text(f, "self@example.com", &out);
	assert_string_equal(out.s,
	    "bounce self@example.com 5.1.1 unknown user: \"self\"\n"
	    "mailbox alice@example.com /var/mail/alice <sender@remote.example> uid=1000\n");
	plan_text(f, "loop1@example.com", &out);
	assert_string_equal(out.s,
	    "bounce loop1@example.com 5.4.6 mail forwarding loop for loop1@example.com\n");
	/* alice twice and again through team: one delivery */
	plan_text(f, "dup@example.com", &out);
	assert_string_equal(out.s,
	    "mailbox alice@example.com /var/mail/alice <sender@remote.example> uid=1000\n"
	    "mailbox bob@example.com /var/mail/bob <sender@remote.example> uid=1001\n"
	    "forward remote@other.example remote@other.example <sender@remote.example> uid=0\n");
	plan_text(f, "postmaster@localhost", &out);
	assert_string_equal(out.s,
	    "mailbox alice@localhost /var/mail/alice <sender@remote.example> uid=1000\n");
	/* a Delivered-To: of this address: the message came round again */
	strvec_push(&f->delivered, "bob@example.com");
	plan_text(f, "bob@example.com", &out);
	assert_string_equal(out.s,
	    "bounce bob@example.com 5.4.6 mail forwarding loop for bob@example.com\n");
	str_deinit(&out);
}

/* Postfix's order after the aliases: mailbox_transport_maps,
 * mailbox_command_maps per user name; for non-users
 * fallback_transport_maps, fallback_transport, luser_relay */
static void
test_plan_tables_fallback_and_luser_relay(void **state)
{
	struct fixture *f = *state;
	struct maincf *saved = f->cf;
	static const char conf[] =
	    "myorigin = example.com\nmydestination = example.com, localhost\n"
	    "default_transport = smtp\nrecipient_delimiter = +\n"
	    "mail_spool_directory = /var/mail\nforward_path =\n"
	    "mailbox_command_maps = inline:{ {bob = /usr/bin/procmail -a x} }\n"
	    "mailbox_transport_maps = inline:{ {carol = discard:held} }\n"
	    "fallback_transport_maps = inline:{ {gone = error:5.1.1 gone} }\n"
	    "luser_relay = nobody+$user\n";
	const char *err;
	struct str out;

	f->cf = maincf_new("/nonexistent");
	assert_int_equal(maincf_parse(f->cf, "main.cf", conf, sizeof(conf) - 1, &err), 0);
	str_init(&out, 256);
	plan_text(f, "bob@example.com", &out);
	assert_string_equal(out.s,
	    "command bob@example.com /usr/bin/procmail -a x <sender@remote.example> uid=1001\n");
	plan_text(f, "carol@example.com", &out);
	assert_string_equal(out.s,
	    "pass carol@example.com discard:held <sender@remote.example> uid=0\n");
	plan_text(f, "gone@example.com", &out);
	assert_string_equal(out.s,
	    "pass gone@example.com error:5.1.1 gone <sender@remote.example> uid=0\n");
	plan_text(f, "Stranger+x@example.com", &out);
	assert_string_equal(out.s, "mailbox nobody+stranger@example.com /var/mail/nobody "
	    "<sender@remote.example> uid=1003\n");
	/* an alias still comes first */
	plan_text(f, "team@example.com", &out);
	assert_non_null(strstr(out.s, "command bob@example.com /usr/bin/procmail"));
	maincf_free(&f->cf);
	/* fallback_transport before luser_relay; a relay that is itself
	 * unknown ends as a loop, not a hang */
	static const char conf2[] =
	    "myorigin = example.com\nmydestination = example.com\nforward_path =\n"
	    "luser_relay = $user-again\n";
	f->cf = maincf_new("/nonexistent");
	assert_int_equal(maincf_parse(f->cf, "main.cf", conf2, sizeof(conf2) - 1, &err), 0);
	plan_text(f, "who@example.com", &out);
	assert_non_null(strstr(out.s, "5.4.6 mail forwarding loop"));
	maincf_free(&f->cf);
	f->cf = saved;
	str_deinit(&out);
}

/* owner_request_special with recipient_delimiter "-": owner-list and
 * list-request are not list plus an extension */
static void
test_plan_owner_request_special(void **state)
{
	struct fixture *f = *state;
	struct maincf *saved = f->cf;
	static const char conf[] =
	    "myorigin = example.com\nmydestination = example.com\nforward_path =\n"
	    "mail_spool_directory = /var/mail\nrecipient_delimiter = -\n";
	static const char conf_off[] =
	    "myorigin = example.com\nmydestination = example.com\nforward_path =\n"
	    "mail_spool_directory = /var/mail\nrecipient_delimiter = -\n"
	    "owner_request_special = no\n";
	const char *err;
	struct str out;

	f->cf = maincf_new("/nonexistent");
	assert_int_equal(maincf_parse(f->cf, "main.cf", conf, sizeof(conf) - 1, &err), 0);
	str_init(&out, 256);
	plan_text(f, "alice-ext@example.com", &out);
	assert_string_equal(out.s,
	    "mailbox alice-ext@example.com /var/mail/alice <sender@remote.example> uid=1000\n");
	plan_text(f, "bob-request@example.com", &out);
	assert_string_equal(out.s,
	    "bounce bob-request@example.com 5.1.1 unknown user: \"bob-request\"\n");
	plan_text(f, "owner-carol@example.com", &out);
	assert_string_equal(out.s,
	    "bounce owner-carol@example.com 5.1.1 unknown user: \"owner-carol\"\n");
	maincf_free(&f->cf);
	f->cf = maincf_new("/nonexistent");
	assert_int_equal(maincf_parse(f->cf, "main.cf", conf_off, sizeof(conf_off) - 1, &err), 0);
	plan_text(f, "bob-request@example.com", &out);
	assert_string_equal(out.s,
	    "mailbox bob-request@example.com /var/mail/bob <sender@remote.example> uid=1001\n");
	maincf_free(&f->cf);
	f->cf = saved;
	str_deinit(&out);
}

/* within a batch's cache scope a user is looked up once: the same answer
 * (found or not) as the direct lookup, the same again from the cache, and
 * nothing kept after the scope ends */
static void
test_user_cache_batch(void **state)
{
	struct local_user direct, a, b;
	int r;

	(void)state;
	assert_int_equal(local_user_getpwnam("root", &direct), 1);
	local_user_cache_begin();
	assert_int_equal(local_user_getpwnam("root", &a), 1);
	assert_int_equal(local_user_getpwnam("root", &b), 1);
	assert_string_equal(a.name, direct.name);
	assert_string_equal(b.home, direct.home);
	assert_string_equal(b.shell, direct.shell);
	assert_int_equal(b.uid, direct.uid);
	assert_int_equal(b.gid, direct.gid);
	/* each answer is the caller's own copy */
	assert_ptr_not_equal(a.name, b.name);
	local_user_deinit(&a);
	local_user_deinit(&b);
	r = local_user_getpwnam("no-such-user-yubin-test", &a);
	assert_int_equal(r, 0);
	assert_int_equal(local_user_getpwnam("no-such-user-yubin-test", &a), 0);
	assert_null(a.name);
	local_user_cache_end();
	assert_int_equal(local_user_getpwnam("root", &a), 1);
	assert_int_equal(a.uid, direct.uid);
	local_user_deinit(&a);
	local_user_deinit(&direct);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsafe_local_parts),
		cmocka_unit_test(test_forward_path_expansion),
		cmocka_unit_test(test_split_targets),
		cmocka_unit_test(test_delivered_to_scan),
		cmocka_unit_test(test_user_cache_batch),
		cmocka_unit_test_setup_teardown(test_plan_user_and_extension, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_plan_alias_kinds, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_plan_owner_request_special, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_plan_tables_fallback_and_luser_relay,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_plan_self_reference_loops_duplicates,
		    fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
