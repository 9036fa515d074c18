/* password.h - Dovecot's password schemes: "{SCHEME}data" strings, made
 * and checked the way Dovecot 2.3 makes and checks them, so that hashes
 * move both ways between yubin and Dovecot (doveadm pw).
 *
 * Schemes: PLAIN, CLEAR, CLEARTEXT, CRYPT, MD5-CRYPT, SHA256-CRYPT,
 * SHA512-CRYPT, BLF-CRYPT, DES-CRYPT (verify only), SHA, SHA1, SHA256,
 * SHA512, SSHA, SSHA256, SSHA512, PLAIN-MD5, LDAP-MD5, SMD5, CRAM-MD5,
 * SCRAM-SHA-256, ARGON2ID; a ".b64" or ".hex" suffix picks the encoding of
 * binary schemes as in Dovecot ("{SSHA256.hex}..."). */
#ifndef YUBIN_PASSWORD_H
#define YUBIN_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

struct str;

#define PASSWORD_SCHEME_MAX	64	/* longest "NAME.ENC" kept */
#define PASSWORD_CRAM_MD5_CONTEXT_LEN	32

/* password_scheme_is_known - name (with or without .b64/.hex, any case) */
bool	 password_scheme_is_known(const char *scheme);

/* password_split - the scheme of stored ("{SCHEME}rest") into buf, upper
 * case, or default_scheme when there is none; *rest_r is the data after
 * the braces. */
void	 password_split(const char *stored, const char *default_scheme, char *buf,
	    size_t size, const char **rest_r);

/* password_generate - append "{SCHEME}data" for plain to out. user is for
 * schemes salted by user name (none here, kept for Dovecot's DIGEST-MD5);
 * rounds 0 = the scheme's default (crypt cost/rounds, SCRAM iterations,
 * Argon2 passes). 0, or -1 with *error_r a literal. */
int	 password_generate(const char *scheme, const char *plain, const char *user,
	    unsigned rounds, struct str *out, const char **error_r);

/* password_verify - plain against stored ("{SCHEME}data", or data in
 * default_scheme): 1 match, 0 mismatch, -1 unusable stored value or unknown
 * scheme (*error_r a literal). Comparisons are constant-time. */
int	 password_verify(const char *stored, const char *default_scheme, const char *plain,
	    const char *user, const char **error_r);

/* password_cram_md5_context - the HMAC-MD5 precomputed context (outer
 * state, then inner, Dovecot's layout) from a stored CRAM-MD5 value or a
 * plaintext one: 1 done, 0 this stored scheme cannot give it, -1 broken. */
int	 password_cram_md5_context(const char *stored, const char *default_scheme,
	    unsigned char ctx_r[PASSWORD_CRAM_MD5_CONTEXT_LEN]);
/* password_plaintext - the password itself from a stored value of a
 * plaintext scheme (PLAIN, CLEAR...), appended to out: 1, 0 (a hash: it
 * cannot be had), -1 broken. For APOP. */
struct str;
int	 password_plaintext(const char *stored, const char *default_scheme, struct str *out);
/* password_cram_md5_hmac - hex HMAC-MD5 of challenge from such a context
 * into out (33 bytes) */
void	 password_cram_md5_hmac(const unsigned char ctx[PASSWORD_CRAM_MD5_CONTEXT_LEN],
	    const char *challenge, size_t len, char out[33]);

struct password_scram {
	unsigned	 iterations;
	unsigned char	 salt[64];
	size_t		 salt_len;
	unsigned char	 stored_key[32];
	unsigned char	 server_key[32];
};

/* password_scram_credentials - SCRAM-SHA-256 keys from a stored
 * SCRAM-SHA-256 value or a plaintext one: 1, 0 (scheme cannot give
 * them), -1 broken */
int	 password_scram_credentials(const char *stored, const char *default_scheme,
	    struct password_scram *r);
/* password_scram_derive - the keys for plain with salt and iterations */
void	 password_scram_derive(const char *plain, const unsigned char *salt, size_t salt_len,
	    unsigned iterations, struct password_scram *r);

#endif
