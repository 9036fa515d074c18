/* mem.h - allocation that aborts on exhaustion.
 *
 * Running out of memory is not a condition any caller can handle usefully:
 * the master restarts the worker and the queue is on disk. So every
 * allocator here either succeeds or aborts, and callers never check. */
#ifndef YUBIN_MEM_H
#define YUBIN_MEM_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* xfree - free *p and set it to NULL; NULL-safe. */
#define XFREE(p) do { free(p); (p) = NULL; } while (0)

#endif
