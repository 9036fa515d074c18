/* storage_keywords.c - a Maildir's dovecot-keywords (storage_keywords.h) */
#include "storage/storage_keywords.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/storage.h"

#define KEYWORD_LOCK_TRIES	300	/* 10 ms apart: 3 s for another writer */
#define KEYWORD_FILE_MAX	65536

const char *
storage_keyword_check(const char *name, bool new_name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (*p == '\0')
		return "Invalid characters in keyword";
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return "Invalid characters in keyword";
	if (new_name && (size_t)(p - (const unsigned char *)name) > STORAGE_KEYWORD_MAX_LEN)
		return "Keyword length too long";
	return NULL;
}

void
storage_keywords_read(const char *dir, char **names, size_t *n_r)
{
	char *path = path_join(dir, "dovecot-keywords");
	struct str buf;
	char *line, *save = NULL;

	str_init(&buf, 256);
	if (file_read(path, KEYWORD_FILE_MAX, &buf) == 0) {
		for (line = strtok_r(buf.s, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			char *e;
			unsigned long idx = strtoul(line, &e, 10);

			if (e == line || *e != ' ' || idx >= STORAGE_KEYWORDS_MAX || e[1] == '\0' ||
			    storage_keyword_check(e + 1, false) != NULL)
				continue;
			/* names already known stay: only new ones are added */
			if (names[idx] == NULL)
				names[idx] = xstrdup(e + 1);
			if (idx + 1 > *n_r)
				*n_r = idx + 1;
		}
	}
	str_deinit(&buf);
	free(path);
}

int
storage_keyword_index(const char *dir, char **names, size_t *n, const char *name, bool create)
{
	char *file[STORAGE_KEYWORDS_MAX] = { 0 }, *path, *lock = NULL;
	struct str buf;
	size_t i, nf = 0;
	int ret = -1, tries, e = 0;

	for (i = 0; i < *n; i++)
		if (names[i] != NULL && strcasecmp(names[i], name) == 0)
			return (int)i;
	if (!create)
		return -1;
	/* another writer may have added keywords since the caller read the
	 * file: it is read again under Dovecot's dot-lock and the name goes
	 * to a free index, so that no index ever names two keywords */
	path = path_join(dir, "dovecot-keywords");
	for (tries = 0; storage_dotlock_take(path, &lock) != 0; tries++) {
		if (errno != EEXIST || tries >= KEYWORD_LOCK_TRIES) {
			e = errno;
			free(path);
			return errno = e, -1;
		}
		usleep(10000);
	}
	storage_keywords_read(dir, file, &nf);
	for (i = 0; i < nf; i++)
		if (file[i] != NULL && strcasecmp(file[i], name) == 0)
			ret = (int)i;
	for (i = 0; ret < 0 && i < STORAGE_KEYWORDS_MAX; i++) {
		if (file[i] != NULL || (i < *n && names[i] != NULL))
			continue;
		file[i] = xstrdup(name);
		if (i + 1 > nf)
			nf = i + 1;
		str_init(&buf, 256);
		for (size_t k = 0; k < nf; k++)
			if (file[k] != NULL)
				str_appendf(&buf, "%zu %s\n", k, file[k]);
		if (file_write_atomic(path, buf.s, buf.len, 0600) == 0)
			ret = (int)i;
		else {
			e = errno;
			XFREE(file[i]);
		}
		str_deinit(&buf);
		break;
	}
	if (ret < 0 && e == 0)
		e = ENOSPC;	/* all 26 letters in use */
	storage_dotlock_release(&lock);
	free(path);
	/* the file's names are the caller's from now on */
	for (i = 0; i < STORAGE_KEYWORDS_MAX; i++) {
		if (file[i] == NULL)
			continue;
		free(names[i]);
		names[i] = file[i];
		if (i + 1 > *n)
			*n = i + 1;
	}
	return ret >= 0 ? ret : (errno = e, -1);
}
