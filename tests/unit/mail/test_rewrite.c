/* test_rewrite.c - address rewriting at queue entry (mail/rewrite.h) and
 * the transport_maps choice of the queue manager (qmgr_route). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/maincf.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mail/rewrite.h"
#include "qmgr/qmgr.h"

static struct maincf *
conf(const char *text)
{
	struct maincf *cf = maincf_new("/nonexistent");
	const char *err = NULL;

	assert_int_equal(maincf_parse(cf, "main.cf", text, strlen(text), &err), 0);
	return cf;
}

static const char base[] =
    "myhostname = mail.example.com\n"
    "mydomain = example.com\n"
    "myorigin = $mydomain\n"
    "mydestination = $myhostname, localhost\n";

static void
check_addr(struct rewrite *r, enum rewrite_class cls, const char *in, const char *want)
{
	struct str out;
	const char *err = NULL;

	str_init(&out, 64);
	assert_int_equal(rewrite_address(r, cls, in, &out, &err), 0);
	if (strcmp(out.s, want) != 0)
		fail_msg("%s: got <%s>, want <%s>", in, out.s, want);
	str_deinit(&out);
}

static void
test_local_form(void **state)
{
	char text[1024];
	struct maincf *cf;
	struct rewrite *r;
	const char *err = NULL;

	snprintf(text, sizeof(text), "%sappend_dot_mydomain = yes\n", base);
	cf = conf(text);
	r = rewrite_new(cf, &err);
	assert_non_null(r);
	check_addr(r, REWRITE_ENVELOPE_SENDER, "root", "root@example.com");
	check_addr(r, REWRITE_ENVELOPE_SENDER, "", "");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "u@host", "u@host.example.com");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "u@a.b", "u@a.b");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "u@[192.0.2.1]", "u@[192.0.2.1]");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "site.org!user", "user@site.org");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "user%other.org@localhost", "user@other.org");
	/* the percent hack only for local domains */
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "user%other.org@remote.org",
	    "user%other.org@remote.org");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "u@example.org.", "u@example.org");
	rewrite_free(&r);
	assert_null(r);
	maincf_free(&cf);

	/* Postfix 3.x default (compatibility_level 0 here means yes; 3.6 no) */
	snprintf(text, sizeof(text), "%sappend_dot_mydomain = no\nswap_bangpath = no\n"
	    "allow_percent_hack = no\n", base);
	cf = conf(text);
	r = rewrite_new(cf, &err);
	assert_non_null(r);
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "u@host", "u@host");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "site!user", "site!user@example.com");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "user%other.org@localhost",
	    "user%other.org@localhost");
	rewrite_free(&r);
	maincf_free(&cf);
}

static void
test_canonical(void **state)
{
	char text[2048];
	struct maincf *cf;
	struct rewrite *r;
	const char *err = NULL;

	snprintf(text, sizeof(text), "%s"
	    "recipient_delimiter = +\n"
	    "canonical_maps = inline:{ {joe@example.com = Joe.Smith@example.com}, "
	    "{@old.example = @new.example}, {loop1@x.org = loop2@x.org}, "
	    "{loop2@x.org = loop1@x.org}, {admin = boss@example.net} }\n"
	    "sender_canonical_maps = inline:{ {alice@example.com = a.sender@example.com} }\n"
	    "recipient_canonical_maps = inline:{ {alice@example.com = a.rcpt@example.com} }\n",
	    base);
	cf = conf(text);
	r = rewrite_new(cf, &err);
	if (r == NULL)
		fail_msg("%s", err);
	check_addr(r, REWRITE_ENVELOPE_SENDER, "joe", "Joe.Smith@example.com");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "joe@example.com", "Joe.Smith@example.com");
	check_addr(r, REWRITE_HEADER_SENDER, "joe@example.com", "Joe.Smith@example.com");
	/* the extension is propagated (propagate_unmatched_extensions) */
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "joe+lists@example.com",
	    "Joe.Smith+lists@example.com");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "x@old.example", "x@new.example");
	/* "user" keys only match local domains */
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "admin@mail.example.com", "boss@example.net");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "admin@elsewhere.org", "admin@elsewhere.org");
	/* sender_ and recipient_canonical_maps per direction */
	check_addr(r, REWRITE_ENVELOPE_SENDER, "alice", "a.sender@example.com");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "alice", "a.rcpt@example.com");
	/* a canonical loop ends (Postfix's 10 rounds), it does not hang */
	{
		struct str out;

		str_init(&out, 32);
		assert_int_equal(rewrite_address(r, REWRITE_ENVELOPE_SENDER, "loop1@x.org", &out,
		    &err), 0);
		assert_true(strcmp(out.s, "loop1@x.org") == 0 || strcmp(out.s, "loop2@x.org") == 0);
		str_deinit(&out);
	}
	check_addr(r, REWRITE_ENVELOPE_SENDER, "nobody@remote.org", "nobody@remote.org");
	rewrite_free(&r);
	maincf_free(&cf);

	/* canonical_classes limits where the tables apply */
	snprintf(text, sizeof(text), "%scanonical_classes = envelope_recipient\n"
	    "canonical_maps = inline:{ {joe@example.com = js@example.com} }\n", base);
	cf = conf(text);
	r = rewrite_new(cf, &err);
	assert_non_null(r);
	check_addr(r, REWRITE_ENVELOPE_SENDER, "joe", "joe@example.com");
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "joe", "js@example.com");
	check_addr(r, REWRITE_HEADER_RECIPIENT, "joe", "joe@example.com");
	rewrite_free(&r);
	maincf_free(&cf);
}

static void
expand(struct rewrite *r, const char *rcpt, const char *want)
{
	struct strvec out;
	struct str got;
	const char *err = NULL;
	size_t i;

	strvec_init(&out);
	str_init(&got, 64);
	if (rewrite_recipient(r, rcpt, &out, &err) != 0)
		fail_msg("%s: %s", rcpt, err);
	for (i = 0; i < out.n; i++)
		str_appendf(&got, "%s%s", i > 0 ? " " : "", out.v[i]);
	if (strcmp(got.s, want) != 0)
		fail_msg("%s: got [%s], want [%s]", rcpt, got.s, want);
	str_deinit(&got);
	strvec_deinit(&out);
}

static void
test_virtual(void **state)
{
	char text[2048];
	struct maincf *cf;
	struct rewrite *r;
	struct strvec out;
	const char *err = NULL;

	snprintf(text, sizeof(text), "%s"
	    "virtual_alias_maps = inline:{ {team@v.test = a@x.org, b@v.test, c@x.org}, "
	    "{b@v.test = b1@x.org b2@x.org}, {self@v.test = self@v.test, copy@x.org}, "
	    "{l1@v.test = l2@v.test}, {l2@v.test = l1@v.test}, {@catch.test = @x.org}, "
	    "{big@v.test = big@v.test, big1@v.test, big2@v.test}, "
	    "{big1@v.test = m1@x.org, m2@x.org, m3@x.org}, "
	    "{big2@v.test = m4@x.org, m5@x.org} }\n"
	    "virtual_alias_expansion_limit = 5\n",
	    base);
	cf = conf(text);
	r = rewrite_new(cf, &err);
	assert_non_null(r);
	expand(r, "nobody@x.org", "nobody@x.org");
	/* one-to-many, recursive: b expands again */
	expand(r, "team@v.test", "a@x.org b1@x.org c@x.org b2@x.org");
	/* an address may expand into itself once */
	expand(r, "self@v.test", "self@v.test copy@x.org");
	/* @domain: the local part is kept */
	expand(r, "anyone@catch.test", "anyone@x.org");
	/* a loop is Postfix's "unreasonable ... map nesting": not accepted */
	strvec_init(&out);
	assert_int_equal(rewrite_recipient(r, "l1@v.test", &out, &err), -1);
	assert_non_null(strstr(err, "unreasonable virtual_alias_maps map nesting for l1@v.test"));
	/* more addresses than virtual_alias_expansion_limit */
	assert_int_equal(rewrite_recipient(r, "big@v.test", &out, &err), -1);
	assert_non_null(strstr(err, "unreasonable virtual_alias_maps map expansion size"));
	strvec_deinit(&out);
	rewrite_free(&r);
	maincf_free(&cf);
}

static void
route(struct maincf *cf, const char *rcpt, const char *want_t, const char *want_n)
{
	struct str t, n;
	const char *err = NULL;

	str_init(&t, 16);
	str_init(&n, 16);
	if (qmgr_route(cf, rcpt, &t, &n, &err) != 0)
		fail_msg("%s: %s", rcpt, err);
	if (strcmp(t.s, want_t) != 0 || strcmp(n.s, want_n) != 0)
		fail_msg("%s: got %s:%s, want %s:%s", rcpt, t.s, n.s, want_t, want_n);
	str_deinit(&t);
	str_deinit(&n);
}

static void
test_transport_maps(void **state)
{
	static const char text[] =
	    "myhostname = mail.example.com\n"
	    "mydestination = localhost\n"
	    "default_transport = discard\n"
	    "local_transport = local:$myhostname\n"
	    "recipient_delimiter = +\n"
	    "virtual_alias_domains = valias.test\n"
	    "transport_maps = inline:{ {nouser.test = error:5.1.1 no such user}, "
	    "{special@example.org = smtp:[relay.example]:2525}, "
	    "{example.org = relay:}, {.sub.test = smtp:gw.sub.test}, "
	    "{onlyhop.test = :[10.0.0.1]} }\n";
	static const char star[] =
	    "mydestination = localhost\n"
	    "transport_maps = inline:{ {* = smtp:smarthost.test}, {localhost = local:} }\n";
	struct maincf *cf = conf(text);

	route(cf, "x@nouser.test", "error", "5.1.1 no such user");
	route(cf, "special@example.org", "smtp", "[relay.example]:2525");
	route(cf, "special+tag@example.org", "smtp", "[relay.example]:2525");
	route(cf, "other@example.org", "relay", "example.org");
	route(cf, "u@a.sub.test", "smtp", "gw.sub.test");
	route(cf, "u@sub.test", "discard", "sub.test");
	route(cf, "u@onlyhop.test", "discard", "[10.0.0.1]");
	route(cf, "u@unlisted.test", "discard", "unlisted.test");
	route(cf, "u@localhost", "local", "mail.example.com");
	route(cf, "u@valias.test", "error", "5.1.1 User unknown in virtual alias table");
	maincf_free(&cf);
	cf = conf(star);
	route(cf, "u@any.test", "smtp", "smarthost.test");
	route(cf, "u@localhost", "local", "localhost");
	maincf_free(&cf);
}

/* masquerade_domains after canonical mapping: the first domain the
 * address is strictly inside of, "!" items and masquerade_exceptions
 * stop it; envelope recipients only when masquerade_classes says so */
static void
test_masquerade(void **state)
{
	char text[1024];
	struct maincf *cf;
	struct rewrite *r;
	const char *err = NULL;

	snprintf(text, sizeof(text), "%s"
	    "masquerade_domains = !keep.example.com, example.com, example.org\n"
	    "masquerade_exceptions = root\n"
	    "canonical_maps = inline:{ {joe@example.com = joe@dev.example.org} }\n", base);
	cf = conf(text);
	r = rewrite_new(cf, &err);
	assert_non_null(r);
	check_addr(r, REWRITE_ENVELOPE_SENDER, "ann@host.eng.example.com", "ann@example.com");
	check_addr(r, REWRITE_HEADER_SENDER, "ann@Host.Example.COM", "ann@example.com");
	check_addr(r, REWRITE_HEADER_RECIPIENT, "bob@a.example.org", "bob@example.org");
	check_addr(r, REWRITE_ENVELOPE_SENDER, "ann@example.com", "ann@example.com");
	check_addr(r, REWRITE_ENVELOPE_SENDER, "ann@keep.example.com", "ann@keep.example.com");
	check_addr(r, REWRITE_ENVELOPE_SENDER, "ann@x.keep.example.com", "ann@x.keep.example.com");
	check_addr(r, REWRITE_ENVELOPE_SENDER, "ann@notexample.com", "ann@notexample.com");
	check_addr(r, REWRITE_ENVELOPE_SENDER, "root@host.example.com", "root@host.example.com");
	/* after canonical: joe@example.com -> joe@dev.example.org -> joe@example.org */
	check_addr(r, REWRITE_HEADER_SENDER, "joe@example.com", "joe@example.org");
	/* not an envelope recipient by default */
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "ann@host.example.com", "ann@host.example.com");
	rewrite_free(&r);
	maincf_free(&cf);
	snprintf(text, sizeof(text), "%smasquerade_domains = example.com\n"
	    "masquerade_classes = envelope_recipient\n", base);
	cf = conf(text);
	r = rewrite_new(cf, &err);
	assert_non_null(r);
	check_addr(r, REWRITE_ENVELOPE_RECIPIENT, "ann@host.example.com", "ann@example.com");
	check_addr(r, REWRITE_HEADER_SENDER, "ann@host.example.com", "ann@host.example.com");
	rewrite_free(&r);
	maincf_free(&cf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_form),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_virtual),
		cmocka_unit_test(test_transport_maps),
		cmocka_unit_test(test_masquerade),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
