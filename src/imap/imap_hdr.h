/* imap_hdr.h - the header-fields records of the IMAP index's cache
 * (imap_index.h keeps them in yubin.index.cache and points at them from
 * the index records). Tests: tests/unit/imap/test_imap_hdr.c; fuzz:
 * fuzz/fuzz_imap_hdr.c (records), fuzz/fuzz_imap_index.c (the index).
 *
 * The second kind of cache entry: for one message, its header fields of
 * a set of names as BODY[HEADER.FIELDS (names)] shows them (each field
 * whole, bare LFs made CRLF, in the message's order, then the blank
 * line), and the names. Filtering those fields for any subset of the
 * names (mime_header_fields) gives exactly what filtering the message's
 * header gives, so SEARCH FROM/TO/CC/BCC/SUBJECT/HEADER, SENT* and
 * FETCH BODY[HEADER.FIELDS (...)] of covered names need no message file.
 * The record's data:
 *
 *   "XXXXXXXX NAME NAME ...\n" fields
 *
 * XXXXXXXX is imap_hdr_base_hash of the message's base name in hex (a
 * record never answers for another file); NAMEs upper case, each once,
 * printable ASCII without ':'. A message gets the default names when its
 * header is first read; names a client FETCHes are added to its record
 * (written anew) while it stays within the limits below; a bigger header
 * is not cached (read from the file each time). */
#ifndef YUBIN_IMAP_HDR_H
#define YUBIN_IMAP_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"
#include "lib/util.h"

#define IMAP_HDR_MAX_RECORD	32768	/* bytes of data */
#define IMAP_HDR_MAX_NAMES	48
#define IMAP_HDR_MAX_NAME	64

/* the names every new record covers: what clients search and list by */
extern const char *const imap_hdr_default_names[];	/* NULL-terminated */

struct imap_hdr_rec {
	const char	*names;		/* "NAME NAME" (borrowed) */
	size_t		 names_len;
	const char	*fields;	/* the fields and the blank line (borrowed) */
	size_t		 fields_len;
};

/* imap_hdr_base_hash - the 32-bit hash of a Maildir file's base name
 * (up to ':' or ',') that a record carries */
uint32_t imap_hdr_base_hash(const char *name);
/* imap_hdr_record_make - the record of the header [hdr, hdr+hdr_len)
 * (with its blank line) of the message in file name, for names (any
 * case, duplicates dropped) into out: 0, or -1 (out undefined) when a
 * name is not cacheable or the limits are passed */
int	 imap_hdr_record_make(struct str *out, const char *name, const char *hdr, size_t hdr_len,
	    const char *const *names, size_t n);
/* imap_hdr_record_make_norm - the same for names as
 * imap_hdr_names_union gives them (upper case, each once, cacheable) */
int	 imap_hdr_record_make_norm(struct str *out, const char *name, const char *hdr,
	    size_t hdr_len, const struct strvec *names);
/* imap_hdr_record_parse - check a record's data for the file name and
 * point r into it: 0, or -1 when it is not a well-formed record of it */
int	 imap_hdr_record_parse(const char *data, size_t len, const char *name,
	    struct imap_hdr_rec *r);
/* imap_hdr_record_covers - the record holds every field called name */
bool	 imap_hdr_record_covers(const struct imap_hdr_rec *r, const char *name);
/* imap_hdr_names_union - the default names, r's (r may be NULL) and
 * more, upper case and each once, into out (appended) */
void	 imap_hdr_names_union(struct strvec *out, const struct imap_hdr_rec *r,
	    const char *const *more, size_t nmore);

#endif
