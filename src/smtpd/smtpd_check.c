/* smtpd_check.c - Postfix's SMTP access restrictions (see smtpd_check.h).
 *
 * Reply texts and codes are Postfix's: "554 5.7.1 <x@y>: Relay access
 * denied" (relay_domains_reject_code), "454 4.7.1" for
 * defer_unauth_destination, "504 5.5.2 <x>: Recipient address rejected:
 * need fully-qualified address", "554 5.7.1 <x>: Sender address rejected:
 * Access denied" for a plain "reject". The restrictions that need DNS
 * answers are smtpd_dnscheck.c's; an evaluation that needs one stops with
 * SMTPD_CHECK_PENDING and runs again once the session has it. */
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mail/address.h"
#include "smtpd/smtpd_check.h"
#include "smtpd/smtpd_dnscheck.h"

/* A list of domains (mydestination, relay_domains): names, /file, tables. */
struct smtpd_domains {
	struct strvec	 names;		/* lowercase */
	struct maps	*maps;		/* owned, NULL when no table items */
	bool		 subdomains;	/* parent_domain_matches_subdomains */
};

struct smtpd_checks {
	struct strvec	 lists[SMTPD_CHECK_NLISTS];
	struct cidr_list *mynetworks;	/* owned */
	struct smtpd_domains mydest, relay, virt;
	struct strvec	 own_addrs;	/* [address] literals that are this host */
	long		 relay_code;	/* relay_domains_reject_code */
	long		 reject_code, defer_code, non_fqdn_code;
	struct maps	**access;	/* owned: check_*_access tables, by item */
	size_t		 naccess;
	/* smtpd_reject_unlisted_recipient: who exists (issue 4) */
	struct smtpd_domains vmbox;	/* virtual_mailbox_domains alone */
	struct maps	*local_rcpt;	/* owned: local_recipient_maps; NULL = any */
	struct maps	*vmbox_maps;	/* owned: virtual_mailbox_maps; NULL = none */
	char		*delim;		/* owned: recipient_delimiter */
	struct smtpd_dnscheck_codes dns_codes;
};

static const char *const smtpd_check_params[SMTPD_CHECK_NLISTS] = {
	"smtpd_client_restrictions",
	"smtpd_helo_restrictions",
	"smtpd_sender_restrictions",
	"smtpd_relay_restrictions",
	"smtpd_recipient_restrictions",
};

/* restrictions that take the next list item as their argument */
static bool
smtpd_check_takes_arg(const char *name)
{
	return strncasecmp(name, "check_", 6) == 0 || strncasecmp(name, "reject_rbl", 10) == 0 ||
	    strncasecmp(name, "reject_rhsbl", 12) == 0 || strcasecmp(name, "sleep") == 0 ||
	    strncasecmp(name, "permit_dnswl", 12) == 0 || strncasecmp(name, "permit_rhswl", 12) == 0;
}

static void
smtpd_domains_init(struct smtpd_domains *d, struct maincf *mc, const char *param, bool sub)
{
	struct strvec items;
	struct str v, tables, file;
	const char *err;
	size_t i;

	strvec_init(&d->names);
	d->maps = NULL;
	d->subdomains = sub;
	str_init(&v, 64);
	str_init(&tables, 64);
	str_init(&file, 256);
	strvec_init(&items);
	if (maincf_get(mc, param, &v, &err) == 0)
		maincf_list_split(v.s, &items);
	for (i = 0; i < items.n; i++) {
		const char *it = items.v[i];
		if (it[0] == '/') {
			/* a /file/name holds more names */
			if (file_read(it, 16 * 1024 * 1024, &file) == 0) {
				struct strvec more;
				size_t j;

				strvec_init(&more);
				maincf_list_split(file.s, &more);
				for (j = 0; j < more.n; j++)
					if (more.v[j][0] != '#')
						strvec_push(&items, more.v[j]);
				strvec_deinit(&more);
			} else
				log_warn("%s: cannot read %s", param, it);
		} else if (strchr(it, ':') != NULL && it[0] != '[') {
			if (tables.len > 0)
				str_append(&tables, ", ");
			str_append(&tables, it);
		} else {
			char *low = xstrdup(it);
			for (char *p = low; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			strvec_push_take(&d->names, low);
		}
	}
	if (tables.len > 0) {
		d->maps = maps_open(tables.s, MAPS_FLAG_DEFER_ERRORS, &err);
		if (d->maps == NULL)
			log_warn("%s: %s", param, err);
	}
	strvec_deinit(&items);
	str_deinit(&v);
	str_deinit(&tables);
	str_deinit(&file);
}

static void
smtpd_domains_deinit(struct smtpd_domains *d)
{
	strvec_deinit(&d->names);
	maps_free(&d->maps);
}

/* smtpd_domains_match - 1 / 0 / -1 (table error) */
static int
smtpd_domains_match(struct smtpd_domains *d, const char *domain)
{
	struct str val;
	const char *err, *p;
	size_t i, dl = strlen(domain), nl;
	int rc;

	for (i = 0; i < d->names.n; i++) {
		const char *n = d->names.v[i];
		if (strcasecmp(n, domain) == 0)
			return 1;
		nl = strlen(n);
		if (n[0] == '.' && dl > nl && strcasecmp(domain + dl - nl, n) == 0)
			return 1;
		if (d->subdomains && dl > nl && domain[dl - nl - 1] == '.' &&
		    strcasecmp(domain + dl - nl, n) == 0)
			return 1;
	}
	if (d->maps == NULL)
		return 0;
	str_init(&val, 32);
	rc = 0;
	for (p = domain; p != NULL && rc == 0; p = d->subdomains ? strchr(p + 1, '.') : NULL) {
		rc = maps_find(d->maps, p == domain ? p : p + 1, &val, &err);
		if (p != domain && rc == 0)
			rc = maps_find(d->maps, p, &val, &err);	/* ".example.com" */
	}
	if (rc < 0)
		log_warn("%s lookup error for \"%s\": %s", maps_title(d->maps), domain, err);
	str_deinit(&val);
	return rc;
}

/* smtpd_own_addrs - the addresses of this host's interfaces, for [addr]
 * destinations (Postfix's inet_interfaces/proxy_interfaces rule) */
static void
smtpd_own_addrs(struct strvec *out)
{
	struct ifaddrs *ifa0, *ifa;
	char host[NI_MAXHOST];

	if (getifaddrs(&ifa0) != 0)
		return;
	for (ifa = ifa0; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL)
			continue;
		if (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6)
			continue;
		if (getnameinfo(ifa->ifa_addr, ifa->ifa_addr->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6), host, sizeof(host),
		    NULL, 0, NI_NUMERICHOST) == 0) {
			char *pct = strchr(host, '%');
			if (pct != NULL)
				*pct = '\0';
			strvec_push(out, host);
		}
	}
	freeifaddrs(ifa0);
}

static long
smtpd_check_code(struct maincf *mc, const char *name, long def)
{
	const char *err;
	long v;

	if (maincf_raw(mc, name) == NULL || maincf_get_long(mc, name, &v, &err) < 0)
		return def;
	return v;
}

static bool
smtpd_check_is_relay_control(const char *name)
{
	static const char *const ok[] = { "reject_unauth_destination", "defer_unauth_destination",
		"reject", "defer", "defer_if_permit", "check_relay_domains", NULL };
	size_t i;

	for (i = 0; ok[i] != NULL; i++)
		if (strcasecmp(name, ok[i]) == 0)
			return true;
	return false;
}

struct smtpd_checks *
smtpd_checks_new(struct maincf *mc, char **error_r)
{
	struct smtpd_checks *c = xcalloc(1, sizeof(*c));
	struct str v;
	const char *err;
	struct strvec nets, parents;
	bool relay_control = false;
	size_t i, j;

	str_init(&v, 128);
	strvec_init(&parents);
	if (maincf_get(mc, "parent_domain_matches_subdomains", &v, &err) == 0)
		maincf_list_split(v.s, &parents);
	for (i = 0; i < SMTPD_CHECK_NLISTS; i++) {
		strvec_init(&c->lists[i]);
		if (maincf_get(mc, smtpd_check_params[i], &v, &err) < 0) {
			*error_r = xasprintf("%s: %s", smtpd_check_params[i], err);
			goto fail;
		}
		maincf_list_split(v.s, &c->lists[i]);
		if (i == SMTPD_CHECK_RELAY || i == SMTPD_CHECK_RECIPIENT)
			for (j = 0; j < c->lists[i].n; j++)
				if (smtpd_check_is_relay_control(c->lists[i].v[j]))
					relay_control = true;
	}
	/* Postfix refuses to run as an open relay; so do we */
	if (!relay_control) {
		*error_r = xstrdup("in parameter smtpd_relay_restrictions or "
		    "smtpd_recipient_restrictions, specify at least one working instance of: "
		    "reject_unauth_destination, defer_unauth_destination, reject, defer, "
		    "defer_if_permit or check_relay_domains");
		goto fail;
	}
	c->mynetworks = cidr_list_new(strvec_contains(&parents, "mynetworks"));
	strvec_init(&nets);
	if (maincf_get(mc, "mynetworks", &v, &err) == 0)
		maincf_list_split(v.s, &nets);
	for (i = 0; i < nets.n; i++) {
		if (cidr_list_add(c->mynetworks, nets.v[i], &err) < 0) {
			*error_r = xasprintf("mynetworks: %s: %s", nets.v[i], err);
			strvec_deinit(&nets);
			goto fail;
		}
	}
	strvec_deinit(&nets);
	smtpd_domains_init(&c->mydest, mc, "mydestination", false);
	smtpd_domains_init(&c->relay, mc, "relay_domains",
	    strvec_contains(&parents, "relay_domains"));
	smtpd_domains_init(&c->virt, mc, "virtual_alias_domains", false);
	{
		struct smtpd_domains vm;

		/* virtual mailbox domains count as ours, like alias domains */
		smtpd_domains_init(&vm, mc, "virtual_mailbox_domains", false);
		for (i = 0; i < vm.names.n; i++)
			strvec_push(&c->virt.names, vm.names.v[i]);
		if (c->virt.maps == NULL) {
			c->virt.maps = vm.maps;
			vm.maps = NULL;
		}
		smtpd_domains_deinit(&vm);
	}
	smtpd_domains_init(&c->vmbox, mc, "virtual_mailbox_domains", false);
	/* Postfix's default (proxy:unix:passwd.byname $alias_maps) applies
	 * when main.cf is silent: unknown local users are refused at RCPT,
	 * not bounced later. A table that cannot be opened defers (451), as
	 * in Postfix; "local_recipient_maps =" accepts everyone. */
	if (maincf_get(mc, "local_recipient_maps", &v, &err) == 0 && v.len > 0)
		c->local_rcpt = maps_open(v.s, MAPS_FLAG_DEFER_ERRORS, &err);
	if (maincf_get(mc, "virtual_mailbox_maps", &v, &err) == 0 && v.len > 0)
		c->vmbox_maps = maps_open(v.s, MAPS_FLAG_DEFER_ERRORS, &err);
	c->delim = xstrdup(maincf_get(mc, "recipient_delimiter", &v, &err) == 0 ? v.s : "");
	strvec_init(&c->own_addrs);
	smtpd_own_addrs(&c->own_addrs);
	c->relay_code = smtpd_check_code(mc, "relay_domains_reject_code", 554);
	c->reject_code = smtpd_check_code(mc, "reject_code", 554);
	c->defer_code = smtpd_check_code(mc, "defer_code", 450);
	c->non_fqdn_code = smtpd_check_code(mc, "non_fqdn_reject_code", 504);
	c->dns_codes.rbl = smtpd_check_code(mc, "maps_rbl_reject_code", 554);
	c->dns_codes.unknown_address = smtpd_check_code(mc, "unknown_address_reject_code", 450);
	c->dns_codes.unknown_client = smtpd_check_code(mc, "unknown_client_reject_code", 450);
	str_deinit(&v);
	strvec_deinit(&parents);
	return c;
fail:
	str_deinit(&v);
	strvec_deinit(&parents);
	smtpd_checks_free(&c);
	return NULL;
}

void
smtpd_checks_free(struct smtpd_checks **cp)
{
	struct smtpd_checks *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SMTPD_CHECK_NLISTS; i++)
		strvec_deinit(&c->lists[i]);
	cidr_list_free(&c->mynetworks);
	if (c->mydest.names.v != NULL || c->mydest.maps != NULL) {
		smtpd_domains_deinit(&c->mydest);
		smtpd_domains_deinit(&c->relay);
		smtpd_domains_deinit(&c->virt);
		smtpd_domains_deinit(&c->vmbox);
		strvec_deinit(&c->own_addrs);
	}
	maps_free(&c->local_rcpt);
	maps_free(&c->vmbox_maps);
	free(c->delim);
	for (i = 0; i < c->naccess; i++)
		maps_free(&c->access[i]);
	free(c->access);
	free(c);
	*cp = NULL;
}

int
smtpd_check_mynetworks(struct smtpd_checks *c, const char *addr, const char *name)
{
	return cidr_list_match(c->mynetworks, addr, name);
}

int
smtpd_check_is_local(struct smtpd_checks *c, const char *domain)
{
	char lit[128];
	size_t len;
	int rc;

	if (domain == NULL || *domain == '\0')
		return 1;	/* a bare local part: Postfix appends $myorigin */
	len = strlen(domain);
	if (domain[0] == '[' && len < sizeof(lit) && domain[len - 1] == ']') {
		const char *a = domain + 1;
		if (strncasecmp(a, "IPv6:", 5) == 0)
			a += 5;
		snprintf(lit, sizeof(lit), "%.*s", (int)(domain + len - 1 - a), a);
		return strvec_contains(&c->own_addrs, lit) ? 1 : 0;
	}
	if ((rc = smtpd_domains_match(&c->mydest, domain)) != 0)
		return rc;
	if ((rc = smtpd_domains_match(&c->virt, domain)) != 0)
		return rc;
	return smtpd_domains_match(&c->relay, domain);
}

/* smtpd_check_reply - a refusal in Postfix's words */
static int
smtpd_check_reply(struct str *reply, long code, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int
smtpd_check_reply(struct str *reply, long code, const char *dsn, const char *fmt, ...)
{
	va_list ap;
	char d[8];

	/* the DSN class follows the code (a 4xx code never carries 5.x.x) */
	snprintf(d, sizeof(d), "%s", dsn);
	d[0] = code >= 500 ? '5' : '4';
	str_reset(reply);
	str_appendf(reply, "%ld %s ", code, d);
	va_start(ap, fmt);
	str_vappendf(reply, fmt, ap);
	va_end(ap);
	return -1;
}

int
smtpd_check_access_action(const char *action, const char *name, const char *class,
    struct str *reply)
{
	const char *text;
	size_t wl = strcspn(action, " \t");

	text = action + wl;
	while (*text == ' ' || *text == '\t')
		text++;
	if ((wl == 2 && strncasecmp(action, "OK", 2) == 0) ||
	    (wl == 6 && strncasecmp(action, "PERMIT", 6) == 0) ||
	    (isdigit((unsigned char)action[0]) && wl == 3 && action[0] == '2'))
		return 1;
	if (wl == 5 && strncasecmp(action, "DUNNO", 5) == 0)
		return 0;
	if (wl == 6 && strncasecmp(action, "REJECT", 6) == 0)
		return smtpd_check_reply(reply, 554, "5.7.1", "<%s>: %s rejected: %s", name, class,
		    *text ? text : "Access denied");
	if (wl == 5 && strncasecmp(action, "DEFER", 5) == 0)
		return smtpd_check_reply(reply, 450, "4.7.1", "<%s>: %s rejected: %s", name, class,
		    *text ? text : "Access denied");
	if (wl == 3 && isdigit((unsigned char)action[0]) && isdigit((unsigned char)action[1]) &&
	    isdigit((unsigned char)action[2]) && (action[0] == '4' || action[0] == '5')) {
		char dsn[16] = "";
		long code = strtol(action, NULL, 10);

		/* "550 5.1.1 text": the table's own DSN code, else Postfix's default */
		if (isdigit((unsigned char)text[0]) && text[1] == '.' &&
		    strcspn(text, " \t") < sizeof(dsn) && text[0] == action[0]) {
			size_t n = strcspn(text, " \t");
			memcpy(dsn, text, n);
			dsn[n] = '\0';
			text += n;
			while (*text == ' ' || *text == '\t')
				text++;
		} else
			snprintf(dsn, sizeof(dsn), "%c.7.1", action[0]);
		str_reset(reply);
		str_appendf(reply, "%ld %s <%s>: %s rejected: %s", code, dsn, name, class,
		    *text ? text : "Access denied");
		return -1;
	}
	/* HOLD, DISCARD, FILTER, REDIRECT, PREPEND, WARN, INFO...: not yet */
	log_warn("access table action \"%.*s\" is not supported yet: ignored", (int)wl, action);
	return 0;
}

/* smtpd_check_not_active - restrictions that need what later issues bring */
static void
smtpd_check_not_active(const char *name)
{
	static struct strvec warned;

	if (strvec_contains(&warned, name))
		return;
	log_warn("restriction %s is not active yet in this yubin (it needs DNS lookups): it is "
	    "skipped, it does not permit", name);
	strvec_push(&warned, name);
}

/* smtpd_check_access - check_*_access TABLE */
static int
smtpd_check_access(struct smtpd_checks *c, const char *table, const char *key, bool is_addr,
    const char *name, const char *class, struct str *reply)
{
	struct maps_addr_opts opts = { MAPS_ADDR_ACCESS, MAPS_ADDR_PARENT, NULL };
	struct maps *m;
	struct str val;
	const char *err;
	int rc;

	if (key == NULL)
		return 0;
	m = maps_open(table, MAPS_FLAG_DEFER_ERRORS, &err);
	if (m == NULL) {
		log_warn("%s: %s", table, err);
		return smtpd_check_reply(reply, 451, "4.3.5", "Server configuration error");
	}
	str_init(&val, 64);
	if (is_addr)
		rc = maps_find_address(m, key, &opts, &val, NULL, &err);
	else
		rc = maps_find(m, key, &val, &err);
	if (rc < 0) {
		log_warn("%s lookup error for \"%s\": %s", table, key, err);
		rc = smtpd_check_reply(reply, 451, "4.3.0", "<%s>: %s rejected: Temporary lookup failure",
		    name, class);
	} else if (rc == 1)
		rc = smtpd_check_access_action(val.s, name, class, reply);
	str_deinit(&val);
	maps_free(&m);
	return rc;
}

int
smtpd_check_list(struct smtpd_checks *c, enum smtpd_check_list which,
    const struct smtpd_check_ctx *ctx, struct str *reply)
{
	const struct strvec *l = &c->lists[which];
	const char *name, *class, *arg, *dom;
	size_t i;
	int rc = 0, m;
	bool warn_only = false;

	switch (which) {
	case SMTPD_CHECK_CLIENT:
		name = ctx->namaddr, class = "Client host";
		break;
	case SMTPD_CHECK_HELO:
		name = ctx->helo ? ctx->helo : "", class = "Helo command";
		break;
	case SMTPD_CHECK_SENDER:
		name = ctx->sender ? ctx->sender : "", class = "Sender address";
		break;
	default:
		name = ctx->rcpt ? ctx->rcpt : "", class = "Recipient address";
		break;
	}
	for (i = 0; i < l->n && rc == 0; i++) {
		const char *r = l->v[i];
		arg = smtpd_check_takes_arg(r) && i + 1 < l->n ? l->v[i + 1] : NULL;
		if (smtpd_check_takes_arg(r) && arg == NULL) {
			log_warn("restriction %s needs an argument", r);
			return smtpd_check_reply(reply, 451, "4.3.5", "Server configuration error");
		}
		if (arg != NULL)
			i++;
		if (strcasecmp(r, "permit") == 0)
			rc = 1;
		else if (strcasecmp(r, "reject") == 0)
			rc = smtpd_check_reply(reply, c->reject_code, "5.7.1", "<%s>: %s rejected: Access denied",
			    name, class);
		else if (strcasecmp(r, "defer") == 0)
			rc = smtpd_check_reply(reply, c->defer_code, "4.7.1", "<%s>: %s rejected: Access denied",
			    name, class);
		else if (strcasecmp(r, "warn_if_reject") == 0) {
			warn_only = true;
			continue;
		} else if (strcasecmp(r, "permit_mynetworks") == 0) {
			m = cidr_list_match(c->mynetworks, ctx->addr, ctx->name);
			if (m < 0)
				rc = smtpd_check_reply(reply, 451, "4.3.0",
				    "<%s>: Temporary lookup failure", ctx->namaddr);
			else if (m == 1)
				rc = 1;
		} else if (strcasecmp(r, "permit_sasl_authenticated") == 0) {
			if (ctx->sasl_authenticated)
				rc = 1;
		} else if (strcasecmp(r, "reject_unauth_destination") == 0 ||
		    strcasecmp(r, "defer_unauth_destination") == 0 ||
		    strcasecmp(r, "permit_auth_destination") == 0 ||
		    strcasecmp(r, "check_relay_domains") == 0) {
			bool defer = tolower((unsigned char)r[0]) == 'd';
			bool permit = tolower((unsigned char)r[0]) == 'p';
			size_t llen;

			if (ctx->rcpt == NULL)
				continue;
			dom = address_domain(ctx->rcpt);
			m = smtpd_check_is_local(c, dom);
			/* sender-specified routing through a local domain is relaying too */
			llen = address_local_len(ctx->rcpt);
			if (m == 1 && dom != NULL && (memchr(ctx->rcpt, '@', llen) != NULL ||
			    memchr(ctx->rcpt, '!', llen) != NULL || memchr(ctx->rcpt, '%', llen) != NULL))
				m = 0;
			if (m < 0)
				rc = smtpd_check_reply(reply, 451, "4.3.0",
				    "<%s>: Recipient address rejected: Temporary lookup failure", ctx->rcpt);
			else if (m == 1 && permit)
				rc = 1;
			else if (m == 0 && !permit)
				rc = smtpd_check_reply(reply, defer ? 454 : c->relay_code,
				    defer ? "4.7.1" : "5.7.1", "<%s>: Relay access denied", ctx->rcpt);
		} else if (strcasecmp(r, "reject_non_fqdn_recipient") == 0) {
			if (ctx->rcpt != NULL && !address_is_fqdn(address_domain(ctx->rcpt)))
				rc = smtpd_check_reply(reply, c->non_fqdn_code, "5.5.2",
				    "<%s>: Recipient address rejected: need fully-qualified address",
				    ctx->rcpt);
		} else if (strcasecmp(r, "reject_non_fqdn_sender") == 0) {
			if (ctx->sender != NULL && *ctx->sender != '\0' &&
			    !address_is_fqdn(address_domain(ctx->sender)))
				rc = smtpd_check_reply(reply, c->non_fqdn_code, "5.5.2",
				    "<%s>: Sender address rejected: need fully-qualified address",
				    ctx->sender);
		} else if (strcasecmp(r, "reject_non_fqdn_helo_hostname") == 0 ||
		    strcasecmp(r, "reject_non_fqdn_hostname") == 0) {
			if (ctx->helo != NULL && !address_is_fqdn(ctx->helo))
				rc = smtpd_check_reply(reply, c->non_fqdn_code, "5.5.2",
				    "<%s>: Helo command rejected: need fully-qualified hostname",
				    ctx->helo);
		} else if (strcasecmp(r, "check_client_access") == 0) {
			rc = smtpd_check_access(c, arg, ctx->addr, false, ctx->namaddr, "Client host",
			    reply);
		} else if (strcasecmp(r, "check_helo_access") == 0) {
			rc = smtpd_check_access(c, arg, ctx->helo, false, ctx->helo ? ctx->helo : "",
			    "Helo command", reply);
		} else if (strcasecmp(r, "check_sender_access") == 0) {
			if (ctx->sender != NULL && *ctx->sender != '\0')
				rc = smtpd_check_access(c, arg, ctx->sender, true, ctx->sender,
				    "Sender address", reply);
		} else if (strcasecmp(r, "check_recipient_access") == 0) {
			rc = smtpd_check_access(c, arg, ctx->rcpt, true, ctx->rcpt ? ctx->rcpt : "",
			    "Recipient address", reply);
		} else if (smtpd_dnscheck_is(r) && ctx->dns != NULL) {
			int local = -1;

			if (ctx->rcpt != NULL && (dom = address_domain(ctx->rcpt)) != NULL)
				local = smtpd_check_is_local(c, dom);
			if (c->dns_codes.rbl == 0) {
				/* checks not made by smtpd_checks_new (tests) */
				c->dns_codes.rbl = 554;
				c->dns_codes.unknown_address = 450;
				c->dns_codes.unknown_client = 450;
			}
			rc = smtpd_dnscheck(r, arg, ctx, &c->dns_codes, local, reply);
		} else if (strncasecmp(r, "reject_rbl", 10) == 0 || strncasecmp(r, "reject_rhsbl", 12) == 0 ||
		    strncasecmp(r, "reject_unknown_", 15) == 0 || strncasecmp(r, "permit_dnswl", 12) == 0 ||
		    strncasecmp(r, "permit_rhswl", 12) == 0 || strcasecmp(r, "reject_unlisted_recipient") == 0 ||
		    strcasecmp(r, "reject_unlisted_sender") == 0 ||
		    strcasecmp(r, "reject_unverified_recipient") == 0 ||
		    strcasecmp(r, "reject_unverified_sender") == 0) {
			smtpd_check_not_active(r);
		} else if (strcasecmp(r, "reject_unauth_pipelining") == 0 || strcasecmp(r, "dunno") == 0 ||
		    strcasecmp(r, "sleep") == 0) {
			/* nothing to decide here */
		} else {
			log_warn("unknown smtpd restriction: \"%s\"", r);
			rc = smtpd_check_reply(reply, 451, "4.3.5", "Server configuration error");
		}
		if (warn_only) {
			if (rc < 0) {
				log_info("reject_warning: %s", reply->s);
				rc = 0;
			}
			warn_only = false;
		}
	}
	return rc;
}

/* smtpd_check_unlisted - Postfix's smtpd_reject_unlisted_recipient: a
 * recipient of mydestination must be in local_recipient_maps (the local
 * part, with and without its extension, or the whole address), one of
 * virtual_mailbox_domains in virtual_mailbox_maps. 0 known, -1 refused. */
static int
smtpd_check_unlisted(struct smtpd_checks *c, const char *rcpt, struct str *reply)
{
	const char *at = strrchr(rcpt, '@'), *domain = at != NULL ? at + 1 : NULL, *err;
	const char *table;
	struct maps *maps;
	struct strvec keys;
	struct str val, local;
	size_t i, k;
	int r = 0;

	if ((domain != NULL && *domain == '\0') || c->delim == NULL)
		return 0;	/* checks not made by smtpd_checks_new (tests) */
	if (domain == NULL || smtpd_domains_match(&c->mydest, domain) == 1) {
		maps = c->local_rcpt;
		table = "local recipient table";
	} else if (smtpd_domains_match(&c->vmbox, domain) == 1) {
		maps = c->vmbox_maps;
		table = "virtual mailbox table";
		if (maps == NULL)
			return 0;
	} else {
		return 0;
	}
	if (maps == NULL)
		return 0;	/* local_recipient_maps = (empty): anyone */
	str_init(&local, 64);
	str_append_n(&local, rcpt, at != NULL ? (size_t)(at - rcpt) : strlen(rcpt));
	for (i = 0; i < local.len; i++)
		local.s[i] = (char)tolower((unsigned char)local.s[i]);
	strvec_init(&keys);
	strvec_push(&keys, rcpt);
	if (*c->delim != '\0' && (k = strcspn(local.s, c->delim)) > 0 && k < local.len) {
		if (domain != NULL)
			strvec_push_take(&keys, xasprintf("%.*s@%s", (int)k, local.s, domain));
	}
	if (maps != c->vmbox_maps) {
		strvec_push(&keys, local.s);
		if (*c->delim != '\0' && (k = strcspn(local.s, c->delim)) > 0 && k < local.len)
			strvec_push_take(&keys, xstrndup(local.s, k));
	} else if (domain != NULL) {
		strvec_push_take(&keys, xasprintf("@%s", domain));
	}
	str_init(&val, 64);
	for (i = 0; i < keys.n && r == 0; i++)
		r = maps_find(maps, keys.v[i], &val, &err);
	if (r < 0)
		smtpd_check_reply(reply, 451, "4.3.0", "<%s>: Recipient address rejected: "
		    "Temporary lookup failure", rcpt);
	else if (r == 0)
		smtpd_check_reply(reply, 550, "5.1.1", "<%s>: Recipient address rejected: "
		    "User unknown in %s", rcpt, table);
	str_deinit(&val);
	str_deinit(&local);
	strvec_deinit(&keys);
	return r == 1 ? 0 : -1;
}

int
smtpd_check_rcpt(struct smtpd_checks *c, const struct smtpd_check_ctx *ctx, struct str *reply)
{
	int i;

	str_reset(reply);
	for (i = 0; i < SMTPD_CHECK_NLISTS; i++) {
		int r = smtpd_check_list(c, (enum smtpd_check_list)i, ctx, reply);

		if (r == SMTPD_CHECK_PENDING)
			return SMTPD_CHECK_PENDING;
		if (r < 0)
			return 1;
	}
	if (ctx->rcpt != NULL && smtpd_check_unlisted(c, ctx->rcpt, reply) < 0)
		return 1;
	return 0;
}
