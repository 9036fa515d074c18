/* deliver.c - dovecot-lda's job: deliver one message (standard input) to
 * one user through the user's Sieve script, for mailbox_command or a
 * pipe transport:
 *   deliver [-c dovecot.conf] -d USER [-f SENDER] [-a ORIG_RCPT] [-r RCPT]
 *           [-m MAILBOX] [-e] [-p FILE] [-o plugin/key=value]
 * The user comes from the system passwd, else (as dovecot-lda's -d) from
 * the instance's userdb through $base_dir/auth-master; without -d from
 * USER and HOME. As root, deliver becomes the user before
 * reading the script or writing mail. Scripts: plugin { sieve =
 * file:~/sieve;active=~/.dovecot.sieve  sieve_before  sieve_before2..
 * sieve_after  sieve_after2..  sieve_global  sieve_* limits }. A script that
 * does not compile, or fails while running, leaves the message in the
 * default mailbox (RFC 5228 2.10.6): mail is never lost. Mail goes through
 * src/storage (Maildir or mbox, mail_location); imap4flags are stored as
 * Dovecot's LDA stores them: in a Maildir by the file name (":2,FSab",
 * keywords lettered by storage/storage_keywords.c), in an mbox by the
 * Status, X-Status and X-Keywords headers with the names in the first
 * message's X-IMAPbase; messages leave through
 * sendmail_path (execv, no shell). Exit codes as dovecot-lda: 0 delivered,
 * 67 unknown user, 75 temporary failure, 77 rejected with -e.
 * Tests: tests/e2e/test_sieve_deliver.py */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "cli/cli.h"
#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/mail_location.h"
#include "mail/header.h"
#include "sieve/sieve.h"
#include "sieve/sieve_config.h"
#include "sieve/sieve_exec.h"
#include "sieve/sieve_track.h"
#include "storage/storage.h"
#include "storage/storage_keywords.h"
#include "storage/mbox_file.h"
#include "storage/mbox_meta.h"
#include "imap/imap_conf.h"
#include "imap/imap_layout.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_mbox_mbox.h"
#include "imap/imap_ns.h"
#include "imap/imap_utf7.h"

#define EX_NOUSER	67
#define EX_TEMPFAIL	75
#define EX_NOPERM	77
#define DELIVER_MAX_MESSAGE	(256 * 1024 * 1024)

struct deliver {
	const char *user;
	struct passwd pw;
	char	*home;
	struct dovecot_conf *dc;
	char	*root;		/* mail root (Maildir dir, or mbox directory) */
	char	*inbox;		/* INBOX path */
	bool	 maildir;
	bool	 layout_fs;	/* mail_location's LAYOUT=fs */
	struct imap_layout layout;	/* names to paths, as IMAP maps them */
	struct imap_conf ns;	/* the inbox namespace's separator and prefix */
	bool	 autocreate;
	char	*sendmail;
	char	*track;		/* vacation/duplicate record */
	const char *sender;
	time_t	 now;
	int	 failures;
	bool	 has_return_path;	/* the message brings its own */
};

static void
lda_log(struct deliver *d, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* lda_log - Dovecot's shape: "lda(user): Info: sieve: ..." on stderr */
static void
lda_log(struct deliver *d, const char *level, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lda(%s): %s: ", d->user, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* expand_home - "~/x" and %u, %n, %d, %h as Dovecot expands them */
static char *
expand_home(const char *v, const struct deliver *d)
{
	struct str out;
	const char *p;
	const char *at = strchr(d->user, '@');

	str_init(&out, 64);
	for (p = v; *p != 0; p++) {
		if (*p == '~' && p == v)
			str_append(&out, d->home);
		else if (*p == '%' && p[1] != 0) {
			p++;
			if (*p == 'u')
				str_append(&out, d->user);
			else if (*p == 'n')
				str_append_n(&out, d->user, at != NULL ? (size_t)(at - d->user) :
				    strlen(d->user));
			else if (*p == 'd')
				str_append(&out, at != NULL ? at + 1 : "");
			else if (*p == 'h')
				str_append(&out, d->home);
			else
				str_append_c(&out, *p);
		} else
			str_append_c(&out, *p);
	}
	return str_export(&out);
}

static const char *
plugin(const struct deliver *d, const char *key)
{
	char path[128];

	snprintf(path, sizeof(path), "plugin/%s", key);
	return dovecot_conf_get(d->dc, path);
}

/* mail_setup - INBOX and the folder root from mail_location (the same
 * parser as login and IMAP: storage/mail_location.h); 0 or -1 logged */
static int
mail_setup(struct deliver *d)
{
	struct mail_location ml;
	const char *err;

	if (mail_location_parse(dovecot_conf_get(d->dc, "mail_location"), d->user, d->home, &ml,
	    &err) != 0) {
		lda_log(d, "Fatal", "mail_location: %s", err);
		mail_location_deinit(&ml);
		return -1;
	}
	d->maildir = ml.format == STORAGE_MAILDIR;
	d->layout_fs = ml.layout_fs;
	d->root = ml.root;
	d->inbox = ml.inbox;
	ml.root = ml.inbox = NULL;
	mail_location_deinit(&ml);
	/* the layout imap_layout_init makes of the same location */
	d->layout.inbox = xstrdup(d->inbox);
	d->layout.root = xstrdup(d->root);
	d->layout.mbox = !d->maildir;
	d->layout.fs = d->layout_fs || d->layout.mbox;
	imap_conf_load(&d->ns, d->dc);
	d->layout.dots = d->layout.fs && imap_ns_conf_sep(&d->ns, &d->layout) != '.';
	return 0;
}

/* folder_path - where mailbox name (a Sieve name: UTF-8, the inbox
 * namespace's separator and prefix, as Pigeonhole takes it) lives: the
 * path IMAP serves that name from (imap_ns.c, imap_layout.c), so that
 * fileinto "A/B" lands where a client sees "A/B". NULL for a name IMAP
 * refuses (it could also leave the root). */
static char *
folder_path(const struct deliver *d, const char *name)
{
	struct str m, in, err;
	char *path = NULL;

	if (strcasecmp(name, "INBOX") == 0)
		return xstrdup(d->inbox);
	str_init(&m, strlen(name) + 16);
	str_init(&in, strlen(name) + 16);
	str_init(&err, 64);
	if (imap_utf8_to_mutf7(name, &m) == 0 &&
	    imap_ns_conf_in(&d->ns, &d->layout, m.s, &in, &err) == 0) {
		if (imap_mailbox_is_inbox(in.s))
			path = xstrdup(d->inbox);
		else if (imap_mailbox_name_check(in.s, &err) == 0 &&
		    imap_layout_name_check(&d->layout, in.s, &err) == 0)
			path = imap_layout_dir(&d->layout, in.s);
	}
	str_deinit(&m);
	str_deinit(&in);
	str_deinit(&err);
	return path;
}

static bool
folder_exists(const struct deliver *d, const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* special_use_find - the first mailbox of a namespace { mailbox NAME {
 * special_use = \\Junk } } with flag, or with name (when name is not NULL)
 * whether it has the flag; returns the name (borrowed) or NULL */
static const char *
special_use_find(const struct deliver *d, const char *name, const char *flag)
{
	const struct dovecot_conf_section *root = dovecot_conf_root(d->dc);
	size_t i, j;

	for (i = 0; i < dovecot_conf_section_count(root); i++) {
		const struct dovecot_conf_section *ns = dovecot_conf_section_child(root, i);
		const char *t = dovecot_conf_section_type(ns);

		if (t == NULL || strcmp(t, "namespace") != 0)
			continue;
		for (j = 0; j < dovecot_conf_section_count(ns); j++) {
			const struct dovecot_conf_section *mb = dovecot_conf_section_child(ns, j);
			const char *mt = dovecot_conf_section_type(mb);
			const char *mn = dovecot_conf_section_name(mb);
			const char *su = dovecot_conf_section_get(mb, "special_use");
			char *copy, *w, *save = NULL;
			bool has = false;

			if (mt == NULL || strcmp(mt, "mailbox") != 0 || mn == NULL || su == NULL)
				continue;
			if (name != NULL && strcmp(name, mn) != 0)
				continue;
			copy = xstrdup(su);
			for (w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
				if (strcasecmp(w, flag) == 0)
					has = true;
			free(copy);
			if (has)
				return mn;
		}
	}
	return NULL;
}

static int
cb_special_use_exists(void *ctx, const char *mailbox, const char *flag)
{
	struct deliver *d = ctx;

	return special_use_find(d, mailbox, flag) != NULL;
}

static char *
op_special_use_mailbox(void *ctx, const char *flag)
{
	struct deliver *d = ctx;
	const char *n = special_use_find(d, NULL, flag);

	return n != NULL ? xstrdup(n) : NULL;
}

static int
cb_mailbox_exists(void *ctx, const char *name)
{
	struct deliver *d = ctx;
	char *p = folder_path(d, name);
	int rc = p != NULL && folder_exists(d, p);

	free(p);
	return rc;
}

/* the system flags of imap4flags: Maildir letters (in the order of the
 * ":2," part) and the mbox Status/X-Status bits (storage/mbox_meta.h) */
static const struct {
	const char *flag;
	char	 letter;
	unsigned mbox;
} sysflags[] = {
	{ "\\Draft", 'D', MBOX_DRAFT }, { "\\Flagged", 'F', MBOX_FLAGGED },
	{ "\\Answered", 'R', MBOX_ANSWERED }, { "\\Seen", 'S', MBOX_SEEN },
	{ "\\Deleted", 'T', MBOX_DELETED },
};
#define NSYSFLAGS	(sizeof(sysflags) / sizeof(sysflags[0]))

static int
sysflag_of(const char *f)
{
	size_t k;

	for (k = 0; k < NSYSFLAGS; k++)
		if (strcasecmp(f, sysflags[k].flag) == 0)
			return (int)k;
	return -1;
}

/* flags_split - imap4flags' list as system flags (bits of sysflags) and
 * keywords (borrowed, no duplicates); a keyword that is not an IMAP atom
 * (RFC 5232 section 3; "\\Recent" and other unknown \flags too) is
 * skipped with a warning (Dovecot's LDA skips it silently): the message
 * is still stored with the rest (docs/compat.md) */
static void
flags_split(struct deliver *d, char *const *flags, unsigned *sys_r, char **kw,
    size_t *nkw_r)
{
	size_t i, j, nkw = 0;
	const char *why;
	int k;

	*sys_r = 0;
	for (i = 0; flags != NULL && flags[i] != NULL; i++) {
		if ((k = sysflag_of(flags[i])) >= 0) {
			*sys_r |= 1u << k;
			continue;
		}
		if ((why = storage_keyword_check(flags[i], true)) != NULL) {
			lda_log(d, "Warning", "sieve: invalid keyword '%s' ignored: %s", flags[i],
			    why);
			continue;
		}
		for (j = 0; j < nkw && strcasecmp(kw[j], flags[i]) != 0; j++)
			;
		if (j == nkw && nkw < MBOX_META_MAX_KEYWORDS)
			kw[nkw++] = flags[i];
	}
	*nkw_r = nkw;
}

#define MAILDIR_INFO_SIZE	(NSYSFLAGS + STORAGE_KEYWORDS_MAX + 1)

/* maildir_info - the letters after ":2," for flags: system flags by their
 * letters, keywords by the letters of dir's dovecot-keywords (names added
 * there first, dir made if it is new), so that the message is stored
 * straight into cur/ with them (storage_mail.maildir_info), as Dovecot's
 * LDA stores flagged mail: never visible in new/ without its flags */
static void
maildir_info(struct deliver *d, const char *dir, char *const *flags,
    char letters[MAILDIR_INFO_SIZE])
{
	char *kw[MBOX_META_MAX_KEYWORDS];
	char *names[STORAGE_KEYWORDS_MAX] = { 0 };
	size_t n = 0, nkw, nnames = 0, i;
	unsigned sys;
	uint32_t bits = 0;

	letters[0] = '\0';
	if (flags == NULL)
		return;
	flags_split(d, flags, &sys, kw, &nkw);
	if (nkw > 0) {
		(void)mkdir(dir, 0700);
		storage_keywords_read(dir, names, &nnames);
	}
	for (i = 0; i < nkw; i++) {
		int k = storage_keyword_index(dir, names, &nnames, kw[i], true);

		if (k < 0)
			lda_log(d, "Warning", "sieve: keyword '%s' not stored: %s", kw[i],
			    errno == ENOSPC ? "all 26 keyword letters in use" : strerror(errno));
		else
			bits |= 1u << k;
	}
	for (i = 0; i < STORAGE_KEYWORDS_MAX; i++)
		free(names[i]);
	for (i = 0; i < NSYSFLAGS; i++)
		if (sys & (1u << i))
			letters[n++] = sysflags[i].letter;
	for (i = 0; i < STORAGE_KEYWORDS_MAX; i++)
		if (bits & (1u << i))
			letters[n++] = (char)('a' + i);
	letters[n] = 0;
}

/* mbox_head_lacks - some of kw is missing from the X-IMAPbase (or the
 * pseudo message's X-IMAP) of path's first message, read from the
 * file's head; false for a missing or empty file */
static bool
mbox_head_lacks(const char *path, char *const *kw, size_t nkw)
{
	char buf[65536];
	size_t got = 0, pos = 0, from, msg, mlen, i, j;
	struct mbox_meta mm;
	ssize_t r;
	bool lacks = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	while (got < sizeof(buf) && (r = read(fd, buf + got, sizeof(buf) - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got == 0)
		return false;
	/* a header longer than the head read: mbox_meta_parse sees part of
	 * it, and a name it does not find only costs a rewrite */
	if (!mbox_file_next(buf, got, &pos, &from, &msg, &mlen))
		return true;
	mbox_meta_parse(buf + msg, mlen, &mm);
	for (i = 0; i < nkw && !lacks; i++) {
		for (j = 0; j < mm.nbase_keywords; j++)
			if (strcasecmp(mm.base_keywords[j], kw[i]) == 0)
				break;
		lacks = !mm.has_base || j == mm.nbase_keywords;
	}
	mbox_meta_free(&mm);
	return lacks;
}

/* mbox_base_add - kw written into the X-IMAPbase of path's first
 * message, where Dovecot looks for the names it accepts in X-Keywords
 * (it drops an X-Keywords name the mailbox does not list): the file is
 * rewritten under its locks by the IMAP server's mbox writer, which also
 * gives every message its X-UID, as Dovecot's first sync does */
static void
mbox_base_add(struct deliver *d, const char *path, char *const *kw, size_t nkw)
{
	size_t i;

	if (!mbox_head_lacks(path, kw, nkw))
		return;
	for (i = 0; i < nkw; i++)
		(void)imap_mboxf_keyword_index(path, kw[i], true);
	if (imap_mboxf_assign_uids(path) != 0)
		lda_log(d, "Warning", "sieve: cannot list keywords in %s's X-IMAPbase: %s", path,
		    strerror(errno));
}

/* log_lines - each line of the engine's messages, at level, then none
 * left (script: the script's name before each, for compile errors) */
static void
log_lines(struct deliver *d, const char *level, const char *script, struct str *lines)
{
	const char *p = lines->s;

	while (*p != 0) {
		size_t n = strcspn(p, "\n");

		if (script != NULL)
			lda_log(d, level, "sieve: %s: %.*s", script, (int)n, p);
		else
			lda_log(d, level, "sieve: %.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
	str_reset(lines);
}

static int
op_store(void *ctx, const char *mailbox, char *const *flags, bool create, const char *data,
    size_t len)
{
	struct deliver *d = ctx;
	char *path = folder_path(d, mailbox);
	struct storage_mail m;
	struct storage_error err;
	char where[STORAGE_TEXT_SIZE], info[MAILDIR_INFO_SIZE];
	struct str prefix, first;
	char *kw[MBOX_META_MAX_KEYWORDS];
	size_t nkw = 0, i;
	unsigned sys;
	int rc;

	if (path == NULL) {
		lda_log(d, "Error", "sieve: invalid mailbox name '%s'", mailbox);
		return -1;
	}
	if (strcasecmp(mailbox, "INBOX") != 0 && !folder_exists(d, path) && !create &&
	    !d->autocreate) {
		lda_log(d, "Error", "sieve: failed to store into mailbox '%s': Mailbox doesn't exist",
		    mailbox);
		free(path);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	str_init(&prefix, 128);
	/* Return-Path once: local(8) may have put one there already */
	if (!d->has_return_path)
		str_appendf(&prefix, "Return-Path: <%s>\n", d->sender);
	if (!d->maildir && flags != NULL) {
		/* mbox: the flags in the message's own header, as Dovecot
		 * writes them (storage/mbox_meta.h); X-IMAPbase lists the
		 * keywords, made first when the file has mail already and
		 * given with this message (mbox_first) when it is the first */
		struct mbox_meta w;

		memset(&w, 0, sizeof(w));
		flags_split(d, flags, &sys, kw, &nkw);
		for (i = 0; i < NSYSFLAGS; i++)
			if (sys & (1u << i))
				w.flags |= sysflags[i].mbox;
		for (i = 0; i < nkw; i++)
			w.keywords[i] = kw[i];	/* borrowed: w is not freed */
		w.nkeywords = nkw;
		mbox_meta_format(&w, false, &prefix);
		if (nkw > 0) {
			memset(&w, 0, sizeof(w));
			w.uidvalidity = (uint32_t)d->now;
			w.last_uid = 1;
			w.uid = 1;
			for (i = 0; i < nkw; i++)
				w.base_keywords[i] = kw[i];
			w.nbase_keywords = nkw;
			str_init(&first, 128);
			mbox_meta_format(&w, true, &first);
			m.mbox_first = first.s;
			mbox_base_add(d, path, kw, nkw);
		}
	}
	m.sender = d->sender;
	m.arrival = d->now;
	m.prefix = prefix.s;
	m.data = data;
	m.len = len;
	where[0] = 0;
	if (d->maildir && !folder_exists(d, d->root))
		(void)mkdir(d->root, 0700);
	if (d->layout.fs && strlen(path) > strlen(d->root) &&
	    strncmp(path, d->root, strlen(d->root)) == 0) {
		/* the parents of ROOT/A/B (the folder itself storage_deliver
		 * makes); INBOX under LAYOUT=fs is ROOT itself: none */
		char *q = path + strlen(d->root);

		while ((q = strchr(q + 1, '/')) != NULL) {
			*q = '\0';
			(void)mkdir(path, 0700);
			*q = '/';
		}
	}
	if (d->maildir) {
		maildir_info(d, path, flags, info);
		m.maildir_info = info;
	}
	rc = storage_deliver(path, d->maildir ? STORAGE_MAILDIR : STORAGE_MBOX, &m, 0, where, &err);
	if (rc < 0)
		lda_log(d, "Error", "sieve: failed to store into mailbox '%s': %s", mailbox, err.text);
	else if (!d->maildir && nkw > 0)
		/* another delivery may have come first into an empty file */
		mbox_base_add(d, path, kw, nkw);
	if (m.mbox_first != NULL)
		str_deinit(&first);
	str_deinit(&prefix);
	free(path);
	return rc;
}

/* op_send - through sendmail_path, by execv: no shell sees an address */
static int
op_send(void *ctx, const char *from, const char *rcpt, const char *data, size_t len)
{
	struct deliver *d = ctx;
	struct strvec argv;
	char *copy = xstrdup(d->sendmail), *save = NULL, *w;
	int pfd[2], status;
	pid_t pid;

	if (rcpt[0] == '-') {
		free(copy);
		return -1;
	}
	strvec_init(&argv);
	for (w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
		strvec_push(&argv, w);
	free(copy);
	strvec_push(&argv, "-i");
	strvec_push(&argv, "-f");
	strvec_push(&argv, *from == 0 ? "<>" : from);	/* Postfix's sendmail: "<>" is null */
	strvec_push(&argv, "--");
	strvec_push(&argv, rcpt);
	if (pipe(pfd) < 0) {
		strvec_deinit(&argv);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		strvec_deinit(&argv);
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[0], 0);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv.v[0], argv.v);
		_exit(EX_TEMPFAIL);
	}
	close(pfd[0]);
	(void)storage_write_full(pfd[1], data, len);
	close(pfd[1]);
	strvec_deinit(&argv);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		lda_log(d, "Error", "sieve: %s failed for <%s>", d->sendmail, rcpt);
		return -1;
	}
	return 0;
}

static int
op_vacation_seen(void *ctx, const char *sender, const char *handle, uint64_t seconds)
{
	struct deliver *d = ctx;
	struct str key;
	int rc;

	str_init(&key, 128);
	str_appendf(&key, "%s%c%s", sender, 0, handle);
	rc = sieve_track_seen(d->track, 'V', key.s, key.len, d->now);
	if (rc == 0 && sieve_track_add(d->track, 'V', key.s, key.len, d->now, seconds) < 0)
		lda_log(d, "Error", "sieve: cannot update %s: %s", d->track, strerror(errno));
	str_deinit(&key);
	return rc > 0;
}

static int
cb_dup_check(void *ctx, const char *id, size_t len)
{
	struct deliver *d = ctx;

	return sieve_track_seen(d->track, 'D', id, len, d->now) > 0;
}

static void
op_dup_mark(void *ctx, const char *id, size_t len, uint64_t seconds)
{
	struct deliver *d = ctx;

	(void)sieve_track_add(d->track, 'D', id, len, d->now, seconds);
}

/* scripts_of - one sieve_before/after value: a file, or every *.sieve of
 * a directory in name order */
static void
scripts_of(const char *v, struct deliver *d, struct strvec *out)
{
	char *p = expand_home(strncmp(v, "file:", 5) == 0 ? v + 5 : v, d);
	struct stat st;

	*strchrnul(p, ';') = 0;
	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
		{
			struct dirent **list;
			int n = scandir(p, &list, NULL, alphasort), i;

			for (i = 0; i < n; i++) {
				size_t l = strlen(list[i]->d_name);

				if (l > 6 && strcmp(list[i]->d_name + l - 6, ".sieve") == 0)
					strvec_push_take(out, path_join(p, list[i]->d_name));
				free(list[i]);
			}
			if (n >= 0)
				free(list);
		}
	} else if (*p != 0)
		strvec_push(out, p);
	free(p);
}

/* user_script - the active script: "file:DIR;active=PATH" or a file */
static char *
user_script(struct deliver *d, char **dir_r)
{
	const char *v = plugin(d, "sieve");
	const char *act;
	char *path;

	*dir_r = NULL;
	if (v == NULL || *v == 0)
		v = "file:~/sieve;active=~/.dovecot.sieve";
	act = strstr(v, ";active=");
	if (strncmp(v, "file:", 5) == 0) {
		char *dir = xstrndup(v + 5, strcspn(v + 5, ";"));

		*dir_r = expand_home(dir, d);
		free(dir);
	}
	if (act != NULL) {
		char *a = xstrndup(act + 8, strcspn(act + 8, ";"));

		path = expand_home(a, d);
		free(a);
		return path;
	}
	path = expand_home(strncmp(v, "file:", 5) == 0 ? v + 5 : v, d);
	*strchrnul(path, ';') = 0;
	return path;
}

/* read_stdin - the whole message, up to DELIVER_MAX_MESSAGE; 0 or -1 */
static int
read_stdin(struct str *out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (out->len + (size_t)n > DELIVER_MAX_MESSAGE) {
			errno = EFBIG;
			return -1;
		}
		str_append_n(out, buf, (size_t)n);
	}
	return 0;
}

static bool
result_rejects(const struct sieve_result *res)
{
	size_t i;

	for (i = 0; i < sieve_result_count(res); i++) {
		const struct sieve_action *a = sieve_result_action(res, i);

		if (a->kind == SIEVE_ACT_REJECT || a->kind == SIEVE_ACT_EREJECT)
			return true;
	}
	return false;
}

/* userdb_lookup - dovecot-lda's -d for a user that passwd does not know:
 * the userdb entry from the instance's auth service ($base_dir/auth-master,
 * readable by the instance's own user). 1 found, 0 no such user, -1 error. */
static int
userdb_lookup(struct deliver *d, const char *conf_path)
{
	struct dovecot_conf *dc = dovecot_conf_new();
	struct auth_client *auth;
	struct auth_client_userdb udb;
	const char *err, *base;
	char *path;
	int rc;

	memset(&udb, 0, sizeof(udb));
	if (dovecot_conf_parse_file(dc, conf_path, 0, &err) < 0) {
		fprintf(stderr, "lda(%s): Fatal: %s\n", d->user, err);
		dovecot_conf_free(&dc);
		return -1;
	}
	/* no userdb { } in dovecot.conf: passwd was the only one to ask */
	{
		const struct dovecot_conf_section *root = dovecot_conf_root(dc);
		bool any = false;

		for (size_t i = 0; i < dovecot_conf_section_count(root); i++) {
			const char *t = dovecot_conf_section_type(dovecot_conf_section_child(root, i));

			if (t != NULL && strcmp(t, "userdb") == 0)
				any = true;
		}
		if (!any) {
			dovecot_conf_free(&dc);
			return 0;
		}
	}
	base = dovecot_conf_get(dc, "base_dir");
	path = path_join(base != NULL ? base : "/run/dovecot", "auth-master");
	auth = auth_client_new(path, NULL);
	rc = auth_client_userdb(auth, d->user, "lda", &udb, &err);
	if (rc < 0)
		fprintf(stderr, "lda(%s): Error: userdb lookup failed: %s\n", d->user, err);
	if (rc > 0 && (udb.home == NULL || udb.home[0] != '/')) {
		fprintf(stderr, "lda(%s): Error: user has no home directory\n", d->user);
		rc = -1;
	}
	if (rc > 0) {
		d->pw.pw_name = xstrdup(d->user);
		d->pw.pw_uid = udb.uid >= 0 ? (uid_t)udb.uid : getuid();
		d->pw.pw_gid = udb.gid >= 0 ? (gid_t)udb.gid : getgid();
		d->home = xstrdup(udb.home);
	}
	auth_client_userdb_deinit(&udb);
	auth_client_free(&auth);
	free(path);
	dovecot_conf_free(&dc);
	return rc;
}

static int
become_user(struct deliver *d)
{
	const char *v = dovecot_conf_get(d->dc, "first_valid_uid");

	if (getuid() != 0)
		return d->pw.pw_uid == geteuid() ? 0 : -1;
	/* root itself only where first_valid_uid = 0 says so (Dovecot's
	 * rule; yubin dev run by root) */
	if (d->pw.pw_uid == 0)
		return v != NULL && strcmp(v, "0") == 0 ? 0 : -1;
	if (setgroups(0, NULL) < 0 || initgroups(d->pw.pw_name, d->pw.pw_gid) < 0 ||
	    setgid(d->pw.pw_gid) < 0 || setuid(d->pw.pw_uid) < 0)
		return -1;
	if (setuid(0) == 0)
		return -1;	/* still root: refuse */
	return 0;
}

int
cmd_deliver(int argc, char **argv)
{
	struct deliver d;
	struct sieve_config cfg;
	struct sieve_env env;
	struct sieve_exec_ops ops;
	struct sieve_result *res = NULL;
	struct sieve_msg *m = NULL;
	struct strvec scripts;
	struct str msg, errs, log;
	const char *conf_flag = NULL, *file = NULL, *orig = NULL, *rcpt = NULL, *mailbox = NULL;
	const char *err;
	char *conf_path = NULL, *dir = NULL, *active = NULL;
	struct passwd *pw;
	bool stderr_reject = false;
	size_t i;
	int c, rc = EX_TEMPFAIL;
	struct strvec overrides;
	char *fqdn = NULL, *orig_from_hdr = NULL;

	memset(&d, 0, sizeof(d));
	strvec_init(&scripts);
	strvec_init(&overrides);
	str_init(&msg, 64 * 1024);
	str_init(&errs, 256);
	str_init(&log, 256);
	sieve_config_init(&cfg);
	d.sender = "MAILER-DAEMON";
	d.user = "?";
	while ((c = getopt(argc, argv, "a:c:d:ef:m:o:p:r:")) != -1) {
		switch (c) {
		case 'a': orig = optarg; break;
		case 'c': conf_flag = optarg; break;
		case 'd': d.user = optarg; break;
		case 'e': stderr_reject = true; break;
		case 'f': d.sender = optarg; break;
		case 'm': mailbox = optarg; break;
		case 'o': strvec_push(&overrides, optarg); break;
		case 'p': file = optarg; break;
		case 'r': rcpt = optarg; break;
		default:
			fprintf(stderr, "Usage: deliver [-c dovecot.conf] -d USER [-f SENDER] "
			    "[-a ADDRESS] [-r ADDRESS] [-m MAILBOX] [-e] [-p FILE]\n");
			rc = EX_TEMPFAIL;
			goto out;
		}
	}
	if (strcmp(d.user, "?") == 0) {
		struct passwd *self = getpwuid(getuid());

		if (getuid() == 0 || (self == NULL && getenv("USER") == NULL)) {
			fprintf(stderr, "deliver: Fatal: destination user parameter (-d user) not "
			    "given\n");
			goto out;
		}
		d.user = self != NULL ? self->pw_name : getenv("USER");
		/* as dovecot-lda without -d: $USER and $HOME name the user
		 * (the LMTP server runs deliver this way, already as the user
		 * its userdb names, which need not be in passwd) */
		if (getenv("USER") != NULL && getenv("HOME") != NULL && *getenv("HOME") == '/') {
			d.user = getenv("USER");
			d.pw.pw_name = xstrdup(d.user);
			d.pw.pw_uid = getuid();
			d.pw.pw_gid = getgid();
			d.home = xstrdup(getenv("HOME"));
		}
	}
	pw = d.home != NULL ? &d.pw : getpwnam(d.user);
	if (pw == NULL) {
		char *cp = instance_dovecot_conf(conf_flag);
		int found = access(cp, R_OK) == 0 ? userdb_lookup(&d, cp) : 0;

		free(cp);
		if (found < 0)
			goto out;
		if (found > 0)
			pw = &d.pw;
	}
	if (pw == NULL) {
		fprintf(stderr, "lda(%s): Error: user %s doesn't exist\n", d.user, d.user);
		rc = EX_NOUSER;
		goto out;
	}
	if (d.home == NULL) {
		d.pw = *pw;
		d.pw.pw_name = xstrdup(pw->pw_name);
		d.home = xstrdup(pw->pw_dir);
	}
	d.now = time(NULL);
	/* read the message before anything can fail for it */
	if ((file != NULL ? file_read(file, DELIVER_MAX_MESSAGE, &msg) : read_stdin(&msg)) < 0) {
		lda_log(&d, "Fatal", "cannot read the message: %s", strerror(errno));
		goto out;
	}
	/* an mbox From_ line (local(8) puts one before a command's input) is
	 * not part of the message: dovecot-lda skips it too */
	if (msg.len >= 5 && memcmp(msg.s, "From ", 5) == 0) {
		const char *nl = memchr(msg.s, '\n', msg.len);
		size_t cut = nl != NULL ? (size_t)(nl - msg.s) + 1 : msg.len;

		memmove(msg.s, msg.s + cut, msg.len - cut);
		str_truncate(&msg, msg.len - cut);
	}
	d.dc = dovecot_conf_new();
	conf_path = instance_dovecot_conf(conf_flag);
	if (access(conf_path, R_OK) == 0 &&
	    dovecot_conf_parse_file(d.dc, conf_path, 0, &err) < 0) {
		lda_log(&d, "Fatal", "%s", err);
		goto out;
	}
	if (become_user(&d) < 0) {
		lda_log(&d, "Fatal", "cannot become user %s: %s", d.user, strerror(errno));
		goto out;
	}
	if (mail_setup(&d) < 0)
		goto out;
	{
		const char *v = dovecot_conf_get(d.dc, "lda_mailbox_autocreate");
		bool b = false;

		if (v != NULL && dovecot_conf_parse_bool(v, &b, &err) == 0)
			d.autocreate = b;
		v = dovecot_conf_get(d.dc, "sendmail_path");
		d.sendmail = xstrdup(v != NULL && *v != 0 ? v : "/usr/sbin/sendmail");
	}
	d.track = path_join(d.home, ".yubin.sieve-track");
	/* Pigeonhole's settings from plugin { } */
	{
		static const char *const keys[] = { "sieve_extensions", "sieve_max_script_size",
			"sieve_max_actions", "sieve_max_redirects", "sieve_vacation_min_period",
			"sieve_vacation_max_period", "sieve_vacation_default_period",
			"sieve_spamtest_status_header", "sieve_spamtest_max_value",
			"sieve_spamtest_status_type", "sieve_virustest_status_type",
			"sieve_spamtest_text_value1", "sieve_spamtest_text_value2",
			"sieve_spamtest_text_value3", "sieve_spamtest_text_value4",
			"sieve_spamtest_text_value5", "sieve_spamtest_text_value6",
			"sieve_spamtest_text_value7", "sieve_spamtest_text_value8",
			"sieve_spamtest_text_value9", "sieve_spamtest_text_value10",
			"sieve_virustest_text_value1", "sieve_virustest_text_value2",
			"sieve_virustest_text_value3", "sieve_virustest_text_value4",
			"sieve_virustest_text_value5",
			"sieve_virustest_status_header", "sieve_virustest_max_value",
			"sieve_include_max_nesting_depth", "sieve_include_max_includes",
			"sieve_variables_max_scope_size", "sieve_variables_max_variable_size",
			"sieve_global", "sieve_spamtest_max_header", "sieve_virustest_max_header",
			"sieve_duplicate_default_period", "sieve_duplicate_max_period",
			"sieve_editheader_max_header_size", "sieve_editheader_protected",
			"sieve_editheader_forbid_add", "sieve_editheader_forbid_delete", NULL };
		size_t k;

		for (k = 0; keys[k] != NULL; k++) {
			const char *v = plugin(&d, keys[k]);

			if (v != NULL && *v != 0 && sieve_config_set(&cfg, keys[k], v, &err) < 0)
				lda_log(&d, "Warning", "plugin/%s: %s", keys[k], err);
		}
		{
			/* sieve_env_NAME: vnd.dovecot.environment's config items */
			const struct dovecot_conf_section *root = dovecot_conf_root(d.dc);
			const char *key, *val;

			for (size_t s = 0; s < dovecot_conf_section_count(root); s++) {
				const struct dovecot_conf_section *sec =
				    dovecot_conf_section_child(root, s);
				const char *t = dovecot_conf_section_type(sec);

				for (size_t j = 0; t != NULL && strcmp(t, "plugin") == 0 &&
				    dovecot_conf_section_key(sec, j, &key, &val); j++)
					if (strncmp(key, "sieve_env_", 10) == 0)
						(void)sieve_config_set(&cfg, key, val, &err);
			}
		}
		for (k = 0; k < overrides.n; k++) {
			char *eq = strchr(overrides.v[k], '=');
			const char *key = overrides.v[k];

			if (eq == NULL)
				continue;
			*eq = 0;
			if (strncmp(key, "plugin/", 7) == 0)
				key += 7;
			if (sieve_config_set(&cfg, key, eq + 1, &err) < 0)
				lda_log(&d, "Warning", "-o %s: %s", key, err);
		}
	}
	/* an mbox "From " line (Postfix prepends one for mailbox_command) is
	 * not part of the message: dovecot-lda drops it too */
	if (msg.len > 5 && strncmp(msg.s, "From ", 5) == 0) {
		const char *nl = memchr(msg.s, '\n', msg.len);
		size_t skip = nl != NULL ? (size_t)(nl - msg.s) + 1 : msg.len;

		memmove(msg.s, msg.s + skip, msg.len - skip);
		str_truncate(&msg, msg.len - skip);
	}
	m = sieve_msg_new(msg.s, msg.len);
	{
		size_t hl = header_section_len(msg.s, msg.len), off = 0, n;
		struct header_field f;
		/* without -a, the original recipient from this header's first
		 * address (Dovecot's lda_original_recipient_header, e.g.
		 * X-Original-To from Postfix's local(8)) */
		const char *orig_hdr = orig == NULL ?
		    dovecot_conf_get(d.dc, "lda_original_recipient_header") : NULL;

		while (off < hl && (n = header_next(msg.s + off, hl - off, &f)) > 0) {
			if (header_is(&f, "return-path"))
				d.has_return_path = true;
			if (orig_hdr != NULL && *orig_hdr != 0 && orig_from_hdr == NULL &&
			    header_is(&f, orig_hdr)) {
				struct strvec addrs;

				strvec_init(&addrs);
				if (header_addresses(f.value, f.value_len, &addrs) > 0 &&
				    *addrs.v[0] != 0)
					orig_from_hdr = xstrdup(addrs.v[0]);
				strvec_deinit(&addrs);
			}
			off += n;
		}
		if (orig_from_hdr != NULL)
			orig = orig_from_hdr;
	}
	memset(&env, 0, sizeof(env));
	env.env_from = strcmp(d.sender, "MAILER-DAEMON") == 0 ? "" : d.sender;
	env.env_to = rcpt != NULL ? rcpt : orig != NULL ? orig : d.user;
	if (strchr(env.env_to, '@') == NULL) {
		char host[256] = "localhost";

		(void)gethostname(host, sizeof(host) - 1);
		fqdn = xasprintf("%s@%s", env.env_to, host);
		env.env_to = fqdn;
	}
	env.env_orig_to = orig;
	env.user = d.user;
	env.default_mailbox = mailbox != NULL ? mailbox : "INBOX";
	env.delimiter = dovecot_conf_get(d.dc, "recipient_delimiter");
	env.location = "MS";
	env.phase = "during";
	env.spam = &cfg.spam;
	env.virus = &cfg.virus;
	env.editheader = &cfg.editheader;
	env.env_config = cfg.env_config;
	env.mailbox_exists = cb_mailbox_exists;
	env.special_use_exists = cb_special_use_exists;
	env.duplicate_check = cb_dup_check;
	env.loader = &cfg.loader;
	env.ctx = &d;
	env.now = d.now;
	memset(&ops, 0, sizeof(ops));
	ops.store = op_store;
	ops.send = op_send;
	ops.vacation_seen = op_vacation_seen;
	ops.duplicate_mark = op_dup_mark;
	ops.special_use_mailbox = op_special_use_mailbox;
	ops.ctx = &d;
	/* -m names a mailbox that must exist, else INBOX (dovecot-lda) */
	if (mailbox != NULL && strcasecmp(mailbox, "INBOX") != 0 &&
	    !cb_mailbox_exists(&d, mailbox) && !d.autocreate)
		env.default_mailbox = "INBOX";
	/* the scripts: sieve_before..., the user's, sieve_after... */
	{
		char key[32];
		int k;
		const char *v;

		for (k = 1; k <= 9; k++) {
			snprintf(key, sizeof(key), k == 1 ? "sieve_before" : "sieve_before%d", k);
			if ((v = plugin(&d, key)) != NULL && *v != 0)
				scripts_of(v, &d, &scripts);
		}
		active = user_script(&d, &dir);
		if (access(active, R_OK) == 0)
			strvec_push(&scripts, active);
		for (k = 1; k <= 9; k++) {
			snprintf(key, sizeof(key), k == 1 ? "sieve_after" : "sieve_after%d", k);
			if ((v = plugin(&d, key)) != NULL && *v != 0)
				scripts_of(v, &d, &scripts);
		}
	}
	cfg.personal_dir = dir;
	dir = NULL;
	/* each script has its own result; the next runs only while the
	 * message is still kept and no script ran stop (Pigeonhole's
	 * multiscript); every result but the last is carried out with keep left
	 * to the next script */
	res = sieve_result_new();
	for (i = 0; i < scripts.n; i++) {
		struct sieve_script *sc;
		struct str text;
		char *name = sieve_script_basename(scripts.v[i]);
		bool last;

		str_init(&text, 4096);
		str_reset(&errs);
		if (file_read(scripts.v[i], cfg.limits.max_script_size, &text) < 0) {
			lda_log(&d, "Error", "sieve: failed to open %s: %s", scripts.v[i],
			    strerror(errno));
			free(name);
			str_deinit(&text);
			d.failures++;
			continue;
		}
		sc = sieve_compile(name, text.s, text.len, &cfg.limits, &cfg.exts, &errs);
		str_deinit(&text);
		free(name);
		if (sc == NULL) {
			log_lines(&d, "Error", scripts.v[i], &errs);
			d.failures++;
			continue;
		}
		/* a script that compiled may still have warned */
		log_lines(&d, "Warning", NULL, &errs);
		if (sieve_run(sc, m, &env, res, &errs) != SIEVE_OK) {
			log_lines(&d, "Error", NULL, &errs);
			/* a failed run: its actions are dropped, the message kept */
			sieve_result_reset(res);
			d.failures++;
			sieve_script_free(&sc);
			break;
		}
		log_lines(&d, "Warning", NULL, &errs);	/* run-time warnings */
		sieve_script_free(&sc);
		last = i + 1 == scripts.n || sieve_result_stopped(res) || !sieve_result_kept(res);
		if (last)
			break;
		if (!stderr_reject || !result_rejects(res)) {
			struct sieve_result *next;

			if (sieve_execute_step(res, m, &env, &ops, &log, false) < 0)
				d.failures++;
			next = sieve_result_new();
			sieve_result_carry(next, res);
			sieve_result_free(&res);
			res = next;
		}
	}
	/* reject with -e: tell the MTA, which bounces (dovecot-lda -e) */
	if (stderr_reject) {
		for (i = 0; i < sieve_result_count(res); i++) {
			const struct sieve_action *a = sieve_result_action(res, i);

			if (a->kind == SIEVE_ACT_REJECT || a->kind == SIEVE_ACT_EREJECT) {
				fprintf(stderr, "%s\n", a->target);
				lda_log(&d, "Info", "sieve: rejected (returned to the MTA)");
				rc = EX_NOPERM;
				goto out;
			}
		}
	}
	if (sieve_execute(res, m, &env, &ops, &log) < 0) {
		/* sieve_execute kept it in the default mailbox if it could */
		const char *p = log.s;

		while (*p != 0) {
			size_t n = strcspn(p, "\n");

			lda_log(&d, "Info", "%.*s", (int)n, p);
			p += n + (p[n] == '\n');
		}
		rc = strstr(log.s, "stored mail into mailbox") != NULL ? 0 : EX_TEMPFAIL;
		goto out;
	}
	{
		const char *p = log.s;

		while (*p != 0) {
			size_t n = strcspn(p, "\n");

			lda_log(&d, "Info", "%.*s", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
	rc = 0;
out:
	sieve_result_free(&res);
	sieve_msg_free(&m);
	strvec_deinit(&scripts);
	strvec_deinit(&overrides);
	str_deinit(&msg);
	str_deinit(&errs);
	str_deinit(&log);
	sieve_config_deinit(&cfg);
	if (d.dc != NULL)
		dovecot_conf_free(&d.dc);
	free(conf_path);
	free(dir);
	free(active);
	free(fqdn);
	free(orig_from_hdr);
	free(d.home);
	imap_layout_deinit(&d.layout);
	imap_conf_free(&d.ns);
	free(d.root);
	free(d.inbox);
	free(d.sendmail);
	free(d.track);
	if (d.pw.pw_name != NULL && strcmp(d.user, "?") != 0)
		free(d.pw.pw_name);
	return rc;
}
