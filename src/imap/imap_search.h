/* imap_search.h - SEARCH programs (RFC 3501 6.4.4): parsed from the
 * command's arguments into a tree, then evaluated per message. Keys: ALL,
 * ANSWERED, BCC, BEFORE, BODY, CC, DELETED, DRAFT, FLAGGED, FROM, HEADER,
 * KEYWORD, LARGER, NEW, NOT, OLD, ON, OR, RECENT, SEEN, SENTBEFORE, SENTON,
 * SENTSINCE, SINCE, SMALLER, SUBJECT, TEXT, TO, UID, UNANSWERED,
 * UNDELETED, UNDRAFT, UNFLAGGED, UNKEYWORD, UNSEEN, sequence sets and
 * parenthesised lists. Strings match case-insensitively as substrings.
 * Tests: tests/unit/imap/test_imap_search.c; fuzz: fuzz_imap_command.c */
#ifndef YUBIN_IMAP_SEARCH_H
#define YUBIN_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_parser.h"
#include "lib/str.h"

/* system flags, as bits */
#define IMAP_FLAG_ANSWERED	0x01
#define IMAP_FLAG_FLAGGED	0x02
#define IMAP_FLAG_DELETED	0x04
#define IMAP_FLAG_SEEN		0x08
#define IMAP_FLAG_DRAFT		0x10
#define IMAP_FLAG_RECENT	0x20

struct imap_search;

/* What a search looks at for one message. text is loaded on demand by
 * load (NULL when it could not be read). Header keys (BCC, CC, FROM,
 * HEADER, SUBJECT, TO, SENT*) ask fields first, when set: it gives the
 * fields called name as mime_header_fields would from the text (the
 * index's header cache), or -1 when only the text can tell. */
struct imap_search_msg {
	uint32_t	 seq, uid, max_seq, max_uid;
	unsigned	 flags;
	const char *const *keywords;	/* the message's keyword names */
	size_t		 nkeywords;
	size_t		 size;		/* RFC822.SIZE */
	time_t		 internaldate;
	uint64_t	 modseq;	/* CONDSTORE */
	const char	*text;		/* the message, or NULL until loaded */
	size_t		 len;
	bool		 saved;		/* in the last SEARCH ... SAVE result ("$") */
	int		(*load)(struct imap_search_msg *, void *ctx);
	int		(*fields)(struct imap_search_msg *, const char *name, struct str *out,
			    void *ctx);
	void		*ctx;		/* for load and fields */
};

/* imap_search_parse - the program in args (after CHARSET, which the caller
 * removes); NULL with *error_r (Dovecot's text after "Error in IMAP
 * command SEARCH: ") */
struct imap_search *imap_search_parse(const struct imap_arg *args, size_t n,
	    const char **error_r);
void	 imap_search_free(struct imap_search **);
bool	 imap_search_match(const struct imap_search *, struct imap_search_msg *);
/* imap_search_uses_saved - the program holds "$" (only then is each
 * message's "saved" worth finding out) */
bool	 imap_search_uses_saved(const struct imap_search *);
/* imap_search_uses_headers - the program holds a header key (only then
 * is caching a message's header fields worth it) */
bool	 imap_search_uses_headers(const struct imap_search *);
/* imap_search_uses_modseq - the program holds MODSEQ (RFC 7162: the
 * reply then ends with "(MODSEQ highest-of-the-matches)") */
bool	 imap_search_uses_modseq(const struct imap_search *);

/* imap_date_parse - "1-Feb-1994" (date) into the UTC midnight; -1 if bad */
time_t	 imap_date_parse(const char *s);
/* imap_rfc822_date - a Date: header's calendar date (its own zone) as
 * the UTC midnight of that day; -1 if unreadable */
time_t	 imap_rfc822_date(const char *s);

#endif
