/* qctl.c - queue settings, waking the queue manager, deferral reasons
 * (qctl.h). Tests: tests/unit/queue/test_qctl.c, tests/e2e/test_queue_commands.py */
#include "queue/qctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/instance.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "queue/qdir.h"

int
qctl_open(struct qctl *q, const char *config_flag, const char **error_r)
{
	struct str val;
	bool b = false;

	memset(q, 0, sizeof(*q));
	q->config_dir = xstrdup(instance_config_dir(config_flag));
	q->cf = maincf_new(q->config_dir);
	if (maincf_load(q->cf, error_r) != 0)
		return -1;
	str_init(&val, 64);
	if (maincf_get(q->cf, "queue_directory", &val, error_r) != 0) {
		str_deinit(&val);
		return -1;
	}
	q->queue_dir = str_export(&val);
	str_deinit(&val);
	if (maincf_get_bool(q->cf, "enable_long_queue_ids", &b, error_r) != 0)
		return -1;
	q->long_ids = b;
	return 0;
}

void
qctl_close(struct qctl *q)
{
	maincf_free(&q->cf);
	XFREE(q->config_dir);
	XFREE(q->queue_dir);
}

int
qctl_wake(const char *queue_dir, char request)
{
	char *path = xasprintf("%s/%s", queue_dir, QCTL_QMGR_FIFO);
	int fd, saved, ret = -1;

	/* O_NONBLOCK: opening a FIFO nobody reads fails with ENXIO instead of
	 * hanging, and a full FIFO already holds enough wake-ups */
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	saved = errno;
	free(path);
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	if (write(fd, &request, 1) == 1 || errno == EAGAIN)
		ret = 0;
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

size_t
qctl_flush(const char *queue_dir, bool *woke_r)
{
	struct strvec ids;
	char *path;
	size_t i, n = 0;

	strvec_init(&ids);
	(void)qdir_list(queue_dir, "deferred", &ids);
	for (i = 0; i < ids.n; i++) {
		path = qdir_path(queue_dir, "deferred", ids.v[i]);
		if (utimensat(AT_FDCWD, path, NULL, 0) == 0)
			n++;
		free(path);
	}
	strvec_deinit(&ids);
	*woke_r = qctl_wake(queue_dir, QCTL_REQ_FLUSH_DEFERRED) == 0;
	return n;
}

/* qctl_clean - the text without tabs and line ends, which delimit fields */
static void
qctl_clean(struct str *out, const char *s)
{
	for (; *s != '\0'; s++)
		str_append_c(out, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
}

int
qctl_reasons_write(const char *queue_dir, const char *id, const struct qctl_reason *reasons,
    size_t n)
{
	struct str text;
	char *path;
	size_t i;
	int ret;

	str_init(&text, 256);
	for (i = 0; i < n; i++) {
		qctl_clean(&text, reasons[i].status);
		str_append_c(&text, '\t');
		qctl_clean(&text, reasons[i].rcpt);
		str_append_c(&text, '\t');
		qctl_clean(&text, reasons[i].text);
		str_append_c(&text, '\n');
	}
	path = qdir_defer_path(queue_dir, id);
	ret = file_write_atomic(path, text.s, text.len, 0600);
	free(path);
	str_deinit(&text);
	return ret;
}

void
qctl_reasons_read(const char *queue_dir, const char *id, struct qctl_reason **reasons_r,
    size_t *n_r)
{
	struct qctl_reason *r = NULL;
	struct str text;
	char *path, *line, *next, *t1, *t2;
	size_t n = 0;

	*reasons_r = NULL;
	*n_r = 0;
	str_init(&text, 256);
	path = qdir_defer_path(queue_dir, id);
	if (file_read(path, 1u << 20, &text) != 0) {
		free(path);
		str_deinit(&text);
		return;
	}
	free(path);
	for (line = text.s; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if ((t1 = strchr(line, '\t')) == NULL || (t2 = strchr(t1 + 1, '\t')) == NULL)
			continue;
		*t1++ = '\0';
		*t2++ = '\0';
		r = xreallocarray(r, n + 1, sizeof(*r));
		r[n].status = xstrdup(line);
		r[n].rcpt = xstrdup(t1);
		r[n].text = xstrdup(t2);
		n++;
	}
	str_deinit(&text);
	*reasons_r = r;
	*n_r = n;
}

void
qctl_reasons_free(struct qctl_reason **reasons, size_t n)
{
	size_t i;

	if (*reasons == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*reasons)[i].rcpt);
		free((*reasons)[i].status);
		free((*reasons)[i].text);
	}
	free(*reasons);
	*reasons = NULL;
}

const char *
qctl_reason_for(const struct qctl_reason *reasons, size_t n, const char *rcpt)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(reasons[i].rcpt, rcpt) == 0)
			return reasons[i].text;
	return NULL;
}
