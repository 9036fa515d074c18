/* smtpd_dnscheck.c - the DNS-based restrictions (smtpd_dnscheck.h). The
 * reply texts are Postfix's: "554 5.7.1 Service unavailable; Client host
 * [192.0.2.1] blocked using zen.example; reason", "450 4.1.8 <a@b>: Sender
 * address rejected: Domain not found", "450 4.7.25 Client host rejected:
 * cannot find your hostname, [192.0.2.1]". */
#include "smtpd/smtpd_dnscheck.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "mail/address.h"
#include "smtpd/smtpd_check.h"

struct smtpd_dns_answer {
	char			*name;		/* owned, lower case */
	enum dns_type		 type;
	struct dns_result	 res;		/* owned */
};

struct smtpd_dns_answers {
	struct smtpd_dns_answer	*v;		/* owned */
	size_t			 n;
	char			*want;		/* owned: the lookup needed, or NULL */
	enum dns_type		 want_type;
};

struct smtpd_dns_answers *
smtpd_dns_answers_new(void)
{
	return xcalloc(1, sizeof(struct smtpd_dns_answers));
}

void
smtpd_dns_answers_free(struct smtpd_dns_answers **ap)
{
	struct smtpd_dns_answers *a = *ap;
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->v[i].name);
		dns_result_deinit(&a->v[i].res);
	}
	free(a->v);
	free(a->want);
	free(a);
	*ap = NULL;
}

bool
smtpd_dns_answers_wanted(const struct smtpd_dns_answers *a, const char **name_r,
    enum dns_type *type_r)
{
	if (a->want == NULL)
		return false;
	*name_r = a->want;
	*type_r = a->want_type;
	return true;
}

size_t
smtpd_dns_answers_count(const struct smtpd_dns_answers *a)
{
	return a->n;
}

static char *
smtpd_dns_lower(const char *s)
{
	char *p = xstrdup(s), *q;

	for (q = p; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return p;
}

void
smtpd_dns_answers_put(struct smtpd_dns_answers *a, const char *name, enum dns_type type,
    const struct dns_result *res)
{
	struct smtpd_dns_answer *e;

	a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
	e = &a->v[a->n++];
	e->name = smtpd_dns_lower(name);
	e->type = type;
	dns_result_copy(&e->res, res);
	XFREE(a->want);
}

/* smtpd_dns_get - the answer for (name, type), or NULL after recording
 * it as wanted */
static const struct dns_result *
smtpd_dns_get(struct smtpd_dns_answers *a, const char *name, enum dns_type type)
{
	char *low = smtpd_dns_lower(name);
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->v[i].type == type && strcmp(a->v[i].name, low) == 0) {
			free(low);
			return &a->v[i].res;
		}
	free(a->want);
	a->want = low;
	a->want_type = type;
	return NULL;
}

bool
smtpd_dnscheck_is(const char *r)
{
	static const char *const names[] = {
		"reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_sender",
		"reject_rhsbl_recipient", "reject_unknown_client_hostname",
		"reject_unknown_reverse_client_hostname", "reject_unknown_sender_domain",
		"reject_unknown_recipient_domain", NULL,
	};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcasecmp(r, names[i]) == 0)
			return true;
	return false;
}

/* smtpd_rbl_octet - one octet pattern against a value; *p advances */
static bool
smtpd_rbl_octet(const char **pp, unsigned v, bool *ok_r)
{
	const char *p = *pp;
	char *end;
	unsigned long a, b;

	if (*p == '[') {
		bool match = false;

		p++;
		for (;;) {
			a = strtoul(p, &end, 10);
			if (end == p)
				return false;
			p = end;
			if (p[0] == '.' && p[1] == '.') {
				p += 2;
				b = strtoul(p, &end, 10);
				if (end == p)
					return false;
				p = end;
				if (v >= a && v <= b)
					match = true;
			} else if (v == a) {
				match = true;
			}
			if (*p == ';') {
				p++;
				continue;
			}
			if (*p != ']')
				return false;
			p++;
			break;
		}
		*ok_r = match;
	} else {
		a = strtoul(p, &end, 10);
		if (end == p)
			return false;
		p = end;
		*ok_r = a == v;
	}
	*pp = p;
	return true;
}

bool
smtpd_rbl_filter_match(const char *filter, const char *addr)
{
	unsigned char b[4];
	const char *p = filter;
	bool all = true, ok;
	int i;

	if (inet_pton(AF_INET, addr, b) != 1)
		return false;
	if (filter == NULL)
		return b[0] == 127;
	for (i = 0; i < 4; i++) {
		if (!smtpd_rbl_octet(&p, b[i], &ok))
			return false;
		all = all && ok;
		if (i < 3 && *p++ != '.')
			return false;
	}
	return *p == '\0' && all;
}

static int
smtpd_dns_reply(struct str *reply, long code, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
smtpd_dns_reply(struct str *reply, long code, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	str_reset(reply);
	str_appendf(reply, "%ld %s ", code, dsn);
	va_start(ap, fmt);
	str_vappendf(reply, fmt, ap);
	va_end(ap);
	return -1;
}

/* smtpd_dnsbl - is "query" listed in the list of arg ("domain[=filter]")?
 * The reply when it is: "$code 5.7.1 Service unavailable; $class
 * [$what] blocked using $domain[; $txt]" */
static int
smtpd_dnsbl(struct smtpd_dns_answers *a, const char *prefix, const char *arg,
    const char *class, const char *what, long code, struct str *reply)
{
	const struct dns_result *res, *txt;
	const char *eq = strchr(arg, '='), *filter = eq != NULL ? eq + 1 : NULL;
	char *domain = eq != NULL ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
	char *query = xasprintf("%s.%s", prefix, domain);
	size_t i;
	int rc = 0;
	bool listed = false;

	if ((res = smtpd_dns_get(a, query, DNS_T_A)) == NULL) {
		rc = SMTPD_CHECK_PENDING;
		goto out;
	}
	if (res->status == DNS_TEMPFAIL) {
		rc = smtpd_dns_reply(reply, 451, "4.3.0", "<%s>: %s rejected: Temporary lookup failure "
		    "(%s)", what, class, domain);
		goto out;
	}
	for (i = 0; i < res->n && !listed; i++)
		listed = smtpd_rbl_filter_match(filter, res->rr[i].addr);
	if (!listed)
		goto out;
	if ((txt = smtpd_dns_get(a, query, DNS_T_TXT)) == NULL) {
		rc = SMTPD_CHECK_PENDING;
		goto out;
	}
	str_reset(reply);
	str_appendf(reply, "%ld 5.7.1 Service unavailable; %s [%s] blocked using %s", code, class,
	    what, domain);
	if (txt->status == DNS_OK && txt->n > 0 && txt->rr[0].name != NULL) {
		str_append(reply, "; ");
		/* the list's text, printable and short */
		for (i = 0; txt->rr[0].name[i] != '\0' && i < 200; i++) {
			char ch = txt->rr[0].name[i];

			str_append_c(reply, ch < ' ' || ch > '~' ? '?' : ch);
		}
	}
	rc = -1;
out:
	free(query);
	free(domain);
	return rc;
}

/* smtpd_domain_exists - 1 the domain has an MX or an address record, 0
 * not, -1 lookup failure, SMTPD_CHECK_PENDING */
static int
smtpd_domain_exists(struct smtpd_dns_answers *a, const char *domain)
{
	const struct dns_result *mx, *a4;

	if ((mx = smtpd_dns_get(a, domain, DNS_T_MX)) == NULL)
		return SMTPD_CHECK_PENDING;
	if (mx->status == DNS_OK)
		return 1;
	if (mx->status == DNS_TEMPFAIL)
		return -1;
	if ((a4 = smtpd_dns_get(a, domain, DNS_T_A)) == NULL)
		return SMTPD_CHECK_PENDING;
	if (a4->status == DNS_OK)
		return 1;
	if (a4->status == DNS_TEMPFAIL)
		return -1;
	return 0;
}

/* smtpd_client_hostname - the client's verified name: 1 (the PTR name's
 * addresses include the client's), 0 none, -1 failure, or pending. With
 * reverse_only, a PTR record is enough. */
static int
smtpd_client_hostname(struct smtpd_dns_answers *a, const char *addr, bool reverse_only)
{
	char rev[80];
	const struct dns_result *ptr, *fwd;
	enum dns_type t = strchr(addr, ':') != NULL ? DNS_T_AAAA : DNS_T_A;
	size_t i, k;
	bool any_tempfail = false;

	if (!dns_reverse_name(addr, rev, sizeof(rev)))
		return 0;
	if ((ptr = smtpd_dns_get(a, rev, DNS_T_PTR)) == NULL)
		return SMTPD_CHECK_PENDING;
	if (ptr->status == DNS_TEMPFAIL)
		return -1;
	if (ptr->status != DNS_OK)
		return 0;
	if (reverse_only)
		return 1;
	for (i = 0; i < ptr->n && i < 4; i++) {
		if ((fwd = smtpd_dns_get(a, ptr->rr[i].name, t)) == NULL)
			return SMTPD_CHECK_PENDING;
		if (fwd->status == DNS_TEMPFAIL)
			any_tempfail = true;
		for (k = 0; k < fwd->n; k++) {
			unsigned char x[16], y[16];

			if (inet_pton(t == DNS_T_A ? AF_INET : AF_INET6, fwd->rr[k].addr, x) == 1 &&
			    inet_pton(t == DNS_T_A ? AF_INET : AF_INET6, addr, y) == 1 &&
			    memcmp(x, y, t == DNS_T_A ? 4 : 16) == 0)
				return 1;
		}
	}
	return any_tempfail ? -1 : 0;
}

int
smtpd_dnscheck(const char *r, const char *arg, const struct smtpd_check_ctx *ctx,
    const struct smtpd_dnscheck_codes *codes, int rcpt_is_local, struct str *reply)
{
	struct smtpd_dns_answers *a = ctx->dns;
	const char *dom;
	char rev[80];
	int m;

	if (strcasecmp(r, "reject_rbl_client") == 0) {
		size_t n;

		if (!dns_reverse_name(ctx->addr, rev, sizeof(rev)))
			return 0;
		/* the reversed address, without in-addr.arpa / ip6.arpa */
		n = strlen(rev);
		rev[n - (strstr(rev, "in-addr.arpa") != NULL ? strlen(".in-addr.arpa") :
		    strlen(".ip6.arpa"))] = '\0';
		return smtpd_dnsbl(a, rev, arg, "Client host", ctx->addr, codes->rbl, reply);
	}
	if (strcasecmp(r, "reject_rhsbl_client") == 0) {
		if (ctx->name == NULL || strcmp(ctx->name, "unknown") == 0)
			return 0;
		return smtpd_dnsbl(a, ctx->name, arg, "Client host", ctx->name, codes->rbl, reply);
	}
	if (strcasecmp(r, "reject_rhsbl_sender") == 0 || strcasecmp(r, "reject_rhsbl_recipient") == 0) {
		bool sender = tolower((unsigned char)r[13]) == 's';
		const char *addr = sender ? ctx->sender : ctx->rcpt;

		if (addr == NULL || *addr == '\0' || (dom = address_domain(addr)) == NULL ||
		    *dom == '\0' || *dom == '[')
			return 0;
		return smtpd_dnsbl(a, dom, arg, sender ? "Sender address" : "Recipient address", dom,
		    codes->rbl, reply);
	}
	if (strcasecmp(r, "reject_unknown_sender_domain") == 0 ||
	    strcasecmp(r, "reject_unknown_recipient_domain") == 0) {
		bool sender = tolower((unsigned char)r[15]) == 's';
		const char *addr = sender ? ctx->sender : ctx->rcpt;

		if (addr == NULL || *addr == '\0' || (dom = address_domain(addr)) == NULL ||
		    *dom == '\0' || *dom == '[')
			return 0;
		if (!sender && rcpt_is_local == 1)
			return 0;	/* we are its final destination */
		m = smtpd_domain_exists(a, dom);
		if (m == SMTPD_CHECK_PENDING || m == 1)
			return m == 1 ? 0 : m;
		/* not found, or the lookup failed: 4xx either way for a failure */
		return smtpd_dns_reply(reply, m < 0 ? 450 : codes->unknown_address,
		    sender ? "4.1.8" : "4.1.2", "<%s>: %s address rejected: Domain not found", addr,
		    sender ? "Sender" : "Recipient");
	}
	if (strcasecmp(r, "reject_unknown_client_hostname") == 0 ||
	    strcasecmp(r, "reject_unknown_reverse_client_hostname") == 0) {
		bool reverse = strcasecmp(r, "reject_unknown_reverse_client_hostname") == 0;

		m = smtpd_client_hostname(a, ctx->addr, reverse);
		if (m == SMTPD_CHECK_PENDING || m == 1)
			return m == 1 ? 0 : m;
		return smtpd_dns_reply(reply, m < 0 ? 450 : codes->unknown_client, "4.7.25",
		    "Client host rejected: cannot find your %shostname, [%s]", reverse ? "reverse " : "",
		    ctx->addr);
	}
	return 0;
}
