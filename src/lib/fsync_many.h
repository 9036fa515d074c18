/* fsync_many.h - fsync several files at once. One fsync waits for its own
 * write-back and then for the device's cache flush; fsyncs issued one
 * after another pay that wait once per file, while fsyncs issued
 * together (from a few threads) wait together, and the block layer merges
 * their flushes. Local delivery stores a batch of Maildir files and smtpd
 * commits a group of queue files this way. Nothing here returns before
 * every fsync has returned. Tests: tests/unit/lib/test_fsync_many.c */
#ifndef YUBIN_FSYNC_MANY_H
#define YUBIN_FSYNC_MANY_H

#include <stddef.h>

/* the most threads one call uses (the caller's own included) */
#define FSYNC_MANY_THREADS	8

/* fsync_many - fsync fds[0..n-1] (a negative fd is skipped: errs 0);
 * errs[i] gets 0 or the errno of fds[i]'s fsync. Uses up to
 * FSYNC_MANY_THREADS threads (fewer when n is small, or when a thread
 * cannot be started: the caller then does the rest itself). Signals stay
 * blocked in the helper threads. */
void	 fsync_many(const int *fds, size_t n, int *errs);

#endif
