/* postsuper.c - postsuper(1): delete (-d), hold (-h), release (-H) and
 * requeue (-r) messages by queue ID or ALL, and check and repair the
 * queue's structure (-s). Every ID from the command line or stdin ("-") is
 * checked with qfile_id_is_valid before a path is built from it.
 * Tests: tests/e2e/test_queue_commands.py */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "queue/qctl.h"
#include "queue/qdir.h"
#include "queue/qfile.h"

/* Temporary files younger than this may belong to a receiver at work. */
#define PS_STALE_TEMP_SECONDS	3600

enum ps_op { PS_DELETE, PS_HOLD, PS_RELEASE, PS_REQUEUE };

struct ps_request {
	enum ps_op	 op;
	char		*arg;		/* ID, ALL or - ; borrowed from argv */
	char		*queue;		/* optional queue name; borrowed */
};

/* The queues each operation looks in, as Postfix's postsuper. */
static const char *const ps_delete_queues[] = { "hold", "incoming", "active", "deferred",
	"maildrop", NULL };
static const char *const ps_hold_queues[] = { "incoming", "active", "deferred", "maildrop",
	NULL };
static const char *const ps_release_queues[] = { "hold", NULL };
static const char *const ps_requeue_queues[] = { "hold", "incoming", "active", "deferred",
	NULL };

static const char *const *
ps_queues(enum ps_op op)
{
	switch (op) {
	case PS_DELETE: return ps_delete_queues;
	case PS_HOLD: return ps_hold_queues;
	case PS_RELEASE: return ps_release_queues;
	case PS_REQUEUE: default: return ps_requeue_queues;
	}
}

/* ps_apply - one message in one queue; true when it was acted on */
static bool
ps_apply(const char *queue_dir, enum ps_op op, const char *queue, const char *id)
{
	char *path;
	bool ok = false;

	switch (op) {
	case PS_DELETE:
		if (qdir_remove(queue_dir, queue, id) == 0) {
			log_info("%s: removed", id);
			ok = true;
		}
		break;
	case PS_HOLD:
		if (strcmp(queue, "hold") != 0 && qdir_move(queue_dir, id, queue, "hold") == 0) {
			log_info("%s: placed on hold", id);
			ok = true;
		}
		break;
	case PS_RELEASE:
		/* to deferred with mtime now: eligible at the next deferred scan */
		if (qdir_move(queue_dir, id, "hold", "deferred") == 0) {
			path = qdir_path(queue_dir, "deferred", id);
			(void)utimensat(AT_FDCWD, path, NULL, 0);
			free(path);
			log_info("%s: released from hold", id);
			ok = true;
		}
		break;
	case PS_REQUEUE:
		/* Postfix requeues through maildrop and pickup; until pickup
		 * exists, incoming is where the queue manager takes it from */
		if (strcmp(queue, "incoming") == 0 ||
		    qdir_move(queue_dir, id, queue, "incoming") == 0) {
			path = qdir_defer_path(queue_dir, id);
			(void)unlink(path);
			free(path);
			log_info("%s: requeued", id);
			ok = true;
		}
		break;
	}
	return ok;
}

/* ps_one_id - act on id wherever the operation looks (or only in queue) */
static size_t
ps_one_id(const char *queue_dir, const struct ps_request *r, const char *id)
{
	const char *const *qs = ps_queues(r->op);
	size_t i, n = 0;

	if (!qfile_id_is_valid(id)) {
		log_warn("invalid mail queue id: %s", id);
		return 0;
	}
	for (i = 0; qs[i] != NULL; i++) {
		if (r->queue != NULL && strcmp(r->queue, qs[i]) != 0)
			continue;
		if (ps_apply(queue_dir, r->op, qs[i], id)) {
			n++;
			break;
		}
	}
	return n;
}

static size_t
ps_all(const char *queue_dir, const struct ps_request *r)
{
	const char *const *qs = ps_queues(r->op);
	struct strvec ids[8];
	size_t i, j, nq, n = 0;

	/* list every queue first: a message moved by this very run (hold ->
	 * incoming) must not be found again further down */
	for (nq = 0; qs[nq] != NULL && nq < 8; nq++) {
		strvec_init(&ids[nq]);
		if (r->queue == NULL || strcmp(r->queue, qs[nq]) == 0)
			(void)qdir_list(queue_dir, qs[nq], &ids[nq]);
	}
	for (i = 0; i < nq; i++) {
		for (j = 0; j < ids[i].n; j++)
			if (ps_apply(queue_dir, r->op, qs[i], ids[i].v[j]))
				n++;
		strvec_deinit(&ids[i]);
	}
	return n;
}

static size_t
ps_stdin(const char *queue_dir, const struct ps_request *r)
{
	char line[256];
	size_t n = 0, len;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		len = strcspn(line, " \t\r\n");
		line[len] = '\0';
		if (len > 0)
			n += ps_one_id(queue_dir, r, line);
	}
	return n;
}

/* ps_structure - postsuper -s: directories present with their modes,
 * stale temporary files and stray names removed, orphaned deferral
 * reasons removed */
static int
ps_structure(const char *queue_dir)
{
	struct strvec names;
	struct stat st;
	const char *err;
	char *path;
	size_t i, q;
	time_t now = time(NULL);

	if (qdir_create(queue_dir, (uid_t)-1, (gid_t)-1, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		return 1;
	}
	for (q = 0; qdir_message_queues[q] != NULL; q++) {
		if (strcmp(qdir_message_queues[q], "maildrop") == 0)
			continue;	/* pickup's files: issue 4 */
		strvec_init(&names);
		(void)qdir_list_other(queue_dir, qdir_message_queues[q], &names);
		for (i = 0; i < names.n; i++) {
			path = xasprintf("%s/%s/%s", queue_dir, qdir_message_queues[q], names.v[i]);
			if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			    now - st.st_mtime >= PS_STALE_TEMP_SECONDS) {
				if (unlink(path) == 0)
					log_warn("removed stale file %s/%s", qdir_message_queues[q],
					    names.v[i]);
			} else if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
				log_warn("%s/%s: not a regular file; remove it by hand",
				    qdir_message_queues[q], names.v[i]);
			}
			free(path);
		}
		strvec_deinit(&names);
	}
	strvec_init(&names);
	(void)qdir_list(queue_dir, "defer", &names);
	for (i = 0; i < names.n; i++) {
		if (qdir_find(queue_dir, names.v[i]) == NULL) {
			path = qdir_defer_path(queue_dir, names.v[i]);
			if (unlink(path) == 0)
				log_warn("removed orphaned deferral record defer/%s", names.v[i]);
			free(path);
		}
	}
	strvec_deinit(&names);
	return 0;
}

static const char *const ps_summary[] = {
	[PS_DELETE] = "Deleted",
	[PS_HOLD] = "Placed on hold",
	[PS_RELEASE] = "Released from hold",
	[PS_REQUEUE] = "Requeued",
};

int
cmd_postsuper(int argc, char **argv)
{
	struct ps_request reqs[64];
	size_t nreqs = 0, i, counts[4] = { 0 };
	const char *config = NULL, *err;
	bool structure = false;
	struct qctl q;
	int c, ret = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "+c:d:h:H:r:spSv")) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'd':
		case 'h':
		case 'H':
		case 'r':
			if (nreqs == sizeof(reqs) / sizeof(reqs[0]))
				goto usage;
			reqs[nreqs].op = c == 'd' ? PS_DELETE : c == 'h' ? PS_HOLD :
			    c == 'H' ? PS_RELEASE : PS_REQUEUE;
			reqs[nreqs].arg = optarg;
			reqs[nreqs].queue = NULL;
			/* "-d ALL deferred": a queue name may follow */
			if (optind < argc && argv[optind][0] != '-' &&
			    qdir_is_message_queue(argv[optind]))
				reqs[nreqs].queue = argv[optind++];
			nreqs++;
			break;
		case 's':
		case 'p':
		case 'S':
			structure = true;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		default:
			goto usage;
		}
	}
	if (optind < argc) {
		/* a queue name after the last request */
		if (nreqs > 0 && optind + 1 == argc && qdir_is_message_queue(argv[optind]))
			reqs[nreqs - 1].queue = argv[optind];
		else
			goto usage;
	}
	if (qctl_open(&q, config, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		qctl_close(&q);
		return 1;
	}
	if (structure || nreqs == 0)
		ret = ps_structure(q.queue_dir);
	for (i = 0; i < nreqs; i++) {
		if (strcmp(reqs[i].arg, "ALL") == 0)
			counts[reqs[i].op] += ps_all(q.queue_dir, &reqs[i]);
		else if (strcmp(reqs[i].arg, "-") == 0)
			counts[reqs[i].op] += ps_stdin(q.queue_dir, &reqs[i]);
		else
			counts[reqs[i].op] += ps_one_id(q.queue_dir, &reqs[i], reqs[i].arg);
	}
	for (i = 0; i < 4; i++)
		if (counts[i] > 0)
			log_info("%s: %zu message%s", ps_summary[i], counts[i],
			    counts[i] == 1 ? "" : "s");
	/* released or requeued mail: tell the queue manager, if one runs */
	if (counts[PS_RELEASE] > 0)
		(void)qctl_wake(q.queue_dir, QCTL_REQ_FLUSH_DEFERRED);
	if (counts[PS_REQUEUE] > 0)
		(void)qctl_wake(q.queue_dir, QCTL_REQ_SCAN_INCOMING);
	qctl_close(&q);
	return ret;
usage:
	log_msg(LOG_LEVEL_FATAL, "usage: postsuper [-c config_dir] [-d queue_id] [-h queue_id] "
	    "[-H queue_id] [-r queue_id] [-s] [-v] [queue...]");
	return 1;
}
