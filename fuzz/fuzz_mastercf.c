/* fuzz_mastercf.c - master.cf parser, postconf -M formatting and the
 * master's checks on arbitrary input. */
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "lib/mastercf.h"
#include "lib/str.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mastercf *mc = mastercf_new();
	const struct mastercf_service *s;
	struct strvec errors, warnings;
	struct str out, host, port;
	const char *err;
	size_t i, n;

	log_open("fuzz", 0);
	str_init(&out, 256);
	str_init(&host, 16);
	str_init(&port, 16);
	strvec_init(&errors);
	strvec_init(&warnings);
	if (mastercf_parse(mc, "master.cf", (const char *)data, size, &err) == 0) {
		s = mastercf_services(mc, &n);
		for (i = 0; i < n; i++) {
			mastercf_format_service(&s[i], &out);
			mastercf_format_service_folded(&s[i], &out);
			if (s[i].type == MASTERCF_INET &&
			    mastercf_inet_split(s[i].name, &host, &port, &err) == 0)
				(void)mastercf_port_number(port.s);
		}
		(void)mastercf_validate(mc, &errors, &warnings);
	}
	strvec_deinit(&errors);
	strvec_deinit(&warnings);
	str_deinit(&out);
	str_deinit(&host);
	str_deinit(&port);
	mastercf_free(&mc);
	return 0;
}
