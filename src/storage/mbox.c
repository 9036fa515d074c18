/* mbox.c - appending to an mbox file (storage.h): dot-lock, fcntl lock,
 * From_ line, mboxrd quoting, a blank line after the message, fsync; any
 * failure truncates the file back to its size before the append, so a
 * reader never sees half a message. Tests: tests/unit/storage/test_storage.c */
#include "storage/storage-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"

/* mbox_many - append n messages under one lock with one fsync: each one
 * that fits is written, and the fsync after the last one covers them
 * all; a failed write or fsync truncates back (to before that message, or
 * before the whole batch) and fails what it took back. errors[i] is
 * filled for each message that failed. The number delivered. */
static int
mbox_many(const char *path, const struct storage_mail *mails, size_t n, off_t size_limit,
    struct storage_error *errors, char *where_r)
{
	char *dotlock = NULL;
	struct str buf;
	struct stat st;
	int fd = -1, e;
	off_t orig, end;
	size_t i, k, ok = 0;
	bool *written = NULL;

	for (i = 0; i < n; i++)
		memset(&errors[i], 0, sizeof(errors[i]));
	if (n == 0)
		return 0;
	if (storage_dotlock_take(path, &dotlock) != 0) {
		/* A spool directory we may not write into (Debian's /var/mail
		 * is root:mail 2775) still gets the fcntl lock, which is the
		 * one Dovecot and mutt rely on. */
		if (errno == EEXIST) {
			storage_error_set(&errors[0], EAGAIN, "4.2.0",
			    "cannot update mailbox %s: unable to lock for exclusive access: "
			    "%s.lock exists", path, path);
			goto fail_all;
		}
		if (errno != EACCES) {
			e = errno;
			storage_error_set(&errors[0], e, "4.2.0",
			    "cannot update mailbox %s: unable to create lock file %s.lock: %s",
			    path, path, strerror(e));
			goto fail_all;
		}
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		storage_error_set(&errors[0], e, "4.2.0", "cannot open mailbox %s: %s", path,
		    e == ELOOP ? "is a symbolic link" : strerror(e));
		goto fail_all;
	}
	/* Postfix's checks (safe_open): a regular file with one link, ours */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (!mails[0].any_owner && st.st_uid != geteuid())) {
		storage_error_set(&errors[0], 0, "5.2.0",
		    "cannot update mailbox %s: not a regular file with one link owned by the "
		    "recipient", path);
		goto fail_all;
	}
	if (storage_fcntl_lock(fd, true) != 0) {
		e = errno;
		storage_error_set(&errors[0], e, "4.2.0",
		    "cannot update mailbox %s: unable to lock for exclusive access: %s", path,
		    strerror(e));
		goto fail_all;
	}
	orig = end = st.st_size;
	written = calloc(n, sizeof(*written));
	str_init(&buf, mails[0].len + 512);
	for (i = 0; i < n && written != NULL; i++) {
		str_reset(&buf);
		if (end == 0 && mails[i].mbox_first != NULL) {
			/* the first message of the file carries the mailbox's
			 * own header (storage_mail.mbox_first), before any
			 * other: Dovecot reads X-IMAPbase's keyword names
			 * before it accepts them in X-Keywords */
			struct storage_mail first = mails[i];
			char *both = xasprintf("%s%s", first.mbox_first,
			    first.prefix != NULL ? first.prefix : "");

			first.prefix = both;
			storage_render(&buf, &first, true);
			free(both);
		} else
			storage_render(&buf, &mails[i], true);
		if (size_limit > 0 && end + (off_t)buf.len > size_limit) {
			storage_error_set(&errors[i], EFBIG, "5.2.2",
			    "cannot update mailbox %s: error writing message: %s", path,
			    strerror(EFBIG));
			continue;
		}
		if (storage_write_full(fd, buf.s, buf.len) != 0) {
			e = errno;
			if (ftruncate(fd, end) != 0)
				e = errno;
			storage_error_set(&errors[i], e, "4.3.0",
			    "cannot update mailbox %s: error writing message: %s", path,
			    strerror(e));
			continue;
		}
		end += (off_t)buf.len;
		written[i] = true;
	}
	str_deinit(&buf);
	if (written == NULL) {
		storage_error_set(&errors[0], ENOMEM, "4.3.0",
		    "cannot update mailbox %s: %s", path, strerror(ENOMEM));
		storage_fcntl_unlock(fd);
		goto fail_all;
	}
	if (end > orig && fsync(fd) != 0) {
		/* none of them is known to be on disk: all taken back */
		e = errno;
		if (ftruncate(fd, orig) != 0)
			e = errno;
		for (i = 0; i < n; i++)
			if (written[i]) {
				storage_error_set(&errors[i], e, "4.3.0",
				    "cannot update mailbox %s: error writing message: %s", path,
				    strerror(e));
				written[i] = false;
			}
	}
	for (i = 0; i < n; i++)
		if (written[i])
			ok++;
	if (ok > 0 && written[0] && where_r != NULL)
		snprintf(where_r, STORAGE_TEXT_SIZE, "%s", path);
	free(written);
	storage_fcntl_unlock(fd);
	close(fd);
	storage_dotlock_release(&dotlock);
	return (int)ok;
fail_all:
	for (k = 1; k < n; k++)
		errors[k] = errors[0];
	if (fd >= 0)
		close(fd);
	storage_dotlock_release(&dotlock);
	return 0;
}

static int
mbox_deliver(const char *path, const struct storage_mail *m, off_t size_limit,
    char *where_r, struct storage_error *error_r)
{
	return mbox_many(path, m, 1, size_limit, error_r, where_r) == 1 ? 0 : -1;
}

int
storage_mbox_deliver_many(const char *path, const struct storage_mail *mails, size_t n,
    off_t size_limit, struct storage_error *errors)
{
	return mbox_many(path, mails, n, size_limit, errors, NULL);
}

const struct storage_vfuncs storage_mbox_vfuncs = {
	.name = "mbox",
	.deliver = mbox_deliver,
};
