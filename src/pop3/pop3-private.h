/* pop3-private.h - what pop3_server.c, pop3_login.c and pop3_mail.c
 * share: the settings a POP3 process reads once from dovecot.conf, and the
 * per-connection facts. */
#ifndef YUBIN_POP3_PRIVATE_H
#define YUBIN_POP3_PRIVATE_H

#include <stdbool.h>
#include <openssl/ssl.h>
#include <sys/types.h>

#include "pop3/pop3_conn.h"

/* Dovecot's timeouts: a login process gives up on a client after 3
 * minutes without a login; a logged-in POP3 session autologs out after 10
 * minutes idle (RFC 1939 asks for at least 10). */
#define POP3_LOGIN_TIMEOUT_MS	(3 * 60 * 1000)
#define POP3_IDLE_TIMEOUT_MS	(10 * 60 * 1000)

enum pop3_ssl { POP3_SSL_NO, POP3_SSL_YES, POP3_SSL_REQUIRED };

/* the service's listening socket, as the master passes it; no process
 * that serves a client or a user keeps it */
#define POP3_LISTEN_FD	3

struct pop3_settings {
	char	*conf_path;
	char	*base_dir;
	char	*auth_socket;		/* $base_dir/auth-client */
	char	*auth_master_socket;	/* $base_dir/auth-master */
	char	*sessions_dir;		/* $base_dir/sessions: one file per session */
	char	*greeting;		/* login_greeting */
	char	*mail_location;
	char	*uidl_format;		/* pop3_uidl_format */
	char	*login_user;		/* default_login_user */
	long	 login_uid, login_gid;	/* its ids, looked up at start */
	bool	 disable_plaintext_auth;
	bool	 verbose_proctitle;
	enum pop3_ssl ssl;
	unsigned long max_userip;	/* mail_max_userip_connections */
	unsigned long first_valid_uid;
	SSL_CTX	*ssl_ctx;		/* NULL: no TLS (ssl = no, or no certificate) */
	int	 login_timeout_ms;
	int	 idle_timeout_ms;
	/* service NAME-login { service_count process_min_avail
	 * process_limit }: a pool of login processes (login_pool.h) */
	unsigned long login_service_count, login_min_avail, login_process_limit;
};

/* One connection's facts, shared by its login and mail processes. */
struct pop3_client {
	const struct pop3_settings *set;
	char	 rip[64], lip[64];
	unsigned rport, lport;
	char	 session[32];		/* Dovecot's session=<...> id */
	bool	 implicit_tls;		/* pop3s */
	const char *mail_location;	/* the user's, for IMAP's folders (set
					 * after the login; login_split.h) */
	int	 ctl;			/* a resumable protocol's session: S's end
					 * of the channel to L (else -1) */
	bool	 keep_auth;		/* a pooled login process: its auth
					 * connection serves the next client too */
};

/* What the login process hands over after a successful login. */
struct pop3_login_result {
	char	 user[256];
	char	 method[32];
	bool	 tls;
};

struct auth_client;

/* pop3_login_run - the login process: greeting, pre-login commands, auth
 * (through auth, connected before privileges were dropped; freed here).
 * ctl: the socketpair to the session process. Returns the exit status. */
int	 pop3_login_run(struct pop3_client *, int client_fd, int ctl_fd,
	    struct auth_client *auth);

/* pop3_mail_run - the transaction state of a logged-in user, in a process
 * that already runs as the user; conn is ready, leftover input included.
 * Returns the exit status. */
int	 pop3_mail_run(struct pop3_client *, struct pop3_conn *, const char *user,
	    const char *mailbox_path, bool maildir);

/* The protocol a service process serves: the POP3 service and the IMAP
 * service (src/imap) share the service and session processes here (accept,
 * the login/session split, userdb, limits, session files, the switch to
 * the user); each brings its login and mail halves. name is the protocol
 * as Dovecot names it in log lines, dovecot.conf filters, session files
 * and the process title. */
struct pop3_proto {
	const char *name;
	const char *conf_protocol;	/* dovecot.conf's protocol filter name,
					 * when it differs ("sieve" for managesieve) */
	int	(*login_run)(struct pop3_client *, int client_fd, int ctl_fd,
		    struct auth_client *auth);
	int	(*mail_run)(struct pop3_client *, struct pop3_conn *, const char *user,
		    const char *mailbox_path, bool maildir);
	/* the login can be given up and another made on the same connection
	 * (ManageSieve's UNAUTHENTICATE): mail_run returns
	 * LOGIN_SPLIT_EXIT_RESUME after telling L over client->ctl */
	bool	 resumable;
	/* optional: once in the service process after its settings, before
	 * any connection (what every session would otherwise read again) */
	void	(*service_init)(const char *conf_path);
	/* optional: a helper process of the service (IMAP's hibernate
	 * process), started after service_init and again when it ends (at
	 * most once a second); its pid, or -1. */
	pid_t	(*service_helper)(const struct pop3_settings *, const char *listener);
};

/* pop3_service_main - a service process (argv: NAME -c DOVECOT_CONF -l
 * LISTENER [-s]), fd 3 the listener */
int	 pop3_service_main(int argc, char **argv, const struct pop3_proto *);

/* pop3_proctitle - what ps shows (verbose_proctitle) */
void	 pop3_proctitle(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* pop3_proctitle_full - the whole title, without "dovecot/NAME ", and
 * name as the process's comm (a service's helper process) */
void	 pop3_proctitle_full(const char *comm, const char *title);

#endif
