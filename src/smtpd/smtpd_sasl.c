/* smtpd_sasl.c - SMTP AUTH (RFC 4954) through the authentication service
 * (smtpd_sasl_type = dovecot, smtpd_sasl_path), with Postfix's replies and
 * log lines. One asynchronous client (auth_client.h) per smtpd process
 * serves every session: while the service thinks (or delays a FAIL), the
 * session waits in SMTPD_MODE_AUTH_WAIT and reads nothing; the others go
 * on. The mechanisms announced in EHLO are the service's, as it last
 * reported them.
 * Tests: tests/e2e/test_smtp_auth.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_client.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "smtpd/smtpd.h"

#define SMTPD_SASL_LOST	"Connection lost to authentication server"

int
smtpd_sasl_config(struct smtpd_config *cfg, struct maincf *mc, const char **error_r)
{
	struct str v;
	const char *err;

	if (maincf_get_bool(mc, "smtpd_tls_auth_only", &cfg->tls_auth_only, &err) < 0 ||
	    maincf_get_bool(mc, "smtpd_sasl_authenticated_header", &cfg->sasl_auth_header,
	    &err) < 0) {
		*error_r = err;
		return -1;
	}
	if (!cfg->sasl_enable)
		return 0;
	str_init(&v, 64);
	if (maincf_get(mc, "smtpd_sasl_type", &v, &err) < 0) {
		*error_r = err;
		str_deinit(&v);
		return -1;
	}
	if (strcmp(v.s, "dovecot") != 0) {
		/* Postfix would stop here; yubin keeps serving mail without AUTH */
		log_warn("unsupported SASL server implementation: %s (yubin has smtpd_sasl_type = "
		    "dovecot only): AUTH is not offered", v.s);
		str_deinit(&v);
		return 0;
	}
	if (maincf_get(mc, "smtpd_sasl_path", &v, &err) < 0) {
		*error_r = err;
		str_deinit(&v);
		return -1;
	}
	/* Postfix: a relative path is relative to queue_directory */
	if (v.s[0] == '/' || strncmp(v.s, "inet:", 5) == 0)
		cfg->sasl_path = xstrdup(v.s);
	else
		cfg->sasl_path = xasprintf("%s/%s", cfg->queue_dir, v.s);
	str_deinit(&v);
	return 0;
}

void
smtpd_sasl_start(struct smtpd_server *srv)
{
	size_t n;

	if (srv->cfg.sasl_path == NULL)
		return;
	srv->auth = auth_client_new(srv->cfg.sasl_path, srv->base);
	/* learn the mechanisms before the first session (the service answers
	 * its handshake at once); from here on nothing waits for it */
	if (auth_client_mechs(srv->auth, &n) == NULL)
		log_warn("SASL: Connect to %s failed: AUTH waits for the authentication service",
		    srv->cfg.sasl_path);
}

void
smtpd_sasl_stop(struct smtpd_server *srv)
{
	auth_client_free(&srv->auth);
}

/* smtpd_sasl_active - AUTH may be used in this session now */
static bool
smtpd_sasl_active(const struct smtpd_session *s)
{
	const struct smtpd_config *cfg = &s->srv->cfg;

	return cfg->sasl_enable && s->srv->auth != NULL && (s->tls || !cfg->tls_auth_only);
}

void
smtpd_sasl_ehlo(struct smtpd_session *s, struct strvec *kw)
{
	const struct auth_client_mech *m;
	struct str line;
	size_t n, i;

	if (!smtpd_sasl_active(s))
		return;
	m = auth_client_mechs(s->srv->auth, &n);
	str_init(&line, 64);
	for (i = 0; i < n; i++) {
		if (m[i].flags & AUTH_CLIENT_MECH_PRIVATE)
			continue;
		str_append(&line, line.len == 0 ? "AUTH " : " ");
		str_append(&line, m[i].name);
	}
	if (line.len > 0)
		strvec_push(kw, line.s);
	str_deinit(&line);
}

void
smtpd_sasl_reset(struct smtpd_session *s)
{
	auth_client_request_abort(&s->auth_req);
	free(s->sasl_user);
	s->sasl_user = NULL;
	free(s->sasl_method);
	s->sasl_method = NULL;
	free(s->sasl_challenge);
	s->sasl_challenge = NULL;
}

/* smtpd_sasl_done - the exchange is over: back to commands, read on */
static void
smtpd_sasl_done(struct smtpd_session *s, int rc)
{
	free(s->sasl_challenge);
	s->sasl_challenge = NULL;
	if (rc != 0) {
		free(s->sasl_method);
		s->sasl_method = NULL;
	}
	smtpd_set_mode(s, SMTPD_MODE_CMD);
	smtpd_cmd_done(s, SMTPD_CMD_SLOT_AUTH, rc);
	smtpd_resume(s);
}

static void
smtpd_sasl_cb(struct auth_client_request *req, const struct auth_client_reply *r, void *ctx)
{
	struct smtpd_session *s = ctx;
	struct str reason;
	const char *why;

	if (r->result == AUTH_CLIENT_RESULT_CONTINUE) {
		free(s->sasl_challenge);
		s->sasl_challenge = xstrdup(r->challenge);
		smtpd_reply(s, "334 %s", r->challenge);
		smtpd_set_mode(s, SMTPD_MODE_AUTH);
		smtpd_resume(s);
		return;
	}
	s->auth_req = NULL;	/* freed by the client after this call */
	if (r->result == AUTH_CLIENT_RESULT_OK) {
		s->sasl_user = xstrdup(r->user != NULL ? r->user : "");
		smtpd_reply(s, "235 2.7.0 Authentication successful");
		smtpd_sasl_done(s, 0);
		return;
	}
	/* Postfix's text: the service's reason, else the last challenge (the
	 * "UGFzc3dvcmQ6" of failed LOGIN attempts), else "(reason unavailable)" */
	why = r->reason != NULL && r->reason[0] != '\0' ? r->reason :
	    r->result == AUTH_CLIENT_RESULT_ERROR ? SMTPD_SASL_LOST :
	    s->sasl_challenge != NULL && s->sasl_challenge[0] != '\0' ? s->sasl_challenge :
	    "(reason unavailable)";
	str_init(&reason, 128);
	log_printable(&reason, why, 200);
	if (r->user != NULL && r->user[0] != '\0') {
		str_append(&reason, ", sasl_username=");
		log_printable(&reason, r->user, 100);
	}
	log_warn("%s: SASL %s authentication failed: %s", s->namaddr, s->sasl_method, reason.s);
	str_reset(&reason);
	log_printable(&reason, why, 200);
	if (r->result == AUTH_CLIENT_RESULT_ERROR || r->temp)
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure: %s", reason.s);
	else
		smtpd_reply(s, "535 5.7.8 Error: authentication failed: %s", reason.s);
	str_deinit(&reason);
	smtpd_sasl_done(s, -1);
}

int
smtpd_sasl_cmd_auth(struct smtpd_session *s, const char *args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	struct auth_client_info info;
	const char *sp, *resp = NULL;
	char mech[64], *resp_buf = NULL;
	size_t mlen;

	if (cfg->helo_required && s->helo.len == 0) {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return -1;
	}
	if (!smtpd_sasl_active(s)) {
		smtpd_reply(s, "503 5.5.1 Error: authentication not enabled");
		return -1;
	}
	if (s->tx.active) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return -1;
	}
	if (s->sasl_user != NULL) {
		smtpd_reply(s, "503 5.5.1 Error: already authenticated");
		return -1;
	}
	/* "AUTH mechanism [initial-response]" */
	mlen = strcspn(args, " \t");
	sp = args + mlen + strspn(args + mlen, " \t");
	if (*sp != '\0') {
		size_t rlen = strcspn(sp, " \t");

		if (sp[rlen + strspn(sp + rlen, " \t")] != '\0') {
			smtpd_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
			return -1;
		}
		resp_buf = xstrndup(sp, rlen);
		resp = resp_buf;
	}
	if (mlen == 0 || mlen >= sizeof(mech)) {
		free(resp_buf);
		smtpd_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		return -1;
	}
	memcpy(mech, args, mlen);
	mech[mlen] = '\0';
	if (auth_client_mech_find(s->srv->auth, mech) == NULL) {
		size_t n;

		if (auth_client_mechs(s->srv->auth, &n) == NULL) {
			log_warn("%s: SASL %s authentication failed: %s", s->namaddr, mech,
			    SMTPD_SASL_LOST);
			smtpd_reply(s, "454 4.7.0 Temporary authentication failure: %s",
			    SMTPD_SASL_LOST);
			free(resp_buf);
			return -1;
		}
		free(resp_buf);
		smtpd_reply(s, "504 5.5.4 Unrecognized authentication type");
		return -1;
	}
	for (size_t i = 0; i < mlen; i++)
		if (mech[i] >= 'a' && mech[i] <= 'z')
			mech[i] = (char)(mech[i] - 'a' + 'A');
	if (resp != NULL && strcmp(resp, "=") == 0)
		resp = "";	/* RFC 4954: an empty initial response */
	memset(&info, 0, sizeof(info));
	info.mech = mech;
	info.service = "smtp";
	info.remote_ip = s->addr;
	info.local_ip = s->laddr[0] != '\0' ? s->laddr : NULL;
	info.remote_port = s->rport;
	info.local_port = s->lport;
	info.tls = s->tls;
	/* Dovecot's rule: TLS, or a peer on this host */
	info.secured = s->tls || (s->laddr[0] != '\0' && strcmp(s->addr, s->laddr) == 0);
	info.no_login = true;
	free(s->sasl_method);
	s->sasl_method = xstrdup(mech);
	smtpd_set_mode(s, SMTPD_MODE_AUTH_WAIT);
	s->auth_req = auth_client_request_new(s->srv->auth, &info, resp, smtpd_sasl_cb, s);
	free(resp_buf);
	return 1;	/* answered and counted by smtpd_sasl_cb */
}

void
smtpd_sasl_response(struct smtpd_session *s, const char *line, bool truncated)
{
	if (truncated) {
		smtpd_reply(s, "500 5.5.6 Authentication exchange line is too long");
		auth_client_request_abort(&s->auth_req);
		smtpd_sasl_done(s, -1);
		return;
	}
	if (strcmp(line, "*") == 0) {
		log_warn("%s: SASL %s authentication aborted", s->namaddr, s->sasl_method);
		auth_client_request_abort(&s->auth_req);
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		smtpd_sasl_done(s, -1);
		return;
	}
	smtpd_set_mode(s, SMTPD_MODE_AUTH_WAIT);
	auth_client_request_continue(s->auth_req, line);
}
