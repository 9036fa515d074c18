/* test_base64 - RFC 4648's test vectors both ways, the strict decoder's
 * refusals (SASL must refuse what is not base64), and the MIME decoder's
 * leniency (RFC 2045 6.8: line ends and junk skipped, "=" ends it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/base64.h"
#include "lib/str.h"

static void
test_rfc4648_vectors(void **state)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
		"Zm9vYmFy" };
	struct str o;
	size_t i;

	(void)state;
	str_init(&o, 16);
	for (i = 0; i < 7; i++) {
		str_reset(&o);
		base64_encode(&o, plain[i], strlen(plain[i]));
		assert_string_equal(o.s, enc[i]);
		str_reset(&o);
		assert_int_equal(base64_decode(&o, enc[i], strlen(enc[i])), 0);
		assert_string_equal(o.s, plain[i]);
		str_reset(&o);
		base64_decode_mime(&o, enc[i], strlen(enc[i]));
		assert_string_equal(o.s, plain[i]);
	}
	str_deinit(&o);
}

static void
test_strict_and_mime(void **state)
{
	static const char wrapped[] = "Zm9v\r\nYmFy\r\n";
	static const char junk[] = "Zm9v*YmFy==ignored";
	struct str o;

	(void)state;
	str_init(&o, 16);
	assert_int_equal(base64_decode(&o, wrapped, strlen(wrapped)), -1);
	str_reset(&o);
	assert_int_equal(base64_decode(&o, "Zm9", 3), -1);
	str_reset(&o);
	base64_decode_mime(&o, wrapped, strlen(wrapped));
	assert_string_equal(o.s, "foobar");
	str_reset(&o);
	base64_decode_mime(&o, junk, strlen(junk));
	assert_string_equal(o.s, "foobar");
	str_deinit(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_strict_and_mime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
