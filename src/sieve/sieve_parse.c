/* sieve_parse.c - the Sieve lexer and parser (RFC 5228 section 8): tokens,
 * quoted and multi-line strings, numbers with K/M/G, bracket and hash
 * comments, into a tree of commands, arguments, tests and blocks. Script
 * text is outside input: lengths are bounded by the script size limit,
 * nesting by max_nesting, string lists by max_strlist; every error names
 * the line and column. Tests: tests/unit/sieve/test_sieve.c,
 * fuzz/fuzz_sieve_parse.c */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "sieve/sieve-private.h"

enum tok { T_EOF, T_IDENT, T_TAG, T_NUM, T_STR, T_LBRACKET, T_RBRACKET, T_LPAREN,
	T_RPAREN, T_LBRACE, T_RBRACE, T_COMMA, T_SEMI, T_ERR };

struct lexer {
	const char *p, *end;
	unsigned line, col;
	const struct sieve_limits *lim;
	struct sv_errs *errs;
	/* current token */
	enum tok t;
	unsigned tline, tcol;
	struct str text;	/* identifier, tag or string */
	uint64_t num;
	unsigned depth;
};

/* sv_error - "NAME: line N: error: TEXT (column C)." one line each */
void
sv_error(struct sv_errs *e, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	e->count++;
	if (e->out == NULL || (e->max > 0 && e->count > e->max))
		return;
	if (line > 0)
		str_appendf(e->out, "%s: line %u: error: ", e->name, line);
	else
		str_appendf(e->out, "%s: error: ", e->name);
	va_start(ap, fmt);
	str_vappendf(e->out, fmt, ap);
	va_end(ap);
	/* Pigeonhole's messages end with a period; the column goes before it */
	if (e->out->len > 0 && e->out->s[e->out->len - 1] == '.')
		str_truncate(e->out, e->out->len - 1);
	if (col > 0)
		str_appendf(e->out, " (column %u)", col);
	str_append(e->out, ".\n");
}

void
sv_warning(struct sv_errs *e, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (e->out == NULL)
		return;
	str_appendf(e->out, "%s: line %u: warning: ", e->name, line);
	va_start(ap, fmt);
	str_vappendf(e->out, fmt, ap);
	va_end(ap);
	str_append(e->out, ".\n");	/* Pigeonhole's warnings end in a full stop */
}

static void
lx_adv(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else
		lx->col++;
	lx->p++;
}

static void
lx_printable(char c, char out[8])
{
	if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		out[0] = c, out[1] = 0;
	else
		snprintf(out, 8, "\\x%02x", (unsigned char)c);
}

/* lx_multiline - after "text:": optional white space or a hash comment,
 * a line end, then lines up to "." alone; ".." at a line start is "." */
static bool
lx_multiline(struct lexer *lx)
{
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		lx_adv(lx);
	if (lx->p < lx->end && *lx->p == '#')
		while (lx->p < lx->end && *lx->p != '\n')
			lx_adv(lx);
	if (lx->p < lx->end && *lx->p == '\r')
		lx_adv(lx);
	if (lx->p >= lx->end || *lx->p != '\n') {
		sv_error(lx->errs, lx->line, lx->col, "invalid character after 'text:' "
		    "(only white space and a comment may follow on that line)");
		return false;
	}
	lx_adv(lx);
	for (;;) {
		const char *nl;
		size_t n;

		if (lx->p >= lx->end) {
			sv_error(lx->errs, lx->tline, lx->tcol,
			    "unterminated multi-line string (no '.' line before the end)");
			return false;
		}
		nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
		n = nl != NULL ? (size_t)(nl - lx->p) : (size_t)(lx->end - lx->p);
		if ((n == 1 && lx->p[0] == '.') || (n == 2 && lx->p[0] == '.' && lx->p[1] == '\r')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx_adv(lx);
			if (lx->p < lx->end)
				lx_adv(lx);
			return true;
		}
		if (n > 0 && lx->p[0] == '.' && n > 1 && lx->p[1] == '.')
			lx_adv(lx), n--;
		/* the line with CRLF as its end, as RFC 5228 2.4.2 has it */
		if (n > 0 && lx->p[n - 1] == '\r')
			str_append_n(&lx->text, lx->p, n - 1);
		else
			str_append_n(&lx->text, lx->p, n);
		if (nl != NULL)
			str_append(&lx->text, "\r\n");
		while (lx->p < lx->end && *lx->p != '\n')
			lx_adv(lx);
		if (lx->p < lx->end)
			lx_adv(lx);
	}
}

static enum tok
lx_next(struct lexer *lx)
{
	char c, pc[8];

	str_reset(&lx->text);
	for (;;) {
		if (lx->p >= lx->end) {
			lx->tline = lx->line;
			lx->tcol = lx->col;
			return lx->t = T_EOF;
		}
		c = *lx->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			lx_adv(lx);
		else if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx_adv(lx);
		} else if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			unsigned l = lx->line, cl = lx->col;

			lx_adv(lx), lx_adv(lx);
			while (lx->p + 1 < lx->end && !(lx->p[0] == '*' && lx->p[1] == '/'))
				lx_adv(lx);
			if (lx->p + 1 >= lx->end) {
				while (lx->p < lx->end)
					lx_adv(lx);
				(void)cl;
				sv_error(lx->errs, lx->line, lx->col, "end of file before end of bracket "
				    "comment started at line %u", l);
				return lx->t = T_ERR;
			}
			lx_adv(lx), lx_adv(lx);
		} else
			break;
	}
	lx->tline = lx->line;
	lx->tcol = lx->col;
	switch (c) {
	case '[': lx_adv(lx); return lx->t = T_LBRACKET;
	case ']': lx_adv(lx); return lx->t = T_RBRACKET;
	case '(': lx_adv(lx); return lx->t = T_LPAREN;
	case ')': lx_adv(lx); return lx->t = T_RPAREN;
	case '{': lx_adv(lx); return lx->t = T_LBRACE;
	case '}': lx_adv(lx); return lx->t = T_RBRACE;
	case ',': lx_adv(lx); return lx->t = T_COMMA;
	case ';': lx_adv(lx); return lx->t = T_SEMI;
	case '"':
		lx_adv(lx);
		for (;;) {
			if (lx->p >= lx->end) {
				sv_error(lx->errs, lx->line, lx->col, "end of file before end of quoted string "
				    "started at line %u", lx->tline);
				return lx->t = T_ERR;
			}
			c = *lx->p;
			if (c == '"') {
				lx_adv(lx);
				return lx->t = T_STR;
			}
			if (c == '\\') {
				lx_adv(lx);
				if (lx->p >= lx->end)
					continue;
				c = *lx->p;
			}
			/* a bare LF inside a string stands for CRLF (2.4.2) */
			if (c == '\n' && (lx->text.len == 0 || lx->text.s[lx->text.len - 1] != '\r'))
				str_append_c(&lx->text, '\r');
			str_append_c(&lx->text, c);
			lx_adv(lx);
		}
	case ':':
		lx_adv(lx);
		if (lx->p >= lx->end || !(isalpha((unsigned char)*lx->p) || *lx->p == '_')) {
			sv_error(lx->errs, lx->tline, lx->tcol, "a tag needs a name after ':'");
			return lx->t = T_ERR;
		}
		str_append_c(&lx->text, ':');
		while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_')) {
			str_append_c(&lx->text, tolower((unsigned char)*lx->p));
			lx_adv(lx);
		}
		return lx->t = T_TAG;
	default:
		break;
	}
	if (isdigit((unsigned char)c)) {
		uint64_t v = 0;
		bool over = false;

		while (lx->p < lx->end && isdigit((unsigned char)*lx->p)) {
			if (v > (UINT64_C(1) << 40))
				over = true;
			else
				v = v * 10 + (uint64_t)(*lx->p - '0');
			lx_adv(lx);
		}
		if (lx->p < lx->end) {
			switch (*lx->p) {
			case 'K': case 'k': v <<= 10; lx_adv(lx); break;
			case 'M': case 'm': v <<= 20; lx_adv(lx); break;
			case 'G': case 'g': v <<= 30; lx_adv(lx); break;
			default: break;
			}
		}
		/* Pigeonhole's sieve_number_t is 64 bits; RFC 5228 asks for 2^31 */
		if (over || v > (UINT64_C(1) << 62)) {
			sv_error(lx->errs, lx->tline, lx->tcol, "number is too large");
			return lx->t = T_ERR;
		}
		lx->num = v;
		return lx->t = T_NUM;
	}
	if (isalpha((unsigned char)c) || c == '_') {
		while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_')) {
			str_append_c(&lx->text, tolower((unsigned char)*lx->p));
			lx_adv(lx);
		}
		if (strcmp(lx->text.s, "text") == 0 && lx->p < lx->end && *lx->p == ':') {
			lx_adv(lx);
			str_reset(&lx->text);
			return lx->t = lx_multiline(lx) ? T_STR : T_ERR;
		}
		return lx->t = T_IDENT;
	}
	lx_printable(c, pc);
	sv_error(lx->errs, lx->tline, lx->tcol, "unexpected character '%s'", pc);
	return lx->t = T_ERR;
}

static const char *
tok_name(const struct lexer *lx)
{
	switch (lx->t) {
	case T_EOF: return "end of file";
	case T_IDENT: return "identifier";
	case T_TAG: return "tag";
	case T_NUM: return "number";
	case T_STR: return "string";
	case T_LBRACKET: return "'['";
	case T_RBRACKET: return "']'";
	case T_LPAREN: return "'('";
	case T_RPAREN: return "')'";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_COMMA: return "','";
	case T_SEMI: return "';'";
	default: return "invalid token";
	}
}

static void
push_string(struct sv_arg *a, struct lexer *lx)
{
	if (a->n % 8 == 0)
		a->v = xreallocarray(a->v, a->n + 8, sizeof(*a->v));
	a->v[a->n].len = lx->text.len;
	a->v[a->n].s = xmalloc(lx->text.len + 1);
	memcpy(a->v[a->n].s, lx->text.s, lx->text.len + 1);
	a->v[a->n].vars = memmem(lx->text.s, lx->text.len, "${", 2) != NULL;
	a->n++;
}

static bool parse_test(struct lexer *, struct sv_node *);

/* parse_arguments - arguments, then an optional test or test list */
static bool
parse_arguments(struct lexer *lx, struct sv_node *n)
{
	for (;;) {
		struct sv_arg *a;

		if (lx->t != T_NUM && lx->t != T_TAG && lx->t != T_STR && lx->t != T_LBRACKET)
			break;
		if (n->nargs >= 64) {
			sv_error(lx->errs, lx->tline, lx->tcol, "too many arguments");
			return false;
		}
		if (n->nargs % 4 == 0)
			n->args = xreallocarray(n->args, n->nargs + 4, sizeof(*n->args));
		a = &n->args[n->nargs++];
		memset(a, 0, sizeof(*a));
		a->line = lx->tline;
		a->col = lx->tcol;
		if (lx->t == T_NUM) {
			a->kind = SV_ARG_NUMBER;
			a->num = lx->num;
		} else if (lx->t == T_TAG) {
			a->kind = SV_ARG_TAG;
			a->tag = xstrdup(lx->text.s);
		} else if (lx->t == T_STR) {
			a->kind = SV_ARG_STRINGS;
			push_string(a, lx);
		} else {
			a->kind = SV_ARG_STRINGS;
			a->list = true;
			for (;;) {
				if (lx_next(lx) != T_STR) {
					if (lx->t != T_ERR)
						sv_error(lx->errs, lx->tline, lx->tcol, "expected a string "
						    "in the string list, found %s", tok_name(lx));
					return false;
				}
				if (a->n >= lx->lim->max_strlist) {
					sv_error(lx->errs, lx->tline, lx->tcol, "string list has more "
					    "than %u items", lx->lim->max_strlist);
					return false;
				}
				push_string(a, lx);
				if (lx_next(lx) == T_RBRACKET)
					break;
				if (lx->t != T_COMMA) {
					if (lx->t != T_ERR)
						sv_error(lx->errs, lx->tline, lx->tcol, "expected ',' or ']' "
						    "in the string list, found %s", tok_name(lx));
					return false;
				}
			}
		}
		lx_next(lx);
	}
	if (lx->t == T_IDENT) {
		n->tests = xcalloc(1, sizeof(*n->tests));
		n->ntests = 1;
		return parse_test(lx, &n->tests[0]);
	}
	if (lx->t == T_LPAREN) {
		n->test_list = true;
		for (;;) {
			if (lx_next(lx) != T_IDENT) {
				if (lx->t != T_ERR)
					sv_error(lx->errs, lx->tline, lx->tcol, "expected a test in the "
					    "test list, found %s", tok_name(lx));
				return false;
			}
			if (n->ntests >= lx->lim->max_strlist) {
				sv_error(lx->errs, lx->tline, lx->tcol, "test list too long");
				return false;
			}
			if (n->ntests % 4 == 0)
				n->tests = xreallocarray(n->tests, n->ntests + 4, sizeof(*n->tests));
			memset(&n->tests[n->ntests], 0, sizeof(*n->tests));
			if (!parse_test(lx, &n->tests[n->ntests++]))
				return false;
			if (lx->t == T_RPAREN)
				break;
			if (lx->t != T_COMMA) {
				if (lx->t != T_ERR)
					sv_error(lx->errs, lx->tline, lx->tcol, "expected ',' or ')' in "
					    "the test list, found %s", tok_name(lx));
				return false;
			}
		}
		lx_next(lx);
	}
	return true;
}

static bool
parse_test(struct lexer *lx, struct sv_node *n)
{
	bool ok;

	if (++lx->depth > lx->lim->max_nesting) {
		sv_error(lx->errs, lx->tline, lx->tcol, "tests and blocks nested deeper "
		    "than %u levels", lx->lim->max_nesting);
		return false;
	}
	n->name = xstrdup(lx->text.s);
	n->line = lx->tline;
	n->col = lx->tcol;
	lx_next(lx);
	ok = parse_arguments(lx, n);
	lx->depth--;
	return ok;
}

static bool parse_commands(struct lexer *, struct sv_node **, size_t *, bool inner);

static bool
parse_command(struct lexer *lx, struct sv_node *n)
{
	n->name = xstrdup(lx->text.s);
	n->line = lx->tline;
	n->col = lx->tcol;
	lx_next(lx);
	if (!parse_arguments(lx, n))
		return false;
	if (lx->t == T_SEMI) {
		lx_next(lx);
		return true;
	}
	if (lx->t == T_LBRACE) {
		bool ok;

		if (++lx->depth > lx->lim->max_nesting) {
			sv_error(lx->errs, lx->tline, lx->tcol, "blocks nested deeper than %u "
			    "levels", lx->lim->max_nesting);
			return false;
		}
		n->has_block = true;
		lx_next(lx);
		ok = parse_commands(lx, &n->block, &n->nblock, true);
		lx->depth--;
		if (!ok)
			return false;
		if (lx->t != T_RBRACE) {
			sv_error(lx->errs, lx->tline, lx->tcol, "expected end of compound block "
			    "'}', but found %s", tok_name(lx));
			return false;
		}
		lx_next(lx);
		return true;
	}
	if (lx->t != T_ERR)
		sv_error(lx->errs, lx->tline, lx->tcol, "expected end of command ';' or the "
		    "beginning of a compound block '{', but found %s", tok_name(lx));
	return false;
}

static bool
parse_commands(struct lexer *lx, struct sv_node **cmds, size_t *n, bool inner)
{
	for (;;) {
		if (lx->t == T_EOF || (inner && lx->t == T_RBRACE))
			return true;
		if (lx->t != T_IDENT) {
			if (lx->t != T_ERR)
				sv_error(lx->errs, lx->tline, lx->tcol, "expected a command, found %s",
				    tok_name(lx));
			return false;
		}
		if (*n % 8 == 0)
			*cmds = xreallocarray(*cmds, *n + 8, sizeof(**cmds));
		memset(&(*cmds)[*n], 0, sizeof(**cmds));
		(*n)++;
		if (!parse_command(lx, &(*cmds)[*n - 1]))
			return false;
	}
}

int
sv_parse(const char *text, size_t len, const struct sieve_limits *lim, struct sv_errs *errs,
    struct sv_node **cmds_r, size_t *n_r)
{
	struct lexer lx;
	bool ok;

	memset(&lx, 0, sizeof(lx));
	lx.p = text;
	lx.end = text + len;
	lx.line = 1;
	lx.col = 1;
	lx.lim = lim;
	lx.errs = errs;
	str_init(&lx.text, 64);
	*cmds_r = NULL;
	*n_r = 0;
	lx_next(&lx);
	ok = parse_commands(&lx, cmds_r, n_r, false);
	if (ok && lx.t != T_EOF) {
		sv_error(errs, lx.tline, lx.tcol, "unexpected %s", tok_name(&lx));
		ok = false;
	}
	str_deinit(&lx.text);
	if (!ok) {
		sv_nodes_free(*cmds_r, *n_r);
		*cmds_r = NULL;
		*n_r = 0;
		return -1;
	}
	return 0;
}

void
sv_nodes_free(struct sv_node *nodes, size_t n)
{
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		struct sv_node *nd = &nodes[i];

		free(nd->name);
		for (j = 0; j < nd->nargs; j++) {
			free(nd->args[j].tag);
			for (k = 0; k < nd->args[j].n; k++)
				free(nd->args[j].v[k].s);
			free(nd->args[j].v);
		}
		free(nd->args);
		sv_nodes_free(nd->tests, nd->ntests);
		sv_nodes_free(nd->block, nd->nblock);
		for (j = 0; j < nd->nre; j++)
			regfree(&nd->re[j]);
		free(nd->re);
		free(nd->re_set);
		sieve_script_free(&nd->included);
	}
	free(nodes);
}
