/* local_exec.c - the second half of local delivery (local.h): every write
 * into a user's mailbox or file and every command runs in a forked child
 * that has become that user first (setgroups, setgid, setuid, then a check
 * that getuid/geteuid say so). The parent (the queue manager process)
 * never opens a user's path. Commands get /bin/sh -c, a clean environment
 * (Postfix's: HOME USER LOGNAME SHELL SENDER RECIPIENT LOCAL DOMAIN
 * EXTENSION ORIGINAL_RECIPIENT PATH), the message on stdin, and
 * command_time_limit. Tests: tests/e2e/test_local_delivery.py */
#include "local/local-private.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/storage.h"

/* Output of a failed command kept for the bounce reason. */
#define LOCAL_CMD_OUTPUT_MAX	512

int
local_become(const struct local_user *u, bool dev_mode)
{
	if (dev_mode || geteuid() != 0)
		return 0;
	if (u->uid == 0)
		return -1;	/* never deliver as root */
	if (setgroups(1, &u->gid) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0)
		return -1;
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
	    getegid() != u->gid || setuid(0) == 0)
		return -1;
	return 0;
}

ssize_t
local_child_result(int rfd, pid_t pid, void *res, size_t size)
{
	ssize_t n;
	int wst;

	do
		n = read(rfd, res, size);
	while (n < 0 && errno == EINTR);
	close(rfd);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	return n;
}

/* local_prefix - Return-Path:, X-Original-To:, Delivered-To: as Postfix's
 * mail_copy() writes them, in that order */
static void
local_prefix(struct str *out, const struct local_msg *lm, const char *sender,
    const char *rcpt, bool delivered)
{
	str_appendf(out, "Return-Path: <%s>\n", sender);
	if (lm->orig_rcpt != NULL && *lm->orig_rcpt != '\0')
		str_appendf(out, "X-Original-To: %s\n", lm->orig_rcpt);
	if (delivered)
		str_appendf(out, "Delivered-To: %s\n", rcpt);
}

/* local_mailbox_reason - the reason of a failed mailbox delivery in
 * Postfix's words, which local(8) and virtual(8) prefix to the storage
 * error: "cannot update mailbox PATH for user USER. ..." for an mbox,
 * "maildir delivery failed: ..." for a Maildir */
static void
local_mailbox_reason(struct storage_error *e, const char *path, const char *user)
{
	char buf[sizeof(e->text)];
	size_t plen = strlen("cannot update mailbox ") + strlen(path) + 2;

	if (storage_format_of(path) == STORAGE_MAILDIR) {
		snprintf(buf, sizeof(buf), "maildir delivery failed: %s", e->text);
	} else if (user != NULL && strncmp(e->text, "cannot update mailbox ", 22) == 0 &&
	    strlen(e->text) >= plen && strncmp(e->text + 22, path, strlen(path)) == 0 &&
	    strncmp(e->text + plen - 2, ": ", 2) == 0) {
		snprintf(buf, sizeof(buf), "cannot update mailbox %s for user %s. %s", path, user,
		    e->text + plen);
	} else
		return;
	snprintf(e->text, sizeof(e->text), "%s", buf);
}

/* The result a child sends back over its pipe. */
struct local_child_result {
	int			status;		/* 0 ok, -1 failed */
	struct storage_error	err;
};

enum transport_status
local_exec_mailbox(const struct local_msg *lm, const struct local_user *u, const char *path,
    const char *sender, const char *prefix, off_t size_limit, bool any_owner,
    struct transport_dsn *dsn)
{
	struct local_child_result res;
	struct storage_mail m;
	const char *err;
	long lock_polls, lock_delay, tries;
	int pfd[2];
	ssize_t n;
	pid_t pid;

	if (lm->cf == NULL || maincf_get_long(lm->cf, "deliver_lock_attempts", &lock_polls,
	    &err) != 0 || lock_polls < 1)
		lock_polls = 1;
	if (lm->cf == NULL || maincf_get_time(lm->cf, "deliver_lock_delay", &lock_delay,
	    &err) != 0 || lock_delay < 1)
		lock_delay = 1;
	/* the budget of Postfix's deliver_lock_attempts x deliver_lock_delay,
	 * in 10 ms polls (see below) */
	lock_polls *= lock_delay * 100;
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		transport_dsn_set(dsn, "4.3.0", "local", "cannot create pipe");
		return TRANSPORT_DEFERRED;
	}
	memset(&res, 0, sizeof(res));
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		transport_dsn_set(dsn, "4.3.0", "local", "cannot fork");
		return TRANSPORT_DEFERRED;
	}
	if (pid == 0) {
		close(pfd[0]);
		res.status = -1;
		if (local_become(u, lm->dev_mode) != 0) {
			snprintf(res.err.status, sizeof(res.err.status), "4.3.0");
			snprintf(res.err.text, sizeof(res.err.text),
			    "cannot set privileges to uid %ld", (long)u->uid);
		} else {
			memset(&m, 0, sizeof(m));
			m.sender = sender;
			m.arrival = lm->arrival;
			m.prefix = prefix;
			m.data = lm->content;
			m.len = lm->len;
			m.any_owner = any_owner;
			/* A mailbox locked by another delivery (4.2.0: the
			 * lock is held elsewhere) is worth waiting for, as
			 * Postfix's local waits deliver_lock_attempts times
			 * deliver_lock_delay: the same budget, polled
			 * every 10 ms, since concurrent deliveries to one
			 * mbox (local_destination_concurrency_limit = 2) meet
			 * often and hold the lock for milliseconds. */
			for (tries = 0;; tries++) {
				res.status = storage_deliver(path, storage_format_of(path), &m,
				    size_limit, NULL, &res.err);
				if (res.status == 0 || strcmp(res.err.status, "4.2.0") != 0 ||
				    tries >= lock_polls)
					break;
				(void)nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
			}
		}
		(void)storage_write_full(pfd[1], &res, sizeof(res));
		_exit(0);
	}
	close(pfd[1]);
	n = local_child_result(pfd[0], pid, &res, sizeof(res));
	if (n != (ssize_t)sizeof(res)) {
		transport_dsn_set(dsn, "4.3.0", "local", "delivery process died");
		return TRANSPORT_DEFERRED;
	}
	if (res.status == 0) {
		transport_dsn_set(dsn, "2.0.0", "local", "");
		return TRANSPORT_SENT;
	}
	res.err.status[sizeof(res.err.status) - 1] = '\0';
	res.err.text[sizeof(res.err.text) - 1] = '\0';
	local_mailbox_reason(&res.err, path, u->name);
	transport_dsn_set(dsn, res.err.status[0] == '5' ? "5.2.0" : "4.2.0", "local",
	    res.err.text);
	snprintf(dsn->status, sizeof(dsn->status), "%s", res.err.status);
	return storage_error_is_temporary(&res.err) ? TRANSPORT_DEFERRED : TRANSPORT_BOUNCED;
}

/* local_sysexits - Postfix's sys_exits table: status and text */
static const char *
local_sysexits(int code, const char **text_r)
{
	static const struct {
		int		 code;
		const char	*dsn;
		const char	*text;
	} tab[] = {
		{ 64, "5.3.0", "command line usage error" },
		{ 65, "5.6.0", "data format error" },
		{ 66, "5.3.0", "cannot open input" },
		{ 67, "5.1.1", "user unknown" },
		{ 68, "5.1.2", "host name unknown" },
		{ 69, "5.3.0", "service unavailable" },
		{ 70, "5.3.0", "internal software error" },
		{ 71, "4.3.0", "system resource problem" },
		{ 72, "5.3.0", "critical OS file missing" },
		{ 73, "5.2.0", "can't create user output file" },
		{ 74, "5.3.0", "input/output error" },
		{ 75, "4.3.0", "temporary failure" },
		{ 76, "5.5.0", "remote error in protocol" },
		{ 77, "5.7.0", "permission denied" },
		{ 78, "5.3.5", "local configuration error" },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].code == code) {
			*text_r = tab[i].text;
			return tab[i].dsn;
		}
	*text_r = NULL;
	return "5.3.0";
}

static void
local_setenv(const char *name, const char *value)
{
	(void)setenv(name, value != NULL ? value : "", 1);
}

/* local_exec_command - /bin/sh -c command as the item's user */
static enum transport_status
local_exec_command(const struct local_msg *lm, const struct local_item *it,
    struct transport_dsn *dsn)
{
	struct str render, out, reason;
	const char *at = strrchr(it->rcpt, '@'), *text;
	char *local_part, buf[512], *tz;
	int mfd, opipe[2], wst = 0, rc;
	long limit = 1000;
	const char *err;
	struct pollfd pfd;
	struct timeval start, now;
	bool timed_out = false, exited = false;
	ssize_t n;
	pid_t pid;

	(void)maincf_get_time(lm->cf, "command_time_limit", &limit, &err);
	str_init(&render, lm->len + 256);
	/* Postfix's command delivery: a From_ line and the envelope headers,
	 * no quoting, no blank line after */
	{
		char date[64];
		struct tm tm;

		localtime_r(&lm->arrival, &tm);
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
		str_appendf(&render, "From %s  %s\n", *it->sender != '\0' ? it->sender :
		    "MAILER-DAEMON", date);
	}
	local_prefix(&render, lm, it->sender, it->rcpt,
	    local_list_has(lm->cf, "prepend_delivered_header", "command"));
	{
		const char *p = lm->content, *end = lm->content + lm->len, *nl;
		size_t k;

		while (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			k = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
			if (k > 0 && p[k - 1] == '\r')
				k--;
			str_append_n(&render, p, k);
			str_append_c(&render, '\n');
			p = nl != NULL ? nl + 1 : end;
		}
	}
	mfd = memfd_create("yubin-local", MFD_CLOEXEC);
	if (mfd < 0 || storage_write_full(mfd, render.s, render.len) != 0 ||
	    lseek(mfd, 0, SEEK_SET) != 0 || pipe2(opipe, O_CLOEXEC) != 0) {
		if (mfd >= 0)
			close(mfd);
		str_deinit(&render);
		transport_dsn_set(dsn, "4.3.0", "local", "cannot set up command delivery");
		return TRANSPORT_DEFERRED;
	}
	str_deinit(&render);
	local_part = xstrndup(it->rcpt, at != NULL ? (size_t)(at - it->rcpt) : strlen(it->rcpt));
	tz = getenv("TZ") != NULL ? xstrdup(getenv("TZ")) : NULL;
	if ((pid = fork()) < 0) {
		close(mfd);
		close(opipe[0]);
		close(opipe[1]);
		free(local_part);
		free(tz);
		transport_dsn_set(dsn, "4.3.0", "local", "cannot fork");
		return TRANSPORT_DEFERRED;
	}
	if (pid == 0) {
		sigset_t none;

		(void)setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (local_become(&it->user, lm->dev_mode) != 0)
			_exit(75);
		if (dup2(mfd, 0) < 0 || dup2(opipe[1], 1) < 0 || dup2(opipe[1], 2) < 0)
			_exit(75);
		if (it->user.home == NULL || chdir(it->user.home) != 0)
			(void)chdir("/");
		clearenv();
		local_setenv("HOME", it->user.home);
		local_setenv("USER", it->user.name);
		local_setenv("LOGNAME", it->user.name);
		local_setenv("SHELL", it->user.shell);
		local_setenv("SENDER", it->sender);
		local_setenv("RECIPIENT", it->rcpt);
		local_setenv("LOCAL", local_part);
		local_setenv("DOMAIN", at != NULL ? at + 1 : "");
		local_setenv("EXTENSION", it->extension);
		local_setenv("ORIGINAL_RECIPIENT", lm->orig_rcpt);
		local_setenv("PATH", "/usr/bin:/bin");
		if (tz != NULL)
			local_setenv("TZ", tz);
		execl("/bin/sh", "sh", "-c", it->target, (char *)NULL);
		_exit(127);
	}
	free(local_part);
	free(tz);
	close(mfd);
	close(opipe[1]);
	str_init(&out, 256);
	gettimeofday(&start, NULL);
	for (;;) {
		long left;

		gettimeofday(&now, NULL);
		left = (limit - (now.tv_sec - start.tv_sec)) * 1000;
		if (left <= 0) {
			timed_out = true;
			break;
		}
		pfd.fd = opipe[0];
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0)
			continue;
		n = read(opipe[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* every writer closed: the command is done with it */
		if (out.len < LOCAL_CMD_OUTPUT_MAX)
			str_append_n(&out, buf, (size_t)n);
	}
	close(opipe[0]);
	if (timed_out) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
	} else {
		/* the output closed; the command itself still gets its time */
		for (;;) {
			pid_t w = waitpid(pid, &wst, WNOHANG);

			if (w == pid) {
				exited = true;
				break;
			}
			if (w < 0 && errno != EINTR)
				break;
			gettimeofday(&now, NULL);
			if (now.tv_sec - start.tv_sec >= limit) {
				timed_out = true;
				(void)kill(-pid, SIGKILL);
				(void)kill(pid, SIGKILL);
				break;
			}
			usleep(2000);
		}
	}
	if (!exited) {
		pid_t w;

		while ((w = waitpid(pid, &wst, 0)) < 0 && errno == EINTR)
			;
		exited = w == pid;
	}
	str_init(&reason, 256);
	if (!exited && !timed_out) {
		/* no exit status (a SIGCHLD set to be ignored reaps it): never
		 * count that as success */
		transport_dsn_set(dsn, "4.3.0", "local", "cannot learn the command's exit status");
		str_deinit(&reason);
		str_deinit(&out);
		return TRANSPORT_DEFERRED;
	}
	if (timed_out) {
		str_appendf(&reason, "Command time limit exceeded: \"%s\"", it->target);
		transport_dsn_set(dsn, "4.3.0", "local", reason.s);
		str_deinit(&reason);
		str_deinit(&out);
		return TRANSPORT_DEFERRED;
	}
	if (WIFSIGNALED(wst)) {
		str_appendf(&reason, "Command died with signal %d: \"%s\"", WTERMSIG(wst),
		    it->target);
		transport_dsn_set(dsn, "4.3.0", "local", reason.s);
		str_deinit(&reason);
		str_deinit(&out);
		return TRANSPORT_DEFERRED;
	}
	if (WEXITSTATUS(wst) == 0) {
		str_deinit(&reason);
		str_deinit(&out);
		transport_dsn_set(dsn, "2.0.0", "local", "");
		return TRANSPORT_SENT;
	}
	{
		const char *status = local_sysexits(WEXITSTATUS(wst), &text);
		size_t k;

		if (text != NULL)
			str_appendf(&reason, "%s. ", text);
		str_appendf(&reason, "Command died with status %d: \"%s\"", WEXITSTATUS(wst),
		    it->target);
		/* the output, one line, for the bounce: Postfix's shape */
		while (out.len > 0 && (out.s[out.len - 1] == '\n' || out.s[out.len - 1] == '\r'))
			str_truncate(&out, out.len - 1);
		for (k = 0; k < out.len; k++)
			if (out.s[k] == '\n' || out.s[k] == '\r' || out.s[k] == '\t')
				out.s[k] = ' ';
		if (out.len > 0)
			str_appendf(&reason, ". Command output: %s", out.s);
		transport_dsn_set(dsn, status, "local", reason.s);
		snprintf(dsn->status, sizeof(dsn->status), "%s", status);
		str_deinit(&reason);
		str_deinit(&out);
		return status[0] == '4' ? TRANSPORT_DEFERRED : TRANSPORT_BOUNCED;
	}
}

enum transport_status
local_exec(const struct local_msg *lm, const struct local_item *it, struct transport_dsn *dsn,
    struct str *what_r)
{
	enum transport_status st;
	struct str prefix;
	long limit = 0;
	const char *err;

	str_reset(what_r);
	switch (it->kind) {
	case LOCAL_COMMAND:
		str_appendf(what_r, "command: %s", it->target);
		return local_exec_command(lm, it, dsn);
	case LOCAL_MAILBOX:
	case LOCAL_FILE:
		str_init(&prefix, 256);
		local_prefix(&prefix, lm, it->sender, it->rcpt, it->kind == LOCAL_MAILBOX ||
		    local_list_has(lm->cf, "prepend_delivered_header", "file"));
		if (it->kind == LOCAL_MAILBOX && maincf_get_long(lm->cf, "mailbox_size_limit",
		    &limit, &err) != 0)
			limit = 0;
		st = local_exec_mailbox(lm, &it->user, it->target, it->sender, prefix.s,
		    (off_t)limit, it->kind == LOCAL_FILE, dsn);
		str_deinit(&prefix);
		if (it->kind == LOCAL_FILE)
			str_appendf(what_r, "file: %s", it->target);
		else
			str_append(what_r, storage_format_of(it->target) == STORAGE_MAILDIR ?
			    "maildir" : "mailbox");
		return st;
	default:
		transport_dsn_set(dsn, "4.3.0", "local", "internal error: bad delivery kind");
		return TRANSPORT_DEFERRED;
	}
}

void
local_exec_mailbox_batch(struct local_prep *const *preps, size_t n)
{
	const struct local_item *first = &preps[0]->plan.v[preps[0]->batch_item];
	const struct local_msg *lm0 = &preps[0]->lm;
	bool maildir = storage_format_of(first->target) == STORAGE_MAILDIR;
	long limit = 0, lock_polls, lock_delay, tries;
	int *ok;
	int pfd[2];
	const char *err;
	ssize_t got;
	size_t i;
	pid_t pid;

	if (n == 0)
		return;
	if (maincf_get_long(lm0->cf, "mailbox_size_limit", &limit, &err) != 0)
		limit = 0;
	/* the lock budget of local_exec_mailbox, in 10 ms polls */
	if (maincf_get_long(lm0->cf, "deliver_lock_attempts", &lock_polls, &err) != 0 ||
	    lock_polls < 1)
		lock_polls = 1;
	if (maincf_get_time(lm0->cf, "deliver_lock_delay", &lock_delay, &err) != 0 ||
	    lock_delay < 1)
		lock_delay = 1;
	lock_polls *= lock_delay * 100;
	ok = xcalloc(n, sizeof(*ok));
	if (pipe2(pfd, O_CLOEXEC) != 0)
		goto out;	/* each is tried alone */
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		goto out;
	}
	if (pid == 0) {
		struct storage_mail *mails = xcalloc(n, sizeof(*mails));
		struct storage_error *errs = xcalloc(n, sizeof(*errs));
		struct str *prefixes = xcalloc(n, sizeof(*prefixes));

		close(pfd[0]);
		if (local_become(&first->user, lm0->dev_mode) == 0) {
			for (i = 0; i < n; i++) {
				const struct local_item *it = &preps[i]->plan.v[preps[i]->batch_item];

				str_init(&prefixes[i], 256);
				local_prefix(&prefixes[i], &preps[i]->lm, it->sender, it->rcpt, true);
				mails[i].sender = it->sender;
				mails[i].arrival = preps[i]->lm.arrival;
				mails[i].prefix = prefixes[i].s;
				mails[i].data = preps[i]->lm.content;
				mails[i].len = preps[i]->lm.len;
				mails[i].any_owner = false;
			}
			if (maildir)
				(void)storage_maildir_deliver_many(first->target, mails, n,
				    (off_t)limit, errs);
			else
				/* an mbox locked elsewhere (4.2.0: nothing written)
				 * is waited for, as local_exec_mailbox waits */
				for (tries = 0;; tries++) {
					if (storage_mbox_deliver_many(first->target, mails, n,
					    (off_t)limit, errs) > 0 ||
					    strcmp(errs[0].status, "4.2.0") != 0 || tries >= lock_polls)
						break;
					(void)nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 },
					    NULL);
				}
			for (i = 0; i < n; i++)
				ok[i] = errs[i].status[0] == '\0';
		}
		/* the report comes only after the fsync: a child killed before
		 * it leaves every message of the batch to be tried again */
		(void)storage_write_full(pfd[1], ok, n * sizeof(*ok));
		_exit(0);
	}
	close(pfd[1]);
	got = local_child_result(pfd[0], pid, ok, n * sizeof(*ok));
	for (i = 0; i < n; i++) {
		if (got != (ssize_t)(n * sizeof(*ok)))
			preps[i]->batch_died = true;	/* as one child that died */
		else if (ok[i] == 1)
			preps[i]->batch_done = true;
	}
out:
	free(ok);
}
