/* pm_vars.c - procmail's variables (all of them are the environment of the
 * programs it runs) and the sh-like expansion of rcfile text: quotes,
 * backslashes, `command`, $name, ${name}, ${name:-text}, ${name:+text},
 * ${name-text}, ${name+text}, $\name, $#, $n, $$, $?, $_, $-, $= and "$@"
 * (procmailrc(5), BUGS). Nothing here runs a shell on rcfile text except
 * `...`, which procmail also hands to the shell. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mem.h"
#include "procmail/pm-private.h"

#define PM_MAX_EXPAND	(1024 * 1024)

static char **
var_slot(const struct pm_ctx *ctx, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < ctx->env.n; i++)
		if (strncmp(ctx->env.v[i], name, n) == 0 && ctx->env.v[i][n] == '=')
			return &ctx->env.v[i];
	return NULL;
}

const char *
pm_var_get(const struct pm_ctx *ctx, const char *name)
{
	char **p = var_slot(ctx, name);

	return p != NULL ? *p + strlen(name) + 1 : NULL;
}

void
pm_var_set(struct pm_ctx *ctx, const char *name, const char *value)
{
	char **p = var_slot(ctx, name);
	char *kv = xasprintf("%s=%s", name, value);

	if (p != NULL) {
		free(*p);
		*p = kv;
	} else
		strvec_push_take(&ctx->env, kv);
}

void
pm_var_unset(struct pm_ctx *ctx, const char *name)
{
	char **p = var_slot(ctx, name);
	size_t i;

	if (p == NULL)
		return;
	free(*p);
	i = (size_t)(p - ctx->env.v);
	memmove(&ctx->env.v[i], &ctx->env.v[i + 1], (ctx->env.n - i) * sizeof(char *));
	ctx->env.n--;
}

long
pm_var_long(const struct pm_ctx *ctx, const char *name, long dflt)
{
	const char *v = pm_var_get(ctx, name);
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return dflt;
	n = strtol(v, &end, 10);
	return end == v ? dflt : n;
}

/* pm_var_bool - procmail's booleans: a non-zero number, on, y, t, e are
 * true; zero, off, n, f, d false */
bool
pm_var_bool(const struct pm_ctx *ctx, const char *name, bool dflt)
{
	const char *v = pm_var_get(ctx, name);

	if (v == NULL || *v == '\0')
		return dflt;
	if (isdigit((unsigned char)*v))
		return strtol(v, NULL, 10) != 0;
	if (strncasecmp(v, "on", 2) == 0)
		return true;
	if (strncasecmp(v, "off", 3) == 0)
		return false;
	switch (tolower((unsigned char)*v)) {
	case 'y': case 't': case 'e':
		return true;
	case 'n': case 'f': case 'd':
		return false;
	}
	return dflt;
}

enum xmode { X_WORD, X_WORDS, X_DQ };

struct xp {
	struct pm_ctx	*ctx;
	enum xmode	 mode;
	struct strvec	*words;		/* X_WORDS */
	struct str	*cur;
	bool		 have_word;
};

static void
push_word(struct xp *x)
{
	if (x->mode == X_WORDS && x->have_word) {
		strvec_push(x->words, x->cur->s);
		str_reset(x->cur);
	}
	x->have_word = false;
}

/* append_split - an unquoted expansion in an action line splits on blanks */
static void
append_split(struct xp *x, const char *v)
{
	if (x->mode != X_WORDS) {
		str_append(x->cur, v);
		return;
	}
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\n')
			push_word(x);
		else {
			str_append_c(x->cur, *v);
			x->have_word = true;
		}
	}
}

/* command_subst - `cmd`: the shell's output, trailing newlines removed */
static void
command_subst(struct pm_ctx *ctx, const char *cmd, size_t n, struct str *out)
{
	struct str text, res;
	struct strvec argv;
	const char *sh = pm_var_get(ctx, "SHELL");
	const char *fl = pm_var_get(ctx, "SHELLFLAGS");

	str_init(&text, n + 1);
	str_append_n(&text, cmd, n);
	str_init(&res, 256);
	res.max = PM_MAX_CAPTURE;
	strvec_init(&argv);
	strvec_push(&argv, sh != NULL && *sh ? sh : "/bin/sh");
	strvec_push(&argv, fl != NULL && *fl ? fl : "-c");
	strvec_push(&argv, text.s);
	ctx->last_exit = pm_run_argv(ctx, argv.v, ctx->msg.data.s, ctx->msg.data.len, &res);
	strvec_deinit(&argv);
	while (res.len > 0 && res.s[res.len - 1] == '\n')
		res.len--;
	res.s[res.len] = '\0';
	str_append(out, res.s);
	str_deinit(&res);
	str_deinit(&text);
}

/* regex_quote - $\name: every magic character of the regexp dialect
 * disarmed */
static void
regex_quote(const char *v, struct str *out)
{
	str_append(out, "()");	/* as procmail: nothing before it can bind to it */
	for (; *v != '\0'; v++) {
		if (strchr("\\^$.[]()|*+?{}/", *v) != NULL)
			str_append_c(out, '\\');
		str_append_c(out, *v);
	}
}

static void expand(struct xp *, const char *p, size_t n);

/* dollar - the expansion at p ('$' already seen); returns bytes used after
 * the '$'; quoted: inside "..." (no splitting) */
static size_t
dollar(struct xp *x, const char *p, size_t n, bool quoted)
{
	struct pm_ctx *ctx = x->ctx;
	struct str val;
	size_t used = 0, i;
	char name[256];
	const char *v = NULL;
	bool no_split = quoted;

	str_init(&val, 32);
	if (n == 0) {
		str_append_c(x->cur, '$');
		x->have_word = true;
		str_deinit(&val);
		return 0;
	}
	if (p[0] == '{') {
		const char *close = memchr(p, '}', n);
		size_t k = 1, nl;
		const char *op;

		if (close == NULL) {
			str_append_c(x->cur, '$');
			x->have_word = true;
			str_deinit(&val);
			return 0;
		}
		used = (size_t)(close - p) + 1;
		while (k < used - 1 && (isalnum((unsigned char)p[k]) || p[k] == '_'))
			k++;
		nl = k - 1;
		if (nl >= sizeof name)
			nl = sizeof name - 1;
		memcpy(name, p + 1, nl);
		name[nl] = '\0';
		op = p + k;
		v = pm_var_get(ctx, name);
		if (op == close) {
			str_append(&val, v != NULL ? v : "");
		} else {
			bool colon = *op == ':';
			char kind = colon ? op[1] : op[0];
			const char *text = op + (colon ? 2 : 1);
			bool set = v != NULL && (!colon || *v != '\0');
			struct xp sub = { .ctx = ctx, .mode = X_DQ, .cur = &val };

			if (text > close)
				text = close;
			if (kind == '-') {
				if (set)
					str_append(&val, v);
				else
					expand(&sub, text, (size_t)(close - text));
			} else if (kind == '+') {
				if (set)
					expand(&sub, text, (size_t)(close - text));
			} else
				str_append(&val, v != NULL ? v : "");
		}
	} else if (p[0] == '\\' && n > 1 && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
		i = 1;
		while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '_') && i < sizeof name)
			i++;
		memcpy(name, p + 1, i - 1);
		name[i - 1] = '\0';
		used = i;
		if ((v = pm_var_get(ctx, name)) != NULL)
			regex_quote(v, &val);
		no_split = true;
	} else if (isalpha((unsigned char)p[0]) ||
	    (p[0] == '_' && n > 1 && (isalnum((unsigned char)p[1]) || p[1] == '_'))) {
		i = 0;
		while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '_') && i < sizeof name - 1)
			i++;
		memcpy(name, p, i);
		name[i] = '\0';
		used = i;
		if ((v = pm_var_get(ctx, name)) != NULL)
			str_append(&val, v);
	} else if (isdigit((unsigned char)p[0])) {
		size_t k = (size_t)(p[0] - '0');

		used = 1;
		if (k == 0)
			str_append(&val, ctx->progname);
		else if (k <= ctx->args.n)
			str_append(&val, ctx->args.v[k - 1]);
	} else {
		used = 1;
		switch (p[0]) {
		case '#':
			str_appendf(&val, "%zu", ctx->args.n);
			break;
		case '$':
			str_appendf(&val, "%ld", (long)getpid());
			break;
		case '?':
			str_appendf(&val, "%d", ctx->last_exit);
			break;
		case '_':
			str_append(&val, ctx->rcfile != NULL ? ctx->rcfile : "");
			break;
		case '-':
			str_append(&val, ctx->last_folder != NULL ? ctx->last_folder : "");
			break;
		case '=': {
			double s = ctx->last_score;

			if (isnan(s))
				s = 0;
			if (s > 2147483647.0)
				s = 2147483647.0;
			if (s < -2147483647.0)
				s = -2147483647.0;
			str_appendf(&val, "%ld", (long)s);
			break;
		}
		case '@':
			/* only "$@" in a program's arguments means the
			 * arguments (expand(), X_WORDS); elsewhere nothing */
			break;
		default:
			used = 0;
			str_append_c(x->cur, '$');
			x->have_word = true;
			str_deinit(&val);
			return 0;
		}
	}
	if (no_split) {
		str_append(x->cur, val.s);
		x->have_word = true;
	} else
		append_split(x, val.s);
	str_deinit(&val);
	return used;
}

/* expand - the scanner for all three modes */
static void
expand(struct xp *x, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		char c = p[i];

		if (x->cur->len > PM_MAX_EXPAND)
			return;
		if (x->mode == X_DQ) {
			if (c == '\\' && i + 1 < n && strchr("$`\"\\\n", p[i + 1]) != NULL) {
				if (p[i + 1] != '\n')
					str_append_c(x->cur, p[i + 1]);
				i += 2;
			} else if (c == '$') {
				i++;
				i += dollar(x, p + i, n - i, true);
			} else if (c == '`') {
				const char *e = memchr(p + i + 1, '`', n - i - 1);
				size_t len = e ? (size_t)(e - p - i - 1) : n - i - 1;

				command_subst(x->ctx, p + i + 1, len, x->cur);
				i += len + (e ? 2 : 1);
			} else {
				str_append_c(x->cur, c);
				i++;
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (x->mode == X_WORD)
				return;
			push_word(x);
			i++;
		} else if (c == '#' && !x->have_word && x->mode == X_WORDS) {
			return;
		} else if (c == '\\') {
			if (i + 1 < n && p[i + 1] == '\n') {
				i += 2;
				continue;
			}
			if (i + 1 < n)
				str_append_c(x->cur, p[i + 1]);
			x->have_word = true;
			i += 2;
		} else if (c == '\'') {
			const char *e = memchr(p + i + 1, '\'', n - i - 1);
			size_t len = e ? (size_t)(e - p - i - 1) : n - i - 1;

			str_append_n(x->cur, p + i + 1, len);
			x->have_word = true;
			i += len + (e ? 2 : 1);
		} else if (c == '"') {
			size_t j = i + 1;
			struct xp sub = *x;

			while (j < n && p[j] != '"') {
				if (p[j] == '\\' && j + 1 < n)
					j++;
				j++;
			}
			if (x->mode == X_WORDS && j - i - 1 == 2 && memcmp(p + i + 1, "$@", 2) == 0 &&
			    !x->have_word) {
				size_t k;

				for (k = 0; k < x->ctx->args.n; k++)
					strvec_push(x->words, x->ctx->args.v[k]);
			} else {
				sub.mode = X_DQ;
				expand(&sub, p + i + 1, j - i - 1);
				x->have_word = true;
			}
			i = j + 1;
		} else if (c == '`') {
			const char *e = memchr(p + i + 1, '`', n - i - 1);
			size_t len = e ? (size_t)(e - p - i - 1) : n - i - 1;
			struct str out;

			str_init(&out, 64);
			command_subst(x->ctx, p + i + 1, len, &out);
			append_split(x, out.s);
			str_deinit(&out);
			i += len + (e ? 2 : 1);
		} else if (c == '$') {
			i++;
			i += dollar(x, p + i, n - i, false);
		} else {
			str_append_c(x->cur, c);
			x->have_word = true;
			i++;
		}
	}
}

void
pm_expand_word(struct pm_ctx *ctx, const char *raw, struct str *out)
{
	struct xp x = { .ctx = ctx, .mode = X_WORD, .cur = out };

	expand(&x, raw, strlen(raw));
}

void
pm_expand_words(struct pm_ctx *ctx, const char *raw, struct strvec *out)
{
	struct str cur;
	struct xp x = { .ctx = ctx, .mode = X_WORDS, .words = out, .cur = &cur };

	str_init(&cur, 64);
	expand(&x, raw, strlen(raw));
	push_word(&x);
	str_deinit(&cur);
}

void
pm_expand_dq(struct pm_ctx *ctx, const char *raw, struct str *out)
{
	struct xp x = { .ctx = ctx, .mode = X_DQ, .cur = out };

	expand(&x, raw, strlen(raw));
}
