/* mem_idle.h - give an idle connection process's spare memory back to the
 * kernel. A process that serves one connection keeps, while it waits, the
 * heap pages its last command freed (glibc trims the heap top only past
 * 128 KiB) and the stack pages its deepest call ever touched. With
 * hundreds of idle sessions that is most of their memory: before blocking
 * for long, return both. */
#ifndef YUBIN_MEM_IDLE_H
#define YUBIN_MEM_IDLE_H

#include <poll.h>

/* How long a wait lasts before mem_idle_poll gives the memory back: short
 * enough that an idle client costs little, long enough that a client
 * sending commands back to back never pays for it. */
#define MEM_IDLE_DELAY_MS	500

/* mem_idle_release - free heap pages (malloc_trim) and the stack pages
 * below the caller's frame (their contents are dead: they are only below
 * the stack pointer) */
void	 mem_idle_release(void);

/* mem_idle_poll - poll(2), except that after MEM_IDLE_DELAY_MS without an
 * event mem_idle_release runs once and the wait goes on to timeout_ms
 * (negative: forever). Returns what poll returns. */
int	 mem_idle_poll(struct pollfd *, nfds_t, int timeout_ms);

#endif
