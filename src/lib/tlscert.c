/* tlscert.c - generate a self-signed certificate and key (OpenSSL 3).
 * Used by "yubin dev" so an instance has TLS without an administrator
 * running openssl(1) by hand. Tests: tests/unit/lib/test_tlscert.c */
#include "lib/tlscert.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/str.h"
#include "lib/util.h"

/* X.509 limits a CN to 64 characters (RFC 5280 ub-common-name) */
#define TLSCERT_CN_MAX	64

/* tlscert_add_ext - add one extension given in openssl.cnf syntax */
static int
tlscert_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* tlscert_bio_append - append what a memory BIO holds to out */
static void
tlscert_bio_append(BIO *bio, struct str *out)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	if (n > 0)
		str_append_n(out, data, (size_t)n);
}

/* tlscert_serial - a random positive 64-bit serial (RFC 5280 wants unique,
 * and browsers reject a reused issuer+serial, so never use a constant) */
static int
tlscert_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ret = -1;

	if (bn != NULL && BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		ret = 0;
	BN_free(bn);
	return ret;
}

int
tlscert_make_pem(const char *cn, int days, struct str *cert_pem, struct str *key_pem,
    const char **error_r)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	X509V3_CTX ctx;
	BIO *cbio = NULL, *kbio = NULL;
	struct str san;
	int ret = -1;

	str_init(&san, 128);
	if (cn == NULL || *cn == '\0' || strlen(cn) > TLSCERT_CN_MAX)
		cn = "localhost";
	str_append(&san, "DNS:localhost");
	if (strcmp(cn, "localhost") != 0)
		str_appendf(&san, ",DNS:%s", cn);
	str_append(&san, ",IP:127.0.0.1,IP:::1");

	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		*error_r = "EC P-256 key generation failed";
		goto out;
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 || tlscert_serial(x) != 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    X509_set_pubkey(x, pkey) != 1) {
		*error_r = "cannot fill in the certificate";
		goto out;
	}
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
		-1, -1, 0) != 1 || X509_set_issuer_name(x, name) != 1) {
		*error_r = "cannot set the certificate's subject";
		goto out;
	}
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (tlscert_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    tlscert_add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") != 0 ||
	    tlscert_add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") != 0 ||
	    tlscert_add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0 ||
	    tlscert_add_ext(x, &ctx, NID_subject_alt_name, san.s) != 0) {
		*error_r = "cannot add the certificate's extensions";
		goto out;
	}
	if (X509_sign(x, pkey, EVP_sha256()) <= 0) {
		*error_r = "cannot sign the certificate";
		goto out;
	}
	if ((cbio = BIO_new(BIO_s_mem())) == NULL || (kbio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(cbio, x) != 1 ||
	    PEM_write_bio_PrivateKey(kbio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		*error_r = "cannot encode the certificate or key as PEM";
		goto out;
	}
	tlscert_bio_append(cbio, cert_pem);
	tlscert_bio_append(kbio, key_pem);
	ret = 0;
out:
	/* the queued OpenSSL errors say nothing a caller can act on beyond
	 * *error_r; drop them so they do not surface in an unrelated call */
	ERR_clear_error();
	BIO_free(cbio);
	BIO_free_all(kbio);
	X509_free(x);
	EVP_PKEY_free(pkey);
	str_deinit(&san);
	return ret;
}

int
tlscert_write(const char *cert_path, const char *key_path, const char *cn, int days,
    const char **error_r)
{
	struct str cert, key;
	int ret = -1;

	str_init(&cert, 1024);
	str_init(&key, 512);
	if (tlscert_make_pem(cn, days, &cert, &key, error_r) != 0)
		goto out;
	/* the key first: a certificate without its key is useless, and the key
	 * is created 0600 from the start, never readable in between */
	if (file_write_atomic(key_path, key.s, key.len, 0600) != 0) {
		*error_r = "cannot write the private key";
		goto out;
	}
	if (file_write_atomic(cert_path, cert.s, cert.len, 0644) != 0) {
		*error_r = "cannot write the certificate";
		goto out;
	}
	ret = 0;
out:
	/* the key's bytes do not linger in freed heap memory */
	if (key.s != NULL)
		OPENSSL_cleanse(key.s, key.len);
	str_deinit(&cert);
	str_deinit(&key);
	return ret;
}
