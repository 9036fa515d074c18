/* postcat.c - postcat(1): show a queue file as Postfix's postcat does:
 * "*** ENVELOPE RECORDS queue/ID ***", the records by name, "*** MESSAGE
 * CONTENTS ... ***", the message, "*** HEADER EXTRACTED ... ***", the
 * records added after the content, "*** MESSAGE FILE END ... ***".
 * -e envelope, -h header, -b body (any mix; default all), -q ID looks the
 * message up in the queues, else the arguments are file names.
 * Tests: tests/e2e/test_queue_commands.py */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "queue/qctl.h"
#include "queue/qdir.h"
#include "queue/qmsg.h"

#define PC_ENVELOPE	0x1
#define PC_HEADER	0x2
#define PC_BODY		0x4

struct pc_state {
	struct str	 out;
	struct str	 content;
	const char	*name;		/* queue/ID or the path, for the markers */
	int		 flags;
	bool		 in_extracted;
};

static void
pc_time(struct str *out, const char *data, size_t len)
{
	char buf[32], timebuf[32];
	time_t t;
	struct tm tm;

	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31), data);
	t = (time_t)strtol(buf, NULL, 10);
	localtime_r(&t, &tm);
	asctime_r(&tm, timebuf);
	timebuf[strcspn(timebuf, "\n")] = '\0';
	str_append(out, timebuf);
}

/* pc_split - the header's length and where the body starts: after the
 * first empty line (LF or CRLF), or nowhere */
static void
pc_split(const struct str *c, size_t *hlen_r, size_t *bstart_r)
{
	size_t pos = 0, eol;
	const char *nl;

	while (pos < c->len) {
		nl = memchr(c->s + pos, '\n', c->len - pos);
		eol = nl != NULL ? (size_t)(nl - c->s) + 1 : c->len;
		if (eol - pos == 1 || (eol - pos == 2 && c->s[pos] == '\r')) {
			*hlen_r = pos;
			*bstart_r = eol;
			return;
		}
		pos = eol;
	}
	*hlen_r = c->len;
	*bstart_r = c->len;
}

static int
pc_record(int type, const char *data, size_t len, void *ctx)
{
	struct pc_state *s = ctx;

	switch (type) {
	case QMSG_REC_VERSION:
		return 0;
	case QMSG_REC_MESG:
		if (s->flags & (PC_HEADER | PC_BODY))
			str_appendf(&s->out, "*** MESSAGE CONTENTS %s ***\n", s->name);
		return 0;
	case QMSG_REC_NORM:
		str_append_n(&s->content, data, len);
		return 0;
	case QMSG_REC_XTRA:
		s->in_extracted = true;
		/* the content is complete: print the parts asked for */
		if (s->flags & (PC_HEADER | PC_BODY)) {
			size_t hlen, bstart;

			pc_split(&s->content, &hlen, &bstart);
			if ((s->flags & PC_HEADER) && (s->flags & PC_BODY))
				str_append_n(&s->out, s->content.s, s->content.len);
			else if (s->flags & PC_HEADER)
				str_append_n(&s->out, s->content.s, hlen);
			else
				str_append_n(&s->out, s->content.s + bstart,
				    s->content.len - bstart);
		}
		if (s->flags & PC_ENVELOPE)
			str_appendf(&s->out, "*** HEADER EXTRACTED %s ***\n", s->name);
		return 0;
	case QMSG_REC_END:
		str_appendf(&s->out, "*** MESSAGE FILE END %s ***\n", s->name);
		return 0;
	default:
		break;
	}
	if (!(s->flags & PC_ENVELOPE))
		return 0;
	str_appendf(&s->out, "%s: ", qmsg_rec_name(type));
	if (type == QMSG_REC_TIME)
		pc_time(&s->out, data, len);
	else if (type == QMSG_REC_RCPT || type == QMSG_REC_DONE) {
		const char *sp = memchr(data, ' ', len);

		if (sp != NULL)
			str_append_n(&s->out, sp + 1, len - (size_t)(sp + 1 - data));
	} else
		str_append_n(&s->out, data, len);
	str_append_c(&s->out, '\n');
	return 0;
}

/* pc_show_msg - print an open message; frees it */
static int
pc_show_msg(struct qmsg *m, const char *name, int flags)
{
	struct pc_state s = { .name = name, .flags = flags };

	str_init(&s.out, 4096);
	str_init(&s.content, m->size + 1);
	if (flags & PC_ENVELOPE)
		str_appendf(&s.out, "*** ENVELOPE RECORDS %s ***\n", name);
	(void)qmsg_walk(m, pc_record, &s);
	fwrite(s.out.s, 1, s.out.len, stdout);
	str_deinit(&s.out);
	str_deinit(&s.content);
	qmsg_free(&m);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
pc_show(const char *path, const char *name, int flags)
{
	struct qmsg *m;
	const char *err;

	if (qmsg_open(path, false, &m, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		return 1;
	}
	return pc_show_msg(m, name, flags);
}

/* pc_show_id - the message of a queue ID, wherever it is: the queue
 * manager may move it (active -> deferred, ...) between the look-up and
 * the open, so a vanished file is looked up again, a few times */
static int
pc_show_id(const char *queue_dir, const char *id, int flags)
{
	struct qmsg *m;
	struct stat st;
	const char *queue, *err = NULL;
	char *path = NULL, *name;
	int attempt, ret;

	for (attempt = 0; attempt < 10; attempt++) {
		if ((queue = qdir_find(queue_dir, id)) == NULL)
			break;
		free(path);
		path = qdir_path(queue_dir, queue, id);
		if (qmsg_open(path, false, &m, &err) == 0) {
			name = xasprintf("%s/%s", queue, id);
			ret = pc_show_msg(m, name, flags);
			free(name);
			free(path);
			return ret;
		}
		if (lstat(path, &st) == 0)
			break;		/* there, but unreadable: say why */
	}
	if (err != NULL && path != NULL && lstat(path, &st) == 0)
		log_msg(LOG_LEVEL_FATAL, "%s", err);
	else
		log_msg(LOG_LEVEL_FATAL, "open queue file %s: No such file or directory", id);
	free(path);
	return 1;
}

int
cmd_postcat(int argc, char **argv)
{
	const char *config = NULL, *err;
	int c, flags = 0, ret = 0;
	bool by_id = false;
	struct qctl q;

	optind = 1;
	while ((c = getopt(argc, argv, "+bc:ehoqrsv")) != -1) {
		switch (c) {
		case 'b': flags |= PC_BODY; break;
		case 'e': flags |= PC_ENVELOPE; break;
		case 'h': flags |= PC_HEADER; break;
		case 'c': config = optarg; break;
		case 'q': by_id = true; break;
		case 'o': case 'r': case 's': case 'v': break;	/* accepted, as Postfix */
		default: goto usage;
		}
	}
	if (flags == 0)
		flags = PC_ENVELOPE | PC_HEADER | PC_BODY;
	if (optind == argc)
		goto usage;
	if (!by_id) {
		for (; optind < argc; optind++)
			ret |= pc_show(argv[optind], argv[optind], flags);
		return ret;
	}
	if (qctl_open(&q, config, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		qctl_close(&q);
		return 1;
	}
	for (; optind < argc; optind++) {
		if (!qfile_id_is_valid(argv[optind])) {
			log_msg(LOG_LEVEL_FATAL, "invalid mail queue id: %s", argv[optind]);
			ret = 1;
			continue;
		}
		ret |= pc_show_id(q.queue_dir, argv[optind], flags);
	}
	qctl_close(&q);
	return ret;
usage:
	log_msg(LOG_LEVEL_FATAL, "usage: postcat [-bdehnoqv] [-c config_dir] [files...]");
	return 1;
}
