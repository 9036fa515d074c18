/* imap_mbox.c - see imap_mbox.h */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_mbox.h"
#include "imap/imap_mbox_mbox.h"
#include "imap/imap_search.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "storage/mailbox.h"
#include "storage/storage.h"
#include "storage/storage_keywords.h"

void
imap_mbox_parse_info(const char *name, unsigned *flags, uint32_t *kw)
{
	const char *info = strstr(name, ":2,");

	*flags = 0;
	*kw = 0;
	if (info == NULL)
		return;
	for (info += 3; *info != '\0'; info++) {
		switch (*info) {
		case 'D': *flags |= IMAP_FLAG_DRAFT; break;
		case 'F': *flags |= IMAP_FLAG_FLAGGED; break;
		case 'R': *flags |= IMAP_FLAG_ANSWERED; break;
		case 'S': *flags |= IMAP_FLAG_SEEN; break;
		case 'T': *flags |= IMAP_FLAG_DELETED; break;
		default:
			if (*info >= 'a' && *info <= 'z')
				*kw |= 1u << (*info - 'a');
		}
	}
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
imap_mbox_scan_dir(const char *dir, imap_mbox_date_fn *date_fn, void *ctx,
    struct imap_mbox_snap *out, const char **error_r)
{
	struct strvec news;
	struct mailbox *mb;
	struct str buf;
	struct uidlist ul;
	char *newdir = path_join(dir, "new"), *curdir = path_join(dir, "cur");
	char *ulpath = path_join(dir, "dovecot-uidlist");
	size_t i, j;
	DIR *d;
	struct dirent *de;

	memset(out, 0, sizeof(*out));
	strvec_init(&news);
	if ((d = opendir(newdir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				strvec_push_take(&news, xstrndup(de->d_name, maildir_basename_len(de->d_name)));
		closedir(d);
	}
	strvec_sort(&news);
	if (mailbox_open(dir, STORAGE_MAILDIR, &mb, error_r) != 0) {
		strvec_deinit(&news);
		free(newdir);
		free(curdir);
		free(ulpath);
		return -1;
	}
	out->n = mailbox_count(mb);
	out->m = xcalloc(out->n + 1, sizeof(*out->m));
	out->uidvalidity = mailbox_uidvalidity(mb);
	for (i = 0, j = 0; i < out->n; i++) {
		const struct mailbox_msg *mm = mailbox_msg(mb, i);
		struct imap_msg *m = &out->m[j];
		char *path = path_join(curdir, mm->name);
		char *base = xstrndup(mm->name, maildir_basename_len(mm->name));
		struct stat st;

		m->uid = mm->uid;
		m->name = xstrdup(mm->name);
		m->vsize = mm->vsize;
		imap_mbox_parse_info(mm->name, &m->flags, &m->kw);
		m->date = date_fn != NULL ? date_fn(ctx, mm->uid, base) : -1;
		if (m->date == -1)
			m->date = stat(path, &st) == 0 ? st.st_mtime : time(NULL);
		if (news.n > 0 && bsearch(&base, news.v, news.n, sizeof(char *), name_cmp) != NULL) {
			m->flags |= IMAP_FLAG_RECENT;
			out->new_count++;
		}
		free(base);
		free(path);
		j++;
	}
	mailbox_close(&mb);
	out->uidnext = out->n > 0 ? out->m[out->n - 1].uid + 1 : 1;
	str_init(&buf, 1024);
	uidlist_init(&ul);
	if (file_read(ulpath, 256u * 1024 * 1024, &buf) == 0 &&
	    uidlist_parse(&ul, buf.s, buf.len, error_r) == 0 && ul.next_uid > out->uidnext)
		out->uidnext = ul.next_uid;
	if (out->uidvalidity == 0)
		out->uidvalidity = ul.uidvalidity;
	uidlist_deinit(&ul);
	str_deinit(&buf);
	strvec_deinit(&news);
	free(newdir);
	free(curdir);
	free(ulpath);
	return 0;
}

void
imap_mbox_snap_free(struct imap_mbox_snap *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!s->m[i].name_borrowed)
			free(s->m[i].name);
	free(s->m);
	if (s->map != NULL)
		munmap(s->map, s->map_len);
	memset(s, 0, sizeof(*s));
}

/* the keyword file itself is src/storage's (storage_keywords.c), shared
 * with deliver; here the IMAP wording and the mbox case */
const char *
imap_keyword_check(const char *name, bool new_name)
{
	const char *why = storage_keyword_check(name, new_name);

	if (why == NULL)
		return NULL;
	return strcmp(why, "Keyword length too long") == 0 ?
	    "[CANNOT] Keyword length too long" : "[CANNOT] Invalid characters in keyword";
}

void
imap_mbox_keywords_read(const char *dir, char **names, size_t *n_r)
{
	if (imap_mboxf_is(dir))
		imap_mboxf_keywords(dir, names, n_r);	/* X-IMAPbase's list */
	else
		storage_keywords_read(dir, names, n_r);
}

int
imap_mbox_keyword_index(const char *dir, char **names, size_t *n, const char *name, bool create)
{
	if (imap_mboxf_is(dir)) {
		int k = imap_mboxf_keyword_index(dir, name, create);

		/* the list is the file's: the caller's names follow it */
		imap_mboxf_keywords(dir, names, n);
		return k;
	}
	return storage_keyword_index(dir, names, n, name, create);
}

static void
info_part(struct str *out, unsigned flags, uint32_t kw, bool passed)
{
	int i;

	str_append(out, ":2,");
	if (flags & IMAP_FLAG_DRAFT)
		str_append_c(out, 'D');
	if (flags & IMAP_FLAG_FLAGGED)
		str_append_c(out, 'F');
	if (passed)
		str_append_c(out, 'P');
	if (flags & IMAP_FLAG_ANSWERED)
		str_append_c(out, 'R');
	if (flags & IMAP_FLAG_SEEN)
		str_append_c(out, 'S');
	if (flags & IMAP_FLAG_DELETED)
		str_append_c(out, 'T');
	for (i = 0; i < IMAP_MAX_KEYWORDS; i++)
		if (kw & (1u << i))
			str_append_c(out, 'a' + i);
}

int
imap_mbox_set_flags(const char *dir, struct imap_msg *m, unsigned flags, uint32_t kw)
{
	struct str name;
	const char *info = strstr(m->name, ":2,");
	bool passed = info != NULL && strchr(info + 3, 'P') != NULL;
	char *from, *to;
	int ret;

	if (imap_mboxf_is(dir))
		return imap_mboxf_set_flags(dir, m, flags, kw);

	str_init(&name, 128);
	str_append_n(&name, m->name, maildir_basename_len(m->name));
	info_part(&name, flags, kw, passed);
	if (strcmp(name.s, m->name) == 0) {
		str_deinit(&name);
		m->flags = (m->flags & IMAP_FLAG_RECENT) | flags;
		m->kw = kw;
		return 0;
	}
	from = xasprintf("%s/cur/%s", dir, m->name);
	to = xasprintf("%s/cur/%s", dir, name.s);
	ret = rename(from, to);
	if (ret == 0) {
		if (!m->name_borrowed)
			free(m->name);
		m->name_borrowed = false;
		m->name = str_export(&name);
		m->flags = (m->flags & IMAP_FLAG_RECENT) | flags;
		m->kw = kw;
	}
	free(from);
	free(to);
	str_deinit(&name);
	return ret;
}

int
imap_mbox_refresh_name(const char *dir, struct imap_msg *m)
{
	char *curdir = path_join(dir, "cur");
	size_t bl = maildir_basename_len(m->name);
	DIR *d = opendir(curdir);
	struct dirent *de;
	int ret = -1;

	free(curdir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, m->name, bl) != 0 ||
		    (de->d_name[bl] != ':' && de->d_name[bl] != '\0'))
			continue;
		if (!m->name_borrowed)
			free(m->name);
		m->name = xstrdup(de->d_name);
		m->name_borrowed = false;
		{
			unsigned recent = m->flags & IMAP_FLAG_RECENT;

			imap_mbox_parse_info(m->name, &m->flags, &m->kw);
			m->flags |= recent;
		}
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

int
imap_mbox_save(const char *dir, const char *data, size_t len, unsigned flags, uint32_t kw,
    time_t date, char **base_r)
{
	struct str body, base, name;

	if (imap_mboxf_is(dir)) {
		struct imap_mboxf_new a = { data, len, flags, kw, date, 0 };

		if (imap_mboxf_save(dir, &a, 1) != 0)
			return -1;
		*base_r = xasprintf("u%u:", a.uid);	/* the name imap_mboxf_scan gives */
		return 0;
	}
	char *tmp = NULL, *cur = NULL, *curdir = path_join(dir, "cur");
	struct timespec ts[2];
	size_t i, vsize;
	int fd = -1, ret = -1;

	str_init(&body, len + 1);
	for (i = 0; i < len; i++)
		if (!(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'))
			str_append_c(&body, data[i]);
	vsize = body.len;
	for (i = 0; i < body.len; i++)
		if (body.s[i] == '\n')
			vsize++;
	str_init(&base, 128);
	storage_maildir_name(&base, body.len);
	str_appendf(&base, ",W=%zu", vsize);
	str_init(&name, 128);
	str_append(&name, base.s);
	info_part(&name, flags & ~IMAP_FLAG_RECENT, kw, false);
	tmp = xasprintf("%s/tmp/%s", dir, base.s);
	cur = xasprintf("%s/cur/%s", dir, name.s);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (storage_write_full(fd, body.s, body.len) != 0 || fsync(fd) != 0)
		goto out;
	ts[0].tv_sec = ts[1].tv_sec = date;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	(void)futimens(fd, ts);
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, cur) != 0)
		goto out;
	if (dir_fsync(curdir) != 0) {
		(void)unlink(cur);	/* not known to be on disk: not saved */
		goto out;
	}
	*base_r = str_export(&base);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret != 0 && tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	free(cur);
	free(curdir);
	str_deinit(&body);
	str_deinit(&base);
	str_deinit(&name);
	return ret;
}

int
imap_mbox_copy(const char *src_dir, const struct imap_msg *m, const char *dir, uint32_t kw,
    char **base_r)
{
	struct str base, name;

	if (imap_mboxf_is(src_dir) || imap_mboxf_is(dir)) {
		/* no links between an mbox and anything: the bytes are copied */
		struct str data;
		int r;

		str_init(&data, m->vsize + 1);
		r = imap_mbox_read(src_dir, m, &data);
		if (r == 0)
			r = imap_mbox_save(dir, data.s, data.len, m->flags & ~IMAP_FLAG_RECENT, kw,
			    m->date, base_r);
		str_deinit(&data);
		return r;
	}
	char *from = xasprintf("%s/cur/%s", src_dir, m->name), *to, *curdir;
	int ret;

	str_init(&base, 128);
	storage_maildir_name(&base, m->vsize);
	str_appendf(&base, ",W=%zu", m->vsize);
	str_init(&name, 128);
	str_append(&name, base.s);
	info_part(&name, m->flags & ~IMAP_FLAG_RECENT, kw, false);
	to = xasprintf("%s/cur/%s", dir, name.s);
	ret = link(from, to);
	if (ret != 0) {
		struct str data;

		/* another file system, or no links: a real copy */
		str_init(&data, m->vsize + 1);
		ret = imap_mbox_read(src_dir, m, &data);
		if (ret == 0) {
			char *b = NULL;

			ret = imap_mbox_save(dir, data.s, data.len, m->flags, kw, m->date, &b);
			str_reset(&base);
			if (b != NULL)
				str_append(&base, b);
			free(b);
		}
		str_deinit(&data);
	} else {
		curdir = path_join(dir, "cur");
		ret = dir_fsync(curdir);
		free(curdir);
		if (ret != 0) {
			/* not known to be on disk: not a copy either */
			int e = errno;

			(void)unlink(to);
			errno = e;
		}
	}
	if (ret == 0)
		*base_r = str_export(&base);
	free(from);
	free(to);
	str_deinit(&base);
	str_deinit(&name);
	return ret;
}

int
imap_mbox_copy_to_mboxf(const char *src_dir, const struct imap_msg *m, const size_t *idx,
    const uint32_t *kws, size_t n, const char *dir, char **bases_r)
{
	struct imap_mboxf_new *add = xcalloc(n + 1, sizeof(*add));
	struct str *data = xcalloc(n + 1, sizeof(*data));
	size_t i, nread = 0;
	int ret = -1, e = 0;

	for (i = 0; i < n; i++, nread++) {
		const struct imap_msg *s = &m[idx[i]];

		str_init(&data[i], s->vsize + 1);
		if (imap_mbox_read(src_dir, s, &data[i]) != 0) {
			e = errno;
			nread++;
			goto out;
		}
		add[i].data = data[i].s;
		add[i].len = data[i].len;
		add[i].flags = s->flags & ~IMAP_FLAG_RECENT;
		add[i].kw = kws[i];
		add[i].date = s->date;
	}
	if (imap_mboxf_save(dir, add, n) != 0) {
		e = errno;
		goto out;
	}
	for (i = 0; i < n; i++)
		bases_r[i] = xasprintf("u%u:", add[i].uid);	/* the name imap_mboxf_scan gives */
	ret = 0;
out:
	for (i = 0; i < nread; i++)
		str_deinit(&data[i]);
	free(data);
	free(add);
	return ret == 0 ? 0 : (errno = e, -1);
}

void
imap_mbox_remove_bases(const char *dir, char *const *bases, size_t n)
{
	char *curdir = path_join(dir, "cur");
	DIR *d;
	struct dirent *de;
	size_t i;

	if ((d = opendir(curdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			size_t bl = strcspn(de->d_name, ":");

			for (i = 0; i < n; i++)
				if (bases[i] != NULL && strlen(bases[i]) == bl &&
				    strncmp(de->d_name, bases[i], bl) == 0) {
					char *path = path_join(curdir, de->d_name);

					(void)unlink(path);
					free(path);
					break;
				}
		}
		closedir(d);
		(void)dir_fsync(curdir);
	}
	free(curdir);
}

int
imap_mbox_read(const char *dir, const struct imap_msg *m, struct str *out)
{
	if (imap_mboxf_is(dir))
		return imap_mboxf_read(dir, m, out);
	char *path = xasprintf("%s/cur/%s", dir, m->name);
	int ret = file_read(path, 1024u * 1024 * 1024, out);

	free(path);
	return ret;
}

int
imap_mbox_create(const char *path)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char *p, *mf;
	size_t i;
	int fd;

	if (mkdir(path, 0700) != 0)
		return -1;
	for (i = 0; i < 3; i++) {
		p = path_join(path, subs[i]);
		(void)mkdir(p, 0700);
		free(p);
	}
	/* Maildir++'s marker of a folder, as Dovecot and Courier write it */
	mf = path_join(path, "maildirfolder");
	fd = open(mf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	free(mf);
	return 0;
}

static void
remove_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = path_join(dir, de->d_name);
		(void)unlink(p);
		free(p);
	}
	closedir(d);
}

int
imap_mbox_delete(const char *path)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	size_t i;

	if (imap_mboxf_is(path))
		return imap_mboxf_delete(path);
	for (i = 0; i < 3; i++) {
		char *p = path_join(path, subs[i]);

		remove_files(p);
		(void)rmdir(p);
		free(p);
	}
	remove_files(path);
	return rmdir(path);
}

void
imap_mbox_folders(const char *root, struct strvec *out)
{
	DIR *d = opendir(root);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *p;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || de->d_name[1] == '.')
			continue;
		p = path_join(root, de->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			strvec_push(out, de->d_name + 1);
		free(p);
	}
	closedir(d);
}
