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

#include "imap/imap_mail-private.h"
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
		for (i = 0; i < s->snap.n; i++) {
			size_t k;

			for (k = 0; k < s->nsaved; k++)
				if (s->saved[k] == s->snap.m[i].uid)
					idx[n++] = i;
		}
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
	FI_SECTION, FI_BINARY, FI_BINARY_SIZE,
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
		{ "BODYSTRUCTURE", FI_BODYSTRUCTURE }, { "BODY", FI_BODY },
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
	bool need_text = false, list_ok = true;

	if (n != 2 || !imap_arg_is_astring(&a[0]))
		return str_append(reply, "Error in IMAP command FETCH: Invalid arguments"), "BAD";
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
	for (k = 0; k < nitems; k++)
		if (items[k].kind >= FI_ENVELOPE)
			need_text = true;
	str_init(&line, 256);
	str_init(&data, 4096);
	for (i = 0; i < nidx; i++) {
		struct imap_msg *m = &s->snap.m[idx[i]];
		struct mime_message mm;
		bool have_text = false, seen_now = false, sent_flags = false, cte_bad = false;

		str_reset(&line);
		str_reset(&data);
		if (need_text) {
			if (imap_mbox_read(s->sel_dir, m, &data) != 0) {
				/* expunged by another session meanwhile: nothing to show */
				continue;
			}
			mime_parse(&mm, data.s, data.len);
			have_text = true;
		}
		/* a non-PEEK body fetch sets \Seen; its FLAGS go first */
		for (k = 0; k < nitems; k++)
			if ((items[k].kind == FI_SECTION || items[k].kind == FI_BINARY) &&
			    !items[k].peek && !s->readonly &&
			    !(m->flags & IMAP_FLAG_SEEN))
				seen_now = true;
		if (seen_now &&
		    imap_mbox_set_flags(s->sel_dir, m, (m->flags | IMAP_FLAG_SEEN) & ~IMAP_FLAG_RECENT,
		    m->kw) == 0) {
			str_append(&line, "FLAGS ");
			imap_sess_flags(s, m, &line);
			sent_flags = true;
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
		for (k = 0; k < nitems && have_text && !cte_bad; k++) {
			struct fetch_item *it = &items[k];
			const char *sp = line.len > 0 ? " " : "";
			struct str sec;

			switch (it->kind) {
			case FI_ENVELOPE:
				str_appendf(&line, "%sENVELOPE ", sp);
				mime_envelope(&line, mm.text, mm.root.hdr_len);
				break;
			case FI_BODYSTRUCTURE:
			case FI_BODY:
				str_appendf(&line, "%s%s ", sp, it->label);
				mime_bodystructure(&line, &mm, it->kind == FI_BODYSTRUCTURE);
				break;
			case FI_SECTION:
				str_init(&sec, 1024);
				(void)section_data(&mm, it, &sec);
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

const char *
imap_cmd_store(struct imap_sess *s, bool uid, const struct imap_arg *a, size_t n,
    struct str *reply)
{
	const struct imap_arg *flist;
	size_t nflags, i, k, *idx = NULL, nidx;
	unsigned flags = 0;
	uint32_t kw = 0;
	const char *op;
	bool silent, kw_added = false;
	int mode;

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
	for (k = 0; k < nidx; k++) {
		struct imap_msg *m = &s->snap.m[idx[k]];
		unsigned nf = m->flags & ~IMAP_FLAG_RECENT;
		uint32_t nk = m->kw;
		bool changed;

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
		if (changed && imap_mbox_set_flags(s->sel_dir, m, nf, nk) != 0)
			continue;	/* expunged meanwhile */
		if (changed && !silent) {
			struct str fl;

			str_init(&fl, 64);
			imap_sess_flags(s, m, &fl);
			if (uid)
				pop3_conn_printf(s->conn, "* %zu FETCH (UID %u FLAGS %s)\r\n", idx[k] + 1,
				    m->uid, fl.s);
			else
				pop3_conn_printf(s->conn, "* %zu FETCH (FLAGS %s)\r\n", idx[k] + 1, fl.s);
			s->out += fl.len + 32;
			str_deinit(&fl);
		}
	}
	free(idx);
	str_append(reply, "Store completed");
	return "OK";
}

/* --- SEARCH --- */

static int
search_load(struct imap_search_msg *sm, void *ctx)
{
	struct imap_sess *s = ctx;
	struct str *buf = xcalloc(1, sizeof(*buf));

	str_init(buf, 4096);
	if (imap_mbox_read(s->sel_dir, &s->snap.m[sm->seq - 1], buf) != 0) {
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
		sm.load = search_load;
		sm.ctx = s;
		for (k = 0; k < s->nsaved; k++)
			if (s->saved[k] == m->uid)
				sm.saved = true;
		if (imap_search_match(prog, &sm)) {
			nums[nsaved] = uid ? m->uid : (uint32_t)(i + 1);
			saved[nsaved++] = m->uid;
		}
		free((char *)(uintptr_t)sm.text);
	}
	if (ret.esearch) {
		str_reset(&out);
		imap_esearch_reply(&out, &ret, s->tag, uid, nums, nsaved);
	} else {
		for (i = 0; i < nsaved; i++)
			str_appendf(&out, " %u", nums[i]);
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
	for (i = 0; i < s->snap.n; i++) {
		struct imap_msg *m = &s->snap.m[i];
		char *path;

		if (!(m->flags & IMAP_FLAG_DELETED) || (only != NULL && !only[i]))
			continue;
		path = xasprintf("%s/cur/%s", s->sel_dir, m->name);
		if (unlink(path) == 0 || errno == ENOENT)
			s->expunged++;
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

const char *
imap_cmd_copy(struct imap_sess *s, bool uid, bool move, const struct imap_arg *a, size_t n,
    struct str *reply)
{
	struct imap_mbox_snap dst;
	struct str srcu, dstu, e;
	const char *err, *cmd = move ? "MOVE" : "COPY";
	char *dir, *dkw[IMAP_MAX_KEYWORDS] = { 0 }, **bases;
	size_t i, k, *idx = NULL, nidx, ndkw = 0;

	if (n != 2 || !imap_arg_is_astring(&a[0]) || !imap_arg_is_astring(&a[1]))
		return str_appendf(reply, "Error in IMAP command %s%s: Invalid arguments",
		    uid ? "UID " : "", cmd), "BAD";
	if (resolve(s, a[0].str, uid, &idx, &nidx) != 0)
		return str_appendf(reply, "Error in IMAP command %s%s: Invalid messageset",
		    uid ? "UID " : "", cmd), "BAD";
	str_init(&e, 64);
	if (!imap_mailbox_is_inbox(a[1].str) && imap_mailbox_name_check(a[1].str, &e) != 0) {
		str_append(reply, e.s);
		str_deinit(&e);
		free(idx);
		return "NO";
	}
	str_deinit(&e);
	dir = imap_sess_dir(s, a[1].str);
	if (access(dir, F_OK) != 0) {
		str_appendf(reply, "[TRYCREATE] Mailbox doesn't exist: %s", a[1].str);
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
		if (imap_mbox_copy(s->sel_dir, m, dir, kw, &bases[i]) != 0)
			bases[i] = NULL;
	}
	for (i = 0; i < IMAP_MAX_KEYWORDS; i++)
		free(dkw[i]);
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
			/* the originals go now, reported as expunges */
			for (i = 0; i < nidx; i++) {
				char *path = xasprintf("%s/cur/%s", s->sel_dir, s->snap.m[idx[i]].name);

				if (bases[i] != NULL)
					(void)unlink(path);
				free(path);
			}
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
