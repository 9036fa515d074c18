/* local_helper.c - the privileged side of local delivery. The queue
 * manager drops to mail_owner, but local(8) and virtual(8) must become
 * each recipient, which takes root. So, before it drops privileges, the
 * queue manager forks a pool of these helpers, which stay root and do
 * nothing but deliveries: each reads one (queue file, recipient) request
 * at a time from its socketpair, runs the same transport code (whose
 * children become the users), and sends back the status and the
 * per-delivery lines. The queue manager keeps several helpers busy at
 * once (qmgr.c: its event loop waits on their sockets), which is what
 * makes local deliveries concurrent, as Postfix's pool of local(8)
 * processes. Forwarded addresses
 * are written into the queue by a child that has become mail_owner, so
 * every queue file stays mail_owner's. A helper exits when the queue
 * manager goes away (end of file on its socket).
 * Tests: tests/e2e/test_local_delivery.py (mail_owner = postfix) */
#include "local/local-private.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "queue/qmsg.h"

#define LOCAL_HELPER_MSG_MAX	(256 * 1024)
#define LOCAL_HELPER_LINES_MAX	1000

/* The pool, in the queue manager: one socketpair end and a count of requests out
 * per helper. Each helper serves one request at a time, so a request is
 * only sent to an idle helper and the next datagram on its socket is that
 * request's reply. */
struct local_helper_agent {
	int	 fd;		/* the queue manager's end */
	pid_t	 pid;
	size_t	 pending;	/* requests out whose replies are not yet read */
	bool	 dead;		/* went away: answers its pending requests with
				 * deferrals, then its fd is closed */
};
static struct local_helper_agent *helpers;
static size_t nhelpers;

/* One reply: the summary, then nlines of (line header, "to" bytes). */
struct local_helper_reply {
	int			status;
	struct transport_dsn	dsn;
	unsigned		nlines;
};

struct local_helper_line {
	int			status;
	struct transport_dsn	dsn;
	unsigned		tolen;
};

bool
local_helper_active(void)
{
	return nhelpers > 0;
}

size_t
local_helper_agents(void)
{
	return nhelpers;
}

/* One request of a batch, in the helper. */
struct local_helper_item {
	const char		*f[6];	/* path, rcpt index, service, nexthop, addr, kind */
	struct qmsg		*m;	/* owned; NULL: unreadable */
	struct transport_request req;
	struct transport_lines	 lines;
	struct local_helper_reply hdr;
	struct local_prep	 prep;
	bool			 prepared;	/* local, expanded: prep is live */
	bool			 answered;	/* hdr holds the outcome already */
};

/* local_helper_reply_send - one request's reply: the summary and its lines */
static int
local_helper_reply_send(int fd, struct str *reply, struct local_helper_reply *hdr,
    const struct transport_lines *lines)
{
	size_t i;

	str_reset(reply);
	hdr->nlines = (unsigned)(lines->n < LOCAL_HELPER_LINES_MAX ? lines->n :
	    LOCAL_HELPER_LINES_MAX);
	str_append_n(reply, hdr, sizeof(*hdr));
	for (i = 0; i < hdr->nlines; i++) {
		struct local_helper_line l;

		memset(&l, 0, sizeof(l));
		l.status = (int)lines->v[i].status;
		l.dsn = lines->v[i].dsn;
		l.tolen = (unsigned)strnlen(lines->v[i].to, 1000);
		str_append_n(reply, &l, sizeof(l));
		str_append_n(reply, lines->v[i].to, l.tolen);
	}
	if (reply->len > LOCAL_HELPER_MSG_MAX) {
		/* too many lines to tell: the summary alone */
		((struct local_helper_reply *)(void *)reply->s)->nlines = 0;
		str_truncate(reply, sizeof(*hdr));
	}
	return send(fd, reply->s, reply->len, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* local_helper_batch - the mailbox deliveries of a batch that go to the
 * same user's same Maildir or mbox, each group stored by one child with
 * one fsync (local_exec_mailbox_batch) */
static void
local_helper_batch(struct local_helper_item *items, size_t n)
{
	struct local_prep **group = xcalloc(n, sizeof(*group));
	bool *taken = xcalloc(n, sizeof(*taken));
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		const struct local_item *a, *b;

		if (taken[i] || !items[i].prepared || items[i].prep.batch_item < 0)
			continue;
		a = &items[i].prep.plan.v[items[i].prep.batch_item];
		k = 0;
		group[k++] = &items[i].prep;
		for (j = i + 1; j < n; j++) {
			if (taken[j] || !items[j].prepared || items[j].prep.batch_item < 0)
				continue;
			b = &items[j].prep.plan.v[items[j].prep.batch_item];
			if (a->user.uid == b->user.uid && a->user.gid == b->user.gid &&
			    strcmp(a->target, b->target) == 0) {
				group[k++] = &items[j].prep;
				taken[j] = true;
			}
		}
		/* one message alone gains nothing from a batch: local_run
		 * stores it the usual way */
		if (k > 1)
			local_exec_mailbox_batch(group, k);
	}
	free(taken);
	free(group);
}

/* local_helper_serve - the helper's loop: one datagram holds one request
 * or a batch of them (6 fields each); one reply datagram per request, in
 * their order */
static void
local_helper_serve(int fd, struct maincf *cf)
{
	char *buf = xmalloc(LOCAL_HELPER_MSG_MAX);
	struct local_helper_item *items = xcalloc(LOCAL_BATCH_MAX, sizeof(*items));
	struct str reply;
	ssize_t n;

	str_init(&reply, 4096);
	for (;;) {
		const char *p, *end, *err;
		size_t k, i, nitems;
		bool gone = false;

		n = recv(fd, buf, LOCAL_HELPER_MSG_MAX - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf[n] = '\0';
		memset(items, 0, LOCAL_BATCH_MAX * sizeof(*items));
		for (nitems = 0, p = buf, end = buf + n; nitems < LOCAL_BATCH_MAX && p < end;
		    nitems++)
			for (k = 0; k < 6; k++) {
				items[nitems].f[k] = p < end ? p : NULL;
				if (p < end)
					p += strlen(p) + 1;
			}
		if (nitems == 0)
			nitems = 1;	/* an empty request still gets its reply */
		/* one passwd lookup per user for the whole batch */
		local_user_cache_begin();
		for (i = 0; i < nitems; i++) {
			struct local_helper_item *it = &items[i];

			if (it->f[5] == NULL || qmsg_open(it->f[0], false, &it->m, &err) != 0) {
				it->m = NULL;
				transport_dsn_set(&it->hdr.dsn, "4.3.0", "local",
				    "cannot read the queue file");
				it->hdr.status = TRANSPORT_DEFERRED;
				it->answered = true;
				continue;
			}
			if ((size_t)atol(it->f[1]) >= it->m->nrcpts) {
				transport_dsn_set(&it->hdr.dsn, "4.3.0", "local", "no such recipient");
				it->hdr.status = TRANSPORT_DEFERRED;
				it->answered = true;
				qmsg_free(&it->m);
				continue;
			}
			it->req.msg = it->m;
			it->req.rcpt = (size_t)atol(it->f[1]);
			it->req.service = it->f[2];
			it->req.nexthop = it->f[3];
			it->req.addr = *it->f[4] != '\0' ? it->f[4] : NULL;
			it->req.cf = cf;
			it->req.lines = &it->lines;
			if (strcmp(it->f[5], "virtual") == 0 || it->req.addr != NULL)
				continue;
			if (local_prepare(&it->req, &it->prep, &it->hdr.dsn) != 0) {
				it->hdr.status = TRANSPORT_DEFERRED;
				it->answered = true;
				local_prep_deinit(&it->prep);
				continue;
			}
			it->prepared = true;
		}
		local_user_cache_end();
		if (nitems > 1)
			local_helper_batch(items, nitems);
		for (i = 0; i < nitems; i++) {
			struct local_helper_item *it = &items[i];

			if (!it->answered) {
				if (it->prepared) {
					it->hdr.status = (int)local_run(&it->req, &it->prep,
					    &it->hdr.dsn);
					/* tells the queue manager to batch this
					 * recipient's next messages */
					it->hdr.dsn.batchable = it->prep.batch_item >= 0;
				} else
					it->hdr.status = (int)(strcmp(it->f[5], "virtual") == 0 ?
					    virtual_transport_deliver(&it->req, &it->hdr.dsn) :
					    local_transport_deliver(&it->req, &it->hdr.dsn));
			}
			if (!gone && local_helper_reply_send(fd, &reply, &it->hdr, &it->lines) != 0)
				gone = true;
			if (it->prepared)
				local_prep_deinit(&it->prep);
			transport_lines_deinit(&it->lines);
			qmsg_free(&it->m);
		}
		if (gone)
			break;
	}
	str_deinit(&reply);
	free(items);
	free(buf);
}

/* local_helper_fork - one helper; 0, or -1 with *error_r */
static int
local_helper_fork(struct maincf *cf, struct local_helper_agent *h, const char **error_r)
{
	int sv[2], size = LOCAL_HELPER_MSG_MAX + 4096;
	size_t k;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		*error_r = "local delivery helper: socketpair failed";
		return -1;
	}
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if ((h->pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		*error_r = "local delivery helper: fork failed";
		return -1;
	}
	if (h->pid == 0) {
		sigset_t none;

		close(sv[0]);
		/* the queue manager's ends of the helpers forked before this
		 * one: held here, they would keep those helpers from ever
		 * seeing end of file */
		for (k = 0; k < nhelpers; k++)
			close(helpers[k].fd);
		free(helpers);
		helpers = NULL;
		nhelpers = 0;
		/* the queue manager's stop signals are its own: the helper
		 * finishes the delivery in hand and leaves at end of file */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		local_helper_serve(sv[1], cf);
		_exit(0);
	}
	close(sv[1]);
	h->fd = sv[0];
	h->pending = 0;
	h->dead = false;
	return 0;
}

int
local_helper_start(struct maincf *cf, size_t n, const char **error_r)
{
	if (n == 0)
		n = 1;
	helpers = xcalloc(n, sizeof(*helpers));
	while (nhelpers < n) {
		if (local_helper_fork(cf, &helpers[nhelpers], error_r) != 0)
			return nhelpers > 0 ? 0 : -1;	/* fewer helpers still work */
		nhelpers++;
	}
	return 0;
}

/* local_helper_submit - send up to *n_r requests (a batch for one
 * destination) to an idle helper: 0 with the helper's index, the
 * descriptor to wait on (one reply per request, in order) and in *n_r the
 * number sent (the first ones, as many as fit in one datagram, at least
 * one); -1 when every helper is busy (or the send failed: the helper is
 * gone) */
static int
local_helper_submit(const struct transport_request *const *reqs, size_t *n_r, bool is_virtual,
    int *agent_r, int *fd_r)
{
	struct local_helper_agent *h = NULL;
	struct str msg;
	ssize_t sent;
	size_t k, n = *n_r, taken = 0;

	for (k = 0; k < nhelpers && h == NULL; k++)
		if (helpers[k].pending == 0 && !helpers[k].dead && helpers[k].fd >= 0)
			h = &helpers[k];
	if (h == NULL || n == 0)
		return -1;
	str_init(&msg, 256 * n);
	for (k = 0; k < n; k++) {
		const struct transport_request *req = reqs[k];
		size_t before = msg.len;

		str_appendf(&msg, "%s", req->msg->path);
		str_append_c(&msg, '\0');
		str_appendf(&msg, "%zu", req->rcpt);
		str_append_c(&msg, '\0');
		str_append(&msg, req->service != NULL ? req->service : "");
		str_append_c(&msg, '\0');
		str_append(&msg, req->nexthop != NULL ? req->nexthop : "");
		str_append_c(&msg, '\0');
		str_append(&msg, req->addr != NULL ? req->addr : "");
		str_append_c(&msg, '\0');
		str_append(&msg, is_virtual ? "virtual" : "local");
		str_append_c(&msg, '\0');
		if (msg.len > LOCAL_HELPER_MSG_MAX - 1 && k > 0) {
			/* the rest goes in a later batch */
			str_truncate(&msg, before);
			break;
		}
		taken++;
	}
	/* one request always fits: its fields are bounded by the queue
	 * file's record limit, far below the datagram */
	sent = send(h->fd, msg.s, msg.len, MSG_NOSIGNAL);
	str_deinit(&msg);
	if (sent < 0) {
		/* the helper died: never use it again (the queue manager's
		 * restart brings a new pool) */
		log_error("local delivery helper pid %ld: %s", (long)h->pid, strerror(errno));
		close(h->fd);
		h->fd = -1;
		h->dead = true;
		return -1;
	}
	h->pending = taken;
	*n_r = taken;
	*agent_r = (int)(h - helpers);
	*fd_r = h->fd;
	return 0;
}

int
local_transport_start(const struct transport_request *req, int *agent_r, int *fd_r)
{
	size_t one = 1;

	return local_helper_submit(&req, &one, false, agent_r, fd_r);
}

int
local_transport_start_batch(const struct transport_request *const *reqs, size_t *n_r,
    int *agent_r, int *fd_r)
{
	if (*n_r > LOCAL_BATCH_MAX)
		*n_r = LOCAL_BATCH_MAX;
	return local_helper_submit(reqs, n_r, false, agent_r, fd_r);
}

int
virtual_transport_start(const struct transport_request *req, int *agent_r, int *fd_r)
{
	size_t one = 1;

	return local_helper_submit(&req, &one, true, agent_r, fd_r);
}

enum transport_status
local_helper_finish(int agent, const struct transport_request *req, struct transport_dsn *dsn)
{
	struct local_helper_agent *h = &helpers[agent];
	struct local_helper_reply hdr;
	char *buf;
	const char *p, *end;
	ssize_t n;
	unsigned i;

	buf = xmalloc(LOCAL_HELPER_MSG_MAX + 4096);
	n = 0;
	if (!h->dead)
		do
			n = recv(h->fd, buf, LOCAL_HELPER_MSG_MAX + 4096, 0);
		while (n < 0 && errno == EINTR);
	if (h->pending > 0)
		h->pending--;
	if (n < (ssize_t)sizeof(hdr)) {
		free(buf);
		if (n <= 0 && !h->dead) {
			log_error("local delivery helper pid %ld went away", (long)h->pid);
			h->dead = true;
		}
		/* the fd stays open (reporting end of file, so that the queue
		 * manager comes back for the other requests of a batch) until
		 * the last of them is answered */
		if (h->dead && h->pending == 0 && h->fd >= 0) {
			close(h->fd);
			h->fd = -1;
		}
		transport_dsn_set(dsn, "4.3.0", "local", "local delivery helper unavailable");
		return TRANSPORT_DEFERRED;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	*dsn = hdr.dsn;
	p = buf + sizeof(hdr);
	end = buf + n;
	for (i = 0; i < hdr.nlines; i++) {
		struct local_helper_line l;
		char *to;

		if ((size_t)(end - p) < sizeof(l))
			break;
		memcpy(&l, p, sizeof(l));
		p += sizeof(l);
		if ((size_t)(end - p) < l.tolen)
			break;
		to = xstrndup(p, l.tolen);
		p += l.tolen;
		transport_add_line(req, to, (enum transport_status)l.status, &l.dsn);
		free(to);
	}
	free(buf);
	return hdr.status == TRANSPORT_SENT ? TRANSPORT_SENT : hdr.status == TRANSPORT_BOUNCED ?
	    TRANSPORT_BOUNCED : hdr.status == TRANSPORT_PASSED ? TRANSPORT_PASSED :
	    TRANSPORT_DEFERRED;
}

/* local_helper_deliver - one delivery through an idle helper, waiting for
 * it (a caller without an event loop) */
enum transport_status
local_helper_deliver(const struct transport_request *req, bool is_virtual,
    struct transport_dsn *dsn)
{
	int agent, fd;
	size_t one = 1;

	if (local_helper_submit(&req, &one, is_virtual, &agent, &fd) != 0) {
		transport_dsn_set(dsn, "4.3.0", "local", "local delivery helper unavailable");
		return TRANSPORT_DEFERRED;
	}
	return local_helper_finish(agent, req, dsn);
}
