/* login_pool.h - pre-forked login processes that serve one client after
 * another: Dovecot's `service_count = 0` / `process_min_avail` for
 * imap-login and pop3-login (docs/compat.md has the differences).
 *
 *   service process (root) ── fork ──▶ login process L (default_login_user)
 *     L: accept on the shared listener, the protocol's login loop; after
 *        the auth service's OK, a new channel: its far end and the client
 *        socket go to the service over L's pool channel ("H"), the LOGIN
 *        line over the channel (login_split_handoff, as without a pool)
 *     service: forks a session process S per hand-off, which runs
 *        login_split_attach with L's pid (known from the fork, not L's
 *        word) for the auth REQUEST, then becomes the user.
 * L never runs as root nor as a user; S is a fresh fork per login, so no
 * user's session runs in a process that served another user.
 * Tests: tests/e2e/test_login_pool.py */
#ifndef YUBIN_LOGIN_POOL_H
#define YUBIN_LOGIN_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct login_pool_settings {
	unsigned long service_count;	/* clients per L before it ends; 0: no end */
	unsigned long min_avail;	/* Ls kept waiting (at least 1) */
	unsigned long process_limit;	/* Ls at most, busy ones included */
};

/* One login handed over by L: the service forks S for it. */
struct login_pool_handoff {
	pid_t	 login_pid;		/* L, from the service's own fork */
	int	 client_fd;		/* owned: the client's socket */
	int	 ctl_fd;		/* owned: S's end of the channel to L */
	char	 session[32];		/* L's session=<> id, for the log lines */
};

struct login_pool;

/* A message on a login process's channel (fuzz/fuzz_login_pool_msg.c):
 * "B" busy, "I" idle, "H<session id>" with two fds a hand-off. */
enum login_pool_msg {
	LOGIN_POOL_MSG_BAD, LOGIN_POOL_MSG_BUSY, LOGIN_POOL_MSG_IDLE, LOGIN_POOL_MSG_HANDOFF,
};

/* login_pool_msg_parse - what len bytes with nfds passed fds say; a
 * hand-off's session id (base64 text, shorter than size) into session */
enum login_pool_msg login_pool_msg_parse(const char *buf, size_t len, size_t nfds,
	    char *session, size_t size);

/* login_pool_enabled - whether the settings ask for a pool rather than a
 * login process per connection (Dovecot's default, service_count = 1
 * with no process_min_avail) */
bool	 login_pool_enabled(unsigned long service_count, unsigned long min_avail);

/* login_pool_new - the pool of a service whose listener is listen_fd
 * (made non-blocking: idle Ls race for each connection) */
struct login_pool *login_pool_new(int listen_fd, const struct login_pool_settings *);
/* login_pool_free - the service's channels closed (idle Ls then end) */
void	 login_pool_free(struct login_pool **);
/* login_pool_forget - in a process forked from the service: close its
 * copies of the pool's channels and free the pool */
void	 login_pool_forget(struct login_pool **);

/* login_pool_fill - fork Ls until min_avail are idle (process_limit
 * permitting); child runs in each new L with the listener and its pool
 * channel, after login_pool_forget of the others, and must not return */
void	 login_pool_fill(struct login_pool *,
	    void (*child)(void *ctx, int listen_fd, int pool_fd), void *ctx);
/* login_pool_wait - wait up to timeout_ms for the Ls' messages; on_handoff
 * is called for each hand-off (it owns the fds) */
void	 login_pool_wait(struct login_pool *, int timeout_ms,
	    void (*on_handoff)(void *ctx, struct login_pool_handoff *), void *ctx);
/* login_pool_reaped - pid ended: true when it was one of the pool's Ls */
bool	 login_pool_reaped(struct login_pool *, pid_t pid);
/* login_pool_count - Ls alive, and of them idle */
void	 login_pool_count(const struct login_pool *, unsigned long *alive_r,
	    unsigned long *idle_r);

/* login_pool_serve - in L: accept and serve clients one at a time with
 * serve(ctx, client_fd, ctl_fd, session, size) until service_count of
 * them (0: no end), serve returns false (L cannot go on: its auth
 * connection is lost) or the service is gone. serve writes the client's
 * session=<> id into session first (it travels with the hand-off);
 * ctl_fd is a placeholder that login_pool_handoff_prepare replaces with
 * each login's channel. serve closes neither fd. */
void	 login_pool_serve(int listen_fd, int pool_fd, unsigned long service_count,
	    bool (*serve)(void *ctx, int client_fd, int ctl_fd, char *session, size_t size),
	    void *ctx);
/* login_pool_handoff_prepare - in L (from login_split_handoff): when L is
 * pooled, a new channel replaces ctl_fd and its far end goes to the
 * service with the client socket. 0 (also when not pooled), -1 failed. */
int	 login_pool_handoff_prepare(int ctl_fd);

#endif
