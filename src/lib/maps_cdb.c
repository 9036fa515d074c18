/* maps_cdb.c - the constant database behind hash:, btree: and cdb:, and the
 * in-memory tables of texthash: and inline:.
 *
 * The layout is D. J. Bernstein's cdb: a 2048-byte header of 256 (position,
 * length) pairs, then records (klen, dlen, key, data), then 256 open-
 * addressing hash tables of (hash, position) slots, numbers 32-bit
 * little-endian, hash h = ((h << 5) + h) ^ c from 5381. One format for all
 * three types keeps one reader to trust; "hash" and "btree" are names
 * Postfix configurations use, not different structures here.
 *
 * A table is built whole in memory and written to a temporary name, fsync'd
 * and renamed, so a reader maps either the old file or the new one. The
 * reader checks every offset against the file size: a truncated or foreign
 * file (a Berkeley DB .db from the real postmap) is an error, never an
 * out-of-bounds read. Tests: tests/unit/lib/test_maps.c */
#include "lib/maps-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

uint32_t
maps_cdb_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = 5381;

	while (len-- > 0)
		h = ((h << 5) + h) ^ *p++;
	return h;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Building. */

struct maps_cdb_entry {
	char		*key;		/* owned */
	char		*value;		/* owned */
	uint32_t	 hash;
	bool		 deleted;
};

struct maps_cdb_make {
	struct maps_cdb_entry *ents;	/* owned, in insertion order */
	size_t		 n, cap;
	size_t		 live;
	size_t		*index;		/* owned: entry number + 1, 0 = empty slot */
	size_t		 index_cap;	/* a power of two */
};

struct maps_cdb_make *
maps_cdb_make_new(void)
{
	struct maps_cdb_make *mk = xcalloc(1, sizeof(*mk));

	mk->index_cap = 64;
	mk->index = xcalloc(mk->index_cap, sizeof(size_t));
	return mk;
}

void
maps_cdb_make_free(struct maps_cdb_make **mkp)
{
	struct maps_cdb_make *mk = *mkp;
	size_t i;

	if (mk == NULL)
		return;
	for (i = 0; i < mk->n; i++) {
		free(mk->ents[i].key);
		free(mk->ents[i].value);
	}
	free(mk->ents);
	free(mk->index);
	XFREE(*mkp);
}

/* make_slot - the index slot of key: the entry's, or the empty one to use */
static size_t
make_slot(const struct maps_cdb_make *mk, const char *key, uint32_t h)
{
	size_t mask = mk->index_cap - 1, i = h & mask;

	while (mk->index[i] != 0) {
		const struct maps_cdb_entry *e = &mk->ents[mk->index[i] - 1];

		if (e->hash == h && strcmp(e->key, key) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static void
make_grow_index(struct maps_cdb_make *mk)
{
	size_t i, old_cap = mk->index_cap, *old = mk->index;

	mk->index_cap *= 2;
	mk->index = xcalloc(mk->index_cap, sizeof(size_t));
	for (i = 0; i < old_cap; i++) {
		if (old[i] != 0) {
			const struct maps_cdb_entry *e = &mk->ents[old[i] - 1];

			mk->index[make_slot(mk, e->key, e->hash)] = old[i];
		}
	}
	free(old);
}

int
maps_cdb_make_add(struct maps_cdb_make *mk, const char *key, const char *value, bool replace)
{
	uint32_t h = maps_cdb_hash(key, strlen(key));
	size_t slot = make_slot(mk, key, h);
	struct maps_cdb_entry *e;

	if (mk->index[slot] != 0) {
		e = &mk->ents[mk->index[slot] - 1];
		if (e->deleted) {
			/* a deleted key comes back where it was */
			e->deleted = false;
			free(e->value);
			e->value = xstrdup(value);
			mk->live++;
			return 1;
		}
		if (replace) {
			free(e->value);
			e->value = xstrdup(value);
		}
		return 0;
	}
	if (mk->n == mk->cap) {
		mk->cap = mk->cap ? mk->cap * 2 : 64;
		mk->ents = xreallocarray(mk->ents, mk->cap, sizeof(*mk->ents));
	}
	e = &mk->ents[mk->n++];
	e->key = xstrdup(key);
	e->value = xstrdup(value);
	e->hash = h;
	e->deleted = false;
	mk->index[slot] = mk->n;
	mk->live++;
	if (mk->n * 2 > mk->index_cap)
		make_grow_index(mk);
	return 1;
}

int
maps_cdb_make_delete(struct maps_cdb_make *mk, const char *key)
{
	size_t slot = make_slot(mk, key, maps_cdb_hash(key, strlen(key)));
	struct maps_cdb_entry *e;

	if (mk->index[slot] == 0)
		return 0;
	e = &mk->ents[mk->index[slot] - 1];
	if (e->deleted)
		return 0;
	e->deleted = true;
	mk->live--;
	return 1;
}

size_t
maps_cdb_make_count(const struct maps_cdb_make *mk)
{
	return mk->live;
}

int
maps_cdb_make_finish(struct maps_cdb_make *mk, struct str *out)
{
	uint32_t count[256] = { 0 }, start[256], *slots_h = NULL, *slots_p = NULL;
	uint64_t total = MAPS_CDB_HEADER;
	unsigned char head[MAPS_CDB_HEADER], rec[8];
	size_t i, b, nslots = 0;
	uint32_t *rpos = NULL;
	int ret = -1;

	/* Size first: the format has 32-bit offsets. */
	for (i = 0; i < mk->n; i++) {
		if (mk->ents[i].deleted)
			continue;
		total += 8 + strlen(mk->ents[i].key) + strlen(mk->ents[i].value);
		count[mk->ents[i].hash & 255]++;
	}
	total += (uint64_t)mk->live * 2 * 8;
	if (total > UINT32_MAX)
		return -1;

	str_reset(out);
	memset(head, 0, sizeof(head));
	str_append_n(out, head, sizeof(head));
	rpos = xcalloc(mk->n + 1, sizeof(uint32_t));
	for (i = 0; i < mk->n; i++) {
		const struct maps_cdb_entry *e = &mk->ents[i];
		size_t kl, vl;

		if (e->deleted)
			continue;
		kl = strlen(e->key);
		vl = strlen(e->value);
		rpos[i] = (uint32_t)out->len;
		put32(rec, (uint32_t)kl);
		put32(rec + 4, (uint32_t)vl);
		str_append_n(out, rec, 8);
		str_append_n(out, e->key, kl);
		str_append_n(out, e->value, vl);
	}

	/* One table per bucket, twice as many slots as entries (cdbmake's
	 * choice: probes stay short and the last slot is always empty). */
	for (b = 0; b < 256; b++) {
		start[b] = (uint32_t)nslots;
		nslots += (size_t)count[b] * 2;
	}
	slots_h = xcalloc(nslots + 1, sizeof(uint32_t));
	slots_p = xcalloc(nslots + 1, sizeof(uint32_t));
	for (i = 0; i < mk->n; i++) {
		const struct maps_cdb_entry *e = &mk->ents[i];
		uint32_t len, s;

		if (e->deleted)
			continue;
		b = e->hash & 255;
		len = count[b] * 2;
		s = (e->hash >> 8) % len;
		while (slots_p[start[b] + s] != 0)
			s = (s + 1) % len;
		slots_h[start[b] + s] = e->hash;
		slots_p[start[b] + s] = rpos[i];
	}
	for (b = 0; b < 256; b++) {
		uint32_t len = count[b] * 2, s;

		put32(head + b * 8, (uint32_t)out->len);
		put32(head + b * 8 + 4, len);
		for (s = 0; s < len; s++) {
			put32(rec, slots_h[start[b] + s]);
			put32(rec + 4, slots_p[start[b] + s]);
			str_append_n(out, rec, 8);
		}
	}
	memcpy(out->s, head, sizeof(head));
	ret = 0;
	free(rpos);
	free(slots_h);
	free(slots_p);
	return ret;
}

/* Reading. */

/* cdb_check - the header must point inside the file, or nothing is trusted */
static int
cdb_check(const unsigned char *data, size_t len, const char **why_r)
{
	size_t b;

	if (len < MAPS_CDB_HEADER) {
		*why_r = "file is too short to be a table";
		return -1;
	}
	for (b = 0; b < 256; b++) {
		uint64_t pos = get32(data + b * 8), n = get32(data + b * 8 + 4);

		if (pos < MAPS_CDB_HEADER || pos + n * 8 > len) {
			/* Berkeley DB keeps its magic at offset 12 */
			uint32_t magic = get32(data + 12);

			if (magic == 0x00061561 || magic == 0x00053162 ||
			    magic == 0x61150600 || magic == 0x62310500)
				*why_r = "is a Berkeley DB file, not a yubin table: "
				    "rebuild it with yubin's postmap or postalias";
			else
				*why_r = "not a yubin table, or a damaged one";
			return -1;
		}
	}
	return 0;
}

int
maps_cdb_init_mem(struct maps_cdb *db, char *image, size_t len, const char **why_r)
{
	memset(db, 0, sizeof(*db));
	db->owned = image;
	db->data = (const unsigned char *)image;
	db->len = len;
	if (cdb_check(db->data, len, why_r) < 0) {
		maps_cdb_deinit(db);
		return -1;
	}
	return 0;
}

int
maps_cdb_init_file(struct maps_cdb *db, const char *path, const char **why_r)
{
	struct stat st;
	void *p;
	int fd, saved;

	memset(db, 0, sizeof(*db));
	*why_r = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		*why_r = "not a regular file";
		goto fail;
	}
	if ((uint64_t)st.st_size < MAPS_CDB_HEADER || (uint64_t)st.st_size > UINT32_MAX) {
		*why_r = (uint64_t)st.st_size < MAPS_CDB_HEADER ?
		    "file is too short to be a table" : "file is too large to be a table";
		goto fail;
	}
	/* A private read-only mapping: rename() replaces the file, never its
	 * pages, so a mapped table stays whole until it is closed. */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);
	db->mapping = p;
	db->data = p;
	db->len = (size_t)st.st_size;
	if (cdb_check(db->data, db->len, why_r) < 0) {
		maps_cdb_deinit(db);
		return -1;
	}
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

void
maps_cdb_deinit(struct maps_cdb *db)
{
	if (db->mapping != NULL)
		munmap(db->mapping, db->len);
	free(db->owned);
	memset(db, 0, sizeof(*db));
}

int
maps_cdb_get(const struct maps_cdb *db, const char *key, size_t klen, struct str *value_r)
{
	uint32_t h = maps_cdb_hash(key, klen), tpos, tlen, s, i;

	if (db->len < MAPS_CDB_HEADER)
		return -1;
	tpos = get32(db->data + (h & 255) * 8);
	tlen = get32(db->data + (h & 255) * 8 + 4);
	if (tlen == 0)
		return 0;
	if ((uint64_t)tpos + (uint64_t)tlen * 8 > db->len)
		return -1;
	s = (h >> 8) % tlen;
	for (i = 0; i < tlen; i++) {
		const unsigned char *slot = db->data + tpos + (uint64_t)s * 8;
		uint32_t sh = get32(slot), rp = get32(slot + 4);

		if (rp == 0)
			return 0;
		if (sh == h) {
			uint64_t kl, dl;

			if ((uint64_t)rp + 8 > db->len)
				return -1;
			kl = get32(db->data + rp);
			dl = get32(db->data + rp + 4);
			if ((uint64_t)rp + 8 + kl + dl > db->len)
				return -1;
			if (kl == klen && memcmp(db->data + rp + 8, key, klen) == 0) {
				str_reset(value_r);
				str_append_n(value_r, db->data + rp + 8 + kl, (size_t)dl);
				return 1;
			}
		}
		if (++s == tlen)
			s = 0;
	}
	return 0;
}

int
maps_cdb_iterate(const struct maps_cdb *db, maps_iterate_fn *fn, void *ctx)
{
	uint64_t pos = MAPS_CDB_HEADER, end = db->len;
	struct str k, v;
	size_t b;
	int ret = 0;

	for (b = 0; b < 256; b++) {
		uint32_t p = get32(db->data + b * 8);

		if (p < end)
			end = p;
	}
	str_init(&k, 64);
	str_init(&v, 64);
	while (pos + 8 <= end) {
		uint64_t kl = get32(db->data + pos), dl = get32(db->data + pos + 4);

		if (pos + 8 + kl + dl > end) {
			ret = -1;
			break;
		}
		str_reset(&k);
		str_append_n(&k, db->data + pos + 8, (size_t)kl);
		str_reset(&v);
		str_append_n(&v, db->data + pos + 8 + kl, (size_t)dl);
		if (fn(ctx, k.s, v.s) != 0)
			break;
		pos += 8 + kl + dl;
	}
	str_deinit(&k);
	str_deinit(&v);
	return ret;
}

struct maps_cdb *
maps_cdb_new_from_make(struct maps_cdb_make *mk, const char **error_r)
{
	struct maps_cdb *db = xcalloc(1, sizeof(*db));
	struct str img;
	const char *why;
	size_t len;

	str_init(&img, 4096);
	if (maps_cdb_make_finish(mk, &img) < 0) {
		str_deinit(&img);
		free(db);
		*error_r = "table is larger than 4 GiB";
		return NULL;
	}
	len = img.len;
	if (maps_cdb_init_mem(db, str_export(&img), len, &why) < 0) {
		free(db);
		*error_r = why;
		return NULL;
	}
	return db;
}

int
maps_cdb_lookup_table(const struct maps_cdb *db, const struct maps_table *t, const char *key,
    struct str *value_r, const char **error_r)
{
	int r = maps_cdb_get(db, key, strlen(key), value_r);

	if (r < 0)
		*error_r = maps_error("%s:%s: table is damaged", t->type, t->name);
	return r;
}

/* The hash:, btree: and cdb: back ends. */

static const char *
file_suffix(const char *type)
{
	return strcmp(type, "cdb") == 0 ? ".cdb" : ".db";
}

static int
file_open(struct maps_table *t, const char **error_r)
{
	struct maps_cdb *db = xcalloc(1, sizeof(*db));
	char *path = xasprintf("%s%s", t->name, file_suffix(t->type));
	const char *why;

	if (maps_cdb_init_file(db, path, &why) < 0) {
		if (why == NULL)
			*error_r = maps_error("open database %s: %s", path, strerror(errno));
		else
			*error_r = maps_error("open database %s: %s", path, why);
		free(path);
		free(db);
		return -1;
	}
	free(path);
	t->ctx = db;
	return 0;
}

static int
file_lookup(struct maps_table *t, const char *key, struct str *value_r, const char **error_r)
{
	return maps_cdb_lookup_table(t->ctx, t, key, value_r, error_r);
}

static int
file_iterate(struct maps_table *t, maps_iterate_fn *fn, void *ctx, const char **error_r)
{
	if (maps_cdb_iterate(t->ctx, fn, ctx) < 0) {
		*error_r = maps_error("%s:%s: table is damaged", t->type, t->name);
		return -1;
	}
	return 0;
}

static void
file_close(struct maps_table *t)
{
	struct maps_cdb *db = t->ctx;

	if (db != NULL) {
		maps_cdb_deinit(db);
		free(db);
		t->ctx = NULL;
	}
}

const struct maps_backend maps_backend_hash = {
	"hash", 0, file_open, file_lookup, file_iterate, file_close,
};
const struct maps_backend maps_backend_btree = {
	"btree", 0, file_open, file_lookup, file_iterate, file_close,
};
const struct maps_backend maps_backend_cdb = {
	"cdb", 0, file_open, file_lookup, file_iterate, file_close,
};

/* The writer (postmap, postalias). */

struct maps_writer {
	char		*path;		/* owned: /etc/aliases.db */
	int		 flags;
	struct maps_cdb_make *mk;	/* owned */
	struct str	 fold;
};

/* split_spec - "type:name" with the type known to be writable */
static int
split_spec(const char *spec, char **type_r, const char **name_r, const char **error_r)
{
	const char *colon = strchr(spec, ':');
	char *type;

	if (strncmp(spec, "proxy:", 6) == 0)
		return split_spec(spec + 6, type_r, name_r, error_r);
	if (colon == NULL || colon == spec || colon[1] == '\0') {
		*error_r = maps_error("need dictionary type:name, not \"%s\"", spec);
		return -1;
	}
	type = xstrndup(spec, (size_t)(colon - spec));
	if (strcmp(type, "hash") != 0 && strcmp(type, "btree") != 0 && strcmp(type, "cdb") != 0) {
		if (maps_type_is_known(type))
			*error_r = maps_error("%s: table type cannot be built: it is read "
			    "as it is", type);
		else
			*error_r = maps_error("unsupported dictionary type: %s", type);
		free(type);
		return -1;
	}
	*type_r = type;
	*name_r = colon + 1;
	return 0;
}

int
maps_table_path(const char *spec, struct str *path_r, const char **error_r)
{
	const char *name;
	char *type;

	if (split_spec(spec, &type, &name, error_r) < 0)
		return -1;
	str_reset(path_r);
	str_appendf(path_r, "%s%s", name, file_suffix(type));
	free(type);
	return 0;
}

struct maps_writer *
maps_writer_new(const char *spec, int flags, const char **error_r)
{
	struct maps_writer *w;
	const char *name;
	char *type;

	if (split_spec(spec, &type, &name, error_r) < 0)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->path = xasprintf("%s%s", name, file_suffix(type));
	w->flags = flags;
	w->mk = maps_cdb_make_new();
	str_init(&w->fold, 64);
	free(type);
	return w;
}

void
maps_writer_free(struct maps_writer **wp)
{
	struct maps_writer *w = *wp;

	if (w == NULL)
		return;
	free(w->path);
	maps_cdb_make_free(&w->mk);
	str_deinit(&w->fold);
	XFREE(*wp);
}

static int
writer_load_one(void *ctx, const char *key, const char *value)
{
	struct maps_writer *w = ctx;

	(void)maps_cdb_make_add(w->mk, key, value, true);
	return 0;
}

int
maps_writer_load(struct maps_writer *w, const char **error_r)
{
	struct maps_cdb db;
	const char *why;

	if (maps_cdb_init_file(&db, w->path, &why) < 0) {
		if (why == NULL && errno == ENOENT)
			return 0;
		*error_r = maps_error("open database %s: %s", w->path,
		    why != NULL ? why : strerror(errno));
		return -1;
	}
	if (maps_cdb_iterate(&db, writer_load_one, w) < 0) {
		maps_cdb_deinit(&db);
		*error_r = maps_error("%s: table is damaged", w->path);
		return -1;
	}
	maps_cdb_deinit(&db);
	return 0;
}

static const char *
writer_key(struct maps_writer *w, const char *key)
{
	if (w->flags & MAPS_FLAG_NO_FOLD)
		return key;
	str_reset(&w->fold);
	str_append(&w->fold, key);
	maps_fold(w->fold.s);
	return w->fold.s;
}

int
maps_writer_add(struct maps_writer *w, const char *key, const char *value)
{
	const char *k = writer_key(w, key);
	int r;

	r = maps_cdb_make_add(w->mk, k, value, (w->flags & MAPS_WRITE_DUP_REPLACE) != 0);
	if (r == 0 && !(w->flags & (MAPS_WRITE_DUP_REPLACE | MAPS_WRITE_DUP_IGNORE)))
		log_warn("%s: duplicate entry: \"%s\"", w->path, k);
	return r;
}

int
maps_writer_delete(struct maps_writer *w, const char *key)
{
	return maps_cdb_make_delete(w->mk, writer_key(w, key));
}

int
maps_writer_commit(struct maps_writer *w, int mode, long uid, long gid, const char **error_r)
{
	struct str img, tmp, dir;
	int fd = -1, dfd = -1, ret = -1;
	const char *what = "write";
	size_t off = 0;

	str_init(&img, 4096);
	str_init(&tmp, 64);
	str_init(&dir, 64);
	if (maps_cdb_make_finish(w->mk, &img) < 0) {
		*error_r = maps_error("%s: table is larger than 4 GiB", w->path);
		goto out;
	}
	str_appendf(&tmp, "%s.tmp.%ld", w->path, (long)getpid());
	path_dirname(&dir, w->path);
	what = "create";
	if ((fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode & 07777)) < 0)
		goto fail;
	what = "write";
	while (off < img.len) {
		ssize_t n = write(fd, img.s + off, img.len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	/* Owner and mode before the rename: the table never appears with
	 * the wrong ones, and the umask does not narrow them. */
	what = "set owner of";
	if ((uid >= 0 || gid >= 0) && fchown(fd, (uid_t)uid, (gid_t)gid) < 0)
		goto fail;
	what = "set mode of";
	if (fchmod(fd, (mode_t)(mode & 07777)) < 0)
		goto fail;
	what = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	what = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "rename";
	if (rename(tmp.s, w->path) < 0)
		goto fail;
	if ((dfd = open(dir.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	ret = 0;
	goto out;
fail:
	*error_r = maps_error("%s %s: %s", what, what[0] == 'r' ? w->path : tmp.s,
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp.s);
out:
	str_deinit(&img);
	str_deinit(&tmp);
	str_deinit(&dir);
	return ret;
}
