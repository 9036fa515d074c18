/* sasl.h - the server side of the SASL mechanisms PLAIN (RFC 4616), LOGIN,
 * CRAM-MD5 (RFC 2195), SCRAM-SHA-256 (RFC 7677, without channel
 * binding) and Dovecot's private APOP mechanism (RFC 1939's APOP command:
 * "challenge NUL user NUL 16-byte MD5 digest"). A mechanism sees decoded bytes; base64 is the protocol's
 * business. Credentials come from the caller through sasl_backend, so the
 * mechanisms know nothing of passdbs.
 * Tests: tests/unit/auth/test_sasl.c, fuzz/fuzz_sasl.c. */
#ifndef YUBIN_SASL_H
#define YUBIN_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/password.h"

struct str;

#define SASL_MAX_INPUT	8192	/* bytes of one decoded response */

enum sasl_result {
	SASL_CONTINUE,	/* out holds the challenge */
	SASL_OK,	/* authenticated; out may hold final data (SCRAM) */
	SASL_FAIL,	/* *reason_r: why (for the log; the peer sees less) */
	SASL_TEMPFAIL,	/* the backend failed */
};

/* what a mechanism needs from the passdbs: 1 yes/found, 0 no, -1 error */
struct sasl_backend {
	int	(*verify_plain)(void *ctx, const char *user, const char *password);
	int	(*cram_md5)(void *ctx, const char *user,
		    unsigned char ctx_r[PASSWORD_CRAM_MD5_CONTEXT_LEN]);
	int	(*scram)(void *ctx, const char *user, struct password_scram *r);
	/* the stored password in clear, appended to out (APOP) */
	int	(*plaintext)(void *ctx, const char *user, struct str *out);
	void	*ctx;
};

struct sasl_mech {
	const char	*name;
	unsigned	 flags;		/* AUTH_CLIENT_MECH_* values (auth_client.h) */
	bool		 plaintext;
};

/* sasl_mech_find - by name, case-insensitive; NULL if unknown */
const struct sasl_mech *sasl_mech_find(const char *name);
/* sasl_mechs - the table, ended by a NULL name */
extern const struct sasl_mech sasl_mechs[];

struct sasl_request;

/* sasl_request_new - an attempt; hostname names the server in CRAM-MD5
 * challenges */
struct sasl_request *sasl_request_new(const struct sasl_mech *, const struct sasl_backend *,
	    const char *hostname);
void	 sasl_request_free(struct sasl_request **);
/* sasl_request_set_nonce - fix the server nonce (tests: RFC vectors) */
void	 sasl_request_set_nonce(struct sasl_request *, const char *nonce);
/* sasl_request_step - feed one response (first: the initial response,
 * have_data false when there was none); the challenge or final data is
 * appended to out. */
enum sasl_result sasl_request_step(struct sasl_request *, const void *data, size_t len,
	    bool have_data, struct str *out, const char **reason_r);
/* sasl_request_user - the authenticated (or attempted) user, or NULL */
const char *sasl_request_user(const struct sasl_request *);

/* Decoders exposed for tests and fuzzing. 0 or -1. Views point into data. */
int	 sasl_plain_decode(const void *data, size_t len, const char **authzid_r,
	    const char **authcid_r, const char **passwd_r, char *buf, size_t size);
struct sasl_scram_client_first {
	char	 gs2_flag;	/* 'n', 'y' */
	char	*authzid;	/* owned or NULL */
	char	*user;		/* owned, =2C/=3D decoded */
	char	*nonce;		/* owned */
	char	*bare;		/* owned: client-first-message-bare */
};
int	 sasl_scram_parse_client_first(const char *s, size_t len,
	    struct sasl_scram_client_first *r);
void	 sasl_scram_client_first_deinit(struct sasl_scram_client_first *);

#endif
