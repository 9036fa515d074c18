/* imap_mail.c - a logged-in IMAP session (the mail process, running as
 * the user): the command loop, the authenticated-state commands
 * (CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, APPEND, SELECT,
 * EXAMINE, NAMESPACE, ID, IDLE, NOOP, CHECK, CLOSE, UNSELECT, LOGOUT)
 * and the untagged updates when others change the selected mailbox.
 * FETCH, STORE, SEARCH, COPY, MOVE and EXPUNGE are in imap_fetch.c; LIST
 * and LSUB in imap_list.c; ENABLE in imap_enable.c; COMPRESS in
 * imap_compress.c; the QUOTA commands in imap_quota.c. Replies are
 * Dovecot 2.3's. Tests: tests/e2e/test_imap.py, test_imap_ext.py */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap.h"
#include "imap/imap_condstore.h"
#include "imap/imap_index.h"
#include "imap/imap_compress.h"
#include "imap/imap_conf.h"
#include "imap/imap_enable.h"
#include "imap/imap_hib_state.h"
#include "imap/imap_hibernate.h"
#include "imap/imap_io.h"
#include "imap/imap_list.h"
#include "imap/imap_quota.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_mbox_mbox.h"
#include "imap/imap_ns.h"
#include "imap/imap_search.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/mem_idle.h"
#include "lib/util.h"
#include "pop3/pop3.h"
#include "pop3/pop3_conn_deflate.h"

#define IDLE_KEEPALIVE_MS	(2 * 60 * 1000)	/* imap_idle_notify_interval's default */
#define IDLE_FALLBACK_CHECK_MS	1000	/* without inotify */

void
imap_sess_printf(struct imap_sess *s, const char *fmt, ...)
{
	struct str line;
	va_list ap;

	str_init(&line, 128);
	va_start(ap, fmt);
	str_vappendf(&line, fmt, ap);
	va_end(ap);
	s->out += line.len;
	pop3_conn_append(s->conn, line.s, line.len);
	str_deinit(&line);
}

char *
imap_sess_dir(const struct imap_sess *s, const char *name)
{
	if (imap_mailbox_is_inbox(name))
		return xstrdup(s->root);
	return imap_layout_dir(&s->layout, name);
}

/* dir_exists - a mailbox (or, under LAYOUT=fs, a parent) is at path:
 * a directory, or with mbox a file as well */
static bool
dir_exists(const struct imap_sess *s, const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && (S_ISDIR(st.st_mode) ||
	    (s->layout.mbox && S_ISREG(st.st_mode)));
}

void
imap_sess_flags(const struct imap_sess *s, const struct imap_msg *m, struct str *out)
{
	static const struct { unsigned bit; const char *name; } sys[] = {
		{ IMAP_FLAG_ANSWERED, "\\Answered" }, { IMAP_FLAG_FLAGGED, "\\Flagged" },
		{ IMAP_FLAG_DELETED, "\\Deleted" }, { IMAP_FLAG_SEEN, "\\Seen" },
		{ IMAP_FLAG_DRAFT, "\\Draft" }, { IMAP_FLAG_RECENT, "\\Recent" },
	};
	size_t i, n = 0;

	str_append_c(out, '(');
	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		/* IMAP4rev2 has no \Recent */
		if ((m->flags & sys[i].bit) && !(s->rev2 && sys[i].bit == IMAP_FLAG_RECENT))
			str_appendf(out, "%s%s", n++ > 0 ? " " : "", sys[i].name);
	for (i = 0; i < s->nkw; i++)
		if ((m->kw & (1u << i)) && s->kw[i] != NULL)
			str_appendf(out, "%s%s", n++ > 0 ? " " : "", s->kw[i]);
	str_append_c(out, ')');
}

void
imap_sess_flag_lists(struct imap_sess *s)
{
	struct str kws;
	size_t i;

	str_init(&kws, 64);
	for (i = 0; i < s->nkw; i++)
		if (s->kw[i] != NULL)
			str_appendf(&kws, " %s", s->kw[i]);
	imap_sess_printf(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s)\r\n", kws.s);
	if (s->readonly)
		imap_sess_printf(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
	else
		imap_sess_printf(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s "
		    "\\*)] Flags permitted.\r\n", kws.s);
	str_deinit(&kws);
}

static void sync_report(struct imap_sess *, struct imap_mbox_snap *, size_t nkw_before);

void
imap_sess_sync(struct imap_sess *s, bool expunges_ok)
{
	struct imap_mbox_snap now;
	const char *err;
	size_t nkw_before = s->nkw;

	if (!s->selected || !expunges_ok)
		return;
	if (imap_index_unchanged(s->sel_dir, &s->snap)) {
		/* nothing moved: only a new keyword name may need telling */
		imap_mbox_keywords_read(s->sel_dir, s->kw, &s->nkw);
		if (s->nkw != nkw_before)
			imap_sess_flag_lists(s);
		return;
	}
	if (imap_mbox_scan(s->sel_dir, &now, &err) != 0)
		return;
	if (now.uidvalidity != s->snap.uidvalidity && s->snap.uidvalidity != 0 &&
	    now.uidvalidity != 0) {
		/* dovecot-uidlist was lost or rebuilt: the UIDs the client holds
		 * name other messages now, and no response can tell a selected
		 * session so (its messages came back as UID 1 and up); it ends,
		 * as Dovecot ends it */
		log_info("imap(%s): Mailbox %s UIDVALIDITY changed (%u -> %u)", s->user,
		    s->sel_name, s->snap.uidvalidity, now.uidvalidity);
		imap_sess_printf(s, "* BYE Mailbox UIDVALIDITY changed\r\n");
		(void)pop3_conn_flush(s->conn);
		s->conn->broken = true;
		imap_mbox_snap_free(&now);
		return;
	}
	sync_report(s, &now, nkw_before);
}

/* sync_report - what differs between the session's snapshot and now
 * (taken over): EXPUNGE or VANISHED, FETCH FLAGS, EXISTS and RECENT */
static void
sync_report(struct imap_sess *s, struct imap_mbox_snap *now_p, size_t nkw_before)
{
	struct imap_mbox_snap now = *now_p;
	size_t i = 0, j = 0, removed = 0, recent = 0;
	struct str line;

	imap_mbox_keywords_read(s->sel_dir, s->kw, &s->nkw);
	if (s->nkw != nkw_before)
		imap_sess_flag_lists(s);
	str_init(&line, 64);
	/* both lists are sorted by UID */
	while (i < s->snap.n) {
		struct imap_msg *o = &s->snap.m[i];

		if (j < now.n && now.m[j].uid == o->uid) {
			now.m[j].flags |= o->flags & IMAP_FLAG_RECENT;
			if ((now.m[j].flags & ~IMAP_FLAG_RECENT) != (o->flags & ~IMAP_FLAG_RECENT) ||
			    now.m[j].kw != o->kw) {
				str_reset(&line);
				imap_sess_flags(s, &now.m[j], &line);
				if (s->condstore && !s->nomodseq)
					imap_sess_printf(s, "* %zu FETCH (UID %u FLAGS %s MODSEQ (%llu))\r\n",
					    j + 1, now.m[j].uid, line.s,
					    (unsigned long long)now.m[j].modseq);
				else
					imap_sess_printf(s, "* %zu FETCH (FLAGS %s)\r\n", j + 1, line.s);
			}
			i++;
			j++;
		} else if (j < now.n && now.m[j].uid < o->uid) {
			j++;	/* cannot happen: new UIDs only grow */
		} else {
			if (s->qresync)
				imap_sess_printf(s, "* VANISHED %u\r\n", o->uid);
			else
				imap_sess_printf(s, "* %zu EXPUNGE\r\n", i + 1 - removed);
			removed++;
			i++;
		}
	}
	for (i = 0; i < now.n; i++)
		if (now.m[i].flags & IMAP_FLAG_RECENT)
			recent++;
	if (now.n != s->snap.n - removed || now.new_count > 0) {
		imap_sess_printf(s, "* %zu EXISTS\r\n", now.n);
		if (!s->rev2)
			imap_sess_printf(s, "* %zu RECENT\r\n", recent);
	}
	str_deinit(&line);
	imap_mbox_snap_free(&s->snap);
	s->snap = now;
}

static void
sess_close(struct imap_sess *s)
{
	size_t i;

	imap_mbox_snap_free(&s->snap);
	for (i = 0; i < IMAP_MAX_KEYWORDS; i++)
		XFREE(s->kw[i]);
	s->nkw = 0;
	XFREE(s->sel_name);
	XFREE(s->sel_dir);
	XFREE(s->saved);
	s->nsaved = 0;
	s->selected = false;
}

/* --- authenticated state --- */

static const char *
cmd_select(struct imap_sess *s, const struct imap_arg *a, size_t n, bool examine,
    struct str *reply)
{
	const char *name, *err;
	struct str e;
	char *dir;
	size_t i, recent = 0, unseen = 0;
	struct imap_qresync q;

	memset(&q, 0, sizeof(q));
	if ((n != 1 && n != 2) || !imap_arg_is_astring(&a[0]))
		return str_append(reply, "Error in IMAP command: Invalid arguments"), "BAD";
	if (n == 2 && !imap_condstore_select(s, &a[1], &q, &err))
		return str_appendf(reply, "Error in IMAP command %s: %s",
		    examine ? "EXAMINE" : "SELECT", err), "BAD";
	name = a[0].str;
	if (s->selected) {
		sess_close(s);
		imap_sess_printf(s, "* OK [CLOSED] Previous mailbox closed.\r\n");
	}
	str_init(&e, 64);
	if (!imap_mailbox_is_inbox(name) && imap_sess_name_check(s, name, &e) != 0) {
		str_append(reply, e.s);
		str_deinit(&e);
		return "NO";
	}
	str_deinit(&e);
	dir = imap_sess_dir(s, name);
	if (!imap_mailbox_is_inbox(name) && !imap_layout_selectable(&s->layout, dir)) {
		free(dir);
		free(q.known);
		str_appendf(reply, "Mailbox doesn't exist: %s", imap_ns_show(s, name));
		return "NO";
	}
	if (imap_mbox_scan(dir, &s->snap, &err) != 0) {
		log_error("imap(%s): %s", s->user, err);
		free(dir);
		free(q.known);
		str_append(reply, "[SERVERBUG] Internal error occurred. Refer to server log for more "
		    "information.");
		return "NO";
	}
	s->selected = true;
	s->nomodseq = s->snap.highestmodseq == 0;
	s->readonly = examine;
	s->sel_dir = dir;
	s->sel_name = xstrdup(imap_mailbox_is_inbox(name) ? "INBOX" : name);
	imap_mbox_keywords_read(dir, s->kw, &s->nkw);
	imap_sess_flag_lists(s);
	for (i = 0; i < s->snap.n; i++) {
		if (s->snap.m[i].flags & IMAP_FLAG_RECENT)
			recent++;
		if (unseen == 0 && !(s->snap.m[i].flags & IMAP_FLAG_SEEN))
			unseen = i + 1;
	}
	if (s->rev2) {
		/* RFC 9051 6.3.2: the LIST line, no RECENT, no UNSEEN */
		struct str qname;

		str_init(&qname, 64);
		imap_sess_name(s, &qname, s->sel_name);
		imap_sess_printf(s, "* %zu EXISTS\r\n* LIST () \".\" %s\r\n", s->snap.n, qname.s);
		str_deinit(&qname);
	} else {
		imap_sess_printf(s, "* %zu EXISTS\r\n* %zu RECENT\r\n", s->snap.n, recent);
		if (unseen > 0)
			imap_sess_printf(s, "* OK [UNSEEN %zu] First unseen.\r\n", unseen);
	}
	imap_sess_printf(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n* OK [UIDNEXT %u] Predicted next UID\r\n",
	    s->snap.uidvalidity, s->snap.uidnext);
	imap_condstore_select_done(s, &q);
	str_append(reply, examine ? "[READ-ONLY] Examine completed" : "[READ-WRITE] Select completed");
	return "OK";
}

int
imap_sess_name_check(const struct imap_sess *s, const char *name, struct str *error)
{
	if (imap_mailbox_name_check(name, error) != 0)
		return -1;
	return imap_layout_name_check(&s->layout, name, error);
}

/* name_arg - the mailbox argument, checked; NULL with the NO text */
static const char *
name_arg(const struct imap_sess *s, const struct imap_arg *a, struct str *reply)
{
	struct str e;
	const char *name = a->str;

	if (imap_mailbox_is_inbox(name))
		return name;
	str_init(&e, 64);
	if (imap_sess_name_check(s, name, &e) != 0) {
		str_append(reply, e.s);
		str_deinit(&e);
		return NULL;
	}
	str_deinit(&e);
	return name;
}

static const char *
cmd_create(struct imap_sess *s, const struct imap_arg *a, size_t n, struct str *reply)
{
	char *name, *dir;
	const char *ok;

	/* RFC 6154 CREATE-SPECIAL-USE's "(USE (\\Drafts))": accepted and
	 * not stored, as Dovecot 2.3 does without a mailbox list index */
	if (n == 2 && a[1].type == IMAP_ARG_LIST && a[1].count == 2 &&
	    a[1].list[0].type == IMAP_ARG_ATOM && strcasecmp(a[1].list[0].str, "USE") == 0 &&
	    a[1].list[1].type == IMAP_ARG_LIST)
		n = 1;
	if (n != 1 || !imap_arg_is_astring(&a[0]))
		return str_append(reply, "Error in IMAP command: Invalid arguments"), "BAD";
	name = xstrdup(a[0].str);
	/* "foo." asks for a hierarchy: Maildir++ needs nothing more */
	if (strlen(name) > 1 && name[strlen(name) - 1] == '.')
		name[strlen(name) - 1] = '\0';
	if (imap_mailbox_is_inbox(name)) {
		free(name);
		str_append(reply, "[ALREADYEXISTS] Mailbox already exists");
		return "NO";
	}
	{
		struct imap_arg tmp = a[0];

		tmp.str = name;
		if (name_arg(s, &tmp, reply) == NULL) {
			free(name);
			return "NO";
		}
	}
	if (imap_mailbox_name_controls(name)) {
		free(name);
		str_append(reply, "[CANNOT] Control characters not allowed in new mailbox names");
		return "NO";
	}
	dir = imap_sess_dir(s, name);
	if (imap_layout_create(&s->layout, dir) != 0) {
		if (errno == EEXIST) {
			str_append(reply, "[ALREADYEXISTS] Mailbox already exists");
		} else {
			log_error("imap(%s): mkdir(%s) failed: %s", s->user, dir, strerror(errno));
			str_append(reply, "[SERVERBUG] Internal error occurred. Refer to server log "
			    "for more information.");
		}
		ok = "NO";
	} else {
		str_append(reply, "Create completed");
		ok = "OK";
	}
	free(dir);
	free(name);
	return ok;
}

static const char *
cmd_delete(struct imap_sess *s, const struct imap_arg *a, size_t n, struct str *reply)
{
	const char *name;
	char *dir;

	if (n != 1 || !imap_arg_is_astring(&a[0]))
		return str_append(reply, "Error in IMAP command: Invalid arguments"), "BAD";
	if (imap_mailbox_is_inbox(a[0].str))
		return str_append(reply, "INBOX can't be deleted"), "NO";
	if ((name = name_arg(s, &a[0], reply)) == NULL)
		return "NO";
	dir = imap_sess_dir(s, name);
	if (!dir_exists(s, dir)) {
		free(dir);
		str_appendf(reply, "[NONEXISTENT] Mailbox doesn't exist: %s",
		    imap_ns_show(s, name));
		return "NO";
	}
	if (s->selected && strcmp(s->sel_dir, dir) == 0)
		sess_close(s);
	/* LAYOUT=fs: the children stay in the directory, now a \Noselect parent */
	if (imap_mbox_delete(dir) != 0 && !(s->layout.fs && errno == ENOTEMPTY)) {
		log_error("imap(%s): cannot delete %s: %s", s->user, dir, strerror(errno));
		free(dir);
		str_append(reply, "[SERVERBUG] Internal error occurred. Refer to server log for "
		    "more information.");
		return "NO";
	}
	free(dir);
	str_append(reply, "Delete completed");
	return "OK";
}

static const char *
cmd_rename(struct imap_sess *s, const struct imap_arg *a, size_t n, struct str *reply)
{
	struct strvec folders;
	const char *from, *to;
	char *fdir, *tdir;
	size_t i, fl;

	if (n != 2 || !imap_arg_is_astring(&a[0]) || !imap_arg_is_astring(&a[1]))
		return str_append(reply, "Error in IMAP command: Invalid arguments"), "BAD";
	if ((from = name_arg(s, &a[0], reply)) == NULL || (to = name_arg(s, &a[1], reply)) == NULL)
		return "NO";
	if (imap_mailbox_is_inbox(from) || imap_mailbox_is_inbox(to))
		return str_append(reply, "[CANNOT] Renaming INBOX isn't supported"), "NO";
	/* "a" to "a.b": Maildir++ would then move the renamed folder once
	 * more with the children (to "a.b.b"), LAYOUT=fs cannot rename a
	 * directory into itself; Dovecot refuses it in these words */
	fl = strlen(from);
	if (strncmp(to, from, fl) == 0 && to[fl] == '.')
		return str_append(reply, "Can't rename mailbox under its own child"), "NO";
	if (imap_mailbox_name_controls(to))
		return str_append(reply, "[CANNOT] Control characters not allowed in new mailbox "
		    "names"), "NO";
	fdir = imap_sess_dir(s, from);
	tdir = imap_sess_dir(s, to);
	if (!dir_exists(s, fdir)) {
		str_appendf(reply, "[NONEXISTENT] Mailbox doesn't exist: %s",
		    imap_ns_show(s, from));
		free(fdir);
		free(tdir);
		return "NO";
	}
	if (dir_exists(s, tdir)) {
		str_append(reply, "[ALREADYEXISTS] Target mailbox already exists");
		free(fdir);
		free(tdir);
		return "NO";
	}
	if (imap_layout_mkparents(&s->layout, tdir) != 0 || rename(fdir, tdir) != 0) {
		free(fdir);
		free(tdir);
		str_append(reply, "[SERVERBUG] Internal error occurred. Refer to server log for "
		    "more information.");
		return "NO";
	}
	/* the children move with it */
	strvec_init(&folders);
	imap_layout_folders(&s->layout, &folders);
	fl = strlen(from);
	for (i = 0; i < folders.n; i++) {
		/* LAYOUT=fs: they moved with their parent directory */
		if (!s->layout.fs && strncmp(folders.v[i], from, fl) == 0 &&
		    folders.v[i][fl] == '.') {
			char *a1 = imap_sess_dir(s, folders.v[i]);
			char *b1 = xasprintf("%s/.%s%s", s->layout.root, to, folders.v[i] + fl);

			(void)rename(a1, b1);
			free(a1);
			free(b1);
		}
	}
	strvec_deinit(&folders);
	/* LAYOUT=fs: the source's parents that are left empty go, as with
	 * Dovecot (rmdir removes nothing that holds a file) */
	if (s->layout.fs) {
		size_t rl = strlen(s->layout.root);
		char *slash;

		while ((slash = strrchr(fdir, '/')) != NULL && (size_t)(slash - fdir) > rl) {
			*slash = '\0';
			if (rmdir(fdir) != 0)
				break;
		}
	}
	free(fdir);
	free(tdir);
	str_append(reply, "Rename completed");
	return "OK";
}

static const char *
cmd_subscribe(struct imap_sess *s, const struct imap_arg *a, size_t n, bool sub, struct str *reply)
{
	struct strvec subs, keep;
	const char *name;
	char *lock;
	size_t i;

	if (n != 1 || !imap_arg_is_astring(&a[0]))
		return str_append(reply, "Error in IMAP command: Invalid arguments"), "BAD";
	if ((name = name_arg(s, &a[0], reply)) == NULL)
		return "NO";
	if (imap_mailbox_is_inbox(name))
		name = "INBOX";
	if (sub && !imap_mailbox_is_inbox(name)) {
		char *dir = imap_sess_dir(s, name);
		bool ok = dir_exists(s, dir);

		free(dir);
		if (!ok) {
			str_appendf(reply, "Mailbox doesn't exist: %s", imap_ns_show(s, name));
			return "NO";
		}
	}
	strvec_init(&subs);
	strvec_init(&keep);
	lock = imap_subscriptions_lock(&s->layout);
	imap_subscriptions_read(&s->layout, &subs);
	for (i = 0; i < subs.n; i++)
		if (strcmp(subs.v[i], name) != 0)
			strvec_push(&keep, subs.v[i]);
	if (sub)
		strvec_push(&keep, name);
	(void)imap_subscriptions_write(&s->layout, &keep);
	imap_subscriptions_unlock(&lock);
	strvec_deinit(&subs);
	strvec_deinit(&keep);
	str_append(reply, sub ? "Subscribe completed" : "Unsubscribe completed");
	return "OK";
}

const char *
imap_cmd_status(struct imap_sess *s, const struct imap_arg *a, size_t n, struct str *reply)
{
	struct imap_mbox_snap snap;
	const char *name, *err;
	struct str line, q;
	char *dir;
	size_t i, k, unseen = 0, recent = 0;

	if (n != 2 || !imap_arg_is_astring(&a[0]) || a[1].type != IMAP_ARG_LIST)
		return str_append(reply, "Error in IMAP command STATUS: Invalid arguments"), "BAD";
	if ((name = name_arg(s, &a[0], reply)) == NULL)
		return "NO";
	dir = imap_sess_dir(s, name);
	if (!imap_mailbox_is_inbox(name) && !imap_layout_selectable(&s->layout, dir)) {
		free(dir);
		str_appendf(reply, "[NONEXISTENT] Mailbox doesn't exist: %s",
		    imap_ns_show(s, name));
		return "NO";
	}
	for (k = 0; k < a[1].count; k++) {
		const char *it = imap_arg_string(&a[1].list[k]);

		if (it == NULL || (strcasecmp(it, "MESSAGES") != 0 &&
		    (strcasecmp(it, "RECENT") != 0 || s->rev2) &&
		    strcasecmp(it, "UIDNEXT") != 0 && strcasecmp(it, "UIDVALIDITY") != 0 &&
		    strcasecmp(it, "UNSEEN") != 0 && strcasecmp(it, "HIGHESTMODSEQ") != 0)) {
			free(dir);
			str_appendf(reply, "Error in IMAP command STATUS: Invalid status item %s",
			    it != NULL ? it : "");
			return "BAD";
		}
	}
	/* STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command (RFC 7162 3.1) */
	for (k = 0; k < a[1].count; k++)
		if (strcasecmp(a[1].list[k].str, "HIGHESTMODSEQ") == 0)
			s->condstore = true;
	if (s->selected && strcmp(dir, s->sel_dir) == 0)
		imap_sess_sync(s, true);
	if (imap_mbox_scan(dir, &snap, &err) != 0) {
		free(dir);
		str_append(reply, "[SERVERBUG] Internal error occurred. Refer to server log for "
		    "more information.");
		return "NO";
	}
	for (i = 0; i < snap.n; i++) {
		if (!(snap.m[i].flags & IMAP_FLAG_SEEN))
			unseen++;
		if (snap.m[i].flags & IMAP_FLAG_RECENT)
			recent++;
	}
	str_init(&line, 128);
	str_init(&q, 64);
	imap_sess_name(s, &q, imap_mailbox_is_inbox(name) ? "INBOX" : name);
	/* Dovecot's fixed order, whatever the order asked */
	{
		static const char *const order[] = { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY",
			"UNSEEN", "HIGHESTMODSEQ" };
		unsigned long long val[6];
		size_t o;

		val[0] = snap.n;
		val[1] = recent;
		val[2] = snap.uidnext;
		val[3] = snap.uidvalidity;
		val[4] = unseen;
		val[5] = snap.highestmodseq;
		for (o = 0; o < 6; o++) {
			for (k = 0; k < a[1].count; k++)
				if (strcasecmp(a[1].list[k].str, order[o]) == 0)
					break;
			if (k < a[1].count)
				str_appendf(&line, "%s%s %llu", line.len > 0 ? " " : "", order[o], val[o]);
		}
	}
	imap_sess_printf(s, "* STATUS %s (%s)\r\n", q.s, line.s);
	str_deinit(&line);
	str_deinit(&q);
	imap_mbox_snap_free(&snap);
	free(dir);
	str_append(reply, "Status completed");
	return "OK";
}

/* date_time - "17-Jul-1996 02:44:25 -0700" */
static time_t
date_time(const char *s)
{
	char day[16];
	int h, m, sec, zone;
	time_t d;

	if (*s == ' ')
		s++;
	if (sscanf(s, "%11s %d:%d:%d %d", day, &h, &m, &sec, &zone) != 5)
		return -1;
	if ((d = imap_date_parse(day)) == (time_t)-1 || h > 23 || m > 59 || sec > 60)
		return -1;
	{
		int zs = zone < 0 ? -1 : 1, za = zone < 0 ? -zone : zone;

		return d + h * 3600 + m * 60 + sec - zs * ((za / 100) * 3600 + (za % 100) * 60);
	}
}

static const char *
cmd_append(struct imap_sess *s, const struct imap_arg *a, size_t n, struct str *reply)
{
	struct imap_mbox_snap snap;
	const char *name, *err;
	const struct imap_arg *msg;
	unsigned flags = 0;
	uint32_t kw = 0;
	time_t date = time(NULL);
	char *dir, *base = NULL, *kwn[IMAP_MAX_KEYWORDS] = { 0 };
	size_t i, nkw = 0, k = 1;
	uint32_t uid = 0;

	if (n < 2 || !imap_arg_is_astring(&a[0]))
		return str_append(reply, "Error in IMAP command APPEND: Invalid arguments"), "BAD";
	if (a[k].type == IMAP_ARG_LIST)
		k++;
	if (k < n - 1 && a[k].type == IMAP_ARG_STRING) {
		if ((date = date_time(a[k].str)) == (time_t)-1)
			return str_append(reply, "Error in IMAP command APPEND: Invalid internal date "
			    "parameter"), "BAD";
		k++;
	}
	if (k != n - 1 || a[k].type != IMAP_ARG_LITERAL)
		return str_append(reply, "Error in IMAP command APPEND: Invalid arguments"), "BAD";
	msg = &a[k];
	/* the flags as STORE takes them: atoms, known system flags, valid
	 * keywords (a quoted "a b" or "k]" was stored and then broke every
	 * FLAGS list it was echoed in) */
	for (i = 0; a[1].type == IMAP_ARG_LIST && i < a[1].count; i++) {
		const char *f = a[1].list[i].str, *kerr;

		if (a[1].list[i].type != IMAP_ARG_ATOM)
			return str_append(reply, "Error in IMAP command APPEND: Flags list contains "
			    "non-atoms."), "BAD";
		if (*f == '\\' && strcasecmp(f, "\\Seen") != 0 && strcasecmp(f, "\\Answered") != 0 &&
		    strcasecmp(f, "\\Flagged") != 0 && strcasecmp(f, "\\Deleted") != 0 &&
		    strcasecmp(f, "\\Draft") != 0) {
			str_append(reply, "Error in IMAP command APPEND: Invalid system flag ");
			for (; *f != '\0'; f++)
				str_append_c(reply, (char)toupper((unsigned char)*f));
			return "BAD";
		}
		if (*f != '\\' && (kerr = imap_keyword_check(f, true)) != NULL)
			return str_append(reply, kerr), "NO";
	}
	if ((name = name_arg(s, &a[0], reply)) == NULL)
		return "NO";
	dir = imap_sess_dir(s, name);
	if (!imap_mailbox_is_inbox(name) && !imap_layout_selectable(&s->layout, dir)) {
		free(dir);
		str_appendf(reply, "[TRYCREATE] Mailbox doesn't exist: %s", imap_ns_show(s, name));
		return "NO";
	}
	if (msg->len == 0) {
		free(dir);
		return str_append(reply, "Can't save a zero byte message"), "NO";
	}
	if (!imap_quota_allows(s, msg->len, 1, reply)) {
		free(dir);
		return "NO";
	}
	if (imap_mailbox_is_inbox(name)) {
		/* INBOX's Maildir may not exist before the first delivery */
		(void)mkdir(dir, 0700);
		for (i = 0; i < 3; i++) {
			char *sub = xasprintf("%s/%s", dir, i == 0 ? "cur" : i == 1 ? "new" : "tmp");

			(void)mkdir(sub, 0700);
			free(sub);
		}
	}
	imap_mbox_keywords_read(dir, kwn, &nkw);
	if (a[1].type == IMAP_ARG_LIST) {
		for (i = 0; i < a[1].count; i++) {
			const char *f = imap_arg_string(&a[1].list[i]);
			int idx;

			if (f == NULL)
				continue;
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
			else if (*f != '\\' && (idx = imap_mbox_keyword_index(dir, kwn, &nkw, f, true)) >= 0)
				kw |= 1u << idx;
		}
	}
	for (i = 0; i < IMAP_MAX_KEYWORDS; i++)
		free(kwn[i]);
	if (imap_mbox_save(dir, msg->str, msg->len, flags, kw, date, &base) != 0) {
		log_error("imap(%s): saving into %s failed: %s", s->user, dir, strerror(errno));
		free(dir);
		str_append(reply, "[SERVERBUG] Internal error occurred. Refer to server log for more "
		    "information.");
		return "NO";
	}
	if (s->selected && strcmp(s->sel_dir, dir) == 0) {
		imap_sess_sync(s, true);
		for (i = 0; i < s->snap.n; i++)
			if (strncmp(s->snap.m[i].name, base, strlen(base)) == 0)
				uid = s->snap.m[i].uid;
		str_appendf(reply, "[APPENDUID %u %u] Append completed", s->snap.uidvalidity, uid);
	} else if (imap_mbox_scan(dir, &snap, &err) == 0) {
		for (i = 0; i < snap.n; i++)
			if (strncmp(snap.m[i].name, base, strlen(base)) == 0)
				uid = snap.m[i].uid;
		str_appendf(reply, "[APPENDUID %u %u] Append completed", snap.uidvalidity, uid);
		imap_mbox_snap_free(&snap);
	} else {
		str_append(reply, "Append completed");
	}
	free(base);
	free(dir);
	return "OK";
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* idle_wait - IDLE after its "+ idling", until DONE; deliveries and
 * other sessions' changes are reported as they happen (inotify on new/
 * and cur/). After imap_hibernate_timeout without a word either way the
 * client goes to the hibernate process (s->hibernated, NULL returned). */
static const char *
idle_wait(struct imap_sess *s, struct str *reply)
{
	struct str line;
	int ifd = -1;
	bool fallback = false;
	long long hib_ms = s->conf != NULL ? (long long)s->conf->hibernate_timeout_ms : 0;
	long long notify_ms = s->conf != NULL && s->conf->idle_notify_ms > 0 ?
	    (long long)s->conf->idle_notify_ms : IDLE_KEEPALIVE_MS;
	long long keepalive_at = now_ms() + notify_ms, hib_at = -1;

	if (s->selected && (ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		/* without inotify (the per-user instance limit reached) the
		 * mailbox is looked at every second, as Dovecot falls back to
		 * mailbox_idle_check_interval */
		if (errno == EMFILE)
			log_warn("imap(%s): Inotify instance limit for user %u exceeded, "
			    "disabling. Increase /proc/sys/fs/inotify/max_user_instances", s->user,
			    (unsigned)getuid());
		else
			log_warn("imap(%s): inotify_init1() failed: %s", s->user, strerror(errno));
		fallback = true;
	}
	if (ifd >= 0 && imap_mboxf_is(s->sel_dir)) {
		/* an mbox: its directory, as appends change the file and
		 * rewrites rename a new one into place */
		char *d = xstrdup(s->sel_dir), *slash = strrchr(d, '/');

		if (slash != NULL)
			*slash = '\0';
		(void)inotify_add_watch(ifd, slash != NULL && *d != '\0' ? d : "/",
		    IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_DELETE);
		free(d);
	} else if (ifd >= 0) {
		char *nd = path_join(s->sel_dir, "new"), *cd = path_join(s->sel_dir, "cur");

		(void)inotify_add_watch(ifd, nd, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM);
		(void)inotify_add_watch(ifd, cd, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM);
		free(nd);
		free(cd);
	}
	imap_sess_sync(s, true);
	if (hib_ms > 0)
		hib_at = now_ms() + hib_ms;
	str_init(&line, 64);
	for (;;) {
		struct pollfd pfd[2] = { { .fd = s->conn->fd, .events = POLLIN },
			{ .fd = ifd, .events = POLLIN } };
		long long now, wait;
		int r;

		if (pop3_conn_flush(s->conn) != 0)
			break;
		now = now_ms();
		if (hib_at >= 0 && now >= hib_at) {
			if (imap_hibernate_possible(s) && imap_hibernate_handover(s, ifd) == 1) {
				s->hibernated = true;
				break;
			}
			hib_at = now + hib_ms;	/* not now: again after another while */
		}
		wait = keepalive_at - now;
		if (fallback && wait > IDLE_FALLBACK_CHECK_MS)
			wait = IDLE_FALLBACK_CHECK_MS;
		if (hib_at >= 0 && hib_at - now < wait)
			wait = hib_at - now;
		if (wait < 0)
			wait = 0;
		if (s->conn->in_pos < s->conn->in_len ||
		    (s->conn->z != NULL && pop3_deflate_pending(s->conn->z))) {
			pfd[0].revents = POLLIN;
			r = 1;
		} else {
			r = mem_idle_poll(pfd, ifd >= 0 ? 2 : 1, (int)wait);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			now = now_ms();
			if (fallback)
				imap_sess_sync(s, true);
			if (now >= keepalive_at) {
				imap_sess_printf(s, "* OK Still here\r\n");
				keepalive_at = now + notify_ms;
			}
			continue;
		}
		if (ifd >= 0 && (pfd[1].revents & POLLIN)) {
			char ev[4096];

			while (read(ifd, ev, sizeof(ev)) > 0)
				;
			usleep(20000);	/* a delivery's rename and uidlist settle */
			imap_sess_sync(s, true);
			if (hib_ms > 0)
				hib_at = now_ms() + hib_ms;
		}
		if (pfd[0].revents != 0) {
			enum pop3_read rd = pop3_conn_getline(s->conn, &line, IMAP_DEFAULT_MAX_LINE);

			if (rd != POP3_READ_LINE) {
				str_deinit(&line);
				if (ifd >= 0)
					close(ifd);
				return NULL;
			}
			s->in += line.len + 2;
			if (ifd >= 0)
				close(ifd);
			if (strcasecmp(line.s, "DONE") != 0) {
				str_deinit(&line);
				return str_append(reply, "Expected DONE."), "BAD";
			}
			str_deinit(&line);
			return str_append(reply, "Idle completed"), "OK";
		}
	}
	str_deinit(&line);
	if (ifd >= 0)
		close(ifd);
	return NULL;
}

/* cmd_idle - IDLE (RFC 2177) */
static const char *
cmd_idle(struct imap_sess *s, struct str *reply)
{
	imap_sess_printf(s, "+ idling\r\n");
	return idle_wait(s, reply);
}

/* --- the loop --- */

/* imap_dispatch - one command; NULL ends the session (LOGOUT or a
 * broken connection) after its reply */
static const char *
imap_dispatch(struct imap_sess *s, const char *name, const struct imap_arg *a, size_t n,
    struct str *reply, bool *logout)
{
	bool uid = strncmp(name, "UID ", 4) == 0;
	const char *verb = uid ? name + 4 : name;

	if (strcmp(name, "CAPABILITY") == 0) {
		imap_sess_printf(s, "* CAPABILITY %s%s\r\n", IMAP_CAPS_POSTLOGIN, imap_quota_caps(s));
		return str_append(reply, "Capability completed"), "OK";
	}
	if (strcmp(name, "NOOP") == 0) {
		imap_sess_sync(s, true);
		return str_append(reply, "NOOP completed"), "OK";
	}
	if (strcmp(name, "CHECK") == 0) {
		if (!s->selected)
			return str_append(reply, "No mailbox selected"), "BAD";
		imap_sess_sync(s, true);
		return str_append(reply, "Check completed"), "OK";
	}
	if (strcmp(name, "LOGOUT") == 0) {
		*logout = true;
		imap_sess_printf(s, "* BYE Logging out\r\n");
		return str_append(reply, "Logout completed"), "OK";
	}
	if (strcmp(name, "SELECT") == 0 || strcmp(name, "EXAMINE") == 0)
		return cmd_select(s, a, n, name[0] == 'E', reply);
	if (strcmp(name, "CREATE") == 0)
		return cmd_create(s, a, n, reply);
	if (strcmp(name, "DELETE") == 0)
		return cmd_delete(s, a, n, reply);
	if (strcmp(name, "RENAME") == 0)
		return cmd_rename(s, a, n, reply);
	if (strcmp(name, "SUBSCRIBE") == 0 || strcmp(name, "UNSUBSCRIBE") == 0)
		return cmd_subscribe(s, a, n, name[0] == 'S', reply);
	if (strcmp(name, "LIST") == 0 || strcmp(name, "LSUB") == 0)
		return imap_cmd_list(s, a, n, name[1] == 'S', reply);
	if (strcmp(name, "STATUS") == 0)
		return imap_cmd_status(s, a, n, reply);
	if (strcmp(name, "APPEND") == 0)
		return cmd_append(s, a, n, reply);
	if (strcmp(name, "NAMESPACE") == 0) {
		/* the prefix as a quoted string, as Dovecot sends it */
		struct str q;
		const char *c;

		str_init(&q, 32);
		str_append_c(&q, '"');
		for (c = imap_ns_prefix(s); *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				str_append_c(&q, '\\');
			str_append_c(&q, *c);
		}
		str_append_c(&q, '"');
		imap_sess_printf(s, "* NAMESPACE ((%s \"%s%c\")) NIL NIL\r\n", q.s,
		    imap_ns_sep(s) == '\\' || imap_ns_sep(s) == '"' ? "\\" : "", imap_ns_sep(s));
		str_deinit(&q);
		return str_append(reply, "Namespace completed"), "OK";
	}
	if (strcmp(name, "ID") == 0) {
		imap_sess_printf(s, "* ID (\"name\" \"Dovecot\")\r\n");
		return str_append(reply, "ID completed"), "OK";
	}
	if (strcmp(name, "ENABLE") == 0)
		return imap_cmd_enable(s, a, n, reply);
	if (strcmp(name, "IDLE") == 0)
		return cmd_idle(s, reply);
	if (strcmp(name, "GETQUOTAROOT") == 0 || strcmp(name, "GETQUOTA") == 0 ||
	    strcmp(name, "SETQUOTA") == 0)
		return imap_cmd_quota(s, name, a, n, reply);
	if (strcmp(name, "COMPRESS") == 0)
		return imap_cmd_compress(s, a, n, reply, &s->compress_start);
	/* selected state */
	if (strcmp(verb, "FETCH") == 0 || strcmp(verb, "STORE") == 0 ||
	    strcmp(verb, "SEARCH") == 0 || strcmp(verb, "COPY") == 0 || strcmp(verb, "MOVE") == 0 ||
	    strcmp(name, "EXPUNGE") == 0 || strcmp(name, "UID EXPUNGE") == 0 ||
	    strcmp(name, "CLOSE") == 0 || strcmp(name, "UNSELECT") == 0) {
		if (!s->selected)
			return str_append(reply, "No mailbox selected"), "BAD";
		if (strcmp(verb, "FETCH") == 0)
			return imap_cmd_fetch(s, uid, a, n, reply);
		if (strcmp(verb, "STORE") == 0)
			return imap_cmd_store(s, uid, a, n, reply);
		if (strcmp(verb, "SEARCH") == 0)
			return imap_cmd_search(s, uid, a, n, reply);
		if (strcmp(verb, "COPY") == 0 || strcmp(verb, "MOVE") == 0)
			return imap_cmd_copy(s, uid, verb[0] == 'M', a, n, reply);
		if (strcmp(verb, "EXPUNGE") == 0)
			return imap_cmd_expunge(s, a, n, uid, false, reply);
		if (strcmp(name, "CLOSE") == 0) {
			if (!s->readonly)
				(void)imap_cmd_expunge(s, NULL, 0, false, true, reply);
			str_reset(reply);
			sess_close(s);
			return str_append(reply, "Close completed"), "OK";
		}
		sess_close(s);
		return str_append(reply, "Unselect completed"), "OK";
	}
	str_appendf(reply, "Error in IMAP command %s: Unknown command", name);
	return "BAD";
}

/* imap_mail_mbox_inbox - the spool file exists (empty when new, as
 * Dovecot makes it): an mbox INBOX is then told from a Maildir by stat */
static int
imap_mail_mbox_inbox(const char *path, const char **error_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 || !imap_mboxf_is(path)) {
		if (fd >= 0)
			close(fd);
		*error_r = "cannot open the mbox INBOX";
		return -1;
	}
	close(fd);
	return 0;
}

/* the special-use and quota settings, read once by the service process
 * (imap_service_init) and inherited by each session: a session no longer
 * parses dovecot.conf after its login */
static struct imap_conf service_conf;
static bool service_conf_ok;

const struct imap_conf *
imap_service_conf(void)
{
	return service_conf_ok ? &service_conf : NULL;
}

static void
imap_service_init(const char *conf_path)
{
	service_conf_ok = imap_conf_read(&service_conf, conf_path) == 0;
}

/* sess_open - a session's set-up after its login or restore: the
 * layout of the user's folders and the service's settings; 0, or -1
 * (logged, and tag NO'd when tag is not NULL) */
static int
sess_open(struct imap_sess *s, struct pop3_client *c, struct pop3_conn *conn, const char *user,
    const char *mailbox_path, bool maildir, const char *tag)
{
	const char *err;

	memset(s, 0, sizeof(*s));
	s->client = c;
	s->conn = conn;
	s->user = user;
	s->root = xstrdup(mailbox_path);
	if (imap_layout_init(&s->layout, c->mail_location, user, getenv("HOME"), s->root,
	    &err) != 0 || (!maildir && !s->layout.mbox && (err = "mbox INBOX without an "
	    "mbox mail_location") != NULL) || (s->layout.mbox && imap_mail_mbox_inbox(s->root,
	    &err) != 0)) {
		log_error("imap(%s): mail_location: %s", user, err);
		if (tag != NULL)
			imap_sess_printf(s, "%s NO [SERVERBUG] Internal error occurred. Refer to server "
			    "log for more information.\r\n", tag);
		(void)pop3_conn_flush(conn);
		free(s->root);
		return -1;
	}
	/* special-use mailboxes and quota (imap_conf.c), read by the service */
	if (!service_conf_ok)
		log_warn("imap(%s): cannot read %s: special-use mailboxes and quota are off",
		    user, c->set->conf_path);
	s->conf = &service_conf;
	s->layout.dots = s->layout.fs && imap_ns_sep(s) != '.';
	imap_parser_init(&s->parser, IMAP_DEFAULT_MAX_LINE, IMAP_MAX_APPEND);
	return 0;
}

/* sess_loop - the commands until the session ends, then the logout line;
 * why: the reason so far (NULL: go on reading commands) */
static int
sess_loop(struct imap_sess *s, struct str *reply, const char *why)
{
	struct pop3_conn *conn = s->conn;

	while (why == NULL) {
		struct imap_arg *args;
		struct strvec names;
		const char *ctag, *name, *status;
		struct timespec start;
		char timing[64];
		size_t n;
		bool logout = false;
		enum imap_read rd = imap_read_command(conn, &s->parser);

		why = "Connection closed";
		if (rd == IMAP_READ_TIMEOUT) {
			why = "Inactivity - no input for 1800 secs";
			imap_sess_printf(s, "* BYE Disconnected for inactivity.\r\n");
			break;
		}
		if (rd == IMAP_READ_FATAL) {
			why = imap_parser_error(&s->parser);
			break;
		}
		if (rd != IMAP_READ_COMMAND)
			break;
		why = NULL;
		clock_gettime(CLOCK_MONOTONIC, &start);
		s->in += s->parser.buf.len + 2;
		str_reset(reply);
		if (imap_parser_args(&s->parser, &ctag, &name, &args, &n) != 0) {
			imap_timing(timing, sizeof(timing), &start);
			if (strcmp(imap_parser_error(&s->parser), "Invalid tag") == 0)
				imap_sess_printf(s, "* BAD Error in IMAP tag: Invalid tag%s\r\n", timing);
			else
				imap_sess_printf(s, "%s BAD Error in IMAP command %s: %s%s\r\n", ctag, name,
				    imap_parser_error(&s->parser), timing);
			imap_parser_reset(&s->parser);
			continue;
		}
		s->tag = ctag;
		strvec_init(&names);
		/* UTF8=ACCEPT: names arrive in UTF-8, are kept in mUTF-7 */
		if (imap_enable_name_args(s, name, args, n, &names, reply) != 0) {
			status = reply->len > 0 ? "NO" : "BAD";
			if (reply->len == 0)
				str_appendf(reply, "Error in IMAP command %s: Mailbox name is not "
				    "valid UTF-8", name);
		} else {
			bool had_condstore = s->condstore, had_mailbox = s->selected;

			status = imap_dispatch(s, name, args, n, reply, &logout);
			/* RFC 7162 3.1: the first CONDSTORE enabling command with
			 * a mailbox selected reports its HIGHESTMODSEQ (SELECT
			 * and EXAMINE say it themselves) */
			if (status != NULL && !had_condstore && s->condstore && had_mailbox &&
			    s->selected && strcmp(name, "SELECT") != 0 && strcmp(name, "EXAMINE") != 0) {
				if (s->nomodseq)	/* no modseqs: an mbox */
					imap_sess_printf(s, "* OK [NOMODSEQ] No permanent "
					    "modsequences\r\n");
				else
					imap_sess_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
					    (unsigned long long)s->snap.highestmodseq);
			}
		}
		strvec_deinit(&names);
		if (status == NULL) {
			why = "Connection closed";
			break;
		}
		imap_timing(timing, sizeof(timing), &start);
		/* Dovecot ends a BAD argument error with the timing, too */
		if (reply->len > 0 && reply->s[reply->len - 1] == '.')
			str_truncate(reply, reply->len - 1);
		imap_sess_printf(s, "%s %s %s%s\r\n", ctag, status, reply->s, timing);
		imap_parser_reset(&s->parser);
		if (s->compress_start) {
			/* the OK goes out plain; everything after is deflated */
			s->compress_start = false;
			if (pop3_conn_flush(conn) != 0 || pop3_conn_compress(conn) != 0) {
				why = "Connection closed";
				break;
			}
		}
		if (logout) {
			why = "Logged out";
			break;
		}
		if (conn->broken) {
			why = "Connection closed";
			break;
		}
	}
	if (!s->hibernated) {
		(void)pop3_conn_flush(conn);
		log_info("imap(%s)<%ld><%s>: Disconnected: %s in=%llu out=%llu deleted=%u "
		    "expunged=%u trashed=0 hdr_count=0 hdr_bytes=0 body_count=%u body_bytes=%llu",
		    s->user, (long)getpid(), s->client->session, why, s->in, s->out, s->deleted,
		    s->expunged, s->body_count, s->body_bytes);
	}
	sess_close(s);
	str_deinit(reply);
	imap_parser_deinit(&s->parser);
	imap_layout_deinit(&s->layout);
	free(s->root);
	return 0;
}

int
imap_mail_run(struct pop3_client *c, struct pop3_conn *conn, const char *user,
    const char *mailbox_path, bool maildir)
{
	struct imap_sess s;
	struct str reply;
	char tag[256];
	const char *nl;
	size_t tl;

	/* the login's tag comes first (imap_login.c's hand-over) */
	nl = memchr(conn->in + conn->in_pos, '\n', conn->in_len - conn->in_pos);
	tl = nl != NULL ? (size_t)(nl - (conn->in + conn->in_pos)) : 0;
	if (nl == NULL || tl >= sizeof(tag))
		return 1;
	memcpy(tag, conn->in + conn->in_pos, tl);
	tag[tl] = '\0';
	conn->in_pos += tl + 1;
	if (sess_open(&s, c, conn, user, mailbox_path, maildir, tag) != 0)
		return 1;
	imap_list_autocreate(&s);
	str_init(&reply, 256);
	imap_sess_printf(&s, "%s OK [CAPABILITY %s%s] Logged in\r\n", tag, IMAP_CAPS_POSTLOGIN,
	    imap_quota_caps(&s));
	return sess_loop(&s, &reply, NULL);
}

/* restore_snapshot - the client's view from the record: a message for
 * each UID it was told of, with the flags it was last told where known
 * (those changed since the record's HIGHESTMODSEQ are marked changed, so
 * that sync_report sends their FETCH); UIDs gone since are kept so that
 * their EXPUNGE carries the right sequence number */
static void
restore_snapshot(struct imap_sess *s, const struct imap_hib_state *st,
    const struct imap_mbox_snap *now)
{
	size_t r, j = 0, k = 0;

	memset(&s->snap, 0, sizeof(s->snap));
	s->snap.m = xcalloc(st->count + 1, sizeof(*s->snap.m));
	for (r = 0; r < st->nuids; r++) {
		uint64_t uid;

		for (uid = st->uids[r].lo; uid <= st->uids[r].hi; uid++) {
			struct imap_msg *m = &s->snap.m[k++];

			m->uid = (uint32_t)uid;
			m->name_borrowed = true;	/* no name: never read, never freed */
			while (j < now->n && now->m[j].uid < uid)
				j++;
			if (j < now->n && now->m[j].uid == uid) {
				m->flags = now->m[j].flags;
				m->kw = now->m[j].kw;
				m->modseq = now->m[j].modseq;
				if (st->modseq > 0 && now->m[j].modseq > st->modseq)
					m->flags ^= IMAP_FLAG_DRAFT;	/* changed: reported */
			}
		}
	}
	s->snap.n = k;
	s->snap.uidvalidity = now->uidvalidity;
	s->snap.uidnext = now->uidnext;
	s->snap.highestmodseq = st->modseq;
}

int
imap_mail_restore(struct pop3_client *c, struct pop3_conn *conn, const char *user,
    const char *mailbox_path, bool maildir, const struct imap_hib_state *st)
{
	struct imap_sess s;
	struct imap_mbox_snap now;
	struct str reply, e;
	const char *err, *status, *why = NULL;
	char *dir;
	int rc;

	if (sess_open(&s, c, conn, user, mailbox_path, maildir, NULL) != 0)
		return 1;
	str_init(&reply, 256);
	s.condstore = st->condstore;
	s.qresync = st->qresync;
	s.rev2 = st->rev2;
	s.utf8 = st->utf8;
	s.in = st->in;
	s.out = st->out;
	str_init(&e, 64);
	if (!imap_mailbox_is_inbox(st->mailbox) && imap_sess_name_check(&s, st->mailbox, &e) != 0) {
		log_error("imap(%s): restored session: mailbox %s: %s", user, st->mailbox, e.s);
		str_deinit(&e);
		imap_sess_printf(&s, "* BYE [UNAVAILABLE] Temporary failure.\r\n");
		return sess_loop(&s, &reply, "Restore failed");
	}
	str_deinit(&e);
	dir = imap_sess_dir(&s, st->mailbox);
	rc = imap_mbox_scan(dir, &now, &err);
	if (rc != 0 || now.uidvalidity != st->uidvalidity) {
		/* gone, or its UIDs mean other messages now: the client must
		 * select again, which a new connection does */
		log_info("imap(%s): restored session: %s changed under it", user, st->mailbox);
		if (rc == 0)
			imap_mbox_snap_free(&now);
		free(dir);
		imap_sess_printf(&s, "* BYE [UNAVAILABLE] Mailbox changed while hibernated.\r\n");
		return sess_loop(&s, &reply, "Mailbox changed");
	}
	s.selected = true;
	s.nomodseq = now.highestmodseq == 0;
	s.readonly = st->readonly;
	s.sel_dir = dir;
	s.sel_name = xstrdup(st->mailbox);
	imap_mbox_keywords_read(dir, s.kw, &s.nkw);
	restore_snapshot(&s, st, &now);
	sync_report(&s, &now, s.nkw);
	/* back in the client's IDLE */
	s.tag = st->tag;
	status = idle_wait(&s, &reply);
	if (status != NULL)
		imap_sess_printf(&s, "%s %s %s\r\n", st->tag, status, reply.s);
	else
		why = s.hibernated ? "Hibernated" : "Connection closed";
	str_reset(&reply);
	s.tag = NULL;
	return sess_loop(&s, &reply, why);
}

int
cmd_imap(int argc, char **argv)
{
	static const struct pop3_proto imap = { "imap", NULL, imap_login_run, imap_mail_run, false,
	    imap_service_init, imap_hibernate_start };
	int rc = pop3_service_main(argc, argv, &imap);

	imap_conf_free(&service_conf);
	return rc;
}
