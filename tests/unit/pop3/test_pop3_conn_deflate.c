/* test_pop3_conn_deflate.c - the COMPRESS=DEFLATE layer: what one side
 * deflates the other inflates byte for byte, also when the output room
 * is one byte at a time and the input comes a byte at a time; a flush
 * makes everything sent so far readable; garbage is an error, not a
 * hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "pop3/pop3_conn_deflate.h"

static void
test_roundtrip(void **state)
{
	struct pop3_deflate *a = pop3_deflate_new(), *b = pop3_deflate_new();
	struct str wire, got;
	char text[5000], buf[1];
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < sizeof(text); i++)
		text[i] = (char)("abc\r\n"[i % 5] + (char)(i % 7 == 0));
	str_init(&wire, 256);
	str_init(&got, 256);
	assert_int_equal(pop3_deflate_out(a, text, sizeof(text), &wire), 0);
	assert_true(wire.len < sizeof(text));
	/* byte by byte in, byte by byte out */
	for (i = 0; i < wire.len; i++) {
		pop3_deflate_feed(b, wire.s + i, 1);
		while ((n = pop3_deflate_in(b, buf, sizeof(buf))) > 0)
			str_append_n(&got, buf, (size_t)n);
		assert_true(n == 0);
	}
	assert_int_equal(got.len, sizeof(text));
	assert_memory_equal(got.s, text, sizeof(text));
	/* the second message after the first sync flush */
	str_reset(&wire);
	str_reset(&got);
	assert_int_equal(pop3_deflate_out(a, "x1 NOOP\r\n", 9, &wire), 0);
	pop3_deflate_feed(b, wire.s, wire.len);
	{
		char big[64];

		n = pop3_deflate_in(b, big, sizeof(big));
		assert_int_equal(n, 9);
		assert_memory_equal(big, "x1 NOOP\r\n", 9);
		assert_false(pop3_deflate_pending(b));
	}
	str_deinit(&wire);
	str_deinit(&got);
	pop3_deflate_free(&a);
	pop3_deflate_free(&b);
	assert_null(a);
}

static void
test_garbage(void **state)
{
	struct pop3_deflate *b = pop3_deflate_new();
	char buf[64];
	long n;
	int i;

	(void)state;
	pop3_deflate_feed(b, "\xff\xff\xff\xff garbage", 12);
	for (i = 0; i < 10 && (n = pop3_deflate_in(b, buf, sizeof(buf))) > 0; i++)
		;
	assert_int_equal(n, -1);
	pop3_deflate_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
