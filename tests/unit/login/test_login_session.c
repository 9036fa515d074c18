/* test_login_session.c - the session registry's files: a session's file
 * and its .userip entry share one inode (a hard link), an ended
 * session's file is kept as a spare that the next session renames in (no
 * new inode), mail_max_userip_connections counts live sessions only,
 * pruning removes emptied .userip directories and trims the spares; a
 * hibernated client's entry ("PID.ID") moves with its index entry, is
 * counted while PID lives and goes with PID (login_session_drop_holder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "login/login.h"

static char dir[64];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_login_session.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* entries - the names in path (not . and ..) */
static int
entries(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* the only .userip directory's path */
static void
userip_dir(char *out, size_t size)
{
	char top[128];
	struct dirent *de;
	DIR *d;

	snprintf(top, sizeof(top), "%s/.userip", dir);
	d = opendir(top);
	assert_non_null(d);
	out[0] = '\0';
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			snprintf(out, size, "%s/%s", top, de->d_name);
	closedir(d);
	assert_true(out[0] != '\0');
}

static void
test_entry_is_a_link_and_files_are_reused(void **state)
{
	char path[128], entry[700], udir[600], spare[128];
	struct stat st, est, sst;
	long me = (long)getpid();

	assert_int_equal(login_session_register(dir, 0, "alice", "imap", "127.0.0.1",
	    "127.0.0.1", "sess1"), 0);
	snprintf(path, sizeof(path), "%s/%ld", dir, me);
	assert_int_equal(stat(path, &st), 0);
	userip_dir(udir, sizeof(udir));
	snprintf(entry, sizeof(entry), "%s/%ld", udir, me);
	assert_int_equal(stat(entry, &est), 0);
	assert_true(st.st_ino == est.st_ino && st.st_nlink == 2);

	/* ended: the entry goes, the file becomes the spare ID me */
	assert_true(login_session_retire(dir, me));
	assert_int_equal(stat(path, &sst), -1);
	assert_int_equal(stat(entry, &sst), -1);
	snprintf(spare, sizeof(spare), "%s/.spare/%ld", dir, me);
	assert_int_equal(stat(spare, &sst), 0);
	assert_true(sst.st_ino == st.st_ino && sst.st_nlink == 1);
	/* the directory stays for the user's next login */
	assert_int_equal(entries(udir), 0);

	/* the next session writes into the spare: same inode, new text */
	assert_int_equal(login_session_register(dir, 0, "bob", "pop3", "127.0.0.2",
	    "127.0.0.1", "sess2"), 0);
	assert_int_equal(stat(path, &sst), 0);
	assert_true(sst.st_ino == st.st_ino);
	assert_int_equal(stat(spare, &est), -1);
	{
		char buf[128] = "";
		FILE *f = fopen(path, "r");

		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "bob\tpop3\t127.0.0.2\t127.0.0.1\tsess2\n");
	}
	/* alice's longer text cut off after it */
	assert_int_equal(sst.st_size, strlen("bob\tpop3\t127.0.0.2\t127.0.0.1\tsess2\n"));
	/* without a spare, a new file */
	login_session_unregister(dir, me);
	assert_int_equal(stat(path, &sst), -1);
	snprintf(udir, sizeof(udir), "%s/.spare", dir);
	assert_int_equal(entries(udir), 0);
	assert_int_equal(login_session_register(dir, 0, "bob", "pop3", "127.0.0.2",
	    "127.0.0.1", "sess3"), 0);
	assert_int_equal(stat(path, &sst), 0);
	login_session_unregister(dir, me);

	/* pruning removes the emptied directories */
	login_session_prune(dir);
	snprintf(udir, sizeof(udir), "%s/.userip", dir);
	assert_int_equal(entries(udir), 0);
}

static void
test_prune_trims_spares(void **state)
{
	char spare[128];

	snprintf(spare, sizeof(spare), "%s/.spare", dir);
	assert_int_equal(mkdir(spare, 0755), 0);
	for (int i = 0; i < 100; i++) {
		FILE *f;

		snprintf(spare, sizeof(spare), "%s/.spare/%d", dir, 1000 + i);
		f = fopen(spare, "w");
		assert_non_null(f);
		fclose(f);
	}
	login_session_prune(dir);
	snprintf(spare, sizeof(spare), "%s/.spare", dir);
	assert_int_equal(entries(spare), 64);
}

static void
test_userip_limit_counts_live_sessions(void **state)
{
	int fds[2];
	pid_t child;
	char c;

	/* a live session of alice from 127.0.0.1 in another process */
	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(fds[0]);
		if (login_session_register(dir, 1, "alice", "imap", "127.0.0.1", "127.0.0.1",
		    "s") != 0)
			_exit(1);
		(void)!write(fds[1], "x", 1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	/* the limit of one is reached for alice, not for alice elsewhere */
	assert_int_equal(login_session_register(dir, 1, "alice", "imap", "127.0.0.1",
	    "127.0.0.1", "t"), -1);
	assert_int_equal(login_session_register(dir, 1, "alice", "imap", "127.0.0.9",
	    "127.0.0.1", "t"), 0);
	login_session_unregister(dir, (long)getpid());
	/* its process gone (and never reaped as a session): not counted */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(login_session_register(dir, 1, "alice", "imap", "127.0.0.1",
	    "127.0.0.1", "t"), 0);
	login_session_unregister(dir, (long)getpid());
}

/* link_count - the entry's link count, -1 when it is not there */
static long
link_count(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (long)st.st_nlink : -1;
}

static void
test_hibernated_entries_move_count_and_go(void **state)
{
	char me[24], hib[48], udir[600], entry[700];
	struct stat st;
	int fds[2];
	pid_t child;
	char c;

	/* entries "PID.ID" count while PID is the hibernate process */
	char comm[32] = "";

	assert_int_equal(prctl(PR_GET_NAME, comm, 0, 0, 0), 0);
	assert_int_equal(prctl(PR_SET_NAME, LOGIN_SESSION_HOLDER, 0, 0, 0), 0);
	snprintf(me, sizeof(me), "%ld", (long)getpid());
	snprintf(hib, sizeof(hib), "%ld.7", (long)getpid());
	assert_int_equal(login_session_register(dir, 1, "alice", "imap", "127.0.0.1",
	    "127.0.0.1", "s"), 0);
	/* hibernated: the file and its index entry under the new name */
	assert_int_equal(login_session_move(dir, me, hib, false, NULL, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(link_count(me), -1);
	assert_int_equal(link_count(hib), 2);
	userip_dir(udir, sizeof(udir));
	assert_int_equal(entries(udir), 1);
	snprintf(entry, sizeof(entry), "%s/%s", udir, hib);
	assert_int_equal(stat(entry, &st), 0);
	assert_true(login_session_exists(dir, hib));
	/* counted: the limit of one is reached */
	assert_int_equal(login_session_register(dir, 1, "alice", "imap", "127.0.0.1",
	    "127.0.0.1", "t"), -1);
	/* restored: back under a pid, still one entry */
	assert_int_equal(login_session_move(dir, hib, me, false, NULL, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(link_count(hib), -1);
	assert_int_equal(link_count(me), 2);
	assert_int_equal(entries(udir), 1);
	/* a kicked entry is not there to take over */
	assert_int_equal(login_session_move(dir, me, hib, false, NULL, NULL, NULL, NULL, NULL), 0);
	assert_true(login_session_remove(dir, hib));
	assert_false(login_session_remove(dir, hib));
	assert_false(login_session_exists(dir, hib));
	assert_int_equal(entries(udir), 0);
	assert_int_equal(login_session_move(dir, hib, me, false, NULL, NULL, NULL, NULL, NULL), -1);
	assert_int_equal(link_count(me), -1);
	/* nothing to move from: written anew from the fields */
	assert_int_equal(login_session_move(dir, me, hib, true, "alice", "imap", "127.0.0.1",
	    "127.0.0.1", "s"), 0);
	assert_int_equal(link_count(hib), 2);
	assert_true(login_session_remove(dir, hib));

	/* the entries of a holder that ends: counted while it lives, and
	 * login_session_drop_holder removes them */
	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(fds[0]);
		(void)!write(fds[1], "x", 1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	snprintf(hib, sizeof(hib), "%ld.1", (long)child);
	assert_int_equal(login_session_move(dir, "none", hib, true, "alice", "imap",
	    "127.0.0.1", "127.0.0.1", "a"), 0);
	snprintf(hib, sizeof(hib), "%ld.2", (long)child);
	assert_int_equal(login_session_move(dir, "none", hib, true, "bob", "imap",
	    "127.0.0.1", "127.0.0.1", "b"), 0);
	assert_int_equal(login_session_register(dir, 1, "alice", "imap", "127.0.0.1",
	    "127.0.0.1", "t"), -1);
	/* a live process of another name under that pid (the holder ended
	 * unseen, its pid taken): the entries are not counted */
	assert_int_equal(prctl(PR_SET_NAME, comm, 0, 0, 0), 0);
	snprintf(hib, sizeof(hib), "%ld.3", (long)getpid());
	assert_int_equal(login_session_move(dir, "none", hib, true, "carol", "imap",
	    "127.0.0.1", "127.0.0.1", "c"), 0);
	assert_false(login_session_alive(hib));
	assert_int_equal(login_session_register(dir, 1, "carol", "imap", "127.0.0.1",
	    "127.0.0.1", "t"), 0);
	assert_int_equal(link_count(hib), -1);	/* removed where it was found */
	login_session_unregister(dir, (long)getpid());
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	login_session_drop_holder(dir, (long)child);
	assert_int_equal(link_count(hib), -1);
	snprintf(hib, sizeof(hib), "%ld.1", (long)child);
	assert_int_equal(link_count(hib), -1);
	assert_int_equal(login_session_register(dir, 1, "alice", "imap", "127.0.0.1",
	    "127.0.0.1", "t"), 0);
	login_session_unregister(dir, (long)getpid());
	assert_int_equal(entries(dir), 2);	/* .lock and .userip */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entry_is_a_link_and_files_are_reused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_userip_limit_counts_live_sessions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prune_trims_spares, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hibernated_entries_move_count_and_go, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
