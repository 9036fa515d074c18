/* local-private.h - what local_transport.c, local_exec.c and virtual.c
 * share: running one planned delivery with the right privileges. */
#ifndef YUBIN_LOCAL_PRIVATE_H
#define YUBIN_LOCAL_PRIVATE_H

#include "local/local.h"

#include <time.h>

#include "lib/str.h"
#include "lib/util.h"

/* What every delivery of one message needs. */
struct local_msg {
	struct maincf	*cf;		/* borrowed */
	const char	*content;	/* borrowed: the queued message */
	size_t		 len;
	time_t		 arrival;
	const char	*orig_rcpt;	/* X-Original-To, ORIGINAL_RECIPIENT */
	bool		 dev_mode;	/* not root: run everything as ourselves */
};

/* local_exec - run one planned mailbox, file or command delivery (the
 * other kinds are the caller's), filling dsn; what_r gets the text after
 * "delivered to" ("mailbox", "maildir", "command: ...", "file: ...") */
enum transport_status local_exec(const struct local_msg *, const struct local_item *,
	    struct transport_dsn *dsn, struct str *what_r);

/* local_exec_mailbox - store into the mbox file or Maildir at path as user
 * u in a child (virtual(8) uses it with its own uid and headers) */
enum transport_status local_exec_mailbox(const struct local_msg *, const struct local_user *u,
	    const char *path, const char *sender, const char *prefix, off_t size_limit,
	    bool any_owner, struct transport_dsn *dsn);

/* One local(8) request, expanded and ready to run (local_transport.c):
 * what local_run needs, and whether its plan can go into a batch. */
struct local_prep {
	struct str	 content;	/* the queued message */
	struct strvec	 delivered;	/* its Delivered-To: values */
	struct str	 aliases;	/* alias_maps */
	struct maps	*amaps;		/* owned */
	struct local_plan plan;
	bool		 planned;	/* plan is filled (and owned) */
	struct local_msg lm;		/* points into content */
	const char	*orig;		/* borrowed from the request's message */
	ssize_t		 batch_item;	/* the plan's one mailbox delivery that a
					 * batch may store; -1: none */
	bool		 batch_done;	/* the batch stored it: local_run reports it */
	bool		 batch_died;	/* the batch's child died before its report:
					 * deferred, never tried again at once */
};

/* local_prepare - read and expand one request: 0, or -1 with dsn filled
 * (defer); local_prep_deinit either way */
int	 local_prepare(const struct transport_request *, struct local_prep *,
	    struct transport_dsn *dsn);
/* local_run - deliver the plan of a prepared request (a Maildir delivery
 * that a batch already stored is only reported) */
enum transport_status local_run(const struct transport_request *, struct local_prep *,
	    struct transport_dsn *dsn);
void	 local_prep_deinit(struct local_prep *);

/* local_exec_mailbox_batch - store the batch items of n prepared
 * requests, all for the same user and mailbox, in one child that has
 * become that user: a Maildir with one fsync of new/ for them all
 * (storage_maildir_deliver_many), an mbox under one lock with one fsync
 * (storage_mbox_deliver_many, waiting for the lock as local_exec_mailbox
 * does). Sets batch_done on each one stored, batch_died on all when the
 * child died before it reported (they are deferred, as one child that
 * died). The others are left to local_run, which tries them alone and
 * reports their errors. */
void	 local_exec_mailbox_batch(struct local_prep *const *preps, size_t n);

/* local_child_result - the parent's side of a child that reports one
 * fixed-size result over a pipe: read it from rfd (closed), reap pid;
 * the bytes read (size when the child finished its report) */
ssize_t	 local_child_result(int rfd, pid_t pid, void *res, size_t size);

/* local_list_has - the list parameter of cf names word
 * (allow_mail_to_commands "alias", prepend_delivered_header "file") */
bool	 local_list_has(struct maincf *cf, const char *param, const char *word);

/* local_become - in a child: become u (setgroups, setgid, setuid, then
 * check); not root: nothing. 0 or -1. */
int	 local_become(const struct local_user *u, bool dev_mode);

/* local_helper_active - this process (the queue manager) has helpers to
 * deliver for it; false in the helpers themselves */
bool	 local_helper_active(void);
/* local_helper_deliver - one delivery through an idle helper, waited for */
enum transport_status local_helper_deliver(const struct transport_request *, bool is_virtual,
	    struct transport_dsn *);

#endif
