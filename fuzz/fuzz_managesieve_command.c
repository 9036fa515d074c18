/* fuzz_managesieve_command.c - the ManageSieve command reader on
 * arbitrary bytes: never past the buffer, a complete command is MORE on
 * any shorter prefix (so a reader that waits never misparses), quoting
 * what was parsed gives back a parseable string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "managesieve/managesieve_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *err;
	struct msieve_cmd cmd, cmd2;
	size_t used = 0, used2;
	enum msieve_parse r = msieve_parse(buf, size, 4096, &cmd, &used, &err);

	if (used > size || (r != MSIEVE_PARSE_MORE && used == 0))
		__builtin_trap();
	if (r == MSIEVE_PARSE_OK) {
		size_t cut = size > 0 ? data[0] % used : 0;

		if (msieve_parse(buf, cut, 4096, &cmd2, &used2, &err) == MSIEVE_PARSE_OK)
			__builtin_trap();
		msieve_cmd_deinit(&cmd2);
		for (size_t i = 0; i < cmd.nargs; i++) {
			struct str q;

			if (cmd.args[i].s == NULL)
				__builtin_trap();
			str_init(&q, 64);
			str_append(&q, "X ");
			msieve_quote(&q, cmd.args[i].s, cmd.args[i].len);
			str_append(&q, "\r\n");
			if (msieve_parse(q.s, q.len, 1 << 20, &cmd2, &used2, &err) != MSIEVE_PARSE_OK ||
			    used2 != q.len || cmd2.nargs != 1 || cmd2.args[0].len != cmd.args[i].len ||
			    memcmp(cmd2.args[0].s, cmd.args[i].s, cmd.args[i].len) != 0)
				__builtin_trap();
			msieve_cmd_deinit(&cmd2);
			str_deinit(&q);
		}
		msieve_cmd_deinit(&cmd);
	}
	return 0;
}
