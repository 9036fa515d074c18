/* login_client.h - what every login process (pop3-login, imap-login,
 * managesieve-login) decides and logs the same way, on the service's
 * per-connection facts (struct pop3_client, pop3_server.c's) and its
 * connection (struct pop3_conn): whether the connection counts as
 * secured, whether plaintext mechanisms are allowed, and Dovecot's
 * "Login:" and "Disconnected" lines with the attempts behind them.
 * Tests: tests/e2e/test_pop3.py, test_imap.py, test_managesieve.py */
#ifndef YUBIN_LOGIN_CLIENT_H
#define YUBIN_LOGIN_CLIENT_H

#include <stdbool.h>
#include <time.h>

#include "auth/auth_client.h"

struct pop3_client;
struct pop3_conn;
struct str;

/* What a login process remembers for its log lines. */
struct login_track {
	const char *tag;		/* "pop3-login": the log line's prefix */
	char	 last_user[256];	/* the last user named, for the lines */
	char	 last_method[32];	/* the last mechanism tried */
	unsigned attempts;		/* authentications tried */
	bool	 refused;		/* authenticated, then refused by the session */
	time_t	 started;
};

void	 login_track_init(struct login_track *, const char *tag);

/* login_secured - TLS, or the client is the local address itself (rip ==
 * lip), as Dovecot counts "secured" */
bool	 login_secured(const struct pop3_client *, const struct pop3_conn *);
/* login_plaintext_ok - Dovecot's rule: plaintext mechanisms only when
 * secured, unless disable_plaintext_auth = no; ssl = required allows them
 * only under TLS */
bool	 login_plaintext_ok(const struct pop3_client *, const struct pop3_conn *);
/* login_secured_text - ", TLS", ", secured" or "" for the log lines */
const char *login_secured_text(const struct pop3_client *, const struct pop3_conn *);

/* login_log_login - "TAG: Login: user=<u>, method=M, rip=, lip=, mpid=,
 * [TLS|secured,] session=<>" */
void	 login_log_login(const struct login_track *, const struct pop3_client *,
	    const struct pop3_conn *);
/* login_log_disconnect - "TAG: Disconnected (WHY): user=<u>, ...". why
 * NULL: Dovecot's reason from the attempts ("no auth attempts in N secs",
 * "auth failed, N attempts in S secs", "login refused after
 * authentication, ...") */
void	 login_log_disconnect(const struct login_track *, const struct pop3_client *,
	    const struct pop3_conn *, const char *why);

/* login_auth_info - the facts of an authentication by mechanism mech on
 * this connection for the auth service; the attempt is counted in t */
void	 login_auth_info(struct auth_client_info *, struct login_track *t,
	    const struct pop3_client *, const struct pop3_conn *, const char *mech,
	    const char *service);

/* The protocol's half of a SASL exchange: how a challenge is sent and a
 * response read ("+ base64" lines for POP3 and IMAP, strings for
 * ManageSieve). */
enum login_sasl_read {
	LOGIN_SASL_LINE,	/* a response in line */
	LOGIN_SASL_GONE,	/* the client went away */
	LOGIN_SASL_SYNTAX,	/* not a response the protocol allows */
};
struct login_sasl_io {
	void			(*challenge)(void *ctx, const char *base64);
	enum login_sasl_read	(*response)(void *ctx, struct str *line);
	void			*ctx;
};
enum login_sasl_end {
	LOGIN_SASL_RESULT,	/* *result_r is OK, FAIL or an error */
	LOGIN_SASL_DISCONNECTED,
	LOGIN_SASL_ABORTED,	/* the client answered "*" */
	LOGIN_SASL_BAD_BASE64,
	LOGIN_SASL_BAD_SYNTAX,
};

/* login_sasl_run - the exchange from the first response (NULL: none) to
 * its end; a request the client ended is cancelled with the auth service.
 * Responses are wiped from memory after use. */
enum login_sasl_end login_sasl_run(struct auth_client *, struct auth_client_request **,
	    const struct auth_client_info *, const char *first, struct auth_client_reply *,
	    enum auth_client_result *result_r, const struct login_sasl_io *);

#endif
