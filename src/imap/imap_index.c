/* imap_index.c - see imap_index.h */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_index.h"
#include "imap/imap_mbox_mbox.h"
#include "imap/imap_search.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "storage/mailbox.h"
#include "storage/storage.h"

#define IDX_MAGIC	"YBIDX01\n"
#define IDX_VERSION	2	/* 2: header-fields records */
#define IDX_MAX_SIZE	(1024u * 1024 * 1024)
#define IDX_INFO_MAX	28
#define CACHE_MAGIC	"YBCACHE1"
#define CACHE_ENTRY_MAGIC 0x59424345u	/* "YBCE": ENVELOPE/BODY/BODYSTRUCTURE */
#define CACHE_HDR_MAGIC	0x59424348u	/* "YBCH": header fields */
#define CACHE_MAX_ENTRY	(4u * 1024 * 1024)
#define CACHE_MAX_FILE	(1024ull * 1024 * 1024)	/* appends stop there until compacted */

/* Host byte order: the index is a local cache, never copied between
 * machines (a foreign one fails the magic/checksum test and is rebuilt). */
struct idx_hdr {
	char		 magic[8];
	uint32_t	 version, rec_size;
	uint32_t	 uidvalidity, uidnext;
	uint64_t	 highestmodseq;
	int64_t		 cur_sec, new_sec, ul_sec;
	uint32_t	 cur_nsec, new_nsec, ul_nsec, synced;
	uint64_t	 ul_size, ul_ino;
	uint32_t	 count, names_size;
	uint64_t	 cache_live;	/* bytes of cache entries the records use */
	uint64_t	 history_start;	/* expunges since this modseq are all in the history */
	uint32_t	 exp_count, exp_check;	/* the expunge history after the names */
	uint32_t	 names_check, check;
};

struct idx_rec {
	uint32_t	 uid, kw;
	uint32_t	 name_off, name_len;	/* the base name in the names area */
	uint16_t	 flags;
	uint8_t		 has_info, pad;
	char		 info[IDX_INFO_MAX];	/* after ":2,", NUL-padded */
	uint64_t	 modseq, vsize;
	int64_t		 date;
	uint64_t	 cache_off, hdr_off;
	uint32_t	 cache_len, hdr_len;
	uint32_t	 pad2, check;
};

struct cache_entry_hdr {
	uint32_t	 magic, uid, len, check;
};

_Static_assert(sizeof(struct idx_hdr) == 128, "index header layout");
_Static_assert(sizeof(struct imap_index_exp) == 16, "expunge history layout");
_Static_assert(sizeof(struct idx_rec) == 104, "index record layout");

struct idx_view {
	const struct idx_hdr *h;
	const struct idx_rec *r;
	const char	*names;
	const unsigned char *exp;	/* exp_count struct imap_index_exp, unaligned */
	size_t		 n;
};

/* the expunge history of an index being written */
struct idx_history {
	uint64_t	 start;
	struct imap_index_exp *r;	/* owned, sorted, not overlapping */
	size_t		 n;
};

/* check_sum - a 32-bit hash of [p, p+len): enough to tell a torn or
 * flipped record from a good one, fast over megabytes */
static uint32_t
check_sum(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	for (; i < len; i++) {
		h = (h ^ b[i]) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 31;
	}
	h ^= h >> 33;
	return (uint32_t)h ^ (uint32_t)(h >> 32);
}

static uint32_t
hdr_check(const struct idx_hdr *h)
{
	return check_sum(h, offsetof(struct idx_hdr, check));
}

static uint32_t
rec_check(const struct idx_rec *r)
{
	return check_sum(r, offsetof(struct idx_rec, check));
}

/* idx_header_ok - the header alone (used for in-place updates, which
 * then trust only records whose own checksum holds) */
static int
idx_header_ok(const void *data, size_t len, const char **why_r)
{
	const struct idx_hdr *h = data;
	uint64_t need;

	if (len < sizeof(*h))
		return *why_r = "file too small", -1;
	if (memcmp(h->magic, IDX_MAGIC, 8) != 0 || h->version != IDX_VERSION ||
	    h->rec_size != sizeof(struct idx_rec))
		return *why_r = "not a version 2 index", -1;
	if (h->check != hdr_check(h))
		return *why_r = "header checksum mismatch", -1;
	need = sizeof(*h) + (uint64_t)h->count * sizeof(struct idx_rec) + h->names_size +
	    (uint64_t)h->exp_count * sizeof(struct imap_index_exp);
	if (need != len)
		return *why_r = "file size does not match the header", -1;
	return 0;
}

static bool
name_ok(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	for (i = 0; i < len; i++)
		if (p[i] == '/' || p[i] == '\0' || p[i] == '\n')
			return false;
	return true;
}

static bool
rec_ok(const struct idx_hdr *h, const struct idx_rec *r)
{
	size_t i;

	if (r->check != rec_check(r) || r->uid == 0 || r->uid >= h->uidnext ||
	    (r->flags & ~(unsigned)0x1f) != 0 || r->has_info > 1 || r->info[IDX_INFO_MAX - 1] != '\0')
		return false;
	/* the name and its NUL inside the names area */
	if ((uint64_t)r->name_off + r->name_len >= h->names_size ||
	    r->cache_len > CACHE_MAX_ENTRY || r->hdr_len > IMAP_HDR_MAX_RECORD ||
	    (r->hdr_off == 0) != (r->hdr_len == 0) || r->pad2 != 0)
		return false;
	for (i = 0; i < IDX_INFO_MAX && r->info[i] != '\0'; i++)
		if (r->info[i] == '/' || r->info[i] == '\n' || (unsigned char)r->info[i] < 0x20)
			return false;
	return true;
}

/* idx_check - validate a whole index image and point v into it */
static int
idx_check(const void *data, size_t len, struct idx_view *v, const char **why_r)
{
	const struct idx_hdr *h = data;
	const struct idx_rec *r;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (idx_header_ok(data, len, why_r) != 0)
		return -1;
	r = (const struct idx_rec *)(h + 1);
	v->names = (const char *)(r + h->count);
	if (check_sum(v->names, h->names_size) != h->names_check)
		return *why_r = "names checksum mismatch", -1;
	v->exp = (const unsigned char *)v->names + h->names_size;
	if (check_sum(v->exp, (size_t)h->exp_count * sizeof(struct imap_index_exp)) != h->exp_check)
		return *why_r = "expunge history checksum mismatch", -1;
	if (h->exp_count > IMAP_INDEX_EXP_MAX || (h->exp_count > 0 && h->history_start == 0) ||
	    h->history_start > h->highestmodseq + 1)
		return *why_r = "bad expunge history", -1;
	for (i = 0; i < h->exp_count; i++) {
		struct imap_index_exp e, prev;

		memcpy(&e, v->exp + i * sizeof(e), sizeof(e));
		/* (entries below the start are dropped at the next write) */
		if (e.lo == 0 || e.lo > e.hi || e.hi >= h->uidnext || e.modseq > h->highestmodseq)
			return *why_r = "bad expunge history", -1;
		if (i > 0) {
			memcpy(&prev, v->exp + (i - 1) * sizeof(e), sizeof(e));
			if (prev.hi >= e.lo)
				return *why_r = "expunge history out of order", -1;
		}
	}
	if (h->uidvalidity == 0 || h->uidnext == 0)
		return *why_r = "no UIDVALIDITY", -1;
	for (i = 0; i < h->count; i++) {
		if (!rec_ok(h, &r[i]))
			return *why_r = "broken record", -1;
		if (i > 0 && r[i].uid <= r[i - 1].uid)
			return *why_r = "records out of order", -1;
		if (!name_ok(v->names + r[i].name_off, r[i].name_len) ||
		    v->names[r[i].name_off + r[i].name_len] != '\0')
			return *why_r = "bad file name", -1;
	}
	v->h = h;
	v->r = r;
	v->n = h->count;
	return 0;
}

int
imap_index_load_check(const void *data, size_t len, const char **why_r)
{
	struct idx_view v;

	return idx_check(data, len, &v, why_r);
}

/* --- files --- */

struct idx_map {
	void		*p;
	size_t		 len;
};

/* idx_map_open - the index file mapped (read-only, or shared writable
 * with fd_r kept open); -1 with errno (ENOENT: none) */
static int
idx_map_open(const char *dir, bool write, struct idx_map *m, int *fd_r)
{
	char *path = path_join(dir, IMAP_INDEX_FILE);
	struct stat st;
	int fd = open(path, (write ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);

	free(path);
	m->p = NULL;
	m->len = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > IDX_MAX_SIZE) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	m->len = (size_t)st.st_size;
	m->p = mmap(NULL, m->len, write ? PROT_READ | PROT_WRITE : PROT_READ,
	    write ? MAP_SHARED : MAP_PRIVATE, fd, 0);
	if (m->p == MAP_FAILED) {
		m->p = NULL;
		close(fd);
		return -1;
	}
	if (fd_r != NULL)
		*fd_r = fd;
	else
		close(fd);
	return 0;
}

static void
idx_map_close(struct idx_map *m)
{
	if (m->p != NULL)
		munmap(m->p, m->len);
	m->p = NULL;
}

/* idx_lock - the writers' lock: an fd to close, or -1 (a Maildir we
 * cannot write: no index then) */
static int
idx_lock(const char *dir)
{
	char *path = path_join(dir, IMAP_INDEX_LOCK_FILE);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	free(path);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* write_replace - data into dir/name through name.tmp: write, fsync,
 * rename (the directory fsync'd by the caller) */
static int
write_replace(const char *dir, const char *name, const void *data, size_t len)
{
	char *tmp = xasprintf("%s/%s.tmp", dir, name), *path = path_join(dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int ret = -1;

	if (fd >= 0) {
		if (storage_write_full(fd, data, len) == 0 && fsync(fd) == 0) {
			if (close(fd) == 0 && rename(tmp, path) == 0)
				ret = 0;
		} else {
			close(fd);
		}
		if (ret != 0)
			(void)unlink(tmp);
	}
	free(tmp);
	free(path);
	return ret;
}

/* --- the cache file --- */

/* cache_read_entry - the data of the entry of kind magic for uid at off
 * into out (NUL-terminated): 0, or -1 when it is not there intact */
static int
cache_read_entry(int fd, uint32_t magic, uint32_t uid, uint64_t off, uint32_t len,
    struct str *out)
{
	struct cache_entry_hdr e;
	size_t want = sizeof(e) + len;

	if (off < 8 || len == 0 || len > CACHE_MAX_ENTRY)
		return -1;
	/* one read for the entry's header and data, into out's buffer */
	str_reset(out);
	if (out->cap < want + 1) {
		static const char zeros[4096];

		while (out->len < want) {
			size_t k = want - out->len < sizeof(zeros) ? want - out->len : sizeof(zeros);

			str_append_n(out, zeros, k);
		}
		str_reset(out);
	}
	if (pread(fd, out->s, want, (off_t)off) != (ssize_t)want)
		return -1;
	memcpy(&e, out->s, sizeof(e));
	if (e.magic != magic || e.uid != uid || e.len != len)
		return -1;
	memmove(out->s, out->s + sizeof(e), len);
	out->len = len;
	out->s[len] = '\0';
	if (check_sum(out->s, len) != e.check)
		return -1;
	return 0;
}

/* envelope_entry_ok - three NUL-terminated strings */
static bool
envelope_ok(const char *d, size_t len)
{
	return len >= 3 && d[len - 1] == '\0' && memchr(d, '\0', len) != d + len - 1;
}

static bool
envelope_entry_ok(const struct str *d)
{
	return envelope_ok(d->s, d->len);
}

static void
cache_entry_append(struct str *buf, uint32_t magic, uint32_t uid, const char *data, size_t len)
{
	struct cache_entry_hdr e = { magic, uid, (uint32_t)len, check_sum(data, len) };

	str_append_n(buf, (const char *)&e, sizeof(e));
	str_append_n(buf, data, len);
}

/* cache_compact - copy the live entries of snap into a new cache file
 * (renamed over the old one before the index that points into it is);
 * entries that fail their check are dropped (fetched again later) */
static void
cache_compact(const char *dir, struct imap_mbox_snap *snap, uint64_t *live_r)
{
	char *path = path_join(dir, IMAP_INDEX_CACHE_FILE);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct str out, ent;
	size_t i;

	free(path);
	str_init(&out, 65536);
	str_init(&ent, 4096);
	str_append_n(&out, CACHE_MAGIC, 8);
	for (i = 0; i < snap->n; i++) {
		struct imap_msg *m = &snap->m[i];
		struct imap_hdr_rec hr;

		if (m->cache_off != 0) {
			if (fd >= 0 && cache_read_entry(fd, CACHE_ENTRY_MAGIC, m->uid, m->cache_off,
			    m->cache_len, &ent) == 0 && envelope_entry_ok(&ent)) {
				m->cache_off = out.len;
				cache_entry_append(&out, CACHE_ENTRY_MAGIC, m->uid, ent.s, ent.len);
			} else {
				m->cache_off = 0;
				m->cache_len = 0;
			}
		}
		if (m->hdr_off != 0) {
			if (fd >= 0 && cache_read_entry(fd, CACHE_HDR_MAGIC, m->uid, m->hdr_off,
			    m->hdr_len, &ent) == 0 &&
			    imap_hdr_record_parse(ent.s, ent.len, m->name, &hr) == 0) {
				m->hdr_off = out.len;
				cache_entry_append(&out, CACHE_HDR_MAGIC, m->uid, ent.s, ent.len);
			} else {
				m->hdr_off = 0;
				m->hdr_len = 0;
			}
		}
	}
	if (fd >= 0)
		close(fd);
	if (write_replace(dir, IMAP_INDEX_CACHE_FILE, out.s, out.len) != 0) {
		/* keep nothing we cannot point at */
		for (i = 0; i < snap->n; i++) {
			snap->m[i].cache_off = snap->m[i].cache_len = 0;
			snap->m[i].hdr_off = snap->m[i].hdr_len = 0;
		}
		*live_r = 0;
	} else {
		*live_r = out.len;
	}
	str_deinit(&out);
	str_deinit(&ent);
}

/* --- building and writing --- */

struct dir_stamp {
	int64_t		 cur_sec, new_sec, ul_sec;
	uint32_t	 cur_nsec, new_nsec, ul_nsec;
	uint64_t	 ul_size, ul_ino;
};

static void
dir_stamp_take(const char *dir, struct dir_stamp *d)
{
	char *cur = path_join(dir, "cur"), *new = path_join(dir, "new");
	char *ul = path_join(dir, "dovecot-uidlist");
	struct stat st;

	memset(d, 0, sizeof(*d));
	if (stat(cur, &st) == 0) {
		d->cur_sec = st.st_mtim.tv_sec;
		d->cur_nsec = (uint32_t)st.st_mtim.tv_nsec;
	}
	if (stat(new, &st) == 0) {
		d->new_sec = st.st_mtim.tv_sec;
		d->new_nsec = (uint32_t)st.st_mtim.tv_nsec;
	}
	if (stat(ul, &st) == 0) {
		d->ul_sec = st.st_mtim.tv_sec;
		d->ul_nsec = (uint32_t)st.st_mtim.tv_nsec;
		d->ul_size = (uint64_t)st.st_size;
		d->ul_ino = (uint64_t)st.st_ino;
	}
	free(cur);
	free(new);
	free(ul);
}

static bool
dir_stamp_equal(const struct dir_stamp *d, const struct idx_hdr *h)
{
	return d->cur_sec == h->cur_sec && d->cur_nsec == h->cur_nsec &&
	    d->new_sec == h->new_sec && d->new_nsec == h->new_nsec &&
	    d->ul_sec == h->ul_sec && d->ul_nsec == h->ul_nsec &&
	    d->ul_size == h->ul_size && d->ul_ino == h->ul_ino;
}

/* split_name - base length and info part of a cur/ file name: the info
 * goes into the record when it fits, else the whole name is the base */
static size_t
split_name(const char *name, const char **info_r)
{
	size_t bl = maildir_basename_len(name);

	*info_r = NULL;
	if (strncmp(name + bl, ":2,", 3) == 0 && strlen(name + bl + 3) < IDX_INFO_MAX) {
		*info_r = name + bl + 3;
		return bl;
	}
	return strlen(name);
}

static void
rec_fill_name(struct idx_rec *r, const char *name)
{
	const char *info;

	(void)split_name(name, &info);
	memset(r->info, 0, sizeof(r->info));
	r->has_info = info != NULL;
	if (info != NULL)
		memcpy(r->info, info, strlen(info));
}

static int
idx_write(const char *dir, const struct imap_mbox_snap *snap, const struct dir_stamp *d,
    bool synced, uint64_t cache_live, const struct idx_history *hist)
{
	struct idx_hdr h;
	struct str names, out;
	struct idx_rec *recs = xcalloc(snap->n + 1, sizeof(*recs));
	size_t i;
	int ret;

	str_init(&names, snap->n * 48 + 16);
	for (i = 0; i < snap->n; i++) {
		const struct imap_msg *m = &snap->m[i];
		struct idx_rec *r = &recs[i];
		size_t nl = strlen(m->name);

		r->uid = m->uid;
		r->kw = m->kw;
		r->flags = (uint16_t)(m->flags & ~IMAP_FLAG_RECENT);
		/* the whole name and a NUL: a snapshot borrows it from the
		 * mapping (records changed in place since are never trusted
		 * without a rescan: their rename moved cur/'s mtime) */
		r->name_off = (uint32_t)names.len;
		r->name_len = (uint32_t)nl;
		str_append_n(&names, m->name, nl + 1);
		rec_fill_name(r, m->name);
		r->modseq = m->modseq;
		r->vsize = m->vsize;
		r->date = m->date;
		r->cache_off = m->cache_off;
		r->cache_len = m->cache_len;
		r->hdr_off = m->hdr_off;
		r->hdr_len = m->hdr_len;
		r->check = rec_check(r);
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IDX_MAGIC, 8);
	h.version = IDX_VERSION;
	h.rec_size = sizeof(struct idx_rec);
	h.uidvalidity = snap->uidvalidity;
	h.uidnext = snap->uidnext;
	h.highestmodseq = snap->highestmodseq;
	h.cur_sec = d->cur_sec;
	h.cur_nsec = d->cur_nsec;
	h.new_sec = d->new_sec;
	h.new_nsec = d->new_nsec;
	h.ul_sec = d->ul_sec;
	h.ul_nsec = d->ul_nsec;
	h.ul_size = d->ul_size;
	h.ul_ino = d->ul_ino;
	h.synced = synced;
	h.count = (uint32_t)snap->n;
	h.names_size = (uint32_t)names.len;
	h.names_check = check_sum(names.s, names.len);
	h.cache_live = cache_live;
	h.history_start = hist->start;
	h.exp_count = (uint32_t)hist->n;
	h.exp_check = check_sum(hist->r, hist->n * sizeof(*hist->r));
	h.check = hdr_check(&h);
	str_init(&out, sizeof(h) + snap->n * sizeof(*recs) + names.len + 1);
	str_append_n(&out, (const char *)&h, sizeof(h));
	str_append_n(&out, (const char *)recs, snap->n * sizeof(*recs));
	str_append_n(&out, names.s, names.len);
	str_append_n(&out, (const char *)hist->r, hist->n * sizeof(*hist->r));
	ret = write_replace(dir, IMAP_INDEX_FILE, out.s, out.len);
	if (ret == 0)
		ret = dir_fsync(dir);
	str_deinit(&out);
	str_deinit(&names);
	free(recs);
	return ret;
}

static const struct idx_rec *
view_find(const struct idx_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->r[mid].uid == uid)
			return &v->r[mid];
		if (v->r[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool
rec_base_is(const struct idx_view *v, const struct idx_rec *r, const char *name)
{
	const char *rn = v->names + r->name_off;	/* NUL-terminated (checked) */
	size_t bl = maildir_basename_len(name);

	return maildir_basename_len(rn) == bl && memcmp(rn, name, bl) == 0;
}

static time_t
view_date(void *ctx, uint32_t uid, const char *base)
{
	const struct idx_view *v = ctx;
	const struct idx_rec *r = v->h != NULL ? view_find(v, uid) : NULL;

	if (r == NULL || !rec_base_is(v, r, base))
		return -1;
	return (time_t)r->date;
}

static void
snap_from_view(const struct idx_view *v, struct imap_mbox_snap *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->n = v->n;
	out->m = xcalloc(v->n + 1, sizeof(*out->m));
	out->uidvalidity = v->h->uidvalidity;
	out->uidnext = v->h->uidnext;
	out->highestmodseq = v->h->highestmodseq;
	for (i = 0; i < v->n; i++) {
		const struct idx_rec *r = &v->r[i];
		struct imap_msg *m = &out->m[i];

		m->uid = r->uid;
		m->name = (char *)(uintptr_t)(v->names + r->name_off);
		m->name_borrowed = true;
		m->flags = r->flags;
		m->kw = r->kw;
		m->vsize = (size_t)r->vsize;
		m->date = (time_t)r->date;
		m->modseq = r->modseq;
		m->cache_off = r->cache_off;
		m->cache_len = r->cache_len;
		m->hdr_off = r->hdr_off;
		m->hdr_len = (uint16_t)r->hdr_len;
	}
}

void
imap_index_reseal(void *data, size_t len)
{
	struct idx_hdr *h = data;
	struct idx_rec *r;
	uint64_t recs;
	size_t i;

	if (len < sizeof(*h))
		return;
	r = (struct idx_rec *)(h + 1);
	recs = (len - sizeof(*h)) / sizeof(*r);
	if (h->count < recs)
		recs = h->count;
	for (i = 0; i < recs; i++)
		r[i].check = rec_check(&r[i]);
	if (sizeof(*h) + (uint64_t)h->count * sizeof(*r) + h->names_size +
	    (uint64_t)h->exp_count * sizeof(struct imap_index_exp) == len) {
		h->names_check = check_sum((const char *)(r + h->count), h->names_size);
		h->exp_check = check_sum((const char *)(r + h->count) + h->names_size,
		    (size_t)h->exp_count * sizeof(struct imap_index_exp));
	}
	h->check = hdr_check(h);
}

int
imap_index_snap_from_image(const void *data, size_t len, struct imap_mbox_snap *out)
{
	struct idx_view v;
	const char *why;

	if (idx_check(data, len, &v, &why) != 0)
		return -1;
	snap_from_view(&v, out);
	return 0;
}

static int
exp_cmp(const void *a, const void *b)
{
	const struct imap_index_exp *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* history_add - the n UIDs gone at modseq into h: sorted, overlapping
 * ranges and neighbours of one modseq joined; beyond IMAP_INDEX_EXP_MAX
 * ranges, pairs of neighbours are joined under the higher modseq (their
 * UIDs are then reported to more clients, never to fewer) */
static void
history_add(struct idx_history *h, const uint32_t *uids, size_t n, uint64_t modseq)
{
	size_t i, k;

	h->r = xreallocarray(h->r, h->n + n + 1, sizeof(*h->r));
	for (i = 0; i < n; i++)
		h->r[h->n++] = (struct imap_index_exp){ uids[i], uids[i], modseq };
	qsort(h->r, h->n, sizeof(*h->r), exp_cmp);
	for (i = 0, k = 0; i < h->n; i++) {
		struct imap_index_exp *p = k > 0 ? &h->r[k - 1] : NULL, e = h->r[i];

		if (p != NULL && (e.lo <= p->hi || (e.lo == p->hi + 1 && e.modseq == p->modseq))) {
			if (e.hi > p->hi)
				p->hi = e.hi;
			if (e.modseq > p->modseq)
				p->modseq = e.modseq;
		} else {
			h->r[k++] = e;
		}
	}
	h->n = k;
	while (h->n > IMAP_INDEX_EXP_MAX) {
		for (i = 0, k = 0; i < h->n; i += 2) {
			struct imap_index_exp e = h->r[i];

			if (i + 1 < h->n) {
				e.hi = h->r[i + 1].hi;
				if (h->r[i + 1].modseq > e.modseq)
					e.modseq = h->r[i + 1].modseq;
			}
			h->r[k++] = e;
		}
		h->n = k;
	}
}

int
imap_index_history(const char *dir, uint32_t uidvalidity, uint64_t *start_r,
    struct imap_index_exp **r_r, size_t *n_r)
{
	struct idx_map map;
	struct idx_view v;
	const char *why;
	int ret = -1;

	*r_r = NULL;
	*n_r = 0;
	*start_r = 0;
	if (idx_map_open(dir, false, &map, NULL) != 0)
		return -1;
	if (idx_check(map.p, map.len, &v, &why) == 0 && v.h->uidvalidity == uidvalidity &&
	    v.h->history_start != 0) {
		*start_r = v.h->history_start;
		*n_r = v.h->exp_count;
		*r_r = xcalloc(*n_r + 1, sizeof(**r_r));
		memcpy(*r_r, v.exp, *n_r * sizeof(**r_r));
		ret = 0;
	}
	idx_map_close(&map);
	return ret;
}

/* old_highestmodseq - the highest modseq of an index of the previous
 * version (its header is laid out the same), so that an upgrade does
 * not move modseqs; 0 when there is none */
static uint64_t
old_highestmodseq(const struct idx_map *map)
{
	const struct idx_hdr *h = map->p;

	if (h == NULL || map->len < sizeof(*h) || memcmp(h->magic, IDX_MAGIC, 8) != 0 ||
	    h->version != 1 || h->check != hdr_check(h))
		return 0;
	return h->highestmodseq;
}

/* fresh_modseq - where modseqs start without a readable old index: the
 * clock in microseconds, so that they stay above any that a lost index
 * handed out (unless it saw a million changes a second) */
static uint64_t
fresh_modseq(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int
index_sync(const char *dir, bool force, struct imap_mbox_snap *out, enum imap_index_how *how_r,
    const char **error_r)
{
	struct dir_stamp d;
	struct idx_map map = { NULL, 0 };
	struct idx_view v;
	const char *why = NULL;
	uint64_t hms, live = 0, cache_size = 0;
	size_t i, j, expunged = 0, changed = 0;
	bool have = false, hdr_ok = false, synced;
	time_t now;
	int lock = idx_lock(dir), ret;
	struct stat st;
	char *cpath;
	struct idx_history hist = { 0, NULL, 0 };
	uint32_t *gone = NULL;

	memset(&v, 0, sizeof(v));
	if (lock < 0) {
		/* no index for a Maildir we cannot write: modseq 1 for all */
		ret = imap_mbox_scan_dir(dir, NULL, NULL, out, error_r);
		for (i = 0; ret == 0 && i < out->n; i++)
			out->m[i].modseq = 1;
		out->highestmodseq = 1;
		if (how_r != NULL)
			*how_r = IMAP_INDEX_REBUILT;
		return ret;
	}
	now = time(NULL);
	dir_stamp_take(dir, &d);
	if (idx_map_open(dir, false, &map, NULL) == 0) {
		hdr_ok = idx_header_ok(map.p, map.len, &why) == 0;
		if (idx_check(map.p, map.len, &v, &why) == 0)
			have = true;
		else
			log_warn("imap: Corrupted index file %s/%s: %s (rebuilding)", dir,
			    IMAP_INDEX_FILE, why);
	} else if (errno != ENOENT) {
		log_warn("imap: index file %s/%s: %s (rebuilding)", dir, IMAP_INDEX_FILE,
		    strerror(errno));
	}
	if (have && !force && v.h->synced && dir_stamp_equal(&d, v.h)) {
		/* the snapshot keeps the mapping: its names point into it */
		snap_from_view(&v, out);
		out->map = map.p;
		out->map_len = map.len;
		close(lock);
		if (how_r != NULL)
			*how_r = IMAP_INDEX_FAST;
		return 0;
	}
	hms = hdr_ok ? ((const struct idx_hdr *)map.p)->highestmodseq : old_highestmodseq(&map);
	if (hms == 0)
		hms = fresh_modseq();
	if (force)
		have = false;
	if (imap_mbox_scan_dir(dir, have ? view_date : NULL, &v, out, error_r) != 0) {
		idx_map_close(&map);
		close(lock);
		return -1;
	}
	if (have && v.h->uidvalidity != out->uidvalidity)
		have = false;
	for (i = 0; i < out->n; i++) {
		struct imap_msg *m = &out->m[i];
		const struct idx_rec *r = have ? view_find(&v, m->uid) : NULL;

		if (r != NULL && rec_base_is(&v, r, m->name)) {
			/* the same file: its content and cache entries are the same */
			m->cache_off = r->cache_off;
			m->cache_len = r->cache_len;
			m->hdr_off = r->hdr_off;
			m->hdr_len = (uint16_t)r->hdr_len;
			live += m->cache_off != 0 ? m->cache_len + sizeof(struct cache_entry_hdr) : 0;
			live += m->hdr_off != 0 ? m->hdr_len + sizeof(struct cache_entry_hdr) : 0;
			if (r->flags == (m->flags & ~IMAP_FLAG_RECENT) && r->kw == m->kw) {
				m->modseq = r->modseq;
				continue;
			}
		}
		m->modseq = 0;	/* changed: numbered below */
		changed++;
	}
	if (have) {
		j = 0;
		expunged = 0;
		gone = xcalloc(v.n + 1, sizeof(*gone));
		for (i = 0; i < v.n; i++) {
			while (j < out->n && out->m[j].uid < v.r[i].uid)
				j++;
			if (j >= out->n || out->m[j].uid != v.r[i].uid)
				gone[expunged++] = v.r[i].uid;
		}
		/* the history goes on (copied: the mapping goes below) */
		if (v.h->history_start != 0) {
			hist.start = v.h->history_start;
			hist.n = v.h->exp_count;
			hist.r = xcalloc(hist.n + 1, sizeof(*hist.r));
			memcpy(hist.r, v.exp, hist.n * sizeof(*hist.r));
		}
	}
	if (changed > 0 || expunged > 0 || !have)
		hms++;
	/* a new history starts with the state this sync records */
	if (hist.start == 0)
		hist.start = hms;
	history_add(&hist, gone, expunged, hms);
	free(gone);
	/* UIDs at or above UIDNEXT are not history (a dovecot-uidlist
	 * rewritten with a lower next UID) */
	while (hist.n > 0 && hist.r[hist.n - 1].lo >= out->uidnext)
		hist.n--;
	if (hist.n > 0 && hist.r[hist.n - 1].hi >= out->uidnext)
		hist.r[hist.n - 1].hi = out->uidnext - 1;
	/* what went before the start is never named alone: no need to keep */
	for (i = 0, j = 0; i < hist.n; i++)
		if (hist.r[i].modseq >= hist.start)
			hist.r[j++] = hist.r[i];
	hist.n = j;
	for (i = 0; i < out->n; i++)
		if (out->m[i].modseq == 0)
			out->m[i].modseq = hms;
	out->highestmodseq = hms;
	idx_map_close(&map);
	cpath = path_join(dir, IMAP_INDEX_CACHE_FILE);
	if (stat(cpath, &st) == 0)
		cache_size = (uint64_t)st.st_size;
	free(cpath);
	/* dead entries come from expunges, from records written anew with
	 * more header names, and from an index rebuilt without the old one */
	if (force || (cache_size > 8 && !have) || cache_size > 2 * live + 65536)
		cache_compact(dir, out, &live);
	/* a directory changed in this second may change again unseen */
	synced = d.cur_sec < (int64_t)now && d.new_sec < (int64_t)now && d.ul_sec < (int64_t)now;
	if (idx_write(dir, out, &d, synced, live, &hist) != 0)
		log_warn("imap: cannot write %s/%s: %s", dir, IMAP_INDEX_FILE, strerror(errno));
	free(hist.r);
	close(lock);
	if (how_r != NULL)
		*how_r = have ? IMAP_INDEX_RESCAN : IMAP_INDEX_REBUILT;
	return 0;
}

int
imap_index_sync(const char *dir, struct imap_mbox_snap *out, enum imap_index_how *how_r,
    const char **error_r)
{
	return index_sync(dir, false, out, how_r, error_r);
}

int
imap_mbox_scan(const char *dir, struct imap_mbox_snap *out, const char **error_r)
{
	if (imap_mboxf_is(dir))
		return imap_mboxf_scan(dir, out, error_r);	/* no index for mbox */
	return index_sync(dir, false, out, NULL, error_r);
}

bool
imap_index_unchanged(const char *dir, const struct imap_mbox_snap *snap)
{
	struct idx_hdr h;
	struct dir_stamp d;
	char *path = path_join(dir, IMAP_INDEX_FILE);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool same;

	free(path);
	if (fd < 0)
		return false;
	same = pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h);
	close(fd);
	if (!same || memcmp(h.magic, IDX_MAGIC, 8) != 0 || h.check != hdr_check(&h))
		return false;
	dir_stamp_take(dir, &d);
	return h.synced && dir_stamp_equal(&d, &h) && h.highestmodseq == snap->highestmodseq &&
	    h.uidvalidity == snap->uidvalidity && h.count == snap->n && snap->new_count == 0;
}

int
imap_index_rebuild(const char *dir, const char **error_r)
{
	struct imap_mbox_snap snap;
	int ret = index_sync(dir, true, &snap, NULL, error_r);

	if (ret == 0)
		imap_mbox_snap_free(&snap);
	return ret;
}

/* --- in-place updates --- */

struct idx_rw {
	int		 lock, fd;
	struct idx_map	 map;
	struct idx_hdr	*h;
	struct idx_rec	*r;
};

static int
idx_rw_open(const char *dir, struct idx_rw *w)
{
	const char *why;

	w->fd = -1;
	w->h = NULL;
	if ((w->lock = idx_lock(dir)) < 0)
		return -1;
	if (idx_map_open(dir, true, &w->map, &w->fd) != 0 ||
	    idx_header_ok(w->map.p, w->map.len, &why) != 0) {
		idx_map_close(&w->map);
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		return 0;	/* locked, no index to update */
	}
	w->h = w->map.p;
	w->r = (struct idx_rec *)(w->h + 1);
	return 0;
}

static void
idx_rw_close(struct idx_rw *w)
{
	if (w->h != NULL) {
		w->h->check = hdr_check(w->h);
		idx_map_close(&w->map);
	}
	if (w->fd >= 0)
		close(w->fd);
	close(w->lock);
}

static struct idx_rec *
rw_find(struct idx_rw *w, uint32_t uid)
{
	size_t lo = 0, hi = w->h->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		/* the names area is not checksummed on this path: the name's
		 * NUL is looked at, or comparing it could run off the map */
		if (w->r[mid].uid == uid)
			return w->r[mid].check == rec_check(&w->r[mid]) && rec_ok(w->h, &w->r[mid]) &&
			    ((const char *)(w->r + w->h->count))[w->r[mid].name_off +
			    w->r[mid].name_len] == '\0' ? &w->r[mid] : NULL;
		if (w->r[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* hidden_expunges - the history holds expunges after seen, the modseq
 * of a session's snapshot: that session has not reported them, yet its
 * client is about to get a higher modseq. RFC 7162 (erratum 1810): such
 * a client must still hear of them; the history then starts above the
 * modseq handed out, so that a client at or below it gets every missing
 * UID. (The area is read unchecked: a damaged one fails the next full
 * check, and the index is rebuilt with a new history.) */
static bool
hidden_expunges(const struct idx_rw *w, uint64_t seen)
{
	const unsigned char *exp;
	size_t i;

	if (w->h->history_start == 0 || w->h->highestmodseq <= seen ||
	    w->h->exp_count > IMAP_INDEX_EXP_MAX)
		return false;
	exp = (const unsigned char *)(w->r + w->h->count) + w->h->names_size;
	for (i = 0; i < w->h->exp_count; i++) {
		struct imap_index_exp e;

		memcpy(&e, exp + i * sizeof(e), sizeof(e));
		if (e.modseq > seen)
			return true;
	}
	return false;
}

uint64_t
imap_index_changed(const char *dir, struct imap_mbox_snap *snap, const size_t *idx, size_t n)
{
	struct idx_rw w;
	uint64_t hms;
	size_t i;

	if (n == 0)
		return snap->highestmodseq;
	/* an mbox: its offset cache keeps the modseqs */
	if (imap_mboxf_is(dir) && (hms = imap_mboxf_changed(dir, snap, idx, n)) > 0)
		return hms;
	if (idx_rw_open(dir, &w) != 0) {
		hms = ++snap->highestmodseq;
		for (i = 0; i < n; i++)
			snap->m[idx[i]].modseq = hms;
		return hms;
	}
	/* above both what this session showed and what the file holds */
	hms = snap->highestmodseq + 1;
	if (w.h != NULL && w.h->highestmodseq >= hms)
		hms = w.h->highestmodseq + 1;
	for (i = 0; i < n; i++) {
		struct imap_msg *m = &snap->m[idx[i]];
		struct idx_rec *r = w.h != NULL && w.h->uidvalidity == snap->uidvalidity ?
		    rw_find(&w, m->uid) : NULL;
		const char *info;

		m->modseq = hms;
		if (r == NULL)
			continue;
		(void)split_name(m->name, &info);
		if (!r->has_info || info == NULL)
			continue;	/* stays stale: the next rescan numbers it */
		r->flags = (uint16_t)(m->flags & ~IMAP_FLAG_RECENT);
		r->kw = m->kw;
		rec_fill_name(r, m->name);
		r->modseq = hms;
		r->check = rec_check(r);
	}
	if (w.h != NULL) {
		if (hidden_expunges(&w, snap->highestmodseq))
			w.h->history_start = hms + 1;
		w.h->highestmodseq = hms;
	}
	snap->highestmodseq = hms;
	idx_rw_close(&w);
	return hms;
}

/* --- cache --- */

void
imap_cached_init(struct imap_cached *c)
{
	memset(c, 0, sizeof(*c));
	str_init(&c->data, 1024);
	str_init(&c->hdr_data, 1024);
	c->fd = -1;
}

void
imap_cached_deinit(struct imap_cached *c)
{
	if (c->map != NULL)
		munmap(c->map, c->map_len);
	c->map = NULL;
	if (c->fd >= 0)
		close(c->fd);
	str_deinit(&c->data);
	str_deinit(&c->hdr_data);
	c->fd = -1;
}

/* cached_open - the cache file, opened at the first get of a command */
static bool
cached_open(const char *dir, struct imap_cached *c)
{
	if (!c->tried) {
		char *path = path_join(dir, IMAP_INDEX_CACHE_FILE);

		struct stat st;

		c->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		c->tried = true;
		free(path);
		/* mapped as it is now (a SEARCH over every message reads
		 * them all: no system call each); entries appended later are
		 * read with pread. yubin never shortens the file in place:
		 * compaction renames a new one over it. */
		if (c->fd >= 0 && fstat(c->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 8 &&
		    (uint64_t)st.st_size <= CACHE_MAX_FILE) {
			c->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, c->fd, 0);
			if (c->map == MAP_FAILED)
				c->map = NULL;
			else
				c->map_len = (size_t)st.st_size;
		}
	}
	return c->fd >= 0;
}

/* cached_entry - the data of an entry (see cache_read_entry): in the
 * mapping when it lies there, else read into buf; NULL when it is not
 * there intact */
static const char *
cached_entry(struct imap_cached *c, uint32_t magic, uint32_t uid, uint64_t off, uint32_t len,
    struct str *buf)
{
	struct cache_entry_hdr e;
	const char *p;

	if (c->map != NULL && off >= 8 && off < c->map_len &&
	    (uint64_t)len + sizeof(e) <= c->map_len - off) {
		p = (const char *)c->map + off;
		memcpy(&e, p, sizeof(e));
		if (len == 0 || len > CACHE_MAX_ENTRY || e.magic != magic || e.uid != uid ||
		    e.len != len || check_sum(p + sizeof(e), len) != e.check)
			return NULL;
		return p + sizeof(e);
	}
	if (cache_read_entry(c->fd, magic, uid, off, len, buf) != 0)
		return NULL;
	return buf->s;
}

bool
imap_index_hdr_get(const char *dir, const struct imap_msg *m, struct imap_cached *out)
{
	const char *d;

	memset(&out->hdr, 0, sizeof(out->hdr));
	if (m->hdr_off == 0 || !cached_open(dir, out))
		return false;
	d = cached_entry(out, CACHE_HDR_MAGIC, m->uid, m->hdr_off, m->hdr_len, &out->hdr_data);
	if (d == NULL || imap_hdr_record_parse(d, m->hdr_len, m->name, &out->hdr) != 0) {
		memset(&out->hdr, 0, sizeof(out->hdr));
		return false;
	}
	return true;
}

bool
imap_index_cache_get(const char *dir, const struct imap_msg *m, struct imap_cached *out)
{
	const char *d;

	if (m->cache_off == 0 || !cached_open(dir, out))
		return false;
	d = cached_entry(out, CACHE_ENTRY_MAGIC, m->uid, m->cache_off, m->cache_len, &out->data);
	if (d == NULL || !envelope_ok(d, m->cache_len))
		return false;
	/* three strings, the last NUL at the end (checked) */
	out->envelope = d;
	out->body = out->envelope + strlen(out->envelope) + 1;
	if (out->body >= d + m->cache_len)
		return false;
	out->bodystructure = out->body + strlen(out->body) + 1;
	return out->bodystructure < d + m->cache_len;
}

void
imap_cache_batch_init(struct imap_cache_batch *b)
{
	memset(b, 0, sizeof(*b));
	str_init(&b->buf, 4096);
}

/* batch_push - one entry of kind magic (envelope/body/bodystructure, or
 * header fields) for m */
static void
batch_push(struct imap_cache_batch *b, struct imap_msg *m, uint32_t magic, const char *data,
    size_t len)
{
	b->uids = xreallocarray(b->uids, b->n + 1, sizeof(*b->uids));
	b->offs = xreallocarray(b->offs, b->n + 1, sizeof(*b->offs));
	b->lens = xreallocarray(b->lens, b->n + 1, sizeof(*b->lens));
	b->msgs = xreallocarray(b->msgs, b->n + 1, sizeof(*b->msgs));
	b->hdr = xreallocarray(b->hdr, b->n + 1, sizeof(*b->hdr));
	b->uids[b->n] = m->uid;
	b->offs[b->n] = b->buf.len;
	b->lens[b->n] = (uint32_t)len;
	b->msgs[b->n] = m;
	b->hdr[b->n] = magic == CACHE_HDR_MAGIC;
	b->n++;
	cache_entry_append(&b->buf, magic, m->uid, data, len);
}

void
imap_cache_batch_add(struct imap_cache_batch *b, struct imap_msg *m, const char *envelope,
    const char *body, const char *bodystructure)
{
	size_t le = strlen(envelope) + 1, lb = strlen(body) + 1, ls = strlen(bodystructure) + 1;
	struct str data;

	if (le + lb + ls > CACHE_MAX_ENTRY)
		return;
	str_init(&data, le + lb + ls + 1);
	str_append_n(&data, envelope, le);
	str_append_n(&data, body, lb);
	str_append_n(&data, bodystructure, ls);
	batch_push(b, m, CACHE_ENTRY_MAGIC, data.s, data.len);
	str_deinit(&data);
}

void
imap_cache_batch_add_hdr(struct imap_cache_batch *b, struct imap_msg *m, const struct str *record)
{
	if (record->len == 0 || record->len > IMAP_HDR_MAX_RECORD)
		return;
	batch_push(b, m, CACHE_HDR_MAGIC, record->s, record->len);
}

void
imap_cache_batch_commit(struct imap_cache_batch *b, const char *dir)
{
	struct idx_rw w;
	char *path;
	struct stat st;
	off_t base;
	size_t i;
	int fd;

	if (b->n == 0)
		return;
	if (idx_rw_open(dir, &w) != 0)
		goto out;
	if (w.h == NULL) {
		idx_rw_close(&w);
		goto out;
	}
	path = path_join(dir, IMAP_INDEX_CACHE_FILE);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		idx_rw_close(&w);
		goto out;
	}
	if (st.st_size < 8) {
		if (ftruncate(fd, 0) != 0 || pwrite(fd, CACHE_MAGIC, 8, 0) != 8) {
			close(fd);
			idx_rw_close(&w);
			goto out;
		}
		st.st_size = 8;
	}
	base = st.st_size;
	/* a torn append is harmless: entries are checked when read */
	if ((uint64_t)base + b->buf.len <= CACHE_MAX_FILE && pwrite(fd, b->buf.s, b->buf.len, base) == (ssize_t)b->buf.len) {
		for (i = 0; i < b->n; i++) {
			struct idx_rec *r = rw_find(&w, b->uids[i]);
			uint64_t off = (uint64_t)base + b->offs[i];

			if (b->hdr[i]) {
				b->msgs[i]->hdr_off = off;
				b->msgs[i]->hdr_len = (uint16_t)b->lens[i];
			} else {
				b->msgs[i]->cache_off = off;
				b->msgs[i]->cache_len = b->lens[i];
			}
			if (r == NULL || !rec_base_is(&(struct idx_view){ w.h, w.r,
			    (const char *)(w.r + w.h->count), NULL, w.h->count }, r, b->msgs[i]->name))
				continue;
			if (b->hdr[i]) {
				r->hdr_off = off;
				r->hdr_len = b->lens[i];
			} else {
				r->cache_off = off;
				r->cache_len = b->lens[i];
			}
			r->check = rec_check(r);
			w.h->cache_live += b->lens[i] + sizeof(struct cache_entry_hdr);
		}
	}
	close(fd);
	idx_rw_close(&w);
out:
	str_reset(&b->buf);
	b->n = 0;
}

void
imap_cache_batch_deinit(struct imap_cache_batch *b)
{
	str_deinit(&b->buf);
	free(b->uids);
	free(b->offs);
	free(b->lens);
	free(b->msgs);
	free(b->hdr);
	memset(b, 0, sizeof(*b));
}
