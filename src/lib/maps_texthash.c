/* maps_texthash.c - texthash:/path: a postmap source file read at open,
 * no index file (Postfix's dict_thash). Same parser as postmap, same
 * in-memory constant database as inline:. Tests: test_maps.c */
#include "lib/maps-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

struct thash_load {
	struct maps_cdb_make	*mk;	/* borrowed */
	const char		*path;
};

static int
thash_add(void *ctx, const char *key, const char *value, int line)
{
	struct thash_load *l = ctx;

	if (maps_cdb_make_add(l->mk, key, value, false) == 0)
		log_warn("%s, line %d: duplicate entry: \"%s\"", l->path, line, key);
	return 0;
}

static int
thash_open(struct maps_table *t, const char **error_r)
{
	struct thash_load l;
	struct str text;
	int ret = -1;

	str_init(&text, 4096);
	if (file_read(t->name, MAPS_SOURCE_MAX, &text) < 0) {
		*error_r = maps_error("open %s: %s", t->name,
		    errno == EFBIG ? "file is too large" : strerror(errno));
		str_deinit(&text);
		return -1;
	}
	l.mk = maps_cdb_make_new();
	l.path = t->name;
	(void)maps_source_parse(t->name, text.s, text.len, MAPS_SOURCE_POSTMAP,
	    t->flags & MAPS_FLAG_NO_FOLD, thash_add, &l);
	if ((t->ctx = maps_cdb_new_from_make(l.mk, error_r)) != NULL)
		ret = 0;
	maps_cdb_make_free(&l.mk);
	str_deinit(&text);
	return ret;
}

static int
thash_lookup(struct maps_table *t, const char *key, struct str *value_r, const char **error_r)
{
	return maps_cdb_lookup_table(t->ctx, t, key, value_r, error_r);
}

static int
thash_iterate(struct maps_table *t, maps_iterate_fn *fn, void *ctx, const char **error_r)
{
	return maps_cdb_iterate(t->ctx, fn, ctx);
}

static void
thash_close(struct maps_table *t)
{
	struct maps_cdb *db = t->ctx;

	if (db != NULL) {
		maps_cdb_deinit(db);
		XFREE(t->ctx);
	}
}

const struct maps_backend maps_backend_texthash = {
	"texthash", 0, thash_open, thash_lookup, thash_iterate, thash_close,
};
