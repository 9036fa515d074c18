/* imap_hdr.c - see imap_hdr.h */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_hdr.h"
#include "imap/imap_mime.h"
#include "lib/mem.h"
#include "storage/mailbox.h"

/* What clients list and search by: Thunderbird's, mutt's, Apple Mail's
 * and K-9's HEADER.FIELDS lists and the SEARCH keys' fields. */
const char *const imap_hdr_default_names[] = {
	"FROM", "TO", "CC", "BCC", "SUBJECT", "DATE", "MESSAGE-ID", "IN-REPLY-TO",
	"REFERENCES", "REPLY-TO", "SENDER", "LIST-ID", "LIST-POST", "CONTENT-TYPE",
	"PRIORITY", "X-PRIORITY", "IMPORTANCE", "NEWSGROUPS", "CONTENT-DESCRIPTION", "LINES",
	"X-LABEL", "X-ORIGINAL-TO", NULL,
};

uint32_t
imap_hdr_base_hash(const char *name)
{
	size_t bl = maildir_basename_len(name), i;
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (i = 0; i < bl; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

/* name_ok - a field name a record may hold: it separates by spaces and
 * ends at '\n', and matches only what mime_header_fields would match */
static bool
name_ok(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > IMAP_HDR_MAX_NAME)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f || p[i] == ':')
			return false;
	return true;
}

/* add_name - name upper-cased into v unless there; false when it is not
 * cacheable or v is full */
static bool
add_name(struct strvec *v, const char *name, size_t len)
{
	char *u;
	size_t i;

	if (!name_ok(name, len))
		return false;
	u = xstrndup(name, len);
	for (i = 0; i < len; i++)
		u[i] = (char)toupper((unsigned char)u[i]);
	if (strvec_contains(v, u)) {
		free(u);
		return true;
	}
	if (v->n >= IMAP_HDR_MAX_NAMES) {
		free(u);
		return false;
	}
	strvec_push_take(v, u);
	return true;
}

int
imap_hdr_record_make_norm(struct str *out, const char *name, const char *hdr, size_t hdr_len,
    const struct strvec *names)
{
	size_t i;
	char hash[16];

	if (names->n == 0 || names->n > IMAP_HDR_MAX_NAMES)
		return -1;
	str_reset(out);
	snprintf(hash, sizeof(hash), "%08x", (unsigned)imap_hdr_base_hash(name));
	str_append_n(out, hash, 8);
	for (i = 0; i < names->n; i++) {
		str_append_c(out, ' ');
		str_append(out, names->v[i]);
	}
	str_append_c(out, '\n');
	mime_header_fields(out, hdr, hdr_len, (const char *const *)names->v, names->n, false);
	return out->len <= IMAP_HDR_MAX_RECORD && !out->overflow ? 0 : -1;
}

int
imap_hdr_record_make(struct str *out, const char *name, const char *hdr, size_t hdr_len,
    const char *const *names, size_t n)
{
	struct strvec v;
	size_t i;
	int ret = -1;

	strvec_init(&v);
	for (i = 0; i < n; i++)
		if (!add_name(&v, names[i], strlen(names[i])))
			goto out;
	ret = imap_hdr_record_make_norm(out, name, hdr, hdr_len, &v);
out:
	strvec_deinit(&v);
	return ret;
}

int
imap_hdr_record_parse(const char *data, size_t len, const char *name, struct imap_hdr_rec *r)
{
	char want[9];
	const char *nl, *p, *end;
	size_t count = 0;

	memset(r, 0, sizeof(*r));
	if (len < 9 + 1 + 2 || len > IMAP_HDR_MAX_RECORD || data[8] != ' ')
		return -1;
	snprintf(want, sizeof(want), "%08x", (unsigned)imap_hdr_base_hash(name));
	if (memcmp(data, want, 8) != 0)
		return -1;
	if ((nl = memchr(data + 9, '\n', len - 9)) == NULL)
		return -1;
	/* NAME( NAME)* */
	for (p = data + 9; p < nl; p = end + 1) {
		end = memchr(p, ' ', (size_t)(nl - p));
		if (end == NULL)
			end = nl;
		if (!name_ok(p, (size_t)(end - p)) || ++count > IMAP_HDR_MAX_NAMES)
			return -1;
		for (const char *c = p; c < end; c++)
			if (islower((unsigned char)*c))
				return -1;
		if (end == nl)
			break;
	}
	if (count == 0)
		return -1;
	r->names = data + 9;
	r->names_len = (size_t)(nl - r->names);
	r->fields = nl + 1;
	r->fields_len = len - (size_t)(r->fields - data);
	/* mime_header_fields' form: fields ending in CRLF, then the blank
	 * line */
	if (!(r->fields_len == 2 && memcmp(r->fields, "\r\n", 2) == 0) &&
	    (r->fields_len < 4 || memcmp(r->fields + r->fields_len - 4, "\r\n\r\n", 4) != 0)) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	return 0;
}

bool
imap_hdr_record_covers(const struct imap_hdr_rec *r, const char *name)
{
	size_t nl = strlen(name);
	const char *p = r->names, *end = r->names + r->names_len, *sp;

	if (r->names == NULL)
		return false;
	while (p < end) {
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL)
			sp = end;
		if ((size_t)(sp - p) == nl && strncasecmp(p, name, nl) == 0)
			return true;
		p = sp + 1;
	}
	return false;
}

void
imap_hdr_names_union(struct strvec *out, const struct imap_hdr_rec *r, const char *const *more,
    size_t nmore)
{
	size_t i;

	for (i = 0; imap_hdr_default_names[i] != NULL; i++)
		(void)add_name(out, imap_hdr_default_names[i], strlen(imap_hdr_default_names[i]));
	if (r != NULL && r->names != NULL) {
		const char *p = r->names, *end = r->names + r->names_len, *sp;

		while (p < end) {
			sp = memchr(p, ' ', (size_t)(end - p));
			if (sp == NULL)
				sp = end;
			(void)add_name(out, p, (size_t)(sp - p));
			p = sp + 1;
		}
	}
	for (i = 0; i < nmore; i++)
		(void)add_name(out, more[i], strlen(more[i]));
}
