/* pm_rc.c - procmailrc text into items (see pm_rc.h). The grammar, from
 * procmailrc(5): assignments "NAME=word" (blanks around '=' ignored, only
 * the first sh word is the value, the rest of the line is read as the next
 * item), "NAME" alone unsets; recipes ":0 [flags] [:[lockfile]]", then
 * lines starting with '*' (conditions; a trailing backslash continues one,
 * the next line's leading blanks dropped), then exactly one action line,
 * or '{' and a nested block up to '}'. '#' starts a comment except on
 * condition lines. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "procmail/pm_rc.h"

#define PM_MAX_DEPTH	64

struct reader {
	const char	*s;
	size_t		 len, pos;
	int		 line;
};

static int
peek(const struct reader *r)
{
	return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

static int
peek_at(const struct reader *r, size_t off)
{
	return r->pos + off < r->len ? (unsigned char)r->s[r->pos + off] : -1;
}

static void
advance(struct reader *r)
{
	if (r->pos < r->len) {
		if (r->s[r->pos] == '\n')
			r->line++;
		r->pos++;
	}
}

static void
skip_to_eol(struct reader *r)
{
	while (r->pos < r->len && r->s[r->pos] != '\n')
		r->pos++;
}

static void
skip_spaces(struct reader *r)
{
	while (peek(r) == ' ' || peek(r) == '\t' || peek(r) == '\r')
		advance(r);
}

/* skip_blank - blanks, empty lines and comment lines between items */
static void
skip_blank(struct reader *r)
{
	for (;;) {
		int c = peek(r);

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			advance(r);
		else if (c == '#')
			skip_to_eol(r);
		else
			return;
	}
}

bool
pm_is_varname(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

static size_t
ident_len(const struct reader *r)
{
	size_t n = 0;

	while (r->pos + n < r->len) {
		unsigned char c = (unsigned char)r->s[r->pos + n];

		if (!(isalnum(c) || c == '_') || (n == 0 && isdigit(c)))
			break;
		n++;
	}
	return n;
}

static struct pm_item *
block_add(struct pm_block *b, enum pm_item_kind kind, int line)
{
	struct pm_item *it;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->items = xreallocarray(b->items, b->cap, sizeof *b->items);
	}
	it = &b->items[b->n++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->line = line;
	return it;
}

static void
add_diag(struct pm_block *b, int line, const char *text)
{
	block_add(b, PM_ITEM_DIAG, line)->diag = xstrdup(text);
}

/* add_skipped - procmail's "Skipped" for text it cannot make sense of */
static void
add_skipped(struct pm_block *b, int line, const char *p, size_t n)
{
	struct str s;

	str_init(&s, n + 16);
	str_append(&s, "Skipped \"");
	str_append_n(&s, p, n);
	str_append_c(&s, '"');
	block_add(b, PM_ITEM_DIAG, line)->diag = str_export(&s);
	str_deinit(&s);
}

/* read_line - the rest of the line, joined with continuation lines (a
 * trailing backslash); keep_bsnl keeps "\\\n" in the text (program lines,
 * for the shell), else the pair and the next line's leading blanks go */
static char *
read_line(struct reader *r, bool keep_bsnl)
{
	struct str out;

	str_init(&out, 64);
	while (r->pos < r->len && r->s[r->pos] != '\n') {
		if (r->s[r->pos] == '\\' && peek_at(r, 1) == '\n') {
			advance(r);
			advance(r);
			if (keep_bsnl)
				str_append(&out, "\\\n");
			else
				skip_spaces(r);
			continue;
		}
		str_append_c(&out, r->s[r->pos]);
		advance(r);
	}
	/* trailing blanks (and a CR of a CRLF file) are not part of it */
	while (out.len > 0 && (out.s[out.len - 1] == ' ' || out.s[out.len - 1] == '\t' ||
	    out.s[out.len - 1] == '\r'))
		out.len--;
	out.s[out.len] = '\0';
	return str_export(&out);
}

/* scan_word - the extent of one sh word from pos: quotes (which may span
 * lines), backquotes, ${...}, backslash escapes */
static void
scan_word(struct reader *r)
{
	for (;;) {
		int c = peek(r);

		if (c < 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r')
			return;
		if (c == '\\') {
			advance(r);
			advance(r);
		} else if (c == '"' || c == '`' || c == '\'') {
			advance(r);
			while (peek(r) >= 0 && peek(r) != c) {
				if (c != '\'' && peek(r) == '\\')
					advance(r);
				advance(r);
			}
			advance(r);
		} else if (c == '$' && peek_at(r, 1) == '{') {
			while (peek(r) >= 0 && peek(r) != '}' && peek(r) != '\n')
				advance(r);
			advance(r);
		} else
			advance(r);
	}
}

static void parse_block(struct reader *, struct pm_block *, int depth);

/* parse_assignment - at an identifier; false when it is not one */
static bool
parse_assignment(struct reader *r, struct pm_block *b)
{
	size_t n = ident_len(r), start;
	int line = r->line;
	struct pm_item *it;
	char *name;

	if (n == 0)
		return false;
	name = xstrndup(r->s + r->pos, n);
	r->pos += n;
	skip_spaces(r);
	it = block_add(b, PM_ITEM_ASSIGN, line);
	it->name = name;
	if (peek(r) != '=')
		return true;	/* NAME alone: unset */
	advance(r);
	skip_spaces(r);
	start = r->pos;
	scan_word(r);
	it->value = xstrndup(r->s + start, r->pos - start);
	return true;
}

static void
parse_flags(struct reader *r, struct pm_block *b, struct pm_recipe *rc)
{
	static const char letters[] = "HBDAaEehbfcwWir";
	int line = r->line;

	advance(r);		/* ':' */
	while (peek(r) >= '0' && peek(r) <= '9')
		advance(r);
	for (;;) {
		int c = peek(r);
		const char *p;

		if (c < 0 || c == '\n')
			return;
		if (c == ' ' || c == '\t' || c == '\r') {
			advance(r);
		} else if (c == '#') {
			skip_to_eol(r);
		} else if (c == ':') {
			char *lf;

			advance(r);
			skip_spaces(r);
			rc->local_lock = true;
			lf = read_line(r, false);
			if ((p = strstr(lf, " #")) != NULL || (p = strstr(lf, "\t#")) != NULL) {
				lf[p - lf] = '\0';
				while (*lf && (lf[strlen(lf) - 1] == ' ' || lf[strlen(lf) - 1] == '\t'))
					lf[strlen(lf) - 1] = '\0';
			}
			if (*lf == '\0' || *lf == '#')
				free(lf);
			else
				rc->lockfile = lf;
			return;
		} else if ((p = strchr(letters, c)) != NULL && c != 0) {
			rc->flags |= 1u << (p - letters);
			advance(r);
		} else {
			char ch = (char)c;

			add_skipped(b, line, &ch, 1);
			advance(r);
		}
	}
}

static void
parse_action(struct reader *r, struct pm_block *b, struct pm_recipe *rc, int depth)
{
	int c = peek(r), c1 = peek_at(r, 1);
	size_t n;

	rc->action_line = r->line;
	if (c == '{' && (c1 < 0 || c1 == ' ' || c1 == '\t' || c1 == '\n' || c1 == '\r')) {
		advance(r);
		rc->kind = PM_ACT_BLOCK;
		if (depth + 1 >= PM_MAX_DEPTH) {
			add_diag(b, r->line, "Nesting too deep, the rest of the rcfile is ignored");
			r->pos = r->len;
			return;
		}
		parse_block(r, &rc->block, depth + 1);
		return;
	}
	if (c == '|') {
		advance(r);
		rc->kind = PM_ACT_PIPE;
		rc->action = read_line(r, true);
		return;
	}
	if (c == '!') {
		advance(r);
		rc->kind = PM_ACT_FORWARD;
		rc->action = read_line(r, false);
		return;
	}
	if ((n = ident_len(r)) > 0) {
		size_t save = r->pos;
		int save_line = r->line;

		r->pos += n;
		skip_spaces(r);
		if (peek(r) == '=') {
			advance(r);
			skip_spaces(r);
			if (peek(r) == '|') {
				rc->capture = xstrndup(r->s + save, n);
				advance(r);
				rc->kind = PM_ACT_PIPE;
				rc->action = read_line(r, true);
				return;
			}
		}
		r->pos = save;
		r->line = save_line;
	}
	rc->kind = PM_ACT_FILE;
	rc->action = read_line(r, false);
}

static void
parse_recipe(struct reader *r, struct pm_block *b, int depth)
{
	struct pm_recipe *rc = xcalloc(1, sizeof *rc);
	struct pm_item *it;
	int line = r->line, c;

	parse_flags(r, b, rc);
	for (;;) {
		skip_blank(r);
		if (peek(r) != '*')
			break;
		advance(r);
		skip_spaces(r);
		rc->conds = xreallocarray(rc->conds, rc->ncond + 1, sizeof *rc->conds);
		rc->conds[rc->ncond].line = r->line;
		rc->conds[rc->ncond].text = read_line(r, false);
		rc->ncond++;
	}
	it = block_add(b, PM_ITEM_RECIPE, line);
	it->recipe = rc;
	/* the next line is the action whatever it is ("}" too: procmail
	 * takes it for a file name); only the end of the file has none */
	c = peek(r);
	if (c < 0) {
		rc->kind = PM_ACT_FILE;
		rc->action = NULL;
		rc->action_line = r->line;
		return;
	}
	parse_action(r, b, rc, depth);
}

static void
parse_block(struct reader *r, struct pm_block *b, int depth)
{
	for (;;) {
		int c;

		skip_blank(r);
		c = peek(r);
		if (c < 0)
			return;
		if (c == '}') {
			advance(r);
			if (depth > 0)
				return;
			add_skipped(b, r->line, "}", 1);
			continue;
		}
		if (c == ':') {
			parse_recipe(r, b, depth);
			continue;
		}
		if (!parse_assignment(r, b)) {
			int line = r->line;
			size_t start = r->pos;

			skip_to_eol(r);
			add_skipped(b, line, r->s + start, r->pos - start);
		}
	}
}

struct pm_rc *
pm_rc_parse(const char *path, const char *text, size_t len)
{
	struct pm_rc *rc = xcalloc(1, sizeof *rc);
	struct reader r = { .s = text, .len = len, .pos = 0, .line = 1 };

	rc->path = xstrdup(path);
	parse_block(&r, &rc->top, 0);
	return rc;
}

static void
block_free(struct pm_block *b)
{
	size_t i, j;

	for (i = 0; i < b->n; i++) {
		struct pm_item *it = &b->items[i];

		free(it->name);
		free(it->value);
		free(it->diag);
		if (it->recipe != NULL) {
			struct pm_recipe *rc = it->recipe;

			for (j = 0; j < rc->ncond; j++)
				free(rc->conds[j].text);
			free(rc->conds);
			free(rc->lockfile);
			free(rc->action);
			free(rc->capture);
			block_free(&rc->block);
			free(rc);
		}
	}
	free(b->items);
	b->items = NULL;
	b->n = b->cap = 0;
}

void
pm_rc_free(struct pm_rc **rcp)
{
	if (*rcp == NULL)
		return;
	block_free(&(*rcp)->top);
	free((*rcp)->path);
	XFREE(*rcp);
}
