/* managesieve_login.c - the login process of one ManageSieve connection
 * (Pigeonhole's managesieve-login): the greeting (the capability list and
 * OK "login_greeting"), CAPABILITY, NOOP, LOGOUT, STARTTLS (capabilities
 * again after the handshake, as RFC 5804 2.2 asks), AUTHENTICATE with an
 * initial response (SASL-IR) or continuations, through the auth service,
 * as default_login_user. After a login it hands the user to the session
 * process and under TLS stays as the proxy. OK "Logged in." is the
 * session's to send: it alone knows the login stuck.
 * Replies are Pigeonhole 2.3's. Tests: tests/e2e/test_managesieve.py */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "auth/auth_client.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "login/login_client.h"
#include "login/login_split.h"
#include "managesieve/managesieve-private.h"
#include "pop3/pop3-private.h"

struct msieve_login {
	struct pop3_client *client;
	struct pop3_conn conn;
	struct msieve_reader rd;
	struct auth_client *auth;
	struct login_track t;
	unsigned bad;
	int	 ctl_fd;
	int	 data_fd;		/* under TLS: the session's channel, after a login */
};

/* What the proxy keeps of the client's bytes sent on to the session: the
 * tail the session may not have read when it hands the connection back
 * (UNAUTHENTICATE); more than the socket buffers can hold never is. */
#define LOGIN_RESUME_KEEP	(1024 * 1024)

static void
login_caps(struct msieve_login *l, struct str *out)
{
	const struct auth_client_mech *mechs;
	struct str sasl;
	size_t i, n;

	str_init(&sasl, 64);
	mechs = auth_client_mechs(l->auth, &n);
	for (i = 0; i < n; i++) {
		if ((mechs[i].flags & AUTH_CLIENT_MECH_PRIVATE) != 0)
			continue;
		if ((mechs[i].flags & AUTH_CLIENT_MECH_PLAINTEXT) != 0 &&
		    !login_plaintext_ok(l->client, &l->conn))
			continue;
		if (sasl.len > 0)
			str_append_c(&sasl, ' ');
		str_append(&sasl, mechs[i].name);
	}
	msieve_caps(out, true, sasl.s, l->client->set->ssl_ctx != NULL && l->conn.ssl == NULL,
	    false);
	str_deinit(&sasl);
}

/* login_handoff - 1 handed over (the session says OK), 0 refused (NO
 * sent), -1 broken */
static int
login_handoff(struct msieve_login *l, const char *user, const char *method,
    unsigned long auth_id)
{
	enum login_refusal kind;
	char text[400];
	int ret;

	ret = login_split_handoff_fd(l->ctl_fd, l->auth, user, method, auth_id,
	    l->conn.ssl != NULL, l->rd.buf.s, l->rd.buf.len, &kind, text, sizeof(text),
	    &l->data_fd);
	if (ret > 0) {
		str_reset(&l->rd.buf);
	} else if (ret == 0) {
		(void)msieve_reply(&l->conn, "NO", kind == LOGIN_REFUSED_PERM ? NULL : "TRYLATER",
		    text, strlen(text));
		l->t.refused = true;
	}
	return ret;
}

/* ManageSieve's challenges and responses: strings (RFC 5804 2.1) */
static void
sasl_challenge(void *ctx, const char *b64)
{
	struct msieve_login *l = ctx;
	struct str q;

	str_init(&q, strlen(b64) + 4);
	msieve_quote(&q, b64, strlen(b64));
	str_append(&q, "\r\n");
	pop3_conn_append(&l->conn, q.s, q.len);
	str_deinit(&q);
}

static enum login_sasl_read
sasl_response(void *ctx, struct str *line)
{
	switch (msieve_read_string(&((struct msieve_login *)ctx)->rd, line)) {
	case MSIEVE_READ_CMD:
		return LOGIN_SASL_LINE;
	case MSIEVE_READ_BAD:
		return LOGIN_SASL_SYNTAX;
	default:
		return LOGIN_SASL_GONE;
	}
}

/* login_sasl - one SASL exchange; 1 logged in, 0 not (reply sent), -1 gone */
static int
login_sasl(struct msieve_login *l, const char *mech, const char *ir)
{
	const struct login_sasl_io io = { sasl_challenge, sasl_response, l };
	struct auth_client_info info;
	struct auth_client_request *req = NULL;
	struct auth_client_reply reply;
	const struct auth_client_mech *m;
	struct str dec;
	enum auth_client_result r;
	int ret = 0;

	m = auth_client_mech_find(l->auth, mech);
	if (m == NULL || (m->flags & AUTH_CLIENT_MECH_PRIVATE) != 0) {
		(void)msieve_replyf(&l->conn, "NO", NULL, "Unsupported authentication mechanism.");
		return 0;
	}
	if ((m->flags & AUTH_CLIENT_MECH_PLAINTEXT) != 0 &&
	    !login_plaintext_ok(l->client, &l->conn)) {
		(void)msieve_replyf(&l->conn, "NO", NULL, "Plaintext authentication disabled.");
		return 0;
	}
	str_init(&dec, 256);
	if (ir != NULL && *ir != '\0' && base64_decode(&dec, ir, strlen(ir)) != 0) {
		(void)msieve_replyf(&l->conn, "NO", NULL,
		    "Invalid base64 data in initial response.");
		goto out;
	}
	login_auth_info(&info, &l->t, l->client, &l->conn, m->name, "sieve");
	auth_client_reply_init(&reply);
	/* an empty initial response is "=" to the auth protocol */
	switch (login_sasl_run(l->auth, &req, &info, ir != NULL && *ir == '\0' ? "" : ir, &reply,
	    &r, &io)) {
	case LOGIN_SASL_RESULT:
		break;
	case LOGIN_SASL_DISCONNECTED:
		ret = -1;
		goto done;
	case LOGIN_SASL_BAD_SYNTAX:
		(void)msieve_replyf(&l->conn, "NO", NULL,
		    "Error in MANAGESIEVE command received by server.");
		l->bad++;
		goto done;
	case LOGIN_SASL_ABORTED:
		(void)msieve_replyf(&l->conn, "NO", NULL, "Authentication aborted by client.");
		goto done;
	case LOGIN_SASL_BAD_BASE64:
		(void)msieve_replyf(&l->conn, "NO", NULL,
		    "Invalid base64 data in continued response.");
		goto done;
	}
	if (r == AUTH_CLIENT_RESULT_OK) {
		const char *user = reply.user != NULL ? reply.user : "";

		snprintf(l->t.last_user, sizeof(l->t.last_user), "%s", user);
		ret = login_handoff(l, user, m->name, reply.auth_id);
	} else if (r == AUTH_CLIENT_RESULT_FAIL) {
		if (reply.user != NULL)
			snprintf(l->t.last_user, sizeof(l->t.last_user), "%s", reply.user);
		if (reply.temp)
			(void)msieve_replyf(&l->conn, "NO", "TRYLATER",
			    "Temporary authentication failure.");
		else
			(void)msieve_replyf(&l->conn, "NO", NULL, "Authentication failed.");
	} else {
		(void)msieve_replyf(&l->conn, "NO", "TRYLATER",
		    "Temporary authentication failure.");
	}
done:
	auth_client_reply_deinit(&reply);
out:
	explicit_bzero(dec.s, dec.len);
	str_deinit(&dec);
	return ret;
}

/* login_bad - a bad command: NO, and after MSIEVE_LOGIN_MAX_BAD of them
 * BYE. true when the connection ends. */
static bool
login_bad(struct msieve_login *l)
{
	(void)msieve_replyf(&l->conn, "NO", NULL,
	    "Error in MANAGESIEVE command received by server.");
	if (++l->bad < MSIEVE_LOGIN_MAX_BAD)
		return false;
	(void)msieve_replyf(&l->conn, "BYE", NULL, "Too many invalid MANAGESIEVE commands.");
	return true;
}

/* login_proxy - under TLS, copy between the client and the session's
 * channel until the session ends (true: its end, the connection goes on)
 * or the client goes (false). The client's bytes are kept in keep from
 * stream offset *keep_start (a bounded tail); *sent counts them. */
static bool
login_proxy(struct msieve_login *l, struct str *keep, uint64_t *keep_start, uint64_t *sent)
{
	struct pollfd pfd[2];
	char buf[16384];
	ssize_t n;

	for (;;) {
		pfd[0].fd = l->conn.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = l->data_fd;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		/* bytes already decrypted in OpenSSL's buffer: no poll for them */
		if (SSL_pending(l->conn.ssl) > 0)
			pfd[0].revents = POLLIN;
		else if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (pfd[0].revents != 0) {
			int r = SSL_read(l->conn.ssl, buf, sizeof(buf));

			if (r <= 0) {
				int e = SSL_get_error(l->conn.ssl, r);

				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
					return false;
			} else {
				/* kept first: bytes the session never got (it may
				 * just have ended) belong to the next login */
				str_append_n(keep, buf, (size_t)r);
				*sent += (uint64_t)r;
				if (keep->len > 2 * LOGIN_RESUME_KEEP) {
					size_t drop = keep->len - LOGIN_RESUME_KEEP;

					memmove(keep->s, keep->s + drop, keep->len - drop);
					str_truncate(keep, keep->len - drop);
					*keep_start += drop;
				}
				if (write(l->data_fd, buf, (size_t)r) != r)
					return true;	/* the session is gone */
			}
		}
		if (pfd[1].revents != 0) {
			n = read(l->data_fd, buf, sizeof(buf));
			if (n <= 0)
				return true;
			pop3_conn_append(&l->conn, buf, (size_t)n);
			if (pop3_conn_flush(&l->conn) != 0)
				return false;
		}
	}
}

/* login_resume - after a login, until the session ends: true when it gave
 * the connection back (UNAUTHENTICATE), the client's unread input in
 * l->rd; false when the connection is over. The session says
 * "UNAUTH TAB read TAB len" and its unread bytes over the control channel. */
static bool
login_resume(struct msieve_login *l)
{
	struct str keep;
	uint64_t keep_start = 0, sent = 0, dp_read;
	char line[128];
	size_t got = 0, len;
	bool ok = false;

	str_init(&keep, 4096);
	if (l->conn.ssl != NULL && (l->data_fd < 0 || !login_proxy(l, &keep, &keep_start, &sent)))
		goto out;
	while (got < sizeof(line) - 1) {
		if (read(l->ctl_fd, line + got, 1) != 1)
			goto out;
		if (line[got] == '\n')
			break;
		got++;
	}
	line[got] = '\0';
	if (sscanf(line, "UNAUTH\t%" SCNu64 "\t%zu", &dp_read, &len) != 2 ||
	    len > 2 * LOGIN_RESUME_KEEP)
		goto out;
	str_reset(&l->rd.buf);
	while (len > 0) {
		char buf[4096];
		ssize_t n = read(l->ctl_fd, buf, len < sizeof(buf) ? len : sizeof(buf));

		if (n <= 0)
			goto out;
		str_append_n(&l->rd.buf, buf, (size_t)n);
		len -= (size_t)n;
	}
	if (l->conn.ssl != NULL) {
		/* what the session never read of its channel comes after */
		if (dp_read < keep_start || dp_read > sent)
			goto out;
		str_append_n(&l->rd.buf, keep.s + (dp_read - keep_start),
		    (size_t)(sent - dp_read));
	}
	ok = true;
out:
	if (l->data_fd >= 0)
		close(l->data_fd);
	l->data_fd = -1;
	str_deinit(&keep);
	return ok;
}

static bool
arg_is_string(const struct msieve_cmd *cmd, size_t i)
{
	return i < cmd->nargs && cmd->args[i].type == MSIEVE_ARG_STRING &&
	    strlen(cmd->args[i].s) == cmd->args[i].len;
}

int
msieve_login_run(struct pop3_client *client, int client_fd, int ctl_fd, struct auth_client *auth)
{
	struct msieve_login l;
	struct str caps;
	const char *why = NULL;	/* NULL: the reason from the attempts */
	bool logged_in = false;
	int status = 0;

	memset(&l, 0, sizeof(l));
	l.client = client;
	l.ctl_fd = ctl_fd;
	l.data_fd = -1;
	l.auth = auth;
	login_track_init(&l.t, "managesieve-login");
	pop3_conn_init(&l.conn, client_fd, client->set->login_timeout_ms);
	msieve_reader_init(&l.rd, &l.conn, MSIEVE_LOGIN_MAX_LITERAL);
	str_init(&caps, 512);
	pop3_proctitle("[%s]", client->rip);
	login_caps(&l, &caps);
	pop3_conn_append(&l.conn, caps.s, caps.len);
	(void)msieve_reply(&l.conn, "OK", NULL, client->set->greeting,
	    strlen(client->set->greeting));
	for (;;) {
		struct msieve_cmd cmd;
		const char *err;
		int r = 0;
		enum msieve_read rd = msieve_read_command(&l.rd, &cmd, &err);

		if (rd == MSIEVE_READ_TIMEOUT) {
			why = "Inactivity";
			goto out;
		}
		if (rd == MSIEVE_READ_FATAL) {
			(void)msieve_replyf(&l.conn, "BYE", NULL, "Input buffer full, aborting");
			why = "Input buffer full";
			goto out;
		}
		if (rd == MSIEVE_READ_BAD || rd == MSIEVE_READ_TOOBIG) {
			if (login_bad(&l)) {
				why = "Too many invalid commands.";
				goto out;
			}
			continue;
		}
		if (rd != MSIEVE_READ_CMD)
			goto out;
		if (strcmp(cmd.verb, "CAPABILITY") == 0 && cmd.nargs == 0) {
			str_reset(&caps);
			login_caps(&l, &caps);
			pop3_conn_append(&l.conn, caps.s, caps.len);
			(void)msieve_replyf(&l.conn, "OK", NULL, "Capability completed.");
		} else if (strcmp(cmd.verb, "NOOP") == 0 && cmd.nargs == 0) {
			(void)msieve_replyf(&l.conn, "OK", NULL, "NOOP Completed");
		} else if (strcmp(cmd.verb, "NOOP") == 0 && cmd.nargs == 1 &&
		    arg_is_string(&cmd, 0)) {
			struct str tag;

			str_init(&tag, 64);
			str_append(&tag, "OK (TAG ");
			msieve_quote(&tag, cmd.args[0].s, cmd.args[0].len);
			str_append(&tag, ") \"Done\"\r\n");
			pop3_conn_append(&l.conn, tag.s, tag.len);
			str_deinit(&tag);
		} else if (strcmp(cmd.verb, "LOGOUT") == 0 && cmd.nargs == 0) {
			(void)msieve_replyf(&l.conn, "OK", NULL, "Logout completed.");
			why = "Aborted login by logging out";
			msieve_cmd_deinit(&cmd);
			goto out;
		} else if (strcmp(cmd.verb, "STARTTLS") == 0 && cmd.nargs == 0) {
			if (client->set->ssl_ctx == NULL) {
				(void)msieve_replyf(&l.conn, "NO", NULL,
				    "TLS support isn't enabled.");
			} else if (l.conn.ssl != NULL) {
				(void)msieve_replyf(&l.conn, "NO", NULL, "TLS is already active.");
			} else {
				(void)msieve_replyf(&l.conn, "OK", NULL,
				    "Begin TLS negotiation now.");
				/* nothing the client sent before the handshake counts */
				str_reset(&l.rd.buf);
				if (pop3_conn_starttls(&l.conn, client->set->ssl_ctx) != 0) {
					why = "TLS handshaking failed";
					msieve_cmd_deinit(&cmd);
					goto out;
				}
				str_reset(&caps);
				login_caps(&l, &caps);
				pop3_conn_append(&l.conn, caps.s, caps.len);
				(void)msieve_replyf(&l.conn, "OK", NULL,
				    "TLS negotiation successful.");
			}
		} else if (strcmp(cmd.verb, "AUTHENTICATE") == 0 && (cmd.nargs == 1 ||
		    cmd.nargs == 2) && strlen(cmd.args[0].s) == cmd.args[0].len &&
		    (cmd.nargs == 1 || arg_is_string(&cmd, 1))) {
			r = login_sasl(&l, cmd.args[0].s, cmd.nargs == 2 ? cmd.args[1].s : NULL);
			if (cmd.nargs == 2)
				explicit_bzero(cmd.args[1].s, cmd.args[1].len);
			if (r == 0 && l.bad >= MSIEVE_LOGIN_MAX_BAD) {
				(void)msieve_replyf(&l.conn, "BYE", NULL,
				    "Too many invalid MANAGESIEVE commands.");
				why = "Too many invalid commands.";
				msieve_cmd_deinit(&cmd);
				goto out;
			}
		} else {
			msieve_cmd_deinit(&cmd);
			if (login_bad(&l)) {
				why = "Too many invalid commands.";
				goto out;
			}
			continue;
		}
		msieve_cmd_deinit(&cmd);
		if (r < 0) {
			status = 1;
			goto out;
		}
		if (r > 0) {
			login_log_login(&l.t, client, &l.conn);
			if (l.conn.ssl != NULL)
				pop3_proctitle("[proxy %s]", l.client->rip);
			/* the session may give the connection back (UNAUTHENTICATE):
			 * then this is a login process again, without a greeting */
			if (login_resume(&l)) {
				pop3_proctitle("[%s]", client->rip);
				login_track_init(&l.t, "managesieve-login");
				continue;
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
	msieve_reader_deinit(&l.rd);
	auth_client_free(&l.auth);
	pop3_conn_deinit(&l.conn);
	return status;
}
