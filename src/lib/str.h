/* str.h - owned, growable, NUL-terminated, binary-safe string.
 *
 * The struct never moves; s->s may move on growth, so do not keep it across
 * appends. With max set (for untrusted input), an append that would pass
 * max is dropped and the sticky overflow flag is set: parsers check once at
 * the end of a line instead of after every append. */
#ifndef YUBIN_STR_H
#define YUBIN_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct str {
	char	*s;		/* owned; always NUL-terminated */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* 0 = unbounded */
	bool	 overflow;	/* sticky: an append hit max and was dropped */
};

void	 str_init(struct str *, size_t hint);
void	 str_deinit(struct str *);
struct str *str_new(size_t hint);
void	 str_free(struct str **);
void	 str_append(struct str *, const char *);
void	 str_append_n(struct str *, const void *, size_t);
void	 str_append_c(struct str *, int);
void	 str_appendf(struct str *, const char *, ...) __attribute__((format(printf, 2, 3)));
void	 str_vappendf(struct str *, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	 str_truncate(struct str *, size_t);
void	 str_reset(struct str *);
/* str_export - hand the buffer to the caller and reset the string. */
char	*str_export(struct str *);

#endif
