/* maps_static.c - static:value and static:{ value with spaces }: every
 * key finds the same value (Postfix's dict_static). Tests: test_maps.c */
#include "lib/maps-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"

static int
static_open(struct maps_table *t, const char **error_r)
{
	const char *p = t->name, *end;

	if (*p == '{') {
		/* {braced}: the text inside, trimmed, may hold white space */
		end = p + strlen(p);
		if (end[-1] != '}' || end - p < 2) {
			*error_r = maps_error("static:%s: missing '}'", t->name);
			return -1;
		}
		p++;
		end--;
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		t->ctx = xstrndup(p, (size_t)(end - p));
	} else {
		t->ctx = xstrdup(p);
	}
	return 0;
}

static int
static_lookup(struct maps_table *t, const char *key, struct str *value_r, const char **error_r)
{
	str_reset(value_r);
	str_append(value_r, t->ctx);
	return 1;
}

static void
static_close(struct maps_table *t)
{
	XFREE(t->ctx);
}

/* Not a pattern table for folding, but it matches every partial key too,
 * as Postfix's static (DICT_FLAG_FIXED | DICT_FLAG_PATTERN) does. */
const struct maps_backend maps_backend_static = {
	"static", 0, static_open, static_lookup, NULL, static_close,
};
