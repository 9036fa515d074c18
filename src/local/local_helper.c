/* local_helper.c - the privileged side of local delivery. The queue
 * manager drops to mail_owner, but local(8) and virtual(8) must become
 * each recipient, which takes root. So, before it drops privileges, the
 * queue manager forks this helper, which stays root and does nothing but
 * deliveries: it reads (queue file, recipient) requests from a socketpair,
 * runs the same transport code (whose children become the users), and
 * sends back the status and the per-delivery lines. Forwarded addresses
 * are written into the queue by a child that has become mail_owner, so
 * every queue file stays mail_owner's. The helper exits when the queue
 * manager goes away (end of file on the socket).
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

static int helper_fd = -1;	/* the queue manager's end */
static pid_t helper_pid = -1;

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
	return helper_fd >= 0 && geteuid() != 0;
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

int
local_helper_start(struct maincf *cf, const char **error_r)
{
	int sv[2], size = LOCAL_HELPER_MSG_MAX + 4096;

	struct str owner;
	struct passwd *pw;
	const char *e;

	if (geteuid() != 0)
		return 0;	/* not root: deliveries run as ourselves anyway */
	str_init(&owner, 32);
	pw = maincf_get(cf, "mail_owner", &owner, &e) == 0 ? getpwnam(owner.s) : NULL;
	str_deinit(&owner);
	if (pw != NULL && pw->pw_uid == 0)
		return 0;	/* the queue manager stays root: no helper needed */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		*error_r = "local delivery helper: socketpair failed";
		return -1;
	}
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if ((helper_pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		*error_r = "local delivery helper: fork failed";
		return -1;
	}
	if (helper_pid == 0) {
		sigset_t none;

		close(sv[0]);
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
	helper_fd = sv[0];
	return 0;
}

enum transport_status
local_helper_deliver(const struct transport_request *req, bool is_virtual,
    struct transport_dsn *dsn)
{
	struct local_helper_reply hdr;
	struct str msg;
	char *buf;
	const char *p, *end;
	ssize_t n;
	unsigned i;

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
	n = send(helper_fd, msg.s, msg.len, MSG_NOSIGNAL);
	str_deinit(&msg);
	if (n < 0) {
		transport_dsn_set(dsn, "4.3.0", "local", "local delivery helper unavailable");
		return TRANSPORT_DEFERRED;
	}
	buf = xmalloc(LOCAL_HELPER_MSG_MAX + 4096);
	do
		n = recv(helper_fd, buf, LOCAL_HELPER_MSG_MAX + 4096, 0);
	while (n < 0 && errno == EINTR);
	if (n < (ssize_t)sizeof(hdr)) {
		free(buf);
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
	    TRANSPORT_BOUNCED : TRANSPORT_DEFERRED;
}
