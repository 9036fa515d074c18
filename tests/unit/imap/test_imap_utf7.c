/* test_imap_utf7.c - mailbox names between UTF-8 and modified UTF-7:
 * RFC 3501's examples, "&" as "&-", characters past U+FFFF as surrogate
 * pairs, and refusals of bad UTF-8 (overlong, surrogates) and bad mUTF-7
 * (unterminated, padding bits, lone surrogates, 8-bit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "imap/imap_utf7.h"

static void
both(const char *utf8, const char *mutf7)
{
	struct str o;

	str_init(&o, 32);
	assert_int_equal(imap_utf8_to_mutf7(utf8, &o), 0);
	assert_string_equal(o.s, mutf7);
	str_reset(&o);
	assert_int_equal(imap_mutf7_to_utf8(mutf7, &o), 0);
	assert_string_equal(o.s, utf8);
	str_deinit(&o);
}

static void
test_examples(void **state)
{
	(void)state;
	both("INBOX", "INBOX");
	both("A&B", "A&-B");
	/* RFC 3501 5.1.3 */
	both("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	    "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	both("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	both("\xf0\x9f\x93\xa7", "&2D3c5w-");
}

/* a long run of non-ASCII is one "&...-", as the client's own encoder
 * (and Dovecot's) writes it: it was cut every 64 UTF-16 units into
 * "&...-&...-", another name on disk than the one a client without
 * UTF8=ACCEPT sends for the same folder */
static void
test_long_run(void **state)
{
	struct str u;
	int i;

	(void)state;
	str_init(&u, 256);
	str_append(&u, "a");
	for (i = 0; i < 70; i++)
		str_append(&u, "\xc3\xa9");
	str_append(&u, "b");
	both(u.s, "a&AOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOkA6QDpAOk-b");
	str_reset(&u);
	for (i = 0; i < 40; i++)
		str_append(&u, "\xf0\x9f\x93\xa7");
	both(u.s, "&2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c59g93OfYPdzn2D3c5w-");
	str_deinit(&u);
}

static void
test_refusals(void **state)
{
	static const char *const bad8[] = { "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff",
		"a\xc3" };
	static const char *const bad7[] = { "&AMM", "&AMM-x&", "&-&", "&2D0-", "&3Oc-", "&APx-",
		"\xc3\xbc", "&-&A-" };
	struct str o;
	size_t i;

	(void)state;
	str_init(&o, 32);
	for (i = 0; i < sizeof(bad8) / sizeof(bad8[0]); i++)
		assert_int_equal(imap_utf8_to_mutf7(bad8[i], &o), -1);
	for (i = 0; i < sizeof(bad7) / sizeof(bad7[0]); i++) {
		str_reset(&o);
		assert_int_equal(imap_mutf7_to_utf8(bad7[i], &o), -1);
	}
	str_deinit(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_long_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
