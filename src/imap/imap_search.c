/* imap_search.c - see imap_search.h */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_mime.h"
#include "imap/imap_search.h"
#include "lib/mem.h"

enum skey {
	SK_ALL, SK_AND, SK_OR, SK_NOT, SK_SEQ, SK_UID, SK_FLAG, SK_UNFLAG, SK_KEYWORD,
	SK_UNKEYWORD, SK_LARGER, SK_SMALLER, SK_BEFORE, SK_ON, SK_SINCE, SK_SENTBEFORE,
	SK_SENTON, SK_SENTSINCE, SK_HEADER, SK_BODY, SK_TEXT, SK_NEW, SK_OLD,
	SK_MODSEQ,
};

struct imap_search {
	enum skey	 key;
	struct imap_search **sub;	/* owned: AND's list, OR's two, NOT's one */
	size_t		 nsub;
	char		*name, *value;	/* HEADER name/value, KEYWORD, BODY, TEXT */
	uint64_t	 num;
	unsigned	 flag;
	time_t		 date;
	struct imap_seqset set;
};

#define SEARCH_MAX_DEPTH	100

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	"Aug", "Sep", "Oct", "Nov", "Dec" };

static time_t
days_from_civil(long y, unsigned m, unsigned d)
{
	/* Howard Hinnant's days_from_civil */
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (time_t)(era * 146097 + (long)doe - 719468) * 86400;
}

static int
month_of(const char *s)
{
	int i;

	for (i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return i + 1;
	return 0;
}

time_t
imap_date_parse(const char *s)
{
	char *e;
	long d, y;
	int m;

	d = strtol(s, &e, 10);
	if (e == s || d < 1 || d > 31 || *e != '-' || e - s > 2)
		return -1;
	m = month_of(e + 1);
	if (m == 0 || e[4] != '-')
		return -1;
	s = e + 5;
	y = strtol(s, &e, 10);
	if (e - s != 4 || *e != '\0')
		return -1;
	return days_from_civil(y, (unsigned)m, (unsigned)d);
}

time_t
imap_rfc822_date(const char *s)
{
	long d, y;
	int m;
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (isalpha((unsigned char)*s)) {
		const char *c = strchr(s, ',');

		if (c == NULL)
			return -1;
		s = c + 1;
	}
	d = strtol(s, &e, 10);
	if (e == s || d < 1 || d > 31)
		return -1;
	s = e;
	while (*s == ' ')
		s++;
	if ((m = month_of(s)) == 0)
		return -1;
	s += 3;
	y = strtol(s, &e, 10);
	if (e == s)
		return -1;
	if (y < 50)
		y += 2000;
	else if (y < 1000)
		y += 1900;
	return days_from_civil(y, (unsigned)m, (unsigned)d);
}

static struct imap_search *
node(enum skey k)
{
	struct imap_search *s = xcalloc(1, sizeof(*s));

	s->key = k;
	return s;
}

void
imap_search_free(struct imap_search **sp)
{
	struct imap_search *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nsub; i++)
		imap_search_free(&s->sub[i]);
	free(s->sub);
	free(s->name);
	free(s->value);
	imap_seqset_deinit(&s->set);
	free(s);
	*sp = NULL;
}

static void
add_sub(struct imap_search *p, struct imap_search *c)
{
	p->sub = xreallocarray(p->sub, p->nsub + 1, sizeof(*p->sub));
	p->sub[p->nsub++] = c;
}

struct sparse {
	const struct imap_arg *a;
	size_t	 n, i;
	const char *error;
};

static const char *
next_str(struct sparse *p)
{
	if (p->i >= p->n || !imap_arg_is_astring(&p->a[p->i])) {
		p->error = "Missing argument";
		return NULL;
	}
	return p->a[p->i++].str;
}

static struct imap_search *parse_key(struct sparse *p, unsigned depth);

static struct imap_search *
parse_list(const struct imap_arg *a, size_t n, unsigned depth, const char **error_r)
{
	struct sparse p = { a, n, 0, NULL };
	struct imap_search *and = node(SK_AND);

	if (n == 0) {
		*error_r = "Missing argument";
		imap_search_free(&and);
		return NULL;
	}
	while (p.i < p.n) {
		struct imap_search *k = parse_key(&p, depth);

		if (k == NULL) {
			*error_r = p.error;
			imap_search_free(&and);
			return NULL;
		}
		add_sub(and, k);
	}
	return and;
}

static struct imap_search *
parse_key(struct sparse *p, unsigned depth)
{
	static const struct { const char *name; enum skey k; unsigned flag; } simple[] = {
		{ "ALL", SK_ALL, 0 }, { "ANSWERED", SK_FLAG, IMAP_FLAG_ANSWERED },
		{ "DELETED", SK_FLAG, IMAP_FLAG_DELETED }, { "DRAFT", SK_FLAG, IMAP_FLAG_DRAFT },
		{ "FLAGGED", SK_FLAG, IMAP_FLAG_FLAGGED }, { "RECENT", SK_FLAG, IMAP_FLAG_RECENT },
		{ "SEEN", SK_FLAG, IMAP_FLAG_SEEN }, { "UNANSWERED", SK_UNFLAG, IMAP_FLAG_ANSWERED },
		{ "UNDELETED", SK_UNFLAG, IMAP_FLAG_DELETED },
		{ "UNDRAFT", SK_UNFLAG, IMAP_FLAG_DRAFT },
		{ "UNFLAGGED", SK_UNFLAG, IMAP_FLAG_FLAGGED },
		{ "UNSEEN", SK_UNFLAG, IMAP_FLAG_SEEN }, { "NEW", SK_NEW, 0 }, { "OLD", SK_OLD, 0 },
	};
	static const struct { const char *name; enum skey k; const char *header; } strs[] = {
		{ "BCC", SK_HEADER, "Bcc" }, { "CC", SK_HEADER, "Cc" }, { "FROM", SK_HEADER, "From" },
		{ "SUBJECT", SK_HEADER, "Subject" }, { "TO", SK_HEADER, "To" },
		{ "BODY", SK_BODY, NULL }, { "TEXT", SK_TEXT, NULL },
		{ "KEYWORD", SK_KEYWORD, NULL }, { "UNKEYWORD", SK_UNKEYWORD, NULL },
	};
	static const struct { const char *name; enum skey k; } dates[] = {
		{ "BEFORE", SK_BEFORE }, { "ON", SK_ON }, { "SINCE", SK_SINCE },
		{ "SENTBEFORE", SK_SENTBEFORE }, { "SENTON", SK_SENTON },
		{ "SENTSINCE", SK_SENTSINCE },
	};
	const struct imap_arg *a;
	struct imap_search *s = NULL;
	const char *w, *v;
	size_t i;

	if (depth > SEARCH_MAX_DEPTH) {
		p->error = "Too deep nesting";
		return NULL;
	}
	if (p->i >= p->n) {
		p->error = "Missing argument";
		return NULL;
	}
	a = &p->a[p->i++];
	if (a->type == IMAP_ARG_LIST) {
		const char *err = "Missing argument";

		s = parse_list(a->list, a->count, depth + 1, &err);
		if (s == NULL)
			p->error = err;
		return s;
	}
	if (a->type != IMAP_ARG_ATOM) {
		p->error = "Unknown argument";
		return NULL;
	}
	w = a->str;
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcasecmp(w, simple[i].name) == 0) {
			s = node(simple[i].k);
			s->flag = simple[i].flag;
			return s;
		}
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcasecmp(w, strs[i].name) == 0) {
			if ((v = next_str(p)) == NULL)
				return NULL;
			s = node(strs[i].k);
			s->name = strs[i].header != NULL ? xstrdup(strs[i].header) : NULL;
			s->value = xstrdup(v);
			if (strs[i].k == SK_KEYWORD || strs[i].k == SK_UNKEYWORD) {
				s->name = s->value;
				s->value = NULL;
			}
			return s;
		}
	}
	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		if (strcasecmp(w, dates[i].name) == 0) {
			if ((v = next_str(p)) == NULL)
				return NULL;
			s = node(dates[i].k);
			if ((s->date = imap_date_parse(v)) == (time_t)-1) {
				p->error = "Invalid search date parameter";
				imap_search_free(&s);
			}
			return s;
		}
	}
	if (strcasecmp(w, "HEADER") == 0) {
		const char *name = next_str(p);

		if (name == NULL || (v = next_str(p)) == NULL)
			return NULL;
		s = node(SK_HEADER);
		s->name = xstrdup(name);
		s->value = xstrdup(v);
		return s;
	}
	if (strcasecmp(w, "LARGER") == 0 || strcasecmp(w, "SMALLER") == 0) {
		char *e;

		if ((v = next_str(p)) == NULL)
			return NULL;
		s = node(toupper((unsigned char)w[0]) == 'L' ? SK_LARGER : SK_SMALLER);
		s->num = strtoull(v, &e, 10);
		if (*v == '\0' || *e != '\0' || !isdigit((unsigned char)*v)) {
			p->error = "Invalid size";
			imap_search_free(&s);
		}
		return s;
	}
	if (strcasecmp(w, "NOT") == 0) {
		struct imap_search *k = parse_key(p, depth + 1);

		if (k == NULL)
			return NULL;
		s = node(SK_NOT);
		add_sub(s, k);
		return s;
	}
	if (strcasecmp(w, "OR") == 0) {
		struct imap_search *k1 = parse_key(p, depth + 1), *k2;

		if (k1 == NULL)
			return NULL;
		if ((k2 = parse_key(p, depth + 1)) == NULL) {
			imap_search_free(&k1);
			return NULL;
		}
		s = node(SK_OR);
		add_sub(s, k1);
		add_sub(s, k2);
		return s;
	}
	if (strcasecmp(w, "MODSEQ") == 0) {
		/* RFC 7162: MODSEQ ["/flags/\\Seen" all|priv|shared] n; the
		 * entry is accepted, modseqs are per message here */
		char *e;

		if ((v = next_str(p)) == NULL)
			return NULL;
		if (*v == '"' || *v == '/') {
			if (next_str(p) == NULL || (v = next_str(p)) == NULL)
				return NULL;
		}
		s = node(SK_MODSEQ);
		s->num = strtoull(v, &e, 10);
		if (*v == '\0' || *e != '\0' || !isdigit((unsigned char)*v)) {
			p->error = "Invalid MODSEQ";
			imap_search_free(&s);
		}
		return s;
	}
	if (strcasecmp(w, "UID") == 0) {
		if ((v = next_str(p)) == NULL)
			return NULL;
		s = node(SK_UID);
		if (imap_seqset_parse(v, &s->set) != 0) {
			p->error = "Invalid uidset";
			imap_search_free(&s);
		}
		return s;
	}
	s = node(SK_SEQ);
	if (imap_seqset_parse(w, &s->set) != 0) {
		/* the text names the argument, as Dovecot's does; one search
		 * is parsed at a time in a session process */
		static char buf[96];

		snprintf(buf, sizeof(buf), "Unknown argument %.60s", w);
		p->error = buf;
		imap_search_free(&s);
	}
	return s;
}

struct imap_search *
imap_search_parse(const struct imap_arg *args, size_t n, const char **error_r)
{
	*error_r = "Missing argument";
	return parse_list(args, n, 0, error_r);
}

static bool
contains_ci(const char *hay, size_t hlen, const char *needle)
{
	size_t nl = strlen(needle), i;

	if (nl == 0)
		return true;
	for (i = 0; i + nl <= hlen; i++)
		if (strncasecmp(hay + i, needle, nl) == 0)
			return true;
	return false;
}

static bool
has_keyword(const struct imap_search_msg *m, const char *k)
{
	size_t i;

	for (i = 0; i < m->nkeywords; i++)
		if (strcasecmp(m->keywords[i], k) == 0)
			return true;
	return false;
}

static bool
load(struct imap_search_msg *m)
{
	if (m->text == NULL && m->load != NULL)
		(void)m->load(m, m->ctx);
	return m->text != NULL;
}

static time_t
day_of(time_t t)
{
	return t - ((t % 86400) + 86400) % 86400;
}

/* header_fields - the message's fields called name as
 * mime_header_fields gives them (then the blank line) into out: from
 * m->fields when it can tell, else from the text; false when the
 * message cannot be read */
static bool
header_fields(struct imap_search_msg *m, const char *name, struct str *out)
{
	const char *names[1] = { name };

	str_reset(out);
	if (m->fields != NULL && m->fields(m, name, out, m->ctx) == 0)
		return true;
	if (!load(m))
		return false;
	str_reset(out);
	mime_header_fields(out, m->text, mime_header_len(m->text, m->len), names, 1, false);
	return true;
}

static bool
sent_date(struct imap_search_msg *m, time_t *d_r)
{
	struct str v, f;
	bool ok = false;

	str_init(&f, 128);
	str_init(&v, 64);
	/* the first Date field of those is the header's first */
	if (header_fields(m, "Date", &f) && mime_header_get(f.s, f.len, "Date", &v)) {
		*d_r = imap_rfc822_date(v.s);
		ok = *d_r != (time_t)-1;
	}
	str_deinit(&v);
	str_deinit(&f);
	return ok;
}

bool
imap_search_uses_saved(const struct imap_search *s)
{
	size_t i;

	if ((s->key == SK_SEQ || s->key == SK_UID) && s->set.saved)
		return true;
	for (i = 0; i < s->nsub; i++)
		if (imap_search_uses_saved(s->sub[i]))
			return true;
	return false;
}

bool
imap_search_uses_headers(const struct imap_search *s)
{
	size_t i;

	if (s->key == SK_HEADER || s->key == SK_SENTBEFORE || s->key == SK_SENTON ||
	    s->key == SK_SENTSINCE)
		return true;
	for (i = 0; i < s->nsub; i++)
		if (imap_search_uses_headers(s->sub[i]))
			return true;
	return false;
}

bool
imap_search_uses_modseq(const struct imap_search *s)
{
	size_t i;

	if (s->key == SK_MODSEQ)
		return true;
	for (i = 0; i < s->nsub; i++)
		if (imap_search_uses_modseq(s->sub[i]))
			return true;
	return false;
}

bool
imap_search_match(const struct imap_search *s, struct imap_search_msg *m)
{
	size_t i;
	time_t d;

	switch (s->key) {
	case SK_ALL:
		return true;
	case SK_AND:
		for (i = 0; i < s->nsub; i++)
			if (!imap_search_match(s->sub[i], m))
				return false;
		return true;
	case SK_OR:
		return imap_search_match(s->sub[0], m) || imap_search_match(s->sub[1], m);
	case SK_NOT:
		return !imap_search_match(s->sub[0], m);
	case SK_SEQ:
		return s->set.saved ? m->saved : imap_seqset_contains(&s->set, m->seq, m->max_seq);
	case SK_UID:
		return s->set.saved ? m->saved : imap_seqset_contains(&s->set, m->uid, m->max_uid);
	case SK_FLAG:
		return (m->flags & s->flag) != 0;
	case SK_UNFLAG:
		return (m->flags & s->flag) == 0;
	case SK_NEW:
		return (m->flags & IMAP_FLAG_RECENT) != 0 && (m->flags & IMAP_FLAG_SEEN) == 0;
	case SK_OLD:
		return (m->flags & IMAP_FLAG_RECENT) == 0;
	case SK_KEYWORD:
		return has_keyword(m, s->name);
	case SK_UNKEYWORD:
		return !has_keyword(m, s->name);
	case SK_MODSEQ:
		return m->modseq >= s->num;
	case SK_LARGER:
		return m->size > s->num;
	case SK_SMALLER:
		return m->size < s->num;
	case SK_BEFORE:
		return day_of(m->internaldate) < s->date;
	case SK_ON:
		return day_of(m->internaldate) == s->date;
	case SK_SINCE:
		return day_of(m->internaldate) >= s->date;
	case SK_SENTBEFORE:
		return sent_date(m, &d) && d < s->date;
	case SK_SENTON:
		return sent_date(m, &d) && d == s->date;
	case SK_SENTSINCE:
		return sent_date(m, &d) && d >= s->date;
	case SK_HEADER: {
		struct str fields;
		bool found = false;

		/* every field of that name counts: matched from the first
		 * field's colon on, over the raw (not decoded) fields */
		str_init(&fields, 256);
		if (header_fields(m, s->name, &fields) && fields.len > 2) {
			const char *colon = memchr(fields.s, ':', fields.len);

			found = *s->value == '\0' || (colon != NULL &&
			    contains_ci(colon, fields.len - (size_t)(colon - fields.s), s->value));
		}
		str_deinit(&fields);
		return found;
	}
	case SK_BODY: {
		struct mime_message mm;
		bool found;

		if (!load(m))
			return false;
		mime_parse(&mm, m->text, m->len);
		found = contains_ci(m->text + mm.root.body_off, mm.root.body_len, s->value);
		mime_free(&mm);
		return found;
	}
	case SK_TEXT:
		return load(m) && contains_ci(m->text, m->len, s->value);
	}
	return false;
}
