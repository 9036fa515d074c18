/* dns.c - the resolver: c-ares driven by a libevent loop, and the answer
 * cache. c-ares tells us which sockets it wants watched (the sock-state
 * callback); we watch them with events and call ares_process_fd, and one
 * timer follows ares_timeout() so that retries and timeouts happen with
 * no socket activity. Every result reaches the caller through an event of
 * its query, never from inside dns_lookup or c-ares. */
#include "dns/dns.h"

#include <ares.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/mem.h"

/* c-ares' per-try timeout and tries per server: a dead server costs a
 * lookup a few seconds, then the caller defers */
#define DNS_TIMEOUT_MS		2000
#define DNS_TRIES		2
#define DNS_CACHE_MAX		4096
#define DNS_NAME_MAX		255

struct dns_sock {
	ares_socket_t	 fd;
	struct event	*ev;		/* owned */
};

struct dns_cache_entry {
	char		*name;		/* owned, lower case */
	enum dns_type	 type;
	time_t		 expires;
	struct dns_result res;		/* owned */
};

struct dns_query {
	struct dns_resolver	*r;		/* borrowed, the owner */
	dns_callback_fn		*cb;		/* NULL: cancelled */
	void			*ctx;
	char			*name;		/* owned, lower case */
	enum dns_type		 type;
	struct event		*ev;		/* owned: delivers the result */
	struct dns_result	 res;		/* owned */
	bool			 in_ares;	/* c-ares still holds it */
	struct dns_query	*prev, *next;	/* the resolver's pending list */
};

struct dns_resolver {
	struct event_base	*base;		/* borrowed */
	ares_channel		 ch;
	struct event		*timer;		/* owned */
	struct dns_sock		*socks;		/* owned */
	size_t			 nsocks;
	struct dns_cache_entry	*cache;		/* owned */
	size_t			 ncache;
	struct dns_query	*pending;	/* owned list */
	bool			 destroying;
};

static int dns_library_refs;

static void dns_timer_update(struct dns_resolver *);

static void
dns_on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns_resolver *r = arg;

	ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_timer_update(r);
}

static void
dns_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_resolver *r = arg;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_timer_update(r);
}

/* dns_timer_update - wake up when c-ares next needs to retry or time out */
static void
dns_timer_update(struct dns_resolver *r)
{
	struct timeval tv, *tvp;

	if (r->destroying)
		return;
	tvp = ares_timeout(r->ch, NULL, &tv);
	if (tvp == NULL) {
		evtimer_del(r->timer);
		return;
	}
	evtimer_add(r->timer, tvp);
}

/* dns_sock_state - c-ares opened, changed or closed a socket */
static void
dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_resolver *r = data;
	size_t i;

	for (i = 0; i < r->nsocks; i++)
		if (r->socks[i].fd == fd)
			break;
	if (i < r->nsocks) {
		event_free(r->socks[i].ev);
		r->socks[i] = r->socks[--r->nsocks];
	}
	if (!readable && !writable)
		return;
	r->socks = xreallocarray(r->socks, r->nsocks + 1, sizeof(*r->socks));
	r->socks[r->nsocks].fd = fd;
	r->socks[r->nsocks].ev = event_new(r->base, fd,
	    (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0) | EV_PERSIST),
	    dns_on_sock, r);
	event_add(r->socks[r->nsocks].ev, NULL);
	r->nsocks++;
}

struct dns_resolver *
dns_resolver_new(struct event_base *base, const char *servers, const char **error_r)
{
	static char errbuf[160];
	struct dns_resolver *r;
	struct ares_options opt;
	int st;

	if (dns_library_refs++ == 0 && (st = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		dns_library_refs--;
		snprintf(errbuf, sizeof(errbuf), "c-ares: %s", ares_strerror(st));
		*error_r = errbuf;
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base = base;
	memset(&opt, 0, sizeof(opt));
	opt.sock_state_cb = dns_sock_state;
	opt.sock_state_cb_data = r;
	opt.timeout = DNS_TIMEOUT_MS;
	opt.tries = DNS_TRIES;
	/* no search list, no HOSTALIASES: a mail name is always absolute */
	opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	st = ares_init_options(&r->ch, &opt, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES | ARES_OPT_FLAGS);
	if (st != ARES_SUCCESS) {
		snprintf(errbuf, sizeof(errbuf), "c-ares: %s", ares_strerror(st));
		*error_r = errbuf;
		free(r);
		if (--dns_library_refs == 0)
			ares_library_cleanup();
		return NULL;
	}
	if (servers != NULL && servers[strspn(servers, " \t,")] != '\0') {
		char *csv = xstrdup(servers + strspn(servers, " \t,")), *p, *q;

		/* Postfix lists: commas and/or spaces; c-ares wants commas */
		for (p = q = csv; *p != '\0'; p++) {
			if (*p == ' ' || *p == '\t' || *p == ',') {
				if (q > csv && q[-1] != ',')
					*q++ = ',';
			} else {
				*q++ = *p;
			}
		}
		if (q > csv && q[-1] == ',')
			q--;
		*q = '\0';
		st = ares_set_servers_ports_csv(r->ch, csv);
		free(csv);
		if (st != ARES_SUCCESS) {
			snprintf(errbuf, sizeof(errbuf), "bad yubin_dns_servers value \"%.80s\": %s",
			    servers, ares_strerror(st));
			*error_r = errbuf;
			ares_destroy(r->ch);
			free(r);
			if (--dns_library_refs == 0)
				ares_library_cleanup();
			return NULL;
		}
	}
	r->timer = evtimer_new(base, dns_on_timer, r);
	return r;
}

static void
dns_query_unlink(struct dns_query *q)
{
	struct dns_resolver *r = q->r;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (r->pending == q)
		r->pending = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static void
dns_query_free(struct dns_query *q)
{
	dns_query_unlink(q);
	if (q->ev != NULL)
		event_free(q->ev);
	dns_result_deinit(&q->res);
	free(q->name);
	free(q);
}

void
dns_resolver_free(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;
	size_t i;

	if (r == NULL)
		return;
	*rp = NULL;
	for (struct dns_query *q = r->pending; q != NULL; q = q->next)
		q->cb = NULL;
	r->destroying = true;
	/* calls dns_on_answer with ARES_EDESTRUCTION for what it holds */
	ares_destroy(r->ch);
	while (r->pending != NULL)
		dns_query_free(r->pending);
	for (i = 0; i < r->nsocks; i++)
		event_free(r->socks[i].ev);
	free(r->socks);
	event_free(r->timer);
	for (i = 0; i < r->ncache; i++) {
		free(r->cache[i].name);
		dns_result_deinit(&r->cache[i].res);
	}
	free(r->cache);
	free(r);
	if (--dns_library_refs == 0)
		ares_library_cleanup();
}

/* dns_cache_find - a live cache entry, or NULL (expired ones go) */
static struct dns_cache_entry *
dns_cache_find(struct dns_resolver *r, const char *name, enum dns_type type)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < r->ncache; i++) {
		struct dns_cache_entry *e = &r->cache[i];

		if (e->type != type || strcmp(e->name, name) != 0)
			continue;
		if (e->expires > now)
			return e;
		free(e->name);
		dns_result_deinit(&e->res);
		r->cache[i] = r->cache[--r->ncache];
		return NULL;
	}
	return NULL;
}

static void
dns_cache_put(struct dns_resolver *r, const char *name, enum dns_type type,
    const struct dns_result *res)
{
	time_t now = time(NULL);
	struct dns_cache_entry *e;
	size_t i;

	if (res->status == DNS_TEMPFAIL || res->ttl == 0)
		return;
	if (dns_cache_find(r, name, type) != NULL)
		return;
	if (r->ncache >= DNS_CACHE_MAX) {
		/* drop the expired, then (still full) the soonest to expire */
		size_t soonest = 0;

		for (i = 0; i < r->ncache;) {
			if (r->cache[i].expires <= now) {
				free(r->cache[i].name);
				dns_result_deinit(&r->cache[i].res);
				r->cache[i] = r->cache[--r->ncache];
				continue;
			}
			if (r->cache[i].expires < r->cache[soonest].expires)
				soonest = i;
			i++;
		}
		if (r->ncache >= DNS_CACHE_MAX) {
			free(r->cache[soonest].name);
			dns_result_deinit(&r->cache[soonest].res);
			r->cache[soonest] = r->cache[--r->ncache];
		}
	}
	r->cache = xreallocarray(r->cache, r->ncache + 1, sizeof(*r->cache));
	e = &r->cache[r->ncache++];
	e->name = xstrdup(name);
	e->type = type;
	e->expires = now + (time_t)res->ttl;
	dns_result_copy(&e->res, res);
}

size_t
dns_cache_entries(const struct dns_resolver *r)
{
	return r->ncache;
}

/* dns_deliver - the query's event: hand the result over, then forget it */
static void
dns_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	if (q->cb != NULL)
		q->cb(&q->res, q->ctx);
	dns_query_free(q);
}

static int
dns_class_type(enum dns_type t)
{
	switch (t) {
	case DNS_T_A: return 1;		/* ns_t_a */
	case DNS_T_AAAA: return 28;
	case DNS_T_MX: return 15;
	case DNS_T_TXT: return 16;
	case DNS_T_PTR: return 12;
	}
	return 1;
}

/* dns_on_answer - c-ares' callback */
static void
dns_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct dns_resolver *r = q->r;

	q->in_ares = false;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || r->destroying) {
		q->cb = NULL;
		return;		/* dns_resolver_free frees the query */
	}
	if (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND) {
		dns_answer_convert(q->type, abuf, abuf != NULL && alen > 0 ? (size_t)alen : 0,
		    &q->res);
		if (status == ARES_ENOTFOUND && q->res.status != DNS_TEMPFAIL) {
			dns_result_deinit(&q->res);
			q->res.status = DNS_NOTFOUND;
			snprintf(q->res.error, sizeof(q->res.error), "Host not found");
		} else if (status == ARES_ENODATA && q->res.status == DNS_OK) {
			/* c-ares saw no answer of the type; trust it */
			dns_result_deinit(&q->res);
			q->res.status = DNS_NOTFOUND;
			snprintf(q->res.error, sizeof(q->res.error), "No %s record",
			    dns_type_name(q->type));
		} else if (abuf == NULL && status != ARES_SUCCESS) {
			/* no answer bytes to take a TTL from: do not cache */
			q->res.status = DNS_NOTFOUND;
			q->res.ttl = 0;
			snprintf(q->res.error, sizeof(q->res.error), "%s",
			    status == ARES_ENOTFOUND ? "Host not found" : "No address");
		}
	} else {
		memset(&q->res, 0, sizeof(q->res));
		q->res.type = q->type;
		q->res.status = DNS_TEMPFAIL;
		snprintf(q->res.error, sizeof(q->res.error), "Host not found, try again (%s)",
		    ares_strerror(status));
	}
	q->res.type = q->type;
	dns_cache_put(r, q->name, q->type, &q->res);
	event_active(q->ev, EV_TIMEOUT, 0);
}

struct dns_query *
dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
    dns_callback_fn *cb, void *ctx)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));
	struct dns_cache_entry *e;
	size_t i, len = strlen(name);

	q->r = r;
	q->cb = cb;
	q->ctx = ctx;
	q->type = type;
	/* lower case, without the root dot */
	if (len > 0 && name[len - 1] == '.')
		len--;
	q->name = xstrndup(name, len);
	for (i = 0; q->name[i] != '\0'; i++)
		if (q->name[i] >= 'A' && q->name[i] <= 'Z')
			q->name[i] = (char)(q->name[i] - 'A' + 'a');
	q->ev = event_new(r->base, -1, 0, dns_deliver, q);
	q->next = r->pending;
	if (r->pending != NULL)
		r->pending->prev = q;
	r->pending = q;
	if (len == 0 || len > DNS_NAME_MAX || strspn(q->name, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789-._") != len) {
		/* not a name a resolver can be asked for: not found */
		q->res.type = type;
		q->res.status = DNS_NOTFOUND;
		snprintf(q->res.error, sizeof(q->res.error), "Invalid host or domain name");
		event_active(q->ev, EV_TIMEOUT, 0);
		return q;
	}
	if ((e = dns_cache_find(r, q->name, type)) != NULL) {
		dns_result_copy(&q->res, &e->res);
		event_active(q->ev, EV_TIMEOUT, 0);
		return q;
	}
	q->in_ares = true;
	ares_query(r->ch, q->name, 1 /* C_IN */, dns_class_type(type), dns_on_answer, q);
	dns_timer_update(r);
	return q;
}

void
dns_cancel(struct dns_query **qp)
{
	struct dns_query *q = *qp;

	if (q == NULL)
		return;
	*qp = NULL;
	q->cb = NULL;
	/* c-ares still holds it: its callback (or the resolver's end)
	 * comes back to a query without a callback and frees it then */
	if (!q->in_ares)
		dns_query_free(q);
}
