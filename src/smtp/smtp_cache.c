/* smtp_cache.c - the client's connection cache: a session that has just
 * delivered a message waits, idle, for the next delivery to the same
 * nexthop (smtp_connection_cache_time_limit, 2s by default), so that a
 * burst of mail to one destination pays for the connection, the greeting,
 * EHLO, TLS and AUTH once, as Postfix's scache does. A connection is
 * reused for at most smtp_connection_reuse_time_limit. While idle, any
 * server output, an end of file or an error closes it; the time limit
 * sends QUIT. A reused session that fails before its transaction starts
 * makes the delivery start over the usual way (smtp_delivery_next). */
#include "smtp/smtp-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/mem.h"

#define SMTP_CACHE_MAX	64

struct smtp_cached {
	char			*key;		/* owned: "smtp|nexthop" */
	struct bufferevent	*bev;		/* owned */
	struct event		*timer;		/* owned */
	struct smtp_target	 t;		/* owned copy */
	struct smtp_ehlo	 ehlo;
	bool			 tls_active;
	bool			 quitting;
	unsigned		 uses;
	double			 born;
	struct smtp_cached	*prev, *next;
};

static struct smtp_cached *cache;
static size_t ncache;

static double
smtp_cache_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static char *
smtp_cache_key(const struct smtp_delivery *d)
{
	return xasprintf("%s|%s", d->set->lmtp ? "lmtp" : "smtp", d->nexthop);
}

static void
smtp_cache_unlink(struct smtp_cached *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cache = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	ncache--;
}

static void
smtp_cache_free(struct smtp_cached *c, bool unlink)
{
	if (unlink)
		smtp_cache_unlink(c);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	free(c->t.host);
	free(c->t.path);
	free(c->key);
	free(c);
}

static void
smtp_cache_on_read(struct bufferevent *bev, void *arg)
{
	struct smtp_cached *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	/* a 221 to our QUIT, or a server closing an idle session (421) */
	evbuffer_drain(in, evbuffer_get_length(in));
	smtp_cache_free(c, true);
}

static void
smtp_cache_on_event(struct bufferevent *bev, short what, void *arg)
{
	smtp_cache_free(arg, true);
}

static void
smtp_cache_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_cached *c = arg;
	struct timeval tv = { 2, 0 };

	if (c->quitting) {
		smtp_cache_free(c, true);
		return;
	}
	/* idle too long: QUIT, and close on its reply or soon after */
	c->quitting = true;
	evbuffer_add(bufferevent_get_output(c->bev), "QUIT\r\n", 6);
	evtimer_add(c->timer, &tv);
}

bool
smtp_cache_put(struct smtp_delivery *d)
{
	const struct smtp_settings *s = d->set;
	struct smtp_cached *c;
	struct timeval tv = { s->cache_time_limit > 0 ? s->cache_time_limit : 1, 0 };

	if (!s->cache_on_demand || d->bev == NULL || ncache >= SMTP_CACHE_MAX ||
	    smtp_cache_now() - d->conn_born > (double)s->reuse_time_limit ||
	    evbuffer_get_length(bufferevent_get_input(d->bev)) > 0)
		return false;
	c = xcalloc(1, sizeof(*c));
	c->key = smtp_cache_key(d);
	c->bev = d->bev;
	c->t = d->t[d->cur];
	c->t.host = xstrdup(d->t[d->cur].host);
	c->t.path = d->t[d->cur].path != NULL ? xstrdup(d->t[d->cur].path) : NULL;
	c->ehlo = d->ehlo;
	c->tls_active = d->tls_active;
	c->uses = d->conn_use;
	c->born = d->conn_born;
	c->timer = evtimer_new(d->base, smtp_cache_on_timer, c);
	/* the delivery keeps its last reply for the outcome */
	smtp_session_detach(d);
	bufferevent_setcb(c->bev, smtp_cache_on_read, NULL, smtp_cache_on_event, c);
	bufferevent_enable(c->bev, EV_READ);
	evtimer_add(c->timer, &tv);
	c->next = cache;
	if (cache != NULL)
		cache->prev = c;
	cache = c;
	ncache++;
	return true;
}

bool
smtp_cache_take(struct smtp_delivery *d)
{
	struct smtp_cached *c;
	char *key;

	if (!d->set->cache_on_demand || ncache == 0)
		return false;
	key = smtp_cache_key(d);
	for (c = cache; c != NULL; c = c->next)
		if (!c->quitting && strcmp(c->key, key) == 0)
			break;
	free(key);
	if (c == NULL)
		return false;
	smtp_cache_unlink(c);
	d->t = xcalloc(1, sizeof(*d->t));
	d->t[0] = c->t;		/* host and path move to d */
	c->t.host = c->t.path = NULL;
	d->nt = 1;
	d->cur = 0;
	d->sessions = 1;
	d->bev = c->bev;
	c->bev = NULL;
	d->ehlo = c->ehlo;
	d->tls_active = c->tls_active;
	d->conn_born = c->born;
	d->conn_use = c->uses + 1;
	d->reused = true;
	d->t_conn = smtp_cache_now();
	smtp_session_attach(d);
	smtp_cache_free(c, false);
	return true;
}

void
smtp_cache_flush(void)
{
	while (cache != NULL)
		smtp_cache_free(cache, true);
}
