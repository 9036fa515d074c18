/* address.h - RFC 5321 paths and mailboxes as an SMTP server reads them.
 *
 * address_parse_path() reads one path from the text after "MAIL FROM:" or
 * "RCPT TO:" (or a VRFY argument): "<local@domain>", the null path "<>",
 * quoted local parts ("<\"a b\"@example.org>"), address literals
 * ("<u@[192.0.2.1]>", "<u@[IPv6:::1]>"); an RFC 5321 source route
 * ("<@a,@b:u@c>") is dropped, as RFC 5321 section C says a receiver may.
 * Like Postfix with strict_rfc821_envelopes = no, a path without angle
 * brackets ("MAIL FROM:root@localhost") is one white-space-delimited word,
 * and white space between the colon and the path is skipped by the caller.
 *
 * The result is the mailbox as the client wrote it, without brackets and
 * route, quotes kept ("" for the null path). Bytes above 0x7f must form
 * valid UTF-8; whether they are allowed at all (SMTPUTF8 declared) is the
 * caller's decision, made with address_is_utf8(), because Postfix answers
 * that case with its own reply (553 5.6.7). Control characters, unbalanced
 * brackets or quotes, "<@>", empty local parts or domains, bad literals and
 * paths longer than ADDRESS_MAX are syntax errors. */
#ifndef YUBIN_ADDRESS_H
#define YUBIN_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

struct str;

/* Longest mailbox accepted (RFC 5321 4.5.3.1.3 allows a path of 256 octets;
 * Postfix accepts longer ones, and so do we, up to this bound). */
#define ADDRESS_MAX		1000

#define ADDRESS_FLAG_NEED_BRACKETS	0x1	/* strict_rfc821_envelopes = yes */
#define ADDRESS_FLAG_REJECT_NULL	0x2	/* "<>" is a syntax error (RCPT, VRFY) */

/* address_parse_path - parse a path at the start of in[0..len); the mailbox
 * goes to out (reset first), *used_r says how many bytes of in the path took
 * (what follows are ESMTP parameters). 0, or -1 with *error_r (a literal). */
int	 address_parse_path(const char *in, size_t len, unsigned flags, struct str *out,
	    size_t *used_r, const char **error_r);

/* address_domain - the domain of a mailbox (after the last '@' outside
 * quotes), or NULL when there is none; borrowed from addr */
const char *address_domain(const char *addr);
/* address_local_len - length of the local part of a mailbox */
size_t	 address_local_len(const char *addr);
/* address_is_utf8 - does the mailbox use bytes above 0x7f? */
bool	 address_is_utf8(const char *addr);
/* address_is_fqdn - a domain with a dot that does not end in one, or an
 * address literal (as Postfix's reject_non_fqdn_* see it) */
bool	 address_is_fqdn(const char *domain);
/* address_utf8_is_valid - well-formed UTF-8 (no overlongs, no surrogates) */
bool	 address_utf8_is_valid(const char *s, size_t len);

#endif
