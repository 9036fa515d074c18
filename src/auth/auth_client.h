/* auth_client.h - talking to the authentication service (src/auth/) from
 * a login process (pop3-login, imap-login) or from smtpd (SMTP AUTH).
 *
 * The service is the only process that reads credentials; a client learns
 * only what the service tells it: which mechanisms exist, and for each
 * attempt OK (the user name and extra fields), CONTINUE (a challenge to
 * relay to the peer) or FAIL (with a reason that may be shown to the peer).
 *
 * The wire protocol is Dovecot's auth client protocol (VERSION 1.2, MECH,
 * SPID, CUID, DONE / AUTH, CONT, OK, FAIL), so the same socket also serves a
 * real Postfix with smtpd_sasl_type = dovecot. Userdb lookups and the
 * login hand-off use Dovecot's auth-master commands (USER, REQUEST) on the
 * service's other socket, $base_dir/auth-master (mode 0600): create the
 * client for that path to use auth_client_userdb and
 * auth_client_master_request.
 *
 * Responses and challenges cross this API base64-encoded, exactly as they
 * cross SMTP AUTH, POP3 AUTH and IMAP AUTHENTICATE: the caller relays what
 * the peer sent (after "AUTH PLAIN " or on a continuation line) unchanged,
 * and sends challenges to the peer unchanged ("334 <challenge>",
 * "+ <challenge>"). "" is an empty response ("=" on the wire for an initial
 * response is the caller's business: pass "").
 *
 * Two ways to use it, on the same object:
 *  - blocking: auth_client_login(), one call per step. Fine for a process
 *    that serves one peer (a login process forked per connection). Note that
 *    the service delays FAIL replies after failed attempts (seconds).
 *  - asynchronous: auth_client_request_new() with a libevent base given to
 *    auth_client_new(); the callback runs from the loop. For event-loop
 *    daemons serving many peers (smtpd), so that one slowed-down peer does
 *    not stall the others. These requests share one non-blocking
 *    connection (a bufferevent, separate from the blocking calls' socket);
 *    nothing in them waits for the service. A callback must not free the
 *    client; it may start or abort other requests. The caller ignores
 *    SIGPIPE (a service that went away must not kill it).
 *
 * All functions are safe to call after the service went away: requests
 * then end with AUTH_CLIENT_RESULT_ERROR (a temporary failure; tell the
 * peer to try again later, as Postfix's "454 4.7.0 Temporary authentication
 * failure" and Dovecot's "-ERR [SYS/TEMP]" do). The client reconnects on the
 * next request. */
#ifndef YUBIN_AUTH_CLIENT_H
#define YUBIN_AUTH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"		/* struct strvec */

struct event_base;
struct auth_client;		/* opaque: one connection to the service */
struct auth_client_request;	/* opaque: one authentication attempt */

/* MECH flags as the service reports them (Dovecot's names) */
#define AUTH_CLIENT_MECH_PLAINTEXT	0x01	/* "plaintext": password in clear */
#define AUTH_CLIENT_MECH_ANONYMOUS	0x02
#define AUTH_CLIENT_MECH_DICTIONARY	0x04
#define AUTH_CLIENT_MECH_ACTIVE		0x08
#define AUTH_CLIENT_MECH_FORWARD_SECRECY 0x10
#define AUTH_CLIENT_MECH_MUTUAL_AUTH	0x20
#define AUTH_CLIENT_MECH_PRIVATE	0x40	/* not to be advertised */

struct auth_client_mech {
	const char	*name;		/* "PLAIN", "SCRAM-SHA-256", ... (owned by client) */
	unsigned	 flags;		/* AUTH_CLIENT_MECH_* */
};

/* What the service needs to know about the peer of one attempt. */
struct auth_client_info {
	const char	*mech;		/* "PLAIN", case-insensitive */
	const char	*service;	/* "smtp", "pop3", "imap" */
	const char	*remote_ip;	/* text form; NULL if unknown */
	const char	*local_ip;
	unsigned	 remote_port;	/* 0 if unknown */
	unsigned	 local_port;
	/* secured: the peer's connection is protected: TLS is active, or
	 * remote_ip equals local_ip (Dovecot's rule; login_trusted_networks
	 * is not implemented). With disable_plaintext_auth = yes the service
	 * refuses plaintext mechanisms unless secured. */
	bool		 secured;
	bool		 tls;		/* the connection has TLS ("transport=TLS") */
	bool		 no_login;	/* only check credentials ("nologin"): smtpd */
	const char	*session_id;	/* for the service's log lines, or NULL */
};

enum auth_client_result {
	AUTH_CLIENT_RESULT_OK,		/* authenticated: reply->user */
	AUTH_CLIENT_RESULT_CONTINUE,	/* send reply->challenge, then continue */
	AUTH_CLIENT_RESULT_FAIL,	/* wrong credentials, refused, or aborted by peer */
	AUTH_CLIENT_RESULT_ERROR,	/* the service failed or is unreachable: temporary */
};

/* One step's answer. Members are owned by the reply
 * (auth_client_reply_deinit). */
struct auth_client_reply {
	enum auth_client_result result;
	char	*user;		/* OK: the user as the service names it (after
				 * auth_username_format); FAIL: may be set */
	char	*challenge;	/* CONTINUE: base64, "" possible; else NULL */
	char	*reason;	/* FAIL/ERROR: text the peer may see, or NULL */
	bool	 temp;		/* FAIL with Dovecot's "temp" flag */
	unsigned long auth_id;	/* OK (blocking calls): the request's id, for
				 * the session's auth_client_master_request */
	struct strvec fields;	/* every "key=value" (or "key") the service sent
				 * after the id, user= included; borrowed per step */
};

void	 auth_client_reply_init(struct auth_client_reply *);
void	 auth_client_reply_deinit(struct auth_client_reply *);
/* auth_client_reply_field - value of key in reply->fields ("" for a bare
 * flag), or NULL */
const char *auth_client_reply_field(const struct auth_client_reply *, const char *key);

/* auth_client_new - a client for the service's socket path. base may be
 * NULL when only the blocking calls are used. Does not connect yet. */
struct auth_client *auth_client_new(const char *socket_path, struct event_base *base);
/* auth_client_free - aborts the pending requests (their callbacks are not
 * called) and closes the connection; NULL-safe, sets *p = NULL */
void	 auth_client_free(struct auth_client **);

/* auth_client_connect - connect and do the handshake now (blocking; the
 * service answers at once). Not required: every other call connects when
 * needed. 0, or -1 with *error_r (a literal or owned by the client, valid
 * until the next call). */
int	 auth_client_connect(struct auth_client *, const char **error_r);

/* auth_client_mechs - the mechanisms the service offers, in its order;
 * connects if needed. NULL (and *count_r = 0) when unreachable. Borrowed:
 * valid until the next call that may reconnect. With a base (an event-loop
 * caller) the last list either connection learned is returned without
 * connecting again; only the first call may block, for the handshake. */
const struct auth_client_mech *auth_client_mechs(struct auth_client *, size_t *count_r);
/* auth_client_mech_find - one mechanism by name (case-insensitive), or NULL */
const struct auth_client_mech *auth_client_mech_find(struct auth_client *, const char *name);

/* --- blocking --- */

/* auth_client_login - one step of an attempt, blocking until the service
 * answers. Start with *req_io == NULL: info->mech and initial_response
 * (base64, NULL when the peer sent none) begin an attempt. While the result
 * is CONTINUE, *req_io holds the attempt: call again with the peer's next
 * response (base64; "*" from the peer means abort: pass NULL, the result is
 * FAIL). On OK, FAIL and ERROR, *req_io is freed and set to NULL.
 * reply is reset by every call (initialise it once with
 * auth_client_reply_init, deinit at the end). Returns reply->result. */
enum auth_client_result auth_client_login(struct auth_client *,
	    struct auth_client_request **req_io, const struct auth_client_info *info,
	    const char *response, struct auth_client_reply *reply);

/* --- asynchronous (needs the base given to auth_client_new) --- */

/* Called once per step from the event loop. On CONTINUE the request stays
 * alive: answer with auth_client_request_continue (or abort). On OK, FAIL
 * and ERROR the request is freed right after the callback returns; the
 * callback must not free it. reply is borrowed for the call. */
typedef void auth_client_callback_fn(struct auth_client_request *,
	    const struct auth_client_reply *reply, void *context);

/* auth_client_request_new - start an attempt; never NULL. The callback
 * always runs later from the loop, never inside this call. */
struct auth_client_request *auth_client_request_new(struct auth_client *,
	    const struct auth_client_info *info, const char *initial_response,
	    auth_client_callback_fn *callback, void *context);
/* auth_client_request_continue - the peer's response (base64) to the last
 * challenge */
void	 auth_client_request_continue(struct auth_client_request *, const char *response);
/* auth_client_request_abort - forget the attempt (peer gone or sent "*");
 * the callback is not called again. NULL-safe, sets *p = NULL. */
void	 auth_client_request_abort(struct auth_client_request **);

/* --- userdb (blocking): what a post-login process needs --- */

struct auth_client_userdb {
	char	*user;		/* owned: may differ from the name asked for */
	long	 uid;		/* -1 when the userdb gave none */
	long	 gid;		/* -1 when the userdb gave none */
	char	*home;		/* owned, or NULL */
	char	*mail;		/* owned, or NULL (use mail_location) */
	struct strvec fields;	/* every field, uid= gid= home= included */
};

void	 auth_client_userdb_deinit(struct auth_client_userdb *);
/* auth_client_cookie - the COOKIE the service gave this client's blocking
 * connection (hex), or NULL when not connected. With the pid of this
 * process and reply->auth_id of an OK it names that login to the service. */
const char *auth_client_cookie(const struct auth_client *);

/* auth_client_master_request - Dovecot's "REQUEST": the user of the login
 * that the login process login_pid was told OK for request auth_id on its
 * connection with cookie; the service answers each login once, shortly
 * after it. Returns as auth_client_userdb (r->user is the user). */
int	 auth_client_master_request(struct auth_client *, long login_pid,
	    unsigned long auth_id, const char *cookie, const char *service,
	    struct auth_client_userdb *r, const char **error_r);

/* auth_client_userdb - Dovecot's "USER" lookup of user for service:
 * 1 found (*r filled, deinit it), 0 no such user, -1 error with *error_r
 * (literal or owned by the client, valid until the next call). */
int	 auth_client_userdb(struct auth_client *, const char *user, const char *service,
	    struct auth_client_userdb *r, const char **error_r);

/* auth_client_userdb_list - Dovecot's "LIST": every user the userdb can
 * list (doveadm -A), appended to users. 0, or -1 with *error_r (the
 * userdb cannot be listed, or the service failed). */
int	 auth_client_userdb_list(struct auth_client *, struct strvec *users,
	    const char **error_r);

#endif
