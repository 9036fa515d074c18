/* postqueue.c - postqueue(1), mailq(1): list the queue in Postfix's mailq
 * layout (-p) or as JSON lines (-j), flush deferred mail (-f), schedule one
 * message (-i ID). Postfix asks its showq daemon; yubin reads the queue
 * directories itself, so the listing works while the mail system is down.
 * Tests: tests/e2e/test_queue_commands.py */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "queue/qctl.h"
#include "queue/qdir.h"
#include "queue/qmsg.h"

/* Postfix's showq_compat.c column layout */
#define PQ_STRING_FORMAT	"%-11s %8s %-20s %s\n"
#define PQ_SENDER_FORMAT	"%-11s %8ld %20.20s %s\n"
#define PQ_DROP_FORMAT		"%-11s %8ld %20.20s (maildrop queue, sender UID %u)\n"

/* The queues mailq shows, in Postfix 3's order. */
static const char *const pq_queues[] = { "maildrop", "hold", "incoming", "active", "deferred",
	NULL };

static void
pq_printable(struct str *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		str_append_c(out, c < 0x20 || c == 0x7f ? '?' : c);
	}
}

static void
pq_json_string(struct str *out, const char *s)
{
	str_append_c(out, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			str_appendf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			str_appendf(out, "\\u%04x", c);
		else
			str_append_c(out, c);
	}
	str_append_c(out, '"');
}

/* pq_report - one message in mailq layout */
static void
pq_report(struct str *out, const char *queue_dir, const char *queue, const struct qmsg *m)
{
	struct qctl_reason *reasons;
	const char *prev = NULL;
	char idbuf[QFILE_ID_SIZE + 2], timebuf[32];
	struct str addr;
	time_t t = (time_t)m->arrival_sec;
	struct tm tm;
	size_t i, j, nreasons;
	int pad;

	snprintf(idbuf, sizeof(idbuf), "%s%s", m->id, strcmp(queue, "active") == 0 ? "*" :
	    strcmp(queue, "hold") == 0 ? "!" : "");
	localtime_r(&t, &tm);
	asctime_r(&tm, timebuf);
	str_init(&addr, 64);
	pq_printable(&addr, *m->sender != '\0' ? m->sender : "MAILER-DAEMON");
	str_appendf(out, PQ_SENDER_FORMAT, idbuf, (long)m->size, timebuf, addr.s);
	qctl_reasons_read(queue_dir, m->id, &reasons, &nreasons);
	/* recipients with a deferral reason first, the reason printed once
	 * for a run of recipients that share it, as showq does */
	for (j = 0; j < nreasons; j++) {
		for (i = 0; i < m->nrcpts; i++)
			if (!m->rcpts[i].done && strcmp(m->rcpts[i].addr, reasons[j].rcpt) == 0)
				break;
		if (i == m->nrcpts)
			continue;
		if (prev == NULL || strcmp(prev, reasons[j].text) != 0) {
			pad = 76 - (int)strlen(reasons[j].text);
			str_appendf(out, "%*s(%s)\n", pad > 0 ? pad : 0, "", reasons[j].text);
			prev = reasons[j].text;
		}
		str_reset(&addr);
		pq_printable(&addr, reasons[j].rcpt);
		str_appendf(out, PQ_STRING_FORMAT, "", "", "", addr.s);
	}
	for (i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].done || qctl_reason_for(reasons, nreasons, m->rcpts[i].addr) != NULL)
			continue;
		str_reset(&addr);
		pq_printable(&addr, m->rcpts[i].addr);
		str_appendf(out, PQ_STRING_FORMAT, "", "", "", addr.s);
	}
	qctl_reasons_free(&reasons, nreasons);
	str_deinit(&addr);
}

/* pq_report_json - one message as Postfix 3.1's postqueue -j line */
static void
pq_report_json(struct str *out, const char *queue_dir, const char *queue, const struct qmsg *m)
{
	struct qctl_reason *reasons;
	const char *why;
	size_t i, n = 0, nreasons;

	qctl_reasons_read(queue_dir, m->id, &reasons, &nreasons);
	str_append(out, "{\"queue_name\": ");
	pq_json_string(out, queue);
	str_append(out, ", \"queue_id\": ");
	pq_json_string(out, m->id);
	str_appendf(out, ", \"arrival_time\": %ld, \"message_size\": %zu, "
	    "\"forced_expire\": false, \"sender\": ", m->arrival_sec, m->size);
	pq_json_string(out, m->sender);
	str_append(out, ", \"recipients\": [");
	for (i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].done)
			continue;
		str_append(out, n++ > 0 ? ", {\"address\": " : "{\"address\": ");
		pq_json_string(out, m->rcpts[i].addr);
		if ((why = qctl_reason_for(reasons, nreasons, m->rcpts[i].addr)) != NULL) {
			str_append(out, ", \"delay_reason\": ");
			pq_json_string(out, why);
		}
		str_append_c(out, '}');
	}
	str_append(out, "]}\n");
	qctl_reasons_free(&reasons, nreasons);
}

/* pq_list - mailq (json false) or postqueue -j (json true) */
static int
pq_list(const char *queue_dir, bool json)
{
	struct strvec ids;
	struct qmsg *m;
	struct str out;
	struct stat st;
	const char *err;
	unsigned long total = 0;
	char *path, timebuf[32];
	size_t q, i, count = 0;
	struct tm tm;

	str_init(&out, 4096);
	for (q = 0; pq_queues[q] != NULL; q++) {
		strvec_init(&ids);
		(void)qdir_list(queue_dir, pq_queues[q], &ids);
		for (i = 0; i < ids.n; i++) {
			path = qdir_path(queue_dir, pq_queues[q], ids.v[i]);
			if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
				free(path);
				continue;
			}
			if (qmsg_open(path, false, &m, &err) != 0) {
				/* maildrop files are pickup's format (issue 4) */
				if (errno != ENOENT && strcmp(pq_queues[q], "maildrop") == 0 &&
				    !json) {
					str_append(&out, count == 0 ? "" : "\n");
					if (count == 0)
						str_appendf(&out, PQ_STRING_FORMAT, "-Queue ID-",
						    "--Size--", "----Arrival Time----",
						    "-Sender/Recipient-------");
					localtime_r(&st.st_mtime, &tm);
					asctime_r(&tm, timebuf);
					str_appendf(&out, PQ_DROP_FORMAT, ids.v[i], (long)st.st_size,
					    timebuf, (unsigned)st.st_uid);
					total += (unsigned long)st.st_size;
					count++;
				} else if (errno != ENOENT) {
					log_warn("%s", err);
				}
				free(path);
				continue;
			}
			if (json) {
				pq_report_json(&out, queue_dir, pq_queues[q], m);
			} else {
				if (count == 0)
					str_appendf(&out, PQ_STRING_FORMAT, "-Queue ID-", "--Size--",
					    "----Arrival Time----", "-Sender/Recipient-------");
				else
					str_append_c(&out, '\n');
				pq_report(&out, queue_dir, pq_queues[q], m);
			}
			total += (unsigned long)st.st_size;
			count++;
			qmsg_free(&m);
			free(path);
			fwrite(out.s, 1, out.len, stdout);
			str_reset(&out);
		}
		strvec_deinit(&ids);
	}
	if (!json) {
		if (count == 0)
			str_append(&out, "Mail queue is empty\n");
		else
			str_appendf(&out, "\n-- %lu Kbytes in %zu Request%s.\n", total / 1024, count,
			    count == 1 ? "" : "s");
	}
	fwrite(out.s, 1, out.len, stdout);
	str_deinit(&out);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* pq_flush - postqueue -f, sendmail -q, postfix flush */
static int
pq_flush(const char *queue_dir)
{
	bool woke;

	(void)qctl_flush(queue_dir, &woke);
	if (!woke) {
		log_msg(LOG_LEVEL_FATAL, "Cannot flush mail queue - mail system is down");
		return 1;
	}
	return 0;
}

/* pq_site - postqueue -s site: the deferred messages with a recipient
 * still to deliver in that domain are due now (their next-attempt time,
 * the file's mtime, becomes now), then the queue manager is woken */
static int
pq_site(const char *queue_dir, const char *site)
{
	struct strvec ids;
	const char *err;
	size_t i, k;

	if (site == NULL || *site == '\0' || strchr(site, '/') != NULL) {
		log_msg(LOG_LEVEL_FATAL, "invalid site name: %s", site != NULL ? site : "");
		return 1;
	}
	strvec_init(&ids);
	(void)qdir_list(queue_dir, "deferred", &ids);
	for (i = 0; i < ids.n; i++) {
		char *path = qdir_path(queue_dir, "deferred", ids.v[i]);
		struct qmsg *m;
		bool match = false;

		if (qmsg_open(path, false, &m, &err) == 0) {
			for (k = 0; k < m->nrcpts && !match; k++) {
				const char *at = strrchr(m->rcpts[k].addr, '@');

				match = !m->rcpts[k].done && at != NULL && strcasecmp(at + 1, site) == 0;
			}
			qmsg_free(&m);
		}
		if (match)
			(void)utimensat(AT_FDCWD, path, NULL, 0);
		free(path);
	}
	strvec_deinit(&ids);
	if (qctl_wake(queue_dir, QCTL_REQ_FLUSH_DEFERRED) != 0) {
		log_msg(LOG_LEVEL_FATAL, "Cannot flush mail queue - mail system is down");
		return 1;
	}
	return 0;
}

/* pq_schedule - postqueue -i ID: deliver one deferred message now */
static int
pq_schedule(const char *queue_dir, const char *id)
{
	char *path;

	if (!qfile_id_is_valid(id)) {
		log_msg(LOG_LEVEL_FATAL, "invalid queue ID: %s", id);
		return 1;
	}
	path = qdir_path(queue_dir, "deferred", id);
	if (utimensat(AT_FDCWD, path, NULL, 0) != 0) {
		free(path);
		log_msg(LOG_LEVEL_FATAL, "%s: no such deferred message", id);
		return 1;
	}
	free(path);
	if (qctl_wake(queue_dir, QCTL_REQ_FLUSH_DEFERRED) != 0) {
		log_msg(LOG_LEVEL_FATAL, "Cannot flush mail queue - mail system is down");
		return 1;
	}
	return 0;
}

int
postqueue_run(const char *config_flag, int mode, const char *arg)
{
	struct qctl q;
	const char *err;
	int ret;

	if (qctl_open(&q, config_flag, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		qctl_close(&q);
		return 1;
	}
	switch (mode) {
	case 'p':
	case 'j':
		ret = pq_list(q.queue_dir, mode == 'j');
		break;
	case 'f':
		ret = pq_flush(q.queue_dir);
		break;
	case 's':
		ret = pq_site(q.queue_dir, arg);
		break;
	case 'i':
		ret = pq_schedule(q.queue_dir, arg);
		break;
	default:
		ret = 1;
		break;
	}
	qctl_close(&q);
	return ret;
}

int
cmd_postqueue(int argc, char **argv)
{
	const char *config = NULL, *arg = NULL;
	int c, mode = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "+c:fi:jps:v")) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
		case 'j':
		case 'p':
			mode = c;
			break;
		case 'i':
		case 's':
			/* -s site: the deferred mail for that domain (yubin
			 * keeps no fast-flush logs: the queue is scanned) */
			mode = c;
			arg = optarg;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		default:
			goto usage;
		}
	}
	if (mode == 0 || optind != argc)
		goto usage;
	return postqueue_run(config, mode, arg);
usage:
	log_msg(LOG_LEVEL_FATAL, "usage: postqueue -f | postqueue -i queueid | postqueue -j | "
	    "postqueue -p | postqueue -s site");
	return 1;
}

/* cmd_mailq - mailq(1): the sendmail-compatible name of postqueue -p */
int
cmd_mailq(int argc, char **argv)
{
	char *config = NULL;
	int c, ret;

	optind = 1;
	while ((c = getopt(argc, argv, "+c:C:v")) != -1) {
		/* -C takes main.cf or its directory, as sendmail's */
		if (c == 'c' || c == 'C') {
			free(config);
			config = c == 'c' ? xstrdup(optarg) : instance_dir_from_path(optarg);
		}
	}
	ret = postqueue_run(config, 'p', NULL);
	free(config);
	return ret;
}
