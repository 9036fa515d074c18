/* dovecot_conf.c - dovecot.conf parser, settings tree and doveconf output.
 *
 * The line grammar follows Dovecot 2.3's config-parser.c so that odd input
 * means the same thing here as there: comments are cut outside quotes,
 * a value is unquoted only when its first and last characters are the same
 * quote, "$key" is expanded only when it names the key being set (Dovecot's
 * "expand_parent": doveconf keeps other $vars literal), and "<path" is kept
 * as text until someone asks for the file. */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dovecot_conf.h"
#include "lib/dovecot_conf-private.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

const struct dovecot_conf_setting dovecot_conf_settings[] = {
#define DOVECOT_SETTING(sec, name, type, def, values, help) \
	{ sec, name, type, def, values, help },
#include "lib/dovecot_settings.def"
#undef DOVECOT_SETTING
};
const size_t dovecot_conf_settings_count =
    sizeof(dovecot_conf_settings) / sizeof(dovecot_conf_settings[0]);


static int dc_parse_data(struct dovecot_conf *, const char *path, const char *data, size_t len);

/* dovecot_conf_setting_find - one row of the table by section and name */
const struct dovecot_conf_setting *
dovecot_conf_setting_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < dovecot_conf_settings_count; i++) {
		if (strcmp(dovecot_conf_settings[i].section, section) == 0 &&
		    strcmp(dovecot_conf_settings[i].name, name) == 0)
			return &dovecot_conf_settings[i];
	}
	return NULL;
}

bool
dc_is_filter_type(const char *type)
{
	return type != NULL && (strcmp(type, "protocol") == 0 || strcmp(type, "local") == 0 ||
	    strcmp(type, "remote") == 0);
}

/* plugin {} and dict {} take any key, like Dovecot's string lists */
bool
dc_is_freeform(const char *type)
{
	return type != NULL && (strcmp(type, "plugin") == 0 || strcmp(type, "dict") == 0);
}

/* sections whose settings are the top-level ones: the root and filters */
bool
dc_is_global(const struct dovecot_conf_section *s)
{
	return s->type == NULL || dc_is_filter_type(s->type);
}

static void
dc_section_free(struct dovecot_conf_section *s)
{
	size_t i;

	for (i = 0; i < s->nchildren; i++) {
		dc_section_free(s->children[i]);
		free(s->children[i]);
	}
	for (i = 0; i < s->nkvs; i++) {
		free(s->kvs[i].key);
		free(s->kvs[i].value);
		free(s->kvs[i].dir);
	}
	free(s->children);
	free(s->kvs);
	free(s->type);
	free(s->name);
}

struct dovecot_conf *
dovecot_conf_new(void)
{
	struct dovecot_conf *conf = xcalloc(1, sizeof(*conf));

	strvec_init(&conf->warnings);
	strvec_init(&conf->include_stack);
	return conf;
}

void
dovecot_conf_free(struct dovecot_conf **confp)
{
	struct dovecot_conf *conf = *confp;
	int i;

	if (conf == NULL)
		return;
	dc_section_free(&conf->root);
	strvec_deinit(&conf->warnings);
	strvec_deinit(&conf->include_stack);
	for (i = 0; i <= DOVECOT_CONF_MAX_SECTION_DEPTH; i++)
		free(conf->stack_file[i]);
	free(conf->error);
	free(conf);
	*confp = NULL;
}

const char *const *
dovecot_conf_warnings(const struct dovecot_conf *conf)
{
	static const char *const none[] = { NULL };

	return conf->warnings.n == 0 ? none : (const char *const *)conf->warnings.v;
}

const char *
dc_kv_get(const struct dovecot_conf_section *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->nkvs; i++) {
		if (strcmp(s->kvs[i].key, key) == 0)
			return s->kvs[i].value;
	}
	return NULL;
}

static void
dc_kv_set(struct dovecot_conf_section *s, const char *key, const char *value, const char *dir)
{
	size_t i;

	for (i = 0; i < s->nkvs; i++) {
		if (strcmp(s->kvs[i].key, key) == 0) {
			free(s->kvs[i].value);
			free(s->kvs[i].dir);
			s->kvs[i].value = xstrdup(value);
			s->kvs[i].dir = xstrdup(dir);
			return;
		}
	}
	if (s->nkvs == s->kvcap) {
		s->kvcap = s->kvcap == 0 ? 8 : s->kvcap * 2;
		s->kvs = xreallocarray(s->kvs, s->kvcap, sizeof(*s->kvs));
	}
	s->kvs[s->nkvs].key = xstrdup(key);
	s->kvs[s->nkvs].value = xstrdup(value);
	s->kvs[s->nkvs].dir = xstrdup(dir);
	s->nkvs++;
}

static struct dovecot_conf_section *
dc_child_find(const struct dovecot_conf_section *s, const char *type, const char *name)
{
	size_t i;

	for (i = 0; i < s->nchildren; i++) {
		struct dovecot_conf_section *c = s->children[i];

		if (strcmp(c->type, type) != 0)
			continue;
		if (name == NULL ? c->name == NULL : (c->name != NULL && strcmp(c->name, name) == 0))
			return c;
	}
	return NULL;
}

static struct dovecot_conf_section *
dc_child_add(struct dovecot_conf_section *s, const char *type, const char *name)
{
	struct dovecot_conf_section *c = xcalloc(1, sizeof(*c));

	c->type = xstrdup(type);
	c->name = name == NULL ? NULL : xstrdup(name);
	c->parent = s;
	if (s->nchildren == s->childcap) {
		s->childcap = s->childcap == 0 ? 4 : s->childcap * 2;
		s->children = xreallocarray(s->children, s->childcap, sizeof(*s->children));
	}
	s->children[s->nchildren++] = c;
	return c;
}

/* Defaults. A service or listener of one of Dovecot's built-in services has
 * its own defaults ("service/imap-login/inet_listener/imaps" port 993);
 * everything else has the generic ones of its type. */

/* dc_builtin_path - "service/NAME[/TYPE/NAME]" of s, or false */
bool
dc_builtin_path(const struct dovecot_conf_section *s, struct str *out)
{
	str_reset(out);
	if (s->type == NULL || s->name == NULL)
		return false;
	if (strcmp(s->type, "service") == 0) {
		str_appendf(out, "service/%s", s->name);
		return true;
	}
	if (strstr(s->type, "_listener") != NULL && s->parent != NULL &&
	    s->parent->type != NULL && strcmp(s->parent->type, "service") == 0 &&
	    s->parent->name != NULL) {
		str_appendf(out, "service/%s/%s/%s", s->parent->name, s->type, s->name);
		return true;
	}
	return false;
}

const char *
dc_default(const struct dovecot_conf_section *s, const char *key)
{
	const struct dovecot_conf_setting *set;
	struct str path;

	if (dc_is_global(s)) {
		set = dovecot_conf_setting_find("", key);
		return set == NULL ? NULL : set->def;
	}
	str_init(&path, 64);
	set = NULL;
	if (dc_builtin_path(s, &path))
		set = dovecot_conf_setting_find(path.s, key);
	str_deinit(&path);
	if (set == NULL)
		set = dovecot_conf_setting_find(s->type, key);
	return set == NULL ? NULL : set->def;
}

/* Value checks, with Dovecot's wording. */

int
dovecot_conf_parse_bool(const char *value, bool *r, const char **error_r)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0 ||
	    strcmp(value, "1") == 0) {
		*r = true;
		return 0;
	}
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "n") == 0 ||
	    strcmp(value, "0") == 0) {
		*r = false;
		return 0;
	}
	*error_r = "Invalid boolean value";
	return -1;
}

int
dovecot_conf_parse_uint(const char *value, unsigned long long *r, const char **error_r)
{
	char *end;

	if (*value < '0' || *value > '9') {
		*error_r = "Not a valid number";
		return -1;
	}
	errno = 0;
	*r = strtoull(value, &end, 10);
	if (*end != '\0' || errno != 0) {
		*error_r = "Not a valid number";
		return -1;
	}
	return 0;
}

/* dc_number_unit - split "123 unit" into its number and unit; the unit may
 * be empty */
static int
dc_number_unit(const char *value, unsigned long long *n_r, const char **unit_r)
{
	char *end;

	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	*n_r = strtoull(value, &end, 10);
	if (errno != 0)
		return -1;
	while (IS_WHITE(*end))
		end++;
	*unit_r = end;
	return 0;
}

int
dovecot_conf_parse_time_ms(const char *value, unsigned long long *ms_r, const char **error_r)
{
	static const struct { const char *unit; unsigned long long ms; } units[] = {
		{ "ms", 1 }, { "msec", 1 }, { "msecs", 1 }, { "millisecond", 1 },
		{ "milliseconds", 1 },
		{ "s", 1000 }, { "sec", 1000 }, { "secs", 1000 }, { "second", 1000 },
		{ "seconds", 1000 },
		{ "m", 60000 }, { "min", 60000 }, { "mins", 60000 }, { "minute", 60000 },
		{ "minutes", 60000 },
		{ "h", 3600000 }, { "hour", 3600000 }, { "hours", 3600000 },
		{ "d", 86400000 }, { "day", 86400000 }, { "days", 86400000 },
		{ "w", 604800000 }, { "week", 604800000 }, { "weeks", 604800000 },
	};
	unsigned long long n;
	const char *unit;
	size_t i;

	if (dc_number_unit(value, &n, &unit) < 0) {
		*error_r = "Invalid time interval";
		return -1;
	}
	if (*unit == '\0') {
		if (n != 0) {
			*error_r = "missing units";
			return -1;
		}
		*ms_r = 0;
		return 0;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(unit, units[i].unit) == 0) {
			*ms_r = n * units[i].ms;
			return 0;
		}
	}
	*error_r = "Invalid time interval";
	return -1;
}

int
dovecot_conf_parse_size(const char *value, unsigned long long *bytes_r, const char **error_r)
{
	static const char units[] = "BKMGT";
	unsigned long long n, mult = 1;
	const char *unit, *p;

	if (dc_number_unit(value, &n, &unit) < 0) {
		*error_r = "Invalid size";
		return -1;
	}
	if (*unit != '\0') {
		p = strchr(units, unit[0] >= 'a' ? unit[0] - 32 : unit[0]);
		if (p == NULL || unit[0] == '\0' ||
		    !(unit[1] == '\0' || ((unit[1] == 'B' || unit[1] == 'b') && unit[2] == '\0'))) {
			*error_r = "Invalid size";
			return -1;
		}
		for (; p > units; p--)
			mult *= 1024;
	}
	*bytes_r = n * mult;
	return 0;
}

static bool
dc_enum_ok(const char *values, const char *value)
{
	size_t len = strlen(value);
	const char *p = values;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ':');
		size_t n = end == NULL ? strlen(p) : (size_t)(end - p);

		if (n == len && strncmp(p, value, n) == 0)
			return true;
		p = end == NULL ? NULL : end + 1;
	}
	return false;
}

/* dc_time_text - Dovecot's config_export_time: the largest whole unit */
static void
dc_time_text(struct str *out, unsigned long long ms)
{
	static const struct { const char *name; unsigned long long div; } steps[] = {
		{ "mins", 60 }, { "hours", 60 }, { "days", 24 }, { "weeks", 7 },
	};
	const char *suffix = "secs";
	unsigned long long n = ms / 1000;
	size_t i;

	if (ms == 0) {
		str_append_c(out, '0');
		return;
	}
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && n % steps[i].div == 0; i++) {
		n /= steps[i].div;
		suffix = steps[i].name;
	}
	str_appendf(out, "%llu %s", n, suffix);
}

/* dc_size_text - Dovecot's config_export_size */
static void
dc_size_text(struct str *out, unsigned long long n)
{
	static const char suffixes[] = "BkMGTPE";
	size_t i = 0;

	if (n == 0) {
		str_append_c(out, '0');
		return;
	}
	while (i + 1 < sizeof(suffixes) - 1 && n % 1024 == 0) {
		n /= 1024;
		i++;
	}
	str_appendf(out, "%llu %c", n, suffixes[i]);
}

/* dc_normalize - check value against its type with Dovecot's wording and
 * write the form doveconf prints ("5m" is shown as "5 mins", "Y" as "yes"),
 * so that comparisons with the defaults mean the same as in Dovecot */
static int
dc_normalize(const struct dovecot_conf_setting *set, const char *value, struct str *out,
    struct str *err)
{
	unsigned long long n;
	const char *e;
	bool b;

	switch (set->type) {
	case DC_STR:
		break;
	case DC_BOOL:
		if (dovecot_conf_parse_bool(value, &b, &e) == 0) {
			str_append(out, b ? "yes" : "no");
			return 0;
		}
		str_appendf(err, "Invalid boolean value: %s (use yes or no)", value);
		return -1;
	case DC_UINT:
		if (dovecot_conf_parse_uint(value, &n, &e) == 0) {
			str_appendf(out, "%llu", n);
			return 0;
		}
		str_appendf(err, "Invalid number %s: Not a valid number", value);
		return -1;
	case DC_PORT:
		if (dovecot_conf_parse_uint(value, &n, &e) == 0 && n <= 65535) {
			str_appendf(out, "%llu", n);
			return 0;
		}
		str_appendf(err, "Invalid port number %s", value);
		return -1;
	case DC_TIME:
		if (dovecot_conf_parse_time_ms(value, &n, &e) == 0) {
			if (n % 1000 != 0) {
				str_appendf(err, "Milliseconds not supported for this setting: %s",
				    value);
				return -1;
			}
			dc_time_text(out, n);
			return 0;
		}
		if (strcmp(e, "missing units") == 0)
			str_appendf(err, "Time interval '%s' is missing units "
			    "(add e.g. 's' for seconds)", value);
		else
			str_appendf(err, "Invalid time interval: %s", value);
		return -1;
	case DC_SIZE:
		if (dovecot_conf_parse_size(value, &n, &e) == 0) {
			dc_size_text(out, n);
			return 0;
		}
		str_appendf(err, "Invalid size: %s", value);
		return -1;
	case DC_ENUM:
		if (dc_enum_ok(set->enum_values, value))
			break;
		str_appendf(err, "Invalid value: %s", value);
		return -1;
	}
	str_append(out, value);
	return 0;
}

/* dc_unescape - Dovecot's str_unescape: a backslash takes the next byte */
static void
dc_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		*w++ = *s;
	}
	*w = '\0';
}

/* dc_type_path - "namespace { mailbox { " for errors about s's keys */
void
dc_type_path(const struct dovecot_conf_section *s, struct str *out)
{
	if (s == NULL || s->type == NULL || dc_is_filter_type(s->type))
		return;
	dc_type_path(s->parent, out);
	str_appendf(out, "%s { ", s->type);
}

/* dc_lookup_var - the value "$key" stands for inside s, as Dovecot's
 * config_get_value: what the file set so far (a filter sees the global
 * value), else the default. false when the key has no value here. */
static bool
dc_lookup_var(const struct dovecot_conf_section *s, const char *key, const char **value_r)
{
	const struct dovecot_conf_section *p;
	const char *v;

	if (dc_is_freeform(s->type))
		return false;	/* string lists cannot be looked up in Dovecot either */
	if (!dc_is_global(s)) {
		if ((v = dc_kv_get(s, key)) == NULL)
			v = dc_default(s, key);
		*value_r = v;
		return v != NULL;
	}
	for (p = s; p != NULL; p = p->parent) {
		if ((v = dc_kv_get(p, key)) != NULL) {
			*value_r = v;
			return true;
		}
	}
	/* The first of Dovecot's settings modules that knows "protocols" has
	 * an empty default, so "protocols = $protocols imap" starts from ""
	 * rather than from "imap pop3 lmtp": Debian's protocols.d relies on it. */
	if (strcmp(key, "protocols") == 0) {
		*value_r = "";
		return true;
	}
	v = dc_default(s, key);
	*value_r = v;
	return v != NULL;
}

/* dc_expand - Dovecot 2.3's config_write_keyvariable: split on white
 * space, expand "$key" of the key being set, keep other words as they are */
static int
dc_expand(const struct dovecot_conf_section *s, const char *key, const char *value,
    struct str *out, struct str *err)
{
	const char *p = value, *end, *v;
	bool first = true;

	while (*p != '\0') {
		end = p;
		while (*end != '\0' && !IS_WHITE(*end))
			end++;
		if (!first)
			str_append_c(out, ' ');
		first = false;
		if (*p == '$' && (size_t)(end - p - 1) == strlen(key) &&
		    strncmp(p + 1, key, end - p - 1) == 0) {
			if (!dc_lookup_var(s, key, &v)) {
				str_appendf(err, "Unknown variable: $%s", key);
				return -1;
			}
			str_append(out, v);
		} else {
			str_append_n(out, p, end - p);
		}
		p = end;
		while (IS_WHITE(*p))
			p++;
	}
	return 0;
}

/* dc_set - one "key = value" line into the current section */
static int
dc_set(struct dovecot_conf *conf, const char *dir, const char *key, const char *value,
    bool is_file, bool is_var, struct str *err)
{
	struct dovecot_conf_section *s = conf->stack[conf->depth];
	const struct dovecot_conf_setting *set = NULL;
	struct str expanded;
	int ret = 0;

	if (dc_is_global(s)) {
		if ((set = dovecot_conf_setting_find("", key)) == NULL) {
			str_appendf(err, "Unknown setting: %s", key);
			return -1;
		}
	} else if (!dc_is_freeform(s->type)) {
		if ((set = dovecot_conf_setting_find(s->type, key)) == NULL) {
			str_append(err, "Unknown setting: ");
			dc_type_path(s, err);
			str_append(err, key);
			return -1;
		}
	}
	str_init(&expanded, strlen(value) + 16);
	if (is_file) {
		str_append_c(&expanded, '<');
		str_append(&expanded, value);
	} else if (is_var) {
		/* "x = $x $x" on every line doubles the value: cap what an
		 * expansion may add, so memory stays near the input's size */
		expanded.max = strlen(value) + DOVECOT_CONF_MAX_EXPANSION;
		ret = dc_expand(s, key, value, &expanded, err);
		if (ret == 0 && expanded.overflow) {
			str_appendf(err, "Value of %s too long after expanding $%s", key, key);
			ret = -1;
		}
	} else {
		str_append(&expanded, value);
	}
	/* A file's content is not read while parsing (Dovecot's doveconf
	 * does not either), so it cannot be checked here. */
	if (ret == 0 && set != NULL && !is_file) {
		struct str norm;

		str_init(&norm, expanded.len + 16);
		ret = dc_normalize(set, expanded.s, &norm, err);
		if (ret == 0)
			dc_kv_set(s, key, norm.s, dir);
		str_deinit(&norm);
	} else if (ret == 0) {
		dc_kv_set(s, key, expanded.s, dir);
	}
	str_deinit(&expanded);
	return ret;
}

static const char *const dc_root_sections[] = {
	"namespace", "service", "passdb", "userdb", "plugin", "dict", NULL
};

static bool
dc_in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, s) == 0)
			return true;
	}
	return false;
}

/* dc_section_allowed - may a section of type open inside s? */
static int
dc_section_allowed(const struct dovecot_conf_section *s, const char *type, struct str *err)
{
	static const char *const listeners[] = {
		"inet_listener", "unix_listener", "fifo_listener", NULL
	};
	const struct dovecot_conf_section *p;
	bool ok = false;

	if (dc_is_freeform(s->type)) {
		str_append(err, "Section not allowed here");
		return -1;
	}
	if (dc_is_global(s)) {
		if (dc_is_filter_type(type)) {
			for (p = s; p != NULL; p = p->parent) {
				if (p->type != NULL && strcmp(p->type, type) == 0) {
					str_appendf(err, "Nested %s { %s { .. } } block not allowed",
					    type, type);
					return -1;
				}
			}
			return 0;
		}
		ok = dc_in_list(dc_root_sections, type);
	} else if (strcmp(s->type, "namespace") == 0) {
		ok = strcmp(type, "mailbox") == 0;
	} else if (strcmp(s->type, "service") == 0) {
		ok = dc_in_list(listeners, type);
	}
	if (!ok) {
		str_append(err, "Unknown setting: ");
		dc_type_path(s, err);
		str_appendf(err, "%s { %s", type, type);
		return -1;
	}
	return 0;
}

static int
dc_section_begin(struct dovecot_conf *conf, const char *path, unsigned line,
    const char *type, const char *name, struct str *err)
{
	struct dovecot_conf_section *s = conf->stack[conf->depth], *c = NULL;

	if (dc_section_allowed(s, type, err) < 0)
		return -1;
	if (conf->depth >= DOVECOT_CONF_MAX_SECTION_DEPTH) {
		str_append(err, "Sections nested too deeply");
		return -1;
	}
	if (*name == '\0')
		name = NULL;
	if (dc_is_filter_type(type) && name == NULL)
		name = "";	/* Dovecot accepts "protocol {", matching nothing */
	/* Named sections, filters and the string lists merge with an earlier
	 * one of the same type and name; unnamed list entries (passdb,
	 * userdb, namespace) are each their own. */
	if (name != NULL || dc_is_freeform(type))
		c = dc_child_find(s, type, name);
	if (c == NULL)
		c = dc_child_add(s, type, name);
	conf->depth++;
	conf->stack[conf->depth] = c;
	free(conf->stack_file[conf->depth]);
	conf->stack_file[conf->depth] = xstrdup(path);
	conf->stack_line[conf->depth] = line;
	return 0;
}

static void
dc_set_error(struct dovecot_conf *conf, const char *path, unsigned line, const char *msg)
{
	free(conf->error);
	if (line == 0)
		conf->error = xasprintf("Error in configuration file %s: %s", path, msg);
	else
		conf->error = xasprintf("Error in configuration file %s line %u: %s", path, line, msg);
}

/* dc_include - !include / !include_try with glob patterns, relative to the
 * including file's directory */
static int
dc_include(struct dovecot_conf *conf, const char *path, const char *pattern, bool try,
    struct str *err)
{
	struct str dir, file;
	glob_t gl;
	char *full;
	size_t i;
	int ret = 0, gret;

	if (conf->flags & DOVECOT_CONF_NO_INCLUDES) {
		if (try)
			return 0;
		str_append(err, "Includes are disabled here");
		return -1;
	}
	if (pattern[0] == '/' || strchr(path, '/') == NULL) {
		full = xstrdup(pattern);
	} else {
		str_init(&dir, 64);
		path_dirname(&dir, path);
		full = path_join(dir.s, pattern);
		str_deinit(&dir);
	}
	memset(&gl, 0, sizeof(gl));
	gret = glob(full, GLOB_BRACE, NULL, &gl);
	free(full);
	if (gret == GLOB_NOMATCH) {
		globfree(&gl);
		if (try)
			return 0;
		str_append(err, "No matches");
		return -1;
	}
	if (gret != 0) {
		globfree(&gl);
		str_append(err, "glob() failed");
		return -1;
	}
	if (gl.gl_pathc > DOVECOT_CONF_MAX_FILES - conf->nfiles) {
		globfree(&gl);
		str_appendf(err, "Too many included files (more than %d)", DOVECOT_CONF_MAX_FILES);
		return -1;
	}
	str_init(&file, 4096);
	for (i = 0; i < gl.gl_pathc && ret == 0; i++) {
		const char *inc = gl.gl_pathv[i];

		if (strvec_contains(&conf->include_stack, inc)) {
			str_appendf(err, "Recursive include file: %s", inc);
			ret = -1;
			break;
		}
		if (conf->include_stack.n >= DOVECOT_CONF_MAX_INCLUDE_DEPTH) {
			str_appendf(err, "Include depth limit (%d) reached: %s",
			    DOVECOT_CONF_MAX_INCLUDE_DEPTH, inc);
			ret = -1;
			break;
		}
		if (file_read(inc, DOVECOT_CONF_MAX_FILE_SIZE, &file) < 0) {
			if (try && errno == ENOENT)
				continue;
			str_appendf(err, "Couldn't open include file %s: %s", inc, strerror(errno));
			ret = -1;
			break;
		}
		conf->nfiles++;
		ret = dc_parse_data(conf, inc, file.s, file.len);
		if (ret < 0)
			ret = -2;	/* the error is already set, with its own file and line */
	}
	str_deinit(&file);
	globfree(&gl);
	return ret;
}

/* dc_parse_line - one logical line, modified in place. Mirrors Dovecot's
 * config_parse_line, see the top of the file. */
static int
dc_parse_line(struct dovecot_conf *conf, const char *path, unsigned lineno, char *line,
    struct str *err)
{
	char *p, *key, *name;
	size_t len;

	while (IS_WHITE(*line))
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	/* cut the comment, skipping quoted strings */
	for (p = line; *p != '\0'; p++) {
		if (*p == '\'' || *p == '"') {
			char quote = *p;

			for (p++; *p != quote && *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '\0')
				break;
		} else if (*p == '#') {
			if (!IS_WHITE(p[-1])) {
				strvec_push_take(&conf->warnings, xasprintf("Configuration file %s line %u: Ambiguous '#' "
				    "character in line, treating it as comment. Add a space "
				    "before it to remove this warning.", path, lineno));
			}
			*p = '\0';
			break;
		}
	}
	len = strlen(line);
	while (len > 0 && IS_WHITE(line[len - 1]))
		len--;
	line[len] = '\0';

	key = line;
	while (!IS_WHITE(*line) && *line != '\0' && *line != '=')
		line++;
	if (IS_WHITE(*line)) {
		*line++ = '\0';
		while (IS_WHITE(*line))
			line++;
	}
	if (strcmp(key, "!include") == 0 || strcmp(key, "!include_try") == 0) {
		len = strlen(line);
		if (len >= 2 && (line[0] == '"' || line[0] == '\'') && line[len - 1] == line[0]) {
			line[len - 1] = '\0';
			line++;
			dc_unescape(line);
		}
		return dc_include(conf, path, line, key[8] == '_', err);
	}
	if (*line == '=' && line == key) {
		str_append(err, "Missing key name ('=' at the beginning of line)");
		return -1;
	}
	if (*line == '=') {
		struct str dir;
		bool is_file = false, is_var = false;
		int ret;

		*line++ = '\0';
		while (IS_WHITE(*line))
			line++;
		if (*line == '<') {
			while (IS_WHITE(line[1]))
				line++;
			line++;
			is_file = true;
		} else if (*line != '\'' && *line != '"' && strchr(line, '$') != NULL) {
			is_var = true;
		} else {
			len = strlen(line);
			if (len > 0 && ((*line == '"' && line[len - 1] == '"') ||
			    (*line == '\'' && line[len - 1] == '\''))) {
				line[len - 1] = '\0';
				line++;
				dc_unescape(line);
			}
		}
		str_init(&dir, 64);
		if (strchr(path, '/') != NULL)
			path_dirname(&dir, path);
		else
			str_append(&dir, ".");
		ret = dc_set(conf, dir.s, key, line, is_file, is_var, err);
		str_deinit(&dir);
		return ret;
	}
	if (strcmp(key, "}") == 0 && *line == '\0') {
		if (conf->depth == 0 || conf->stack[conf->depth] == NULL) {
			str_append(err, "Unexpected '}'");
			return -1;
		}
		conf->stack[conf->depth] = NULL;
		conf->depth--;
		return 0;
	}
	/* "type [name] {" */
	if (*line == '{') {
		if (line[1] != '\0') {
			str_append(err, "Garbage after '{'");
			return -1;
		}
		return dc_section_begin(conf, path, lineno, key, "", err);
	}
	if (*line != '"') {
		name = line;
		while (!IS_WHITE(*line) && *line != '\0')
			line++;
		if (*line != '\0') {
			*line++ = '\0';
			while (IS_WHITE(*line))
				line++;
		}
	} else {
		name = ++line;
		while (*line != '"' && *line != '\0')
			line++;
		if (*line == '"') {
			*line++ = '\0';
			while (IS_WHITE(*line))
				line++;
			dc_unescape(name);
		}
	}
	if (*line != '{') {
		str_append(err, "Expecting '{'");
		return -1;
	}
	if (line[1] != '\0') {
		str_append(err, "Garbage after '{'");
		return -1;
	}
	return dc_section_begin(conf, path, lineno, key, name, err);
}

/* dc_parse_data - the lines of one file. Sections must close in the file
 * that opened them. */
static int
dc_parse_data(struct dovecot_conf *conf, const char *path, const char *data, size_t len)
{
	struct str line, err;
	const char *p = data, *end = data + len, *nl, *nul;
	unsigned lineno = 0, first_line = 0;
	int start_depth = conf->depth, ret = 0;

	strvec_push(&conf->include_stack, path);
	str_init(&line, 256);
	str_init(&err, 128);
	while (p < end && ret == 0) {
		size_t n;

		nl = memchr(p, '\n', end - p);
		n = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);
		lineno++;
		if (line.len == 0)
			first_line = lineno;
		/* Dovecot reads C strings: a NUL ends the line's text */
		nul = memchr(p, '\0', n);
		str_append_n(&line, p, nul == NULL ? n : (size_t)(nul - p));
		p = nl == NULL ? end : nl + 1;
		if (line.len > 0 && line.s[line.len - 1] == '\r')
			str_truncate(&line, line.len - 1);
		/* a trailing backslash continues the line */
		if (line.len > 0 && line.s[line.len - 1] == '\\' && p < end) {
			str_truncate(&line, line.len - 1);
			while (p < end && IS_WHITE(*p))
				p++;
			continue;
		}
		ret = dc_parse_line(conf, path, first_line, line.s, &err);
		if (ret == -1)
			dc_set_error(conf, path, first_line, err.s);
		str_reset(&line);
		str_reset(&err);
	}
	if (ret == 0 && conf->depth > start_depth) {
		str_appendf(&err, "Missing '}' (section started at %s:%u)",
		    conf->stack_file[conf->depth], conf->stack_line[conf->depth]);
		dc_set_error(conf, path, 0, err.s);
		ret = -1;
	}
	/* unwind what this file opened, so a caller's state stays sane */
	while (conf->depth > start_depth) {
		conf->stack[conf->depth] = NULL;
		conf->depth--;
	}
	str_deinit(&line);
	str_deinit(&err);
	free(conf->include_stack.v[--conf->include_stack.n]);
	conf->include_stack.v[conf->include_stack.n] = NULL;
	return ret < 0 ? -1 : 0;
}

int
dovecot_conf_parse_buffer(struct dovecot_conf *conf, const char *name, const char *data,
    size_t len, unsigned flags, const char **error_r)
{
	int ret;

	conf->flags = flags;
	conf->nfiles = 1;
	conf->depth = 0;
	conf->stack[0] = &conf->root;
	ret = dc_parse_data(conf, name, data, len);
	if (ret < 0)
		*error_r = conf->error;
	return ret;
}

int
dovecot_conf_parse_file(struct dovecot_conf *conf, const char *path, unsigned flags,
    const char **error_r)
{
	struct str data;
	int ret;

	str_init(&data, 4096);
	if (file_read(path, DOVECOT_CONF_MAX_FILE_SIZE, &data) < 0) {
		free(conf->error);
		conf->error = xasprintf("open(%s) failed: %s", path, strerror(errno));
		*error_r = conf->error;
		str_deinit(&data);
		return -1;
	}
	ret = dovecot_conf_parse_buffer(conf, path, data.s, data.len, flags, error_r);
	str_deinit(&data);
	return ret;
}

/* Reading the tree. */

const struct dovecot_conf_section *
dovecot_conf_root(const struct dovecot_conf *conf)
{
	return &conf->root;
}

size_t
dovecot_conf_section_count(const struct dovecot_conf_section *s)
{
	return s->nchildren;
}

const struct dovecot_conf_section *
dovecot_conf_section_child(const struct dovecot_conf_section *s, size_t i)
{
	return i < s->nchildren ? s->children[i] : NULL;
}

const char *
dovecot_conf_section_type(const struct dovecot_conf_section *s)
{
	return s->type;
}

const char *
dovecot_conf_section_name(const struct dovecot_conf_section *s)
{
	return s->name;
}

const char *
dovecot_conf_section_get(const struct dovecot_conf_section *s, const char *key)
{
	const char *v = dc_kv_get(s, key);

	return v != NULL ? v : dc_default(s, key);
}

bool
dovecot_conf_section_key(const struct dovecot_conf_section *s, size_t i, const char **key_r,
    const char **value_r)
{
	if (i >= s->nkvs)
		return false;
	*key_r = s->kvs[i].key;
	*value_r = s->kvs[i].value;
	return true;
}

/* dc_builtin_exists - does the table know a built-in section at path? */
static bool
dc_builtin_exists(const char *path)
{
	size_t i, len = strlen(path);

	for (i = 0; i < dovecot_conf_settings_count; i++) {
		const char *sec = dovecot_conf_settings[i].section;

		if (strncmp(sec, path, len) == 0 && (sec[len] == '\0' || sec[len] == '/'))
			return true;
	}
	return false;
}

const char *
dovecot_conf_get(const struct dovecot_conf *conf, const char *path)
{
	const struct dovecot_conf_section *node = &conf->root;
	const struct dovecot_conf_setting *set;
	struct strvec parts;
	struct str built;
	const char *type = NULL, *ret = NULL, *p, *slash;
	size_t i = 0;

	strvec_init(&parts);
	for (p = path; ; p = slash + 1) {
		slash = strchr(p, '/');
		if (slash == NULL) {
			strvec_push(&parts, p);
			break;
		}
		strvec_push_take(&parts, xstrndup(p, slash - p));
	}
	str_init(&built, 64);
	while (i + 1 < parts.n) {
		type = parts.v[i];
		if (dc_is_freeform(type)) {
			node = node == NULL ? NULL : dc_child_find(node, type, NULL);
			if (node != NULL && i + 2 == parts.n)
				ret = dc_kv_get(node, parts.v[i + 1]);
			goto out;
		}
		if (i + 2 >= parts.n)
			goto out;	/* "type/name" names a section, not a value */
		if (node != NULL)
			node = dc_child_find(node, type, parts.v[i + 1]);
		if (built.len > 0 || strcmp(type, "service") == 0) {
			if (built.len > 0)
				str_append_c(&built, '/');
			str_appendf(&built, "%s/%s", type, parts.v[i + 1]);
		}
		i += 2;
	}
	if (node != NULL && (ret = dc_kv_get(node, parts.v[i])) != NULL)
		goto out;
	if (type == NULL) {
		set = dovecot_conf_setting_find("", parts.v[i]);
	} else {
		if (node == NULL && (built.len == 0 || !dc_builtin_exists(built.s)))
			goto out;
		set = built.len > 0 ? dovecot_conf_setting_find(built.s, parts.v[i]) : NULL;
		if (set == NULL)
			set = dovecot_conf_setting_find(type, parts.v[i]);
	}
	ret = set == NULL ? NULL : set->def;
out:
	str_deinit(&built);
	strvec_deinit(&parts);
	return ret;
}

/* Filters: "protocol imap", "protocol !indexer-worker", "local 10.0.0.0/8",
 * "remote 192.0.2.1". */

/* dc_net_parse - "ip[/bits]" into 16 bytes (IPv4 mapped) and bits */
static bool
dc_net_parse(const char *text, unsigned char ip[16], unsigned *bits_r, bool *v4_r)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t len = slash == NULL ? strlen(text) : (size_t)(slash - text);
	unsigned long bits;
	char *end;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(ip, 0, 16);
	if (inet_pton(AF_INET, buf, ip + 12) == 1) {
		*v4_r = true;
		ip[10] = ip[11] = 0xff;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, ip) == 1) {
		*v4_r = false;
		bits = 128;
	} else {
		return false;
	}
	if (slash != NULL) {
		unsigned long max = bits;

		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || errno != 0 || bits > max || slash[1] == '\0')
			return false;
	}
	*bits_r = (unsigned)bits;
	return true;
}

static unsigned
dc_net_bits(const char *net)
{
	unsigned char ip[16];
	unsigned bits;
	bool v4;

	if (net == NULL)
		return 0;
	return dc_net_parse(net, ip, &bits, &v4) ? bits : 32;
}

static bool
dc_net_match(const char *net, const char *addr)
{
	unsigned char n[16], a[16];
	unsigned nbits, abits, i, total;
	bool nv4, av4;

	if (addr == NULL || !dc_net_parse(net, n, &nbits, &nv4) ||
	    !dc_net_parse(addr, a, &abits, &av4) || nv4 != av4)
		return false;
	total = nv4 ? 96 + nbits : nbits;
	for (i = 0; i < total; i++) {
		unsigned char mask = (unsigned char)(0x80 >> (i % 8));

		if ((n[i / 8] & mask) != (a[i / 8] & mask))
			return false;
	}
	return true;
}

/* dc_filter_of - the conditions a filter node and its ancestors add up to */
struct dc_filter_key {
	unsigned local_bits;
	unsigned remote_bits;
	bool	 has_protocol;
};

static void
dc_filter_key(const struct dovecot_conf_section *s, struct dc_filter_key *k)
{
	memset(k, 0, sizeof(*k));
	for (; s != NULL && s->type != NULL; s = s->parent) {
		if (strcmp(s->type, "local") == 0)
			k->local_bits = dc_net_bits(s->name);
		else if (strcmp(s->type, "remote") == 0)
			k->remote_bits = dc_net_bits(s->name);
		else if (strcmp(s->type, "protocol") == 0)
			k->has_protocol = true;
	}
}

/* dc_filter_cmp - Dovecot prints (and applies) filters from the least to
 * the most specific: local bits, then remote bits, then protocol. */
static int
dc_filter_cmp(const struct dovecot_conf_section *a, const struct dovecot_conf_section *b)
{
	struct dc_filter_key ka, kb;

	dc_filter_key(a, &ka);
	dc_filter_key(b, &kb);
	if (ka.local_bits != kb.local_bits)
		return ka.local_bits < kb.local_bits ? -1 : 1;
	if (ka.remote_bits != kb.remote_bits)
		return ka.remote_bits < kb.remote_bits ? -1 : 1;
	if (ka.has_protocol != kb.has_protocol)
		return ka.has_protocol ? 1 : -1;
	return 0;
}

/* dc_filters_collect - every filter node, depth first, then stably sorted */
void
dc_filters_collect(const struct dovecot_conf_section *s, struct dc_filters *f)
{
	size_t i, j;

	for (i = 0; i < s->nchildren; i++) {
		const struct dovecot_conf_section *c = s->children[i];

		if (!dc_is_filter_type(c->type))
			continue;
		if (f->n == f->cap) {
			f->cap = f->cap == 0 ? 8 : f->cap * 2;
			f->v = xreallocarray(f->v, f->cap, sizeof(*f->v));
		}
		/* insertion keeps equal filters in file order */
		j = f->n++;
		while (j > 0 && dc_filter_cmp(f->v[j - 1], c) > 0) {
			f->v[j] = f->v[j - 1];
			j--;
		}
		f->v[j] = c;
		dc_filters_collect(c, f);
	}
}

static bool
dc_filter_matches(const struct dovecot_conf_section *s, const struct dovecot_conf_filter *f)
{
	for (; s != NULL && s->type != NULL; s = s->parent) {
		if (strcmp(s->type, "protocol") == 0) {
			if (f->protocol == NULL)
				return false;
			if (s->name[0] == '!') {
				if (strcmp(s->name + 1, f->protocol) == 0)
					return false;
			} else if (strcmp(s->name, f->protocol) != 0) {
				return false;
			}
		} else if (strcmp(s->type, "local") == 0) {
			if (!dc_net_match(s->name, f->local_ip))
				return false;
		} else if (strcmp(s->type, "remote") == 0) {
			if (!dc_net_match(s->name, f->remote_ip))
				return false;
		}
	}
	return true;
}

const char *
dovecot_conf_get_filtered(const struct dovecot_conf *conf, const struct dovecot_conf_filter *f,
    const char *key)
{
	struct dc_filters filters = { NULL, 0, 0 };
	const char *v = NULL;
	size_t i;

	dc_filters_collect(&conf->root, &filters);
	for (i = filters.n; i > 0 && v == NULL; i--) {
		if (dc_filter_matches(filters.v[i - 1], f))
			v = dc_kv_get(filters.v[i - 1], key);
	}
	free(filters.v);
	if (v == NULL)
		v = dovecot_conf_get(conf, key);
	return v;
}

char *
dovecot_conf_protocol_str(const struct dovecot_conf *conf, const char *protocol, const char *key)
{
	const struct dovecot_conf_filter f = { .protocol = protocol };
	const char *v = dovecot_conf_get_filtered(conf, &f, key);

	return xstrdup(v != NULL ? v : "");
}

bool
dovecot_conf_protocol_bool(const struct dovecot_conf *conf, const char *protocol, const char *key)
{
	char *v = dovecot_conf_protocol_str(conf, protocol, key);
	const char *err;
	bool b = false;

	(void)dovecot_conf_parse_bool(v, &b, &err);
	free(v);
	return b;
}

unsigned long
dovecot_conf_protocol_uint(const struct dovecot_conf *conf, const char *protocol,
    const char *key)
{
	char *v = dovecot_conf_protocol_str(conf, protocol, key);
	unsigned long long n = 0;
	const char *err;

	(void)dovecot_conf_parse_uint(v, &n, &err);
	free(v);
	return (unsigned long)n;
}

int
dovecot_conf_value_read(const struct dovecot_conf *conf, const char *value, struct str *out)
{
	const struct dovecot_conf_section *stack[DOVECOT_CONF_MAX_SECTION_DEPTH + 2];
	const char *dir = ".";
	size_t sp = 0, i;
	char *path;
	int ret;

	str_reset(out);
	if (value[0] != '<') {
		str_append(out, value);
		return 0;
	}
	/* find which file set it, for relative paths: the value pointer is
	 * one of the tree's own strings */
	stack[sp++] = &conf->root;
	while (sp > 0) {
		const struct dovecot_conf_section *s = stack[--sp];

		for (i = 0; i < s->nkvs; i++) {
			if (s->kvs[i].value == value)
				dir = s->kvs[i].dir;
		}
		for (i = 0; i < s->nchildren && sp < sizeof(stack) / sizeof(stack[0]); i++)
			stack[sp++] = s->children[i];
	}
	path = path_join(dir, value + 1);
	ret = file_read(path, DOVECOT_CONF_MAX_FILE_SIZE, out);
	free(path);
	return ret;
}

