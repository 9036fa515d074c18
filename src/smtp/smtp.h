/* smtp.h - the smtp(8) and lmtp(8) client transports of the queue manager
 * (qmgr/transport.h).
 *
 * Where it runs: one helper process that the queue manager forks (as
 * mail_owner, before its fsync threads start) runs a libevent loop with
 * the asynchronous resolver (src/dns) and every outbound SMTP/LMTP session
 * at once. The queue manager talks to it over one socketpair per "slot";
 * a slot carries one delivery request at a time, so the transport
 * interface's agent = slot and its descriptor = the slot's socket, exactly
 * as for local(8)'s helpers. A crash of the client loses no mail: the
 * queue manager sees end of file, defers the recipients in flight and is
 * restarted by the master with a new helper.
 *
 * One request = one recipient of one message (the queue manager's unit),
 * delivered on its own connection: MX/A/AAAA lookup (or the nexthop's
 * [host]:port, or lmtp's unix:/inet: address), connect, EHLO/LHLO,
 * STARTTLS per smtp_tls_security_level, AUTH per smtp_sasl_*, MAIL, RCPT,
 * DATA (pipelined when offered), QUIT. The outcome is Postfix's: 2xx sent,
 * 4xx and connection trouble deferred, 5xx bounced with the server's text.
 * Tests: tests/unit/smtp/, tests/e2e/test_smtp_client.py */
#ifndef YUBIN_SMTP_H
#define YUBIN_SMTP_H

#include <stddef.h>

#include "qmgr/transport.h"

struct maincf;
struct mastercf;
struct skeleton;

/* smtp_helper_start - fork the client process with n slots (at least
 * one); it logs as $syslog_name/smtp. 0, or -1 with *error_r. */
int	 smtp_helper_start(struct maincf *, const struct skeleton *, size_t n,
	    const char **error_r);
/* smtp_helper_agents - slots (0: the helper was not started) */
size_t	 smtp_helper_agents(void);
/* smtp_helper_stop - close the slots; the helper finishes what it has
 * in hand and exits */
void	 smtp_helper_stop(void);

/* The transports (registered in qmgr/transport.c). */
enum transport_status smtp_transport_deliver(const struct transport_request *,
	    struct transport_dsn *);
int	 smtp_transport_start(const struct transport_request *, int *agent_r, int *fd_r);
int	 lmtp_transport_start(const struct transport_request *, int *agent_r, int *fd_r);
enum transport_status smtp_transport_finish(int agent, const struct transport_request *,
	    struct transport_dsn *);

#endif
