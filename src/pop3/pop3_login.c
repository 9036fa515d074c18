/* pop3_login.c - the login process of one POP3 connection (Dovecot's
 * pop3-login): greeting, CAPA, USER/PASS, AUTH (SASL through the auth
 * service), STLS, APOP (when auth_mechanisms has apop: the greeting then
 * carries the timestamp, and the service checks the digest against a
 * plaintext passdb, as Dovecot's), QUIT. It runs as default_login_user and never sees
 * a mailbox. After a login it hands the user to the session process and,
 * under TLS, stays as the proxy between the TLS stream and that process.
 * Replies are Dovecot 2.3's, byte for byte. Tests: tests/e2e/test_pop3.py */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "auth/auth_client.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "login/login_client.h"
#include "login/login_split.h"
#include "pop3/pop3-private.h"
#include "pop3/pop3.h"

struct pop3_login {
	struct pop3_client *client;
	struct pop3_conn conn;
	struct auth_client *auth;
	char	*user;			/* USER's argument */
	struct login_track t;		/* for the Login and Disconnected lines */
	char	 apop_challenge[160];	/* "" when APOP is off */
	int	 ctl_fd;
};

static void
login_capa(struct pop3_login *l)
{
	const struct auth_client_mech *mechs;
	size_t i, n;

	pop3_conn_printf(&l->conn, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
	    "AUTH-RESP-CODE\r\n");
	if (l->client->set->ssl_ctx != NULL && l->conn.ssl == NULL)
		pop3_conn_printf(&l->conn, "STLS\r\n");
	if (login_plaintext_ok(l->client, &l->conn))
		pop3_conn_printf(&l->conn, "USER\r\n");
	pop3_conn_printf(&l->conn, "SASL");
	mechs = auth_client_mechs(l->auth, &n);
	for (i = 0; i < n; i++) {
		if ((mechs[i].flags & AUTH_CLIENT_MECH_PRIVATE) != 0)
			continue;
		if ((mechs[i].flags & AUTH_CLIENT_MECH_PLAINTEXT) != 0 &&
		    !login_plaintext_ok(l->client, &l->conn))
			continue;
		pop3_conn_printf(&l->conn, " %s", mechs[i].name);
	}
	pop3_conn_printf(&l->conn, "\r\n.\r\n");
}

/* login_handoff - tell the session process; 1 logged in, 0 refused (the
 * -ERR is sent), -1 broken */
static int
login_handoff(struct pop3_login *l, const char *user, const char *method, unsigned long auth_id)
{
	static const char *const codes[] = {
		[LOGIN_REFUSED_TEMP] = "[SYS/TEMP]", [LOGIN_REFUSED_PERM] = "[SYS/PERM]",
		[LOGIN_REFUSED_IN_USE] = "[IN-USE]",
	};
	enum login_refusal kind;
	char text[400];
	int ret;

	ret = login_split_handoff(l->ctl_fd, l->auth, user, method, auth_id, l->conn.ssl != NULL,
	    l->conn.in + l->conn.in_pos, pop3_conn_pending(&l->conn), &kind, text, sizeof(text));
	if (ret > 0) {
		l->conn.in_pos = l->conn.in_len;	/* handed over */
	} else if (ret == 0) {
		pop3_conn_printf(&l->conn, "-ERR %s %s\r\n", codes[kind], text);
		l->t.refused = true;
	}
	return ret;
}

/* POP3's challenges and responses: "+ base64" and a line (RFC 5034) */
static void
sasl_challenge(void *ctx, const char *b64)
{
	pop3_conn_printf(&((struct pop3_login *)ctx)->conn, "+ %s\r\n", b64);
}

static enum login_sasl_read
sasl_response(void *ctx, struct str *line)
{
	return pop3_conn_getline(&((struct pop3_login *)ctx)->conn, line, POP3_LOGIN_MAX_LINE) ==
	    POP3_READ_LINE ? LOGIN_SASL_LINE : LOGIN_SASL_GONE;
}

/* login_auth - one SASL exchange; 1 logged in, 0 not (reply sent), -1 gone */
static int
login_auth(struct pop3_login *l, const char *mech, const char *ir)
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
		pop3_conn_printf(&l->conn, "-ERR [AUTH] Unsupported authentication mechanism.\r\n");
		return 0;
	}
	if ((m->flags & AUTH_CLIENT_MECH_PLAINTEXT) != 0 &&
	    !login_plaintext_ok(l->client, &l->conn)) {
		pop3_conn_printf(&l->conn, "-ERR [AUTH] Plaintext authentication disallowed on "
		    "non-secure (SSL/TLS) connections.\r\n");
		return 0;
	}
	str_init(&dec, 256);
	if (ir != NULL && strcmp(ir, "=") == 0)
		resp = "";
	else if (ir != NULL && base64_decode(&dec, ir, strlen(ir)) != 0) {
		pop3_conn_printf(&l->conn, "-ERR [AUTH] Invalid base64 data in initial response\r\n");
		goto out;
	}
	login_auth_info(&info, &l->t, l->client, &l->conn, m->name, "pop3");
	auth_client_reply_init(&reply);
	switch (login_sasl_run(l->auth, &req, &info, resp, &reply, &r, &io)) {
	case LOGIN_SASL_RESULT:
		break;
	case LOGIN_SASL_DISCONNECTED:
	case LOGIN_SASL_BAD_SYNTAX:
		ret = -1;
		goto done;
	case LOGIN_SASL_ABORTED:
		pop3_conn_printf(&l->conn, "-ERR [AUTH] Authentication aborted by client.\r\n");
		goto done;
	case LOGIN_SASL_BAD_BASE64:
		pop3_conn_printf(&l->conn, "-ERR [AUTH] Invalid base64 data in continued "
		    "response\r\n");
		goto done;
	}
	if (r == AUTH_CLIENT_RESULT_OK) {
		const char *user = reply.user != NULL ? reply.user : "";

		snprintf(l->t.last_user, sizeof(l->t.last_user), "%s", user);
		ret = login_handoff(l, user, m->name, reply.auth_id);
	} else if (r == AUTH_CLIENT_RESULT_FAIL) {
		if (reply.user != NULL)
			snprintf(l->t.last_user, sizeof(l->t.last_user), "%s", reply.user);
		pop3_conn_printf(&l->conn, "-ERR [AUTH] %s\r\n", reply.temp ?
		    "Temporary authentication failure." : "Authentication failed.");
	} else {
		pop3_conn_printf(&l->conn, "-ERR [SYS/TEMP] Temporary authentication failure.\r\n");
	}
done:
	auth_client_reply_deinit(&reply);
out:
	str_deinit(&dec);
	return ret;
}

/* login_apop_challenge - RFC 1939's timestamp, unique per greeting:
 * <pid.counter.time.random@host> as Dovecot's */
static void
login_apop_challenge(struct pop3_login *l)
{
	static unsigned counter;
	unsigned char rnd[12];
	struct str b64;
	char host[128];

	if (auth_client_mech_find(l->auth, "APOP") == NULL ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	str_init(&b64, 32);
	base64_encode(&b64, rnd, sizeof(rnd));
	snprintf(l->apop_challenge, sizeof(l->apop_challenge), "<%lx.%u.%llx.%s@%s>",
	    (long)getpid(), ++counter, (unsigned long long)time(NULL), b64.s, host);
	str_deinit(&b64);
}

/* login_apop - "APOP name digest": AUTH APOP with challenge NUL user NUL
 * the digest's 16 bytes */
static int
login_apop(struct pop3_login *l, const char *args)
{
	const char *sp = strrchr(args, ' ');
	unsigned char digest[16];
	struct str raw, b64;
	int ret;

	if (l->apop_challenge[0] == '\0') {
		pop3_conn_printf(&l->conn, "-ERR APOP not enabled.\r\n");
		return 0;
	}
	if (sp == NULL || sp == args || strlen(sp + 1) != 32) {
		pop3_conn_printf(&l->conn, "-ERR Invalid parameters.\r\n");
		return 0;
	}
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)sp[1 + 2 * i]) ||
		    !isxdigit((unsigned char)sp[2 + 2 * i]) ||
		    sscanf(sp + 1 + 2 * i, "%2x", &v) != 1) {
			pop3_conn_printf(&l->conn, "-ERR Invalid parameters.\r\n");
			return 0;
		}
		digest[i] = (unsigned char)v;
	}
	str_init(&raw, 256);
	str_init(&b64, 512);
	str_append(&raw, l->apop_challenge);
	str_append_c(&raw, '\0');
	str_append_n(&raw, args, (size_t)(sp - args));
	str_append_c(&raw, '\0');
	str_append_n(&raw, (const char *)digest, sizeof(digest));
	base64_encode(&b64, raw.s, raw.len);
	snprintf(l->t.last_user, sizeof(l->t.last_user), "%.*s", (int)(sp - args), args);
	ret = login_auth(l, "APOP", b64.s);
	str_deinit(&raw);
	str_deinit(&b64);
	return ret;
}

/* login_pass - PASS as AUTH PLAIN with an initial response */
static int
login_pass(struct pop3_login *l, const char *pass)
{
	struct str raw, b64;
	int ret;

	if (l->user == NULL) {
		pop3_conn_printf(&l->conn, "-ERR No username given.\r\n");
		return 0;
	}
	str_init(&raw, 256);
	str_init(&b64, 512);
	str_append_c(&raw, '\0');
	str_append(&raw, l->user);
	str_append_c(&raw, '\0');
	str_append(&raw, pass);
	base64_encode(&b64, raw.s, raw.len);
	snprintf(l->t.last_user, sizeof(l->t.last_user), "%s", l->user);
	ret = login_auth(l, "PLAIN", b64.s);
	/* no copy of the password stays in memory longer than needed */
	explicit_bzero(raw.s, raw.len);
	explicit_bzero(b64.s, b64.len);
	str_deinit(&raw);
	str_deinit(&b64);
	return ret;
}

int
pop3_login_run(struct pop3_client *client, int client_fd, int ctl_fd, struct auth_client *auth)
{
	struct pop3_login l;
	struct str line;
	char verb[16];
	const char *args, *why = NULL;	/* NULL: the reason from the attempts */
	bool logged_in = false;
	enum pop3_read rd;
	int status = 0;

	memset(&l, 0, sizeof(l));
	l.client = client;
	l.ctl_fd = ctl_fd;
	login_track_init(&l.t, "pop3-login");
	pop3_conn_init(&l.conn, client_fd, client->set->login_timeout_ms);
	l.auth = auth;
	str_init(&line, 256);
	pop3_proctitle("[%s]", client->rip);
	if (client->implicit_tls) {
		if (client->set->ssl_ctx == NULL || pop3_conn_starttls(&l.conn, client->set->ssl_ctx) != 0) {
			why = "TLS handshaking failed";
			goto out;
		}
	}
	login_apop_challenge(&l);
	if (l.apop_challenge[0] != '\0')
		pop3_conn_printf(&l.conn, "+OK %s %s\r\n", client->set->greeting, l.apop_challenge);
	else
		pop3_conn_printf(&l.conn, "+OK %s\r\n", client->set->greeting);
	for (;;) {
		int r = 0;

		rd = pop3_conn_getline(&l.conn, &line, POP3_LOGIN_MAX_LINE);
		if (rd == POP3_READ_TOO_LONG) {
			why = "Input buffer full";
			goto out;
		}
		if (rd == POP3_READ_TIMEOUT) {
			why = "Inactivity";
			goto out;
		}
		if (rd != POP3_READ_LINE)
			goto out;
		if (!pop3_cmd_parse(line.s, verb, sizeof(verb), &args)) {
			pop3_conn_printf(&l.conn, "-ERR Unknown command.\r\n");
			continue;
		}
		if (strcmp(verb, "CAPA") == 0) {
			login_capa(&l);
		} else if (strcmp(verb, "USER") == 0) {
			if (!login_plaintext_ok(l.client, &l.conn)) {
				pop3_conn_printf(&l.conn, "-ERR [AUTH] Plaintext authentication "
				    "disallowed on non-secure (SSL/TLS) connections.\r\n");
				continue;
			}
			free(l.user);
			l.user = xstrdup(args);
			pop3_conn_printf(&l.conn, "+OK\r\n");
		} else if (strcmp(verb, "PASS") == 0) {
			if (!login_plaintext_ok(l.client, &l.conn)) {
				pop3_conn_printf(&l.conn, "-ERR [AUTH] Plaintext authentication "
				    "disallowed on non-secure (SSL/TLS) connections.\r\n");
				continue;
			}
			r = login_pass(&l, args);
			explicit_bzero(line.s, line.len);
		} else if (strcmp(verb, "AUTH") == 0) {
			char mech[64];
			const char *sp = strchr(args, ' ');
			size_t ml = sp != NULL ? (size_t)(sp - args) : strlen(args);

			if (*args == '\0') {
				const struct auth_client_mech *mechs;
				size_t i, n;

				/* the mechanism list, as Dovecot answers a bare AUTH */
				pop3_conn_printf(&l.conn, "+OK\r\n");
				mechs = auth_client_mechs(l.auth, &n);
				for (i = 0; i < n; i++)
					if ((mechs[i].flags & AUTH_CLIENT_MECH_PRIVATE) == 0)
						pop3_conn_printf(&l.conn, "%s\r\n", mechs[i].name);
				pop3_conn_printf(&l.conn, ".\r\n");
				continue;
			}
			if (ml >= sizeof(mech)) {
				pop3_conn_printf(&l.conn, "-ERR [AUTH] Unsupported authentication "
				    "mechanism.\r\n");
				continue;
			}
			memcpy(mech, args, ml);
			mech[ml] = '\0';
			{
				const struct auth_client_mech *m = auth_client_mech_find(l.auth, mech);

				/* private mechanisms (APOP) have commands of their own */
				if (m != NULL && (m->flags & AUTH_CLIENT_MECH_PRIVATE) != 0) {
					pop3_conn_printf(&l.conn, "-ERR [AUTH] Unsupported "
					    "authentication mechanism.\r\n");
					continue;
				}
			}
			r = login_auth(&l, mech, sp != NULL ? sp + 1 : NULL);
			explicit_bzero(line.s, line.len);
		} else if (strcmp(verb, "STLS") == 0) {
			if (client->set->ssl_ctx == NULL) {
				pop3_conn_printf(&l.conn, "-ERR TLS support isn't enabled.\r\n");
			} else if (l.conn.ssl != NULL) {
				pop3_conn_printf(&l.conn, "-ERR TLS is already active.\r\n");
			} else {
				pop3_conn_printf(&l.conn, "+OK Begin TLS negotiation now.\r\n");
				if (pop3_conn_starttls(&l.conn, client->set->ssl_ctx) != 0) {
					why = "TLS handshaking failed";
					goto out;
				}
			}
		} else if (strcmp(verb, "APOP") == 0) {
			r = login_apop(&l, args);
		} else if (strcmp(verb, "QUIT") == 0) {
			pop3_conn_printf(&l.conn, "+OK Logging out\r\n");
			why = "Aborted login by logging out";
			goto out;
		} else {
			pop3_conn_printf(&l.conn, "-ERR Unknown command.\r\n");
		}
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
	free(l.user);
	str_deinit(&line);
	if (!client->keep_auth)
		auth_client_free(&l.auth);
	pop3_conn_deinit(&l.conn);
	return status;
}
