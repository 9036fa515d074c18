/* qmgr_sched.h - the queue manager's concurrency bookkeeping: which
 * deliveries are in flight, by transport and destination, and whether one
 * more keeps within the limits (Postfix's per-transport process limit and
 * per-destination concurrency limit, without its slow start). Pure: no
 * clock, no processes, so the unit test checks the limits directly.
 *
 * A destination is what a concurrency limit counts: the recipient for
 * local(8) (local_destination_recipient_limit = 1, so Postfix's local
 * destination is the recipient), the nexthop for any other transport.
 * Tests: tests/unit/qmgr/test_qmgr_sched.c */
#ifndef YUBIN_QMGR_SCHED_H
#define YUBIN_QMGR_SCHED_H

#include <stdbool.h>
#include <stddef.h>

struct qmgr_sched_job {
	char	*transport;	/* owned */
	char	*dest;		/* owned */
};

struct qmgr_sched {
	struct qmgr_sched_job	*v;	/* owned: the deliveries in flight, unordered */
	size_t			 n;
	size_t			 max;	/* all transports together; 0 = no limit */
};

void	 qmgr_sched_init(struct qmgr_sched *, size_t max);
void	 qmgr_sched_deinit(struct qmgr_sched *);

/* qmgr_sched_may_start - one more delivery of transport to dest stays
 * within max, transport_limit deliveries of that transport and dest_limit
 * to that destination (0 = no limit). Destinations compare without case. */
bool	 qmgr_sched_may_start(const struct qmgr_sched *, const char *transport,
	    const char *dest, size_t transport_limit, size_t dest_limit);
/* qmgr_sched_start - count one more delivery in flight (the caller asked
 * qmgr_sched_may_start first) */
void	 qmgr_sched_start(struct qmgr_sched *, const char *transport, const char *dest);
/* qmgr_sched_done - one delivery of transport to dest is over; false when
 * none was counted (a bug in the caller) */
bool	 qmgr_sched_done(struct qmgr_sched *, const char *transport, const char *dest);
/* qmgr_sched_count - deliveries in flight of transport (and to dest, when
 * not NULL) */
size_t	 qmgr_sched_count(const struct qmgr_sched *, const char *transport, const char *dest);

#endif
