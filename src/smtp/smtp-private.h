/* smtp-private.h - what the files of src/smtp share: the settings read
 * once by the client process, one delivery (its targets and its session),
 * and the calls between address resolution (smtp_addr.c), the protocol
 * (smtp_session.c) and the helper process (smtp_helper.c). */
#ifndef YUBIN_SMTP_PRIVATE_H
#define YUBIN_SMTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "dns/dns.h"
#include "qmgr/transport.h"
#include "smtp/smtp_reply.h"

struct event_base;
struct bufferevent;
struct event;
struct maincf;
struct maps;

enum smtp_tls_level {
	SMTP_TLS_NONE,
	SMTP_TLS_MAY,
	SMTP_TLS_ENCRYPT,
	SMTP_TLS_VERIFY,
	SMTP_TLS_SECURE,
};

/* The settings of one protocol ("smtp" or "lmtp" prefix), read once. */
struct smtp_settings {
	bool		 lmtp;
	long		 connect_timeout, helo_timeout, mail_timeout, rcpt_timeout;
	long		 data_init_timeout, data_xfer_timeout, data_done_timeout;
	long		 quit_timeout, starttls_timeout;
	char		*helo_name;		/* owned */
	char		*myhostname;		/* owned */
	unsigned	 port;			/* smtp_tcp_port / lmtp_tcp_port */
	long		 mx_address_limit, mx_session_limit;
	bool		 skip_5xx_greeting;
	bool		 ipv4, ipv6;
	enum smtp_tls_level tls_level;
	SSL_CTX		*ssl_ctx;		/* owned; NULL without TLS */
	bool		 sasl_enable;
	struct maps	*sasl_maps;		/* owned; NULL: none */
	bool		 sasl_noplaintext, sasl_tls_noplaintext;
	bool		 disable_dns;		/* disable_dns_lookups / smtp_host_lookup */
	bool		 cache_on_demand;	/* smtp_connection_cache_on_demand */
	long		 cache_time_limit, reuse_time_limit;
	struct strvec	 own_addrs;		/* inet_interfaces/proxy_interfaces addresses */
	struct strvec	 fallback;		/* smtp_fallback_relay items */
};

int	 smtp_settings_load(struct smtp_settings *, struct maincf *, bool lmtp,
	    const char **error_r);
void	 smtp_settings_deinit(struct smtp_settings *);

/* One server to try. */
struct smtp_target {
	char		*host;		/* owned: name for logs and TLS ("mx1.example.com") */
	char		 addr[46];	/* "192.0.2.1", or the unix socket path's "" */
	int		 family;	/* AF_INET, AF_INET6, AF_UNIX */
	unsigned	 port;
	char		*path;		/* owned: AF_UNIX only */
};

/* A parsed nexthop. */
struct smtp_nexthop {
	char		*host;		/* owned: domain or host, without [] */
	unsigned	 port;
	bool		 no_mx;		/* [host]: no MX lookup */
	bool		 is_unix;	/* lmtp unix:path */
};

/* smtp_nexthop_parse - "[host]:port", "[host]", "host:port", "host" (smtp;
 * default port def_port), and for lmtp also "unix:/path", "inet:host:port".
 * 0, or -1 with *error_r */
int	 smtp_nexthop_parse(const char *nexthop, bool lmtp, unsigned def_port,
	    struct smtp_nexthop *out, const char **error_r);
void	 smtp_nexthop_deinit(struct smtp_nexthop *);

struct smtp_delivery;

/* smtp_addr_resolve - find the delivery's targets (DNS when needed) and
 * then call smtp_session_begin, or smtp_delivery_result with the failure */
void	 smtp_addr_resolve(struct smtp_delivery *);
void	 smtp_addr_cancel(struct smtp_delivery *);
/* smtp_addr_fallback - every target failed softly: resolve
 * smtp_fallback_relay (once) and go on with its hosts; false when there
 * is none to try */
bool	 smtp_addr_fallback(struct smtp_delivery *);

/* The protocol, target by target. smtp_session_init - the delivery's
 * timer; smtp_session_quitting - the outcome is reported and the session
 * is ending with QUIT (released after it) */
void	 smtp_session_init(struct smtp_delivery *);
bool	 smtp_session_quitting(const struct smtp_delivery *);
void	 smtp_session_begin(struct smtp_delivery *);
void	 smtp_session_close(struct smtp_delivery *);
/* smtp_session_mail - start the transaction on a ready session (one
 * taken from the connection cache) */
void	 smtp_session_mail(struct smtp_delivery *);
/* smtp_session_detach - the connection has been handed to the cache:
 * forget it without closing it */
void	 smtp_session_detach(struct smtp_delivery *);
/* The connection cache (smtp_cache.c): after a delivered message the
 * session waits, idle, up to $smtp_connection_cache_time_limit for the
 * next delivery to the same nexthop. smtp_cache_put - move d's session
 * into the cache (true) or leave it (false); smtp_cache_take - adopt a
 * cached session for d's nexthop (true) */
bool	 smtp_cache_put(struct smtp_delivery *);
bool	 smtp_cache_take(struct smtp_delivery *);
void	 smtp_cache_flush(void);
/* smtp_session_attach - (re)install the callbacks on d->bev */
void	 smtp_session_attach(struct smtp_delivery *);

/* One delivery request, from the queue manager to the outcome. */
struct smtp_delivery {
	/* the request */
	const struct smtp_settings *set;	/* borrowed */
	struct event_base	*base;		/* borrowed */
	struct dns_resolver	*dns;		/* borrowed */
	char			*queue_id;	/* owned */
	char			*sender;	/* owned; "" = <> */
	char			*rcpt;		/* owned */
	char			*nexthop;	/* owned, as routed ("[relay]:587") */
	struct smtp_nexthop	 nh;		/* owned */
	struct str		 content;	/* owned: the message as queued */
	bool			 eightbit, utf8;
	int			 notify;	/* QFILE_NOTIFY_*, 0: none given */
	char			*dsn_ret;	/* owned: RET= value, or NULL */
	char			*dsn_envid;	/* owned: ENVID= value (xtext), or NULL */

	/* targets */
	struct smtp_target	*t;		/* owned */
	size_t			 nt, cur;
	size_t			 sessions;	/* that reached a greeting */
	struct dns_query	*q;		/* pending lookup, or NULL */
	struct smtp_mx		*mx;		/* owned: MX hosts being resolved */
	size_t			 nmx, mx_pending;
	bool			 in_fallback;	/* smtp_fallback_relay was resolved */

	/* the session with t[cur] */
	struct bufferevent	*bev;		/* owned */
	struct event		*timer;		/* owned */
	int			 state;		/* smtp_session.c's */
	const char		*phase;		/* "while ..." for timeouts and losses */
	struct smtp_reply	 reply;
	struct smtp_ehlo	 ehlo;
	bool			 tls_active, no_tls;	/* no_tls: the may-fallback retry */
	int			 replies_due;	/* pipelined replies still to read */
	bool			 mail_ok, rcpt_ok;
	struct str		 rcpt_error;	/* reason from a rejected RCPT */
	char			 rcpt_status[TRANSPORT_DSN_STATUS_SIZE];
	int			 rcpt_class;	/* 4 or 5 */
	char			*sasl_user, *sasl_pass;	/* owned */
	double			 t_start, t_conn;
	double			 conn_born;	/* when the connection was made */
	bool			 reused;	/* the session came from the cache */
	unsigned		 conn_use;	/* deliveries on this connection, this one included */

	/* the outcome */
	bool			 finished;
	enum transport_status	 status;
	struct transport_dsn	 dsn;
	bool			 have_soft;	/* a deferral reason to fall back on */
	struct transport_dsn	 soft;
	bool			 released;
	void			(*report)(struct smtp_delivery *);	/* the helper's */
	void			*owner;
};

/* smtp_delivery_result - the outcome is known: report it to the queue
 * manager (once); the delivery is freed from the loop once its session
 * has ended (after QUIT, or at once) */
void	 smtp_delivery_result(struct smtp_delivery *, enum transport_status,
	    const char *status, const char *relay, const char *reason);
/* smtp_delivery_next - this target failed softly: remember the reason
 * and try the next target (or, for a cached session, start over) */
void	 smtp_delivery_next(struct smtp_delivery *, const char *status, const char *reason);
/* smtp_relay_name - "host[addr]:port" of the current target */
void	 smtp_relay_name(const struct smtp_delivery *, char *buf, size_t size);

#endif
