/* pm_deliver.c - writing the mail into folders the way procmail does
 * (procmailrc(5), "Recipe action line"):
 *   name/.   an MH folder: the next free number
 *   name/    a Maildir: tmp/TIME.PID_N.HOST, fsync, link into new/
 *   a directory: a new file $MSGPREFIX + four letters (msg.XXXX)
 *   else     an mbox file, appended under an fcntl lock (and the recipe's
 *            lockfile, name$LOCKEXT, made first when it asks for one);
 *            body lines starting "From " get a '>' as procmail writes them
 * Every file and the directory entry of a new file are fsync'd before the
 * delivery counts; a failed append is truncated back. The sizes logged are
 * the bytes written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/util.h"
#include "procmail/pm-private.h"
#include "storage/storage.h"

enum folder_kind { F_FILE, F_DIR, F_MAILDIR, F_MH };

static int maildir_seq;

int
pm_lock_take(struct pm_ctx *ctx, const char *path)
{
	long sleep_s = pm_var_long(ctx, "LOCKSLEEP", 8);
	long timeout = pm_var_long(ctx, "LOCKTIMEOUT", 1024);
	int tries = 0, fd;
	struct stat st;

	if (sleep_s < 1)
		sleep_s = 1;
	for (;;) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST) {
			pm_log(ctx, "Lock failure on \"%s\"", path);
			return -1;
		}
		if (timeout > 0 && lstat(path, &st) == 0 && time(NULL) - st.st_mtime > timeout) {
			if (unlink(path) == 0)
				pm_log(ctx, "Forcing lock on \"%s\"", path);
			continue;
		}
		/* bounded: a lock that never goes is given up after about
		 * LOCKTIMEOUT (or an hour when that is 0) */
		if (++tries * sleep_s > (timeout > 0 ? timeout + sleep_s : 3600)) {
			pm_log(ctx, "Lock failure on \"%s\"", path);
			return -1;
		}
		sleep((unsigned)sleep_s);
	}
}

void
pm_lock_release(struct pm_ctx *ctx, const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT)
		pm_log(ctx, "Couldn't unlock \"%s\"", path);
}

static enum folder_kind
classify(const char *w)
{
	size_t n = strlen(w);
	struct stat st;

	if (n >= 2 && strcmp(w + n - 2, "/.") == 0)
		return F_MH;
	if (n >= 1 && w[n - 1] == '/')
		return F_MAILDIR;
	if (stat(w, &st) == 0 && S_ISDIR(st.st_mode))
		return F_DIR;
	return F_FILE;
}

/* write_msg - the recipe's part of the mail; escape: '>' before body
 * lines that start "From " (mbox) */
static int
write_msg(int fd, const char *p, size_t n, size_t body_at, bool escape, size_t *written)
{
	size_t i = 0, start = 0;

	*written = 0;
	if (!escape) {
		*written = n;
		return storage_write_full(fd, p, n);
	}
	for (i = body_at; i < n; i++) {
		if ((i == body_at || p[i - 1] == '\n') && n - i >= 5 && memcmp(p + i, "From ", 5) == 0) {
			if (storage_write_full(fd, p + start, i - start) != 0 ||
			    storage_write_full(fd, ">", 1) != 0)
				return -1;
			*written += i - start + 1;
			start = i;
		}
	}
	*written += n - start;
	return storage_write_full(fd, p + start, n - start);
}

static int
deliver_mbox(struct pm_ctx *ctx, const char *path, const char *p, size_t n, size_t body_at,
    bool escape, size_t *written)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	off_t before;
	bool regular;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	regular = S_ISREG(st.st_mode);
	if (regular) {
		while (fcntl(fd, F_SETLKW, &fl) != 0) {
			if (errno != EINTR) {
				close(fd);
				return -1;
			}
		}
		if (fstat(fd, &st) != 0) {
			close(fd);
			return -1;
		}
	}
	before = st.st_size;
	if (write_msg(fd, p, n, body_at, escape, written) != 0 || (regular && fsync(fd) != 0)) {
		int e = errno;

		if (regular && ftruncate(fd, before) != 0)
			e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* new_file_in - create a new file in dir: MH numbers or msg.XXXX names */
static int
new_file_in(struct pm_ctx *ctx, const char *dir, bool mh, struct str *name)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *prefix = pm_var_get(ctx, "MSGPREFIX");
	unsigned long next = 1;
	int tries, fd;

	if (prefix == NULL)
		prefix = "msg.";
	if (mh) {
		DIR *d = opendir(dir);
		struct dirent *de;

		if (d == NULL)
			return -1;
		while ((de = readdir(d)) != NULL) {
			char *end;
			unsigned long v = strtoul(de->d_name, &end, 10);

			if (*end == '\0' && de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
			    v >= next && v < ULONG_MAX / 2)
				next = v + 1;
		}
		closedir(d);
	}
	for (tries = 0; tries < 1000; tries++) {
		str_reset(name);
		if (mh)
			str_appendf(name, "%s/%lu", dir, next + (unsigned long)tries);
		else {
			unsigned long r = (unsigned long)getpid() * 7919u + (unsigned long)time(NULL) +
			    (unsigned long)tries * 104729u + (unsigned long)rand();
			int k;

			str_appendf(name, "%s/%s", dir, prefix);
			for (k = 0; k < 4; k++, r /= 64)
				str_append_c(name, alpha[r % 64]);
		}
		fd = open(name->s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static int
write_new_file(int fd, const char *path, const char *dir, const char *p, size_t n)
{
	if (storage_write_full(fd, p, n) != 0 || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(path);
		errno = e;
		return -1;
	}
	close(fd);
	return dir_fsync(dir) == 0 || errno == EINVAL ? 0 : -1;
}

static int
deliver_maildir(struct pm_ctx *ctx, const char *dir, const char *p, size_t n, struct str *name)
{
	struct str tmp, host;
	char hbuf[256];
	int fd, rc = -1;
	const char *sub[] = { "tmp", "new", "cur" };
	size_t i;

	(void)mkdir(dir, 0777);
	for (i = 0; i < 3; i++) {
		char *s = xasprintf("%s/%s", dir, sub[i]);

		(void)mkdir(s, 0777);
		free(s);
	}
	if (gethostname(hbuf, sizeof hbuf) != 0)
		strcpy(hbuf, "localhost");
	hbuf[sizeof hbuf - 1] = '\0';
	str_init(&host, 64);
	for (i = 0; hbuf[i] != '\0'; i++) {
		if (hbuf[i] == '/')
			str_append(&host, "\\057");
		else if (hbuf[i] == ':')
			str_append(&host, "\\072");
		else
			str_append_c(&host, hbuf[i]);
	}
	str_init(&tmp, 128);
	for (i = 0; i < 100; i++) {
		str_reset(&tmp);
		str_appendf(&tmp, "%s/tmp/%ld.%ld_%d.%s", dir, (long)time(NULL), (long)getpid(),
		    maildir_seq++, host.s);
		fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		goto out;
	if (storage_write_full(fd, p, n) != 0 || fsync(fd) != 0) {
		close(fd);
		unlink(tmp.s);
		goto out;
	}
	close(fd);
	str_reset(name);
	str_appendf(name, "%s/new/%s", dir, strrchr(tmp.s, '/') + 1);
	if (link(tmp.s, name->s) != 0) {
		unlink(tmp.s);
		goto out;
	}
	unlink(tmp.s);
	{
		char *nd = xasprintf("%s/new", dir);

		rc = dir_fsync(nd);
		free(nd);
	}
out:
	str_deinit(&tmp);
	str_deinit(&host);
	(void)ctx;
	return rc;
}

int
pm_deliver_folders(struct pm_ctx *ctx, struct strvec *folders, bool head, bool body, bool raw,
    const char *recipe_lock)
{
	const char *p;
	size_t n, fl = pm_msg_from_len(&ctx->msg), written = 0, body_at;
	struct str name, shown;
	enum folder_kind kind;
	int rc = -1;
	size_t i;

	if (folders->n == 0)
		return -1;
	pm_msg_part(&ctx->msg, head, body, &p, &n);
	if (raw && ctx->msg.padded && head && body && n > 0)
		n--;
	body_at = head ? (ctx->msg.body < n ? ctx->msg.body : n) : 0;
	str_init(&name, 128);
	str_init(&shown, 128);
	kind = classify(folders->v[0]);
	/* a lock that cannot be made is logged and the write tried anyway,
	 * as procmail does */
	if (recipe_lock != NULL && pm_lock_take(ctx, recipe_lock) != 0)
		recipe_lock = NULL;
	if (kind == F_FILE) {
		/* one file only: procmail skips the rest of the line */
		if (folders->n > 1) {
			struct str rest;

			str_init(&rest, 64);
			for (i = 1; i < folders->n; i++) {
				if (i > 1)
					str_append_c(&rest, ' ');
				str_append(&rest, folders->v[i]);
			}
			pm_log(ctx, "Skipped \"%s\"", rest.s);
			str_deinit(&rest);
		}
		/* r: the mail as it is, no From escaping and no added newline */
		rc = deliver_mbox(ctx, folders->v[0], p, n, body_at, !raw, &written);
		/* procmail does not write to /dev/null: it counts the mail as read */
		if (rc == 0 && strcmp(folders->v[0], "/dev/null") == 0 && ctx->msg.padded &&
		    head && body && !raw)
			written = n - 1;
		str_append(&shown, folders->v[0]);
		if (rc != 0)
			pm_log(ctx, "Error while writing to \"%s\"", folders->v[0]);
		goto unlock;
	}
	for (i = 0; i < folders->n; i++) {
		const char *w = folders->v[i];
		char *dir = xstrdup(w);
		size_t dl = strlen(dir);
		int fd;

		kind = classify(w);
		if (kind == F_FILE) {
			free(dir);
			continue;	/* procmail ignores a file among directories */
		}
		if (kind == F_MH)
			dir[dl - 2] = '\0';
		while (kind == F_MAILDIR && dl > 1 && dir[dl - 1] == '/')
			dir[--dl] = '\0';
		if (kind == F_MAILDIR) {
			const char *mp = p;
			size_t mn = n;

			/* a Maildir file: no From_ line, and the mail as it came */
			if (head && fl > 0) {
				mp += fl;
				mn -= fl;
			}
			if (ctx->msg.padded && head && body && mn > 0)
				mn--;
			rc = deliver_maildir(ctx, dir, mp, mn, &name);
			written = mn;
		} else {
			if (kind == F_MH)
				(void)mkdir(dir, 0777);
			fd = new_file_in(ctx, dir, kind == F_MH, &name);
			rc = fd < 0 ? -1 : write_new_file(fd, name.s, dir, p, n);
			written = n;
		}
		if (rc != 0) {
			pm_log(ctx, "Error while writing to \"%s\"", w);
			free(dir);
			break;
		}
		if (shown.len > 0)
			str_append_c(&shown, ' ');
		str_append(&shown, name.s);
		free(dir);
	}
unlock:
	if (recipe_lock != NULL)
		pm_lock_release(ctx, recipe_lock);
	if (rc == 0) {
		free(ctx->last_folder);
		ctx->last_folder = xstrdup(shown.s);
		pm_var_set(ctx, "LASTFOLDER", shown.s);
		free(ctx->log_folder);
		ctx->log_folder = xstrdup(shown.s);
		ctx->log_size = written;
	}
	str_deinit(&name);
	str_deinit(&shown);
	return rc;
}
