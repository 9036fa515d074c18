/* test_smtpd_wake.c - smtpd's wake-up of the queue manager: one byte into
 * public/qmgr per message through a FIFO kept open between messages, and
 * still delivered after the queue manager's end of it closes and opens
 * again (a restart) and after the FIFO is made anew. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smtpd/smtpd.h"

/* wakes_read - the bytes waiting in the FIFO (non-blocking reader) */
static int
wakes_read(int rfd)
{
	char buf[64];
	ssize_t n = read(rfd, buf, sizeof(buf));

	return n < 0 ? 0 : (int)n;
}

static void
test_wake_kept_open_and_reopened(void **state)
{
	char dir[] = "/tmp/test_smtpd_wake.XXXXXX", pub[128], fifo[160];
	int rfd;

	(void)state;
	signal(SIGPIPE, SIG_IGN);	/* as smtpd.c */
	assert_non_null(mkdtemp(dir));
	snprintf(pub, sizeof(pub), "%s/public", dir);
	snprintf(fifo, sizeof(fifo), "%s/qmgr", pub);
	assert_int_equal(mkdir(pub, 0700), 0);
	/* no FIFO, then no reader: nothing happens, nothing breaks */
	smtpd_msg_wake_qmgr(dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	smtpd_msg_wake_qmgr(dir);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	smtpd_msg_wake_qmgr(dir);
	smtpd_msg_wake_qmgr(dir);
	assert_int_equal(wakes_read(rfd), 2);
	/* the reader goes away and comes back (a queue manager restart):
	 * the write that finds no reader reopens and still wakes it */
	close(rfd);
	smtpd_msg_wake_qmgr(dir);	/* no reader: dropped */
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	smtpd_msg_wake_qmgr(dir);
	assert_int_equal(wakes_read(rfd), 1);
	/* the FIFO made anew, the old one without a reader */
	close(rfd);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	smtpd_msg_wake_qmgr(dir);
	assert_int_equal(wakes_read(rfd), 1);
	close(rfd);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(rmdir(pub), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wake_kept_open_and_reopened),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
