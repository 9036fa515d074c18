/* pm_msg.c - the message as procmail holds it: read whole from stdin, one
 * "\n" added unless it already ends in an empty line (procmail does the
 * same; mbox, MH, directories, pipes and forwards get it, a Maildir file
 * does not), the header up to the first empty line, continued fields
 * joined for searching only (procmail(1), NOTES). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"
#include "procmail/pm-private.h"

#define PM_MAX_MESSAGE	((size_t)1 << 30)

/* find_hlen - the header's length, its last newline included; the empty
 * line that ends it is not part of it */
static size_t
find_hlen(const char *s, size_t len)
{
	size_t i;

	if (len > 0 && s[0] == '\n')
		return 0;
	/* an empty line ends it; "\r\n" alone is one too (CRLF mail) */
	for (i = 0; i + 1 < len; i++)
		if (s[i] == '\n' && (s[i + 1] == '\n' ||
		    (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n')))
			return i + 1;
	return len;
}

void
pm_msg_set(struct pm_msg *m, const char *data, size_t len)
{
	struct str n;

	str_init(&n, len + 2);
	str_append_n(&n, data, len);
	m->padded = false;
	if (!(n.len >= 2 && n.s[n.len - 1] == '\n' && n.s[n.len - 2] == '\n')) {
		str_append_c(&n, '\n');
		m->padded = true;
	}
	str_deinit(&m->data);
	m->data = n;
	m->hlen = find_hlen(m->data.s, m->data.len);
	m->body = m->hlen;
	if (m->body < m->data.len && m->data.s[m->body] == '\r')
		m->body++;
	if (m->body < m->data.len)
		m->body++;	/* the "\n" of the empty line */
}

int
pm_msg_read(struct pm_msg *m, int fd)
{
	struct str in;
	char buf[65536];
	ssize_t r;

	str_init(&in, sizeof buf);
	for (;;) {
		r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			str_deinit(&in);
			return -1;
		}
		if (r == 0)
			break;
		if (in.len + (size_t)r > PM_MAX_MESSAGE) {
			str_deinit(&in);
			errno = EFBIG;
			return -1;
		}
		str_append_n(&in, buf, (size_t)r);
	}
	pm_msg_set(m, in.s, in.len);	/* m->data: initialised by the caller */
	str_deinit(&in);
	return 0;
}

void
pm_msg_deinit(struct pm_msg *m)
{
	str_deinit(&m->data);
}

size_t
pm_msg_from_len(const struct pm_msg *m)
{
	const char *nl;

	if (m->data.len < 5 || memcmp(m->data.s, "From ", 5) != 0)
		return 0;
	nl = memchr(m->data.s, '\n', m->data.len);
	return nl != NULL ? (size_t)(nl - m->data.s) + 1 : m->data.len;
}

void
pm_msg_from_line(struct pm_msg *m, const char *sender, bool only_if_missing)
{
	size_t fl = pm_msg_from_len(m);
	struct str n;
	time_t now = time(NULL);
	char tbuf[64];
	struct tm tm;

	if (fl > 0 && only_if_missing)
		return;
	localtime_r(&now, &tm);
	strftime(tbuf, sizeof tbuf, "%a %b %e %H:%M:%S %Y", &tm);
	str_init(&n, m->data.len + 80);
	str_appendf(&n, "From %s  %s\n", sender, tbuf);
	str_append_n(&n, m->data.s + fl, m->data.len - fl);
	if (m->padded)
		n.len--;	/* pm_msg_set adds it again */
	pm_msg_set(m, n.s, n.len);
	str_deinit(&n);
}

void
pm_msg_search(const struct pm_msg *m, bool head, bool body, struct str *out)
{
	size_t i;

	str_reset(out);
	if (head) {
		for (i = 0; i < m->hlen; i++) {
			char c = m->data.s[i];

			if (c == '\n' && i + 1 < m->hlen &&
			    (m->data.s[i + 1] == ' ' || m->data.s[i + 1] == '\t'))
				c = ' ';
			str_append_c(out, c);
		}
	}
	if (body) {
		size_t b = m->body;

		if (head)
			str_append_c(out, '\n');
		str_append_n(out, m->data.s + b, m->data.len - b);
	}
}

bool
pm_msg_field(const struct pm_msg *m, const char *name, struct str *out)
{
	return pm_msg_field_ex(m, name, out, false);
}

bool
pm_msg_field_ex(const struct pm_msg *m, const char *name, struct str *out, bool first_line)
{
	size_t nl = strlen(name), i = 0;
	const char *s = m->data.s;

	str_reset(out);
	while (i < m->hlen) {
		const char *eol = memchr(s + i, '\n', m->hlen - i);
		size_t end = eol ? (size_t)(eol - s) : m->hlen;

		if (end - i > nl && strncasecmp(s + i, name, nl) == 0 && s[i + nl] == ':') {
			size_t j = i + nl + 1;

			while (j < end && (s[j] == ' ' || s[j] == '\t'))
				j++;
			for (;;) {
				str_append_n(out, s + j, end - j);
				if (!first_line && end + 1 < m->hlen && (s[end + 1] == ' ' || s[end + 1] == '\t')) {
					str_append_c(out, ' ');
					j = end + 1;
					eol = memchr(s + j, '\n', m->hlen - j);
					end = eol ? (size_t)(eol - s) : m->hlen;
				} else
					break;
			}
			return true;
		}
		i = end + 1;
	}
	return false;
}

void
pm_msg_part(const struct pm_msg *m, bool head, bool body, const char **p, size_t *n)
{
	if (head && body) {
		*p = m->data.s;
		*n = m->data.len;
	} else if (head) {
		*p = m->data.s;
		*n = m->body;
	} else if (body) {
		size_t b = m->body;

		*p = m->data.s + b;
		*n = m->data.len - b;
	} else {
		*p = "";
		*n = 0;
	}
}
