/* base64.h - RFC 4648 base64 (the standard alphabet, padded), as SASL,
 * Dovecot's password schemes and MIME use it. */
#ifndef YUBIN_BASE64_H
#define YUBIN_BASE64_H

#include <stddef.h>

struct str;

/* base64_encode - append the encoding of len bytes to out */
void	 base64_encode(struct str *out, const void *data, size_t len);
/* base64_decode - append the decoded bytes of s[0..len) to out. Strict:
 * only the alphabet, padding only at the end and complete; no white space.
 * 0, or -1 (out then holds a partial result). */
int	 base64_decode(struct str *out, const char *s, size_t len);
/* base64_decode_mime - as a MIME reader must (RFC 2045 6.8): bytes
 * outside the alphabet (line ends, junk) skipped, the first "=" ends it;
 * never fails */
void	 base64_decode_mime(struct str *out, const char *s, size_t len);

#endif
