/* fsync_many.c - fsync several files at once (fsync_many.h): the caller
 * and up to FSYNC_MANY_THREADS - 1 threads take the next file from a
 * shared counter until none is left. The threads touch only the arrays
 * given and the counter, and the call returns only once every thread
 * that joined has left the job.
 *
 * The threads are a pool kept for the life of the process: the queue
 * manager calls this once per loop turn (the queue directories before
 * spares are published) and smtpd once per group commit, and starting
 * and ending two to seven threads each time cost about ten system calls
 * a thread (clone3, signal masks, robust list, rseq, madvise, exit) per
 * delivered message. A fork's child starts with no pool (pthread_atfork);
 * a second caller while the pool is busy (two threads of one process)
 * starts short-lived threads as before.
 * Tests: tests/unit/lib/test_fsync_many.c */
#include "lib/fsync_many.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
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

/* The pool: workers wait for a job to be posted (gen moves on), join it
 * while it is open, and tell the caller when the last one leaves. */
static struct {
	pthread_mutex_t		 mu;
	pthread_cond_t		 wake;		/* a job was posted */
	pthread_cond_t		 left;		/* a worker left the job */
	struct fsync_many_job	*job;		/* open for joining, or NULL */
	unsigned long		 gen;		/* jobs posted so far */
	size_t			 slots;		/* workers the open job still takes */
	size_t			 inside;	/* workers in a job now */
	size_t			 nthreads;	/* workers started */
	bool			 busy;		/* a caller has the pool */
} fsync_pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.left = PTHREAD_COND_INITIALIZER,
};
static pthread_once_t fsync_pool_once = PTHREAD_ONCE_INIT;

/* fsync_pool_forget - in a fork's child: the workers were not copied, and
 * the lock may have been held by one of the parent's threads */
static void
fsync_pool_forget(void)
{
	pthread_mutex_init(&fsync_pool.mu, NULL);
	pthread_cond_init(&fsync_pool.wake, NULL);
	pthread_cond_init(&fsync_pool.left, NULL);
	fsync_pool.job = NULL;
	fsync_pool.slots = fsync_pool.inside = fsync_pool.nthreads = 0;
	fsync_pool.busy = false;
}

static void
fsync_pool_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, fsync_pool_forget);
}

static void *
fsync_pool_worker(void *arg)
{
	/* the job generation already posted when this worker was started:
	 * it joins the next one, the one its starter posts */
	unsigned long seen = (unsigned long)(uintptr_t)arg;
	struct fsync_many_job *job;

	pthread_mutex_lock(&fsync_pool.mu);
	for (;;) {
		while (fsync_pool.gen == seen)
			pthread_cond_wait(&fsync_pool.wake, &fsync_pool.mu);
		seen = fsync_pool.gen;
		if (fsync_pool.job == NULL || fsync_pool.slots == 0)
			continue;
		fsync_pool.slots--;
		job = fsync_pool.job;
		fsync_pool.inside++;
		pthread_mutex_unlock(&fsync_pool.mu);
		(void)fsync_many_worker(job);
		pthread_mutex_lock(&fsync_pool.mu);
		if (--fsync_pool.inside == 0)
			pthread_cond_signal(&fsync_pool.left);
	}
	return NULL;
}

/* fsync_pool_run - the job done by the caller and up to want workers of
 * the pool; false when the pool is busy (nothing done) */
static bool
fsync_pool_run(struct fsync_many_job *job, size_t want)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;

	(void)pthread_once(&fsync_pool_once, fsync_pool_atfork);
	pthread_mutex_lock(&fsync_pool.mu);
	if (fsync_pool.busy) {
		pthread_mutex_unlock(&fsync_pool.mu);
		return false;
	}
	fsync_pool.busy = true;
	if (fsync_pool.nthreads < want) {
		/* a small stack: the workers call fsync and nothing else;
		 * every signal blocked in them */
		pthread_attr_init(&attr);
		(void)pthread_attr_setstacksize(&attr, 128 * 1024);
		(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		while (fsync_pool.nthreads < want &&
		    pthread_create(&th, &attr, fsync_pool_worker,
		    (void *)(uintptr_t)fsync_pool.gen) == 0)
			fsync_pool.nthreads++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	fsync_pool.job = job;
	fsync_pool.slots = want;
	fsync_pool.gen++;
	pthread_cond_broadcast(&fsync_pool.wake);
	pthread_mutex_unlock(&fsync_pool.mu);
	(void)fsync_many_worker(job);
	pthread_mutex_lock(&fsync_pool.mu);
	/* closed: a worker waking up late joins nothing, and the caller's
	 * arrays are only handed back once every worker inside has left */
	fsync_pool.job = NULL;
	fsync_pool.slots = 0;
	while (fsync_pool.inside > 0)
		pthread_cond_wait(&fsync_pool.left, &fsync_pool.mu);
	fsync_pool.busy = false;
	pthread_mutex_unlock(&fsync_pool.mu);
	return true;
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
	if (want > 0 && fsync_pool_run(&job, want))
		return;
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
