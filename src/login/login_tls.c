/* login_tls.c - the server TLS context of a Dovecot-side service from
 * dovecot.conf: ssl_cert, ssl_key (PEM text or <file, the rest of the cert
 * file is the chain), ssl_min_protocol, ssl_cipher_list,
 * ssl_prefer_server_ciphers, ssl_ca with ssl_verify_client_cert. Each
 * setting is read as the service's protocol sees it (protocol { } blocks).
 * Tests: tests/e2e/test_pop3.py (STLS, pop3s, client certificates),
 * test_dovecot_master.py (new certificates on reload). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "lib/dovecot_conf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "login/login.h"

static int
tls_version(const char *name)
{
	static const struct { const char *name; int v; } t[] = {
		{ "TLSv1", TLS1_VERSION }, { "TLSv1.1", TLS1_1_VERSION },
		{ "TLSv1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION },
		{ "ANY", 0 }, { "SSLv3", TLS1_VERSION },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(t[i].name, name) == 0)
			return t[i].v;
	return -1;
}

/* tls_client_ca - ssl_ca (PEM text or <file): the CAs that client
 * certificates are checked against and named to clients; with
 * ssl_verify_client_cert = yes a client may present one, and one that does
 * not verify ends the handshake (none at all is fine: the password still
 * decides). 0 or -1 with *error_r. */
static int
tls_client_ca(const struct dovecot_conf *dc, const char *protocol, SSL_CTX *ctx,
    const char **error_r)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_NAME) *names;
	struct str pem;
	char *v = dovecot_conf_protocol_str(dc, protocol, "ssl_ca");
	BIO *bio;
	X509 *x;
	int n = 0;

	if (*v == '\0') {
		free(v);
		if (dovecot_conf_protocol_bool(dc, protocol, "ssl_verify_client_cert")) {
			*error_r = "ssl_verify_client_cert = yes needs ssl_ca";
			return -1;
		}
		return 0;
	}
	str_init(&pem, 4096);
	if (dovecot_conf_value_read(dc, v, &pem) != 0) {
		free(v);
		str_deinit(&pem);
		*error_r = "cannot read ssl_ca";
		return -1;
	}
	free(v);
	names = sk_X509_NAME_new_null();
	bio = BIO_new_mem_buf(pem.s, (int)pem.len);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_NAME *name = X509_NAME_dup(X509_get_subject_name(x));

		if (X509_STORE_add_cert(store, x) == 1 && name != NULL &&
		    sk_X509_NAME_push(names, name) > 0)
			n++;
		else
			X509_NAME_free(name);
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(bio);
	str_deinit(&pem);
	if (n == 0) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		*error_r = "ssl_ca has no usable certificate";
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	if (dovecot_conf_protocol_bool(dc, protocol, "ssl_verify_client_cert"))
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

SSL_CTX *
login_tls_ctx(const struct dovecot_conf *dc, const char *protocol, const char **error_r)
{
	struct str cert, key;
	char *v, *minp, *ciphers;
	SSL_CTX *ctx = NULL;
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	int minv;

	str_init(&cert, 4096);
	str_init(&key, 4096);
	v = dovecot_conf_protocol_str(dc, protocol, "ssl_cert");
	if (*v == '\0' || dovecot_conf_value_read(dc, v, &cert) != 0) {
		*error_r = *v == '\0' ? "ssl_cert not set" : "cannot read ssl_cert";
		free(v);
		goto fail;
	}
	free(v);
	v = dovecot_conf_protocol_str(dc, protocol, "ssl_key");
	if (*v == '\0' || dovecot_conf_value_read(dc, v, &key) != 0) {
		*error_r = *v == '\0' ? "ssl_key not set" : "cannot read ssl_key";
		free(v);
		goto fail;
	}
	free(v);
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		goto ssl_fail;
	bio = BIO_new_mem_buf(cert.s, (int)cert.len);
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1)
		goto ssl_fail;
	/* the rest of the file is the chain */
	for (;;) {
		X509 *extra = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		if (extra == NULL)
			break;
		if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			goto ssl_fail;
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	bio = BIO_new_mem_buf(key.s, (int)key.len);
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		goto ssl_fail;
	minp = dovecot_conf_protocol_str(dc, protocol, "ssl_min_protocol");
	minv = tls_version(minp);
	free(minp);
	if (minv < 0) {
		*error_r = "unknown ssl_min_protocol";
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, minv);
	ciphers = dovecot_conf_protocol_str(dc, protocol, "ssl_cipher_list");
	if (*ciphers != '\0' && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		free(ciphers);
		*error_r = "invalid ssl_cipher_list";
		goto fail;
	}
	free(ciphers);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (dovecot_conf_protocol_bool(dc, protocol, "ssl_prefer_server_ciphers"))
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (tls_client_ca(dc, protocol, ctx, error_r) != 0)
		goto fail;
	goto out;
ssl_fail:
	*error_r = "cannot load the certificate or key";
fail:
	SSL_CTX_free(ctx);
	ctx = NULL;
	ERR_clear_error();
out:
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pk);
	explicit_bzero(key.s, key.len);
	str_deinit(&cert);
	str_deinit(&key);
	return ctx;
}
