/* fuzz_smtp_command.c - the SMTP command-line parser: split, verb lookup,
 * MAIL/RCPT paths and ESMTP parameters, on arbitrary lines. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "smtpd/smtpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	const char *args, *params, *k, *v;
	size_t vlen, slot, kl, vl;
	struct str out;
	int n;

	memcpy(line, data, size);
	line[size] = '\0';
	str_init(&out, 16);
	if (smtpd_cmd_split(line, strlen(line), &vlen, &args)) {
		(void)smtpd_cmd_find(line, vlen, &slot);
		if (slot >= SMTPD_NCMD)
			__builtin_trap();
		if (smtpd_cmd_path(args, "FROM:", 0, &out, &params) == 0 ||
		    smtpd_cmd_path(args, "TO:", 0, &out, &params) == 0) {
			for (n = 0; smtpd_cmd_param(&params, &k, &kl, &v, &vl); n++) {
				if (v != NULL)
					(void)smtpd_xtext_is_valid(v, vl);
				if (n > (int)size)
					__builtin_trap();
			}
		}
	}
	str_deinit(&out);
	free(line);
	return 0;
}
