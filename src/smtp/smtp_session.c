/* smtp_session.c - one SMTP or LMTP conversation per target, as a state
 * machine on a libevent bufferevent: greeting, EHLO/LHLO (HELO after a
 * rejected EHLO), STARTTLS, AUTH, MAIL/RCPT/DATA (pipelined when the
 * server offers PIPELINING), the content, QUIT. Every wait has its
 * timeout (smtp_*_timeout); every reply goes through smtp_reply.c's
 * bounded parser. Trouble with one server (refused connection, timeout,
 * lost connection, a 4xx greeting, HELO or MAIL reply) moves on to the
 * next target; a recipient's own 4xx/5xx, or a 5xx to MAIL, is the
 * outcome. The texts are Postfix's ("host X said: ... (in reply to RCPT
 * TO command)", "connect to X: Connection refused", "conversation with X
 * timed out while ...", "lost connection with X while ..."). */
#include "smtp/smtp-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "queue/qfile.h"

enum smtp_state {
	ST_IDLE,
	ST_CONNECT,
	ST_GREET,
	ST_EHLO,
	ST_HELO,
	ST_STARTTLS,
	ST_TLS,
	ST_AUTH,
	ST_AUTH_USER,
	ST_AUTH_PASS,
	ST_MAIL,
	ST_RCPT,
	ST_DATA,
	ST_DOT,
	ST_QUIT,
};

/* Input that is not yet a whole line may not grow past this. */
#define SMTP_INPUT_MAX	(SMTP_REPLY_LINE_MAX + 2)

static void smtp_after_ehlo(struct smtp_delivery *);

static double
smtp_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void
smtp_relay_name(const struct smtp_delivery *d, char *buf, size_t size)
{
	const struct smtp_target *t;

	if (d->cur >= d->nt) {
		snprintf(buf, size, "none");
		return;
	}
	t = &d->t[d->cur];
	if (t->family == AF_UNIX)
		snprintf(buf, size, "%s[%s]", t->host, t->path);
	else
		snprintf(buf, size, "%s[%s]:%u", t->host, t->addr, t->port);
}

/* smtp_peer - "host[addr]" for texts */
static void
smtp_peer(const struct smtp_delivery *d, char *buf, size_t size)
{
	const struct smtp_target *t = &d->t[d->cur];

	if (t->family == AF_UNIX)
		snprintf(buf, size, "%s[%s]", t->host, t->path);
	else
		snprintf(buf, size, "%s[%s]", t->host, t->addr);
}

static void
smtp_timer_arm(struct smtp_delivery *d, long secs, const char *phase)
{
	struct timeval tv = { secs > 0 ? secs : 1, 0 };

	d->phase = phase;
	evtimer_add(d->timer, &tv);
}

static void
smtp_send(struct smtp_delivery *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
smtp_send(struct smtp_delivery *d, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(d->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* smtp_session_close - drop the connection (the delivery goes on) */
void
smtp_session_close(struct smtp_delivery *d)
{
	if (d->timer != NULL)
		evtimer_del(d->timer);
	if (d->bev != NULL) {
		bufferevent_free(d->bev);
		d->bev = NULL;
	}
	d->state = ST_IDLE;
	d->tls_active = false;
	smtp_reply_reset(&d->reply);
}

/* smtp_fail_target - this server failed (soft): next target */
static void
smtp_fail_target(struct smtp_delivery *d, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
smtp_fail_target(struct smtp_delivery *d, const char *status, const char *fmt, ...)
{
	char buf[TRANSPORT_DSN_TEXT_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	smtp_delivery_next(d, status, buf);
}

/* smtp_remote_result - the outcome from a server's reply: "host X said:
 * TEXT (in reply to WHAT)" */
static void
smtp_remote_result(struct smtp_delivery *d, const struct smtp_reply *r, const char *what)
{
	char peer[300], buf[TRANSPORT_DSN_TEXT_SIZE], relay[TRANSPORT_RELAY_SIZE];
	char status[TRANSPORT_DSN_STATUS_SIZE];
	int cls = r->code / 100;

	smtp_peer(d, peer, sizeof(peer));
	smtp_relay_name(d, relay, sizeof(relay));
	snprintf(buf, sizeof(buf), "host %s said: %s (in reply to %s)", peer, r->text.s, what);
	if (r->dsn[0] != '\0')
		snprintf(status, sizeof(status), "%s", r->dsn);
	else
		snprintf(status, sizeof(status), "%d.0.0", cls == 5 ? 5 : 4);
	smtp_delivery_result(d, cls == 5 ? TRANSPORT_BOUNCED : TRANSPORT_DEFERRED, status,
	    relay, buf);
}

/* smtp_quit - after the outcome: QUIT, and close on its reply */
static void
smtp_quit(struct smtp_delivery *d)
{
	if (d->bev == NULL)
		return;
	d->state = ST_QUIT;
	smtp_send(d, "QUIT");
	smtp_timer_arm(d, d->set->quit_timeout, "while sending QUIT command");
}

static bool
smtp_auth_mech_allowed(const struct smtp_delivery *d)
{
	return d->tls_active ? !d->set->sasl_tls_noplaintext : !d->set->sasl_noplaintext;
}

/* smtp_sasl_lookup - credentials for this server: the nexthop as
 * routed ("[relay.example]:587"), then the host name; 1 found */
static int
smtp_sasl_lookup(struct smtp_delivery *d)
{
	struct str v;
	const char *err, *keys[3];
	char *colon;
	size_t i;
	int r = 0;

	if (!d->set->sasl_enable || d->set->sasl_maps == NULL)
		return 0;
	keys[0] = d->nexthop;
	keys[1] = d->t[d->cur].host;
	keys[2] = d->nh.host;
	str_init(&v, 64);
	for (i = 0; i < 3 && r == 0; i++)
		r = maps_find(d->set->sasl_maps, keys[i], &v, &err);
	if (r > 0 && (colon = strchr(v.s, ':')) != NULL) {
		free(d->sasl_user);
		free(d->sasl_pass);
		d->sasl_user = xstrndup(v.s, (size_t)(colon - v.s));
		d->sasl_pass = xstrdup(colon + 1);
	} else if (r < 0) {
		log_warn("smtp_sasl_password_maps: %s", err);
	} else {
		r = 0;
	}
	str_deinit(&v);
	return r > 0 ? 1 : r;
}

static void
smtp_send_auth(struct smtp_delivery *d)
{
	struct str raw, b64;
	char peer[300];

	smtp_peer(d, peer, sizeof(peer));
	if (!smtp_auth_mech_allowed(d) || (!d->ehlo.auth_plain && !d->ehlo.auth_login)) {
		smtp_fail_target(d, "4.7.0", "SASL authentication failed; cannot authenticate to "
		    "server %s: no mechanism available", peer);
		return;
	}
	str_init(&raw, 128);
	str_init(&b64, 128);
	if (d->ehlo.auth_plain) {
		str_append_c(&raw, '\0');
		str_append(&raw, d->sasl_user);
		str_append_c(&raw, '\0');
		str_append(&raw, d->sasl_pass);
		base64_encode(&b64, raw.s, raw.len);
		d->state = ST_AUTH;
		smtp_send(d, "AUTH PLAIN %s", b64.s);
	} else {
		d->state = ST_AUTH_USER;
		smtp_send(d, "AUTH LOGIN");
	}
	smtp_timer_arm(d, d->set->helo_timeout, "while performing SASL authentication");
	str_deinit(&raw);
	str_deinit(&b64);
}

static void
smtp_send_b64(struct smtp_delivery *d, const char *s)
{
	struct str b64;

	str_init(&b64, 64);
	base64_encode(&b64, s, strlen(s));
	smtp_send(d, "%s", b64.s);
	str_deinit(&b64);
}

/* smtp_tls_verified - the server's certificate is trusted and names the
 * host (verify: the MX host; secure: the nexthop domain) */
static bool
smtp_tls_verified(struct smtp_delivery *d, const char **why_r)
{
	SSL *ssl = bufferevent_openssl_get_ssl(d->bev);
	X509 *cert;
	const char *name;
	bool ok;

	if (d->set->tls_level < SMTP_TLS_VERIFY)
		return true;
	if (ssl == NULL || (cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		*why_r = "no server certificate";
		return false;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		X509_free(cert);
		*why_r = "untrusted issuer";
		return false;
	}
	name = d->set->tls_level == SMTP_TLS_SECURE ? d->nh.host : d->t[d->cur].host;
	ok = X509_check_host(cert, name, 0, 0, NULL) == 1;
	X509_free(cert);
	if (!ok)
		*why_r = "hostname mismatch";
	return ok;
}

/* smtp_tls_log - Postfix's line: "Verified TLS connection established to
 * host[addr]:port: TLSv1.3 with cipher X (256/256 bits)"; Trusted when
 * the chain is good, Untrusted when not, Verified when the name matched
 * too (verify/secure) */
static void
smtp_tls_log(struct smtp_delivery *d)
{
	SSL *ssl = bufferevent_openssl_get_ssl(d->bev);
	const SSL_CIPHER *c;
	const char *trust;
	char relay[TRANSPORT_RELAY_SIZE];
	int alg = 0, bits;

	if (ssl == NULL || (c = SSL_get_current_cipher(ssl)) == NULL)
		return;
	if (d->set->tls_level >= SMTP_TLS_VERIFY)
		trust = "Verified";
	else
		trust = SSL_get_verify_result(ssl) == X509_V_OK ? "Trusted" : "Untrusted";
	bits = SSL_CIPHER_get_bits(c, &alg);
	smtp_relay_name(d, relay, sizeof(relay));
	log_info("%s TLS connection established to %s: %s with cipher %s (%d/%d bits)", trust,
	    relay, SSL_get_version(ssl), SSL_CIPHER_get_name(c), bits, alg);
}

static void
smtp_start_tls(struct smtp_delivery *d)
{
	struct bufferevent *tls;
	struct evbuffer *in = bufferevent_get_input(d->bev);
	SSL *ssl;

	/* nothing the server sent before the handshake counts after it */
	evbuffer_drain(in, evbuffer_get_length(in));
	ssl = SSL_new(d->set->ssl_ctx);
	if (ssl == NULL) {
		smtp_fail_target(d, "4.7.5", "Cannot start TLS: out of memory");
		return;
	}
	if (d->t[d->cur].family != AF_UNIX)
		SSL_set_tlsext_host_name(ssl, d->t[d->cur].host);
	tls = bufferevent_openssl_filter_new(d->base, d->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		smtp_fail_target(d, "4.7.5", "Cannot start TLS: out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	d->bev = tls;
	d->state = ST_TLS;
	smtp_timer_arm(d, d->set->starttls_timeout, "while performing the TLS handshake");
	/* the callbacks move to the filter */
	smtp_session_attach(d);
}

/* smtp_after_ehlo - TLS, then AUTH, then the mail transaction */
static void
smtp_after_ehlo(struct smtp_delivery *d)
{
	const struct smtp_settings *s = d->set;
	char peer[300];
	int r;

	smtp_peer(d, peer, sizeof(peer));
	if (!d->tls_active && s->ssl_ctx != NULL && d->t[d->cur].family != AF_UNIX) {
		bool offered = (d->ehlo.ext & SMTP_EXT_STARTTLS) != 0;

		if (s->tls_level >= SMTP_TLS_ENCRYPT && !offered) {
			smtp_fail_target(d, "4.7.4", "TLS is required, but was not offered by host %s",
			    peer);
			return;
		}
		if (offered && !(s->tls_level == SMTP_TLS_MAY && d->no_tls)) {
			d->state = ST_STARTTLS;
			smtp_send(d, "STARTTLS");
			smtp_timer_arm(d, s->starttls_timeout, "while sending STARTTLS command");
			return;
		}
	}
	if ((d->ehlo.ext & SMTP_EXT_AUTH) && (r = smtp_sasl_lookup(d)) != 0) {
		if (r < 0) {
			smtp_fail_target(d, "4.3.0", "cannot look up the SASL password for %s", peer);
			return;
		}
		smtp_send_auth(d);
		return;
	}
	smtp_session_mail(d);
}

/* smtp_send_rcpt - RCPT TO, with the DSN request when the server takes
 * DSN (RFC 3461) */
static void
smtp_send_rcpt(struct smtp_delivery *d)
{
	struct str cmd;
	const char *sep = "";

	str_init(&cmd, 128);
	str_appendf(&cmd, "RCPT TO:<%s>", d->rcpt);
	if ((d->ehlo.ext & SMTP_EXT_DSN) && d->notify != 0) {
		str_append(&cmd, " NOTIFY=");
		if (d->notify & QFILE_NOTIFY_NEVER) {
			str_append(&cmd, "NEVER");
		} else {
			if (d->notify & QFILE_NOTIFY_SUCCESS) {
				str_append(&cmd, "SUCCESS");
				sep = ",";
			}
			if (d->notify & QFILE_NOTIFY_FAILURE) {
				str_appendf(&cmd, "%sFAILURE", sep);
				sep = ",";
			}
			if (d->notify & QFILE_NOTIFY_DELAY)
				str_appendf(&cmd, "%sDELAY", sep);
		}
	}
	smtp_send(d, "%s", cmd.s);
	str_deinit(&cmd);
}

void
smtp_session_mail(struct smtp_delivery *d)
{
	char peer[300], relay[TRANSPORT_RELAY_SIZE], buf[TRANSPORT_DSN_TEXT_SIZE];
	struct str cmd;
	bool pipelining = (d->ehlo.ext & SMTP_EXT_PIPELINING) != 0;

	smtp_peer(d, peer, sizeof(peer));
	smtp_relay_name(d, relay, sizeof(relay));
	if (d->utf8 && !(d->ehlo.ext & SMTP_EXT_SMTPUTF8)) {
		snprintf(buf, sizeof(buf), "SMTPUTF8 is required, but was not offered by host %s",
		    peer);
		smtp_delivery_result(d, TRANSPORT_BOUNCED, "5.6.7", relay, buf);
		return;
	}
	if (d->ehlo.size_limit > 0 && d->content.len > d->ehlo.size_limit) {
		snprintf(buf, sizeof(buf), "message size %zu exceeds size limit %lu of server %s",
		    d->content.len, d->ehlo.size_limit, peer);
		smtp_delivery_result(d, TRANSPORT_BOUNCED, "5.3.4", relay, buf);
		return;
	}
	str_init(&cmd, 128);
	str_appendf(&cmd, "MAIL FROM:<%s>", d->sender);
	if (d->ehlo.ext & SMTP_EXT_SIZE)
		str_appendf(&cmd, " SIZE=%zu", d->content.len);
	if (d->eightbit && (d->ehlo.ext & SMTP_EXT_8BITMIME))
		str_append(&cmd, " BODY=8BITMIME");
	if (d->utf8)
		str_append(&cmd, " SMTPUTF8");
	if (d->ehlo.ext & SMTP_EXT_DSN) {
		if (d->dsn_ret != NULL)
			str_appendf(&cmd, " RET=%s", d->dsn_ret);
		if (d->dsn_envid != NULL)
			str_appendf(&cmd, " ENVID=%s", d->dsn_envid);
	}
	smtp_send(d, "%s", cmd.s);
	str_deinit(&cmd);
	d->state = ST_MAIL;
	d->mail_ok = d->rcpt_ok = false;
	d->replies_due = 1;
	if (pipelining) {
		smtp_send_rcpt(d);
		smtp_send(d, "DATA");
		d->replies_due = 3;
	}
	smtp_timer_arm(d, d->set->mail_timeout, "while sending MAIL FROM");
}

/* smtp_send_content - the message, dot-stuffed, CRLF line ends, and the
 * final dot */
static void
smtp_send_content(struct smtp_delivery *d)
{
	struct evbuffer *out = bufferevent_get_output(d->bev);
	const char *p = d->content.s, *end = p + d->content.len, *nl;

	while (p < end) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r' && nl != NULL)
			n--;
		if (n > 0 && p[0] == '.')
			evbuffer_add(out, ".", 1);
		evbuffer_add(out, p, n);
		evbuffer_add(out, "\r\n", 2);
		p = nl != NULL ? nl + 1 : end;
	}
	evbuffer_add(out, ".\r\n", 3);
	d->state = ST_DOT;
	smtp_timer_arm(d, d->set->data_xfer_timeout, "while sending message body");
}

/* smtp_rcpt_rejected - keep a RCPT rejection as the outcome to report */
static void
smtp_rcpt_rejected(struct smtp_delivery *d)
{
	d->rcpt_class = d->reply.code / 100;
	str_reset(&d->rcpt_error);
	str_append(&d->rcpt_error, d->reply.text.s);
	snprintf(d->rcpt_status, sizeof(d->rcpt_status), "%s", d->reply.dsn[0] != '\0' ?
	    d->reply.dsn : d->rcpt_class == 5 ? "5.0.0" : "4.0.0");
}

static void
smtp_report_rcpt(struct smtp_delivery *d)
{
	char peer[300], relay[TRANSPORT_RELAY_SIZE], buf[TRANSPORT_DSN_TEXT_SIZE];

	smtp_peer(d, peer, sizeof(peer));
	smtp_relay_name(d, relay, sizeof(relay));
	snprintf(buf, sizeof(buf), "host %s said: %s (in reply to RCPT TO command)", peer,
	    d->rcpt_error.s);
	smtp_delivery_result(d, d->rcpt_class == 5 ? TRANSPORT_BOUNCED : TRANSPORT_DEFERRED,
	    d->rcpt_status, relay, buf);
}

/* smtp_on_reply - one complete reply in the current state */
static void
smtp_on_reply(struct smtp_delivery *d)
{
	const struct smtp_reply *r = &d->reply;
	const struct smtp_settings *s = d->set;
	int cls = r->code / 100;
	char peer[300], relay[TRANSPORT_RELAY_SIZE];

	smtp_peer(d, peer, sizeof(peer));
	evtimer_del(d->timer);
	switch (d->state) {
	case ST_GREET:
		d->sessions++;
		if (cls != 2) {
			smtp_fail_target(d, cls == 5 ? "5.0.0" : "4.0.0",
			    "host %s refused to talk to me: %s", peer, r->text.s);
			return;
		}
		d->state = ST_EHLO;
		smtp_send(d, "%s %s", s->lmtp ? "LHLO" : "EHLO", s->helo_name);
		smtp_timer_arm(d, s->helo_timeout, s->lmtp ? "while performing the LHLO handshake" :
		    "while performing the EHLO handshake");
		return;
	case ST_EHLO:
		if (cls == 2) {
			smtp_ehlo_parse(r, &d->ehlo);
			smtp_after_ehlo(d);
			return;
		}
		if (!s->lmtp && cls == 5 && !d->tls_active) {
			memset(&d->ehlo, 0, sizeof(d->ehlo));
			d->state = ST_HELO;
			smtp_send(d, "HELO %s", s->helo_name);
			smtp_timer_arm(d, s->helo_timeout, "while performing the HELO handshake");
			return;
		}
		smtp_fail_target(d, r->dsn[0] != '\0' ? r->dsn : "4.0.0",
		    "host %s refused to talk to me: %s", peer, r->text.s);
		return;
	case ST_HELO:
		if (cls != 2) {
			smtp_fail_target(d, "4.0.0", "host %s refused to talk to me: %s", peer,
			    r->text.s);
			return;
		}
		smtp_after_ehlo(d);
		return;
	case ST_STARTTLS:
		if (cls == 2) {
			smtp_start_tls(d);
			return;
		}
		if (s->tls_level == SMTP_TLS_MAY) {
			/* opportunistic: go on in plaintext */
			d->no_tls = true;
			smtp_after_ehlo(d);
			return;
		}
		smtp_fail_target(d, "4.7.4", "TLS is required, but host %s refused to start TLS: %s",
		    peer, r->text.s);
		return;
	case ST_AUTH_USER:
		if (r->code == 334) {
			d->state = ST_AUTH_PASS;
			smtp_send_b64(d, d->sasl_user);
			smtp_timer_arm(d, s->helo_timeout, "while performing SASL authentication");
			return;
		}
		break;
	case ST_AUTH_PASS:
		if (r->code == 334) {
			d->state = ST_AUTH;
			smtp_send_b64(d, d->sasl_pass);
			smtp_timer_arm(d, s->helo_timeout, "while performing SASL authentication");
			return;
		}
		break;
	case ST_AUTH:
		if (cls == 2) {
			smtp_session_mail(d);
			return;
		}
		break;
	case ST_MAIL:
		d->replies_due--;
		if (cls != 2) {
			if (cls == 5) {
				smtp_remote_result(d, r, "MAIL FROM command");
				return;
			}
			smtp_fail_target(d, r->dsn[0] != '\0' ? r->dsn : "4.0.0",
			    "host %s said: %s (in reply to MAIL FROM command)", peer, r->text.s);
			return;
		}
		d->mail_ok = true;
		d->state = ST_RCPT;
		if (d->replies_due == 0) {
			smtp_send_rcpt(d);
			d->replies_due = 1;
		}
		smtp_timer_arm(d, s->rcpt_timeout, "while sending RCPT TO");
		return;
	case ST_RCPT:
		d->replies_due--;
		if (cls == 2) {
			d->rcpt_ok = true;
		} else {
			smtp_rcpt_rejected(d);
			if (d->replies_due == 0) {
				/* not pipelined: no DATA was sent */
				smtp_report_rcpt(d);
				smtp_quit(d);
				return;
			}
		}
		d->state = ST_DATA;
		if (d->replies_due == 0) {
			smtp_send(d, "DATA");
			d->replies_due = 1;
		}
		smtp_timer_arm(d, s->data_init_timeout, "while sending DATA command");
		return;
	case ST_DATA:
		d->replies_due--;
		if (!d->rcpt_ok) {
			/* pipelined DATA after a rejected RCPT: the RCPT's reply
			 * is the outcome; a 354 here gets an empty message cut
			 * off by closing the connection */
			smtp_report_rcpt(d);
			if (r->code != 354)
				smtp_quit(d);
			return;
		}
		if (r->code != 354) {
			smtp_remote_result(d, r, "DATA command");
			smtp_quit(d);
			return;
		}
		smtp_send_content(d);
		return;
	case ST_DOT:
		smtp_relay_name(d, relay, sizeof(relay));
		if (cls == 2) {
			if (smtp_cache_put(d)) {
				/* the session waits in the cache for the next
				 * delivery to this nexthop */
				smtp_delivery_result(d, TRANSPORT_SENT, r->dsn[0] != '\0' ?
				    r->dsn : "2.0.0", relay, r->text.s);
				return;
			}
			d->state = ST_QUIT;	/* result first: the session ends with QUIT */
			smtp_delivery_result(d, TRANSPORT_SENT, r->dsn[0] != '\0' ? r->dsn : "2.0.0",
			    relay, r->text.s);
			smtp_quit(d);
			return;
		}
		smtp_remote_result(d, r, "end of DATA command");
		smtp_quit(d);
		return;
	case ST_QUIT:
		smtp_session_close(d);
		smtp_delivery_result(d, d->status, d->dsn.status, d->dsn.relay, d->dsn.reason);
		return;
	default:
		return;
	}
	/* AUTH failed */
	smtp_fail_target(d, cls == 5 ? "5.7.8" : "4.7.0",
	    "SASL authentication failed; server %s said: %s", peer, r->text.s);
}

static void
smtp_on_read(struct bufferevent *bev, void *arg)
{
	struct smtp_delivery *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *err;
	char *line;
	size_t n;
	int r;

	while (d->bev == bev && d->state != ST_IDLE && d->state != ST_CONNECT &&
	    d->state != ST_TLS) {
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > SMTP_INPUT_MAX) {
				char peer[300];

				smtp_peer(d, peer, sizeof(peer));
				smtp_fail_target(d, "4.4.2", "host %s sent a reply line that is too "
				    "long", peer);
			}
			return;
		}
		r = smtp_reply_feed(&d->reply, line, n, &err);
		free(line);
		if (r < 0) {
			char peer[300];

			smtp_peer(d, peer, sizeof(peer));
			if (d->state == ST_QUIT) {
				smtp_session_close(d);
				smtp_delivery_result(d, d->status, d->dsn.status, d->dsn.relay,
				    d->dsn.reason);
				return;
			}
			smtp_fail_target(d, "4.4.2", "host %s sent a %s %s", peer, err, d->phase);
			return;
		}
		if (r == 1)
			smtp_on_reply(d);
	}
}

/* smtp_on_write - the output drained: after the content, the wait for
 * the server's verdict */
static void
smtp_on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_delivery *d = arg;

	if (d->state == ST_DOT && strcmp(d->phase, "while sending message body") == 0) {
		evtimer_del(d->timer);
		smtp_timer_arm(d, d->set->data_done_timeout,
		    "while sending end of data -- message may be sent more than once");
	}
}

static void
smtp_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_delivery *d = arg;
	const struct smtp_target *t = &d->t[d->cur];
	char peer[300];

	smtp_peer(d, peer, sizeof(peer));
	if (what & BEV_EVENT_CONNECTED) {
		if (d->state == ST_CONNECT) {
			d->t_conn = smtp_now();
			d->conn_born = d->t_conn;
			d->conn_use = 1;
			d->state = ST_GREET;
			smtp_timer_arm(d, d->set->helo_timeout,
			    "while receiving the initial server greeting");
			return;
		}
		if (d->state == ST_TLS) {
			const char *why;

			evtimer_del(d->timer);
			if (!smtp_tls_verified(d, &why)) {
				smtp_fail_target(d, "4.7.5", "Server certificate not verified: %s "
				    "(host %s)", why, peer);
				return;
			}
			d->tls_active = true;
			smtp_tls_log(d);
			d->state = ST_EHLO;
			smtp_send(d, "%s %s", d->set->lmtp ? "LHLO" : "EHLO", d->set->helo_name);
			smtp_timer_arm(d, d->set->helo_timeout,
			    "while performing the EHLO handshake");
			/* data that came with the handshake's end */
			smtp_on_read(d->bev, d);
		}
		return;
	}
	if (d->state == ST_CONNECT) {
		int e = EVUTIL_SOCKET_ERROR();

		if (t->family == AF_UNIX)
			smtp_fail_target(d, "4.4.1", "connect to %s: %s", t->path,
			    strerror(e != 0 ? e : ECONNREFUSED));
		else
			smtp_fail_target(d, "4.4.1", "connect to %s[%s]:%u: %s", t->host, t->addr,
			    t->port, strerror(e != 0 ? e : ECONNREFUSED));
		return;
	}
	if (d->state == ST_TLS) {
		char err[200];
		unsigned long e = bufferevent_get_openssl_error(bev);

		if (e != 0)
			ERR_error_string_n(e, err, sizeof(err));
		else
			snprintf(err, sizeof(err), "handshake failure");
		ERR_clear_error();
		if (d->set->tls_level == SMTP_TLS_MAY && !d->no_tls) {
			/* opportunistic: the same server again, in plaintext */
			log_info("%s: TLS handshake with %s failed (%s); trying without TLS",
			    d->queue_id, peer, err);
			smtp_session_close(d);
			d->no_tls = true;
			smtp_session_begin(d);
			return;
		}
		smtp_fail_target(d, "4.7.5", "Cannot start TLS: handshake failure with %s: %s",
		    peer, err);
		return;
	}
	if (d->state == ST_QUIT) {
		smtp_session_close(d);
		smtp_delivery_result(d, d->status, d->dsn.status, d->dsn.relay, d->dsn.reason);
		return;
	}
	smtp_fail_target(d, "4.4.2", "lost connection with %s %s", peer, d->phase);
}

static void
smtp_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_delivery *d = arg;
	const struct smtp_target *t = &d->t[d->cur];
	char peer[300];

	smtp_peer(d, peer, sizeof(peer));
	if (d->state == ST_QUIT) {
		smtp_session_close(d);
		smtp_delivery_result(d, d->status, d->dsn.status, d->dsn.relay, d->dsn.reason);
		return;
	}
	if (d->state == ST_CONNECT) {
		if (t->family == AF_UNIX)
			smtp_fail_target(d, "4.4.1", "connect to %s: Connection timed out", t->path);
		else
			smtp_fail_target(d, "4.4.1", "connect to %s[%s]:%u: Connection timed out",
			    t->host, t->addr, t->port);
		return;
	}
	smtp_fail_target(d, "4.4.2", "conversation with %s timed out %s", peer, d->phase);
}

void
smtp_session_init(struct smtp_delivery *d)
{
	d->timer = evtimer_new(d->base, smtp_on_timeout, d);
}

void
smtp_session_detach(struct smtp_delivery *d)
{
	d->bev = NULL;
	evtimer_del(d->timer);
	d->state = ST_IDLE;
}

bool
smtp_session_quitting(const struct smtp_delivery *d)
{
	return d->state == ST_QUIT && d->bev != NULL;
}

void
smtp_session_attach(struct smtp_delivery *d)
{
	bufferevent_setcb(d->bev, smtp_on_read, smtp_on_write, smtp_on_event, d);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);
}

void
smtp_session_begin(struct smtp_delivery *d)
{
	const struct smtp_target *t;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;

	for (;;) {
		if (d->cur >= d->nt || (d->set->mx_session_limit > 0 &&
		    d->sessions >= (size_t)d->set->mx_session_limit)) {
			/* no server left: the fallback relays, else the
			 * last soft reason */
			if (d->have_soft && smtp_addr_fallback(d))
				return;
			if (d->have_soft)
				smtp_delivery_result(d, TRANSPORT_DEFERRED, d->soft.status,
				    d->soft.relay, d->soft.reason);
			else
				smtp_delivery_result(d, TRANSPORT_DEFERRED, "4.4.1", "none",
				    "no server to deliver to");
			return;
		}
		t = &d->t[d->cur];
		memset(&ss, 0, sizeof(ss));
		if (t->family == AF_UNIX) {
			struct sockaddr_un *su = (struct sockaddr_un *)&ss;

			if (strlen(t->path) >= sizeof(su->sun_path)) {
				smtp_fail_target(d, "4.3.5", "unix socket path too long: %s", t->path);
				return;
			}
			su->sun_family = AF_UNIX;
			memcpy(su->sun_path, t->path, strlen(t->path) + 1);
			sslen = sizeof(*su);
		} else if (t->family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)t->port);
			inet_pton(AF_INET6, t->addr, &s6->sin6_addr);
			sslen = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)t->port);
			inet_pton(AF_INET, t->addr, &s4->sin_addr);
			sslen = sizeof(*s4);
		}
		fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			smtp_fail_target(d, "4.4.1", "connect to %s[%s]:%u: %s", t->host, t->addr,
			    t->port, strerror(errno));
			return;
		}
		break;
	}
	memset(&d->ehlo, 0, sizeof(d->ehlo));
	smtp_reply_reset(&d->reply);
	d->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	d->state = ST_CONNECT;
	smtp_session_attach(d);
	bufferevent_setwatermark(d->bev, EV_READ, 0, 64 * 1024);
	smtp_timer_arm(d, d->set->connect_timeout, "while connecting");
	if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&ss, (int)sslen) != 0) {
		/* an immediate failure: reported through the event callback,
		 * or here when libevent gave up at once */
		if (d->state == ST_CONNECT && d->bev != NULL) {
			smtp_fail_target(d, "4.4.1", "connect to %s[%s]:%u: %s", d->t[d->cur].host,
			    d->t[d->cur].addr, d->t[d->cur].port, strerror(errno));
		}
	}
}
