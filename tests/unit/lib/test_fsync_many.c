/* test_fsync_many.c - fsync several files at once: every file's own
 * outcome, whatever thread did it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fsync_many.h"

static void
test_none_is_nothing(void **state)
{
	(void)state;
	fsync_many(NULL, 0, NULL);
}

static void
test_each_file_gets_its_own_outcome(void **state)
{
	char dir[] = "/tmp/test_fsync_many.XXXXXX", path[128];
	enum { N = 40 };
	int fds[N], errs[N], p[2];
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		fds[i] = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fds[i] >= 0);
		assert_int_equal(write(fds[i], "data\n", 5), 5);
		errs[i] = -1;
	}
	/* a skipped slot, a descriptor that is not open, a pipe (fsync of a
	 * pipe is EINVAL): each answered on its own, the others unharmed */
	assert_int_equal(pipe(p), 0);
	close(fds[3]);
	fds[3] = -1;
	close(fds[7]);
	close(fds[11]);
	fds[11] = p[0];
	fsync_many(fds, N, errs);
	for (i = 0; i < N; i++) {
		if (i == 7)
			assert_int_equal(errs[i], EBADF);
		else if (i == 11)
			assert_int_equal(errs[i], EINVAL);
		else
			assert_int_equal(errs[i], 0);
	}
	/* fewer files than threads */
	fsync_many(&fds[0], 1, errs);
	assert_int_equal(errs[0], 0);
	fsync_many(&fds[0], 2, errs);
	assert_int_equal(errs[0] + errs[1], 0);
	for (i = 0; i < N; i++) {
		if (fds[i] >= 0 && i != 7)
			close(fds[i]);
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		(void)unlink(path);
	}
	close(p[1]);
	assert_int_equal(rmdir(dir), 0);
}

/* threads_now - the threads of this process */
static int
threads_now(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* the threads are a pool: a second call starts none, and a fork's child
 * (which has none of them) starts its own and is not stuck on the
 * parent's */
static void
test_pool_kept_and_fork(void **state)
{
	char dir[] = "/tmp/test_fsync_many.XXXXXX", path[128];
	enum { N = 12 };
	int fds[N], errs[N], before, status;
	size_t i;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		fds[i] = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fds[i] >= 0);
	}
	fsync_many(fds, N, errs);
	before = threads_now();
	assert_true(before > 1);
	for (i = 0; i < 20; i++) {
		assert_int_equal(write(fds[i % N], "x", 1), 1);
		memset(errs, 0xff, sizeof(errs));
		fsync_many(fds, N, errs);
		for (size_t k = 0; k < N; k++)
			assert_int_equal(errs[k], 0);
	}
	assert_int_equal(threads_now(), before);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);	/* a deadlock fails the test, not hangs it */
		for (i = 0; i < 5; i++) {
			fsync_many(fds, N, errs);
			for (size_t k = 0; k < N; k++)
				if (errs[k] != 0)
					_exit(1);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	for (i = 0; i < N; i++) {
		close(fds[i]);
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		(void)unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* two threads of one process at once: one gets the pool, the other its
 * own threads; both get every file's outcome */
struct twice_arg {
	const int	*fds;
	size_t		 n;
	int		 bad;	/* outcomes that were not 0 */
};

static void *
twice_run(void *p)
{
	struct twice_arg *a = p;
	int errs[16];

	for (int round = 0; round < 200; round++) {
		memset(errs, 0xff, sizeof(errs));
		fsync_many(a->fds, a->n, errs);
		for (size_t k = 0; k < a->n; k++)
			if (errs[k] != 0)
				a->bad++;
	}
	return NULL;
}

static void
test_two_callers_at_once(void **state)
{
	char dir[] = "/tmp/test_fsync_many.XXXXXX", path[128];
	enum { N = 8 };
	int fds[2 * N];
	struct twice_arg a, b;
	pthread_t th;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 2 * N; i++) {
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		fds[i] = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fds[i] >= 0);
	}
	a = (struct twice_arg){ .fds = fds, .n = N };
	b = (struct twice_arg){ .fds = fds + N, .n = N };
	assert_int_equal(pthread_create(&th, NULL, twice_run, &a), 0);
	(void)twice_run(&b);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.bad, 0);
	assert_int_equal(b.bad, 0);
	for (i = 0; i < 2 * N; i++) {
		close(fds[i]);
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		(void)unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none_is_nothing),
		cmocka_unit_test(test_each_file_gets_its_own_outcome),
		cmocka_unit_test(test_pool_kept_and_fork),
		cmocka_unit_test(test_two_callers_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
