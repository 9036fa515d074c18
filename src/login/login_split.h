/* login_split.h - Dovecot's login/post-login split, shared by the services
 * that log users in (POP3; IMAP and ManageSieve follow it).
 *
 *   session process S (root) ── fork ──▶ login process L
 *     L connects to the auth service, becomes default_login_user, talks
 *       the protocol until a login succeeds, and hands over with
 *       login_split_handoff() (LOGIN line + the input it read past the
 *       login); under TLS it stays as the proxy between the client and S.
 *     S (login_split_run) asks auth-master who logged in (REQUEST with L's
 *       pid, the request id and L's cookie: L's word about the user is
 *       never taken), checks first_valid_uid and
 *       mail_max_userip_connections, registers the session and becomes
 *       the user; then the protocol serves the mailbox.
 * A refusal travels back to L as a kind and a text, which L words in its
 * protocol (POP3: -ERR [SYS/TEMP] ..., IMAP: NO [UNAVAILABLE] ...). */
#ifndef YUBIN_LOGIN_SPLIT_H
#define YUBIN_LOGIN_SPLIT_H

#include <stdbool.h>
#include <stddef.h>

struct auth_client;

struct login_split_params {
	const char *protocol;		/* "pop3": log tags pop3-login and pop3(user) */
	const char *auth_socket;	/* $base_dir/auth-client (L) */
	const char *auth_master_socket;	/* $base_dir/auth-master (S) */
	const char *login_user;		/* default_login_user */
	/* its uid and gid, looked up once by the service at start
	 * (login_split_resolve_user); -1: not known, L looks it up */
	long	 login_uid, login_gid;
	unsigned long first_valid_uid;
	unsigned long max_userip;	/* mail_max_userip_connections; 0: none */
	const char *sessions_dir;
	const char *mail_location;
	const char *rip, *lip, *session;
	/* L's protocol, called as login_user with auth connected (owned by
	 * it); its return value is L's exit status */
	int	(*login_run)(void *ctx, int client_fd, int ctl_fd, struct auth_client *auth);
	void	*ctx;
	/* resumable (ManageSieve's UNAUTHENTICATE): S stays root and forks a
	 * child per login that becomes the user (login_split_run returns 2 in
	 * S with r->child); after that child ended, login_split_next serves
	 * L's next login. Under TLS the child's data channel is a socketpair
	 * of its own, passed to L with the OK (login_split_handoff_fd). */
	bool	 resumable;
	/* the session's entry is in place already (a session restored from
	 * hibernation took its hibernated entry over, login_session_move):
	 * neither counted against max_userip nor written again */
	bool	 registered;
};

struct login_split_result {
	char	*user;			/* as the auth service names it */
	char	*method;		/* the mechanism, for log lines */
	bool	 tls;			/* L proxies TLS: fd is the socketpair */
	int	 fd;			/* where the session talks to the client */
	char	*leftover;		/* input L read past the login (owned) */
	size_t	 leftover_len;
	char	*home;			/* owned or NULL */
	char	*mail_path;		/* the INBOX (owned) */
	char	*mail_location;		/* the location in effect, userdb's or the
					 * setting's (owned): IMAP's folders */
	bool	 maildir;
	int	 ctl;			/* S's end of the socketpair */
	int	 login_pid;		/* L */
	int	 child;			/* resumable: the user's process (in S) */
};

/* The exit status of a resumable login's child when the client gave up
 * the login (UNAUTHENTICATE) and L takes the connection back. */
#define LOGIN_SPLIT_EXIT_RESUME	75

/* login_split_run - in S, for one accepted client: 1 logged in and now
 * running as the user (r filled, L told OK), 0 nothing to serve (L ended,
 * or the login was refused and L told why); 2 (resumable only) in S that
 * stays root while r->child serves the user. */
int	 login_split_run(const struct login_split_params *, int client_fd,
	    struct login_split_result *r);
/* login_split_attach - in S forked by the service for a pooled L's
 * login (login_pool.h): ctl_fd (owned) is the login's channel, login_pid
 * L's pid as the service knows it from its fork; the same returns as
 * login_split_run (never 2: pools are not resumable) */
int	 login_split_attach(const struct login_split_params *, int client_fd, int ctl_fd,
	    long login_pid, struct login_split_result *r);
/* login_split_become_login - in a new L: the auth connection made (while
 * root: its socket may be where only root reaches) and default_login_user
 * become; exits when that user cannot be become */
struct auth_client *login_split_become_login(const struct login_split_params *);
/* login_split_mpid - in L: the session process of the last login (its
 * OK names it), else the parent (mpid= of the Login line) */
long	 login_split_mpid(void);
/* login_split_next - resumable: L's next login, after r->child ended with
 * LOGIN_SPLIT_EXIT_RESUME; the same returns as login_split_run */
int	 login_split_next(const struct login_split_params *, int client_fd,
	    struct login_split_result *r);
/* login_split_restore - in a root process (the hibernate process's child)
 * for a session handed back from hibernation: the same set-up as after a
 * login (userdb by the auth service's USER lookup, first_valid_uid, the
 * session file, the mail location, becoming the user), with the user's
 * name the only fact taken from the hibernated session; the userdb must
 * give the uid that session ran as (expect_uid: its peer credentials).
 * 1 running as the user with r filled (r->fd = client_fd), 0 refused
 * (logged). */
int	 login_split_restore(const struct login_split_params *, const char *user,
	    long expect_uid, int client_fd, struct login_split_result *r);
void	 login_split_result_deinit(struct login_split_result *);
/* login_split_resolve_user - default_login_user's uid and gid, once per
 * service rather than a passwd lookup in every login process; when the
 * user is missing or root, nobody's (as L would fall back to); -1 and -1
 * when neither exists */
void	 login_split_resolve_user(const char *login_user, long *uid_r, long *gid_r);

enum login_refusal { LOGIN_REFUSED_TEMP, LOGIN_REFUSED_PERM, LOGIN_REFUSED_IN_USE };

/* login_split_handoff - in L after the auth service's OK (auth_id from
 * its reply): 1 handed over (S serves from now on), 0 refused (*kind_r and
 * the text for the client in text, NUL-ended), -1 S is gone. pending:
 * client input after the login command. */
int	 login_split_handoff(int ctl_fd, struct auth_client *auth, const char *user,
	    const char *method, unsigned long auth_id, bool tls, const char *pending,
	    size_t pending_len, enum login_refusal *kind_r, char *text, size_t text_size);
/* login_split_handoff_fd - the same; *data_fd_r the data channel S passed
 * with its OK (resumable under TLS), else -1 */
int	 login_split_handoff_fd(int ctl_fd, struct auth_client *auth, const char *user,
	    const char *method, unsigned long auth_id, bool tls, const char *pending,
	    size_t pending_len, enum login_refusal *kind_r, char *text, size_t text_size,
	    int *data_fd_r);

#endif
