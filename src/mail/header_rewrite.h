/* header_rewrite.h - canonical rewriting of the addresses in message
 * header fields, as Postfix's cleanup does for mail from local clients
 * (canonical_classes header_sender and header_recipient; sendmail/pickup
 * always, smtpd per local_header_rewrite_clients).
 *
 * Only the addr-specs change: display names, comments, quoting and the
 * rest of the field stay byte for byte, so signatures over other fields
 * and the reader's view survive. Tests: tests/unit/mail/test_header_rewrite.c */
#ifndef YUBIN_HEADER_REWRITE_H
#define YUBIN_HEADER_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

struct header_field;
struct rewrite;
struct str;

/* Most addresses one field may hold before it is copied unchanged. */
#define HEADER_REWRITE_MAX_ADDRS	1000

/* header_rewrite_class - -1 when the field holds no addresses to rewrite,
 * else REWRITE_HEADER_SENDER or REWRITE_HEADER_RECIPIENT */
int	 header_rewrite_class(const struct header_field *);

/* header_rewrite_field - append the field (raw bytes, its line end
 * included) to out with its addresses rewritten. 0, or -1 with *error_r
 * when a table could not be read (the message is deferred, not sent with
 * half-rewritten headers); *changed_r says whether anything changed. */
int	 header_rewrite_field(struct rewrite *, const struct header_field *, struct str *out,
	    bool *changed_r, const char **error_r);

/* header_addr_spans - the [start, end) offsets of each addr-spec in an
 * address-list value; returns how many (at most max) */
size_t	 header_addr_spans(const char *value, size_t len, size_t (*spans)[2], size_t max);

/* A header section arriving in pieces (smtpd's DATA and BDAT): each field
 * is held back until it is complete (the next line does not continue it),
 * then passed to emit rewritten; the body, a field longer than limit
 * (header_size_limit) and everything after it go to emit as they are.
 * Memory: at most limit plus one piece. */
struct header_rewrite_stream {
	struct rewrite	*rw;		/* borrowed */
	size_t		 limit;
	bool		 done;		/* past the header section */
	struct str	*buf;		/* owned: bytes held back */
	struct str	*field;		/* owned: scratch for one rewritten field */
	void		(*emit)(void *ctx, const char *p, size_t len);
	void		*ctx;
};

void	 header_rewrite_stream_init(struct header_rewrite_stream *, struct rewrite *,
	    size_t limit, void (*emit)(void *, const char *, size_t), void *ctx);
void	 header_rewrite_stream_deinit(struct header_rewrite_stream *);
/* header_rewrite_stream_feed - more content; final: the end of the
 * message (whatever is held back goes out). 0, or -1 with *error_r when a
 * table could not be read (the caller defers the message; the stream then
 * passes the rest on unchanged). */
int	 header_rewrite_stream_feed(struct header_rewrite_stream *, const char *p, size_t len,
	    bool final, const char **error_r);

#endif
