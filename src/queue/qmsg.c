/* qmsg.c - the queue file reader (qmsg.h): parse and check a whole queue
 * file, hand out its envelope and content, and cross off recipients in place.
 * The queue is an input like any other: nothing in the file is trusted.
 * Tests: tests/unit/queue/test_qmsg.c, fuzz/fuzz_qfile.c */
#include "queue/qmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"

/* The largest queue file read: message_size_limit is far below this; a
 * larger file is not one this queue wrote. */
#define QMSG_MAX_FILE	((off_t)1 << 31)

static char qmsg_error[256];

static int __attribute__((format(printf, 2, 3)))
qmsg_fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(qmsg_error, sizeof(qmsg_error), fmt, ap);
	va_end(ap);
	*error_r = qmsg_error;
	errno = EINVAL;
	return -1;
}

/* Where the parser is in the file. */
enum qmsg_state {
	QMSG_ST_VERSION,	/* expecting V */
	QMSG_ST_TIME,		/* expecting T */
	QMSG_ST_SIZE,		/* expecting C */
	QMSG_ST_ENVELOPE,	/* S A O R D, or M */
	QMSG_ST_CONTENT,	/* N, or X */
	QMSG_ST_EXTRACTED,	/* S A O R D, or E */
	QMSG_ST_END,		/* nothing may follow E */
};

struct qmsg_parser {
	struct qmsg	*msg;
	enum qmsg_state	 state;
	char		*orcpt;		/* pending O for the next recipient; owned */
	size_t		 want_size;
	size_t		 want_nrcpt;
	bool		 have_sender;
};

static bool
qmsg_parse_num(const char *s, size_t len, long max, long *val_r, size_t *used_r)
{
	size_t i = 0;
	long v = 0;

	while (i < len && s[i] == ' ')
		i++;
	if (i == len || s[i] < '0' || s[i] > '9')
		return false;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (max - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*val_r = v;
	*used_r = i;
	return true;
}

/* qmsg_parse_two - exactly two numbers separated by blanks: "SEC USEC" */
static bool
qmsg_parse_two(const char *s, size_t len, long *a_r, long *b_r)
{
	size_t used, used2;

	if (!qmsg_parse_num(s, len, LONG_MAX, a_r, &used) || used == len || s[used] != ' ')
		return false;
	if (!qmsg_parse_num(s + used, len - used, LONG_MAX, b_r, &used2))
		return false;
	return used + used2 == len;
}

static int
qmsg_rcpt_record(struct qmsg_parser *p, int type, const char *data, size_t len,
    off_t offset, const char **error_r)
{
	struct qmsg *m = p->msg;
	struct qmsg_rcpt *r;
	size_t used;
	long notify;

	if (!qmsg_parse_num(data, len, 15, &notify, &used) || used >= len ||
	    data[used] != ' ' || used + 1 == len)
		return qmsg_fail(error_r, "malformed recipient record at offset %lld",
		    (long long)offset);
	m->rcpts = xreallocarray(m->rcpts, m->nrcpts + 1, sizeof(*m->rcpts));
	r = &m->rcpts[m->nrcpts++];
	r->addr = xstrndup(data + used + 1, len - used - 1);
	r->orcpt = p->orcpt;
	p->orcpt = NULL;
	r->notify = (int)notify;
	r->done = type == QMSG_REC_DONE;
	r->offset = offset;
	return 0;
}

/* qmsg_envelope_record - S A O R D, in either envelope section */
static int
qmsg_envelope_record(struct qmsg_parser *p, int type, const char *data, size_t len,
    off_t offset, const char **error_r)
{
	struct qmsg *m = p->msg;
	const char *eq;

	if (p->orcpt != NULL && type != QMSG_REC_RCPT && type != QMSG_REC_DONE)
		return qmsg_fail(error_r, "original recipient without recipient at offset %lld",
		    (long long)offset);
	switch (type) {
	case QMSG_REC_FROM:
		if (p->have_sender)
			return qmsg_fail(error_r, "duplicate sender record");
		p->have_sender = true;
		m->sender = xstrndup(data, len);
		return 0;
	case QMSG_REC_ATTR:
		if ((eq = memchr(data, '=', len)) == NULL || eq == data)
			return qmsg_fail(error_r, "malformed attribute record at offset %lld",
			    (long long)offset);
		m->attrs = xreallocarray(m->attrs, m->nattrs + 1, sizeof(*m->attrs));
		m->attrs[m->nattrs].name = xstrndup(data, (size_t)(eq - data));
		m->attrs[m->nattrs].value = xstrndup(eq + 1, len - (size_t)(eq - data) - 1);
		m->nattrs++;
		return 0;
	case QMSG_REC_ORCP:
		p->orcpt = xstrndup(data, len);
		return 0;
	case QMSG_REC_RCPT:
	case QMSG_REC_DONE:
		return qmsg_rcpt_record(p, type, data, len, offset, error_r);
	default:
		return qmsg_fail(error_r, "unexpected record type %d at offset %lld", type,
		    (long long)offset);
	}
}

static int
qmsg_record(struct qmsg_parser *p, int type, const char *data, size_t len, off_t offset,
    const char **error_r)
{
	struct qmsg *m = p->msg;
	long a, b;

	if (type != QMSG_REC_NORM && (len > QMSG_MAX_ENVELOPE_REC || memchr(data, 0, len)))
		return qmsg_fail(error_r, "bad envelope record at offset %lld", (long long)offset);
	switch (p->state) {
	case QMSG_ST_VERSION:
		if (type != QMSG_REC_VERSION || len != strlen(QMSG_VERSION) ||
		    memcmp(data, QMSG_VERSION, len) != 0)
			return qmsg_fail(error_r, "not a queue file of version %s", QMSG_VERSION);
		p->state = QMSG_ST_TIME;
		return 0;
	case QMSG_ST_TIME:
		if (type != QMSG_REC_TIME || !qmsg_parse_two(data, len, &a, &b) || b > 999999)
			return qmsg_fail(error_r, "malformed arrival time record");
		m->arrival_sec = a;
		m->arrival_usec = b;
		p->state = QMSG_ST_SIZE;
		return 0;
	case QMSG_ST_SIZE:
		if (type != QMSG_REC_SIZE || !qmsg_parse_two(data, len, &a, &b))
			return qmsg_fail(error_r, "malformed size record");
		p->want_size = (size_t)a;
		p->want_nrcpt = (size_t)b;
		p->state = QMSG_ST_ENVELOPE;
		return 0;
	case QMSG_ST_ENVELOPE:
		if (type == QMSG_REC_MESG) {
			if (len != 0 || p->orcpt != NULL)
				return qmsg_fail(error_r, "malformed content start record");
			p->state = QMSG_ST_CONTENT;
			return 0;
		}
		return qmsg_envelope_record(p, type, data, len, offset, error_r);
	case QMSG_ST_CONTENT:
		if (type == QMSG_REC_XTRA) {
			if (len != 0)
				return qmsg_fail(error_r, "malformed content end record");
			p->state = QMSG_ST_EXTRACTED;
			return 0;
		}
		if (type != QMSG_REC_NORM || len > QMSG_MAX_CHUNK)
			return qmsg_fail(error_r, "unexpected record type %d in content", type);
		m->chunks = xreallocarray(m->chunks, m->nchunks + 1, sizeof(*m->chunks));
		m->chunks[m->nchunks].offset = offset + QMSG_REC_HDR_SIZE;
		m->chunks[m->nchunks].len = len;
		m->nchunks++;
		m->size += len;
		return 0;
	case QMSG_ST_EXTRACTED:
		if (type == QMSG_REC_END) {
			if (len != 0 || p->orcpt != NULL)
				return qmsg_fail(error_r, "malformed end record");
			p->state = QMSG_ST_END;
			return 0;
		}
		return qmsg_envelope_record(p, type, data, len, offset, error_r);
	case QMSG_ST_END:
	default:
		return qmsg_fail(error_r, "data after the end record");
	}
}

/* qmsg_parse_into - check and parse m->buf (file_size bytes) */
static int
qmsg_parse_into(struct qmsg *m, const char **error_r)
{
	struct qmsg_parser p = { .msg = m, .state = QMSG_ST_VERSION };
	const unsigned char *b = (const unsigned char *)m->buf;
	size_t off = 0, total = (size_t)m->file_size, len;
	int ret = -1;

	while (off < total) {
		if (total - off < QMSG_REC_HDR_SIZE) {
			qmsg_fail(error_r, "truncated record header at offset %zu", off);
			goto out;
		}
		len = ((size_t)b[off + 1] << 24) | ((size_t)b[off + 2] << 16) |
		    ((size_t)b[off + 3] << 8) | (size_t)b[off + 4];
		if (len > total - off - QMSG_REC_HDR_SIZE) {
			qmsg_fail(error_r, "record length %zu at offset %zu exceeds the file", len,
			    off);
			goto out;
		}
		if (qmsg_record(&p, b[off], m->buf + off + QMSG_REC_HDR_SIZE, len, (off_t)off,
		    error_r) != 0)
			goto out;
		off += QMSG_REC_HDR_SIZE + len;
	}
	if (p.state != QMSG_ST_END) {
		qmsg_fail(error_r, "no end record: truncated or never committed");
		goto out;
	}
	if (!p.have_sender) {
		qmsg_fail(error_r, "no sender record");
		goto out;
	}
	if (m->nrcpts == 0 || p.want_nrcpt != m->nrcpts || p.want_size != m->size) {
		qmsg_fail(error_r, "size record does not match the file (%zu/%zu bytes, %zu/%zu "
		    "recipients)", p.want_size, m->size, p.want_nrcpt, m->nrcpts);
		goto out;
	}
	ret = 0;
out:
	free(p.orcpt);
	return ret;
}

static struct qmsg *
qmsg_alloc(void)
{
	struct qmsg *m = xcalloc(1, sizeof(*m));

	m->fd = -1;
	return m;
}

int
qmsg_parse(const void *data, size_t len, struct qmsg **msg_r, const char **error_r)
{
	struct qmsg *m = qmsg_alloc();

	m->buf = xmalloc(len + 1);
	if (len > 0)
		memcpy(m->buf, data, len);
	m->file_size = (off_t)len;
	if (qmsg_parse_into(m, error_r) != 0) {
		qmsg_free(&m);
		return -1;
	}
	*msg_r = m;
	return 0;
}

int
qmsg_open(const char *path, bool writable, struct qmsg **msg_r, const char **error_r)
{
	struct qmsg *m;
	const char *base;
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int saved;

	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if (!qfile_id_is_valid(base))
		return qmsg_fail(error_r, "%s: not a queue file name", path);
	m = qmsg_alloc();
	snprintf(m->id, sizeof(m->id), "%s", base);
	m->path = xstrdup(path);
	m->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (m->fd < 0 || fstat(m->fd, &st) != 0) {
		saved = errno;
		snprintf(qmsg_error, sizeof(qmsg_error), "open %s: %s", path, strerror(saved));
		qmsg_free(&m);
		*error_r = qmsg_error;
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > QMSG_MAX_FILE) {
		qmsg_free(&m);
		return qmsg_fail(error_r, "%s: not a regular file of sane size", path);
	}
	m->file_size = st.st_size;
	m->buf = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		n = pread(m->fd, m->buf + off, (size_t)st.st_size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			qmsg_free(&m);
			return qmsg_fail(error_r, "%s: read error", path);
		}
		off += (size_t)n;
	}
	if (qmsg_parse_into(m, error_r) != 0) {
		qmsg_free(&m);
		errno = EINVAL;
		return -1;
	}
	*msg_r = m;
	return 0;
}

void
qmsg_free(struct qmsg **mp)
{
	struct qmsg *m = *mp;
	size_t i;

	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	for (i = 0; i < m->nrcpts; i++) {
		free(m->rcpts[i].addr);
		free(m->rcpts[i].orcpt);
	}
	for (i = 0; i < m->nattrs; i++) {
		free(m->attrs[i].name);
		free(m->attrs[i].value);
	}
	free(m->rcpts);
	free(m->attrs);
	free(m->chunks);
	free(m->sender);
	free(m->path);
	free(m->buf);
	free(m);
	*mp = NULL;
}

const char *
qmsg_attr(const struct qmsg *m, const char *name)
{
	size_t i;

	/* the last setting wins, as in main.cf */
	for (i = m->nattrs; i > 0; i--)
		if (strcmp(m->attrs[i - 1].name, name) == 0)
			return m->attrs[i - 1].value;
	return NULL;
}

void
qmsg_content(const struct qmsg *m, struct str *out)
{
	size_t i;

	for (i = 0; i < m->nchunks; i++)
		str_append_n(out, m->buf + m->chunks[i].offset, m->chunks[i].len);
}

size_t
qmsg_todo(const struct qmsg *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nrcpts; i++)
		if (!m->rcpts[i].done)
			n++;
	return n;
}

int
qmsg_rcpt_mark(struct qmsg *m, size_t i, const char **error_r)
{
	const char type = QMSG_REC_DONE;

	if (i >= m->nrcpts || m->fd < 0)
		return qmsg_fail(error_r, "no such recipient or not open for writing");
	if (m->rcpts[i].done)
		return 0;
	if (pwrite(m->fd, &type, 1, m->rcpts[i].offset) != 1) {
		snprintf(qmsg_error, sizeof(qmsg_error), "%s: update: %s", m->id, strerror(errno));
		*error_r = qmsg_error;
		return -1;
	}
	m->buf[m->rcpts[i].offset] = QMSG_REC_DONE;
	m->rcpts[i].done = true;
	return 0;
}

int
qmsg_sync(struct qmsg *m, const char **error_r)
{
	if (m->fd < 0)
		return qmsg_fail(error_r, "not open for writing");
	if (fsync(m->fd) != 0) {
		snprintf(qmsg_error, sizeof(qmsg_error), "%s: update: %s", m->id, strerror(errno));
		*error_r = qmsg_error;
		return -1;
	}
	return 0;
}

int
qmsg_rcpt_done(struct qmsg *m, size_t i, const char **error_r)
{
	if (i < m->nrcpts && m->rcpts[i].done)
		return 0;
	if (qmsg_rcpt_mark(m, i, error_r) != 0)
		return -1;
	return qmsg_sync(m, error_r);
}

int
qmsg_walk(const struct qmsg *m, qmsg_walk_fn *fn, void *ctx)
{
	const unsigned char *b = (const unsigned char *)m->buf;
	size_t off = 0, len;
	int ret;

	/* the buffer was checked by qmsg_parse_into: every length fits */
	while (off + QMSG_REC_HDR_SIZE <= (size_t)m->file_size) {
		len = ((size_t)b[off + 1] << 24) | ((size_t)b[off + 2] << 16) |
		    ((size_t)b[off + 3] << 8) | (size_t)b[off + 4];
		if ((ret = fn(b[off], m->buf + off + QMSG_REC_HDR_SIZE, len, ctx)) != 0)
			return ret;
		off += QMSG_REC_HDR_SIZE + len;
	}
	return 0;
}

const char *
qmsg_rec_name(int type)
{
	switch (type) {
	case QMSG_REC_VERSION: return "version";
	case QMSG_REC_TIME: return "message_arrival_time";
	case QMSG_REC_SIZE: return "message_size";
	case QMSG_REC_FROM: return "sender";
	case QMSG_REC_ATTR: return "named_attribute";
	case QMSG_REC_ORCP: return "original_recipient";
	case QMSG_REC_RCPT: return "recipient";
	case QMSG_REC_DONE: return "done_recipient";
	case QMSG_REC_MESG: return "message_content";
	case QMSG_REC_NORM: return "regular_text";
	case QMSG_REC_XTRA: return "extracted_info";
	case QMSG_REC_END: return "message_end";
	default: return "unknown";
	}
}
