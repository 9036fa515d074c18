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

/* The pool, in the queue manager: one socketpair end and one busy flag
 * per helper. Each helper serves one request at a time, so a request is
 * only sent to an idle helper and the next datagram on its socket is that
 * request's reply. */
struct local_helper_agent {
	int	 fd;		/* the queue manager's end */
	pid_t	 pid;
	bool	 busy;		/* a request is out, its reply not yet read */
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

/* local_helper_serve - the helper's loop */
static void
local_helper_serve(int fd, struct maincf *cf)
{
	char *buf = xmalloc(LOCAL_HELPER_MSG_MAX);
	struct str reply;
	ssize_t n;

	str_init(&reply, 4096);
	for (;;) {
		const char *f[6], *p, *end, *err;
		struct transport_request req;
		struct transport_lines lines = { NULL, 0 };
		struct local_helper_reply hdr;
		struct qmsg *m;
		size_t k, i;

		n = recv(fd, buf, LOCAL_HELPER_MSG_MAX - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf[n] = '\0';
		/* path, rcpt index, service, nexthop, addr ("" = none), kind */
		for (k = 0, p = buf, end = buf + n; k < 6 && p < end; k++) {
			f[k] = p;
			p += strlen(p) + 1;
		}
		memset(&hdr, 0, sizeof(hdr));
		str_reset(&reply);
		if (k != 6 || qmsg_open(f[0], false, &m, &err) != 0) {
			transport_dsn_set(&hdr.dsn, "4.3.0", "local", "cannot read the queue file");
			hdr.status = TRANSPORT_DEFERRED;
		} else if ((size_t)atol(f[1]) >= m->nrcpts) {
			transport_dsn_set(&hdr.dsn, "4.3.0", "local", "no such recipient");
			hdr.status = TRANSPORT_DEFERRED;
			qmsg_free(&m);
		} else {
			memset(&req, 0, sizeof(req));
			req.msg = m;
			req.rcpt = (size_t)atol(f[1]);
			req.service = f[2];
			req.nexthop = f[3];
			req.addr = *f[4] != '\0' ? f[4] : NULL;
			req.cf = cf;
			req.lines = &lines;
			hdr.status = (int)(strcmp(f[5], "virtual") == 0 ?
			    virtual_transport_deliver(&req, &hdr.dsn) :
			    local_transport_deliver(&req, &hdr.dsn));
			qmsg_free(&m);
		}
		hdr.nlines = (unsigned)(lines.n < LOCAL_HELPER_LINES_MAX ? lines.n :
		    LOCAL_HELPER_LINES_MAX);
		str_append_n(&reply, &hdr, sizeof(hdr));
		for (i = 0; i < hdr.nlines; i++) {
			struct local_helper_line l;

			memset(&l, 0, sizeof(l));
			l.status = (int)lines.v[i].status;
			l.dsn = lines.v[i].dsn;
			l.tolen = (unsigned)strnlen(lines.v[i].to, 1000);
			str_append_n(&reply, &l, sizeof(l));
			str_append_n(&reply, lines.v[i].to, l.tolen);
		}
		transport_lines_deinit(&lines);
		if (reply.len > LOCAL_HELPER_MSG_MAX) {
			/* too many lines to tell: the summary alone */
			((struct local_helper_reply *)(void *)reply.s)->nlines = 0;
			str_truncate(&reply, sizeof(hdr));
		}
		if (send(fd, reply.s, reply.len, MSG_NOSIGNAL) < 0)
			break;
	}
	str_deinit(&reply);
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
	h->busy = false;
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

/* local_helper_submit - send one request to an idle helper: 0 with the
 * helper's index and the descriptor to wait on, -1 when every helper is
 * busy (or the send failed: the helper is gone) */
static int
local_helper_submit(const struct transport_request *req, bool is_virtual, int *agent_r,
    int *fd_r)
{
	struct local_helper_agent *h = NULL;
	struct str msg;
	ssize_t n;
	size_t k;

	for (k = 0; k < nhelpers && h == NULL; k++)
		if (!helpers[k].busy && helpers[k].fd >= 0)
			h = &helpers[k];
	if (h == NULL)
		return -1;
	str_init(&msg, 256);
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
	n = send(h->fd, msg.s, msg.len, MSG_NOSIGNAL);
	str_deinit(&msg);
	if (n < 0) {
		/* the helper died: never use it again (the queue manager's
		 * restart brings a new pool) */
		log_error("local delivery helper pid %ld: %s", (long)h->pid, strerror(errno));
		close(h->fd);
		h->fd = -1;
		return -1;
	}
	h->busy = true;
	*agent_r = (int)(h - helpers);
	*fd_r = h->fd;
	return 0;
}

int
local_transport_start(const struct transport_request *req, int *agent_r, int *fd_r)
{
	return local_helper_submit(req, false, agent_r, fd_r);
}

int
virtual_transport_start(const struct transport_request *req, int *agent_r, int *fd_r)
{
	return local_helper_submit(req, true, agent_r, fd_r);
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
	do
		n = recv(h->fd, buf, LOCAL_HELPER_MSG_MAX + 4096, 0);
	while (n < 0 && errno == EINTR);
	h->busy = false;
	if (n < (ssize_t)sizeof(hdr)) {
		free(buf);
		if (n <= 0) {
			log_error("local delivery helper pid %ld went away", (long)h->pid);
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

	if (local_helper_submit(req, is_virtual, &agent, &fd) != 0) {
		transport_dsn_set(dsn, "4.3.0", "local", "local delivery helper unavailable");
		return TRANSPORT_DEFERRED;
	}
	return local_helper_finish(agent, req, dsn);
}
