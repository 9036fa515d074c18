/* maps-private.h - what a lookup-table back end implements (one vtable
 * level: "who implements hash:" is one grep for maps_backend_), and the
 * shared constant-database helpers. Not for callers of maps.h. */
#ifndef YUBIN_MAPS_PRIVATE_H
#define YUBIN_MAPS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/maps.h"

struct str;
struct maps_table;

#define MAPS_BACKEND_PATTERN	0x01	/* matches patterns: full keys only, no folding */

struct maps_backend {
	const char	*type;
	unsigned	 flags;		/* MAPS_BACKEND_* */
	/* open - read what the table needs; 0, or -1 with *error_r */
	int	(*open)(struct maps_table *, const char **error_r);
	/* lookup - 1/0/-1 as maps_find; the key is already folded as needed */
	int	(*lookup)(struct maps_table *, const char *key, struct str *value_r,
		    const char **error_r);
	/* iterate - NULL when the table cannot be listed */
	int	(*iterate)(struct maps_table *, maps_iterate_fn *, void *ctx,
		    const char **error_r);
	void	(*close)(struct maps_table *);
};

/* One opened table, shared through the cache. */
struct maps_table {
	const struct maps_backend *be;		/* borrowed, static */
	char		*type;			/* owned: "hash" */
	char		*name;			/* owned: "/etc/aliases" */
	int		 flags;			/* MAPS_FLAG_* given at open */
	void		*ctx;			/* owned by the back end */
	const char	*open_error;		/* interned; set when open failed (deferred) */
	unsigned	 refcount;
	struct maps_table *next;		/* the cache list */
};

extern const struct maps_backend maps_backend_hash;
extern const struct maps_backend maps_backend_btree;
extern const struct maps_backend maps_backend_cdb;
extern const struct maps_backend maps_backend_texthash;
extern const struct maps_backend maps_backend_inline;
extern const struct maps_backend maps_backend_static;
extern const struct maps_backend maps_backend_regexp;
extern const struct maps_backend maps_backend_unix;
extern const struct maps_backend maps_backend_nis;

/* the CPU time a costly pattern may take in regcomp_is_cheap's child (0: the
 * default, 1 s); for tests */
void	 maps_regexp_set_probe_ms(unsigned ms);

/* maps_error - an error text that stays valid for the life of the process
 * (interned: the same text is stored once; past a cap, a generic text) */
const char *maps_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* maps_fold - lowercase ASCII in place */
void	 maps_fold(char *s);

/* maps_source_lines - the logical lines of a source file (the rules of
 * maps_source_parse), each NUL-terminated; fn may modify the line and
 * returns 0 to go on. The number of warnings, or -1 when fn stopped. */
typedef int maps_line_fn(void *ctx, struct str *line, int lineno);
int	 maps_source_lines(const char *path, const char *text, size_t len, maps_line_fn *fn,
	    void *ctx);

/* The constant database (cdb layout): a 2048-byte header of 256
 * (position, length) pairs, records (klen, dlen, key, data), then 256 hash
 * tables of (hash, position) slots. All numbers 32-bit little-endian. */
#define MAPS_CDB_HEADER		2048
uint32_t maps_cdb_hash(const void *key, size_t len);

/* maps_cdb_make - a table being built in memory */
struct maps_cdb_make;
struct maps_cdb_make *maps_cdb_make_new(void);
void	 maps_cdb_make_free(struct maps_cdb_make **);
/* add: 1 added, 0 the key exists (replaced when replace is set) */
int	 maps_cdb_make_add(struct maps_cdb_make *, const char *key, const char *value,
	    bool replace);
int	 maps_cdb_make_delete(struct maps_cdb_make *, const char *key);
size_t	 maps_cdb_make_count(const struct maps_cdb_make *);
/* finish: the whole file image into out (reset first); -1 past 4 GiB */
int	 maps_cdb_make_finish(struct maps_cdb_make *, struct str *out);

/* maps_cdb - a read-only view of a file image (mmap'd or in memory) */
struct maps_cdb {
	const unsigned char *data;	/* borrowed or owned, see owner */
	size_t		 len;
	void		*mapping;	/* owned mmap, or NULL */
	char		*owned;		/* owned malloc copy, or NULL */
};
/* maps_cdb_init_mem - take ownership of an image (from str_export) */
int	 maps_cdb_init_mem(struct maps_cdb *, char *image, size_t len, const char **why_r);
/* maps_cdb_init_file - map a file; -1 with errno (ENOENT ...) or *why_r */
int	 maps_cdb_init_file(struct maps_cdb *, const char *path, const char **why_r);
void	 maps_cdb_deinit(struct maps_cdb *);
/* maps_cdb_get - 1 found (value appended to value_r after reset), 0 not,
 * -1 corrupt */
int	 maps_cdb_get(const struct maps_cdb *, const char *key, size_t klen, struct str *value_r);
int	 maps_cdb_iterate(const struct maps_cdb *, maps_iterate_fn *, void *ctx);

/* maps_cdb_source_open - texthash and inline: build an in-memory table */
struct maps_cdb *maps_cdb_new_from_make(struct maps_cdb_make *, const char **error_r);
int	 maps_cdb_lookup_table(const struct maps_cdb *, const struct maps_table *,
	    const char *key, struct str *value_r, const char **error_r);

#endif
