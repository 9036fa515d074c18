/* qfile.c - the queue file writer (qfile.h) and queue IDs.
 *
 * The writer buffers records and writes them to a temporary file in
 * incoming/ whose name is never a valid queue ID, so the queue manager and
 * the commands never see a half-written message. The queue ID is fixed at
 * open from the arrival time and the file's inode, as Postfix does: the
 * inode makes it unique among the files that exist at the same time.
 * Record format: qmsg.h. Tests: tests/unit/queue/test_qfile.c */
#include "queue/qfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/fsync_many.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "queue/qmsg.h"
#include "queue/qspare.h"

_Static_assert(QMSG_REC_HDR_SIZE == 1 + sizeof(uint32_t), "record header: type + 32-bit length");

/* Postfix's long queue ID alphabet (safe_ultostr): digits and consonants,
 * so no word can be spelled; the inode part leaves out 'z', which
 * separates it from the time. */
static const char qfile_b52[] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
#define QFILE_LG_SEC_PAD	6
#define QFILE_LG_USEC_PAD	4
#define QFILE_SH_USEC_PAD	5
#define QFILE_SH_MIN_LEN	10
/* flush the write buffer when it holds this much */
#define QFILE_FLUSH_AT		(64u * 1024)

struct qfile_writer {
	char		 id[QFILE_ID_SIZE];
	char		*dir;		/* owned: queue_dir/incoming */
	char		*tmp_path;	/* owned */
	char		*final_path;	/* owned */
	int		 fd;
	struct str	 buf;		/* records not yet written */
	off_t		 written;	/* bytes already in the file */
	off_t		 size_offset;	/* of the C record's data */
	size_t		 size;		/* content bytes */
	size_t		 nrcpt;
	bool		 in_content;	/* M written, X not yet */
	bool		 after_content;	/* X written */
	bool		 failed;	/* a write failed: commit must fail */
	bool		 begun;		/* commit_begin done: only the group commit left */
	bool		 committed;
	bool		 reused;	/* a spare file (qspare.h): truncate at commit */
};

static void
qfile_encode(char *out, size_t size, unsigned long long v, unsigned base, size_t pad)
{
	char tmp[32];
	size_t n = 0, i;

	do {
		tmp[n++] = qfile_b52[v % base];
		v /= base;
	} while (v != 0 && n < sizeof(tmp));
	while (n < pad && n < sizeof(tmp))
		tmp[n++] = '0';
	for (i = 0; i < n && i + 1 < size; i++)
		out[i] = tmp[n - 1 - i];
	out[i] = '\0';
}

/* qfile_make_id - the queue ID of a file created at tv with inode ino */
static void
qfile_make_id(char *id, const struct timeval *tv, ino_t ino, bool long_ids)
{
	if (long_ids) {
		char sec[16], usec[16], inum[24];

		qfile_encode(sec, sizeof(sec), (unsigned long long)tv->tv_sec, 52,
		    QFILE_LG_SEC_PAD);
		qfile_encode(usec, sizeof(usec), (unsigned long long)tv->tv_usec, 52,
		    QFILE_LG_USEC_PAD);
		qfile_encode(inum, sizeof(inum), (unsigned long long)ino, 51, 1);
		snprintf(id, QFILE_ID_SIZE, "%.6s%.4sz%.14s", sec, usec, inum);
	} else {
		/* the inode is padded too, so that a short ID is never shorter
		 * than Postfix's usual ten characters */
		snprintf(id, QFILE_ID_SIZE, "%05lX%05llX", (unsigned long)tv->tv_usec,
		    (unsigned long long)ino);
	}
}

bool
qfile_id_is_valid(const char *id)
{
	size_t len, i;
	bool ok = false;

	if (id == NULL)
		goto out;
	len = strlen(id);
	if (len < QFILE_SH_MIN_LEN || len >= QFILE_ID_SIZE)
		goto out;
	if (strspn(id, "0123456789ABCDEF") == len) {
		ok = true;
		goto out;
	}
	/* long form: 6 + 4 characters of time, 'z', inode */
	if (len < QFILE_LG_SEC_PAD + QFILE_LG_USEC_PAD + 2)
		goto out;
	for (i = 0; i < QFILE_LG_SEC_PAD + QFILE_LG_USEC_PAD; i++)
		if (memchr(qfile_b52, id[i], 52) == NULL)
			goto out;
	if (id[i++] != 'z')
		goto out;
	for (; i < len; i++)
		if (id[i] == 'z' || memchr(qfile_b52, id[i], 51) == NULL)
			goto out;
	ok = true;
out:
	return ok;
}

static void
qfile_put(struct qfile_writer *w, int type, const void *data, size_t len)
{
	unsigned char hdr[QMSG_REC_HDR_SIZE];

	hdr[0] = (unsigned char)type;
	hdr[1] = (unsigned char)(len >> 24);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = (unsigned char)(len >> 8);
	hdr[4] = (unsigned char)len;
	str_append_n(&w->buf, hdr, sizeof(hdr));
	if (len > 0)
		str_append_n(&w->buf, data, len);
}

static int
qfile_flush(struct qfile_writer *w)
{
	size_t off = 0;
	ssize_t n;

	while (off < w->buf.len) {
		n = write(w->fd, w->buf.s + off, w->buf.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->failed = true;
			return -1;
		}
		off += (size_t)n;
	}
	w->written += (off_t)off;
	str_reset(&w->buf);
	return 0;
}

static int
qfile_maybe_flush(struct qfile_writer *w)
{
	if (w->failed)
		return -1;
	return w->buf.len >= QFILE_FLUSH_AT ? qfile_flush(w) : 0;
}

/* qfile_envelope - records that belong to the envelope: before the content,
 * or in the extracted section once content has begun */
static void
qfile_envelope(struct qfile_writer *w)
{
	if (w->in_content) {
		qfile_put(w, QMSG_REC_XTRA, "", 0);
		w->in_content = false;
		w->after_content = true;
	}
}

static void
qfile_size_text(char *buf, size_t size, size_t content, size_t nrcpt)
{
	snprintf(buf, size, "%15zu %15zu", content, nrcpt);
}

int
qfile_writer_open(const char *queue_dir, bool long_ids, struct qfile_writer **w_r,
    const char **error_r)
{
	return qfile_writer_open_queue(queue_dir, "incoming", long_ids, w_r, error_r);
}

int
qfile_writer_open_queue(const char *queue_dir, const char *queue, bool long_ids,
    struct qfile_writer **w_r, const char **error_r)
{
	static unsigned counter;
	struct qfile_writer *w;
	struct timeval tv;
	struct stat st;
	char text[64];

	w = xcalloc(1, sizeof(*w));
	w->fd = -1;
	str_init(&w->buf, 4096);
	w->dir = xasprintf("%s/%s", queue_dir, queue);
	gettimeofday(&tv, NULL);
	/* a temporary name is never a valid queue ID (it has dots) */
	w->tmp_path = xasprintf("%s/t.%ld.%u.%06ld", w->dir, (long)getpid(), counter++,
	    (long)tv.tv_usec);
	/* a spare file of a finished message, if the queue manager kept one:
	 * no inode to allocate (qspare.h); else a new file */
	if (strcmp(queue, "incoming") == 0 && (w->fd = qspare_claim(queue_dir, w->tmp_path)) >= 0)
		w->reused = true;
	else
		w->fd = open(w->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0 || fstat(w->fd, &st) != 0) {
		*error_r = strerror(errno);
		if (w->fd >= 0)
			(void)unlink(w->tmp_path);
		qfile_writer_abort(&w);
		return -1;
	}
	qfile_make_id(w->id, &tv, st.st_ino, long_ids);
	w->final_path = xasprintf("%s/%s", w->dir, w->id);

	qfile_put(w, QMSG_REC_VERSION, QMSG_VERSION, strlen(QMSG_VERSION));
	snprintf(text, sizeof(text), "%ld %ld", (long)tv.tv_sec, (long)tv.tv_usec);
	qfile_put(w, QMSG_REC_TIME, text, strlen(text));
	w->size_offset = (off_t)(w->buf.len + QMSG_REC_HDR_SIZE);
	qfile_size_text(text, sizeof(text), 0, 0);
	qfile_put(w, QMSG_REC_SIZE, text, strlen(text));
	*w_r = w;
	return 0;
}

const char *
qfile_writer_id(const struct qfile_writer *w)
{
	return w->id;
}

int
qfile_writer_sender(struct qfile_writer *w, const char *sender)
{
	size_t len = strlen(sender);

	if (len > QMSG_MAX_ENVELOPE_REC)
		return -1;
	qfile_envelope(w);
	qfile_put(w, QMSG_REC_FROM, sender, len);
	return qfile_maybe_flush(w);
}

int
qfile_writer_attr(struct qfile_writer *w, const char *name, const char *value)
{
	struct str rec;
	int ret = -1;

	str_init(&rec, 64);
	str_appendf(&rec, "%s=%s", name, value);
	if (*name != '\0' && strchr(name, '=') == NULL && rec.len <= QMSG_MAX_ENVELOPE_REC) {
		qfile_envelope(w);
		qfile_put(w, QMSG_REC_ATTR, rec.s, rec.len);
		ret = qfile_maybe_flush(w);
	}
	str_deinit(&rec);
	return ret;
}

int
qfile_writer_rcpt(struct qfile_writer *w, const char *addr, const char *orcpt, int notify)
{
	struct str rec;
	int ret = -1;

	str_init(&rec, 64);
	str_appendf(&rec, "%d %s", notify & 0xf, addr);
	if (rec.len <= QMSG_MAX_ENVELOPE_REC &&
	    (orcpt == NULL || strlen(orcpt) <= QMSG_MAX_ENVELOPE_REC)) {
		qfile_envelope(w);
		if (orcpt != NULL)
			qfile_put(w, QMSG_REC_ORCP, orcpt, strlen(orcpt));
		qfile_put(w, QMSG_REC_RCPT, rec.s, rec.len);
		w->nrcpt++;
		ret = qfile_maybe_flush(w);
	}
	str_deinit(&rec);
	return ret;
}

int
qfile_writer_content(struct qfile_writer *w, const void *data, size_t len, size_t max_size)
{
	const char *p = data;
	size_t n;

	if (w->failed)
		return -1;
	if (max_size != 0 && (w->size + len > max_size || w->size + len < w->size))
		return -1;
	if (!w->in_content) {
		/* content after an extracted section cannot be represented */
		if (w->after_content)
			return -1;
		qfile_put(w, QMSG_REC_MESG, "", 0);
		w->in_content = true;
	}
	while (len > 0) {
		n = len > QMSG_MAX_CHUNK ? QMSG_MAX_CHUNK : len;
		qfile_put(w, QMSG_REC_NORM, p, n);
		p += n;
		len -= n;
		w->size += n;
		if (qfile_maybe_flush(w) != 0)
			return -1;
	}
	return 0;
}

size_t
qfile_writer_size(const struct qfile_writer *w)
{
	return w->size;
}

int
qfile_writer_commit_begin(struct qfile_writer *w, int *errno_r)
{
	char text[64];
	int saved;

	*errno_r = 0;
	if (w->committed || w->begun) {
		*errno_r = EINVAL;
		return -1;
	}
	if (!w->in_content && !w->after_content) {
		qfile_put(w, QMSG_REC_MESG, "", 0);
		w->in_content = true;
	}
	if (w->in_content) {
		qfile_put(w, QMSG_REC_XTRA, "", 0);
		w->in_content = false;
	}
	qfile_put(w, QMSG_REC_END, "", 0);
	qfile_size_text(text, sizeof(text), w->size, w->nrcpt);
	/* a reused file may be longer than this message: cut the old tail
	 * off (the fsync of the commit covers the new length) */
	if (w->failed || qfile_flush(w) != 0 ||
	    pwrite(w->fd, text, strlen(text), w->size_offset) != (ssize_t)strlen(text) ||
	    (w->reused && ftruncate(w->fd, w->written) != 0)) {
		saved = errno;
		(void)unlink(w->tmp_path);
		w->failed = true;
		*errno_r = saved != 0 ? saved : EIO;
		return -1;
	}
	/* the data on its way to the disk now: the fsync in the commit (maybe
	 * in another thread, with other files) then waits less */
	(void)sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	w->begun = true;
	return 0;
}

/* The queue directory a group's renames went into (incoming/, nearly
 * always) stays open for its fsync: smtpd commits a group every few
 * messages, and an open and a close of the directory each time were two
 * of its system calls per message. One entry for the process; the fsync
 * runs under the lock, so the descriptor is never closed under it (a
 * process has one committing thread anyway). */
static pthread_mutex_t qfile_dir_lock = PTHREAD_MUTEX_INITIALIZER;
static char *qfile_dir_path;	/* owned */
static int qfile_dir_fd = -1;

/* qfile_dir_fsync - dir_fsync(dir), through the kept descriptor */
static int
qfile_dir_fsync(const char *dir)
{
	int ret, e;

	pthread_mutex_lock(&qfile_dir_lock);
	if (qfile_dir_path == NULL || strcmp(qfile_dir_path, dir) != 0) {
		if (qfile_dir_fd >= 0)
			close(qfile_dir_fd);
		free(qfile_dir_path);
		qfile_dir_path = xstrdup(dir);
		qfile_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (qfile_dir_fd < 0) {
		/* not kept: the next group opens it again */
		e = errno;
		XFREE(qfile_dir_path);
		pthread_mutex_unlock(&qfile_dir_lock);
		errno = e;
		return -1;
	}
	ret = fsync(qfile_dir_fd);
	e = errno;
	pthread_mutex_unlock(&qfile_dir_lock);
	errno = e;
	return ret;
}

void
qfile_writer_commit_group(struct qfile_writer *const *ws, size_t n, int *errnos)
{
	int small[64] = { 0 }, *fds = n <= 64 ? small : xcalloc(n, sizeof(*fds));
	size_t i, j;

	/* every file's fsync at once (fsync_many.h): the group waits for the
	 * disk about once, not once per file */
	for (i = 0; i < n; i++)
		fds[i] = ws[i]->begun && !ws[i]->committed ? ws[i]->fd : -1;
	fsync_many(fds, n, errnos);
	for (i = 0; i < n; i++) {
		struct qfile_writer *w = ws[i];

		if (fds[i] < 0) {
			errnos[i] = EINVAL;
			continue;
		}
		if (errnos[i] == 0 && rename(w->tmp_path, w->final_path) != 0)
			errnos[i] = errno != 0 ? errno : EIO;
		if (errnos[i] != 0)
			(void)unlink(w->tmp_path);
	}
	if (fds != small)
		free(fds);
	/* one fsync per directory covers every rename into it above (a group
	 * is normally all incoming/); none is committed before it returns */
	for (i = 0; i < n; i++) {
		bool first = true;
		int e = 0;

		if (errnos[i] != 0 || ws[i]->committed)
			continue;
		for (j = 0; j < i; j++)
			if (errnos[j] == 0 && strcmp(ws[j]->dir, ws[i]->dir) == 0)
				first = false;
		if (!first)
			continue;
		if (qfile_dir_fsync(ws[i]->dir) != 0)
			e = errno != 0 ? errno : EIO;
		for (j = i; j < n; j++) {
			if (errnos[j] != 0 || strcmp(ws[j]->dir, ws[i]->dir) != 0)
				continue;
			if (e != 0) {
				/* without the directory entry on disk the message
				 * may vanish in a crash: the receiver must not say
				 * 250 */
				(void)unlink(ws[j]->final_path);
				errnos[j] = e;
			} else
				ws[j]->committed = true;
		}
	}
}

int
qfile_writer_commit(struct qfile_writer *w, const char **error_r)
{
	int e;

	if (w->committed) {
		*error_r = "queue file already committed";
		return -1;
	}
	if (qfile_writer_commit_begin(w, &e) != 0) {
		*error_r = e != 0 ? strerror(e) : "queue file write error";
		return -1;
	}
	qfile_writer_commit_group(&w, 1, &e);
	if (e != 0) {
		*error_r = strerror(e);
		return -1;
	}
	return 0;
}

static void
qfile_writer_release(struct qfile_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	str_deinit(&w->buf);
	free(w->dir);
	free(w->tmp_path);
	free(w->final_path);
	free(w);
}

void
qfile_writer_abort(struct qfile_writer **wp)
{
	struct qfile_writer *w = *wp;

	if (w == NULL)
		return;
	if (!w->committed && w->fd >= 0)
		(void)unlink(w->tmp_path);
	qfile_writer_release(w);
	*wp = NULL;
}

void
qfile_writer_free(struct qfile_writer **wp)
{
	struct qfile_writer *w = *wp;

	if (w == NULL)
		return;
	if (!w->committed && w->fd >= 0)
		(void)unlink(w->tmp_path);
	qfile_writer_release(w);
	*wp = NULL;
}
