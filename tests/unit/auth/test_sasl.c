/* test_sasl.c - SASL mechanisms against RFC vectors, and the passwd-file
 * parser's handling of broken lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "auth/passwd_file.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "lib/base64.h"
#include "lib/str.h"

static int
be_scram(void *ctx, const char *user, struct password_scram *r)
{
	struct str salt;

	str_init(&salt, 32);
	base64_decode(&salt, "W22ZaJ0SNY7soEsUEjb6gQ==", 24);
	password_scram_derive("pencil", (const unsigned char *)salt.s, salt.len, 4096, r);
	str_deinit(&salt);
	return strcmp(user, "user") == 0;
}

static int
be_plain(void *ctx, const char *user, const char *pass)
{
	return strcmp(user, "alice") == 0 && strcmp(pass, "secret") == 0;
}

static int
be_clear(void *ctx, const char *user, struct str *out)
{
	if (strcmp(user, "mrose") != 0)
		return 0;
	str_append(out, "tanstaaf");
	return 1;
}

/* RFC 1939 section 7's example, as a login process sends it to the
 * service: challenge NUL user NUL the 16 digest bytes */
static void
test_apop_rfc1939_vector(void **state)
{
	static const unsigned char digest[16] = { 0xc4, 0xc9, 0x33, 0x4b, 0xac, 0x56, 0x0e,
	    0xcc, 0x97, 0x9e, 0x58, 0x00, 0x1b, 0x3e, 0x22, 0xfb };
	static const char ch[] = "<1896.697170952@dbc.mtview.ca.us>";
	struct sasl_backend be = { be_plain, NULL, be_scram, be_clear, NULL };
	struct sasl_request *r;
	struct str in, out;
	const char *reason;

	str_init(&in, 64);
	str_init(&out, 16);
	str_append(&in, ch);
	str_append_c(&in, '\0');
	str_append(&in, "mrose");
	str_append_c(&in, '\0');
	str_append_n(&in, (const char *)digest, 16);
	r = sasl_request_new(sasl_mech_find("APOP"), &be, "h");
	assert_int_equal(sasl_request_step(r, in.s, in.len, true, &out, &reason), SASL_OK);
	assert_string_equal(sasl_request_user(r), "mrose");
	sasl_request_free(&r);
	/* one bit off in the digest, a challenge that is no msg-id, a
	 * truncated digest, an unknown user: refused */
	in.s[in.len - 1] ^= 1;
	r = sasl_request_new(sasl_mech_find("APOP"), &be, "h");
	assert_int_equal(sasl_request_step(r, in.s, in.len, true, &out, &reason), SASL_FAIL);
	sasl_request_free(&r);
	in.s[in.len - 1] ^= 1;
	in.s[0] = 'x';
	r = sasl_request_new(sasl_mech_find("APOP"), &be, "h");
	assert_int_equal(sasl_request_step(r, in.s, in.len, true, &out, &reason), SASL_FAIL);
	sasl_request_free(&r);
	in.s[0] = '<';
	r = sasl_request_new(sasl_mech_find("APOP"), &be, "h");
	assert_int_equal(sasl_request_step(r, in.s, in.len - 1, true, &out, &reason), SASL_FAIL);
	sasl_request_free(&r);
	memcpy(in.s + sizeof(ch), "xrose", 5);
	r = sasl_request_new(sasl_mech_find("APOP"), &be, "h");
	assert_int_equal(sasl_request_step(r, in.s, in.len, true, &out, &reason), SASL_FAIL);
	sasl_request_free(&r);
	str_deinit(&in);
	str_deinit(&out);
}

/* RFC 7677 section 3: the whole exchange with its nonces */
static void
test_scram_sha_256_rfc7677_vector(void **state)
{
	struct sasl_backend be = { be_plain, NULL, be_scram, be_clear, NULL };
	struct sasl_request *r = sasl_request_new(sasl_mech_find("SCRAM-SHA-256"), &be, "h");
	struct str out;
	const char *reason;
	const char *c1 = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
	const char *c2 = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

	str_init(&out, 64);
	sasl_request_set_nonce(r, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	assert_int_equal(sasl_request_step(r, c1, strlen(c1), true, &out, &reason), SASL_CONTINUE);
	assert_string_equal(out.s, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	str_reset(&out);
	assert_int_equal(sasl_request_step(r, c2, strlen(c2), true, &out, &reason), SASL_OK);
	assert_string_equal(out.s, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	str_deinit(&out);
	sasl_request_free(&r);
	assert_null(r);
}

static void
test_plain_decodes_and_verifies(void **state)
{
	struct sasl_backend be = { be_plain, NULL, be_scram, be_clear, NULL };
	struct sasl_request *r = sasl_request_new(sasl_mech_find("PLAIN"), &be, "h");
	struct str out;
	const char *reason;

	str_init(&out, 16);
	assert_int_equal(sasl_request_step(r, "\0alice\0secret", 13, true, &out, &reason), SASL_OK);
	sasl_request_free(&r);
	r = sasl_request_new(sasl_mech_find("PLAIN"), &be, "h");
	assert_int_equal(sasl_request_step(r, "\0alice\0wrong", 12, true, &out, &reason), SASL_FAIL);
	sasl_request_free(&r);
	r = sasl_request_new(sasl_mech_find("PLAIN"), &be, "h");
	/* no second NUL: broken */
	assert_int_equal(sasl_request_step(r, "alice", 5, true, &out, &reason), SASL_FAIL);
	sasl_request_free(&r);
	str_deinit(&out);
}

static void
test_passwd_file_skips_broken_lines(void **state)
{
	const char *data = "# c\nalice:{PLAIN}x:1000:1000::/home/a::userdb_mail=maildir:~/M\n"
	    ":nouser:1:1::/::\nbob:{PLAIN}y:1 0:1::/::\nalice:{PLAIN}dup\ncarol\n";
	struct passwd_file *pf = passwd_file_parse("t", data, strlen(data));
	const struct passwd_file_entry *e = passwd_file_find(pf, "alice");

	assert_non_null(e);
	assert_string_equal(e->password, "{PLAIN}x");
	assert_string_equal(e->home, "/home/a");
	assert_int_equal(e->extra.n, 1);
	assert_string_equal(e->extra.v[0], "userdb_mail=maildir:~/M");
	assert_null(passwd_file_find(pf, "bob"));
	assert_non_null(passwd_file_find(pf, "carol"));
	assert_int_equal(passwd_file_warnings(pf), 3);
	passwd_file_free(&pf);
}

static void
test_cram_md5_rfc2195_vector(void **state)
{
	unsigned char ctx[PASSWORD_CRAM_MD5_CONTEXT_LEN];
	char out[33];
	const char *ch = "<1896.697170952@postoffice.reston.mci.net>";

	assert_int_equal(password_cram_md5_context("{PLAIN}tanstaaftanstaaf", NULL, ctx), 1);
	password_cram_md5_hmac(ctx, ch, strlen(ch), out);
	assert_string_equal(out, "b913a602c7eda7a495b4e6e7334d3890");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_sha_256_rfc7677_vector),
		cmocka_unit_test(test_plain_decodes_and_verifies),
		cmocka_unit_test(test_apop_rfc1939_vector),
		cmocka_unit_test(test_passwd_file_skips_broken_lines),
		cmocka_unit_test(test_cram_md5_rfc2195_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
