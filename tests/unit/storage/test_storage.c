/* test_storage.c - the storage library: mbox rendering (From_ line,
 * mboxrd quoting, CRLF, blank line), dot-lock and fcntl lock refusals,
 * truncation after a failed append, Maildir names and layout, size
 * limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/storage.h"

static char tmpdir[] = "/tmp/test_storage.XXXXXX";

static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
mail_init(struct storage_mail *m, const char *data)
{
	memset(m, 0, sizeof(*m));
	m->sender = "alice@example.org";
	m->arrival = 0;
	m->prefix = "Return-Path: <alice@example.org>\n";
	m->data = data;
	m->len = strlen(data);
}

static void
read_file(const char *path, struct str *out)
{
	assert_int_equal(file_read(path, 1 << 20, out), 0);
}

static void
test_mbox_quoting_and_separator(void **state)
{
	static const char data[] = "Subject: x\r\n\r\nFrom here\r\n>From there\r\n>>From x\r\n"
	    "Fromage\r\nno newline at end";
	struct storage_mail m;
	struct storage_error err;
	struct str text;
	char *path = path_join(tmpdir, "quoting"), where[STORAGE_TEXT_SIZE];

	setenv("TZ", "UTC", 1);
	mail_init(&m, data);
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, where, &err), 0);
	assert_string_equal(where, path);
	str_init(&text, 256);
	read_file(path, &text);
	assert_string_equal(text.s,
	    "From alice@example.org  Thu Jan  1 00:00:00 1970\n"
	    "Return-Path: <alice@example.org>\n"
	    "Subject: x\n\n>From here\n>>From there\n>>>From x\nFromage\nno newline at end\n\n");
	/* a second message goes after the blank line; the null sender is
	 * MAILER-DAEMON */
	m.sender = "";
	m.prefix = NULL;
	m.data = "a\n";
	m.len = 2;
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), 0);
	read_file(path, &text);
	assert_non_null(strstr(text.s, "end\n\nFrom MAILER-DAEMON  Thu Jan  1 00:00:00 1970\na\n\n"));
	str_deinit(&text);
	free(path);
}

/* mbox_first goes into the file's first message only, before the
 * prefix; a sender's X-Keywords is dropped while the prefix's stays */
static void
test_mbox_first_only_in_first_message(void **state)
{
	struct storage_mail m;
	struct storage_error err;
	struct str text;
	char *path = path_join(tmpdir, "first");

	setenv("TZ", "UTC", 1);
	mail_init(&m, "X-Keywords: spoofed\nSubject: one\n\nbody\n");
	m.prefix = "Return-Path: <alice@example.org>\nX-Keywords: mine\n";
	m.mbox_first = "X-IMAPbase: 7 0000000001 mine\nX-UID: 1\n";
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), 0);
	m.data = "Subject: two\n\nbody\n";
	m.len = strlen(m.data);
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), 0);
	str_init(&text, 256);
	read_file(path, &text);
	assert_string_equal(text.s,
	    "From alice@example.org  Thu Jan  1 00:00:00 1970\n"
	    "X-IMAPbase: 7 0000000001 mine\nX-UID: 1\n"
	    "Return-Path: <alice@example.org>\nX-Keywords: mine\n"
	    "Subject: one\n\nbody\n\n"
	    "From alice@example.org  Thu Jan  1 00:00:00 1970\n"
	    "Return-Path: <alice@example.org>\nX-Keywords: mine\n"
	    "Subject: two\n\nbody\n\n");
	str_deinit(&text);
	free(path);
}

static void
test_mbox_dotlock_held_defers(void **state)
{
	struct storage_mail m;
	struct storage_error err;
	char *path = path_join(tmpdir, "locked"), *lock = NULL;
	struct stat st;

	mail_init(&m, "Subject: y\n\nbody\n");
	assert_int_equal(storage_dotlock_take(path, &lock), 0);
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), -1);
	assert_string_equal(err.status, "4.2.0");
	assert_true(storage_error_is_temporary(&err));
	assert_non_null(strstr(err.text, "unable to lock for exclusive access"));
	assert_int_equal(stat(path, &st) == 0 ? st.st_size : 0, 0);
	storage_dotlock_release(&lock);
	assert_null(lock);
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), 0);
	free(path);
}

static void
test_mbox_stale_dotlock_is_removed(void **state)
{
	struct storage_mail m;
	struct storage_error err;
	char *path = path_join(tmpdir, "stale"), *lock = NULL;
	struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };

	mail_init(&m, "Subject: y\n\nbody\n");
	assert_int_equal(storage_dotlock_take(path, &lock), 0);
	assert_int_equal(utimensat(AT_FDCWD, lock, ts, 0), 0);
	/* "forget" the lock: a program that died holding it */
	free(lock);
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), 0);
	free(path);
}

static void
test_mbox_fcntl_lock_held_defers(void **state)
{
	struct storage_mail m;
	struct storage_error err;
	char *path = path_join(tmpdir, "fcntl");
	int fd, pfd[2], wst;
	pid_t pid;
	char c;

	mail_init(&m, "Subject: z\n\nbody\n");
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), 0);
	/* another process (fcntl locks are per process) holds the lock */
	assert_int_equal(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		fd = open(path, O_RDWR);
		if (fd < 0 || storage_fcntl_lock(fd, true) != 0)
			_exit(1);
		(void)write(pfd[1], "x", 1);
		sleep(5);
		_exit(0);
	}
	assert_int_equal(read(pfd[0], &c, 1), 1);
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), -1);
	assert_string_equal(err.status, "4.2.0");
	kill(pid, SIGKILL);
	waitpid(pid, &wst, 0);
	close(pfd[0]);
	close(pfd[1]);
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), 0);
	free(path);
}

static void
test_mbox_write_error_truncates(void **state)
{
	struct storage_mail m;
	struct storage_error err;
	char *path = path_join(tmpdir, "full"), *big;
	struct stat before, after;
	int wst, pfd[2];
	pid_t pid;

	mail_init(&m, "Subject: a\n\nsmall\n");
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), 0);
	assert_int_equal(stat(path, &before), 0);
	big = malloc(200000);
	memset(big, 'x', 199999);
	big[199999] = '\0';
	mail_init(&m, big);
	assert_int_equal(pipe(pfd), 0);
	/* a write that fails half way: RLIMIT_FSIZE makes write() fail with
	 * EFBIG once the file passes 64 KiB, as a full disk would */
	if ((pid = fork()) == 0) {
		struct rlimit rl = { 65536, 65536 };

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		if (storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err) == 0)
			_exit(1);
		(void)write(pfd[1], &err, sizeof(err));
		_exit(0);
	}
	assert_int_equal(read(pfd[0], &err, sizeof(err)), (ssize_t)sizeof(err));
	waitpid(pid, &wst, 0);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	assert_string_equal(err.status, "5.2.2");
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	/* the size limit refuses before writing anything */
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 1000, NULL, &err), -1);
	assert_string_equal(err.status, "5.2.2");
	assert_false(storage_error_is_temporary(&err));
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	close(pfd[0]);
	close(pfd[1]);
	free(big);
	free(path);
}

static void
test_mbox_symlink_refused(void **state)
{
	struct storage_mail m;
	struct storage_error err;
	char *path = path_join(tmpdir, "link"), *target = path_join(tmpdir, "target");

	assert_int_equal(symlink(target, path), 0);
	mail_init(&m, "Subject: s\n\nx\n");
	assert_int_equal(storage_deliver(path, STORAGE_MBOX, &m, 0, NULL, &err), -1);
	assert_non_null(strstr(err.text, "symbolic link"));
	assert_int_equal(access(target, F_OK), -1);
	free(path);
	free(target);
}

static char *
maildir_path(void)
{
	struct str s;

	str_init(&s, 64);
	str_appendf(&s, "%s/Maildir/", tmpdir);
	return str_export(&s);
}

static void
test_maildir_layout_and_name(void **state)
{
	struct storage_mail m;
	struct storage_error err;
	char *path = maildir_path(), where[STORAGE_TEXT_SIZE], *p;
	struct str text;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int n = 0;

	(void)state;
	mail_init(&m, "Subject: m\r\n\r\nFrom x\r\n");
	assert_int_equal(storage_format_of(path), STORAGE_MAILDIR);
	assert_int_equal(storage_deliver(path, STORAGE_MAILDIR, &m, 0, where, &err), 0);
	p = strrchr(where, '/');
	assert_non_null(p);
	str_init(&text, 256);
	read_file(where, &text);
	/* no From_ line, no quoting in a Maildir */
	assert_string_equal(text.s, "Return-Path: <alice@example.org>\nSubject: m\n\nFrom x\n");
	{
		char want[64];

		snprintf(want, sizeof(want), ",S=%zu", text.len);
		assert_non_null(strstr(p, want));
		assert_non_null(strstr(p, ".M"));
		assert_non_null(strstr(p, "P"));
		assert_non_null(strstr(p, "Q"));
	}
	assert_non_null(strstr(where, "/new/"));
	str_deinit(&text);
	{
		char dirs[3][512];
		int i;

		snprintf(dirs[0], sizeof(dirs[0]), "%stmp", path);
		snprintf(dirs[1], sizeof(dirs[1]), "%snew", path);
		snprintf(dirs[2], sizeof(dirs[2]), "%scur", path);
		for (i = 0; i < 3; i++) {
			assert_int_equal(stat(dirs[i], &st), 0);
			assert_int_equal(st.st_mode & 0777, 0700);
		}
		d = opendir(dirs[0]);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		assert_int_equal(n, 0);	/* nothing left in tmp/ */
	}
	/* too big for the limit: refused, nothing left behind */
	assert_int_equal(storage_deliver(path, STORAGE_MAILDIR, &m, 10, NULL, &err), -1);
	assert_string_equal(err.status, "5.2.2");
	free(path);
}

/* count_entries - names in dir, dot files aside */
static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_maildir_many_one_batch(void **state)
{
	struct storage_mail m[3];
	struct storage_error err[3];
	char *path, *sub;
	struct str p;

	(void)state;
	str_init(&p, 64);
	str_appendf(&p, "%s/Batch/", tmpdir);
	path = str_export(&p);
	mail_init(&m[0], "Subject: one\r\n\r\nbody\r\n");
	mail_init(&m[1], "Subject: two, far too big for the limit\r\n\r\nbody body body\r\n");
	mail_init(&m[2], "Subject: three\r\n\r\nbody\r\n");
	/* the second alone fails (the limit), the others are stored */
	assert_int_equal(storage_maildir_deliver_many(path, m, 3, 60, err), 2);
	assert_string_equal(err[0].status, "");
	assert_string_equal(err[1].status, "5.2.2");
	assert_string_equal(err[2].status, "");
	sub = xasprintf("%snew", path);
	assert_int_equal(count_entries(sub), 2);
	free(sub);
	sub = xasprintf("%stmp", path);
	assert_int_equal(count_entries(sub), 0);
	free(sub);
	free(path);
}

static void
test_mbox_many_one_lock(void **state)
{
	struct storage_mail m[3];
	struct storage_error err[3];
	struct str text;
	char *path = xasprintf("%s/many.mbox", tmpdir), *lock = xasprintf("%s.lock", path);
	int fd;

	(void)state;
	mail_init(&m[0], "Subject: one\r\n\r\nbody\r\n");
	mail_init(&m[1], "Subject: two\r\n\r\nbody\r\n");
	mail_init(&m[2], "Subject: three\r\n\r\nbody\r\n");
	assert_int_equal(storage_mbox_deliver_many(path, m, 3, 0, err), 3);
	str_init(&text, 512);
	read_file(path, &text);
	assert_non_null(strstr(text.s, "Subject: one\n"));
	assert_true(strstr(text.s, "Subject: two\n") > strstr(text.s, "Subject: one\n"));
	assert_true(strstr(text.s, "Subject: three\n") > strstr(text.s, "Subject: two\n"));
	assert_int_equal(access(lock, F_OK), -1);
	/* a dot-lock held elsewhere: all of them wait (4.2.0), nothing written */
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(storage_mbox_deliver_many(path, m, 3, 0, err), 0);
	assert_string_equal(err[0].status, "4.2.0");
	assert_string_equal(err[2].status, "4.2.0");
	unlink(lock);
	str_reset(&text);
	read_file(path, &text);
	assert_null(strstr(strstr(text.s, "Subject: three\n"), "Subject: one\n"));
	str_deinit(&text);
	free(lock);
	free(path);
}

/* the unique name's pid part is the process's own, also in a child forked
 * after the parent made a name (the pid is looked up once per process) */
static void
test_maildir_name_pid_after_fork(void **state)
{
	struct str a, want;
	int fds[2], status;
	char buf[512];
	ssize_t n;
	pid_t pid;

	(void)state;
	str_init(&a, 64);
	str_init(&want, 32);
	storage_maildir_name(&a, 1);
	str_appendf(&want, "P%ldQ", (long)getpid());
	assert_non_null(strstr(a.s, want.s));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct str c;

		str_init(&c, 64);
		storage_maildir_name(&c, 1);
		(void)!write(fds[1], c.s, c.len);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(n > 0);
	buf[n] = '\0';
	str_reset(&want);
	str_appendf(&want, "P%ldQ", (long)pid);
	assert_non_null(strstr(buf, want.s));
	str_deinit(&a);
	str_deinit(&want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mbox_quoting_and_separator),
		cmocka_unit_test(test_mbox_dotlock_held_defers),
		cmocka_unit_test(test_mbox_stale_dotlock_is_removed),
		cmocka_unit_test(test_mbox_fcntl_lock_held_defers),
		cmocka_unit_test(test_mbox_write_error_truncates),
		cmocka_unit_test(test_mbox_symlink_refused),
		cmocka_unit_test(test_maildir_layout_and_name),
		cmocka_unit_test(test_maildir_name_pid_after_fork),
		cmocka_unit_test(test_maildir_many_one_batch),
		cmocka_unit_test(test_mbox_many_one_lock),
		cmocka_unit_test(test_mbox_first_only_in_first_message),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
