/* test_mem_idle.c - giving an idle process's memory back keeps every live
 * byte (the caller's stack, heap blocks in use) and does give the dead
 * stack pages back; mem_idle_poll still reports events and timeouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/mem_idle.h"

/* dirty - write 256 KiB of stack well below the caller, and say where */
static __attribute__((noinline)) void
dirty(uintptr_t *where)
{
	volatile char deep[256 * 1024];

	for (size_t i = 0; i < sizeof(deep); i += 512)
		deep[i] = (char)i;
	*where = (uintptr_t)&deep[0];
}

static bool
in_stack_mapping(uintptr_t a)
{
	unsigned char v;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	return mincore((void *)(a & ~(page - 1)), page, &v) == 0;
}

static void
test_release_keeps_live_data(void **state)
{
	char local[8192];
	char *blocks[64];
	uintptr_t deep, page = (uintptr_t)sysconf(_SC_PAGESIZE);
	unsigned char v = 1;

	(void)state;
	memset(local, 'L', sizeof(local));
	for (int i = 0; i < 64; i++) {
		blocks[i] = malloc(4000);
		memset(blocks[i], 'a' + i % 26, 4000);
	}
	/* a freed run in the middle of the heap, for malloc_trim to return */
	for (int i = 8; i < 56; i++) {
		free(blocks[i]);
		blocks[i] = NULL;
	}
	dirty(&deep);
	deep += 64 * 1024;
	mem_idle_release();
	for (size_t i = 0; i < sizeof(local); i++)
		assert_int_equal(local[i], 'L');
	for (int i = 0; i < 64; i++) {
		if (blocks[i] == NULL)
			continue;
		for (int j = 0; j < 4000; j++)
			assert_int_equal(blocks[i][j], 'a' + i % 26);
		free(blocks[i]);
	}
	/* the dead stack page is gone (only checked when that page is on the
	 * process stack: a sanitizer may keep frames elsewhere) */
	if (in_stack_mapping(deep) && deep < (uintptr_t)local - 64 * 1024) {
		assert_int_equal(mincore((void *)(deep & ~(page - 1)), page, &v), 0);
		assert_int_equal(v & 1, 0);
	}
}

static void
test_poll_sees_input_and_timeout(void **state)
{
	int sp[2];
	struct pollfd pfd;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	pfd.fd = sp[0];
	pfd.events = POLLIN;
	/* nothing comes: past the release delay, then the timeout */
	assert_int_equal(mem_idle_poll(&pfd, 1, MEM_IDLE_DELAY_MS + 100), 0);
	/* waiting input is seen at once, with and without a long timeout */
	assert_int_equal(write(sp[1], "x", 1), 1);
	assert_int_equal(mem_idle_poll(&pfd, 1, -1), 1);
	assert_true(pfd.revents & POLLIN);
	assert_int_equal(mem_idle_poll(&pfd, 1, 10), 1);
	close(sp[0]);
	close(sp[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_keeps_live_data),
		cmocka_unit_test(test_poll_sees_input_and_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
