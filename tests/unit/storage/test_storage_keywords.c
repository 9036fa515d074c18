/* test_storage_keywords.c - a Maildir's dovecot-keywords: names read
 * with bad lines skipped, a new name at the first free index, a name
 * another writer added meanwhile found rather than given a second
 * letter, the 26-letter limit, IMAP atom and length rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/storage_keywords.h"

static char tmpdir[] = "/tmp/test_storage_keywords.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
names_free(char **names)
{
	size_t i;

	for (i = 0; i < STORAGE_KEYWORDS_MAX; i++)
		XFREE(names[i]);
}

static void
write_file(const char *dir, const char *text)
{
	char *path = path_join(dir, "dovecot-keywords");

	assert_int_equal(file_write_atomic(path, text, strlen(text), 0600), 0);
	free(path);
}

static void
test_check_is_imap_atom(void **state)
{
	char longname[60];

	(void)state;
	assert_null(storage_keyword_check("$Label1", true));
	assert_null(storage_keyword_check("Junk", true));
	assert_non_null(storage_keyword_check("", true));
	assert_non_null(storage_keyword_check("two words", true));
	assert_non_null(storage_keyword_check("a]b", true));
	assert_non_null(storage_keyword_check("a(b", true));
	assert_non_null(storage_keyword_check("\\Seen", true));
	assert_non_null(storage_keyword_check("caf\xc3\xa9", true));
	memset(longname, 'k', 51);
	longname[51] = 0;
	assert_string_equal(storage_keyword_check(longname, true), "Keyword length too long");
	assert_null(storage_keyword_check(longname, false));	/* an old one is read */
}

static void
test_read_skips_bad_lines(void **state)
{
	char *dir = path_join(tmpdir, "read"), *names[STORAGE_KEYWORDS_MAX] = { 0 };
	size_t n = 0;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(dir, "0 Junk\nx bad\n3 $Label1\n26 toohigh\n4 with space\n5\n");
	storage_keywords_read(dir, names, &n);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "Junk");
	assert_null(names[1]);
	assert_string_equal(names[3], "$Label1");
	assert_null(names[4]);
	names_free(names);
	free(dir);
}

static void
test_index_adds_at_first_free_and_finds_others(void **state)
{
	char *dir = path_join(tmpdir, "index"), *names[STORAGE_KEYWORDS_MAX] = { 0 };
	char *fresh[STORAGE_KEYWORDS_MAX] = { 0 };
	struct str buf;
	char *path = path_join(dir, "dovecot-keywords");
	size_t n = 0, nf = 0;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(dir, "1 Work\n");
	storage_keywords_read(dir, names, &n);
	assert_int_equal(storage_keyword_index(dir, names, &n, "work", false), 1);
	assert_int_equal(storage_keyword_index(dir, names, &n, "Junk", false), -1);
	assert_int_equal(storage_keyword_index(dir, names, &n, "Junk", true), 0);
	/* another writer adds a name this caller does not know yet */
	write_file(dir, "0 Junk\n1 Work\n2 Later\n");
	assert_int_equal(storage_keyword_index(dir, names, &n, "Later", true), 2);
	assert_int_equal(storage_keyword_index(dir, names, &n, "New", true), 3);
	assert_int_equal(n, 4);
	str_init(&buf, 64);
	assert_int_equal(file_read(path, 4096, &buf), 0);
	assert_string_equal(buf.s, "0 Junk\n1 Work\n2 Later\n3 New\n");
	{
		char *lock = path_join(dir, "dovecot-keywords.lock");

		assert_int_not_equal(access(lock, F_OK), 0);	/* released */
		free(lock);
	}
	storage_keywords_read(dir, fresh, &nf);
	assert_int_equal(nf, 4);
	assert_string_equal(fresh[3], "New");
	str_deinit(&buf);
	names_free(names);
	names_free(fresh);
	free(path);
	free(dir);
}

static void
test_index_full(void **state)
{
	char *dir = path_join(tmpdir, "full"), *names[STORAGE_KEYWORDS_MAX] = { 0 };
	char name[16];
	size_t n = 0, i;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	for (i = 0; i < STORAGE_KEYWORDS_MAX; i++) {
		snprintf(name, sizeof(name), "k%zu", i);
		assert_int_equal(storage_keyword_index(dir, names, &n, name, true), (int)i);
	}
	errno = 0;
	assert_int_equal(storage_keyword_index(dir, names, &n, "one-more", true), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(storage_keyword_index(dir, names, &n, "K7", true), 7);
	names_free(names);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_is_imap_atom),
		cmocka_unit_test(test_read_skips_bad_lines),
		cmocka_unit_test(test_index_adds_at_first_free_and_finds_others),
		cmocka_unit_test(test_index_full),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
