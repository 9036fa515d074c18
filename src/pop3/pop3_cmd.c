/* pop3_cmd.c - the POP3 command line parser, message number arguments and
 * dot-stuffing of multi-line replies: the pieces of the protocol that do
 * not do I/O, so that unit tests and the fuzzer drive them directly.
 * Tests: tests/unit/pop3/test_pop3_cmd.c; fuzz/fuzz_pop3_command.c */
#include <ctype.h>
#include <string.h>

#include "lib/str.h"
#include "pop3/pop3.h"

bool
pop3_cmd_parse(const char *line, char *verb, size_t verb_size, const char **args_r)
{
	size_t n = 0;
	const char *p = line;
	bool ok = false;

	if (verb_size == 0)
		return false;
	verb[0] = '\0';
	while (*p != '\0' && *p != ' ') {
		if (n + 1 >= verb_size || !isalpha((unsigned char)*p))
			goto out;
		verb[n++] = (char)toupper((unsigned char)*p);
		p++;
	}
	verb[n] = '\0';
	if (n == 0)
		goto out;
	/* one space separates the verb; Dovecot keeps the rest as it is */
	*args_r = *p == ' ' ? p + 1 : p;
	ok = true;
out:
	if (!ok)
		verb[0] = '\0';
	return ok;
}

int
pop3_msgnum(const char *args, unsigned *num_r, const char **rest_r, struct str *error)
{
	const char *p = args;
	unsigned long long v = 0;

	str_reset(error);
	if (*p < '0' || *p > '9') {
		str_append(error, "Invalid message number: ");
		str_append(error, args);
		return -1;
	}
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 0xffffffffULL) {
			str_append(error, "Invalid message number: ");
			str_append(error, args);
			return -1;
		}
		p++;
	}
	if (rest_r != NULL) {
		while (*p == ' ')
			p++;
		*rest_r = p;
	} else if (*p != '\0') {
		str_append(error, "Noise after message number: ");
		str_append(error, p);
		return -1;
	}
	*num_r = (unsigned)v;
	return 0;
}

void
pop3_dot_stuff(struct str *out, const char *data, size_t len, long max_body_lines)
{
	const char *p = data, *end = data + len;
	bool in_body = false;
	long body_lines = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (eol != NULL ? (size_t)(eol - p) : (size_t)(end - p));

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (max_body_lines >= 0 && in_body && body_lines++ >= max_body_lines)
			break;
		if (n > 0 && p[0] == '.')
			str_append_c(out, '.');
		str_append_n(out, p, n);
		str_append(out, "\r\n");
		if (n == 0)
			in_body = true;
		if (eol == NULL)
			break;
		p = eol + 1;
	}
}
