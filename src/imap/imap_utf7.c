/* imap_utf7.c - UTF-8 and modified UTF-7 mailbox names. See imap_utf7.h. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_utf7.h"
#include "lib/mem.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* utf8_next - the code point at *p, advanced; -1 when invalid */
static long
utf8_next(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	unsigned long cp;
	int n, i;

	if (p[0] < 0x80) {
		*pp = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		n = 1;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		n = 2;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		n = 3;
	} else {
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*pp = p + n + 1;
	return (long)cp;
}

static void
flush_b64(struct str *out, const uint16_t *u, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	str_append_c(out, '&');
	for (i = 0; i < n; i++) {
		acc = (acc << 16) | u[i];
		bits += 16;
		while (bits >= 6) {
			bits -= 6;
			str_append_c(out, b64[(acc >> bits) & 0x3f]);
		}
	}
	if (bits > 0)
		str_append_c(out, b64[(acc << (6 - bits)) & 0x3f]);
	str_append_c(out, '-');
}

int
imap_utf8_to_mutf7(const char *in, struct str *out)
{
	const unsigned char *p = (const unsigned char *)in;
	/* each UTF-16 unit takes at least one byte of UTF-8: a run is never
	 * longer than the input, and is written as one "&...-" however long
	 * (clients and Dovecot encode it so; cut in pieces it would name
	 * another directory) */
	uint16_t *run = xcalloc(strlen(in) + 1, sizeof(*run));
	size_t nrun = 0;

	while (*p != '\0') {
		long cp = utf8_next(&p);

		if (cp < 0) {
			free(run);
			return -1;
		}
		if (cp >= 0x20 && cp < 0x7f) {
			if (nrun > 0)
				flush_b64(out, run, nrun);
			nrun = 0;
			if (cp == '&')
				str_append(out, "&-");
			else
				str_append_c(out, (char)cp);
			continue;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			run[nrun++] = (uint16_t)(0xd800 + (cp >> 10));
			run[nrun++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
		} else {
			run[nrun++] = (uint16_t)cp;
		}
	}
	if (nrun > 0)
		flush_b64(out, run, nrun);
	free(run);
	return 0;
}

static int
b64_val(char c)
{
	const char *q = c != '\0' ? strchr(b64, c) : NULL;

	return q != NULL ? (int)(q - b64) : -1;
}

static void
put_utf8(struct str *out, unsigned long cp)
{
	if (cp < 0x80) {
		str_append_c(out, (char)cp);
	} else if (cp < 0x800) {
		str_append_c(out, (char)(0xc0 | (cp >> 6)));
		str_append_c(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		str_append_c(out, (char)(0xe0 | (cp >> 12)));
		str_append_c(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_append_c(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		str_append_c(out, (char)(0xf0 | (cp >> 18)));
		str_append_c(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		str_append_c(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_append_c(out, (char)(0x80 | (cp & 0x3f)));
	}
}

int
imap_mutf7_to_utf8(const char *in, struct str *out)
{
	const char *p = in;

	while (*p != '\0') {
		uint32_t acc = 0;
		int bits = 0, v;
		unsigned long hi = 0;
		size_t units = 0;

		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			return -1;
		if (*p != '&') {
			str_append_c(out, *p++);
			continue;
		}
		p++;
		if (*p == '-') {
			str_append_c(out, '&');
			p++;
			continue;
		}
		while ((v = b64_val(*p)) >= 0) {
			acc = (acc << 6) | (uint32_t)v;
			bits += 6;
			p++;
			if (bits >= 16) {
				unsigned long u = (acc >> (bits - 16)) & 0xffff;

				bits -= 16;
				units++;
				if (hi != 0) {
					if (u < 0xdc00 || u > 0xdfff)
						return -1;
					put_utf8(out, 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00));
					hi = 0;
				} else if (u >= 0xd800 && u <= 0xdbff) {
					hi = u;
				} else if (u >= 0xdc00 && u <= 0xdfff) {
					return -1;
				} else {
					put_utf8(out, u);
				}
			}
		}
		/* "&" ... "-", whole 16-bit units, zero padding bits, no
		 * dangling high surrogate */
		if (*p != '-' || units == 0 || hi != 0 || bits >= 6 ||
		    (acc & ((1u << bits) - 1)) != 0)
			return -1;
		p++;
	}
	return 0;
}
