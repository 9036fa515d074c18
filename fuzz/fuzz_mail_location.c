/* fuzz_mail_location.c - Dovecot's mail location string (a userdb's mail
 * field comes from outside: LDAP, SQL, passwd-file extra fields) on
 * arbitrary input, split at the first NUL into location and user name:
 * every result is an absolute path without "/../", or an error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/mail_location.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *p)
{
	if (p != NULL && (p[0] != '/' || strstr(p, "/../") != NULL))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_location l;
	const char *err = NULL;
	char *buf = malloc(size + 2);
	const char *user;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	user = buf + strlen(buf) + 1;
	if (user > buf + size)
		user = "u@example.org";
	if (mail_location_parse(buf, user, size % 2 ? "/home/u" : NULL, &l, &err) == 0) {
		check(l.root);
		check(l.inbox);
		check(l.index);
		check(l.control);
		if (l.root == NULL || l.inbox == NULL)
			__builtin_trap();
	} else if (err == NULL)
		__builtin_trap();
	mail_location_deinit(&l);
	free(buf);
	return 0;
}
