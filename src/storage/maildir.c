/* maildir.c - storing a message in a Maildir (storage.h): write to tmp/
 * under a unique name, fsync the file, rename into new/, fsync new/, as
 * Postfix's and Dovecot's delivery do; ",S=SIZE" in the name lets Dovecot
 * skip a stat. A batch (storage_maildir_deliver_many) writes every file,
 * fsyncs them all at once (fsync_many.h), renames them and fsyncs new/
 * once. Missing tmp/, new/, cur/ are made with mode 0700.
 * Tests: tests/unit/storage/test_storage.c */
#include "storage/storage-private.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/fsync_many.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* The host name and pid of the unique names, looked up once per process
 * (a uname(2) and a getpid per delivered file otherwise); a fork's child
 * looks its pid up again, so two processes never share one (the pid is
 * what keeps their names apart) */
static char maildir_host[256];
static pid_t maildir_pid;
static pthread_once_t maildir_atfork_once = PTHREAD_ONCE_INIT;

static void
maildir_forget_pid(void)
{
	maildir_pid = 0;
}

static void
maildir_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, maildir_forget_pid);
}

void
storage_maildir_name(struct str *out, size_t size)
{
	static unsigned long counter;
	struct timeval tv;
	const char *h;

	(void)pthread_once(&maildir_atfork_once, maildir_atfork);
	if (maildir_host[0] == '\0') {
		if (gethostname(maildir_host, sizeof(maildir_host)) != 0 || maildir_host[0] == '\0')
			snprintf(maildir_host, sizeof(maildir_host), "localhost");
		maildir_host[sizeof(maildir_host) - 1] = '\0';
	}
	if (maildir_pid == 0)
		maildir_pid = getpid();
	gettimeofday(&tv, NULL);
	str_appendf(out, "%ld.M%ldP%ldQ%lu.", (long)tv.tv_sec, (long)tv.tv_usec, (long)maildir_pid,
	    ++counter);
	/* Maildir's own escapes: "/" and ":" cannot appear in a name part */
	for (h = maildir_host; *h != '\0'; h++) {
		if (*h == '/')
			str_append(out, "\\057");
		else if (*h == ':')
			str_append(out, "\\072");
		else
			str_append_c(out, *h);
	}
	str_appendf(out, ",S=%zu", size);
}

/* maildir_mkdir - make dir (mode 0700) unless it is there; a symlink or
 * anything but a directory owned by us is refused */
static int
maildir_mkdir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
		return -1;
	}
	return 0;
}

/* maildir_prepare - the Maildir at path and its tmp/, new/, cur/ made
 * where missing; base_r gets the path without trailing slashes. 0, or -1
 * with *error_r */
static int
maildir_prepare(const char *path, struct str *base_r, struct storage_error *error_r)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	char *sub;
	size_t i;
	int e;

	str_append(base_r, path);
	while (base_r->len > 1 && base_r->s[base_r->len - 1] == '/')
		str_truncate(base_r, base_r->len - 1);
	/* missing parents first, as Postfix's make_dirs (virtual_mailbox_base/
	 * domain/user/), then the Maildir itself, then its three directories */
	{
		char *slash;

		for (slash = strchr(base_r->s + 1, '/'); slash != NULL;
		    slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			if (mkdir(base_r->s, 0700) != 0 && errno != EEXIST) {
				*slash = '/';
				break;
			}
			*slash = '/';
		}
	}
	if (maildir_mkdir(base_r->s) != 0) {
		e = errno;
		storage_error_set(error_r, e, "4.2.0", "create maildir file %s: %s", base_r->s,
		    strerror(e));
		return -1;
	}
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		sub = xasprintf("%s/%s", base_r->s, subdirs[i]);
		if (maildir_mkdir(sub) != 0) {
			e = errno;
			storage_error_set(error_r, e, "4.2.0", "create maildir file %s: %s", sub,
			    strerror(e));
			free(sub);
			return -1;
		}
		free(sub);
	}
	return 0;
}

/* One message of a batch on its way from tmp/ to new/ (or cur/ with its
 * flags: storage_mail.maildir_info). */
struct maildir_item {
	char	*tmp, *newp;	/* owned */
	int	 fd;
	bool	 ok;		/* so far */
	bool	 cur;		/* newp is in cur/ */
};

/* maildir_write_tmp - the rendered message into a new file in tmp/, its
 * write-back started but not waited for (the caller fsyncs) */
static void
maildir_write_tmp(const char *base, const struct storage_mail *m, off_t size_limit,
    struct maildir_item *it, struct storage_error *error_r)
{
	struct str buf, name;
	int e;

	str_init(&buf, m->len + 256);
	storage_render(&buf, m, false);
	str_init(&name, 128);
	storage_maildir_name(&name, buf.len);
	it->tmp = xasprintf("%s/tmp/%s", base, name.s);
	it->cur = m->maildir_info != NULL && *m->maildir_info != '\0';
	it->newp = it->cur ? xasprintf("%s/cur/%s:2,%s", base, name.s, m->maildir_info) :
	    xasprintf("%s/new/%s", base, name.s);
	it->fd = -1;
	if (size_limit > 0 && (off_t)buf.len > size_limit) {
		storage_error_set(error_r, EFBIG, "5.2.2", "create maildir file %s: %s", it->tmp,
		    strerror(EFBIG));
		goto out;
	}
	it->fd = open(it->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (it->fd < 0) {
		e = errno;
		storage_error_set(error_r, e, "4.2.0", "create maildir file %s: %s", it->tmp,
		    strerror(e));
		goto out;
	}
	if (storage_write_full(it->fd, buf.s, buf.len) != 0) {
		e = errno;
		storage_error_set(error_r, e, "4.3.0", "write maildir file %s: %s", it->tmp,
		    strerror(e));
		close(it->fd);
		it->fd = -1;
		(void)unlink(it->tmp);
		goto out;
	}
	/* start the write-back now: the fsyncs that follow, one per file,
	 * then find the data under way and can share journal commits */
	(void)sync_file_range(it->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	it->ok = true;
out:
	str_deinit(&name);
	str_deinit(&buf);
}

/* maildir_sync_tmp - close the file of an item still ok, whose fsync
 * gave fsync_err (0 or an errno) */
static void
maildir_sync_tmp(struct maildir_item *it, int fsync_err, struct storage_error *error_r)
{
	int e = fsync_err, r = fsync_err == 0 ? 0 : -1;

	if (!it->ok)
		return;
	if (close(it->fd) != 0 && r == 0) {
		r = -1;
		e = errno;
	}
	it->fd = -1;
	if (r != 0) {
		storage_error_set(error_r, e, "4.3.0", "write maildir file %s: %s", it->tmp,
		    strerror(e));
		(void)unlink(it->tmp);
		it->ok = false;
	}
}

/* maildir_many - storage_maildir_deliver_many; where_r (may be NULL)
 * gets the new/ name of the first message when it was delivered */
static int
maildir_many(const char *path, const struct storage_mail *mails, size_t n, off_t size_limit,
    struct storage_error *errors, char *where_r)
{
	struct maildir_item *items;
	struct str base;
	char *sub;
	size_t i, renamed = 0, ok = 0, d;
	int e, *fds, *errs;

	for (i = 0; i < n; i++)
		memset(&errors[i], 0, sizeof(errors[i]));
	str_init(&base, strlen(path) + 2);
	if (maildir_prepare(path, &base, &errors[0]) != 0) {
		for (i = 1; i < n; i++)
			errors[i] = errors[0];
		str_deinit(&base);
		return 0;
	}
	items = xcalloc(n > 0 ? n : 1, sizeof(*items));
	fds = xcalloc(n > 0 ? n : 1, sizeof(*fds));
	errs = xcalloc(n > 0 ? n : 1, sizeof(*errs));
	/* every file written first (its write-back started), then every
	 * fsync at once (fsync_many): the batch waits for the disk about once,
	 * not once per file */
	for (i = 0; i < n; i++) {
		maildir_write_tmp(base.s, &mails[i], size_limit, &items[i], &errors[i]);
		fds[i] = items[i].ok ? items[i].fd : -1;
	}
	fsync_many(fds, n, errs);
	for (i = 0; i < n; i++)
		maildir_sync_tmp(&items[i], errs[i], &errors[i]);
	free(fds);
	free(errs);
	for (i = 0; i < n; i++) {
		if (!items[i].ok)
			continue;
		if (rename(items[i].tmp, items[i].newp) != 0) {
			e = errno;
			storage_error_set(&errors[i], e, "4.2.0", "create maildir file %s: %s",
			    items[i].newp, strerror(e));
			(void)unlink(items[i].tmp);
			items[i].ok = false;
			continue;
		}
		renamed++;
	}
	/* one fsync of new/ (and of cur/ for flagged ones) covers every name
	 * renamed into it above; none of them counts as delivered before it
	 * returns */
	for (d = 0; d < 2 && renamed > 0; d++) {
		bool any = false;

		for (i = 0; i < n; i++)
			any |= items[i].ok && items[i].cur == (d == 1);
		if (!any)
			continue;
		sub = xasprintf("%s/%s", base.s, d == 1 ? "cur" : "new");
		if (dir_fsync(sub) != 0) {
			e = errno;
			for (i = 0; i < n; i++) {
				if (!items[i].ok || items[i].cur != (d == 1))
					continue;
				storage_error_set(&errors[i], e, "4.3.0", "fsync %s: %s", sub,
				    strerror(e));
				/* not known durable: take it back so the retry does
				 * not duplicate */
				(void)unlink(items[i].newp);
				items[i].ok = false;
			}
		}
		free(sub);
	}
	for (i = 0; i < n; i++) {
		if (items[i].ok) {
			ok++;
			if (i == 0 && where_r != NULL)
				snprintf(where_r, STORAGE_TEXT_SIZE, "%s", items[i].newp);
		}
		if (items[i].fd >= 0)
			close(items[i].fd);
		free(items[i].tmp);
		free(items[i].newp);
	}
	free(items);
	str_deinit(&base);
	return (int)ok;
}

static int
maildir_deliver(const char *path, const struct storage_mail *m, off_t size_limit,
    char *where_r, struct storage_error *error_r)
{
	return maildir_many(path, m, 1, size_limit, error_r, where_r) == 1 ? 0 : -1;
}

int
storage_maildir_deliver_many(const char *path, const struct storage_mail *mails, size_t n,
    off_t size_limit, struct storage_error *errors)
{
	return maildir_many(path, mails, n, size_limit, errors, NULL);
}

const struct storage_vfuncs storage_maildir_vfuncs = {
	.name = "maildir",
	.deliver = maildir_deliver,
};
