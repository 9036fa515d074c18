/* smtpd_tls.c - STARTTLS and implicit TLS (smtps) for smtpd, with OpenSSL
 * under libevent's bufferevent_openssl. The policy (smtpd_tls_security_level,
 * or the pre-2.3 smtpd_use_tls / smtpd_enforce_tls) is read once at start;
 * a key or certificate that cannot be loaded does not stop the server: it
 * answers STARTTLS with Postfix's "454 4.7.0 TLS not available due to
 * local problem", and logs why once. */
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/str.h"
#include "smtpd/smtpd.h"

int
smtpd_tls_init(struct smtpd_config *cfg, struct maincf *mc, const char **error_r)
{
	struct str level, cert, key;
	const char *err;
	bool use = false, enforce = false;
	SSL_CTX *ctx = NULL;
	int rc = -1;

	str_init(&level, 16);
	str_init(&cert, 64);
	str_init(&key, 64);
	(void)maincf_get_bool(mc, "smtpd_use_tls", &use, &err);
	(void)maincf_get_bool(mc, "smtpd_enforce_tls", &enforce, &err);
	if (maincf_get(mc, "smtpd_tls_security_level", &level, &err) < 0 || level.len == 0) {
		str_reset(&level);
		str_append(&level, enforce ? "encrypt" : use ? "may" : "none");
	}
	if (strcasecmp(level.s, "none") == 0)
		cfg->tls_level = SMTPD_TLS_NONE;
	else if (strcasecmp(level.s, "may") == 0)
		cfg->tls_level = SMTPD_TLS_MAY;
	else if (strcasecmp(level.s, "encrypt") == 0)
		cfg->tls_level = SMTPD_TLS_ENCRYPT;
	else {
		*error_r = "invalid smtpd_tls_security_level (none, may or encrypt)";
		goto out;
	}
	rc = 0;
	if (cfg->tls_level == SMTPD_TLS_NONE && !cfg->wrappermode)
		goto out;
	(void)maincf_get(mc, "smtpd_tls_cert_file", &cert, &err);
	(void)maincf_get(mc, "smtpd_tls_key_file", &key, &err);
	if (cert.len == 0) {
		log_warn("TLS is wanted (smtpd_tls_security_level = %s%s), but "
		    "smtpd_tls_cert_file is empty: TLS is not available", level.s,
		    cfg->wrappermode ? ", smtpd_tls_wrappermode = yes" : "");
		cfg->tls_broken = true;
		goto out;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert.s) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key.len > 0 ? key.s : cert.s, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char buf[256];

		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		log_warn("cannot load the TLS certificate %s or key %s: %s: TLS is not available",
		    cert.s, key.len > 0 ? key.s : cert.s, buf);
		SSL_CTX_free(ctx);
		ctx = NULL;
		cfg->tls_broken = true;
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	cfg->ssl_ctx = ctx;
out:
	str_deinit(&level);
	str_deinit(&cert);
	str_deinit(&key);
	return rc;
}

/* smtpd_tls_start - switch the session to TLS after "220 Ready to start
 * TLS". Plaintext the client pipelined after STARTTLS is thrown away, so it
 * cannot be mistaken for commands sent under TLS (CVE-2011-0411). */
int
smtpd_tls_start(struct smtpd_session *s, int fd)
{
	struct event_base *base = s->srv->base;
	struct bufferevent *tls;
	struct evbuffer *in;
	SSL *ssl;

	in = bufferevent_get_input(s->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	/* "220 Ready to start TLS" and the rest leave through libevent, as
	 * every reply does under TLS */
	s->direct = false;
	bufferevent_enable(s->bev, EV_WRITE);
	ssl = SSL_new(s->srv->cfg.ssl_ctx);
	if (ssl == NULL)
		return -1;
	tls = bufferevent_openssl_filter_new(base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	s->bev = tls;
	s->tls = true;
	smtpd_tls_attach(s);
	return 0;
}

/* smtpd_tls_socket - a bufferevent that starts with the TLS handshake
 * (smtpd_tls_wrappermode = yes) */
struct bufferevent *
smtpd_tls_socket(struct smtpd_server *srv, int fd)
{
	struct bufferevent *bev;
	SSL *ssl;

	ssl = SSL_new(srv->cfg.ssl_ctx);
	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

const char *
smtpd_tls_describe(struct smtpd_session *s, char *buf, size_t size)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	const SSL_CIPHER *c;
	int alg = 0, bits;

	if (ssl == NULL || (c = SSL_get_current_cipher(ssl)) == NULL) {
		snprintf(buf, size, "unknown");
		return buf;
	}
	bits = SSL_CIPHER_get_bits(c, &alg);
	snprintf(buf, size, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
	    SSL_CIPHER_get_name(c), bits, alg);
	return buf;
}

/* smtpd_tls_error - the first queued OpenSSL error, for the log */
void
smtpd_tls_error(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "lost connection");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
}
