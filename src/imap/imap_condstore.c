/* imap_condstore.c - see imap_condstore.h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_condstore.h"
#include "imap/imap_index.h"
#include "imap/imap_mbox_mbox.h"
#include "imap/imap_search.h"
#include "lib/mem.h"
#include "lib/str.h"

bool
imap_condstore_parse_modseq(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *e;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno != 0 || *e != '\0' || v > 0x7fffffffffffffffull)
		return false;
	*out = v;
	return true;
}

bool
imap_condstore_fetch_mods(const struct imap_arg *list, uint64_t *changedsince, bool *vanished)
{
	size_t i;

	*changedsince = 0;
	*vanished = false;
	if (list->type != IMAP_ARG_LIST || list->count == 0)
		return false;
	for (i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];

		if (a->type != IMAP_ARG_ATOM)
			return false;
		if (strcasecmp(a->str, "CHANGEDSINCE") == 0 && i + 1 < list->count &&
		    list->list[i + 1].type == IMAP_ARG_ATOM &&
		    imap_condstore_parse_modseq(list->list[i + 1].str, changedsince)) {
			i++;
		} else if (strcasecmp(a->str, "VANISHED") == 0) {
			*vanished = true;
		} else {
			return false;
		}
	}
	/* VANISHED needs CHANGEDSINCE (RFC 7162 3.2.6) */
	return !(*vanished && *changedsince == 0);
}

static void
range_flush(struct str *out, uint32_t lo, uint32_t hi)
{
	if (lo == 0)
		return;
	if (out->len > 0)
		str_append_c(out, ',');
	if (lo == hi)
		str_appendf(out, "%u", lo);
	else
		str_appendf(out, "%u:%u", lo, hi);
}

struct vanished_hist {
	bool		 exact;		/* the history covers everything after since */
	uint64_t	 since;
	struct imap_index_exp *r;	/* owned */
	size_t		 n;
};

/* vanished_add - [a, b] into the ranges being built (lo:hi pending) */
static void
vanished_add(struct str *out, uint32_t *lo, uint32_t *hi, uint32_t a, uint32_t b)
{
	if (*lo != 0 && a == *hi + 1) {
		*hi = b;
	} else {
		range_flush(out, *lo, *hi);
		*lo = a;
		*hi = b;
	}
}

/* vanished_gap - the missing UIDs [u, end] that the client must hear of:
 * all of them without a history that covers its modseq, else those the
 * history says went after it; appended to the ranges being built */
static void
vanished_gap(const struct vanished_hist *vh, uint32_t u, uint32_t end, struct str *out,
    uint32_t *lo, uint32_t *hi)
{
	size_t i;

	if (!vh->exact) {
		vanished_add(out, lo, hi, u, end);
		return;
	}
	for (i = 0; i < vh->n; i++) {
		const struct imap_index_exp *e = &vh->r[i];
		uint32_t a = e->lo > u ? e->lo : u, b = e->hi < end ? e->hi : end;

		if (e->lo > end)
			break;
		if (a <= b && e->modseq > vh->since)
			vanished_add(out, lo, hi, a, b);
	}
}

void
imap_condstore_vanished(struct imap_sess *s, const char *uidset, uint64_t since)
{
	struct imap_seqset set;
	struct str out;
	uint32_t u, lo = 0, hi = 0, top = s->snap.uidnext > 0 ? s->snap.uidnext - 1 : 0;
	size_t j, r;
	struct vanished_hist vh;
	uint64_t start;

	if (imap_seqset_parse(uidset != NULL ? uidset : "1:*", &set) != 0 || set.saved)
		return;
	/* the index's expunge history, when it reaches back to since */
	memset(&vh, 0, sizeof(vh));
	vh.since = since;
	if (!imap_mboxf_is(s->sel_dir) &&
	    imap_index_history(s->sel_dir, s->snap.uidvalidity, &start, &vh.r, &vh.n) == 0)
		vh.exact = since >= start;
	str_init(&out, 64);
	/* walk the set's ranges (bounded by UIDNEXT), skipping present UIDs */
	for (r = 0; r < set.n; r++) {
		uint32_t a = set.r[r].lo == UINT32_MAX ? top : set.r[r].lo;
		uint32_t b = set.r[r].hi == UINT32_MAX ? top : set.r[r].hi;

		if (a > b) {
			uint32_t t = a;

			a = b;
			b = t;
		}
		if (b > top)
			b = top;
		if (a == 0)
			a = 1;
		/* the gaps between present UIDs within [a, b] */
		u = a;
		j = 0;
		while (j < s->snap.n && s->snap.m[j].uid < a)
			j++;
		while (u <= b && u != 0) {
			uint32_t end = b;

			if (j < s->snap.n && s->snap.m[j].uid <= b) {
				if (s->snap.m[j].uid == u) {
					u++;
					j++;
					continue;
				}
				end = s->snap.m[j].uid - 1;
			}
			vanished_gap(&vh, u, end, &out, &lo, &hi);
			if (end == UINT32_MAX)
				break;
			u = end + 1;
		}
	}
	range_flush(&out, lo, hi);
	if (out.len > 0)
		pop3_conn_printf(s->conn, "* VANISHED (EARLIER) %s\r\n", out.s);
	str_deinit(&out);
	free(vh.r);
	imap_seqset_deinit(&set);
}

bool
imap_condstore_enable(struct imap_sess *s, const char *cap)
{
	if (strcasecmp(cap, "CONDSTORE") == 0) {
		s->condstore = true;
		return true;
	}
	if (strcasecmp(cap, "QRESYNC") == 0) {
		s->condstore = s->qresync = true;
		return true;
	}
	return false;
}

bool
imap_condstore_select(struct imap_sess *s, const struct imap_arg *list, struct imap_qresync *q,
    const char **error_r)
{
	const struct imap_arg *p;
	uint64_t v;
	char *e;

	memset(q, 0, sizeof(*q));
	*error_r = "Invalid arguments";
	if (list->type != IMAP_ARG_LIST || list->count == 0)
		return false;
	if (list->count == 1 && list->list[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(list->list[0].str, "CONDSTORE") == 0) {
		s->condstore = true;
		return true;
	}
	if (list->count != 2 || list->list[0].type != IMAP_ARG_ATOM ||
	    strcasecmp(list->list[0].str, "QRESYNC") != 0 || list->list[1].type != IMAP_ARG_LIST)
		return false;
	if (!s->qresync) {
		*error_r = "QRESYNC not enabled";
		return false;
	}
	p = &list->list[1];
	if (p->count < 2 || p->count > 4 || p->list[0].type != IMAP_ARG_ATOM ||
	    p->list[1].type != IMAP_ARG_ATOM)
		return false;
	v = strtoull(p->list[0].str, &e, 10);
	if (*e != '\0' || v == 0 || v > UINT32_MAX)
		return false;
	q->uidvalidity = (uint32_t)v;
	if (!imap_condstore_parse_modseq(p->list[1].str, &q->modseq))
		return false;
	if (p->count >= 3) {
		struct imap_seqset set;

		/* seq-match data (a list) is accepted and not needed: the
		 * changes are computed from modseqs alone */
		if (p->list[2].type == IMAP_ARG_ATOM) {
			if (imap_seqset_parse(p->list[2].str, &set) != 0 || set.saved)
				return false;
			imap_seqset_deinit(&set);
			q->known = xstrdup(p->list[2].str);
		} else if (p->list[2].type != IMAP_ARG_LIST || p->count == 4) {
			return false;
		}
	}
	q->set = true;
	return true;
}

bool
imap_condstore_nomodseq(const struct imap_sess *s, const char *cmd, struct str *reply)
{
	if (!s->selected || !s->nomodseq)
		return false;
	str_appendf(reply, "Error in IMAP command %s: Mailbox has no permanent modsequences",
	    cmd);
	return true;
}

void
imap_condstore_select_done(struct imap_sess *s, struct imap_qresync *q)
{
	size_t i;

	/* no modseqs (an mbox whose cache cannot be written): RFC 7162
	 * 3.1.2.2's NOMODSEQ, as Dovecot says it */
	if (s->condstore && s->nomodseq)
		pop3_conn_printf(s->conn, "* OK [NOMODSEQ] No permanent modsequences\r\n");
	else if (s->condstore)
		pop3_conn_printf(s->conn, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)s->snap.highestmodseq);
	if (q->set && q->uidvalidity == s->snap.uidvalidity) {
		struct str fl;

		imap_condstore_vanished(s, q->known, q->modseq);
		str_init(&fl, 64);
		for (i = 0; i < s->snap.n; i++) {
			const struct imap_msg *m = &s->snap.m[i];

			if (m->modseq <= q->modseq)
				continue;
			str_reset(&fl);
			imap_sess_flags(s, m, &fl);
			pop3_conn_printf(s->conn, "* %zu FETCH (UID %u FLAGS %s MODSEQ (%llu))\r\n", i + 1,
			    m->uid, fl.s, (unsigned long long)m->modseq);
		}
		str_deinit(&fl);
	}
	free(q->known);
	q->known = NULL;
}
