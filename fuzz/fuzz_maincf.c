/* fuzz_maincf.c - main.cf parser and $name expansion on arbitrary input. */
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maincf *mc = maincf_new("/nonexistent");
	const struct maincf_entry *e;
	const char *err;
	struct str out;
	size_t i, n;

	log_open("fuzz", 0);
	str_init(&out, 64);
	if (maincf_parse(mc, "main.cf", (const char *)data, size, &err) == 0) {
		e = maincf_entries(mc, &n);
		for (i = 0; i < n && i < 64; i++) {
			str_reset(&out);
			(void)maincf_get(mc, e[i].name, &out, &err);
		}
		str_reset(&out);
		(void)maincf_get(mc, "smtpd_banner", &out, &err);
	}
	str_deinit(&out);
	maincf_free(&mc);
	return 0;
}
