/* test_cidr.c - mynetworks matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cidr.h"

static struct cidr_list *
list_of(const char *const *patterns)
{
	struct cidr_list *l = cidr_list_new(true);
	const char *err;

	for (; *patterns != NULL; patterns++)
		if (cidr_list_add(l, *patterns, &err) < 0)
			fail_msg("%s: %s", *patterns, err);
	return l;
}

static void
test_ipv4_networks_match_their_hosts_only(void **state)
{
	const char *p[] = { "127.0.0.0/8", "192.0.2.16/28", NULL };
	struct cidr_list *l = list_of(p);

	assert_int_equal(cidr_list_match(l, "127.1.2.3", NULL), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.31", NULL), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.32", NULL), 0);
	assert_int_equal(cidr_list_match(l, "10.0.0.1", NULL), 0);
	/* an IPv4-mapped client is its IPv4 address */
	assert_int_equal(cidr_list_match(l, "::ffff:127.0.0.1", NULL), 1);
	cidr_list_free(&l);
	assert_null(l);
}

static void
test_ipv6_in_bare_and_bracket_forms(void **state)
{
	const char *p[] = { "[::1]/128", "[2001:db8::]/32", "fe80::/10", NULL };
	struct cidr_list *l = list_of(p);

	assert_int_equal(cidr_list_match(l, "::1", NULL), 1);
	assert_int_equal(cidr_list_match(l, "::2", NULL), 0);
	assert_int_equal(cidr_list_match(l, "2001:db8:1::5", NULL), 1);
	assert_int_equal(cidr_list_match(l, "2001:db9::5", NULL), 0);
	assert_int_equal(cidr_list_match(l, "fe80::1", NULL), 1);
	assert_int_equal(cidr_list_match(l, "127.0.0.1", NULL), 0);
	cidr_list_free(&l);
}

static void
test_host_bits_and_bad_masks_are_errors(void **state)
{
	struct cidr c;
	const char *err;

	assert_int_equal(cidr_parse("10.1.2.3/8", &c, &err), -1);
	assert_string_equal(err, "non-null host address bits");
	assert_int_equal(cidr_parse("10.0.0.0/33", &c, &err), -1);
	assert_int_equal(cidr_parse("10.0.0.0/", &c, &err), -1);
	assert_int_equal(cidr_parse("10.0.0.0/-1", &c, &err), -1);
	assert_int_equal(cidr_parse("[::1/128", &c, &err), -1);
	assert_int_equal(cidr_parse("10.0.0.0/8", &c, &err), 0);
	assert_int_equal(c.bits, 8);
}

static void
test_negation_and_first_match_wins(void **state)
{
	const char *p[] = { "!127.0.0.2", "127.0.0.0/8", NULL };
	struct cidr_list *l = list_of(p);

	assert_int_equal(cidr_list_match(l, "127.0.0.2", NULL), 0);
	assert_int_equal(cidr_list_match(l, "127.0.0.3", NULL), 1);
	cidr_list_free(&l);
}

static void
test_host_names_match_the_client_name(void **state)
{
	const char *p[] = { "example.org", ".example.net", NULL };
	struct cidr_list *l = list_of(p);

	assert_int_equal(cidr_list_match(l, "192.0.2.1", "example.org"), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.1", "mx.example.org"), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.1", "a.example.net"), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.1", "example.net"), 0);
	assert_int_equal(cidr_list_match(l, "192.0.2.1", "badexample.org"), 0);
	assert_int_equal(cidr_list_match(l, "192.0.2.1", "unknown"), 0);
	cidr_list_free(&l);
}

static void
test_file_patterns_are_read(void **state)
{
	char path[] = "/tmp/test_cidr.XXXXXX";
	int fd = mkstemp(path);
	const char *p[] = { path, NULL };
	struct cidr_list *l;

	assert_true(fd >= 0);
	assert_true(write(fd, "# trusted\n10.0.0.0/8 192.0.2.1\n[::1]\n", 37) == 37);
	close(fd);
	l = list_of(p);
	assert_int_equal(cidr_list_match(l, "10.9.9.9", NULL), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.1", NULL), 1);
	assert_int_equal(cidr_list_match(l, "::1", NULL), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.2", NULL), 0);
	cidr_list_free(&l);
	unlink(path);
}

static void
test_tables_are_consulted_by_address_then_name(void **state)
{
	const char *p[] = { "inline:{ 192.0.2.7=ok, relay.example=ok }", NULL };
	struct cidr_list *l = list_of(p);

	assert_int_equal(cidr_list_match(l, "192.0.2.7", NULL), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.8", "relay.example"), 1);
	assert_int_equal(cidr_list_match(l, "192.0.2.8", "other.example"), 0);
	cidr_list_free(&l);
}

static void
test_broken_tables_are_a_temporary_error_never_a_yes(void **state)
{
	const char *p[] = { "hash:/etc/nonexistent", NULL };
	struct cidr_list *l = list_of(p);

	assert_int_equal(cidr_list_match(l, "127.0.0.1", NULL), -1);
	cidr_list_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_networks_match_their_hosts_only),
		cmocka_unit_test(test_ipv6_in_bare_and_bracket_forms),
		cmocka_unit_test(test_host_bits_and_bad_masks_are_errors),
		cmocka_unit_test(test_negation_and_first_match_wins),
		cmocka_unit_test(test_host_names_match_the_client_name),
		cmocka_unit_test(test_file_patterns_are_read),
		cmocka_unit_test(test_tables_are_consulted_by_address_then_name),
		cmocka_unit_test(test_broken_tables_are_a_temporary_error_never_a_yes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
