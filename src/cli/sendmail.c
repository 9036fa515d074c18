/* sendmail.c - sendmail(1), Postfix's Sendmail-compatible interface.
 *
 * Submission (the default mode, -t, -bs) writes the message as a
 * queue-format file into maildrop/ through the queue writer (temporary
 * name, fsync, rename: pickup never sees half a file), then pokes
 * pickup's FIFO (public/pickup). The daemons need not run: pickup moves
 * the file into the queue when it starts, and rewrites and completes it
 * there (myorigin, canonical, virtual aliases, Message-ID, Date, From), so
 * this command trusts nothing it does not have to.
 *
 *	sendmail [-t] [-i|-oi] [-f sender] [-F name] [-bp] [-bi] [-bs] [-q]
 *	    [-v] [-C dir] [-oX...] [recipient ...]
 *
 * -v asks for a report of the first delivery attempt (a "Mail Delivery
 * Status Report" to the sender), -v -v for verbose logging.
 * -bp lists the queue (mailq), -q delivers deferred mail now (postqueue
 * -f), -bi is newaliases. Other Sendmail options (-B, -N, -R, -V, -X, -o*)
 * are accepted and ignored as Postfix does. Exit codes are sysexits.
 * Tests: tests/e2e/test_sendmail.py, tests/e2e/test_queue_commands.py */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mail/address.h"
#include "mail/header.h"
#include "queue/qctl.h"
#include "queue/qdir.h"
#include "queue/qfile.h"

#define EX_USAGE	64
#define EX_DATAERR	65
#define EX_NOINPUT	66
#define EX_SOFTWARE	70
#define EX_TEMPFAIL	75

/* The pickup daemon's wake-up FIFO, relative to queue_directory. */
#define SENDMAIL_PICKUP_FIFO	"public/pickup"

struct sendmail_opts {
	char		*config;	/* owned: -C */
	const char	*sender;	/* -f, NULL = the login name */
	const char	*full_name;	/* -F */
	bool		 extract;	/* -t */
	bool		 dot_ends;	/* no -i */
	int		 verbose;	/* -v: 1 = a delivery report, more = verbose logging */
};

/* sendmail_wake_pickup - best effort: pickup also scans every second */
static void
sendmail_wake_pickup(const char *queue_dir)
{
	char *path = xasprintf("%s/%s", queue_dir, SENDMAIL_PICKUP_FIFO);
	char c = 'W';
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd >= 0) {
		(void)!write(fd, &c, 1);
		close(fd);
	}
	free(path);
}

/* sendmail_login - the invoking user's name, as Postfix's sendmail uses */
static char *
sendmail_login(void)
{
	struct passwd *pw = getpwuid(getuid());

	return xstrdup(pw != NULL ? pw->pw_name : "unknown");
}

/* sendmail_read - the message from in: a lone "." ends it unless -i;
 * CRLF becomes LF */
static void
sendmail_read(FILE *in, bool dot_ends, struct str *msg)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, in)) > 0) {
		size_t l = (size_t)n;

		if (l > 0 && line[l - 1] == '\n')
			l--;
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (dot_ends && l == 1 && line[0] == '.')
			break;
		str_append_n(msg, line, l);
		str_append_c(msg, '\n');
	}
	free(line);
}

/* sendmail_extract - -t: recipients from To, Cc and Bcc (appended to
 * rcpts); Bcc fields are removed from msg */
static void
sendmail_extract(struct str *msg, struct strvec *rcpts)
{
	struct header_field f;
	struct str out;
	size_t off = 0, n;

	str_init(&out, msg->len + 1);
	while ((n = header_next(msg->s + off, msg->len - off, &f)) > 0) {
		if (header_is(&f, "to") || header_is(&f, "cc") || header_is(&f, "bcc"))
			(void)header_addresses(f.value, f.value_len, rcpts);
		if (!header_is(&f, "bcc"))
			str_append_n(&out, msg->s + off, n);
		off += n;
	}
	str_append_n(&out, msg->s + off, msg->len - off);
	str_reset(msg);
	str_append_n(msg, out.s, out.len);
	str_deinit(&out);
}

/* sendmail_queue - write one message into maildrop. 0, or an exit code. */
static int
sendmail_queue(struct qctl *q, const char *sender, const char *full_name, bool trace,
    const struct strvec *rcpts, const struct str *msg, char *id_r)
{
	struct qfile_writer *w;
	const char *err;
	size_t i;
	int rc = 0;

	if (qfile_writer_open_queue(q->queue_dir, "maildrop", q->long_ids, &w, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "cannot create a file in %s/maildrop: %s", q->queue_dir,
		    err);
		return EX_TEMPFAIL;
	}
	rc |= qfile_writer_sender(w, sender);
	if (full_name != NULL)
		rc |= qfile_writer_attr(w, "full_name", full_name);
	/* -v: the sender gets a report of the first delivery attempt */
	if (trace)
		rc |= qfile_writer_attr(w, "trace_flags", "1");
	for (i = 0; i < rcpts->n; i++)
		rc |= qfile_writer_rcpt(w, rcpts->v[i], NULL, 0);
	rc |= qfile_writer_content(w, msg->s, msg->len, 0);
	if (rc != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s/maildrop: write error", q->queue_dir);
		qfile_writer_abort(&w);
		return EX_TEMPFAIL;
	}
	if (qfile_writer_commit(w, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s/maildrop: %s", q->queue_dir, err);
		qfile_writer_free(&w);
		return EX_TEMPFAIL;
	}
	if (id_r != NULL)
		snprintf(id_r, QFILE_ID_SIZE, "%s", qfile_writer_id(w));
	qfile_writer_free(&w);
	sendmail_wake_pickup(q->queue_dir);
	return 0;
}

/* sendmail_submit - the default mode */
static int
sendmail_submit(struct qctl *q, const struct sendmail_opts *o, struct strvec *rcpts)
{
	struct str msg;
	char *login = sendmail_login();
	const char *sender = o->sender != NULL ? o->sender : login;
	int ret;

	str_init(&msg, 4096);
	sendmail_read(stdin, o->dot_ends, &msg);
	if (o->extract)
		sendmail_extract(&msg, rcpts);
	if (rcpts->n == 0) {
		log_msg(LOG_LEVEL_FATAL, o->extract ?
		    "No recipient addresses found in message header" :
		    "Recipient addresses must be specified on the command line or via the -t "
		    "option");
		ret = EX_USAGE;
	} else {
		ret = sendmail_queue(q, sender, o->full_name, o->verbose == 1, rcpts, &msg, NULL);
	}
	str_deinit(&msg);
	free(login);
	return ret;
}

/* sendmail_reply - one SMTP reply line on stdout */
static void
sendmail_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
sendmail_reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/* sendmail_path - the path after "FROM:" / "TO:", 0 or -1 */
static int
sendmail_path(const char *args, const char *prefix, unsigned flags, struct str *out)
{
	size_t plen = strlen(prefix), used;
	const char *err;

	if (strncasecmp(args, prefix, plen) != 0)
		return -1;
	args += plen;
	while (*args == ' ')
		args++;
	return address_parse_path(args, strlen(args), flags, out, &used, &err);
}

/* sendmail_bs - -bs: an SMTP dialogue on stdin and stdout with smtpd's
 * replies, each message into maildrop as the default mode writes it */
static int
sendmail_bs(struct qctl *q)
{
	struct strvec rcpts;
	struct str sender, addr, msg;
	char *line = NULL, *hostname, id[QFILE_ID_SIZE];
	const char *err;
	size_t cap = 0;
	ssize_t n;
	bool mail = false;
	struct str v;

	str_init(&v, 64);
	if (maincf_get(q->cf, "myhostname", &v, &err) != 0)
		str_append(&v, "localhost");
	hostname = str_export(&v);
	strvec_init(&rcpts);
	str_init(&sender, 64);
	str_init(&addr, 64);
	sendmail_reply("220 %s ESMTP yubin", hostname);
	while ((n = getline(&line, &cap, stdin)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strncasecmp(line, "HELO ", 5) == 0) {
			sendmail_reply("250 %s", hostname);
		} else if (strncasecmp(line, "EHLO ", 5) == 0) {
			printf("250-%s\r\n250-PIPELINING\r\n250-8BITMIME\r\n", hostname);
			sendmail_reply("250 SMTPUTF8");
		} else if (strncasecmp(line, "MAIL ", 5) == 0) {
			if (mail)
				sendmail_reply("503 5.5.1 Error: nested MAIL command");
			else if (sendmail_path(line + 5, "FROM:", 0, &sender) != 0)
				sendmail_reply("501 5.1.7 Bad sender address syntax");
			else {
				mail = true;
				sendmail_reply("250 2.1.0 Ok");
			}
		} else if (strncasecmp(line, "RCPT ", 5) == 0) {
			if (!mail)
				sendmail_reply("503 5.5.1 Error: need MAIL command");
			else if (sendmail_path(line + 5, "TO:", ADDRESS_FLAG_REJECT_NULL, &addr) != 0)
				sendmail_reply("501 5.1.3 Bad recipient address syntax");
			else {
				strvec_push(&rcpts, addr.s);
				sendmail_reply("250 2.1.5 Ok");
			}
		} else if (strcasecmp(line, "DATA") == 0) {
			if (!mail) {
				sendmail_reply("503 5.5.1 Error: need RCPT command");
				continue;
			}
			if (rcpts.n == 0) {
				sendmail_reply("554 5.5.1 Error: no valid recipients");
				continue;
			}
			sendmail_reply("354 End data with <CR><LF>.<CR><LF>");
			str_init(&msg, 4096);
			sendmail_read(stdin, true, &msg);
			/* dot-unstuffing: a leading ".." was a "." */
			{
				struct str un;
				size_t i = 0;

				str_init(&un, msg.len + 1);
				while (i < msg.len) {
					const char *nl = memchr(msg.s + i, '\n', msg.len - i);
					size_t l = nl != NULL ? (size_t)(nl - msg.s) - i + 1 : msg.len - i;

					if (msg.s[i] == '.')
						str_append_n(&un, msg.s + i + 1, l - 1);
					else
						str_append_n(&un, msg.s + i, l);
					i += l;
				}
				if (sendmail_queue(q, sender.s, NULL, false, &rcpts, &un, id) == 0)
					sendmail_reply("250 2.0.0 Ok: queued as %s", id);
				else
					sendmail_reply("451 4.3.0 Error: queue file write error");
				str_deinit(&un);
			}
			str_deinit(&msg);
			mail = false;
			strvec_deinit(&rcpts);
			strvec_init(&rcpts);
		} else if (strcasecmp(line, "RSET") == 0) {
			mail = false;
			strvec_deinit(&rcpts);
			strvec_init(&rcpts);
			sendmail_reply("250 2.0.0 Ok");
		} else if (strcasecmp(line, "NOOP") == 0) {
			sendmail_reply("250 2.0.0 Ok");
		} else if (strcasecmp(line, "QUIT") == 0) {
			sendmail_reply("221 2.0.0 Bye");
			break;
		} else {
			sendmail_reply("502 5.5.2 Error: command not recognized");
		}
	}
	free(line);
	free(hostname);
	strvec_deinit(&rcpts);
	str_deinit(&sender);
	str_deinit(&addr);
	return 0;
}

int
cmd_sendmail(int argc, char **argv)
{
	struct sendmail_opts o;
	struct strvec rcpts;
	struct qctl q;
	const char *err;
	int i, mode = 0, ret;

	memset(&o, 0, sizeof(o));
	o.dot_ends = true;
	log_open("sendmail", LOG_TO_STDERR);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
#define OPTARG(var) do { \
		if (a[2] != '\0') (var) = a + 2; \
		else if (i + 1 < argc) (var) = argv[++i]; \
		else { log_msg(LOG_LEVEL_FATAL, "option requires an argument -- %c", a[1]); \
			free(o.config); return EX_USAGE; } \
	} while (0)
		if (strcmp(a, "-bp") == 0) {
			mode = 'p';
		} else if (strcmp(a, "-bi") == 0 || strcmp(a, "-I") == 0) {
			mode = 'i';
		} else if (strcmp(a, "-bs") == 0) {
			mode = 's';
		} else if (strcmp(a, "-bm") == 0 || strcmp(a, "-bd") == 0 ||
		    strcmp(a, "-bv") == 0) {
			/* -bm is the default; -bd and -bv are not supported */
			if (a[2] != 'm') {
				log_msg(LOG_LEVEL_FATAL, "unsupported: %s", a);
				free(o.config);
				return EX_USAGE;
			}
		} else if (strncmp(a, "-q", 2) == 0) {
			/* -q, -qInterval: one run now (yubin's qmgr schedules itself) */
			mode = 'f';
		} else if (strncmp(a, "-C", 2) == 0) {
			const char *c;

			OPTARG(c);
			free(o.config);
			o.config = instance_dir_from_path(c);
		} else if (strncmp(a, "-f", 2) == 0 || strncmp(a, "-r", 2) == 0) {
			OPTARG(o.sender);
			/* "-f <>" and "-f <a@b>" */
			if (o.sender[0] == '<') {
				size_t l = strlen(o.sender);

				if (l >= 2 && o.sender[l - 1] == '>') {
					static char buf[ADDRESS_MAX + 1];

					snprintf(buf, sizeof(buf), "%.*s", (int)(l - 2), o.sender + 1);
					o.sender = buf;
				}
			}
		} else if (strncmp(a, "-F", 2) == 0) {
			OPTARG(o.full_name);
		} else if (strcmp(a, "-t") == 0) {
			o.extract = true;
		} else if (strcmp(a, "-i") == 0 || strcmp(a, "-oi") == 0) {
			o.dot_ends = false;
		} else if (strcmp(a, "-v") == 0) {
			/* Postfix: one -v asks for a delivery report, more for
			 * verbose logging */
			if (++o.verbose > 1)
				log_set_verbose(o.verbose - 1);
		} else if (strncmp(a, "-o", 2) == 0 || strncmp(a, "-B", 2) == 0 ||
		    strncmp(a, "-N", 2) == 0 || strncmp(a, "-R", 2) == 0 ||
		    strncmp(a, "-V", 2) == 0 || strncmp(a, "-X", 2) == 0 ||
		    strncmp(a, "-O", 2) == 0 || strncmp(a, "-h", 2) == 0 ||
		    strcmp(a, "-m") == 0 || strcmp(a, "-n") == 0 || strcmp(a, "-U") == 0 ||
		    strcmp(a, "-G") == 0) {
			/* Sendmail options Postfix ignores; those with a separate
			 * argument take it along */
			if ((a[1] == 'B' || a[1] == 'N' || a[1] == 'R' || a[1] == 'V' ||
			    a[1] == 'X' || a[1] == 'O' || a[1] == 'h') && a[2] == '\0' &&
			    i + 1 < argc)
				i++;
		} else {
			log_msg(LOG_LEVEL_FATAL, "usage: sendmail [options] [recipient ...]: "
			    "unknown option %s", a);
			free(o.config);
			return EX_USAGE;
		}
#undef OPTARG
	}
	if (mode == 'p' || mode == 'f') {
		ret = postqueue_run(o.config, mode, NULL);
		free(o.config);
		return ret;
	}
	if (mode == 'i') {
		char *nargv[4];
		int nargc = 0;

		nargv[nargc++] = (char *)(uintptr_t)"newaliases";
		if (o.config != NULL) {
			nargv[nargc++] = (char *)(uintptr_t)"-C";
			nargv[nargc++] = o.config;
		}
		nargv[nargc] = NULL;
		ret = cmd_newaliases(nargc, nargv);
		free(o.config);
		return ret;
	}
	if (qctl_open(&q, o.config, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		free(o.config);
		return EX_TEMPFAIL;
	}
	free(o.config);
	/* the queue may never have been started: make what is missing */
	if (qdir_create(q.queue_dir, (uid_t)-1, (gid_t)-1, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		qctl_close(&q);
		return EX_TEMPFAIL;
	}
	strvec_init(&rcpts);
	if (mode == 's') {
		ret = sendmail_bs(&q);
	} else {
		for (; i < argc; i++)
			strvec_push(&rcpts, argv[i]);
		ret = sendmail_submit(&q, &o, &rcpts);
	}
	strvec_deinit(&rcpts);
	qctl_close(&q);
	return ret;
}
