/* mbox_meta.c - Dovecot's IMAP headers in an mbox message (mbox_meta.h) */
#include "storage/mbox_meta.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"

static const char *const ours[] = {
	"X-IMAPbase", "X-IMAP", "X-UID", "Status", "X-Status", "X-Keywords",
};

bool
mbox_meta_is_ours(const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t i, nl;

	if (colon == NULL)
		return false;
	nl = (size_t)(colon - line);
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strlen(ours[i]) == nl && strncasecmp(line, ours[i], nl) == 0)
			return true;
	return false;
}

/* number - a decimal uint32 at *p (spaces skipped first); false when
 * there is none or it overflows */
static bool
number(const char **p, const char *end, uint32_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
		s++;
	}
	*p = s;
	*out = (uint32_t)v;
	return true;
}

/* ctl_free - no control characters (NUL included): a keyword is an
 * IMAP atom, and a NUL would cut it short */
static bool
ctl_free(const char *p, const char *end)
{
	for (; p < end; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* words - the keywords in p..end (whitespace separated; words with
 * control characters and repeats left out) */
static void
words(const char *p, const char *end, char **out, size_t *n)
{
	while (p < end) {
		const char *w;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		w = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		if (p > w && *n < MBOX_META_MAX_KEYWORDS && ctl_free(w, p)) {
			size_t i;
			char *k = xstrndup(w, (size_t)(p - w));

			for (i = 0; i < *n && strcmp(out[i], k) != 0; i++)
				;
			if (i < *n)
				free(k);	/* listed twice */
			else
				out[(*n)++] = k;
		}
	}
}

/* one - a header (value from v to end, folding included) */
static void
one(struct mbox_meta *m, const char *name, size_t nl, const char *v, const char *end)
{
#define IS(s) (nl == sizeof(s) - 1 && strncasecmp(name, s, nl) == 0)
	uint32_t a, b;
	const char *p = v;

	if (IS("X-UID")) {
		if (number(&p, end, &a) && a != 0)
			m->uid = a;
	} else if ((IS("X-IMAPbase") || IS("X-IMAP")) && !m->has_base) {
		if (IS("X-IMAP"))
			m->pseudo = true;
		if (number(&p, end, &a) && number(&p, end, &b)) {
			m->has_base = true;
			m->uidvalidity = a;
			m->last_uid = b;
			words(p, end, m->base_keywords, &m->nbase_keywords);
		}
	} else if (IS("Status")) {
		for (; p < end; p++)
			m->flags |= *p == 'R' ? MBOX_SEEN : *p == 'O' ? MBOX_OLD : 0;
	} else if (IS("X-Status")) {
		for (; p < end; p++)
			m->flags |= *p == 'A' ? MBOX_ANSWERED : *p == 'F' ? MBOX_FLAGGED :
			    *p == 'T' ? MBOX_DRAFT : *p == 'D' ? MBOX_DELETED : 0;
	} else if (IS("X-Keywords")) {
		words(p, end, m->keywords, &m->nkeywords);
	}
#undef IS
}

void
mbox_meta_parse(const char *msg, size_t len, struct mbox_meta *out)
{
	const char *p = msg, *end = msg + len;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *line = p, *colon, *vend;

		/* the blank line ends the header */
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			p += *p == '\r' ? 2 : 1;
			break;
		}
		/* the header field with its continuation lines */
		for (vend = p;;) {
			const char *nl = memchr(vend, '\n', (size_t)(end - vend));

			if (nl == NULL) {
				vend = end;
				break;
			}
			vend = nl + 1;
			if (vend == end || (*vend != ' ' && *vend != '\t'))
				break;
		}
		p = vend;
		colon = memchr(line, ':', (size_t)(vend - line));
		if (colon == NULL || colon == line)
			continue;
		one(out, line, (size_t)(colon - line), colon + 1, vend);
	}
	out->header_len = (size_t)(p - msg);
}

void
mbox_meta_free(struct mbox_meta *m)
{
	size_t i;

	for (i = 0; i < m->nkeywords; i++)
		free(m->keywords[i]);
	for (i = 0; i < m->nbase_keywords; i++)
		free(m->base_keywords[i]);
	memset(m, 0, sizeof(*m));
}

void
mbox_meta_format(const struct mbox_meta *m, bool first, struct str *out)
{
	size_t i;

	if (first) {
		/* the last UID zero-padded to 10 digits, as Dovecot writes it:
		 * it can then be rewritten in place */
		str_appendf(out, "X-IMAPbase: %u %010u", m->uidvalidity, m->last_uid);
		for (i = 0; i < m->nbase_keywords; i++)
			str_appendf(out, " %s", m->base_keywords[i]);
		str_append_c(out, '\n');
	}
	if (m->uid != 0)
		str_appendf(out, "X-UID: %u\n", m->uid);
	if (m->flags & (MBOX_SEEN | MBOX_OLD)) {
		str_append(out, "Status: ");
		if (m->flags & MBOX_SEEN)
			str_append_c(out, 'R');
		if (m->flags & MBOX_OLD)
			str_append_c(out, 'O');
		str_append_c(out, '\n');
	}
	if (m->flags & (MBOX_ANSWERED | MBOX_FLAGGED | MBOX_DRAFT | MBOX_DELETED)) {
		str_append(out, "X-Status: ");
		if (m->flags & MBOX_ANSWERED)
			str_append_c(out, 'A');
		if (m->flags & MBOX_FLAGGED)
			str_append_c(out, 'F');
		if (m->flags & MBOX_DRAFT)
			str_append_c(out, 'T');
		if (m->flags & MBOX_DELETED)
			str_append_c(out, 'D');
		str_append_c(out, '\n');
	}
	if (m->nkeywords > 0) {
		str_append(out, "X-Keywords:");
		for (i = 0; i < m->nkeywords; i++)
			str_appendf(out, " %s", m->keywords[i]);
		str_append_c(out, '\n');
	}
}

void
mbox_meta_pseudo(uint32_t uidvalidity, uint32_t last_uid, char *const *keywords,
    size_t nkeywords, long long now, struct str *out)
{
	char host[256], from[64], date[64];
	time_t t = (time_t)now;
	struct tm tm;
	size_t i;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	gmtime_r(&t, &tm);
	strftime(from, sizeof(from), "%a %b %e %H:%M:%S %Y", &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* the subject is what mail readers know to hide; X-IMAP (not
	 * X-IMAPbase) is what marks it for Dovecot and for us */
	str_appendf(out, "From MAILER_DAEMON  %s\n"
	    "Date: %s\n"
	    "From: Mail System Internal Data <MAILER-DAEMON@%s>\n"
	    "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
	    "Message-ID: <%u@%s>\n"
	    "X-IMAP: %u %010u", from, date, host, uidvalidity, host, uidvalidity, last_uid);
	for (i = 0; i < nkeywords; i++)
		str_appendf(out, " %s", keywords[i]);
	str_append(out, "\nStatus: RO\n\n"
	    "This message is not mail: it keeps this folder's IMAP numbers (UIDVALIDITY,\n"
	    "the last UID given and the keyword names) while the folder has no other\n"
	    "messages. Mail programs hide it. Deleting it makes the folder start its\n"
	    "numbers again, and mail clients then download every message anew.\n\n");
}
