/* fuzz_header.c - the header field splitter and the address-list reader
 * (mail/header.h) on arbitrary bytes: no crash, no over-read, and the
 * fields found cover exactly the header section. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/util.h"
#include "mail/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct header_field f;
	struct strvec addrs;
	size_t off = 0, n;

	strvec_init(&addrs);
	while ((n = header_next(p + off, size - off, &f)) > 0) {
		if (n > size - off || f.value + f.value_len > p + size)
			abort();
		(void)header_addresses(f.value, f.value_len, &addrs);
		off += n;
	}
	if (off != header_section_len(p, size))
		abort();
	(void)header_addresses(p, size, &addrs);
	strvec_deinit(&addrs);
	return 0;
}
