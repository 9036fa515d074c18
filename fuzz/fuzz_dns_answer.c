/* fuzz_dns_answer.c - the answer->result path yubin owns: raw DNS messages
 * (as c-ares hands them over) through dns_answer_ttl, this project's own
 * walk over the message, and dns_answer_convert (ares_parse_* plus the
 * conversion into a dns_result). The first byte picks the record type. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t qtypes[] = { 1, 28, 15, 16, 12 };
	struct dns_result res, copy;
	enum dns_type type;
	size_t i;
	long ttl;

	if (size < 1)
		return 0;
	type = (enum dns_type)(data[0] % 5);
	ttl = dns_answer_ttl(data + 1, size - 1, qtypes[type]);
	if (ttl > 86400)
		__builtin_trap();
	dns_answer_convert(type, data + 1, size - 1, &res);
	if (res.status == DNS_OK && res.n == 0)
		__builtin_trap();
	for (i = 0; i < res.n; i++) {
		if (res.rr[i].name != NULL && strlen(res.rr[i].name) > 65536)
			__builtin_trap();
	}
	dns_result_copy(&copy, &res);
	dns_result_deinit(&copy);
	dns_result_deinit(&res);
	return 0;
}
