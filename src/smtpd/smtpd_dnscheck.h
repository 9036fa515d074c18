/* smtpd_dnscheck.h - smtpd's restrictions that need DNS answers:
 * reject_rbl_client, reject_rhsbl_client/_sender/_recipient (with
 * "domain=127.0.0.2" result filters), reject_unknown_client_hostname,
 * reject_unknown_reverse_client_hostname, reject_unknown_sender_domain,
 * reject_unknown_recipient_domain.
 *
 * The restriction lists are evaluated as a pure function of the session
 * and of the DNS answers gathered so far (struct smtpd_dns_answers). When
 * an evaluation needs an answer it does not have, it stops with
 * SMTPD_CHECK_PENDING and names the lookup; the session (smtpd_cmd.c)
 * starts it on the asynchronous resolver, reads no further input, and
 * evaluates again when the answer is in. So smtpd never blocks on DNS, and
 * a lookup that fails gives a 4xx reply, never a silent pass.
 * Tests: tests/unit/smtpd/test_smtpd_dnscheck.c, tests/e2e/test_smtpd_dns.py */
#ifndef YUBIN_SMTPD_DNSCHECK_H
#define YUBIN_SMTPD_DNSCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/dns.h"

struct str;
struct smtpd_check_ctx;

#define SMTPD_CHECK_PENDING	2
/* An evaluation may gather at most this many answers (a bound on the
 * lookups one command can cause). */
#define SMTPD_DNS_ANSWERS_MAX	40

struct smtpd_dns_answers;

struct smtpd_dns_answers *smtpd_dns_answers_new(void);
void	 smtpd_dns_answers_free(struct smtpd_dns_answers **);
/* smtpd_dns_answers_wanted - the lookup the last evaluation stopped for */
bool	 smtpd_dns_answers_wanted(const struct smtpd_dns_answers *, const char **name_r,
	    enum dns_type *type_r);
/* smtpd_dns_answers_put - store an answer (a copy) */
void	 smtpd_dns_answers_put(struct smtpd_dns_answers *, const char *name, enum dns_type,
	    const struct dns_result *);

/* smtpd_dns_answers_count - answers gathered (bounded by the caller) */
size_t	 smtpd_dns_answers_count(const struct smtpd_dns_answers *);

/* The reply codes the checks use (from main.cf). */
struct smtpd_dnscheck_codes {
	long	 rbl;			/* maps_rbl_reject_code */
	long	 unknown_address;	/* unknown_address_reject_code */
	long	 unknown_client;	/* unknown_client_reject_code */
};

/* smtpd_dnscheck_is - r is one of the restrictions of this module */
bool	 smtpd_dnscheck_is(const char *r);

/* smtpd_dnscheck - evaluate restriction r (with its argument, when it
 * takes one): 0 no decision, -1 refused with reply,
 * SMTPD_CHECK_PENDING an answer is needed. rcpt_is_local: the recipient
 * domain is ours (1), not (0), unknown (-1). */
int	 smtpd_dnscheck(const char *r, const char *arg, const struct smtpd_check_ctx *ctx,
	    const struct smtpd_dnscheck_codes *, int rcpt_is_local, struct str *reply);

/* smtpd_rbl_filter_match - an A record of a DNSBL answer matches the
 * filter of "domain=filter" (NULL: any 127.0.0.0/8 address): octets are
 * numbers, "[a..b]" ranges or "[a;b;c]" lists */
bool	 smtpd_rbl_filter_match(const char *filter, const char *addr);

#endif
