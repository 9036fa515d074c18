/* imap_fetch.c - the selected-state commands that work on messages:
 * FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE and their UID forms (UIDPLUS:
 * COPYUID, UID EXPUNGE). See imap_mail-private.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_condstore.h"
#include "imap/imap_hdr_cache.h"
#include "imap/imap_index.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_mbox_mbox.h"
#include "imap/imap_ns.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_binary.h"
#include "imap/imap_esearch.h"
#include "imap/imap_mime.h"
#include "imap/imap_quota.h"
#include "imap/imap_search.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"

/* resolve - the indexes (ascending) of the messages a set names; -1 when a
 * sequence number is out of range (Dovecot's "Invalid messageset") */
/* saved_has - uid is in the last SEARCH ... SAVE result (ascending UIDs) */
static bool
saved_has(const struct imap_sess *s, uint32_t uid)
{
	size_t lo = 0, hi = s->nsaved;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->saved[mid] == uid)
			return true;
		if (s->saved[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* current - m as its file is named now, when another session or Dovecot
 * renamed it (new flags) after this session's snapshot: *cur gets the new
 * name (the caller frees it) and the flags it says. The snapshot keeps
 * the old name and flags, so that the session's next sync reports the
 * change. false when there is no such file (expunged). Without it FETCH
 * showed nothing for such a message, COPY failed with EXPUNGEISSUED and
 * MOVE left the original behind. */
static bool
current(const struct imap_sess *s, const struct imap_msg *m, struct imap_msg *cur)
{
	*cur = *m;
	cur->name_borrowed = true;	/* m's own: not freed by the refresh */
	return imap_mbox_refresh_name(s->sel_dir, cur) == 0;
}

/* read_msg - the message's bytes, from its current name if need be */
static int
read_msg(const struct imap_sess *s, const struct imap_msg *m, struct str *out)
{
	struct imap_msg cur;
	int r;

	if (imap_mbox_read(s->sel_dir, m, out) == 0)
		return 0;
	if (errno != ENOENT || !current(s, m, &cur))
		return -1;
	r = imap_mbox_read(s->sel_dir, &cur, out);
	free(cur.name);
	return r;
}

static int
resolve(struct imap_sess *s, const char *set_text, bool uid, size_t **idx_r, size_t *n_r)
{
	struct imap_seqset set;
	size_t i, n = 0;
	size_t *idx;
	uint32_t max;

	*idx_r = NULL;
	*n_r = 0;
	if (imap_seqset_parse(set_text, &set) != 0)
		return -1;
	idx = xcalloc(s->snap.n + 1, sizeof(*idx));
	if (set.saved) {
		for (i = 0; i < s->snap.n; i++)
			if (saved_has(s, s->snap.m[i].uid))
				idx[n++] = i;
		*idx_r = idx;
		*n_r = n;
		return 0;
	}
	if (!uid) {
		for (i = 0; i < set.n; i++) {
			if ((set.r[i].hi != UINT32_MAX && set.r[i].hi > s->snap.n) ||
			    (set.r[i].lo != UINT32_MAX && set.r[i].lo > s->snap.n) || s->snap.n == 0) {
				imap_seqset_deinit(&set);
				free(idx);
				return -1;
			}
		}
	}
	max = uid ? (s->snap.n > 0 ? s->snap.m[s->snap.n - 1].uid : 0) : (uint32_t)s->snap.n;
	for (i = 0; i < s->snap.n; i++)
		if (imap_seqset_contains(&set, uid ? s->snap.m[i].uid : (uint32_t)(i + 1), max))
			idx[n++] = i;
	imap_seqset_deinit(&set);
	*idx_r = idx;
	*n_r = n;
	return 0;
}

/* --- FETCH --- */

enum fitem {
	FI_FLAGS, FI_INTERNALDATE, FI_SIZE, FI_UID, FI_ENVELOPE, FI_BODYSTRUCTURE, FI_BODY,
	FI_SECTION, FI_MODSEQ, FI_BINARY, FI_BINARY_SIZE,
};

struct fetch_item {
	enum fitem	 kind;
	char		*label;		/* the response's name: "BODY[HEADER.FIELDS (FROM)]" */
	char		*section;	/* "", "HEADER", "1.2.MIME", "HEADER.FIELDS" ... */
	char		**fields;	/* HEADER.FIELDS(.NOT) names, upper-cased */
	size_t		 nfields;
	bool		 peek, partial;
	uint64_t	 off, count;
};

static void
item_deinit(struct fetch_item *it)
{
	size_t k;

	free(it->label);
	free(it->section);
	for (k = 0; k < it->nfields; k++)
		free(it->fields[k]);
	free(it->fields);
	memset(it, 0, sizeof(*it));
}

static void
items_free(struct fetch_item *it, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		item_deinit(&it[i]);
	free(it);
}

/* parse_section - "BODY[...]<o.c>", "BODY.PEEK[...]" atoms */
static bool
parse_section(const char *atom, struct fetch_item *it)
{
	const char *lb = strchr(atom, '['), *rb = strrchr(atom, ']');
	struct str label, sec;
	const char *p;

	if (lb == NULL || rb == NULL || rb < lb)
		return false;
	it->peek = strncasecmp(atom, "BODY.PEEK[", 10) == 0;
	if (!it->peek && strncasecmp(atom, "BODY[", 5) != 0)
		return false;
	str_init(&sec, 32);
	str_init(&label, 64);
	str_append(&label, "BODY[");
	for (p = lb + 1; p < rb && *p != ' ' && *p != '('; p++)
		str_append_c(&sec, toupper((unsigned char)*p));
	/* the section's words: part numbers, then one keyword */
	{
		const char *w = sec.s;

		while (isdigit((unsigned char)*w)) {
			while (isdigit((unsigned char)*w))
				w++;
			if (*w == '.')
				w++;
			else
				break;
		}
		if (*w != '\0' && strcmp(w, "HEADER") != 0 && strcmp(w, "TEXT") != 0 &&
		    strcmp(w, "MIME") != 0 && strcmp(w, "HEADER.FIELDS") != 0 &&
		    strcmp(w, "HEADER.FIELDS.NOT") != 0) {
			str_deinit(&sec);
			str_deinit(&label);
			return false;
		}
		if (strcmp(w, "MIME") == 0 && w == sec.s) {
			str_deinit(&sec);
			str_deinit(&label);
			return false;
		}
		if (sec.len > 0 && sec.s[sec.len - 1] == '.') {
			str_deinit(&sec);
			str_deinit(&label);
			return false;
		}
	}
	str_append(&label, sec.s);
	if (strstr(sec.s, "HEADER.FIELDS") != NULL) {
		const char *lp = strchr(lb, '('), *rp = lp != NULL ? strchr(lp, ')') : NULL;
		char *list, *tok, *save = NULL;

		if (lp == NULL || rp == NULL || rp > rb) {
			str_deinit(&sec);
			str_deinit(&label);
			return false;
		}
		list = xstrndup(lp + 1, (size_t)(rp - lp - 1));
		str_append(&label, " (");
		for (tok = strtok_r(list, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
			char *f = xstrdup(tok), *c;

			if (*f == '"') {
				memmove(f, f + 1, strlen(f));
				if (*f != '\0' && f[strlen(f) - 1] == '"')
					f[strlen(f) - 1] = '\0';
			}
			for (c = f; *c != '\0'; c++)
				*c = (char)toupper((unsigned char)*c);
			str_appendf(&label, "%s%s", it->nfields > 0 ? " " : "", f);
			it->fields = xreallocarray(it->fields, it->nfields + 1, sizeof(char *));
			it->fields[it->nfields++] = f;
		}
		free(list);
		str_append_c(&label, ')');
		if (it->nfields == 0) {
			str_deinit(&sec);
			str_deinit(&label);
			return false;
		}
	}
	str_append_c(&label, ']');
	if (rb[1] == '<') {
		char *e;

		it->off = strtoull(rb + 2, &e, 10);
		if (*e != '.' || !isdigit((unsigned char)e[1])) {
			str_deinit(&sec);
			str_deinit(&label);
			return false;
		}
		it->count = strtoull(e + 1, &e, 10);
		if (*e != '>' || e[1] != '\0' || it->count == 0) {
			str_deinit(&sec);
			str_deinit(&label);
			return false;
		}
		it->partial = true;
		str_appendf(&label, "<%llu>", (unsigned long long)it->off);
	} else if (rb[1] != '\0') {
		str_deinit(&sec);
		str_deinit(&label);
		return false;
	}
	it->kind = FI_SECTION;
	it->section = str_export(&sec);
	it->label = str_export(&label);
	str_deinit(&sec);
	str_deinit(&label);
	return true;
}

static bool
add_item(struct fetch_item **items, size_t *n, const char *atom)
{
	struct fetch_item it;
	static const struct { const char *name; enum fitem kind; } simple[] = {
		{ "FLAGS", FI_FLAGS }, { "INTERNALDATE", FI_INTERNALDATE },
		{ "RFC822.SIZE", FI_SIZE }, { "UID", FI_UID }, { "ENVELOPE", FI_ENVELOPE },
		{ "BODYSTRUCTURE", FI_BODYSTRUCTURE }, { "BODY", FI_BODY }, { "MODSEQ", FI_MODSEQ },
	};
	size_t i;

	memset(&it, 0, sizeof(it));
	if (strcasecmp(atom, "ALL") == 0 || strcasecmp(atom, "FAST") == 0 ||
	    strcasecmp(atom, "FULL") == 0) {
		bool ok = add_item(items, n, "FLAGS") && add_item(items, n, "INTERNALDATE") &&
		    add_item(items, n, "RFC822.SIZE");

		if (toupper((unsigned char)atom[1]) != 'A')
			ok = ok && add_item(items, n, "ENVELOPE");
		if (toupper((unsigned char)atom[0]) == 'F' && toupper((unsigned char)atom[1]) == 'U')
			ok = ok && add_item(items, n, "BODY");
		return ok;
	}
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (strcasecmp(atom, simple[i].name) == 0)
			it.kind = simple[i].kind, it.label = xstrdup(simple[i].name), i = 100;
	if (i < 100) {
		if (strcasecmp(atom, "RFC822") == 0) {
			it.kind = FI_SECTION;
			it.section = xstrdup("");
			it.label = xstrdup("RFC822");
		} else if (strcasecmp(atom, "RFC822.HEADER") == 0) {
			it.kind = FI_SECTION;
			it.section = xstrdup("HEADER");
			it.label = xstrdup("RFC822.HEADER");
			it.peek = true;
		} else if (strcasecmp(atom, "RFC822.TEXT") == 0) {
			it.kind = FI_SECTION;
			it.section = xstrdup("TEXT");
			it.label = xstrdup("RFC822.TEXT");
		} else if (strncasecmp(atom, "BINARY", 6) == 0) {
			/* RFC 3516 (imap_binary.c): parsed as the BODY section */
			bool size;
			char *body = imap_binary_atom(atom, &size), *l;

			if (body == NULL || !parse_section(body, &it)) {
				free(body);
				item_deinit(&it);
				return false;
			}
			free(body);
			l = xasprintf("BINARY%s%s", size ? ".SIZE" : "", it.label + 4);
			free(it.label);
			it.label = l;
			it.kind = size ? FI_BINARY_SIZE : FI_BINARY;
			it.peek = it.peek || size;
		} else if (!parse_section(atom, &it)) {
			item_deinit(&it);
			return false;
		}
	}
	*items = xreallocarray(*items, *n + 1, sizeof(**items));
	(*items)[(*n)++] = it;
	return true;
}

/* section_data - the bytes a BODY[section] names, CRLF line ends, into
 * out; false when the part does not exist (Dovecot answers with an empty
 * literal) */
static bool
section_data(const struct mime_message *mm, const struct fetch_item *it, struct str *out)
{
	const char *sec = it->section, *w = sec;
	const struct mime_part *p;
	char *nums;

	while (isdigit((unsigned char)*w)) {
		while (isdigit((unsigned char)*w))
			w++;
		if (*w == '.' && isdigit((unsigned char)w[1]))
			w++;
		else
			break;
	}
	nums = xstrndup(sec, (size_t)(w - sec));
	if (*w == '.')
		w++;
	p = mime_section(mm, nums);
	free(nums);
	if (p == NULL)
		return false;
	if (w == sec) {
		/* the message's own header and text */
	} else if (*w == '\0') {
		mime_crlf(out, mm->text + p->body_off, p->body_len);
		return true;
	} else if (strcmp(w, "MIME") == 0) {
		mime_crlf(out, mm->text + p->hdr_off, p->hdr_len);
		return true;
	} else {
		if (!p->message || p->nchildren != 1)
			return false;
		p = &p->children[0];
	}
	if (*w == '\0')
		mime_crlf(out, mm->text, mm->len);
	else if (strcmp(w, "HEADER") == 0)
		mime_crlf(out, mm->text + p->hdr_off, p->hdr_len);
	else if (strcmp(w, "TEXT") == 0)
		mime_crlf(out, mm->text + p->body_off, p->body_len);
	else
		mime_header_fields(out, mm->text + p->hdr_off, p->hdr_len,
		    (const char *const *)it->fields, it->nfields, strstr(w, ".NOT") != NULL);
	return true;
}

static void
internaldate(struct str *out, time_t t)
{
	struct tm tm;
	char buf[64];

	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%d-%b-%Y %H:%M:%S %z", &tm);
	str_appendf(out, "\"%s\"", buf);
}

/* fetch_binary - a BINARY[...] or BINARY.SIZE[...] item into line;
 * false on an unknown Content-Transfer-Encoding */
static bool
fetch_binary(struct imap_sess *s, const struct mime_message *mm, const struct fetch_item *it,
    struct str *line, const char *sp)
{
	struct str sec;
	bool decoded = false;
	size_t off = 0, len;

	str_init(&sec, 1024);
	if (imap_binary_raw_section(it->section)) {
		(void)section_data(mm, it, &sec);
	} else if (imap_binary_section(mm, it->section, &sec, &decoded) != 0) {
		str_deinit(&sec);
		return false;
	}
	len = sec.len;
	if (it->kind == FI_BINARY_SIZE) {
		str_appendf(line, "%s%s %zu", sp, it->label, len);
		str_deinit(&sec);
		return true;
	}
	if (it->partial) {
		off = it->off < sec.len ? (size_t)it->off : sec.len;
		len = sec.len - off;
		if ((uint64_t)len > it->count)
			len = (size_t)it->count;
	}
	/* decoded content goes as a literal8, as Dovecot sends it; NULs
	 * need one in any case (RFC 3516 4.3) */
	str_appendf(line, "%s%s %s{%zu}\r\n", sp, it->label,
	    decoded || memchr(sec.s + off, '\0', len) != NULL ? "~" : "", len);
	str_append_n(line, sec.s + off, len);
	s->body_count++;
	s->body_bytes += len;
	str_deinit(&sec);
	return true;
}

const char *
imap_cmd_fetch(struct imap_sess *s, bool uid, const struct imap_arg *a, size_t n,
    struct str *reply)
{
	struct fetch_item *items = NULL;
	size_t nitems = 0, *idx = NULL, nidx, i, k;
	struct str line, data;
	bool need_text = false, need_section = false, list_ok = true, vanished = false;
	bool want_modseq = false;
	unsigned want_parts = 0;	/* ENVELOPE 1, BODY 2, BODYSTRUCTURE 4 */
	uint64_t changedsince = 0;
	struct str env, body, bs;
	struct imap_cache_batch batch;
	struct imap_cached cached;
	struct imap_hdrc hc;
	struct str *hf = NULL;		/* per item: BODY[HEADER.FIELDS] from the cache */
	size_t nhf = 0;
	bool hdr_cacheable, maildir;

	if ((n != 2 && n != 3) || !imap_arg_is_astring(&a[0]) ||
	    (n == 3 && !imap_condstore_fetch_mods(&a[2], &changedsince, &vanished)) ||
	    (vanished && (!uid || !s->qresync)))
		return str_append(reply, "Error in IMAP command FETCH: Invalid arguments"), "BAD";
	if (changedsince > 0)
		s->condstore = true;	/* RFC 7162 3.1: CHANGEDSINCE enables CONDSTORE */
	if (a[1].type == IMAP_ARG_LIST) {
		for (i = 0; i < a[1].count && list_ok; i++) {
			if (a[1].list[i].type != IMAP_ARG_ATOM) {
				items_free(items, nitems);
				return str_append(reply, "Error in IMAP command FETCH: FETCH list "
				    "contains non-atoms"), "BAD";
			}
			list_ok = add_item(&items, &nitems, a[1].list[i].str);
		}
	} else if (a[1].type == IMAP_ARG_ATOM) {
		list_ok = add_item(&items, &nitems, a[1].str);
	} else {
		list_ok = false;
	}
	if (!list_ok || (a[1].type == IMAP_ARG_LIST && a[1].count == 0)) {
		str_appendf(reply, "Error in IMAP command %sFETCH: Unknown parameter ",
		    uid ? "UID " : "");
		items_free(items, nitems);
		return "BAD";
	}
	if (resolve(s, a[0].str, uid, &idx, &nidx) != 0) {
		items_free(items, nitems);
		return str_appendf(reply, "Error in IMAP command %sFETCH: Invalid messageset",
		    uid ? "UID " : ""), "BAD";
	}
	for (k = 0; k < nitems && changedsince == 0; k++)
		if (items[k].kind == FI_MODSEQ)
			break;
	if ((changedsince > 0 || k < nitems) &&
	    imap_condstore_nomodseq(s, uid ? "UID FETCH" : "FETCH", reply)) {
		items_free(items, nitems);
		free(idx);
		return "BAD";
	}
	for (k = 0; k < nitems; k++) {
		if (items[k].kind == FI_MODSEQ)
			want_modseq = s->condstore = true;
		else if (items[k].kind >= FI_ENVELOPE)
			need_text = true;
		if (items[k].kind == FI_SECTION && strcmp(items[k].section, "HEADER.FIELDS") == 0)
			nhf++;		/* the message's own: the header cache may have it */
		else if (items[k].kind == FI_SECTION || items[k].kind == FI_BINARY ||
		    items[k].kind == FI_BINARY_SIZE)
			need_section = true;	/* the message text, not the cache */
		else if (items[k].kind == FI_ENVELOPE)
			want_parts |= 1;
		else if (items[k].kind == FI_BODY)
			want_parts |= 2;
		else if (items[k].kind == FI_BODYSTRUCTURE)
			want_parts |= 4;
	}
	if (changedsince > 0)
		want_modseq = true;
	maildir = !imap_mboxf_is(s->sel_dir);
	/* header fields from the cache unless the text is read anyway */
	hdr_cacheable = nhf > 0 && !need_section && maildir;
	if (nhf > 0 && !hdr_cacheable)
		need_section = true;
	if (hdr_cacheable) {
		hf = xcalloc(nitems, sizeof(*hf));
		for (k = 0; k < nitems; k++)
			str_init(&hf[k], 256);
	}
	imap_hdrc_init(&hc, s->sel_dir);
	if (vanished)
		imap_condstore_vanished(s, a[0].str, changedsince);
	str_init(&line, 256);
	str_init(&data, 4096);
	imap_cached_init(&cached);
	imap_cache_batch_init(&batch);
	str_init(&env, 512);
	str_init(&body, 256);
	str_init(&bs, 512);
	for (i = 0; i < nidx; i++) {
		struct imap_msg *m = &s->snap.m[idx[i]];
		struct mime_message mm;
		bool have_text = false, seen_now = false, sent_flags = false, have_cache = false;
		bool partial = false, cte_bad = false, have_hf = false;

		if (changedsince > 0 && m->modseq <= changedsince)
			continue;
		str_reset(&line);
		str_reset(&data);
		/* ENVELOPE and BODY(STRUCTURE) come from the index's cache
		 * when it has them: the message file is not opened */
		if (want_parts != 0 && !need_section &&
		    imap_index_cache_get(s->sel_dir, m, &cached)) {
			/* an entry holds what was asked when it was made ("" for
			 * the rest) */
			have_cache = (!(want_parts & 1) || *cached.envelope != '\0') &&
			    (!(want_parts & 2) || *cached.body != '\0') &&
			    (!(want_parts & 4) || *cached.bodystructure != '\0');
			partial = !have_cache;
		}
		if (hdr_cacheable) {
			/* every item asked, so that a record learns all the
			 * names it lacked at once */
			have_hf = true;
			for (k = 0; k < nitems; k++)
				if (items[k].kind == FI_SECTION &&
				    imap_hdrc_fields(&hc, m, (const char *const *)items[k].fields,
				    items[k].nfields, &hf[k]) != 0)
					have_hf = false;
		}
		if (need_text && (need_section || (want_parts != 0 && !have_cache) ||
		    (nhf > 0 && !have_hf))) {
			if (read_msg(s, m, &data) != 0) {
				/* expunged by another session meanwhile: nothing to show */
				continue;
			}
			mime_parse(&mm, data.s, data.len);
			have_text = true;
			/* the header fields are cached when the text is read for
			 * them, or for an ENVELOPE (a client listing the mailbox) */
			if (maildir && ((nhf > 0 && !have_hf) || (want_parts != 0 && m->hdr_off == 0)))
				imap_hdrc_learn(&hc, m, data.s, data.len);
		}
		if (have_text && want_parts != 0 && !have_cache) {
			/* what is asked is made once, sent and cached (with what
			 * an older entry had) */
			str_reset(&env);
			str_reset(&body);
			str_reset(&bs);
			if (want_parts & 1)
				mime_envelope(&env, mm.text, mm.root.hdr_len);
			else if (partial)
				str_append(&env, cached.envelope);
			if (want_parts & 2)
				mime_bodystructure(&body, &mm, false);
			else if (partial)
				str_append(&body, cached.body);
			if (want_parts & 4)
				mime_bodystructure(&bs, &mm, true);
			else if (partial)
				str_append(&bs, cached.bodystructure);
			imap_cache_batch_add(&batch, m, env.s, body.s, bs.s);
			if (batch.buf.len > 1024 * 1024)
				imap_cache_batch_commit(&batch, s->sel_dir);
			cached.envelope = env.s;
			cached.body = body.s;
			cached.bodystructure = bs.s;
			have_cache = true;
		}
		/* a non-PEEK body fetch sets \Seen; its FLAGS go first */
		for (k = 0; k < nitems; k++)
			if ((items[k].kind == FI_SECTION || items[k].kind == FI_BINARY) &&
			    !items[k].peek && !s->readonly &&
			    !(m->flags & IMAP_FLAG_SEEN))
				seen_now = true;
		/* renamed by another session: its flags are taken (and sent
		 * here) before \Seen is added, as STORE does */
		if (seen_now &&
		    (imap_mbox_set_flags(s->sel_dir, m, (m->flags | IMAP_FLAG_SEEN) &
		    ~IMAP_FLAG_RECENT, m->kw) == 0 || (errno == ENOENT &&
		    imap_mbox_refresh_name(s->sel_dir, m) == 0 &&
		    imap_mbox_set_flags(s->sel_dir, m, (m->flags | IMAP_FLAG_SEEN) &
		    ~IMAP_FLAG_RECENT, m->kw) == 0))) {
			(void)imap_index_changed(s->sel_dir, &s->snap, &idx[i], 1);
			str_append(&line, "FLAGS ");
			imap_sess_flags(s, m, &line);
			sent_flags = true;
			if (s->condstore)
				want_modseq = true;
		}
		if (uid) {
			str_appendf(&line, "%sUID %u", line.len > 0 ? " " : "", m->uid);
		}
		/* index data first (Dovecot's order), then what needs the text */
		for (k = 0; k < nitems; k++) {
			struct fetch_item *it = &items[k];
			const char *sp = line.len > 0 ? " " : "";

			switch (it->kind) {
			case FI_FLAGS:
				if (sent_flags)
					break;
				str_appendf(&line, "%sFLAGS ", sp);
				imap_sess_flags(s, m, &line);
				sent_flags = true;
				break;
			case FI_INTERNALDATE:
				str_appendf(&line, "%sINTERNALDATE ", sp);
				internaldate(&line, m->date);
				break;
			case FI_SIZE:
				str_appendf(&line, "%sRFC822.SIZE %zu", sp, m->vsize);
				break;
			case FI_UID:
				if (!uid)
					str_appendf(&line, "%sUID %u", sp, m->uid);
				break;
			default:
				break;
			}
		}
		if (want_modseq)
			str_appendf(&line, "%sMODSEQ (%llu)", line.len > 0 ? " " : "",
			    (unsigned long long)m->modseq);
		/* the text items in the order asked: ENVELOPE and BODY(STRUCTURE)
		 * from the cache (or made above), sections from the text */
		for (k = 0; k < nitems && (have_text || have_cache || have_hf) && !cte_bad; k++) {
			struct fetch_item *it = &items[k];
			const char *sp = line.len > 0 ? " " : "";
			struct str sec;

			switch (it->kind) {
			case FI_ENVELOPE:
				str_appendf(&line, "%sENVELOPE %s", sp, cached.envelope);
				break;
			case FI_BODYSTRUCTURE:
				str_appendf(&line, "%s%s %s", sp, it->label, cached.bodystructure);
				break;
			case FI_BODY:
				str_appendf(&line, "%s%s %s", sp, it->label, cached.body);
				break;
			case FI_SECTION:
				str_init(&sec, 1024);
				if (have_text)
					(void)section_data(&mm, it, &sec);
				else
					str_append_n(&sec, hf[k].s, hf[k].len);
				{
					size_t off = 0, len = sec.len;

					if (it->partial) {
						off = it->off < sec.len ? (size_t)it->off : sec.len;
						len = sec.len - off;
						if ((uint64_t)len > it->count)
							len = (size_t)it->count;
					}
					str_appendf(&line, "%s%s {%zu}\r\n", sp, it->label, len);
					str_append_n(&line, sec.s + off, len);
					s->body_count++;
					s->body_bytes += len;
				}
				str_deinit(&sec);
				break;
			case FI_BINARY:
			case FI_BINARY_SIZE:
				if (!fetch_binary(s, &mm, it, &line, sp))
					cte_bad = true;
				break;
			default:
				break;
			}
		}
		if (have_text)
			mime_free(&mm);
		if (cte_bad) {
			/* Dovecot ends the FETCH there, the UID told */
			pop3_conn_printf(s->conn, "* %zu FETCH (UID %u)\r\n", idx[i] + 1, m->uid);
			break;
		}
		s->out += line.len + 32;
		pop3_conn_printf(s->conn, "* %zu FETCH (", idx[i] + 1);
		pop3_conn_append(s->conn, line.s, line.len);
		pop3_conn_printf(s->conn, ")\r\n");
	}
	imap_cache_batch_commit(&batch, s->sel_dir);
	imap_cache_batch_deinit(&batch);
	imap_cached_deinit(&cached);
	imap_hdrc_deinit(&hc);
	for (k = 0; hf != NULL && k < nitems; k++)
		str_deinit(&hf[k]);
	free(hf);
	str_deinit(&env);
	str_deinit(&body);
	str_deinit(&bs);
	str_deinit(&line);
	str_deinit(&data);
	free(idx);
	items_free(items, nitems);
	if (i < nidx)
		return str_append(reply, "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding"), "NO";
	str_append(reply, "Fetch completed");
	return "OK";
}

/* --- STORE --- */

static const char *
store(struct imap_sess *s, bool uid, const struct imap_arg *a, size_t n, bool conditional,
    uint64_t unchangedsince, struct str *reply)
{
	const struct imap_arg *flist;
	size_t nflags, i, k, *idx = NULL, nidx;
	unsigned flags = 0;
	uint32_t kw = 0;
	const char *op, *kerr;
	bool silent, kw_added = false;
	int mode;
	size_t *done = NULL, ndone = 0, nbatch = 0;
	struct imap_mboxf_flags *batch = NULL;	/* an mbox's changes (owned) */
	struct str modified;

	if (n < 3 || !imap_arg_is_astring(&a[0]) || a[1].type != IMAP_ARG_ATOM)
		return str_appendf(reply, "Error in IMAP command %sSTORE: Invalid arguments",
		    uid ? "UID " : ""), "BAD";
	op = a[1].str;
	mode = *op == '+' ? 1 : *op == '-' ? -1 : 0;
	if (mode != 0)
		op++;
	if (strncasecmp(op, "FLAGS", 5) != 0 || (op[5] != '\0' && strcasecmp(op + 5, ".SILENT") != 0))
		return str_appendf(reply, "Error in IMAP command %sSTORE: Invalid arguments",
		    uid ? "UID " : ""), "BAD";
	silent = op[5] != '\0';
	if (n == 3 && a[2].type == IMAP_ARG_LIST) {
		flist = a[2].list;
		nflags = a[2].count;
	} else {
		flist = &a[2];
		nflags = n - 2;
	}
	for (i = 0; i < nflags; i++) {
		const char *f = imap_arg_string(&flist[i]);

		if (f == NULL || flist[i].type != IMAP_ARG_ATOM)
			return str_appendf(reply, "Error in IMAP command %sSTORE: Flags list contains "
			    "non-atoms.", uid ? "UID " : ""), "BAD";
		if (*f == '\\') {
			if (strcasecmp(f, "\\Seen") == 0)
				flags |= IMAP_FLAG_SEEN;
			else if (strcasecmp(f, "\\Answered") == 0)
				flags |= IMAP_FLAG_ANSWERED;
			else if (strcasecmp(f, "\\Flagged") == 0)
				flags |= IMAP_FLAG_FLAGGED;
			else if (strcasecmp(f, "\\Deleted") == 0)
				flags |= IMAP_FLAG_DELETED;
			else if (strcasecmp(f, "\\Draft") == 0)
				flags |= IMAP_FLAG_DRAFT;
			else {
				str_appendf(reply, "Error in IMAP command %sSTORE: Invalid system flag ",
				    uid ? "UID " : "");
				for (; *f != '\0'; f++)
					str_append_c(reply, toupper((unsigned char)*f));
				return "BAD";
			}
		} else if ((kerr = imap_keyword_check(f, true)) != NULL) {
			/* checked before anything changes, read-only too */
			return str_append(reply, kerr), "NO";
		}
	}
	if (resolve(s, a[0].str, uid, &idx, &nidx) != 0)
		return str_appendf(reply, "Error in IMAP command %sSTORE: Invalid messageset",
		    uid ? "UID " : ""), "BAD";
	if (s->readonly) {
		free(idx);
		return str_append(reply, "Store ignored with read-only mailbox"), "OK";
	}
	for (i = 0; i < nflags; i++) {
		const char *f = flist[i].str;
		size_t before = s->nkw;
		int ki;

		if (*f == '\\')
			continue;
		ki = imap_mbox_keyword_index(s->sel_dir, s->kw, &s->nkw, f, mode >= 0);
		if (ki >= 0)
			kw |= 1u << ki;
		else if (mode >= 0) {
			free(idx);
			return str_append(reply, "Too many keywords"), "NO";
		}
		if (s->nkw != before)
			kw_added = true;
	}
	if (kw_added)
		imap_sess_flag_lists(s);
	str_init(&modified, 32);
	done = xcalloc(nidx + 1, sizeof(*done));
	if (imap_mboxf_is(s->sel_dir))
		batch = xcalloc(nidx + 1, sizeof(*batch));
	for (k = 0; k < nidx; k++) {
		struct imap_msg *m = &s->snap.m[idx[k]];
		unsigned nf;
		uint32_t nk;
		bool changed, retried = false;

		if (conditional && m->modseq > unchangedsince) {
			str_appendf(&modified, "%s%u", modified.len > 0 ? "," : "",
			    uid ? m->uid : (uint32_t)(idx[k] + 1));
			continue;
		}
again:
		nf = m->flags & ~IMAP_FLAG_RECENT;
		nk = m->kw;
		if (mode > 0) {
			nf |= flags;
			nk |= kw;
		} else if (mode < 0) {
			nf &= ~flags;
			nk &= ~kw;
		} else {
			nf = flags;
			nk = kw;
		}
		changed = nf != (m->flags & ~IMAP_FLAG_RECENT) || nk != m->kw;
		if (changed && batch != NULL) {
			/* an mbox: every change in one rewrite, below */
			batch[nbatch++] = (struct imap_mboxf_flags){ .uid = m->uid, .flags = nf,
				.kw = nk, .seq = idx[k] };
			continue;
		}
		if (changed && imap_mbox_set_flags(s->sel_dir, m, nf, nk) != 0) {
			/* another session or Dovecot renamed it (new flags): the
			 * change applies to its flags now; a conditional STORE
			 * cannot know it unchanged */
			if (errno != ENOENT || retried || imap_mbox_refresh_name(s->sel_dir, m) != 0)
				continue;	/* expunged meanwhile */
			if (conditional) {
				str_appendf(&modified, "%s%u", modified.len > 0 ? "," : "",
				    uid ? m->uid : (uint32_t)(idx[k] + 1));
				continue;
			}
			retried = true;
			goto again;
		}
		if (changed)
			done[ndone++] = idx[k];
	}
	if (batch != NULL && nbatch > 0 &&
	    imap_mboxf_set_flags_many(s->sel_dir, batch, nbatch) == 0) {
		for (k = 0; k < nbatch; k++) {
			struct imap_msg *m = &s->snap.m[batch[k].seq];

			if (!batch[k].found)
				continue;	/* expunged meanwhile */
			m->flags = (m->flags & IMAP_FLAG_RECENT) | batch[k].flags;
			m->kw = batch[k].kw;
			done[ndone++] = batch[k].seq;
		}
	}
	free(batch);
	/* one new modseq for what this command changed, then the replies */
	(void)imap_index_changed(s->sel_dir, &s->snap, done, ndone);
	for (k = 0; k < ndone && (!silent || s->condstore); k++) {
		struct imap_msg *m = &s->snap.m[done[k]];
		struct str fl;

		str_init(&fl, 64);
		if (!silent) {
			str_append(&fl, " FLAGS ");
			imap_sess_flags(s, m, &fl);
		}
		if (s->condstore && !s->nomodseq)
			str_appendf(&fl, " MODSEQ (%llu)", (unsigned long long)m->modseq);
		if (uid)
			pop3_conn_printf(s->conn, "* %zu FETCH (UID %u%s)\r\n", done[k] + 1, m->uid,
			    fl.s);
		else
			pop3_conn_printf(s->conn, "* %zu FETCH (%s)\r\n", done[k] + 1, fl.s + 1);
		s->out += fl.len + 32;
		str_deinit(&fl);
	}
	free(done);
	free(idx);
	if (modified.len > 0) {
		str_appendf(reply, "[MODIFIED %s] Conditional store failed", modified.s);
		str_deinit(&modified);
		return "OK";
	}
	str_deinit(&modified);
	str_append(reply, "Store completed");
	return "OK";
}

const char *
imap_cmd_store(struct imap_sess *s, bool uid, const struct imap_arg *a, size_t n,
    struct str *reply)
{
	struct imap_arg *b;
	uint64_t since = 0;
	const char *ret;

	/* RFC 7162 3.1.3: STORE set (UNCHANGEDSINCE n) op flags */
	if (n < 4 || a[1].type != IMAP_ARG_LIST)
		return store(s, uid, a, n, false, 0, reply);
	if (a[1].count != 2 || a[1].list[0].type != IMAP_ARG_ATOM ||
	    strcasecmp(a[1].list[0].str, "UNCHANGEDSINCE") != 0 ||
	    a[1].list[1].type != IMAP_ARG_ATOM ||
	    !(imap_condstore_parse_modseq(a[1].list[1].str, &since) ||
	    strcmp(a[1].list[1].str, "0") == 0))
		return str_appendf(reply, "Error in IMAP command %sSTORE: Invalid arguments",
		    uid ? "UID " : ""), "BAD";
	if (imap_condstore_nomodseq(s, uid ? "UID STORE" : "STORE", reply))
		return "BAD";
	s->condstore = true;
	b = xcalloc(n, sizeof(*b));
	b[0] = a[0];
	memcpy(b + 1, a + 2, (n - 2) * sizeof(*b));
	ret = store(s, uid, b, n - 1, true, since, reply);
	free(b);
	return ret;
}

/* --- SEARCH --- */

struct search_ctx {
	struct imap_sess *s;		/* borrowed */
	struct imap_hdrc hdrc;		/* header keys from the index's cache */
	bool		 headers;	/* the program has header keys */
};

static int
search_fields(struct imap_search_msg *sm, const char *name, struct str *out, void *ctx)
{
	struct search_ctx *c = ctx;
	const char *names[1] = { name };

	return imap_hdrc_fields(&c->hdrc, &c->s->snap.m[sm->seq - 1], names, 1, out);
}

static int
search_load(struct imap_search_msg *sm, void *ctx)
{
	struct imap_sess *s = ((struct search_ctx *)ctx)->s;
	struct str *buf = xcalloc(1, sizeof(*buf));

	str_init(buf, 4096);
	if (read_msg(s, &s->snap.m[sm->seq - 1], buf) != 0) {
		str_deinit(buf);
		free(buf);
		return -1;
	}
	sm->len = buf->len;
	sm->text = str_export(buf);
	free(buf);
	return 0;
}

const char *
imap_cmd_search(struct imap_sess *s, bool uid, const struct imap_arg *a, size_t n,
    struct str *reply)
{
	struct imap_search *prog;
	struct imap_search_ret ret;
	const char *err;
	struct str out;
	size_t i, k, nsaved = 0, used;
	uint32_t *saved, *nums;
	uint64_t top_modseq = 0;
	bool uses_saved;
	struct search_ctx sc;

	/* RFC 4731/5182: SEARCH RETURN (MIN MAX ALL COUNT SAVE) (imap_esearch.c) */
	if (imap_search_ret_parse(a, n, &ret, &used, &err) != 0)
		return str_appendf(reply, "Error in IMAP command %sSEARCH: %s", uid ? "UID " : "",
		    err), "BAD";
	a += used;
	n -= used;
	/* IMAP4rev2 answers every SEARCH with ESEARCH (RFC 9051 6.4.4) */
	if (s->rev2 && !ret.esearch) {
		ret.esearch = true;
		ret.opts = IMAP_SRET_ALL;
	}
	if (n >= 2 && a[0].type == IMAP_ARG_ATOM && strcasecmp(a[0].str, "CHARSET") == 0) {
		if (!imap_arg_is_astring(&a[1]) || (strcasecmp(a[1].str, "UTF-8") != 0 &&
		    strcasecmp(a[1].str, "US-ASCII") != 0))
			return str_append(reply, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset"),
			    "NO";
		a += 2;
		n -= 2;
	}
	if ((prog = imap_search_parse(a, n, &err)) == NULL)
		return str_appendf(reply, "Error in IMAP command %sSEARCH: %s", uid ? "UID " : "",
		    err), "BAD";
	if (imap_search_uses_modseq(prog) &&
	    imap_condstore_nomodseq(s, uid ? "UID SEARCH" : "SEARCH", reply)) {
		imap_search_free(&prog);
		return "BAD";
	}
	uses_saved = imap_search_uses_saved(prog);
	sc.s = s;
	sc.headers = imap_search_uses_headers(prog) && !imap_mboxf_is(s->sel_dir);
	imap_hdrc_init(&sc.hdrc, s->sel_dir);
	str_init(&out, 256);
	str_append(&out, "* SEARCH");
	saved = xcalloc(s->snap.n + 1, sizeof(*saved));
	nums = xcalloc(s->snap.n + 1, sizeof(*nums));
	for (i = 0; i < s->snap.n; i++) {
		struct imap_msg *m = &s->snap.m[i];
		const char *kws[IMAP_MAX_KEYWORDS];
		struct imap_search_msg sm;
		size_t nk = 0;

		for (k = 0; k < s->nkw; k++)
			if ((m->kw & (1u << k)) && s->kw[k] != NULL)
				kws[nk++] = s->kw[k];
		memset(&sm, 0, sizeof(sm));
		sm.seq = (uint32_t)(i + 1);
		sm.uid = m->uid;
		sm.max_seq = (uint32_t)s->snap.n;
		sm.max_uid = s->snap.m[s->snap.n - 1].uid;
		sm.flags = m->flags;
		sm.keywords = kws;
		sm.nkeywords = nk;
		sm.size = m->vsize;
		sm.internaldate = m->date;
		sm.modseq = m->modseq;
		sm.load = search_load;
		sm.fields = sc.headers ? search_fields : NULL;
		sm.ctx = &sc;
		sm.saved = uses_saved && saved_has(s, m->uid);
		if (imap_search_match(prog, &sm)) {
			nums[nsaved] = uid ? m->uid : (uint32_t)(i + 1);
			saved[nsaved++] = m->uid;
			if (m->modseq > top_modseq)
				top_modseq = m->modseq;
		}
		if (sc.headers && sm.text != NULL)
			imap_hdrc_learn(&sc.hdrc, m, sm.text, sm.len);
		free((char *)(uintptr_t)sm.text);
	}
	imap_hdrc_deinit(&sc.hdrc);
	if (ret.esearch) {
		str_reset(&out);
		imap_esearch_reply(&out, &ret, s->tag, uid, nums, nsaved);
		/* RFC 7162 3.1.5: MODSEQ is one more ESEARCH return item */
		if (nsaved > 0 && imap_search_uses_modseq(prog) && out.len >= 2) {
			s->condstore = true;
			str_truncate(&out, out.len - 2);
			str_appendf(&out, " MODSEQ %llu\r\n", (unsigned long long)top_modseq);
		}
	} else {
		for (i = 0; i < nsaved; i++)
			str_appendf(&out, " %u", nums[i]);
		if (nsaved > 0 && imap_search_uses_modseq(prog)) {
			s->condstore = true;
			str_appendf(&out, " (MODSEQ %llu)", (unsigned long long)top_modseq);
		}
		str_append(&out, "\r\n");
	}
	s->out += out.len;
	pop3_conn_append(s->conn, out.s, out.len);
	str_deinit(&out);
	free(nums);
	/* "$" changes only with SAVE (RFC 5182) */
	if (ret.opts & IMAP_SRET_SAVE) {
		free(s->saved);
		s->saved = saved;
		s->nsaved = imap_esearch_save(&ret, saved, nsaved);
	} else {
		free(saved);
	}
	imap_search_free(&prog);
	str_append(reply, "Search completed");
	return "OK";
}

/* --- EXPUNGE --- */

const char *
imap_cmd_expunge(struct imap_sess *s, const struct imap_arg *a, size_t n, bool uid, bool silent,
    struct str *reply)
{
	size_t i, removed = 0, *idx = NULL, nidx = 0;
	bool *only = NULL;

	if (s->readonly)
		return str_append(reply, "Mailbox is read-only"), "NO";
	if (uid) {
		if (n != 1 || !imap_arg_is_astring(&a[0]) ||
		    resolve(s, a[0].str, true, &idx, &nidx) != 0)
			return str_append(reply, "Error in IMAP command UID EXPUNGE: Invalid uidset"),
			    "BAD";
		only = xcalloc(s->snap.n + 1, sizeof(bool));
		for (i = 0; i < nidx; i++)
			only[idx[i]] = true;
		free(idx);
	}
	if (imap_mboxf_is(s->sel_dir)) {
		/* an mbox is rewritten once without them (imap_mbox_mbox.c) */
		uint32_t *uids = xcalloc(s->snap.n + 1, sizeof(*uids));
		size_t nu = 0;

		for (i = 0; i < s->snap.n; i++)
			if ((s->snap.m[i].flags & IMAP_FLAG_DELETED) && (only == NULL || only[i]))
				uids[nu++] = s->snap.m[i].uid;
		if (imap_mboxf_expunge(s->sel_dir, uids, nu) == 0)
			s->expunged += (unsigned)nu;
		free(uids);
		nu = 0;
	}
	for (i = 0; i < s->snap.n && !imap_mboxf_is(s->sel_dir); i++) {
		struct imap_msg *m = &s->snap.m[i];
		char *path;

		if (!(m->flags & IMAP_FLAG_DELETED) || (only != NULL && !only[i]))
			continue;
		path = xasprintf("%s/cur/%s", s->sel_dir, m->name);
		if (unlink(path) == 0) {
			s->expunged++;
		} else if (errno == ENOENT) {
			struct imap_msg cur;

			/* renamed meanwhile: expunged when it is still \Deleted */
			if (current(s, m, &cur)) {
				char *p2 = xasprintf("%s/cur/%s", s->sel_dir, cur.name);

				if ((cur.flags & IMAP_FLAG_DELETED) && unlink(p2) == 0)
					s->expunged++;
				free(p2);
				free(cur.name);
			} else {
				s->expunged++;
			}
		}
		free(path);
	}
	free(only);
	(void)removed;
	if (!silent)
		imap_sess_sync(s, true);
	str_append(reply, "Expunge completed");
	return "OK";
}

/* --- COPY, MOVE --- */

/* move_originals - MOVE's second half, once every copy is on disk: the
 * originals go (reported as expunges at the next sync) */
static void
move_originals(struct imap_sess *s, const size_t *idx, size_t nidx)
{
	size_t i;

	if (imap_mboxf_is(s->sel_dir)) {
		uint32_t *uids = xcalloc(nidx + 1, sizeof(*uids));

		for (i = 0; i < nidx; i++)
			uids[i] = s->snap.m[idx[i]].uid;
		(void)imap_mboxf_expunge(s->sel_dir, uids, nidx);
		free(uids);
		return;
	}
	for (i = 0; i < nidx; i++) {
		const struct imap_msg *m = &s->snap.m[idx[i]];
		char *path = xasprintf("%s/cur/%s", s->sel_dir, m->name);
		struct imap_msg cur;

		if (unlink(path) != 0 && errno == ENOENT && current(s, m, &cur)) {
			free(path);
			path = xasprintf("%s/cur/%s", s->sel_dir, cur.name);
			(void)unlink(path);
			free(cur.name);
		}
		free(path);
	}
}

const char *
imap_cmd_copy(struct imap_sess *s, bool uid, bool move, const struct imap_arg *a, size_t n,
    struct str *reply)
{
	struct imap_mbox_snap dst;
	struct str srcu, dstu, e;
	const char *err, *cmd = move ? "MOVE" : "COPY";
	char *dir, *dkw[IMAP_MAX_KEYWORDS] = { 0 }, **bases;
	size_t i, k, *idx = NULL, nidx, ndkw = 0;
	int copy_errno = 0;
	uint32_t *kws = NULL;
	bool to_mboxf;

	if (n != 2 || !imap_arg_is_astring(&a[0]) || !imap_arg_is_astring(&a[1]))
		return str_appendf(reply, "Error in IMAP command %s%s: Invalid arguments",
		    uid ? "UID " : "", cmd), "BAD";
	if (resolve(s, a[0].str, uid, &idx, &nidx) != 0)
		return str_appendf(reply, "Error in IMAP command %s%s: Invalid messageset",
		    uid ? "UID " : "", cmd), "BAD";
	str_init(&e, 64);
	if (!imap_mailbox_is_inbox(a[1].str) && imap_sess_name_check(s, a[1].str, &e) != 0) {
		str_append(reply, e.s);
		str_deinit(&e);
		free(idx);
		return "NO";
	}
	str_deinit(&e);
	dir = imap_sess_dir(s, a[1].str);
	if (access(dir, F_OK) != 0) {
		str_appendf(reply, "[TRYCREATE] Mailbox doesn't exist: %s",
		    imap_ns_show(s, a[1].str));
		free(dir);
		free(idx);
		return "NO";
	}
	if (move && s->readonly) {
		free(dir);
		free(idx);
		return str_append(reply, "Mailbox is read-only"), "NO";
	}
	if (!move) {
		uint64_t bytes = 0;

		for (i = 0; i < nidx; i++)
			bytes += s->snap.m[idx[i]].vsize;
		if (!imap_quota_allows(s, bytes, nidx, reply)) {
			free(dir);
			free(idx);
			return "NO";
		}
	}
	imap_mbox_keywords_read(dir, dkw, &ndkw);
	bases = xcalloc(nidx + 1, sizeof(char *));
	to_mboxf = imap_mboxf_is(dir);
	if (to_mboxf)
		kws = xcalloc(nidx + 1, sizeof(*kws));
	for (i = 0; i < nidx; i++) {
		struct imap_msg *m = &s->snap.m[idx[i]];
		uint32_t kw = 0;

		/* keywords by name: the target numbers its own */
		for (k = 0; k < s->nkw; k++) {
			int di;

			if ((m->kw & (1u << k)) && s->kw[k] != NULL &&
			    (di = imap_mbox_keyword_index(dir, dkw, &ndkw, s->kw[k], true)) >= 0)
				kw |= 1u << di;
		}
		if (to_mboxf) {
			kws[i] = kw;	/* copied below, all in one append */
			continue;
		}
		if (imap_mbox_copy(s->sel_dir, m, dir, kw, &bases[i]) != 0) {
			struct imap_msg cur;
			int r = -1;

			copy_errno = errno;
			if (copy_errno == ENOENT && current(s, m, &cur)) {
				r = imap_mbox_copy(s->sel_dir, &cur, dir, kw, &bases[i]);
				copy_errno = errno;
				free(cur.name);
			}
			if (r != 0) {
				bases[i] = NULL;
				break;
			}
		}
	}
	if (to_mboxf) {
		/* an mbox takes every copy in one append under one lock: all
		 * or nothing, nothing to undo */
		if (imap_mbox_copy_to_mboxf(s->sel_dir, s->snap.m, idx, kws, nidx, dir, bases) != 0) {
			copy_errno = errno;
			i = 0;
		}
		free(kws);
	}
	for (k = 0; k < IMAP_MAX_KEYWORDS; k++)
		free(dkw[k]);
	if (i < nidx) {
		/* all or nothing (RFC 3501 6.4.7): the copies made go again, so
		 * that a client's COPY + EXPUNGE never loses the only one */
		imap_mbox_remove_bases(dir, bases, i);
		for (k = 0; k < i; k++)
			free(bases[k]);
		free(bases);
		free(dir);
		free(idx);
		if (copy_errno == ENOENT)
			return str_append(reply, "[EXPUNGEISSUED] Some of the requested messages no "
			    "longer exist."), "NO";
		log_error("imap(%s): %s to %s failed: %s", s->user, move ? "MOVE" : "COPY",
		    a[1].str, strerror(copy_errno));
		if (copy_errno == ENOSPC || copy_errno == EDQUOT)
			return str_append(reply, "[OVERQUOTA] Not enough disk space"), "NO";
		return str_append(reply, "[SERVERBUG] Internal error occurred. Refer to server log "
		    "for more information."), "NO";
	}
	str_init(&srcu, 64);
	str_init(&dstu, 64);
	if (imap_mbox_scan(dir, &dst, &err) == 0) {
		for (i = 0; i < nidx; i++) {
			if (bases[i] == NULL)
				continue;
			for (k = 0; k < dst.n; k++) {
				if (strncmp(dst.m[k].name, bases[i], strlen(bases[i])) == 0 &&
				    (dst.m[k].name[strlen(bases[i])] == ':' ||
				    dst.m[k].name[strlen(bases[i])] == '\0')) {
					str_appendf(&srcu, "%s%u", srcu.len > 0 ? "," : "",
					    s->snap.m[idx[i]].uid);
					str_appendf(&dstu, "%s%u", dstu.len > 0 ? "," : "", dst.m[k].uid);
				}
			}
		}
		if (move) {
			move_originals(s, idx, nidx);
			if (srcu.len > 0)
				pop3_conn_printf(s->conn, "* OK [COPYUID %u %s %s] Moved UIDs.\r\n",
				    dst.uidvalidity, srcu.s, dstu.s);
			imap_sess_sync(s, true);
			str_append(reply, "Move completed");
		} else if (srcu.len > 0) {
			str_appendf(reply, "[COPYUID %u %s %s] Copy completed", dst.uidvalidity, srcu.s,
			    dstu.s);
		} else {
			str_append(reply, "Copy completed");
		}
		if (strcmp(dir, s->sel_dir) == 0 && !move)
			imap_sess_sync(s, true);
		imap_mbox_snap_free(&dst);
	} else {
		/* the copies are on disk; only their UIDs are not known */
		if (move) {
			move_originals(s, idx, nidx);
			imap_sess_sync(s, true);
		}
		str_append(reply, move ? "Move completed" : "Copy completed");
	}
	for (i = 0; i < nidx; i++)
		free(bases[i]);
	free(bases);
	str_deinit(&srcu);
	str_deinit(&dstu);
	free(dir);
	free(idx);
	return "OK";
}
