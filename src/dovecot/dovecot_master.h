/* dovecot_master.h - the retrieval half's master, Dovecot's `dovecot`:
 * reads dovecot.conf (protocols, listen, base_dir, service ... {
 * inet_listener ... }), binds the listeners, runs the services (auth, the
 * POP3 service per listener) and restarts them with back-off; SIGHUP
 * reloads (new services take new settings and certificates, established
 * sessions go on), SIGTERM stops everything.
 *
 * Files under base_dir: master.pid (locked while running), auth-client
 * (the auth service's socket, passed to it on fd 3), sessions/ (one file
 * per logged-in session, for doveadm who and kick). Workers are started
 * as "/proc/self/exe COMMAND -c DOVECOT_CONF ..." with the listener on
 * fd 3, as the MTA's master does (docs/process-contract.md).
 * Tests: tests/e2e/test_dovecot_master.py */
#ifndef YUBIN_DOVECOT_MASTER_H
#define YUBIN_DOVECOT_MASTER_H

#include <sys/types.h>

/* dovecot_master_pid - the running master's pid for conf_path, 0 if none,
 * -1 when dovecot.conf cannot be read (*error_r) */
pid_t	 dovecot_master_pid(const char *conf_path, const char **error_r);

/* dovecot_base_dir - base_dir of conf_path (caller frees), NULL on error */
char	*dovecot_base_dir(const char *conf_path, const char **error_r);

/* dovecot_master_signal - "stop" (SIGTERM and wait) or "reload" (SIGHUP);
 * messages like Dovecot's on stderr. Exit status. */
int	 dovecot_master_signal(const char *conf_path, const char *verb);

/* dovecot_master_start - start in the background (or in the foreground
 * with foreground set); returns once the pid file exists. Exit status. */
int	 dovecot_master_start(const char *conf_path, int foreground);

int	 cmd_dovecot(int argc, char **argv);

#endif
