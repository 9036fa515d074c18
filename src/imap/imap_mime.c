/* imap_mime.c - MIME structure, ENVELOPE and BODYSTRUCTURE. See
 * imap_mime.h. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_mime.h"
#include "imap/imap_parser.h"
#include "lib/mem.h"

size_t
mime_vsize(const char *p, size_t len)
{
	size_t n = len, i;

	for (i = 0; i < len; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			n++;
	return n;
}

void
mime_crlf(struct str *out, const char *p, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
			str_append_n(out, p + start, i - start);
			str_append(out, "\r\n");
			start = i + 1;
		}
	}
	str_append_n(out, p + start, len - start);
}

/* --- headers --- */

/* hdr_end - the length of the header block at p (with the blank line) */
static size_t
hdr_end(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl;

		if (p[i] == '\n')
			return i + 1;
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			return i + 2;
		nl = memchr(p + i, '\n', len - i);
		if (nl == NULL)
			return len;
		i = (size_t)(nl - p) + 1;
	}
	return len;
}

size_t
mime_header_len(const char *p, size_t len)
{
	return hdr_end(p, len);
}

/* hdr_next - the field at [*pos, len): name and raw value range; false at
 * the end */
static bool
hdr_next(const char *p, size_t len, size_t *pos, const char **name, size_t *name_len,
    const char **val, size_t *val_len)
{
	for (;;) {
		size_t i = *pos, start = i, colon;
		const char *nl;

		if (i >= len || p[i] == '\n' || (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'))
			return false;
		/* the field's end: the LF not followed by a continuation */
		for (;;) {
			nl = memchr(p + i, '\n', len - i);
			if (nl == NULL) {
				i = len;
				break;
			}
			i = (size_t)(nl - p) + 1;
			if (i >= len || (p[i] != ' ' && p[i] != '\t'))
				break;
		}
		*pos = i;
		for (colon = start; colon < i && p[colon] != ':' && p[colon] != '\n'; colon++)
			;
		if (colon >= i || p[colon] != ':')
			continue;	/* not a field: skipped */
		*name = p + start;
		*name_len = colon - start;
		while (*name_len > 0 && (p[start + *name_len - 1] == ' ' || p[start + *name_len - 1] == '\t'))
			(*name_len)--;
		*val = p + colon + 1;
		*val_len = i - colon - 1;
		return true;
	}
}

/* unfold - the value without CR and LF, leading white space dropped */
static void
unfold(struct str *out, const char *v, size_t len)
{
	size_t i = 0;

	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	for (; i < len; i++)
		if (v[i] != '\r' && v[i] != '\n')
			str_append_c(out, v[i]);
	while (out->len > 0 && (out->s[out->len - 1] == ' ' || out->s[out->len - 1] == '\t'))
		str_truncate(out, out->len - 1);
}

bool
mime_header_get(const char *hdr, size_t len, const char *name, struct str *out)
{
	const char *n, *v;
	size_t nl, vl, pos = 0;

	while (hdr_next(hdr, len, &pos, &n, &nl, &v, &vl)) {
		if (nl == strlen(name) && strncasecmp(n, name, nl) == 0) {
			unfold(out, v, vl);
			return true;
		}
	}
	return false;
}

void
mime_header_fields(struct str *out, const char *hdr, size_t len, const char *const *names,
    size_t n, bool exclude)
{
	const char *name, *v;
	size_t nl, vl, pos = 0, start;

	for (;;) {
		size_t i;
		bool match = false;

		start = pos;
		if (!hdr_next(hdr, len, &pos, &name, &nl, &v, &vl))
			break;
		for (i = 0; i < n && !match; i++)
			match = strlen(names[i]) == nl && strncasecmp(names[i], name, nl) == 0;
		if (match != exclude) {
			/* from the field's own start (skipped junk lines before it
			 * are not part of it) */
			size_t fs = (size_t)(name - hdr);

			(void)start;
			mime_crlf(out, hdr + fs, pos - fs);
			if (pos == len && hdr[len - 1] != '\n')
				str_append(out, "\r\n");
		}
	}
	str_append(out, "\r\n");
}

/* --- Content-Type and friends --- */

struct mime_param {
	char	*name, *value;
};

struct mime_ctype {
	char	*type, *subtype;	/* NULL: none given */
	struct mime_param *p;
	size_t	 np;
};

static void
ctype_deinit(struct mime_ctype *c)
{
	size_t i;

	free(c->type);
	free(c->subtype);
	for (i = 0; i < c->np; i++) {
		free(c->p[i].name);
		free(c->p[i].value);
	}
	free(c->p);
	memset(c, 0, sizeof(*c));
}

static void
skip_cfws(const char **s, const char *end)
{
	int depth = 0;

	while (*s < end) {
		char c = **s;

		if (depth > 0) {
			if (c == '\\' && *s + 1 < end)
				(*s)++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return;
		}
		(*s)++;
	}
}

static bool
is_token_char(char c)
{
	return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static char *
read_token(const char **s, const char *end)
{
	const char *start = *s;

	while (*s < end && is_token_char(**s))
		(*s)++;
	return *s > start ? xstrndup(start, (size_t)(*s - start)) : NULL;
}

static char *
read_value(const char **s, const char *end)
{
	struct str v;

	if (*s < end && **s == '"') {
		str_init(&v, 32);
		for ((*s)++; *s < end && **s != '"'; (*s)++) {
			if (**s == '\\' && *s + 1 < end)
				(*s)++;
			if (**s != '\r' && **s != '\n')
				str_append_c(&v, **s);
		}
		if (*s < end)
			(*s)++;
		return str_export(&v);
	}
	return read_token(s, end);
}

/* ctype_parse - "type/subtype; a=b; c=\"d\"" (with_subtype) or
 * "disposition; a=b" */
static void
ctype_parse(struct mime_ctype *c, const char *v, size_t len, bool with_subtype)
{
	const char *s = v, *end = v + len;

	memset(c, 0, sizeof(*c));
	skip_cfws(&s, end);
	c->type = read_token(&s, end);
	if (c->type == NULL)
		return;
	if (with_subtype) {
		skip_cfws(&s, end);
		if (s >= end || *s != '/') {
			ctype_deinit(c);
			return;
		}
		s++;
		skip_cfws(&s, end);
		c->subtype = read_token(&s, end);
		if (c->subtype == NULL) {
			ctype_deinit(c);
			return;
		}
	}
	for (;;) {
		char *name, *value;

		skip_cfws(&s, end);
		if (s >= end || *s != ';')
			break;
		s++;
		skip_cfws(&s, end);
		if ((name = read_token(&s, end)) == NULL)
			break;
		skip_cfws(&s, end);
		if (s >= end || *s != '=') {
			free(name);
			break;
		}
		s++;
		skip_cfws(&s, end);
		if ((value = read_value(&s, end)) == NULL)
			value = xstrdup("");
		if (c->np < 100) {
			c->p = xreallocarray(c->p, c->np + 1, sizeof(*c->p));
			c->p[c->np].name = name;
			c->p[c->np].value = value;
			c->np++;
		} else {
			free(name);
			free(value);
		}
	}
}

static const char *
ctype_param(const struct mime_ctype *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->np; i++)
		if (strcasecmp(c->p[i].name, name) == 0)
			return c->p[i].value;
	return NULL;
}

/* part_ctype - the part's Content-Type (digest parts default to
 * message/rfc822) */
static void
part_ctype(const char *text, const struct mime_part *part, bool digest, struct mime_ctype *c)
{
	struct str v;

	str_init(&v, 64);
	memset(c, 0, sizeof(*c));
	if (mime_header_get(text + part->hdr_off, part->hdr_len, "Content-Type", &v))
		ctype_parse(c, v.s, v.len, true);
	if (c->type == NULL) {
		ctype_deinit(c);
		c->type = xstrdup(digest ? "message" : "text");
		c->subtype = xstrdup(digest ? "rfc822" : "plain");
		if (!digest) {
			c->p = xcalloc(1, sizeof(*c->p));
			c->p[0].name = xstrdup("charset");
			c->p[0].value = xstrdup("us-ascii");
			c->np = 1;
		}
	}
	str_deinit(&v);
}

/* --- structure --- */

static void mime_parse_part(struct mime_message *, struct mime_part *, size_t off, size_t end,
    unsigned depth, bool digest);

static void
add_child(struct mime_message *m, struct mime_part *parent, size_t off, size_t end,
    unsigned depth, bool digest)
{
	struct mime_part *c;

	parent->children = xreallocarray(parent->children, parent->nchildren + 1,
	    sizeof(*parent->children));
	c = &parent->children[parent->nchildren++];
	memset(c, 0, sizeof(*c));
	mime_parse_part(m, c, off, end, depth, digest);
}

/* line_is_boundary - does the line at p (up to end) start with "--b"
 * followed by white space or "--"? 1 delimiter, 2 close delimiter */
static int
line_is_boundary(const char *p, const char *end, const char *b, size_t bl)
{
	if ((size_t)(end - p) < bl + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bl) != 0)
		return 0;
	p += bl + 2;
	if (end - p >= 2 && p[0] == '-' && p[1] == '-')
		return 2;
	return 1;
}

static void
mime_parse_part(struct mime_message *m, struct mime_part *part, size_t off, size_t end,
    unsigned depth, bool digest)
{
	struct mime_ctype ct;
	const char *t = m->text;

	m->nparts++;
	part->hdr_off = off;
	part->hdr_len = hdr_end(t + off, end - off);
	part->body_off = off + part->hdr_len;
	part->body_len = end - part->body_off;
	if (depth >= MIME_MAX_DEPTH || m->nparts >= MIME_MAX_PARTS)
		return;
	part_ctype(t, part, digest, &ct);
	if (strcasecmp(ct.type, "multipart") == 0 && ctype_param(&ct, "boundary") != NULL &&
	    *ctype_param(&ct, "boundary") != '\0') {
		const char *b = ctype_param(&ct, "boundary");
		size_t bl = strlen(b), pos = part->body_off, start = 0;
		bool in = false, child_digest = strcasecmp(ct.subtype, "digest") == 0;

		part->multipart = true;
		while (pos < end) {
			const char *nl = memchr(t + pos, '\n', end - pos);
			size_t next = nl != NULL ? (size_t)(nl - t) + 1 : end;
			int kind = line_is_boundary(t + pos, t + next, b, bl);

			if (kind != 0 && m->nparts >= MIME_MAX_PARTS) {
				/* enough parts: the rest is the last one's text */
				break;
			}
			if (kind != 0) {
				if (in) {
					/* the line end before the delimiter belongs to it */
					size_t pe = pos;

					if (pe > start && t[pe - 1] == '\n')
						pe--;
					if (pe > start && t[pe - 1] == '\r')
						pe--;
					add_child(m, part, start, pe, depth + 1, child_digest);
				}
				if (kind == 2) {
					in = false;
					break;
				}
				in = true;
				start = next;
			}
			pos = next;
		}
		if (in && start <= end)
			add_child(m, part, start, end, depth + 1, child_digest);
	} else if (strcasecmp(ct.type, "message") == 0 && strcasecmp(ct.subtype, "rfc822") == 0) {
		part->message = true;
		add_child(m, part, part->body_off, end, depth + 1, false);
	}
	ctype_deinit(&ct);
}

void
mime_parse(struct mime_message *m, const char *text, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->text = text;
	m->len = len;
	mime_parse_part(m, &m->root, 0, len, 0, false);
}

static void
part_free(struct mime_part *p)
{
	size_t i;

	for (i = 0; i < p->nchildren; i++)
		part_free(&p->children[i]);
	free(p->children);
	p->children = NULL;
	p->nchildren = 0;
}

void
mime_free(struct mime_message *m)
{
	part_free(&m->root);
}

const struct mime_part *
mime_section(const struct mime_message *m, const char *numbers)
{
	const struct mime_part *cur = &m->root;
	const char *s = numbers;
	bool first = true;

	while (*s != '\0') {
		unsigned long n;
		char *e;

		if (!isdigit((unsigned char)*s))
			return NULL;
		n = strtoul(s, &e, 10);
		if (n == 0)
			return NULL;
		bool entered = first;

		if (!first && cur->message && cur->nchildren == 1) {
			cur = &cur->children[0];
			entered = true;
		}
		if (cur->multipart) {
			if (n > cur->nchildren)
				return NULL;
			cur = &cur->children[n - 1];
		} else if (n != 1 || !entered) {
			/* a single part is "1" only of a message */
			return NULL;
		}
		first = false;
		s = e;
		if (*s == '.')
			s++;
		else if (*s != '\0')
			return NULL;
	}
	return cur;
}

/* --- ENVELOPE --- */

static void
nstring(struct str *out, const char *hdr, size_t len, const char *name)
{
	struct str v;

	str_init(&v, 64);
	if (mime_header_get(hdr, len, name, &v))
		imap_quote(out, v.s, v.len);
	else
		str_append(out, "NIL");
	str_deinit(&v);
}

/* addr_word - append the text of a phrase or local part: quoted strings
 * unquoted, comments dropped (collected into comment) */
static void
addr_text(struct str *out, const char *s, const char *end, struct str *comment)
{
	bool space = false;

	while (s < end) {
		char c = *s;

		if (c == '"') {
			if (space && out->len > 0)
				str_append_c(out, ' ');
			space = false;
			for (s++; s < end && *s != '"'; s++) {
				if (*s == '\\' && s + 1 < end)
					s++;
				str_append_c(out, *s);
			}
			s++;
		} else if (c == '(') {
			int depth = 1;
			const char *cs = ++s;

			while (s < end && depth > 0) {
				if (*s == '\\' && s + 1 < end)
					s++;
				else if (*s == '(')
					depth++;
				else if (*s == ')')
					depth--;
				s++;
			}
			if (comment != NULL && comment->len == 0)
				str_append_n(comment, cs, (size_t)(s - cs) - (depth == 0 ? 1 : 0));
			space = true;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = true;
			s++;
		} else {
			if (space && out->len > 0)
				str_append_c(out, ' ');
			space = false;
			str_append_c(out, c);
			s++;
		}
	}
}

static void
addr_one(struct str *out, const char *s, const char *end)
{
	const char *lt = NULL, *gt = NULL, *p, *at;
	struct str name, spec, comment, adl;
	int depth = 0;
	bool q = false;

	for (p = s; p < end; p++) {
		if (q) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '"')
				q = false;
		} else if (*p == '"') {
			q = true;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && *p == '<' && lt == NULL) {
			lt = p;
		} else if (depth == 0 && *p == '>' && lt != NULL && gt == NULL) {
			gt = p;
		}
	}
	str_init(&name, 64);
	str_init(&spec, 64);
	str_init(&comment, 32);
	str_init(&adl, 16);
	if (lt != NULL) {
		const char *ie = gt != NULL ? gt : end, *colon;

		addr_text(&name, s, lt, NULL);
		/* a source route "@a,@b:" before the addr-spec */
		colon = lt + 1 < ie && lt[1] == '@' ? memchr(lt + 1, ':', (size_t)(ie - lt - 1)) : NULL;
		if (colon != NULL) {
			addr_text(&adl, lt + 1, colon, NULL);
			addr_text(&spec, colon + 1, ie, NULL);
		} else {
			addr_text(&spec, lt + 1, ie, NULL);
		}
	} else {
		/* a comment is not a display name for Dovecot */
		addr_text(&spec, s, end, &comment);
	}
	/* the addr-spec has no spaces: addr_text put some between words */
	{
		size_t i, j = 0;

		for (i = 0; i < spec.len; i++)
			if (spec.s[i] != ' ')
				spec.s[j++] = spec.s[i];
		str_truncate(&spec, j);
	}
	if (spec.len == 0 && name.len == 0)
		goto out;
	str_append_c(out, '(');
	if (name.len > 0)
		imap_quote(out, name.s, name.len);
	else
		str_append(out, "NIL");
	str_append_c(out, ' ');
	if (adl.len > 0)
		imap_quote(out, adl.s, adl.len);
	else
		str_append(out, "NIL");
	str_append_c(out, ' ');
	at = spec.len > 0 ? memrchr(spec.s, '@', spec.len) : NULL;
	if (at != NULL) {
		imap_quote(out, spec.s, (size_t)(at - spec.s));
		str_append_c(out, ' ');
		imap_quote(out, at + 1, spec.len - (size_t)(at + 1 - spec.s));
	} else {
		if (spec.len > 0)
			imap_quote(out, spec.s, spec.len);
		else
			str_append(out, "\"MISSING_MAILBOX\"");
		str_append(out, " \"MISSING_DOMAIN\"");
	}
	str_append_c(out, ')');
out:
	str_deinit(&name);
	str_deinit(&spec);
	str_deinit(&comment);
	str_deinit(&adl);
}

/* addr_list - an address list as "((...)(...))" or NIL; groups as
 * (NIL NIL "name" NIL) ... (NIL NIL NIL NIL) */
static void
addr_list(struct str *out, const char *v, size_t len)
{
	const char *s = v, *end = v + len, *p, *start = v;
	size_t mark = out->len;
	int depth = 0, angle = 0;
	bool q = false, group = false;

	str_append_c(out, '(');
	for (p = s; p <= end; p++) {
		char c = p < end ? *p : ',';

		if (p < end && q) {
			if (c == '\\' && p + 1 < end)
				p++;
			else if (c == '"')
				q = false;
			continue;
		}
		if (p < end && c == '"') {
			q = true;
		} else if (p < end && c == '(') {
			depth++;
		} else if (p < end && c == ')' && depth > 0) {
			depth--;
		} else if (depth > 0) {
			continue;
		} else if (c == '<') {
			angle++;
		} else if (c == '>' && angle > 0) {
			angle--;
		} else if (angle == 0 && c == ':' && !group) {
			struct str g;

			str_init(&g, 32);
			addr_text(&g, start, p, NULL);
			str_append(out, "(NIL NIL ");
			imap_quote(out, g.s, g.len);
			str_append(out, " NIL)");
			str_deinit(&g);
			group = true;
			start = p + 1;
		} else if (angle == 0 && (c == ',' || c == ';')) {
			addr_one(out, start, p);
			start = p + 1;
			if (c == ';' && group) {
				str_append(out, "(NIL NIL NIL NIL)");
				group = false;
			}
		}
	}
	if (group)
		str_append(out, "(NIL NIL NIL NIL)");
	if (out->len == mark + 1) {
		str_truncate(out, mark);
		str_append(out, "NIL");
	} else {
		str_append_c(out, ')');
	}
}

static bool
addr_field(struct str *out, const char *hdr, size_t len, const char *name)
{
	struct str v;
	bool found;

	str_init(&v, 128);
	found = mime_header_get(hdr, len, name, &v);
	if (found)
		addr_list(out, v.s, v.len);
	str_deinit(&v);
	return found;
}

void
mime_envelope(struct str *out, const char *hdr, size_t len)
{
	size_t mark;

	str_append_c(out, '(');
	nstring(out, hdr, len, "Date");
	str_append_c(out, ' ');
	nstring(out, hdr, len, "Subject");
	str_append_c(out, ' ');
	mark = out->len;
	if (!addr_field(out, hdr, len, "From"))
		str_append(out, "NIL");
	{
		/* Sender and Reply-To default to From (RFC 3501 7.4.2) */
		/* by length: a literal in it may hold NULs */
		size_t flen = out->len - mark;
		char *from = xmalloc(flen + 1);

		memcpy(from, out->s + mark, flen);
		str_append_c(out, ' ');
		if (!addr_field(out, hdr, len, "Sender"))
			str_append_n(out, from, flen);
		str_append_c(out, ' ');
		if (!addr_field(out, hdr, len, "Reply-To"))
			str_append_n(out, from, flen);
		free(from);
	}
	str_append_c(out, ' ');
	if (!addr_field(out, hdr, len, "To"))
		str_append(out, "NIL");
	str_append_c(out, ' ');
	if (!addr_field(out, hdr, len, "Cc"))
		str_append(out, "NIL");
	str_append_c(out, ' ');
	if (!addr_field(out, hdr, len, "Bcc"))
		str_append(out, "NIL");
	str_append_c(out, ' ');
	nstring(out, hdr, len, "In-Reply-To");
	str_append_c(out, ' ');
	nstring(out, hdr, len, "Message-ID");
	str_append_c(out, ')');
}

/* --- BODYSTRUCTURE --- */

static void
params(struct str *out, const struct mime_ctype *c)
{
	size_t i;

	if (c->np == 0) {
		str_append(out, "NIL");
		return;
	}
	str_append_c(out, '(');
	for (i = 0; i < c->np; i++) {
		if (i > 0)
			str_append_c(out, ' ');
		imap_quote(out, c->p[i].name, strlen(c->p[i].name));
		str_append_c(out, ' ');
		imap_quote(out, c->p[i].value, strlen(c->p[i].value));
	}
	str_append_c(out, ')');
}

static void
ext_fields(struct str *out, const char *t, const struct mime_part *p)
{
	struct str v;
	const char *h = t + p->hdr_off;

	str_init(&v, 64);
	str_append_c(out, ' ');
	if (mime_header_get(h, p->hdr_len, "Content-Disposition", &v)) {
		struct mime_ctype d;

		ctype_parse(&d, v.s, v.len, false);
		if (d.type != NULL) {
			str_append_c(out, '(');
			imap_quote(out, d.type, strlen(d.type));
			str_append_c(out, ' ');
			params(out, &d);
			str_append_c(out, ')');
		} else {
			str_append(out, "NIL");
		}
		ctype_deinit(&d);
	} else {
		str_append(out, "NIL");
	}
	str_append_c(out, ' ');
	str_reset(&v);
	if (mime_header_get(h, p->hdr_len, "Content-Language", &v) && v.len > 0) {
		const char *s = v.s, *end = v.s + v.len;
		struct str langs;
		size_t n = 0;

		str_init(&langs, 32);
		for (;;) {
			char *tok;

			skip_cfws(&s, end);
			if ((tok = read_token(&s, end)) == NULL)
				break;
			if (n++ > 0)
				str_append_c(&langs, ' ');
			imap_quote(&langs, tok, strlen(tok));
			free(tok);
			skip_cfws(&s, end);
			if (s < end && *s == ',')
				s++;
			else
				break;
		}
		/* always a list, as Dovecot writes it */
		if (n == 0)
			str_append(out, "NIL");
		else
			str_appendf(out, "(%s)", langs.s);
		str_deinit(&langs);
	} else {
		str_append(out, "NIL");
	}
	str_append_c(out, ' ');
	nstring(out, h, p->hdr_len, "Content-Location");
	str_deinit(&v);
}

static void
bodystructure_part(struct str *out, const struct mime_message *m, const struct mime_part *p,
    bool extended, bool digest)
{
	const char *t = m->text;
	struct mime_ctype ct;
	size_t i;

	part_ctype(t, p, digest, &ct);
	str_append_c(out, '(');
	if (p->multipart) {
		bool d = strcasecmp(ct.subtype, "digest") == 0;

		if (p->nchildren == 0) {
			/* a multipart without parts: Dovecot shows one empty text part */
			str_append(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0");
			str_append(out, extended ? " NIL NIL NIL NIL)" : ")");
		}
		for (i = 0; i < p->nchildren; i++)
			bodystructure_part(out, m, &p->children[i], extended, d);
		str_append_c(out, ' ');
		imap_quote(out, ct.subtype, strlen(ct.subtype));
		if (extended) {
			str_append_c(out, ' ');
			params(out, &ct);
			ext_fields(out, t, p);
		}
	} else {
		const char *h = t + p->hdr_off;
		struct str v;

		str_init(&v, 32);
		imap_quote(out, ct.type, strlen(ct.type));
		str_append_c(out, ' ');
		imap_quote(out, ct.subtype, strlen(ct.subtype));
		str_append_c(out, ' ');
		params(out, &ct);
		str_append_c(out, ' ');
		nstring(out, h, p->hdr_len, "Content-ID");
		str_append_c(out, ' ');
		nstring(out, h, p->hdr_len, "Content-Description");
		str_append_c(out, ' ');
		if (mime_header_get(h, p->hdr_len, "Content-Transfer-Encoding", &v) && v.len > 0)
			imap_quote(out, v.s, v.len);
		else
			str_append(out, "\"7bit\"");
		str_appendf(out, " %zu", mime_vsize(t + p->body_off, p->body_len));
		if (p->message && p->nchildren == 1) {
			const struct mime_part *in = &p->children[0];

			str_append_c(out, ' ');
			mime_envelope(out, t + in->hdr_off, in->hdr_len);
			str_append_c(out, ' ');
			bodystructure_part(out, m, in, extended, false);
		}
		if (strcasecmp(ct.type, "text") == 0 || p->message) {
			size_t lines = 0;

			for (i = 0; i < p->body_len; i++)
				if (t[p->body_off + i] == '\n')
					lines++;
			str_appendf(out, " %zu", lines);
		}
		if (extended) {
			str_append_c(out, ' ');
			nstring(out, h, p->hdr_len, "Content-MD5");
			ext_fields(out, t, p);
		}
		str_deinit(&v);
	}
	str_append_c(out, ')');
	ctype_deinit(&ct);
}

void
mime_bodystructure(struct str *out, const struct mime_message *m, bool extended)
{
	bodystructure_part(out, m, &m->root, extended, false);
}
