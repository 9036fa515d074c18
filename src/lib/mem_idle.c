/* mem_idle.c - see mem_idle.h. Tests: tests/unit/lib/test_mem_idle.c;
 * the effect is measured by bench/imap-bench.sh (idle memory). */
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/mem_idle.h"

/* What stays untouched below our own frame: the frames of the calls made
 * from here (read, madvise: small) and the 128-byte red zone, with room
 * to spare. */
#define STACK_MARGIN	(16 * 1024)

/* stack_low - the lowest address of the main thread's stack mapping, from
 * /proc/self/maps ("lo-hi perms ... [stack]"); 0 when not found. Read
 * with a small buffer on the stack and no allocation: the heap has just
 * been trimmed. */
static uintptr_t
stack_low(void)
{
	char buf[1024];
	size_t len = 0;
	uintptr_t lo = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *line = buf, *nl;

		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (nl - line > 7 && strcmp(nl - 7, "[stack]") == 0) {
				lo = (uintptr_t)strtoull(line, NULL, 16);
				close(fd);
				return lo;
			}
			line = nl + 1;
		}
		/* keep the partial last line; a line longer than buf is dropped */
		len = strlen(line);
		if (len == sizeof(buf) - 1)
			len = 0;
		memmove(buf, line, len);
	}
	close(fd);
	return lo;
}

__attribute__((noinline)) void
mem_idle_release(void)
{
	volatile char here = 0;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo, hi;

	(void)malloc_trim(0);
	lo = stack_low();
	hi = ((uintptr_t)&here - STACK_MARGIN) & ~(page - 1);
	if (lo != 0 && lo < hi && (uintptr_t)&here - lo < 64u * 1024 * 1024)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
	(void)here;
}

int
mem_idle_poll(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	int r;

	if (timeout_ms >= 0 && timeout_ms <= MEM_IDLE_DELAY_MS)
		return poll(pfd, n, timeout_ms);
	r = poll(pfd, n, MEM_IDLE_DELAY_MS);
	if (r != 0)
		return r;
	mem_idle_release();
	return poll(pfd, n, timeout_ms < 0 ? -1 : timeout_ms - MEM_IDLE_DELAY_MS);
}
