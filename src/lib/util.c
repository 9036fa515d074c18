/* util.c - files and string vectors (see util.h). Tests: tests/unit/lib/test_util.c */
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"

void
strvec_init(struct strvec *sv)
{
	sv->n = 0;
	sv->cap = 8;
	sv->v = xcalloc(sv->cap, sizeof(char *));
}

void
strvec_deinit(struct strvec *sv)
{
	size_t i;

	if (sv->v == NULL)
		return;
	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	XFREE(sv->v);
	sv->n = sv->cap = 0;
}

void
strvec_push_take(struct strvec *sv, char *s)
{
	if (sv->v == NULL)
		strvec_init(sv);
	if (sv->n + 1 >= sv->cap) {
		sv->cap *= 2;
		sv->v = xreallocarray(sv->v, sv->cap, sizeof(char *));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void
strvec_push(struct strvec *sv, const char *s)
{
	strvec_push_take(sv, xstrdup(s));
}

bool
strvec_contains(const struct strvec *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

static int
strvec_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
strvec_sort(struct strvec *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(char *), strvec_cmp);
}

int
file_read(const char *path, size_t max, struct str *out)
{
	char buf[8192];
	ssize_t n;
	int fd, saved;

	str_reset(out);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			errno = EFBIG;
			goto fail;
		}
		str_append_n(out, buf, (size_t)n);
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
file_write_atomic(const char *path, const char *data, size_t len, int mode)
{
	struct str tmp, dir;
	int fd = -1, dfd = -1, ret = -1, saved;
	size_t off = 0;

	str_init(&tmp, 64);
	str_appendf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	str_init(&dir, 64);
	path_dirname(&dir, path);
	if ((fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		goto out;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp.s, path) != 0)
		goto out;
	if ((dfd = open(dir.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0)
		goto out;
	ret = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (ret != 0)
		unlink(tmp.s);
	str_deinit(&tmp);
	str_deinit(&dir);
	errno = saved;
	return ret;
}

int
dir_fsync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret, saved;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

int
dir_fsync_of(const char *path)
{
	struct str dir;
	int ret;

	str_init(&dir, 64);
	path_dirname(&dir, path);
	ret = dir_fsync(dir.len > 0 ? dir.s : "/");
	str_deinit(&dir);
	return ret;
}

void
path_dirname(struct str *out, const char *path)
{
	const char *slash = strrchr(path, '/');

	str_reset(out);
	if (slash == NULL)
		str_append(out, ".");
	else if (slash == path)
		str_append(out, "/");
	else
		str_append_n(out, path, (size_t)(slash - path));
}

char *
path_join(const char *dir, const char *name)
{
	if (name[0] == '/')
		return xstrdup(name);
	return xasprintf("%s/%s", dir, name);
}

void
daemon_detach(void)
{
	pid_t pid;
	int fd;

	if (setsid() < 0)
		_exit(1);
	if ((pid = fork()) != 0)
		_exit(pid < 0 ? 1 : 0);
	if (chdir("/") != 0)
		_exit(1);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}
