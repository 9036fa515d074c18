/* supervise.h - what the two masters do alike: the MTA's (master.c) and
 * the Dovecot side's (src/dovecot/dovecot_master.c) each supervise their
 * own table of services, but start them, take signals and hold their pid
 * file the same way, here. */
#ifndef YUBIN_SUPERVISE_H
#define YUBIN_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SUPERVISE_FIRST_FD	3	/* a service's sockets start here */

/* supervise_spawn - fork and exec exe with argv. In the child fds[i]
 * becomes descriptor SUPERVISE_FIRST_FD + i (-1: that one is closed),
 * every other descriptor keeps its close-on-exec flag, the signals the
 * masters catch are back to their defaults, env ("NAME", "value" pairs,
 * NULL-ended) is set, and the child gets SIGTERM if the master dies (a
 * master killed with SIGKILL leaves nothing running). Signals stay blocked
 * across fork, so none reaches the child while it still has the master's
 * handlers. Returns the pid, or -1 (errno set). */
pid_t	 supervise_spawn(const char *exe, char *const argv[], const int *fds, size_t nfds,
	    const char *const *env);

/* supervise_signals - a self-pipe (non-blocking, close-on-exec) that
 * handler writes each caught signal of sigs[] to; SIGPIPE ignored; sigs
 * unblocked (a caller such as yubin dev may have blocked them so that an
 * early one waits for the handler). 0 or -1. */
int	 supervise_signals(int pipe_r[2], void (*handler)(int), const int *sigs, size_t n);

/* supervise_self_exe - this program's path (for re-exec), owned; NULL */
char	*supervise_self_exe(void);

/* supervise_pidfile - open path, lock it exclusively (held for as long as
 * the descriptor is open) and write our pid, right-aligned in ten columns
 * as Postfix's master.pid or bare as Dovecot's. The descriptor, or -1
 * (another master holds it, or an I/O error). */
int	 supervise_pidfile(const char *path, bool padded);

#endif
