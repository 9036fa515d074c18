/* imap_mail-private.h - the state of a logged-in IMAP session, shared by
 * imap_mail.c (the loop, mailbox commands) and imap_fetch.c (FETCH,
 * STORE, SEARCH, COPY, MOVE, EXPUNGE). */
#ifndef YUBIN_IMAP_MAIL_PRIVATE_H
#define YUBIN_IMAP_MAIL_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_layout.h"
#include "imap/imap_mbox.h"
#include "imap/imap_parser.h"
#include "pop3/pop3-private.h"

struct imap_conf;

struct imap_sess {
	struct pop3_client *client;	/* borrowed */
	struct pop3_conn *conn;		/* borrowed */
	const struct imap_conf *conf;	/* special-use mailboxes, quota (borrowed) */
	const char	*user;
	char		*root;		/* INBOX's Maildir */
	struct imap_layout layout;	/* where the folders are (imap_layout.h) */
	struct imap_parser parser;
	const char	*tag;		/* the current command's (in the parser) */
	/* the selected mailbox */
	bool		 selected, readonly;
	bool		 condstore, qresync;	/* enabled (imap_condstore.c) */
	bool		 nomodseq;	/* the selected mailbox had no modseqs at SELECT
					 * (mbox without its cache): no MODSEQ shown */
	char		*sel_name, *sel_dir;
	struct imap_mbox_snap snap;
	char		*kw[IMAP_MAX_KEYWORDS];
	size_t		 nkw;
	uint32_t	*saved;		/* the last SEARCH result (UIDs), for "$" */
	bool		 compress_start;	/* COMPRESS accepted: deflate after its OK */
	bool		 rev2;		/* ENABLE IMAP4rev2 (imap_enable.c) */
	bool		 utf8;		/* ENABLE UTF8=ACCEPT: names in UTF-8 */
	size_t		 nsaved;
	bool		 hibernated;	/* the client went to the hibernate process */
	unsigned long long in, out;
	unsigned	 expunged, deleted, body_count;
	unsigned long long body_bytes;
};

/* imap_sess_sync - pick up changes made by others (deliveries, other
 * sessions) and report them: EXPUNGE (when expunges may be sent),
 * EXISTS, RECENT, FETCH FLAGS */
void	 imap_sess_sync(struct imap_sess *, bool expunges_ok);
/* imap_sess_flags - "(\Seen foo)" for a message */
void	 imap_sess_flags(const struct imap_sess *, const struct imap_msg *, struct str *out);
/* imap_sess_flag_lists - the "* FLAGS" and PERMANENTFLAGS lines */
void	 imap_sess_flag_lists(struct imap_sess *);
/* imap_sess_printf - an untagged or continuation line to the client
 * (counted in the session's output bytes) */
void	 imap_sess_printf(struct imap_sess *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* imap_sess_name_check - 0, or -1 with the NO text: name cannot be a
 * mailbox (imap_mailbox_name_check, and the layout's own rules) */
int	 imap_sess_name_check(const struct imap_sess *, const char *name, struct str *error);
/* imap_sess_dir - the Maildir of a mailbox name (checked by the caller) */
char	*imap_sess_dir(const struct imap_sess *, const char *name);

/* imap_service_conf - the service's settings (imap_conf.c), read once by
 * the service process; NULL when they could not be read */
const struct imap_conf *imap_service_conf(void);

/* imap_cmd_status - STATUS (imap_mail.c; LIST-STATUS calls it too) */
const char *imap_cmd_status(struct imap_sess *, const struct imap_arg *, size_t,
	    struct str *reply);

/* the commands in imap_fetch.c: each sends its tagged reply (without
 * the timing) into reply and returns the status word "OK", "NO", "BAD" */
const char *imap_cmd_fetch(struct imap_sess *, bool uid, const struct imap_arg *, size_t,
	    struct str *reply);
const char *imap_cmd_store(struct imap_sess *, bool uid, const struct imap_arg *, size_t,
	    struct str *reply);
const char *imap_cmd_search(struct imap_sess *, bool uid, const struct imap_arg *, size_t,
	    struct str *reply);
const char *imap_cmd_copy(struct imap_sess *, bool uid, bool move, const struct imap_arg *,
	    size_t, struct str *reply);
const char *imap_cmd_expunge(struct imap_sess *, const struct imap_arg *, size_t, bool uid,
	    bool silent, struct str *reply);

#endif
