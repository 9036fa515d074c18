/* imap_parser.c - gathering IMAP commands with their literals, and
 * parsing them into arguments; sequence sets; quoting. See imap_parser.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_parser.h"
#include "lib/mem.h"

void
imap_parser_init(struct imap_parser *p, size_t max_line, uint64_t max_append)
{
	memset(p, 0, sizeof(*p));
	str_init(&p->buf, 256);
	p->max_line = max_line;
	p->max_append = max_append;
}

static void
imap_parser_free_blocks(struct imap_parser *p)
{
	size_t i;

	for (i = 0; i < p->nblocks; i++)
		free(p->blocks[i]);
	free(p->blocks);
	p->blocks = NULL;
	p->nblocks = 0;
}

void
imap_parser_reset(struct imap_parser *p)
{
	imap_parser_free_blocks(p);
	/* a huge APPEND's buffer is not kept for the rest of the session */
	if (p->buf.cap > 2 * p->max_line) {
		str_deinit(&p->buf);
		str_init(&p->buf, 256);
	}
	str_reset(&p->buf);
	p->text_len = 0;
	p->literal_left = 0;
	p->append_lits = 0;
	p->line_start = 0;
	p->in_literal = false;
	p->done = false;
	p->error[0] = '\0';
}

void
imap_parser_deinit(struct imap_parser *p)
{
	imap_parser_free_blocks(p);
	str_deinit(&p->buf);
}

const char *
imap_parser_error(const struct imap_parser *p)
{
	return p->error;
}

static void *
imap_parser_alloc(struct imap_parser *p, size_t size)
{
	void *b = xcalloc(1, size > 0 ? size : 1);

	p->blocks = xreallocarray(p->blocks, p->nblocks + 1, sizeof(*p->blocks));
	p->blocks[p->nblocks++] = b;
	return b;
}

/* gather_is_append - does the command gathered so far name APPEND (tag SP
 * APPEND SP ...)? Its literals may be as large as max_append. */
static bool
gather_is_append(const struct imap_parser *p)
{
	const char *s = p->buf.s, *sp = memchr(s, ' ', p->buf.len);

	if (sp == NULL)
		return false;
	return p->buf.len - (size_t)(sp + 1 - s) > 7 && strncasecmp(sp + 1, "APPEND ", 7) == 0;
}

/* gather_literal - does the line just completed end in {N} or {N+}?
 * 1 yes (*size_r, *sync_r), 0 no, -1 too large */
static int
gather_literal(const struct imap_parser *p, size_t line_start, uint64_t *size_r, bool *sync_r)
{
	const char *s = p->buf.s + line_start, *end = p->buf.s + p->buf.len, *q;
	uint64_t n = 0;
	size_t digits = 0;

	if (end - s < 3 || end[-1] != '}')
		return 0;
	q = end - 2;
	*sync_r = true;
	if (*q == '+') {
		*sync_r = false;
		q--;
	}
	while (q > s && isdigit((unsigned char)*q)) {
		q--;
		digits++;
	}
	if (digits == 0 || *q != '{')
		return 0;
	if (digits > 19)
		return -1;
	for (q++; isdigit((unsigned char)*q); q++)
		n = n * 10 + (uint64_t)(*q - '0');
	*size_r = n;
	return 1;
}

enum imap_feed
imap_parser_feed(struct imap_parser *p, const char *data, size_t len, size_t *used_r)
{
	size_t i = 0;

	while (i < len) {
		if (p->in_literal) {
			size_t n = len - i;

			if ((uint64_t)n > p->literal_left)
				n = (size_t)p->literal_left;
			str_append_n(&p->buf, data + i, n);
			i += n;
			p->literal_left -= n;
			if (p->literal_left == 0) {
				/* literal bytes may hold LFs: the next line's text
				 * starts here */
				p->in_literal = false;
				p->line_start = p->buf.len;
			}
			continue;
		}
		{
			const char *nl = memchr(data + i, '\n', len - i);
			size_t n = nl != NULL ? (size_t)(nl - (data + i)) : len - i;
			size_t line_start;
			uint64_t lsize;
			bool sync;
			int lit;

			if (p->text_len + n > p->max_line) {
				snprintf(p->error, sizeof(p->error), "Too long argument.");
				*used_r = i;
				return IMAP_FEED_FATAL;
			}
			p->text_len += n;
			str_append_n(&p->buf, data + i, n);
			i += n;
			if (nl == NULL)
				break;
			i++;	/* the LF */
			line_start = p->line_start;
			if (p->buf.len > line_start && p->buf.s[p->buf.len - 1] == '\r')
				str_truncate(&p->buf, p->buf.len - 1);
			lit = gather_literal(p, line_start, &lsize, &sync);
			/* a MULTIAPPEND's literals are all held at once: their
			 * sum, not each one, is bounded by the append limit */
			if (lit < 0 || (lit > 0 && lsize > (gather_is_append(p) ?
			    p->max_append - p->append_lits :
			    (uint64_t)(p->max_line - p->text_len)))) {
				snprintf(p->error, sizeof(p->error), "Literal size too large");
				*used_r = i;
				return IMAP_FEED_FATAL;
			}
			if (lit > 0) {
				if (!gather_is_append(p))
					p->text_len += (size_t)lsize;
				else
					p->append_lits += lsize;
				str_append(&p->buf, "\r\n");
				p->literal_left = lsize;
				p->in_literal = lsize > 0;
				if (lsize == 0)
					p->line_start = p->buf.len;
				if (sync) {
					*used_r = i;
					return IMAP_FEED_CONTINUE;
				}
				continue;
			}
			if (p->buf.len == 0) {
				/* an empty line is no command: ignored */
				continue;
			}
			p->done = true;
			*used_r = i;
			return IMAP_FEED_COMMAND;
		}
	}
	*used_r = i;
	return IMAP_FEED_MORE;
}

/* --- arguments --- */

struct argp {
	struct imap_parser *p;
	const char	*s, *end;
	char		*out;		/* token storage: never grows past its block */
	size_t		 out_len;
};

static bool
argp_fail(struct argp *a, const char *msg)
{
	if (a->p->error[0] == '\0')
		snprintf(a->p->error, sizeof(a->p->error), "%s", msg);
	return false;
}

static char *
argp_store(struct argp *a, const char *s, size_t n)
{
	char *d = a->out + a->out_len;

	memcpy(d, s, n);
	d[n] = '\0';
	a->out_len += n + 1;
	return d;
}

static bool
is_atom_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

/* argp_atom - an atom, with "[...]" (which may hold spaces and lists)
 * and a following "<...>" kept inside it */
static bool
argp_atom(struct argp *a, struct imap_arg *arg)
{
	const char *start = a->s;
	int depth = 0;

	while (a->s < a->end) {
		unsigned char c = (unsigned char)*a->s;

		if (c == '[') {
			depth++;
		} else if (c == ']' && depth > 0) {
			depth--;
		} else if (depth > 0) {
			if (c < 0x20 || c == 0x7f)
				return argp_fail(a, "Missing ']'");
		} else if (!is_atom_char(c)) {
			break;
		}
		a->s++;
	}
	if (depth > 0)
		return argp_fail(a, "Missing ']'");
	arg->str = argp_store(a, start, (size_t)(a->s - start));
	arg->len = (size_t)(a->s - start);
	arg->type = arg->len == 3 && strncasecmp(start, "NIL", 3) == 0 ? IMAP_ARG_NIL :
	    IMAP_ARG_ATOM;
	return arg->len > 0 || argp_fail(a, "Unexpected character");
}

static bool
argp_quoted(struct argp *a, struct imap_arg *arg)
{
	char *d = a->out + a->out_len, *start = d;

	a->s++;
	for (;;) {
		unsigned char c;

		if (a->s >= a->end)
			return argp_fail(a, "Missing '\"'");
		c = (unsigned char)*a->s++;
		if (c == '"')
			break;
		if (c == '\r' || c == '\n' || c == '\0')
			return argp_fail(a, "Missing '\"'");
		if (c == '\\') {
			if (a->s >= a->end)
				return argp_fail(a, "Missing '\"'");
			c = (unsigned char)*a->s++;
			if (c != '\\' && c != '"')
				return argp_fail(a, "Invalid escape");
		}
		*d++ = (char)c;
	}
	*d = '\0';
	arg->type = IMAP_ARG_STRING;
	arg->str = start;
	arg->len = (size_t)(d - start);
	a->out_len += arg->len + 1;
	return true;
}

static bool
argp_literal(struct argp *a, struct imap_arg *arg)
{
	uint64_t n = 0;
	size_t digits = 0;

	a->s++;
	while (a->s < a->end && isdigit((unsigned char)*a->s) && digits < 20) {
		n = n * 10 + (uint64_t)(*a->s++ - '0');
		digits++;
	}
	if (a->s < a->end && *a->s == '+')
		a->s++;
	if (digits == 0 || a->end - a->s < 3 || memcmp(a->s, "}\r\n", 3) != 0)
		return argp_fail(a, "Invalid literal");
	a->s += 3;
	if (n > (uint64_t)(a->end - a->s))
		return argp_fail(a, "Invalid literal");
	arg->type = IMAP_ARG_LITERAL;
	arg->str = argp_store(a, a->s, (size_t)n);
	arg->len = (size_t)n;
	a->s += n;
	return true;
}

/* argp_list - arguments up to ')' (in a list) or the end */
static bool
argp_list(struct argp *a, unsigned depth, bool in_list, struct imap_arg **list_r,
    size_t *count_r)
{
	struct imap_arg *v = NULL;
	size_t n = 0, cap = 0;
	bool first = true;

	if (depth > IMAP_PARSER_MAX_DEPTH)
		return argp_fail(a, "Too deep nesting of lists");
	for (;;) {
		struct imap_arg *arg;

		if (a->s >= a->end) {
			if (in_list)
				return argp_fail(a, "Missing ')'");
			break;
		}
		if (*a->s == ')') {
			if (!in_list)
				return argp_fail(a, "Unexpected ')'");
			a->s++;
			break;
		}
		if (!first) {
			if (*a->s != ' ')
				return argp_fail(a, "Missing space");
			a->s++;
			if (a->s >= a->end && !in_list)
				break;	/* a trailing space, as some clients send */
		}
		first = false;
		if (n == cap) {
			struct imap_arg *nv;

			cap = cap == 0 ? 8 : cap * 2;
			nv = imap_parser_alloc(a->p, cap * sizeof(*nv));
			if (n > 0)
				memcpy(nv, v, n * sizeof(*nv));
			v = nv;
		}
		arg = &v[n++];
		memset(arg, 0, sizeof(*arg));
		if (a->s >= a->end)
			return argp_fail(a, "Missing ')'");
		switch (*a->s) {
		case '(':
			a->s++;
			arg->type = IMAP_ARG_LIST;
			if (!argp_list(a, depth + 1, true, &arg->list, &arg->count))
				return false;
			break;
		case '"':
			if (!argp_quoted(a, arg))
				return false;
			break;
		case '{':
			if (!argp_literal(a, arg))
				return false;
			break;
		case '~':
			/* RFC 3516 literal8 "~{N}" (APPEND of binary content) */
			if (a->s + 1 < a->end && a->s[1] == '{') {
				a->s++;
				if (!argp_literal(a, arg))
					return false;
			} else if (!argp_atom(a, arg)) {
				return false;
			}
			break;
		case ')':
			/* "( )" or "a )": a space before ')' */
			if (!in_list)
				return argp_fail(a, "Unexpected ')'");
			n--;
			a->s++;
			goto out;
		default:
			if (!argp_atom(a, arg))
				return false;
			break;
		}
	}
out:
	*list_r = v;
	*count_r = n;
	return true;
}

static bool
is_tag_char(unsigned char c)
{
	return is_atom_char(c) && c != '+' && c != '%' && c != '*' && c != '\\';
}

int
imap_parser_args(struct imap_parser *p, const char **tag_r, const char **name_r,
    struct imap_arg **args_r, size_t *count_r)
{
	struct argp a;
	const char *t;
	char *name;
	size_t i, nl;

	p->error[0] = '\0';
	*tag_r = "*";
	*name_r = "";
	*args_r = NULL;
	*count_r = 0;
	memset(&a, 0, sizeof(a));
	a.p = p;
	a.s = p->buf.s;
	a.end = p->buf.s + p->buf.len;
	a.out = imap_parser_alloc(p, 2 * p->buf.len + 16);
	for (t = a.s; t < a.end && is_tag_char((unsigned char)*t); t++)
		;
	if (t == a.s || t >= a.end || *t != ' ') {
		snprintf(p->error, sizeof(p->error), "Invalid tag");
		if (t > a.s && (t >= a.end || *t == ' ' || *t == '\r'))
			*tag_r = argp_store(&a, a.s, (size_t)(t - a.s));
		return -1;
	}
	*tag_r = argp_store(&a, a.s, (size_t)(t - a.s));
	a.s = t + 1;
	/* the command name: letters (and UID's second word) */
	for (t = a.s; t < a.end && isalpha((unsigned char)*t); t++)
		;
	if (t == a.s || (t < a.end && *t != ' ')) {
		snprintf(p->error, sizeof(p->error), "Invalid command");
		return -1;
	}
	nl = (size_t)(t - a.s);
	if (nl == 3 && strncasecmp(a.s, "UID", 3) == 0 && t < a.end) {
		const char *u = t + 1;

		for (t = u; t < a.end && isalpha((unsigned char)*t); t++)
			;
		if (t == u || (t < a.end && *t != ' ')) {
			snprintf(p->error, sizeof(p->error), "Invalid command");
			return -1;
		}
		nl = (size_t)(t - a.s);
	}
	name = argp_store(&a, a.s, nl);
	for (i = 0; name[i] != '\0'; i++)
		name[i] = (char)toupper((unsigned char)name[i]);
	*name_r = name;
	a.s = t;
	if (a.s < a.end)
		a.s++;	/* the space */
	if (!argp_list(&a, 0, false, args_r, count_r))
		return -1;
	return 0;
}

const char *
imap_arg_string(const struct imap_arg *arg)
{
	if (arg == NULL || arg->type == IMAP_ARG_LIST)
		return NULL;
	return arg->str;
}

bool
imap_arg_is_astring(const struct imap_arg *arg)
{
	return arg != NULL && arg->type != IMAP_ARG_LIST;
}

/* --- sequence sets --- */

static bool
seq_number(const char **s, uint32_t *n_r)
{
	uint64_t n = 0;
	const char *p = *s;

	if (*p == '*') {
		*n_r = UINT32_MAX;
		*s = p + 1;
		return true;
	}
	if (*p < '1' || *p > '9')
		return false;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (uint64_t)(*p++ - '0');
		if (n > UINT32_MAX)
			return false;
	}
	/* 4294967295 is a valid number (Dovecot takes "UID FETCH
	 * 1:4294967295"), but UINT32_MAX stands for "*" here: one below it
	 * names the same messages, as no UID or sequence number gets there */
	*n_r = n == UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)n;
	*s = p;
	return true;
}

int
imap_seqset_parse(const char *s, struct imap_seqset *out)
{
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	if (strcmp(s, "$") == 0) {
		out->saved = true;
		return 0;
	}
	for (;;) {
		uint32_t lo, hi;

		if (!seq_number(&s, &lo))
			goto fail;
		hi = lo;
		if (*s == ':') {
			s++;
			if (!seq_number(&s, &hi))
				goto fail;
		}
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (out->n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			out->r = xreallocarray(out->r, cap, sizeof(*out->r));
		}
		out->r[out->n].lo = lo;
		out->r[out->n].hi = hi;
		out->n++;
		if (*s == '\0')
			return 0;
		if (*s != ',')
			goto fail;
		s++;
	}
fail:
	imap_seqset_deinit(out);
	return -1;
}

void
imap_seqset_deinit(struct imap_seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n, uint32_t max)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		uint32_t lo = set->r[i].lo == UINT32_MAX ? max : set->r[i].lo;
		uint32_t hi = set->r[i].hi == UINT32_MAX ? max : set->r[i].hi;

		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (n >= lo && n <= hi)
			return true;
	}
	return false;
}

void
imap_quote(struct str *out, const char *s, size_t len)
{
	size_t i;
	bool plain = len < 1024;

	if (s == NULL) {
		str_append(out, "NIL");
		return;
	}
	for (i = 0; plain && i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			plain = false;
	if (!plain) {
		str_appendf(out, "{%zu}\r\n", len);
		str_append_n(out, s, len);
		return;
	}
	str_append_c(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			str_append_c(out, '\\');
		str_append_c(out, s[i]);
	}
	str_append_c(out, '"');
}

void
imap_astring(struct str *out, const char *s, size_t len)
{
	size_t i;
	bool atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);

	for (i = 0; atom && i < len; i++)
		if (!is_atom_char((unsigned char)s[i]) || strchr("%*\\]", s[i]) != NULL)
			atom = false;
	if (atom)
		str_append_n(out, s, len);
	else
		imap_quote(out, s, len);
}
