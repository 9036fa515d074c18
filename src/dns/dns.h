/* dns.h - asynchronous DNS lookups (MX, A, AAAA, TXT, PTR) for the
 * daemons' libevent loops, on c-ares, with a cache that honours TTLs.
 *
 * A resolver belongs to one event_base. dns_lookup() never blocks and
 * never calls back before it returns: a cached answer is delivered from
 * the loop too, so a caller may start a lookup in the middle of its own
 * state change. The resolver's servers come from yubin_dns_servers
 * ("127.0.0.1:5353, [::1]:53"; empty: /etc/resolv.conf).
 *
 * Results are three-way, as Postfix's dns_lookup: found, not found
 * (NXDOMAIN or no record of that type), or a temporary failure (timeout,
 * SERVFAIL, a malformed answer): callers defer on the last, never treat
 * it as "not found". Answers are parsed by c-ares (ares_parse_*); the TTLs
 * come from dns_answer_ttl, this module's own walk over the answer, which
 * fuzz/fuzz_dns_answer.c exercises with the conversion.
 * Tests: tests/unit/dns/test_dns.c, tests/e2e/test_dns.py */
#ifndef YUBIN_DNS_H
#define YUBIN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

enum dns_type {
	DNS_T_A,
	DNS_T_AAAA,
	DNS_T_MX,
	DNS_T_TXT,
	DNS_T_PTR,
};

enum dns_status {
	DNS_OK,			/* one or more records */
	DNS_NOTFOUND,		/* NXDOMAIN, or no record of this type */
	DNS_TEMPFAIL,		/* try again later */
};

/* One record. MX: pref and name (the exchange). A/AAAA: addr (text) and
 * family. TXT: name holds the text (strings of one record joined). PTR:
 * name. */
struct dns_rr {
	char		*name;		/* owned; NULL for A/AAAA */
	uint16_t	 pref;
	int		 family;	/* AF_INET, AF_INET6, or 0 */
	char		 addr[46];	/* INET6_ADDRSTRLEN */
};

#define DNS_ERROR_SIZE	128

struct dns_result {
	enum dns_status	 status;
	enum dns_type	 type;
	struct dns_rr	*rr;		/* owned */
	size_t		 n;
	uint32_t	 ttl;		/* seconds the answer may be cached */
	char		 error[DNS_ERROR_SIZE];	/* why, for NOTFOUND/TEMPFAIL */
};

void	 dns_result_deinit(struct dns_result *);
void	 dns_result_copy(struct dns_result *dst, const struct dns_result *src);

/* dns_type_name - "MX", "A", ... */
const char *dns_type_name(enum dns_type);
/* dns_type_parse - from "MX" etc. (any case); false when unknown */
bool	 dns_type_parse(const char *s, enum dns_type *type_r);

/* dns_answer_ttl - walk a raw DNS message (the answer c-ares received):
 * the smallest TTL of the answer records of qtype (or CNAME) when there
 * are any, else the negative-caching TTL of an SOA in the authority
 * section (min of its TTL and its MINIMUM field), else 0. -1 when the
 * message is malformed (a length runs past the end). Names are skipped,
 * never followed, so no compression pointer can make it loop. */
long	 dns_answer_ttl(const unsigned char *buf, size_t len, uint16_t qtype);

/* dns_answer_convert - a raw answer into a result (ares_parse_* for the
 * records, dns_answer_ttl for the TTL). Fills res_r in every case. */
void	 dns_answer_convert(enum dns_type, const unsigned char *buf, size_t len,
	    struct dns_result *res_r);

struct dns_resolver;
struct dns_query;

/* dns_callback_fn - the result is the module's, valid during the call */
typedef void dns_callback_fn(const struct dns_result *, void *ctx);

/* dns_resolver_new - servers: yubin_dns_servers' value (NULL or empty =
 * the system's resolv.conf). NULL with *error_r on a bad server list. */
struct dns_resolver *dns_resolver_new(struct event_base *, const char *servers,
	    const char **error_r);
/* dns_resolver_free - pending lookups are cancelled: their callbacks are
 * never called */
void	 dns_resolver_free(struct dns_resolver **);

/* dns_lookup - start a lookup; the callback runs once, from the loop,
 * unless dns_cancel() is called first. The handle is valid until the
 * callback has run or dns_cancel() returned. */
struct dns_query *dns_lookup(struct dns_resolver *, const char *name, enum dns_type,
	    dns_callback_fn *, void *ctx);
/* dns_cancel - forget a pending lookup (NULL-safe, clears *q) */
void	 dns_cancel(struct dns_query **q);

/* dns_reverse_name - the in-addr.arpa / ip6.arpa name of an address
 * (text); false when it is not an address */
bool	 dns_reverse_name(const char *addr, char *out, size_t outlen);

/* dns_cache_entries - the number of cached answers (tests) */
size_t	 dns_cache_entries(const struct dns_resolver *);

#endif
