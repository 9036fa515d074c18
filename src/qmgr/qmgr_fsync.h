/* qmgr_fsync.h - fsync(2) off the queue manager's loop: a few threads
 * that do nothing but fsync the queue files handed to them, so that the
 * loop keeps starting deliveries while the disk works, and the fsyncs of
 * several messages reach the file system together (one journal commit
 * covers them). Completions come back through a pipe the loop polls.
 * The loop keeps a file open, and its message in active/, until its
 * fsync has completed. Tests: tests/e2e/test_crash.py, test_master.py */
#ifndef YUBIN_QMGR_FSYNC_H
#define YUBIN_QMGR_FSYNC_H

#include <stddef.h>

/* qmgr_fsync_start - start nthreads threads, room for max requests in
 * flight; the descriptor to poll for completions. 0, or -1. Call after
 * the last fork that must not inherit the threads. */
int	 qmgr_fsync_start(size_t nthreads, size_t max, int *fd_r);
/* qmgr_fsync_submit - fsync fd in a thread; ctx comes back with the
 * outcome. -1 when max requests are in flight (the caller fsyncs itself). */
int	 qmgr_fsync_submit(int fd, void *ctx);
/* qmgr_fsync_collect - one completed request: 1 with its ctx and errno
 * (0 = success), 0 when none is ready (never blocks) */
int	 qmgr_fsync_collect(void **ctx_r, int *errno_r);
/* qmgr_fsync_stop - end the threads (after every request was collected) */
void	 qmgr_fsync_stop(void);

#endif
