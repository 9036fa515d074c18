/* imap_binary.c - RFC 3516 BINARY fetches. See imap_binary.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_binary.h"
#include "imap/imap_mime.h"
#include "lib/base64.h"
#include "lib/mem.h"

char *
imap_binary_atom(const char *atom, bool *size_r)
{
	const char *rest;
	bool peek = false;

	*size_r = false;
	if (strncasecmp(atom, "BINARY.PEEK[", 12) == 0) {
		peek = true;
		rest = atom + 11;
	} else if (strncasecmp(atom, "BINARY.SIZE[", 12) == 0) {
		*size_r = true;
		rest = atom + 11;
		/* no partial on a size */
		if (strchr(rest, '<') != NULL)
			return NULL;
	} else if (strncasecmp(atom, "BINARY[", 7) == 0) {
		rest = atom + 6;
	} else {
		return NULL;
	}
	return xasprintf("%s%s", peek || *size_r ? "BODY.PEEK" : "BODY", rest);
}

bool
imap_binary_raw_section(const char *section)
{
	const char *w = section;

	while (isdigit((unsigned char)*w)) {
		while (isdigit((unsigned char)*w))
			w++;
		if (*w == '.')
			w++;
	}
	return strncmp(w, "HEADER", 6) == 0 || strcmp(w, "MIME") == 0;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)toupper(c);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* qp_decode - RFC 2045 6.7: trailing blanks of a line dropped, "=" at a
 * line's end joins it to the next, "=XX" is a byte; a broken "=" stays */
static void
qp_decode(const char *p, size_t len, struct str *out)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(p + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - p) : len, le = end, i;
		bool soft = false;

		if (le > pos && p[le - 1] == '\r')
			le--;
		while (le > pos && (p[le - 1] == ' ' || p[le - 1] == '\t'))
			le--;
		if (le > pos && p[le - 1] == '=') {
			soft = true;
			le--;
		}
		for (i = pos; i < le; i++) {
			int h, l;

			if (p[i] == '=' && i + 2 < le && (h = hexval((unsigned char)p[i + 1])) >= 0 &&
			    (l = hexval((unsigned char)p[i + 2])) >= 0) {
				str_append_c(out, (char)(h * 16 + l));
				i += 2;
			} else {
				str_append_c(out, p[i]);
			}
		}
		if (nl != NULL && !soft)
			str_append(out, "\r\n");
		pos = nl != NULL ? end + 1 : len;
	}
}

int
imap_binary_decode(const char *cte, const char *p, size_t len, struct str *out)
{
	while (*cte == ' ' || *cte == '\t')
		cte++;
	if (strncasecmp(cte, "base64", 6) == 0 && (cte[6] == '\0' || isspace((unsigned char)cte[6]))) {
		base64_decode_mime(out, p, len);
		return 1;
	}
	if (strncasecmp(cte, "quoted-printable", 16) == 0 &&
	    (cte[16] == '\0' || isspace((unsigned char)cte[16]))) {
		qp_decode(p, len, out);
		return 1;
	}
	if (*cte == '\0' || strncasecmp(cte, "7bit", 4) == 0 || strncasecmp(cte, "8bit", 4) == 0 ||
	    strncasecmp(cte, "binary", 6) == 0) {
		mime_crlf(out, p, len);
		return 0;
	}
	return -1;
}

/* header_binary - the header with its Content-Transfer-Encoding field
 * (folded lines included) said as "binary", CRLF */
static void
header_binary(struct str *out, const char *h, size_t len)
{
	size_t pos = 0;
	bool skipping = false;

	while (pos < len) {
		const char *nl = memchr(h + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - h) + 1 : len;

		if (skipping && (h[pos] == ' ' || h[pos] == '\t')) {
			pos = end;
			continue;
		}
		skipping = false;
		if (end - pos > 26 && strncasecmp(h + pos, "Content-Transfer-Encoding:", 26) == 0) {
			str_append(out, "Content-Transfer-Encoding: binary\r\n");
			skipping = true;
		} else {
			mime_crlf(out, h + pos, end - pos);
		}
		pos = end;
	}
}

/* emit - a part's header (unless body_only) and body, every leaf decoded */
static int
emit(const struct mime_message *m, const struct mime_part *p, bool body_only, struct str *out,
    bool *decoded)
{
	size_t i, pos;

	if (!p->multipart && !p->message) {
		struct str cte;
		int r;

		str_init(&cte, 32);
		(void)mime_header_get(m->text + p->hdr_off, p->hdr_len, "Content-Transfer-Encoding",
		    &cte);
		{
			struct str body;

			str_init(&body, p->body_len + 16);
			r = imap_binary_decode(cte.s, m->text + p->body_off, p->body_len, &body);
			if (r > 0) {
				*decoded = true;
				if (!body_only)
					header_binary(out, m->text + p->hdr_off, p->hdr_len);
			} else if (r == 0 && !body_only) {
				mime_crlf(out, m->text + p->hdr_off, p->hdr_len);
			}
			if (r >= 0)
				str_append_n(out, body.s, body.len);
			str_deinit(&body);
		}
		str_deinit(&cte);
		return r < 0 ? -1 : 0;
	}
	if (!body_only)
		mime_crlf(out, m->text + p->hdr_off, p->hdr_len);
	pos = p->body_off;
	for (i = 0; i < p->nchildren; i++) {
		const struct mime_part *c = &p->children[i];

		if (c->hdr_off < pos || c->hdr_off > p->body_off + p->body_len)
			continue;
		mime_crlf(out, m->text + pos, c->hdr_off - pos);
		if (emit(m, c, false, out, decoded) != 0)
			return -1;
		pos = c->body_off + c->body_len;
	}
	if (pos < p->body_off + p->body_len)
		mime_crlf(out, m->text + pos, p->body_off + p->body_len - pos);
	return 0;
}

int
imap_binary_section(const struct mime_message *m, const char *section, struct str *out,
    bool *decoded_r)
{
	const char *w = section;
	const struct mime_part *p;
	char *nums;

	*decoded_r = false;
	while (isdigit((unsigned char)*w)) {
		while (isdigit((unsigned char)*w))
			w++;
		if (*w == '.' && isdigit((unsigned char)w[1]))
			w++;
		else
			break;
	}
	nums = xstrndup(section, (size_t)(w - section));
	if (*w == '.')
		w++;
	p = mime_section(m, nums);
	free(nums);
	if (p == NULL)
		return 0;
	if (strcmp(w, "TEXT") == 0) {
		/* the text of the message itself, or of an embedded one */
		if (w != section) {
			if (!p->message || p->nchildren != 1)
				return 0;
			p = &p->children[0];
		}
		return emit(m, p, true, out, decoded_r);
	}
	if (w == section && *w == '\0')
		return emit(m, &m->root, false, out, decoded_r);
	/* a part: its content without its header (an embedded message's
	 * content is that message) */
	if (p->message && p->nchildren == 1)
		return emit(m, &p->children[0], false, out, decoded_r);
	return emit(m, p, true, out, decoded_r);
}
