/* imap_esearch.h - SEARCH RETURN (RFC 4731 ESEARCH: MIN MAX ALL COUNT)
 * and SAVE (RFC 5182 SEARCHRES, the "$" result), in Dovecot 2.3's reply
 * shapes. Tests: tests/e2e/test_imap_ext.py; fuzz: fuzz_imap_command.c */
#ifndef YUBIN_IMAP_ESEARCH_H
#define YUBIN_IMAP_ESEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

struct imap_arg;

#define IMAP_SRET_MIN	0x01
#define IMAP_SRET_MAX	0x02
#define IMAP_SRET_ALL	0x04
#define IMAP_SRET_COUNT	0x08
#define IMAP_SRET_SAVE	0x10

struct imap_search_ret {
	bool		 esearch;	/* RETURN given (or IMAP4rev2): answer with ESEARCH */
	unsigned	 opts;		/* IMAP_SRET_* */
};

/* imap_search_ret_parse - "RETURN (opts)" at the start of a SEARCH's
 * arguments: *used_r is 0 (no RETURN) or 2. 0, or -1 with *error_r
 * (Dovecot's text after "Error in IMAP command SEARCH: "). */
int	 imap_search_ret_parse(const struct imap_arg *, size_t, struct imap_search_ret *,
	    size_t *used_r, const char **error_r);

/* imap_esearch_reply - the "* ESEARCH (TAG "t") [UID] ..." line (with
 * CRLF) for the matches nums (ascending), or nothing when only SAVE was
 * asked */
void	 imap_esearch_reply(struct str *out, const struct imap_search_ret *, const char *tag,
	    bool uid, const uint32_t *nums, size_t n);

/* imap_esearch_save - which of the matches (ascending UIDs) SAVE keeps:
 * with MIN and/or MAX alone only those (RFC 5182 2.4), else all; the
 * kept ones are moved to the front, their count returned */
size_t	 imap_esearch_save(const struct imap_search_ret *, uint32_t *uids, size_t n);

/* imap_seqset_format - "1:3,7" for ascending numbers */
void	 imap_seqset_format(struct str *out, const uint32_t *nums, size_t n);

#endif
