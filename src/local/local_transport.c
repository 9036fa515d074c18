/* local_transport.c - local(8) as a transport of the queue manager
 * (local.h): read the message, expand the recipient into a plan, run
 * each delivery with the right privileges, and put forwarded addresses
 * back into the queue as one new queue file, committed before the
 * original recipient counts as delivered (Postfix's local resubmits
 * through cleanup the same way). Tests: tests/e2e/test_local_delivery.py */
#include "local/local-private.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "bounce/bounce.h"
#include "lib/util.h"
#include "queue/qfile.h"
#include "queue/qmsg.h"
#include "storage/storage.h"

/* local_alias_check - Postfix's warning for a source edited after its
 * database was built, and the database owner (the rights of its commands
 * and files) */
static uid_t
local_alias_check(struct maincf *cf, const char *list)
{
	struct strvec items;
	struct str path;
	struct stat src, db;
	const char *err;
	uid_t owner = 0;
	bool have_owner = false;
	size_t i;

	strvec_init(&items);
	maincf_list_split(list, &items);
	str_init(&path, 128);
	for (i = 0; i < items.n; i++) {
		const char *spec = items.v[i], *colon;

		if (strncmp(spec, "proxy:", 6) == 0)
			spec += 6;
		if ((colon = strchr(spec, ':')) == NULL)
			continue;
		str_reset(&path);
		if (maps_table_path(spec, &path, &err) != 0 || stat(path.s, &db) != 0)
			continue;
		if (!have_owner) {
			owner = db.st_uid;
			have_owner = true;
		}
		if (stat(colon + 1, &src) == 0 && src.st_mtime > db.st_mtime)
			log_warn("database %s is older than source file %s", path.s, colon + 1);
	}
	str_deinit(&path);
	strvec_deinit(&items);
	return owner;
}

/* local_notify_forwarded - the NOTIFY of a forwarded copy (RFC 3461
 * 6.2.7): one address carries the request on as it is; the addresses of
 * an expansion keep it without SUCCESS (the "expanded" notice answered
 * that), and a request that was SUCCESS only becomes NEVER */
static int
local_notify_forwarded(int notify, size_t nforward, size_t nplan)
{
	int child;

	if (nforward == 1 && nplan == 1)
		return notify;
	child = notify & ~QFILE_NOTIFY_SUCCESS;
	return child == 0 && notify != 0 ? QFILE_NOTIFY_NEVER : child;
}

/* local_resubmit - the forwarded addresses of a plan that go out from
 * sender (an owner- alias makes its list's copies its own) as one new
 * message; 0 with the new queue ID in id_r, or -1 with *error_r */
static int
local_resubmit(struct maincf *cf, const struct qmsg *m, const char *content, size_t len,
    const struct local_plan *plan, const struct qmsg_rcpt *r, const char *sender, char *id_r,
    const char **error_r)
{
	const char *rcpt = r->addr;
	char *orcpt = NULL;
	size_t nforward = 0;
	int notify;
	struct qfile_writer *w = NULL;
	struct str qdir, hdr;
	bool long_ids = false;
	size_t i;
	int ret = -1;

	str_init(&qdir, 128);
	str_init(&hdr, 128);
	if (maincf_get(cf, "queue_directory", &qdir, error_r) != 0)
		goto out;
	(void)maincf_get_bool(cf, "enable_long_queue_ids", &long_ids, error_r);
	if (qfile_writer_open(qdir.s, long_ids, &w, error_r) != 0)
		goto out;
	if (qfile_writer_sender(w, sender) != 0)
		goto fail;
	for (i = 0; i < plan->n; i++)
		if (plan->v[i].kind == LOCAL_FORWARD)
			nforward++;
	notify = local_notify_forwarded(r->notify, nforward, plan->n);
	/* one address carries the original recipient on as its ORCPT, so
	 * that a notice from the final delivery names it */
	if (nforward == 1 && plan->n == 1)
		orcpt = r->orcpt != NULL ? xstrdup(r->orcpt) : xasprintf("rfc822;%s", r->addr);
	for (i = 0; i < plan->n; i++)
		if (plan->v[i].kind == LOCAL_FORWARD && strcmp(plan->v[i].sender, sender) == 0 &&
		    qfile_writer_rcpt(w, plan->v[i].target, orcpt, notify) != 0)
			goto fail;
	/* Delivered-To: on the forwarded copy is what catches a loop when
	 * it comes back (prepend_delivered_header has "forward" by default) */
	{
		struct str val;
		struct strvec items;
		bool fwd = false;
		const char *e;

		str_init(&val, 64);
		strvec_init(&items);
		if (maincf_get(cf, "prepend_delivered_header", &val, &e) == 0) {
			maincf_list_split(val.s, &items);
			for (i = 0; i < items.n; i++)
				if (strcasecmp(items.v[i], "forward") == 0)
					fwd = true;
		}
		strvec_deinit(&items);
		str_deinit(&val);
		if (fwd)
			str_appendf(&hdr, "Delivered-To: %s\n", rcpt);
	}
	if ((hdr.len > 0 && qfile_writer_content(w, hdr.s, hdr.len, 0) != 0) ||
	    qfile_writer_content(w, content, len, 0) != 0)
		goto fail;
	snprintf(id_r, QFILE_ID_SIZE, "%s", qfile_writer_id(w));
	if (qfile_writer_commit(w, error_r) != 0) {
		qfile_writer_free(&w);
		goto out;
	}
	qfile_writer_free(&w);
	ret = 0;
	goto out;
fail:
	*error_r = "cannot write the forwarded message";
	qfile_writer_abort(&w);
out:
	free(orcpt);
	str_deinit(&qdir);
	str_deinit(&hdr);
	return ret;
}

/* A job that writes into the queue: 0 with a short result text (a queue
 * ID), or -1 with *error_r. */
typedef int local_queue_job_fn(void *arg, char *out, size_t outlen, const char **error_r);

/* local_as_mail_owner - run fn in a child that has become mail_owner when
 * we are root (the helper), so that every queue file it makes is
 * mail_owner's like every other; directly when not root */
static int
local_as_mail_owner(struct maincf *cf, local_queue_job_fn *fn, void *arg, char *out,
    size_t outlen, const char **error_r)
{
	struct {
		int	ok;
		char	out[QFILE_ID_SIZE];
		char	err[256];
	} res;
	struct local_user u;
	struct passwd *pw;
	struct str owner;
	int pfd[2];
	ssize_t n;
	pid_t pid;

	if (geteuid() != 0)
		return fn(arg, out, outlen, error_r);
	str_init(&owner, 32);
	pw = maincf_get(cf, "mail_owner", &owner, error_r) == 0 ? getpwnam(owner.s) : NULL;
	str_deinit(&owner);
	if (pw == NULL) {
		*error_r = "cannot find mail_owner";
		return -1;
	}
	if (pw->pw_uid == 0)
		return fn(arg, out, outlen, error_r);
	memset(&u, 0, sizeof(u));
	u.uid = pw->pw_uid;
	u.gid = pw->pw_gid;
	if (pipe2(pfd, O_CLOEXEC) != 0)
		goto nofork;
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		goto nofork;
	}
	if (pid == 0) {
		const char *e = "cannot set privileges to mail_owner";

		close(pfd[0]);
		memset(&res, 0, sizeof(res));
		if (local_become(&u, false) == 0 && fn(arg, res.out, sizeof(res.out), &e) == 0)
			res.ok = 1;
		else
			snprintf(res.err, sizeof(res.err), "%s", e);
		(void)storage_write_full(pfd[1], &res, sizeof(res));
		_exit(0);
	}
	close(pfd[1]);
	n = local_child_result(pfd[0], pid, &res, sizeof(res));
	if (n != (ssize_t)sizeof(res) || !res.ok) {
		static char err[256];

		snprintf(err, sizeof(err), "%s", n == (ssize_t)sizeof(res) ? res.err :
		    "queue writer died");
		*error_r = err;
		return -1;
	}
	res.out[sizeof(res.out) - 1] = '\0';
	snprintf(out, outlen, "%s", res.out);
	return 0;
nofork:
	*error_r = "cannot fork to write into the queue";
	return -1;
}

struct local_resubmit_job {
	struct maincf		*cf;
	const struct qmsg	*m;
	const char		*content;
	size_t			 len;
	const struct local_plan	*plan;
	const struct qmsg_rcpt	*rcpt;
	const char		*sender;
};

static int
local_resubmit_job(void *arg, char *out, size_t outlen, const char **error_r)
{
	struct local_resubmit_job *j = arg;
	char id[QFILE_ID_SIZE];

	if (local_resubmit(j->cf, j->m, j->content, j->len, j->plan, j->rcpt, j->sender, id,
	    error_r) != 0)
		return -1;
	snprintf(out, outlen, "%s", id);
	return 0;
}

/* local_resubmit_as_owner - local_resubmit as mail_owner */
static int
local_resubmit_as_owner(struct maincf *cf, const struct qmsg *m, const char *content,
    size_t len, const struct local_plan *plan, const struct qmsg_rcpt *rcpt,
    const char *sender, char *id_r, const char **error_r)
{
	struct local_resubmit_job j = { cf, m, content, len, plan, rcpt, sender };

	return local_as_mail_owner(cf, local_resubmit_job, &j, id_r, QFILE_ID_SIZE, error_r);
}

/* The failure of one delivery of an expansion whose alias has an owner-
 * alias: the notice goes to the owner, not to the message's sender
 * (Postfix's local does the same through its bounce_workaround). */
struct local_owner_bounce_job {
	struct maincf		*cf;
	const struct qmsg	*m;
	const char		*owner;
	const struct bounce_rcpt *rcpt;
};

static int
local_owner_bounce_job(void *arg, char *out, size_t outlen, const char **error_r)
{
	struct local_owner_bounce_job *j = arg;
	struct qmsg copy = *j->m;	/* shallow: only the sender differs */
	struct str qdir;
	bool long_ids = false;
	const char *e, *slash;
	char old_tag[128], tag[128];
	int ret;

	str_init(&qdir, 128);
	if (maincf_get(j->cf, "queue_directory", &qdir, error_r) != 0) {
		str_deinit(&qdir);
		return -1;
	}
	(void)maincf_get_bool(j->cf, "enable_long_queue_ids", &long_ids, &e);
	copy.sender = xstrdup(j->owner);
	/* the notice is logged as Postfix's bounce daemon logs it */
	snprintf(old_tag, sizeof(old_tag), "%s", log_tag());
	slash = strchr(old_tag, '/');
	snprintf(tag, sizeof(tag), "%.*s/bounce", slash != NULL ? (int)(slash - old_tag) : 5,
	    slash != NULL ? old_tag : "yubin");
	log_retag(tag);
	ret = bounce_notify(j->cf, qdir.s, long_ids, BOUNCE_FAILURE, &copy, j->rcpt, 1, error_r);
	log_retag(old_tag);
	free(copy.sender);
	str_deinit(&qdir);
	if (ret == 0)
		snprintf(out, outlen, "ok");
	return ret;
}

static int
local_bounce_to_owner(struct maincf *cf, const struct qmsg *m, const struct qmsg_rcpt *r,
    const struct local_item *it, const struct transport_dsn *dsn, const char **error_r)
{
	struct bounce_rcpt br;
	struct local_owner_bounce_job j = { cf, m, it->sender, &br };
	char out[8];

	memset(&br, 0, sizeof(br));
	br.addr = it->rcpt;
	br.orcpt = r->orcpt;
	br.notify = r->notify;
	br.status = dsn->status;
	br.reason = dsn->reason;
	br.relay = "none";
	return local_as_mail_owner(cf, local_owner_bounce_job, &j, out, sizeof(out), error_r);
}

/* local_pass_to_qmgr - a transport that only the queue manager can run:
 * the smtp/lmtp client lives beside it, and a master.cf service name that
 * is no built-in command is the queue manager's to resolve */
static bool
local_pass_to_qmgr(const struct local_item *it)
{
	const char *colon = strchr(it->target, ':');
	char *name = colon != NULL ? xstrndup(it->target, (size_t)(colon - it->target)) :
	    xstrdup(it->target);
	const struct transport *tp = transport_find(name);
	bool pass = strcmp(name, "local") != 0 && strcmp(name, "virtual") != 0 &&
	    (tp == NULL || tp->start != NULL);

	free(name);
	return pass;
}

/* local_pass_deliver - a recipient handed to another transport by
 * mailbox_transport(_maps) or fallback_transport(_maps): a built-in one
 * that runs here (discard, error, retry, virtual: the master.cf service
 * name is taken as its command, as in Postfix's default master.cf); lmtp,
 * smtp and other services go back to the queue manager (local_transport_
 * deliver) when the recipient is the only delivery, else the mail waits */
static enum transport_status
local_pass_deliver(const struct transport_request *req, const struct local_item *it,
    struct transport_dsn *dsn)
{
	struct transport_request sub = *req;
	const struct transport *tp;
	const char *colon = strchr(it->target, ':'), *at = strrchr(it->rcpt, '@');
	char *name = colon != NULL ? xstrndup(it->target, (size_t)(colon - it->target)) :
	    xstrdup(it->target);
	enum transport_status st;

	tp = transport_find(name);
	if (tp == NULL || tp->deliver == NULL || strcmp(name, "local") == 0) {
		transport_dsn_set(dsn, "4.3.0", "local", "mail transport unavailable");
		free(name);
		return TRANSPORT_DEFERRED;
	}
	sub.addr = it->rcpt;
	sub.service = name;
	sub.nexthop = colon != NULL && colon[1] != '\0' ? colon + 1 : at != NULL ? at + 1 : "";
	sub.lines = NULL;
	st = tp->deliver(&sub, dsn);
	free(name);
	return st;
}

/* local_worse - the status that decides for the queue recipient: any
 * deferral defers it (every delivery is tried again), else it is done */
static int
local_rank(enum transport_status st)
{
	return st == TRANSPORT_DEFERRED ? 2 : st == TRANSPORT_BOUNCED ? 1 : 0;
}

void
local_prep_deinit(struct local_prep *p)
{
	if (p->planned)
		local_plan_deinit(&p->plan);
	maps_free(&p->amaps);
	strvec_deinit(&p->delivered);
	str_deinit(&p->content);
	str_deinit(&p->aliases);
	memset(p, 0, sizeof(*p));
}

int
local_prepare(const struct transport_request *req, struct local_prep *p,
    struct transport_dsn *dsn)
{
	const struct qmsg *m = req->msg;
	const struct qmsg_rcpt *r = &m->rcpts[req->rcpt];
	struct local_expand_ctx ctx;
	const char *err;

	memset(p, 0, sizeof(*p));
	p->batch_item = -1;
	p->orig = r->orcpt != NULL ? (strncasecmp(r->orcpt, "rfc822;", 7) == 0 ? r->orcpt + 7 :
	    r->orcpt) : r->addr;
	str_init(&p->content, m->size + 1);
	qmsg_content(m, &p->content);
	strvec_init(&p->delivered);
	local_delivered_to(p->content.s, p->content.len, &p->delivered);
	str_init(&p->aliases, 128);
	memset(&ctx, 0, sizeof(ctx));
	if (maincf_get(req->cf, "alias_maps", &p->aliases, &err) != 0) {
		transport_dsn_set(dsn, "4.3.0", "local", err);
		return -1;
	}
	if (p->aliases.len > 0) {
		ctx.alias_uid = local_alias_check(req->cf, p->aliases.s);
		p->amaps = maps_open(p->aliases.s, MAPS_FLAG_DEFER_ERRORS, &err);
		if (p->amaps == NULL) {
			transport_dsn_set(dsn, "4.3.0", "local", err);
			return -1;
		}
	}
	ctx.cf = req->cf;
	ctx.aliases = p->amaps;
	ctx.lookup_user = local_user_getpwnam;
	ctx.service = req->service;
	ctx.sender = m->sender;
	ctx.delivered_to = &p->delivered;
	ctx.dev_mode = local_euid() != 0;
	if (local_expand(&ctx, r->addr, &p->plan, &err) != 0) {
		transport_dsn_set(dsn, "4.3.0", "local", err);
		return -1;
	}
	p->planned = true;
	p->lm.cf = req->cf;
	p->lm.content = p->content.s;
	p->lm.len = p->content.len;
	p->lm.arrival = (time_t)m->arrival_sec;
	p->lm.orig_rcpt = p->orig;
	p->lm.dev_mode = ctx.dev_mode;
	/* the usual case, a user's own Maildir or mbox and nothing else, can
	 * be stored together with other messages for the same mailbox */
	if (p->plan.n == 1 && p->plan.v[0].kind == LOCAL_MAILBOX)
		p->batch_item = 0;
	return 0;
}

enum transport_status
local_transport_deliver(const struct transport_request *req, struct transport_dsn *dsn)
{
	struct local_prep p;
	enum transport_status st;

	if (local_helper_active())
		return local_helper_deliver(req, false, dsn);
	st = local_prepare(req, &p, dsn) == 0 ? local_run(req, &p, dsn) : TRANSPORT_DEFERRED;
	local_prep_deinit(&p);
	return st;
}

enum transport_status
local_run(const struct transport_request *req, struct local_prep *p, struct transport_dsn *dsn)
{
	const struct qmsg *m = req->msg;
	const struct qmsg_rcpt *r = &m->rcpts[req->rcpt];
	struct local_plan plan = p->plan;
	struct local_msg lm = p->lm;
	struct str what;
	struct transport_dsn one;
	enum transport_status st, worst = TRANSPORT_SENT;
	const char *err;
	bool have = false, have_forward = false;
	size_t i;

	str_init(&what, 64);
	for (i = 0; i < plan.n; i++) {
		const struct local_item *it = &plan.v[i];

		switch (it->kind) {
		case LOCAL_FORWARD:
			have_forward = true;
			continue;
		case LOCAL_BOUNCE:
			transport_dsn_set(&one, it->status, "local", it->reason);
			snprintf(one.status, sizeof(one.status), "%s", it->status);
			st = TRANSPORT_BOUNCED;
			break;
		case LOCAL_DEFER:
			transport_dsn_set(&one, it->status, "local", it->reason);
			snprintf(one.status, sizeof(one.status), "%s", it->status);
			st = TRANSPORT_DEFERRED;
			break;
		case LOCAL_VIRTUAL: {
			struct transport_request sub = *req;

			sub.addr = it->target;
			st = virtual_transport_deliver(&sub, &one);
			break;
		}
		case LOCAL_PASS:
			if (plan.n == 1 && local_pass_to_qmgr(it)) {
				/* Postfix's deliver_pass: the queue manager hands
				 * the recipient to that transport */
				memset(dsn, 0, sizeof(*dsn));
				snprintf(dsn->relay, sizeof(dsn->relay), "%s", it->target);
				snprintf(dsn->reason, sizeof(dsn->reason), "%s", it->rcpt);
				snprintf(dsn->status, sizeof(dsn->status), "4.3.0");
				worst = TRANSPORT_PASSED;
				goto out;
			}
			st = local_pass_deliver(req, it, &one);
			break;
		default:
			if ((ssize_t)i == p->batch_item && p->batch_died) {
				transport_dsn_set(&one, "4.3.0", "local", "delivery process died");
				st = TRANSPORT_DEFERRED;
			} else if ((ssize_t)i == p->batch_item && p->batch_done) {
				/* stored by the batch (local_exec_mailbox_batch) */
				str_reset(&what);
				str_append(&what, storage_format_of(it->target) == STORAGE_MAILDIR ?
				    "maildir" : "mailbox");
				transport_dsn_set(&one, "2.0.0", "local", "");
				st = TRANSPORT_SENT;
			} else
				st = local_exec(&lm, it, &one, &what);
			break;
		}
		if (st == TRANSPORT_SENT && it->kind != LOCAL_VIRTUAL && it->kind != LOCAL_PASS) {
			char reason[TRANSPORT_DSN_TEXT_SIZE];

			snprintf(reason, sizeof(reason), "delivered to %s", what.s);
			transport_dsn_set(&one, "2.0.0", "local", reason);
		}
		transport_add_line(req, it->rcpt, st, &one);
		if (st == TRANSPORT_BOUNCED && it->sender != NULL &&
		    strcmp(it->sender, m->sender) != 0) {
			/* an owner- alias takes the errors of its list: the
			 * notice goes there now, and the queue recipient is
			 * done as far as this delivery goes */
			if (local_bounce_to_owner(req->cf, m, r, it, &one, &err) != 0) {
				log_warn("%s: cannot return %s to owner %s: %s", m->id, it->rcpt,
				    it->sender, err);
				transport_dsn_set(&one, "4.3.0", "local",
				    "cannot queue the notice to the list owner");
				st = TRANSPORT_DEFERRED;
			} else
				st = TRANSPORT_SENT;
		}
		if (!have || local_rank(st) > local_rank(worst)) {
			*dsn = one;
			worst = st;
			have = true;
		}
	}
	if (have_forward && worst != TRANSPORT_DEFERRED) {
		char id[QFILE_ID_SIZE], reason[TRANSPORT_DSN_TEXT_SIZE];
		size_t j, k;

		/* one new message per envelope sender: a list's copies go out
		 * from its owner, the others from the message's sender */
		for (i = 0; i < plan.n && worst != TRANSPORT_DEFERRED; i++) {
			const char *snd = plan.v[i].sender;

			if (plan.v[i].kind != LOCAL_FORWARD)
				continue;
			for (j = 0; j < i; j++)
				if (plan.v[j].kind == LOCAL_FORWARD && strcmp(plan.v[j].sender, snd) == 0)
					break;
			if (j < i)
				continue;	/* this sender's message is out already */
			if (local_resubmit_as_owner(req->cf, m, lm.content, lm.len, &plan, r, snd, id,
			    &err) != 0) {
				transport_dsn_set(dsn, "4.3.0", "local", err);
				worst = TRANSPORT_DEFERRED;
				break;
			}
			snprintf(reason, sizeof(reason), "forwarded as %s", id);
			transport_dsn_set(&one, "2.0.0", "local", reason);
			for (k = i; k < plan.n; k++)
				if (plan.v[k].kind == LOCAL_FORWARD && strcmp(plan.v[k].sender, snd) == 0)
					transport_add_line(req, plan.v[k].target, TRANSPORT_SENT, &one);
			if (!have) {
				*dsn = one;
				worst = TRANSPORT_SENT;
				have = true;
			}
		}
	}
	if (!have && !have_forward) {
		/* an alias or include that expanded to nothing new */
		transport_dsn_set(dsn, "2.0.0", "local", "discarded: duplicate or empty expansion");
		worst = TRANSPORT_SENT;
	} else if (worst == TRANSPORT_SENT) {
		/* RFC 3461 6.2.7: a mailbox, file or command of the recipient
		 * itself is a final delivery ("delivered"); an expansion into
		 * several is "expanded"; one forwarded address passes the
		 * request on with the copy (no notice now) */
		if (plan.n > 1)
			snprintf(dsn->action, sizeof(dsn->action), "expanded");
		else if (!have_forward)
			snprintf(dsn->action, sizeof(dsn->action), "delivered");
		/* else the forwarded copy carries the request on */
	}
out:
	str_deinit(&what);
	return worst;
}
