/* test_dns.c - the parts of src/dns that need no server: the TTL walk over
 * raw answers (positive, negative with SOA, malformed, compression
 * pointers), the conversion, reverse names, and the resolver's promise
 * that a callback never runs inside dns_lookup. The lookups against a
 * real server on loopback are in tests/e2e/test_dns.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <string.h>

#include "dns/dns.h"

/* example.test MX 10 mx1.example.test, TTL 300; then MX 5 (pointer
 * names), TTL 100 */
static const unsigned char mx_answer[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1,
	0xC0, 12, 0, 15, 0, 1, 0, 0, 0x01, 0x2C, 0, 8, 0, 10, 3, 'm', 'x', '1', 0xC0, 12,
	0xC0, 12, 0, 15, 0, 1, 0, 0, 0, 100, 0, 8, 0, 5, 3, 'm', 'x', '0', 0xC0, 12,
};

/* NOERROR, no answer, SOA in authority: TTL 3600, MINIMUM 60 */
static const unsigned char nodata_answer[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 1, 0, 0,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1,
	0xC0, 12, 0, 6, 0, 1, 0, 0, 0x0E, 0x10, 0, 24,
	0xC0, 12, 0xC0, 12, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 60,
};

static void
test_ttl_is_the_smallest_answer_ttl(void **state)
{
	assert_int_equal(dns_answer_ttl(mx_answer, sizeof(mx_answer), 15), 100);
	/* records of another type do not count */
	assert_int_equal(dns_answer_ttl(mx_answer, sizeof(mx_answer), 1), 0);
}

static void
test_negative_ttl_is_soa_minimum(void **state)
{
	assert_int_equal(dns_answer_ttl(nodata_answer, sizeof(nodata_answer), 15), 60);
}

static void
test_malformed_answers(void **state)
{
	unsigned char buf[sizeof(mx_answer)];
	size_t cut;

	/* every truncation is malformed or, cut at a record boundary,
	 * shorter; none reads past the end (ASan build) */
	for (cut = 0; cut < sizeof(mx_answer); cut++) {
		memcpy(buf, mx_answer, cut);
		assert_true(dns_answer_ttl(buf, cut, 15) < 0 || cut >= 30);
	}
	/* a pointer to itself in a name is skipped, never followed */
	memcpy(buf, mx_answer, sizeof(buf));
	buf[30] = 0xC0;
	buf[31] = 30;
	assert_int_equal(dns_answer_ttl(buf, sizeof(buf), 15), 100);
	/* reserved label type */
	buf[30] = 0x80;
	assert_int_equal(dns_answer_ttl(buf, sizeof(buf), 15), -1);
}

static void
test_convert_sorts_mx_by_preference(void **state)
{
	struct dns_result res;

	dns_answer_convert(DNS_T_MX, mx_answer, sizeof(mx_answer), &res);
	assert_int_equal(res.status, DNS_OK);
	assert_int_equal(res.n, 2);
	assert_int_equal(res.rr[0].pref, 5);
	assert_string_equal(res.rr[0].name, "mx0.example.test");
	assert_string_equal(res.rr[1].name, "mx1.example.test");
	assert_int_equal(res.ttl, 100);
	dns_result_deinit(&res);
	dns_answer_convert(DNS_T_MX, nodata_answer, sizeof(nodata_answer), &res);
	assert_int_equal(res.status, DNS_NOTFOUND);
	assert_int_equal(res.ttl, 60);
	dns_result_deinit(&res);
	dns_answer_convert(DNS_T_MX, mx_answer, 20, &res);
	assert_int_equal(res.status, DNS_TEMPFAIL);
	dns_result_deinit(&res);
}

static void
test_reverse_names(void **state)
{
	char buf[80];

	assert_true(dns_reverse_name("192.0.2.1", buf, sizeof(buf)));
	assert_string_equal(buf, "1.2.0.192.in-addr.arpa");
	assert_true(dns_reverse_name("2001:db8::1", buf, sizeof(buf)));
	assert_string_equal(buf, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "ip6.arpa");
	assert_false(dns_reverse_name("not-an-address", buf, sizeof(buf)));
}

static int calls;

static void
count_call(const struct dns_result *res, void *ctx)
{
	assert_int_equal(res->status, DNS_NOTFOUND);
	calls++;
}

static void
test_callback_runs_from_the_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r;
	struct dns_query *q;
	const char *err;

	assert_null(dns_resolver_new(base, "not an address", &err));
	r = dns_resolver_new(base, "127.0.0.1:9", &err);
	assert_non_null(r);
	calls = 0;
	/* an invalid name never reaches the server: not found, from the loop */
	(void)dns_lookup(r, "bad name with spaces", DNS_T_A, count_call, NULL);
	assert_int_equal(calls, 0);
	/* a cancelled lookup never calls back */
	q = dns_lookup(r, "bad/name", DNS_T_MX, count_call, NULL);
	dns_cancel(&q);
	assert_null(q);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 1);
	/* a lookup still in c-ares when the resolver goes is dropped */
	(void)dns_lookup(r, "example.test", DNS_T_MX, count_call, NULL);
	dns_resolver_free(&r);
	assert_int_equal(calls, 1);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_is_the_smallest_answer_ttl),
		cmocka_unit_test(test_negative_ttl_is_soa_minimum),
		cmocka_unit_test(test_malformed_answers),
		cmocka_unit_test(test_convert_sorts_mx_by_preference),
		cmocka_unit_test(test_reverse_names),
		cmocka_unit_test(test_callback_runs_from_the_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
