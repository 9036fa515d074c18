/* smtp_helper.c - the smtp/lmtp client process and the queue manager's
 * side of it (smtp.h). The queue manager forks the process once, with n
 * slots (socketpairs); it sends a request on an idle slot and waits for
 * that slot to become readable. The process runs one libevent loop: the
 * resolver, and every delivery's session. A delivery's outcome goes back
 * on its slot as soon as it is known (the QUIT that follows a delivered
 * message does not hold the slot). */
#include "smtp/smtp-private.h"
#include "smtp/smtp.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "master/skeleton.h"
#include "queue/qmsg.h"

#define SMTP_REQ_MAX	8192

/* The reply on a slot. */
struct smtp_helper_reply {
	int			status;
	struct transport_dsn	dsn;
};

/* ---- the client process ---------------------------------------------- */

struct smtp_srv_slot {
	struct smtp_srv		*srv;		/* borrowed */
	int			 fd;
	struct event		*ev;		/* owned */
	struct smtp_delivery	*d;		/* borrowed: the delivery it waits for */
};

struct smtp_srv {
	struct event_base	*base;
	struct dns_resolver	*dns;
	struct smtp_settings	 smtp, lmtp;
	bool			 lmtp_ok;
	struct smtp_srv_slot	*slots;
	size_t			 n, open;
	size_t			 live;		/* deliveries not yet released */
};

static double
smtp_helper_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void
smtp_slot_reply(struct smtp_srv_slot *sl, enum transport_status st,
    const struct transport_dsn *dsn)
{
	struct smtp_helper_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.status = (int)st;
	rep.dsn = *dsn;
	if (sl->fd >= 0 && send(sl->fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
		log_warn("smtp: reply to the queue manager: %s", strerror(errno));
}

/* smtp_report - the outcome to the queue manager; the slot is free again */
static void
smtp_report(struct smtp_delivery *d)
{
	struct smtp_srv_slot *sl = d->owner;

	if (d->t_conn > 0)
		d->dsn.conn_setup = d->t_conn - d->t_start;
	d->dsn.conn_use = d->conn_use;
	if (sl != NULL) {
		smtp_slot_reply(sl, d->status, &d->dsn);
		sl->d = NULL;
		d->owner = NULL;
	}
}

static void
smtp_delivery_free(struct smtp_delivery *d)
{
	size_t i;

	smtp_addr_cancel(d);
	smtp_session_close(d);
	if (d->timer != NULL)
		event_free(d->timer);
	for (i = 0; i < d->nt; i++) {
		free(d->t[i].host);
		free(d->t[i].path);
	}
	free(d->t);
	free(d->queue_id);
	free(d->sender);
	free(d->rcpt);
	free(d->nexthop);
	free(d->dsn_ret);
	free(d->dsn_envid);
	smtp_nexthop_deinit(&d->nh);
	str_deinit(&d->content);
	smtp_reply_deinit(&d->reply);
	str_deinit(&d->rcpt_error);
	if (d->sasl_pass != NULL)
		explicit_bzero(d->sasl_pass, strlen(d->sasl_pass));
	free(d->sasl_user);
	free(d->sasl_pass);
	free(d);
}

static struct smtp_srv *smtp_the_srv;

static void
smtp_release_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_delivery *d = arg;

	smtp_delivery_free(d);
	if (smtp_the_srv != NULL) {
		smtp_the_srv->live--;
		if (smtp_the_srv->open == 0 && smtp_the_srv->live == 0)
			event_base_loopbreak(smtp_the_srv->base);
	}
}

void
smtp_delivery_result(struct smtp_delivery *d, enum transport_status st, const char *status,
    const char *relay, const char *reason)
{
	struct timeval zero = { 0, 0 };

	if (!d->finished) {
		d->finished = true;
		d->status = st;
		transport_dsn_set(&d->dsn, status, relay, reason);
		/* the reply's own detail code wins when its class agrees */
		if (strlen(status) < sizeof(d->dsn.status))
			snprintf(d->dsn.status, sizeof(d->dsn.status), "%s", status);
		d->report(d);
	}
	if (smtp_session_quitting(d))
		return;		/* the session ends with QUIT; released after it */
	smtp_session_close(d);
	smtp_addr_cancel(d);
	if (!d->released) {
		d->released = true;
		event_base_once(d->base, -1, EV_TIMEOUT, smtp_release_cb, d, &zero);
	}
}

void
smtp_delivery_next(struct smtp_delivery *d, const char *status, const char *reason)
{
	char relay[TRANSPORT_RELAY_SIZE];

	smtp_relay_name(d, relay, sizeof(relay));
	transport_dsn_set(&d->soft, status, relay, reason);
	snprintf(d->soft.status, sizeof(d->soft.status), "%s", status);
	d->have_soft = true;
	log_info("%s: %s", d->queue_id, reason);
	smtp_session_close(d);
	if (d->reused) {
		/* a cached connection that failed: the usual way, from the
		 * start (the server may have closed it meanwhile) */
		size_t i;

		d->reused = false;
		d->have_soft = false;
		for (i = 0; i < d->nt; i++) {
			free(d->t[i].host);
			free(d->t[i].path);
		}
		XFREE(d->t);
		d->nt = d->cur = d->sessions = 0;
		d->t_conn = 0;
		d->conn_use = 0;
		smtp_addr_resolve(d);
		return;
	}
	d->cur++;
	d->no_tls = false;
	smtp_session_begin(d);
}

static bool
smtp_has_8bit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* smtp_srv_request - one request arrived on a slot */
static void
smtp_srv_request(struct smtp_srv_slot *sl, const char *buf, size_t n)
{
	struct smtp_srv *srv = sl->srv;
	const char *f[6], *p = buf, *end = buf + n, *err;
	struct transport_dsn dsn;
	struct smtp_delivery *d;
	struct qmsg *m = NULL;
	size_t k, idx;
	bool lmtp;

	for (k = 0; k < 6 && p < end; k++) {
		f[k] = p;
		p += strnlen(p, (size_t)(end - p)) + 1;
	}
	if (k != 6 || p > end || sl->d != NULL) {
		transport_dsn_set(&dsn, "4.3.0", "none", "malformed delivery request");
		smtp_slot_reply(sl, TRANSPORT_DEFERRED, &dsn);
		return;
	}
	lmtp = strcmp(f[4], "lmtp") == 0;
	if (qmsg_open(f[0], false, &m, &err) != 0 || (idx = (size_t)atol(f[1])) >= m->nrcpts) {
		qmsg_free(&m);
		transport_dsn_set(&dsn, "4.3.0", "none", "cannot read the queue file");
		smtp_slot_reply(sl, TRANSPORT_DEFERRED, &dsn);
		return;
	}
	if (lmtp && !srv->lmtp_ok) {
		qmsg_free(&m);
		transport_dsn_set(&dsn, "4.3.5", "none", "mail system configuration error");
		smtp_slot_reply(sl, TRANSPORT_DEFERRED, &dsn);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->set = lmtp ? &srv->lmtp : &srv->smtp;
	d->base = srv->base;
	d->dns = srv->dns;
	d->queue_id = xstrdup(m->id);
	d->sender = xstrdup(m->sender);
	d->rcpt = xstrdup(*f[5] != '\0' ? f[5] : m->rcpts[idx].addr);
	d->nexthop = xstrdup(f[3]);
	d->notify = m->rcpts[idx].notify;
	if (qmsg_attr(m, "dsn_ret") != NULL)
		d->dsn_ret = xstrdup(qmsg_attr(m, "dsn_ret"));
	if (qmsg_attr(m, "dsn_envid") != NULL)
		d->dsn_envid = xstrdup(qmsg_attr(m, "dsn_envid"));
	str_init(&d->content, m->size + 16);
	qmsg_content(m, &d->content);
	qmsg_free(&m);
	d->eightbit = smtp_has_8bit(d->content.s, d->content.len);
	d->utf8 = smtp_has_8bit(d->sender, strlen(d->sender)) ||
	    smtp_has_8bit(d->rcpt, strlen(d->rcpt));
	smtp_reply_init(&d->reply);
	str_init(&d->rcpt_error, 128);
	d->report = smtp_report;
	d->owner = sl;
	d->t_start = smtp_helper_now();
	sl->d = d;
	srv->live++;
	smtp_session_init(d);
	if (smtp_nexthop_parse(d->nexthop, lmtp, d->set->port, &d->nh, &err) != 0) {
		char why[TRANSPORT_DSN_TEXT_SIZE];

		snprintf(why, sizeof(why), "bad nexthop \"%s\": %s", d->nexthop, err);
		smtp_delivery_result(d, TRANSPORT_DEFERRED, "4.3.5", "none", why);
		return;
	}
	if (smtp_cache_take(d))
		smtp_session_mail(d);
	else
		smtp_addr_resolve(d);
}

static void
smtp_srv_on_slot(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_srv_slot *sl = arg;
	struct smtp_srv *srv = sl->srv;
	char buf[SMTP_REQ_MAX];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* the queue manager went away: no one to report to */
		event_free(sl->ev);
		sl->ev = NULL;
		close(sl->fd);
		sl->fd = -1;
		if (sl->d != NULL) {
			sl->d->owner = NULL;
			sl->d = NULL;
		}
		if (--srv->open == 0 && srv->live == 0)
			event_base_loopbreak(srv->base);
		return;
	}
	smtp_srv_request(sl, buf, (size_t)n);
}

static void
smtp_srv_run(struct maincf *cf, int *fds, size_t n)
{
	struct smtp_srv srv;
	struct str servers;
	const char *err;
	size_t i;

	memset(&srv, 0, sizeof(srv));
	smtp_the_srv = &srv;
	srv.base = event_base_new();
	str_init(&servers, 64);
	(void)maincf_get(cf, "yubin_dns_servers", &servers, &err);
	if ((srv.dns = dns_resolver_new(srv.base, servers.s, &err)) == NULL)
		log_error("smtp: %s; using the system's resolver", err);
	if (srv.dns == NULL && (srv.dns = dns_resolver_new(srv.base, NULL, &err)) == NULL)
		fatal("smtp: %s", err);
	str_deinit(&servers);
	if (smtp_settings_load(&srv.smtp, cf, false, &err) != 0) {
		log_error("%s", err);
		/* every delivery defers with a configuration error */
		memset(&srv.smtp, 0, sizeof(srv.smtp));
		strvec_init(&srv.smtp.own_addrs);
	}
	srv.lmtp_ok = smtp_settings_load(&srv.lmtp, cf, true, &err) == 0;
	if (!srv.lmtp_ok) {
		log_error("%s", err);
		memset(&srv.lmtp, 0, sizeof(srv.lmtp));
		strvec_init(&srv.lmtp.own_addrs);
	}
	srv.slots = xcalloc(n, sizeof(*srv.slots));
	srv.n = n;
	for (i = 0; i < n; i++) {
		srv.slots[i].srv = &srv;
		srv.slots[i].fd = fds[i];
		srv.slots[i].ev = event_new(srv.base, fds[i], EV_READ | EV_PERSIST,
		    smtp_srv_on_slot, &srv.slots[i]);
		event_add(srv.slots[i].ev, NULL);
	}
	srv.open = n;
	event_base_dispatch(srv.base);
	for (i = 0; i < n; i++) {
		if (srv.slots[i].ev != NULL)
			event_free(srv.slots[i].ev);
		if (srv.slots[i].fd >= 0)
			close(srv.slots[i].fd);
	}
	free(srv.slots);
	smtp_cache_flush();
	dns_resolver_free(&srv.dns);
	smtp_settings_deinit(&srv.smtp);
	smtp_settings_deinit(&srv.lmtp);
	event_base_free(srv.base);
	smtp_the_srv = NULL;
}

/* ---- the queue manager's side ----------------------------------------- */

struct smtp_slot {
	int	 fd;		/* the queue manager's end; -1: gone */
	bool	 busy;
};

static struct smtp_slot *slots;
static size_t nslots;
static pid_t helper_pid;

size_t
smtp_helper_agents(void)
{
	return nslots;
}

int
smtp_helper_start(struct maincf *cf, const struct skeleton *sk, size_t n, const char **error_r)
{
	int *child_fds, sv[2];
	size_t i;

	if (n == 0)
		n = 1;
	slots = xcalloc(n, sizeof(*slots));
	child_fds = xcalloc(n, sizeof(*child_fds));
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
			*error_r = "smtp client: socketpair failed";
			while (i-- > 0) {
				close(slots[i].fd);
				close(child_fds[i]);
			}
			free(child_fds);
			XFREE(slots);
			return -1;
		}
		slots[i].fd = sv[0];
		child_fds[i] = sv[1];
	}
	if ((helper_pid = fork()) < 0) {
		*error_r = "smtp client: fork failed";
		for (i = 0; i < n; i++) {
			close(slots[i].fd);
			close(child_fds[i]);
		}
		free(child_fds);
		XFREE(slots);
		return -1;
	}
	if (helper_pid == 0) {
		sigset_t none;

		for (i = 0; i < n; i++)
			close(slots[i].fd);
		free(slots);
		slots = NULL;
		/* the queue manager's stop is its own: we finish what is in
		 * hand and leave when every slot is closed */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (sk != NULL)
			skeleton_log_as(sk, "smtp");
		smtp_srv_run(cf, child_fds, n);
		free(child_fds);
		_exit(0);
	}
	for (i = 0; i < n; i++)
		close(child_fds[i]);
	free(child_fds);
	nslots = n;
	return 0;
}

void
smtp_helper_stop(void)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		if (slots[i].fd >= 0)
			close(slots[i].fd);
	XFREE(slots);
	nslots = 0;
}

static int
smtp_submit(const struct transport_request *req, const char *kind, int *agent_r, int *fd_r)
{
	struct smtp_slot *sl = NULL;
	struct str msg;
	ssize_t n;
	size_t k;

	for (k = 0; k < nslots && sl == NULL; k++)
		if (!slots[k].busy && slots[k].fd >= 0)
			sl = &slots[k];
	if (sl == NULL)
		return -1;
	str_init(&msg, 256);
	str_append(&msg, req->msg->path);
	str_append_c(&msg, '\0');
	str_appendf(&msg, "%zu", req->rcpt);
	str_append_c(&msg, '\0');
	str_append(&msg, req->service != NULL ? req->service : "");
	str_append_c(&msg, '\0');
	str_append(&msg, req->nexthop != NULL ? req->nexthop : "");
	str_append_c(&msg, '\0');
	str_append(&msg, kind);
	str_append_c(&msg, '\0');
	/* the address to deliver to when local(8) passed a user on */
	str_append(&msg, req->addr != NULL ? req->addr : "");
	str_append_c(&msg, '\0');
	if (msg.len > SMTP_REQ_MAX) {
		str_deinit(&msg);
		return -1;
	}
	n = send(sl->fd, msg.s, msg.len, MSG_NOSIGNAL);
	str_deinit(&msg);
	if (n < 0) {
		log_error("smtp client pid %ld: %s", (long)helper_pid, strerror(errno));
		close(sl->fd);
		sl->fd = -1;
		return -1;
	}
	sl->busy = true;
	*agent_r = (int)(sl - slots);
	*fd_r = sl->fd;
	return 0;
}

int
smtp_transport_start(const struct transport_request *req, int *agent_r, int *fd_r)
{
	return smtp_submit(req, "smtp", agent_r, fd_r);
}

int
lmtp_transport_start(const struct transport_request *req, int *agent_r, int *fd_r)
{
	return smtp_submit(req, "lmtp", agent_r, fd_r);
}

enum transport_status
smtp_transport_finish(int agent, const struct transport_request *req,
    struct transport_dsn *dsn)
{
	struct smtp_slot *sl = &slots[agent];
	struct smtp_helper_reply rep;
	ssize_t n;

	do
		n = recv(sl->fd, &rep, sizeof(rep), 0);
	while (n < 0 && errno == EINTR);
	sl->busy = false;
	if (n != (ssize_t)sizeof(rep)) {
		if (n <= 0) {
			log_error("smtp client pid %ld went away", (long)helper_pid);
			close(sl->fd);
			sl->fd = -1;
		}
		transport_dsn_set(dsn, "4.3.0", "none", "delivery agent unavailable");
		return TRANSPORT_DEFERRED;
	}
	*dsn = rep.dsn;
	dsn->status[sizeof(dsn->status) - 1] = '\0';
	dsn->reason[sizeof(dsn->reason) - 1] = '\0';
	dsn->relay[sizeof(dsn->relay) - 1] = '\0';
	return rep.status == TRANSPORT_SENT ? TRANSPORT_SENT : rep.status == TRANSPORT_BOUNCED ?
	    TRANSPORT_BOUNCED : TRANSPORT_DEFERRED;
}

enum transport_status
smtp_transport_deliver(const struct transport_request *req, struct transport_dsn *dsn)
{
	/* only when the client process could not be started */
	transport_dsn_set(dsn, "4.3.0", "none", "mail transport unavailable");
	return TRANSPORT_DEFERRED;
}
