/* auth_server.h - the authentication service daemon (cmd_auth in
 * cli.h is its entry point). */
#ifndef YUBIN_AUTH_SERVER_H
#define YUBIN_AUTH_SERVER_H

#include <stdbool.h>

struct auth_server;
struct dovecot_conf;

int	 auth_server_configure(struct auth_server *, const struct dovecot_conf *,
	    const char **error_r);

/* For the protocol fuzzer and tests: a server configured from conf on its
 * own event base, without a listener; auth_server_test_connect gives the
 * client end of an in-process connection (a bufferevent pair) whose server
 * end already sent the handshake (as on the auth-master socket when master
 * is true). Run the base to make progress. */
struct bufferevent;
struct event_base;
struct auth_server *auth_server_test_new(const struct dovecot_conf *, const char **error_r);
struct event_base *auth_server_test_base(struct auth_server *);
struct bufferevent *auth_server_test_connect(struct auth_server *, bool master);
void	 auth_server_test_free(struct auth_server **);

#endif
