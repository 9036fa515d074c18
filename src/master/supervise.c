/* supervise.c - starting services, catching signals and holding the pid
 * file, for both masters (see supervise.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lib/mem.h"
#include "master/supervise.h"

/* the signals a master catches; a child must not keep their handlers */
static const int caught[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE };

static void
child_setup(pid_t parent, const int *fds, size_t nfds, const char *const *env)
{
	int moved[16];
	sigset_t none;
	size_t i;

	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		signal(caught[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(1);
	if (nfds > sizeof(moved) / sizeof(moved[0]))
		_exit(1);
	/* first out of the way of every target slot, then into place: dup2
	 * clears close-on-exec on the copy that the service inherits */
	for (i = 0; i < nfds; i++) {
		moved[i] = -1;
		if (fds[i] >= 0 &&
		    (moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, SUPERVISE_FIRST_FD + (int)nfds)) < 0)
			_exit(1);
	}
	for (i = 0; i < nfds; i++) {
		int slot = SUPERVISE_FIRST_FD + (int)i;

		if (moved[i] < 0)
			close(slot);
		else if (dup2(moved[i], slot) < 0)
			_exit(1);
	}
	for (i = 0; env != NULL && env[i] != NULL && env[i + 1] != NULL; i += 2)
		setenv(env[i], env[i + 1], 1);
}

pid_t
supervise_spawn(const char *exe, char *const argv[], const int *fds, size_t nfds,
    const char *const *env)
{
	sigset_t all, saved;
	pid_t pid, parent = getpid();
	int saved_errno;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	if ((pid = fork()) == 0) {
		child_setup(parent, fds, nfds, env);
		execv(exe, argv);
		_exit(127);
	}
	saved_errno = errno;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	errno = saved_errno;
	return pid;
}

int
supervise_signals(int pipe_r[2], void (*handler)(int), const int *sigs, size_t n)
{
	struct sigaction sa;
	sigset_t set;

	if (pipe2(pipe_r, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigemptyset(&set);
	for (size_t i = 0; i < n; i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&set, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

char *
supervise_self_exe(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	return xstrdup(exe);
}

int
supervise_pidfile(const char *path, bool padded)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), padded ? "%10ld\n" : "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		close(fd);
		return -1;
	}
	return fd;
}
