/* login_client.c - see login_client.h. */
#include "login/login_client.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/str.h"
#include "login/login_split.h"
#include "pop3/pop3-private.h"

void
login_track_init(struct login_track *t, const char *tag)
{
	memset(t, 0, sizeof(*t));
	t->tag = tag;
	t->started = time(NULL);
}

bool
login_secured(const struct pop3_client *c, const struct pop3_conn *conn)
{
	return conn->ssl != NULL || strcmp(c->rip, c->lip) == 0;
}

bool
login_plaintext_ok(const struct pop3_client *c, const struct pop3_conn *conn)
{
	if (c->set->ssl == POP3_SSL_REQUIRED)
		return conn->ssl != NULL;
	return !c->set->disable_plaintext_auth || login_secured(c, conn);
}

const char *
login_secured_text(const struct pop3_client *c, const struct pop3_conn *conn)
{
	if (conn->ssl != NULL)
		return ", TLS";
	return login_secured(c, conn) ? ", secured" : "";
}

void
login_log_login(const struct login_track *t, const struct pop3_client *c,
    const struct pop3_conn *conn)
{
	struct str u;

	str_init(&u, 64);
	log_printable(&u, t->last_user, 100);
	log_info("%s: Login: user=<%s>, method=%s, rip=%s, lip=%s, mpid=%ld%s, session=<%s>",
	    t->tag, u.s, t->last_method, c->rip, c->lip, login_split_mpid(),
	    login_secured_text(c, conn), c->session);
	str_deinit(&u);
}

void
login_log_disconnect(const struct login_track *t, const struct pop3_client *c,
    const struct pop3_conn *conn, const char *why)
{
	char text[160];
	long secs = (long)(time(NULL) - t->started);
	struct str u;

	if (why != NULL)
		snprintf(text, sizeof(text), "%s", why);
	else if (t->refused)
		snprintf(text, sizeof(text), "login refused after authentication, %u attempts "
		    "in %ld secs", t->attempts, secs);
	else if (t->attempts > 0)
		snprintf(text, sizeof(text), "auth failed, %u attempts in %ld secs", t->attempts,
		    secs);
	else
		snprintf(text, sizeof(text), "no auth attempts in %ld secs", secs);
	str_init(&u, 64);
	log_printable(&u, t->last_user, 100);
	if (t->last_method[0] != '\0')
		log_info("%s: Disconnected (%s): user=<%s>, method=%s, rip=%s, lip=%s%s, "
		    "session=<%s>", t->tag, text, u.s, t->last_method, c->rip, c->lip,
		    login_secured_text(c, conn), c->session);
	else
		log_info("%s: Disconnected (%s): user=<%s>, rip=%s, lip=%s%s, session=<%s>",
		    t->tag, text, u.s, c->rip, c->lip, login_secured_text(c, conn), c->session);
	str_deinit(&u);
}

void
login_auth_info(struct auth_client_info *info, struct login_track *t, const struct pop3_client *c,
    const struct pop3_conn *conn, const char *mech, const char *service)
{
	memset(info, 0, sizeof(*info));
	info->mech = mech;
	info->service = service;
	info->remote_ip = c->rip;
	info->local_ip = c->lip;
	info->remote_port = c->rport;
	info->local_port = c->lport;
	info->secured = login_secured(c, conn);
	info->tls = conn->ssl != NULL;
	info->session_id = c->session;
	snprintf(t->last_method, sizeof(t->last_method), "%s", mech);
	t->attempts++;
}

enum login_sasl_end
login_sasl_run(struct auth_client *auth, struct auth_client_request **req,
    const struct auth_client_info *info, const char *first, struct auth_client_reply *reply,
    enum auth_client_result *result_r, const struct login_sasl_io *io)
{
	enum login_sasl_end end = LOGIN_SASL_RESULT;
	enum auth_client_result r;
	struct str line, dec;

	str_init(&line, 256);
	str_init(&dec, 256);
	r = auth_client_login(auth, req, info, first, reply);
	while (r == AUTH_CLIENT_RESULT_CONTINUE) {
		enum login_sasl_read rd;

		io->challenge(io->ctx, reply->challenge != NULL ? reply->challenge : "");
		str_reset(&line);
		rd = io->response(io->ctx, &line);
		str_reset(&dec);
		if (rd != LOGIN_SASL_LINE)
			end = rd == LOGIN_SASL_GONE ? LOGIN_SASL_DISCONNECTED : LOGIN_SASL_BAD_SYNTAX;
		else if (strcmp(line.s, "*") == 0)
			end = LOGIN_SASL_ABORTED;
		else if (base64_decode(&dec, line.s, line.len) != 0)
			end = LOGIN_SASL_BAD_BASE64;
		if (end != LOGIN_SASL_RESULT) {
			/* the auth service forgets the request */
			r = auth_client_login(auth, req, info, NULL, reply);
			break;
		}
		r = auth_client_login(auth, req, info, line.s, reply);
		explicit_bzero(line.s, line.len);
	}
	explicit_bzero(dec.s, dec.len);
	str_deinit(&line);
	str_deinit(&dec);
	*result_r = r;
	return end;
}
