/* mailbox.h - reading a mailbox: what POP3 (and doveadm) need from the
 * storage library. Writing new mail is storage.h's (storage_deliver).
 *
 * Opening a mailbox takes a snapshot: the list of messages with their UIDs
 * and virtual sizes (the size with CRLF line ends, as POP3 counts it).
 * Later deliveries are not seen until the next open, as RFC 1939 wants
 * for a POP3 session.
 *
 *  - Maildir: new/ is moved to cur/ (":2," appended), and UIDs come from
 *    Dovecot's dovecot-uidlist (version 3: "3 V<uidvalidity> N<nextuid>
 *    G<guid>", then "UID [ext...] :basename" lines, W<vsize> among the
 *    extensions), created or updated under Dovecot's dovecot-uidlist.lock,
 *    so that a mailbox Dovecot served keeps its UIDs and UIDLs here and the
 *    other way round.
 *  - mbox: split, numbered and shown as IMAP and Dovecot do
 *    (storage/mbox_file.h: Content-Length, UIDs from X-UID / X-IMAPbase,
 *    Dovecot's pseudo message hidden, the mbox headers hidden, ">From "
 *    left as it is); locked with a dot-lock and fcntl
 *    (storage_dotlock_take) while it is read and while deletions are
 *    written.
 *
 * The caller runs as the mailbox owner. Tests:
 * tests/unit/storage/test_mailbox_read.c, tests/unit/storage/test_uidlist.c */
#ifndef YUBIN_STORAGE_MAILBOX_H
#define YUBIN_STORAGE_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "storage/storage.h"

struct str;
struct mailbox;		/* opaque: one open snapshot */

struct mailbox_msg {
	uint32_t	 uid;
	size_t		 vsize;		/* octets with CRLF line ends */
	char		*name;		/* Maildir: file name in cur/; mbox: NULL */
	char		*uidl;		/* mbox X-UIDL header, or NULL */
	off_t		 offset;	/* mbox: the From_ line */
	off_t		 end;		/* mbox: end of the message (next From_ or EOF) */
};

/* mailbox_open - a snapshot of the mailbox at path. A missing Maildir or
 * mbox is an empty mailbox (nothing is created for a read). 0, or -1 with
 * *error_r (a literal or a string owned by the module, valid until the next
 * call) and errno. */
int	 mailbox_open(const char *path, enum storage_format, struct mailbox **r,
	    const char **error_r);
void	 mailbox_close(struct mailbox **);

size_t	 mailbox_count(const struct mailbox *);
const struct mailbox_msg *mailbox_msg(const struct mailbox *, size_t i);
uint32_t mailbox_uidvalidity(const struct mailbox *);
/* mailbox_uidnext - mbox: the next UID X-IMAPbase gives (past expunged
 * ones); 0 when unknown (Maildir: the highest UID + 1 is the caller's) */
uint32_t mailbox_uidnext(const struct mailbox *);

/* mailbox_msg_read - message i's content with LF line ends (mbox: without
 * the From_ line, unquoted) appended to out. 0, or -1 (the message went
 * away: expunged by another session) with *error_r. */
int	 mailbox_msg_read(struct mailbox *, size_t i, struct str *out, const char **error_r);

/* mailbox_expunge - remove the messages whose del[i] is true (the array has
 * mailbox_count entries). 0, or -1 with *error_r: nothing or part removed. */
int	 mailbox_expunge(struct mailbox *, const bool *del, const char **error_r);

/* mailbox_uidl - the UIDL of message i after pop3_uidl_format (%u uid,
 * %v uidvalidity, %m MD5 of the header is not supported: %g and %m give
 * the message's file name base), into out (reset first). */
void	 mailbox_uidl(const struct mailbox *, size_t i, const char *format, struct str *out);

/* --- dovecot-uidlist (uidlist.c), exposed for tests and doveadm --- */

struct uidlist_entry {
	uint32_t	 uid;
	size_t		 vsize;		/* from W<n>, 0 = unknown */
	char		*base;		/* file name without ":2,..." */
};

struct uidlist {
	unsigned	 version;	/* 1 or 3 (written as 3) */
	uint32_t	 uidvalidity;
	uint32_t	 next_uid;
	char		 guid[33];	/* hex, "" when none */
	struct uidlist_entry *e;	/* sorted by uid */
	size_t		 n;
};

void	 uidlist_init(struct uidlist *);
void	 uidlist_deinit(struct uidlist *);
/* uidlist_parse - a dovecot-uidlist file's content. Broken lines are
 * skipped (Dovecot rebuilds from them too); a broken header is -1. */
int	 uidlist_parse(struct uidlist *, const char *data, size_t len, const char **error_r);
/* uidlist_format - the version 3 file */
void	 uidlist_format(const struct uidlist *, struct str *out);
/* uidlist_add - append a new entry with the next UID; returns it */
uint32_t uidlist_add(struct uidlist *, const char *base, size_t vsize);

/* maildir_basename_len - the length of a Maildir file name without its
 * ":2,FLAGS" info part */
size_t	 maildir_basename_len(const char *name);

#endif
