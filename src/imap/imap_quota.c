/* imap_quota.c - QUOTA. See imap_quota.h. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "imap/imap_conf.h"
#include "imap/imap_enable.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_quota.h"
#include "lib/mem.h"
#include "lib/util.h"

static void
dir_usage(const char *dir, uint64_t *bytes, uint64_t *count)
{
	static const char *const subs[] = { "cur", "new" };
	size_t i;

	for (i = 0; i < 2; i++) {
		char *path = path_join(dir, subs[i]);
		DIR *d = opendir(path);
		struct dirent *de;

		if (d == NULL) {
			free(path);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			const char *sz = strstr(de->d_name, ",S=");
			struct stat st;

			if (de->d_name[0] == '.')
				continue;
			if (sz != NULL && sz[3] >= '0' && sz[3] <= '9') {
				*bytes += strtoull(sz + 3, NULL, 10);
			} else {
				char *f = path_join(path, de->d_name);

				if (stat(f, &st) == 0)
					*bytes += (uint64_t)st.st_size;
				free(f);
			}
			(*count)++;
		}
		closedir(d);
		free(path);
	}
}

void
imap_quota_usage(const struct imap_layout *layout, const char *inbox, uint64_t *bytes_r,
    uint64_t *count_r)
{
	struct strvec folders;
	size_t i;

	*bytes_r = *count_r = 0;
	dir_usage(inbox, bytes_r, count_r);
	strvec_init(&folders);
	imap_layout_folders(layout, &folders);
	for (i = 0; i < folders.n; i++) {
		char *d = imap_layout_dir(layout, folders.v[i]);

		dir_usage(d, bytes_r, count_r);
		free(d);
	}
	strvec_deinit(&folders);
}

/* usage - counted now, and Dovecot's maildirsize (Maildir++ quota)
 * rewritten with the limits and the total, so that Dovecot, which adds
 * to that file, starts from the same numbers */
static void
usage(struct imap_sess *s, uint64_t *bytes, uint64_t *count)
{
	struct str f;
	char *path;

	imap_quota_usage(&s->layout, s->root, bytes, count);
	str_init(&f, 64);
	if (s->conf->quota_storage > 0)
		str_appendf(&f, "%lluS", (unsigned long long)s->conf->quota_storage);
	if (s->conf->quota_messages > 0)
		str_appendf(&f, "%s%lluC", f.len > 0 ? "," : "",
		    (unsigned long long)s->conf->quota_messages);
	str_appendf(&f, "\n%llu %llu\n", (unsigned long long)*bytes, (unsigned long long)*count);
	path = path_join(s->root, "maildirsize");
	(void)file_write_atomic(path, f.s, f.len, 0600);
	free(path);
	str_deinit(&f);
}

bool
imap_quota_allows(struct imap_sess *s, uint64_t bytes, uint64_t count, struct str *reply)
{
	uint64_t used, n;

	if (s->conf == NULL || !s->conf->quota)
		return true;
	usage(s, &used, &n);
	if ((s->conf->quota_storage > 0 && used + bytes > s->conf->quota_storage) ||
	    (s->conf->quota_messages > 0 && n + count > s->conf->quota_messages)) {
		str_append(reply, "[OVERQUOTA] Quota exceeded (mailbox for user is full)");
		return false;
	}
	return true;
}

const char *
imap_quota_caps(const struct imap_sess *s)
{
	return s->conf != NULL && s->conf->quota ? " QUOTA" : "";
}

static void
quota_line(struct imap_sess *s)
{
	uint64_t used, n;
	struct str line;

	usage(s, &used, &n);
	str_init(&line, 96);
	str_append(&line, "* QUOTA ");
	imap_quote(&line, s->conf->quota_root, strlen(s->conf->quota_root));
	str_append(&line, " (");
	/* STORAGE in KiB, rounded up, as Dovecot shows it */
	if (s->conf->quota_storage > 0)
		str_appendf(&line, "STORAGE %llu %llu", (unsigned long long)((used + 1023) / 1024),
		    (unsigned long long)(s->conf->quota_storage / 1024));
	if (s->conf->quota_messages > 0)
		str_appendf(&line, "%sMESSAGE %llu %llu", s->conf->quota_storage > 0 ? " " : "",
		    (unsigned long long)n, (unsigned long long)s->conf->quota_messages);
	str_append(&line, ")\r\n");
	s->out += line.len;
	pop3_conn_append(s->conn, line.s, line.len);
	str_deinit(&line);
}

const char *
imap_cmd_quota(struct imap_sess *s, const char *name, const struct imap_arg *a, size_t n,
    struct str *reply)
{
	if (s->conf == NULL || !s->conf->quota)
		return str_appendf(reply, "Error in IMAP command %s: Unknown command", name), "BAD";
	if (n == 0)
		return str_appendf(reply, "Error in IMAP command %s: Missing arguments", name), "BAD";
	if (!imap_arg_is_astring(&a[0]))
		return str_appendf(reply, "Error in IMAP command %s: Invalid arguments", name), "BAD";
	if (strcmp(name, "SETQUOTA") == 0)
		return str_append(reply, "Quota can be changed only by admin"), "NO";
	if (strcmp(name, "GETQUOTA") == 0) {
		if (n != 1)
			return str_append(reply, "Error in IMAP command GETQUOTA: Invalid arguments"),
			    "BAD";
		if (strcmp(a[0].str, s->conf->quota_root) != 0)
			return str_append(reply, "Quota root doesn't exist"), "NO";
		quota_line(s);
		return str_append(reply, "Getquota completed"), "OK";
	}
	/* GETQUOTAROOT: every mailbox (existing or not, as Dovecot) is
	 * under the one root */
	{
		struct str line;

		if (n != 1)
			return str_append(reply, "Error in IMAP command GETQUOTAROOT: Invalid "
			    "arguments"), "BAD";
		str_init(&line, 96);
		str_append(&line, "* QUOTAROOT ");
		imap_sess_name(s, &line, a[0].str);
		str_append_c(&line, ' ');
		imap_quote(&line, s->conf->quota_root, strlen(s->conf->quota_root));
		str_append(&line, "\r\n");
		s->out += line.len;
		pop3_conn_append(s->conn, line.s, line.len);
		str_deinit(&line);
		quota_line(s);
	}
	return str_append(reply, "Getquotaroot completed"), "OK";
}
