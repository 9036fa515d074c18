/* str.c - growable string (see str.h). Tests: tests/unit/lib/test_str.c */
#include "lib/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

void
str_init(struct str *s, size_t hint)
{
	s->cap = hint < 16 ? 16 : hint;
	s->s = xmalloc(s->cap);
	s->s[0] = '\0';
	s->len = 0;
	s->max = 0;
	s->overflow = false;
}

void
str_deinit(struct str *s)
{
	XFREE(s->s);
	s->len = s->cap = 0;
}

struct str *
str_new(size_t hint)
{
	struct str *s = xmalloc(sizeof(*s));

	str_init(s, hint);
	return s;
}

void
str_free(struct str **sp)
{
	if (*sp == NULL)
		return;
	str_deinit(*sp);
	XFREE(*sp);
}

/* str_room - make room for n more bytes plus the NUL; false if max forbids */
static bool
str_room(struct str *s, size_t n)
{
	size_t need;

	if (s->s == NULL)
		str_init(s, n + 1);
	if (s->max != 0 && (n > s->max || s->len > s->max - n)) {
		s->overflow = true;
		return false;
	}
	need = s->len + n + 1;
	if (need > s->cap) {
		size_t cap = s->cap * 2;

		if (cap < need)
			cap = need;
		s->s = xrealloc(s->s, cap);
		s->cap = cap;
	}
	return true;
}

void
str_append_n(struct str *s, const void *p, size_t n)
{
	if (!str_room(s, n))
		return;
	memcpy(s->s + s->len, p, n);
	s->len += n;
	s->s[s->len] = '\0';
}

void
str_append(struct str *s, const char *p)
{
	str_append_n(s, p, strlen(p));
}

void
str_append_c(struct str *s, int c)
{
	char ch = (char)c;

	str_append_n(s, &ch, 1);
}

void
str_vappendf(struct str *s, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !str_room(s, (size_t)n))
		return;
	vsnprintf(s->s + s->len, (size_t)n + 1, fmt, ap);
	s->len += (size_t)n;
}

void
str_appendf(struct str *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vappendf(s, fmt, ap);
	va_end(ap);
}

void
str_truncate(struct str *s, size_t len)
{
	if (s->s != NULL && len < s->len) {
		s->len = len;
		s->s[len] = '\0';
	}
}

void
str_reset(struct str *s)
{
	str_truncate(s, 0);
	s->overflow = false;
}

char *
str_export(struct str *s)
{
	char *p = s->s;

	if (p == NULL)
		p = xstrdup("");
	s->s = NULL;
	s->len = s->cap = 0;
	s->overflow = false;
	return p;
}
