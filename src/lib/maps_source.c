/* maps_source.c - Postfix's table source format (postmap(1), aliases(5)),
 * shared by postmap, postalias, newaliases and texthash: (see maps.h).
 *
 * Logical lines follow Postfix's readlline(): "#" lines and blank lines are
 * dropped wherever they are, a line that starts with white space continues
 * the logical line (joined without the newline, its white space kept), and
 * a continuation with nothing to continue is warned about and skipped.
 * Warnings name the first physical line of the logical line.
 * Tests: tests/unit/lib/test_maps.c, fuzz/fuzz_maps_source.c */
#include "lib/maps-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"

struct source {
	const char	*path;
	const char	*p, *end;	/* unread input */
	int		 lineno;	/* physical lines read */
	int		 warnings;
};

static bool
is_blank_or_comment(const char *p, const char *eol)
{
	while (p < eol && isspace((unsigned char)*p))
		p++;
	return p == eol || *p == '#';
}

/* next_logical - one logical line into buf; false at the end of input.
 * *first_r is the physical line it starts on. */
static bool
next_logical(struct source *src, struct str *buf, int *first_r)
{
	for (;;) {
		bool have = false, too_long = false;

		str_reset(buf);
		while (src->p < src->end) {
			const char *eol = memchr(src->p, '\n', (size_t)(src->end - src->p));
			const char *next;

			if (eol == NULL)
				eol = src->end;
			next = eol < src->end ? eol + 1 : eol;
			if (is_blank_or_comment(src->p, eol)) {
				src->lineno++;
				src->p = next;
				continue;
			}
			if (have && !isspace((unsigned char)*src->p))
				break;		/* the next logical line starts here */
			src->lineno++;
			if (!have)
				*first_r = src->lineno;
			have = true;
			if (buf->len + (size_t)(eol - src->p) > MAPS_LINE_MAX)
				too_long = true;
			else
				str_append_n(buf, src->p, (size_t)(eol - src->p));
			src->p = next;
		}
		if (!have)
			return false;
		if (too_long) {
			log_warn("%s, line %d: logical line is longer than %lu bytes: skipping it",
			    src->path, *first_r, (unsigned long)MAPS_LINE_MAX);
			src->warnings++;
			continue;
		}
		if (isspace((unsigned char)buf->s[0])) {
			log_warn("%s: logical line must not start with whitespace: \"%.30s%s\"",
			    src->path, buf->s, strlen(buf->s) > 30 ? "..." : "");
			src->warnings++;
			continue;
		}
		/* An embedded NUL ends the line, as in Postfix's C strings. */
		buf->len = strlen(buf->s);
		return true;
	}
}

static void
trim_right(struct str *s)
{
	while (s->len > 0 && isspace((unsigned char)s->s[s->len - 1]))
		s->s[--s->len] = '\0';
}

/* parse_postmap_line - "key whitespace value" */
static int
parse_postmap_line(struct source *src, struct str *line, int lineno, int flags,
    maps_source_fn *fn, void *ctx)
{
	char *key = line->s, *value;

	trim_right(line);
	value = key + strcspn(key, " \t\r\n\v\f");
	if (*value != '\0')
		*value++ = '\0';
	while (isspace((unsigned char)*value))
		value++;
	if (*key == '\0' || *value == '\0') {
		log_warn("%s, line %d: expected format: key whitespace value", src->path, lineno);
		src->warnings++;
		return 0;
	}
	if (key[strlen(key) - 1] == ':') {
		log_warn("%s, line %d: record is in \"key: value\" format; is this an alias file?",
		    src->path, lineno);
		src->warnings++;
	}
	if (!(flags & MAPS_FLAG_NO_FOLD))
		maps_fold(key);
	return fn(ctx, key, value, lineno);
}

/* RFC 822 tokens of an aliases line, as Postfix's tok822 sees them. */
enum tok_type {
	TOK_ATOM,
	TOK_QSTRING,
	TOK_COMMENT,
	TOK_DLITERAL,
	TOK_SPECIAL,
};

struct tok {
	enum tok_type	 type;
	char		 special;	/* TOK_SPECIAL */
	size_t		 start, len;	/* internal text in the token buffer */
};

#define ALIAS_SPECIALS "()<>@,;:\\\".[]|%!"
#define ALIAS_TOKENS_MAX 100000

static bool
tok_is_word(const struct tok *t)
{
	return t->type != TOK_SPECIAL;
}

/* tokenize - split s into tokens; internal texts go to text */
static size_t
tokenize(const char *s, struct tok **toks_r, size_t *cap_r, struct str *text)
{
	size_t n = 0;

	str_reset(text);
	while (*s != '\0' && n < ALIAS_TOKENS_MAX) {
		struct tok t;

		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		t.start = text->len;
		t.special = 0;
		if (*s == '"') {
			t.type = TOK_QSTRING;
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				str_append_c(text, *s);
			}
			if (*s == '"')
				s++;
		} else if (*s == '(') {
			int depth = 0;

			t.type = TOK_COMMENT;
			for (; *s != '\0'; s++) {
				if (*s == '\\' && s[1] != '\0') {
					str_append_c(text, *s++);
				} else if (*s == '(') {
					depth++;
				} else if (*s == ')' && --depth == 0) {
					str_append_c(text, *s++);
					break;
				}
				str_append_c(text, *s);
			}
		} else if (*s == '[') {
			t.type = TOK_DLITERAL;
			for (; *s != '\0'; s++) {
				str_append_c(text, *s);
				if (*s == ']') {
					s++;
					break;
				}
			}
		} else if (strchr(ALIAS_SPECIALS, *s) != NULL && *s != '\\') {
			t.type = TOK_SPECIAL;
			t.special = *s;
			str_append_c(text, *s++);
		} else {
			t.type = TOK_ATOM;
			while (*s != '\0' && !isspace((unsigned char)*s) &&
			    (strchr(ALIAS_SPECIALS, *s) == NULL || *s == '\\')) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				str_append_c(text, *s++);
			}
		}
		t.len = text->len - t.start;
		str_append_c(text, '\0');
		if (n == *cap_r) {
			*cap_r = *cap_r ? *cap_r * 2 : 32;
			*toks_r = xreallocarray(*toks_r, *cap_r, sizeof(**toks_r));
		}
		(*toks_r)[n++] = t;
	}
	return n;
}

/* atom_needs_quotes - text that would not read back as one atom */
static bool
atom_needs_quotes(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 127 || strchr(ALIAS_SPECIALS, c) != NULL)
			return true;
	}
	return false;
}

static void
append_quoted(struct str *out, const char *s, size_t len)
{
	size_t i;

	str_append_c(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			str_append_c(out, '\\');
		str_append_c(out, s[i]);
	}
	str_append_c(out, '"');
}

/* render - tokens [from, to) as Postfix writes them: words apart by one
 * space, ", " after commas, nothing around other specials; external form
 * quotes what needs it, internal form (keys) does not */
static void
render(const struct tok *toks, size_t from, size_t to, const struct str *text, bool external,
    struct str *out)
{
	size_t i;

	str_reset(out);
	for (i = from; i < to; i++) {
		const struct tok *t = &toks[i];
		const char *s = text->s + t->start;

		if (i > from) {
			const struct tok *prev = &toks[i - 1];

			if ((prev->type == TOK_SPECIAL && prev->special == ',') ||
			    (tok_is_word(prev) && (tok_is_word(t) ||
			    (t->type == TOK_SPECIAL && t->special == '<'))))
				str_append_c(out, ' ');
		}
		if (external && (t->type == TOK_QSTRING ||
		    (t->type == TOK_ATOM && atom_needs_quotes(s, t->len))))
			append_quoted(out, s, t->len);
		else
			str_append_n(out, s, t->len);
	}
}

/* parse_alias_line - "name: value, value" */
static int
parse_alias_line(struct source *src, struct str *line, int lineno, int flags,
    maps_source_fn *fn, void *ctx)
{
	struct tok *toks = NULL;
	size_t cap = 0, n, i, colon = (size_t)-1;
	struct str text, key, value;
	int ret = 0;

	str_init(&text, line->len + 16);
	str_init(&key, 64);
	str_init(&value, line->len + 16);
	n = tokenize(line->s, &toks, &cap, &text);
	for (i = 0; i < n; i++) {
		if (toks[i].type == TOK_SPECIAL && toks[i].special == ':') {
			colon = i;
			break;
		}
	}
	if (colon == (size_t)-1 || colon == 0 || colon + 1 >= n) {
		log_warn("%s, line %d: need name:value pair", src->path, lineno);
		src->warnings++;
		goto out;
	}
	for (i = 0; i < colon; i++) {
		if (toks[i].type == TOK_SPECIAL && toks[i].special == ',') {
			log_warn("%s, line %d: need name:value pair", src->path, lineno);
			src->warnings++;
			goto out;
		}
	}
	for (i = 0; i < colon; i++) {
		if (toks[i].type == TOK_SPECIAL && (toks[i].special == '@' ||
		    toks[i].special == '%')) {
			log_warn("%s, line %d: name must be local", src->path, lineno);
			src->warnings++;
			goto out;
		}
	}
	render(toks, 0, colon, &text, false, &key);
	render(toks, colon + 1, n, &text, true, &value);
	if (key.len == 0 || value.len == 0 || strlen(key.s) != key.len) {
		log_warn("%s, line %d: need name:value pair", src->path, lineno);
		src->warnings++;
		goto out;
	}
	if (!(flags & MAPS_FLAG_NO_FOLD))
		maps_fold(key.s);
	ret = fn(ctx, key.s, value.s, lineno);
out:
	free(toks);
	str_deinit(&text);
	str_deinit(&key);
	str_deinit(&value);
	return ret;
}

int
maps_source_lines(const char *path, const char *text, size_t len, maps_line_fn *fn, void *ctx)
{
	struct source src = { path, text, text + len, 0, 0 };
	struct str line;
	int lineno = 0;

	str_init(&line, 256);
	while (next_logical(&src, &line, &lineno)) {
		if (fn(ctx, &line, lineno) != 0) {
			str_deinit(&line);
			return -1;
		}
	}
	str_deinit(&line);
	return src.warnings;
}

struct parse_ctx {
	const char		*path;
	enum maps_source_format	 format;
	int			 flags;
	int			 warnings;
	maps_source_fn		*fn;
	void			*ctx;
};

static int
parse_line(void *ctx, struct str *line, int lineno)
{
	struct parse_ctx *pc = ctx;
	struct source src = { pc->path, NULL, NULL, 0, 0 };
	int r;

	if (pc->format == MAPS_SOURCE_ALIASES)
		r = parse_alias_line(&src, line, lineno, pc->flags, pc->fn, pc->ctx);
	else
		r = parse_postmap_line(&src, line, lineno, pc->flags, pc->fn, pc->ctx);
	pc->warnings += src.warnings;
	return r;
}

int
maps_source_parse(const char *path, const char *text, size_t len,
    enum maps_source_format format, int flags, maps_source_fn *fn, void *ctx)
{
	struct parse_ctx pc = { path, format, flags, 0, fn, ctx };
	int r;

	if ((r = maps_source_lines(path, text, len, parse_line, &pc)) < 0)
		return -1;
	return r + pc.warnings;
}
