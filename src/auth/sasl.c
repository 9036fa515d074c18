/* sasl.c - SASL mechanisms, server side (see sasl.h). Each request is a
 * small state machine; every input is bounded (SASL_MAX_INPUT) and parsed
 * without trusting lengths from the peer. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/auth_client.h"
#include "auth/sasl.h"
#include "lib/base64.h"
#include "lib/mem.h"
#include "lib/str.h"

const struct sasl_mech sasl_mechs[] = {
	{ "PLAIN", AUTH_CLIENT_MECH_PLAINTEXT, true },
	{ "LOGIN", AUTH_CLIENT_MECH_PLAINTEXT, true },
	{ "CRAM-MD5", AUTH_CLIENT_MECH_DICTIONARY | AUTH_CLIENT_MECH_ACTIVE, false },
	{ "SCRAM-SHA-256", AUTH_CLIENT_MECH_MUTUAL_AUTH, false },
	/* not SASL: what a POP3 login process turns APOP into */
	{ "APOP", AUTH_CLIENT_MECH_PRIVATE, false },
	{ NULL, 0, false },
};

enum sasl_state { ST_START, ST_LOGIN_USER, ST_LOGIN_PASS, ST_CRAM, ST_SCRAM_FINAL, ST_DONE };

struct sasl_request {
	const struct sasl_mech *mech;		/* borrowed, static */
	struct sasl_backend be;
	enum sasl_state state;
	char	*hostname;			/* owned */
	char	*user;				/* owned */
	char	*challenge;			/* owned: CRAM-MD5 challenge */
	char	*nonce;				/* owned: server nonce (SCRAM) */
	char	*auth_message;			/* owned: SCRAM client-first-bare,server-first */
	char	*client_nonce_full;		/* owned: cnonce+snonce */
	struct password_scram scram;
};

const struct sasl_mech *
sasl_mech_find(const char *name)
{
	for (const struct sasl_mech *m = sasl_mechs; m->name != NULL; m++)
		if (strcasecmp(m->name, name) == 0)
			return m;
	return NULL;
}

struct sasl_request *
sasl_request_new(const struct sasl_mech *mech, const struct sasl_backend *be,
    const char *hostname)
{
	struct sasl_request *r = xcalloc(1, sizeof(*r));

	r->mech = mech;
	r->be = *be;
	r->hostname = xstrdup(hostname != NULL ? hostname : "localhost");
	return r;
}

void
sasl_request_free(struct sasl_request **p)
{
	struct sasl_request *r = *p;

	if (r == NULL)
		return;
	free(r->hostname);
	free(r->user);
	free(r->challenge);
	free(r->nonce);
	free(r->auth_message);
	free(r->client_nonce_full);
	OPENSSL_cleanse(&r->scram, sizeof(r->scram));
	free(r);
	*p = NULL;
}

void
sasl_request_set_nonce(struct sasl_request *r, const char *nonce)
{
	free(r->nonce);
	r->nonce = xstrdup(nonce);
}

const char *
sasl_request_user(const struct sasl_request *r)
{
	return r->user;
}

int
sasl_plain_decode(const void *data, size_t len, const char **authzid_r,
    const char **authcid_r, const char **passwd_r, char *buf, size_t size)
{
	const char *p = data, *z1, *z2;

	if (len + 1 > size || len > SASL_MAX_INPUT)
		return -1;
	z1 = memchr(p, '\0', len);
	if (z1 == NULL)
		return -1;
	z2 = memchr(z1 + 1, '\0', len - (size_t)(z1 + 1 - p));
	if (z2 == NULL || memchr(z2 + 1, '\0', len - (size_t)(z2 + 1 - p)) != NULL)
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	*authzid_r = buf;
	*authcid_r = buf + (z1 + 1 - p);
	*passwd_r = buf + (z2 + 1 - p);
	if (**authcid_r == '\0')
		return -1;
	return 0;
}

static bool
text_is_clean(const char *s, size_t len)
{
	/* no NULs and no protocol separators in names that go on the wire */
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
			return false;
	return true;
}

static enum sasl_result
verify(struct sasl_request *r, const char *user, const char *pass, const char **reason_r)
{
	int v;

	free(r->user);
	r->user = xstrdup(user);
	v = r->be.verify_plain(r->be.ctx, user, pass);
	if (v < 0) {
		*reason_r = "internal error";
		return SASL_TEMPFAIL;
	}
	if (v == 0) {
		*reason_r = "password mismatch";
		return SASL_FAIL;
	}
	return SASL_OK;
}

static void
random_text(char *out, size_t n)
{
	static const char cs[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char b[64];

	if (n > sizeof(b) || RAND_bytes(b, (int)n) != 1)
		abort();
	for (size_t i = 0; i < n; i++)
		out[i] = cs[b[i] % 64];
	out[n] = '\0';
}

/* scram_attr - the value of "k=" at *p up to ',' or the end */
static char *
scram_attr(const char **p, const char *end, char k)
{
	const char *s = *p, *c;

	if (end - s < 2 || s[0] != k || s[1] != '=')
		return NULL;
	s += 2;
	c = memchr(s, ',', (size_t)(end - s));
	if (c == NULL)
		c = end;
	*p = c < end ? c + 1 : end;
	return xstrndup(s, (size_t)(c - s));
}

/* scram_unescape - saslname: "=2C" is ',', "=3D" is '='; others invalid */
static char *
scram_unescape(const char *s)
{
	struct str o;

	str_init(&o, strlen(s) + 1);
	for (; *s != '\0'; s++) {
		if (*s == '=') {
			if (strncmp(s, "=2C", 3) == 0)
				str_append_c(&o, ',');
			else if (strncmp(s, "=3D", 3) == 0)
				str_append_c(&o, '=');
			else {
				str_deinit(&o);
				return NULL;
			}
			s += 2;
		} else
			str_append_c(&o, *s);
	}
	return str_export(&o);
}

void
sasl_scram_client_first_deinit(struct sasl_scram_client_first *c)
{
	free(c->authzid);
	free(c->user);
	free(c->nonce);
	free(c->bare);
	memset(c, 0, sizeof(*c));
}

int
sasl_scram_parse_client_first(const char *s, size_t len, struct sasl_scram_client_first *r)
{
	const char *p = s, *end = s + len;
	char *v;

	memset(r, 0, sizeof(*r));
	if (len < 3 || !text_is_clean(s, len) || (s[0] != 'n' && s[0] != 'y') || s[1] != ',')
		return -1;	/* 'p' (channel binding) is not offered */
	r->gs2_flag = s[0];
	p = s + 2;
	if (p < end && *p == 'a') {
		if ((v = scram_attr(&p, end, 'a')) == NULL)
			goto bad;
		r->authzid = scram_unescape(v);
		free(v);
		if (r->authzid == NULL)
			goto bad;
	} else if (p < end && *p == ',')
		p++;
	else
		goto bad;
	r->bare = xstrndup(p, (size_t)(end - p));
	if (p < end && *p == 'm')
		goto bad;	/* mandatory extensions are not supported */
	if ((v = scram_attr(&p, end, 'n')) == NULL)
		goto bad;
	r->user = scram_unescape(v);
	free(v);
	if (r->user == NULL || r->user[0] == '\0')
		goto bad;
	if ((r->nonce = scram_attr(&p, end, 'r')) == NULL || r->nonce[0] == '\0')
		goto bad;
	for (const char *q = r->nonce; *q != '\0'; q++)
		if (*q < 0x21 || *q > 0x7e || *q == ',')
			goto bad;
	return 0;
bad:
	sasl_scram_client_first_deinit(r);
	return -1;
}

static enum sasl_result
scram_first(struct sasl_request *r, const char *in, size_t len, struct str *out,
    const char **reason_r)
{
	struct sasl_scram_client_first cf;
	char nonce[33];
	int v;

	if (sasl_scram_parse_client_first(in, len, &cf) < 0) {
		*reason_r = "invalid SCRAM client-first-message";
		return SASL_FAIL;
	}
	if (cf.authzid != NULL && strcmp(cf.authzid, cf.user) != 0) {
		sasl_scram_client_first_deinit(&cf);
		*reason_r = "authorization identity differs (master users not supported)";
		return SASL_FAIL;
	}
	free(r->user);
	r->user = xstrdup(cf.user);
	v = r->be.scram(r->be.ctx, cf.user, &r->scram);
	if (v <= 0) {
		/* an unknown user looks like a wrong password later: derive
		 * throw-away keys so that the exchange goes on the same way */
		unsigned char salt[16];

		if (v < 0) {
			sasl_scram_client_first_deinit(&cf);
			*reason_r = "internal error";
			return SASL_TEMPFAIL;
		}
		RAND_bytes(salt, sizeof(salt));
		password_scram_derive("", salt, sizeof(salt), 4096, &r->scram);
		RAND_bytes(r->scram.stored_key, sizeof(r->scram.stored_key));
	}
	if (r->nonce == NULL) {
		random_text(nonce, 32);
		r->nonce = xstrdup(nonce);
	}
	r->client_nonce_full = xasprintf("%s%s", cf.nonce, r->nonce);
	struct str sf;
	str_init(&sf, 128);
	str_appendf(&sf, "r=%s,s=", r->client_nonce_full);
	base64_encode(&sf, r->scram.salt, r->scram.salt_len);
	str_appendf(&sf, ",i=%u", r->scram.iterations);
	str_append(out, sf.s);
	r->auth_message = xasprintf("%s,%s", cf.bare, sf.s);
	str_deinit(&sf);
	sasl_scram_client_first_deinit(&cf);
	r->state = ST_SCRAM_FINAL;
	return SASL_CONTINUE;
}

static enum sasl_result
scram_final(struct sasl_request *r, const char *in, size_t len, struct str *out,
    const char **reason_r)
{
	const char *p = in, *end = in + len, *proof_at;
	char *cbind = NULL, *nonce = NULL, *proof = NULL, *am = NULL;
	struct str raw;
	unsigned char sig[32], key[32], stored[32], server_sig[32];
	unsigned sl = 0;
	enum sasl_result ret = SASL_FAIL;

	str_init(&raw, 64);
	*reason_r = "invalid SCRAM client-final-message";
	if (!text_is_clean(in, len))
		goto out;
	if ((cbind = scram_attr(&p, end, 'c')) == NULL)
		goto out;
	/* without channel binding c= is base64 of the gs2 header: "n,," or "y,,"
	 * (an authzid equal to the user is also accepted) */
	if (base64_decode(&raw, cbind, strlen(cbind)) < 0 || raw.len < 3 ||
	    (raw.s[0] != 'n' && raw.s[0] != 'y'))
		goto out;
	if ((nonce = scram_attr(&p, end, 'r')) == NULL)
		goto out;
	if (strcmp(nonce, r->client_nonce_full) != 0) {
		*reason_r = "SCRAM nonce mismatch";
		goto out;
	}
	/* extensions until p= */
	while (p < end && !(end - p >= 2 && p[0] == 'p' && p[1] == '=')) {
		const char *c = memchr(p, ',', (size_t)(end - p));

		if (c == NULL)
			goto out;
		p = c + 1;
	}
	proof_at = p;
	if ((proof = scram_attr(&p, end, 'p')) == NULL || p != end)
		goto out;
	str_reset(&raw);
	if (base64_decode(&raw, proof, strlen(proof)) < 0 || raw.len != 32)
		goto out;
	am = xasprintf("%s,%.*s", r->auth_message, (int)(proof_at - 1 - in), in);
	HMAC(EVP_sha256(), r->scram.stored_key, 32, (const unsigned char *)am, strlen(am), sig, &sl);
	for (int i = 0; i < 32; i++)
		key[i] = (unsigned char)raw.s[i] ^ sig[i];
	SHA256(key, sizeof(key), stored);
	if (CRYPTO_memcmp(stored, r->scram.stored_key, 32) != 0) {
		*reason_r = "password mismatch";
		goto out;
	}
	HMAC(EVP_sha256(), r->scram.server_key, 32, (const unsigned char *)am, strlen(am),
	    server_sig, &sl);
	str_append(out, "v=");
	base64_encode(out, server_sig, 32);
	ret = SASL_OK;
out:
	free(cbind);
	free(nonce);
	free(proof);
	free(am);
	str_deinit(&raw);
	return ret;
}

/* apop_step - "challenge NUL user NUL digest": the digest must be MD5 of
 * the challenge (an RFC 822 msg-id, "<...@...>") and the password */
static enum sasl_result
apop_step(struct sasl_request *r, const char *in, size_t len, bool have_data,
    const char **reason_r)
{
	const char *user, *digest, *end = in + len;
	unsigned char want[MD5_DIGEST_LENGTH];
	struct str pw;
	size_t clen;
	int v;

	if (!have_data || (user = memchr(in, '\0', len)) == NULL ||
	    (digest = memchr(user + 1, '\0', (size_t)(end - user - 1))) == NULL ||
	    end - digest - 1 != MD5_DIGEST_LENGTH) {
		*reason_r = "invalid APOP message";
		return SASL_FAIL;
	}
	clen = (size_t)(user - in);
	user++;
	digest++;
	if (clen < 3 || in[0] != '<' || in[clen - 1] != '>' || memchr(in, '@', clen) == NULL ||
	    !text_is_clean(in, clen) || user == digest - 1 ||
	    !text_is_clean(user, (size_t)(digest - 1 - user))) {
		*reason_r = "invalid APOP message";
		return SASL_FAIL;
	}
	free(r->user);
	r->user = xstrdup(user);
	str_init(&pw, 64);
	v = r->be.plaintext != NULL ? r->be.plaintext(r->be.ctx, r->user, &pw) : 0;
	if (v <= 0) {
		OPENSSL_cleanse(pw.s, pw.len);
		str_deinit(&pw);
		*reason_r = v < 0 ? "internal error" :
		    "unknown user or no plaintext password for APOP";
		return v < 0 ? SASL_TEMPFAIL : SASL_FAIL;
	}
	{
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned n = 0;

		if (md == NULL || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1 ||
		    EVP_DigestUpdate(md, in, clen) != 1 ||
		    EVP_DigestUpdate(md, pw.s, pw.len) != 1 ||
		    EVP_DigestFinal_ex(md, want, &n) != 1)
			v = -1;
		EVP_MD_CTX_free(md);
	}
	OPENSSL_cleanse(pw.s, pw.len);
	str_deinit(&pw);
	if (v < 0) {
		*reason_r = "internal error";
		return SASL_TEMPFAIL;
	}
	if (CRYPTO_memcmp(want, digest, MD5_DIGEST_LENGTH) != 0) {
		*reason_r = "password mismatch";
		return SASL_FAIL;
	}
	return SASL_OK;
}

enum sasl_result
sasl_request_step(struct sasl_request *r, const void *data, size_t len, bool have_data,
    struct str *out, const char **reason_r)
{
	const char *in = data;
	char buf[SASL_MAX_INPUT + 1];

	*reason_r = "";
	if (len > SASL_MAX_INPUT) {
		*reason_r = "response too long";
		r->state = ST_DONE;
		return SASL_FAIL;
	}
	if (strcmp(r->mech->name, "PLAIN") == 0 && r->state == ST_START) {
		const char *authzid, *authcid, *pass;

		if (!have_data) {
			r->state = ST_START;
			return SASL_CONTINUE;	/* empty challenge */
		}
		r->state = ST_DONE;
		if (sasl_plain_decode(in, len, &authzid, &authcid, &pass, buf, sizeof(buf)) < 0 ||
		    !text_is_clean(authcid, strlen(authcid))) {
			*reason_r = "invalid PLAIN message";
			return SASL_FAIL;
		}
		if (*authzid != '\0' && strcmp(authzid, authcid) != 0) {
			*reason_r = "authorization identity differs (master users not supported)";
			return SASL_FAIL;
		}
		return verify(r, authcid, pass, reason_r);
	}
	if (strcmp(r->mech->name, "LOGIN") == 0) {
		switch (r->state) {
		case ST_START:
			r->state = ST_LOGIN_USER;
			if (!have_data) {
				str_append(out, "Username:");
				return SASL_CONTINUE;
			}
			/* the initial response is the user name */
			__attribute__((fallthrough));
		case ST_LOGIN_USER:
			if (len == 0 || !text_is_clean(in, len)) {
				r->state = ST_DONE;
				*reason_r = "invalid user name";
				return SASL_FAIL;
			}
			free(r->user);
			r->user = xstrndup(in, len);
			r->state = ST_LOGIN_PASS;
			str_append(out, "Password:");
			return SASL_CONTINUE;
		case ST_LOGIN_PASS:
			r->state = ST_DONE;
			if (memchr(in, '\0', len) != NULL) {
				*reason_r = "invalid password";
				return SASL_FAIL;
			}
			memcpy(buf, in, len);
			buf[len] = '\0';
			{
				char *u = xstrdup(r->user);
				enum sasl_result res = verify(r, u, buf, reason_r);

				free(u);
				OPENSSL_cleanse(buf, len);
				return res;
			}
		default:
			break;
		}
	}
	if (strcmp(r->mech->name, "CRAM-MD5") == 0) {
		if (r->state == ST_START) {
			char rnd[17];

			if (have_data && len > 0) {
				r->state = ST_DONE;
				*reason_r = "CRAM-MD5 takes no initial response";
				return SASL_FAIL;
			}
			random_text(rnd, 16);
			r->challenge = xasprintf("<%s.%lld@%s>", rnd, (long long)time(NULL),
			    r->hostname);
			str_append(out, r->challenge);
			r->state = ST_CRAM;
			return SASL_CONTINUE;
		}
		if (r->state == ST_CRAM) {
			const char *sp = len > 33 ? in + len - 33 : NULL;
			unsigned char ctx[PASSWORD_CRAM_MD5_CONTEXT_LEN];
			char want[33];
			int v;

			r->state = ST_DONE;
			if (sp == NULL || *sp != ' ' || !text_is_clean(in, len)) {
				*reason_r = "invalid CRAM-MD5 response";
				return SASL_FAIL;
			}
			free(r->user);
			r->user = xstrndup(in, (size_t)(sp - in));
			v = r->be.cram_md5(r->be.ctx, r->user, ctx);
			if (v < 0) {
				*reason_r = "internal error";
				return SASL_TEMPFAIL;
			}
			if (v == 0) {
				*reason_r = "unknown user or no CRAM-MD5 credentials";
				return SASL_FAIL;
			}
			password_cram_md5_hmac(ctx, r->challenge, strlen(r->challenge), want);
			for (int i = 0; i < 32; i++)
				buf[i] = (char)tolower((unsigned char)sp[1 + i]);
			if (CRYPTO_memcmp(want, buf, 32) != 0) {
				*reason_r = "password mismatch";
				return SASL_FAIL;
			}
			return SASL_OK;
		}
	}
	if (strcmp(r->mech->name, "APOP") == 0 && r->state == ST_START) {
		r->state = ST_DONE;
		return apop_step(r, in, len, have_data, reason_r);
	}
	if (strcmp(r->mech->name, "SCRAM-SHA-256") == 0) {
		if (r->state == ST_START) {
			if (!have_data)
				return SASL_CONTINUE;	/* empty challenge, then client-first */
			r->state = ST_DONE;
			enum sasl_result res = scram_first(r, in, len, out, reason_r);
			return res;
		}
		if (r->state == ST_SCRAM_FINAL) {
			r->state = ST_DONE;
			return scram_final(r, in, len, out, reason_r);
		}
	}
	*reason_r = "unexpected response";
	r->state = ST_DONE;
	return SASL_FAIL;
}
