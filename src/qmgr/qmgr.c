/* qmgr.c - the queue manager daemon (qmgr.h).
 *
 * One process, one poll loop, several messages and deliveries at once
 * (the concurrency comment above qmgr_load has the rules). A recipient is
 * marked done in the queue file right after its delivery and its status
 * line, and the mark is fsync'd before the loop waits again, so that a
 * crash re-delivers no recipient whose mark reached the disk, and loses
 * none; a message is in active/ while it is being worked on, and
 * everything in active/ goes back to incoming/ at start.
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
#include "qmgr/qmgr_fsync.h"
#include "qmgr/qmgr_sched.h"
#include "qmgr/transport.h"
#include "smtp/smtp.h"
#include "queue/qctl.h"
#include "queue/qdir.h"
#include "queue/qfile.h"
#include "queue/qmsg.h"
#include "queue/qspare.h"

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
	bool		 wake;		/* a receiver wrote to the FIFO */
	bool		 agents_lost;	/* exit non-zero: the master restarts us */
	int		 sync_fd;	/* fsync completions (qmgr_fsync.h); -1: none */
	size_t		 nsyncing;
	struct qmgr_msg	*msgs, *last;	/* owned: the loaded messages, oldest first */
	size_t		 nmsgs;
	struct qmgr_job	*jobs;		/* owned: deliveries in flight */
	size_t		 njobs;
	struct qmgr_sched sched;
	struct qmgr_limit *limits;	/* owned: per transport name, read once */
	size_t		 nlimits;
	struct strvec	 in, def;	/* names to admit from incoming, deferred */
	struct strvec	 batch_ok;	/* destinations whose last delivery said
					 * batchable (transport_dsn), newest last */
	size_t		 in_pos, def_pos;
};

/* The concurrency limits of one transport name. */
struct qmgr_limit {
	char	*service;	/* owned */
	size_t	 maxproc;	/* master.cf maxproc; 0 = no limit */
	size_t	 dest_limit;	/* $name_destination_concurrency_limit; 0 = none */
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
	str_appendf(&line, ", relay=%s", dsn->relay);
	if (dsn->conn_use > 1)
		str_appendf(&line, ", conn_use=%u", dsn->conn_use);
	str_append(&line, ", delay=");
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
	struct bounce_rcpt	*r;	/* strings: addr, orcpt borrowed (or in owned);
					 * status, reason owned */
	size_t			*idx;	/* index into msg->rcpts */
	size_t			 n;
	struct strvec		 owned;	/* the addresses of expanded recipients */
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
	b->r[b->n].action = NULL;
	b->idx[b->n] = i;
	b->n++;
}

/* qmgr_bounces_add_expanded - the failed deliveries of an expansion
 * (local's aliases, .forward), named as Postfix names them: the expanded
 * address, "expanded from" the queue recipient (its ORCPT, if given) */
static void
qmgr_bounces_add_expanded(struct qmgr_bounces *b, const struct qmsg *m, size_t i,
    const struct transport_lines *lines, const struct transport_dsn *dsn)
{
	size_t k, added = 0;

	if (b->owned.v == NULL)
		strvec_init(&b->owned);
	for (k = 0; k < lines->n; k++) {
		if (lines->v[k].status != TRANSPORT_BOUNCED)
			continue;
		qmgr_bounces_add(b, m, i, &lines->v[k].dsn);
		if (strcmp(lines->v[k].to, m->rcpts[i].addr) != 0) {
			strvec_push(&b->owned, lines->v[k].to);
			b->r[b->n - 1].addr = b->owned.v[b->owned.n - 1];
			if (m->rcpts[i].orcpt == NULL) {
				strvec_push_take(&b->owned, xasprintf("rfc822;%s", m->rcpts[i].addr));
				b->r[b->n - 1].orcpt = b->owned.v[b->owned.n - 1];
			}
		}
		added++;
	}
	if (added == 0)
		qmgr_bounces_add(b, m, i, dsn);
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
	if (b->owned.v != NULL)
		strvec_deinit(&b->owned);
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

/* Concurrency. The queue manager is one process with one poll loop: up to
 * QMGR_ACTIVE_MAX messages are loaded from active/ at once, and their
 * recipients are handed out as transports allow. A synchronous transport
 * (discard, error, retry) finishes inside the call; an asynchronous one
 * (local, virtual: the helper pool) finishes when its agent's socket
 * becomes readable. The limits: the transport's agents, its master.cf
 * maxproc, and $transport_destination_concurrency_limit per destination
 * (qmgr_sched.h).
 *
 * The crash rules are the one-at-a-time rules, per recipient:
 *  - a recipient is in one state at a time (todo, in flight, finished for
 *    this attempt): only a todo recipient is started, so no two agents
 *    ever deliver the same recipient; a message is in active/ from its
 *    load to its end (removed, deferred or back to incoming), and is only
 *    loaded by moving it into active/, which one process does at a time;
 *  - a delivery is logged, then its done mark written (pwrite); at the
 *    end of each turn of the loop, the marks written in it are handed to
 *    an fsync thread, one fsync per message however many of its
 *    recipients finished (qmgr_reap, qmgr_fsync.h), and the loop goes on
 *    starting deliveries meanwhile; a message leaves active/ only once
 *    every mark is fsync'd. A kill -9 cannot lose a written mark (it is
 *    in the page cache), so the batch changes nothing for the crash test;
 *    a system crash before the fsync repeats those deliveries, as one
 *    between a delivery and its per-recipient fsync did: never a loss.
 *    The unlink of a finished message is not followed by a directory
 *    fsync: undone by a crash, it brings back a file whose every mark is
 *    on disk, and the next pass removes it again, delivering nothing;
 *  - except: a message whose every recipient is done is removed at once,
 *    and its marks are not fsync'd at all (qmgr_msg_complete). A kill -9
 *    still cannot lose them (page cache); only a system crash that undoes
 *    the unlink and the marks together brings the message back and
 *    delivers it again, as Postfix, which fsyncs neither its done marks
 *    nor the removal, would. Deliveries themselves are durable before
 *    they are reported (Maildir: file and new/ fsync'd), so this costs
 *    at worst a duplicate, never a loss, and saves one fsync a message;
 *  - a bounce notice is queued (and fsync'd by qfile) before the bounced
 *    recipients are marked done;
 *  - the message is removed only when every recipient is done, and only
 *    once no delivery of it is in flight. */
#define QMGR_ACTIVE_MAX		100
/* the most recipients one batch may carry (transport.h, start_batch) */
#define QMGR_BATCH_MAX		LOCAL_BATCH_MAX
/* fsync threads (qmgr_fsync.h): enough for the fsyncs of one loop turn to
 * reach the file system together */
#define QMGR_SYNC_THREADS	4

enum qmgr_rstate {
	QMGR_R_TODO,		/* to be started in this attempt */
	QMGR_R_BUSY,		/* in flight */
	QMGR_R_OVER,		/* this attempt's outcome recorded (or done before) */
};

struct qmgr_rcpt {
	enum qmgr_rstate	 state;
	char			*transport;	/* owned; NULL: route failed */
	char			*nexthop;	/* owned */
	char			*route_error;	/* owned; set when transport is NULL */
	char			*pass_addr;	/* owned: the address local(8) passed on */
	bool			 passed;	/* local(8) handed it to transport already */
};

struct qmgr_msg {
	char			 id[QFILE_ID_SIZE];
	char			*path;		/* owned */
	struct qmsg		*m;		/* owned */
	struct qmgr_rcpt	*r;		/* owned, m->nrcpts of them */
	double			 t_active;
	time_t			 now;
	bool			 expired;
	bool			 unsynced;	/* marks written, no fsync asked for since */
	bool			 syncing;	/* an fsync thread has the file */
	bool			 failed;	/* a mark could not be written: stop */
	size_t			 busy;		/* recipients in flight */
	struct qmgr_bounces	 bounced, delayed;
	struct qmgr_bounces	 traced;	/* sendmail -v: delivered this attempt */
	struct qctl_reason	*reasons;	/* owned */
	size_t			 nreasons;
	struct qmgr_msg		*next;
};

/* One recipient of a delivery in flight. */
struct qmgr_job_item {
	struct qmgr_msg		*msg;		/* borrowed: stays active while busy > 0 */
	size_t			 rcpt;
	struct transport_request req;
	struct transport_lines	 lines;
};

/* One delivery in flight on an asynchronous transport: one recipient, or
 * a batch of recipients for one destination (transport.h, start_batch),
 * answered one at a time, in order. */
struct qmgr_job {
	const struct transport	*tp;
	char			*service;	/* owned: the transport name counted */
	char			*dest;		/* owned: the destination counted */
	int			 agent, fd;
	struct qmgr_job_item	*items;		/* owned; heap, so that requests keep
						 * their lines when the job moves */
	size_t			 n, next;	/* items; the next to be answered */
	double			 t_start;
};

/* qmgr_limits_of - maxproc and destination concurrency of a transport
 * name, read once */
static const struct qmgr_limit *
qmgr_limits_of(struct qmgr *q, const char *service)
{
	const struct mastercf_service *s;
	struct qmgr_limit *l;
	const char *err;
	char *param;
	long v;
	size_t i;

	for (i = 0; i < q->nlimits; i++)
		if (strcmp(q->limits[i].service, service) == 0)
			return &q->limits[i];
	q->limits = xreallocarray(q->limits, q->nlimits + 1, sizeof(*q->limits));
	l = &q->limits[q->nlimits++];
	l->service = xstrdup(service);
	l->maxproc = 0;
	if (q->mc != NULL && (s = mastercf_find(q->mc, service, "unix")) != NULL) {
		if (s->maxproc > 0)
			l->maxproc = (size_t)s->maxproc;
		else if (s->maxproc < 0 &&
		    maincf_get_long(q->sk.cf, "default_process_limit", &v, &err) == 0 && v > 0)
			l->maxproc = (size_t)v;
	}
	param = xasprintf("%s_destination_concurrency_limit", service);
	if (maincf_get_long(q->sk.cf, param, &v, &err) != 0 &&
	    maincf_get_long(q->sk.cf, "default_destination_concurrency_limit", &v, &err) != 0)
		v = 20;
	free(param);
	l->dest_limit = v > 0 ? (size_t)v : 0;
	return l;
}

/* qmgr_load - move one message into active/ and read it; NULL when it is
 * gone (postsuper, or it was never there) or unreadable */
static struct qmgr_msg *
qmgr_load(struct qmgr *q, const char *queue, const char *id)
{
	struct qmgr_msg *mm;
	struct qmsg *m;
	struct str transport, nexthop, line;
	const char *err;
	char *path;
	long lifetime;
	size_t i;

	if (qdir_move_unsynced(q->sk.queue_dir, id, queue, "active") != 0)
		return NULL;	/* postsuper got there first */
	path = qdir_path(q->sk.queue_dir, "active", id);
	if (qmsg_open(path, true, &m, &err) != 0) {
		if (errno == EINVAL)
			qmgr_corrupt(q, "active", id, err);
		else
			log_warn("%s", err);
		free(path);
		return NULL;
	}
	mm = xcalloc(1, sizeof(*mm));
	snprintf(mm->id, sizeof(mm->id), "%s", id);
	mm->path = path;
	mm->m = m;
	mm->t_active = qmgr_now();
	mm->now = time(NULL);
	lifetime = *m->sender == '\0' ? q->bounce_lifetime : q->lifetime;
	mm->expired = qmgr_expired(m->arrival_sec, (long)mm->now, lifetime);
	str_init(&line, 128);
	str_appendf(&line, "%s: from=<", id);
	log_printable(&line, m->sender, 1000);
	str_appendf(&line, ">, size=%zu, nrcpt=%zu (queue active)", m->size, m->nrcpts);
	log_info("%s", line.s);
	str_deinit(&line);
	mm->r = xcalloc(m->nrcpts > 0 ? m->nrcpts : 1, sizeof(*mm->r));
	str_init(&transport, 32);
	str_init(&nexthop, 64);
	for (i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].done) {
			mm->r[i].state = QMGR_R_OVER;
			continue;
		}
		if (qmgr_route(q->sk.cf, m->rcpts[i].addr, &transport, &nexthop, &err) != 0) {
			mm->r[i].route_error = xstrdup(err);
			continue;
		}
		mm->r[i].transport = xstrdup(transport.s);
		mm->r[i].nexthop = xstrdup(nexthop.s);
	}
	str_deinit(&transport);
	str_deinit(&nexthop);
	return mm;
}

/* qmgr_pass - local(8) passed recipient i to "transport:nexthop"
 * (dsn->relay) for the address dsn->reason, as Postfix's local hands a
 * mailbox to mailbox_transport: route it there and start it again. Once
 * only (a transport that passes it back is a loop); false: not taken */
static bool
qmgr_pass(struct qmgr_msg *mm, size_t i, const struct transport_dsn *dsn)
{
	struct qmgr_rcpt *r = &mm->r[i];
	const char *colon = strchr(dsn->relay, ':');

	if (r->passed || dsn->relay[0] == '\0' || dsn->reason[0] == '\0' || colon == dsn->relay)
		return false;
	free(r->transport);
	free(r->nexthop);
	free(r->pass_addr);
	r->transport = colon != NULL ? xstrndup(dsn->relay, (size_t)(colon - dsn->relay)) :
	    xstrdup(dsn->relay);
	/* no nexthop: the recipient's domain, as for any transport */
	r->nexthop = xstrdup(colon != NULL && colon[1] != '\0' ? colon + 1 :
	    strrchr(dsn->reason, '@') != NULL ? strrchr(dsn->reason, '@') + 1 : "");
	r->pass_addr = xstrdup(dsn->reason);
	r->passed = true;
	r->state = QMGR_R_TODO;
	return true;
}

/* qmgr_outcome - record the outcome of one delivery: the log line(s),
 * then the done mark (written; fsync'd by qmgr_reap), or the recipient
 * kept for a notice or for the next attempt */
static void
qmgr_outcome(struct qmgr *q, struct qmgr_msg *mm, size_t i, const struct transport *tp,
    enum transport_status st, const struct transport_dsn *dsn,
    struct transport_lines *lines, double t_start)
{
	struct qmsg *m = mm->m;
	double t_end = qmgr_now();
	const char *err;

	if (st == TRANSPORT_PASSED && qmgr_pass(mm, i, dsn)) {
		transport_lines_deinit(lines);
		return;
	}
	if (st == TRANSPORT_PASSED) {
		struct transport_dsn loop = *dsn;

		transport_dsn_set(&loop, "4.3.0", "none", "mail transport unavailable");
		qmgr_outcome(q, mm, i, tp, TRANSPORT_DEFERRED, &loop, lines, t_start);
		return;
	}
	mm->r[i].state = QMGR_R_OVER;
	if (st == TRANSPORT_DEFERRED && mm->expired) {
		/* marked done once the sender's notice is queued */
		qmgr_log_delivery(q, q->sk.command, m, i, mm->r[i].pass_addr, dsn,
		    "expired, returned to sender", mm->t_active, t_start, t_end);
		transport_lines_deinit(lines);
		qmgr_bounces_add(&mm->bounced, m, i, dsn);
		return;
	}
	if (st == TRANSPORT_DEFERRED) {
		mm->reasons = xreallocarray(mm->reasons, mm->nreasons + 1, sizeof(*mm->reasons));
		mm->reasons[mm->nreasons].rcpt = xstrdup(m->rcpts[i].addr);
		mm->reasons[mm->nreasons].status = xstrdup(dsn->status);
		mm->reasons[mm->nreasons].text = xstrdup(dsn->reason);
		mm->nreasons++;
		if (lines->n > 0)
			qmgr_log_lines(q, tp->name, m, i, lines, mm->t_active, t_start, t_end);
		else
			qmgr_log_delivery(q, tp != NULL ? tp->name : q->sk.command, m, i,
			    mm->r[i].pass_addr, dsn, "deferred", mm->t_active, t_start, t_end);
		transport_lines_deinit(lines);
		qmgr_bounces_add(&mm->delayed, m, i, dsn);
		return;
	}
	/* Logged, then marked done on disk. A kill -9 after the log line and
	 * before the mark repeats the delivery (as Postfix may), and never
	 * loses one; logging after the mark would lose the line instead. */
	if (lines->n > 0)
		qmgr_log_lines(q, tp->name, m, i, lines, mm->t_active, t_start, t_end);
	else
		qmgr_log_delivery(q, tp->name, m, i, mm->r[i].pass_addr, dsn,
		    st == TRANSPORT_SENT ? "sent" : "bounced", mm->t_active, t_start, t_end);
	if (st == TRANSPORT_BOUNCED) {
		/* done only when the notice is durable: a crash before that
		 * bounces again rather than never */
		qmgr_bounces_add_expanded(&mm->bounced, m, i, lines, dsn);
		transport_lines_deinit(lines);
		return;
	}
	transport_lines_deinit(lines);
	if (qmsg_attr(m, "trace_flags") != NULL) {
		/* sendmail -v: this delivery goes into the report */
		qmgr_bounces_add(&mm->traced, m, i, dsn);
		mm->traced.r[mm->traced.n - 1].action =
		    strcmp(dsn->action, "expanded") == 0 ? "expanded" :
		    strncmp(dsn->reason, "forwarded as ", 13) == 0 ? "relayed" : "delivered";
	}
	if (st == TRANSPORT_SENT && dsn->action[0] != '\0' &&
	    (m->rcpts[i].notify & QFILE_NOTIFY_SUCCESS) != 0) {
		/* NOTIFY=SUCCESS and a final delivery: the sender's notice
		 * before the done mark; a notice that cannot be queued is
		 * logged, never a reason to deliver twice */
		struct qmgr_bounces ok;

		memset(&ok, 0, sizeof(ok));

		qmgr_bounces_add(&ok, m, i, dsn);
		ok.r[0].action = dsn->action;
		(void)qmgr_notify(q, BOUNCE_SUCCESS, m, &ok);
		qmgr_bounces_free(&ok);
	}
	if (mm->failed)
		return;
	if (qmsg_rcpt_mark(m, i, &err) != 0) {
		log_error("%s", err);
		mm->failed = true;
		return;
	}
	mm->unsynced = true;
}

/* qmgr_jobs_of - deliveries in flight on the agents behind tp (smtp
 * and lmtp share the client's slots: counted together) */
static size_t
qmgr_jobs_of(const struct qmgr *q, const struct transport *tp)
{
	size_t k, n = 0;

	for (k = 0; k < q->njobs; k++)
		if (q->jobs[k].tp->agents == tp->agents)
			n++;
	return n;
}

/* Batches only go to a destination whose last delivery the agent called
 * batchable (local: a single mailbox delivery, not an alias, .forward or
 * command): a slow command must not hold up the recipient's next
 * messages in its batch while another place is free, which would break
 * the destination's concurrency. The first delivery to a destination goes
 * alone and tells. A bounded list, the oldest forgotten first. */
#define QMGR_BATCH_OK_MAX	1000

static bool
qmgr_batch_ok(const struct qmgr *q, const char *dest)
{
	size_t i;

	for (i = q->batch_ok.n; i > 0; i--)
		if (strcasecmp(q->batch_ok.v[i - 1], dest) == 0)
			return true;
	return false;
}

/* qmgr_batch_learn - what the agent said about dest's last delivery */
static void
qmgr_batch_learn(struct qmgr *q, const char *dest, bool batchable)
{
	size_t i;

	for (i = 0; i < q->batch_ok.n; i++)
		if (strcasecmp(q->batch_ok.v[i], dest) == 0)
			break;
	if (i < q->batch_ok.n) {
		if (batchable)
			return;
		free(q->batch_ok.v[i]);
		memmove(&q->batch_ok.v[i], &q->batch_ok.v[i + 1],
		    (q->batch_ok.n - i - 1) * sizeof(*q->batch_ok.v));
		q->batch_ok.n--;
		return;
	}
	if (!batchable)
		return;
	if (q->batch_ok.n >= QMGR_BATCH_OK_MAX) {
		free(q->batch_ok.v[0]);
		memmove(&q->batch_ok.v[0], &q->batch_ok.v[1],
		    (q->batch_ok.n - 1) * sizeof(*q->batch_ok.v));
		q->batch_ok.n--;
	}
	strvec_push(&q->batch_ok, dest);
}

/* qmgr_batch_collect - more recipients for the job's destination, after
 * recipient i of mm (in this message and the later ones), into the job,
 * up to its transport's batch_max: to do, routed to the same transport
 * and nexthop, not passed on. Only for a transport whose destination is
 * the recipient (local), so that a batch never holds up another
 * recipient's mail. Under load the queue fills while a delivery runs, and
 * the next one takes what waits; alone, a message goes alone. */
static void
qmgr_batch_collect(struct qmgr *q, const struct transport *tp, struct qmgr_job *job,
    struct qmgr_msg *mm, size_t i, const char *dest)
{
	const struct qmgr_rcpt *r0 = &mm->r[i];
	size_t max = tp->batch_max < QMGR_BATCH_MAX ? tp->batch_max : QMGR_BATCH_MAX, j;
	struct qmgr_msg *m2;

	for (m2 = mm, j = i + 1; m2 != NULL && job->n < max; m2 = m2->next, j = 0) {
		if (m2->failed)
			continue;
		for (; j < m2->m->nrcpts && job->n < max; j++) {
			const struct qmgr_rcpt *r = &m2->r[j];
			struct transport_request *req;

			if (r->state != QMGR_R_TODO || r->transport == NULL || r->passed ||
			    r->pass_addr != NULL || strcmp(r->transport, r0->transport) != 0 ||
			    strcmp(r->nexthop, r0->nexthop) != 0 ||
			    strcasecmp(m2->m->rcpts[j].addr, dest) != 0)
				continue;
			req = &job->items[job->n].req;
			memset(req, 0, sizeof(*req));
			req->msg = m2->m;
			req->rcpt = j;
			req->cf = q->sk.cf;
			req->service = r->transport;
			req->nexthop = r->nexthop;
			job->items[job->n].msg = m2;
			job->items[job->n].rcpt = j;
			job->n++;
		}
	}
}

/* qmgr_dispatch_one - start recipient i if the limits allow: 1 started
 * (or finished, for a synchronous transport), 0 not now */
static int
qmgr_dispatch_one(struct qmgr *q, struct qmgr_msg *mm, size_t i)
{
	struct qmgr_rcpt *r = &mm->r[i];
	const struct transport *tp;
	const struct qmgr_limit *lim;
	struct transport_request req;
	struct transport_lines lines = { NULL, 0 };
	struct transport_dsn dsn;
	enum transport_status st;
	struct qmgr_job *job;
	const struct transport_request *reqs[QMGR_BATCH_MAX];
	const char *dest;
	double t_start = qmgr_now();
	size_t k;

	if (r->transport == NULL) {
		transport_dsn_set(&dsn, "4.3.0", "none", r->route_error);
		qmgr_outcome(q, mm, i, NULL, TRANSPORT_DEFERRED, &dsn, &lines, t_start);
		return 1;
	}
	if ((tp = qmgr_transport_for(q, r->transport)) == NULL) {
		/* Postfix's words when master.cf has no such service */
		transport_dsn_set(&dsn, "4.3.0", "none", "mail transport unavailable");
		qmgr_outcome(q, mm, i, NULL, TRANSPORT_DEFERRED, &dsn, &lines, t_start);
		return 1;
	}
	memset(&req, 0, sizeof(req));
	req.msg = mm->m;
	req.rcpt = i;
	req.cf = q->sk.cf;
	req.service = r->transport;
	req.nexthop = r->nexthop;
	req.addr = r->pass_addr;
	if (tp->start == NULL || tp->agents() == 0) {
		req.lines = &lines;
		st = tp->deliver(&req, &dsn);
		qmgr_outcome(q, mm, i, tp, st, &dsn, &lines, t_start);
		/* passed on to another transport: start that now */
		if (r->state == QMGR_R_TODO && r->passed)
			return qmgr_dispatch_one(q, mm, i);
		return 1;
	}
	lim = qmgr_limits_of(q, r->transport);
	dest = strcmp(tp->name, "local") == 0 ? mm->m->rcpts[i].addr : r->nexthop;
	if (qmgr_jobs_of(q, tp) >= tp->agents() ||
	    !qmgr_sched_may_start(&q->sched, r->transport, dest, lim->maxproc, lim->dest_limit))
		return 0;
	job = &q->jobs[q->njobs];
	memset(job, 0, sizeof(*job));
	job->items = xcalloc(tp->start_batch != NULL ? QMGR_BATCH_MAX : 1, sizeof(*job->items));
	job->items[0].msg = mm;
	job->items[0].rcpt = i;
	job->items[0].req = req;
	job->n = 1;
	if (tp->start_batch != NULL && qmgr_batch_ok(q, dest))
		qmgr_batch_collect(q, tp, job, mm, i, dest);
	for (k = 0; k < job->n; k++) {
		job->items[k].req.lines = &job->items[k].lines;
		reqs[k] = &job->items[k].req;
	}
	if ((job->n > 1 ? tp->start_batch(reqs, &job->n, &job->agent, &job->fd) :
	    tp->start(&job->items[0].req, &job->agent, &job->fd)) != 0) {
		free(job->items);
		job->items = NULL;
		if (q->njobs > 0)
			return 0;	/* no agent free: after the next finish */
		/* nothing in flight and still no agent: they are gone. Defer,
		 * and exit so that the master starts a queue manager with a
		 * new pool */
		log_error("no %s delivery agent left; exiting to be restarted", tp->name);
		transport_dsn_set(&dsn, "4.3.0", "none", "delivery agent unavailable");
		qmgr_outcome(q, mm, i, tp, TRANSPORT_DEFERRED, &dsn, &lines, t_start);
		q->agents_lost = true;
		qmgr_stop = 1;
		return 1;
	}
	job->tp = tp;
	job->service = xstrdup(r->transport);
	job->dest = xstrdup(dest);
	job->t_start = t_start;
	q->njobs++;
	qmgr_sched_start(&q->sched, r->transport, dest);
	for (k = 0; k < job->n; k++) {
		job->items[k].msg->r[job->items[k].rcpt].state = QMGR_R_BUSY;
		job->items[k].msg->busy++;
	}
	return 1;
}

/* qmgr_dispatch - start what the limits allow, oldest message first */
static void
qmgr_dispatch(struct qmgr *q)
{
	struct qmgr_msg *mm;
	size_t i;

	for (mm = q->msgs; mm != NULL && !qmgr_stop; mm = mm->next) {
		if (mm->failed)
			continue;
		for (i = 0; i < mm->m->nrcpts && !qmgr_stop; i++)
			if (mm->r[i].state == QMGR_R_TODO)
				(void)qmgr_dispatch_one(q, mm, i);
	}
}

/* qmgr_job_finish - the agent of job k has answered (the next request of
 * a batch: one answer per readable turn) */
static void
qmgr_job_finish(struct qmgr *q, size_t k)
{
	struct qmgr_job *job = &q->jobs[k];
	struct qmgr_job_item it;
	const struct transport *tp = job->tp;
	struct transport_dsn dsn;
	enum transport_status st;
	double t_start = job->t_start;
	size_t idx = job->next++;

	/* the request sees its own lines (job->items stays put) */
	st = tp->finish(job->agent, &job->items[idx].req, &dsn);
	if (tp->start_batch != NULL)
		qmgr_batch_learn(q, job->dest, dsn.batchable);
	it = job->items[idx];
	it.req.lines = &it.lines;
	if (job->next == job->n) {
		/* the last answer: the agent and the destination's place are free */
		if (!qmgr_sched_done(&q->sched, job->service, job->dest))
			log_warn("%s: delivery was not counted in flight", it.msg->id);
		free(job->items);
		free(job->service);
		free(job->dest);
		q->jobs[k] = q->jobs[--q->njobs];
	}
	it.msg->busy--;
	qmgr_outcome(q, it.msg, it.rcpt, tp, st, &dsn, &it.lines, t_start);
}

/* qmgr_msg_free - forget a finished message */
static void
qmgr_msg_free(struct qmgr_msg **mmp)
{
	struct qmgr_msg *mm = *mmp;
	size_t i;

	if (mm == NULL)
		return;
	if (mm->m != NULL) {
		for (i = 0; i < mm->m->nrcpts; i++) {
			free(mm->r[i].transport);
			free(mm->r[i].nexthop);
			free(mm->r[i].route_error);
			free(mm->r[i].pass_addr);
		}
		qmsg_free(&mm->m);
	}
	free(mm->r);
	qmgr_bounces_free(&mm->bounced);
	qmgr_bounces_free(&mm->delayed);
	qmgr_bounces_free(&mm->traced);
	qctl_reasons_free(&mm->reasons, mm->nreasons);
	free(mm->path);
	free(mm);
	*mmp = NULL;
}

/* qmgr_msg_over - no recipient in flight, none left to start (or we stop) */
static bool
qmgr_msg_over(const struct qmgr_msg *mm)
{
	size_t i;

	if (mm->busy > 0 || mm->unsynced || mm->syncing)
		return false;
	if (mm->failed || qmgr_stop)
		return true;
	for (i = 0; i < mm->m->nrcpts; i++)
		if (mm->r[i].state == QMGR_R_TODO)
			return false;
	return true;
}

/* qmgr_trace_report - sendmail -v: after the first attempt, one "Mail
 * Delivery Status Report" to the sender with every recipient of it
 * (delivered, failed, delayed); trace/ID records that it went, so later
 * attempts send none */
static void
qmgr_trace_report(struct qmgr *q, struct qmgr_msg *mm)
{
	struct qmgr_bounces all;
	char *tdir, *tpath;
	size_t i, n;

	tdir = xasprintf("%s/trace", q->sk.queue_dir);
	tpath = qdir_path(q->sk.queue_dir, "trace", mm->id);
	n = mm->traced.n + mm->bounced.n + mm->delayed.n;
	if (n == 0 || access(tpath, F_OK) == 0)
		goto out;
	memset(&all, 0, sizeof(all));
	all.r = xreallocarray(NULL, n, sizeof(*all.r));
	for (i = 0; i < mm->traced.n; i++)
		all.r[all.n++] = mm->traced.r[i];
	for (i = 0; i < mm->bounced.n; i++) {
		all.r[all.n] = mm->bounced.r[i];
		all.r[all.n++].action = "failed";
	}
	for (i = 0; i < mm->delayed.n; i++) {
		all.r[all.n] = mm->delayed.r[i];
		all.r[all.n++].action = "delayed";
	}
	/* strings borrowed from the three lists: only the array is ours */
	if (qmgr_notify(q, BOUNCE_TRACE, mm->m, &all) == 0 &&
	    ((mkdir(tdir, 0700) != 0 && errno != EEXIST) ||
	    file_write_atomic(tpath, "", 0, 0600) != 0))
		log_warn("%s: cannot record the delivery report: %s", mm->id, strerror(errno));
	free(all.r);
out:
	free(tdir);
	free(tpath);
}

/* qmgr_finish - the end of one attempt at a message: notices, then
 * removed, deferred, or back to incoming when interrupted */
static void
qmgr_finish(struct qmgr *q, struct qmgr_msg *mm)
{
	struct qmsg *m = mm->m;
	const char *id = mm->id, *err;
	bool interrupted = false;
	size_t i;

	for (i = 0; i < m->nrcpts; i++)
		if (mm->r[i].state == QMGR_R_TODO)
			interrupted = true;
	if (mm->bounced.n > 0 && !mm->failed &&
	    qmgr_notify(q, BOUNCE_FAILURE, m, &mm->bounced) == 0) {
		for (i = 0; i < mm->bounced.n; i++)
			if (qmsg_rcpt_mark(m, mm->bounced.idx[i], &err) != 0) {
				log_error("%s", err);
				mm->failed = true;
				break;
			}
		mm->unsynced = true;
	}
	if (mm->unsynced) {
		mm->unsynced = false;
		if (qmsg_sync(m, &err) != 0)
			log_error("%s", err);
	}
	if (!interrupted && !mm->failed && qmsg_attr(m, "trace_flags") != NULL)
		qmgr_trace_report(q, mm);
	/* a notice that could not be queued leaves its recipients to do: the
	 * message is deferred below and bounces on the next attempt */
	if (mm->delayed.n > 0 && !mm->expired && !qmgr_stop && q->delay_warning > 0 &&
	    (long)mm->now - m->arrival_sec >= q->delay_warning) {
		char *wpath = qmgr_warned_path(q, id);

		if (access(wpath, F_OK) != 0 && qmgr_notify(q, BOUNCE_DELAY, m, &mm->delayed) == 0 &&
		    file_write_atomic(wpath, "", 0, 0600) != 0)
			log_warn("%s: cannot record the delay warning: %s", id, strerror(errno));
		free(wpath);
	}
	if (qmsg_todo(m) == 0) {
		char *wpath = qmgr_warned_path(q, id);

		(void)unlink(wpath);
		free(wpath);
		/* trace/ID is only ever written for a message that asked for
		 * a report (qmgr_trace_report): no unlink that finds nothing
		 * for every other message */
		if (qmsg_attr(m, "trace_flags") != NULL) {
			wpath = qdir_path(q->sk.queue_dir, "trace", id);
			(void)unlink(wpath);
			free(wpath);
		}
		/* the unlink needs no directory fsync: a crash that undoes it
		 * brings back a file whose deliveries are on disk, delivered
		 * again at worst (the crash rules above), never lost. The move
		 * to spare/ does need it before a receiver may overwrite the
		 * file: qmgr_reap publishes the turn's spares after one fsync
		 * of active/ (qspare.h) */
		if (qspare_put(q->sk.queue_dir, "active", id, m->fd) == 0) {
			/* the file is kept for a receiver to reuse (qspare.h):
			 * for the queue, the message is gone all the same */
			wpath = qdir_defer_path(q->sk.queue_dir, id);
			(void)unlink(wpath);
			free(wpath);
			log_info("%s: removed", id);
		} else if (qdir_remove_unsynced(q->sk.queue_dir, "active", id) == 0)
			log_info("%s: removed", id);
		else
			log_error("%s: remove: %s", id, strerror(errno));
	} else if (interrupted && qmgr_stop && mm->nreasons == 0) {
		/* interrupted by stop: back to incoming for the next start */
		(void)qdir_move_unsynced(q->sk.queue_dir, id, "active", "incoming");
	} else {
		struct timespec ts[2];

		if (mm->nreasons > 0 &&
		    qctl_reasons_write(q->sk.queue_dir, id, mm->reasons, mm->nreasons) != 0)
			log_warn("%s: cannot record deferral reasons: %s", id, strerror(errno));
		/* Postfix's trick: the next attempt time is the file's mtime */
		ts[0].tv_sec = mm->now;
		ts[0].tv_nsec = 0;
		ts[1].tv_sec = mm->now + qmgr_backoff(m->arrival_sec, (long)mm->now,
		    q->min_backoff, q->max_backoff);
		ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, mm->path, ts, 0) != 0)
			log_warn("%s: set next attempt time: %s", id, strerror(errno));
		if (qdir_move_unsynced(q->sk.queue_dir, id, "active", "deferred") != 0)
			log_error("%s: move to deferred: %s", id, strerror(errno));
	}
}

/* qmgr_msg_complete - every recipient is done (marked in the file), none
 * in flight, no notice to queue: the message is removed when it ends */
static bool
qmgr_msg_complete(const struct qmgr_msg *mm)
{
	return mm->busy == 0 && !mm->failed && mm->bounced.n == 0 && mm->delayed.n == 0 &&
	    qmsg_todo(mm->m) == 0;
}

/* qmgr_reap - hand this turn's marks to the fsync threads, once per
 * message, and end the messages that are over: none of their recipients
 * in flight and every mark fsync'd */
static void
qmgr_reap(struct qmgr *q)
{
	struct qmgr_msg **pp = &q->msgs, *mm;
	const char *err;

	while ((mm = *pp) != NULL) {
		if (mm->unsynced && !mm->syncing && qmgr_msg_complete(mm)) {
			/* every recipient done and the file removed next: the
			 * marks need no fsync (see the crash rules above) */
			mm->unsynced = false;
		} else if (mm->unsynced && !mm->syncing) {
			mm->unsynced = false;
			if (q->sync_fd >= 0 && qmgr_fsync_submit(mm->m->fd, mm) == 0) {
				mm->syncing = true;
				q->nsyncing++;
			} else if (qmsg_sync(mm->m, &err) != 0) {
				log_error("%s", err);
				mm->failed = true;
			}
		}
		if (!qmgr_msg_over(mm)) {
			pp = &mm->next;
			continue;
		}
		*pp = mm->next;
		if (q->last == mm)
			q->last = NULL;
		qmgr_finish(q, mm);
		qmgr_msg_free(&mm);
		q->nmsgs--;
	}
	/* the files kept this turn become claimable only now, after one
	 * fsync of active/ for all of them */
	if (qspare_publish(q->sk.queue_dir) != 0)
		log_warn("fsync %s/active: %s; spare files removed", q->sk.queue_dir,
		    strerror(errno));
	if (q->last == NULL)
		for (q->last = q->msgs; q->last != NULL && q->last->next != NULL;
		    q->last = q->last->next)
			;
}

/* qmgr_synced - collect the fsyncs the threads have finished */
static void
qmgr_synced(struct qmgr *q)
{
	struct qmgr_msg *mm;
	void *ctx;
	int e;

	while (qmgr_fsync_collect(&ctx, &e) == 1) {
		mm = ctx;
		mm->syncing = false;
		q->nsyncing--;
		if (e != 0) {
			log_error("%s: update: %s", mm->id, strerror(e));
			mm->failed = true;
		}
	}
}

/* qmgr_admit - load waiting messages while there is room: incoming first,
 * then deferred messages that are due */
static void
qmgr_admit(struct qmgr *q)
{
	struct qmgr_msg *mm;
	struct stat st;
	time_t now = time(NULL);
	const char *id;
	char *path;

	while (q->nmsgs < QMGR_ACTIVE_MAX && !qmgr_stop) {
		bool deferred = false;

		if (q->in_pos < q->in.n) {
			id = q->in.v[q->in_pos++];
		} else if (q->def_pos < q->def.n) {
			id = q->def.v[q->def_pos++];
			deferred = true;
			path = qdir_path(q->sk.queue_dir, "deferred", id);
			if (stat(path, &st) != 0 || st.st_mtime > now) {
				free(path);
				continue;
			}
			free(path);
		} else {
			break;
		}
		if ((mm = qmgr_load(q, deferred ? "deferred" : "incoming", id)) == NULL)
			continue;
		if (q->last != NULL)
			q->last->next = mm;
		else
			q->msgs = mm;
		q->last = mm;
		q->nmsgs++;
	}
}

/* qmgr_list - (re)read the names of a queue to admit from */
static void
qmgr_list(struct qmgr *q, const char *queue, struct strvec *ids, size_t *pos)
{
	strvec_deinit(ids);
	strvec_init(ids);
	*pos = 0;
	(void)qdir_list(q->sk.queue_dir, queue, ids);
}

/* qmgr_pid_alive - pid is a running process: a zombie is not (a receiver
 * killed together with its master stays one until init reaps it, which
 * some inits are slow to do) */
static bool
qmgr_pid_alive(long pid)
{
	char path[64], buf[256], *close_paren;
	ssize_t n;
	int fd;

	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return true;	/* no /proc: trust kill() */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')' */
	close_paren = strrchr(buf, ')');
	return close_paren == NULL || close_paren[1] != ' ' || close_paren[2] != 'Z';
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
		if (qmgr_pid_alive(pid))
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
	qspare_clean(q->sk.queue_dir);
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

/* qmgr_pool_size - how many local delivery helpers to fork: the larger
 * maxproc of the local and virtual services ($default_process_limit for
 * "-"), but at most QMGR_HELPERS_PER_CPU per CPU. A local delivery waits
 * on fsync far more than it computes, so a few per CPU keep the disk busy;
 * a hundred root processes forked up front (Postfix forks its agents on
 * demand) would only cost memory. The per-destination limits still apply
 * (qmgr_sched.h). */
#define QMGR_HELPERS_PER_CPU	4
static size_t
qmgr_pool_size(struct qmgr *q)
{
	static const char *const names[] = { "local", "virtual" };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), cap;
	size_t i, n = 1;

	if (ncpu < 1)
		ncpu = 1;
	cap = ncpu * QMGR_HELPERS_PER_CPU;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct qmgr_limit *l = qmgr_limits_of(q, names[i]);

		if (q->mc != NULL && mastercf_find(q->mc, names[i], "unix") == NULL)
			continue;	/* no such service: no deliveries to run */
		if (l->maxproc == 0 || l->maxproc > (size_t)cap)
			n = (size_t)cap;
		else if (l->maxproc > n)
			n = l->maxproc;
	}
	return n;
}

/* qmgr_smtp_slots - concurrent deliveries of the smtp/lmtp client: the
 * largest maxproc of the master.cf services that run smtp or lmtp
 * ($default_process_limit for "-"), at most QMGR_SMTP_SLOTS_MAX; 0 when
 * no service runs them. A slot is a socketpair, not a process: the
 * client runs every session in one event loop. */
#define QMGR_SMTP_SLOTS_MAX	200
static size_t
qmgr_smtp_slots(struct qmgr *q)
{
	const struct mastercf_service *sv;
	size_t i, n, slots = 0;

	if (q->mc == NULL)
		return 20;
	sv = mastercf_services(q->mc, &n);
	for (i = 0; i < n; i++) {
		const struct qmgr_limit *l;

		if (sv[i].type != MASTERCF_UNIX || sv[i].command == NULL ||
		    (strcmp(sv[i].command, "smtp") != 0 && strcmp(sv[i].command, "lmtp") != 0))
			continue;
		l = qmgr_limits_of(q, sv[i].name);
		if (l->maxproc == 0 || l->maxproc > QMGR_SMTP_SLOTS_MAX)
			slots = QMGR_SMTP_SLOTS_MAX;
		else if (l->maxproc > slots)
			slots = l->maxproc;
	}
	return slots;
}

int
qmgr_main(int argc, char **argv)
{
	struct qmgr q;
	struct pollfd *pfd = NULL;
	struct stat st;
	struct sigaction sa;
	const char *err;
	char *mcpath;
	time_t now, last_incoming = 0;
	size_t nslots;
	int ret = 1;

	memset(&q, 0, sizeof(q));
	q.sync_fd = -1;
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
	/* local(8) and virtual(8) must become each recipient: a pool of
	 * root helpers, forked before the drop, runs them (local_helper.c) */
	if (local_helper_start(q.sk.cf, qmgr_pool_size(&q), &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto out;
	}

	qmgr_sched_init(&q.sched, 0);
	strvec_init(&q.in);
	strvec_init(&q.def);
	strvec_init(&q.batch_ok);
	if (skeleton_drop_privileges(&q.sk, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto out;
	}
	/* the smtp/lmtp client: one process, as mail_owner, forked before
	 * the fsync threads exist (src/smtp/smtp_helper.c) */
	if ((nslots = qmgr_smtp_slots(&q)) > 0 && smtp_helper_start(q.sk.cf, &q.sk, nslots, &err) != 0)
		log_error("%s: outbound SMTP and LMTP deliveries are deferred", err);
	q.jobs = xcalloc(local_helper_agents() + smtp_helper_agents() + 1, sizeof(*q.jobs));
	/* after the helpers' fork; without threads, fsync in the loop */
	if (qmgr_fsync_start(QMGR_SYNC_THREADS, QMGR_ACTIVE_MAX, &q.sync_fd) != 0)
		q.sync_fd = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qmgr_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	qmgr_recover(&q);
	q.next_deferred_scan = 0;
	pfd = xcalloc(local_helper_agents() + smtp_helper_agents() + 2, sizeof(*pfd));
	/* on stop: no new deliveries; the ones in flight finish (a helper
	 * completes the delivery in hand), then every message is ended */
	while (!qmgr_stop || q.njobs > 0 || q.nsyncing > 0 || q.nmsgs > 0) {
		size_t k, npfd = 0;
		bool woken;

		if (!qmgr_stop) {
			now = time(NULL);
			/* incoming on every wake-up and at least once a second */
			if ((q.wake && q.in_pos >= q.in.n) || now != last_incoming) {
				last_incoming = now;
				q.wake = false;
				qmgr_list(&q, "incoming", &q.in, &q.in_pos);
			}
			if (q.flush || now >= q.next_deferred_scan) {
				q.flush = false;
				q.next_deferred_scan = now + q.run_delay;
				qmgr_list(&q, "deferred", &q.def, &q.def_pos);
				qmgr_clean_temporaries(&q);
			}
			qmgr_admit(&q);
			qmgr_dispatch(&q);
		}
		qmgr_reap(&q);
		pfd[npfd].fd = q.fd;
		pfd[npfd].events = POLLIN;
		npfd++;
		pfd[npfd].fd = q.sync_fd;	/* -1 is ignored by poll */
		pfd[npfd].events = POLLIN;
		npfd++;
		for (k = 0; k < q.njobs; k++) {
			pfd[npfd].fd = q.jobs[k].fd;
			pfd[npfd].events = POLLIN;
			npfd++;
		}
		/* more to load or start now: do not sleep */
		woken = poll(pfd, npfd, q.in_pos < q.in.n && q.nmsgs < QMGR_ACTIVE_MAX &&
		    !qmgr_stop ? 0 : qmgr_stop ? 100 : 1000) > 0;
		if (woken && (pfd[0].revents & POLLIN)) {
			qmgr_read_requests(&q);
			q.wake = true;
		}
		if (woken && pfd[1].revents != 0)
			qmgr_synced(&q);
		/* jobs[k] answered: finish it (the array shifts, so match fds) */
		for (k = 2; woken && k < npfd; k++) {
			size_t j;

			if (pfd[k].revents == 0)
				continue;
			for (j = 0; j < q.njobs; j++)
				if (q.jobs[j].fd == pfd[k].fd) {
					qmgr_job_finish(&q, j);
					break;
				}
		}
	}
	ret = q.agents_lost ? 1 : 0;
out:
	if (q.sync_fd >= 0)
		qmgr_fsync_stop();
	free(pfd);
	strvec_deinit(&q.in);
	strvec_deinit(&q.def);
	strvec_deinit(&q.batch_ok);
	qmgr_sched_deinit(&q.sched);
	free(q.jobs);
	for (size_t k = 0; k < q.nlimits; k++)
		free(q.limits[k].service);
	free(q.limits);
	mastercf_free(&q.mc);
	skeleton_deinit(&q.sk);
	return ret;
}

int
cmd_qmgr(int argc, char **argv)
{
	return qmgr_main(argc, argv);
}
