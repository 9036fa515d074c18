/* fuzz_lmtp_command.c - the LMTP command line parser, MAIL/RCPT paths and
 * parameters, recipient detail splitting and the DATA reader (split at an
 * input-chosen point, as data arrives in pieces) on arbitrary input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lmtp/lmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = xstrndup((const char *)data, size);
	const char *args, *params, *err;
	struct str addr, user, detail, out, out2;
	struct lmtp_data d, d2;
	size_t used, split;

	str_init(&addr, 64);
	str_init(&user, 64);
	str_init(&detail, 64);
	str_init(&out, 256);
	str_init(&out2, 256);
	if (lmtp_cmd_parse(line, &args) != LMTP_CMD_NONE) {
		if (args < line || args > line + strlen(line))
			__builtin_trap();
		if (lmtp_path_parse(args, "FROM", true, &addr, &params, &err) == 0) {
			(void)lmtp_mail_params_ok(params);
			/* a path holds no space, control byte or bracket outside quotes */
			if (addr.s[0] != '"' && strpbrk(addr.s, " <>\r\n\t") != NULL)
				__builtin_trap();
		}
		if (lmtp_path_parse(args, "TO", false, &addr, &params, &err) == 0) {
			if (addr.len == 0)
				__builtin_trap();
			lmtp_split_detail(addr.s, "+-", &user, &detail);
			if (user.len + detail.len > addr.len)
				__builtin_trap();
		}
	}
	/* the DATA reader: in one piece and in two must give the same */
	lmtp_data_init(&d, size / 2 + 1);
	used = lmtp_data_feed(&d, (const char *)data, size, &out);
	if (used > size || out.len > size || (d.done && used == 0))
		__builtin_trap();
	lmtp_data_init(&d2, size / 2 + 1);
	split = size > 0 ? data[0] % (size + 1) : 0;
	used = lmtp_data_feed(&d2, (const char *)data, split, &out2);
	if (!d2.done)
		used += lmtp_data_feed(&d2, (const char *)data + split, size - split, &out2);
	if (d.done != d2.done || d.overflow != d2.overflow || out.len != out2.len ||
	    memcmp(out.s, out2.s, out.len) != 0)
		__builtin_trap();
	str_deinit(&addr);
	str_deinit(&user);
	str_deinit(&detail);
	str_deinit(&out);
	str_deinit(&out2);
	free(line);
	return 0;
}
