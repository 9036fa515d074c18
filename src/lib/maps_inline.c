/* maps_inline.c - inline:{ key=value, { key = value with spaces } }, a
 * table written in main.cf (Postfix's dict_inline). The entries go into an
 * in-memory constant database, so lookups share maps_cdb.c's code.
 * Tests: tests/unit/lib/test_maps.c */
#include "lib/maps-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"

/* trim - [*p, *end) without white space at either end */
static void
trim(const char **p, const char **end)
{
	while (*p < *end && isspace((unsigned char)**p))
		(*p)++;
	while (*end > *p && isspace((unsigned char)(*end)[-1]))
		(*end)--;
}

/* item_end - where the item at p ends: its matching '}' + 1 for a braced
 * item, else the next comma or white space; NULL for an unmatched '{' */
static const char *
item_end(const char *p, const char *end)
{
	int depth = 0;

	if (*p != '{') {
		while (p < end && *p != ',' && !isspace((unsigned char)*p))
			p++;
		return p;
	}
	for (; p < end; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			return p + 1;
	}
	return NULL;
}

static int
inline_open(struct maps_table *t, const char **error_r)
{
	const char *p = t->name, *end = p + strlen(p);
	struct maps_cdb_make *mk;
	struct str key, val;
	int ret = -1;

	if (*p != '{' || end[-1] != '}' || end - p < 2) {
		*error_r = maps_error("inline:%s: need \"inline:{name=value...}\"", t->name);
		return -1;
	}
	p++;
	end--;
	mk = maps_cdb_make_new();
	str_init(&key, 64);
	str_init(&val, 64);
	for (;;) {
		const char *ie, *ip, *eq, *ke, *vs, *ve;

		while (p < end && (*p == ',' || isspace((unsigned char)*p)))
			p++;
		if (p == end)
			break;
		if ((ie = item_end(p, end)) == NULL) {
			*error_r = maps_error("inline:%s: missing '}'", t->name);
			goto out;
		}
		ip = p;
		ke = ie;
		if (*p == '{') {
			ip = p + 1;
			ke = ie - 1;
		}
		trim(&ip, &ke);
		eq = memchr(ip, '=', (size_t)(ke - ip));
		if (eq == NULL || eq == ip) {
			*error_r = maps_error("inline:%s: \"%.*s\": need name=value pair",
			    t->name, (int)(ie - p), p);
			goto out;
		}
		vs = eq + 1;
		ve = ke;
		ke = eq;
		trim(&ip, &ke);
		trim(&vs, &ve);
		str_reset(&key);
		str_append_n(&key, ip, (size_t)(ke - ip));
		str_reset(&val);
		str_append_n(&val, vs, (size_t)(ve - vs));
		if (!(t->flags & MAPS_FLAG_NO_FOLD))
			maps_fold(key.s);
		/* the first of two equal keys wins, as in a postmap'd table */
		(void)maps_cdb_make_add(mk, key.s, val.s, false);
		p = ie;
	}
	if (maps_cdb_make_count(mk) == 0) {
		*error_r = maps_error("inline:%s: empty table", t->name);
		goto out;
	}
	if ((t->ctx = maps_cdb_new_from_make(mk, error_r)) != NULL)
		ret = 0;
out:
	maps_cdb_make_free(&mk);
	str_deinit(&key);
	str_deinit(&val);
	return ret;
}

static int
inline_lookup(struct maps_table *t, const char *key, struct str *value_r, const char **error_r)
{
	return maps_cdb_lookup_table(t->ctx, t, key, value_r, error_r);
}

static int
inline_iterate(struct maps_table *t, maps_iterate_fn *fn, void *ctx, const char **error_r)
{
	return maps_cdb_iterate(t->ctx, fn, ctx);
}

static void
inline_close(struct maps_table *t)
{
	struct maps_cdb *db = t->ctx;

	if (db != NULL) {
		maps_cdb_deinit(db);
		XFREE(t->ctx);
	}
}

const struct maps_backend maps_backend_inline = {
	"inline", 0, inline_open, inline_lookup, inline_iterate, inline_close,
};
