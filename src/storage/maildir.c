/* maildir.c - storing a message in a Maildir (storage.h): write to tmp/
 * under a unique name, fsync the file, rename into new/, fsync new/, as
 * Postfix's and Dovecot's delivery do; ",S=SIZE" in the name lets Dovecot
 * skip a stat. Missing tmp/, new/, cur/ are made with mode 0700.
 * Tests: tests/unit/storage/test_storage.c */
#include "storage/storage-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"

void
storage_maildir_name(struct str *out, size_t size)
{
	static unsigned long counter;
	struct timeval tv;
	char host[256];
	const char *h;

	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	str_appendf(out, "%ld.M%ldP%ldQ%lu.", (long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    ++counter);
	/* Maildir's own escapes: "/" and ":" cannot appear in a name part */
	for (h = host; *h != '\0'; h++) {
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

static int
maildir_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

static int
maildir_deliver(const char *path, const struct storage_mail *m, off_t size_limit,
    char *where_r, struct storage_error *error_r)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	struct str base, buf, name;
	char *tmp = NULL, *newp = NULL, *sub;
	size_t i, plen = strlen(path);
	int fd = -1, e, ret = -1;

	str_init(&base, plen + 2);
	str_append(&base, path);
	while (base.len > 1 && base.s[base.len - 1] == '/')
		str_truncate(&base, base.len - 1);
	/* missing parents first, as Postfix's make_dirs (virtual_mailbox_base/
	 * domain/user/), then the Maildir itself, then its three directories */
	{
		char *slash;

		for (slash = strchr(base.s + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			if (mkdir(base.s, 0700) != 0 && errno != EEXIST) {
				*slash = '/';
				break;
			}
			*slash = '/';
		}
	}
	if (maildir_mkdir(base.s) != 0) {
		e = errno;
		storage_error_set(error_r, e, "4.2.0", "create maildir file %s: %s", base.s,
		    strerror(e));
		str_deinit(&base);
		return -1;
	}
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		sub = xasprintf("%s/%s", base.s, subdirs[i]);
		if (maildir_mkdir(sub) != 0) {
			e = errno;
			storage_error_set(error_r, e, "4.2.0", "create maildir file %s: %s", sub,
			    strerror(e));
			free(sub);
			str_deinit(&base);
			return -1;
		}
		free(sub);
	}
	str_init(&buf, m->len + 256);
	storage_render(&buf, m, false);
	str_init(&name, 128);
	storage_maildir_name(&name, buf.len);
	tmp = xasprintf("%s/tmp/%s", base.s, name.s);
	newp = xasprintf("%s/new/%s", base.s, name.s);
	if (size_limit > 0 && (off_t)buf.len > size_limit) {
		storage_error_set(error_r, EFBIG, "5.2.2", "create maildir file %s: %s", tmp,
		    strerror(EFBIG));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		storage_error_set(error_r, e, "4.2.0", "create maildir file %s: %s", tmp,
		    strerror(e));
		goto out;
	}
	if (storage_write_full(fd, buf.s, buf.len) != 0 || fsync(fd) != 0) {
		e = errno;
		storage_error_set(error_r, e, "4.3.0", "write maildir file %s: %s", tmp,
		    strerror(e));
		(void)unlink(tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		e = errno;
		storage_error_set(error_r, e, "4.3.0", "write maildir file %s: %s", tmp,
		    strerror(e));
		(void)unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, newp) != 0) {
		e = errno;
		storage_error_set(error_r, e, "4.2.0", "create maildir file %s: %s", newp,
		    strerror(e));
		(void)unlink(tmp);
		goto out;
	}
	sub = xasprintf("%s/new", base.s);
	if (maildir_fsync_dir(sub) != 0) {
		e = errno;
		storage_error_set(error_r, e, "4.3.0", "fsync %s: %s", sub, strerror(e));
		/* not known durable: take it back so the retry does not duplicate */
		(void)unlink(newp);
		free(sub);
		goto out;
	}
	free(sub);
	ret = 0;
	if (where_r != NULL)
		snprintf(where_r, STORAGE_TEXT_SIZE, "%s", newp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(newp);
	str_deinit(&name);
	str_deinit(&buf);
	str_deinit(&base);
	return ret;
}

const struct storage_vfuncs storage_maildir_vfuncs = {
	.name = "maildir",
	.deliver = maildir_deliver,
};
