/* imap_mbox_mbox.h - one mbox file as IMAP sees it, in Dovecot's way:
 * the file read by storage/mbox_file.c (the split POP3 and doveadm use
 * too: Content-Length, UIDs as Dovecot gives them, the pseudo message),
 * flags from Status/X-Status, keywords from X-Keywords, INTERNALDATE
 * from the From_ line. The mbox headers are hidden from the client.
 * imap_mbox.c's functions come here when their path is a regular file. */
#ifndef YUBIN_IMAP_MBOX_MBOX_H
#define YUBIN_IMAP_MBOX_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_mbox.h"

struct str;

/* imap_mboxf_is - path is an mbox file (not a Maildir directory) */
bool	 imap_mboxf_is(const char *path);
/* imap_mboxf_scan - the messages of the mbox at path (a missing file is
 * an empty mailbox). 0, or -1 with *error_r. */
int	 imap_mboxf_scan(const char *path, struct imap_mbox_snap *out, const char **error_r);
/* imap_mboxf_read - the message m as the client sees it (LF ends, the
 * mbox headers left out); -1 with errno ENOENT when it is gone */
int	 imap_mboxf_read(const char *path, const struct imap_msg *m, struct str *out);

/* imap_mboxf_set_flags - m's Status/X-Status say flags now and its
 * X-Keywords the names of kw's bits (the file rewritten under the locks;
 * keywords past the 26 a session shows stay). 0, or -1 (errno ENOENT:
 * gone) */
int	 imap_mboxf_set_flags(const char *path, struct imap_msg *m, unsigned flags, uint32_t kw);

/* one message's new flags for imap_mboxf_set_flags_many */
struct imap_mboxf_flags {
	uint32_t uid;
	unsigned flags;		/* IMAP_FLAG_* */
	uint32_t kw;
	size_t	 seq;		/* the caller's (e.g. the snapshot index) */
	bool	 found;		/* set: the message was there and changed */
};
/* imap_mboxf_set_flags_many - imap_mboxf_set_flags for all of v in one
 * rewrite (a STORE over many messages); v is sorted by UID. 0, or -1 */
int	 imap_mboxf_set_flags_many(const char *path, struct imap_mboxf_flags *v, size_t n);

/* keywords: the mbox's list is X-IMAPbase's keyword names, then names
 * of X-Keywords headers it lacks; bit i of a message's kw is name i.
 * imap_mboxf_keywords adds them to names as imap_mbox_keywords_read does
 * (from the last scan of path, or a scan now). */
void	 imap_mboxf_keywords(const char *path, char **names, size_t *n_r);
/* imap_mboxf_keyword_index - the index of name in path's list; added
 * when create (written into X-IMAPbase by the next change of the file).
 * -1 when unknown, or when 26 are in use */
int	 imap_mboxf_keyword_index(const char *path, const char *name, bool create);
/* imap_mboxf_expunge - the messages with these UIDs (sorted) removed */
int	 imap_mboxf_expunge(const char *path, const uint32_t *uids, size_t n);
/* imap_mboxf_assign_uids - X-UID in every message and X-IMAPbase in the
 * first written into the file, as Dovecot does on its first sync */
int	 imap_mboxf_assign_uids(const char *path);
/* imap_mboxf_changed - after a STORE rewrote the file: the modseqs the
 * rebuilt offset cache gives the messages idx of snap (their changed
 * flags already in the file), and snap's highest raised to the cache's;
 * that highest, or 0 when the cache cannot be kept (no modseqs) */
uint64_t imap_mboxf_changed(const char *path, struct imap_mbox_snap *snap, const size_t *idx,
	    size_t n);
/* imap_mboxf_cache_drop - forget the offset cache kept in memory (the
 * one on disk stays; tests use it to read that one) */
void	 imap_mboxf_cache_drop(void);
/* imap_mboxf_delete - the file removed (under the locks), with its
 * offset cache */
int	 imap_mboxf_delete(const char *path);

/* a message for imap_mboxf_save; uid is filled in */
struct imap_mboxf_new {
	const char	*data;
	size_t		 len;
	unsigned	 flags;		/* IMAP_FLAG_* */
	uint32_t	 kw;		/* keyword bits (imap_mboxf_keyword_index) */
	time_t		 date;		/* for the From_ line; 0: now */
	uint32_t	 uid;
};
/* imap_mboxf_save - the messages appended to the mbox at path (made
 * when missing), with UIDs after the last, under the locks, fsync'd
 * before it returns. 0 or -1 with errno. */
int	 imap_mboxf_save(const char *path, struct imap_mboxf_new *add, size_t n);

/* imap_mboxf_parse - the messages of the mbox content buf (out zeroed
 * first; uidvalidity 0 when there is no X-IMAPbase); true when some UID
 * is not written in the file yet */
bool	 imap_mboxf_parse(const char *buf, size_t len, struct imap_mbox_snap *out);

#endif
