/* fsync_many.c - fsync several files at once (fsync_many.h): the caller
 * and up to FSYNC_MANY_THREADS - 1 short-lived threads take the next file
 * from a shared counter until none is left. The threads touch only the
 * arrays given and the counter; they are joined before the call returns.
 * Tests: tests/unit/lib/test_fsync_many.c */
#include "lib/fsync_many.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

struct fsync_many_job {
	const int	*fds;
	int		*errs;
	size_t		 n;
	atomic_size_t	 next;
};

static void *
fsync_many_worker(void *arg)
{
	struct fsync_many_job *job = arg;
	size_t i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->n) {
		if (job->fds[i] < 0)
			job->errs[i] = 0;
		else if (fsync(job->fds[i]) != 0)
			job->errs[i] = errno != 0 ? errno : EIO;
		else
			job->errs[i] = 0;
	}
	return NULL;
}

void
fsync_many(const int *fds, size_t n, int *errs)
{
	struct fsync_many_job job;
	pthread_t th[FSYNC_MANY_THREADS - 1];
	pthread_attr_t attr;
	sigset_t all, old;
	size_t nth = 0, want;

	job.fds = fds;
	job.errs = errs;
	job.n = n;
	atomic_init(&job.next, 0);
	/* one file gains nothing from a thread */
	want = n < FSYNC_MANY_THREADS ? (n > 0 ? n - 1 : 0) : FSYNC_MANY_THREADS - 1;
	if (want > 0) {
		/* a small stack: the workers call fsync and nothing else */
		pthread_attr_init(&attr);
		(void)pthread_attr_setstacksize(&attr, 128 * 1024);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		while (nth < want && pthread_create(&th[nth], &attr, fsync_many_worker, &job) == 0)
			nth++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	(void)fsync_many_worker(&job);
	while (nth > 0)
		pthread_join(th[--nth], NULL);
}
