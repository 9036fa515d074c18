/* imap_login.c - the login process of one IMAP connection (Dovecot's
 * imap-login): greeting with capabilities, CAPABILITY, NOOP, ID, LOGOUT,
 * STARTTLS (and imaps), LOGIN, AUTHENTICATE with SASL-IR, through the auth
 * service; as default_login_user, never touching a mailbox. After a login
 * it hands the user to the session process (pop3_server.c's, shared) and
 * stays as the TLS proxy under TLS. The tagged OK of the login is the
 * session's to send (it alone knows the login stuck), so the login's tag
 * goes first in the hand-over's leftover input, as one line.
 * Replies are Dovecot 2.3's. Tests: tests/e2e/test_imap.py */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "imap/imap.h"
#include "imap/imap_io.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "login/login_client.h"
#include "login/login_split.h"
#include "pop3/pop3-private.h"

/* Dovecot's imap-login hangs up after this many bad commands */
#define LOGIN_MAX_BAD	3

struct imap_login {
	struct pop3_client *client;
	struct pop3_conn conn;
	struct auth_client *auth;
	struct imap_parser parser;
	struct login_track t;		/* for the Login and Disconnected lines */
	unsigned bad;
	int	 ctl_fd;
};

static void
login_caps(struct imap_login *l, struct str *out)
{
	const struct auth_client_mech *mechs;
	size_t i, n;

	str_append(out, IMAP_CAPS_PRELOGIN);
	if (l->client->set->ssl_ctx != NULL && l->conn.ssl == NULL)
		str_append(out, " STARTTLS");
	if (!login_plaintext_ok(l->client, &l->conn))
		str_append(out, " LOGINDISABLED");
	mechs = auth_client_mechs(l->auth, &n);
	for (i = 0; i < n; i++) {
		if ((mechs[i].flags & AUTH_CLIENT_MECH_PRIVATE) != 0)
			continue;
		if ((mechs[i].flags & AUTH_CLIENT_MECH_PLAINTEXT) != 0 &&
		    !login_plaintext_ok(l->client, &l->conn))
			continue;
		str_appendf(out, " AUTH=%s", mechs[i].name);
	}
}

/* login_handoff - 1 logged in (the session replies), 0 refused (NO
 * sent), -1 broken. The login's tag goes first in the leftover input, as
 * one line: the tagged OK is the session's to send. */
static int
login_handoff(struct imap_login *l, const char *tag, const char *user, const char *method,
    unsigned long auth_id)
{
	static const char *const codes[] = {
		[LOGIN_REFUSED_TEMP] = "[UNAVAILABLE]",
		[LOGIN_REFUSED_PERM] = "[AUTHORIZATIONFAILED]",
		[LOGIN_REFUSED_IN_USE] = "[LIMIT]",
	};
	size_t pending = l->conn.in_len - l->conn.in_pos;
	enum login_refusal kind;
	struct str left;
	char text[400];
	int ret;

	if (pending + strlen(tag) + 1 > sizeof(l->conn.in))
		return -1;
	str_init(&left, pending + strlen(tag) + 2);
	str_appendf(&left, "%s\n", tag);
	str_append_n(&left, l->conn.in + l->conn.in_pos, pending);
	ret = login_split_handoff(l->ctl_fd, l->auth, user, method, auth_id, l->conn.ssl != NULL,
	    left.s, left.len, &kind, text, sizeof(text));
	str_deinit(&left);
	if (ret > 0) {
		l->conn.in_pos = l->conn.in_len;
	} else if (ret == 0) {
		pop3_conn_printf(&l->conn, "%s NO %s %s\r\n", tag, codes[kind], text);
		l->t.refused = true;
	}
	return ret;
}

/* IMAP's challenges and responses: "+ base64" and a line (RFC 3501 6.2.2) */
static void
sasl_challenge(void *ctx, const char *b64)
{
	pop3_conn_printf(&((struct imap_login *)ctx)->conn, "+ %s\r\n", b64);
}

static enum login_sasl_read
sasl_response(void *ctx, struct str *line)
{
	/* the parser is idle between commands: its bytes are conn's */
	return pop3_conn_getline(&((struct imap_login *)ctx)->conn, line, IMAP_DEFAULT_MAX_LINE) ==
	    POP3_READ_LINE ? LOGIN_SASL_LINE : LOGIN_SASL_GONE;
}

/* login_sasl - one SASL exchange; 1 logged in, 0 not (reply sent), -1 gone */
static int
login_sasl(struct imap_login *l, const char *tag, const char *mech, const char *ir)
{
	const struct login_sasl_io io = { sasl_challenge, sasl_response, l };
	struct auth_client_info info;
	struct auth_client_request *req = NULL;
	struct auth_client_reply reply;
	const struct auth_client_mech *m;
	struct str dec;
	const char *resp = ir;
	enum auth_client_result r;
	int ret = 0;

	m = auth_client_mech_find(l->auth, mech);
	if (m == NULL) {
		pop3_conn_printf(&l->conn, "%s NO Unsupported authentication mechanism.\r\n", tag);
		return 0;
	}
	if ((m->flags & AUTH_CLIENT_MECH_PLAINTEXT) != 0 &&
	    !login_plaintext_ok(l->client, &l->conn)) {
		pop3_conn_printf(&l->conn, "%s NO [PRIVACYREQUIRED] Plaintext authentication "
		    "disallowed on non-secure (SSL/TLS) connections.\r\n", tag);
		return 0;
	}
	str_init(&dec, 256);
	if (ir != NULL && strcmp(ir, "=") == 0)
		resp = "";
	else if (ir != NULL && base64_decode(&dec, ir, strlen(ir)) != 0) {
		pop3_conn_printf(&l->conn, "%s BAD Invalid base64 data in initial response\r\n", tag);
		goto out;
	}
	login_auth_info(&info, &l->t, l->client, &l->conn, m->name, "imap");
	auth_client_reply_init(&reply);
	switch (login_sasl_run(l->auth, &req, &info, resp, &reply, &r, &io)) {
	case LOGIN_SASL_RESULT:
		break;
	case LOGIN_SASL_DISCONNECTED:
	case LOGIN_SASL_BAD_SYNTAX:
		ret = -1;
		goto done;
	case LOGIN_SASL_ABORTED:
		pop3_conn_printf(&l->conn, "%s BAD Authentication aborted by client.\r\n", tag);
		goto done;
	case LOGIN_SASL_BAD_BASE64:
		pop3_conn_printf(&l->conn, "%s BAD Invalid base64 data in continued response\r\n",
		    tag);
		goto done;
	}
	if (r == AUTH_CLIENT_RESULT_OK) {
		const char *user = reply.user != NULL ? reply.user : "";

		snprintf(l->t.last_user, sizeof(l->t.last_user), "%s", user);
		ret = login_handoff(l, tag, user, m->name, reply.auth_id);
	} else if (r == AUTH_CLIENT_RESULT_FAIL) {
		if (reply.user != NULL)
			snprintf(l->t.last_user, sizeof(l->t.last_user), "%s", reply.user);
		if (reply.temp)
			pop3_conn_printf(&l->conn, "%s NO [UNAVAILABLE] Temporary authentication "
			    "failure.\r\n", tag);
		else
			pop3_conn_printf(&l->conn, "%s NO [AUTHENTICATIONFAILED] Authentication "
			    "failed.\r\n", tag);
	} else {
		pop3_conn_printf(&l->conn, "%s NO [UNAVAILABLE] Temporary authentication failure.\r\n",
		    tag);
	}
done:
	auth_client_reply_deinit(&reply);
out:
	str_deinit(&dec);
	return ret;
}

static int
login_login(struct imap_login *l, const char *tag, const char *user, const char *pass)
{
	struct str raw, b64;
	int ret;

	if (!login_plaintext_ok(l->client, &l->conn)) {
		pop3_conn_printf(&l->conn, "* BAD [ALERT] Plaintext authentication not allowed "
		    "without SSL/TLS, but your client did it anyway. If anyone was listening, the "
		    "password was exposed.\r\n%s NO [PRIVACYREQUIRED] Plaintext authentication "
		    "disallowed on non-secure (SSL/TLS) connections.\r\n", tag);
		return 0;
	}
	str_init(&raw, 256);
	str_init(&b64, 512);
	str_append_c(&raw, '\0');
	str_append(&raw, user);
	str_append_c(&raw, '\0');
	str_append(&raw, pass);
	base64_encode(&b64, raw.s, raw.len);
	snprintf(l->t.last_user, sizeof(l->t.last_user), "%s", user);
	ret = login_sasl(l, tag, "PLAIN", b64.s);
	explicit_bzero(raw.s, raw.len);
	explicit_bzero(b64.s, b64.len);
	str_deinit(&raw);
	str_deinit(&b64);
	return ret;
}

int
imap_login_run(struct pop3_client *client, int client_fd, int ctl_fd, struct auth_client *auth)
{
	struct imap_login l;
	struct str caps;
	const char *why = NULL;	/* NULL: the reason from the attempts */
	bool logged_in = false;
	int status = 0;

	memset(&l, 0, sizeof(l));
	l.client = client;
	l.ctl_fd = ctl_fd;
	login_track_init(&l.t, "imap-login");
	l.auth = auth;
	pop3_conn_init(&l.conn, client_fd, client->set->login_timeout_ms);
	imap_parser_init(&l.parser, IMAP_DEFAULT_MAX_LINE, 0);
	str_init(&caps, 256);
	pop3_proctitle("[%s]", client->rip);
	if (client->implicit_tls) {
		if (client->set->ssl_ctx == NULL || pop3_conn_starttls(&l.conn, client->set->ssl_ctx) != 0) {
			why = "TLS handshaking failed";
			goto out;
		}
	}
	login_caps(&l, &caps);
	pop3_conn_printf(&l.conn, "* OK [CAPABILITY %s] %s\r\n", caps.s, client->set->greeting);
	for (;;) {
		struct imap_arg *args;
		const char *tag, *name;
		size_t n;
		int r = 0;
		enum imap_read rd = imap_read_command(&l.conn, &l.parser);

		if (rd == IMAP_READ_TIMEOUT) {
			why = "Inactivity";
			goto out;
		}
		if (rd == IMAP_READ_FATAL) {
			why = imap_parser_error(&l.parser);
			goto out;
		}
		if (rd != IMAP_READ_COMMAND)
			goto out;
		if (imap_parser_args(&l.parser, &tag, &name, &args, &n) != 0) {
			if (strcmp(imap_parser_error(&l.parser), "Missing '\"'") == 0)
				pop3_conn_printf(&l.conn, "%s BAD Missing '\"'\r\n", tag);
			else
				pop3_conn_printf(&l.conn, "%s BAD Error in IMAP command received by "
				    "server.\r\n", tag);
			if (++l.bad >= LOGIN_MAX_BAD) {
				pop3_conn_printf(&l.conn, "* BYE Too many invalid IMAP commands.\r\n");
				why = "Too many invalid commands.";
				goto out;
			}
			imap_parser_reset(&l.parser);
			continue;
		}
		if (strcmp(name, "CAPABILITY") == 0 && n == 0) {
			str_reset(&caps);
			login_caps(&l, &caps);
			pop3_conn_printf(&l.conn, "* CAPABILITY %s\r\n%s OK Pre-login capabilities "
			    "listed, post-login capabilities have more.\r\n", caps.s, tag);
		} else if (strcmp(name, "NOOP") == 0) {
			pop3_conn_printf(&l.conn, "%s OK NOOP completed.\r\n", tag);
		} else if (strcmp(name, "ID") == 0 && n == 1) {
			pop3_conn_printf(&l.conn, "* ID (\"name\" \"Dovecot\")\r\n%s OK ID completed.\r\n",
			    tag);
		} else if (strcmp(name, "LOGOUT") == 0) {
			pop3_conn_printf(&l.conn, "* BYE Logging out\r\n%s OK Logout completed.\r\n", tag);
			why = "Aborted login by logging out";
			goto out;
		} else if (strcmp(name, "STARTTLS") == 0 && n == 0) {
			if (client->set->ssl_ctx == NULL) {
				pop3_conn_printf(&l.conn, "%s BAD TLS support isn't enabled.\r\n", tag);
			} else if (l.conn.ssl != NULL) {
				pop3_conn_printf(&l.conn, "%s BAD TLS is already active.\r\n", tag);
			} else {
				pop3_conn_printf(&l.conn, "%s OK Begin TLS negotiation now.\r\n", tag);
				if (pop3_conn_starttls(&l.conn, client->set->ssl_ctx) != 0) {
					why = "TLS handshaking failed";
					goto out;
				}
			}
		} else if (strcmp(name, "LOGIN") == 0 && n == 2 && imap_arg_is_astring(&args[0]) &&
		    imap_arg_is_astring(&args[1])) {
			r = login_login(&l, tag, args[0].str, args[1].str);
			explicit_bzero(l.parser.buf.s, l.parser.buf.len);
		} else if (strcmp(name, "AUTHENTICATE") == 0 && (n == 1 || n == 2) &&
		    args[0].type == IMAP_ARG_ATOM && (n == 1 || imap_arg_is_astring(&args[1]))) {
			r = login_sasl(&l, tag, args[0].str, n == 2 ? args[1].str : NULL);
			explicit_bzero(l.parser.buf.s, l.parser.buf.len);
		} else {
			pop3_conn_printf(&l.conn, "%s BAD Error in IMAP command received by server.\r\n",
			    tag);
			if (++l.bad >= LOGIN_MAX_BAD) {
				pop3_conn_printf(&l.conn, "* BYE Too many invalid IMAP commands.\r\n");
				why = "Too many invalid commands.";
				goto out;
			}
		}
		imap_parser_reset(&l.parser);
		if (r < 0) {
			status = 1;
			goto out;
		}
		if (r > 0) {
			login_log_login(&l.t, client, &l.conn);
			if (l.conn.ssl != NULL) {
				pop3_proctitle("[proxy %s]", l.client->rip);
				pop3_conn_proxy(&l.conn, l.ctl_fd);
			}
			logged_in = true;
			goto out;
		}
	}
out:
	(void)pop3_conn_flush(&l.conn);
	if (!logged_in)
		login_log_disconnect(&l.t, client, &l.conn, why);
	str_deinit(&caps);
	imap_parser_deinit(&l.parser);
	if (!client->keep_auth)
		auth_client_free(&l.auth);
	pop3_conn_deinit(&l.conn);
	return status;
}
