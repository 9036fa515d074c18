/* storage.c - the storage library's generic calls (storage.h): pick the
 * back end, render the stored form, map errno to Postfix's DSN codes.
 * Tests: tests/unit/storage/test_storage.c */
#include "storage/storage-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/str.h"
#include "storage/mbox_file.h"

bool
storage_error_is_temporary(const struct storage_error *e)
{
	return e->status[0] != '5';
}

enum storage_format
storage_format_of(const char *path)
{
	size_t n = strlen(path);

	return n > 0 && path[n - 1] == '/' ? STORAGE_MAILDIR : STORAGE_MBOX;
}

void
storage_error_set(struct storage_error *e, int err, const char *def_status, const char *fmt, ...)
{
	const char *status = def_status;
	va_list ap;

	/* Postfix's mbox_dsn(): a lock held elsewhere or a stale NFS handle
	 * is worth another try, a full disk is the site's to fix (defer), a
	 * quota the user's (defer), a file past its size limit is final. */
	switch (err) {
	case EAGAIN:
	case ESTALE:
		status = "4.2.0";
		break;
	case ENOSPC:
		status = "4.3.0";
		break;
	case EDQUOT:
		status = "4.2.2";
		break;
	case EFBIG:
		status = "5.2.2";
		break;
	default:
		break;
	}
	snprintf(e->status, sizeof(e->status), "%s", status);
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

int
storage_write_full(int fd, const void *data, size_t n)
{
	const char *p = data;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* storage_is_from_line - ">*From " at the start of a line (mboxrd) */
static bool
storage_is_from_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == '>')
		i++;
	return n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

void
storage_render(struct str *out, const struct storage_mail *m, bool mbox)
{
	const char *p = m->data, *end = m->data + m->len, *nl;
	size_t n;
	bool header = mbox, hide = false;

	if (mbox) {
		char date[64];
		struct tm tm;

		/* asctime's shape without its newline, as Postfix writes it */
		localtime_r(&m->arrival, &tm);
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
		str_appendf(out, "From %s  %s\n", *m->sender != '\0' ? m->sender :
		    "MAILER-DAEMON", date);
	}
	if (m->prefix != NULL)
		str_append(out, m->prefix);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		/* the mbox's own fields (Status, X-Status, X-Keywords, X-UID,
		 * X-IMAPbase, X-IMAP, Content-Length) from the sender would set
		 * flags and numbers for the reader: dropped, as Dovecot's LDA
		 * does */
		if (header && n == 0)
			header = false;
		else if (header && *p != ' ' && *p != '\t')
			hide = mbox_file_is_hidden_header(p, n);
		if (header && hide) {
			p = nl != NULL ? nl + 1 : end;
			continue;
		}
		if (mbox && storage_is_from_line(p, n))
			str_append_c(out, '>');
		str_append_n(out, p, n);
		str_append_c(out, '\n');
		p = nl != NULL ? nl + 1 : end;
	}
	if (mbox)
		str_append_c(out, '\n');
}

int
storage_deliver(const char *path, enum storage_format fmt, const struct storage_mail *m,
    off_t size_limit, char *where_r, struct storage_error *error_r)
{
	const struct storage_vfuncs *v = fmt == STORAGE_MAILDIR ? &storage_maildir_vfuncs :
	    &storage_mbox_vfuncs;

	memset(error_r, 0, sizeof(*error_r));
	if (where_r != NULL)
		*where_r = '\0';
	return v->deliver(path, m, size_limit, where_r, error_r);
}
