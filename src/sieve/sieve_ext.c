/* sieve_ext.c - the actions of RFC 5228 and the extensions' tests and
 * commands: fileinto, redirect, reject/ereject, vacation, variables (set,
 * modifiers), imap4flags, include/return/global, editheader, body, date,
 * mailbox, duplicate, environment, spamtest/virustest, mime/foreverypart/
 * extracttext, enotify, ihave/error, special-use; the testsuite's commands
 * go to the tool through env->testsuite. Tests: tests/sieve/ (.svtest files) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mem.h"
#include "lib/util.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve_run.h"

static bool
req(const struct sv_run *r, int ext)
{
	return (r->sc->exts.bits & (UINT64_C(1) << ext)) != 0;
}

static char *
arg_dup(struct sv_run *r, const struct sv_arg *a, size_t i)
{
	struct str b;

	str_init(&b, 64);
	sv_expand(r, &a->v[i], &b);
	return str_export(&b);
}

static char *
tag_str(struct sv_run *r, const struct sv_node *n, const char *tag)
{
	struct sv_arg *a;

	if (sv_node_tag(n, tag, &a) == NULL || a == NULL)
		return NULL;
	return arg_dup(r, a, 0);
}

/* Flags (RFC 5232): a space-separated set; system flags case-insensitive */
static bool
flag_in(const char *set, const char *f, size_t fl)
{
	const char *p = set;

	while (*p != 0) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == fl && strncasecmp(p, f, fl) == 0)
			return true;
		p += n;
	}
	return false;
}

/* flags_add - add each flag of list (space separated) not in set */
static void
flags_add(struct str *set, const char *list)
{
	const char *p = list;

	while (*p != 0) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n > 0 && !flag_in(set->s, p, n)) {
			if (set->len > 0)
				str_append_c(set, ' ');
			str_append_n(set, p, n);
		}
		p += n;
	}
}

static void
flags_remove(struct str *set, const char *list)
{
	struct str out;
	const char *p = set->s;

	str_init(&out, set->len + 1);
	while (*p != 0) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n > 0 && !flag_in(list, p, n)) {
			if (out.len > 0)
				str_append_c(&out, ' ');
			str_append_n(&out, p, n);
		}
		p += n;
	}
	str_reset(set);
	str_append_n(set, out.s, out.len);
	str_deinit(&out);
}

/* flags_of_list - every string of a list argument, expanded, as one set */
static void
flags_of_list(struct sv_run *r, const struct sv_arg *a, struct str *out)
{
	struct str b;
	size_t i;

	str_init(&b, 32);
	for (i = 0; i < a->n; i++) {
		sv_expand(r, &a->v[i], &b);
		flags_add(out, b.s);
	}
	str_deinit(&b);
}

static char **
flags_vec(const char *set)
{
	struct strvec v;
	const char *p = set;

	strvec_init(&v);
	while (*p != 0) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n > 0)
			strvec_push_take(&v, xstrndup(p, n));
		p += n;
	}
	if (v.n == 0) {
		strvec_deinit(&v);
		return NULL;
	}
	return v.v;
}

/* the flags a keep or fileinto stores with: :flags, else the internal
 * variable (when imap4flags is in use) */
static char **
store_flags(struct sv_run *r, const struct sv_node *n)
{
	struct sv_arg *a;
	struct str s;
	char **v;

	if (!req(r, SV_EXT_IMAP4FLAGS))
		return NULL;
	str_init(&s, 32);
	if (sv_node_tag(n, ":flags", &a) != NULL)
		flags_of_list(r, a, &s);
	else
		str_append_n(&s, r->flags.s, r->flags.len);
	v = flags_vec(s.s);
	str_deinit(&s);
	return v;
}

static struct str *
flag_var(struct sv_run *r, const struct sv_node *n, size_t i, bool create)
{
	struct sv_var *v;
	struct str name;

	if (n->pos[0] == NULL)
		return &r->flags;
	str_init(&name, 32);
	sv_expand(r, &n->pos[0]->v[i], &name);
	v = sv_var_get(r, name.s, name.len, create);
	str_deinit(&name);
	return v != NULL ? &v->val : NULL;
}

static void
cmd_flags(struct sv_run *r, const struct sv_node *n)
{
	struct str list, *var;

	str_init(&list, 32);
	flags_of_list(r, n->pos[1], &list);
	var = flag_var(r, n, 0, true);
	if (var != NULL) {
		if (n->id == SV_C_SETFLAG) {
			str_reset(var);
			flags_add(var, list.s);
		} else if (n->id == SV_C_ADDFLAG)
			flags_add(var, list.s);
		else
			flags_remove(var, list.s);
	}
	str_deinit(&list);
}

static int
test_hasflag(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals;
	struct str all;
	size_t i, nv = n->pos[0] != NULL ? n->pos[0]->n : 1;
	int rc;

	strvec_init(&vals);
	str_init(&all, 32);
	for (i = 0; i < nv; i++) {
		struct str *v = flag_var(r, n, i, false);

		if (v != NULL)
			flags_add(&all, v->s);
	}
	{
		const char *p = all.s;

		while (*p != 0) {
			size_t k = strcspn(p, " ");

			if (k > 0)
				strvec_push_take(&vals, xstrndup(p, k));
			p += k;
			while (*p == ' ')
				p++;
		}
	}
	if (n->match == SV_MATCH_COUNT || n->match == SV_MATCH_VALUE)
		rc = sv_match_values(r, n, &vals, n->pos[1]);
	else {
		/* each key is itself a flag list: match flag by flag */
		struct strvec keys;
		struct sv_arg ka;
		struct sv_string *ks;
		size_t j;

		strvec_init(&keys);
		for (j = 0; j < n->pos[1]->n; j++) {
			struct str b;
			const char *p;

			str_init(&b, 32);
			sv_expand(r, &n->pos[1]->v[j], &b);
			p = b.s;
			while (*p != 0) {
				size_t k = strcspn(p, " ");

				if (k > 0)
					strvec_push_take(&keys, xstrndup(p, k));
				p += k;
				while (*p == ' ')
					p++;
			}
			str_deinit(&b);
		}
		memset(&ka, 0, sizeof(ka));
		ks = xcalloc(keys.n + 1, sizeof(*ks));
		for (j = 0; j < keys.n; j++) {
			ks[j].s = keys.v[j];
			ks[j].len = strlen(keys.v[j]);
		}
		ka.v = ks;
		ka.n = keys.n;
		ka.kind = SV_ARG_STRINGS;
		rc = sv_match_values(r, n, &vals, &ka);
		free(ks);
		strvec_deinit(&keys);
	}
	strvec_deinit(&vals);
	str_deinit(&all);
	return rc;
}

/* set modifiers (RFC 5229 4.1), applied by precedence */
static void
apply_modifiers(struct sv_run *r, const struct sv_node *n, struct str *v)
{
	size_t i;

	if (sv_has_tag(n, ":lower"))
		for (i = 0; i < v->len; i++)
			v->s[i] = (char)tolower((unsigned char)v->s[i]);
	if (sv_has_tag(n, ":upper"))
		for (i = 0; i < v->len; i++)
			v->s[i] = (char)toupper((unsigned char)v->s[i]);
	if (sv_has_tag(n, ":lowerfirst") && v->len > 0)
		v->s[0] = (char)tolower((unsigned char)v->s[0]);
	if (sv_has_tag(n, ":upperfirst") && v->len > 0)
		v->s[0] = (char)toupper((unsigned char)v->s[0]);
	if (sv_has_tag(n, ":quotewildcard") || sv_has_tag(n, ":quoteregex")) {
		const char *special = sv_has_tag(n, ":quoteregex") ? "\\^$.[]|()?*+{}" : "*?\\";
		struct str o;

		str_init(&o, v->len * 2 + 1);
		for (i = 0; i < v->len; i++) {
			if (strchr(special, v->s[i]) != NULL && v->s[i] != 0)
				str_append_c(&o, '\\');
			str_append_c(&o, v->s[i]);
		}
		str_reset(v);
		str_append_n(v, o.s, o.len);
		str_deinit(&o);
	}
	if (sv_has_tag(n, ":encodeurl")) {
		struct str o;

		str_init(&o, v->len * 3 + 1);
		for (i = 0; i < v->len; i++) {
			unsigned char c = (unsigned char)v->s[i];

			if (isalnum(c) || strchr("-._~", c) != NULL)
				str_append_c(&o, c);
			else
				str_appendf(&o, "%%%02X", c);
		}
		str_reset(v);
		str_append_n(v, o.s, o.len);
		str_deinit(&o);
	}
	if (sv_has_tag(n, ":length")) {
		size_t chars = 0;

		/* characters, not octets: count UTF-8 lead bytes */
		for (i = 0; i < v->len; i++)
			if (((unsigned char)v->s[i] & 0xc0) != 0x80)
				chars++;
		str_reset(v);
		str_appendf(v, "%zu", chars);
	}
}

static void
var_assign(struct sv_run *r, const struct sv_node *n, const char *name, struct str *val)
{
	struct sv_var *v = sv_var_get(r, name, strlen(name), true);
	size_t max = r->sc->limits.max_variable_size;

	if (v == NULL)
		return;
	if (val->len > max) {
		/* truncate at a character boundary */
		size_t l = max;

		while (l > 0 && ((unsigned char)val->s[l] & 0xc0) == 0x80)
			l--;
		str_truncate(val, l);
	}
	str_reset(&v->val);
	str_append_n(&v->val, val->s, val->len);
}

static void
cmd_set(struct sv_run *r, const struct sv_node *n)
{
	struct str name, val;

	str_init(&name, 32);
	str_init(&val, 64);
	sv_expand(r, &n->pos[0]->v[0], &name);
	sv_expand(r, &n->pos[1]->v[0], &val);
	apply_modifiers(r, n, &val);
	var_assign(r, n, name.s, &val);
	str_deinit(&name);
	str_deinit(&val);
}

static void
add_action(struct sv_run *r, const struct sv_node *n, enum sieve_action_kind k, char *target)
{
	struct sieve_action a;

	memset(&a, 0, sizeof(a));
	a.kind = k;
	a.target = target;
	a.line = n->line;
	a.copy = sv_has_tag(n, ":copy");
	(void)sv_result_add(r, &a);
}

static bool
mailbox_name_ok(const char *s)
{
	size_t i;

	/* "" is accepted (Pigeonhole does; delivery then falls back to INBOX) */
	if (strlen(s) > 255)
		return false;
	for (i = 0; s[i] != 0; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void
cmd_store(struct sv_run *r, const struct sv_node *n)
{
	struct sieve_action a;

	memset(&a, 0, sizeof(a));
	a.kind = n->id == SV_C_KEEP ? SIEVE_ACT_KEEP : SIEVE_ACT_FILEINTO;
	a.line = n->line;
	if (n->id == SV_C_KEEP)
		a.target = xstrdup(r->env->default_mailbox != NULL ? r->env->default_mailbox :
		    "INBOX");
	else {
		a.target = arg_dup(r, n->pos[0], 0);
		if (!mailbox_name_ok(a.target)) {
			sv_run_error(r, n->line, "fileinto command: invalid folder name '%s' specified",
			    a.target);
			free(a.target);
			return;
		}
		a.copy = sv_has_tag(n, ":copy");
		a.create = sv_has_tag(n, ":create");
		a.special_use = tag_str(r, n, ":specialuse");
	}
	a.flags = store_flags(r, n);
	(void)sv_result_add(r, &a);
}

static bool
addr_ok(const char *a)
{
	const char *at = strrchr(a, '@');
	size_t i;

	if (at == NULL || at == a || at[1] == 0 || strlen(a) > 998)
		return false;
	for (i = 0; a[i] != 0; i++)
		if ((unsigned char)a[i] <= 0x20 || a[i] == '<' || a[i] == '>' || a[i] == ',')
			return false;
	return true;
}

static void
cmd_redirect(struct sv_run *r, const struct sv_node *n)
{
	char *to = arg_dup(r, n->pos[0], 0);

	if (!addr_ok(to)) {
		sv_run_error(r, n->line, "specified redirect address '%s' is invalid", to);
		free(to);
		return;
	}
	add_action(r, n, SIEVE_ACT_REDIRECT, to);
}

static void
cmd_vacation(struct sv_run *r, const struct sv_node *n)
{
	struct sieve_action a;
	struct sv_arg *x;
	const struct sieve_limits *l = &r->sc->limits;

	memset(&a, 0, sizeof(a));
	a.kind = SIEVE_ACT_VACATION;
	a.line = n->line;
	a.body = arg_dup(r, n->pos[0], 0);
	a.subject = tag_str(r, n, ":subject");
	a.from = tag_str(r, n, ":from");
	a.handle = tag_str(r, n, ":handle");
	a.mime = sv_has_tag(n, ":mime");
	a.seconds = l->vacation_default_period;
	if (sv_node_tag(n, ":days", &x) != NULL)
		a.seconds = x->num * 86400;
	else if (sv_node_tag(n, ":seconds", &x) != NULL)
		a.seconds = x->num;
	/* the site's bounds (sieve_vacation_min/max_period, max 0 = none);
	 * :seconds 0 means "always reply" (RFC 6131 2) and stays 0 */
	if (a.seconds < l->vacation_min_period && (a.seconds > 0 || !sv_has_tag(n, ":seconds")))
		a.seconds = l->vacation_min_period;
	if (l->vacation_max_period > 0 && a.seconds > l->vacation_max_period)
		a.seconds = l->vacation_max_period;
	if (sv_node_tag(n, ":addresses", &x) != NULL) {
		struct strvec v;
		size_t i;

		strvec_init(&v);
		for (i = 0; i < x->n; i++)
			strvec_push_take(&v, arg_dup(r, x, i));
		a.addresses = v.v;
	}
	if (a.handle == NULL) {
		/* made from the strings as written, before variables expand, as
		 * Pigeonhole does: the same rule answers each sender once */
		struct str h;
		struct sv_arg *sa;

		str_init(&h, 64);
		str_append(&h, n->pos[0]->v[0].s);
		if (sv_node_tag(n, ":subject", &sa) != NULL)
			str_append(&h, sa->v[0].s);
		else
			str_append(&h, "<default-subject>");
		if (sv_node_tag(n, ":from", &sa) != NULL)
			str_append(&h, sa->v[0].s);
		else
			str_append(&h, "<default-from>");
		str_append(&h, a.mime ? "<MIME>" : "<NO-MIME>");
		a.handle = str_export(&h);
	}
	(void)sv_result_add(r, &a);
}

static void
cmd_notify(struct sv_run *r, const struct sv_node *n)
{
	struct sieve_action a;
	struct sv_arg *x;

	memset(&a, 0, sizeof(a));
	a.kind = SIEVE_ACT_NOTIFY;
	a.line = n->line;
	a.target = arg_dup(r, n->pos[0], 0);
	a.from = tag_str(r, n, ":from");
	a.importance = tag_str(r, n, ":importance");
	a.message = tag_str(r, n, ":message");
	{
		/* mailto:addr[?headers]; the address part may be empty when the
		 * headers name the recipients */
		bool ok = strncasecmp(a.target, "mailto:", 7) == 0;

		if (ok) {
			size_t q = strcspn(a.target + 7, "?");
			char *addr = xstrndup(a.target + 7, q);

			ok = q == 0 ? a.target[7] == '?' : addr_ok(addr);
			free(addr);
		}
		if (!ok) {
			sv_run_error(r, n->line, "notify action: invalid or unsupported notification "
			    "method '%s'", a.target);
			sv_action_clear(&a);
			return;
		}
	}
	if (a.importance != NULL && (strlen(a.importance) != 1 || a.importance[0] < '1' ||
	    a.importance[0] > '3')) {
		sv_run_error(r, n->line, "notify action: invalid :importance value '%s'",
		    a.importance);
		sv_action_clear(&a);
		return;
	}
	if (sv_node_tag(n, ":options", &x) != NULL) {
		struct strvec v;
		size_t i;

		strvec_init(&v);
		for (i = 0; i < x->n; i++)
			strvec_push_take(&v, arg_dup(r, x, i));
		a.addresses = v.v;
	}
	(void)sv_result_add(r, &a);
}

/* include (RFC 6609) */
static void
cmd_include(struct sv_run *r, const struct sv_node *n)
{
	char *name = arg_dup(r, n->pos[0], 0);
	bool global = n->include_global;
	struct sieve_script *sc = NULL;
	size_t i;
	bool saved_stop;
	struct sv_scope local, *saved_scope;
	struct str text, errs;
	int rc;

	for (i = 0; i < r->nincluded; i++)
		if (strcmp(r->included[i].name, name) == 0 && r->included[i].global == global)
			break;
	if (i < r->nincluded) {
		if (n->include_once) {
			free(name);
			return;
		}
		sc = r->included[i].sc;
	}
	if (r->include_depth >= r->sc->limits.max_include_depth) {
		sv_run_error(r, n->line, "include: nesting depth exceeds the limit (%u); a script "
		    "includes itself", r->sc->limits.max_include_depth);
		free(name);
		return;
	}
	if (sc == NULL) {
		if (r->nincluded >= r->sc->limits.max_includes) {
			sv_run_error(r, n->line, "include: too many included scripts (max %u)",
			    r->sc->limits.max_includes);
			free(name);
			return;
		}
		str_init(&text, 1024);
		rc = r->env->loader != NULL ?
		    r->env->loader->load(r->env->loader->ctx, name, global, &text) : 0;
		if (rc <= 0) {
			str_deinit(&text);
			if (rc == 0 && n->include_optional) {
				free(name);
				return;
			}
			sv_run_error(r, n->line, "include: %s script '%s' %s", global ? "global" :
			    "personal", name, rc == 0 ? "not found" : "could not be read");
			free(name);
			return;
		}
		str_init(&errs, 256);
		sc = sieve_compile(name, text.s, text.len, &r->sc->limits, &r->main->enabled, &errs);
		str_deinit(&text);
		if (sc == NULL) {
			if (r->errs != NULL)
				str_append_n(r->errs, errs.s, errs.len);
			str_deinit(&errs);
			sv_run_error(r, n->line, "include: failed to compile included script '%s'",
			    name);
			free(name);
			return;
		}
		str_deinit(&errs);
		if (r->nincluded % 8 == 0)
			r->included = xreallocarray(r->included, r->nincluded + 8,
			    sizeof(*r->included));
		r->included[r->nincluded].name = name;
		r->included[r->nincluded].global = global;
		r->included[r->nincluded].sc = sc;
		r->nincluded++;
		name = NULL;
	}
	free(name);
	/* an included script has its own variables; "global" ones are shared */
	memset(&local, 0, sizeof(local));
	saved_scope = r->scope;
	r->scope = &local;
	r->include_depth++;
	saved_stop = r->stopped;
	sv_run_script(r, sc);
	r->include_depth--;
	r->scope = saved_scope;
	sv_scope_free(&local);
	/* return ends the included script only; stop ends everything */
	r->stopped = r->stop_all ? true : saved_stop;
}

static void
cmd_global(struct sv_run *r, const struct sv_node *n)
{
	size_t i, j;

	for (i = 0; i < n->pos[0]->n; i++) {
		const char *nm = n->pos[0]->v[i].s;

		for (j = 0; j < r->nglobal_names; j++)
			if (strcasecmp(r->global_names[j], nm) == 0)
				break;
		if (j < r->nglobal_names)
			continue;
		if (r->nglobal_names >= r->sc->limits.max_variables) {
			sv_run_error(r, n->line, "too many global variables");
			return;
		}
		r->global_names = xreallocarray(r->global_names, r->nglobal_names + 1,
		    sizeof(char *));
		r->global_names[r->nglobal_names++] = xstrdup(nm);
	}
}

/* editheader (RFC 5293) */
static void
ehdr_init(struct sv_run *r)
{
	struct sieve_result *res = r->res;
	const struct sv_header *h;
	size_t n, i;

	if (res->ehdr_set)
		return;
	h = sv_msg_headers(r->msg, 0, &n);
	res->ehdr = xcalloc(n + 1, sizeof(*res->ehdr));
	for (i = 0; i < n; i++) {
		res->ehdr[i].name = xstrdup(h[i].name);
		res->ehdr[i].value = xstrdup(h[i].value);
		res->ehdr[i].decoded = xstrdup(h[i].decoded);
	}
	res->nehdr = n;
	res->ehdr_set = true;
}

static bool
header_protected(const char *name)
{
	return strcasecmp(name, "received") == 0 || strcasecmp(name, "auto-submitted") == 0;
}

static void
cmd_addheader(struct sv_run *r, const struct sv_node *n)
{
	struct sieve_result *res = r->res;
	char *name = arg_dup(r, n->pos[0], 0), *value = arg_dup(r, n->pos[1], 0);
	struct str dec;
	size_t at, i;

	for (i = 0; name[i] != 0; i++)
		if ((unsigned char)name[i] <= 32 || name[i] == ':' || (unsigned char)name[i] >= 127)
			break;
	if (name[0] == 0 || name[i] != 0 || header_protected(name) || strlen(value) > 998 * 10) {
		if (header_protected(name))
			; /* RFC 5293 6: silently not added */
		else
			sv_run_error(r, n->line, "addheader action: specified field name '%s' is "
			    "invalid", name);
		free(name);
		free(value);
		return;
	}
	ehdr_init(r);
	if (res->nehdr >= 2000) {
		sv_run_error(r, n->line, "addheader action: too many header fields");
		free(name);
		free(value);
		return;
	}
	res->ehdr = xreallocarray(res->ehdr, res->nehdr + 1, sizeof(*res->ehdr));
	at = sv_has_tag(n, ":last") ? res->nehdr : 0;
	memmove(&res->ehdr[at + 1], &res->ehdr[at], (res->nehdr - at) * sizeof(*res->ehdr));
	res->ehdr[at].name = name;
	res->ehdr[at].value = value;
	str_init(&dec, strlen(value) + 1);
	sv_rfc2047_decode(value, strlen(value), &dec);
	res->ehdr[at].decoded = str_export(&dec);
	res->nehdr++;
}

static void
cmd_deleteheader(struct sv_run *r, const struct sv_node *n)
{
	struct sieve_result *res = r->res;
	char *name = arg_dup(r, n->pos[0], 0);
	struct sv_arg *ia = NULL;
	size_t i, occ = 0, total = 0, k;

	if (header_protected(name)) {
		free(name);
		return;
	}
	ehdr_init(r);
	sv_node_tag(n, ":index", &ia);
	for (i = 0; i < res->nehdr; i++)
		if (strcasecmp(res->ehdr[i].name, name) == 0)
			total++;
	for (i = 0, k = 0; i < res->nehdr; ) {
		struct sv_header *h = &res->ehdr[i];
		bool del = false;

		if (strcasecmp(h->name, name) == 0) {
			occ++;
			del = true;
			if (ia != NULL) {
				uint64_t want = sv_has_tag(n, ":last") ? total - ia->num + 1 : ia->num;

				del = occ == want;
			}
			if (del && n->npos > 1 && n->pos[1] != NULL) {
				struct strvec vals;

				strvec_init(&vals);
				strvec_push(&vals, h->decoded);
				del = sv_match_values(r, n, &vals, n->pos[1]) > 0;
				strvec_deinit(&vals);
			}
		}
		if (del) {
			free(h->name);
			free(h->value);
			free(h->decoded);
			memmove(h, h + 1, (res->nehdr - i - 1) * sizeof(*h));
			res->nehdr--;
			k++;
		} else
			i++;
	}
	free(name);
}

/* MIME (RFC 5703) */
static bool
part_in_scope(struct sv_run *r, const struct sv_node *n, size_t p)
{
	size_t q;

	if (!sv_has_tag(n, ":anychild"))
		return p == r->part;
	/* the current part and every part below it */
	for (q = p; ; ) {
		if (q == r->part)
			return true;
		if (r->msg->parts[q].parent < 0)
			return false;
		q = (size_t)r->msg->parts[q].parent;
	}
}

void
sv_mime_header_values(struct sv_run *r, const struct sv_node *n, const char *name, bool raw,
    struct strvec *out)
{
	size_t p;

	for (p = 0; p < r->msg->nparts; p++)
		if (part_in_scope(r, n, p))
			sv_header_values(r, p, name, !raw, out);
}

void
sv_mime_ct_values(struct sv_run *r, const struct sv_node *n, const struct strvec *in,
    struct strvec *out)
{
	size_t i;
	struct sv_arg *pa;

	for (i = 0; i < in->n; i++) {
		const char *v = in->v[i];
		size_t tl = strcspn(v, ";");
		char *ct = xstrndup(v, tl), *sl, *e;

		for (e = ct + strlen(ct); e > ct && isspace((unsigned char)e[-1]); e--)
			e[-1] = 0;
		while (*ct == ' ' || *ct == '\t')
			memmove(ct, ct + 1, strlen(ct));
		sl = strchr(ct, '/');
		if (sv_has_tag(n, ":type"))
			strvec_push_take(out, xstrndup(ct, sl != NULL ? (size_t)(sl - ct) : strlen(ct)));
		else if (sv_has_tag(n, ":subtype")) {
			if (sl != NULL)
				strvec_push(out, sl + 1);
		} else if (sv_has_tag(n, ":contenttype"))
			strvec_push(out, ct);
		else if (sv_node_tag(n, ":param", &pa) != NULL) {
			size_t j;

			for (j = 0; j < pa->n; j++) {
				const char *p = strchr(v, ';');
				size_t nl = pa->v[j].len;

				while (p != NULL) {
					p++;
					while (*p == ' ' || *p == '\t')
						p++;
					if (strncasecmp(p, pa->v[j].s, nl) == 0 && p[nl] == '=') {
						const char *q = p + nl + 1;
						size_t ql;

						if (*q == '"') {
							q++;
							ql = strcspn(q, "\"");
						} else
							ql = strcspn(q, "; \t");
						strvec_push_take(out, xstrndup(q, ql));
					}
					p = strchr(p, ';');
				}
			}
		}
		free(ct);
	}
}

static void
cmd_foreverypart(struct sv_run *r, const struct sv_node *n)
{
	size_t saved = r->part, p;
	const char *saved_name = r->loop_name;
	bool saved_in = r->in_foreverypart;
	char *name = tag_str(r, n, ":name");

	r->loop_name = name;
	r->in_foreverypart = true;
	for (p = 0; p < r->msg->nparts && !r->failed && !r->stopped; p++) {
		size_t q = p;
		/* the outermost loop visits every part, the message itself first;
		 * a nested one the parts below its loop's current part (RFC 5703 3) */
		bool below = !saved_in;

		while (!below && r->msg->parts[q].parent >= 0) {
			q = (size_t)r->msg->parts[q].parent;
			if (q == saved) {
				below = true;
				break;
			}
		}
		if (!below)
			continue;
		r->part = p;
		sv_run_block(r, n->block, n->nblock);
		if (r->breaking) {
			bool mine = r->break_name == NULL ||
			    (name != NULL && strcmp(r->break_name, name) == 0);

			if (mine) {
				r->breaking = false;
				free(r->break_name);
				r->break_name = NULL;
			}
			break;
		}
	}
	r->part = saved;
	r->loop_name = saved_name;
	r->in_foreverypart = saved_in;
	free(name);
}

static void
cmd_extracttext(struct sv_run *r, const struct sv_node *n)
{
	struct str body, name;
	struct sv_arg *fa;

	if (!r->in_foreverypart) {
		sv_run_error(r, n->line, "extracttext action used outside a foreverypart loop");
		return;
	}
	str_init(&body, 256);
	str_init(&name, 32);
	if (strncmp(r->msg->parts[r->part].ctype, "text/", 5) == 0 &&
	    !r->msg->parts[r->part].multipart)
		sv_part_decoded_body(r->msg, r->part, &body);
	if (sv_node_tag(n, ":first", &fa) != NULL && body.len > fa->num)
		str_truncate(&body, (size_t)fa->num);
	apply_modifiers(r, n, &body);
	sv_expand(r, &n->pos[0]->v[0], &name);
	var_assign(r, n, name.s, &body);
	str_deinit(&body);
	str_deinit(&name);
}

/* body (RFC 5173) */
static int
test_body(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals;
	struct sv_arg *ca = NULL;
	size_t p;
	int rc;

	strvec_init(&vals);
	if (sv_has_tag(n, ":raw")) {
		const struct sv_part *top = &r->msg->parts[0];

		strvec_push_take(&vals, xstrndup(top->body, top->body_len));
	} else {
		bool content = sv_node_tag(n, ":content", &ca) != NULL;

		for (p = 0; p < r->msg->nparts; p++) {
			const struct sv_part *pt = &r->msg->parts[p];
			bool want = false;
			size_t j;

			if (pt->is_message && !content)
				continue;
			if (!content)
				want = !pt->multipart && strncmp(pt->ctype, "text/", 5) == 0;
			else
				for (j = 0; j < ca->n && !want; j++) {
					const char *t = ca->v[j].s;
					size_t tl = strlen(t);

					if (tl == 0)
						want = true;
					else if (strchr(t, '/') != NULL)
						want = strcasecmp(pt->ctype, t) == 0;
					else
						want = strncasecmp(pt->ctype, t, tl) == 0 &&
						    pt->ctype[tl] == '/';
				}
			if (!want)
				continue;
			if (pt->multipart) {
				/* RFC 5173 5.2: for a multipart, its prologue and epilogue */
				if (content && pt->prologue_len + pt->epilogue_len > 0) {
					struct str b;

					str_init(&b, pt->prologue_len + pt->epilogue_len + 1);
					str_append_n(&b, pt->body, pt->prologue_len);
					str_append_n(&b, pt->epilogue, pt->epilogue_len);
					strvec_push_take(&vals, str_export(&b));
				}
				continue;
			}
			{
				struct str b;

				str_init(&b, pt->body_len + 1);
				sv_part_decoded_body(r->msg, p, &b);
				strvec_push_take(&vals, str_export(&b));
			}
		}
	}
	rc = sv_match_values(r, n, &vals, n->pos[0]);
	strvec_deinit(&vals);
	return rc;
}

/* date (RFC 5260) */
static void
date_part(const char *part, time_t t, int zone, struct strvec *out)
{
	struct tm tm;
	char buf[64];
	time_t lt = t + (time_t)zone * 60;
	int az = zone < 0 ? -zone : zone;

	gmtime_r(&lt, &tm);
	buf[0] = 0;
	if (strcasecmp(part, "year") == 0)
		snprintf(buf, sizeof(buf), "%04d", tm.tm_year + 1900);
	else if (strcasecmp(part, "month") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_mon + 1);
	else if (strcasecmp(part, "day") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_mday);
	else if (strcasecmp(part, "date") == 0)
		strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
	else if (strcasecmp(part, "julian") == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)(lt / 86400 + 40587));
	else if (strcasecmp(part, "hour") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_hour);
	else if (strcasecmp(part, "minute") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_min);
	else if (strcasecmp(part, "second") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_sec);
	else if (strcasecmp(part, "time") == 0)
		strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	else if (strcasecmp(part, "iso8601") == 0) {
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		if (zone == 0)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "Z");
		else
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%c%02d:%02d",
			    zone < 0 ? '-' : '+', az / 60, az % 60);
	} else if (strcasecmp(part, "std11") == 0) {
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S", &tm);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %c%02d%02d",
		    zone < 0 ? '-' : '+', az / 60, az % 60);
	} else if (strcasecmp(part, "zone") == 0)
		snprintf(buf, sizeof(buf), "%c%02d%02d", zone < 0 ? '-' : '+', az / 60, az % 60);
	else if (strcasecmp(part, "weekday") == 0)
		snprintf(buf, sizeof(buf), "%d", tm.tm_wday);
	else
		return;
	strvec_push(out, buf);
}

static bool
zone_parse(const char *z, int *zone_r)
{
	int v;

	if ((z[0] != '+' && z[0] != '-') || strlen(z) != 5 || strspn(z + 1, "0123456789") != 4)
		return false;
	v = atoi(z + 1);
	if (v % 100 > 59)
		return false;
	*zone_r = (v / 100 * 60 + v % 100) * (z[0] == '-' ? -1 : 1);
	return true;
}

static int
local_zone(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return (int)(tm.tm_gmtoff / 60);
}

static int
test_date(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals, raw;
	struct str hname, part;
	char *zs = tag_str(r, n, ":zone");
	size_t i;
	int rc, zone = 0;
	bool current = n->id == SV_T_CURRENTDATE;
	const struct sv_arg *parta = current ? n->pos[0] : n->pos[1];
	const struct sv_arg *keys = current ? n->pos[1] : n->pos[2];

	strvec_init(&vals);
	strvec_init(&raw);
	str_init(&hname, 32);
	str_init(&part, 16);
	sv_expand(r, &parta->v[0], &part);
	if (zs != NULL && !zone_parse(zs, &zone)) {
		/* an invalid zone: RFC 5260 says to use the original (or local) */
		free(zs);
		zs = NULL;
	}
	if (current) {
		if (zs == NULL)
			zone = local_zone(r->now);
		date_part(part.s, r->now, zone, &vals);
	} else {
		sv_expand(r, &n->pos[0]->v[0], &hname);
		sv_header_values(r, 0, hname.s, false, &raw);
		sv_apply_index(r, n, &raw);
		for (i = 0; i < raw.n; i++) {
			const char *v = raw.v[i];
			time_t t;
			int oz, z;

			/* Received: the date follows the last ';' */
			if (strcasecmp(hname.s, "received") == 0 && strrchr(v, ';') != NULL)
				v = strrchr(v, ';') + 1;
			if (!sv_parse_date(v, &t, &oz))
				continue;
			z = zs != NULL ? zone : sv_has_tag(n, ":originalzone") ? oz : local_zone(t);
			date_part(part.s, t, z, &vals);
		}
	}
	rc = sv_match_values(r, n, &vals, keys);
	strvec_deinit(&vals);
	strvec_deinit(&raw);
	str_deinit(&hname);
	str_deinit(&part);
	free(zs);
	return rc;
}

static int
test_environment(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals;
	struct str name;
	const char *v = NULL;
	char buf[32];
	int rc;

	strvec_init(&vals);
	str_init(&name, 32);
	sv_expand(r, &n->pos[0]->v[0], &name);
	if (strcasecmp(name.s, "domain") == 0) {
		const char *h = r->env->hostname;

		v = h != NULL && strchr(h, '.') != NULL ? strchr(h, '.') + 1 : h;
	} else if (strcasecmp(name.s, "host") == 0)
		v = r->env->hostname;
	else if (strcasecmp(name.s, "location") == 0)
		v = r->env->location != NULL ? r->env->location : "MS";
	else if (strcasecmp(name.s, "phase") == 0)
		v = r->env->phase != NULL ? r->env->phase : "during";
	else if (strcasecmp(name.s, "name") == 0)
		v = "yubin Sieve";
	else if (strcasecmp(name.s, "version") == 0)
		v = YUBIN_VERSION;
	else if (strcasecmp(name.s, "vnd.dovecot.default-mailbox") == 0)
		v = r->env->default_mailbox != NULL ? r->env->default_mailbox : "INBOX";
	else if (strcasecmp(name.s, "vnd.dovecot.username") == 0)
		v = r->env->user;
	if (v != NULL)
		strvec_push(&vals, v);
	(void)buf;
	rc = vals.n > 0 ? sv_match_values(r, n, &vals, n->pos[1]) : 0;
	strvec_deinit(&vals);
	str_deinit(&name);
	return rc;
}

/* spamtest / virustest (RFC 5235): the configured header's score */
static int
test_spamtest(struct sv_run *r, const struct sv_node *n)
{
	bool virus = n->id == SV_T_VIRUSTEST;
	const char *hname = virus ? r->env->virus_header : r->env->spam_header;
	double max = virus ? r->env->virus_max : r->env->spam_max;
	struct strvec raw, vals;
	char buf[32];
	int rc;

	strvec_init(&raw);
	strvec_init(&vals);
	if (hname != NULL)
		sv_header_values(r, 0, hname, false, &raw);
	if (raw.n == 0 || max <= 0)
		snprintf(buf, sizeof(buf), "0");	/* not tested */
	else {
		char *end;
		double v = strtod(raw.v[0], &end);

		if (end == raw.v[0])
			snprintf(buf, sizeof(buf), "0");
		else if (sv_has_tag(n, ":percent")) {
			double pct = v <= 0 ? 0 : v >= max ? 100 : v * 100.0 / max;

			snprintf(buf, sizeof(buf), "%d", (int)(pct + 0.5));
		} else if (virus) {
			int lv = v <= 0 ? 1 : v >= max ? 5 : 1 + (int)(v * 4.0 / max + 0.5);

			snprintf(buf, sizeof(buf), "%d", lv);
		} else {
			int lv = v <= 0 ? 1 : v >= max ? 10 : 1 + (int)(v * 9.0 / max + 0.5);

			snprintf(buf, sizeof(buf), "%d", lv);
		}
	}
	strvec_push(&vals, buf);
	rc = sv_match_values(r, n, &vals, n->pos[0]);
	strvec_deinit(&raw);
	strvec_deinit(&vals);
	return rc;
}

static int
test_duplicate(struct sv_run *r, const struct sv_node *n)
{
	struct strvec raw;
	struct str id;
	char *u = tag_str(r, n, ":uniqueid"), *h = tag_str(r, n, ":header");
	char *hd = tag_str(r, n, ":handle");
	int rc = 0;

	strvec_init(&raw);
	str_init(&id, 128);
	if (u != NULL)
		str_append(&id, u);
	else {
		sv_header_values(r, 0, h != NULL ? h : "message-id", false, &raw);
		if (raw.n == 0)
			goto out;	/* no ID: never a duplicate (RFC 7352 3.1) */
		str_append(&id, raw.v[0]);
	}
	str_append_c(&id, 0);
	if (hd != NULL)
		str_append(&id, hd);
	if (r->env->duplicate_check != NULL)
		rc = r->env->duplicate_check(r->env->ctx, id.s, id.len) > 0;
	/* marked as seen only when the result is executed (RFC 7352 3) */
	if (!rc) {
		if (!r->res->dup_track)
			r->res->dup_pos = r->res->n;
		r->res->dup_track = true;
		free(r->res->dup_id);
		r->res->dup_id = xmalloc(id.len);
		memcpy(r->res->dup_id, id.s, id.len);
		r->res->dup_id_len = id.len;
		{
			struct sv_arg *sa;

			r->res->dup_seconds = sv_node_tag(n, ":seconds", &sa) != NULL ? sa->num :
			    7 * 86400;
		}
	}
out:
	strvec_deinit(&raw);
	str_deinit(&id);
	free(u);
	free(h);
	free(hd);
	return rc;
}

int
sv_ext_test(struct sv_run *r, const struct sv_node *n)
{
	size_t i;

	switch (n->id) {
	case SV_T_HASFLAG:
		return test_hasflag(r, n);
	case SV_T_BODY:
		return test_body(r, n);
	case SV_T_DATE: case SV_T_CURRENTDATE:
		return test_date(r, n);
	case SV_T_ENVIRONMENT:
		return test_environment(r, n);
	case SV_T_SPAMTEST: case SV_T_VIRUSTEST:
		return test_spamtest(r, n);
	case SV_T_DUPLICATE:
		return test_duplicate(r, n);
	case SV_T_MAILBOXEXISTS: {
		struct str b;
		int ok = 1;

		str_init(&b, 32);
		for (i = 0; i < n->pos[0]->n && ok; i++) {
			sv_expand(r, &n->pos[0]->v[i], &b);
			ok = r->env->mailbox_exists != NULL &&
			    r->env->mailbox_exists(r->env->ctx, b.s) > 0;
		}
		str_deinit(&b);
		return ok;
	}
	case SV_T_SPECIALUSE_EXISTS: {
		struct str mb, f;
		int ok = 1;

		str_init(&mb, 32);
		str_init(&f, 32);
		if (n->pos[0] != NULL)
			sv_expand(r, &n->pos[0]->v[0], &mb);
		for (i = 0; i < n->pos[1]->n && ok; i++) {
			sv_expand(r, &n->pos[1]->v[i], &f);
			ok = r->env->special_use_exists != NULL &&
			    r->env->special_use_exists(r->env->ctx, n->pos[0] != NULL ? mb.s : NULL,
			    f.s) > 0;
		}
		str_deinit(&mb);
		str_deinit(&f);
		return ok;
	}
	case SV_T_IHAVE:
		for (i = 0; i < n->pos[0]->n; i++) {
			int e = sv_ext_lookup(n->pos[0]->v[i].s);

			if (e < 0 || (e < SV_EXT_COUNT &&
			    !(r->main->enabled.bits & (UINT64_C(1) << e))))
				return 0;
		}
		return 1;
	case SV_T_VALID_NOTIFY_METHOD: {
		struct str b;
		int ok = 1;

		str_init(&b, 32);
		for (i = 0; i < n->pos[0]->n && ok; i++) {
			sv_expand(r, &n->pos[0]->v[i], &b);
			ok = strncasecmp(b.s, "mailto:", 7) == 0;
		}
		str_deinit(&b);
		return ok;
	}
	case SV_T_NOTIFY_METHOD_CAPABILITY: {
		struct str uri, cap;
		struct strvec vals;
		int rc = 0;

		str_init(&uri, 32);
		str_init(&cap, 32);
		strvec_init(&vals);
		sv_expand(r, &n->pos[0]->v[0], &uri);
		sv_expand(r, &n->pos[1]->v[0], &cap);
		if (strncasecmp(uri.s, "mailto:", 7) == 0 && strcasecmp(cap.s, "online") == 0) {
			strvec_push(&vals, "maybe");
			rc = sv_match_values(r, n, &vals, n->pos[2]);
		}
		strvec_deinit(&vals);
		str_deinit(&uri);
		str_deinit(&cap);
		return rc;
	}
	default:
		if (r->env->testsuite != NULL)
			return r->env->testsuite(r->env->ctx, r, n);
		sv_run_error(r, n->line, "test '%s' is not available here", n->name);
		return 0;
	}
}

void
sv_ext_command(struct sv_run *r, const struct sv_node *n)
{
	switch (n->id) {
	case SV_C_KEEP: case SV_C_FILEINTO:
		cmd_store(r, n);
		break;
	case SV_C_DISCARD:
		add_action(r, n, SIEVE_ACT_DISCARD, NULL);
		break;
	case SV_C_REDIRECT:
		cmd_redirect(r, n);
		break;
	case SV_C_REJECT: case SV_C_EREJECT:
		add_action(r, n, n->id == SV_C_REJECT ? SIEVE_ACT_REJECT : SIEVE_ACT_EREJECT,
		    arg_dup(r, n->pos[0], 0));
		break;
	case SV_C_VACATION:
		cmd_vacation(r, n);
		break;
	case SV_C_SET:
		cmd_set(r, n);
		break;
	case SV_C_SETFLAG: case SV_C_ADDFLAG: case SV_C_REMOVEFLAG:
		cmd_flags(r, n);
		break;
	case SV_C_INCLUDE:
		cmd_include(r, n);
		break;
	case SV_C_RETURN:
		r->stopped = true;
		break;
	case SV_C_GLOBAL:
		cmd_global(r, n);
		break;
	case SV_C_ADDHEADER:
		cmd_addheader(r, n);
		break;
	case SV_C_DELETEHEADER:
		cmd_deleteheader(r, n);
		break;
	case SV_C_FOREVERYPART:
		cmd_foreverypart(r, n);
		break;
	case SV_C_BREAK: {
		char *name = tag_str(r, n, ":name");

		if (!r->in_foreverypart) {
			sv_run_error(r, n->line, "break command used outside a foreverypart loop");
			free(name);
			break;
		}
		r->breaking = true;
		r->break_name = name;
		break;
	}
	case SV_C_EXTRACTTEXT:
		cmd_extracttext(r, n);
		break;
	case SV_C_NOTIFY:
		cmd_notify(r, n);
		break;
	case SV_C_ERROR: {
		struct str b;

		str_init(&b, 64);
		sv_expand(r, &n->pos[0]->v[0], &b);
		sv_run_error(r, n->line, "error command: %s", b.s);
		str_deinit(&b);
		break;
	}
	default:
		if (r->env->testsuite != NULL)
			(void)r->env->testsuite(r->env->ctx, r, n);
		else
			sv_run_error(r, n->line, "command '%s' is not available here", n->name);
		break;
	}
}

void
sv_ns_lookup_default(struct sv_run *r, const char *name, size_t len, struct str *out)
{
	if (len > 4 && strncasecmp(name, "env.", 4) == 0) {
		/* RFC 5183 4: ${env.NAME} when environment and variables are in use */
		struct strvec vals;

		strvec_init(&vals);
		(void)vals;
		strvec_deinit(&vals);
	}
	if (r->env->var_namespace != NULL)
		r->env->var_namespace(r->env->ctx, name, len, out);
}
