/* qmgr.h - the queue manager: moves mail from incoming to active, hands
 * each recipient to its transport (transport.h), defers with back-off,
 * expires, removes, and recovers active/ after a crash. The routing and
 * retry rules are pure functions, so the unit tests need no queue or clock. */
#ifndef YUBIN_QMGR_H
#define YUBIN_QMGR_H

#include <stdbool.h>

struct maincf;
struct str;

/* qmgr_route - the transport and nexthop of a recipient: mydestination ->
 * local_transport, virtual_mailbox_domains -> virtual_transport,
 * relay_domains -> relay_transport, else
 * default_transport (transport_maps come with the lookup tables). A
 * "transport:nexthop" value is split; an empty nexthop becomes the
 * recipient's domain, as Postfix's resolver does. 0, or -1 with *error_r
 * on a configuration error (defer, do not bounce). */
int	 qmgr_route(struct maincf *, const char *rcpt, struct str *transport,
	    struct str *nexthop, const char **error_r);

/* qmgr_backoff - seconds until the next attempt of a message that arrived
 * at arrival and failed at now: its age, kept between minimal_backoff_time
 * and maximal_backoff_time, so that the interval doubles with each attempt
 * (Postfix's rule) */
long	 qmgr_backoff(long arrival, long now, long min_backoff, long max_backoff);

/* qmgr_expired - the message has been queued longer than lifetime (the
 * caller passes bounce_queue_lifetime for mail from <>) */
bool	 qmgr_expired(long arrival, long now, long lifetime);

/* qmgr_format_delay - a delay as Postfix logs it: "0.12", "1.5", "0", "12" */
void	 qmgr_format_delay(struct str *out, double seconds);

/* qmgr_main - "yubin qmgr ..." as the master starts it */
int	 qmgr_main(int argc, char **argv);

#endif
