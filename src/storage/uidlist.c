/* uidlist.c - Dovecot's dovecot-uidlist file: parsing and writing.
 *
 * Version 3 (Dovecot 2.x): a header "3 V<uidvalidity> N<nextuid>
 * G<guid>" (other header keys are ignored), then one line per message:
 * "UID [Xvalue ...] :basename". Version 1 (Dovecot 1.0): "1 <uidvalidity>
 * <nextuid>" then "UID basename". Only W (virtual size) of the extension
 * keys is kept; Dovecot recomputes the others.
 * Tests: tests/unit/storage/test_uidlist.c */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "storage/mailbox.h"

void
uidlist_init(struct uidlist *u)
{
	memset(u, 0, sizeof(*u));
	u->version = 3;
	u->next_uid = 1;
}

void
uidlist_deinit(struct uidlist *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->e[i].base);
	free(u->e);
	memset(u, 0, sizeof(*u));
}

size_t
maildir_basename_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL ? (size_t)(colon - name) : strlen(name);
}

/* uidlist_num - a decimal uint32 at *pp, advancing it; false if none */
static bool
uidlist_num(const char **pp, const char *end, uint32_t *r)
{
	const char *p = *pp;
	unsigned long long v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return false;
	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > UINT32_MAX)
			return false;
		p++;
	}
	*pp = p;
	*r = (uint32_t)v;
	return true;
}

static void
uidlist_push(struct uidlist *u, uint32_t uid, size_t vsize, const char *base, size_t len)
{
	u->e = xreallocarray(u->e, u->n + 1, sizeof(*u->e));
	u->e[u->n].uid = uid;
	u->e[u->n].vsize = vsize;
	u->e[u->n].base = xstrndup(base, len);
	u->n++;
}

static int
uidlist_parse_header(struct uidlist *u, const char *p, const char *end)
{
	uint32_t v;

	if (end - p >= 2 && p[0] == '1' && p[1] == ' ') {
		p += 2;
		u->version = 1;
		if (!uidlist_num(&p, end, &u->uidvalidity) || p >= end || *p++ != ' ' ||
		    !uidlist_num(&p, end, &u->next_uid))
			return -1;
		return 0;
	}
	if (end - p < 2 || p[0] != '3' || p[1] != ' ')
		return -1;
	u->version = 3;
	p += 2;
	while (p < end) {
		char key = *p++;
		const char *val = p;

		while (p < end && *p != ' ')
			p++;
		if (key == 'V' && !uidlist_num(&val, p, &u->uidvalidity))
			return -1;
		if (key == 'N' && !uidlist_num(&val, p, &u->next_uid))
			return -1;
		if (key == 'G' && p - val < (long)sizeof(u->guid)) {
			memcpy(u->guid, val, (size_t)(p - val));
			u->guid[p - val] = '\0';
		}
		while (p < end && *p == ' ')
			p++;
	}
	(void)v;
	return u->uidvalidity == 0 ? -1 : 0;
}

int
uidlist_parse(struct uidlist *u, const char *data, size_t len, const char **error_r)
{
	const char *p = data, *end = data + len, *eol;
	uint32_t uid, last = 0;

	eol = memchr(p, '\n', len);
	if (eol == NULL || uidlist_parse_header(u, p, eol) < 0) {
		*error_r = "broken header";
		return -1;
	}
	for (p = eol + 1; p < end; p = eol + 1) {
		const char *q = p, *name;
		size_t vsize = 0;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;	/* a last line without LF: Dovecot reads it */
		/* UIDs must grow; a line that breaks the order is skipped, and the
		 * file is rebuilt from the rest (Dovecot logs and rebuilds) */
		if (!uidlist_num(&q, eol, &uid) || uid <= last || q >= eol || *q != ' ')
			continue;
		if (u->version == 1) {
			name = q + 1;
		} else {
			name = NULL;
			while (q < eol && *q == ' ') {
				q++;
				if (q < eol && *q == ':') {
					name = q + 1;
					break;
				}
				if (q < eol && *q == 'W') {
					const char *w = q + 1;
					uint32_t ws;

					if (uidlist_num(&w, eol, &ws))
						vsize = ws;
				}
				while (q < eol && *q != ' ')
					q++;
			}
			if (name == NULL)
				continue;
		}
		if (name >= eol || memchr(name, '/', (size_t)(eol - name)) != NULL)
			continue;
		uidlist_push(u, uid, vsize, name, (size_t)(eol - name));
		last = uid;
		if (uid >= u->next_uid)
			u->next_uid = uid + 1;
	}
	return 0;
}

void
uidlist_format(const struct uidlist *u, struct str *out)
{
	size_t i;

	str_appendf(out, "3 V%u N%u", u->uidvalidity, u->next_uid);
	if (u->guid[0] != '\0')
		str_appendf(out, " G%s", u->guid);
	str_append_c(out, '\n');
	for (i = 0; i < u->n; i++) {
		str_appendf(out, "%u", u->e[i].uid);
		if (u->e[i].vsize > 0)
			str_appendf(out, " W%zu", u->e[i].vsize);
		str_appendf(out, " :%s\n", u->e[i].base);
	}
}

uint32_t
uidlist_add(struct uidlist *u, const char *base, size_t vsize)
{
	uint32_t uid = u->next_uid++;

	uidlist_push(u, uid, vsize, base, strlen(base));
	return uid;
}
