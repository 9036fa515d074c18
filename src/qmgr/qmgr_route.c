/* qmgr_route.c - the queue manager's pure rules: transport choice, retry
 * back-off, expiry, Postfix's delay format. Tests: tests/unit/qmgr/test_qmgr.c */
#include "qmgr/qmgr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mail/rewrite.h"

/* qmgr_transport_maps - the transport_maps entry of rcpt in transport(5)'s
 * order: user+ext@domain, user@domain, domain, .parent domains, "*". The
 * tables stay open for the life of the process (reopened when the
 * parameter's value changes). 1 found (value in value_r), 0, -1. */
static int
qmgr_transport_maps(struct maincf *cf, const char *rcpt, struct str *value_r,
    const char **error_r)
{
	static struct maps *maps;
	static char *spec;
	struct str val, delim;
	struct strvec keys;
	const char *at = strrchr(rcpt, '@'), *d;
	size_t i;
	int r = 0;

	str_init(&val, 64);
	if (maincf_get(cf, "transport_maps", &val, error_r) != 0) {
		str_deinit(&val);
		return -1;
	}
	if (spec == NULL || strcmp(spec, val.s) != 0) {
		maps_free(&maps);
		free(spec);
		spec = xstrdup(val.s);
		if (strspn(val.s, " \t\r\n,") != val.len &&
		    (maps = maps_open(val.s, MAPS_FLAG_DEFER_ERRORS, error_r)) == NULL) {
			free(spec);
			spec = NULL;
			str_deinit(&val);
			return -1;
		}
	}
	str_deinit(&val);
	if (maps == NULL)
		return 0;
	strvec_init(&keys);
	strvec_push(&keys, rcpt);
	str_init(&delim, 4);
	if (at != NULL && maincf_get(cf, "recipient_delimiter", &delim, error_r) == 0 &&
	    delim.len > 0) {
		for (d = rcpt + 1; d < at; d++)
			if (strchr(delim.s, *d) != NULL) {
				strvec_push_take(&keys, xasprintf("%.*s%s", (int)(d - rcpt), rcpt, at));
				break;
			}
	}
	str_deinit(&delim);
	if (at != NULL && at[1] != '\0') {
		strvec_push(&keys, at + 1);
		for (d = strchr(at + 1, '.'); d != NULL; d = strchr(d + 1, '.'))
			if (d[1] != '\0')
				strvec_push(&keys, d);
	}
	strvec_push(&keys, "*");
	for (i = 0; i < keys.n && r == 0; i++)
		r = maps_find(maps, keys.v[i], value_r, error_r);
	strvec_deinit(&keys);
	return r;
}

/* qmgr_domain_in - domain is listed in the list parameter; subdomains
 * match ".example.com" items, and any item when subdomains is set
 * (parent_domain_matches_subdomains). File and table items are skipped
 * until the lookup tables exist. */
static int
qmgr_domain_in(struct maincf *cf, const char *param, const char *domain, bool subdomains,
    const char **error_r)
{
	struct strvec items;
	struct str val;
	size_t i, dlen = strlen(domain), ilen;
	int found = 0;

	str_init(&val, 128);
	if (maincf_get(cf, param, &val, error_r) != 0) {
		str_deinit(&val);
		return -1;
	}
	strvec_init(&items);
	maincf_list_split(val.s, &items);
	for (i = 0; i < items.n && !found; i++) {
		const char *it = items.v[i];

		if (*it == '/' || strchr(it, ':') != NULL)
			continue;
		ilen = strlen(it);
		if (strcasecmp(it, domain) == 0)
			found = 1;
		else if (*it == '.' && dlen > ilen && strcasecmp(domain + dlen - ilen, it) == 0)
			found = 1;
		else if (subdomains && dlen > ilen + 1 && domain[dlen - ilen - 1] == '.' &&
		    strcasecmp(domain + dlen - ilen, it) == 0)
			found = 1;
	}
	strvec_deinit(&items);
	str_deinit(&val);
	return found;
}

int
qmgr_route(struct maincf *cf, const char *rcpt, struct str *transport, struct str *nexthop,
    const char **error_r)
{
	const char *at = strrchr(rcpt, '@'), *domain = at != NULL ? at + 1 : "", *param;
	struct str val, tmap;
	char *colon;
	int r;

	param = "default_transport";
	if (at != NULL && *domain != '\0' &&
	    (r = rewrite_domain_in_list(cf, "virtual_alias_domains", domain, error_r)) != 0) {
		/* an address of a virtual alias domain that no alias matched
		 * (expansion happened at queue entry), as trivial-rewrite */
		if (r < 0)
			return -1;
		str_reset(transport);
		str_reset(nexthop);
		str_append(transport, "error");
		str_append(nexthop, "5.1.1 User unknown in virtual alias table");
		return 0;
	}
	if (at == NULL || *domain == '\0') {
		param = "local_transport";
	} else if ((r = qmgr_domain_in(cf, "mydestination", domain, false, error_r)) != 0) {
		if (r < 0)
			return -1;
		param = "local_transport";
	} else if ((r = qmgr_domain_in(cf, "virtual_mailbox_domains", domain, false,
	    error_r)) != 0) {
		if (r < 0)
			return -1;
		param = "virtual_transport";
	} else if ((r = qmgr_domain_in(cf, "relay_domains", domain, true, error_r)) != 0) {
		if (r < 0)
			return -1;
		param = "relay_transport";
	}
	str_init(&val, 64);
	if (maincf_get(cf, param, &val, error_r) != 0) {
		str_deinit(&val);
		return -1;
	}
	str_reset(transport);
	str_reset(nexthop);
	if ((colon = strchr(val.s, ':')) != NULL) {
		str_append_n(transport, val.s, (size_t)(colon - val.s));
		str_append(nexthop, colon + 1);
	} else {
		str_append(transport, val.s);
	}
	str_deinit(&val);
	/* relayhost: the nexthop of the remote classes (default and relay
	 * domains) when their transport names none, as trivial-rewrite */
	if (nexthop->len == 0 && (strcmp(param, "default_transport") == 0 ||
	    strcmp(param, "relay_transport") == 0)) {
		str_init(&val, 64);
		if (maincf_get(cf, "relayhost", &val, error_r) != 0) {
			str_deinit(&val);
			return -1;
		}
		str_append(nexthop, val.s + strspn(val.s, " \t,"));
		str_truncate(nexthop, strcspn(nexthop->s, " \t,"));
		str_deinit(&val);
	}
	/* transport_maps: "transport:nexthop"; an empty part keeps what the
	 * domain class chose (":nexthop", "transport:", "transport") */
	str_init(&tmap, 64);
	if ((r = qmgr_transport_maps(cf, rcpt, &tmap, error_r)) < 0) {
		str_deinit(&tmap);
		return -1;
	}
	if (r > 0 && tmap.len > 0) {
		colon = strchr(tmap.s, ':');
		if (colon == NULL || colon > tmap.s) {
			str_reset(transport);
			str_append_n(transport, tmap.s,
			    colon != NULL ? (size_t)(colon - tmap.s) : tmap.len);
			str_reset(nexthop);
		}
		if (colon != NULL && colon[1] != '\0') {
			str_reset(nexthop);
			str_append(nexthop, colon + 1);
		}
	}
	str_deinit(&tmap);
	if (nexthop->len == 0)
		str_append(nexthop, domain);
	if (transport->len == 0) {
		*error_r = "empty transport name";
		return -1;
	}
	return 0;
}

long
qmgr_backoff(long arrival, long now, long min_backoff, long max_backoff)
{
	long age = now - arrival;

	if (age > max_backoff)
		age = max_backoff;
	if (age < min_backoff)
		age = min_backoff;
	return age;
}

bool
qmgr_expired(long arrival, long now, long lifetime)
{
	return now - arrival > lifetime;
}

void
qmgr_format_delay(struct str *out, double seconds)
{
	char buf[32];
	size_t n;

	if (seconds < 0)
		seconds = 0;
	if (seconds >= 10) {
		str_appendf(out, "%ld", (long)seconds);
		return;
	}
	snprintf(buf, sizeof(buf), "%.2f", seconds);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	str_append(out, n > 0 ? buf : "0");
}
