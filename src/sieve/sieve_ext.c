/* sieve_ext.c - the actions of RFC 5228 and the extensions' commands:
 * fileinto, redirect, reject/ereject, vacation, variables (set, modifiers),
 * imap4flags (and hasflag), include/return/global, editheader,
 * foreverypart/extracttext, enotify, error; the testsuite's commands go to
 * the tool through env->testsuite. The extensions' tests are in
 * sieve_tests.c. Tests: tests/sieve/ (.svtest files) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base64.h"
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

	/* without imap4flags the flags can only be the ones an earlier script
	 * of a multiscript run left on the implicit keep */
	if (!req(r, SV_EXT_IMAP4FLAGS))
		return r->flags.len > 0 ? flags_vec(r->flags.s) : NULL;
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

int
sv_test_hasflag(struct sv_run *r, const struct sv_node *n)
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

/* name_listed - is name in a space-separated list (case-insensitive)? */
static bool
name_listed(const char *list, const char *name)
{
	size_t nl = strlen(name);

	while (list != NULL && *list != 0) {
		size_t n;

		while (*list == ' ' || *list == '\t')
			list++;
		n = strcspn(list, " \t");
		if (n == nl && n > 0 && strncasecmp(list, name, n) == 0)
			return true;
		list += n;
	}
	return false;
}

/* edit_forbidden - may this field be added (or deleted)? RFC 5293 6:
 * Received is never deleted (Auto-Submitted neither, as in Pigeonhole),
 * Subject is always editable; the rest is the site's policy
 * (sieve_editheader_protected, _forbid_add, _forbid_delete) */
static bool
edit_forbidden(const struct sv_run *r, const char *name, bool add)
{
	const struct sieve_hdrcfg *h = r->env->editheader;

	if (strcasecmp(name, "subject") == 0)
		return false;
	if (!add && (strcasecmp(name, "received") == 0 || strcasecmp(name, "auto-submitted") == 0))
		return true;
	if (h == NULL)
		return false;
	return name_listed(h->protect, name) ||
	    name_listed(add ? h->forbid_add : h->forbid_delete, name);
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
	if (name[0] == 0 || name[i] != 0) {
		sv_run_error(r, n->line, "addheader action: specified field name '%s' is invalid",
		    name);
		free(name);
		free(value);
		return;
	}
	if (strlen(value) > r->sc->limits.editheader_max_header_size) {
		/* sieve_editheader_max_header_size: an error, as in Pigeonhole;
		 * the message shows the start of the value on one line */
		char shown[84];
		size_t k;

		for (k = 0; k < 80 && value[k] != 0; k++)
			shown[k] = (unsigned char)value[k] < 32 ? '?' : value[k];
		shown[k] = 0;
		sv_run_error(r, n->line, "addheader action: specified header value '%s...' is "
		    "too large (%zu bytes)", shown, strlen(value));
		free(name);
		free(value);
		return;
	}
	if (edit_forbidden(r, name, true)) {
		/* RFC 5293 6: ignored; Pigeonhole warns */
		sv_run_warning(r, n->line, "addheader action: adding specified header field '%s' "
		    "is forbidden; modification denied", name);
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
	/* non-ASCII goes into the header as RFC 2047 encoded words (RFC 5293 4),
	 * in pieces of at most 45 bytes so the encoded words stay short */
	{
		size_t vi;
		bool ascii = true;

		for (vi = 0; value[vi] != 0; vi++)
			if ((unsigned char)value[vi] >= 0x80 || value[vi] == '\r' || value[vi] == '\n')
				ascii = false;
		if (!ascii) {
			struct str enc;
			size_t vl = strlen(value), off = 0;

			str_init(&enc, vl * 2 + 16);
			while (off < vl) {
				size_t piece = vl - off > 45 ? 45 : vl - off;

				/* never split a UTF-8 sequence */
				while (piece < vl - off && piece > 1 &&
				    ((unsigned char)value[off + piece] & 0xc0) == 0x80)
					piece--;
				if (off > 0)
					str_append(&enc, "\r\n ");
				str_append(&enc, "=?UTF-8?B?");
				base64_encode(&enc, value + off, piece);
				str_append(&enc, "?=");
				off += piece;
			}
			res->ehdr[at].value = str_export(&enc);
		} else
			res->ehdr[at].value = xstrdup(value);
	}
	str_init(&dec, strlen(value) + 1);
	str_append(&dec, value);
	res->ehdr[at].decoded = str_export(&dec);
	free(value);
	res->nehdr++;
}

static void
cmd_deleteheader(struct sv_run *r, const struct sv_node *n)
{
	struct sieve_result *res = r->res;
	char *name = arg_dup(r, n->pos[0], 0);
	struct sv_arg *ia = NULL;
	size_t i, occ = 0, total = 0;

	if (edit_forbidden(r, name, false)) {
		sv_run_warning(r, n->line, "deleteheader action: deleting specified header field "
		    "'%s' is forbidden; modification denied", name);
		free(name);
		return;
	}
	ehdr_init(r);
	sv_node_tag(n, ":index", &ia);
	for (i = 0; i < res->nehdr; i++)
		if (strcasecmp(res->ehdr[i].name, name) == 0)
			total++;
	for (i = 0; i < res->nehdr; ) {
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
		} else
			i++;
	}
	free(name);
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

/* sv_ns_lookup_default - ${ns.name}: env.ITEM when the script requires
 * vnd.dovecot.environment (an unknown item is ""), else the caller's
 * namespace (tst. in the testsuite), else "" */
void
sv_ns_lookup_default(struct sv_run *r, const char *name, size_t len, struct str *out)
{
	if (len > 4 && strncasecmp(name, "env.", 4) == 0 &&
	    ((r->sc->exts.bits | r->main->exts.bits) & (UINT64_C(1) << SV_EXT_VND_ENVIRONMENT))) {
		const char *v = sv_env_item(r, name + 4, len - 4, true);

		if (v != NULL)
			str_append(out, v);
		return;
	}
	if (r->env->var_namespace != NULL)
		r->env->var_namespace(r->env->ctx, name, len, out);
}
