/* mbox_file.c - an mbox file read as Dovecot reads it (mbox_file.h) */
#include "storage/mbox_file.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/str.h"
#include "storage/mbox_meta.h"

static bool
is_from_line(const char *buf, size_t len, size_t at)
{
	return len - at >= 5 && memcmp(buf + at, "From ", 5) == 0 && (at == 0 || buf[at - 1] == '\n');
}

/* content_length - the Content-Length header's value in the header block
 * hdr[0..hlen), or -1 */
static long long
content_length(const char *hdr, size_t hlen)
{
	size_t i = 0;

	while (i < hlen) {
		const char *nl = memchr(hdr + i, '\n', hlen - i);
		size_t ll = nl != NULL ? (size_t)(nl - (hdr + i)) : hlen - i;

		if (ll > 15 && strncasecmp(hdr + i, "Content-Length:", 15) == 0) {
			const char *p = hdr + i + 15, *e = hdr + i + ll;
			unsigned long long v = 0;

			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (p == e || *p < '0' || *p > '9')
				return -1;
			while (p < e && *p >= '0' && *p <= '9') {
				if (v > (1ull << 40))
					return -1;
				v = v * 10 + (unsigned)(*p++ - '0');
			}
			return (long long)v;
		}
		i += ll + 1;
	}
	return -1;
}

bool
mbox_file_next(const char *buf, size_t len, size_t *pos, size_t *from_r, size_t *msg_r,
    size_t *msg_len_r)
{
	size_t at = *pos, start, hend, end, k;
	const char *nl;
	long long cl;

	/* skip anything before a From_ line (a damaged start) */
	while (at < len && !is_from_line(buf, len, at)) {
		nl = memchr(buf + at, '\n', len - at);
		at = nl != NULL ? (size_t)(nl - buf) + 1 : len;
	}
	if (at >= len)
		return *pos = len, false;
	*from_r = at;
	nl = memchr(buf + at, '\n', len - at);
	start = nl != NULL ? (size_t)(nl - buf) + 1 : len;
	/* the header block ends at the first empty line */
	hend = start;
	while (hend < len && buf[hend] != '\n') {
		nl = memchr(buf + hend, '\n', len - hend);
		hend = nl != NULL ? (size_t)(nl - buf) + 1 : len;
	}
	if (hend < len)
		hend++;	/* the blank line */
	cl = content_length(buf + start, hend - start);
	end = len;
	if (cl >= 0 && (unsigned long long)cl <= len - hend) {
		/* Content-Length is exact when the next From_ line (after the
		 * blank separator line) or the end follows it */
		size_t e = hend + (size_t)cl;

		if (e == len || (e + 1 == len && buf[e] == '\n'))
			k = len;
		else if (is_from_line(buf, len, e))
			k = e;
		else if (buf[e] == '\n' && is_from_line(buf, len, e + 1))
			k = e + 1;
		else
			k = 0;
		if (k != 0) {
			*pos = k;
			end = e;
			goto found;
		}
	}
	/* no usable Content-Length: the next From_ line ends it */
	for (k = hend; k < len; ) {
		if (is_from_line(buf, len, k))
			break;
		nl = memchr(buf + k, '\n', len - k);
		k = nl != NULL ? (size_t)(nl - buf) + 1 : len;
	}
	end = k;
	*pos = k;
	/* the line end before the next From_ line (or the end of the file)
	 * is the separator's, as Dovecot reads it: "body\n\nFrom " ends
	 * the message with "body\n", "body\nFrom " with "body" */
	if (end > start && buf[end - 1] == '\n')
		end--;
found:
	*msg_r = start;
	*msg_len_r = end - start;
	return true;
}

time_t
mbox_file_from_date(const char *line, size_t len)
{
	char tmp[128], *p;
	struct tm tm;
	const char *nl = memchr(line, '\n', len);
	size_t ll = nl != NULL ? (size_t)(nl - line) : len;

	if (ll >= sizeof(tmp))
		ll = sizeof(tmp) - 1;
	memcpy(tmp, line, ll);
	tmp[ll] = '\0';
	p = strchr(tmp + 5, ' ');
	if (p == NULL)
		return 0;
	while (*p == ' ')
		p++;	/* senders are followed by one or two spaces */
	memset(&tm, 0, sizeof(tm));
	if (strptime(p, "%a %b %d %H:%M:%S %Y", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

bool
mbox_file_is_hidden_header(const char *line, size_t len)
{
	return mbox_meta_is_ours(line, len) ||
	    (len >= 15 && strncasecmp(line, "Content-Length:", 15) == 0);
}

void
mbox_file_client_view(const char *msg, size_t len, const struct mbox_meta *mm, struct str *out)
{
	size_t i = 0, hl = mm->header_len <= len ? mm->header_len : len;
	bool skip = false;

	while (i < hl) {
		const char *nl = memchr(msg + i, '\n', hl - i);
		size_t ll = nl != NULL ? (size_t)(nl - (msg + i)) + 1 : hl - i;

		if (msg[i] != ' ' && msg[i] != '\t')
			skip = mbox_file_is_hidden_header(msg + i, ll);
		if (!skip)
			str_append_n(out, msg + i, ll);
		i += ll;
	}
	str_append_n(out, msg + hl, len - hl);
}

void
mbox_file_walk(const char *buf, size_t len, struct mbox_file_walk *w, mbox_file_walk_fn *fn,
    void *ctx)
{
	size_t pos = 0, from, msg, mlen;
	uint32_t last = 0, next = 1;
	bool first = true, based = false;

	memset(w, 0, sizeof(*w));
	while (mbox_file_next(buf, len, &pos, &from, &msg, &mlen)) {
		struct mbox_meta mm;
		struct mbox_file_msg m = { from, msg, mlen, pos, 0, &mm };
		bool stop;

		mbox_meta_parse(buf + msg, mlen, &mm);
		if (first && mm.has_base) {
			based = true;
			w->uidvalidity = mm.uidvalidity;
			next = mm.last_uid < UINT32_MAX ? mm.last_uid + 1 : UINT32_MAX;
		}
		if (first && mm.pseudo) {
			first = false;
			w->pseudo = true;
			mm.uid = 0;
			stop = fn != NULL && fn(ctx, buf, &m);
			mbox_meta_free(&mm);
			if (stop)
				break;
			continue;
		}
		first = false;
		if (mm.uid > last && mm.uid < next)
			m.uid = mm.uid;
		else if (next < UINT32_MAX)
			m.uid = next++;
		else
			m.uid = next;	/* no UID left: Dovecot would renumber */
		last = m.uid;
		if (mm.uid != m.uid || !based)
			w->dirty = true;	/* Dovecot would write this UID in */
		based = true;
		mm.uid = m.uid;
		stop = fn != NULL && fn(ctx, buf, &m);
		mbox_meta_free(&mm);
		if (stop)
			break;
	}
	w->uidnext = next;
}
