/* fuzz_maps_source.c - postmap's and postalias's source parsers, and the
 * constant database built from what they accept (built, then read back). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/maps-private.h"
#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
add(void *ctx, const char *key, const char *value, int line)
{
	(void)maps_cdb_make_add(ctx, key, value, false);
	return 0;
}

static int
check(void *ctx, const char *key, const char *value)
{
	struct maps_cdb *db = ctx;
	struct str v;

	str_init(&v, 64);
	if (maps_cdb_get(db, key, strlen(key), &v) != 1)
		__builtin_trap();	/* every listed key must be found */
	str_deinit(&v);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum maps_source_format fmt;
	struct maps_cdb_make *mk;
	struct maps_cdb *db;
	const char *err;

	log_open("fuzz", 0);
	for (fmt = MAPS_SOURCE_POSTMAP; fmt <= MAPS_SOURCE_ALIASES; fmt++) {
		mk = maps_cdb_make_new();
		(void)maps_source_parse("fuzz", (const char *)data, size, fmt, 0, add, mk);
		if ((db = maps_cdb_new_from_make(mk, &err)) != NULL) {
			(void)maps_cdb_iterate(db, check, db);
			maps_cdb_deinit(db);
			free(db);
		}
		maps_cdb_make_free(&mk);
	}
	return 0;
}
