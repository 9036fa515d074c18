/* qmgr_fsync.c - fsync threads for the queue manager (qmgr_fsync.h).
 * Two fixed rings under one mutex: requests (fd, ctx) and completions
 * (ctx, errno). The threads allocate nothing and call nothing but fsync,
 * so a fork elsewhere cannot inherit a held allocator lock from them.
 * Tests: tests/e2e/test_crash.py, test_master.py */
#include "qmgr/qmgr_fsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/mem.h"

struct qmgr_fsync_req {
	int	 fd;
	int	 err;
	void	*ctx;
};

static pthread_mutex_t	 sync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 sync_cond = PTHREAD_COND_INITIALIZER;
static struct qmgr_fsync_req *todo, *done;	/* rings of max entries */
static size_t		 todo_head, todo_n, done_head, done_n, ring_max;
static size_t		 in_flight;	/* submitted, not yet collected */
static pthread_t	*threads;
static size_t		 nthreads;
static bool		 stopping;
static int		 wake_pipe[2] = { -1, -1 };

static void *
qmgr_fsync_thread(void *arg)
{
	struct qmgr_fsync_req r;
	char c = 0;

	(void)arg;
	pthread_mutex_lock(&sync_lock);
	for (;;) {
		while (todo_n == 0 && !stopping)
			pthread_cond_wait(&sync_cond, &sync_lock);
		if (todo_n == 0)
			break;
		r = todo[todo_head];
		todo_head = (todo_head + 1) % ring_max;
		todo_n--;
		pthread_mutex_unlock(&sync_lock);
		r.err = fsync(r.fd) == 0 ? 0 : errno;
		pthread_mutex_lock(&sync_lock);
		done[(done_head + done_n) % ring_max] = r;
		done_n++;
		/* a full pipe already wakes the loop: the byte is only a bell */
		if (write(wake_pipe[1], &c, 1) < 0 && errno != EAGAIN)
			break;
	}
	pthread_mutex_unlock(&sync_lock);
	return NULL;
}

int
qmgr_fsync_start(size_t n, size_t max, int *fd_r)
{
	sigset_t all, old;

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	ring_max = max > 0 ? max : 1;
	todo = xcalloc(ring_max, sizeof(*todo));
	done = xcalloc(ring_max, sizeof(*done));
	threads = xcalloc(n, sizeof(*threads));
	/* the loop's signal handlers must run in the loop's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (nthreads = 0; nthreads < n; nthreads++)
		if (pthread_create(&threads[nthreads], NULL, qmgr_fsync_thread, NULL) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (nthreads == 0)
		return -1;
	*fd_r = wake_pipe[0];
	return 0;
}

int
qmgr_fsync_submit(int fd, void *ctx)
{
	int ret = -1;

	pthread_mutex_lock(&sync_lock);
	if (nthreads > 0 && in_flight < ring_max) {
		todo[(todo_head + todo_n) % ring_max] = (struct qmgr_fsync_req){ fd, 0, ctx };
		todo_n++;
		in_flight++;
		pthread_cond_signal(&sync_cond);
		ret = 0;
	}
	pthread_mutex_unlock(&sync_lock);
	return ret;
}

int
qmgr_fsync_collect(void **ctx_r, int *errno_r)
{
	char buf[64];
	int ret = 0;

	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&sync_lock);
	if (done_n > 0) {
		*ctx_r = done[done_head].ctx;
		*errno_r = done[done_head].err;
		done_head = (done_head + 1) % ring_max;
		done_n--;
		in_flight--;
		ret = 1;
	}
	pthread_mutex_unlock(&sync_lock);
	return ret;
}

void
qmgr_fsync_stop(void)
{
	size_t i;

	pthread_mutex_lock(&sync_lock);
	stopping = true;
	pthread_cond_broadcast(&sync_cond);
	pthread_mutex_unlock(&sync_lock);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	nthreads = 0;
	XFREE(threads);
	XFREE(todo);
	XFREE(done);
	if (wake_pipe[0] >= 0) {
		close(wake_pipe[0]);
		close(wake_pipe[1]);
		wake_pipe[0] = wake_pipe[1] = -1;
	}
}
