/* pm_exec.c - the procmailrc interpreter: assignments with their special
 * variables, recipes (conditions, weighted scores, the A a E e flags),
 * actions (folders, programs, filters, captures, forwards, nested blocks,
 * 'c' copies and clones), the log and its abstract, DEFAULT at the end.
 * A recipe that fails (a condition that cannot be evaluated, an action
 * that fails) is logged and processing goes on, so the mail still ends in
 * DEFAULT (then ORGMAIL); only when those fail too does procmail exit with
 * EX_CANTCREAT (EX_TEMPFAIL with -t), which the MTA defers or bounces.
 * Tests: tests/unit/procmail/, tests/e2e/test_procmail.py. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mem.h"
#include "procmail/pm-private.h"
#include "procmail/pm_regex.h"
#include "storage/storage.h"

#define PM_SCORE_MAX	2147483647.0

struct block_state {
	bool	lastcond;	/* conditions of the last recipe without A/a matched */
	bool	prev_executed;
	bool	prev_ok;
	bool	prev_failed;
};

static void exec_block(struct pm_ctx *, const struct pm_block *);

void
pm_log_raw(struct pm_ctx *ctx, const char *s, size_t n)
{
	(void)storage_write_full(ctx->log_fd, s, n);
}

void
pm_log(struct pm_ctx *ctx, const char *fmt, ...)
{
	struct str s;
	va_list ap;

	str_init(&s, 128);
	str_appendf(&s, "%s: ", ctx->progname);
	va_start(ap, fmt);
	str_vappendf(&s, fmt, ap);
	va_end(ap);
	str_append_c(&s, '\n');
	pm_log_raw(ctx, s.s, s.len);
	str_deinit(&s);
}

/* log_at - an error with where it is in the rcfile (yubin adds the place;
 * procmail's text is the same up to it) */
static void
log_at(struct pm_ctx *ctx, int line, const char *text)
{
	pm_log(ctx, "%s (%s, line %d)", text, ctx->rcfile != NULL ? ctx->rcfile : "-", line);
}

void
pm_log_abstract(struct pm_ctx *ctx)
{
	struct str s, subj;
	size_t fl = pm_msg_from_len(&ctx->msg), col, i;
	const char *f;

	if (ctx->log_folder == NULL)
		return;
	str_init(&s, 256);
	str_init(&subj, 128);
	if (fl > 0)
		str_append_n(&s, ctx->msg.data.s, fl);
	/* procmail logs the first line of the field only */
	if (pm_msg_field_ex(&ctx->msg, "Subject", &subj, true)) {
		str_append(&s, " Subject: ");
		/* control characters (a CR of CRLF mail) show as blanks */
		for (i = 0; i < subj.len && i < 69; i++)
			str_append_c(&s, (unsigned char)subj.s[i] < 0x20 ? ' ' : subj.s[i]);
		str_append_c(&s, '\n');
	}
	f = ctx->log_folder;
	str_append(&s, "  Folder: ");
	str_append_n(&s, f, strlen(f) > 60 ? 60 : strlen(f));
	col = 10 + (strlen(f) > 60 ? 60 : strlen(f));
	for (i = 0; col < 72 && i < 16; i++) {
		str_append_c(&s, '\t');
		col = (col / 8 + 1) * 8;
	}
	str_appendf(&s, "%7zu\n", ctx->log_size);
	pm_log_raw(ctx, s.s, s.len);
	str_deinit(&subj);
	str_deinit(&s);
}

static void
set_log_file(struct pm_ctx *ctx, const char *path)
{
	int fd;

	if (*path == '\0') {
		if (ctx->log_fd != 2)
			close(ctx->log_fd);
		ctx->log_fd = 2;
		return;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		pm_log(ctx, "Couldn't open \"%s\"", path);
		return;
	}
	if (ctx->log_fd != 2)
		close(ctx->log_fd);
	ctx->log_fd = fd;
}

static void
release_global_lock(struct pm_ctx *ctx)
{
	if (ctx->global_lock != NULL) {
		pm_lock_release(ctx, ctx->global_lock);
		XFREE(ctx->global_lock);
	}
}

/* assign - NAME=value (value already expanded; NULL: unset) and what the
 * special names do at once */
static void
assign(struct pm_ctx *ctx, const char *name, const char *value, int line)
{
	if (strcmp(name, "LOG") == 0 && value != NULL) {
		pm_log_raw(ctx, value, strlen(value));
		return;
	}
	if (value != NULL)
		pm_var_set(ctx, name, value);
	else
		pm_var_unset(ctx, name);
	if (ctx->verbose)
		pm_log(ctx, "Assigning \"%s=%s\"", name, value != NULL ? value : "");
	if (strcmp(name, "MAILDIR") == 0 && value != NULL) {
		if (chdir(value) != 0)
			pm_log(ctx, "Couldn't chdir to \"%s\"", value);
	} else if (strcmp(name, "LOGFILE") == 0) {
		set_log_file(ctx, value != NULL ? value : "");
	} else if (strcmp(name, "VERBOSE") == 0) {
		ctx->verbose = pm_var_bool(ctx, "VERBOSE", false);
	} else if (strcmp(name, "UMASK") == 0 && value != NULL) {
		umask((mode_t)(strtol(value, NULL, 8) & 0777));
	} else if (strcmp(name, "LOCKFILE") == 0) {
		release_global_lock(ctx);
		if (value != NULL && *value != '\0' && pm_lock_take(ctx, value) == 0)
			ctx->global_lock = xstrdup(value);
	} else if (strcmp(name, "SHIFT") == 0 && value != NULL) {
		long n = strtol(value, NULL, 10), i;

		for (i = 0; i < n && ctx->args.n > 0; i++) {
			free(ctx->args.v[0]);
			memmove(ctx->args.v, ctx->args.v + 1, ctx->args.n * sizeof(char *));
			ctx->args.n--;
		}
	} else if (strcmp(name, "INCLUDERC") == 0 && value != NULL && *value != '\0') {
		int saved_line = line;

		if (ctx->include_depth >= PM_MAX_INCLUDE)
			log_at(ctx, saved_line, "Too deeply nested INCLUDERC");
		else
			(void)pm_exec_file(ctx, value, false);
	} else if (strcmp(name, "SWITCHRC") == 0) {
		struct stat st;

		if (value == NULL || *value == '\0') {
			ctx->end_file = true;
		} else if (stat(value, &st) != 0 || !(S_ISREG(st.st_mode) ||
		    strcmp(value, "/dev/null") == 0)) {
			pm_log(ctx, "Couldn't read \"%s\"", value);
		} else {
			free(ctx->switch_to);
			ctx->switch_to = xstrdup(value);
			ctx->end_file = true;
		}
	} else if (strcmp(name, "HOST") == 0 && value != NULL) {
		char h[256];

		if (gethostname(h, sizeof h) == 0 && (h[sizeof h - 1] = '\0', strcmp(h, value) != 0))
			ctx->end_file = true;
	}
}

void
pm_assign(struct pm_ctx *ctx, const char *name, const char *value)
{
	assign(ctx, name, value, 0);
}

/* parse_weight - "w^x " before a condition; false when there is none */
static bool
parse_weight(const char **pp, double *w, double *x)
{
	const char *p = *pp;
	char *end;

	*w = strtod(p, &end);
	if (end == p || *end != '^')
		return false;
	p = end + 1;
	*x = strtod(p, &end);
	if (end == p || (*end != '\0' && *end != ' ' && *end != '\t'))
		return false;
	if (!isfinite(*w) || !isfinite(*x))
		return false;
	while (*end == ' ' || *end == '\t')
		end++;
	*pp = end;
	return true;
}

static double
series(double w, double x, unsigned long n)
{
	double sum = 0, term = w;
	unsigned long k;

	for (k = 0; k < n; k++) {
		sum += term;
		term *= x;
		if (fabs(sum) > PM_SCORE_MAX * 4 || term == 0)
			break;
	}
	return sum;
}

/* eval_cond - one condition: adds to *score when weighted, else returns
 * whether it holds */
static bool
eval_cond(struct pm_ctx *ctx, const struct pm_recipe *rc, const struct pm_cond *c,
    double *score, bool *weighted)
{
	const char *p = c->text;
	struct str expanded, area;
	bool negate = false, result = false, head, body, w_on;
	bool reparsed = false;
	double w = 0, x = 0;
	size_t i;

	str_init(&expanded, 64);
	str_init(&area, 256);
	w_on = parse_weight(&p, &w, &x);
	if (w_on)
		*weighted = true;
	head = (rc->flags & PMF_H) || !(rc->flags & PMF_B);
	body = (rc->flags & PMF_B) != 0;
again:
	while (*p == '!') {
		negate = !negate;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (*p == '$' && !reparsed) {
		str_reset(&expanded);
		pm_expand_dq(ctx, p + 1, &expanded);
		p = expanded.s;
		while (*p == ' ' || *p == '\t')
			p++;
		reparsed = true;
		goto again;
	}
	if (*p == '?') {
		int st;
		const char *in;
		size_t n;

		p++;
		pm_msg_part(&ctx->msg, head, body, &in, &n);
		st = pm_run_program(ctx, p, in, n, NULL, NULL, NULL);
		ctx->last_exit = st;
		if (w_on) {
			if (negate)
				*score += series(w, x, st < 0 ? 1 : (unsigned long)st);
			else
				*score += st == 0 ? w : x;
		} else
			result = (st == 0) != negate;
		goto out;
	}
	if (*p == '<' || *p == '>') {
		char op = *p;
		/* the length as read: without the "\n" procmail adds */
		double lim = strtod(p + 1, NULL),
		    m = (double)(ctx->msg.data.len - (ctx->msg.padded ? 1 : 0));

		if (w_on) {
			if (lim > 0 && m > 0)
				*score += w * pow(op == '>' ? m / lim : lim / m, x);
		} else
			result = (op == '<' ? m < lim : m > lim) != negate;
		goto out;
	}
	{
		const char *src = NULL;
		struct pm_regex rx;
		char err[256], *match = NULL;
		const char *text;
		size_t tlen;

		/* "VAR ?? regexp" */
		for (i = 0; p[i] != '\0' && (p[i] == '_' || (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= 'a' && p[i] <= 'z') || (i > 0 && p[i] >= '0' && p[i] <= '9')); i++)
			;
		if (i > 0) {
			size_t j = i;

			while (p[j] == ' ' || p[j] == '\t')
				j++;
			if (p[j] == '?' && p[j + 1] == '?') {
				char *name = xstrndup(p, i);

				p += j + 2;
				while (*p == ' ' || *p == '\t')
					p++;
				if (strcmp(name, "H") == 0 || strcmp(name, "B") == 0 ||
				    strcmp(name, "HB") == 0 || strcmp(name, "BH") == 0) {
					head = strchr(name, 'H') != NULL;
					body = strchr(name, 'B') != NULL;
				} else {
					src = pm_var_get(ctx, name);
					if (src == NULL)
						src = "";
				}
				free(name);
			}
		}
		if (*p == '\\')
			p++;
		if (pm_regex_compile(&rx, p, (rc->flags & PMF_D) != 0, err, sizeof err) != 0) {
			struct str m;

			str_init(&m, 128);
			str_appendf(&m, "Invalid regexp \"%s\"", p);
			log_at(ctx, c->line, m.s);
			str_deinit(&m);
			/* a broken expression: the condition fails (a weighted
			 * one adds nothing) */
			result = false;
			goto out;
		}
		if (src != NULL) {
			text = src;
			tlen = strlen(src);
		} else {
			pm_msg_search(&ctx->msg, head, body, &area);
			text = area.s;
			tlen = area.len;
		}
		if (w_on) {
			unsigned long n = pm_regex_count(&rx, text, tlen, 1000000);

			if (negate)
				n = n > 0 ? 0 : 1;
			*score += series(w, x, n);
		} else {
			bool m = pm_regex_match(&rx, text, tlen, negate ? NULL : &match);

			result = m != negate;
			if (ctx->verbose)
				pm_log(ctx, "%s on \"%s\"", m ? "Match" : "No match", p);
			if (m && match != NULL) {
				pm_var_set(ctx, "MATCH", match);
				free(match);
			}
		}
		if (w_on && rx.split) {
			char *mt = NULL;

			if (pm_regex_match(&rx, text, tlen, &mt) && mt != NULL)
				pm_var_set(ctx, "MATCH", mt);
			free(mt);
		}
		pm_regex_free(&rx);
	}
out:
	str_deinit(&expanded);
	str_deinit(&area);
	return result;
}

static bool
eval_conditions(struct pm_ctx *ctx, const struct pm_recipe *rc)
{
	double score = 0;
	bool weighted = false, ok = true;
	size_t i;

	for (i = 0; i < rc->ncond; i++) {
		bool was_weighted = weighted, w_now = false;
		bool r = eval_cond(ctx, rc, &rc->conds[i], &score, &w_now);

		weighted = was_weighted || w_now;
		if (w_now) {
			if (score >= PM_SCORE_MAX)
				break;
			if (score <= -PM_SCORE_MAX) {
				ok = false;
				break;
			}
		} else if (!r) {
			ok = false;
			break;
		}
	}
	ctx->last_score = score;
	if (ok && weighted)
		ok = score > 0;
	return ok;
}

bool
pm_eval_conditions_dry(struct pm_ctx *ctx, const struct pm_recipe *rc)
{
	return eval_conditions(ctx, rc);
}

void
pm_exec_dry(struct pm_ctx *ctx, const struct pm_rc *rc)
{
	ctx->dry = true;
	exec_block(ctx, &rc->top);
}

/* implicit_lock - the lockfile of ":0:" without a name: the folder, or
 * the file after ">>" in a program line, with $LOCKEXT */
static char *
recipe_lock(struct pm_ctx *ctx, const struct pm_recipe *rc, const struct strvec *words)
{
	const char *ext = pm_var_get(ctx, "LOCKEXT");
	struct str s;

	if (!rc->local_lock)
		return NULL;
	if (ext == NULL)
		ext = ".lock";
	if (rc->lockfile != NULL) {
		str_init(&s, 64);
		pm_expand_word(ctx, rc->lockfile, &s);
		return str_export(&s);
	}
	if (words != NULL && words->n > 0)
		return xasprintf("%s%s", words->v[0], ext);
	if (rc->kind == PM_ACT_PIPE && rc->action != NULL) {
		const char *gg = strstr(rc->action, ">>");
		struct strvec w;
		char *r = NULL;

		if (gg != NULL) {
			strvec_init(&w);
			pm_expand_words(ctx, gg + 2, &w);
			if (w.n > 0)
				r = xasprintf("%s%s", w.v[0], ext);
			strvec_deinit(&w);
		}
		if (r == NULL)
			pm_log(ctx, "Couldn't determine implicit lockfile from \"%s\"", rc->action);
		return r;
	}
	return NULL;
}

static void
set_folder(struct pm_ctx *ctx, const char *shown, size_t size)
{
	free(ctx->last_folder);
	ctx->last_folder = xstrdup(shown);
	pm_var_set(ctx, "LASTFOLDER", shown);
	free(ctx->log_folder);
	ctx->log_folder = xstrdup(shown);
	ctx->log_size = size;
}

static bool
abstract_all(struct pm_ctx *ctx)
{
	const char *la = pm_var_get(ctx, "LOGABSTRACT");

	return la != NULL && strcasecmp(la, "all") == 0;
}

/* replace_part - a filter's output becomes the header, the body or both */
static void
replace_part(struct pm_ctx *ctx, bool head, bool body, const struct str *out)
{
	struct str n;
	const char *p;
	size_t len;

	str_init(&n, out->len + ctx->msg.data.len);
	if (head && body) {
		str_append_n(&n, out->s, out->len);
	} else if (head) {
		str_append_n(&n, out->s, out->len);
		if (n.len > 0 && n.s[n.len - 1] != '\n')
			str_append_c(&n, '\n');
		if (!(n.len >= 2 && n.s[n.len - 2] == '\n'))
			str_append_c(&n, '\n');
		pm_msg_part(&ctx->msg, false, true, &p, &len);
		str_append_n(&n, p, len);
	} else {
		pm_msg_part(&ctx->msg, true, false, &p, &len);
		str_append_n(&n, p, len);
		str_append_n(&n, out->s, out->len);
	}
	{
		bool was_padded = ctx->msg.padded;

		pm_msg_set(&ctx->msg, n.s, n.len);
		/* the body is the one read: its added "\n" is still procmail's */
		if (head && !body && was_padded)
			ctx->msg.padded = true;
	}
	str_deinit(&n);
}

/* act_pipe - | command, with f (filter), VAR=| (capture), w, W, i */
static bool
act_pipe(struct pm_ctx *ctx, const struct pm_recipe *rc, bool *delivering)
{
	bool head = (rc->flags & PMF_h) || !(rc->flags & PMF_b);
	bool body = (rc->flags & PMF_b) || !(rc->flags & PMF_h);
	bool wait_ok = (rc->flags & (PMF_w | PMF_W)) != 0;
	struct str out, shown;
	const char *in;
	size_t n;
	char *lock;
	int st;
	bool ok, capture = rc->capture != NULL, filter = (rc->flags & PMF_f) != 0;

	*delivering = !capture && !filter;
	pm_msg_part(&ctx->msg, head, body, &in, &n);
	if (rc->action == NULL || rc->action[strspn(rc->action, " \t")] == '\0') {
		/* a lone '|': the mail to stdout */
		ok = storage_write_full(1, in, n) == 0;
		if (ok)
			set_folder(ctx, "", n);
		return ok;
	}
	lock = recipe_lock(ctx, rc, NULL);
	if (lock != NULL && pm_lock_take(ctx, lock) != 0)
		XFREE(lock);
	str_init(&out, 1024);
	out.max = PM_MAX_CAPTURE;
	str_init(&shown, 128);
	st = pm_run_program(ctx, rc->action, in, n, (capture || filter) ? &out : NULL, NULL, &shown);
	if (lock != NULL) {
		pm_lock_release(ctx, lock);
		free(lock);
	}
	ctx->last_exit = st;
	ok = st >= 0 && !(wait_ok && st != 0) && !(pm_write_error && !(rc->flags & PMF_i));
	if (!ok && st > 0 && (rc->flags & PMF_w))
		pm_log(ctx, "Program failure (%d) of \"%s\"", st, shown.s);
	else if (!ok && st < 0)
		pm_log(ctx, "Failed forking \"%s\"", shown.s);
	if (ok && capture) {
		if (out.len > 0 && out.s[out.len - 1] == '\n')
			out.len--;
		out.s[out.len] = '\0';
		assign(ctx, rc->capture, out.s, rc->action_line);
	} else if (ok && filter) {
		replace_part(ctx, head, body, &out);
	} else if (ok) {
		set_folder(ctx, shown.s, n);
	}
	str_deinit(&out);
	str_deinit(&shown);
	return ok;
}

static bool
act_forward(struct pm_ctx *ctx, const struct pm_recipe *rc)
{
	bool head = (rc->flags & PMF_h) || !(rc->flags & PMF_b);
	bool body = (rc->flags & PMF_b) || !(rc->flags & PMF_h);
	struct strvec argv, addrs;
	struct str shown;
	const char *sm = pm_var_get(ctx, "SENDMAIL"), *fl = pm_var_get(ctx, "SENDMAILFLAGS");
	const char *in;
	size_t n, i, from = pm_msg_from_len(&ctx->msg);
	int st;
	bool ok;

	strvec_init(&argv);
	strvec_init(&addrs);
	pm_expand_words(ctx, rc->action != NULL ? rc->action : "", &addrs);
	if (addrs.n == 0) {
		log_at(ctx, rc->action_line, "Missing address");
		strvec_deinit(&argv);
		strvec_deinit(&addrs);
		return false;
	}
	strvec_push(&argv, sm != NULL && *sm ? sm : "/usr/sbin/sendmail");
	if (fl != NULL)
		pm_expand_words(ctx, fl, &argv);
	for (i = 0; i < addrs.n; i++)
		strvec_push(&argv, addrs.v[i]);
	pm_msg_part(&ctx->msg, head, body, &in, &n);
	if (head && from > 0) {
		in += from;
		n -= from;
	}
	st = pm_run_argv(ctx, argv.v, in, n, NULL);
	ctx->last_exit = st;
	str_init(&shown, 128);
	for (i = 0; i < argv.n; i++) {
		if (i > 0)
			str_append_c(&shown, ' ');
		str_append(&shown, argv.v[i]);
	}
	ok = st >= 0 && !((rc->flags & (PMF_w | PMF_W)) && st != 0);
	if (!ok && st > 0 && (rc->flags & PMF_w))
		pm_log(ctx, "Program failure (%d) of \"%s\"", st, argv.v[0]);
	if (ok)
		set_folder(ctx, shown.s, n);
	str_deinit(&shown);
	strvec_deinit(&argv);
	strvec_deinit(&addrs);
	return ok;
}

static bool
act_file(struct pm_ctx *ctx, const struct pm_recipe *rc)
{
	bool head = (rc->flags & PMF_h) || !(rc->flags & PMF_b);
	bool body = (rc->flags & PMF_b) || !(rc->flags & PMF_h);
	struct strvec words;
	char *lock;
	bool ok;

	strvec_init(&words);
	pm_expand_words(ctx, rc->action, &words);
	if (words.n == 0) {
		log_at(ctx, rc->action_line, "Missing action");
		strvec_deinit(&words);
		return false;
	}
	lock = recipe_lock(ctx, rc, &words);
	ok = pm_deliver_folders(ctx, &words, head, body, (rc->flags & PMF_r) != 0, lock) == 0;
	free(lock);
	strvec_deinit(&words);
	return ok;
}

static bool
act_block(struct pm_ctx *ctx, const struct pm_recipe *rc)
{
	pid_t pid;
	int status;

	if (!(rc->flags & PMF_c)) {
		exec_block(ctx, &rc->block);
		return true;
	}
	/* 'c' on a block: a clone runs it, the parent jumps across */
	if ((pid = fork()) < 0) {
		pm_log(ctx, "Failed forking");
		return false;
	}
	if (pid == 0) {
		ctx->is_clone = true;
		ctx->global_lock = NULL;	/* lockfiles are not inherited */
		exec_block(ctx, &rc->block);
		if (ctx->delivered && !abstract_all(ctx) &&
		    !(pm_var_get(ctx, "LOGABSTRACT") && !pm_var_bool(ctx, "LOGABSTRACT", true)))
			pm_log_abstract(ctx);
		_exit(ctx->delivered ? 0 : PM_EX_CANTCREAT);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
exec_recipe(struct pm_ctx *ctx, struct block_state *st, const struct pm_recipe *rc, int line)
{
	unsigned f = rc->flags;
	bool matched, ok = false, delivering = true;

	if (f & (PMF_A | PMF_a)) {
		if (!st->lastcond || ((f & PMF_a) && !st->prev_ok)) {
			st->prev_executed = st->prev_ok = st->prev_failed = false;
			return;
		}
	}
	if ((f & PMF_E) && st->prev_executed)
		return;		/* the else-chain stays taken */
	if ((f & PMF_e) && !st->prev_failed) {
		st->prev_executed = st->prev_ok = st->prev_failed = false;
		return;
	}
	matched = eval_conditions(ctx, rc);
	if (!(f & (PMF_A | PMF_a)))
		st->lastcond = matched;
	if (!matched) {
		st->prev_executed = st->prev_ok = st->prev_failed = false;
		return;
	}
	if (ctx->dry) {
		/* parse and match only: walk into blocks, run no action */
		if (rc->kind == PM_ACT_BLOCK)
			exec_block(ctx, &rc->block);
		st->prev_executed = st->prev_ok = true;
		st->prev_failed = false;
		return;
	}
	switch (rc->kind) {
	case PM_ACT_BLOCK:
		delivering = false;
		ok = act_block(ctx, rc);
		break;
	case PM_ACT_PIPE:
		ok = act_pipe(ctx, rc, &delivering);
		break;
	case PM_ACT_FORWARD:
		ok = act_forward(ctx, rc);
		break;
	case PM_ACT_FILE:
		if (rc->action == NULL) {
			log_at(ctx, line, "Missing action");
			ok = false;
			break;
		}
		ok = act_file(ctx, rc);
		break;
	}
	st->prev_executed = true;
	st->prev_ok = ok;
	st->prev_failed = !ok;
	if (ok && delivering) {
		if (abstract_all(ctx))
			pm_log_abstract(ctx);
		if (!(f & PMF_c)) {
			ctx->delivered = true;
			ctx->stop = true;
		}
	}
}

static void
exec_block(struct pm_ctx *ctx, const struct pm_block *b)
{
	struct block_state st = { 0 };
	size_t i;

	for (i = 0; i < b->n && !ctx->stop && !ctx->end_file; i++) {
		const struct pm_item *it = &b->items[i];

		switch (it->kind) {
		case PM_ITEM_DIAG:
			log_at(ctx, it->line, it->diag);
			break;
		case PM_ITEM_ASSIGN:
			if (it->value == NULL && ctx->dry)
				pm_var_unset(ctx, it->name);
			else if (it->value == NULL)
				assign(ctx, it->name, NULL, it->line);
			else {
				struct str v;

				str_init(&v, 64);
				if (!ctx->dry || strchr(it->value, '`') == NULL)
					pm_expand_word(ctx, it->value, &v);
				if (ctx->dry)
					pm_var_set(ctx, it->name, v.s);
				else
					assign(ctx, it->name, v.s, it->line);
				str_deinit(&v);
			}
			break;
		case PM_ITEM_RECIPE:
			exec_recipe(ctx, &st, it->recipe, it->line);
			break;
		}
	}
}

int
pm_exec_file(struct pm_ctx *ctx, const char *path, bool missing_ok)
{
	struct str text;
	struct pm_rc *rc;
	char *saved = ctx->rcfile;

	str_init(&text, 4096);
	if (file_read(path, PM_MAX_RCFILE, &text) != 0) {
		if (!missing_ok)
			pm_log(ctx, "Couldn't read \"%s\"", path);
		str_deinit(&text);
		return -1;
	}
	rc = pm_rc_parse(path, text.s, text.len);
	str_deinit(&text);
	ctx->rcfile = xstrdup(path);
	ctx->include_depth++;
	exec_block(ctx, &rc->top);
	ctx->include_depth--;
	free(ctx->rcfile);
	ctx->rcfile = saved;
	pm_rc_free(&rc);
	return 0;
}

/* deliver_default - DEFAULT, then ORGMAIL: the mail is never dropped */
static bool
deliver_default(struct pm_ctx *ctx)
{
	const char *names[2] = { pm_var_get(ctx, "DEFAULT"), pm_var_get(ctx, "ORGMAIL") };
	const char *ext = pm_var_get(ctx, "LOCKEXT");
	int i;

	for (i = 0; i < 2; i++) {
		struct strvec w;
		char *lock = NULL;
		struct stat sb;
		bool ok;

		if (names[i] == NULL || *names[i] == '\0')
			continue;
		if (i == 1 && names[0] != NULL && strcmp(names[0], names[1]) == 0)
			continue;
		strvec_init(&w);
		strvec_push(&w, names[i]);
		if (strcmp(names[i], "/dev/null") != 0 &&
		    names[i][strlen(names[i]) - 1] != '/' &&
		    !(stat(names[i], &sb) == 0 && S_ISDIR(sb.st_mode)))
			lock = xasprintf("%s%s", names[i], ext != NULL ? ext : ".lock");
		ok = pm_deliver_folders(ctx, &w, true, true, false, lock) == 0;
		free(lock);
		strvec_deinit(&w);
		if (ok)
			return true;
	}
	return false;
}

int
pm_finish(struct pm_ctx *ctx)
{
	const char *ec, *trap, *la;
	int code = PM_EX_OK;
	bool ok = ctx->delivered;

	if (!ok && !ctx->is_clone) {
		ok = deliver_default(ctx);
		if (ok && abstract_all(ctx))
			pm_log_abstract(ctx);
	}
	if (!ok && pm_var_bool(ctx, "DELIVERED", false))
		ok = true;
	if (!ok) {
		code = ctx->fail_soft ? PM_EX_TEMPFAIL : PM_EX_CANTCREAT;
		set_folder(ctx, ctx->fail_soft ? "**Requeued**" : "**Bounced**", 0);
	}
	la = pm_var_get(ctx, "LOGABSTRACT");
	if ((!ok || !abstract_all(ctx)) && ctx->log_folder != NULL) {
		bool want = la == NULL || *la == '\0' ? ctx->log_fd != 2 :
		    pm_var_bool(ctx, "LOGABSTRACT", false);

		if (want)
			pm_log_abstract(ctx);
	}
	ec = pm_var_get(ctx, "EXITCODE");
	trap = pm_var_get(ctx, "TRAP");
	if (trap != NULL && *trap != '\0') {
		struct str out;
		struct strvec argv;
		const char *sh = pm_var_get(ctx, "SHELL");
		int st;
		bool was_set = ec != NULL;
		bool empty = ec != NULL && *ec == '\0';

		if (!was_set) {
			char b[16];

			snprintf(b, sizeof b, "%d", code);
			pm_var_set(ctx, "EXITCODE", b);
		}
		str_init(&out, 256);
		strvec_init(&argv);
		strvec_push(&argv, sh != NULL && *sh ? sh : "/bin/sh");
		strvec_push(&argv, "-c");
		strvec_push(&argv, trap);
		st = pm_run_argv(ctx, argv.v, ctx->msg.data.s, ctx->msg.data.len, &out);
		pm_log_raw(ctx, out.s, out.len);
		str_deinit(&out);
		strvec_deinit(&argv);
		if (empty && st >= 0)
			code = st;
		ec = pm_var_get(ctx, "EXITCODE");
	}
	if (ec != NULL && *ec != '\0') {
		long v = strtol(ec, NULL, 10);

		if (v > 0 && v < 256)
			code = (int)v;
	}
	release_global_lock(ctx);
	return code;
}

void
pm_ctx_init(struct pm_ctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	strvec_init(&ctx->env);
	strvec_init(&ctx->args);
	str_init(&ctx->msg.data, 0);
	ctx->log_fd = 2;
	ctx->progname = "procmail";
}

void
pm_ctx_deinit(struct pm_ctx *ctx)
{
	strvec_deinit(&ctx->env);
	strvec_deinit(&ctx->args);
	pm_msg_deinit(&ctx->msg);
	if (ctx->log_fd != 2)
		close(ctx->log_fd);
	free(ctx->switch_to);
	free(ctx->last_folder);
	free(ctx->log_folder);
	free(ctx->global_lock);
	free(ctx->rcfile);
}
