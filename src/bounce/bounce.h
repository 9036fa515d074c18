/* bounce.h - delivery status notifications (RFC 3464) in Postfix's shape
 * and wording: the queue manager calls bounce_notify() once per delivery
 * pass with the recipients that failed for good (or, for a delay warning,
 * that are still deferred), and the notices become new queue files from
 * the null sender.
 *
 * Who gets what (Postfix's bounce_notify_service and bounce_warn_service):
 *   - a failure notice goes to the envelope sender, for the recipients
 *     whose DSN NOTIFY allows it (none given = FAILURE,DELAY); a delay
 *     warning likewise for NOTIFY=DELAY;
 *   - mail from the null sender never bounces to it: when notify_classes
 *     has "bounce" or "2bounce" the notice goes to 2bounce_notice_recipient
 *     from the double-bounce sender, else it is dropped; a failed notice
 *     from the double-bounce sender is discarded with a warning (never a
 *     triple bounce);
 *   - notify_classes "bounce" / "delay" add a headers-only postmaster copy
 *     to bounce_notice_recipient / delay_notice_recipient.
 *   - a success notice (DSN_README: NOTIFY=SUCCESS, final delivery) goes to
 *     the sender for the recipients that asked for it, headers only unless
 *     RET=FULL, without a postmaster copy.
 * Each notice is logged as "ID: sender non-delivery notification: NEWID"
 * (or "sender delay notification", "sender delivery status notification",
 * "postmaster non-delivery notification").
 * Tests: tests/unit/bounce/test_bounce.c, tests/e2e/test_bounce.py */
#ifndef YUBIN_BOUNCE_H
#define YUBIN_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

struct maincf;
struct qmsg;
struct str;

enum bounce_kind {
	BOUNCE_FAILURE,		/* Action: failed */
	BOUNCE_DELAY,		/* Action: delayed */
	BOUNCE_SUCCESS,		/* Action: delivered (or relayed, expanded):
				 * only for NOTIFY=SUCCESS, never to <> */
	BOUNCE_TRACE,		/* sendmail -v: every recipient of the first
				 * attempt, each with its own action */
};

/* One recipient's outcome; every string is borrowed. */
struct bounce_rcpt {
	const char	*addr;
	const char	*orcpt;		/* "rfc822;addr" as stored, or NULL */
	int		 notify;	/* QFILE_NOTIFY_* (0 = not given) */
	const char	*status;	/* "5.1.1" */
	const char	*reason;	/* diagnostic text */
	const char	*relay;		/* "none" or "host[addr]:port" */
	const char	*action;	/* NULL: by the kind; BOUNCE_SUCCESS may say
					 * "relayed" or "expanded" */
};

/* What one notice says; every string is borrowed. */
struct bounce_info {
	enum bounce_kind kind;
	bool		 postmaster_copy;	/* Postmaster-Subject, headers only */
	const char	*queue_id;		/* of the original message */
	const char	*new_id;		/* of the notice (boundary, Message-Id) */
	const char	*sender;		/* of the original, "" = <> */
	const char	*to;			/* recipient of the notice */
	const char	*from;			/* "MAILER-DAEMON@host" */
	const char	*myhostname;
	const char	*envid;			/* DSN ENVID or NULL */
	bool		 ret_hdrs;		/* DSN RET=HDRS */
	bool		 ret_full;		/* DSN RET=FULL (success: whole message) */
	long		 arrival;		/* seconds since the epoch */
	long		 now;
	long		 delay_warning_time;	/* seconds (delay text) */
	long		 max_lifetime;		/* seconds (delay text) */
	const char	*content;		/* original message */
	size_t		 content_len;
	size_t		 size_limit;		/* bounce_size_limit */
};

/* bounce_compose - the whole notice (headers and MIME body, LF line ends)
 * for rcpts, appended to out */
void	 bounce_compose(const struct bounce_info *, const struct bounce_rcpt *rcpts, size_t n,
	    struct str *out);

/* bounce_notify - decide who gets notices for msg's rcpts (see above),
 * write them as queue files in queue_dir and wake the queue manager. 0 when
 * every notice is durable (or none was due), -1 with *error_r when one
 * could not be queued: the caller keeps the recipients and retries, so a
 * notice is never lost (at worst sent twice). */
int	 bounce_notify(struct maincf *, const char *queue_dir, bool long_ids, enum bounce_kind,
	    const struct qmsg *msg, const struct bounce_rcpt *rcpts, size_t n,
	    const char **error_r);

#endif
