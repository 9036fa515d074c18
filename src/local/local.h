/* local.h - the local delivery agent (Postfix's local(8)) and the virtual
 * mailbox transport (virtual(8)), as transports of the queue manager
 * (qmgr/transport.h).
 *
 * A local delivery has two halves, kept apart so that the first can be
 * tested without forking and the second audited in one place:
 *   1. expansion (local_expand): the recipient, checked for unsafe local
 *      parts first, through alias_maps (with :include:, owner- aliases,
 *      loop detection), the user's .forward (forward_path) and the
 *      mailbox choice (mailbox_transport, mailbox_command, home_mailbox,
 *      mail_spool_directory) into a plan: a list of deliveries, each with
 *      the rights it runs with;
 *   2. execution (local_exec.c): every mailbox, file and command delivery
 *      runs in a forked child that has become the delivery's user
 *      (setgroups, setgid, setuid, checked with getuid); forwarded
 *      addresses go back into the queue as one new queue file, committed
 *      before the original recipient counts as delivered.
 * Tests: tests/unit/local/test_local.c, tests/e2e/test_local_delivery.py */
#ifndef YUBIN_LOCAL_H
#define YUBIN_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qmgr/transport.h"

struct maincf;
struct maps;
struct str;
struct strvec;

/* local_part_is_safe - a recipient local part that may be looked up at
 * all: no "/", "..", quotes, control characters, and no leading "|", ":"
 * or "-"; anything else is an unknown user before any expansion, so that
 * no shell and no path is ever built from what a client typed. */
bool	 local_part_is_safe(const char *local);

/* A system (or virtual) user, as the plan needs it. */
struct local_user {
	char	*name;		/* owned */
	char	*home;		/* owned */
	char	*shell;		/* owned */
	uid_t	 uid;
	gid_t	 gid;
};
void	 local_user_deinit(struct local_user *);

/* local_user_lookup_fn - 1 found, 0 not, -1 error (getpwnam_r by default;
 * tests put their own) */
typedef int local_user_lookup_fn(const char *name, struct local_user *user_r);
int	 local_user_getpwnam(const char *name, struct local_user *user_r);
/* local_user_cache_begin, local_user_cache_end - between the two,
 * local_user_getpwnam answers a name it has looked up already (found or
 * not) from memory: the delivery helper brackets each batch it reads, so
 * a batch costs one passwd lookup per user instead of one per message (a
 * stat of nsswitch.conf and an open, read and close of /etc/passwd each
 * time). A batch is one moment: a change to the passwd database is seen
 * by the next batch, as Postfix's local(8) sees it at its next delivery. */
void	 local_user_cache_begin(void);
void	 local_user_cache_end(void);
/* local_euid - geteuid(), asked once per batch between the two calls
 * above (the helper's identity does not change within one) */
uid_t	 local_euid(void);

/* The variables of forward_path (local(8)): $user, $home, $shell,
 * $recipient, $extension, $domain, $local, $recipient_delimiter. */
struct local_vars {
	const char	*user, *home, *shell, *recipient, *extension, *domain, *local;
	const char	*recipient_delimiter;
};
/* local_expand_path - one forward_path item with Postfix's $name,
 * ${name}, ${name?text} and ${name:text}: 1 expanded, 0 a $name in it was
 * empty or undefined (Postfix skips the item), -1 malformed */
int	 local_expand_path(const char *tmpl, const struct local_vars *, struct str *out);

/* local_split_targets - an alias or .forward value into its targets:
 * comma or white-space separated outside quotes, quotes removed from
 * "|command with spaces" */
void	 local_split_targets(const char *value, struct strvec *out);

enum local_kind {
	LOCAL_MAILBOX,		/* target: the mbox file or Maildir/ path */
	LOCAL_COMMAND,		/* target: the shell command */
	LOCAL_FILE,		/* target: the file to append to */
	LOCAL_FORWARD,		/* target: an address for the queue */
	LOCAL_VIRTUAL,		/* target: the address for mailbox_transport=virtual */
	LOCAL_BOUNCE,		/* failed for good: status, reason */
	LOCAL_DEFER,		/* try later: status, reason */
	LOCAL_PASS,		/* target: "transport[:nexthop]" to hand the
				 * recipient to (mailbox_transport,
				 * fallback_transport and their maps) */
};

/* One delivery of a plan. */
struct local_item {
	enum local_kind	 kind;
	char		*rcpt;		/* owned: the address it is for (to=<>) */
	char		*target;	/* owned; see local_kind */
	char		*sender;	/* owned: envelope sender (owner- aliases) */
	struct local_user user;		/* rights and environment it runs with */
	char		*extension;	/* owned; NULL when none */
	char		 status[TRANSPORT_DSN_STATUS_SIZE];	/* BOUNCE/DEFER */
	char		 reason[TRANSPORT_DSN_TEXT_SIZE];
};

struct local_plan {
	struct local_item *v;		/* owned */
	size_t		   n;
};
void	 local_plan_deinit(struct local_plan *);

/* Everything expansion reads. */
struct local_expand_ctx {
	struct maincf		*cf;		/* borrowed */
	struct maps		*aliases;	/* borrowed; NULL = no alias_maps */
	uid_t			 alias_uid;	/* owner of the alias database */
	local_user_lookup_fn	*lookup_user;
	const char		*service;	/* this transport's name ("local") */
	const char		*sender;	/* the message's envelope sender */
	const struct strvec	*delivered_to;	/* Delivered-To: values in the message */
	bool			 dev_mode;	/* not root: everything runs as us */
};

/* local_expand - the plan for one recipient address. 0, or -1 on a
 * configuration error (*error_r; defer). */
int	 local_expand(const struct local_expand_ctx *, const char *rcpt,
	    struct local_plan *plan_r, const char **error_r);

/* local_delivered_to - the Delivered-To: header values of a message (mail
 * loop detection), lowercased */
void	 local_delivered_to(const char *content, size_t len, struct strvec *out);

/* local_helper_start - before the queue manager drops its privileges:
 * fork n helpers (at least one) that stay as they are (root, in
 * production) and run the local and virtual deliveries of this process
 * from then on, one request at a time each (local_helper.c). 0, or -1
 * with *error_r when not even one could be started. */
int	 local_helper_start(struct maincf *, size_t n, const char **error_r);
/* local_helper_agents - the number of helpers (0: deliveries run in this
 * process, synchronously) */
size_t	 local_helper_agents(void);

/* The transports (registered in qmgr/transport.c). */
enum transport_status local_transport_deliver(const struct transport_request *,
	    struct transport_dsn *);
enum transport_status virtual_transport_deliver(const struct transport_request *,
	    struct transport_dsn *);
/* The asynchronous side (transport.h): hand the request to an idle helper;
 * local_helper_finish reads its outcome once the descriptor is readable. */
int	 local_transport_start(const struct transport_request *, int *agent_r, int *fd_r);
/* local_transport_start_batch - up to LOCAL_BATCH_MAX requests for one
 * recipient to one helper, which stores the Maildir deliveries among them
 * in one child with one fsync of new/; local_helper_finish reads the
 * outcomes one at a time, in order, each time the descriptor is readable;
 * *n_r becomes the number taken (fewer when their request would not fit
 * in one datagram) */
#define LOCAL_BATCH_MAX		32
int	 local_transport_start_batch(const struct transport_request *const *reqs, size_t *n_r,
	    int *agent_r, int *fd_r);
int	 virtual_transport_start(const struct transport_request *, int *agent_r, int *fd_r);
enum transport_status local_helper_finish(int agent, const struct transport_request *,
	    struct transport_dsn *);

#endif
