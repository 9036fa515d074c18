/* test_imap_mboxf_race.c - an mbox rewriter that opened the file before
 * another rewriter replaced it (rename of a new file) must not write its
 * old copy back over mail delivered since (imap_mbox_mbox.c lock_both) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imap/imap_mbox_mbox.h"
#include "lib/str.h"
#include "lib/util.h"

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
test_rewrite_after_replace_keeps_new_mail(void **state)
{
	char dir[] = "/tmp/yubin-mboxf-race-XXXXXX";
	char path[128], lock[160], tmp[160];
	const char *m1 = "From a@b Mon Nov 23 10:00:00 2026\nSubject: one\n\nbody1\n\n";
	const char *m2 = "From a@b Mon Nov 23 10:00:01 2026\nSubject: two\n\nbody2\n\n";
	struct str all, both;
	pid_t pid;
	int st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/box", dir);
	snprintf(lock, sizeof(lock), "%s/box.lock", dir);
	snprintf(tmp, sizeof(tmp), "%s/box.new", dir);
	put(path, m1);
	put(lock, "");			/* another writer holds the dot-lock */
	if ((pid = fork()) == 0)	/* opens box, then waits for the lock */
		_exit(imap_mboxf_assign_uids(path) == 0 ? 0 : 1);
	usleep(300000);
	/* the holder renames in a new file with a delivered message, lets go */
	str_init(&both, 256);
	str_appendf(&both, "%s%s", m1, m2);
	put(tmp, both.s);
	assert_int_equal(rename(tmp, path), 0);
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	str_init(&all, 512);
	assert_int_equal(file_read(path, 1 << 20, &all), 0);
	assert_non_null(strstr(all.s, "Subject: one"));
	assert_non_null(strstr(all.s, "Subject: two"));
	assert_non_null(strstr(all.s, "X-IMAPbase: "));
	str_deinit(&all);
	str_deinit(&both);
	(void)unlink(path);
	(void)rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite_after_replace_keeps_new_mail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
