/* password.c - Dovecot's password schemes (see password.h). Crypt family
 * through libxcrypt's crypt_r, digests and HMAC through OpenSSL, ARGON2ID
 * through libargon2 (Debian's libargon2-1; Dovecot uses libsodium, the
 * encoded "$argon2id$v=19$m=...,t=...,p=..." strings are the same).
 * Tests: tests/unit/auth/test_password.c, tests/e2e/test_doveadm_pw.py. */
#define OPENSSL_SUPPRESS_DEPRECATED	/* MD5_CTX: CRAM-MD5 stores MD5 states */
#include <argon2.h>
#include <crypt.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/password.h"
#include "lib/base64.h"
#include "lib/mem.h"
#include "lib/str.h"

enum pw_enc { ENC_NONE, ENC_B64, ENC_HEX };

enum pw_kind {
	K_CLEAR,
	K_CRYPT,	/* verify with crypt_r; generate with prefix */
	K_DIGEST,	/* unsalted digest */
	K_SALTED,	/* digest(password . salt) . salt */
	K_CRAM,
	K_SCRAM,
	K_ARGON2ID,
};

struct pw_scheme {
	const char	*name;
	enum pw_kind	 kind;
	enum pw_enc	 enc;		/* default encoding of binary data */
	const char	*md;		/* OpenSSL digest name */
	const char	*crypt_prefix;	/* K_CRYPT: what generation makes; NULL = verify only */
	unsigned	 def_rounds;
};

/* CRYPT makes bcrypt with cost 5: Debian's Dovecot 2.3 does ("$2y$05$"). */
static const struct pw_scheme schemes[] = {
	{ "PLAIN", K_CLEAR, ENC_NONE, NULL, NULL, 0 },
	{ "CLEAR", K_CLEAR, ENC_NONE, NULL, NULL, 0 },
	{ "CLEARTEXT", K_CLEAR, ENC_NONE, NULL, NULL, 0 },
	{ "CRYPT", K_CRYPT, ENC_NONE, NULL, "$2y$", 5 },
	{ "BLF-CRYPT", K_CRYPT, ENC_NONE, NULL, "$2y$", 5 },
	{ "MD5-CRYPT", K_CRYPT, ENC_NONE, NULL, "$1$", 0 },
	{ "MD5", K_CRYPT, ENC_NONE, NULL, "$1$", 0 },	/* Dovecot's alias */
	{ "SHA256-CRYPT", K_CRYPT, ENC_NONE, NULL, "$5$", 0 },
	{ "SHA512-CRYPT", K_CRYPT, ENC_NONE, NULL, "$6$", 0 },
	{ "DES-CRYPT", K_CRYPT, ENC_NONE, NULL, NULL, 0 },
	{ "SHA", K_DIGEST, ENC_B64, "SHA1", NULL, 0 },
	{ "SHA1", K_DIGEST, ENC_B64, "SHA1", NULL, 0 },
	{ "SHA256", K_DIGEST, ENC_B64, "SHA256", NULL, 0 },
	{ "SHA512", K_DIGEST, ENC_B64, "SHA512", NULL, 0 },
	{ "PLAIN-MD5", K_DIGEST, ENC_HEX, "MD5", NULL, 0 },
	{ "LDAP-MD5", K_DIGEST, ENC_B64, "MD5", NULL, 0 },
	{ "SSHA", K_SALTED, ENC_B64, "SHA1", NULL, 0 },
	{ "SSHA256", K_SALTED, ENC_B64, "SHA256", NULL, 0 },
	{ "SSHA512", K_SALTED, ENC_B64, "SHA512", NULL, 0 },
	{ "SMD5", K_SALTED, ENC_B64, "MD5", NULL, 0 },
	{ "CRAM-MD5", K_CRAM, ENC_HEX, NULL, NULL, 0 },
	{ "SCRAM-SHA-256", K_SCRAM, ENC_NONE, NULL, NULL, 4096 },
	{ "ARGON2ID", K_ARGON2ID, ENC_NONE, NULL, NULL, 3 },
};

#define SALT_LEN	4	/* SSHA*: Dovecot's salt length */
#define SCRAM_SALT_LEN	16
#define ARGON2_SALT_LEN	16
#define ARGON2_HASH_LEN	32
#define ARGON2_MEM_KIB	65536	/* 64 MiB, what Dovecot's doveadm pw uses */

/* scheme_lookup - the table row and encoding of "NAME[.b64|.hex]" */
static const struct pw_scheme *
scheme_lookup(const char *name, enum pw_enc *enc_r)
{
	char base[PASSWORD_SCHEME_MAX];
	const char *dot = strrchr(name, '.');
	size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);
	enum pw_enc enc = (enum pw_enc)-1;

	if (n >= sizeof(base))
		return NULL;
	memcpy(base, name, n);
	base[n] = '\0';
	if (dot != NULL) {
		if (strcasecmp(dot + 1, "b64") == 0 || strcasecmp(dot + 1, "base64") == 0)
			enc = ENC_B64;
		else if (strcasecmp(dot + 1, "hex") == 0)
			enc = ENC_HEX;
		else
			return NULL;
	}
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcasecmp(schemes[i].name, base) == 0) {
			if (enc_r != NULL)
				*enc_r = enc == (enum pw_enc)-1 ? schemes[i].enc : enc;
			return &schemes[i];
		}
	return NULL;
}

bool
password_scheme_is_known(const char *scheme)
{
	return scheme_lookup(scheme, NULL) != NULL;
}

void
password_split(const char *stored, const char *default_scheme, char *buf, size_t size,
    const char **rest_r)
{
	const char *end;
	size_t n;

	*rest_r = stored;
	if (stored[0] == '{' && (end = strchr(stored, '}')) != NULL &&
	    (n = (size_t)(end - stored - 1)) < size) {
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)toupper((unsigned char)stored[1 + i]);
		buf[n] = '\0';
		*rest_r = end + 1;
		return;
	}
	snprintf(buf, size, "%s", default_scheme != NULL ? default_scheme : "PLAIN");
	for (char *p = buf; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
}

static void
encode(struct str *out, enum pw_enc enc, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	switch (enc) {
	case ENC_B64:
		base64_encode(out, data, len);
		break;
	case ENC_HEX:
		for (size_t i = 0; i < len; i++) {
			str_append_c(out, hex[data[i] >> 4]);
			str_append_c(out, hex[data[i] & 15]);
		}
		break;
	case ENC_NONE:
		str_append_n(out, data, len);
		break;
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
hex_decode(struct str *out, const char *s, size_t len)
{
	if (len % 2 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int a = hexval((unsigned char)s[i]), b = hexval((unsigned char)s[i + 1]);

		if (a < 0 || b < 0)
			return -1;
		str_append_c(out, a << 4 | b);
	}
	return 0;
}

/* decode - stored binary data; like Dovecot, a value whose length is that
 * of the hex form of want bytes is taken as hex even where base64 is the
 * default */
static int
decode(struct str *out, enum pw_enc enc, const char *s, size_t want)
{
	size_t len = strlen(s);

	if (enc == ENC_NONE) {
		str_append_n(out, s, len);
		return 0;
	}
	if (want > 0 && len == want * 2 && hex_decode(out, s, len) == 0)
		return 0;
	str_reset(out);
	if (enc == ENC_HEX)
		return hex_decode(out, s, len);
	return base64_decode(out, s, len);
}

static void
digest(const char *md_name, const void *a, size_t alen, const void *b, size_t blen,
    unsigned char *out, unsigned *len_r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = EVP_get_digestbyname(md_name);

	if (ctx == NULL || md == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, alen) != 1 || EVP_DigestUpdate(ctx, b, blen) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, len_r) != 1)
		abort();	/* a digest OpenSSL always has: out of memory */
	EVP_MD_CTX_free(ctx);
}

/* cram_context - Dovecot's hmac_md5_get_cram_context: the MD5 states
 * after the opad and ipad blocks, each word little-endian, outer first */
static void
cram_context(const char *plain, unsigned char ctx_r[PASSWORD_CRAM_MD5_CONTEXT_LEN])
{
	unsigned char key[64], pad[64];
	size_t klen = strlen(plain);
	MD5_CTX in, out;

	memset(key, 0, sizeof(key));
	if (klen > 64)
		MD5((const unsigned char *)plain, klen, key);
	else
		memcpy(key, plain, klen);
	for (int i = 0; i < 64; i++)
		pad[i] = key[i] ^ 0x36;
	MD5_Init(&in);
	MD5_Update(&in, pad, 64);
	for (int i = 0; i < 64; i++)
		pad[i] = key[i] ^ 0x5c;
	MD5_Init(&out);
	MD5_Update(&out, pad, 64);
	const MD5_LONG w[8] = { out.A, out.B, out.C, out.D, in.A, in.B, in.C, in.D };
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 4; k++)
			ctx_r[i * 4 + k] = (unsigned char)(w[i] >> (8 * k));
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(pad, sizeof(pad));
}

static void
md5_resume(MD5_CTX *c, const unsigned char *state)
{
	MD5_LONG w[4];

	for (int i = 0; i < 4; i++)
		w[i] = (MD5_LONG)state[i * 4] | (MD5_LONG)state[i * 4 + 1] << 8 |
		    (MD5_LONG)state[i * 4 + 2] << 16 | (MD5_LONG)state[i * 4 + 3] << 24;
	memset(c, 0, sizeof(*c));
	c->A = w[0];
	c->B = w[1];
	c->C = w[2];
	c->D = w[3];
	c->Nl = 512;	/* one 64-byte block done */
}

void
password_cram_md5_hmac(const unsigned char ctx[PASSWORD_CRAM_MD5_CONTEXT_LEN],
    const char *challenge, size_t len, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char inner[16], d[16];
	MD5_CTX c;

	md5_resume(&c, ctx + 16);
	MD5_Update(&c, challenge, len);
	MD5_Final(inner, &c);
	md5_resume(&c, ctx);
	MD5_Update(&c, inner, sizeof(inner));
	MD5_Final(d, &c);
	for (int i = 0; i < 16; i++) {
		out[i * 2] = hex[d[i] >> 4];
		out[i * 2 + 1] = hex[d[i] & 15];
	}
	out[32] = '\0';
}

void
password_scram_derive(const char *plain, const unsigned char *salt, size_t salt_len,
    unsigned iterations, struct password_scram *r)
{
	unsigned char salted[32], client_key[32];
	unsigned len = 0;

	memset(r, 0, sizeof(*r));
	r->iterations = iterations;
	r->salt_len = salt_len > sizeof(r->salt) ? sizeof(r->salt) : salt_len;
	memcpy(r->salt, salt, r->salt_len);
	if (PKCS5_PBKDF2_HMAC(plain, (int)strlen(plain), r->salt, (int)r->salt_len,
	    (int)iterations, EVP_sha256(), sizeof(salted), salted) != 1)
		abort();
	HMAC(EVP_sha256(), salted, sizeof(salted), (const unsigned char *)"Client Key", 10,
	    client_key, &len);
	SHA256(client_key, sizeof(client_key), r->stored_key);
	HMAC(EVP_sha256(), salted, sizeof(salted), (const unsigned char *)"Server Key", 10,
	    r->server_key, &len);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
}

/* scram_parse - "iter,salt,storedkey,serverkey" (base64 parts) */
static int
scram_parse(const char *s, struct password_scram *r)
{
	char *copy = xstrdup(s), *f[4], *save = NULL, *p;
	struct str buf;
	int n = 0, ret = -1;
	unsigned long it;

	memset(r, 0, sizeof(*r));
	for (p = strtok_r(copy, ",", &save); p != NULL && n < 4; p = strtok_r(NULL, ",", &save))
		f[n++] = p;
	if (n != 4 || p != NULL)
		goto out;
	it = strtoul(f[0], &p, 10);
	if (*p != '\0' || it < 1 || it > 10000000)
		goto out;
	r->iterations = (unsigned)it;
	str_init(&buf, 64);
	if (base64_decode(&buf, f[1], strlen(f[1])) == 0 && buf.len > 0 &&
	    buf.len <= sizeof(r->salt)) {
		memcpy(r->salt, buf.s, buf.len);
		r->salt_len = buf.len;
		str_reset(&buf);
		if (base64_decode(&buf, f[2], strlen(f[2])) == 0 && buf.len == 32) {
			memcpy(r->stored_key, buf.s, 32);
			str_reset(&buf);
			if (base64_decode(&buf, f[3], strlen(f[3])) == 0 && buf.len == 32) {
				memcpy(r->server_key, buf.s, 32);
				ret = 0;
			}
		}
	}
	str_deinit(&buf);
out:
	free(copy);
	return ret;
}

static void
random_bytes(unsigned char *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1)
		abort();	/* no entropy: nothing safe to do */
}

int
password_generate(const char *scheme, const char *plain, const char *user, unsigned rounds,
    struct str *out, const char **error_r)
{
	enum pw_enc enc;
	const struct pw_scheme *s = scheme_lookup(scheme, &enc);
	unsigned char salt[64], md[EVP_MAX_MD_SIZE + SALT_LEN];
	unsigned mdlen = 0;

	if (s == NULL) {
		*error_r = "Unknown scheme";
		return -1;
	}
	str_append_c(out, '{');
	for (const char *p = scheme; *p != '\0'; p++)
		str_append_c(out, toupper((unsigned char)*p));
	str_append_c(out, '}');
	switch (s->kind) {
	case K_CLEAR:
		encode(out, enc, (const unsigned char *)plain, strlen(plain));
		return 0;
	case K_CRYPT: {
		char setting[CRYPT_GENSALT_OUTPUT_SIZE];
		struct crypt_data *cd;
		const char *h;
		unsigned long cnt = rounds != 0 ? rounds : s->def_rounds;

		if (s->crypt_prefix == NULL) {
			*error_r = "Scheme can only be verified";
			return -1;
		}
		if (strcmp(s->crypt_prefix, "$1$") == 0)
			cnt = 0;
		random_bytes(salt, 16);
		if (crypt_gensalt_rn(s->crypt_prefix, cnt, (const char *)salt, 16, setting,
		    sizeof(setting)) == NULL) {
			*error_r = "Invalid number of rounds";
			return -1;
		}
		cd = xcalloc(1, sizeof(*cd));
		h = crypt_r(plain, setting, cd);
		if (h == NULL || h[0] == '*') {
			free(cd);
			*error_r = "crypt() failed";
			return -1;
		}
		str_append(out, h);
		OPENSSL_cleanse(cd, sizeof(*cd));
		free(cd);
		return 0;
	}
	case K_DIGEST:
		digest(s->md, plain, strlen(plain), "", 0, md, &mdlen);
		encode(out, enc, md, mdlen);
		return 0;
	case K_SALTED:
		random_bytes(salt, SALT_LEN);
		digest(s->md, plain, strlen(plain), salt, SALT_LEN, md, &mdlen);
		memcpy(md + mdlen, salt, SALT_LEN);
		encode(out, enc, md, mdlen + SALT_LEN);
		return 0;
	case K_CRAM: {
		unsigned char ctx[PASSWORD_CRAM_MD5_CONTEXT_LEN];

		cram_context(plain, ctx);
		encode(out, enc, ctx, sizeof(ctx));
		return 0;
	}
	case K_SCRAM: {
		struct password_scram sc;

		random_bytes(salt, SCRAM_SALT_LEN);
		/* rounds ignored, as Dovecot 2.3's doveadm pw ignores -r here */
		password_scram_derive(plain, salt, SCRAM_SALT_LEN, s->def_rounds, &sc);
		str_appendf(out, "%u,", sc.iterations);
		base64_encode(out, sc.salt, sc.salt_len);
		str_append_c(out, ',');
		base64_encode(out, sc.stored_key, 32);
		str_append_c(out, ',');
		base64_encode(out, sc.server_key, 32);
		return 0;
	}
	case K_ARGON2ID: {
		char enc_buf[256];
		unsigned t = rounds != 0 ? rounds : s->def_rounds;

		random_bytes(salt, ARGON2_SALT_LEN);
		if (argon2id_hash_encoded(t, ARGON2_MEM_KIB, 1, plain, strlen(plain), salt,
		    ARGON2_SALT_LEN, ARGON2_HASH_LEN, enc_buf, sizeof(enc_buf)) != ARGON2_OK) {
			*error_r = "argon2id hashing failed";
			return -1;
		}
		str_append(out, enc_buf);
		return 0;
	}
	}
	(void)user;
	*error_r = "Unknown scheme";
	return -1;
}

int
password_verify(const char *stored, const char *default_scheme, const char *plain,
    const char *user, const char **error_r)
{
	char name[PASSWORD_SCHEME_MAX];
	const char *data;
	enum pw_enc enc;
	const struct pw_scheme *s;
	struct str raw;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int ret = -1;

	(void)user;
	password_split(stored, default_scheme, name, sizeof(name), &data);
	if ((s = scheme_lookup(name, &enc)) == NULL) {
		*error_r = "Unknown password scheme";
		return -1;
	}
	str_init(&raw, 64);
	switch (s->kind) {
	case K_CLEAR:
		if (decode(&raw, enc, data, 0) < 0)
			goto broken;
		ret = strlen(plain) == raw.len && CRYPTO_memcmp(plain, raw.s, raw.len) == 0;
		break;
	case K_CRYPT: {
		struct crypt_data *cd = xcalloc(1, sizeof(*cd));
		const char *h = crypt_r(plain, data, cd);

		if (h == NULL || h[0] == '*' || data[0] == '\0') {
			free(cd);
			goto broken;
		}
		ret = strlen(h) == strlen(data) && CRYPTO_memcmp(h, data, strlen(h)) == 0;
		OPENSSL_cleanse(cd, sizeof(*cd));
		free(cd);
		break;
	}
	case K_DIGEST:
		digest(s->md, plain, strlen(plain), "", 0, md, &mdlen);
		if (decode(&raw, enc, data, mdlen) < 0 || raw.len != mdlen)
			goto broken;
		ret = CRYPTO_memcmp(md, raw.s, mdlen) == 0;
		break;
	case K_SALTED: {
		const EVP_MD *m = EVP_get_digestbyname(s->md);
		size_t dl = (size_t)EVP_MD_get_size(m);

		if (decode(&raw, enc, data, 0) < 0 || raw.len <= dl)
			goto broken;
		digest(s->md, plain, strlen(plain), raw.s + dl, raw.len - dl, md, &mdlen);
		ret = CRYPTO_memcmp(md, raw.s, dl) == 0;
		break;
	}
	case K_CRAM: {
		unsigned char ctx[PASSWORD_CRAM_MD5_CONTEXT_LEN];

		if (decode(&raw, enc, data, sizeof(ctx)) < 0 || raw.len != sizeof(ctx))
			goto broken;
		cram_context(plain, ctx);
		ret = CRYPTO_memcmp(ctx, raw.s, sizeof(ctx)) == 0;
		break;
	}
	case K_SCRAM: {
		struct password_scram want, got;

		if (scram_parse(data, &want) < 0)
			goto broken;
		password_scram_derive(plain, want.salt, want.salt_len, want.iterations, &got);
		ret = CRYPTO_memcmp(want.stored_key, got.stored_key, 32) == 0 &&
		    CRYPTO_memcmp(want.server_key, got.server_key, 32) == 0;
		break;
	}
	case K_ARGON2ID: {
		int r = argon2id_verify(data, plain, strlen(plain));

		if (r == ARGON2_OK)
			ret = 1;
		else if (r == ARGON2_VERIFY_MISMATCH)
			ret = 0;
		else
			goto broken;
		break;
	}
	}
	str_deinit(&raw);
	return ret;
broken:
	str_deinit(&raw);
	*error_r = "Invalid password format";
	return -1;
}

int
password_cram_md5_context(const char *stored, const char *default_scheme,
    unsigned char ctx_r[PASSWORD_CRAM_MD5_CONTEXT_LEN])
{
	char name[PASSWORD_SCHEME_MAX];
	const char *data;
	enum pw_enc enc;
	const struct pw_scheme *s;
	struct str raw;
	int ret = 1;

	password_split(stored, default_scheme, name, sizeof(name), &data);
	if ((s = scheme_lookup(name, &enc)) == NULL)
		return -1;
	if (s->kind != K_CLEAR && s->kind != K_CRAM)
		return 0;
	str_init(&raw, 64);
	if (decode(&raw, enc, data, s->kind == K_CRAM ? PASSWORD_CRAM_MD5_CONTEXT_LEN : 0) < 0)
		ret = -1;
	else if (s->kind == K_CLEAR)
		cram_context(raw.s, ctx_r);
	else if (raw.len != PASSWORD_CRAM_MD5_CONTEXT_LEN)
		ret = -1;
	else
		memcpy(ctx_r, raw.s, PASSWORD_CRAM_MD5_CONTEXT_LEN);
	OPENSSL_cleanse(raw.s, raw.len);
	str_deinit(&raw);
	return ret;
}

int
password_plaintext(const char *stored, const char *default_scheme, struct str *out)
{
	char name[PASSWORD_SCHEME_MAX];
	const char *data;
	enum pw_enc enc;
	const struct pw_scheme *s;

	password_split(stored, default_scheme, name, sizeof(name), &data);
	if ((s = scheme_lookup(name, &enc)) == NULL)
		return -1;
	if (s->kind != K_CLEAR)
		return 0;
	return decode(out, enc, data, 0) < 0 ? -1 : 1;
}

int
password_scram_credentials(const char *stored, const char *default_scheme,
    struct password_scram *r)
{
	char name[PASSWORD_SCHEME_MAX];
	const char *data;
	enum pw_enc enc;
	const struct pw_scheme *s;
	unsigned char salt[SCRAM_SALT_LEN];
	struct str raw;

	password_split(stored, default_scheme, name, sizeof(name), &data);
	if ((s = scheme_lookup(name, &enc)) == NULL)
		return -1;
	if (s->kind == K_SCRAM)
		return scram_parse(data, r) < 0 ? -1 : 1;
	if (s->kind != K_CLEAR)
		return 0;
	str_init(&raw, 64);
	if (decode(&raw, enc, data, 0) < 0) {
		str_deinit(&raw);
		return -1;
	}
	/* a fresh salt per attempt: the client cannot tell, and nothing about
	 * the plaintext leaks through a stable salt */
	random_bytes(salt, sizeof(salt));
	password_scram_derive(raw.s, salt, sizeof(salt), 4096, r);
	OPENSSL_cleanse(raw.s, raw.len);
	str_deinit(&raw);
	return 1;
}
