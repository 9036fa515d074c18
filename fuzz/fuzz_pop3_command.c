/* fuzz_pop3_command.c - the POP3 command line parser, message number
 * arguments, dot-stuffing (RETR/TOP bodies) and the dovecot-uidlist
 * parser on arbitrary input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "pop3/pop3.h"
#include "storage/mailbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = xstrndup((const char *)data, size), verb[16];
	const char *args, *rest, *err;
	struct str out, e;
	struct uidlist u;
	unsigned num;

	str_init(&out, 64);
	str_init(&e, 64);
	if (pop3_cmd_parse(line, verb, sizeof(verb), &args)) {
		if (strlen(verb) >= sizeof(verb) || args < line || args > line + strlen(line))
			__builtin_trap();
		(void)pop3_msgnum(args, &num, &rest, &e);
		(void)pop3_msgnum(args, &num, NULL, &e);
	}
	pop3_dot_stuff(&out, (const char *)data, size, size > 0 ? data[0] % 4 - 1 : -1);
	/* every line of the output ends in CRLF and none is a lone "." */
	if (out.len > 0 && (out.len < 2 || memcmp(out.s + out.len - 2, "\r\n", 2) != 0))
		__builtin_trap();
	if (strstr(out.s, "\r\n.\r\n") != NULL || strncmp(out.s, ".\r\n", 3) == 0)
		__builtin_trap();
	uidlist_init(&u);
	(void)uidlist_parse(&u, (const char *)data, size, &err);
	uidlist_deinit(&u);
	str_deinit(&out);
	str_deinit(&e);
	free(line);
	return 0;
}
