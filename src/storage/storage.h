/* storage.h - the mailbox storage library: writing new mail into mbox
 * files and Maildir directories, and the locks that mutt, procmail and
 * Dovecot expect. Local delivery and the virtual transport write through
 * it now; LMTP, POP3 and IMAP will read through it later, so writing
 * (storage_deliver) and locking (storage_lock_*) are separate from any
 * reader.
 *
 * storage_deliver() writes as whoever calls it: the caller (local(8),
 * virtual(8)) has already forked and dropped to the mailbox owner's uid.
 * Paths are opened with O_NOFOLLOW and must be regular files (mbox) or
 * directories (Maildir) owned by the caller's euid; nothing here follows a
 * symlink planted in a mailbox path.
 *
 * A failed delivery leaves nothing behind: an mbox is truncated back to its
 * size before the append, a Maildir's tmp file is removed. The error says
 * whether to defer (4.x.x) or bounce (5.x.x) in a DSN status, Postfix's:
 * 4.2.0 mailbox locked, 4.3.0 disk full or other trouble, 4.2.2 quota,
 * 5.2.2 mailbox_size_limit. Tests: tests/unit/storage/test_storage.c */
#ifndef YUBIN_STORAGE_H
#define YUBIN_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum storage_format {
	STORAGE_MBOX,		/* one file, "From " separated, mboxrd quoting */
	STORAGE_MAILDIR,	/* DIR/{tmp,new,cur}, one file per message */
};

/* One message to store. The content may use CRLF or LF line ends; it is
 * stored with LF. */
struct storage_mail {
	const char	*sender;	/* envelope sender, "" for <> (mbox From_ line) */
	time_t		 arrival;	/* for the From_ line */
	const char	*prefix;	/* header lines to put first (Return-Path:,
					 * Delivered-To: ...), LF-terminated; may be NULL */
	const char	*data;		/* borrowed */
	size_t		 len;
	const char	*maildir_info;	/* Maildir: the flag letters after ":2," (system
					 * flags, then keyword letters): the message is
					 * stored straight into cur/NAME:2,LETTERS, as
					 * Dovecot's LDA stores flagged mail; NULL or ""
					 * for new/ */
	bool		 any_owner;	/* an mbox file need not be ours: files named in
					 * aliases and .forward (Postfix's deliver_file);
					 * mailboxes must belong to the recipient */	const char	*mbox_first;	/* mbox: header lines put before prefix only when
					 * the message is the first in the file (deliver's
					 * X-IMAPbase: decided under the lock); may be NULL */
};

#define STORAGE_STATUS_SIZE	8
#define STORAGE_TEXT_SIZE	512

struct storage_error {
	char	status[STORAGE_STATUS_SIZE];	/* "4.2.0" */
	char	text[STORAGE_TEXT_SIZE];	/* "cannot update mailbox ...: ..." */
};

/* storage_error_is_temporary - defer rather than bounce */
bool	 storage_error_is_temporary(const struct storage_error *);

/* storage_format_of - a path that ends in "/" is a Maildir (Postfix's rule
 * for home_mailbox and mail_spool_directory) */
enum storage_format storage_format_of(const char *path);

/* storage_deliver - append mail to the mbox file at path (created mode
 * 0600 when missing), or store it in the Maildir at path (created with
 * tmp/, new/, cur/ mode 0700 when missing). size_limit: largest resulting
 * mbox file or Maildir message in bytes (0 = none). where_r (may be NULL,
 * size STORAGE_TEXT_SIZE) gets the file written (the Maildir new/ name). 0,
 * or -1 with *error_r filled. */
int	 storage_deliver(const char *path, enum storage_format, const struct storage_mail *,
	    off_t size_limit, char *where_r, struct storage_error *error_r);

/* storage_maildir_deliver_many - store n messages in the Maildir at path
 * (as storage_deliver) with one fsync of new/ for all of them: each file
 * is written and fsync'd, renamed into new/, and new/ fsync'd once after
 * the last rename, so that none counts as delivered before its directory
 * entry is on disk. errors[i] (n of them) is filled for each message that
 * failed (status "" for one delivered). The number delivered. */
int	 storage_maildir_deliver_many(const char *path, const struct storage_mail *mails,
	    size_t n, off_t size_limit, struct storage_error *errors);

/* storage_mbox_deliver_many - append n messages to the mbox file at path
 * (as storage_deliver) under one lock, with one fsync after the last:
 * none counts as delivered before it. errors[i] as above; a lock held
 * elsewhere fails them all with 4.2.0 before anything is written. The
 * number delivered. */
int	 storage_mbox_deliver_many(const char *path, const struct storage_mail *mails,
	    size_t n, off_t size_limit, struct storage_error *errors);

/* storage_write_full - write(2) until all is written (EINTR and
 * short writes retried); 0 or -1 with errno */
int	 storage_write_full(int fd, const void *p, size_t n);

/* Locking (lock.c), as mutt, procmail and Postfix lock an mbox: first a
 * dot-lock file "PATH.lock" made with O_EXCL (one older than
 * STORAGE_DOTLOCK_STALE seconds is stale and removed, as Postfix does),
 * then an fcntl write lock on the open file. Both are non-blocking: a
 * mailbox that another program holds makes the caller defer. */
#define STORAGE_DOTLOCK_STALE	500	/* Postfix's stale_lock_time default */

/* storage_dotlock_take - 0, or -1 with errno (EEXIST: held by another;
 * EACCES: the directory does not let us make it). *lock_path_r is owned
 * by the caller and released with storage_dotlock_release. */
int	 storage_dotlock_take(const char *path, char **lock_path_r);
/* storage_dotlock_release - remove and free; NULL-safe */
void	 storage_dotlock_release(char **lock_path);
/* storage_fcntl_lock - an exclusive (write) or shared lock on fd, without
 * waiting: 0, or -1 with errno EAGAIN/EACCES when held */
int	 storage_fcntl_lock(int fd, bool exclusive);
/* storage_fcntl_unlock - release what storage_fcntl_lock took */
void	 storage_fcntl_unlock(int fd);

/* storage_maildir_name - a unique Maildir base name,
 * "SEC.MUSEC P PID Q N.HOST,S=SIZE" as Dovecot and Postfix make them
 * (host with "/" and ":" escaped as \057 and \072). */
struct str;
void	 storage_maildir_name(struct str *out, size_t size);

#endif
