/* fuzz_header.c - the header field splitter and the address-list reader
 * (mail/header.h) and the addr-spec spans of header rewriting
 * (mail/header_rewrite.h) on arbitrary bytes: no crash, no over-read, the
 * fields found cover exactly the header section, spans stay in order. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/util.h"
#include "mail/header.h"
#include "mail/header_rewrite.h"

/* spans_ok - every addr-spec span lies inside the value, in order */
static void
spans_ok(const char *v, size_t len)
{
	size_t spans[64][2], n, k;

	n = header_addr_spans(v, len, spans, 64);
	for (k = 0; k < n; k++)
		if (spans[k][0] >= spans[k][1] || spans[k][1] > len ||
		    (k > 0 && spans[k][0] < spans[k - 1][1]))
			abort();
}

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
		spans_ok(f.value, f.value_len);
		off += n;
	}
	if (off != header_section_len(p, size))
		abort();
	(void)header_addresses(p, size, &addrs);
	strvec_deinit(&addrs);
	return 0;
}
