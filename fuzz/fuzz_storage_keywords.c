/* fuzz_storage_keywords.c - a Maildir's dovecot-keywords file
 * (storage/storage_keywords.c) with arbitrary content: reading never
 * gives more than 26 names, every name it gives is a valid keyword, and
 * a name added with storage_keyword_index is found again at its index
 * when the file is read back. The file lives in a scratch directory made
 * once per process. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/util.h"
#include "storage/storage_keywords.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz_storage_keywords.XXXXXX";
static char *file, *lock;

static void
cleanup(void)
{
	(void)unlink(file);
	(void)unlink(lock);
	(void)rmdir(dir);
}

static void
names_free(char **names)
{
	for (size_t i = 0; i < STORAGE_KEYWORDS_MAX; i++)
		XFREE(names[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *names[STORAGE_KEYWORDS_MAX] = { 0 }, *again[STORAGE_KEYWORDS_MAX] = { 0 };
	size_t n = 0, n2 = 0, i;
	int k;

	if (file == NULL) {
		if (mkdtemp(dir) == NULL)
			abort();
		file = path_join(dir, "dovecot-keywords");
		lock = path_join(dir, "dovecot-keywords.lock");
		atexit(cleanup);
	}
	(void)unlink(lock);
	{
		/* no fsync here (file_write_atomic's): this harness's speed */
		FILE *f = fopen(file, "wb");

		if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
			abort();
	}
	storage_keywords_read(dir, names, &n);
	if (n > STORAGE_KEYWORDS_MAX)
		__builtin_trap();
	for (i = 0; i < STORAGE_KEYWORDS_MAX; i++) {
		if (names[i] != NULL && (i >= n || storage_keyword_check(names[i], false) != NULL))
			__builtin_trap();
	}
	/* a known name is found where reading put it */
	for (i = 0; i < n; i++)
		if (names[i] != NULL) {
			k = storage_keyword_index(dir, names, &n, names[i], false);
			if (k < 0 || strcasecmp(names[k], names[i]) != 0)
				__builtin_trap();
			break;
		}
	k = storage_keyword_index(dir, names, &n, "$FuzzNew", true);
	if (k >= 0) {
		storage_keywords_read(dir, again, &n2);
		if (again[k] == NULL || strcasecmp(again[k], "$FuzzNew") != 0)
			__builtin_trap();
	} else if (n < STORAGE_KEYWORDS_MAX) {
		/* refused only when every letter is named */
		for (i = 0; i < STORAGE_KEYWORDS_MAX; i++)
			if (names[i] == NULL)
				__builtin_trap();
	}
	names_free(names);
	names_free(again);
	return 0;
}
