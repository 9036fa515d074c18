/* mbox_file.h - an mbox file read the way Dovecot reads it, one parser
 * for IMAP (imap/imap_mbox_mbox.c), POP3 and doveadm
 * (storage/mailbox_read.c):
 *
 *  - messages start at "From " lines; a Content-Length header is
 *    honoured when it ends at the next From_ line (after the blank
 *    separator line) or at the end of the file, so the unescaped "From "
 *    body lines Dovecot writes stay inside; otherwise the next From_
 *    line ends the message;
 *  - UIDs as Dovecot gives them: X-UID when it grows and is below the
 *    first message's X-IMAPbase next UID, else the next one;
 *  - a first message with X-IMAP is Dovecot's pseudo message: the
 *    numbers, not mail;
 *  - the mbox headers (storage/mbox_meta.h, Content-Length) are hidden
 *    from clients.
 *
 * Tests: tests/unit/imap/test_imap_mboxf.c, tests/unit/storage/
 * test_mbox_file.c; fuzz/fuzz_imap_mboxf.c. */
#ifndef YUBIN_STORAGE_MBOX_FILE_H
#define YUBIN_STORAGE_MBOX_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct mbox_meta;
struct str;

/* mbox_file_next - the next message of buf[0..len) at or after *pos
 * (anything before a From_ line is skipped). from_r: its From_ line;
 * msg_r and msg_len_r: the message after that line, without the
 * separator line; *pos moves to the next From_ line or len. false at the
 * end. */
bool	 mbox_file_next(const char *buf, size_t len, size_t *pos, size_t *from_r, size_t *msg_r,
	    size_t *msg_len_r);

/* one message as mbox_file_walk gives it */
struct mbox_file_msg {
	size_t		 from;		/* its From_ line */
	size_t		 msg, mlen;	/* after the From_ line, without the separator */
	size_t		 end;		/* the next From_ line, or the end */
	uint32_t	 uid;		/* 0: the pseudo message */
	struct mbox_meta *mm;		/* its mbox headers (uid set to the UID) */
};

/* mbox_file_walk_fn - true stops the walk */
typedef bool mbox_file_walk_fn(void *ctx, const char *buf, const struct mbox_file_msg *m);

struct mbox_file_walk {
	uint32_t uidvalidity;	/* 0: no X-IMAPbase / X-IMAP */
	uint32_t uidnext;
	bool	 dirty;		/* some UID or X-IMAPbase is not written in the file yet */
	bool	 pseudo;	/* the first message is the pseudo message */
};

/* mbox_file_walk - every message of buf through fn (may be NULL), the
 * pseudo message too (uid 0), in file order */
void	 mbox_file_walk(const char *buf, size_t len, struct mbox_file_walk *w,
	    mbox_file_walk_fn *fn, void *ctx);

/* mbox_file_from_date - the date of a From_ line ("From sender Www Mmm
 * dd hh:mm:ss yyyy", UTC), 0 when there is none */
time_t	 mbox_file_from_date(const char *line, size_t len);

/* mbox_file_client_view - the message msg[0..len) (after its From_
 * line) as clients see it: without the mbox headers and Content-Length,
 * appended to out */
void	 mbox_file_client_view(const char *msg, size_t len, const struct mbox_meta *mm,
	    struct str *out);

/* mbox_file_is_hidden_header - line (a header field's first line) is one
 * the client view leaves out */
bool	 mbox_file_is_hidden_header(const char *line, size_t len);

#endif
