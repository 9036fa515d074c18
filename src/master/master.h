/* master.h - the master daemon and its control verbs (postfix start, stop,
 * abort, reload, status, flush; yubin start/stop), per
 * docs/process-contract.md. */
#ifndef YUBIN_MASTER_H
#define YUBIN_MASTER_H

/* master_control - run one verb for the instance in config_dir:
 *   start	check the configuration, start the master in the background
 *		(double fork, setsid) and wait until it holds its pid lock
 *   start-fg	run the master in this process until it is stopped
 *   stop	SIGTERM: workers finish what is in flight; waits until gone
 *   abort	SIGQUIT: workers are killed at once; waits until gone
 *   reload	SIGHUP: re-read main.cf and master.cf, replace the workers
 *   status	exit 0 when running, 1 when not, with Postfix's message shape
 *   flush	deliver deferred mail now (postqueue -f)
 * argc/argv are the verb's further arguments (none are used yet). Returns
 * the process exit status. Messages go to stderr (and the log) as
 * "yubin/postfix-script: ..." lines. */
int	 master_control(const char *config_dir, const char *verb, int argc, char **argv);

#endif
