/* mbox_meta.h - the IMAP state Dovecot keeps inside an mbox message's
 * header, so that yubin and Dovecot read each other's mboxes with the
 * same UIDs and flags (the first step of IMAP on mbox; docs/status.md):
 *
 *   X-IMAPbase: UIDVALIDITY LAST-UID [keyword...]  first message only
 *               (LAST-UID is UIDNEXT - 1, 10 digits zero-padded)
 *   X-IMAP: (the same, older name) in the first message: Dovecot's
 *           pseudo message, which holds the numbers while the mbox has
 *           no mail (hidden from IMAP, POP3 and doveadm)
 *   X-UID: UID
 *   Status: R (\Seen) O (not \Recent: seen by a session before)
 *   X-Status: A (\Answered) F (\Flagged) T (\Draft) D (\Deleted)
 *   X-Keywords: keyword...
 *
 * Header names are case-insensitive; folded lines are joined; a broken
 * number is ignored (as Dovecot, the message then gets a new UID).
 * Tests: tests/unit/storage/test_mbox_meta.c, fuzz/fuzz_mbox_meta.c */
#ifndef YUBIN_STORAGE_MBOX_META_H
#define YUBIN_STORAGE_MBOX_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct str;

enum {
	MBOX_SEEN	= 1 << 0,	/* Status: R */
	MBOX_OLD	= 1 << 1,	/* Status: O */
	MBOX_ANSWERED	= 1 << 2,	/* X-Status: A */
	MBOX_FLAGGED	= 1 << 3,	/* X-Status: F */
	MBOX_DRAFT	= 1 << 4,	/* X-Status: T */
	MBOX_DELETED	= 1 << 5,	/* X-Status: D */
};

#define MBOX_META_MAX_KEYWORDS	64

struct mbox_meta {
	uint32_t uid;			/* 0: none */
	unsigned flags;			/* MBOX_* */
	bool	 has_base;		/* X-IMAPbase or X-IMAP seen */
	bool	 pseudo;		/* X-IMAP (the pseudo message's) seen */
	uint32_t uidvalidity, last_uid;	/* X-IMAPbase: UIDNEXT - 1 */
	char	*keywords[MBOX_META_MAX_KEYWORDS];	/* X-Keywords (owned) */
	size_t	 nkeywords;
	char	*base_keywords[MBOX_META_MAX_KEYWORDS];	/* X-IMAPbase's (owned) */
	size_t	 nbase_keywords;
	size_t	 header_len;		/* the header block with its blank line */
};

/* mbox_meta_parse - the header block at the start of msg (a message
 * without its From_ line). Never fails: what is not there stays 0. */
void	 mbox_meta_parse(const char *msg, size_t len, struct mbox_meta *out);
void	 mbox_meta_free(struct mbox_meta *);

/* mbox_meta_is_ours - name (up to ':') is one of the headers above */
bool	 mbox_meta_is_ours(const char *line, size_t len);

/* mbox_meta_format - the headers in Dovecot's order, LF-terminated,
 * appended to out: X-IMAPbase (when first), X-UID, Status (when R or O),
 * X-Status (when any),
 * X-Keywords (when any), X-UID. Keywords are written as they are: the
 * caller gives only valid IMAP atoms. */
void	 mbox_meta_format(const struct mbox_meta *, bool first, struct str *out);

/* mbox_meta_pseudo - the pseudo message (From_ line to its separator
 * line) that keeps UIDVALIDITY, the last UID and the keyword names of an
 * mbox without mail, in the shape Dovecot writes and recognises: first in
 * the file, its numbers in an X-IMAP header. now: its date. */
void	 mbox_meta_pseudo(uint32_t uidvalidity, uint32_t last_uid, char *const *keywords,
	    size_t nkeywords, long long now, struct str *out);

#endif
