/* imap_binary.h - RFC 3516 BINARY: FETCH BINARY[section]<partial>,
 * BINARY.PEEK and BINARY.SIZE with the Content-Transfer-Encoding undone
 * (base64, quoted-printable; 7bit, 8bit and binary as they are; anything
 * else is Dovecot's "NO [UNKNOWN-CTE]"). Sections as Dovecot 2.3 takes
 * them: part numbers, "" (the whole message: every decoded part's
 * Content-Transfer-Encoding becomes "binary"), TEXT, and the undecoded
 * HEADER / MIME / HEADER.FIELDS. Content that was decoded is sent as a
 * literal8 (~{N}), as Dovecot does. APPEND's literal8 is the parser's
 * (imap_parser.c). Tests: tests/e2e/test_imap_ext.py (beside Dovecot);
 * fuzz: fuzz_imap_command.c (atoms), fuzz_imap_mime.c (decoding) */
#ifndef YUBIN_IMAP_BINARY_H
#define YUBIN_IMAP_BINARY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

struct mime_message;

/* imap_binary_atom - for "BINARY[...]<o.c>", "BINARY.PEEK[...]" and
 * "BINARY.SIZE[...]": the BODY atom with the same section (owned,
 * "BODY.PEEK[...]" for PEEK and SIZE) and *size_r; NULL for anything
 * else (a partial on BINARY.SIZE included) */
char	*imap_binary_atom(const char *atom, bool *size_r);

/* imap_binary_raw_section - the section's keyword leaves it undecoded
 * (HEADER, MIME, HEADER.FIELDS...) */
bool	 imap_binary_raw_section(const char *section);

/* imap_binary_section - the decoded content of section ("1.2", "",
 * "TEXT", "2.TEXT") of m into out (CRLF line ends); *decoded_r says
 * whether anything was decoded (literal8). A part that does not exist
 * gives nothing. 0, or -1 on an unknown Content-Transfer-Encoding. */
int	 imap_binary_section(const struct mime_message *m, const char *section, struct str *out,
	    bool *decoded_r);

/* imap_binary_decode - base64 ("base64") or quoted-printable
 * ("quoted-printable") [p, p+len) appended to out; 7bit/8bit/binary/""
 * copied. 1 decoded, 0 copied, -1 unknown encoding. */
int	 imap_binary_decode(const char *cte, const char *p, size_t len, struct str *out);

#endif
