/* header.h - the header section of an RFC 5322 message, read loosely as
 * Postfix's cleanup reads it: fields with continuation lines, and the
 * addresses of an address-list (To, Cc, Bcc, From) for sendmail -t and
 * for pickup's checks. Input is outside input (any bytes): nothing here
 * trusts a length or a bracket. Tests: tests/unit/mail/test_header.c,
 * fuzz/fuzz_header.c */
#ifndef YUBIN_HEADER_H
#define YUBIN_HEADER_H

#include <stdbool.h>
#include <stddef.h>

struct strvec;

struct header_field {
	const char	*name;		/* borrowed from the text */
	size_t		 name_len;
	const char	*value;		/* after the colon, continuation lines included */
	size_t		 value_len;	/* without the final line end */
	size_t		 raw_len;	/* the whole field with its final line end */
};

/* header_next - the field at p[0..len); bytes it takes (raw_len), or 0
 * at the end of the header section (an empty line, the end of the text,
 * or a line that is not a field: Postfix ends the headers there too) */
size_t	 header_next(const char *p, size_t len, struct header_field *f);

/* header_section_len - bytes of all fields before the body (without the
 * empty line) */
size_t	 header_section_len(const char *p, size_t len);

/* header_is - the field's name is name (case-insensitive) */
bool	 header_is(const struct header_field *f, const char *name);

/* header_addresses - append the addr-specs of an address-list ("A <a@b>,
 * c@d (C), group: e@f;") to out; display names, comments and group names
 * are dropped. Returns how many were added. */
size_t	 header_addresses(const char *value, size_t len, struct strvec *out);

#endif
