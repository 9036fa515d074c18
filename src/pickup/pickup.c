/* pickup.c - the pickup daemon: moves locally submitted mail (sendmail's
 * files in maildrop/) into the queue, as Postfix's pickup and cleanup do
 * together. maildrop is untrusted input: every file is read through the
 * queue reader (every length and record checked), its size is bounded by
 * message_size_limit, its addresses must parse; a file that fails goes to
 * corrupt/ with a warning. The accepted message is rewritten (mail/
 * rewrite.h: myorigin, canonical maps, virtual aliases), gets Postfix's
 * "Received: by HOST (yubin, from userid UID)" header and the Message-ID,
 * Date and From headers it lacks, becomes a new file in incoming/, and
 * only then is the maildrop file removed (a crash in between delivers a
 * message twice, never loses one).
 *
 * master.cf: "pickup unix n - n 60 1 pickup" (or "fifo"); it scans
 * maildrop every second and on a byte in its FIFO (public/pickup).
 * Tests: tests/e2e/test_sendmail.py */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mail/address.h"
#include "mail/header.h"
#include "mail/header_rewrite.h"
#include "mail/rewrite.h"
#include "master/skeleton.h"
#include "queue/qctl.h"
#include "queue/qdir.h"
#include "queue/qfile.h"
#include "queue/qmsg.h"

struct pickup {
	struct skeleton	 sk;
	struct rewrite	*rw;
	char		*myhostname;
	char		*mail_name;
	long		 size_limit;	/* message_size_limit, 0 = none */
	bool		 long_ids;
	int		 fd;
	bool		 fd_is_socket;
};

static volatile sig_atomic_t pickup_stop;

static void
pickup_on_signal(int sig)
{
	pickup_stop = 1;
}

/* pickup_addr_ok - an address as sendmail may hand it over: no controls,
 * bounded, and parseable as an SMTP path */
static bool
pickup_addr_ok(const char *a, bool null_ok)
{
	struct str out, path;
	const char *err;
	size_t used;
	bool ok;

	if (*a == '\0')
		return null_ok;
	if (strlen(a) > ADDRESS_MAX)
		return false;
	str_init(&out, 64);
	str_init(&path, 64);
	str_appendf(&path, "<%s>", a);
	ok = address_parse_path(path.s, path.len, 0, &out, &used, &err) == 0 &&
	    used == path.len;
	str_deinit(&out);
	str_deinit(&path);
	return ok;
}

static void
pickup_date(struct str *out, time_t t)
{
	char buf[64];
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %e %b %Y %H:%M:%S %z (%Z)", &tm);
	str_append(out, buf);
}

/* pickup_headers - Received first, then the content's own header fields
 * (their addresses rewritten by the canonical maps: locally submitted mail
 * is always a local client's), then what is missing (as cleanup adds it),
 * then the body. -1 with *error_r when a table could not be read. */
static int
pickup_compose(struct pickup *p, const struct qmsg *m, const char *id, const char *sender,
    uid_t uid, const struct str *content, struct str *out, struct str *msgid_r,
    const char **error_r)
{
	struct header_field f;
	bool changed;
	size_t off = 0, n;
	bool has_msgid = false, has_date = false, has_from = false;
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	str_appendf(out, "Received: by %s (%s, from userid %ld)\n\tid %s; ", p->myhostname,
	    p->mail_name, (long)uid, id);
	pickup_date(out, now);
	str_append_c(out, '\n');
	while ((n = header_next(content->s + off, content->len - off, &f)) > 0) {
		if (header_is(&f, "message-id")) {
			has_msgid = true;
			str_reset(msgid_r);
			for (size_t i = 0; i < f.value_len && msgid_r->len < 500; i++)
				if (f.value[i] != ' ' && f.value[i] != '\t' && f.value[i] != '\n' &&
				    f.value[i] != '\r')
					str_append_c(msgid_r, f.value[i]);
		} else if (header_is(&f, "date")) {
			has_date = true;
		} else if (header_is(&f, "from")) {
			has_from = true;
		}
		if (header_rewrite_field(p->rw, &f, out, &changed, error_r) != 0)
			return -1;
		if (out->s[out->len - 1] != '\n')
			str_append_c(out, '\n');
		off += n;
	}
	if (!has_msgid) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		str_reset(msgid_r);
		str_appendf(msgid_r, "<%s.%s@%s>", stamp, id, p->myhostname);
		str_appendf(out, "Message-Id: %s\n", msgid_r->s);
	}
	if (!has_date) {
		str_append(out, "Date: ");
		pickup_date(out, now);
		str_append_c(out, '\n');
	}
	if (!has_from) {
		const char *name = qmsg_attr(m, "full_name");
		struct passwd *pw;
		char *gecos = NULL;

		if (name == NULL && (pw = getpwuid(uid)) != NULL && pw->pw_gecos != NULL &&
		    *pw->pw_gecos != '\0') {
			gecos = xstrndup(pw->pw_gecos, strcspn(pw->pw_gecos, ","));
			name = gecos;
		}
		str_append(out, "From: ");
		if (name != NULL && *name != '\0') {
			/* a quoted display name; quotes and controls dropped */
			str_append_c(out, '"');
			for (; *name != '\0'; name++)
				if ((unsigned char)*name >= 0x20 && *name != '"' && *name != '\\')
					str_append_c(out, *name);
			str_append(out, "\" ");
		}
		str_appendf(out, "<%s>\n", *sender != '\0' ? sender : "MAILER-DAEMON");
		free(gecos);
	}
	if (off < content->len) {
		if (content->s[off] == '\r')
			off++;
		if (off < content->len && content->s[off] == '\n')
			off++;
	}
	str_append_c(out, '\n');
	str_append_n(out, content->s + off, content->len - off);
	return 0;
}

/* pickup_file - one maildrop file into the queue; 0 done (moved, or set
 * aside as corrupt), -1 try again later */
static int
pickup_file(struct pickup *p, const char *name)
{
	struct qfile_writer *w = NULL;
	struct qmsg *m = NULL;
	struct str sender, content, text, msgid, line;
	struct strvec rcpts;
	struct stat st;
	const char *err;
	char *path = qdir_path(p->sk.queue_dir, "maildrop", name);
	size_t i, j;
	int rc = 0, ret = -1;
	char *orcpt;

	str_init(&sender, 64);
	str_init(&content, 4096);
	str_init(&text, 4096);
	str_init(&msgid, 64);
	strvec_init(&rcpts);
	if (stat(path, &st) != 0) {
		ret = errno == ENOENT ? 0 : -1;
		goto out;
	}
	if (p->size_limit > 0 && st.st_size > p->size_limit + 65536) {
		err = "message too large";
		goto bad;
	}
	if (qmsg_open(path, false, &m, &err) != 0) {
		if (errno == ENOENT) {
			ret = 0;
			goto out;
		}
		goto bad;
	}
	if (p->size_limit > 0 && m->size > (size_t)p->size_limit) {
		err = "message too large";
		goto bad;
	}
	if (!pickup_addr_ok(m->sender, true)) {
		err = "bad sender address";
		goto bad;
	}
	for (i = 0; i < m->nrcpts; i++)
		if (!pickup_addr_ok(m->rcpts[i].addr, false)) {
			err = "bad recipient address";
			goto bad;
		}
	if (m->nrcpts == 0) {
		err = "no recipients";
		goto bad;
	}
	if (rewrite_address(p->rw, REWRITE_ENVELOPE_SENDER, m->sender, &sender, &err) != 0) {
		log_warn("%s: %s", name, err);
		goto out;
	}
	if (qfile_writer_open(p->sk.queue_dir, p->long_ids, &w, &err) != 0) {
		log_warn("queue file create: %s", err);
		goto out;
	}
	rc |= qfile_writer_sender(w, sender.s);
	rc |= qfile_writer_attr(w, "protocol", "local");
	rc |= qfile_writer_attr(w, "log_ident", qfile_writer_id(w));
	rc |= qfile_writer_attr(w, "rewrite_context", "local");
	if (qmsg_attr(m, "trace_flags") != NULL)
		rc |= qfile_writer_attr(w, "trace_flags", "1");	/* sendmail -v */
	for (i = 0; i < m->nrcpts && rc == 0; i++) {
		strvec_deinit(&rcpts);
		strvec_init(&rcpts);
		if (rewrite_recipient(p->rw, m->rcpts[i].addr, &rcpts, &err) != 0) {
			log_warn("%s: %s", qfile_writer_id(w), err);
			qfile_writer_abort(&w);
			goto out;
		}
		orcpt = xasprintf("rfc822;%s", m->rcpts[i].addr);
		for (j = 0; j < rcpts.n && rc == 0; j++)
			rc |= qfile_writer_rcpt(w, rcpts.v[j],
			    strcmp(rcpts.v[j], m->rcpts[i].addr) != 0 ? orcpt : NULL, 0);
		free(orcpt);
	}
	qmsg_content(m, &content);
	if (pickup_compose(p, m, qfile_writer_id(w), sender.s, st.st_uid, &content, &text,
	    &msgid, &err) != 0) {
		/* a table could not be read: try again later, not half rewritten */
		log_warn("%s: %s", qfile_writer_id(w), err);
		qfile_writer_abort(&w);
		goto out;
	}
	rc |= qfile_writer_content(w, text.s, text.len, 0);
	if (rc != 0 || qfile_writer_commit(w, &err) != 0) {
		log_warn("%s: queue file write error", qfile_writer_id(w));
		if (rc != 0)
			qfile_writer_abort(&w);
		else
			qfile_writer_free(&w);
		goto out;
	}
	str_init(&line, 128);
	str_appendf(&line, "%s: uid=%ld from=<", qfile_writer_id(w), (long)st.st_uid);
	log_printable(&line, m->sender, 1000);
	str_append_c(&line, '>');
	log_info("%s", line.s);
	str_reset(&line);
	str_appendf(&line, "%s: message-id=", qfile_writer_id(w));
	log_printable(&line, msgid.s, 500);
	log_info("%s", line.s);
	str_deinit(&line);
	qfile_writer_free(&w);
	qmsg_free(&m);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("%s: remove: %s", path, strerror(errno));
	(void)dir_fsync(p->sk.queue_dir);
	(void)qctl_wake(p->sk.queue_dir, QCTL_REQ_SCAN_INCOMING);
	ret = 0;
	goto out;
bad:
	log_warn("%s: %s; saved to the corrupt queue", name, err);
	qmsg_free(&m);
	if (qdir_move(p->sk.queue_dir, name, "maildrop", "corrupt") != 0 && errno != ENOENT)
		(void)unlink(path);
	ret = 0;
out:
	qmsg_free(&m);
	strvec_deinit(&rcpts);
	str_deinit(&sender);
	str_deinit(&content);
	str_deinit(&text);
	str_deinit(&msgid);
	free(path);
	return ret;
}

static void
pickup_scan(struct pickup *p)
{
	struct strvec ids;
	size_t i;

	strvec_init(&ids);
	(void)qdir_list(p->sk.queue_dir, "maildrop", &ids);
	for (i = 0; i < ids.n && !pickup_stop; i++)
		(void)pickup_file(p, ids.v[i]);
	strvec_deinit(&ids);
}

static void
pickup_drain(struct pickup *p)
{
	char buf[256];
	int fd = p->fd;

	if (p->fd_is_socket && (fd = accept4(p->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		if (p->fd_is_socket)
			break;
	if (fd != p->fd)
		close(fd);
}

static char *
pickup_param(struct maincf *cf, const char *name)
{
	struct str v;
	const char *err;

	str_init(&v, 64);
	if (maincf_get(cf, name, &v, &err) != 0)
		str_reset(&v);
	return str_export(&v);
}

int
cmd_pickup(int argc, char **argv)
{
	struct pickup p;
	struct pollfd pfd;
	struct sigaction sa;
	struct stat st;
	const char *err;
	char *fifo;
	int ret = 1;

	memset(&p, 0, sizeof(p));
	p.fd = -1;
	if (skeleton_init(&p.sk, "pickup", argc, argv, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		skeleton_deinit(&p.sk);
		return 1;
	}
	if ((p.rw = rewrite_new(p.sk.cf, &err)) == NULL ||
	    maincf_get_long(p.sk.cf, "message_size_limit", &p.size_limit, &err) != 0 ||
	    maincf_get_bool(p.sk.cf, "enable_long_queue_ids", &p.long_ids, &err) != 0 ||
	    qdir_create(p.sk.queue_dir, (uid_t)-1, (gid_t)-1, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto out;
	}
	p.myhostname = pickup_param(p.sk.cf, "myhostname");
	p.mail_name = pickup_param(p.sk.cf, "mail_name");
	if (p.sk.listen_fd >= 0) {
		p.fd = p.sk.listen_fd;
	} else {
		fifo = xasprintf("%s/public/pickup", p.sk.queue_dir);
		if (mkfifo(fifo, 0622) == 0 || errno == EEXIST)
			p.fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		free(fifo);
	}
	p.fd_is_socket = p.fd >= 0 && fstat(p.fd, &st) == 0 && S_ISSOCK(st.st_mode);
	if (p.fd >= 0)
		(void)fcntl(p.fd, F_SETFL, fcntl(p.fd, F_GETFL) | O_NONBLOCK);
	if (skeleton_drop_privileges(&p.sk, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pickup_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while (!pickup_stop) {
		pickup_scan(&p);
		pfd.fd = p.fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, p.fd >= 0 ? 1 : 0, 1000) > 0 && (pfd.revents & POLLIN))
			pickup_drain(&p);
	}
	ret = 0;
out:
	rewrite_free(&p.rw);
	free(p.myhostname);
	free(p.mail_name);
	skeleton_deinit(&p.sk);
	return ret;
}
