/* sieve_msg.c - the message as Sieve sees it: header fields (unfolded,
 * RFC 2047 decoded), addresses, and the MIME tree (multipart and
 * message/rfc822 parts, transfer encodings, charsets to UTF-8 through
 * iconv) for body, mime, foreverypart and extracttext. The message is
 * outside input: parts are capped in depth (SV_MIME_MAX_DEPTH) and number
 * (SV_MIME_MAX_PARTS); nothing trusts a boundary or a length.
 * (src/mail has no MIME parser yet; this one stays in src/sieve so the IMAP
 * work on src/mail/mime.c is not disturbed: merge them later.)
 * Tests: tests/sieve/body.svtest, mime.svtest, fuzz/fuzz_sieve_run.c */
#include <ctype.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base64.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "mail/header.h"
#include "sieve/sieve-private.h"

#define SV_MIME_MAX_DEPTH	32
#define SV_MIME_MAX_PARTS	1000
#define SV_MAX_HEADERS		2000

/* trim - drop leading and trailing white space */
static void
trim(const char **p, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**p))
		(*p)++, (*len)--;
	while (*len > 0 && isspace((unsigned char)(*p)[*len - 1]))
		(*len)--;
}

/* unfold - remove the line ends of continuation lines */
static char *
unfold(const char *v, size_t len)
{
	struct str s;
	size_t i;

	trim(&v, &len);
	str_init(&s, len + 1);
	for (i = 0; i < len; i++) {
		if (v[i] == '\r' && i + 1 < len && v[i + 1] == '\n')
			continue;
		if (v[i] == '\n')
			continue;
		str_append_c(&s, v[i]);
	}
	return str_export(&s);
}

static void
to_utf8(const char *charset, const char *in, size_t len, struct str *out)
{
	iconv_t cd;
	char buf[1024];

	if (charset == NULL || *charset == 0 || strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0 || strcasecmp(charset, "utf8") == 0) {
		str_append_n(out, in, len);
		return;
	}
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1) {
		str_append_n(out, in, len);
		return;
	}
	{
		char *ip = (char *)(uintptr_t)in;
		size_t il = len;

		while (il > 0) {
			char *op = buf;
			size_t ol = sizeof(buf);
			size_t r = iconv(cd, &ip, &il, &op, &ol);

			str_append_n(out, buf, (size_t)(op - buf));
			if (r == (size_t)-1 && ol == sizeof(buf)) {
				/* an invalid byte: replace it and go on */
				str_append_c(out, '?');
				ip++, il--;
			}
		}
	}
	iconv_close(cd);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
qp_decode(const char *in, size_t len, bool header, struct str *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (header && in[i] == '_')
			str_append_c(out, ' ');
		else if (in[i] == '=' && i + 2 < len + 0 && hexval((unsigned char)in[i + 1]) >= 0 &&
		    hexval((unsigned char)in[i + 2]) >= 0) {
			str_append_c(out, hexval((unsigned char)in[i + 1]) * 16 +
			    hexval((unsigned char)in[i + 2]));
			i += 2;
		} else if (in[i] == '=' && !header) {
			/* soft line break: "=" then optional white space and the line end */
			size_t j = i + 1;

			while (j < len && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j < len && in[j] == '\r')
				j++;
			if (j < len && in[j] == '\n')
				i = j;
			else if (j >= len)
				i = j;
			else
				str_append_c(out, '=');
		} else
			str_append_c(out, in[i]);
	}
}

/* sv_rfc2047_decode - =?charset?B|Q?text?= words to UTF-8; white space
 * between two encoded words is dropped (RFC 2047 6.2) */
void
sv_rfc2047_decode(const char *in, size_t len, struct str *out)
{
	size_t i = 0, pending_ws = 0, ws_start = 0;
	bool last_encoded = false;

	while (i < len) {
		if (in[i] == '=' && i + 1 < len && in[i + 1] == '?') {
			const char *cs = in + i + 2, *q1, *q2, *end;
			const char *lim = in + len;

			q1 = memchr(cs, '?', (size_t)(lim - cs));
			if (q1 != NULL && q1 + 2 < lim && q1[2] == '?') {
				q2 = q1 + 2;
				end = q2 + 1;
				while (end + 1 < lim && !(end[0] == '?' && end[1] == '='))
					end++;
				if (end + 1 < lim && q1 - cs < 64) {
					char charset[64];
					struct str raw;
					char enc = (char)toupper((unsigned char)q1[1]);
					char *star;

					if (enc == 'B' || enc == 'Q') {
						memcpy(charset, cs, (size_t)(q1 - cs));
						charset[q1 - cs] = 0;
						if ((star = strchr(charset, '*')) != NULL)
							*star = 0;	/* RFC 2231 language */
						str_init(&raw, 64);
						if (enc == 'B')
							base64_decode_mime(&raw, q2 + 1, (size_t)(end - q2 - 1));
						else
							qp_decode(q2 + 1, (size_t)(end - q2 - 1), true, &raw);
						if (!last_encoded && pending_ws > 0)
							str_append_n(out, in + ws_start, pending_ws);
						to_utf8(charset, raw.s, raw.len, out);
						str_deinit(&raw);
						pending_ws = 0;
						last_encoded = true;
						i = (size_t)(end + 2 - in);
						continue;
					}
				}
			}
		}
		if (in[i] == ' ' || in[i] == '\t') {
			if (pending_ws == 0)
				ws_start = i;
			pending_ws++;
			i++;
			continue;
		}
		if (pending_ws > 0)
			str_append_n(out, in + ws_start, pending_ws);
		pending_ws = 0;
		last_encoded = false;
		str_append_c(out, in[i++]);
	}
	if (pending_ws > 0)
		str_append_n(out, in + ws_start, pending_ws);
}

/* ct_param - a parameter of a Content-Type value, or NULL (owned) */
static char *
ct_param(const char *v, const char *name)
{
	const char *p = strchr(v, ';');
	size_t nl = strlen(name);

	while (p != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) == 0) {
			const char *q = p + nl;

			while (*q == ' ')
				q++;
			if (*q == '=') {
				struct str s;

				q++;
				while (*q == ' ')
					q++;
				str_init(&s, 32);
				if (*q == '"') {
					for (q++; *q != 0 && *q != '"'; q++) {
						if (*q == '\\' && q[1] != 0)
							q++;
						str_append_c(&s, *q);
					}
				} else
					for (; *q != 0 && *q != ';' && !isspace((unsigned char)*q); q++)
						str_append_c(&s, *q);
				return str_export(&s);
			}
		}
		p = strchr(p, ';');
	}
	return NULL;
}

static const char *
part_header(const struct sv_part *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nhdr; i++)
		if (strcasecmp(p->hdr[i].name, name) == 0)
			return p->hdr[i].value;
	return NULL;
}

static void parse_part(struct sieve_msg *m, const char *p, size_t len, int parent,
    unsigned depth, bool digest);

/* parse_headers - the header fields at p; returns the body offset */
static size_t
parse_headers(struct sv_part *part, const char *p, size_t len)
{
	struct header_field f;
	size_t off = 0, n;

	while ((n = header_next(p + off, len - off, &f)) > 0 && part->nhdr < SV_MAX_HEADERS) {
		struct sv_header *h;
		struct str d;

		if (part->nhdr % 16 == 0)
			part->hdr = xreallocarray(part->hdr, part->nhdr + 16, sizeof(*part->hdr));
		h = &part->hdr[part->nhdr++];
		h->name = xstrndup(f.name, f.name_len);
		h->value = unfold(f.value, f.value_len);
		str_init(&d, strlen(h->value) + 1);
		sv_rfc2047_decode(h->value, strlen(h->value), &d);
		h->decoded = str_export(&d);
		off += n;
	}
	/* the empty line */
	if (off < len && p[off] == '\r' && off + 1 < len && p[off + 1] == '\n')
		off += 2;
	else if (off < len && p[off] == '\n')
		off++;
	return off;
}

static void
parse_part(struct sieve_msg *m, const char *p, size_t len, int parent, unsigned depth,
    bool digest)
{
	struct sv_part *part;
	size_t body, idx;
	const char *ct;
	char *boundary = NULL;

	if (m->nparts >= SV_MIME_MAX_PARTS)
		return;
	if (m->nparts % 16 == 0)
		m->parts = xreallocarray(m->parts, m->nparts + 16, sizeof(*m->parts));
	idx = m->nparts++;
	part = &m->parts[idx];
	memset(part, 0, sizeof(*part));
	part->parent = parent;
	part->depth = depth;
	body = parse_headers(part, p, len);
	part->body = p + body;
	part->body_len = len - body;
	ct = part_header(part, "content-type");
	if (ct != NULL) {
		size_t i, n = strcspn(ct, ";");
		const char *s = ct;

		trim(&s, &n);
		part->ctype = xstrndup(s, n);
		for (i = 0; part->ctype[i] != 0; i++)
			part->ctype[i] = (char)tolower((unsigned char)part->ctype[i]);
		if (strchr(part->ctype, '/') == NULL) {
			free(part->ctype);
			part->ctype = NULL;
		}
		part->charset = ct_param(ct, "charset");
	}
	if (part->ctype == NULL)
		part->ctype = xstrdup(digest ? "message/rfc822" : "text/plain");
	if (depth >= SV_MIME_MAX_DEPTH)
		return;
	if (strncmp(part->ctype, "multipart/", 10) == 0 && ct != NULL &&
	    (boundary = ct_param(ct, "boundary")) != NULL && *boundary != 0) {
		const char *b = p + body, *end = p + len, *start = NULL;
		size_t bl = strlen(boundary);
		bool dig = strcmp(part->ctype, "multipart/digest") == 0;

		m->parts[idx].multipart = true;
		/* each "--boundary" line begins a part; "--boundary--" ends them */
		while (b < end) {
			const char *nl = memchr(b, '\n', (size_t)(end - b));
			const char *le = nl != NULL ? nl + 1 : end;

			if ((size_t)(le - b) >= bl + 2 && b[0] == '-' && b[1] == '-' &&
			    memcmp(b + 2, boundary, bl) == 0) {
				if (start == NULL && m->parts[idx].prologue_len == 0 && b > p + body) {
					const char *pe = b;

					if (pe > p + body && pe[-1] == '\n')
						pe--;
					if (pe > p + body && pe[-1] == '\r')
						pe--;
					m->parts[idx].prologue_len = (size_t)(pe - (p + body));
				}
				if (start != NULL) {
					const char *pe = b;

					/* the line end before the boundary belongs to it */
					if (pe > start && pe[-1] == '\n')
						pe--;
					if (pe > start && pe[-1] == '\r')
						pe--;
					parse_part(m, start, (size_t)(pe - start), (int)idx, depth + 1, dig);
				}
				if ((size_t)(le - b) >= bl + 4 && b[bl + 2] == '-' && b[bl + 3] == '-') {
					start = NULL;
					m->parts[idx].epilogue = le;
					m->parts[idx].epilogue_len = (size_t)(end - le);
					break;
				}
				start = le;
			}
			b = le;
		}
		if (start != NULL && start < end)
			parse_part(m, start, (size_t)(end - start), (int)idx, depth + 1, dig);
	} else if (strcmp(part->ctype, "message/rfc822") == 0) {
		m->parts[idx].is_message = true;
		parse_part(m, p + body, len - body, (int)idx, depth + 1, false);
	}
	free(boundary);
}

struct sieve_msg *
sieve_msg_new(const char *data, size_t len)
{
	struct sieve_msg *m = xcalloc(1, sizeof(*m));

	m->data = xmalloc(len + 1);
	memcpy(m->data, data, len);
	m->data[len] = 0;
	m->len = len;
	parse_part(m, m->data, len, -1, 0, false);
	return m;
}

void
sieve_msg_free(struct sieve_msg **mp)
{
	struct sieve_msg *m = *mp;
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->nparts; i++) {
		for (j = 0; j < m->parts[i].nhdr; j++) {
			free(m->parts[i].hdr[j].name);
			free(m->parts[i].hdr[j].value);
			free(m->parts[i].hdr[j].decoded);
		}
		free(m->parts[i].hdr);
		free(m->parts[i].ctype);
		free(m->parts[i].charset);
	}
	free(m->parts);
	free(m->data);
	free(m);
	*mp = NULL;
}

const char *
sieve_msg_data(const struct sieve_msg *m, size_t *len_r)
{
	*len_r = m->len;
	return m->data;
}

const struct sv_header *
sv_msg_headers(const struct sieve_msg *m, size_t part, size_t *n_r)
{
	if (part >= m->nparts) {
		*n_r = 0;
		return NULL;
	}
	*n_r = m->parts[part].nhdr;
	return m->parts[part].hdr;
}

void
sv_part_decoded_body(const struct sieve_msg *m, size_t part, struct str *out)
{
	const struct sv_part *p = &m->parts[part];
	const char *cte = part_header(p, "content-transfer-encoding");
	struct str raw;

	str_init(&raw, p->body_len + 1);
	if (cte != NULL && strncasecmp(cte, "base64", 6) == 0)
		base64_decode_mime(&raw, p->body, p->body_len);
	else if (cte != NULL && strncasecmp(cte, "quoted-printable", 16) == 0)
		qp_decode(p->body, p->body_len, false, &raw);
	else
		str_append_n(&raw, p->body, p->body_len);
	to_utf8(p->charset, raw.s, raw.len, out);
	str_deinit(&raw);
}

void
sv_addr_list(const char *value, struct strvec *out)
{
	struct strvec all;
	size_t i;

	/* only well-formed addresses count (Pigeonhole drops the others:
	 * "plainaddress", "bob@"), so :count and :all see the same list */
	strvec_init(&all);
	(void)header_addresses(value, strlen(value), &all);
	for (i = 0; i < all.n; i++) {
		const char *at = strrchr(all.v[i], '@');

		const char *a = all.v[i];

		/* an RFC 822 source route ("@a,@b:user@c") is dropped */
		if (a[0] == '@' && strchr(a, ':') != NULL)
			a = strchr(a, ':') + 1;
		at = strrchr(a, '@');
		if (at != NULL && at != a && at[1] != 0)
			strvec_push(out, a);
	}
	strvec_deinit(&all);
}

bool
sv_addr_part(const char *addr, int part, const char *sep, struct str *out)
{
	const char *at = strrchr(addr, '@');
	size_t ll = at != NULL ? (size_t)(at - addr) : strlen(addr);
	const char *s;
	char *unq = NULL;

	str_reset(out);
	/* a quoted local part is compared without its quotes and escapes */
	if (part != SV_ADDR_ALL && part != SV_ADDR_DOMAIN && ll >= 2 && addr[0] == '"' &&
	    addr[ll - 1] == '"') {
		struct str u;
		size_t i;
		bool ok;

		str_init(&u, ll);
		for (i = 1; i + 1 < ll; i++) {
			if (addr[i] == '\\' && i + 2 < ll)
				i++;
			str_append_c(&u, addr[i]);
		}
		str_append(&u, at != NULL ? at : "");
		unq = str_export(&u);
		ok = sv_addr_part(unq, part, sep, out);
		free(unq);
		return ok;
	}
	switch (part) {
	case SV_ADDR_ALL:
		str_append(out, addr);
		return true;
	case SV_ADDR_LOCAL:
		str_append_n(out, addr, ll);
		return true;
	case SV_ADDR_DOMAIN:
		if (at != NULL)
			str_append(out, at + 1);
		return true;
	case SV_ADDR_USER: case SV_ADDR_DETAIL: {
		/* recipient_delimiter is a set of characters, any of which
		 * separates (Dovecot 2.3); the first one in the local part counts */
		size_t i;

		for (i = 0; i < ll; i++)
			if (strchr(sep, addr[i]) != NULL && addr[i] != 0)
				break;
		s = i < ll ? addr + i : NULL;
		if (part == SV_ADDR_USER) {
			str_append_n(out, addr, s != NULL ? (size_t)(s - addr) : ll);
			return true;
		}
		if (s == NULL)
			return false;
		s++;
		str_append_n(out, s, ll - (size_t)(s - addr));
		return true;
	}
	default:
		return false;
	}
}

/* sv_parse_date - an RFC 5322 date-time; *zone_r is the offset in minutes */
bool
sv_parse_date(const char *s, time_t *t_r, int *zone_r)
{
	static const char *const mons[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
		"aug", "sep", "oct", "nov", "dec" };
	struct tm tm;
	int day, year, hh, mm, ss = 0, i, zone = 0;
	char mon[4], zs[16];
	const char *p = s, *comma = strchr(s, ',');
	int n = 0;

	if (comma != NULL)
		p = comma + 1;
	memset(&tm, 0, sizeof(tm));
	zs[0] = 0;
	if (sscanf(p, " %d %3s %d %d:%d:%d %15s%n", &day, mon, &year, &hh, &mm, &ss, zs, &n) < 6 &&
	    sscanf(p, " %d %3s %d %d:%d %15s", &day, mon, &year, &hh, &mm, zs) < 5)
		return false;
	for (i = 0; i < 12; i++)
		if (strcasecmp(mon, mons[i]) == 0)
			break;
	if (i == 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 0 ||
	    year > 9999)
		return false;
	if (year < 50)
		year += 2000;
	else if (year < 1000)
		year += 1900;
	if ((zs[0] == '+' || zs[0] == '-') && strlen(zs) >= 5 && isdigit((unsigned char)zs[1])) {
		int v = atoi(zs + 1);

		zone = (v / 100) * 60 + v % 100;
		if (zs[0] == '-')
			zone = -zone;
	} else if (strcasecmp(zs, "EST") == 0) zone = -300;
	else if (strcasecmp(zs, "EDT") == 0) zone = -240;
	else if (strcasecmp(zs, "CST") == 0) zone = -360;
	else if (strcasecmp(zs, "CDT") == 0) zone = -300;
	else if (strcasecmp(zs, "MST") == 0) zone = -420;
	else if (strcasecmp(zs, "MDT") == 0) zone = -360;
	else if (strcasecmp(zs, "PST") == 0) zone = -480;
	else if (strcasecmp(zs, "PDT") == 0) zone = -420;
	tm.tm_mday = day;
	tm.tm_mon = i;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss > 59 ? 59 : ss;
	*t_r = timegm(&tm) - (time_t)zone * 60;
	*zone_r = zone;
	return true;
}

void
sv_uri_decode(const char *in, size_t len, struct str *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (in[i] == '%' && i + 2 < len &&
		    hexval((unsigned char)in[i + 1]) >= 0 && hexval((unsigned char)in[i + 2]) >= 0) {
			str_append_c(out, hexval((unsigned char)in[i + 1]) * 16 +
			    hexval((unsigned char)in[i + 2]));
			i += 2;
		} else
			str_append_c(out, in[i]);
	}
}

void
sv_html_to_text(struct str *s)
{
	struct str o;
	size_t i = 0;
	static const struct { const char *name; const char *text; } ents[] = {
		{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
		{ "nbsp", " " },
	};

	str_init(&o, s->len + 1);
	while (i < s->len) {
		char c = s->s[i];

		if (c == '<') {
			size_t j = i + 1;
			bool skip_body = s->len - j >= 6 && (strncasecmp(s->s + j, "script", 6) == 0 ||
			    strncasecmp(s->s + j, "style", 5) == 0);
			const char *close = skip_body ? (tolower((unsigned char)s->s[j + 1]) == 'c' ?
			    "</script" : "</style") : NULL;

			while (j < s->len && s->s[j] != '>')
				j++;
			i = j < s->len ? j + 1 : j;
			if (close != NULL) {
				const char *e = NULL;
				size_t k;

				for (k = i; k + strlen(close) <= s->len; k++)
					if (strncasecmp(s->s + k, close, strlen(close)) == 0) {
						e = s->s + k;
						break;
					}
				i = e != NULL ? (size_t)(e - s->s) : s->len;
			}
			continue;
		}
		if (c == '&') {
			size_t j = i + 1, k;
			bool done = false;

			while (j < s->len && j - i < 10 && s->s[j] != ';')
				j++;
			if (j < s->len && s->s[j] == ';') {
				if (s->s[i + 1] == '#') {
					unsigned long v = s->s[i + 2] == 'x' || s->s[i + 2] == 'X' ?
					    strtoul(s->s + i + 3, NULL, 16) : strtoul(s->s + i + 2, NULL, 10);

					if (v > 0 && v < 0x80) {
						str_append_c(&o, (int)v);
						done = true;
					}
				}
				for (k = 0; !done && k < sizeof(ents) / sizeof(ents[0]); k++)
					if (strlen(ents[k].name) == j - i - 1 &&
					    strncmp(s->s + i + 1, ents[k].name, j - i - 1) == 0) {
						str_append(&o, ents[k].text);
						done = true;
					}
				if (done) {
					i = j + 1;
					continue;
				}
			}
		}
		str_append_c(&o, c);
		i++;
	}
	str_reset(s);
	str_append_n(s, o.s, o.len);
	str_deinit(&o);
}
