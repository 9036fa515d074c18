/* qtool.c - "yubin qtool enqueue": put a message straight into the queue,
 * for tests of the queue manager and the queue commands before smtpd and
 * pickup exist (and for crash tests afterwards). Not a user interface.
 *
 *   yubin qtool enqueue [-c DIR] [-f sender] [-a name=value]... [-q queue]
 *	    [-r reason] rcpt... < content
 *
 * -q writes the message into another queue (hold, deferred, active, ...),
 * -r records "reason" as every recipient's deferral reason (with -q
 * deferred). Prints the queue ID.
 * Tests: tests/e2e/test_queue_commands.py */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "queue/qctl.h"
#include "queue/qdir.h"
#include "queue/qfile.h"

static int
qtool_enqueue(int argc, char **argv)
{
	const char *config = NULL, *sender = "", *queue = NULL, *reason = NULL, *err;
	struct qctl_reason *reasons;
	struct qfile_writer *w = NULL;
	char buf[65536], *eq;
	struct strvec attrs;
	struct qctl q;
	size_t n, i;
	int c, ret = 1;

	strvec_init(&attrs);
	optind = 1;
	while ((c = getopt(argc, argv, "+a:c:f:q:r:")) != -1) {
		switch (c) {
		case 'a': strvec_push(&attrs, optarg); break;
		case 'c': config = optarg; break;
		case 'f': sender = optarg; break;
		case 'q': queue = optarg; break;
		case 'r': reason = optarg; break;
		default: goto out;
		}
	}
	if (optind == argc || (queue != NULL && !qdir_is_message_queue(queue))) {
		log_msg(LOG_LEVEL_FATAL, "usage: qtool enqueue [-c DIR] [-f sender] "
		    "[-a name=value] [-q queue] [-r reason] rcpt... < content");
		strvec_deinit(&attrs);
		return 1;
	}
	if (qctl_open(&q, config, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto close;
	}
	if (queue != NULL && strcmp(queue, "incoming") != 0 && strcmp(queue, "active") != 0 &&
	    strcmp(queue, "deferred") != 0 && strcmp(queue, "hold") != 0 &&
	    strcmp(queue, "corrupt") != 0) {
		log_msg(LOG_LEVEL_FATAL, "bad queue name: %s", queue);
		goto close;
	}
	/* written straight into its queue: committed into incoming and moved
	 * after, a running queue manager could take it in between */
	if (qdir_create(q.queue_dir, (uid_t)-1, (gid_t)-1, &err) != 0 ||
	    qfile_writer_open_queue(q.queue_dir, queue != NULL ? queue : "incoming", q.long_ids,
	    &w, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto close;
	}
	(void)qfile_writer_sender(w, sender);
	for (i = 0; i < attrs.n; i++) {
		if ((eq = strchr(attrs.v[i], '=')) == NULL)
			continue;
		*eq = '\0';
		(void)qfile_writer_attr(w, attrs.v[i], eq + 1);
	}
	for (i = (size_t)optind; i < (size_t)argc; i++)
		(void)qfile_writer_rcpt(w, argv[i], NULL, 0);
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if (qfile_writer_content(w, buf, n, 0) != 0)
			break;
	if (qfile_writer_commit(w, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "commit: %s", err);
		goto close;
	}
	if (reason != NULL) {
		n = (size_t)(argc - optind);
		reasons = xcalloc(n, sizeof(*reasons));
		for (i = 0; i < n; i++) {
			reasons[i].rcpt = xstrdup(argv[optind + (int)i]);
			reasons[i].status = xstrdup("4.0.0");
			reasons[i].text = xstrdup(reason);
		}
		(void)qctl_reasons_write(q.queue_dir, qfile_writer_id(w), reasons, n);
		qctl_reasons_free(&reasons, n);
	}
	printf("%s\n", qfile_writer_id(w));
	if (queue == NULL || strcmp(queue, "incoming") == 0)
		(void)qctl_wake(q.queue_dir, QCTL_REQ_SCAN_INCOMING);
	ret = 0;
close:
	qfile_writer_free(&w);
	qctl_close(&q);
out:
	strvec_deinit(&attrs);
	return ret;
}

int
cmd_qtool(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "enqueue") == 0)
		return qtool_enqueue(argc - 1, argv + 1);
	log_msg(LOG_LEVEL_FATAL, "usage: qtool enqueue ...");
	return 1;
}
