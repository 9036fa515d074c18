/* imap_mime.h - the MIME structure of a message (RFC 2045, 2046) as IMAP
 * shows it: ENVELOPE, BODY and BODYSTRUCTURE in RFC 3501's syntax and
 * Dovecot 2.3's choices (defaults "text" "plain" ("charset" "us-ascii"),
 * "7bit"; sizes and line counts with CRLF line ends; Sender and Reply-To
 * fall back to From), and the byte ranges of each part for BODY[section].
 *
 * The message is given with LF (or CRLF) line ends, as the storage reads
 * it; offsets are into that text. Untrusted input: nesting is capped at
 * MIME_MAX_DEPTH and the number of parts at about MIME_MAX_PARTS (plus
 * one per level: deeper or further parts are plain text of the last). Tests:
 * tests/unit/imap/test_imap_mime.c, tests/e2e/test_imap.py (compared with
 * Debian's Dovecot); fuzz: fuzz/fuzz_imap_mime.c */
#ifndef YUBIN_IMAP_MIME_H
#define YUBIN_IMAP_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

#define MIME_MAX_DEPTH	50
#define MIME_MAX_PARTS	2000

struct mime_part {
	size_t		 hdr_off, hdr_len;	/* the header, with its blank line */
	size_t		 body_off, body_len;
	struct mime_part *children;		/* owned: multipart parts, or the one
						 * message of message/rfc822 */
	size_t		 nchildren;
	bool		 multipart, message;
};

struct mime_message {
	const char	*text;		/* borrowed */
	size_t		 len;
	struct mime_part root;
	size_t		 nparts;
};

/* mime_parse - the structure of text (borrowed; must outlive m) */
void	 mime_parse(struct mime_message *m, const char *text, size_t len);
void	 mime_free(struct mime_message *m);

/* mime_envelope - ENVELOPE of the header [hdr, hdr+len) ("(date subject
 * ...)") appended to out */
void	 mime_envelope(struct str *out, const char *hdr, size_t len);
/* mime_bodystructure - BODYSTRUCTURE (extended) or BODY of the message */
void	 mime_bodystructure(struct str *out, const struct mime_message *m, bool extended);

/* mime_section - the part named by "1.2.3" ("" = the whole message):
 * NULL when there is none. Numbers below a message/rfc822 part name the
 * parts of its embedded message (children[0]); a single-part message's
 * body is "1". */
const struct mime_part *mime_section(const struct mime_message *m, const char *numbers);

/* mime_vsize - octets of [p, p+len) with every bare LF counted as CRLF */
size_t	 mime_vsize(const char *p, size_t len);
/* mime_crlf - append [p, p+len) to out with bare LFs made CRLF */
void	 mime_crlf(struct str *out, const char *p, size_t len);

/* mime_header_fields - the fields of hdr whose names are (not, with
 * exclude) in names (upper-case, count n), CRLF, then the blank line */
void	 mime_header_fields(struct str *out, const char *hdr, size_t len,
	    const char *const *names, size_t n, bool exclude);

/* mime_header_len - the length of the message's header at p (with its
 * blank line): the root part's hdr_len of mime_parse, without parsing
 * the body */
size_t	 mime_header_len(const char *p, size_t len);

/* mime_header_get - the unfolded value of the first field name in hdr,
 * appended to out; false when there is none */
bool	 mime_header_get(const char *hdr, size_t len, const char *name, struct str *out);

#endif
