/* tlscert.h - a self-signed server certificate for development instances.
 *
 * The key is EC P-256 (fast to generate, accepted by every TLS client that
 * matters here); the certificate is X.509 v3, SHA-256, valid for the given
 * number of days, CN = the host name, with subjectAltName DNS:localhost,
 * DNS:<host name> (when it differs), IP:127.0.0.1 and IP:::1, so that
 * clients on loopback can verify it against itself. */
#ifndef YUBIN_TLSCERT_H
#define YUBIN_TLSCERT_H

struct str;

#define TLSCERT_DEFAULT_DAYS	3650	/* about ten years */

/* tlscert_make_pem - generate a key and a certificate for cn, appending the
 * PEM texts to cert_pem (CERTIFICATE) and key_pem (PKCS#8 PRIVATE KEY, not
 * encrypted). 0, or -1 with *error_r (static text) when OpenSSL fails. */
int	 tlscert_make_pem(const char *cn, int days, struct str *cert_pem, struct str *key_pem,
	    const char **error_r);

/* tlscert_write - tlscert_make_pem, then write key_path (mode 0600) and
 * cert_path (mode 0644), each atomically. Existing files are replaced: the
 * caller decides whether they may be. 0, or -1 with *error_r (static text;
 * errno is set when a file could not be written). */
int	 tlscert_write(const char *cert_path, const char *key_path, const char *cn, int days,
	    const char **error_r);

#endif
