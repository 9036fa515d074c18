/* mailbox_read.c - opening a Maildir or an mbox for reading (POP3,
 * doveadm): the snapshot, message contents, expunge, UIDLs. See mailbox.h.
 * An mbox is split and numbered by storage/mbox_file.c, as IMAP does.
 * Tests: tests/unit/storage/test_mailbox_read.c */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/mailbox.h"
#include "storage/mbox_file.h"
#include "storage/mbox_meta.h"

/* Dovecot's dovecot-uidlist.lock: a dot-lock made with O_EXCL, stale after
 * two minutes without change; we wait up to this long for it */
#define UIDLIST_LOCK_STALE	120
#define UIDLIST_LOCK_WAIT_MS	10000
#define MAILBOX_MSG_MAX		(1024u * 1024u * 1024u)

struct mailbox {
	enum storage_format format;
	char		*path;
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;	/* mbox: X-IMAPbase's last UID + 1; 0 unknown */
	bool		 pseudo;	/* mbox: Dovecot's pseudo message is first */
	uint32_t	 base_last;	/* mbox: X-IMAPbase's last UID as written */
	char		*base_kw[MBOX_META_MAX_KEYWORDS];	/* mbox: X-IMAPbase's (owned) */
	size_t		 nbase_kw;
	struct mailbox_msg *m;
	size_t		 n;
	char		 error[512];
};

size_t
mailbox_count(const struct mailbox *mb)
{
	return mb->n;
}

const struct mailbox_msg *
mailbox_msg(const struct mailbox *mb, size_t i)
{
	return i < mb->n ? &mb->m[i] : NULL;
}

uint32_t
mailbox_uidnext(const struct mailbox *mb)
{
	return mb->uidnext;
}

uint32_t
mailbox_uidvalidity(const struct mailbox *mb)
{
	return mb->uidvalidity;
}

static const char * __attribute__((format(printf, 2, 3)))
mailbox_fail(struct mailbox *mb, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mb->error, sizeof(mb->error), fmt, ap);
	va_end(ap);
	errno = saved;
	return mb->error;
}

static void
mailbox_push(struct mailbox *mb, uint32_t uid, size_t vsize, char *name)
{
	struct mailbox_msg *m;

	mb->m = xreallocarray(mb->m, mb->n + 1, sizeof(*mb->m));
	m = &mb->m[mb->n++];
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	m->vsize = vsize;
	m->name = name;
}

/* vsize_of - octets of data with every LF counted as CRLF */
static size_t
vsize_of(const char *p, size_t len)
{
	size_t n = len;
	const char *q = p, *end = p + len;

	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (q == p || q[-1] != '\r')
			n++;
		q++;
	}
	return n;
}

/* --- Maildir --- */

static int
uidlist_lock(const char *lock_path)
{
	struct stat st;
	int fd, waited = 0;

	for (;;) {
		fd = open(lock_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
		if (lstat(lock_path, &st) == 0 && st.st_mtime + UIDLIST_LOCK_STALE < time(NULL)) {
			(void)unlink(lock_path);
			continue;
		}
		if (waited >= UIDLIST_LOCK_WAIT_MS) {
			errno = EAGAIN;
			return -1;
		}
		usleep(20000);
		waited += 20;
	}
}

/* delivery_cmp - Maildir names in delivery order: runs of digits compare
 * as numbers, so "T.M99P1" comes before "T.M100P1" (the microseconds and
 * counters in names are not zero-padded, by yubin or by Dovecot), and new
 * messages get their UIDs in the order they arrived */
static int
delivery_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	const char *x0 = x, *y0 = y;

	while (*x != '\0' && *y != '\0') {
		if (isdigit((unsigned char)*x) && isdigit((unsigned char)*y)) {
			const char *xs, *ys;
			size_t xl, yl;
			int c;

			while (*x == '0' && isdigit((unsigned char)x[1]))
				x++;
			while (*y == '0' && isdigit((unsigned char)y[1]))
				y++;
			for (xs = x; isdigit((unsigned char)*x); x++)
				;
			for (ys = y; isdigit((unsigned char)*y); y++)
				;
			xl = (size_t)(x - xs);
			yl = (size_t)(y - ys);
			if (xl != yl)
				return xl < yl ? -1 : 1;
			if ((c = memcmp(xs, ys, xl)) != 0)
				return c;
			continue;
		}
		if (*x != *y)
			return (unsigned char)*x < (unsigned char)*y ? -1 : 1;
		x++;
		y++;
	}
	if (*x != *y)
		return *x == '\0' ? -1 : 1;
	return strcmp(x0, y0);	/* "01" and "1": any fixed order */
}

struct base_idx {
	char	*base;
	size_t	 idx;
};

static int
base_cmp(const void *a, const void *b)
{
	return strcmp(((const struct base_idx *)a)->base, ((const struct base_idx *)b)->base);
}

/* maildir_list - names in DIR (not starting with '.') */
static int
maildir_list(const char *dir, struct strvec *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			strvec_push(out, de->d_name);
	closedir(d);
	return 0;
}

static size_t
maildir_file_vsize(const char *dir, const char *name)
{
	const char *w = strstr(name, ",W=");
	struct str data;
	char *path;
	size_t v = 0;

	if (w != NULL)
		return (size_t)strtoull(w + 3, NULL, 10);
	path = path_join(dir, name);
	str_init(&data, 4096);
	if (file_read(path, MAILBOX_MSG_MAX, &data) == 0)
		v = vsize_of(data.s, data.len);
	str_deinit(&data);
	free(path);
	return v;
}

static int
maildir_open(struct mailbox *mb, const char **error_r)
{
	struct strvec news, curs;
	struct uidlist ul;
	struct str buf;
	char *newdir = path_join(mb->path, "new"), *curdir = path_join(mb->path, "cur");
	char *ulpath = path_join(mb->path, "dovecot-uidlist");
	char *lockpath = path_join(mb->path, "dovecot-uidlist.lock");
	struct base_idx *bases = NULL;
	bool *seen = NULL, changed = false;
	size_t i, j;
	int fd = -1, ret = -1;

	strvec_init(&news);
	strvec_init(&curs);
	uidlist_init(&ul);
	str_init(&buf, 4096);
	if (access(curdir, F_OK) != 0 && errno == ENOENT) {
		ret = 0;	/* no Maildir yet: empty */
		goto out;
	}
	if ((fd = uidlist_lock(lockpath)) < 0) {
		*error_r = mailbox_fail(mb, "cannot lock %s: %s", lockpath, strerror(errno));
		goto out;
	}
	/* new/ to cur/ with ":2,", as Dovecot's POP3 does: the message is
	 * no longer recent */
	if (maildir_list(newdir, &news) != 0) {
		*error_r = mailbox_fail(mb, "opendir(%s) failed: %s", newdir, strerror(errno));
		goto out;
	}
	for (i = 0; i < news.n; i++) {
		char *from = path_join(newdir, news.v[i]);
		char *to = xasprintf("%s/%s%s", curdir, news.v[i],
		    strchr(news.v[i], ':') != NULL ? "" : ":2,");

		if (rename(from, to) != 0 && errno != ENOENT) {
			*error_r = mailbox_fail(mb, "rename to %s failed: %s", to, strerror(errno));
			free(from);
			free(to);
			goto out;
		}
		free(from);
		free(to);
	}
	if (maildir_list(curdir, &curs) != 0) {
		*error_r = mailbox_fail(mb, "opendir(%s) failed: %s", curdir, strerror(errno));
		goto out;
	}
	qsort(curs.v, curs.n, sizeof(char *), delivery_cmp);
	if (file_read(ulpath, 256u * 1024 * 1024, &buf) == 0) {
		const char *err;

		if (uidlist_parse(&ul, buf.s, buf.len, &err) != 0) {
			uidlist_deinit(&ul);
			uidlist_init(&ul);
			changed = true;
		}
	} else if (errno != ENOENT) {
		*error_r = mailbox_fail(mb, "open(%s) failed: %s", ulpath, strerror(errno));
		goto out;
	}
	if (ul.uidvalidity == 0) {
		unsigned char g[16];

		ul.uidvalidity = (uint32_t)time(NULL);
		if (getrandom(g, sizeof(g), 0) == (ssize_t)sizeof(g))
			for (i = 0; i < sizeof(g); i++)
				snprintf(ul.guid + 2 * i, 3, "%02x", g[i]);
		changed = true;
	}
	/* match files to entries by base name; entries whose file is gone
	 * are dropped, files without an entry get new UIDs in name order */
	seen = xcalloc(curs.n + 1, sizeof(bool));
	bases = xcalloc(curs.n + 1, sizeof(*bases));
	for (i = 0; i < curs.n; i++) {
		bases[i].base = xstrndup(curs.v[i], maildir_basename_len(curs.v[i]));
		bases[i].idx = i;
	}
	qsort(bases, curs.n, sizeof(*bases), base_cmp);
	{
		struct uidlist keep;

		uidlist_init(&keep);
		keep.uidvalidity = ul.uidvalidity;
		keep.next_uid = ul.next_uid;
		memcpy(keep.guid, ul.guid, sizeof(keep.guid));
		for (j = 0; j < ul.n; j++) {
			const char *b = ul.e[j].base;
			size_t bl = strlen(b);
			bool found = false;

			size_t lo = 0, hi = curs.n;

			/* bases[] is sorted by base name: binary search */
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				int c = strcmp(bases[mid].base, b);

				if (c == 0) {
					lo = mid;
					found = true;
					break;
				}
				if (c < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (found)
				lo = bases[lo].idx;
			(void)bl;
			if (!found || seen[lo]) {
				changed = true;
				continue;
			}
			seen[lo] = true;
			if (ul.e[j].vsize == 0) {
				ul.e[j].vsize = maildir_file_vsize(curdir, curs.v[lo]);
				changed = true;
			}
			keep.e = xreallocarray(keep.e, keep.n + 1, sizeof(*keep.e));
			keep.e[keep.n] = ul.e[j];
			keep.e[keep.n].base = xstrdup(ul.e[j].base);
			keep.n++;
			mailbox_push(mb, ul.e[j].uid, ul.e[j].vsize, xstrdup(curs.v[lo]));
		}
		for (i = 0; i < curs.n; i++) {
			char *base;
			size_t v;

			if (seen[i])
				continue;
			base = xstrndup(curs.v[i], maildir_basename_len(curs.v[i]));
			v = maildir_file_vsize(curdir, curs.v[i]);
			mailbox_push(mb, uidlist_add(&keep, base, v), v, xstrdup(curs.v[i]));
			free(base);
			changed = true;
		}
		uidlist_deinit(&ul);
		ul = keep;
	}
	mb->uidvalidity = ul.uidvalidity;
	if (changed) {
		/* the lock file becomes the new list, as Dovecot's dotlock
		 * replace does: readers see the old or the new file */
		str_reset(&buf);
		uidlist_format(&ul, &buf);
		if (storage_write_full(fd, buf.s, buf.len) != 0 || fsync(fd) != 0 ||
		    rename(lockpath, ulpath) != 0) {
			*error_r = mailbox_fail(mb, "cannot write %s: %s", ulpath, strerror(errno));
			goto out;
		}
		close(fd);
		fd = -1;
	}
	ret = 0;
out:
	if (fd >= 0) {
		close(fd);
		(void)unlink(lockpath);
	}
	free(seen);
	for (i = 0; bases != NULL && i < curs.n; i++)
		free(bases[i].base);
	free(bases);
	str_deinit(&buf);
	uidlist_deinit(&ul);
	strvec_deinit(&news);
	strvec_deinit(&curs);
	free(newdir);
	free(curdir);
	free(ulpath);
	free(lockpath);
	return ret;
}

/* --- mbox --- */

/* mbox_header - the value of header name (with ':') in the header block of
 * [p, end), or NULL; *len_r its length */
static const char *
mbox_header(const char *p, const char *end, const char *name, size_t *len_r)
{
	size_t nl = strlen(name);

	while (p < end && *p != '\n') {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*len_r = (size_t)(eol - v);
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

static int
mbox_lock(struct mailbox *mb, int *fd_r, char **lock_r, bool write, const char **error_r)
{
	int fd;

	if (storage_dotlock_take(mb->path, lock_r) != 0) {
		*error_r = mailbox_fail(mb, "cannot lock %s: %s", mb->path, strerror(errno));
		return -1;
	}
	fd = open(mb->path, (write ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || storage_fcntl_lock(fd, write) != 0) {
		*error_r = mailbox_fail(mb, "cannot open %s: %s", mb->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		storage_dotlock_release(lock_r);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

static int
mbox_read_all(int fd, struct str *out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_append_n(out, buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

/* the walk of mbox_open: each message's place, UID, size and X-UIDL */
struct mbox_open_ctx {
	struct mailbox	*mb;
	bool		 first;
	struct str	 view;
};

static bool
mbox_open_one(void *ctx, const char *buf, const struct mbox_file_msg *fm)
{
	struct mbox_open_ctx *c = ctx;
	struct mailbox *mb = c->mb;
	struct mailbox_msg *m;
	const char *v, *hdr = buf + fm->msg;
	size_t len, i;

	if (c->first && fm->mm->has_base) {
		mb->base_last = fm->mm->last_uid;
		for (i = 0; i < fm->mm->nbase_keywords; i++)
			mb->base_kw[mb->nbase_kw++] = xstrdup(fm->mm->base_keywords[i]);
	}
	c->first = false;
	if (fm->uid == 0)
		return false;	/* Dovecot's pseudo message: the numbers, not mail */
	str_reset(&c->view);
	mbox_file_client_view(hdr, fm->mlen, fm->mm, &c->view);
	mailbox_push(mb, fm->uid, vsize_of(c->view.s, c->view.len), NULL);
	m = &mb->m[mb->n - 1];
	m->offset = (off_t)fm->from;
	m->end = (off_t)fm->end;
	if ((v = mbox_header(hdr, hdr + fm->mm->header_len, "X-UIDL:", &len)) != NULL)
		m->uidl = xstrndup(v, len);
	return false;
}

static int
mbox_open(struct mailbox *mb, const char **error_r)
{
	struct str data;
	struct mbox_file_walk w;
	struct mbox_open_ctx c;
	char *lock = NULL;
	int fd;

	if (access(mb->path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if (mbox_lock(mb, &fd, &lock, false, error_r) != 0)
		return -1;
	str_init(&data, 65536);
	if (mbox_read_all(fd, &data) != 0) {
		*error_r = mailbox_fail(mb, "read(%s) failed: %s", mb->path, strerror(errno));
		goto fail;
	}
	if (data.len > 0 && (data.len < 5 || memcmp(data.s, "From ", 5) != 0)) {
		errno = EINVAL;
		*error_r = mailbox_fail(mb, "%s: not an mbox file (%s)", mb->path, strerror(errno));
		goto fail;
	}
	/* the split, UIDs and pseudo message IMAP sees (storage/mbox_file.c),
	 * so that POP3 UIDLs and doveadm counts agree with IMAP and Dovecot */
	memset(&c, 0, sizeof(c));
	c.mb = mb;
	c.first = true;
	str_init(&c.view, 4096);
	mbox_file_walk(data.s, data.len, &w, mbox_open_one, &c);
	str_deinit(&c.view);
	mb->uidvalidity = w.uidvalidity;
	mb->uidnext = w.uidnext;
	mb->pseudo = w.pseudo;
	str_deinit(&data);
	storage_fcntl_unlock(fd);
	close(fd);
	storage_dotlock_release(&lock);
	return 0;
fail:
	str_deinit(&data);
	storage_fcntl_unlock(fd);
	close(fd);
	storage_dotlock_release(&lock);
	return -1;
}

static int
mbox_msg_read(struct mailbox *mb, size_t i, struct str *out, const char **error_r)
{
	struct mailbox_msg *m = &mb->m[i];
	size_t len = (size_t)(m->end - m->offset), pos = 0, from, msg, mlen;
	char *buf = xmalloc(len + 1);
	struct mbox_meta mm;
	ssize_t n;
	int fd = open(mb->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || (n = pread(fd, buf, len, m->offset)) != (ssize_t)len || len < 5 ||
	    memcmp(buf, "From ", 5) != 0) {
		if (fd >= 0)
			close(fd);
		free(buf);
		errno = ESTALE;
		*error_r = "the mbox changed under us";
		return -1;
	}
	close(fd);
	/* the same split on the message's own bytes (they end at the next
	 * From_ line, where a valid Content-Length ends too), shown as IMAP
	 * and Dovecot show it: no mbox headers, ">From " left as it is */
	if (!mbox_file_next(buf, len, &pos, &from, &msg, &mlen)) {
		free(buf);
		errno = ESTALE;
		*error_r = "the mbox changed under us";
		return -1;
	}
	mbox_meta_parse(buf + msg, mlen, &mm);
	mbox_file_client_view(buf + msg, mlen, &mm, out);
	mbox_meta_free(&mm);
	free(buf);
	return 0;
}

static int
mbox_expunge(struct mailbox *mb, const bool *del, const char **error_r)
{
	struct str data, keep;
	char *lock = NULL;
	size_t i, pos = 0;
	int fd, ret = -1;

	if (mbox_lock(mb, &fd, &lock, true, error_r) != 0)
		return -1;
	str_init(&data, 65536);
	str_init(&keep, 65536);
	if (mbox_read_all(fd, &data) != 0) {
		*error_r = mailbox_fail(mb, "read(%s) failed: %s", mb->path, strerror(errno));
		goto out;
	}
	if (mb->n > 0 && del[0] && !mb->pseudo && mb->uidvalidity != 0)
		/* the first message carries X-IMAPbase: when it goes, the
		 * pseudo message keeps UIDVALIDITY, the last UID and the
		 * keyword names (Dovecot reads it) */
		/* the last UID as written: UIDs given to messages without X-UID
		 * (POP3 does not write them) stay free for them */
		mbox_meta_pseudo(mb->uidvalidity, mb->base_last, mb->base_kw, mb->nbase_kw,
		    (long long)time(NULL), &keep);
	for (i = 0; i < mb->n; i++) {
		const struct mailbox_msg *m = &mb->m[i];

		if (!del[i])
			continue;
		if ((size_t)m->end > data.len || (size_t)m->offset + 5 > data.len ||
		    memcmp(data.s + m->offset, "From ", 5) != 0) {
			errno = ESTALE;
			*error_r = mailbox_fail(mb, "%s changed since it was opened (%s)", mb->path, strerror(errno));
			goto out;
		}
		str_append_n(&keep, data.s + pos, (size_t)m->offset - pos);
		pos = (size_t)m->end;
	}
	str_append_n(&keep, data.s + pos, data.len - pos);
	if (pwrite(fd, keep.s, keep.len, 0) != (ssize_t)keep.len ||
	    ftruncate(fd, (off_t)keep.len) != 0 || fsync(fd) != 0) {
		*error_r = mailbox_fail(mb, "cannot rewrite %s: %s", mb->path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	str_deinit(&data);
	str_deinit(&keep);
	storage_fcntl_unlock(fd);
	close(fd);
	storage_dotlock_release(&lock);
	return ret;
}

/* --- the public calls --- */

int
mailbox_open(const char *path, enum storage_format format, struct mailbox **r,
    const char **error_r)
{
	struct mailbox *mb = xcalloc(1, sizeof(*mb));
	size_t len = strlen(path);

	mb->format = format;
	mb->path = xstrdup(path);
	if (format == STORAGE_MAILDIR && len > 1 && mb->path[len - 1] == '/')
		mb->path[len - 1] = '\0';
	if ((format == STORAGE_MAILDIR ? maildir_open(mb, error_r) : mbox_open(mb, error_r)) != 0) {
		static char saved[512];

		/* the error lives in mb; keep a copy past the free */
		snprintf(saved, sizeof(saved), "%s", *error_r);
		*error_r = saved;
		mailbox_close(&mb);
		return -1;
	}
	*r = mb;
	return 0;
}

void
mailbox_close(struct mailbox **p)
{
	struct mailbox *mb = *p;
	size_t i;

	if (mb == NULL)
		return;
	for (i = 0; i < mb->n; i++) {
		free(mb->m[i].name);
		free(mb->m[i].uidl);
	}
	for (i = 0; i < mb->nbase_kw; i++)
		free(mb->base_kw[i]);
	free(mb->m);
	free(mb->path);
	free(mb);
	*p = NULL;
}

int
mailbox_msg_read(struct mailbox *mb, size_t i, struct str *out, const char **error_r)
{
	char *path;
	int ret;

	if (i >= mb->n) {
		*error_r = "no such message";
		return -1;
	}
	if (mb->format == STORAGE_MBOX)
		return mbox_msg_read(mb, i, out, error_r);
	path = xasprintf("%s/cur/%s", mb->path, mb->m[i].name);
	ret = file_read(path, MAILBOX_MSG_MAX, out);
	if (ret != 0)
		*error_r = mailbox_fail(mb, "open(%s) failed: %s", path, strerror(errno));
	free(path);
	return ret;
}

int
mailbox_expunge(struct mailbox *mb, const bool *del, const char **error_r)
{
	size_t i;
	int ret = 0;

	if (mb->format == STORAGE_MBOX) {
		for (i = 0; i < mb->n; i++)
			if (del[i])
				return mbox_expunge(mb, del, error_r);
		return 0;
	}
	for (i = 0; i < mb->n; i++) {
		char *path;

		if (!del[i])
			continue;
		/* the next open drops the uidlist entry of a vanished file */
		path = xasprintf("%s/cur/%s", mb->path, mb->m[i].name);
		if (unlink(path) != 0 && errno != ENOENT) {
			*error_r = mailbox_fail(mb, "unlink(%s) failed: %s", path, strerror(errno));
			ret = -1;
		}
		free(path);
	}
	return ret;
}

void
mailbox_uidl(const struct mailbox *mb, size_t i, const char *format, struct str *out)
{
	const struct mailbox_msg *m = &mb->m[i];
	const char *p;

	str_reset(out);
	if (m->uidl != NULL) {
		str_append(out, m->uidl);
		return;
	}
	for (p = format; *p != '\0'; p++) {
		int width = 0;
		bool hex = false;

		if (*p != '%' || p[1] == '\0') {
			str_append_c(out, *p);
			continue;
		}
		p++;
		/* a width and X for hex (lower-case, as Dovecot prints its %08Xu) */
		while (*p >= '0' && *p <= '9' && width < 100)
			width = width * 10 + (*p++ - '0');
		if (*p == 'X') {
			hex = true;
			p++;
		}
		if (*p == '\0')
			break;
		switch (*p) {
		case 'u':
		case 'v': {
			unsigned v = *p == 'u' ? m->uid : mb->uidvalidity;

			if (hex)
				str_appendf(out, "%0*x", width, v);
			else
				str_appendf(out, "%0*u", width, v);
			break;
		}
		case 'f':
		case 'g':
		case 'm':
			if (m->name != NULL)
				str_append_n(out, m->name, maildir_basename_len(m->name));
			else
				str_appendf(out, "%u", m->uid);
			break;
		case '%':
			str_append_c(out, '%');
			break;
		default:
			str_append_c(out, '%');
			str_append_c(out, *p);
			break;
		}
	}
}
