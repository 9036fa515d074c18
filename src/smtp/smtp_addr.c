/* smtp_addr.c - settings, nexthop syntax, and the servers a delivery
 * tries (RFC 5321 section 5.1): the MX hosts of the domain in preference
 * order, each with its addresses; the domain's own A/AAAA records when it
 * has no MX; "[host]" and lmtp's addresses without an MX lookup. An MX
 * that names this host ends the list at its preference (less preferred
 * hosts would send the mail back to us); when nothing is left, the mail
 * "loops back to myself" and bounces, as Postfix says. */
#include "smtp/smtp-private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* Most MX hosts looked up for one delivery: smtp_mx_address_limit caps
 * the addresses tried anyway. */
#define SMTP_MX_MAX	10

struct smtp_mx {
	struct smtp_delivery	*d;		/* borrowed, the owner */
	char			*host;		/* owned */
	unsigned		 pref;
	unsigned		 port;
	struct dns_query	*q4, *q6;	/* pending lookups */
	struct dns_result	 a, aaaa;	/* owned */
	bool			 have_a, have_aaaa;
};

/* smtp_param - a parameter of this protocol: "lmtp_x" falls back to
 * "smtp_x" when the table has no lmtp_ variant */
static int
smtp_param(struct maincf *cf, bool lmtp, const char *suffix, struct str *out)
{
	char *name = xasprintf("%s_%s", lmtp ? "lmtp" : "smtp", suffix);
	const char *err;
	int r;

	str_reset(out);
	if (maincf_param_find(name) == NULL && lmtp) {
		free(name);
		name = xasprintf("smtp_%s", suffix);
	}
	r = maincf_get(cf, name, out, &err);
	free(name);
	return r;
}

static long
smtp_param_time(struct maincf *cf, bool lmtp, const char *suffix, long def)
{
	char *name = xasprintf("%s_%s", lmtp ? "lmtp" : "smtp", suffix);
	const char *err;
	long v;

	if (maincf_param_find(name) == NULL && lmtp) {
		free(name);
		name = xasprintf("smtp_%s", suffix);
	}
	if (maincf_get_time(cf, name, &v, &err) != 0)
		v = def;
	free(name);
	return v;
}

static unsigned
smtp_port_number(const char *s, unsigned def)
{
	struct servent *se;
	char *end;
	long v;

	if (*s == '\0')
		return def;
	v = strtol(s, &end, 10);
	if (*end == '\0' && v > 0 && v < 65536)
		return (unsigned)v;
	if ((se = getservbyname(s, "tcp")) != NULL)
		return ntohs((uint16_t)se->s_port);
	return def;
}

/* smtp_interface_addresses - every address of the host's interfaces */
static void
smtp_interface_addresses(struct strvec *out)
{
	struct ifaddrs *ifa0, *ifa;
	char host[NI_MAXHOST];

	if (getifaddrs(&ifa0) != 0)
		return;
	for (ifa = ifa0; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || (ifa->ifa_addr->sa_family != AF_INET &&
		    ifa->ifa_addr->sa_family != AF_INET6))
			continue;
		if (getnameinfo(ifa->ifa_addr, ifa->ifa_addr->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6), host, sizeof(host),
		    NULL, 0, NI_NUMERICHOST) == 0) {
			host[strcspn(host, "%")] = '\0';
			if (!strvec_contains(out, host))
				strvec_push(out, host);
		}
	}
	freeifaddrs(ifa0);
}

/* smtp_own_addresses - the addresses this host receives mail on
 * (inet_interfaces, with "all" as every interface address, and
 * proxy_interfaces); an MX there, on port 25, is ourselves */
static void
smtp_own_addresses(struct maincf *cf, struct strvec *out)
{
	static const char *const params[] = { "inet_interfaces", "proxy_interfaces" };
	struct str v;
	struct strvec items;
	const char *err;
	size_t i, k;
	unsigned char buf[16];

	str_init(&v, 64);
	for (k = 0; k < 2; k++) {
		if (maincf_get(cf, params[k], &v, &err) != 0)
			continue;
		strvec_init(&items);
		maincf_list_split(v.s, &items);
		for (i = 0; i < items.n; i++) {
			char *a = items.v[i];
			size_t n = strlen(a);

			if (strcasecmp(a, "all") == 0) {
				smtp_interface_addresses(out);
				continue;
			}
			if (strcasecmp(a, "loopback-only") == 0) {
				strvec_push(out, "127.0.0.1");
				strvec_push(out, "::1");
				continue;
			}

			if (a[0] == '[' && n > 2 && a[n - 1] == ']') {
				a[n - 1] = '\0';
				a++;
			}
			if (inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1)
				strvec_push(out, a);
		}
		strvec_deinit(&items);
	}
	str_deinit(&v);
}

int
smtp_settings_load(struct smtp_settings *s, struct maincf *cf, bool lmtp, const char **error_r)
{
	struct str v, ca;
	const char *err;
	bool b;

	memset(s, 0, sizeof(*s));
	strvec_init(&s->own_addrs);
	s->lmtp = lmtp;
	str_init(&v, 64);
	s->connect_timeout = smtp_param_time(cf, lmtp, "connect_timeout", 30);
	if (s->connect_timeout <= 0)
		s->connect_timeout = 75;	/* "0: the system's" */
	s->helo_timeout = smtp_param_time(cf, lmtp, lmtp ? "lhlo_timeout" : "helo_timeout", 300);
	s->mail_timeout = smtp_param_time(cf, lmtp, "mail_timeout", 300);
	s->rcpt_timeout = smtp_param_time(cf, lmtp, "rcpt_timeout", 300);
	s->data_init_timeout = smtp_param_time(cf, lmtp, "data_init_timeout", 120);
	s->data_xfer_timeout = smtp_param_time(cf, lmtp, "data_xfer_timeout", 180);
	s->data_done_timeout = smtp_param_time(cf, lmtp, "data_done_timeout", 600);
	s->quit_timeout = smtp_param_time(cf, lmtp, "quit_timeout", 300);
	s->starttls_timeout = smtp_param_time(cf, lmtp, "starttls_timeout", 300);
	(void)maincf_get(cf, "myhostname", &v, &err);
	s->myhostname = xstrdup(v.s);
	if (smtp_param(cf, lmtp, "helo_name", &v) != 0 || v.len == 0) {
		str_reset(&v);
		str_append(&v, s->myhostname);
	}
	s->helo_name = xstrdup(v.s);
	(void)smtp_param(cf, lmtp, "tcp_port", &v);
	s->port = smtp_port_number(v.s, lmtp ? 24 : 25);
	if (maincf_get_long(cf, "smtp_mx_address_limit", &s->mx_address_limit, &err) != 0)
		s->mx_address_limit = 5;
	if (maincf_get_long(cf, "smtp_mx_session_limit", &s->mx_session_limit, &err) != 0)
		s->mx_session_limit = 2;
	if (maincf_get_bool(cf, "smtp_skip_5xx_greeting", &s->skip_5xx_greeting, &err) != 0)
		s->skip_5xx_greeting = true;
	s->ipv4 = s->ipv6 = true;
	if (maincf_get(cf, "inet_protocols", &v, &err) == 0 && strcasecmp(v.s, "all") != 0) {
		s->ipv4 = strstr(v.s, "ipv4") != NULL;
		s->ipv6 = strstr(v.s, "ipv6") != NULL;
		if (!s->ipv4 && !s->ipv6)
			s->ipv4 = true;
	}
	b = false;
	(void)maincf_get_bool(cf, "disable_dns_lookups", &b, &err);
	s->disable_dns = b;
	if (maincf_get(cf, "smtp_host_lookup", &v, &err) == 0 && strstr(v.s, "dns") == NULL)
		s->disable_dns = true;
	smtp_own_addresses(cf, &s->own_addrs);
	strvec_init(&s->fallback);
	if (!lmtp && maincf_get(cf, "smtp_fallback_relay", &v, &err) == 0)
		maincf_list_split(v.s, &s->fallback);
	if (smtp_param(cf, lmtp, "connection_cache_on_demand", &v) != 0 ||
	    !maincf_parse_bool(v.s, &s->cache_on_demand))
		s->cache_on_demand = true;
	s->cache_time_limit = smtp_param_time(cf, lmtp, "connection_cache_time_limit", 2);
	s->reuse_time_limit = smtp_param_time(cf, false, "connection_reuse_time_limit", 300);

	/* TLS */
	(void)smtp_param(cf, lmtp, "tls_security_level", &v);
	if (v.len == 0 || strcasecmp(v.s, "none") == 0)
		s->tls_level = SMTP_TLS_NONE;
	else if (strcasecmp(v.s, "may") == 0)
		s->tls_level = SMTP_TLS_MAY;
	else if (strcasecmp(v.s, "encrypt") == 0)
		s->tls_level = SMTP_TLS_ENCRYPT;
	else if (strcasecmp(v.s, "verify") == 0)
		s->tls_level = SMTP_TLS_VERIFY;
	else if (strcasecmp(v.s, "secure") == 0)
		s->tls_level = SMTP_TLS_SECURE;
	else {
		*error_r = lmtp ? "invalid lmtp_tls_security_level (none, may, encrypt, verify, secure)" :
		    "invalid smtp_tls_security_level (none, may, encrypt, verify, secure)";
		str_deinit(&v);
		return -1;
	}
	if (s->tls_level != SMTP_TLS_NONE) {
		s->ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (s->ssl_ctx == NULL) {
			*error_r = "cannot create the TLS client context";
			str_deinit(&v);
			return -1;
		}
		SSL_CTX_set_min_proto_version(s->ssl_ctx, TLS1_2_VERSION);
		SSL_CTX_set_options(s->ssl_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
		str_init(&ca, 64);
		(void)smtp_param(cf, lmtp, "tls_CAfile", &ca);
		(void)smtp_param(cf, lmtp, "tls_CApath", &v);
		if ((ca.len > 0 || v.len > 0) && SSL_CTX_load_verify_locations(s->ssl_ctx,
		    ca.len > 0 ? ca.s : NULL, v.len > 0 ? v.s : NULL) != 1) {
			log_warn("cannot load the trusted CA certificates %s%s", ca.s, v.s);
			ERR_clear_error();
		} else if (ca.len == 0 && v.len == 0) {
			(void)SSL_CTX_set_default_verify_paths(s->ssl_ctx);
		}
		str_deinit(&ca);
	}

	/* SASL */
	(void)maincf_get_bool(cf, lmtp ? "lmtp_sasl_auth_enable" : "smtp_sasl_auth_enable",
	    &s->sasl_enable, &err);
	if (s->sasl_enable && smtp_param(cf, lmtp, "sasl_password_maps", &v) == 0 &&
	    v.s[strspn(v.s, " \t,")] != '\0') {
		s->sasl_maps = maps_open(v.s, MAPS_FLAG_DEFER_ERRORS, &err);
		if (s->sasl_maps == NULL)
			log_warn("smtp_sasl_password_maps: %s", err);
	}
	(void)smtp_param(cf, lmtp, "sasl_security_options", &v);
	s->sasl_noplaintext = strstr(v.s, "noplaintext") != NULL;
	if (maincf_param_find("smtp_sasl_tls_security_options") != NULL &&
	    maincf_get(cf, "smtp_sasl_tls_security_options", &v, &err) == 0)
		s->sasl_tls_noplaintext = strstr(v.s, "noplaintext") != NULL;
	else
		s->sasl_tls_noplaintext = s->sasl_noplaintext;
	str_deinit(&v);
	return 0;
}

void
smtp_settings_deinit(struct smtp_settings *s)
{
	free(s->helo_name);
	free(s->myhostname);
	if (s->ssl_ctx != NULL)
		SSL_CTX_free(s->ssl_ctx);
	maps_free(&s->sasl_maps);
	strvec_deinit(&s->own_addrs);
	strvec_deinit(&s->fallback);
	memset(s, 0, sizeof(*s));
}

int
smtp_nexthop_parse(const char *nexthop, bool lmtp, unsigned def_port,
    struct smtp_nexthop *out, const char **error_r)
{
	const char *p = nexthop, *host, *end, *colon;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	out->port = def_port;
	if (lmtp && strncmp(p, "unix:", 5) == 0) {
		if (p[5] == '\0') {
			*error_r = "empty unix socket path";
			return -1;
		}
		out->is_unix = true;
		out->no_mx = true;
		out->host = xstrdup(p + 5);
		return 0;
	}
	if (lmtp) {
		if (strncmp(p, "inet:", 5) == 0)
			p += 5;
		out->no_mx = true;	/* lmtp never looks up MX records */
	}
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL || end == p + 1) {
			*error_r = "malformed [host] in nexthop";
			return -1;
		}
		host = p + 1;
		hlen = (size_t)(end - host);
		out->no_mx = true;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			*error_r = "malformed nexthop";
			return -1;
		}
	} else {
		host = p;
		colon = strrchr(p, ':');
		/* an IPv6 literal without [] has several colons: no port */
		if (colon != NULL && strchr(p, ':') != colon)
			colon = NULL;
		hlen = colon != NULL ? (size_t)(colon - p) : strlen(p);
	}
	if (hlen == 0 || hlen > 255) {
		*error_r = "empty or too long host in nexthop";
		return -1;
	}
	if (colon != NULL) {
		unsigned port = smtp_port_number(colon + 1, 0);

		if (port == 0) {
			*error_r = "bad port in nexthop";
			return -1;
		}
		out->port = port;
	}
	out->host = xstrndup(host, hlen);
	if (strncasecmp(out->host, "ipv6:", 5) == 0)
		memmove(out->host, out->host + 5, strlen(out->host + 5) + 1);
	return 0;
}

void
smtp_nexthop_deinit(struct smtp_nexthop *nh)
{
	XFREE(nh->host);
}

static void
smtp_add_target(struct smtp_delivery *d, const char *host, int family, const char *addr,
    unsigned port)
{
	struct smtp_target *t;
	size_t i;

	for (i = 0; i < d->nt; i++)
		if (strcmp(d->t[i].addr, addr) == 0 && d->t[i].port == port)
			return;		/* the same address through two names */
	d->t = xreallocarray(d->t, d->nt + 1, sizeof(*d->t));
	t = &d->t[d->nt++];
	memset(t, 0, sizeof(*t));
	t->host = xstrdup(host);
	t->family = family;
	snprintf(t->addr, sizeof(t->addr), "%s", addr);
	t->port = port;
}

/* smtp_is_self - an address this host receives mail on */
static bool
smtp_is_self(const struct smtp_delivery *d, const char *addr)
{
	return strvec_contains(&d->set->own_addrs, addr);
}

static void
smtp_name_error(struct smtp_delivery *d, const char *name, const char *type,
    const struct dns_result *res)
{
	char buf[TRANSPORT_DSN_TEXT_SIZE];

	snprintf(buf, sizeof(buf), "Host or domain name not found. Name service error for "
	    "name=%s type=%s: %s", name, type, res->status == DNS_TEMPFAIL ?
	    "Host not found, try again" : strstr(res->error, "No ") == res->error ?
	    "No address associated with hostname" : "Host not found");
	if (res->status == DNS_TEMPFAIL)
		smtp_delivery_result(d, TRANSPORT_DEFERRED, "4.4.3", "none", buf);
	else
		smtp_delivery_result(d, TRANSPORT_BOUNCED, "5.4.4", "none", buf);
}

static void
smtp_mx_free_all(struct smtp_delivery *d)
{
	size_t i;

	for (i = 0; i < d->nmx; i++) {
		dns_cancel(&d->mx[i].q4);
		dns_cancel(&d->mx[i].q6);
		dns_result_deinit(&d->mx[i].a);
		dns_result_deinit(&d->mx[i].aaaa);
		free(d->mx[i].host);
	}
	XFREE(d->mx);
	d->nmx = 0;
	d->mx_pending = 0;
}

/* smtp_mx_ready - every MX host is resolved: the target list, in
 * preference order, IPv4 before IPv6 per host */
static void
smtp_mx_ready(struct smtp_delivery *d)
{
	const struct dns_result *worst = NULL;
	const char *worst_type = "A", *worst_name = d->nh.host;
	bool self_skipped = false;
	size_t i, k, first = d->nt;
	long limit = d->set->mx_address_limit;

	for (i = 0; i < d->nmx; i++) {
		struct smtp_mx *m = &d->mx[i];
		const struct dns_result *rs[2] = { &m->a, &m->aaaa };
		bool have[2] = { m->have_a, m->have_aaaa };
		int r;

		for (r = 0; r < 2; r++) {
			if (!have[r])
				continue;
			if (rs[r]->status != DNS_OK) {
				if (worst == NULL || rs[r]->status == DNS_TEMPFAIL) {
					worst = rs[r];
					worst_type = r == 0 ? "A" : "AAAA";
					worst_name = m->host;
				}
				continue;
			}
			for (k = 0; k < rs[r]->n; k++) {
				/* an MX host on our own address and port is us */
				if (!d->nh.no_mx && d->nh.port == 25 &&
				    smtp_is_self(d, rs[r]->rr[k].addr)) {
					self_skipped = true;
					continue;
				}
				smtp_add_target(d, m->host, rs[r]->rr[k].family,
				    rs[r]->rr[k].addr, m->port != 0 ? m->port : d->nh.port);
			}
		}
	}
	if (d->in_fallback) {
		/* the fallback relays: whatever they added, on from there */
		smtp_mx_free_all(d);
		d->cur = first;
		smtp_session_begin(d);
		return;
	}
	if (d->nt == 0 && self_skipped) {
		char buf[TRANSPORT_DSN_TEXT_SIZE];

		snprintf(buf, sizeof(buf), "mail for %s loops back to myself", d->nh.host);
		smtp_delivery_result(d, TRANSPORT_BOUNCED, "5.4.6", "none", buf);
		smtp_mx_free_all(d);
		return;
	}
	if (d->nt == 0) {
		struct dns_result none;

		if (worst == NULL) {
			memset(&none, 0, sizeof(none));
			none.status = DNS_NOTFOUND;
			snprintf(none.error, sizeof(none.error), "No address");
			worst = &none;
		}
		smtp_name_error(d, worst_name, worst_type, worst);
		smtp_mx_free_all(d);
		return;
	}
	if (limit > 0 && d->nt > (size_t)limit) {
		for (i = (size_t)limit; i < d->nt; i++) {
			free(d->t[i].host);
			free(d->t[i].path);
		}
		d->nt = (size_t)limit;
	}
	smtp_mx_free_all(d);
	d->cur = 0;
	smtp_session_begin(d);
}

static void
smtp_on_addr(const struct dns_result *res, void *ctx)
{
	struct smtp_mx *m = ctx;
	struct smtp_delivery *d = m->d;

	if (res->type == DNS_T_A) {
		m->q4 = NULL;
		dns_result_copy(&m->a, res);
		m->have_a = true;
	} else {
		m->q6 = NULL;
		dns_result_copy(&m->aaaa, res);
		m->have_aaaa = true;
	}
	if (--d->mx_pending == 0)
		smtp_mx_ready(d);
}

/* smtp_resolve_hosts - A/AAAA of each host in d->mx */
static void
smtp_resolve_hosts(struct smtp_delivery *d)
{
	size_t i;

	d->mx_pending = 0;
	for (i = 0; i < d->nmx; i++)
		d->mx_pending += (d->set->ipv4 ? 1 : 0) + (d->set->ipv6 ? 1 : 0);
	for (i = 0; i < d->nmx; i++) {
		struct smtp_mx *m = &d->mx[i];

		m->d = d;
		/* the lookup handles are set before any callback can run:
		 * dns_lookup never calls back from inside */
		if (d->set->ipv4)
			m->q4 = dns_lookup(d->dns, m->host, DNS_T_A, smtp_on_addr, m);
		if (d->set->ipv6)
			m->q6 = dns_lookup(d->dns, m->host, DNS_T_AAAA, smtp_on_addr, m);
	}
}

static void
smtp_on_mx(const struct dns_result *res, void *ctx)
{
	struct smtp_delivery *d = ctx;
	size_t i, n;
	unsigned self_pref = 0;
	bool self = false;

	d->q = NULL;
	if (res->status == DNS_TEMPFAIL) {
		smtp_name_error(d, d->nh.host, "MX", res);
		return;
	}
	if (res->status == DNS_NOTFOUND && strncmp(res->error, "No ", 3) != 0) {
		/* NXDOMAIN: the domain does not exist */
		smtp_name_error(d, d->nh.host, "MX", res);
		return;
	}
	if (res->status == DNS_NOTFOUND) {
		/* no MX: the domain itself, as an implicit MX (RFC 5321 5.1) */
		d->mx = xcalloc(1, sizeof(*d->mx));
		d->mx[0].host = xstrdup(d->nh.host);
		d->nmx = 1;
		smtp_resolve_hosts(d);
		return;
	}
	for (i = 0; i < res->n; i++)
		if (strcasecmp(res->rr[i].name, d->set->myhostname) == 0) {
			self = true;
			self_pref = res->rr[i].pref;
			break;
		}
	n = 0;
	for (i = 0; i < res->n && n < SMTP_MX_MAX; i++) {
		if (self && res->rr[i].pref >= self_pref)
			break;
		n++;
	}
	if (n == 0) {
		char buf[TRANSPORT_DSN_TEXT_SIZE];

		snprintf(buf, sizeof(buf), "mail for %s loops back to myself", d->nh.host);
		smtp_delivery_result(d, TRANSPORT_BOUNCED, "5.4.6", "none", buf);
		return;
	}
	/* "." as the exchange: the domain accepts no mail (RFC 7505) */
	if (res->n == 1 && (res->rr[0].name[0] == '\0' || strcmp(res->rr[0].name, ".") == 0)) {
		char buf[TRANSPORT_DSN_TEXT_SIZE];

		snprintf(buf, sizeof(buf), "Domain %s does not accept mail (nullMX)", d->nh.host);
		smtp_delivery_result(d, TRANSPORT_BOUNCED, "5.1.10", "none", buf);
		return;
	}
	d->mx = xcalloc(n, sizeof(*d->mx));
	for (i = 0; i < n; i++) {
		d->mx[i].host = xstrdup(res->rr[i].name);
		d->mx[i].pref = res->rr[i].pref;
	}
	d->nmx = n;
	smtp_resolve_hosts(d);
}

void
smtp_addr_resolve(struct smtp_delivery *d)
{
	unsigned char buf[16];

	if (d->nh.is_unix) {
		d->t = xcalloc(1, sizeof(*d->t));
		d->t[0].host = xstrdup(d->set->myhostname);
		d->t[0].family = AF_UNIX;
		d->t[0].path = xstrdup(d->nh.host);
		d->nt = 1;
		smtp_session_begin(d);
		return;
	}
	if (inet_pton(AF_INET, d->nh.host, buf) == 1 || inet_pton(AF_INET6, d->nh.host, buf) == 1) {
		smtp_add_target(d, d->nh.host, strchr(d->nh.host, ':') != NULL ? AF_INET6 : AF_INET,
		    d->nh.host, d->nh.port);
		smtp_session_begin(d);
		return;
	}
	if (d->nh.no_mx || d->set->disable_dns) {
		d->mx = xcalloc(1, sizeof(*d->mx));
		d->mx[0].host = xstrdup(d->nh.host);
		d->nmx = 1;
		smtp_resolve_hosts(d);
		return;
	}
	d->q = dns_lookup(d->dns, d->nh.host, DNS_T_MX, smtp_on_mx, d);
}

bool
smtp_addr_fallback(struct smtp_delivery *d)
{
	const struct strvec *fb = &d->set->fallback;
	size_t i, n = 0, first = d->nt;
	unsigned char buf[16];

	if (d->in_fallback || fb->n == 0 || d->nh.is_unix || d->set->lmtp)
		return false;
	d->in_fallback = true;
	d->sessions = 0;	/* the relays have their own session budget */
	d->mx = xcalloc(fb->n, sizeof(*d->mx));
	for (i = 0; i < fb->n; i++) {
		struct smtp_nexthop nh;
		const char *err;

		/* "[host]:port" or "host[:port]": its address records (an
		 * MX lookup of a fallback relay is not made) */
		if (smtp_nexthop_parse(fb->v[i], false, d->set->port, &nh, &err) != 0) {
			log_warn("smtp_fallback_relay: \"%s\": %s", fb->v[i], err);
			continue;
		}
		if (strcasecmp(nh.host, d->nh.host) == 0) {
			smtp_nexthop_deinit(&nh);
			continue;	/* the destination itself */
		}
		if (inet_pton(AF_INET, nh.host, buf) == 1 || inet_pton(AF_INET6, nh.host, buf) == 1) {
			smtp_add_target(d, nh.host, strchr(nh.host, ':') != NULL ? AF_INET6 : AF_INET,
			    nh.host, nh.port);
			smtp_nexthop_deinit(&nh);
			continue;
		}
		d->mx[n].host = nh.host;	/* moves */
		d->mx[n].port = nh.port;
		n++;
	}
	d->nmx = n;
	if (n == 0) {
		XFREE(d->mx);
		if (d->nt == first)
			return false;
		d->cur = first;
		smtp_session_begin(d);
		return true;
	}
	smtp_resolve_hosts(d);
	return true;
}

void
smtp_addr_cancel(struct smtp_delivery *d)
{
	dns_cancel(&d->q);
	smtp_mx_free_all(d);
}
