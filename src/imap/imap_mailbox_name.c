/* imap_mailbox_name.c - see imap_mailbox_name.h */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_mailbox_name.h"
#include "imap/imap_utf7.h"
#include "lib/mem.h"

/* undot - name with IMAP_NAME_DOT as '.' again, for the mUTF-7 checks
 * (caller frees) */
static char *
undot(const char *name)
{
	char *copy = xstrdup(name), *p;

	for (p = copy; *p != '\0'; p++)
		if (*p == IMAP_NAME_DOT)
			*p = '.';
	return copy;
}

int
imap_mailbox_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* mutf7_valid - RFC 3501 5.1.3: printable ASCII, "&-" for "&", "&...-"
 * modified base64 of UTF-16 that is not plain ASCII */
static int
mutf7_valid(const char *s)
{
	while (*s != '\0') {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f)
			return 0;
		if (c != '&') {
			s++;
			continue;
		}
		s++;
		if (*s == '-') {
			s++;
			continue;
		}
		{
			unsigned bits = 0, acc = 0, n = 0;

			while (*s != '-') {
				int v = b64_value(*s);

				if (v < 0)
					return 0;
				acc = (acc << 6) | (unsigned)v;
				bits += 6;
				if (bits >= 16) {
					unsigned u = (acc >> (bits - 16)) & 0xffff;

					bits -= 16;
					/* encoded ASCII must have been written as itself */
					if (u >= 0x20 && u < 0x7f)
						return 0;
					n++;
				}
				s++;
			}
			if (n == 0 || (acc & ((1u << bits) - 1)) != 0)
				return 0;
			s++;
		}
	}
	return 1;
}

int
imap_mailbox_name_check(const char *name, struct str *error)
{
	size_t len = strlen(name);
	struct str dec;
	char *plain;
	const char *level;
	bool bad;

	str_reset(error);
	if (len == 0) {
		str_append(error, "[CANNOT] Invalid mailbox name: Name is empty");
		return -1;
	}
	/* mutf7_valid lets UTF-16 surrogates through: the full decoder
	 * (imap_utf7.c) also wants them paired */
	str_init(&dec, len + 8);
	plain = undot(name);
	bad = !mutf7_valid(plain) || imap_mutf7_to_utf8(plain, &dec) != 0;
	free(plain);
	str_deinit(&dec);
	if (bad) {
		str_append(error, "Mailbox name is not valid mUTF-7");
		return -1;
	}
	if (name[0] == '.') {
		str_append(error, "[CANNOT] Invalid mailbox name: Begins with hierarchy separator");
		return -1;
	}
	if (name[len - 1] == '.') {
		str_append(error, "[CANNOT] Invalid mailbox name: Ends with hierarchy separator");
		return -1;
	}
	/* Dovecot's order: "a/../b" is refused for its "..", "a/b" for "/" */
	if (strstr(name, "..") != NULL) {
		str_append(error, "[CANNOT] Invalid mailbox name: Has adjacent hierarchy separators");
		return -1;
	}
	if (strchr(name, '/') != NULL) {
		str_append(error, "[CANNOT] Invalid mailbox name: Name must not have '/' characters");
		return -1;
	}
	/* a level "." or ".." under LAYOUT=fs would be a path's; Dovecot's
	 * texts (a level such as ".hidden" is a name like any other there) */
	for (level = name; level != NULL; level = strchr(level, '.')) {
		if (*level == '.')
			level++;
		if (level[0] == IMAP_NAME_DOT && (level[1] == '.' || level[1] == '\0')) {
			str_append(error, "[CANNOT] Invalid mailbox name: Contains '.' part");
			return -1;
		}
		if (level[0] == IMAP_NAME_DOT && level[1] == IMAP_NAME_DOT &&
		    (level[2] == '.' || level[2] == '\0')) {
			str_append(error, "[CANNOT] Invalid mailbox name: Contains '..' part");
			return -1;
		}
	}
	if (name[0] == '~') {
		str_append(error, "[CANNOT] Invalid mailbox name: Begins with '~'");
		return -1;
	}
	if (len > 255) {
		str_append(error, "[CANNOT] Invalid mailbox name: Name is too long");
		return -1;
	}
	return 0;
}

bool
imap_mailbox_name_controls(const char *name)
{
	struct str dec;
	size_t i;
	bool found = false;
	char *plain = undot(name);

	str_init(&dec, strlen(name) + 8);
	if (imap_mutf7_to_utf8(plain, &dec) == 0)
		for (i = 0; i < dec.len; i++)
			if ((unsigned char)dec.s[i] < 0x20)
				found = true;
	str_deinit(&dec);
	free(plain);
	return found;
}
