/* local-private.h - what local_transport.c, local_exec.c and virtual.c
 * share: running one planned delivery with the right privileges. */
#ifndef YUBIN_LOCAL_PRIVATE_H
#define YUBIN_LOCAL_PRIVATE_H

#include "local/local.h"

#include <time.h>

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
