/* maps.c - open "type:name" tables and lists of them, search them in
 * order, and the partial-key address search (see maps.h).
 *
 * Owns: the table cache (one struct maps_table per type, name and flags,
 * shared by reference count) and the interned error texts. Back ends live
 * in maps_<type>.c behind struct maps_backend (maps-private.h).
 * Tests: tests/unit/lib/test_maps.c */
#include "lib/maps-private.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

struct maps {
	char			*title;		/* owned: the list as given */
	struct maps_table	**tables;	/* each one reference */
	size_t			 n;
	int			 flags;
	struct str		 fold;		/* scratch for folded keys */
};

static const struct maps_backend *const maps_backends[] = {
	&maps_backend_hash, &maps_backend_btree, &maps_backend_cdb,
	&maps_backend_texthash, &maps_backend_inline, &maps_backend_static,
	&maps_backend_regexp, &maps_backend_unix, &maps_backend_nis,
};
#define N_BACKENDS (sizeof(maps_backends) / sizeof(maps_backends[0]))

static struct maps_table *maps_cache;	/* every open table */

/* Error texts: interned so that a caller may keep one as long as it likes
 * (no static buffer that the next error overwrites). Distinct texts are
 * few (paths and errno strings); the cap only guards against a caller that
 * loops over endless new file names. */
#define MAPS_ERRORS_MAX 1024
static struct strvec maps_errors;

const char *
maps_error(const char *fmt, ...)
{
	struct str s;
	va_list ap;
	size_t i;

	str_init(&s, 128);
	va_start(ap, fmt);
	str_vappendf(&s, fmt, ap);
	va_end(ap);
	for (i = 0; i < maps_errors.n; i++) {
		if (strcmp(maps_errors.v[i], s.s) == 0) {
			str_deinit(&s);
			return maps_errors.v[i];
		}
	}
	if (maps_errors.n >= MAPS_ERRORS_MAX) {
		str_deinit(&s);
		return "lookup table error (too many distinct errors to keep)";
	}
	strvec_push_take(&maps_errors, str_export(&s));
	str_deinit(&s);
	return maps_errors.v[maps_errors.n - 1];
}

void
maps_fold(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static const struct maps_backend *
backend_find(const char *type)
{
	size_t i;

	for (i = 0; i < N_BACKENDS; i++)
		if (strcmp(maps_backends[i]->type, type) == 0)
			return maps_backends[i];
	return NULL;
}

bool
maps_type_is_known(const char *type)
{
	return strcmp(type, "proxy") == 0 || backend_find(type) != NULL;
}

/* table_release - drop one reference; the last one closes the table */
static void
table_release(struct maps_table *t)
{
	struct maps_table **pp;

	if (--t->refcount > 0)
		return;
	for (pp = &maps_cache; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	if (t->open_error == NULL && t->be->close != NULL)
		t->be->close(t);
	free(t->type);
	free(t->name);
	free(t);
}

/* table_get - the cached table, or open it. NULL with *error_r for a bad
 * spec or (unless deferred) an open failure. */
static struct maps_table *
table_get(const char *spec, int flags, const char **error_r)
{
	const struct maps_backend *be;
	struct maps_table *t;
	const char *colon;
	char *type;

	/* proxy: asks Postfix's proxymap to do the lookup; yubin's tables are
	 * read directly, so the prefix only names the table behind it. */
	while (strncmp(spec, "proxy:", 6) == 0)
		spec += 6;
	colon = strchr(spec, ':');
	if (colon == NULL || colon == spec) {
		*error_r = maps_error("need dictionary type:name, not \"%s\"", spec);
		return NULL;
	}
	type = xstrndup(spec, (size_t)(colon - spec));
	if ((be = backend_find(type)) == NULL) {
		*error_r = maps_error("unsupported dictionary type: %s", type);
		free(type);
		return NULL;
	}
	for (t = maps_cache; t != NULL; t = t->next) {
		if (t->be == be && t->flags == flags && strcmp(t->name, colon + 1) == 0) {
			free(type);
			t->refcount++;
			return t;
		}
	}
	t = xcalloc(1, sizeof(*t));
	t->be = be;
	t->type = type;
	t->name = xstrdup(colon + 1);
	t->flags = flags;
	t->refcount = 1;
	if (be->open(t, error_r) < 0) {
		if (!(flags & MAPS_FLAG_DEFER_ERRORS)) {
			free(t->type);
			free(t->name);
			free(t);
			return NULL;
		}
		/* Postfix's surrogate table: the daemon runs, lookups defer. */
		t->open_error = *error_r;
	}
	t->next = maps_cache;
	maps_cache = t;
	return t;
}

struct maps *
maps_open(const char *spec_list, int flags, const char **error_r)
{
	struct strvec items;
	struct maps *m;
	size_t i;

	strvec_init(&items);
	maincf_list_split(spec_list, &items);
	if (items.n == 0) {
		strvec_deinit(&items);
		*error_r = "empty list of lookup tables";
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->title = xstrdup(spec_list);
	m->flags = flags;
	m->tables = xcalloc(items.n, sizeof(*m->tables));
	str_init(&m->fold, 64);
	for (i = 0; i < items.n; i++) {
		if ((m->tables[m->n] = table_get(items.v[i], flags, error_r)) == NULL) {
			strvec_deinit(&items);
			maps_free(&m);
			return NULL;
		}
		m->n++;
	}
	strvec_deinit(&items);
	return m;
}

void
maps_free(struct maps **mp)
{
	struct maps *m = *mp;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		table_release(m->tables[i]);
	free(m->tables);
	free(m->title);
	str_deinit(&m->fold);
	XFREE(*mp);
}

const char *
maps_title(const struct maps *m)
{
	return m->title;
}

/* table_find - one table; pattern tables see the key as given unless the
 * caller asked for folding there too */
static int
table_find(struct maps *m, struct maps_table *t, const char *key, struct str *value_r,
    const char **error_r)
{
	bool pattern = (t->be->flags & MAPS_BACKEND_PATTERN) != 0;
	bool fold = pattern ? (m->flags & MAPS_FLAG_FOLD_PATTERN) != 0 :
	    !(m->flags & MAPS_FLAG_NO_FOLD);

	if (t->open_error != NULL) {
		*error_r = t->open_error;
		return -1;
	}
	if (fold) {
		str_reset(&m->fold);
		str_append(&m->fold, key);
		maps_fold(m->fold.s);
		key = m->fold.s;
	}
	return t->be->lookup(t, key, value_r, error_r);
}

/* maps_find_partial - partial keys skip pattern tables, as Postfix's
 * DICT_FLAG_FIXED lookups do: a regexp sees the whole address only */
static int
maps_find_partial(struct maps *m, const char *key, bool partial, struct str *value_r,
    const char **error_r)
{
	size_t i;
	int r;

	if (*key == '\0')
		return 0;
	if (strlen(key) > MAPS_KEY_MAX) {
		*error_r = maps_error("%s: lookup key is longer than %d bytes", m->title,
		    MAPS_KEY_MAX);
		return -1;
	}
	for (i = 0; i < m->n; i++) {
		if (partial && (m->tables[i]->be->flags & MAPS_BACKEND_PATTERN))
			continue;
		if ((r = table_find(m, m->tables[i], key, value_r, error_r)) != 0)
			return r;
	}
	return 0;
}

int
maps_find(struct maps *m, const char *key, struct str *value_r, const char **error_r)
{
	return maps_find_partial(m, key, false, value_r, error_r);
}

/* Address search. */

/* strip_extension - local part without "+ext" (at the first of the
 * delimiters; Postfix 2.11+ takes a set), or NULL when it has none. As
 * Postfix's split_addr: a leading delimiter is not an extension, and with
 * "-" owner-x and x-request stay whole (mailing-list conventions). */
static char *
strip_extension(const char *local, size_t len, const char *delimiters)
{
	size_t i;

	if (delimiters == NULL || *delimiters == '\0')
		return NULL;
	for (i = 1; i < len; i++) {
		if (strchr(delimiters, local[i]) == NULL || local[i] == '\0')
			continue;
		if (local[i] == '-' && (strncasecmp(local, "owner-", 6) == 0 ||
		    (len >= 8 && strncasecmp(local + len - 8, "-request", 8) == 0)))
			return NULL;
		return xstrndup(local, i);
	}
	return NULL;
}

void
maps_address_keys(const char *addr, const struct maps_addr_opts *o, struct strvec *keys_r)
{
	const char *at = strrchr(addr, '@');
	size_t llen = at != NULL ? (size_t)(at - addr) : strlen(addr);
	const char *domain = at != NULL ? at + 1 : NULL;
	char *local = xstrndup(addr, llen), *bare;

	bare = strip_extension(local, llen, o->delimiters);
	strvec_push(keys_r, addr);
	if (domain == NULL) {
		if (bare != NULL)
			strvec_push(keys_r, bare);
		goto out;
	}
	if (bare != NULL)
		strvec_push_take(keys_r, xasprintf("%s@%s", bare, domain));
	if (o->style == MAPS_ADDR_ACCESS) {
		const char *d = domain;

		if (*domain != '\0')
			strvec_push(keys_r, domain);
		while (*d != '\0' && (o->flags & (MAPS_ADDR_PARENT | MAPS_ADDR_DOT_PARENT))) {
			const char *dot = strchr(d + 1, '.');

			if (dot == NULL)
				break;
			if (o->flags & MAPS_ADDR_PARENT)
				strvec_push(keys_r, dot + 1);
			if (o->flags & MAPS_ADDR_DOT_PARENT)
				strvec_push(keys_r, dot);
			d = dot + 1;
		}
		strvec_push_take(keys_r, xasprintf("%s@", local));
		if (bare != NULL)
			strvec_push_take(keys_r, xasprintf("%s@", bare));
	} else {
		if (o->flags & MAPS_ADDR_LOCAL_DOMAIN) {
			strvec_push(keys_r, local);
			if (bare != NULL)
				strvec_push(keys_r, bare);
		}
		strvec_push_take(keys_r, xasprintf("@%s", domain));
	}
out:
	free(local);
	free(bare);
}

int
maps_find_address(struct maps *m, const char *addr, const struct maps_addr_opts *o,
    struct str *value_r, struct str *key_r, const char **error_r)
{
	struct strvec keys;
	size_t i;
	int r = 0;

	strvec_init(&keys);
	maps_address_keys(addr, o, &keys);
	for (i = 0; i < keys.n; i++) {
		if ((r = maps_find_partial(m, keys.v[i], i > 0, value_r, error_r)) != 0) {
			if (r > 0 && key_r != NULL) {
				str_reset(key_r);
				str_append(key_r, keys.v[i]);
			}
			break;
		}
	}
	strvec_deinit(&keys);
	return r;
}

int
maps_iterate(const char *spec, int flags, maps_iterate_fn *fn, void *ctx, const char **error_r)
{
	struct maps_table *t;
	int r;

	if ((t = table_get(spec, flags & ~MAPS_FLAG_DEFER_ERRORS, error_r)) == NULL)
		return -1;
	if (t->be->iterate == NULL) {
		*error_r = maps_error("%s:%s: table cannot be listed", t->type, t->name);
		r = -1;
	} else {
		r = t->be->iterate(t, fn, ctx, error_r);
	}
	table_release(t);
	return r;
}
