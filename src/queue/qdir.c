/* qdir.c - queue directories: creation with safe modes, durable moves,
 * listings. Tests: tests/unit/queue/test_qdir.c */
#include "queue/qdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/util.h"
#include "queue/qfile.h"

const char *const qdir_all[] = {
	"incoming", "active", "deferred", "hold", "corrupt", "maildrop", "bounce", "defer",
	"trace", "flush", "pid", "public", "private", "spare", NULL,
};

const char *const qdir_message_queues[] = {
	"maildrop", "hold", "incoming", "active", "deferred", "corrupt", NULL,
};

/* Modes as Postfix's postfix-files: the queues are the mail owner's alone;
 * maildrop is writable by the submission group, public is searchable by it,
 * pid is readable by all so that "postfix status" works for anyone. */
static const struct {
	const char	*name;
	int		 mode;
} qdir_modes[] = {
	{ "maildrop", 0730 }, { "public", 0710 }, { "pid", 0755 },
};

static char qdir_error[512];
/* bit i: a name moved into or out of qdir_all[i] unsynced (qdir_unsynced) */
static unsigned long qdir_unsynced_mask = ~0UL;

static int
qdir_index(const char *queue)
{
	for (int i = 0; qdir_all[i] != NULL; i++)
		if (strcmp(qdir_all[i], queue) == 0)
			return i;
	return -1;
}

bool
qdir_unsynced(const char *queue)
{
	int i = qdir_index(queue);

	return i < 0 || (qdir_unsynced_mask & (1UL << i)) != 0;
}

void
qdir_synced(const char *queue)
{
	int i = qdir_index(queue);

	if (i >= 0)
		qdir_unsynced_mask &= ~(1UL << i);
}

static void
qdir_mark_unsynced(const char *queue)
{
	int i = qdir_index(queue);

	if (i >= 0)
		qdir_unsynced_mask |= 1UL << i;
}

bool
qdir_is_message_queue(const char *name)
{
	size_t i;

	for (i = 0; qdir_message_queues[i] != NULL; i++)
		if (strcmp(qdir_message_queues[i], name) == 0)
			return true;
	return false;
}

int
qdir_mode(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(qdir_modes) / sizeof(qdir_modes[0]); i++)
		if (strcmp(qdir_modes[i].name, name) == 0)
			return qdir_modes[i].mode;
	for (i = 0; qdir_all[i] != NULL; i++)
		if (strcmp(qdir_all[i], name) == 0)
			return 0700;
	return -1;
}

static int
qdir_mkdir(const char *path, int mode, uid_t uid, gid_t gid, const char **error_r)
{
	struct stat st;

	if (mkdir(path, (mode_t)mode) != 0 && errno != EEXIST)
		goto fail;
	if (lstat(path, &st) != 0)
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(qdir_error, sizeof(qdir_error), "%s: not a directory", path);
		*error_r = qdir_error;
		return -1;
	}
	/* mkdir's mode is filtered by the umask: set it exactly */
	if ((st.st_mode & 07777) != (mode_t)mode && chmod(path, (mode_t)mode) != 0)
		goto fail;
	if ((uid != (uid_t)-1 && st.st_uid != uid) || (gid != (gid_t)-1 && st.st_gid != gid))
		if (chown(path, uid, gid) != 0)
			goto fail;
	return 0;
fail:
	snprintf(qdir_error, sizeof(qdir_error), "%s: %s", path, strerror(errno));
	*error_r = qdir_error;
	return -1;
}

int
qdir_create(const char *queue_dir, uid_t uid, gid_t gid, const char **error_r)
{
	char *path;
	size_t i;
	int ret = 0;

	if (mkdir(queue_dir, 0755) != 0 && errno != EEXIST) {
		snprintf(qdir_error, sizeof(qdir_error), "%s: %s", queue_dir, strerror(errno));
		*error_r = qdir_error;
		return -1;
	}
	for (i = 0; qdir_all[i] != NULL && ret == 0; i++) {
		path = xasprintf("%s/%s", queue_dir, qdir_all[i]);
		ret = qdir_mkdir(path, qdir_mode(qdir_all[i]),
		    strcmp(qdir_all[i], "pid") == 0 ? (uid_t)-1 : uid, gid, error_r);
		free(path);
	}
	return ret;
}

char *
qdir_path(const char *queue_dir, const char *queue, const char *id)
{
	return xasprintf("%s/%s/%s", queue_dir, queue, id);
}

int
qdir_move_unsynced(const char *queue_dir, const char *id, const char *from, const char *to)
{
	char *src, *dst;
	int ret;

	if (!qfile_id_is_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	src = qdir_path(queue_dir, from, id);
	dst = qdir_path(queue_dir, to, id);
	/* marked first: set, it costs at most one fsync more. Both ends: the
	 * name left behind may come back after a crash, and without a
	 * journal the new one may be lost while the removal is on disk (the
	 * publication's fsync of the old directory would make that final:
	 * it fsyncs the new one too) */
	qdir_mark_unsynced(from);
	qdir_mark_unsynced(to);
	ret = rename(src, dst);
	free(src);
	free(dst);
	return ret;
}

int
qdir_move(const char *queue_dir, const char *id, const char *from, const char *to)
{
	char *src, *dst, *d1, *d2;
	int ret = -1;

	if (!qfile_id_is_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	src = qdir_path(queue_dir, from, id);
	dst = qdir_path(queue_dir, to, id);
	d1 = xasprintf("%s/%s", queue_dir, from);
	d2 = xasprintf("%s/%s", queue_dir, to);
	/* the target directory first: the message must exist somewhere after
	 * a crash; two names are harmless, none is a lost message. The source
	 * is fsync'd whatever became of the target's: the queue manager only
	 * fsyncs the directories its own moves touched before it reuses a
	 * file (qdir_unsynced), so the old name must not stay unsynced here.
	 * For the same reason no SIGINT or SIGTERM may cut the three calls
	 * apart (postsuper -H ALL, interrupted). */
	{
		sigset_t block, old;
		int e;

		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGHUP);
		sigaddset(&block, SIGQUIT);
		(void)pthread_sigmask(SIG_BLOCK, &block, &old);
		if (rename(src, dst) == 0) {
			int r2 = dir_fsync(d2), e2 = errno, r1 = dir_fsync(d1);

			ret = r2 == 0 && r1 == 0 ? 0 : -1;
			if (r2 != 0)
				errno = e2;
		}
		e = errno;
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = e;
	}
	free(src);
	free(dst);
	free(d1);
	free(d2);
	return ret;
}

static int
qdir_scan(const char *queue_dir, const char *queue, struct strvec *out, bool valid)
{
	struct dirent *de;
	char *path;
	DIR *dir;

	path = xasprintf("%s/%s", queue_dir, queue);
	dir = opendir(path);
	free(path);
	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (qfile_id_is_valid(de->d_name) == valid)
			strvec_push(out, de->d_name);
	}
	closedir(dir);
	strvec_sort(out);
	return 0;
}

int
qdir_list(const char *queue_dir, const char *queue, struct strvec *ids)
{
	return qdir_scan(queue_dir, queue, ids, true);
}

int
qdir_list_other(const char *queue_dir, const char *queue, struct strvec *names)
{
	return qdir_scan(queue_dir, queue, names, false);
}

const char *
qdir_find(const char *queue_dir, const char *id)
{
	struct stat st;
	char *path;
	size_t i;
	int found;

	if (!qfile_id_is_valid(id))
		return NULL;
	for (i = 0; qdir_message_queues[i] != NULL; i++) {
		path = qdir_path(queue_dir, qdir_message_queues[i], id);
		found = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
		free(path);
		if (found)
			return qdir_message_queues[i];
	}
	return NULL;
}

char *
qdir_defer_path(const char *queue_dir, const char *id)
{
	return qdir_path(queue_dir, "defer", id);
}

static int
qdir_remove_sync(const char *queue_dir, const char *queue, const char *id, bool sync)
{
	char *path, *dir;
	int ret;

	if (!qfile_id_is_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	path = qdir_path(queue_dir, queue, id);
	ret = unlink(path);
	free(path);
	if (ret == 0) {
		path = qdir_defer_path(queue_dir, id);
		(void)unlink(path);
		free(path);
		if (sync) {
			dir = xasprintf("%s/%s", queue_dir, queue);
			(void)dir_fsync(dir);
			free(dir);
		}
	}
	return ret;
}

int
qdir_remove(const char *queue_dir, const char *queue, const char *id)
{
	return qdir_remove_sync(queue_dir, queue, id, true);
}

int
qdir_remove_unsynced(const char *queue_dir, const char *queue, const char *id)
{
	return qdir_remove_sync(queue_dir, queue, id, false);
}
