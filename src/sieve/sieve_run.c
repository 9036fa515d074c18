/* sieve_run.c - the Sieve interpreter: walks a validated tree against a
 * message and an envelope, evaluating tests and collecting actions into a
 * result (sieve_result.c applies the conflict rules). Strings are expanded
 * here (variables, RFC 5229); the extensions' tests and actions that need
 * more than a few lines live in sieve_ext.c. Every run is bounded: steps,
 * include depth and count, variable sizes and counts.
 * Tests: tests/sieve/ (.svtest files), tests/unit/sieve/, fuzz/fuzz_sieve_run.c */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mem.h"
#include "lib/util.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve_run.h"

void
sieve_limits_default(struct sieve_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_script_size = 1024 * 1024;
	l->max_actions = 32;
	l->max_redirects = 4;
	l->max_nesting = 32;
	l->max_strlist = 1024;
	l->max_include_depth = 10;
	l->max_includes = 255;
	l->max_variables = 255;
	l->max_variable_size = 4096;
	l->max_steps = 1000000;
	l->duplicate_default_period = 14 * 86400;
	l->duplicate_max_period = 7 * 86400;
	l->editheader_max_header_size = 2048;
	l->vacation_min_period = 86400;
	l->vacation_max_period = 0;		/* Pigeonhole: no maximum */
	l->vacation_default_period = 7 * 86400;
}

struct sieve_script *
sieve_compile(const char *name, const char *text, size_t len, const struct sieve_limits *lim,
    const struct sieve_extset *exts, struct str *errors)
{
	struct sieve_script *sc;
	struct sv_errs e;

	memset(&e, 0, sizeof(e));
	e.out = errors;
	e.name = name;
	e.max = 20;
	if (len > lim->max_script_size) {
		sv_error(&e, 0, 0, "script is too large (max %zu bytes).", lim->max_script_size);
		return NULL;
	}
	sc = xcalloc(1, sizeof(*sc));
	sc->name = xstrdup(name);
	sc->limits = *lim;
	sc->enabled = *exts;
	if (sv_parse(text, len, lim, &e, &sc->cmds, &sc->ncmds) < 0) {
		if (errors != NULL)
			str_appendf(errors, "%s: error: parse failed.\n", name);
		sieve_script_free(&sc);
		return NULL;
	}
	if (sv_validate(sc, &e) < 0) {
		if (errors != NULL)
			str_appendf(errors, "%s: error: validation failed.\n", name);
		sieve_script_free(&sc);
		return NULL;
	}
	return sc;
}

void
sieve_script_free(struct sieve_script **scp)
{
	struct sieve_script *sc = *scp;

	if (sc == NULL)
		return;
	sv_nodes_free(sc->cmds, sc->ncmds);
	free(sc->name);
	free(sc);
	*scp = NULL;
}

const char *
sieve_script_name(const struct sieve_script *sc)
{
	return sc->name;
}

/* Variables. */
static struct sv_var *
var_find(struct sv_scope *sc, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		if (strlen(sc->v[i].name) == len && strncasecmp(sc->v[i].name, name, len) == 0)
			return &sc->v[i];
	return NULL;
}

static bool
is_global(struct sv_run *r, const char *name, size_t len)
{
	size_t i;

	if (len > 7 && strncasecmp(name, "global.", 7) == 0)
		return true;
	for (i = 0; i < r->nglobal_names; i++)
		if (strlen(r->global_names[i]) == len && strncasecmp(r->global_names[i], name, len) == 0)
			return true;
	return false;
}

struct sv_var *
sv_var_get(struct sv_run *r, const char *name, size_t len, bool create)
{
	struct sv_scope *sc = is_global(r, name, len) ? &r->globals : r->scope;
	struct sv_var *v;

	if (len > 7 && strncasecmp(name, "global.", 7) == 0)
		name += 7, len -= 7;
	v = var_find(sc, name, len);
	if (v != NULL || !create)
		return v;
	if (sc->n >= r->sc->limits.max_variables) {
		sv_run_error(r, r->line, "too many variables (max %u)", r->sc->limits.max_variables);
		return NULL;
	}
	if (sc->n % 16 == 0)
		sc->v = xreallocarray(sc->v, sc->n + 16, sizeof(*sc->v));
	v = &sc->v[sc->n++];
	v->name = xstrndup(name, len);
	str_init(&v->val, 16);
	return v;
}

void
sv_scope_free(struct sv_scope *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++) {
		free(sc->v[i].name);
		str_deinit(&sc->v[i].val);
	}
	free(sc->v);
	memset(sc, 0, sizeof(*sc));
}

void
sv_run_error(struct sv_run *r, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	if (r->errs == NULL)
		return;
	str_appendf(r->errs, "%s: line %u: error: ", r->sc->name, line);
	va_start(ap, fmt);
	str_vappendf(r->errs, fmt, ap);
	va_end(ap);
	str_append(r->errs, ".\n");
}

/* sv_run_warning - a run-time problem that does not stop the script (an
 * edit local policy forbids: RFC 5293 6 says it is ignored) */
void
sv_run_warning(struct sv_run *r, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (r->errs == NULL)
		return;
	str_appendf(r->errs, "%s: line %u: warning: ", r->sc->name, line);
	va_start(ap, fmt);
	str_vappendf(r->errs, fmt, ap);
	va_end(ap);
	str_append(r->errs, ".\n");
}

/* sv_expand - a string with ${...} expanded when variables is in use */
void
sv_expand(struct sv_run *r, const struct sv_string *s, struct str *out)
{
	size_t i = 0, max = r->sc->limits.max_variable_size * 16;

	str_reset(out);
	if (!s->vars || !(r->sc->exts.bits & (UINT64_C(1) << SV_EXT_VARIABLES))) {
		str_append_n(out, s->s, s->len);
		return;
	}
	while (i < s->len) {
		size_t j;
		bool num = true;

		if (s->s[i] != '$' || i + 2 >= s->len || s->s[i + 1] != '{') {
			str_append_c(out, s->s[i++]);
			continue;
		}
		for (j = i + 2; j < s->len && j - i < 80; j++) {
			char c = s->s[j];

			if (c == '}')
				break;
			if (!isalnum((unsigned char)c) && c != '_' && c != '.')
				break;
			if (!isdigit((unsigned char)c))
				num = false;
		}
		if (j >= s->len || s->s[j] != '}' || j == i + 2 ||
		    (!num && isdigit((unsigned char)s->s[i + 2]))) {
			str_append_c(out, s->s[i++]);
			continue;
		}
		if (num) {
			unsigned long k = strtoul(s->s + i + 2, NULL, 10);

			if (j - i - 2 < 4 && k < 10 && r->mv.set)
				str_append_n(out, r->mv.v[k].s, r->mv.v[k].len);
		} else {
			const char *nm = s->s + i + 2;
			size_t nl = j - i - 2;
			struct sv_var *v;
			const char *dot = memchr(nm, '.', nl);

			if (dot != NULL && !(nl > 7 && strncasecmp(nm, "global.", 7) == 0)) {
				/* a namespace: env.*, tst.*; unknown ones expand to "" */
				if (r->ns_lookup != NULL)
					r->ns_lookup(r, nm, nl, out);
			} else if ((v = sv_var_get(r, nm, nl, false)) != NULL)
				str_append_n(out, v->val.s, v->val.len);
		}
		i = j + 1;
		if (out->len > max)
			break;
	}
}

/* Steps and nodes. */
static int eval_test(struct sv_run *, const struct sv_node *);
static void run_block(struct sv_run *, const struct sv_node *, size_t);

static bool
step(struct sv_run *r, const struct sv_node *n)
{
	r->line = n->line;
	if (++r->steps > r->sc->limits.max_steps) {
		sv_run_error(r, n->line, "script ran too long (more than %llu steps)",
		    (unsigned long long)r->sc->limits.max_steps);
		return false;
	}
	return !r->failed;
}

/* the i-th item of a string list argument, expanded */
const char *
sv_arg_str(struct sv_run *r, const struct sv_arg *a, size_t i, struct str *buf)
{
	sv_expand(r, &a->v[i], buf);
	return buf->s;
}

/* sv_match_values - the heart of every match test: values against keys,
 * with :count and match variables. values: strvec of candidates. */
int
sv_match_values(struct sv_run *r, const struct sv_node *n, const struct strvec *vals,
    const struct sv_arg *keys)
{
	struct str k;
	size_t i, j;
	int rc = 0;
	struct sv_matchvars tmp, *mv = NULL;
	/* the body test sets no match variables (Pigeonhole's choice) */
	bool want_vars = (r->sc->exts.bits & (UINT64_C(1) << SV_EXT_VARIABLES)) != 0 &&
	    (n->match == SV_MATCH_MATCHES || n->match == SV_MATCH_REGEX) && n->id != SV_T_BODY;

	str_init(&k, 64);
	if (want_vars) {
		memset(&tmp, 0, sizeof(tmp));
		for (i = 0; i < 10; i++)
			str_init(&tmp.v[i], 16);
		mv = &tmp;
	}
	if (n->match == SV_MATCH_COUNT) {
		char cnt[32];

		snprintf(cnt, sizeof(cnt), "%zu", vals->n);
		for (j = 0; j < keys->n && rc == 0; j++) {
			sv_expand(r, &keys->v[j], &k);
			/* the count is compared under the test's comparator (RFC 5231 4.2) */
			rc = sv_relop(n->relop, sv_cmp_order(n->cmp, cnt, strlen(cnt), k.s, k.len));
		}
		goto out;
	}
	for (i = 0; i < vals->n && rc == 0; i++) {
		for (j = 0; j < keys->n && rc == 0; j++) {
			const char *err = NULL;

			sv_expand(r, &keys->v[j], &k);
			rc = sv_match(n, j, vals->v[i], strlen(vals->v[i]), k.s, k.len, mv, &err);
			if (rc < 0) {
				sv_run_error(r, n->line, "invalid regular expression '%s': %s", k.s, err);
				rc = 0;
				goto out;
			}
		}
	}
	if (rc > 0 && mv != NULL && mv->set) {
		/* a successful match replaces the match variables (RFC 5229 3.2) */
		for (i = 0; i < 10; i++) {
			str_reset(&r->mv.v[i]);
			str_append_n(&r->mv.v[i], tmp.v[i].s, tmp.v[i].len);
		}
		r->mv.set = true;
	}
out:
	if (mv != NULL)
		for (i = 0; i < 10; i++)
			str_deinit(&tmp.v[i]);
	str_deinit(&k);
	return rc;
}

/* header values of the current part (or the edited message), by name */
void
sv_header_values(struct sv_run *r, size_t part, const char *name, bool decoded,
    struct strvec *out)
{
	const struct sv_header *h;
	size_t n, i;

	if (part == 0 && r->res->ehdr_set) {
		h = r->res->ehdr;
		n = r->res->nehdr;
	} else
		h = sv_msg_headers(r->msg, part, &n);
	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			strvec_push(out, decoded ? h[i].decoded : h[i].value);
}

/* apply :index / :last to a value list (RFC 5260 6) */
void
sv_apply_index(struct sv_run *r, const struct sv_node *n, struct strvec *vals)
{
	struct sv_arg *ia;
	uint64_t idx;
	struct strvec one;
	size_t pick;

	if (sv_node_tag(n, ":index", &ia) == NULL)
		return;
	idx = ia->num;
	strvec_init(&one);
	if (idx >= 1 && idx <= vals->n) {
		pick = sv_has_tag(n, ":last") ? vals->n - idx : idx - 1;
		strvec_push(&one, vals->v[pick]);
	}
	strvec_deinit(vals);
	*vals = one;
}

static int
test_header(struct sv_run *r, const struct sv_node *n, bool address)
{
	struct strvec vals, raw;
	struct str name, part;
	size_t i, j;
	int rc;

	strvec_init(&vals);
	strvec_init(&raw);
	str_init(&name, 32);
	str_init(&part, 64);
	for (i = 0; i < n->pos[0]->n; i++) {
		sv_expand(r, &n->pos[0]->v[i], &name);
		if (sv_has_tag(n, ":mime") || sv_has_tag(n, ":anychild"))
			sv_mime_header_values(r, n, name.s, address, &raw);
		else
			sv_header_values(r, r->part, name.s, !address, &raw);
	}
	sv_apply_index(r, n, &raw);
	if (address) {
		const char *sep = r->env->delimiter != NULL && *r->env->delimiter != 0 ?
		    r->env->delimiter : "+";
		struct strvec addrs;

		strvec_init(&addrs);
		for (i = 0; i < raw.n; i++)
			sv_addr_list(raw.v[i], &addrs);
		for (j = 0; j < addrs.n; j++)
			if (sv_addr_part(addrs.v[j], n->addrpart, sep, &part))
				strvec_push(&vals, part.s);
		strvec_deinit(&addrs);
	} else if (sv_has_tag(n, ":type") || sv_has_tag(n, ":subtype") ||
	    sv_has_tag(n, ":contenttype") || sv_has_tag(n, ":param"))
		sv_mime_ct_values(r, n, &raw, &vals);
	else {
		strvec_deinit(&vals);
		vals = raw;
		strvec_init(&raw);
	}
	rc = sv_match_values(r, n, &vals, n->pos[1]);
	strvec_deinit(&vals);
	strvec_deinit(&raw);
	str_deinit(&name);
	str_deinit(&part);
	return rc;
}

static int
test_envelope(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals;
	struct str name, part;
	size_t i;
	int rc;

	strvec_init(&vals);
	str_init(&name, 16);
	str_init(&part, 64);
	for (i = 0; i < n->pos[0]->n; i++) {
		const char *v = NULL;

		sv_expand(r, &n->pos[0]->v[i], &name);
		if (strcasecmp(name.s, "from") == 0)
			v = r->env->env_from != NULL ? r->env->env_from : "";
		else if (strcasecmp(name.s, "to") == 0)
			v = r->env->env_to;
		else if (strcasecmp(name.s, "orig_to") == 0)
			v = r->env->env_orig_to != NULL ? r->env->env_orig_to : r->env->env_to;
		else if (strcasecmp(name.s, "auth") == 0)
			v = r->env->env_auth;
		if (v == NULL)
			continue;
		/* the null reverse-path is "" for :all, and has no parts */
		if (*v == 0 && n->addrpart != SV_ADDR_ALL)
			continue;
		if (sv_addr_part(v, n->addrpart, r->env->delimiter != NULL &&
		    *r->env->delimiter != 0 ? r->env->delimiter : "+", &part))
			strvec_push(&vals, part.s);
	}
	rc = sv_match_values(r, n, &vals, n->pos[1]);
	strvec_deinit(&vals);
	str_deinit(&name);
	str_deinit(&part);
	return rc;
}

static int
test_exists(struct sv_run *r, const struct sv_node *n)
{
	struct str name;
	size_t i;
	int rc = 1;

	str_init(&name, 32);
	for (i = 0; i < n->pos[0]->n && rc; i++) {
		struct strvec vals;

		strvec_init(&vals);
		sv_expand(r, &n->pos[0]->v[i], &name);
		if (sv_has_tag(n, ":mime") || sv_has_tag(n, ":anychild"))
			sv_mime_header_values(r, n, name.s, false, &vals);
		else
			sv_header_values(r, r->part, name.s, false, &vals);
		rc = vals.n > 0;
		strvec_deinit(&vals);
	}
	str_deinit(&name);
	return rc;
}

static int
test_string(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals;
	struct str s;
	size_t i;
	int rc;

	strvec_init(&vals);
	str_init(&s, 32);
	for (i = 0; i < n->pos[0]->n; i++) {
		sv_expand(r, &n->pos[0]->v[i], &s);
		/* :count counts non-empty strings only (RFC 5229 5) */
		if (n->match != SV_MATCH_COUNT || s.len > 0)
			strvec_push(&vals, s.s);
	}
	rc = sv_match_values(r, n, &vals, n->pos[1]);
	strvec_deinit(&vals);
	str_deinit(&s);
	return rc;
}

static int
eval_test(struct sv_run *r, const struct sv_node *n)
{
	size_t i;
	int rc;

	if (!step(r, n))
		return 0;
	switch (n->id) {
	case SV_T_TRUE:
		return 1;
	case SV_T_FALSE:
		return 0;
	case SV_T_NOT:
		return !eval_test(r, &n->tests[0]);
	case SV_T_ALLOF:
		for (i = 0; i < n->ntests; i++)
			if (!eval_test(r, &n->tests[i]) || r->failed)
				return 0;
		return 1;
	case SV_T_ANYOF:
		for (i = 0; i < n->ntests; i++) {
			rc = eval_test(r, &n->tests[i]);
			if (r->failed)
				return 0;
			if (rc)
				return 1;
		}
		return 0;
	case SV_T_ADDRESS:
		return test_header(r, n, true);
	case SV_T_HEADER:
		return test_header(r, n, false);
	case SV_T_ENVELOPE:
		return test_envelope(r, n);
	case SV_T_EXISTS:
		return test_exists(r, n);
	case SV_T_SIZE: {
		struct sv_arg *a;
		uint64_t size = r->msg->len;

		if (sv_node_tag(n, ":over", &a) != NULL)
			return size > a->num;
		sv_node_tag(n, ":under", &a);
		return size < a->num;
	}
	case SV_T_STRING:
		return test_string(r, n);
	default:
		return sv_ext_test(r, n);
	}
}

/* run_if - an if/elsif/else chain starting at cmds[*i] */
static void
run_if(struct sv_run *r, const struct sv_node *cmds, size_t n, size_t *i)
{
	bool taken = false;

	for (;;) {
		const struct sv_node *c = &cmds[*i];

		if (!taken) {
			if (c->id == SV_C_ELSE || eval_test(r, &c->tests[0])) {
				taken = true;
				if (!r->failed)
					run_block(r, c->block, c->nblock);
			}
		}
		if (r->failed || r->stopped)
			return;
		if (*i + 1 < n && (cmds[*i + 1].id == SV_C_ELSIF || cmds[*i + 1].id == SV_C_ELSE) &&
		    c->id != SV_C_ELSE) {
			(*i)++;
			continue;
		}
		return;
	}
}

static void
run_block(struct sv_run *r, const struct sv_node *cmds, size_t n)
{
	size_t i;

	for (i = 0; i < n && !r->failed && !r->stopped && !r->breaking; i++) {
		const struct sv_node *c = &cmds[i];

		if (!step(r, c))
			return;
		switch (c->id) {
		case SV_C_REQUIRE:
			break;
		case SV_C_IF:
			run_if(r, cmds, n, &i);
			break;
		case SV_C_ELSIF: case SV_C_ELSE:
			break;		/* reached only after a taken branch */
		case SV_C_STOP:
			r->stopped = true;
			r->stop_all = true;
			break;
		default:
			sv_ext_command(r, c);
			break;
		}
	}
}

/* sv_run_script - run one script's commands in r (include reuses it) */
void
sv_run_script(struct sv_run *r, const struct sieve_script *sc)
{
	const struct sieve_script *saved = r->sc;

	r->sc = sc;
	run_block(r, sc->cmds, sc->ncmds);
	r->sc = saved;
}

/* sv_run_block - for foreverypart */
void
sv_run_block(struct sv_run *r, const struct sv_node *cmds, size_t n)
{
	run_block(r, cmds, n);
}

int
sieve_run(const struct sieve_script *sc, struct sieve_msg *msg, const struct sieve_env *env,
    struct sieve_result *res, struct str *errors)
{
	struct sv_run r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.sc = sc;
	r.main = sc;
	r.msg = msg;
	r.env = env;
	r.res = res;
	r.errs = errors;
	r.now = env->now != 0 ? env->now : time(NULL);
	r.scope = &r.local;
	for (i = 0; i < 10; i++)
		str_init(&r.mv.v[i], 16);
	str_init(&r.flags, 32);
	/* the previous script's implicit keep flags (sieve_result_carry) */
	if (res->carry_flags && res->keep_flags != NULL) {
		for (i = 0; res->keep_flags[i] != NULL; i++) {
			if (i > 0)
				str_append_c(&r.flags, ' ');
			str_append(&r.flags, res->keep_flags[i]);
		}
		res->carry_flags = false;
	}
	r.ns_lookup = sv_ns_lookup_default;
	sv_run_script(&r, sc);
	if (!r.failed)
		sv_result_finish(&r);
	if (r.stop_all)
		res->stopped = true;
	for (i = 0; i < 10; i++)
		str_deinit(&r.mv.v[i]);
	str_deinit(&r.flags);
	sv_scope_free(&r.local);
	sv_scope_free(&r.globals);
	for (i = 0; i < r.nglobal_names; i++)
		free(r.global_names[i]);
	free(r.global_names);
	for (i = 0; i < r.nincluded; i++) {
		free(r.included[i].name);
		sieve_script_free(&r.included[i].sc);
	}
	free(r.included);
	return r.failed ? SIEVE_ERROR : SIEVE_OK;
}
