/* base64.c - RFC 4648 base64. Strict on decoding: SASL peers that send
 * white space or stray padding get "invalid base64", as Dovecot answers. */
#include <stdint.h>

#include "lib/base64.h"
#include "lib/str.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(struct str *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	char q[4];

	while (len >= 3) {
		q[0] = b64chars[p[0] >> 2];
		q[1] = b64chars[((p[0] & 3) << 4) | (p[1] >> 4)];
		q[2] = b64chars[((p[1] & 15) << 2) | (p[2] >> 6)];
		q[3] = b64chars[p[2] & 63];
		str_append_n(out, q, 4);
		p += 3;
		len -= 3;
	}
	if (len > 0) {
		q[0] = b64chars[p[0] >> 2];
		if (len == 1) {
			q[1] = b64chars[(p[0] & 3) << 4];
			q[2] = '=';
		} else {
			q[1] = b64chars[((p[0] & 3) << 4) | (p[1] >> 4)];
			q[2] = b64chars[(p[1] & 15) << 2];
		}
		q[3] = '=';
		str_append_n(out, q, 4);
	}
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(struct str *out, const char *s, size_t len)
{
	size_t i;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		uint32_t w;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];

			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return -1;	/* data after padding */
			if ((v[k] = b64val(c)) < 0)
				return -1;
		}
		w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
		    (uint32_t)v[3];
		str_append_c(out, (int)(w >> 16 & 0xff));
		if (pad < 2)
			str_append_c(out, (int)(w >> 8 & 0xff));
		if (pad < 1)
			str_append_c(out, (int)(w & 0xff));
	}
	return 0;
}

void
base64_decode_mime(struct str *out, const char *s, size_t len)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else if (c == '=')
			break;	/* padding: the end */
		else
			continue;	/* line ends and stray bytes */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			str_append_c(out, (char)((acc >> bits) & 0xff));
		}
	}
}
