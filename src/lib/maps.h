/* maps.h - Postfix-style lookup tables: "type:name", and lists of them.
 *
 * A table is named "type:name" as in Postfix: hash:/etc/aliases,
 * cdb:/etc/x, texthash:/etc/x, regexp:/etc/x, inline:{ a=b, { c = d e } },
 * static:value, unix:passwd.byname; "proxy:" in front is accepted and
 * ignored (yubin has no proxymap: tables are read directly). A list
 * ("hash:/a, regexp:/b c") is searched in order; the first table that has
 * the key answers, and a table error stops the search (Postfix's maps_find:
 * never skip a broken table, or a reject rule could be bypassed).
 *
 * The same table opened twice in one process is opened once (a cache with
 * reference counts), as Postfix's dict_open does.
 *
 * hash:, btree: and cdb: all read yubin's constant database (D. J.
 * Bernstein's cdb layout): /path.db for hash and btree, /path.cdb for cdb.
 * postmap and postalias build them through maps_writer_*: to a temporary
 * name, fsync, rename, so a reader never sees a half-built table.
 *
 * Keys of fixed-string tables (hash, btree, cdb, texthash, inline, unix)
 * are folded to lowercase, at build time and at lookup time, as Postfix
 * does by default; regexp tables see the key as given (their "i" flag
 * decides). Tests: tests/unit/lib/test_maps.c, tests/e2e/test_postmap.py. */
#ifndef YUBIN_MAPS_H
#define YUBIN_MAPS_H

#include <stdbool.h>
#include <stddef.h>

struct str;
struct strvec;
struct maps;

/* Limits that keep hostile or broken input bounded. */
#define MAPS_KEY_MAX		65536		/* longer lookup keys fail (-1) */
#define MAPS_SOURCE_MAX		(1024UL * 1024 * 1024)	/* source and texthash files */
#define MAPS_LINE_MAX		(1024UL * 1024)	/* one logical line of a source file */

/* maps_open flags */
#define MAPS_FLAG_NO_FOLD	0x01	/* keys keep their case (postmap -f) */
#define MAPS_FLAG_FOLD_PATTERN	0x02	/* lowercase keys for regexp tables too */
#define MAPS_FLAG_DEFER_ERRORS	0x04	/* a table that cannot be opened does not fail
					 * maps_open: each lookup in it fails (-1), as
					 * Postfix's daemons defer on a broken table */

/* maps_open - open every table of a list ("a, b c"; {braced} items stay
 * whole). NULL with *error_r on an empty list, an unknown type, a malformed
 * name, or (without MAPS_FLAG_DEFER_ERRORS) a table that cannot be opened.
 * Error texts stay valid for the life of the process. */
struct maps *maps_open(const char *spec_list, int flags, const char **error_r);
/* maps_find - 1 found (value in value_r, reset first), 0 not found in any
 * table, -1 error (a table could not be read, or the key is longer than
 * MAPS_KEY_MAX) with *error_r. An empty key is never found. */
int	 maps_find(struct maps *, const char *key, struct str *value_r, const char **error_r);
void	 maps_free(struct maps **);
/* maps_title - the list as given to maps_open, for log lines */
const char *maps_title(const struct maps *);
/* maps_type_is_known - "hash", "regexp", ... (postfix check reports
 * "unsupported dictionary type" for the others) */
bool	 maps_type_is_known(const char *type);

/* Partial-key address search, Postfix's order.
 *   MAPS_ADDR_ACCESS (access(5)): user+ext@domain, user@domain, domain,
 *     then parent domains when asked, user+ext@, user@.
 *   MAPS_ADDR_VIRTUAL (virtual(5)): user+ext@domain, user@domain,
 *     user+ext and user when the domain is local, @domain.
 * Pattern tables (regexp) are asked for the full address only, as Postfix
 * does. An address without "@" is a bare local part. */
enum maps_addr_style {
	MAPS_ADDR_ACCESS,
	MAPS_ADDR_VIRTUAL,
};
#define MAPS_ADDR_PARENT	0x01	/* access: then "example.com" for "a.example.com" */
#define MAPS_ADDR_DOT_PARENT	0x02	/* access: then ".example.com" for "a.example.com" */
#define MAPS_ADDR_LOCAL_DOMAIN	0x04	/* virtual: the domain is local; try "user" */

struct maps_addr_opts {
	enum maps_addr_style	 style;
	int			 flags;		/* MAPS_ADDR_* */
	const char		*delimiters;	/* recipient_delimiter; NULL or "" = none */
};

/* maps_address_keys - the keys maps_find_address tries, in order (appended) */
void	 maps_address_keys(const char *addr, const struct maps_addr_opts *, struct strvec *keys_r);
/* maps_find_address - 1/0/-1 as maps_find; key_r (may be NULL) gets the key
 * that matched */
int	 maps_find_address(struct maps *, const char *addr, const struct maps_addr_opts *,
	    struct str *value_r, struct str *key_r, const char **error_r);

/* Postfix's table source format, shared by postmap, postalias, texthash.
 *   MAPS_SOURCE_POSTMAP: "key whitespace value"
 *   MAPS_SOURCE_ALIASES: "name: value, value" with RFC 822 tokens: quoted
 *     names ("a b": x), values rewritten as Postfix stores them ("a,b" is
 *     "a, b"), "|command", "/file", ":include:/file" kept as text.
 * "#" lines and blank lines are comments; a line that starts with white
 * space continues the previous one. Bad lines are logged as Postfix does
 * ("PATH, line N: expected format: key whitespace value") and skipped.
 * Keys are lowercased unless MAPS_FLAG_NO_FOLD. fn returns 0 to go on, -1
 * to stop; maps_source_parse returns the number of warnings, or -1 when fn
 * stopped. */
enum maps_source_format {
	MAPS_SOURCE_POSTMAP,
	MAPS_SOURCE_ALIASES,
};
typedef int maps_source_fn(void *ctx, const char *key, const char *value, int line);
int	 maps_source_parse(const char *path, const char *text, size_t len,
	    enum maps_source_format, int flags, maps_source_fn *fn, void *ctx);

/* Building an indexed table (hash:, btree:, cdb:). */
struct maps_writer;
#define MAPS_WRITE_DUP_REPLACE	0x100	/* a later duplicate replaces (postmap -r) */
#define MAPS_WRITE_DUP_IGNORE	0x200	/* duplicates are ignored silently (postmap -w) */
					/* default: warn "duplicate entry", first wins */

/* maps_table_path - the file a "type:name" table is stored in
 * (hash:/x -> /x.db), into path_r; -1 with *error_r for a type that has no
 * file of its own to build (regexp, inline, ...), or an unknown type */
int	 maps_table_path(const char *spec, struct str *path_r, const char **error_r);
/* maps_writer_new - an empty table in memory; flags MAPS_FLAG_NO_FOLD and
 * MAPS_WRITE_DUP_*. NULL with *error_r for an unsupported type. */
struct maps_writer *maps_writer_new(const char *spec, int flags, const char **error_r);
/* maps_writer_load - add what the table file has now (postmap -i);
 * a missing file adds nothing. -1 with *error_r when it cannot be read. */
int	 maps_writer_load(struct maps_writer *, const char **error_r);
/* maps_writer_add - 1 added, 0 duplicate (handled per the flags) */
int	 maps_writer_add(struct maps_writer *, const char *key, const char *value);
/* maps_writer_delete - 1 removed, 0 absent */
int	 maps_writer_delete(struct maps_writer *, const char *key);
/* maps_writer_commit - write the file: temporary name, fsync, rename.
 * mode is the file's permission bits; uid/gid (-1 = keep) its owner. */
int	 maps_writer_commit(struct maps_writer *, int mode, long uid, long gid,
	    const char **error_r);
void	 maps_writer_free(struct maps_writer **);

/* maps_iterate - every entry of one table (postmap -s), in file order;
 * fn returns 0 to go on. -1 with *error_r for tables that cannot be listed
 * (regexp, unix, ...) or cannot be read. */
typedef int maps_iterate_fn(void *ctx, const char *key, const char *value);
int	 maps_iterate(const char *spec, int flags, maps_iterate_fn *fn, void *ctx,
	    const char **error_r);

#endif
