/* smtpd_data.h - the message reader of DATA and BDAT, resumable: it takes
 * whatever bytes the network gave (a "." line may be split anywhere) and
 * turns them into queue content:
 *   DATA: lines end in CRLF or bare LF; a leading "." is removed
 *         (dot-unstuffing); ".\r\n" (or ".\n") ends the message;
 *   BDAT: no dot handling; the chunk sizes say where the message ends.
 * Content lines end in LF (a CR before LF is dropped, a bare CR is kept),
 * as Postfix's cleanup stores them; long lines are passed on whole.
 * Once the content passes max_size the reader discards the rest but still
 * finds the end, so that the client gets its 552 at the right moment.
 * The reader also notes the first Message-ID header. Memory is bounded:
 * out grows to at most SMTPD_DATA_OUT_MAX before the caller must drain it. */
#ifndef YUBIN_SMTPD_DATA_H
#define YUBIN_SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

#define SMTPD_DATA_OUT_MAX	(64 * 1024)
#define SMTPD_DATA_MSGID_MAX	998

enum smtpd_data_state {
	SMTPD_DATA_BOL,		/* at the beginning of a line */
	SMTPD_DATA_DOT,		/* a line began with "." */
	SMTPD_DATA_DOT_CR,	/* ".\r" */
	SMTPD_DATA_LINE,	/* inside a line */
	SMTPD_DATA_CR,		/* a CR inside a line, LF may follow */
	SMTPD_DATA_END,		/* the end of DATA was seen */
};

struct smtpd_data {
	enum smtpd_data_state state;
	bool	 bdat;			/* no dot handling */
	size_t	 max_size;		/* 0 = no limit */
	size_t	 size;			/* content bytes produced (kept or not) */
	bool	 overflow;		/* size passed max_size: content discarded */
	bool	 in_header;		/* still in the header section */
	bool	 header_line_start;	/* at the start of a header line */
	struct str hdr;			/* owned: start of the current header line */
	struct str msgid;		/* owned: first Message-ID value, or "" */
	struct str out;			/* owned: content for the caller to drain */
	bool	 last_nl;		/* the last content byte was LF */
};

void	 smtpd_data_init(struct smtpd_data *, bool bdat, size_t max_size);
void	 smtpd_data_deinit(struct smtpd_data *);
/* smtpd_data_feed - consume bytes of in; returns how many were taken. It
 * stops early when out is full (drain it and call again) or when the end
 * of DATA is seen (state SMTPD_DATA_END: the rest belongs to the next
 * command). */
size_t	 smtpd_data_feed(struct smtpd_data *, const char *in, size_t len);
/* smtpd_data_finish - end of a BDAT message: a pending CR is kept and a
 * last line without LF gets one */
void	 smtpd_data_finish(struct smtpd_data *);
/* smtpd_data_done - the end of DATA was seen */
bool	 smtpd_data_done(const struct smtpd_data *);

#endif
