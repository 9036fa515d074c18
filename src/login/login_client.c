/* login_client.c - see login_client.h. */
#include "login/login_client.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
