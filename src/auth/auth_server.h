/* auth_server.h - the authentication service daemon (cmd_auth in
 * cli.h is its entry point). */
#ifndef YUBIN_AUTH_SERVER_H
#define YUBIN_AUTH_SERVER_H

struct auth_server;
struct dovecot_conf;

int	 auth_server_configure(struct auth_server *, const struct dovecot_conf *,
	    const char **error_r);

#endif
