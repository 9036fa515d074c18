/* fuzz_passwd_file.c - Dovecot's passwd-file format
 * (user:password:uid:gid:gecos:home:shell:extra_fields) on arbitrary
 * input: broken lines are skipped and counted, never fatal; every entry
 * found is found again by its name. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth/passwd_file.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct passwd_file *pf;
	const struct passwd_file_entry *e;

	if (!init) {
		log_open("fuzz", 0);	/* the warnings go nowhere */
		init = 1;
	}
	pf = passwd_file_parse("fuzz", (const char *)data, size);
	if (pf == NULL)
		__builtin_trap();
	if (passwd_file_count(pf) > size)
		__builtin_trap();
	/* the first line's user, if it made an entry, is found */
	{
		char user[256];
		size_t n = 0;

		while (n < size && n < sizeof(user) - 1 && data[n] != ':' && data[n] != '\n' &&
		    data[n] != '\0')
			n++;
		memcpy(user, data, n);
		user[n] = '\0';
		e = passwd_file_find(pf, user);
		if (e != NULL && (strcmp(e->user, user) != 0 || e->password == NULL ||
		    e->home == NULL))
			__builtin_trap();
	}
	passwd_file_free(&pf);
	if (pf != NULL)
		__builtin_trap();
	return 0;
}
