/* smtp_reply.c - the SMTP client's reply parser (smtp_reply.h) */
#include "smtp/smtp_reply.h"

#include "lib/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	str_init(&r->text, 128);
	r->text.max = SMTP_REPLY_TEXT_MAX;
	strvec_init(&r->lines);
}

void
smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->dsn[0] = '\0';
	r->complete = false;
	str_reset(&r->text);
	r->text.overflow = false;
	strvec_deinit(&r->lines);
	strvec_init(&r->lines);
}

void
smtp_reply_deinit(struct smtp_reply *r)
{
	str_deinit(&r->text);
	strvec_deinit(&r->lines);
}

/* smtp_reply_dsn - the length of an RFC 3463 code "C.S.D" at s (class
 * matching the reply's first digit), or 0 */
static size_t
smtp_reply_dsn(const char *s, size_t len, char cls)
{
	size_t i = 0, part, digits;

	if (len < 5 || s[0] != cls)
		return 0;
	i = 1;
	for (part = 0; part < 2; part++) {
		if (i >= len || s[i] != '.')
			return 0;
		i++;
		for (digits = 0; i < len && isdigit((unsigned char)s[i]) && digits < 3; digits++)
			i++;
		if (digits == 0)
			return 0;
	}
	return i == len || s[i] == ' ' ? i : 0;
}

int
smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len, const char **error_r)
{
	int code;
	bool last;
	size_t i, n;
	const char *text;
	size_t tlen;

	if (r->complete)
		smtp_reply_reset(r);
	if (len > SMTP_REPLY_LINE_MAX) {
		*error_r = "reply line too long";
		return -1;
	}
	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		*error_r = "malformed reply";
		return -1;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->code != 0 && code != r->code) {
		*error_r = "malformed multi-line reply";
		return -1;
	}
	if (r->lines.n >= SMTP_REPLY_LINES_MAX) {
		*error_r = "too many reply lines";
		return -1;
	}
	last = len == 3 || line[3] == ' ';
	text = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	if (r->code == 0) {
		r->code = code;
		if ((n = smtp_reply_dsn(text, tlen, line[0])) > 0 && n < sizeof(r->dsn))
			snprintf(r->dsn, sizeof(r->dsn), "%.*s", (int)n, text);
	}
	if (r->text.len > 0)
		str_append_c(&r->text, ' ');
	/* printable only: the text goes into logs and DSNs */
	for (i = 0; i < len; i++)
		str_append_c(&r->text, (unsigned char)line[i] < ' ' || line[i] == 0x7f ? '?' :
		    line[i]);
	strvec_push_take(&r->lines, xstrndup(text, tlen));
	if (last)
		r->complete = true;
	return last ? 1 : 0;
}

void
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 1; i < r->lines.n; i++) {
		const char *l = r->lines.v[i];
		size_t kw = strcspn(l, " =");

		if (kw == 10 && strncasecmp(l, "PIPELINING", kw) == 0)
			out->ext |= SMTP_EXT_PIPELINING;
		else if (kw == 8 && strncasecmp(l, "8BITMIME", kw) == 0)
			out->ext |= SMTP_EXT_8BITMIME;
		else if (kw == 8 && strncasecmp(l, "SMTPUTF8", kw) == 0)
			out->ext |= SMTP_EXT_SMTPUTF8;
		else if (kw == 8 && strncasecmp(l, "STARTTLS", kw) == 0)
			out->ext |= SMTP_EXT_STARTTLS;
		else if (kw == 3 && strncasecmp(l, "DSN", kw) == 0)
			out->ext |= SMTP_EXT_DSN;
		else if (kw == 4 && strncasecmp(l, "SIZE", kw) == 0) {
			char *end;
			unsigned long v;

			out->ext |= SMTP_EXT_SIZE;
			if (l[kw] == ' ' && isdigit((unsigned char)l[kw + 1])) {
				v = strtoul(l + kw + 1, &end, 10);
				out->size_limit = v;
			}
		} else if (kw == 4 && strncasecmp(l, "AUTH", kw) == 0 && l[kw] != '\0') {
			/* "AUTH PLAIN LOGIN" or the old "AUTH=PLAIN LOGIN" */
			const char *p = l + kw + 1;

			out->ext |= SMTP_EXT_AUTH;
			while (*p != '\0') {
				size_t w;

				p += strspn(p, " ");
				w = strcspn(p, " ");
				if (w == 5 && strncasecmp(p, "PLAIN", 5) == 0)
					out->auth_plain = true;
				else if (w == 5 && strncasecmp(p, "LOGIN", 5) == 0)
					out->auth_login = true;
				p += w;
			}
		}
	}
}
