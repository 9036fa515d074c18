/* test_qmgr.c - the queue manager's rules: transport choice, back-off with
 * an injected clock, expiry, Postfix's delay format, the built-in
 * transports' DSNs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/str.h"
#include "qmgr/qmgr.h"
#include "qmgr/transport.h"

static void
test_transport_choice(void **state)
{
	static const char conf[] =
	    "myhostname = mail.example.com\n"
	    "mydestination = $myhostname, localhost\n"
	    "relay_domains = relay.example\n"
	    "local_transport = local:$myhostname\n"
	    "default_transport = discard\n";
	static const struct {
		const char	*rcpt;
		const char	*transport;
		const char	*nexthop;
	} cases[] = {
		{ "u@mail.example.com", "local", "mail.example.com" },
		{ "u@LOCALHOST", "local", "mail.example.com" },
		{ "postmaster", "local", "mail.example.com" },
		{ "u@relay.example", "relay", "relay.example" },
		{ "u@sub.relay.example", "relay", "sub.relay.example" },
		{ "u@elsewhere.example", "discard", "elsewhere.example" },
	};
	struct maincf *cf = maincf_new("/nonexistent");
	struct str t, n;
	const char *err;
	size_t i;

	assert_int_equal(maincf_parse(cf, "main.cf", conf, sizeof(conf) - 1, &err), 0);
	str_init(&t, 16);
	str_init(&n, 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(qmgr_route(cf, cases[i].rcpt, &t, &n, &err), 0);
		if (strcmp(t.s, cases[i].transport) != 0 || strcmp(n.s, cases[i].nexthop) != 0)
			fail_msg("%s: got %s:%s", cases[i].rcpt, t.s, n.s);
	}
	str_deinit(&t);
	str_deinit(&n);
	maincf_free(&cf);
}

/* relayhost is the nexthop of the remote classes unless the transport
 * or transport_maps names one; local mail never goes there */
static void
test_relayhost_route(void **state)
{
	static const char conf[] =
	    "myhostname = mail.example.com\n"
	    "mydestination = $myhostname\n"
	    "relay_domains = relay.example\n"
	    "relayhost = [smart.example]:587\n"
	    "default_transport = smtp\n"
	    "transport_maps = inline:{ special.example=smtp:[10.0.0.1]:2525 }\n";
	static const struct {
		const char	*rcpt;
		const char	*transport;
		const char	*nexthop;
	} cases[] = {
		{ "u@mail.example.com", "local", "mail.example.com" },
		{ "u@relay.example", "relay", "[smart.example]:587" },
		{ "u@elsewhere.example", "smtp", "[smart.example]:587" },
		{ "u@special.example", "smtp", "[10.0.0.1]:2525" },
	};
	struct maincf *cf = maincf_new("/nonexistent");
	struct str t, n;
	const char *err;
	size_t i;

	assert_int_equal(maincf_parse(cf, "main.cf", conf, sizeof(conf) - 1, &err), 0);
	str_init(&t, 16);
	str_init(&n, 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(qmgr_route(cf, cases[i].rcpt, &t, &n, &err), 0);
		if (strcmp(t.s, cases[i].transport) != 0 || strcmp(n.s, cases[i].nexthop) != 0)
			fail_msg("%s: got %s:%s", cases[i].rcpt, t.s, n.s);
	}
	str_deinit(&t);
	str_deinit(&n);
	maincf_free(&cf);
}

static void
test_backoff_doubles_between_limits(void **state)
{
	long arrival = 1000000, now = arrival, delay;
	long want[] = { 300, 300, 600, 1200, 2400, 4000, 4000 };
	size_t i;

	/* each failed attempt waits as long as the message is old */
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		delay = qmgr_backoff(arrival, now, 300, 4000);
		assert_int_equal(delay, want[i]);
		now += delay;
	}
	assert_false(qmgr_expired(arrival, arrival + 5 * 86400, 5 * 86400));
	assert_true(qmgr_expired(arrival, arrival + 5 * 86400 + 1, 5 * 86400));
}

static void
test_delay_format(void **state)
{
	static const struct {
		double		 seconds;
		const char	*want;
	} cases[] = {
		{ 0, "0" }, { 0.001, "0" }, { 0.12, "0.12" }, { 0.5, "0.5" }, { 1.25, "1.25" },
		{ 9.999, "10" }, { 12.7, "12" }, { 3600, "3600" }, { -1, "0" },
	};
	struct str s;
	size_t i;

	str_init(&s, 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		str_reset(&s);
		qmgr_format_delay(&s, cases[i].seconds);
		if (strcmp(s.s, cases[i].want) != 0)
			fail_msg("%g: got %s, want %s", cases[i].seconds, s.s, cases[i].want);
	}
	str_deinit(&s);
}

static void
test_builtin_transports(void **state)
{
	struct transport_request req = { .nexthop = "5.1.1 no such user" };
	struct transport_dsn dsn;

	assert_null(transport_find("uucp"));
	assert_non_null(transport_find("smtp"));
	assert_non_null(transport_find("lmtp"));
	assert_int_equal(transport_find("error")->deliver(&req, &dsn), TRANSPORT_BOUNCED);
	assert_string_equal(dsn.status, "5.1.1");
	assert_string_equal(dsn.reason, "no such user");
	req.nexthop = "";
	assert_int_equal(transport_find("error")->deliver(&req, &dsn), TRANSPORT_BOUNCED);
	assert_string_equal(dsn.status, "5.0.0");
	assert_string_equal(dsn.reason, "user unknown");
	req.nexthop = "test";
	assert_int_equal(transport_find("discard")->deliver(&req, &dsn), TRANSPORT_SENT);
	assert_string_equal(dsn.status, "2.0.0");
	assert_string_equal(dsn.reason, "test");
	assert_string_equal(dsn.relay, "none");
	assert_int_equal(transport_find("retry")->deliver(&req, &dsn), TRANSPORT_DEFERRED);
	assert_string_equal(dsn.status, "4.0.0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transport_choice),
		cmocka_unit_test(test_backoff_doubles_between_limits),
		cmocka_unit_test(test_delay_format),
		cmocka_unit_test(test_builtin_transports),
		cmocka_unit_test(test_relayhost_route),
	};

	log_open("test_qmgr", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
