/* mbox.c - appending to an mbox file (storage.h): dot-lock, fcntl lock,
 * From_ line, mboxrd quoting, a blank line after the message, fsync; any
 * failure truncates the file back to its size before the append, so a
 * reader never sees half a message. Tests: tests/unit/storage/test_storage.c */
#include "storage/storage-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/str.h"

static int
mbox_deliver(const char *path, const struct storage_mail *m, off_t size_limit,
    char *where_r, struct storage_error *error_r)
{
	char *dotlock = NULL;
	struct str buf;
	struct stat st;
	int fd = -1, ret = -1, e;
	off_t orig;

	if (storage_dotlock_take(path, &dotlock) != 0) {
		/* A spool directory we may not write into (Debian's /var/mail
		 * is root:mail 2775) still gets the fcntl lock, which is the
		 * one Dovecot and mutt rely on. */
		if (errno == EEXIST) {
			storage_error_set(error_r, EAGAIN, "4.2.0",
			    "cannot update mailbox %s: unable to lock for exclusive access: "
			    "%s.lock exists", path, path);
			return -1;
		}
		if (errno != EACCES) {
			e = errno;
			storage_error_set(error_r, e, "4.2.0",
			    "cannot update mailbox %s: unable to create lock file %s.lock: %s",
			    path, path, strerror(e));
			return -1;
		}
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		storage_error_set(error_r, e, "4.2.0", "cannot open mailbox %s: %s", path,
		    e == ELOOP ? "is a symbolic link" : strerror(e));
		goto out;
	}
	/* Postfix's checks (safe_open): a regular file with one link, ours */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (!m->any_owner && st.st_uid != geteuid())) {
		storage_error_set(error_r, 0, "5.2.0",
		    "cannot update mailbox %s: not a regular file with one link owned by the "
		    "recipient", path);
		goto out;
	}
	if (storage_fcntl_lock(fd, true) != 0) {
		e = errno;
		storage_error_set(error_r, e, "4.2.0",
		    "cannot update mailbox %s: unable to lock for exclusive access: %s", path,
		    strerror(e));
		goto out;
	}
	orig = st.st_size;
	str_init(&buf, m->len + 512);
	storage_render(&buf, m, true);
	if (size_limit > 0 && orig + (off_t)buf.len > size_limit) {
		storage_error_set(error_r, EFBIG, "5.2.2",
		    "cannot update mailbox %s: error writing message: %s", path, strerror(EFBIG));
	} else if (storage_write_full(fd, buf.s, buf.len) != 0 || fsync(fd) != 0) {
		e = errno;
		if (ftruncate(fd, orig) != 0)
			e = errno;
		storage_error_set(error_r, e, "4.3.0",
		    "cannot update mailbox %s: error writing message: %s", path, strerror(e));
	} else {
		ret = 0;
		if (where_r != NULL)
			snprintf(where_r, STORAGE_TEXT_SIZE, "%s", path);
	}
	str_deinit(&buf);
	storage_fcntl_unlock(fd);
out:
	if (fd >= 0)
		close(fd);
	storage_dotlock_release(&dotlock);
	return ret;
}

const struct storage_vfuncs storage_mbox_vfuncs = {
	.name = "mbox",
	.deliver = mbox_deliver,
};
