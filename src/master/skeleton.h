/* skeleton.h - what every daemon's main does first, in one place (Postfix's
 * mail_server skeletons): parse the master's argv, load main.cf with the
 * master.cf -o overrides, open logging as $syslog_name/SERVICE, find the
 * listening endpoint, and drop privileges. See docs/process-contract.md.
 *
 *	COMMAND -c CONFIG_DIR -n SERVICE_NAME -t TYPE [-o name=value]... [-v]
 *	    [--listen ADDR:PORT]	(by hand, without the master, for tests)
 */
#ifndef YUBIN_SKELETON_H
#define YUBIN_SKELETON_H

#include <stdbool.h>

struct maincf;

/* The listening endpoint the master passes. */
#define SKELETON_LISTEN_FD	3

struct skeleton {
	const char	*command;	/* borrowed: "qmgr", "smtpd" */
	char		*config_dir;	/* owned */
	char		*service_name;	/* owned: master.cf service ("smtp", "qmgr") */
	char		*service_type;	/* owned: "inet", "unix", "fifo" */
	char		*listen_addr;	/* owned: --listen value, or NULL */
	struct maincf	*cf;		/* owned, overrides applied */
	char		*queue_dir;	/* owned: expanded queue_directory */
	char		*syslog_name;	/* owned: expanded syslog_name */
	int		 listen_fd;	/* SKELETON_LISTEN_FD from the master, else -1 */
	int		 log_flags;	/* as given to log_open */
	bool		 under_master;	/* YUBIN_MASTER=1 in the environment */
	bool		 verbose;
};

/* skeleton_init - all of the above; on failure *error_r (owned by the
 * skeleton module) says why and the caller exits 1 (fatal) so that the
 * master backs off. */
int	 skeleton_init(struct skeleton *, const char *command, int argc, char **argv,
	    const char **error_r);
void	 skeleton_deinit(struct skeleton *);

/* skeleton_drop_privileges - as root: become mail_owner (its uid, gid and
 * only that group). Not root (dev mode): nothing to do. Call after reading
 * what needs root (TLS keys). When mail_owner is the invoking user (dev
 * mode, yubin dev), nothing changes. */
int	 skeleton_drop_privileges(struct skeleton *, const char **error_r);

/* skeleton_log_as - log under $syslog_name/name from now on (the queue
 * manager logs a delivery under the transport's name, as Postfix's
 * delivery agents do); skeleton_log_as(sk, sk->command) switches back.
 * As Postfix, the tag is $syslog_name/PROGRAM ("yubin/submission/smtpd"
 * with master.cf's -o syslog_name=yubin/submission). */
void	 skeleton_log_as(const struct skeleton *, const char *name);

#endif
