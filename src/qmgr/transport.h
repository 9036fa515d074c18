/* transport.h - how the queue manager hands one recipient to a delivery
 * transport, the interface that the local, lmtp and smtp transports of
 * later issues plug into.
 *
 * A transport is named as in master.cf and main.cf ("discard", "error",
 * "local", "smtp", ...). transport_find() gives the built-in
 * implementation of a name; the queue manager calls deliver() for one
 * recipient with the nexthop of "transport:nexthop" and gets a status with
 * a DSN (status code, relay, reason text) back. The queue manager, not the
 * transport, marks the recipient done and writes the log line, so that
 * "done before status=sent" holds for every transport. */
#ifndef YUBIN_TRANSPORT_H
#define YUBIN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

struct qmsg;
struct maincf;

enum transport_status {
	TRANSPORT_SENT,		/* delivered (or discarded): mark done */
	TRANSPORT_DEFERRED,	/* try again later */
	TRANSPORT_BOUNCED,	/* failed for good: mark done, bounce (issue 4) */
	/* local(8)'s mailbox_transport or fallback_transport names a
	 * transport of the queue manager's (lmtp, smtp): dsn.relay holds
	 * "transport:nexthop" and dsn.reason the address to deliver to; the
	 * queue manager hands the recipient on, once */
	TRANSPORT_PASSED,
};

#define TRANSPORT_DSN_STATUS_SIZE	16
#define TRANSPORT_DSN_TEXT_SIZE		512
#define TRANSPORT_RELAY_SIZE		256

/* The outcome of one delivery, in the shape of Postfix's DSN_BUF. */
struct transport_dsn {
	char	status[TRANSPORT_DSN_STATUS_SIZE];	/* "2.0.0" */
	char	reason[TRANSPORT_DSN_TEXT_SIZE];	/* "discarded", "user unknown" */
	char	relay[TRANSPORT_RELAY_SIZE];		/* "none", "host[addr]:port" */
	double	conn_setup;	/* seconds spent on connection set-up (delays=c) */
	/* RFC 3464 action of a successful final delivery ("delivered",
	 * "expanded", "relayed"), which NOTIFY=SUCCESS reports to the
	 * sender; "" when the delivery was not final (no success notice) */
	char	action[16];
	unsigned conn_use;	/* > 1: the connection's nth delivery (conn_use=n) */
	/* a transport with start_batch: this recipient's delivery is one the
	 * agent can batch (local: a single mailbox delivery), so the queue
	 * manager may hand its next messages over together */
	bool	 batchable;
};

/* A transport that expands one recipient into several deliveries
 * (local(8): aliases, .forward) reports each one as a line; the queue
 * manager logs them, "to=<line> orig_to=<recipient>", instead of the one
 * summary line, as Postfix's local logs each delivery of an expansion. */
struct transport_line {
	char			*to;		/* owned: the address delivered to */
	enum transport_status	 status;
	struct transport_dsn	 dsn;
};

struct transport_lines {
	struct transport_line	*v;		/* owned */
	size_t			 n;
};

/* One delivery request: one recipient of one message. */
struct transport_request {
	struct qmsg	*msg;		/* borrowed */
	size_t		 rcpt;		/* index into msg->rcpts */
	const char	*addr;		/* borrowed: NULL, or the address to deliver to
					 * instead of msg->rcpts[rcpt] (local hands a
					 * user to mailbox_transport=virtual) */
	struct transport_lines *lines;	/* borrowed: NULL, or where lines go */
	const char	*service;	/* transport name as configured; borrowed */
	const char	*nexthop;	/* text after "transport:", or the domain; borrowed */
	struct maincf	*cf;		/* borrowed: the instance's main.cf */
};

/* A transport is synchronous (deliver only: discard, error, retry run in
 * the queue manager and return at once) or also asynchronous: start()
 * hands the request to an agent (a process, later a network connection)
 * and returns; the queue manager's event loop waits for *fd_r to become
 * readable and then calls finish() with the same agent and request, which
 * gives the status, fills dsn and adds the lines. The request and its
 * lines stay valid, unchanged, from start() to finish(). agents() says how
 * many requests may be out at once; the queue manager never starts more,
 * and the per-destination limits are the queue manager's (qmgr_sched.h).
 * issue 5's smtp transport plugs in here: start() = queue the recipient
 * on a connection, finish() = its DSN. */
struct transport {
	const char	*name;
	/* deliver - try one recipient, waiting for the outcome; always fills dsn */
	enum transport_status (*deliver)(const struct transport_request *,
	    struct transport_dsn *dsn);
	/* start - NULL for a synchronous transport: 0 started, -1 no agent
	 * free now (try again after a finish) */
	int	(*start)(const struct transport_request *, int *agent_r, int *fd_r);
	/* finish - the outcome of agent's request, once its fd is readable */
	enum transport_status (*finish)(int agent, const struct transport_request *,
	    struct transport_dsn *dsn);
	/* agents - requests that may be in flight at once (0: use deliver) */
	size_t	(*agents)(void);
	/* start_batch - NULL, or: hand up to batch_max requests for one
	 * destination to one agent at once (counted as one delivery against
	 * the limits); *n_r: the number offered, set to the number taken (the
	 * first ones; at least 1 when it returns 0). finish() is then called
	 * once per request taken, in their order, each time *fd_r is
	 * readable. local(8) stores the mailbox deliveries of a batch with
	 * one fsync. */
	int	(*start_batch)(const struct transport_request *const *reqs, size_t *n_r,
		    int *agent_r, int *fd_r);
	size_t	 batch_max;
};

/* transport_find - the built-in transport of this master.cf command name
 * ("discard", "error", "retry"), or NULL when this build has none */
const struct transport *transport_find(const char *name);

/* transport_dsn_set - fill a DSN; a reason that starts with an RFC 3463
 * detail code ("5.1.1 text") overrides the default status, as Postfix's
 * discard and error read their nexthop */
void	 transport_dsn_set(struct transport_dsn *, const char *def_status, const char *relay,
	    const char *reason);

/* transport_add_line - report one delivery of an expansion (no-op when
 * the request has no lines) */
void	 transport_add_line(const struct transport_request *, const char *to,
	    enum transport_status, const struct transport_dsn *);
/* transport_lines_deinit - free the lines; the struct may be reused */
void	 transport_lines_deinit(struct transport_lines *);

#endif
