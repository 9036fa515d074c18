/* qspare.c - spare queue files (qspare.h). A receiver lists spare/ once
 * for up to QSPARE_BATCH names and claims them one at a time; several
 * receivers list the same names, so each starts at its own place in the
 * list and a name someone else took (ENOENT) just moves it on. An empty
 * spare/ is listed again at most every QSPARE_RELIST_MS (a listing of an
 * empty directory costs far less than the inode it may save).
 * Tests: tests/unit/queue/test_qfile.c; tests/e2e/test_crash.py and
 * test_local_delivery.py (the spare files) */
#include "queue/qspare.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsync_many.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "queue/qdir.h"
#include "queue/qfile.h"

/* names taken from one listing */
#define QSPARE_BATCH		64
/* an empty spare/ is looked at again after this long */
#define QSPARE_RELIST_MS	100

/* What this process knows of one queue directory's spare/ (a process
 * uses one; another directory starts over). */
static char *qspare_dir;			/* owned: the queue_dir it is for */
/* the receiver's side: names from the last listing, not yet tried */
static struct strvec qspare_names;
static size_t qspare_pos, qspare_left;
static long long qspare_empty_at = -1;	/* ms: the last listing found none, then */
/* the queue manager's side: spares it believes exist */
static size_t qspare_count;
static time_t qspare_full_at = -1;	/* a count found QSPARE_MAX, then */
static bool qspare_known;
/* kept this turn, still under their hidden names (qspare_publish) */
static struct strvec qspare_pending;
static char *qspare_pending_queue;	/* owned: the queue they left */
/* the queues a kept file's older names may still be in (qspare_publish) */
static const char *const qspare_old_queues[] = { "incoming", "deferred", "active", NULL };
#define QSPARE_NOLD	(sizeof(qspare_old_queues) / sizeof(qspare_old_queues[0]) - 1)
/* their directories, opened on first use and kept open: publish runs once
 * per loop turn of the queue manager, which then paid an open and a close
 * of each per turn (-1: not open) */
static int qspare_old_fds[QSPARE_NOLD] = { -1, -1, -1 };
/* a directory fsync failed once: no more publishing (qspare_publish) */
static bool qspare_fsync_failed;

/* qspare_for - the state above, for queue_dir */
static void
qspare_for(const char *queue_dir)
{
	if (qspare_dir != NULL && strcmp(qspare_dir, queue_dir) == 0)
		return;
	/* spares of another directory still hidden stay so, for its
	 * qspare_clean (never published without their fsync) */
	strvec_deinit(&qspare_pending);
	strvec_init(&qspare_pending);
	free(qspare_pending_queue);
	qspare_pending_queue = NULL;
	for (size_t i = 0; i < QSPARE_NOLD; i++)
		if (qspare_old_fds[i] >= 0) {
			close(qspare_old_fds[i]);
			qspare_old_fds[i] = -1;
		}
	free(qspare_dir);
	qspare_dir = xstrdup(queue_dir);
	strvec_deinit(&qspare_names);
	strvec_init(&qspare_names);
	qspare_pos = qspare_left = 0;
	qspare_empty_at = -1;
	qspare_count = 0;
	qspare_full_at = -1;
	qspare_known = false;
}

/* qspare_now_ms - a monotonic clock in milliseconds */
static long long
qspare_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* qspare_list - up to max spare names into out; the number found */
static size_t
qspare_list(const char *queue_dir, struct strvec *out, size_t max)
{
	struct dirent *de;
	char *dir = xasprintf("%s/%s", queue_dir, QSPARE_DIR);
	DIR *d = opendir(dir);
	size_t n = 0;

	free(dir);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && (max == 0 || n < max)) {
		/* spares keep the name of the message they held, and are
		 * plain files (a stranger is left where it is) */
		if (!qfile_id_is_valid(de->d_name) ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		if (out != NULL)
			strvec_push(out, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

int
qspare_claim(const char *queue_dir, const char *path)
{
	struct stat st;
	long long now;
	bool listed = false;
	char *src;
	int fd, e;

	qspare_for(queue_dir);
	for (;;) {
		if (qspare_left == 0) {
			/* one listing a call: what it found may all be
			 * strangers left in place */
			if (listed)
				return -1;
			listed = true;
			now = qspare_now_ms();
			if (qspare_empty_at >= 0 && now - qspare_empty_at < QSPARE_RELIST_MS)
				return -1;
			strvec_deinit(&qspare_names);
			strvec_init(&qspare_names);
			qspare_left = qspare_list(queue_dir, &qspare_names, QSPARE_BATCH);
			if (qspare_left == 0) {
				qspare_empty_at = now;
				return -1;
			}
			qspare_empty_at = -1;
			/* receivers that listed the same names start apart */
			qspare_pos = (size_t)getpid() % qspare_left;
		}
		src = xasprintf("%s/%s/%s", queue_dir, QSPARE_DIR,
		    qspare_names.v[qspare_pos % qspare_names.n]);
		qspare_pos++;
		qspare_left--;
		/* only a plain file is taken at all: a directory renamed to
		 * path would stay there (unlink cannot remove it) and make
		 * this message's own file fail with EEXIST; a device or FIFO
		 * is not opened */
		if (lstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(src);
			continue;
		}
		if (rename(src, path) != 0) {
			e = errno;
			free(src);
			if (e == ENOENT)
				continue;	/* another receiver took it */
			/* spare/ unusable (rights, another file system): new
			 * files, and a look again later */
			qspare_left = 0;
			qspare_empty_at = qspare_now_ms();
			return -1;
		}
		free(src);
		fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			(void)unlink(path);
			continue;
		}
		/* only a plain file of ours with no other name is reused; a
		 * stranger is removed and the next one tried */
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
		    st.st_uid != geteuid() || (st.st_mode & 07077) != 0 ||
		    st.st_size > QSPARE_MAX_SIZE) {
			close(fd);
			(void)unlink(path);
			continue;
		}
		/* nor one that another process still has open: a reader of
		 * the old message (mailq, postcat, a delivery agent left
		 * behind by a dead helper) would go on reading the new one's
		 * bytes under the old ID. A write lease is granted only to
		 * the only opener of a file (fcntl(2)); where leases are not
		 * available the file is not reused either. */
		if (fcntl(fd, F_SETLEASE, F_WRLCK) != 0) {
			close(fd);
			(void)unlink(path);
			continue;
		}
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
		return fd;
	}
}

int
qspare_put(const char *queue_dir, const char *queue, const char *id, int fd)
{
	struct stat st;
	time_t now = time(NULL);
	char *src, *dst;
	int ret = -1;

	qspare_for(queue_dir);
	if (!qfile_id_is_valid(id) || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || st.st_size > QSPARE_MAX_SIZE)
		return -1;
	/* the receivers take spares without telling: count them again when
	 * the limit seems reached, and once a second at most while it really
	 * is reached */
	if (!qspare_known || (qspare_count >= QSPARE_MAX && qspare_full_at != now)) {
		/* the hidden ones of this turn count too */
		qspare_count = qspare_list(queue_dir, NULL, 0) + qspare_pending.n;
		qspare_known = true;
		if (qspare_count >= QSPARE_MAX)
			qspare_full_at = now;
	}
	if (qspare_count >= QSPARE_MAX)
		return -1;
	src = xasprintf("%s/%s/%s", queue_dir, queue, id);
	/* a hidden name (not a queue ID: no receiver lists it) until
	 * qspare_publish has made the removal from queue/ durable */
	if (qspare_pending_queue != NULL && strcmp(qspare_pending_queue, queue) != 0 &&
	    qspare_publish(queue_dir) != 0) {
		free(src);
		return -1;
	}
	dst = xasprintf("%s/%s/%s%s", queue_dir, QSPARE_DIR, QSPARE_HIDDEN, id);
	if (rename(src, dst) == 0)
		ret = 0;
	else if (errno == ENOENT && access(src, F_OK) == 0) {
		/* no spare/ yet: made on first use, the queue's own mode */
		char *dir = xasprintf("%s/%s", queue_dir, QSPARE_DIR);

		if ((mkdir(dir, 0700) == 0 || errno == EEXIST) && rename(src, dst) == 0)
			ret = 0;
		free(dir);
	}
	if (ret == 0) {
		strvec_push(&qspare_pending, id);
		if (qspare_pending_queue == NULL)
			qspare_pending_queue = xstrdup(queue);
		qspare_count++;
	}
	free(src);
	free(dst);
	return ret;
}

int
qspare_publish(const char *queue_dir)
{
	int fds[QSPARE_NOLD + 1];
	int errs[QSPARE_NOLD + 1];
	char *dir, *src, *dst;
	size_t i, nfds, own = QSPARE_NOLD;
	int ret = 0, e = 0;

	qspare_for(queue_dir);
	if (qspare_pending.n == 0)
		return 0;
	/* after a failed fsync of a directory, Linux reports the next one
	 * through the same descriptor as a success although the entries may
	 * never have reached the disk: no file is reused again until a new
	 * queue manager starts */
	if (qspare_fsync_failed) {
		ret = -1;
		e = EIO;
		goto unpublish;
	}
	/* the old names gone for good first: a crash must never bring one
	 * back on a file that a receiver has filled with another message.
	 * Not only the queue the files left: the queue manager moves a
	 * message incoming/ -> active/ <-> deferred/ without a directory
	 * fsync (qdir_move_unsynced), so an older name may still be on disk
	 * in any of them, but only where this process moved one in or out
	 * since it last fsync'd the directory (qdir_unsynced: deferred/ is
	 * skipped while no mail is deferred or retried, incoming/ while no
	 * new mail is loaded). Other processes fsync both ends of their
	 * moves (qdir_move). The fsyncs run together (fsync_many.h); the
	 * queue the files left is fsync'd once, not again when it is one of those
	 * (active/, nearly always: it was fsync'd twice per turn). */
	for (i = 0; i < QSPARE_NOLD; i++) {
		if (qspare_old_fds[i] < 0) {
			dir = xasprintf("%s/%s", queue_dir, qspare_old_queues[i]);
			qspare_old_fds[i] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (qspare_old_fds[i] < 0 && ret == 0) {
				ret = -1;
				e = errno;
			}
			free(dir);
		}
		if (strcmp(qspare_old_queues[i], qspare_pending_queue) == 0)
			own = i;
		fds[i] = own == i || qdir_unsynced(qspare_old_queues[i]) ? qspare_old_fds[i] : -1;
	}
	nfds = QSPARE_NOLD;
	if (own == QSPARE_NOLD) {
		dir = xasprintf("%s/%s", queue_dir, qspare_pending_queue);
		fds[nfds] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[nfds] < 0 && ret == 0) {
			ret = -1;
			e = errno;
		}
		free(dir);
		nfds++;
	}
	fsync_many(fds, nfds, errs);
	if (own == QSPARE_NOLD && fds[QSPARE_NOLD] >= 0)
		close(fds[QSPARE_NOLD]);
	for (i = 0; i < nfds; i++)
		if (errs[i] != 0) {
			qspare_fsync_failed = true;
			if (ret == 0) {
				ret = -1;
				e = errs[i];
			}
		} else if (errs[i] == 0 && fds[i] >= 0 && i < QSPARE_NOLD) {
			qdir_synced(qspare_old_queues[i]);
		}
unpublish:
	for (i = 0; i < qspare_pending.n; i++) {
		src = xasprintf("%s/%s/%s%s", queue_dir, QSPARE_DIR, QSPARE_HIDDEN,
		    qspare_pending.v[i]);
		dst = xasprintf("%s/%s/%s", queue_dir, QSPARE_DIR, qspare_pending.v[i]);
		/* not known gone from the queue: never reused, removed */
		if (ret != 0 || rename(src, dst) != 0) {
			(void)unlink(src);
			if (qspare_count > 0)
				qspare_count--;
		} else
			qspare_empty_at = -1;	/* not empty now */
		free(src);
		free(dst);
	}
	strvec_deinit(&qspare_pending);
	strvec_init(&qspare_pending);
	free(qspare_pending_queue);
	qspare_pending_queue = NULL;
	if (ret != 0)
		errno = e;
	return ret;
}

void
qspare_clean(const char *queue_dir)
{
	struct dirent *de;
	char *dir = xasprintf("%s/%s", queue_dir, QSPARE_DIR), *path;
	DIR *d = opendir(dir);

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, QSPARE_HIDDEN, strlen(QSPARE_HIDDEN)) != 0 ||
			    strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			path = xasprintf("%s/%s", dir, de->d_name);
			(void)unlink(path);
			free(path);
		}
		closedir(d);
	}
	free(dir);
}
