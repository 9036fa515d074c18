/* sieve_storage.c - see sieve_storage.h.
 * Tests: tests/unit/managesieve/test_sieve_storage.c */
#include "managesieve/sieve_storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "sieve/sieve.h"

void
sieve_storage_init(struct sieve_storage *st, const char *dir, const char *active)
{
	st->dir = xstrdup(dir);
	st->active = xstrdup(active);
}

void
sieve_storage_deinit(struct sieve_storage *st)
{
	free(st->dir);
	free(st->active);
	st->dir = st->active = NULL;
}

bool
sieve_storage_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SIEVE_STORAGE_NAME_MAX || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

static void fail(struct sieve_storage_error *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct sieve_storage_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

static char *
script_path(const struct sieve_storage *st, const char *name)
{
	return xasprintf("%s/%s.sieve", st->dir, name);
}

/* active_name - the script the active link names (owned), or NULL */
static char *
active_name(const struct sieve_storage *st)
{
	char target[4096], *base, *dot;
	ssize_t n = readlink(st->active, target, sizeof(target) - 1);

	if (n <= 0)
		return NULL;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	dot = strrchr(base, '.');
	if (dot == NULL || strcmp(dot, ".sieve") != 0)
		return NULL;
	*dot = '\0';
	return xstrdup(base);
}

int
sieve_storage_list(const struct sieve_storage *st, struct strvec *out, long *active_r,
    struct sieve_storage_error *err)
{
	DIR *d = opendir(st->dir);
	struct dirent *e;
	char *act = active_name(st);

	*active_r = -1;
	if (d == NULL) {
		free(act);
		if (errno == ENOENT)
			return 0;	/* no script yet */
		fail(err, NULL, "Failed to list scripts: %s", strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n > 6 && strcmp(e->d_name + n - 6, ".sieve") == 0 && e->d_name[0] != '.')
			strvec_push_take(out, xstrndup(e->d_name, n - 6));
	}
	closedir(d);
	strvec_sort(out);
	for (size_t i = 0; act != NULL && i < out->n; i++)
		if (strcmp(out->v[i], act) == 0)
			*active_r = (long)i;
	free(act);
	return 0;
}

bool
sieve_storage_check(const char *name, const char *text, size_t len,
    const struct sieve_limits *limits, const struct sieve_extset *exts, struct str *errors)
{
	struct sieve_script *sc = sieve_compile(name, text, len, limits, exts, errors);
	bool ok = sc != NULL;

	sieve_script_free(&sc);
	return ok;
}

int
sieve_storage_put(const struct sieve_storage *st, const char *name, const char *text,
    size_t len, const struct sieve_limits *limits, const struct sieve_extset *exts,
    struct str *errors, struct sieve_storage_error *err)
{
	char *path;
	int rc;

	if (!sieve_storage_name_ok(name)) {
		fail(err, NULL, "Invalid script name '%s'.", name);
		return -1;
	}
	if (!sieve_storage_check(name, text, len, limits, exts, errors)) {
		fail(err, NULL, "%s", "Compilation failed.");
		return -1;
	}
	(void)mkdir(st->dir, 0700);
	path = script_path(st, name);
	rc = file_write_atomic(path, text, len, 0600);
	if (rc == 0)
		rc = dir_fsync(st->dir);
	if (rc != 0)
		fail(err, NULL, "Failed to save script: %s", strerror(errno));
	free(path);
	return rc;
}

int
sieve_storage_get(const struct sieve_storage *st, const char *name, struct str *out,
    struct sieve_storage_error *err)
{
	char *path;
	int rc;

	if (!sieve_storage_name_ok(name)) {
		fail(err, "NONEXISTENT", "Script does not exist.%s", "");
		return -1;
	}
	path = script_path(st, name);
	rc = file_read(path, 16 * 1024 * 1024, out);
	if (rc != 0)
		fail(err, errno == ENOENT ? "NONEXISTENT" : NULL, errno == ENOENT ?
		    "Script does not exist.%s" : "Failed to read script%s", "");
	free(path);
	return rc;
}

int
sieve_storage_activate(const struct sieve_storage *st, const char *name,
    struct sieve_storage_error *err)
{
	struct str target, dir;
	char *tmp, *path;
	int rc = -1;
	struct stat sb;

	str_init(&dir, 128);
	path_dirname(&dir, st->active);
	if (*name == '\0') {
		/* deactivate: only a link of ours goes; a regular file stays */
		if (lstat(st->active, &sb) == 0 && S_ISLNK(sb.st_mode) && unlink(st->active) != 0) {
			fail(err, NULL, "Failed to deactivate: %s", strerror(errno));
			str_deinit(&dir);
			return -1;
		}
		(void)dir_fsync(dir.s);
		str_deinit(&dir);
		return 0;
	}
	path = script_path(st, name);
	if (!sieve_storage_name_ok(name) || stat(path, &sb) != 0) {
		fail(err, "NONEXISTENT", "Script does not exist.%s", "");
		free(path);
		str_deinit(&dir);
		return -1;
	}
	if (lstat(st->active, &sb) == 0 && !S_ISLNK(sb.st_mode)) {
		/* Pigeonhole refuses to replace a regular file it did not make */
		fail(err, NULL, "Active script path %s is a regular file.", st->active);
		free(path);
		str_deinit(&dir);
		return -1;
	}
	str_init(&target, 128);
	/* relative when the storage directory sits beside the link */
	{
		size_t dl = dir.len;

		if (strncmp(st->dir, dir.s, dl) == 0 && st->dir[dl] == '/')
			str_appendf(&target, "%s/%s.sieve", st->dir + dl + 1, name);
		else
			str_append(&target, path);
	}
	tmp = xasprintf("%s.tmp.%ld", st->active, (long)getpid());
	(void)unlink(tmp);
	if (symlink(target.s, tmp) != 0 || rename(tmp, st->active) != 0) {
		fail(err, NULL, "Failed to activate script: %s", strerror(errno));
		(void)unlink(tmp);
	} else {
		(void)dir_fsync(dir.s);
		rc = 0;
	}
	free(tmp);
	free(path);
	str_deinit(&target);
	str_deinit(&dir);
	return rc;
}

int
sieve_storage_delete(const struct sieve_storage *st, const char *name,
    struct sieve_storage_error *err)
{
	char *act = active_name(st), *path;
	int rc = -1;

	if (!sieve_storage_name_ok(name)) {
		fail(err, "NONEXISTENT", "Script does not exist.%s", "");
		free(act);
		return -1;
	}
	if (act != NULL && strcmp(act, name) == 0) {
		fail(err, "ACTIVE", "Cannot delete active script.%s", "");
		free(act);
		return -1;
	}
	path = script_path(st, name);
	if (unlink(path) != 0)
		fail(err, errno == ENOENT ? "NONEXISTENT" : NULL, errno == ENOENT ?
		    "Script does not exist.%s" : "Failed to delete script%s", "");
	else {
		(void)dir_fsync(st->dir);
		rc = 0;
	}
	free(path);
	free(act);
	return rc;
}

int
sieve_storage_rename(const struct sieve_storage *st, const char *from, const char *to,
    struct sieve_storage_error *err)
{
	char *act = active_name(st), *p1, *p2;
	struct stat sb;
	int rc = -1;

	if (!sieve_storage_name_ok(from) || !sieve_storage_name_ok(to)) {
		fail(err, "NONEXISTENT", "Script does not exist.%s", "");
		free(act);
		return -1;
	}
	p1 = script_path(st, from);
	p2 = script_path(st, to);
	if (stat(p1, &sb) != 0)
		fail(err, "NONEXISTENT", "Script does not exist.%s", "");
	else if (stat(p2, &sb) == 0)
		fail(err, "ALREADYEXISTS", "A script with that name already exists.%s", "");
	else if (link(p1, p2) != 0)	/* never replaces: a racing PUTSCRIPT wins */
		fail(err, NULL, "Failed to rename script: %s", strerror(errno));
	else {
		rc = 0;
		if (act != NULL && strcmp(act, from) == 0)
			rc = sieve_storage_activate(st, to, err);
		if (rc == 0 && unlink(p1) != 0)
			rc = -1;
		(void)dir_fsync(st->dir);
	}
	free(p1);
	free(p2);
	free(act);
	return rc;
}
