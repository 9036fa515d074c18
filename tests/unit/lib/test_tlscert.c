/* test_tlscert.c - the self-signed certificate of "yubin dev": it loads
 * back with PEM_read_*, names the host, carries the loopback SANs, is
 * signed with SHA-256 by its own key, and the key file is private. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/str.h"
#include "lib/tlscert.h"

struct tmpdir {
	char	path[64];
	char	cert[96];
	char	key[96];
};

static int
setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->path, sizeof(t->path), "/tmp/test_tlscert.XXXXXX");
	assert_non_null(mkdtemp(t->path));
	snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->path);
	snprintf(t->key, sizeof(t->key), "%s/key.pem", t->path);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tmpdir *t = *state;

	unlink(t->cert);
	unlink(t->key);
	rmdir(t->path);
	free(t);
	return 0;
}

static X509 *
load_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k;

	assert_non_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

/* san_has - does the certificate's subjectAltName hold this DNS name or IP
 * (given as raw bytes)? */
static int
san_has(X509 *x, int type, const void *want, size_t len)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, found = 0;

	assert_non_null(names);
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		const ASN1_STRING *s;

		if (gn->type != type)
			continue;
		s = type == GEN_DNS ? gn->d.dNSName : gn->d.iPAddress;
		if ((size_t)ASN1_STRING_length(s) == len &&
		    memcmp(ASN1_STRING_get0_data(s), want, len) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(names);
	return found;
}

static void
test_written_files_load_back_and_match(void **state)
{
	struct tmpdir *t = *state;
	const char *err = NULL;
	static const unsigned char v4[] = { 127, 0, 0, 1 };
	static const unsigned char v6[16] = { [15] = 1 };
	char cn[128];
	struct stat st;
	X509 *x;
	EVP_PKEY *k;

	assert_int_equal(tlscert_write(t->cert, t->key, "mail.example.test",
	    TLSCERT_DEFAULT_DAYS, &err), 0);
	assert_null(err);

	/* the key is private from the moment it exists */
	assert_int_equal(stat(t->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	x = load_cert(t->cert);
	k = load_key(t->key);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(X509_verify(x, k), 1);		/* self-signed */
	assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);

	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "mail.example.test");
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

	assert_true(san_has(x, GEN_DNS, "localhost", 9));
	assert_true(san_has(x, GEN_DNS, "mail.example.test", 17));
	assert_true(san_has(x, GEN_IPADD, v4, sizeof(v4)));
	assert_true(san_has(x, GEN_IPADD, v6, sizeof(v6)));
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);

	/* valid now, and for years rather than days */
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	{
		int pday, psec;

		assert_int_equal(ASN1_TIME_diff(&pday, &psec, X509_get0_notBefore(x),
		    X509_get0_notAfter(x)), 1);
		assert_true(pday >= 3649);
	}
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_two_certificates_differ_in_key_and_serial(void **state)
{
	struct str c1, k1, c2, k2;
	const char *err = NULL;

	str_init(&c1, 0);
	str_init(&k1, 0);
	str_init(&c2, 0);
	str_init(&k2, 0);
	assert_int_equal(tlscert_make_pem("a", 1, &c1, &k1, &err), 0);
	assert_int_equal(tlscert_make_pem("a", 1, &c2, &k2, &err), 0);
	assert_non_null(strstr(c1.s, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr(k1.s, "-----BEGIN PRIVATE KEY-----"));
	assert_string_not_equal(c1.s, c2.s);
	assert_string_not_equal(k1.s, k2.s);
	str_deinit(&c1);
	str_deinit(&k1);
	str_deinit(&c2);
	str_deinit(&k2);
}

static void
test_overlong_or_empty_cn_falls_back_to_localhost(void **state)
{
	char longname[100];
	const char *names[] = { "", NULL, longname };
	size_t i;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct str c, k;
		const char *err = NULL;
		BIO *bio;
		X509 *x;
		char cn[128];

		str_init(&c, 0);
		str_init(&k, 0);
		assert_int_equal(tlscert_make_pem(names[i], 30, &c, &k, &err), 0);
		bio = BIO_new_mem_buf(c.s, (int)c.len);
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		assert_non_null(x);
		assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
		    cn, sizeof(cn)) > 0);
		assert_string_equal(cn, "localhost");
		X509_free(x);
		BIO_free(bio);
		str_deinit(&c);
		str_deinit(&k);
	}
}

static void
test_unwritable_path_fails_with_a_reason(void **state)
{
	const char *err = NULL;

	assert_int_equal(tlscert_write("/nonexistent/dir/cert.pem", "/nonexistent/dir/key.pem",
	    "localhost", 1, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, "cannot write the private key");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_written_files_load_back_and_match, setup,
		    teardown),
		cmocka_unit_test(test_two_certificates_differ_in_key_and_serial),
		cmocka_unit_test(test_overlong_or_empty_cn_falls_back_to_localhost),
		cmocka_unit_test(test_unwritable_path_fails_with_a_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
