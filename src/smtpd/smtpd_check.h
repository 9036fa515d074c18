/* smtpd_check.h - Postfix's SMTP access restrictions.
 *
 * smtpd_client_restrictions, smtpd_helo_restrictions,
 * smtpd_sender_restrictions, smtpd_relay_restrictions and
 * smtpd_recipient_restrictions, evaluated in that order at RCPT time (as
 * Postfix with smtpd_delay_reject = yes). In each list the first
 * restriction that decides wins: a permit ends that list only, a reject or
 * defer ends the whole evaluation. The result is a complete SMTP reply. */
#ifndef YUBIN_SMTPD_CHECK_H
#define YUBIN_SMTPD_CHECK_H

#include <stdbool.h>

struct maincf;
struct str;
struct smtpd_checks;
struct smtpd_dns_answers;

/* What the restrictions see of the session. */
struct smtpd_check_ctx {
	const char	*addr;		/* client address */
	const char	*name;		/* client name, "unknown" */
	const char	*namaddr;	/* "name[addr]" */
	const char	*helo;		/* NULL: none */
	const char	*sender;	/* NULL: no MAIL yet; "" for <> */
	const char	*rcpt;		/* NULL: not at RCPT */
	bool		 sasl_authenticated;
	struct smtpd_dns_answers *dns;	/* borrowed: the answers so far; NULL:
					 * no resolver (DNS restrictions are
					 * skipped with a warning) */
};

enum smtpd_check_list {
	SMTPD_CHECK_CLIENT,
	SMTPD_CHECK_HELO,
	SMTPD_CHECK_SENDER,
	SMTPD_CHECK_RELAY,
	SMTPD_CHECK_RECIPIENT,
	SMTPD_CHECK_NLISTS,
};

/* smtpd_checks_new - read the lists, mynetworks, mydestination,
 * relay_domains and the reply codes from main.cf. NULL with *error_r
 * (owned by the caller: free it) for a configuration Postfix refuses, above
 * all one without any relay control (an open relay). */
struct smtpd_checks *smtpd_checks_new(struct maincf *, char **error_r);
void	 smtpd_checks_free(struct smtpd_checks **);

/* smtpd_check_rcpt - every list, for one recipient. 0: accepted; 1:
 * refused, with the reply ("554 5.7.1 <x@y>: Relay access denied") in
 * reply (reset first); 2 (SMTPD_CHECK_PENDING): a DNS answer is needed
 * first (smtpd_dnscheck.h says which; evaluate again once it is in). */
int	 smtpd_check_rcpt(struct smtpd_checks *, const struct smtpd_check_ctx *, struct str *reply);
/* smtpd_check_list - one list (for tests and smtpd_delay_reject = no):
 * 1 permit, 0 no decision, -1 refused with reply */
int	 smtpd_check_list(struct smtpd_checks *, enum smtpd_check_list,
	    const struct smtpd_check_ctx *, struct str *reply);
/* smtpd_check_mynetworks - 1 the client is in mynetworks, 0 not, -1 the
 * list could not be consulted */
int	 smtpd_check_mynetworks(struct smtpd_checks *, const char *addr, const char *name);
/* smtpd_check_is_local - 1 a domain this host accepts mail for
 * (mydestination, relay_domains, virtual domains, its own [address]), 0
 * not, -1 a table could not be consulted */
int	 smtpd_check_is_local(struct smtpd_checks *, const char *domain);
/* smtpd_check_access_action - turn an access(5) table result ("OK",
 * "REJECT text", "450 text", "DUNNO", ...) into a decision like
 * smtpd_check_list's, for the name and class ("Recipient address") */
int	 smtpd_check_access_action(const char *action, const char *name, const char *class,
	    struct str *reply);

#endif
