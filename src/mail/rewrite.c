/* rewrite.c - Postfix's address rewriting at queue entry (rewrite.h). */
#include "mail/rewrite.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* canonical_classes bits */
#define CLASS_ENV_FROM	0x1
#define CLASS_ENV_RCPT	0x2
#define CLASS_HDR_FROM	0x4
#define CLASS_HDR_RCPT	0x8

/* Postfix's cleanup_map11 gives up after this many one-to-one rewrites of
 * one address (a canonical loop a -> b -> a). */
#define REWRITE_MAP11_MAX	10

struct rewrite {
	struct maincf	*cf;		/* borrowed */
	char		*myorigin;
	char		*mydomain;
	char		*delim;		/* recipient_delimiter, "" for none */
	bool		 append_dot_mydomain;
	bool		 swap_bangpath;
	bool		 percent_hack;
	bool		 prop_canonical;
	bool		 prop_virtual;
	int		 classes;
	long		 virt_expansion_limit;
	long		 virt_recursion_limit;
	struct strvec	 mydest;	/* literal mydestination items */
	struct strvec	 masq;		/* masquerade_domains, lowercased, "!" kept */
	struct strvec	 masq_except;	/* masquerade_exceptions, lowercased */
	int		 masq_classes;	/* masquerade_classes */
	struct maps	*canonical;	/* NULL when the parameter is empty */
	struct maps	*sender_canonical;
	struct maps	*recipient_canonical;
	struct maps	*virtual_alias;
	char		*error;		/* owned text of the last error */
};

static int
rewrite_get(struct maincf *cf, const char *name, struct str *val, const char **error_r)
{
	str_reset(val);
	return maincf_get(cf, name, val, error_r);
}

static int
rewrite_bool(struct maincf *cf, const char *name, bool *val_r, const char **error_r)
{
	struct str v;
	int ret = 0;

	str_init(&v, 16);
	if (rewrite_get(cf, name, &v, error_r) != 0)
		ret = -1;
	else if (!maincf_parse_bool(v.s, val_r)) {
		*error_r = "bad boolean value";
		ret = -1;
	}
	str_deinit(&v);
	return ret;
}

/* rewrite_classes - the CLASS_* bits of a canonical_classes or
 * masquerade_classes value */
static int
rewrite_classes(const char *list)
{
	static const struct {
		const char	*name;
		int		 bit;
	} tab[] = {
		{ "envelope_sender", CLASS_ENV_FROM },
		{ "envelope_recipient", CLASS_ENV_RCPT },
		{ "header_sender", CLASS_HDR_FROM },
		{ "header_recipient", CLASS_HDR_RCPT },
	};
	struct strvec items;
	size_t i, k;
	int bits = 0;

	strvec_init(&items);
	maincf_list_split(list, &items);
	for (i = 0; i < items.n; i++)
		for (k = 0; k < sizeof(tab) / sizeof(tab[0]); k++)
			if (strcasecmp(items.v[i], tab[k].name) == 0)
				bits |= tab[k].bit;
	strvec_deinit(&items);
	return bits;
}

/* rewrite_open_maps - NULL for an empty parameter, without error */
static int
rewrite_open_maps(struct maincf *cf, const char *name, struct maps **maps_r,
    const char **error_r)
{
	struct str v;
	int ret = 0;

	*maps_r = NULL;
	str_init(&v, 64);
	if (rewrite_get(cf, name, &v, error_r) != 0)
		ret = -1;
	else if (strspn(v.s, " \t\r\n,") != v.len &&
	    (*maps_r = maps_open(v.s, MAPS_FLAG_DEFER_ERRORS, error_r)) == NULL)
		ret = -1;
	str_deinit(&v);
	return ret;
}

struct rewrite *
rewrite_new(struct maincf *cf, const char **error_r)
{
	struct rewrite *r = xcalloc(1, sizeof(*r));
	struct strvec items;
	struct str v;
	size_t i;
	int ok = 1;

	r->cf = cf;
	strvec_init(&r->mydest);
	str_init(&v, 128);
	if (rewrite_get(cf, "myorigin", &v, error_r) != 0)
		goto fail;
	r->myorigin = xstrdup(v.s);
	if (rewrite_get(cf, "mydomain", &v, error_r) != 0)
		goto fail;
	r->mydomain = xstrdup(v.s);
	if (rewrite_get(cf, "recipient_delimiter", &v, error_r) != 0)
		goto fail;
	r->delim = xstrdup(v.s);
	if (rewrite_bool(cf, "append_dot_mydomain", &r->append_dot_mydomain, error_r) != 0 ||
	    rewrite_bool(cf, "swap_bangpath", &r->swap_bangpath, error_r) != 0 ||
	    rewrite_bool(cf, "allow_percent_hack", &r->percent_hack, error_r) != 0 ||
	    maincf_get_long(cf, "virtual_alias_expansion_limit", &r->virt_expansion_limit,
	    error_r) != 0 ||
	    maincf_get_long(cf, "virtual_alias_recursion_limit", &r->virt_recursion_limit,
	    error_r) != 0)
		goto fail;
	if (rewrite_get(cf, "propagate_unmatched_extensions", &v, error_r) != 0)
		goto fail;
	strvec_init(&items);
	maincf_list_split(v.s, &items);
	for (i = 0; i < items.n; i++) {
		if (strcasecmp(items.v[i], "canonical") == 0)
			r->prop_canonical = true;
		else if (strcasecmp(items.v[i], "virtual") == 0)
			r->prop_virtual = true;
	}
	strvec_deinit(&items);
	if (rewrite_get(cf, "canonical_classes", &v, error_r) != 0)
		goto fail;
	r->classes = rewrite_classes(v.s);
	if (rewrite_get(cf, "mydestination", &v, error_r) != 0)
		goto fail;
	strvec_init(&items);
	maincf_list_split(v.s, &items);
	for (i = 0; i < items.n; i++)
		if (items.v[i][0] != '/' && strchr(items.v[i], ':') == NULL)
			strvec_push(&r->mydest, items.v[i]);
	strvec_deinit(&items);
	strvec_init(&r->masq);
	strvec_init(&r->masq_except);
	if (rewrite_get(cf, "masquerade_domains", &v, error_r) != 0)
		goto fail;
	maincf_list_split(v.s, &r->masq);
	if (rewrite_get(cf, "masquerade_exceptions", &v, error_r) != 0)
		goto fail;
	maincf_list_split(v.s, &r->masq_except);
	for (i = 0; i < r->masq.n; i++)
		for (char *c = r->masq.v[i]; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
	if (rewrite_get(cf, "masquerade_classes", &v, error_r) != 0)
		goto fail;
	r->masq_classes = rewrite_classes(v.s);
	ok = rewrite_open_maps(cf, "canonical_maps", &r->canonical, error_r) == 0 &&
	    rewrite_open_maps(cf, "sender_canonical_maps", &r->sender_canonical, error_r) == 0 &&
	    rewrite_open_maps(cf, "recipient_canonical_maps", &r->recipient_canonical,
	    error_r) == 0 &&
	    rewrite_open_maps(cf, "virtual_alias_maps", &r->virtual_alias, error_r) == 0;
	if (!ok)
		goto fail;
	str_deinit(&v);
	return r;
fail:
	str_deinit(&v);
	rewrite_free(&r);
	return NULL;
}

void
rewrite_set_origin(struct rewrite *r, const char *domain)
{
	free(r->myorigin);
	free(r->mydomain);
	r->myorigin = xstrdup(domain);
	r->mydomain = xstrdup(domain);
}

void
rewrite_free(struct rewrite **rp)
{
	struct rewrite *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	free(r->myorigin);
	free(r->mydomain);
	free(r->delim);
	free(r->error);
	strvec_deinit(&r->mydest);
	strvec_deinit(&r->masq);
	strvec_deinit(&r->masq_except);
	maps_free(&r->canonical);
	maps_free(&r->sender_canonical);
	maps_free(&r->recipient_canonical);
	maps_free(&r->virtual_alias);
	free(r);
}

/* rewrite_at - the '@' that separates local part and domain: the last one
 * outside a quoted string, or NULL */
static const char *
rewrite_at(const char *addr)
{
	const char *p, *at = NULL;
	bool quoted = false;

	for (p = addr; *p != '\0'; p++) {
		if (*p == '\\' && quoted && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == '@' && !quoted)
			at = p;
	}
	return at;
}

bool
rewrite_domain_is_local(struct rewrite *r, const char *domain)
{
	size_t i;

	if (strcasecmp(domain, r->myorigin) == 0)
		return true;
	for (i = 0; i < r->mydest.n; i++)
		if (strcasecmp(domain, r->mydest.v[i]) == 0)
			return true;
	return false;
}

void
rewrite_local(struct rewrite *r, const char *addr, struct str *out)
{
	const char *at, *bang, *pct;
	struct str tmp;

	str_reset(out);
	if (*addr == '\0')
		return;
	str_init(&tmp, 64);
	str_append(&tmp, addr);
	/* site!user -> user@site, only for addresses without a domain */
	if (r->swap_bangpath && rewrite_at(tmp.s) == NULL && *tmp.s != '"' &&
	    (bang = strchr(tmp.s, '!')) != NULL && bang != tmp.s && bang[1] != '\0') {
		char *site = xstrndup(tmp.s, (size_t)(bang - tmp.s));
		char *user = xstrdup(bang + 1);

		str_reset(&tmp);
		str_appendf(&tmp, "%s@%s", user, site);
		free(site);
		free(user);
	}
	/* user%host@local -> user@host (and user%host -> user@host) */
	if (r->percent_hack && *tmp.s != '"') {
		at = rewrite_at(tmp.s);
		if (at == NULL || rewrite_domain_is_local(r, at + 1)) {
			size_t llen = at != NULL ? (size_t)(at - tmp.s) : tmp.len;
			char *local = xstrndup(tmp.s, llen);

			if ((pct = strrchr(local, '%')) != NULL && pct != local && pct[1] != '\0') {
				local[pct - local] = '@';
				str_reset(&tmp);
				str_append(&tmp, local);
			}
			free(local);
		}
	}
	at = rewrite_at(tmp.s);
	if (at == NULL) {
		/* a bare user name is in $myorigin */
		if (*r->myorigin != '\0')
			str_appendf(&tmp, "@%s", r->myorigin);
	} else if (r->append_dot_mydomain && at[1] != '\0' && at[1] != '[' &&
	    strchr(at + 1, '.') == NULL && *r->mydomain != '\0') {
		str_appendf(&tmp, ".%s", r->mydomain);
	}
	/* "user@host." is "user@host" */
	if (tmp.len > 1 && tmp.s[tmp.len - 1] == '.' && rewrite_at(tmp.s) != NULL)
		str_truncate(&tmp, tmp.len - 1);
	str_append(out, tmp.s);
	str_deinit(&tmp);
}

/* rewrite_first_value - the first address of a table value ("a, b" or
 * "a b"), or the whole value when single */
static void
rewrite_split_values(const char *value, struct strvec *out)
{
	const char *p = value, *start;
	bool quoted;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		start = p;
		quoted = false;
		while (*p != '\0' && (quoted || (*p != ',' && *p != ' ' && *p != '\t'))) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '\\' && p[1] != '\0')
				p++;
			p++;
		}
		strvec_push_take(out, xstrndup(start, (size_t)(p - start)));
	}
}

/* rewrite_result - a table result for addr: "@domain" keeps addr's local
 * part; the extension of addr goes into the result when the key that
 * matched did not include it and propagation is on */
static void
rewrite_result(struct rewrite *r, const char *addr, const char *key, const char *value,
    bool propagate, struct str *out)
{
	const char *at = rewrite_at(addr), *ext = NULL, *vat;
	size_t llen = at != NULL ? (size_t)(at - addr) : strlen(addr), i;

	str_reset(out);
	if (*value == '@') {
		str_append_n(out, addr, llen);
		str_append(out, value);
		return;
	}
	if (propagate && *r->delim != '\0' && *key != '@') {
		for (i = 0; i < llen; i++)
			if (strchr(r->delim, addr[i]) != NULL && i > 0) {
				ext = addr + i;
				break;
			}
		/* the key was the address with its extension: nothing unmatched */
		if (ext != NULL && strncasecmp(key, addr, llen) == 0 &&
		    (key[llen] == '\0' || key[llen] == '@'))
			ext = NULL;
	}
	if (ext == NULL || (vat = rewrite_at(value)) == NULL) {
		if (ext != NULL) {
			str_append(out, value);
			str_append_n(out, ext, (size_t)(addr + llen - ext));
		} else {
			str_append(out, value);
		}
		return;
	}
	str_append_n(out, value, (size_t)(vat - value));
	str_append_n(out, ext, (size_t)(addr + llen - ext));
	str_append(out, vat);
}

/* rewrite_lookup - one table lookup of addr in Postfix's partial-key order;
 * 1 with the values in values_r, 0, -1 */
static int
rewrite_lookup(struct rewrite *r, struct maps *maps, const char *addr, bool propagate,
    struct strvec *values_r, const char **error_r)
{
	struct maps_addr_opts o;
	struct str value, key, res;
	struct strvec vals;
	const char *at = rewrite_at(addr);
	size_t i;
	int found;

	memset(&o, 0, sizeof(o));
	o.style = MAPS_ADDR_VIRTUAL;
	o.delimiters = r->delim;
	if (at == NULL || rewrite_domain_is_local(r, at + 1))
		o.flags |= MAPS_ADDR_LOCAL_DOMAIN;
	str_init(&value, 128);
	str_init(&key, 64);
	found = maps_find_address(maps, addr, &o, &value, &key, error_r);
	if (found > 0) {
		strvec_init(&vals);
		rewrite_split_values(value.s, &vals);
		str_init(&res, 64);
		for (i = 0; i < vals.n; i++) {
			rewrite_result(r, addr, key.s, vals.v[i], propagate, &res);
			strvec_push(values_r, res.s);
		}
		str_deinit(&res);
		strvec_deinit(&vals);
		if (values_r->n == 0)
			found = 0;
	}
	str_deinit(&value);
	str_deinit(&key);
	return found;
}

/* rewrite_map11 - one-to-one rewriting through maps, as cleanup_map11 */
static int
rewrite_map11(struct rewrite *r, struct maps *maps, struct str *addr, const char **error_r)
{
	struct strvec vals;
	int i, found;
	bool self;

	for (i = 0; i < REWRITE_MAP11_MAX; i++) {
		strvec_init(&vals);
		found = rewrite_lookup(r, maps, addr->s, r->prop_canonical, &vals, error_r);
		if (found <= 0) {
			strvec_deinit(&vals);
			return found < 0 ? -1 : 0;
		}
		/* a multi-valued canonical entry: Postfix uses the first */
		self = strcasecmp(vals.v[0], addr->s) == 0;
		str_reset(addr);
		str_append(addr, vals.v[0]);
		strvec_deinit(&vals);
		if (self)
			return 0;
	}
	/* Postfix warns "unreasonable ... map nesting" and keeps the last
	 * result; so do we, since mail should still flow */
	return 0;
}

/* rewrite_masquerade - masquerade_domains: user@host.example.com becomes
 * user@example.com for the first listed domain the address is strictly
 * inside of; a "!domain" item that the domain equals or is inside of
 * stops the search unchanged, and so does a domain that is already
 * masqueraded; masquerade_exceptions (local parts, or whole addresses)
 * are never changed */
static void
rewrite_masquerade(struct rewrite *r, struct str *addr)
{
	const char *at = rewrite_at(addr->s), *d;
	size_t i, dlen, mlen;
	char *local;

	if (at == NULL || r->masq.n == 0)
		return;
	local = xstrndup(addr->s, (size_t)(at - addr->s));
	for (i = 0; i < r->masq_except.n; i++)
		if (strcasecmp(r->masq_except.v[i], local) == 0 ||
		    strcasecmp(r->masq_except.v[i], addr->s) == 0) {
			free(local);
			return;
		}
	d = at + 1;
	dlen = strlen(d);
	for (i = 0; i < r->masq.n; i++) {
		const char *m = r->masq.v[i];
		bool negate = *m == '!';

		if (negate)
			m++;
		mlen = strlen(m);
		if (mlen == 0 || mlen > dlen)
			continue;
		if (mlen == dlen) {
			if (strcasecmp(d, m) == 0)
				break;		/* already masqueraded, or excluded */
			continue;
		}
		if (d[dlen - mlen - 1] != '.' || strcasecmp(d + dlen - mlen, m) != 0)
			continue;
		if (!negate) {
			str_reset(addr);
			str_appendf(addr, "%s@%s", local, m);
		}
		break;
	}
	free(local);
}

int
rewrite_address(struct rewrite *r, enum rewrite_class cls, const char *addr, struct str *out,
    const char **error_r)
{
	struct maps *specific;
	int bit;

	rewrite_local(r, addr, out);
	if (out->len == 0)
		return 0;
	switch (cls) {
	case REWRITE_ENVELOPE_SENDER:
		bit = CLASS_ENV_FROM;
		specific = r->sender_canonical;
		break;
	case REWRITE_HEADER_SENDER:
		bit = CLASS_HDR_FROM;
		specific = r->sender_canonical;
		break;
	case REWRITE_ENVELOPE_RECIPIENT:
		bit = CLASS_ENV_RCPT;
		specific = r->recipient_canonical;
		break;
	default:
		bit = CLASS_HDR_RCPT;
		specific = r->recipient_canonical;
		break;
	}
	/* sender_canonical_classes and recipient_canonical_classes default to
	 * the same classes as canonical_classes */
	if ((r->classes & bit) != 0) {
		if (specific != NULL && rewrite_map11(r, specific, out, error_r) < 0)
			return -1;
		if (r->canonical != NULL && rewrite_map11(r, r->canonical, out, error_r) < 0)
			return -1;
	}
	/* then masquerading, as Postfix's cleanup does it after canonical */
	if ((r->masq_classes & bit) != 0)
		rewrite_masquerade(r, out);
	return 0;
}

int
rewrite_virtual(struct rewrite *r, const char *rcpt, struct strvec *out, const char **error_r)
{
	struct strvec list, been_here, vals;
	size_t arg, i;
	long count;
	int found, ret = 0;

	if (r->virtual_alias == NULL) {
		strvec_push(out, rcpt);
		return 0;
	}
	strvec_init(&list);
	strvec_init(&been_here);
	strvec_push(&list, rcpt);
	/* Postfix's cleanup_map1n_internal: each address is expanded in place
	 * (its first result replaces it, the others are appended) until no
	 * alias matches; an address may expand into itself once. */
	for (arg = 0; arg < list.n && ret == 0; arg++) {
		if ((long)list.n > r->virt_expansion_limit) {
			free(r->error);
			r->error = xasprintf("unreasonable virtual_alias_maps map expansion size "
			    "for %s -- message not accepted", rcpt);
			*error_r = r->error;
			ret = -1;
			break;
		}
		for (count = 0;; count++) {
			if (strvec_contains(&been_here, list.v[arg]))
				break;
			if (count >= r->virt_recursion_limit) {
				free(r->error);
				r->error = xasprintf("unreasonable virtual_alias_maps map nesting "
				    "for %s -- message not accepted", rcpt);
				*error_r = r->error;
				ret = -1;
				break;
			}
			strvec_init(&vals);
			found = rewrite_lookup(r, r->virtual_alias, list.v[arg], r->prop_virtual,
			    &vals, error_r);
			if (found <= 0) {
				strvec_deinit(&vals);
				if (found < 0)
					ret = -1;
				break;
			}
			for (i = 0; i < vals.n; i++) {
				if (strcasecmp(vals.v[i], list.v[arg]) == 0)
					strvec_push(&been_here, list.v[arg]);
				if (i > 0)
					strvec_push(&list, vals.v[i]);
			}
			free(list.v[arg]);
			list.v[arg] = xstrdup(vals.v[0]);
			strvec_deinit(&vals);
		}
	}
	if (ret == 0) {
		/* duplicates collapse, as Postfix's been_here in cleanup_out_recipient */
		for (i = 0; i < list.n; i++) {
			size_t j;
			bool dup = false;

			for (j = 0; j < i && !dup; j++)
				dup = strcasecmp(list.v[i], list.v[j]) == 0;
			if (!dup)
				strvec_push(out, list.v[i]);
		}
	}
	strvec_deinit(&list);
	strvec_deinit(&been_here);
	return ret;
}

int
rewrite_recipient(struct rewrite *r, const char *rcpt, struct strvec *out, const char **error_r)
{
	struct str canon;
	int ret;

	str_init(&canon, 64);
	ret = rewrite_address(r, REWRITE_ENVELOPE_RECIPIENT, rcpt, &canon, error_r);
	if (ret == 0)
		ret = rewrite_virtual(r, canon.s, out, error_r);
	str_deinit(&canon);
	return ret;
}

int
rewrite_domain_in_list(struct maincf *cf, const char *param, const char *domain,
    const char **error_r)
{
	struct strvec items;
	struct str val, res;
	struct maps *m;
	size_t i, dlen = strlen(domain), ilen;
	int found = 0;

	str_init(&val, 128);
	if (maincf_get(cf, param, &val, error_r) != 0) {
		str_deinit(&val);
		return -1;
	}
	strvec_init(&items);
	maincf_list_split(val.s, &items);
	str_init(&res, 64);
	for (i = 0; i < items.n && found == 0; i++) {
		const char *it = items.v[i];

		if (*it == '/')
			continue;
		if (strchr(it, ':') != NULL) {
			/* a table: the domain is a key (its value does not matter) */
			if ((m = maps_open(it, MAPS_FLAG_DEFER_ERRORS, error_r)) == NULL) {
				found = -1;
				break;
			}
			found = maps_find(m, domain, &res, error_r);
			maps_free(&m);
			continue;
		}
		ilen = strlen(it);
		if (strcasecmp(it, domain) == 0)
			found = 1;
		else if (*it == '.' && dlen > ilen && strcasecmp(domain + dlen - ilen, it) == 0)
			found = 1;
	}
	str_deinit(&res);
	strvec_deinit(&items);
	str_deinit(&val);
	return found;
}
