/* lmtp_server.c - the LMTP service process and the session process of
 * each connection (see lmtp.h): settings, the accept loop, the command
 * state machine, DATA into an anonymous file, recipients looked up on the
 * auth service's auth-master socket, one reply per recipient after DATA.
 * Replies are Dovecot 2.3.19's (Debian 12), byte for byte where Dovecot
 * has one. Tests: tests/e2e/test_lmtp.py */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "lib/base64.h"
#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "login/login.h"
#include "lib/util.h"
#include "lmtp/lmtp-private.h"
#include "lmtp/lmtp.h"
#include "storage/storage.h"

#define LMTP_LISTEN_FD		3
#define LMTP_TIMEOUT_MS		(5 * 60 * 1000)	/* Dovecot's smtp-server default */
#define LMTP_MAX_RCPTS		1000
#define LMTP_MAX_SESSIONS	1000

static volatile sig_atomic_t lmtp_stop, lmtp_retire;

/* --- settings --- */

static int
lmtp_settings_load(struct lmtp_settings *set, const char *conf_path, const char **error_r)
{
	struct dovecot_conf *dc = dovecot_conf_new();
	char *v, *logpath;

	memset(set, 0, sizeof(*set));
	if (dovecot_conf_parse_file(dc, conf_path, 0, error_r) != 0) {
		*error_r = xstrdup(*error_r);
		dovecot_conf_free(&dc);
		return -1;
	}
	set->conf_path = xstrdup(conf_path);
	set->base_dir = dovecot_conf_protocol_str(dc, "lmtp", "base_dir");
	set->auth_master_socket = path_join(set->base_dir, "auth-master");
	set->hostname = dovecot_conf_protocol_str(dc, "lmtp", "hostname");
	if (*set->hostname == '\0') {
		char host[256] = "localhost";

		free(set->hostname);
		(void)gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		set->hostname = xstrdup(host);
	}
	set->greeting = dovecot_conf_protocol_str(dc, "lmtp", "login_greeting");
	set->delimiters = dovecot_conf_protocol_str(dc, "lmtp", "recipient_delimiter");
	set->temp_dir = dovecot_conf_protocol_str(dc, "lmtp", "mail_temp_dir");
	set->save_to_detail = dovecot_conf_protocol_bool(dc, "lmtp", "lmtp_save_to_detail_mailbox");
	set->add_received = dovecot_conf_protocol_bool(dc, "lmtp", "lmtp_add_received_header");
	v = dovecot_conf_protocol_str(dc, "lmtp", "first_valid_uid");
	set->first_valid_uid = strtoul(v, NULL, 10);
	free(v);
	set->timeout_ms = LMTP_TIMEOUT_MS;
	/* tests shorten the timeout; never meant for production */
	if (getenv("YUBIN_LMTP_TIMEOUT_MS") != NULL)
		set->timeout_ms = atoi(getenv("YUBIN_LMTP_TIMEOUT_MS"));
	set->max_message = LMTP_MAX_MESSAGE;
	logpath = dovecot_conf_protocol_str(dc, "lmtp", "log_path");
	if (*logpath != '\0' && strcmp(logpath, "syslog") != 0 && strcmp(logpath, "/dev/stderr") != 0)
		(void)log_set_file(logpath);
	free(logpath);
	dovecot_conf_free(&dc);
	return 0;
}

/* --- the connection: buffered lines in, buffered replies out --- */

static void
conn_init(struct lmtp_conn *c, int fd, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	str_init(&c->out, 1024);
}

static void
conn_deinit(struct lmtp_conn *c)
{
	str_deinit(&c->out);
}

void
lmtp_reply(struct lmtp_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vappendf(&c->out, fmt, ap);
	va_end(ap);
	str_append(&c->out, "\r\n");
}

static int
conn_flush(struct lmtp_conn *c)
{
	size_t off = 0;

	while (off < c->out.len && !c->broken) {
		ssize_t n = write(c->fd, c->out.s + off, c->out.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->broken = true;
			break;
		}
		off += (size_t)n;
	}
	str_reset(&c->out);
	return c->broken ? -1 : 0;
}

/* conn_fill - more input: 1, 0 at EOF, -1 timeout, -2 error */
static int
conn_fill(struct lmtp_conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int r;

	if (c->pos > 0) {
		memmove(c->in, c->in + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	if (conn_flush(c) != 0)
		return -2;
	do
		r = poll(&pfd, 1, c->timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -1;
	if (r < 0)
		return -2;
	do
		n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -2;
	if (n == 0)
		return 0;
	c->len += (size_t)n;
	return 1;
}

/* conn_getline - the next line without CRLF; a line longer than max is
 * skipped to its end and reported as LMTP_READ_TOO_LONG */
enum lmtp_read
lmtp_conn_getline(struct lmtp_conn *c, struct str *line, size_t max)
{
	bool skipping = false;

	str_reset(line);
	for (;;) {
		char *nl = memchr(c->in + c->pos, '\n', c->len - c->pos);
		size_t n = nl != NULL ? (size_t)(nl - (c->in + c->pos)) : c->len - c->pos;
		int r;

		if (!skipping) {
			if (line->len + n > max + 1) {
				skipping = true;
				str_reset(line);
			} else {
				str_append_n(line, c->in + c->pos, n);
			}
		}
		c->pos += n;
		if (nl != NULL) {
			c->pos++;
			if (skipping)
				return LMTP_READ_TOO_LONG;
			if (line->len > 0 && line->s[line->len - 1] == '\r')
				str_truncate(line, line->len - 1);
			if (line->len > max)
				return LMTP_READ_TOO_LONG;
			return LMTP_READ_LINE;
		}
		r = conn_fill(c);
		if (r == 0)
			return LMTP_READ_EOF;
		if (r == -1)
			return LMTP_READ_TIMEOUT;
		if (r < 0)
			return LMTP_READ_ERROR;
	}
}

/* --- DATA --- */

/* read_data - the message into a new anonymous file (*fd_r); 1 complete,
 * 0 the client went away or timed out (*why_r), nothing kept */
static int
read_data(struct lmtp_session *s, int *fd_r, size_t *len_r, bool *too_big_r, const char **why_r)
{
	struct lmtp_conn *c = &s->conn;
	struct lmtp_data d;
	struct str buf;
	int fd, r, ret = 0;

	*fd_r = -1;
	*too_big_r = false;
	fd = lmtp_tmpfile(s->set);
	if (fd < 0) {
		*why_r = "cannot create a temporary file";
		return -1;
	}
	lmtp_data_init(&d, s->set->max_message);
	str_init(&buf, 65536);
	for (;;) {
		c->pos += lmtp_data_feed(&d, c->in + c->pos, c->len - c->pos, &buf);
		if (buf.len >= 65536 || (d.done && buf.len > 0)) {
			if (storage_write_full(fd, buf.s, buf.len) != 0) {
				*why_r = "write failed";
				ret = -1;
				break;
			}
			str_reset(&buf);
		}
		if (d.done) {
			ret = 1;
			break;
		}
		r = conn_fill(c);
		if (r == 0) {
			*why_r = "Connection closed";
			break;
		}
		if (r == -1) {
			*why_r = "Disconnected for inactivity";
			lmtp_reply(c, "421 4.4.2 %s Disconnected for inactivity", s->set->hostname);
			(void)conn_flush(c);
			break;
		}
		if (r < 0) {
			*why_r = "Connection closed";
			break;
		}
	}
	str_deinit(&buf);
	if (ret != 1) {
		close(fd);
		return ret;
	}
	*too_big_r = d.overflow;
	*len_r = d.overflow ? 0 : d.total;
	*fd_r = fd;
	return 1;
}

/* --- the state machine --- */

static void
rcpt_clear(struct lmtp_session *s)
{
	for (size_t i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].user);
		free(s->rcpts[i].detail);
		free(s->rcpts[i].home);
		free(s->rcpts[i].id);
	}
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	s->rcpt_seq = 0;
}

static void
tx_reset(struct lmtp_session *s)
{
	rcpt_clear(s);
	str_reset(&s->from);
	s->have_mail = false;
}

static const char *
state_name(const struct lmtp_session *s)
{
	if (!s->have_mail)
		return "READY";
	return s->nrcpts > 0 ? "RCPT TO" : "MAIL FROM";
}

static void
cmd_mail(struct lmtp_session *s, const char *args)
{
	const char *params, *err;

	if (s->have_mail) {
		lmtp_reply(&s->conn, "503 5.5.0 MAIL already given");
		return;
	}
	if (lmtp_path_parse(args, "FROM", true, &s->from, &params, &err) != 0) {
		lmtp_reply(&s->conn, "501 5.5.4 %s", err);
		return;
	}
	if (!lmtp_mail_params_ok(params)) {
		lmtp_reply(&s->conn, "555 5.5.4 Unsupported parameters");
		return;
	}
	s->have_mail = true;
	s->tx_seq++;
	free(s->tx_id);
	s->tx_id = s->tx_seq == 1 ? xstrdup(s->id) : xasprintf("%s:T%u", s->id, s->tx_seq);
	lmtp_reply(&s->conn, "250 2.1.0 OK");
}

/* uid_allowed - as Dovecot (and pop3_server.c): never below
 * first_valid_uid, never root unless an instance run by root says
 * first_valid_uid = 0; without root, only our own uid */
static bool
uid_allowed(const struct lmtp_settings *set, uid_t uid)
{
	if (geteuid() != 0)
		return uid == geteuid();
	return uid >= set->first_valid_uid && (uid != 0 || set->first_valid_uid == 0);
}

static void
cmd_rcpt(struct lmtp_session *s, const char *args)
{
	struct auth_client_userdb udb;
	struct lmtp_rcpt *r;
	struct str addr, user, detail;
	const char *params, *err;
	int n;

	if (!s->have_mail) {
		lmtp_reply(&s->conn, "503 5.5.0 MAIL needed first");
		return;
	}
	str_init(&addr, 128);
	str_init(&user, 128);
	str_init(&detail, 64);
	memset(&udb, 0, sizeof(udb));
	if (lmtp_path_parse(args, "TO", false, &addr, &params, &err) != 0) {
		lmtp_reply(&s->conn, "501 5.5.4 %s", err);
		goto out;
	}
	if (*params != '\0') {
		lmtp_reply(&s->conn, "555 5.5.4 Unsupported parameters");
		goto out;
	}
	s->rcpt_seq++;
	if (s->nrcpts >= LMTP_MAX_RCPTS) {
		lmtp_reply(&s->conn, "451 4.5.3 <%s> Too many recipients", addr.s);
		goto out;
	}
	lmtp_split_detail(addr.s, s->set->delimiters, &user, &detail);
	if (s->auth == NULL)
		s->auth = auth_client_new(s->set->auth_master_socket, NULL);
	n = auth_client_userdb(s->auth, user.s, "lmtp", &udb, &err);
	if (n < 0) {
		log_error("lmtp(%s)<%ld><%s>: Error: Failed to lookup user %s: %s", user.s,
		    (long)getpid(), s->id, user.s, err);
		lmtp_reply(&s->conn, "451 4.3.0 <%s> Temporary internal error", addr.s);
		goto out;
	}
	if (n == 0) {
		lmtp_reply(&s->conn, "550 5.1.1 <%s> User doesn't exist: %s", addr.s, user.s);
		goto out;
	}
	if (!uid_allowed(s->set, udb.uid >= 0 ? (uid_t)udb.uid : geteuid()) ||
	    udb.home == NULL || udb.home[0] != '/') {
		log_error("lmtp(%s)<%ld><%s>: Error: %s", udb.user, (long)getpid(), s->id,
		    udb.home == NULL || udb.home[0] != '/' ? "User has no home directory" :
		    "Mail access for users with this UID is not permitted");
		lmtp_reply(&s->conn, "451 4.3.0 <%s> Temporary internal error", addr.s);
		goto out;
	}
	s->rcpts = xreallocarray(s->rcpts, s->nrcpts + 1, sizeof(*s->rcpts));
	r = &s->rcpts[s->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->addr = str_export(&addr);
	r->user = xstrdup(udb.user != NULL ? udb.user : user.s);
	r->detail = str_export(&detail);
	r->home = xstrdup(udb.home);
	r->uid = udb.uid >= 0 ? (uid_t)udb.uid : geteuid();
	r->gid = udb.gid >= 0 ? (gid_t)udb.gid : getegid();
	r->id = s->rcpt_seq == 1 ? xstrdup(s->tx_id) : xasprintf("%s:R%u", s->tx_id, s->rcpt_seq);
	lmtp_reply(&s->conn, "250 2.1.5 OK");
out:
	auth_client_userdb_deinit(&udb);
	str_deinit(&addr);
	str_deinit(&user);
	str_deinit(&detail);
}

/* cmd_data - 1 go on, 0 the connection ended */
static int
cmd_data(struct lmtp_session *s)
{
	const char *why = NULL;
	size_t len = 0, i;
	bool too_big;
	int fd, r;

	if (!s->have_mail) {
		lmtp_reply(&s->conn, "503 5.5.0 MAIL needed first");
		return 1;
	}
	if (s->nrcpts == 0) {
		lmtp_reply(&s->conn, "503 5.5.0 No valid recipients");
		return 1;
	}
	lmtp_reply(&s->conn, "354 OK");
	s->in_data = true;
	r = read_data(s, &fd, &len, &too_big, &why);
	if (r == 0) {
		s->end_reason = why;
		return 0;
	}
	s->in_data = false;
	if (r < 0) {
		log_error("lmtp(%ld): Error: DATA: %s", (long)getpid(), why);
		for (i = 0; i < s->nrcpts; i++)
			lmtp_reply(&s->conn, "451 4.3.0 <%s> Temporary internal error",
			    s->rcpts[i].addr);
		tx_reset(s);
		return 1;
	}
	for (i = 0; i < s->nrcpts; i++) {
		struct str reply;

		if (too_big) {
			lmtp_reply(&s->conn, "552 5.3.4 <%s> Message too big for system",
			    s->rcpts[i].addr);
			continue;
		}
		str_init(&reply, 128);
		lmtp_deliver(s, &s->rcpts[i], fd, len, &reply);
		lmtp_reply(&s->conn, "%s", reply.s);
		str_deinit(&reply);
		/* replies go out as recipients finish: a client sees progress */
		(void)conn_flush(&s->conn);
	}
	close(fd);
	tx_reset(s);
	return 1;
}

static int
session_run(struct lmtp_session *s)
{
	struct str line;
	const char *args;
	bool quit = false;

	str_init(&line, 512);
	str_init(&s->from, 128);
	if (s->unix_socket)
		log_info("lmtp(%ld): Connect from local", (long)getpid());
	else
		log_info("lmtp(%ld): Connect from %s", (long)getpid(), s->rip);
	lmtp_reply(&s->conn, "220 %s %s", s->set->hostname, s->set->greeting);
	while (!quit && !s->conn.broken) {
		enum lmtp_read rd = lmtp_conn_getline(&s->conn, &line, LMTP_MAX_LINE);

		if (rd == LMTP_READ_TOO_LONG) {
			lmtp_reply(&s->conn, "500 5.5.2 Line too long");
			continue;
		}
		if (rd == LMTP_READ_TIMEOUT) {
			lmtp_reply(&s->conn, "421 4.4.2 %s Disconnected for inactivity",
			    s->set->hostname);
			s->end_reason = "Disconnected for inactivity";
			break;
		}
		if (rd != LMTP_READ_LINE) {
			s->end_reason = "Connection closed";
			break;
		}
		switch (lmtp_cmd_parse(line.s, &args)) {
		case LMTP_CMD_LHLO:
			if (*args == '\0') {
				lmtp_reply(&s->conn, "501 5.5.4 Missing hostname");
				break;
			}
			snprintf(s->helo, sizeof(s->helo), "%.*s", (int)strcspn(args, " "), args);
			for (char *p = s->helo; *p != '\0'; p++)
				if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
					*p = '?';
			tx_reset(s);
			lmtp_reply(&s->conn, "250-%s", s->set->hostname);
			lmtp_reply(&s->conn, "250-8BITMIME");
			lmtp_reply(&s->conn, "250-ENHANCEDSTATUSCODES");
			lmtp_reply(&s->conn, "250 PIPELINING");
			break;
		case LMTP_CMD_MAIL:
			cmd_mail(s, args);
			break;
		case LMTP_CMD_RCPT:
			cmd_rcpt(s, args);
			break;
		case LMTP_CMD_DATA:
			if (cmd_data(s) == 0)
				quit = true;
			break;
		case LMTP_CMD_RSET:
			tx_reset(s);
			lmtp_reply(&s->conn, "250 2.0.0 OK");
			break;
		case LMTP_CMD_NOOP:
			lmtp_reply(&s->conn, "250 2.0.0 OK");
			break;
		case LMTP_CMD_VRFY:
			lmtp_reply(&s->conn, "252 2.3.3 Try RCPT instead");
			break;
		case LMTP_CMD_QUIT:
			lmtp_reply(&s->conn, "221 2.0.0 Bye");
			s->end_reason = "Logged out";
			quit = true;
			break;
		case LMTP_CMD_UNKNOWN:
			lmtp_reply(&s->conn, "500 5.5.1 Unknown command");
			break;
		default:
			lmtp_reply(&s->conn, "500 5.5.2 Invalid command syntax");
			break;
		}
	}
	(void)conn_flush(&s->conn);
	log_info("lmtp(%ld): Disconnect from %s: %s (state=%s)", (long)getpid(),
	    s->unix_socket ? "local" : s->rip, s->end_reason != NULL ? s->end_reason :
	    "Connection closed", s->in_data ? "DATA" : state_name(s));
	tx_reset(s);
	str_deinit(&line);
	str_deinit(&s->from);
	free(s->tx_id);
	auth_client_free(&s->auth);
	return 0;
}

/* --- the service --- */

static void
lmtp_on_signal(int sig)
{
	if (sig == SIGHUP)
		lmtp_retire = 1;
	else
		lmtp_stop = 1;
}

/* lmtp_addr - the peer as Dovecot's lmtp logs it: "local" on a unix socket */
static void
lmtp_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	unsigned port;

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		snprintf(buf, size, "local");
	else
		login_addr_text(ss, buf, size, &port);
}

/* lmtp_session_id - Dovecot's: 16 random bytes in base64 without padding */
static void
lmtp_session_id(char *out, size_t size)
{
	unsigned char raw[16];
	struct str s;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	str_init(&s, 32);
	base64_encode(&s, raw, sizeof(raw));
	while (s.len > 0 && s.s[s.len - 1] == '=')
		str_truncate(&s, s.len - 1);
	snprintf(out, size, "%s", s.s);
	str_deinit(&s);
}

int
cmd_lmtp(int argc, char **argv)
{
	struct lmtp_settings set;
	struct sigaction sa;
	const char *conf = NULL, *err;
	char *conf_path;
	size_t live = 0;
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "c:")) != -1)
		if (c == 'c')
			conf = optarg;
	log_open("dovecot", getenv("YUBIN_LOG_STDERR") != NULL ? LOG_TO_STDERR | LOG_STDERR_FULL :
	    LOG_TO_SYSLOG);
	conf_path = instance_dovecot_conf(conf);
	if (lmtp_settings_load(&set, conf_path, &err) != 0)
		fatal("%s", err);
	free(conf_path);
	/* our own process group, so that a stop reaches every session */
	(void)setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lmtp_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	while (!lmtp_stop && !lmtp_retire) {
		struct pollfd pfd = { .fd = LMTP_LISTEN_FD, .events = POLLIN };
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		pid_t pid;
		int fd, st;

		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			if (live > 0)
				live--;
		if (live >= LMTP_MAX_SESSIONS) {
			usleep(10000);	/* wait for a slot; the kernel queues the rest */
			continue;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		fd = accept4(LMTP_LISTEN_FD, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if ((pid = fork()) < 0) {
			log_error("lmtp: Error: fork() failed: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (pid == 0) {
			struct lmtp_session s;
			int rc;

			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			close(LMTP_LISTEN_FD);
			memset(&s, 0, sizeof(s));
			s.set = &set;
			s.unix_socket = peer.ss_family == AF_UNIX;
			lmtp_addr(&peer, s.rip, sizeof(s.rip));
			lmtp_session_id(s.id, sizeof(s.id));
			conn_init(&s.conn, fd, set.timeout_ms);
			rc = session_run(&s);
			conn_deinit(&s.conn);
			close(fd);
			lmtp_settings_free(&set);
			_exit(rc);
		}
		close(fd);
		live++;
	}
	if (lmtp_stop) {
		signal(SIGTERM, SIG_IGN);
		(void)kill(0, SIGTERM);	/* our own process group: see setpgid above */
	}
	lmtp_settings_free(&set);
	return 0;
}

int
lmtp_tmpfile(const struct lmtp_settings *set)
{
	int fd = -1;

	if (set->temp_dir != NULL && *set->temp_dir != '\0')
		fd = open(set->temp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = memfd_create("lmtp-data", MFD_CLOEXEC);
	return fd;
}

void
lmtp_settings_free(struct lmtp_settings *set)
{
	free(set->conf_path);
	free(set->base_dir);
	free(set->auth_master_socket);
	free(set->hostname);
	free(set->greeting);
	free(set->delimiters);
	free(set->temp_dir);
	memset(set, 0, sizeof(*set));
}
