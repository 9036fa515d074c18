/* lock.c - mailbox locks (storage.h): PATH.lock dot-locks made with
 * O_EXCL as procmail, mutt and Postfix make them, and fcntl locks on the
 * open file, as Dovecot and mutt take them. Both never wait: the caller
 * defers, and the queue tries again later.
 * Tests: tests/unit/storage/test_storage.c */
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"

int
storage_dotlock_take(const char *path, char **lock_path_r)
{
	char *lock = xasprintf("%s.lock", path);
	struct stat st;
	int fd, tries;

	for (tries = 0; tries < 2; tries++) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			*lock_path_r = lock;
			return 0;
		}
		if (errno != EEXIST)
			break;
		/* A lock left by a program that died: Postfix removes one
		 * older than stale_lock_time (500s), and so do we, once. */
		if (lstat(lock, &st) != 0 || !S_ISREG(st.st_mode) ||
		    time(NULL) - st.st_mtime < STORAGE_DOTLOCK_STALE)
			break;
		if (unlink(lock) != 0)
			break;
	}
	{
		int e = errno;

		free(lock);
		*lock_path_r = NULL;
		errno = e;
	}
	return -1;
}

void
storage_dotlock_release(char **lock_path)
{
	if (*lock_path == NULL)
		return;
	(void)unlink(*lock_path);
	XFREE(*lock_path);
}

int
storage_fcntl_lock(int fd, bool exclusive)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLK, &fl) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EACCES)
			errno = EAGAIN;
		return -1;
	}
	return 0;
}

void
storage_fcntl_unlock(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	(void)fcntl(fd, F_SETLK, &fl);
}
