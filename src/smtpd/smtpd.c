/* smtpd.c - the SMTP server process: start-up (under the master with the
 * listener on fd 3, or standalone with --listen for tests), one libevent
 * loop for many sessions, the session's input loop (command lines, DATA,
 * BDAT chunks), replies, time limits and Postfix's session log lines. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail/rewrite.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cli/cli.h"
#include "lib/instance.h"
#include "dns/dns.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "queue/qfile.h"
#include "master/skeleton.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_commit.h"
#include "smtpd/smtpd_dnscheck.h"
#include "smtpd/smtpd_check.h"

#define SMTPD_LISTEN_FD		3		/* the process contract */
#define SMTPD_OUT_HIGH		(256 * 1024)	/* replies waiting: stop reading */

static void smtpd_session_free(struct smtpd_session *);
static void smtpd_process(struct smtpd_session *);
static void smtpd_try_free(struct smtpd_session *);

/* smtpd_where - the last command, upper case, for log lines */
static const char *
smtpd_where(const struct smtpd_session *s, char *buf, size_t size)
{
	size_t i;

	snprintf(buf, size, "%s", s->where != NULL ? s->where : "CONNECT");
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	if (s->mode == SMTPD_MODE_DATA || s->mode == SMTPD_MODE_BDAT) {
		size_t n = strlen(buf);
		snprintf(buf + n, size - n, " (%zu bytes)", s->tx.data.size);
	}
	return buf;
}

/* smtpd_flush - a plaintext session's replies, written now. A bufferevent
 * arms and disarms its write event around every reply (two epoll_ctl
 * calls per reply, 14 of a session's ~90 system calls); writing at once
 * needs none, and EV_WRITE is enabled only for what the socket did not
 * take (smtpd_write_cb turns it off again), or to let libevent report a
 * write error through smtpd_event_cb. */
static void
smtpd_flush(struct smtpd_session *s)
{
	struct evbuffer *out;

	if (!s->direct || s->bev == NULL)
		return;
	out = bufferevent_get_output(s->bev);
	if (evbuffer_get_length(out) == 0)
		return;
	/* a socket bufferevent keeps its output's front frozen (only its own
	 * write callback drains it): thawed for this write, as that callback does */
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, bufferevent_getfd(s->bev));
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(s->bev, EV_WRITE);
}

void
smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	struct evbuffer *out;
	va_list ap;

	if (s->bev == NULL)
		return;
	out = bufferevent_get_output(s->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	if (!s->in_process)
		smtpd_flush(s);
}

const char *
smtpd_protocol(const struct smtpd_session *s)
{
	/* RFC 3848, as Postfix: "A" after authentication */
	if (!s->esmtp)
		return "SMTP";
	if (s->sasl_user != NULL)
		return s->tls ? "ESMTPSA" : "ESMTPA";
	return s->tls ? "ESMTPS" : "ESMTP";
}

void
smtpd_set_mode(struct smtpd_session *s, enum smtpd_mode mode)
{
	s->mode = mode;
}

void
smtpd_tx_reset(struct smtpd_session *s)
{
	struct smtpd_tx *tx = &s->tx;

	qfile_writer_abort(&tx->qf);
	tx->active = false;
	str_reset(&tx->sender);
	str_reset(&tx->first_rcpt);
	tx->nrcpt = 0;
	tx->id[0] = '\0';
	tx->smtputf8 = false;
	tx->body[0] = '\0';
	tx->dsn_ret[0] = '\0';
	tx->dsn_envid[0] = '\0';
	tx->bdat = false;
	tx->bdat_failed = false;
	tx->write_failed = false;
	tx->bdat_left = 0;
	tx->bdat_last = false;
	tx->bdat_size = 0;
	tx->bdat_total = 0;
	tx->bdat_reply[0] = '\0';
	smtpd_hdr_end(s);
	smtpd_data_deinit(&tx->data);
	smtpd_data_init(&tx->data, false, 0);
}

/* smtpd_deadline_reset - smtpd_timeout starts again: a line or record was
 * completed (a peer that sends one byte a second still runs out of time) */
static void
smtpd_deadline_reset(struct smtpd_session *s, long seconds)
{
	struct timeval tv = { seconds, 0 };

	evtimer_add(s->deadline, &tv);
}

void
smtpd_close(struct smtpd_session *s, const char *why)
{
	if (why != NULL)
		log_info("%s", why);
	s->mode = SMTPD_MODE_CLOSING;
	if (s->bev != NULL)
		bufferevent_disable(s->bev, EV_READ);
}

static size_t
smtpd_pending_output(struct smtpd_session *s)
{
	struct bufferevent *under;
	size_t n;

	if (s->bev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(s->bev));
	under = bufferevent_get_underlying(s->bev);
	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/* smtpd_try_free - a closing session goes once its last reply is out */
static void
smtpd_try_free(struct smtpd_session *s)
{
	struct timeval tv = { 0, 50000 };

	if (smtpd_pending_output(s) == 0) {
		smtpd_session_free(s);
		return;
	}
	/* the write callback or this poll (TLS filters flush in two steps)
	 * finishes it; the deadline bounds a peer that never reads */
	if (!s->freeing) {
		s->freeing = true;
		smtpd_deadline_reset(s, s->srv->cfg.timeout);
	}
	evtimer_add(s->deadline, &tv);
}

static void
smtpd_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_session *s = arg;
	char where[64];

	if (s->mode == SMTPD_MODE_CLOSING) {
		if (smtpd_pending_output(s) == 0 || ++s->junk_count > 20 * s->srv->cfg.timeout)
			smtpd_session_free(s);
		else
			smtpd_try_free(s);
		return;
	}
	log_info("timeout after %s from %s", smtpd_where(s, where, sizeof(where)), s->namaddr);
	smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->srv->cfg.myhostname);
	smtpd_close(s, NULL);
	smtpd_try_free(s);
}

/* smtpd_read_line - the next command line of the input into s->line; false
 * when none is complete yet. Lines longer than line_length_limit are cut
 * there and the rest is skipped, as Postfix's smtp_get() does. */
static bool
smtpd_read_line(struct smtpd_session *s, struct evbuffer *in)
{
	size_t limit = (size_t)s->srv->cfg.line_limit, avail, take;
	struct evbuffer_ptr eol;

	for (;;) {
		avail = evbuffer_get_length(in);
		if (avail == 0)
			return false;
		eol = evbuffer_search(in, "\n", 1, NULL);
		if (s->skip_line) {
			if (eol.pos < 0) {
				evbuffer_drain(in, avail);
				return false;
			}
			evbuffer_drain(in, (size_t)eol.pos + 1);
			s->skip_line = false;
			continue;
		}
		if (eol.pos < 0 && avail <= limit)
			return false;
		take = eol.pos >= 0 ? (size_t)eol.pos : avail;
		if (take > limit) {
			take = limit;
			s->skip_line = true;
		}
		/* bounded by line_length_limit by construction */
		str_reset(&s->line);
		{
			char buf[4096];
			size_t left = take, n;

			while (left > 0) {
				n = left < sizeof(buf) ? left : sizeof(buf);
				evbuffer_remove(in, buf, n);
				str_append_n(&s->line, buf, n);
				left -= n;
			}
		}
		if (!s->skip_line)
			evbuffer_drain(in, 1);	/* the LF */
		if (s->line.len > 0 && s->line.s[s->line.len - 1] == '\r')
			str_truncate(&s->line, s->line.len - 1);
		return true;
	}
}

/* smtpd_read_data - feed DATA or a BDAT chunk to the reader */
static void
smtpd_read_data(struct smtpd_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	size_t n, used;
	bool progress;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return;
	n = v.iov_len;
	if (s->mode == SMTPD_MODE_BDAT) {
		if (n > s->tx.bdat_left)
			n = s->tx.bdat_left;
		if (s->tx.bdat_reply[0] != '\0')
			used = n;	/* discarding after an error */
		else
			used = smtpd_data_feed(&s->tx.data, v.iov_base, n);
		s->tx.bdat_left -= used;
		progress = used >= 1024 || s->tx.bdat_left == 0;
	} else {
		used = smtpd_data_feed(&s->tx.data, v.iov_base, n);
		progress = memchr(v.iov_base, '\n', used) != NULL;
	}
	evbuffer_drain(in, used);
	if (progress)
		smtpd_deadline_reset(s, s->srv->cfg.timeout);
	if (s->tx.data.out.len >= SMTPD_DATA_OUT_MAX || smtpd_data_done(&s->tx.data))
		smtpd_msg_content(s);
	if (s->mode == SMTPD_MODE_DATA && smtpd_data_done(&s->tx.data)) {
		s->mode = SMTPD_MODE_CMD;
		smtpd_msg_end(s);
	}
}

/* smtpd_process - handle what the client sent, in order, while replies
 * can still be queued: pipelined commands are answered one by one */
static void
smtpd_process(struct smtpd_session *s)
{
	struct evbuffer *in;
	bool nested = s->in_process;

	s->in_process = true;
	while (s->mode != SMTPD_MODE_CLOSING && s->mode != SMTPD_MODE_AUTH_WAIT &&
	    s->mode != SMTPD_MODE_DNS_WAIT && s->mode != SMTPD_MODE_COMMIT_WAIT && !s->paused &&
	    s->bev != NULL) {
		if (s->mode == SMTPD_MODE_BDAT && s->tx.bdat_left == 0) {
			s->mode = SMTPD_MODE_CMD;
			smtpd_msg_bdat_done(s);
			continue;
		}
		in = bufferevent_get_input(s->bev);
		if (evbuffer_get_length(in) == 0)
			break;
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > SMTPD_OUT_HIGH)
			smtpd_flush(s);
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > SMTPD_OUT_HIGH) {
			/* the client does not read its replies: wait for it */
			s->paused = true;
			bufferevent_disable(s->bev, EV_READ);
			break;
		}
		if (s->mode == SMTPD_MODE_CMD) {
			if (!smtpd_read_line(s, in))
				break;
			smtpd_deadline_reset(s, s->srv->cfg.timeout);
			smtpd_dispatch(s, s->line.s, s->line.len);
		} else if (s->mode == SMTPD_MODE_AUTH) {
			if (!smtpd_read_line(s, in))
				break;
			smtpd_deadline_reset(s, s->srv->cfg.timeout);
			smtpd_sasl_response(s, s->line.s, s->skip_line ||
			    memchr(s->line.s, '\0', s->line.len) != NULL);
		} else
			smtpd_read_data(s, in);
	}
	s->in_process = nested;
	if (!nested)
		smtpd_flush(s);
}

void
smtpd_resume(struct smtpd_session *s)
{
	smtpd_process(s);
	if (s->mode == SMTPD_MODE_CLOSING)
		smtpd_try_free(s);
}

static void
smtpd_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtpd_session *s = arg;

	smtpd_process(s);
	if (s->mode == SMTPD_MODE_CLOSING)
		smtpd_try_free(s);
}

static void
smtpd_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtpd_session *s = arg;

	if (s->direct)	/* the backlog is out: replies are written at once again */
		bufferevent_disable(s->bev, EV_WRITE);
	if (s->mode == SMTPD_MODE_CLOSING) {
		smtpd_try_free(s);
		return;
	}
	if (s->paused) {
		s->paused = false;
		bufferevent_enable(s->bev, EV_READ);
		smtpd_process(s);
		if (s->mode == SMTPD_MODE_CLOSING)
			smtpd_try_free(s);
	}
}

static void
smtpd_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpd_session *s = arg;
	char where[64], buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		if (s->tls)
			log_info("Anonymous TLS connection established from %s: %s", s->namaddr,
			    smtpd_tls_describe(s, buf, sizeof(buf)));
		return;
	}
	if (s->mode != SMTPD_MODE_CLOSING) {
		if ((what & BEV_EVENT_ERROR) && s->tls && bufferevent_get_openssl_error(bev) != 0) {
			unsigned long e = bufferevent_get_openssl_error(bev);
			ERR_error_string_n(e, buf, sizeof(buf));
			log_info("SSL_accept error from %s: %s", s->namaddr, buf);
		}
		log_info("lost connection after %s from %s", smtpd_where(s, where, sizeof(where)),
		    s->namaddr);
	}
	smtpd_session_free(s);
}

void
smtpd_tls_attach(struct smtpd_session *s)
{
	bufferevent_setcb(s->bev, smtpd_read_cb, smtpd_write_cb, smtpd_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void
smtpd_session_free(struct smtpd_session *s)
{
	struct smtpd_server *srv = s->srv;
	struct str stats;

	str_init(&stats, 128);
	smtpd_cmd_stats(s, &stats);
	log_info("disconnect from %s%s", s->namaddr, stats.s);
	str_deinit(&stats);
	smtpd_commit_forget(s);
	qfile_writer_abort(&s->tx.qf);
	smtpd_sasl_reset(s);
	dns_cancel(&s->dns_q);
	smtpd_dns_answers_free(&s->dns_answers);
	free(s->dns_args);
	smtpd_data_deinit(&s->tx.data);
	str_deinit(&s->tx.sender);
	str_deinit(&s->tx.first_rcpt);
	smtpd_hdr_end(s);
	str_deinit(&s->helo);
	str_deinit(&s->line);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	event_free(s->deadline);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv->nsessions--;
	free(s);
	if (srv->stopping && srv->nsessions == 0)
		event_base_loopbreak(srv->base);
}

/* smtpd_addr_text - numeric address of a peer; IPv4-mapped IPv6 as IPv4,
 * as Postfix logs it */
static void
smtpd_addr_text(const struct sockaddr *sa, char *buf, size_t size)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	else if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, buf, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)size);
	else
		snprintf(buf, size, "127.0.0.1");	/* a unix socket: local */
}

static unsigned
smtpd_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

static void
smtpd_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct smtpd_server *srv = arg;
	struct smtpd_config *cfg = &srv->cfg;
	struct smtpd_session *s, *o;
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	long same = 0;

	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	smtpd_addr_text(sa, s->addr, sizeof(s->addr));
	s->rport = smtpd_addr_port(sa);
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0 &&
	    (local.ss_family == AF_INET || local.ss_family == AF_INET6)) {
		smtpd_addr_text((struct sockaddr *)&local, s->laddr, sizeof(s->laddr));
		s->lport = smtpd_addr_port((struct sockaddr *)&local);
	}
	snprintf(s->name, sizeof(s->name), "unknown");
	snprintf(s->namaddr, sizeof(s->namaddr), "%s[%s]", s->name, s->addr);
	str_init(&s->helo, 32);
	s->helo.max = 1024;
	str_init(&s->line, 256);
	str_init(&s->tx.sender, 64);
	str_init(&s->tx.first_rcpt, 64);
	smtpd_data_init(&s->tx.data, false, 0);
	s->deadline = evtimer_new(srv->base, smtpd_deadline_cb, s);
	s->next = srv->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	evutil_make_socket_nonblocking(fd);
	if (cfg->wrappermode) {
		s->bev = cfg->ssl_ctx != NULL ? smtpd_tls_socket(srv, fd) : NULL;
		s->tls = true;
	} else
		s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	log_info("connect from %s", s->namaddr);
	if (s->bev == NULL) {
		log_warn("cannot start %s for %s: TLS is not available",
		    cfg->wrappermode ? "implicit TLS" : "the session", s->namaddr);
		close(fd);
		smtpd_session_free(s);
		return;
	}
	if (s->tls) {
		smtpd_tls_attach(s);
	} else {
		bufferevent_setcb(s->bev, smtpd_read_cb, smtpd_write_cb, smtpd_event_cb, s);
		bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
		bufferevent_enable(s->bev, EV_READ);
		s->direct = true;
	}
	smtpd_deadline_reset(s, cfg->timeout);
	if (cfg->conn_limit > 0 && smtpd_check_mynetworks(cfg->checks, s->addr, s->name) != 1) {
		for (o = srv->sessions; o != NULL; o = o->next)
			if (strcmp(o->addr, s->addr) == 0)
				same++;
		if (same > cfg->conn_limit) {
			log_warn("Connection concurrency limit exceeded: %ld from %s for service smtp",
			    same, s->namaddr);
			smtpd_reply(s, "421 4.7.0 %s Error: too many connections from %s",
			    cfg->myhostname, s->addr);
			smtpd_close(s, NULL);
			smtpd_try_free(s);
			return;
		}
	}
	smtpd_reply(s, "220 %s", cfg->banner);
}

/* smtpd_sigusr2_cb - retired by a reload: no new sessions, the ones here
 * go on to their QUIT or timeout, then the process ends */
static void
smtpd_sigusr2_cb(evutil_socket_t sig, short what, void *arg)
{
	struct smtpd_server *srv = arg;

	srv->stopping = true;
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	srv->listener = NULL;
	if (srv->nsessions == 0)
		event_base_loopbreak(srv->base);
}

static void
smtpd_sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	struct smtpd_server *srv = arg;
	struct smtpd_session *s, *next;

	srv->stopping = true;
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	srv->listener = NULL;
	/* idle sessions go now; a transaction in flight completes first
	 * (its session closes at its next command) */
	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->mode == SMTPD_MODE_CMD && !s->tx.active) {
			smtpd_reply(s, "421 4.3.2 %s Service shutting down", srv->cfg.myhostname);
			smtpd_close(s, NULL);
			smtpd_try_free(s);
		}
	}
	if (srv->nsessions == 0)
		event_base_loopbreak(srv->base);
}

/* smtpd_config_read - every parameter smtpd uses, read once */
static int
smtpd_config_read(struct smtpd_server *srv, const char **error_r)
{
	struct smtpd_config *cfg = &srv->cfg;
	struct maincf *mc = srv->mc;
	struct str v;
	const char *err;
	char *cerr = NULL;
	struct {
		const char *name;
		long *val;
		long def;
	} longs[] = {
		{ "message_size_limit", &cfg->message_size_limit, 10240000 },
		{ "queue_minfree", &cfg->queue_minfree, 0 },
		{ "line_length_limit", &cfg->line_limit, 2048 },
		{ "smtpd_recipient_limit", &cfg->rcpt_limit, 1000 },
		{ "smtpd_client_connection_count_limit", &cfg->conn_limit, 50 },
		{ "smtpd_hard_error_limit", &cfg->hard_error_limit, 20 },
		{ "smtpd_junk_command_limit", &cfg->junk_limit, 100 },
	};
	size_t i;

	str_init(&v, 64);
#define GET_STR(name, field) do { \
		if (maincf_get(mc, name, &v, &err) < 0) { *error_r = err; goto fail; } \
		cfg->field = xstrdup(v.s); \
	} while (0)
	GET_STR("myhostname", myhostname);
	GET_STR("smtpd_banner", banner);
	GET_STR("queue_directory", queue_dir);
	GET_STR("mail_name", mail_name);
	for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		if (maincf_raw(mc, longs[i].name) == NULL)
			*longs[i].val = longs[i].def;
		else if (maincf_get_long(mc, longs[i].name, longs[i].val, &err) < 0) {
			*error_r = err;
			goto fail;
		}
	}
	if (cfg->line_limit < 512)
		cfg->line_limit = 512;
	if (cfg->hard_error_limit < 1)
		cfg->hard_error_limit = 1;
	if (maincf_get_time(mc, "smtpd_timeout", &cfg->timeout, &err) < 0) {
		*error_r = err;
		goto fail;
	}
	if (maincf_get_bool(mc, "disable_vrfy_command", &cfg->disable_vrfy, &err) < 0 ||
	    maincf_get_bool(mc, "smtpd_sasl_auth_enable", &cfg->sasl_enable, &err) < 0 ||
	    maincf_get_bool(mc, "strict_rfc821_envelopes", &cfg->strict_rfc821, &err) < 0 ||
	    maincf_get_bool(mc, "enable_long_queue_ids", &cfg->long_ids, &err) < 0 ||
	    maincf_get_bool(mc, "smtpd_helo_required", &cfg->helo_required, &err) < 0 ||
	    maincf_get_bool(mc, "smtpd_tls_wrappermode", &cfg->wrappermode, &err) < 0 ||
	    maincf_get_bool(mc, "smtputf8_enable", &cfg->smtputf8, &err) < 0) {
		*error_r = err;
		goto fail;
	}
	strvec_init(&cfg->discard_ehlo);
	strvec_init(&cfg->forbidden);
	if (maincf_get(mc, "smtpd_discard_ehlo_keywords", &v, &err) == 0)
		maincf_list_split(v.s, &cfg->discard_ehlo);
	if (maincf_get(mc, "smtpd_forbidden_commands", &v, &err) == 0) {
		struct strvec all;

		strvec_init(&all);
		maincf_list_split(v.s, &all);
		for (i = 0; i < all.n; i++)
			if (strchr(all.v[i], ':') == NULL && all.v[i][0] != '{')
				strvec_push(&cfg->forbidden, all.v[i]);
		strvec_deinit(&all);
	}
	if (smtpd_tls_init(cfg, mc, error_r) < 0 || smtpd_sasl_config(cfg, mc, error_r) < 0)
		goto fail;
	cfg->checks = smtpd_checks_new(mc, &cerr);
	if (cfg->checks == NULL) {
		static char buf[1024];

		snprintf(buf, sizeof(buf), "%s", cerr);
		free(cerr);
		*error_r = buf;
		goto fail;
	}
	/* addresses are rewritten once, on the way into the queue file */
	if ((cfg->rewrite = rewrite_new(mc, error_r)) == NULL ||
	    smtpd_hdr_config(cfg, mc, error_r) < 0)
		goto fail;
	str_deinit(&v);
	return 0;
fail:
	str_deinit(&v);
	return -1;
#undef GET_STR
}

static void
smtpd_config_free(struct smtpd_config *cfg)
{
	free(cfg->myhostname);
	free(cfg->banner);
	free(cfg->queue_dir);
	free(cfg->mail_name);
	free(cfg->sasl_path);
	strvec_deinit(&cfg->discard_ehlo);
	strvec_deinit(&cfg->forbidden);
	SSL_CTX_free(cfg->ssl_ctx);
	smtpd_checks_free(&cfg->checks);
	rewrite_free(&cfg->rewrite);
	smtpd_hdr_config_free(cfg);
}

/* smtpd_listen - bind ADDR:PORT ("127.0.0.1:2525", "[::1]:2525") */
static int
smtpd_listen(const char *spec, const char **error_r)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon, *port;
	int fd, on = 1, rc;

	colon = strrchr(spec, ':');
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
		*error_r = "--listen wants ADDRESS:PORT";
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = colon + 1;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		*error_r = gai_strerror(rc);
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
smtpd_usage(void)
{
	fprintf(stderr, "usage: smtpd [-c config_dir] [-n service] [-t type] [-o name=value]... "
	    "[-v] [--listen address:port]\n");
	return 64;
}

/* cmd_smtpd - "smtpd -c DIR -n NAME -t inet -o name=value..." under the
 * master (listener on fd 3), or "yubin smtpd -c DIR --listen ADDR:PORT" */
int
cmd_smtpd(int argc, char **argv)
{
	struct smtpd_server srv;
	struct skeleton sk;
	const char *err;
	int fd, rc = 1;

	memset(&srv, 0, sizeof(srv));
	/* argv, main.cf with the -o overrides, logging as $syslog_name/smtpd:
	 * the skeleton every daemon shares (docs/process-contract.md) */
	if (skeleton_init(&sk, "smtpd", argc, argv, &err) != 0) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		skeleton_deinit(&sk);
		return smtpd_usage();
	}
	srv.mc = sk.cf;
	if (smtpd_config_read(&srv, &err) < 0) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		goto out;
	}
	if (sk.listen_fd >= 0)
		fd = sk.listen_fd;
	else if (sk.listen_addr != NULL) {
		if ((fd = smtpd_listen(sk.listen_addr, &err)) < 0) {
			log_msg(LOG_LEVEL_ERROR, "listen on %s: %s", sk.listen_addr, err);
			goto out;
		}
	} else {
		log_msg(LOG_LEVEL_ERROR, "not started by the master (YUBIN_MASTER is unset): "
		    "give --listen ADDRESS:PORT");
		goto out;
	}
	/* The TLS key is read and the socket bound: from here on, mail_owner. */
	if (skeleton_drop_privileges(&sk, &err) != 0) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	srv.base = event_base_new();
	evutil_make_socket_nonblocking(fd);
	srv.listener = evconnlistener_new(srv.base, smtpd_accept_cb, &srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (srv.listener == NULL) {
		log_msg(LOG_LEVEL_ERROR, "cannot listen on fd %d: %s", fd, strerror(errno));
		goto out;
	}
	smtpd_sasl_start(&srv);
	{
		struct str servers;

		/* the DNS restrictions' resolver; without one they answer 4xx */
		str_init(&servers, 64);
		(void)maincf_get(srv.mc, "yubin_dns_servers", &servers, &err);
		if ((srv.dns = dns_resolver_new(srv.base, servers.s, &err)) == NULL)
			log_warn("%s: DNS-based restrictions will defer", err);
		str_deinit(&servers);
	}
	srv.sigterm = evsignal_new(srv.base, SIGTERM, smtpd_sigterm_cb, &srv);
	event_add(srv.sigterm, NULL);
	srv.sigretire = evsignal_new(srv.base, SIGUSR2, smtpd_sigusr2_cb, &srv);
	event_add(srv.sigretire, NULL);
	if (sk.listen_addr != NULL)
		log_info("listening on %s", sk.listen_addr);
	event_base_dispatch(srv.base);
	rc = 0;
out:
	while (srv.sessions != NULL)
		smtpd_session_free(srv.sessions);
	smtpd_commit_stop(&srv);
	if (srv.listener != NULL)
		evconnlistener_free(srv.listener);
	if (srv.sigterm != NULL)
		event_free(srv.sigterm);
	if (srv.sigretire != NULL)
		event_free(srv.sigretire);
	smtpd_sasl_stop(&srv);
	dns_resolver_free(&srv.dns);
	if (srv.base != NULL)
		event_base_free(srv.base);
	smtpd_config_free(&srv.cfg);
	srv.mc = NULL;		/* the skeleton's */
	skeleton_deinit(&sk);
	return rc;
}
