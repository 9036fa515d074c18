/* fuzz_address.c - the RFC 5321 path parser on arbitrary input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/str.h"
#include "mail/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str out;
	const char *err, *dom;
	size_t used;
	unsigned flags;

	if (size == 0)
		return 0;
	flags = data[0] & 3;
	str_init(&out, 16);
	if (address_parse_path((const char *)data + 1, size - 1, flags, &out, &used, &err) == 0) {
		if (used > size - 1 || out.len > ADDRESS_MAX)
			__builtin_trap();
		dom = address_domain(out.s);
		(void)address_is_fqdn(dom);
		(void)address_local_len(out.s);
		(void)address_is_utf8(out.s);
		if (!address_utf8_is_valid(out.s, out.len))
			__builtin_trap();
	}
	str_deinit(&out);
	return 0;
}
