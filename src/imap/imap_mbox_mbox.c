/* imap_mbox_mbox.c - an mbox file for IMAP (imap_mbox_mbox.h) */

#include "imap/imap_mbox_mbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_search.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/mbox_file.h"
#include "storage/mbox_index.h"
#include "storage/mbox_meta.h"
#include "storage/storage.h"

/* an mbox larger than this is refused rather than read into memory */
#define MBOXF_MAX	(1024ull * 1024 * 1024)

bool
imap_mboxf_is(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static size_t
crlf_size(const char *p, size_t len)
{
	size_t n = len, i;

	for (i = 0; i < len; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			n++;
	return n;
}

/* --- the offset cache (storage/mbox_index.c): the last one used is kept
 * in memory, so that FETCH of one message after another reads only its
 * own bytes --- */

static struct {
	char		*path;		/* the mbox's (owned); NULL: none */
	struct mbox_index ix;
} ixmem;

/* index_get - path's index when it was made from the file as key says
 * it is now (from memory, else from disk), or NULL */
static const struct mbox_index *
index_get(const char *path, const struct mbox_index_key *key)
{
	struct mbox_index ix;
	char *ixpath;

	if (ixmem.path != NULL && strcmp(ixmem.path, path) == 0 &&
	    memcmp(&ixmem.ix.key, key, sizeof(*key)) == 0)
		return &ixmem.ix;
	ixpath = mbox_index_path(path);
	if (mbox_index_load(ixpath, key, &ix) != 0) {
		free(ixpath);
		return NULL;
	}
	free(ixpath);
	free(ixmem.path);
	mbox_index_free(&ixmem.ix);
	ixmem.path = xstrdup(path);
	ixmem.ix = ix;
	return &ixmem.ix;
}

void
imap_mboxf_cache_drop(void)
{
	XFREE(ixmem.path);
	mbox_index_free(&ixmem.ix);
}

/* index_put - ix (taken) is path's index now: kept, and written */
static void
index_put(const char *path, struct mbox_index *ix)
{
	char *ixpath = mbox_index_path(path);
	size_t i;

	/* a cache: when it cannot be written (a spool directory that is not
	 * ours), scans read the file as before, and there are no modseqs:
	 * ones kept only in memory would not survive the session
	 * (docs/compat.md) */
	if (mbox_index_write(ixpath, ix) != 0) {
		ix->highestmodseq = 0;
		for (i = 0; i < ix->n; i++)
			ix->r[i].modseq = 0;
	}
	free(ixpath);
	free(ixmem.path);
	mbox_index_free(&ixmem.ix);
	ixmem.path = xstrdup(path);
	ixmem.ix = *ix;
	memset(ix, 0, sizeof(*ix));
}

/* modseqs_carry - CONDSTORE's modseqs for ix, a cache rebuilt from the
 * file, from the previous cache on disk (whatever file it was made from):
 * a message keeps its modseq when its UID was there with the same flags
 * and keywords; changed and new ones get one new modseq (the highest +
 * 1), which an expunge (an old UID gone) makes the highest too; another
 * UIDVALIDITY's cache gives none of its modseqs. Without a readable
 * previous cache (never made, damaged, lost) every message starts at the
 * clock in microseconds, as imap_index.c does for a lost Maildir index:
 * above any modseq a lost cache handed out. */
static void
modseqs_carry(const char *path, struct mbox_index *ix)
{
	struct mbox_index old;
	char *ixpath = mbox_index_path(path);
	uint64_t next;
	size_t i, j = 0;
	bool bumped = false, have_old;

	have_old = mbox_index_load(ixpath, NULL, &old) == 0 && old.highestmodseq > 0;
	free(ixpath);
	if (!have_old) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ix->highestmodseq = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
		for (i = 0; i < ix->n; i++)
			ix->r[i].modseq = ix->highestmodseq;
		return;
	}
	next = old.highestmodseq + 1;
	for (i = 0; i < ix->n; i++) {
		struct mbox_index_rec *r = &ix->r[i];

		while (j < old.n && old.r[j].uid < r->uid) {
			bumped = true;	/* expunged */
			j++;
		}
		if (old.uidvalidity == ix->uidvalidity && j < old.n && old.r[j].uid == r->uid &&
		    old.r[j].modseq > 0 &&
		    (old.r[j].flags & ~IMAP_FLAG_RECENT) == (r->flags & ~IMAP_FLAG_RECENT) &&
		    old.r[j].kw == r->kw)
			r->modseq = old.r[j].modseq;
		else {
			r->modseq = next;
			bumped = true;
		}
		if (j < old.n && old.r[j].uid == r->uid)
			j++;
	}
	if (j < old.n)
		bumped = true;	/* expunged at the end */
	ix->highestmodseq = bumped ? next : old.highestmodseq;
	mbox_index_free(&old);
}

/* read_locked - the whole file under a shared fcntl lock, and *key_r
 * its stat then; when *ix_r is not NULL and the cache matches that
 * stat, the file is not read and *ix_r is set (else NULL) */
static int
read_locked(const char *path, struct str *out, struct mbox_index_key *key_r,
    const struct mbox_index **ix_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char chunk[65536];
	ssize_t r;

	str_reset(out);
	memset(key_r, 0, sizeof(*key_r));
	if (ix_r != NULL)
		*ix_r = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	(void)storage_fcntl_lock(fd, false);
	/* the stat under the lock: no writer changes the file until it is
	 * read, and every write changes it */
	if (fstat(fd, &st) != 0 || (unsigned long long)st.st_size > MBOXF_MAX) {
		storage_fcntl_unlock(fd);
		close(fd);
		errno = EFBIG;
		return -1;
	}
	mbox_index_key_of(&st, key_r);
	if (ix_r != NULL && (*ix_r = index_get(path, key_r)) != NULL) {
		storage_fcntl_unlock(fd);
		close(fd);
		return 0;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) > 0) {
		if (out->len + (size_t)r > MBOXF_MAX) {
			r = -1;
			errno = EFBIG;
			break;
		}
		str_append_n(out, chunk, (size_t)r);
	}
	storage_fcntl_unlock(fd);
	close(fd);
	return r < 0 ? -1 : 0;
}

static unsigned
imap_flags(unsigned f)
{
	return (f & MBOX_SEEN ? IMAP_FLAG_SEEN : 0) | (f & MBOX_ANSWERED ? IMAP_FLAG_ANSWERED : 0) |
	    (f & MBOX_FLAGGED ? IMAP_FLAG_FLAGGED : 0) | (f & MBOX_DRAFT ? IMAP_FLAG_DRAFT : 0) |
	    (f & MBOX_DELETED ? IMAP_FLAG_DELETED : 0) | (f & MBOX_OLD ? 0 : IMAP_FLAG_RECENT);
}

/* --- keywords: the mailbox's list is X-IMAPbase's (after UIDVALIDITY
 * and the last UID), then names met in X-Keywords that it lacks, in the
 * order they come; a message's keyword bits index that list, as
 * dovecot-keywords' numbers do in a Maildir --- */

struct kwlist {
	char	*v[MBOX_META_MAX_KEYWORDS];	/* owned */
	size_t	 n;
};

static int
kwlist_find(const struct kwlist *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], name) == 0)
			return (int)i;
	return -1;
}

/* kwlist_add - name added when missing and there is room; its index or -1 */
static int
kwlist_add(struct kwlist *l, const char *name)
{
	int i = kwlist_find(l, name);

	if (i >= 0 || l->n >= MBOX_META_MAX_KEYWORDS)
		return i;
	l->v[l->n] = xstrdup(name);
	return (int)l->n++;
}

static void
kwlist_clear(struct kwlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

/* the lists of the mboxes this process looked at last (a session keeps
 * at most its selected mailbox and a COPY target busy): the names the
 * keyword bits of a scan, STORE and APPEND mean. A name a session adds
 * lives here until the next write puts it into X-IMAPbase. */
#define KWCACHE_N	4

static struct kwcache {
	char		*path;		/* owned; NULL: free slot */
	struct kwlist	 kw;
	unsigned long	 used;
} kwcache[KWCACHE_N];
static unsigned long kwcache_clock;

static struct kwcache *
kwcache_get(const char *path, bool create)
{
	struct kwcache *c, *old = &kwcache[0];
	size_t i;

	for (i = 0; i < KWCACHE_N; i++) {
		c = &kwcache[i];
		if (c->path != NULL && strcmp(c->path, path) == 0) {
			c->used = ++kwcache_clock;
			return c;
		}
		if (c->used < old->used)
			old = c;
	}
	if (!create)
		return NULL;
	free(old->path);
	kwlist_clear(&old->kw);
	old->path = xstrdup(path);
	old->used = ++kwcache_clock;
	return old;
}

/* kwcache_set - path's list is l now (copied) */
static void
kwcache_set(const char *path, const struct kwlist *l)
{
	struct kwcache *c = kwcache_get(path, true);
	size_t i;

	kwlist_clear(&c->kw);
	for (i = 0; i < l->n; i++)
		c->kw.v[c->kw.n++] = xstrdup(l->v[i]);
}

/* kw_bits - a message's keywords as bits of l (names past the 26 an
 * IMAP session can show are kept in the file, not shown) */
static uint32_t
kw_bits(const struct kwlist *l, const struct mbox_meta *mm)
{
	uint32_t bits = 0;
	size_t i;

	for (i = 0; i < mm->nkeywords; i++) {
		int k = kwlist_find(l, mm->keywords[i]);

		if (k >= 0 && k < IMAP_MAX_KEYWORDS)
			bits |= 1u << k;
	}
	return bits;
}

/* walk - each message of buf with its UID as Dovecot gives it
 * (storage/mbox_file.c), the pseudo message left out; kw (may be NULL)
 * gets the mailbox's keyword list, grown before fn sees each message */
typedef bool walk_fn(void *ctx, const char *buf, size_t from, size_t msg, size_t mlen,
    size_t end, struct mbox_meta *mm, uint32_t uid);

struct walk_adapt {
	walk_fn		*fn;
	void		*ctx;
	struct kwlist	*kw;
	bool		 first;
};

static bool
walk_one(void *ctx, const char *buf, const struct mbox_file_msg *m)
{
	struct walk_adapt *a = ctx;
	size_t i;

	if (a->kw != NULL) {
		for (i = 0; a->first && i < m->mm->nbase_keywords; i++)
			(void)kwlist_add(a->kw, m->mm->base_keywords[i]);
		for (i = 0; i < m->mm->nkeywords; i++)
			(void)kwlist_add(a->kw, m->mm->keywords[i]);
	}
	a->first = false;
	if (m->uid == 0)
		return false;	/* the pseudo message */
	return a->fn != NULL && a->fn(a->ctx, buf, m->from, m->msg, m->mlen, m->end, m->mm,
	    m->uid);
}

static void
walk(const char *buf, size_t len, struct mbox_file_walk *w, walk_fn *fn, void *ctx,
    struct kwlist *kw)
{
	struct walk_adapt a = { fn, ctx, kw, true };

	mbox_file_walk(buf, len, w, walk_one, &a);
}

struct scan_ctx {
	struct imap_mbox_snap *out;
	struct kwlist	 kw;
	struct mbox_index_rec *rec;	/* the offset cache's records (owned) */
};

static bool
scan_one(void *ctx, const char *buf, size_t from, size_t msg, size_t mlen,
    size_t end, struct mbox_meta *mm, uint32_t uid)
{
	struct scan_ctx *sc = ctx;
	struct imap_mbox_snap *out = sc->out;
	struct imap_msg *m;
	struct str view;

	out->m = xreallocarray(out->m, out->n + 1, sizeof(*out->m));
	m = &out->m[out->n++];
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	/* the UID stands in for the Maildir file name: APPEND and COPY find
	 * their new messages by it (imap_mboxf_save) */
	m->name = xasprintf("u%u:", uid);
	m->flags = imap_flags(mm->flags);
	m->kw = kw_bits(&sc->kw, mm);
	str_init(&view, mlen + 1);
	mbox_file_client_view(buf + msg, mlen, mm, &view);
	m->vsize = crlf_size(view.s, view.len);
	str_deinit(&view);
	m->date = mbox_file_from_date(buf + from, msg - from);
	sc->rec = xreallocarray(sc->rec, out->n, sizeof(*sc->rec));
	sc->rec[out->n - 1] = (struct mbox_index_rec){ .uid = uid, .flags = m->flags, .kw = m->kw,
		.vsize = m->vsize, .date = (int64_t)m->date, .from = from, .end = end };
	return false;
}

/* parse - imap_mboxf_parse with the keyword list left in kw and, when
 * rec_r is not NULL, the offset cache's records (owned) */
static bool
parse(const char *buf, size_t len, struct imap_mbox_snap *out, struct kwlist *kw,
    struct mbox_index_rec **rec_r)
{
	struct scan_ctx sc;
	struct mbox_file_walk w;

	memset(out, 0, sizeof(*out));
	memset(&sc, 0, sizeof(sc));
	sc.out = out;
	walk(buf, len, &w, scan_one, &sc, &sc.kw);
	out->uidvalidity = w.uidvalidity;
	out->uidnext = w.uidnext;
	*kw = sc.kw;
	if (rec_r != NULL)
		*rec_r = sc.rec;
	else
		free(sc.rec);
	return w.dirty;
}

bool
imap_mboxf_parse(const char *buf, size_t len, struct imap_mbox_snap *out)
{
	struct kwlist kw;
	bool dirty = parse(buf, len, out, &kw, NULL);

	kwlist_clear(&kw);
	return dirty;
}

/* snap_of_index - the snapshot the cache holds */
static void
snap_of_index(const struct mbox_index *ix, struct imap_mbox_snap *out, struct kwlist *kw)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->m = xcalloc(ix->n + 1, sizeof(*out->m));
	for (i = 0; i < ix->n; i++) {
		struct imap_msg *m = &out->m[i];

		m->uid = ix->r[i].uid;
		m->name = xasprintf("u%u:", m->uid);
		m->flags = ix->r[i].flags;
		m->kw = ix->r[i].kw;
		m->vsize = (size_t)ix->r[i].vsize;
		m->date = (time_t)ix->r[i].date;
		m->modseq = ix->r[i].modseq;
	}
	out->n = ix->n;
	out->highestmodseq = ix->highestmodseq;
	out->uidvalidity = ix->uidvalidity;
	out->uidnext = ix->uidnext;
	memset(kw, 0, sizeof(*kw));
	for (i = 0; i < ix->nkw; i++)
		(void)kwlist_add(kw, ix->kw[i]);
}

int
imap_mboxf_scan(const char *path, struct imap_mbox_snap *out, const char **error_r)
{
	struct str buf;
	struct stat st;
	struct kwlist kw;
	struct mbox_index_key key;
	const struct mbox_index *cached;
	struct mbox_index_rec *rec = NULL;
	bool dirty = false, retried = false;

	memset(out, 0, sizeof(*out));
	str_init(&buf, 4096);
again:
	if (read_locked(path, &buf, &key, &cached) != 0) {
		*error_r = "cannot read the mbox file";
		str_deinit(&buf);
		return -1;
	}
	if (cached != NULL) {
		/* unchanged since the cache was made: not read again */
		snap_of_index(cached, out, &kw);
		dirty = false;
	} else {
		dirty = parse(buf.s, buf.len, out, &kw, &rec);
		if (!dirty && key.ino != 0) {
			struct mbox_index ix;
			size_t i;

			memset(&ix, 0, sizeof(ix));
			ix.key = key;
			ix.uidvalidity = out->uidvalidity;
			ix.uidnext = out->uidnext;
			ix.r = rec;
			ix.n = out->n;
			rec = NULL;
			for (i = 0; i < kw.n && i < MBOX_INDEX_MAX_KEYWORDS; i++)
				ix.kw[ix.nkw++] = xstrdup(kw.v[i]);
			modseqs_carry(path, &ix);
			index_put(path, &ix);
			/* the modseqs as kept (none when it could not be written) */
			for (i = 0; i < out->n && i < ixmem.ix.n; i++)
				out->m[i].modseq = ixmem.ix.r[i].modseq;
			out->highestmodseq = ixmem.ix.highestmodseq;
		}
		free(rec);
		rec = NULL;
	}
	kwcache_set(path, &kw);
	kwlist_clear(&kw);
	if (dirty && !retried) {
		/* UIDs given now are written into the file (X-UID, and
		 * X-IMAPbase in the first message), as Dovecot does, so that
		 * both keep them; read-only files are served as they are */
		retried = true;
		if (imap_mboxf_assign_uids(path) == 0) {
			imap_mbox_snap_free(out);
			memset(out, 0, sizeof(*out));
			dirty = false;
			goto again;
		}
	}
	if (out->uidvalidity == 0)
		/* no X-IMAPbase yet: the file's creation stands in until a
		 * writer gives it one (docs/compat.md) */
		out->uidvalidity = stat(path, &st) == 0 && st.st_mtime > 0 ?
		    (uint32_t)st.st_ino : 1;
	str_deinit(&buf);
	return 0;
}

struct read_ctx {
	uint32_t uid;
	struct str *out;
	bool found;
};

static bool
read_one(void *ctx, const char *buf, size_t from, size_t msg, size_t mlen,
    size_t end, struct mbox_meta *mm, uint32_t uid)
{
	struct read_ctx *r = ctx;

	(void)from;
	if (uid != r->uid)
		return uid > r->uid;
	mbox_file_client_view(buf + msg, mlen, mm, r->out);
	r->found = true;
	return true;
}

/* read_cached - m's bytes only, at the place the cache says, when the
 * cache matches the file and the message there is m (its X-UID): 0 */
static int
read_cached(const char *path, const struct imap_msg *m, struct str *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	const struct mbox_index *ix;
	struct mbox_index_key key;
	struct mbox_meta mm;
	struct stat st;
	size_t lo = 0, hi, len, pos = 0, from, msg, mlen;
	char *buf = NULL;
	int ret = -1;

	if (fd < 0)
		return -1;
	(void)storage_fcntl_lock(fd, false);
	if (fstat(fd, &st) != 0)
		goto out;
	mbox_index_key_of(&st, &key);
	if ((ix = index_get(path, &key)) == NULL)
		goto out;
	for (hi = ix->n; lo < hi; ) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->r[mid].uid < m->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= ix->n || ix->r[lo].uid != m->uid)
		goto out;
	len = (size_t)(ix->r[lo].end - ix->r[lo].from);
	buf = xmalloc(len + 1);
	if (pread(fd, buf, len, (off_t)ix->r[lo].from) != (ssize_t)len)
		goto out;
	/* the same split on the message's own bytes (they end where the
	 * next From_ line starts, as a valid Content-Length does) */
	if (!mbox_file_next(buf, len, &pos, &from, &msg, &mlen) || from != 0)
		goto out;
	mbox_meta_parse(buf + msg, mlen, &mm);
	if (mm.uid == m->uid) {
		str_reset(out);
		mbox_file_client_view(buf + msg, mlen, &mm, out);
		ret = 0;
	}
	mbox_meta_free(&mm);
out:
	free(buf);
	storage_fcntl_unlock(fd);
	close(fd);
	return ret;
}

int
imap_mboxf_read(const char *path, const struct imap_msg *m, struct str *out)
{
	struct str buf;
	struct read_ctx r = { m->uid, out, false };
	struct mbox_file_walk w;
	struct mbox_index_key key;

	if (read_cached(path, m, out) == 0)
		return 0;
	str_init(&buf, 4096);
	if (read_locked(path, &buf, &key, NULL) != 0) {
		str_deinit(&buf);
		return -1;
	}
	str_reset(out);
	walk(buf.s, buf.len, &w, read_one, &r, NULL);
	str_deinit(&buf);
	if (!r.found)
		return errno = ENOENT, -1;
	return 0;
}

/* --- writing: the whole file rewritten under the locks --- */

/* how long a delivery's dot-lock or fcntl lock is waited for */
#define MBOXF_LOCK_TRIES	50
#define MBOXF_LOCK_WAIT_US	100000

/* mboxf_edit_fn - decide about one message: false drops it (EXPUNGE);
 * mm->flags and mm->keywords may be changed */
typedef bool mboxf_edit_fn(void *ctx, struct mbox_meta *mm);

struct rw_ctx {
	struct str	*out;
	mboxf_edit_fn	*edit;
	void		*ctx;
	uint32_t	 uidvalidity, last_uid;
	struct kwlist	 base;		/* X-IMAPbase's keywords to write */
	const struct kwlist *names;	/* what keyword bits mean (the cache's) */
	bool		 written_first;
	size_t		 nseen;		/* messages met (kept or not) */
	struct imap_mboxf_new *add;	/* appended after the last message */
	size_t		 nadd;
};

/* base_meta - w with X-IMAPbase's numbers and keywords (borrowed) */
static void
base_meta(const struct rw_ctx *r, struct mbox_meta *w)
{
	size_t k;

	w->uidvalidity = r->uidvalidity;
	w->last_uid = r->last_uid;
	for (k = 0; k < r->base.n; k++)
		w->base_keywords[k] = r->base.v[k];
	w->nbase_keywords = r->base.n;
}

static bool
rw_one(void *ctx, const char *buf, size_t from, size_t msg, size_t mlen, size_t end,
    struct mbox_meta *mm, uint32_t uid)
{
	struct rw_ctx *r = ctx;
	size_t i = 0, hl = mm->header_len <= mlen ? mm->header_len : mlen, body;
	bool skip = false, keep;

	(void)uid;
	r->nseen++;
	keep = r->edit == NULL || r->edit(r->ctx, mm);
	if (!keep)
		return false;
	str_append_n(r->out, buf + from, msg - from);
	/* the header without the blank line, without our headers */
	body = hl;
	if (hl > 0 && buf[msg + hl - 1] == '\n' && (hl == 1 || buf[msg + hl - 2] == '\n'))
		hl--;	/* the blank line */
	while (i < hl) {
		const char *p = buf + msg + i, *nl = memchr(p, '\n', hl - i);
		size_t ll = nl != NULL ? (size_t)(nl - p) + 1 : hl - i;

		if (*p != ' ' && *p != '\t')
			skip = mbox_file_is_hidden_header(p, ll);
		if (!skip) {
			str_append_n(r->out, p, ll);
			if (p[ll - 1] != '\n')
				str_append_c(r->out, '\n');
		}
		i += ll;
	}
	{
		struct mbox_meta w = *mm;

		base_meta(r, &w);
		if (r->edit != NULL || r->nadd > 0)
			w.flags |= MBOX_OLD;	/* a session has seen it: no longer \Recent */
		mbox_meta_format(&w, !r->written_first, r->out);
	}
	r->written_first = true;
	/* Content-Length keeps unescaped "From " body lines inside, as
	 * Dovecot relies on it */
	str_appendf(r->out, "Content-Length: %zu\n\n", mlen - body);
	str_append_n(r->out, buf + msg + body, mlen - body);
	str_append_c(r->out, '\n');	/* the separator line */
	return false;
}

static unsigned
mbox_flags(unsigned f)
{
	return (f & IMAP_FLAG_SEEN ? MBOX_SEEN : 0) | (f & IMAP_FLAG_ANSWERED ? MBOX_ANSWERED : 0) |
	    (f & IMAP_FLAG_FLAGGED ? MBOX_FLAGGED : 0) | (f & IMAP_FLAG_DRAFT ? MBOX_DRAFT : 0) |
	    (f & IMAP_FLAG_DELETED ? MBOX_DELETED : 0);
}

/* append_new - a new message at the end: a From_ line with the date,
 * its header, our headers, Content-Length and the body with CRLF made LF
 * and "From " lines quoted as ">From " (not ">From " ones again: no reader
 * here unquotes, so a copy keeps its bytes), so that
 * readers that split at From_ lines agree with those that use
 * Content-Length */
static void
append_new(struct rw_ctx *r, const struct imap_mboxf_new *a)
{
	struct str lf, body;
	struct mbox_meta w;
	struct tm tm;
	char date[64];
	time_t t = a->date != 0 ? a->date : time(NULL);
	size_t i, hl;

	str_init(&lf, a->len + 1);
	for (i = 0; i < a->len; i++)
		if (!(a->data[i] == '\r' && i + 1 < a->len && a->data[i + 1] == '\n'))
			str_append_c(&lf, a->data[i]);
	/* the header ends at the first empty line (or there is no body) */
	for (hl = 0; hl < lf.len && lf.s[hl] != '\n'; ) {
		const char *nl = memchr(lf.s + hl, '\n', lf.len - hl);

		hl = nl != NULL ? (size_t)(nl - lf.s) + 1 : lf.len;
	}
	/* a body without a last line end is kept so (Content-Length and
	 * the separator line keep it exact); a header needs its line end */
	if (hl == lf.len && lf.len > 0 && lf.s[lf.len - 1] != '\n') {
		str_append_c(&lf, '\n');
		hl = lf.len;
	}
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	str_appendf(r->out, "From MAILER-DAEMON  %s\n", date);
	for (i = 0; i < hl; ) {
		const char *p = lf.s + i, *nl = memchr(p, '\n', hl - i);
		size_t ll = nl != NULL ? (size_t)(nl - p) + 1 : hl - i;

		if (!mbox_file_is_hidden_header(p, ll))
			str_append_n(r->out, p, ll);
		i += ll;
	}
	memset(&w, 0, sizeof(w));
	w.uid = a->uid;
	w.flags = mbox_flags(a->flags) | MBOX_OLD;
	base_meta(r, &w);
	for (i = 0; r->names != NULL && i < r->names->n && i < IMAP_MAX_KEYWORDS; i++)
		if (a->kw & (1u << i))
			w.keywords[w.nkeywords++] = r->names->v[i];	/* borrowed */
	mbox_meta_format(&w, !r->written_first, r->out);
	r->written_first = true;
	str_init(&body, lf.len + 16);
	for (i = hl < lf.len ? hl + 1 : lf.len; i < lf.len; ) {
		const char *p = lf.s + i, *nl = memchr(p, '\n', lf.len - i), *q = p;
		size_t ll = nl != NULL ? (size_t)(nl - p) + 1 : lf.len - i;

		/* only a bare "From " line: nobody here unquotes (Dovecot does
		 * not either), so ">From " is kept as the client gave it */
		(void)q;
		if (ll >= 5 && memcmp(p, "From ", 5) == 0)
			str_append_c(&body, '>');
		str_append_n(&body, p, ll);
		i += ll;
	}
	str_appendf(r->out, "Content-Length: %zu\n\n", body.len);
	str_append_n(r->out, body.s, body.len);
	str_append_c(r->out, '\n');
	str_deinit(&body);
	str_deinit(&lf);
}

/* lock_once - the dot-lock (skipped where the spool directory does not
 * let us make it, as local delivery does) and the fcntl write lock, each
 * waited for a bounded time */
static int
lock_once(const char *path, int fd, char **dotlock_r)
{
	int i;

	*dotlock_r = NULL;
	for (i = 0; storage_dotlock_take(path, dotlock_r) != 0; i++) {
		if (errno == EACCES)
			break;
		if (errno != EEXIST || i >= MBOXF_LOCK_TRIES)
			return -1;
		usleep(MBOXF_LOCK_WAIT_US);
	}
	for (i = 0; storage_fcntl_lock(fd, true) != 0; i++) {
		if (i >= MBOXF_LOCK_TRIES) {
			storage_dotlock_release(dotlock_r);
			return -1;
		}
		usleep(MBOXF_LOCK_WAIT_US);
	}
	return 0;
}

#define MBOXF_REOPEN_TRIES	20

/* lock_both - *fdp (open on path) locked as lock_once does, and still the
 * file at path once locked: a rewriter that held the locks meanwhile may
 * have renamed a new file in (replace()), and one that went on with the
 * old, unlinked file would rename it back over mail delivered since. The
 * path is then opened again (*fdp replaced). */
static int
lock_both(const char *path, int *fdp, char **dotlock_r)
{
	struct stat held, now;
	int i, nfd;

	for (i = 0; i < MBOXF_REOPEN_TRIES; i++) {
		if (lock_once(path, *fdp, dotlock_r) != 0)
			return -1;
		if (fstat(*fdp, &held) == 0 && stat(path, &now) == 0 &&
		    held.st_dev == now.st_dev && held.st_ino == now.st_ino)
			return 0;
		storage_fcntl_unlock(*fdp);
		storage_dotlock_release(dotlock_r);
		if ((nfd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
			return -1;
		close(*fdp);
		*fdp = nfd;
	}
	errno = EAGAIN;
	return -1;
}

/* in_place - data written over fd's content (the owner, group, mode and
 * inode stay; not crash-safe, which is why it is the fallback) */
static int
in_place(int fd, const struct str *data)
{
	if (pwrite(fd, data->s, data->len, 0) != (ssize_t)data->len ||
	    ftruncate(fd, (off_t)data->len) != 0 || fsync(fd) != 0)
		return -1;
	return 0;
}

/* replace - the new content in place of path's: a new file in the same
 * directory with the old one's owner, group and mode, fsync, rename,
 * fsync of the directory. Where the directory is not ours to write (a
 * root:mail spool) or the new file cannot get the old group (a user
 * outside "mail" with /var/mail/USER USER:mail 0660), the file is
 * rewritten in place, as Dovecot always does. */
static int
replace(const char *path, int fd, const struct stat *st, const struct str *data)
{
	char *tmp = xasprintf("%s.yubin-%ld", path, (long)getpid());
	int tfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	struct stat tst;
	int ret = -1;

	if (tfd < 0) {
		free(tmp);
		if (errno != EACCES)
			return -1;
		return in_place(fd, data);
	}
	if (fstat(tfd, &tst) != 0 ||
	    ((tst.st_uid != st->st_uid || tst.st_gid != st->st_gid) &&
	    fchown(tfd, st->st_uid, st->st_gid) != 0)) {
		close(tfd);
		(void)unlink(tmp);
		free(tmp);
		return in_place(fd, data);
	}
	/* after fchown, which may clear set-id bits */
	if (storage_write_full(tfd, data->s, data->len) == 0 &&
	    fchmod(tfd, st->st_mode & 07777) == 0 && fsync(tfd) == 0 && close(tfd) == 0) {
		tfd = -1;
		if (rename(tmp, path) == 0)
			ret = dir_fsync_of(path);
	}
	if (tfd >= 0)
		close(tfd);
	if (ret != 0)
		(void)unlink(tmp);
	free(tmp);
	return ret;
}

/* base_digits - where the last UID of the first message's X-IMAPbase
 * (or the pseudo message's X-IMAP) is written, when it is the 10-digit
 * zero-padded field Dovecot and yubin write (so that it can be changed
 * in place) and says last_uid; false otherwise */
static bool
base_digits(const char *buf, size_t len, uint32_t last_uid, size_t *off_r)
{
	size_t pos = 0, from, msg, mlen, i;
	struct mbox_meta mm;
	const char *h, *end;
	bool ok = false;

	if (!mbox_file_next(buf, len, &pos, &from, &msg, &mlen))
		return false;
	mbox_meta_parse(buf + msg, mlen, &mm);
	h = buf + msg;
	end = h + (mm.header_len <= mlen ? mm.header_len : mlen);
	while (h < end && !ok) {
		const char *nl = memchr(h, '\n', (size_t)(end - h)), *p, *d;
		size_t ll = nl != NULL ? (size_t)(nl - h) : (size_t)(end - h);
		uint64_t v = 0;

		p = h;
		if (ll >= 11 && strncasecmp(p, "X-IMAPbase:", 11) == 0)
			p += 11;
		else if (ll >= 7 && strncasecmp(p, "X-IMAP:", 7) == 0)
			p += 7;
		else
			goto next;
		while (p < h + ll && (*p == ' ' || *p == '\t'))
			p++;
		for (d = p; p < h + ll && *p >= '0' && *p <= '9'; p++)
			;
		if (p == d || p == h + ll || (*p != ' ' && *p != '\t'))
			break;	/* only the first such header counts */
		while (p < h + ll && (*p == ' ' || *p == '\t'))
			p++;
		for (i = 0; i < 10 && p + i < h + ll && p[i] >= '0' && p[i] <= '9'; i++)
			v = v * 10 + (uint64_t)(p[i] - '0');
		if (i == 10 && (p + 10 == h + ll || p[10] == ' ' || p[10] == '\t' || p[10] == '\r') &&
		    v == last_uid) {
			*off_r = (size_t)(p - buf);
			ok = true;
		}
		break;
next:
		h = nl != NULL ? nl + 1 : end;
	}
	mbox_meta_free(&mm);
	return ok;
}

static int
pwrite_full(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* append_in_place - the new messages written after the last one and
 * the last UID in X-IMAPbase changed in place, both fsync'd; on any
 * failure the file is cut back to its old size and the old digits put
 * back (all or nothing: nothing half-written stays behind a NO). */
static int
append_in_place(int fd, const struct str *old, size_t digits_off, struct rw_ctx *r,
    uint32_t next)
{
	struct str data;
	char digits[16];
	size_t k;
	int e;

	str_init(&data, 4096);
	if (old->len > 0 && old->s[old->len - 1] != '\n')
		str_append_c(&data, '\n');	/* a From_ line starts a line */
	r->out = &data;
	r->written_first = true;	/* X-IMAPbase is there already */
	for (k = 0; k < r->nadd; k++) {
		r->add[k].uid = next++;
		append_new(r, &r->add[k]);
	}
	snprintf(digits, sizeof(digits), "%010u", r->last_uid);
	if (pwrite_full(fd, data.s, data.len, (off_t)old->len) != 0 || fsync(fd) != 0)
		goto undo;
	if (pwrite_full(fd, digits, 10, (off_t)digits_off) != 0 || fsync(fd) != 0) {
		e = errno;
		(void)pwrite_full(fd, old->s + digits_off, 10, (off_t)digits_off);
		errno = e;
		goto undo;
	}
	str_deinit(&data);
	return 0;
undo:
	e = errno;
	if (ftruncate(fd, (off_t)old->len) == 0)
		(void)fsync(fd);
	str_deinit(&data);
	return errno = e, -1;
}

/* mboxf_rewrite - path rewritten with each message through edit, every
 * message with its UID in X-UID and the first with X-IMAPbase (a new
 * UIDVALIDITY when there was none). 0, or -1 with errno. */
static int
mboxf_rewrite(const char *path, mboxf_edit_fn *edit, void *ctx, struct imap_mboxf_new *add,
    size_t nadd)
{
	struct rw_ctx r;
	struct str buf, out;
	struct stat st;
	struct mbox_file_walk w;
	char *dotlock = NULL;
	uint32_t next;
	int fd, ret = -1, e = 0;
	size_t k;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (lock_both(path, &fd, &dotlock) != 0) {
		e = errno;
		close(fd);
		return errno = e, -1;
	}
	str_init(&buf, 4096);
	str_init(&out, 4096);
	memset(&r, 0, sizeof(r));
	if (fstat(fd, &st) != 0 || (unsigned long long)st.st_size > MBOXF_MAX) {
		e = EFBIG;
		goto done;
	}
	{
		char chunk[65536];
		ssize_t n;
		off_t off = 0;

		while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
			str_append_n(&buf, chunk, (size_t)n);
			off += n;
		}
		if (n < 0) {
			e = errno;
			goto done;
		}
	}
	/* X-IMAPbase lists every keyword in use and those the session
	 * named (the cache's), so that the bits stay what they were */
	walk(buf.s, buf.len, &w, NULL, NULL, &r.base);
	{
		struct kwcache *c = kwcache_get(path, false);

		for (k = 0; c != NULL && k < c->kw.n; k++)
			(void)kwlist_add(&r.base, c->kw.v[k]);
		r.names = c != NULL ? &c->kw : NULL;
	}
	r.out = &out;
	r.edit = edit;
	r.ctx = ctx;
	r.uidvalidity = w.uidvalidity != 0 ? w.uidvalidity : (uint32_t)time(NULL);
	r.last_uid = w.uidnext - 1 + (uint32_t)nadd;
	r.add = add;
	r.nadd = nadd;
	if (edit == NULL && nadd > 0 && !w.dirty && w.uidvalidity != 0) {
		/* an APPEND or COPY: written after the last message when
		 * X-IMAPbase needs no new keyword name and its last UID can be
		 * changed in place (Dovecot's padding), instead of a rewrite */
		size_t off, nwritten = 0;

		{
			size_t pos = 0, from, msg, mlen;
			struct mbox_meta fm;

			if (mbox_file_next(buf.s, buf.len, &pos, &from, &msg, &mlen)) {
				mbox_meta_parse(buf.s + msg, mlen, &fm);
				nwritten = fm.nbase_keywords;
				mbox_meta_free(&fm);
			}
		}
		if (r.base.n == nwritten && base_digits(buf.s, buf.len, w.uidnext - 1, &off)) {
			if (append_in_place(fd, &buf, off, &r, w.uidnext) != 0) {
				e = errno;
			} else {
				ret = 0;
				kwcache_set(path, &r.base);
			}
			goto done;
		}
	}
	if (w.pseudo) {
		/* Dovecot's pseudo message stays first once there, with the
		 * numbers: the first real message then has no X-IMAPbase */
		mbox_meta_pseudo(r.uidvalidity, r.last_uid, r.base.v, r.base.n, (long long)time(NULL),
		    &out);
		r.written_first = true;
	}
	walk(buf.s, buf.len, &w, rw_one, &r, NULL);
	next = w.uidnext;
	for (k = 0; k < nadd; k++) {
		add[k].uid = next++;
		append_new(&r, &add[k]);
	}
	if (!r.written_first && r.nseen > 0)
		/* every message expunged: the pseudo message keeps UIDVALIDITY,
		 * the next UID and the keywords, as Dovecot does */
		mbox_meta_pseudo(r.uidvalidity, r.last_uid, r.base.v, r.base.n, (long long)time(NULL),
		    &out);
	if (replace(path, fd, &st, &out) != 0) {
		e = errno;
	} else {
		ret = 0;
		kwcache_set(path, &r.base);	/* what a scan would find now */
	}
done:
	kwlist_clear(&r.base);
	str_deinit(&buf);
	str_deinit(&out);
	storage_fcntl_unlock(fd);
	close(fd);
	storage_dotlock_release(&dotlock);
	return ret == 0 ? 0 : (errno = e, -1);
}

/* --- the edits --- */

struct flags_ctx {
	uint32_t uid;
	unsigned flags;		/* IMAP_FLAG_* */
	uint32_t kw;		/* bits of names */
	const char *path;
	bool	 found;
};

/* set_keywords - mm's X-Keywords say the names of bits now; names the
 * list does not give a bit (past 26, or not known) stay */
static void
set_keywords(struct mbox_meta *mm, const struct kwcache *c, uint32_t bits)
{
	char *keep[MBOX_META_MAX_KEYWORDS];
	size_t i, n = 0;

	for (i = 0; i < mm->nkeywords; i++) {
		int k = c != NULL ? kwlist_find(&c->kw, mm->keywords[i]) : -1;

		if (k < 0 || k >= IMAP_MAX_KEYWORDS)
			keep[n++] = mm->keywords[i];
		else
			free(mm->keywords[i]);
	}
	for (i = 0; c != NULL && i < c->kw.n && i < IMAP_MAX_KEYWORDS; i++)
		if ((bits & (1u << i)) && n < MBOX_META_MAX_KEYWORDS)
			keep[n++] = xstrdup(c->kw.v[i]);
	memcpy(mm->keywords, keep, n * sizeof(keep[0]));
	mm->nkeywords = n;
}

static bool
flags_one(void *ctx, struct mbox_meta *mm)
{
	struct flags_ctx *f = ctx;

	if (mm->uid == f->uid) {
		mm->flags = (mm->flags & MBOX_OLD) | (f->flags & IMAP_FLAG_SEEN ? MBOX_SEEN : 0) |
		    (f->flags & IMAP_FLAG_ANSWERED ? MBOX_ANSWERED : 0) |
		    (f->flags & IMAP_FLAG_FLAGGED ? MBOX_FLAGGED : 0) |
		    (f->flags & IMAP_FLAG_DRAFT ? MBOX_DRAFT : 0) |
		    (f->flags & IMAP_FLAG_DELETED ? MBOX_DELETED : 0);
		set_keywords(mm, kwcache_get(f->path, false), f->kw);
		f->found = true;
	}
	return true;
}

struct many_ctx {
	struct imap_mboxf_flags *v;	/* sorted by UID */
	size_t n;
	const char *path;
};

static int
flags_uid_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct imap_mboxf_flags *)a)->uid;
	uint32_t y = ((const struct imap_mboxf_flags *)b)->uid;

	return x < y ? -1 : x > y;
}

static bool
many_one(void *ctx, struct mbox_meta *mm)
{
	struct many_ctx *c = ctx;
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->v[mid].uid < mm->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->n && c->v[lo].uid == mm->uid) {
		struct flags_ctx f = { mm->uid, c->v[lo].flags, c->v[lo].kw, c->path, false };

		(void)flags_one(&f, mm);
		c->v[lo].found = true;
	}
	return true;
}

int
imap_mboxf_set_flags_many(const char *path, struct imap_mboxf_flags *v, size_t n)
{
	struct many_ctx c = { v, n, path };
	size_t i;

	for (i = 0; i < n; i++)
		v[i].found = false;
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), flags_uid_cmp);
	return mboxf_rewrite(path, many_one, &c, NULL, 0);
}

int
imap_mboxf_set_flags(const char *path, struct imap_msg *m, unsigned flags, uint32_t kw)
{
	struct flags_ctx f = { m->uid, flags, kw, path, false };

	if (mboxf_rewrite(path, flags_one, &f, NULL, 0) != 0)
		return -1;
	if (!f.found)
		return errno = ENOENT, -1;
	m->flags = (m->flags & IMAP_FLAG_RECENT) | (flags & ~IMAP_FLAG_RECENT);
	m->kw = kw;
	return 0;
}

void
imap_mboxf_keywords(const char *path, char **names, size_t *n_r)
{
	struct kwcache *c = kwcache_get(path, false);
	size_t i;

	if (c == NULL) {
		struct imap_mbox_snap snap;
		const char *err;

		/* not looked at yet: a scan fills the cache */
		if (imap_mboxf_scan(path, &snap, &err) != 0)
			return;
		imap_mbox_snap_free(&snap);
		if ((c = kwcache_get(path, false)) == NULL)
			return;
	}
	for (i = 0; i < c->kw.n && i < IMAP_MAX_KEYWORDS; i++) {
		if (names[i] == NULL)
			names[i] = xstrdup(c->kw.v[i]);
		if (i + 1 > *n_r)
			*n_r = i + 1;
	}
}

int
imap_mboxf_keyword_index(const char *path, const char *name, bool create)
{
	struct kwcache *c = kwcache_get(path, false);
	int k;

	if (c == NULL) {
		char *none[IMAP_MAX_KEYWORDS] = { 0 };
		size_t n = 0, i;

		imap_mboxf_keywords(path, none, &n);
		for (i = 0; i < n; i++)
			free(none[i]);
		if ((c = kwcache_get(path, create)) == NULL)
			return -1;
	}
	k = kwlist_find(&c->kw, name);
	if (k < 0 && create && c->kw.n < IMAP_MAX_KEYWORDS)
		k = kwlist_add(&c->kw, name);	/* into the file at the next write */
	return k >= 0 && k < IMAP_MAX_KEYWORDS ? k : -1;
}

struct expunge_ctx {
	const uint32_t *uids;	/* sorted */
	size_t n;
};

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool
expunge_one(void *ctx, struct mbox_meta *mm)
{
	const struct expunge_ctx *x = ctx;
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->uids[mid] == mm->uid)
			return false;
		if (x->uids[mid] < mm->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return true;
}

int
imap_mboxf_expunge(const char *path, const uint32_t *uids, size_t n)
{
	uint32_t *sorted;
	struct expunge_ctx x;
	int ret;

	if (n == 0)
		return 0;
	sorted = xreallocarray(NULL, n, sizeof(*sorted));
	memcpy(sorted, uids, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), uid_cmp);
	x.uids = sorted;
	x.n = n;
	ret = mboxf_rewrite(path, expunge_one, &x, NULL, 0);
	free(sorted);
	return ret;
}

int
imap_mboxf_assign_uids(const char *path)
{
	return mboxf_rewrite(path, NULL, NULL, NULL, 0);
}

int
imap_mboxf_save(const char *path, struct imap_mboxf_new *add, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -1;
	close(fd);
	return mboxf_rewrite(path, NULL, NULL, add, n);
}

int
imap_mboxf_delete(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW), ret;
	char *dotlock = NULL;

	/* under the locks: a delivery in progress finishes first */
	if (fd < 0 || lock_both(path, &fd, &dotlock) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ret = unlink(path) == 0 ? dir_fsync_of(path) : -1;
	if (ret == 0) {
		/* its offset cache goes with it (a new mbox of that name must
		 * not meet it, even if the key could never match) */
		char *ixpath = mbox_index_path(path), *slash;

		(void)unlink(ixpath);
		if ((slash = strrchr(ixpath, '/')) != NULL) {
			*slash = '\0';
			(void)rmdir(ixpath);
		}
		free(ixpath);
		imap_mboxf_cache_drop();
	}
	storage_fcntl_unlock(fd);
	close(fd);
	storage_dotlock_release(&dotlock);
	return ret;
}

uint64_t
imap_mboxf_changed(const char *path, struct imap_mbox_snap *snap, const size_t *idx, size_t n)
{
	struct imap_mbox_snap now;
	const char *error;
	size_t i;

	if (imap_mboxf_scan(path, &now, &error) != 0)
		return 0;
	if (now.highestmodseq == 0) {
		imap_mbox_snap_free(&now);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct imap_msg *m = &snap->m[idx[i]];
		size_t lo = 0, hi = now.n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (now.m[mid].uid < m->uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* expunged meanwhile: the highest, which covers its change */
		m->modseq = lo < now.n && now.m[lo].uid == m->uid ? now.m[lo].modseq :
		    now.highestmodseq;
	}
	if (now.highestmodseq > snap->highestmodseq)
		snap->highestmodseq = now.highestmodseq;
	imap_mbox_snap_free(&now);
	return snap->highestmodseq;
}
