/* test_supervise.c - a spawned service finds its sockets at fd 3 and 4
 * even when the master holds them in each other's slots, and the pid file
 * is held by one master at a time. */
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

#include "master/supervise.h"

static void
read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

static void
test_fds_land_in_place_even_when_swapped(void **state)
{
	int a[2], b[2], fds[2], status;
	char out_a[64], out_b[64];
	char *const argv[] = { "sh", "-c", "echo one >&3; echo two >&4; echo $SV_TEST >&3", NULL };
	const char *const env[] = { "SV_TEST", "set", NULL };
	pid_t pid;

	/* slots 3 and 4 taken first, so that the pipes land above them */
	(void)open("/dev/null", O_RDONLY | O_CLOEXEC);
	(void)open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	assert_true(a[0] > 4 && b[0] > 4);
	/* the first socket sits in slot 4, the second in slot 3 */
	assert_int_equal(dup3(a[1], 4, O_CLOEXEC), 4);
	assert_int_equal(dup3(b[1], 3, O_CLOEXEC), 3);
	close(a[1]);
	close(b[1]);
	fds[0] = 4;
	fds[1] = 3;
	pid = supervise_spawn("/bin/sh", argv, fds, 2, env);
	assert_true(pid > 0);
	close(3);
	close(4);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	read_all(a[0], out_a, sizeof(out_a));
	read_all(b[0], out_b, sizeof(out_b));
	assert_string_equal(out_a, "one\nset\n");
	assert_string_equal(out_b, "two\n");
	close(a[0]);
	close(b[0]);
}

static void
test_pidfile_held_by_one(void **state)
{
	char path[] = "/tmp/test_supervise.XXXXXX", buf[32];
	int tmp = mkstemp(path), fd, again;

	assert_true(tmp >= 0);
	close(tmp);
	fd = supervise_pidfile(path, true);
	assert_true(fd >= 0);
	/* a second open file description is refused while the first holds it */
	again = supervise_pidfile(path, false);
	assert_int_equal(again, -1);
	assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), 11);
	buf[11] = '\0';
	assert_int_equal(atol(buf), (long)getpid());
	assert_int_equal(buf[0], ' ');
	close(fd);
	fd = supervise_pidfile(path, false);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fds_land_in_place_even_when_swapped),
		cmocka_unit_test(test_pidfile_held_by_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
