/* test_address.c - the RFC 5321 path parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "mail/address.h"

/* parse - the mailbox of a path, or NULL for a syntax error */
static const char *
parse(const char *in, unsigned flags, size_t *used_r)
{
	static struct str out;
	const char *err;
	size_t used;

	str_deinit(&out);
	str_init(&out, 16);
	if (address_parse_path(in, strlen(in), flags, &out, &used, &err) < 0)
		return NULL;
	if (used_r != NULL)
		*used_r = used;
	return out.s;
}

static void
test_bracketed_path_gives_the_mailbox(void **state)
{
	size_t used;

	assert_string_equal(parse("<user@example.org> SIZE=10", 0, &used), "user@example.org");
	assert_int_equal(used, 18);
	assert_string_equal(parse("<u@[192.0.2.1]>", 0, NULL), "u@[192.0.2.1]");
	assert_string_equal(parse("<u@[IPv6:::1]>", 0, NULL), "u@[IPv6:::1]");
}

static void
test_null_path_is_empty_unless_refused(void **state)
{
	assert_string_equal(parse("<>", 0, NULL), "");
	assert_null(parse("<>", ADDRESS_FLAG_REJECT_NULL, NULL));
}

static void
test_missing_brackets_are_accepted_as_postfix_does(void **state)
{
	size_t used;

	assert_string_equal(parse("root@localhost", 0, &used), "root@localhost");
	assert_int_equal(used, 14);
	assert_string_equal(parse("root@localhost SIZE=1", 0, &used), "root@localhost");
	assert_int_equal(used, 14);
	assert_null(parse("root@localhost", ADDRESS_FLAG_NEED_BRACKETS, NULL));
}

static void
test_quoted_local_parts_keep_their_quotes(void **state)
{
	assert_string_equal(parse("<\"a b\"@example.org>", 0, NULL), "\"a b\"@example.org");
	assert_string_equal(parse("<\"a\\\"b>\"@x.org>", 0, NULL), "\"a\\\"b>\"@x.org");
	assert_null(parse("<\"unterminated@x.org>", 0, NULL));
}

static void
test_source_routes_are_dropped(void **state)
{
	assert_string_equal(parse("<@a.example,@b.example:u@c.example>", 0, NULL), "u@c.example");
	assert_null(parse("<@a.example u@c>", 0, NULL));
}

static void
test_bad_paths_are_syntax_errors(void **state)
{
	const char *bad[] = { "<@>", "<", "<a@b", "a@b>", "<a b@c>", "<a@>", "<@b>",
		"<a@b..c>", "<a@.b>", "<a@[1.2.3.4>", "<a\001@b>", "<<a@b>>", "<a@b@c>",
		"<\xc3@x.org>", "<\xed\xa0\x80@x.org>", "" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], 0, NULL) != NULL)
			fail_msg("accepted: %s", bad[i]);
}

static void
test_utf8_is_parsed_and_reported(void **state)
{
	const char *a = parse("<\xe3\x81\x82@example.org>", 0, NULL);

	assert_non_null(a);
	assert_true(address_is_utf8(a));
	assert_false(address_is_utf8("a@b"));
}

static void
test_domain_and_fqdn_helpers(void **state)
{
	assert_string_equal(address_domain("a@b.example"), "b.example");
	assert_string_equal(address_domain("\"a@x\"@b.example"), "b.example");
	assert_null(address_domain("user"));
	assert_int_equal(address_local_len("user@x"), 4);
	assert_true(address_is_fqdn("b.example"));
	assert_true(address_is_fqdn("[192.0.2.1]"));
	assert_false(address_is_fqdn("localhost"));
	assert_false(address_is_fqdn("example."));
	assert_false(address_is_fqdn(NULL));
}

static void
test_overlong_mailbox_is_refused(void **state)
{
	char buf[ADDRESS_MAX + 20];

	buf[0] = '<';
	memset(buf + 1, 'a', ADDRESS_MAX);
	memcpy(buf + 1 + ADDRESS_MAX, "@x.org>", 8);
	assert_null(parse(buf, 0, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bracketed_path_gives_the_mailbox),
		cmocka_unit_test(test_null_path_is_empty_unless_refused),
		cmocka_unit_test(test_missing_brackets_are_accepted_as_postfix_does),
		cmocka_unit_test(test_quoted_local_parts_keep_their_quotes),
		cmocka_unit_test(test_source_routes_are_dropped),
		cmocka_unit_test(test_bad_paths_are_syntax_errors),
		cmocka_unit_test(test_utf8_is_parsed_and_reported),
		cmocka_unit_test(test_domain_and_fqdn_helpers),
		cmocka_unit_test(test_overlong_mailbox_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
