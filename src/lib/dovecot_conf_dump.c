/* dovecot_conf_dump.c - doveconf's output: settings sorted as Dovecot sorts
 * them, values quoted as it quotes them, secrets hidden, filters last.
 * Tests: tests/unit/lib/test_dovecot_conf.c, tests/e2e/test_doveconf.py */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dovecot_conf.h"
#include "lib/dovecot_conf-private.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* Output, as doveconf prints it. */

static bool
dc_value_needs_quote(const char *value)
{
	size_t len = strlen(value);

	if (len == 0)
		return false;
	return strchr(value, '#') != NULL || IS_WHITE(value[0]) || IS_WHITE(value[len - 1]);
}

void
dovecot_conf_dump_value(struct str *out, const char *value)
{
	const char *p;

	if (!dc_value_needs_quote(value)) {
		str_append(out, value);
		return;
	}
	str_append_c(out, '"');
	for (p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			str_append_c(out, '\\');
		str_append_c(out, *p);
	}
	str_append_c(out, '"');
}

static bool
dc_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* dc_dump_secret_value - doveconf's hide_secrets_from_value: secrets by
 * key name, and the user:password part of URLs */
static void
dc_dump_secret_value(struct str *out, const char *key, const char *value)
{
	const char *p = value, *scheme, *at, *slash, *colon;
	bool rewritten = false;
	struct str tmp;

	if (*value != '\0' && (dc_ends_with(key, "_password") || dc_ends_with(key, "_key") ||
	    dc_ends_with(key, "_nonce") || strncmp(key, "ssl_dh", 6) == 0)) {
		str_append(out, "# hidden, use -P to show it");
		return;
	}
	str_init(&tmp, strlen(value) + 32);
	while ((scheme = strstr(p, "://")) != NULL) {
		scheme += 3;
		at = strchr(scheme, '@');
		slash = strchr(scheme, '/');
		colon = strchr(scheme, ':');
		if (at == NULL || (slash != NULL && slash < at) || colon == NULL || colon > at) {
			str_append_n(&tmp, p, scheme - p);
			p = scheme;
			continue;
		}
		str_append_n(&tmp, p, scheme - p);
		str_append(&tmp, "#hidden_use-P_to_show#");
		rewritten = true;
		p = at;
	}
	str_append(&tmp, p);
	if (rewritten)	/* doveconf writes a rewritten URL as it is */
		str_append(out, tmp.s);
	else
		dovecot_conf_dump_value(out, tmp.s);
	str_deinit(&tmp);
}

/* an entry of one section's output, sorted like Dovecot's key strings */
struct dc_item {
	char	*sortkey;	/* owned: "key=" or "type/escaped-name/" */
	const char *key;	/* borrowed; NULL for a section */
	const char *value;	/* borrowed */
	const struct dovecot_conf_section *section;	/* borrowed */
};

/* dc_sort_cmp - Dovecot's config_string_cmp over "key=value" strings */
static int
dc_sort_cmp(const void *a, const void *b)
{
	const char *s1 = ((const struct dc_item *)a)->sortkey;
	const char *s2 = ((const struct dc_item *)b)->sortkey;
	size_t i = 0;

	while (s1[i] == s2[i]) {
		if (s1[i] == '\0' || s1[i] == '=')
			return 0;
		i++;
	}
	if (s1[i] == '=')
		return -1;
	if (s2[i] == '=')
		return 1;
	return (unsigned char)s1[i] - (unsigned char)s2[i];
}

/* dc_escape_name - settings_section_escape, so that "Sent" sorts before
 * "Sent Messages" as in Dovecot */
static void
dc_escape_name(struct str *out, const char *name)
{
	for (; *name != '\0'; name++) {
		switch (*name) {
		case '=': str_append(out, "\\e"); break;
		case '/': str_append(out, "\\s"); break;
		case '\\': str_append(out, "\\\\"); break;
		case ' ': str_append(out, "\\_"); break;
		case ',': str_append(out, "\\+"); break;
		default: str_append_c(out, *name); break;
		}
	}
}

struct dc_items {
	struct dc_item *v;	/* owned */
	size_t	 n, cap;
};

static void
dc_items_add(struct dc_items *it, char *sortkey, const char *key, const char *value,
    const struct dovecot_conf_section *section)
{
	if (it->n == it->cap) {
		it->cap = it->cap == 0 ? 16 : it->cap * 2;
		it->v = xreallocarray(it->v, it->cap, sizeof(*it->v));
	}
	it->v[it->n].sortkey = sortkey;
	it->v[it->n].key = key;
	it->v[it->n].value = value;
	it->v[it->n].section = section;
	it->n++;
}

static void
dc_items_free(struct dc_items *it)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		free(it->v[i].sortkey);
	free(it->v);
}

/* dc_shown - does -n show this explicitly set key of s? */
static bool
dc_shown(const struct dovecot_conf_section *s, const char *key, const char *value)
{
	const char *def;

	if (s->type == NULL || strcmp(s->type, "passdb") == 0 || strcmp(s->type, "userdb") == 0) {
		def = dc_default(s, key);
		return def == NULL || strcmp(def, value) != 0;
	}
	/* Filters and other sections show what was set, even when it equals
	 * the default: Dovecot tracks "changed" there, not "different". */
	return true;
}

static void dc_dump_section(const struct dovecot_conf_section *, unsigned flags, int indent,
    struct str *out);

static void
dc_dump_header(struct str *out, const struct dovecot_conf_section *s, int indent)
{
	str_appendf(out, "%*s%s", indent * 2, "", s->type);
	if (s->name != NULL) {
		str_append_c(out, ' ');
		if (strpbrk(s->name, " \t#\"'{}") != NULL || s->name[0] == '\0') {
			str_append_c(out, '"');
			for (const char *p = s->name; *p != '\0'; p++) {
				if (*p == '"' || *p == '\\')
					str_append_c(out, '\\');
				str_append_c(out, *p);
			}
			str_append_c(out, '"');
		} else {
			str_append(out, s->name);
		}
	}
	str_append(out, " {\n");
}

/* dc_dump_body - settings and non-filter subsections of s, sorted */
static void
dc_dump_body(const struct dovecot_conf_section *s, unsigned flags, int indent, struct str *out)
{
	struct dc_items it = { NULL, 0, 0 };
	bool nondefault = (flags & DOVECOT_CONF_DUMP_NONDEFAULT) != 0;
	struct str key, path;
	size_t i, unnamed = 0;

	str_init(&key, 64);
	str_init(&path, 64);
	for (i = 0; i < s->nkvs; i++) {
		if (nondefault && !dc_shown(s, s->kvs[i].key, s->kvs[i].value))
			continue;
		dc_items_add(&it, xasprintf("%s=", s->kvs[i].key), s->kvs[i].key,
		    s->kvs[i].value, NULL);
	}
	/* defaults that are not set here */
	if (!nondefault && !dc_is_freeform(s->type) && (s->type == NULL || !dc_is_global(s))) {
		const char *type = s->type == NULL ? "" : s->type;
		bool builtin = dc_builtin_path(s, &path);

		for (i = 0; i < dovecot_conf_settings_count; i++) {
			const struct dovecot_conf_setting *set = &dovecot_conf_settings[i];
			const char *def;

			if (strcmp(set->section, type) != 0 || dc_kv_get(s, set->name) != NULL)
				continue;
			def = builtin ? dc_default(s, set->name) : set->def;
			if (def != NULL)
				dc_items_add(&it, xasprintf("%s=", set->name), set->name, def, NULL);
		}
	} else if (nondefault && s->type != NULL && strcmp(s->type, "namespace") == 0) {
		/* Dovecot keeps a namespace's prefix and location as strings
		 * with %variables, stored with an "unexpanded" marker byte
		 * that the plain "" default never equals: doveconf -n shows
		 * them for every namespace although nobody set them. */
		if (dc_kv_get(s, "location") == NULL)
			dc_items_add(&it, xstrdup("location="), "location", "", NULL);
		if (dc_kv_get(s, "prefix") == NULL)
			dc_items_add(&it, xstrdup("prefix="), "prefix", "", NULL);
	}
	for (i = 0; i < s->nchildren; i++) {
		const struct dovecot_conf_section *c = s->children[i];

		if (dc_is_filter_type(c->type))
			continue;
		str_reset(&key);
		str_appendf(&key, "%s/", c->type);
		if (c->name != NULL)
			dc_escape_name(&key, c->name);
		else if (!dc_is_freeform(c->type))
			str_appendf(&key, "%zu", unnamed++);
		str_append_c(&key, '/');
		dc_items_add(&it, str_export(&key), NULL, NULL, c);
	}
	if (it.n > 1)
		qsort(it.v, it.n, sizeof(*it.v), dc_sort_cmp);
	for (i = 0; i < it.n; i++) {
		if (it.v[i].section != NULL) {
			dc_dump_section(it.v[i].section, flags, indent, out);
			continue;
		}
		str_appendf(out, "%*s%s = ", indent * 2, "", it.v[i].key);
		if (flags & DOVECOT_CONF_DUMP_SHOW_SECRETS)
			dovecot_conf_dump_value(out, it.v[i].value);
		else
			dc_dump_secret_value(out, it.v[i].key, it.v[i].value);
		str_append_c(out, '\n');
	}
	dc_items_free(&it);
	str_deinit(&key);
	str_deinit(&path);
}

/* dc_dump_section - "type name {" ... "}", or nothing when -n has nothing
 * to show inside */
static void
dc_dump_section(const struct dovecot_conf_section *s, unsigned flags, int indent,
    struct str *out)
{
	size_t mark = out->len;

	dc_dump_header(out, s, indent);
	size_t body = out->len;
	dc_dump_body(s, flags, indent + 1, out);
	if (out->len == body && (flags & DOVECOT_CONF_DUMP_NONDEFAULT)) {
		str_truncate(out, mark);
		return;
	}
	str_appendf(out, "%*s}\n", indent * 2, "");
}

/* dc_dump_filter - one filter block with its enclosing filters around it,
 * as Dovecot prints "local 1.2.3.4 { protocol imap { ... } }" */
static void
dc_dump_filter(const struct dovecot_conf_section *f, unsigned flags, struct str *out)
{
	const struct dovecot_conf_section *chain[DOVECOT_CONF_MAX_SECTION_DEPTH + 1];
	size_t n = 0, i, mark = out->len, body;

	for (const struct dovecot_conf_section *p = f; p->type != NULL; p = p->parent)
		chain[n++] = p;
	for (i = n; i > 0; i--)
		dc_dump_header(out, chain[i - 1], (int)(n - i));
	body = out->len;
	dc_dump_body(f, flags, (int)n, out);
	if (out->len == body) {
		str_truncate(out, mark);
		return;
	}
	for (i = 0; i < n; i++)
		str_appendf(out, "%*s}\n", (int)(n - 1 - i) * 2, "");
}

void
dovecot_conf_dump(const struct dovecot_conf *conf, unsigned flags, struct str *out)
{
	struct dc_filters filters = { NULL, 0, 0 };
	size_t i;

	dc_dump_body(&conf->root, flags, 0, out);
	dc_filters_collect(&conf->root, &filters);
	for (i = 0; i < filters.n; i++)
		dc_dump_filter(filters.v[i], flags, out);
	free(filters.v);
}
