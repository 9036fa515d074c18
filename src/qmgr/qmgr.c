/* qmgr.c - the queue manager daemon (qmgr.h).
 *
 * One process, one message at a time: deliveries are in-process calls of
 * the transport interface for now, which keeps the crash rules simple. A
 * recipient is marked done in the queue file (fsync'd) right after its
 * delivery and its status line, so that a crash re-delivers no recipient
 * whose mark reached the file, and loses none; a message is in active/
 * while it is being worked on,
 * and everything in active/ goes back to incoming/ at start.
 * Tests: tests/unit/qmgr/test_qmgr.c, tests/e2e/test_master.py */
#include "qmgr/qmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bounce/bounce.h"
#include "cli/cli.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mastercf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "local/local.h"
#include "master/skeleton.h"
#include "qmgr/transport.h"
#include "queue/qctl.h"
#include "queue/qdir.h"
#include "queue/qmsg.h"

struct qmgr {
	struct skeleton	 sk;
	struct mastercf	*mc;		/* owned; NULL when master.cf is unreadable */
	int		 fd;		/* FIFO or listening socket */
	bool		 fd_is_socket;
	long		 min_backoff, max_backoff, run_delay, lifetime, bounce_lifetime;
	long		 delay_warning;	/* delay_warning_time, 0 = never */
	bool		 long_ids;	/* enable_long_queue_ids, for notices */
	time_t		 next_deferred_scan;
	bool		 flush;		/* 'F' seen: deferred mail is due now */
};

static volatile sig_atomic_t qmgr_stop;

static void
qmgr_on_signal(int sig)
{
	qmgr_stop = 1;
}

static double
qmgr_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* qmgr_transport_for - the built-in implementation behind a transport
 * name: the master.cf unix service of that name runs a command we have */
static const struct transport *
qmgr_transport_for(struct qmgr *q, const char *name)
{
	const struct mastercf_service *s;

	if (q->mc == NULL)
		return transport_find(name);
	if ((s = mastercf_find(q->mc, name, "unix")) == NULL)
		return NULL;
	return transport_find(s->command);
}

/* qmgr_log_delivery - Postfix's delivery line; to is the address
 * delivered to when a transport expanded the recipient (NULL: the
 * recipient itself), and the recipient is then the orig_to */
static void
qmgr_log_delivery(struct qmgr *q, const char *tag, const struct qmsg *m, size_t i,
    const char *to, const struct transport_dsn *dsn, const char *status, double t_active,
    double t_start, double t_end)
{
	const struct qmsg_rcpt *r = &m->rcpts[i];
	double arrival = (double)m->arrival_sec + (double)m->arrival_usec / 1e6;
	const char *orig = NULL;
	struct str line;

	if (to == NULL)
		to = r->addr;
	else
		orig = r->addr;
	str_init(&line, 256);
	str_appendf(&line, "%s: to=<", m->id);
	log_printable(&line, to, 1000);
	str_append_c(&line, '>');
	if (r->orcpt != NULL)
		orig = strncasecmp(r->orcpt, "rfc822;", 7) == 0 ? r->orcpt + 7 : r->orcpt;
	if (orig != NULL) {
		if (strcasecmp(orig, to) != 0) {
			str_append(&line, ", orig_to=<");
			log_printable(&line, orig, 1000);
			str_append_c(&line, '>');
		}
	}
	str_appendf(&line, ", relay=%s, delay=", dsn->relay);
	qmgr_format_delay(&line, t_end - arrival);
	str_append(&line, ", delays=");
	qmgr_format_delay(&line, t_active - arrival);
	str_append_c(&line, '/');
	qmgr_format_delay(&line, t_start - t_active);
	str_append_c(&line, '/');
	qmgr_format_delay(&line, dsn->conn_setup);
	str_append_c(&line, '/');
	qmgr_format_delay(&line, t_end - t_start - dsn->conn_setup);
	str_appendf(&line, ", dsn=%s, status=%s (", dsn->status, status);
	log_printable(&line, dsn->reason, 1000);
	str_append_c(&line, ')');
	skeleton_log_as(&q->sk, tag);
	log_info("%s", line.s);
	skeleton_log_as(&q->sk, q->sk.command);
	str_deinit(&line);
}

/* qmgr_log_lines - one line per delivery of an expanded recipient */
static void
qmgr_log_lines(struct qmgr *q, const char *tag, const struct qmsg *m, size_t i,
    const struct transport_lines *lines, double t_active, double t_start, double t_end)
{
	size_t k;

	for (k = 0; k < lines->n; k++)
		qmgr_log_delivery(q, tag, m, i, lines->v[k].to, &lines->v[k].dsn,
		    lines->v[k].status == TRANSPORT_SENT ? "sent" :
		    lines->v[k].status == TRANSPORT_BOUNCED ? "bounced" : "deferred",
		    t_active, t_start, t_end);
}

/* qmgr_corrupt - a file no reader can trust: out of the way, kept */
static void
qmgr_corrupt(struct qmgr *q, const char *queue, const char *id, const char *why)
{
	log_warn("%s: %s; saved to the corrupt queue", id, why);
	if (qdir_move(q->sk.queue_dir, id, queue, "corrupt") != 0 && errno != ENOENT)
		log_error("%s: move to corrupt: %s", id, strerror(errno));
}

/* qmgr_bounces - the recipients of one pass that failed for good (or, for
 * a delay warning, are still deferred), kept until the notice is queued */
struct qmgr_bounces {
	struct bounce_rcpt	*r;	/* strings: addr, orcpt borrowed; status, reason owned */
	size_t			*idx;	/* index into msg->rcpts */
	size_t			 n;
};

static void
qmgr_bounces_add(struct qmgr_bounces *b, const struct qmsg *m, size_t i,
    const struct transport_dsn *dsn)
{
	b->r = xreallocarray(b->r, b->n + 1, sizeof(*b->r));
	b->idx = xreallocarray(b->idx, b->n + 1, sizeof(*b->idx));
	b->r[b->n].addr = m->rcpts[i].addr;
	b->r[b->n].orcpt = m->rcpts[i].orcpt;
	b->r[b->n].notify = m->rcpts[i].notify;
	b->r[b->n].status = xstrdup(dsn->status);
	b->r[b->n].reason = xstrdup(dsn->reason);
	b->r[b->n].relay = xstrdup(dsn->relay);
	b->idx[b->n] = i;
	b->n++;
}

static void
qmgr_bounces_free(struct qmgr_bounces *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free((char *)(uintptr_t)b->r[i].status);
		free((char *)(uintptr_t)b->r[i].reason);
		free((char *)(uintptr_t)b->r[i].relay);
	}
	free(b->r);
	free(b->idx);
	memset(b, 0, sizeof(*b));
}

/* qmgr_notify - queue a notice through the bounce module, logged as
 * Postfix's bounce daemon logs it */
static int
qmgr_notify(struct qmgr *q, enum bounce_kind kind, struct qmsg *m, struct qmgr_bounces *b)
{
	const char *err;
	int r;

	skeleton_log_as(&q->sk, "bounce");
	r = bounce_notify(q->sk.cf, q->sk.queue_dir, q->long_ids, kind, m, b->r, b->n, &err);
	if (r != 0)
		log_warn("%s: cannot queue a delivery status notification: %s", m->id, err);
	skeleton_log_as(&q->sk, q->sk.command);
	return r;
}

/* qmgr_warned_path - the marker of a delay warning already sent (Postfix
 * keeps a warning time in the queue file; ours is not rewritten) */
static char *
qmgr_warned_path(struct qmgr *q, const char *id)
{
	return qdir_path(q->sk.queue_dir, "bounce", id);
}

/* qmgr_deliver - one message, now in active/ */

static void
qmgr_deliver(struct qmgr *q, const char *id)
{
	struct qctl_reason *reasons = NULL;
	struct str transport, nexthop;
	const struct transport *tp;
	struct transport_request req;
	struct transport_dsn dsn;
	struct transport_lines lines = { NULL, 0 };
	enum transport_status st;
	struct qmsg *m;
	const char *err;
	char *path;
	double t_active = qmgr_now(), t_start, t_end;
	struct qmgr_bounces bounced, delayed;
	size_t i, nreasons = 0;
	long lifetime;
	time_t now;
	bool expired;

	path = qdir_path(q->sk.queue_dir, "active", id);
	if (qmsg_open(path, true, &m, &err) != 0) {
		if (errno == EINVAL)
			qmgr_corrupt(q, "active", id, err);
		else
			log_warn("%s", err);
		free(path);
		return;
	}
	now = time(NULL);
	lifetime = *m->sender == '\0' ? q->bounce_lifetime : q->lifetime;
	expired = qmgr_expired(m->arrival_sec, (long)now, lifetime);
	{
		struct str line;

		str_init(&line, 128);
		str_appendf(&line, "%s: from=<", id);
		log_printable(&line, m->sender, 1000);
		str_appendf(&line, ">, size=%zu, nrcpt=%zu (queue active)", m->size, m->nrcpts);
		log_info("%s", line.s);
		str_deinit(&line);
	}
	memset(&bounced, 0, sizeof(bounced));
	memset(&delayed, 0, sizeof(delayed));
	str_init(&transport, 32);
	str_init(&nexthop, 64);
	for (i = 0; i < m->nrcpts && !qmgr_stop; i++) {
		if (m->rcpts[i].done)
			continue;
		memset(&req, 0, sizeof(req));
		req.msg = m;
		req.rcpt = i;
		req.cf = q->sk.cf;
		req.lines = &lines;
		t_start = qmgr_now();
		if (qmgr_route(q->sk.cf, m->rcpts[i].addr, &transport, &nexthop, &err) != 0) {
			transport_dsn_set(&dsn, "4.3.0", "none", err);
			st = TRANSPORT_DEFERRED;
			tp = NULL;
		} else if ((tp = qmgr_transport_for(q, transport.s)) == NULL) {
			/* Postfix's words when master.cf has no such service */
			transport_dsn_set(&dsn, "4.3.0", "none", "mail transport unavailable");
			st = TRANSPORT_DEFERRED;
		} else {
			req.service = transport.s;
			req.nexthop = nexthop.s;
			st = tp->deliver(&req, &dsn);
		}
		t_end = qmgr_now();
		if (st == TRANSPORT_DEFERRED && expired) {
			/* marked done once the sender's notice is queued, below */
			qmgr_log_delivery(q, q->sk.command, m, i, NULL, &dsn,
			    "expired, returned to sender", t_active, t_start, t_end);
			transport_lines_deinit(&lines);
			qmgr_bounces_add(&bounced, m, i, &dsn);
			continue;
		}
		if (st == TRANSPORT_DEFERRED) {
			reasons = xreallocarray(reasons, nreasons + 1, sizeof(*reasons));
			reasons[nreasons].rcpt = xstrdup(m->rcpts[i].addr);
			reasons[nreasons].status = xstrdup(dsn.status);
			reasons[nreasons].text = xstrdup(dsn.reason);
			nreasons++;
			if (lines.n > 0)
				qmgr_log_lines(q, tp->name, m, i, &lines, t_active, t_start, t_end);
			else
				qmgr_log_delivery(q, tp != NULL ? tp->name : q->sk.command, m, i,
				    NULL, &dsn, "deferred", t_active, t_start, t_end);
			transport_lines_deinit(&lines);
			qmgr_bounces_add(&delayed, m, i, &dsn);
			continue;
		}
		/* Logged, then marked done on disk. The mark is a write and an
		 * fsync; a kill -9 inside that fsync leaves the mark in the page
		 * cache, so logging after it would lose the line for a delivered
		 * recipient. This order errs the other way: a crash in the few
		 * instructions between the two repeats a delivery (as Postfix
		 * may), and never loses one. */
		if (lines.n > 0)
			qmgr_log_lines(q, tp->name, m, i, &lines, t_active, t_start, t_end);
		else
			qmgr_log_delivery(q, tp->name, m, i, NULL, &dsn,
			    st == TRANSPORT_SENT ? "sent" : "bounced", t_active, t_start, t_end);
		transport_lines_deinit(&lines);
		if (st == TRANSPORT_BOUNCED) {
			/* done only when the notice is durable: a crash before
			 * that bounces again rather than never */
			qmgr_bounces_add(&bounced, m, i, &dsn);
			continue;
		}
		if (qmsg_rcpt_done(m, i, &err) != 0) {
			log_error("%s", err);
			break;
		}
	}
	str_deinit(&transport);
	str_deinit(&nexthop);
	if (bounced.n > 0 && qmgr_notify(q, BOUNCE_FAILURE, m, &bounced) == 0) {
		for (i = 0; i < bounced.n; i++)
			if (qmsg_rcpt_done(m, bounced.idx[i], &err) != 0) {
				log_error("%s", err);
				break;
			}
	}
	/* a notice that could not be queued leaves its recipients to do: the
	 * message is deferred below and bounces on the next attempt */
	if (delayed.n > 0 && !expired && !qmgr_stop && q->delay_warning > 0 &&
	    (long)now - m->arrival_sec >= q->delay_warning) {
		char *wpath = qmgr_warned_path(q, id);

		if (access(wpath, F_OK) != 0 && qmgr_notify(q, BOUNCE_DELAY, m, &delayed) == 0 &&
		    file_write_atomic(wpath, "", 0, 0600) != 0)
			log_warn("%s: cannot record the delay warning: %s", id, strerror(errno));
		free(wpath);
	}
	qmgr_bounces_free(&bounced);
	qmgr_bounces_free(&delayed);

	if (qmsg_todo(m) == 0) {
		qmsg_free(&m);
		{
			char *wpath = qmgr_warned_path(q, id);

			(void)unlink(wpath);
			free(wpath);
		}
		if (qdir_remove(q->sk.queue_dir, "active", id) == 0)
			log_info("%s: removed", id);
		else
			log_error("%s: remove: %s", id, strerror(errno));
	} else if (qmgr_stop && nreasons == 0) {
		/* interrupted by stop: back to incoming for the next start */
		qmsg_free(&m);
		(void)qdir_move_unsynced(q->sk.queue_dir, id, "active", "incoming");
	} else {
		struct timespec ts[2];

		if (nreasons > 0 && qctl_reasons_write(q->sk.queue_dir, id, reasons, nreasons) != 0)
			log_warn("%s: cannot record deferral reasons: %s", id, strerror(errno));
		/* Postfix's trick: the next attempt time is the file's mtime */
		ts[0].tv_sec = now;
		ts[0].tv_nsec = 0;
		ts[1].tv_sec = now + qmgr_backoff(m->arrival_sec, (long)now, q->min_backoff,
		    q->max_backoff);
		ts[1].tv_nsec = 0;
		qmsg_free(&m);
		if (utimensat(AT_FDCWD, path, ts, 0) != 0)
			log_warn("%s: set next attempt time: %s", id, strerror(errno));
		if (qdir_move_unsynced(q->sk.queue_dir, id, "active", "deferred") != 0)
			log_error("%s: move to deferred: %s", id, strerror(errno));
	}
	qctl_reasons_free(&reasons, nreasons);
	free(path);
}

/* qmgr_scan - move due messages of queue into active and deliver them */
static void
qmgr_scan(struct qmgr *q, const char *queue, bool due_only)
{
	struct strvec ids;
	struct stat st;
	time_t now = time(NULL);
	char *path;
	size_t i;

	strvec_init(&ids);
	(void)qdir_list(q->sk.queue_dir, queue, &ids);
	for (i = 0; i < ids.n && !qmgr_stop; i++) {
		if (due_only) {
			path = qdir_path(q->sk.queue_dir, queue, ids.v[i]);
			if (stat(path, &st) != 0 || st.st_mtime > now) {
				free(path);
				continue;
			}
			free(path);
		}
		if (qdir_move_unsynced(q->sk.queue_dir, ids.v[i], queue, "active") != 0)
			continue;	/* postsuper got there first */
		qmgr_deliver(q, ids.v[i]);
	}
	strvec_deinit(&ids);
}

/* qmgr_clean_temporaries - remove the temporary files of receivers that
 * died before their commit ("t.PID.N.USEC", see qfile.c): they were never
 * acknowledged, so nothing is lost. A live PID keeps its file (it may be a
 * receiver at work; a reused PID only delays the clean-up). */
static void
qmgr_clean_temporaries(struct qmgr *q)
{
	struct strvec names;
	size_t i;

	strvec_init(&names);
	(void)qdir_list_other(q->sk.queue_dir, "incoming", &names);
	for (i = 0; i < names.n; i++) {
		char *end;
		long pid;
		char *path;

		if (strncmp(names.v[i], "t.", 2) != 0)
			continue;
		pid = strtol(names.v[i] + 2, &end, 10);
		if (end == names.v[i] + 2 || *end != '.' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = xasprintf("%s/incoming/%s", q->sk.queue_dir, names.v[i]);
		if (unlink(path) == 0)
			log_warn("removed a partial queue file of a receiver that died: %s",
			    names.v[i]);
		free(path);
	}
	strvec_deinit(&names);
}

/* qmgr_recover - after a crash, what was active is delivered again from
 * incoming; done recipients stay done */
static void
qmgr_recover(struct qmgr *q)
{
	struct strvec ids;
	size_t i;

	qmgr_clean_temporaries(q);
	strvec_init(&ids);
	(void)qdir_list(q->sk.queue_dir, "active", &ids);
	for (i = 0; i < ids.n; i++)
		if (qdir_move_unsynced(q->sk.queue_dir, ids.v[i], "active", "incoming") != 0)
			log_warn("%s: cannot move back to incoming: %s", ids.v[i], strerror(errno));
	strvec_deinit(&ids);
}

/* qmgr_read_requests - drain the FIFO (or a connection) of request bytes */
static void
qmgr_read_requests(struct qmgr *q)
{
	char buf[256];
	ssize_t n, k;
	int fd = q->fd;

	if (q->fd_is_socket && (fd = accept4(q->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (k = 0; k < n; k++)
			if (buf[k] == QCTL_REQ_FLUSH_DEFERRED)
				q->flush = true;
		if (q->fd_is_socket)
			break;
	}
	if (fd != q->fd)
		close(fd);
}

/* qmgr_open_fifo - without a master: open (or make) public/qmgr ourselves.
 * O_RDWR so that the FIFO never reports end-of-file between writers. */
static int
qmgr_open_fifo(struct qmgr *q)
{
	char *path = xasprintf("%s/%s", q->sk.queue_dir, QCTL_QMGR_FIFO);
	int fd;

	if (mkfifo(path, 0622) != 0 && errno != EEXIST) {
		free(path);
		return -1;
	}
	(void)chmod(path, 0622);
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	free(path);
	return fd;
}

static int
qmgr_setting(struct qmgr *q, const char *name, long *val_r)
{
	const char *err;

	if (maincf_get_time(q->sk.cf, name, val_r, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		return -1;
	}
	return 0;
}

int
qmgr_main(int argc, char **argv)
{
	struct qmgr q;
	struct pollfd pfd;
	struct stat st;
	struct sigaction sa;
	const char *err;
	char *mcpath;
	time_t now, last_incoming = 0;
	int ret = 1;

	memset(&q, 0, sizeof(q));
	if (skeleton_init(&q.sk, "qmgr", argc, argv, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		skeleton_deinit(&q.sk);
		return 1;
	}
	if (qmgr_setting(&q, "minimal_backoff_time", &q.min_backoff) != 0 ||
	    qmgr_setting(&q, "maximal_backoff_time", &q.max_backoff) != 0 ||
	    qmgr_setting(&q, "queue_run_delay", &q.run_delay) != 0 ||
	    qmgr_setting(&q, "maximal_queue_lifetime", &q.lifetime) != 0 ||
	    qmgr_setting(&q, "bounce_queue_lifetime", &q.bounce_lifetime) != 0 ||
	    qmgr_setting(&q, "delay_warning_time", &q.delay_warning) != 0)
		goto out;
	if (maincf_get_bool(q.sk.cf, "enable_long_queue_ids", &q.long_ids, &err) != 0)
		q.long_ids = false;
	mcpath = xasprintf("%s/master.cf", q.sk.config_dir);
	q.mc = mastercf_new();
	if (mastercf_load(q.mc, mcpath, &err) != 0)
		mastercf_free(&q.mc);
	free(mcpath);
	if (qdir_create(q.sk.queue_dir, (uid_t)-1, (gid_t)-1, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto out;
	}
	q.fd = q.sk.listen_fd >= 0 ? q.sk.listen_fd : qmgr_open_fifo(&q);
	if (q.fd < 0) {
		log_msg(LOG_LEVEL_FATAL, "open %s/%s: %s", q.sk.queue_dir, QCTL_QMGR_FIFO,
		    strerror(errno));
		goto out;
	}
	q.fd_is_socket = fstat(q.fd, &st) == 0 && S_ISSOCK(st.st_mode);
	(void)fcntl(q.fd, F_SETFL, fcntl(q.fd, F_GETFL) | O_NONBLOCK);
	/* local(8) and virtual(8) must become each recipient: a root helper,
	 * forked before the drop, runs them (local_helper.c) */
	if (local_helper_start(q.sk.cf, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto out;
	}
	if (skeleton_drop_privileges(&q.sk, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qmgr_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	qmgr_recover(&q);
	q.next_deferred_scan = 0;
	while (!qmgr_stop) {
		pfd.fd = q.fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 1000) > 0 && (pfd.revents & POLLIN))
			qmgr_read_requests(&q);
		now = time(NULL);
		/* incoming on every wake-up and at least once a second */
		if (pfd.revents != 0 || now != last_incoming) {
			last_incoming = now;
			qmgr_scan(&q, "incoming", false);
		}
		if (q.flush || now >= q.next_deferred_scan) {
			q.flush = false;
			q.next_deferred_scan = now + q.run_delay;
			qmgr_scan(&q, "deferred", true);
			qmgr_clean_temporaries(&q);
		}
	}
	ret = 0;
out:
	mastercf_free(&q.mc);
	skeleton_deinit(&q.sk);
	return ret;
}

int
cmd_qmgr(int argc, char **argv)
{
	return qmgr_main(argc, argv);
}
