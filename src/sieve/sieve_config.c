/* sieve_config.c - Pigeonhole's settings and include's loader (see
 * sieve_config.h). Values are checked like Dovecot's: sizes with k/M/G,
 * periods with units (s, m, h, d). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "sieve/sieve_config.h"

static int
load_file(void *ctx, const char *name, bool global, struct str *out)
{
	struct sieve_config *c = ctx;
	const char *dir = global ? c->global_dir : c->personal_dir;
	char *path;
	int rc;

	if (dir == NULL || strchr(name, '/') != NULL)
		return 0;
	path = xasprintf("%s/%s.sieve", dir, name);
	rc = file_read(path, c->limits.max_script_size, out);
	free(path);
	if (rc < 0)
		return errno == ENOENT ? 0 : -1;
	return 1;
}

void
sieve_config_init(struct sieve_config *c)
{
	memset(c, 0, sizeof(*c));
	sieve_limits_default(&c->limits);
	sieve_extset_default(&c->exts);
	c->loader.load = load_file;
	c->loader.ctx = c;
}

static void
score_free(struct sieve_scorecfg *s)
{
	size_t i;

	free(s->header);
	free(s->regex);
	free(s->max_header);
	free(s->max_regex);
	for (i = 0; i < 11; i++)
		free(s->texts[i]);
	memset(s, 0, sizeof(*s));
}

static void
hdrcfg_free(struct sieve_hdrcfg *h)
{
	free(h->protect);
	free(h->forbid_add);
	free(h->forbid_delete);
	memset(h, 0, sizeof(*h));
}

void
sieve_config_deinit(struct sieve_config *c)
{
	score_free(&c->spam);
	score_free(&c->virus);
	hdrcfg_free(&c->editheader);
	for (size_t i = 0; i < c->nenv_config; i++)
		free(c->env_config[i]);
	free(c->env_config);
	free(c->personal_dir);
	free(c->global_dir);
	memset(c, 0, sizeof(*c));
}

static int
parse_u64(const char *v, bool size, bool period, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	if (!isdigit((unsigned char)*v))
		return -1;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ')
		end++;
	if (size) {
		switch (tolower((unsigned char)*end)) {
		case 'k': n <<= 10; end++; break;
		case 'm': n <<= 20; end++; break;
		case 'g': n <<= 30; end++; break;
		default: break;
		}
		if (tolower((unsigned char)*end) == 'b')
			end++;
	} else if (period) {
		if (strncmp(end, "d", 1) == 0 || strncmp(end, "day", 3) == 0)
			n *= 86400;
		else if (strncmp(end, "h", 1) == 0)
			n *= 3600;
		else if (strncmp(end, "m", 1) == 0 && strncmp(end, "ms", 2) != 0)
			n *= 60;
		while (isalpha((unsigned char)*end))
			end++;
	}
	if (*end != 0)
		return -1;
	*out = n;
	return 0;
}

/* header_spec - "X-Spam-Score: regexp": the name, then the value's
 * pattern (optional; blanks after the colon are not part of it) */
static void
header_spec(const char *value, char **name_r, char **regex_r)
{
	const char *colon = strchr(value, ':');
	size_t n = colon != NULL ? (size_t)(colon - value) : strlen(value);

	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	free(*name_r);
	XFREE(*regex_r);
	*name_r = xstrndup(value, n);
	if (colon != NULL) {
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		if (*colon != 0)
			*regex_r = xstrdup(colon);
	}
}

/* names_set - a space-separated list of header field names; each must be
 * a valid field name (RFC 5322 ftext) */
static int
names_set(char **p, const char *value)
{
	const unsigned char *v = (const unsigned char *)value;

	for (; *v != 0; v++)
		if (*v != ' ' && *v != '\t' && (*v < 33 || *v > 126 || *v == ':'))
			return -1;
	free(*p);
	*p = *value != 0 ? xstrdup(value) : NULL;
	return 0;
}

int
sieve_config_set(struct sieve_config *c, const char *key, const char *value,
    const char **error_r)
{
	static char err[160];
	uint64_t n;
	const char *bad;
	struct { const char *name; int kind; void *p; } nums[] = {
		{ "sieve_max_script_size", 's', &c->limits.max_script_size },
		{ "sieve_max_actions", 'u', &c->limits.max_actions },
		{ "sieve_max_redirects", 'u', &c->limits.max_redirects },
		{ "sieve_include_max_nesting_depth", 'u', &c->limits.max_include_depth },
		{ "sieve_include_max_includes", 'u', &c->limits.max_includes },
		{ "sieve_variables_max_scope_size", 'u', &c->limits.max_variables },
		{ "sieve_variables_max_variable_size", 's', &c->limits.max_variable_size },
		{ "sieve_vacation_min_period", 'p', &c->limits.vacation_min_period },
		{ "sieve_vacation_max_period", 'p', &c->limits.vacation_max_period },
		{ "sieve_vacation_default_period", 'p', &c->limits.vacation_default_period },
		{ "sieve_duplicate_default_period", 'p', &c->limits.duplicate_default_period },
		{ "sieve_duplicate_max_period", 'p', &c->limits.duplicate_max_period },
		{ NULL, 0, NULL },
	};
	size_t i;

	if (strcmp(key, "sieve_extensions") == 0) {
		struct sieve_extset s = c->exts;

		if (sieve_extset_apply(&s, value, &bad) < 0) {
			snprintf(err, sizeof(err), "unknown Sieve extension '%s'", bad);
			*error_r = err;
			return -1;
		}
		c->exts = s;
		return 1;
	}
	for (i = 0; nums[i].name != NULL; i++) {
		if (strcmp(key, nums[i].name) != 0)
			continue;
		if (parse_u64(value, nums[i].kind == 's', nums[i].kind == 'p', &n) < 0) {
			snprintf(err, sizeof(err), "invalid value for %s: %.60s", key, value);
			*error_r = err;
			return -1;
		}
		if (nums[i].kind == 's')
			*(size_t *)nums[i].p = n == 0 ? SIZE_MAX / 2 : (size_t)n;
		else if (nums[i].kind == 'u')
			*(unsigned *)nums[i].p = n > 100000 ? 100000 : (unsigned)n;
		else
			*(uint64_t *)nums[i].p = n;
		return 1;
	}
	if (strncmp(key, "sieve_spamtest_", 15) == 0 || strncmp(key, "sieve_virustest_", 16) == 0) {
		struct sieve_scorecfg *sc = key[6] == 's' ? &c->spam : &c->virus;
		const char *k = key + (key[6] == 's' ? 15 : 16);

		if (strcmp(k, "status_header") == 0) {
			header_spec(value, &sc->header, &sc->regex);
			return 1;
		}
		if (strcmp(k, "max_header") == 0) {
			header_spec(value, &sc->max_header, &sc->max_regex);
			return 1;
		}
		if (strcmp(k, "status_type") == 0) {
			if (strcmp(value, "score") == 0)
				sc->type = SIEVE_SCORE_SCORE;
			else if (strcmp(value, "strlen") == 0)
				sc->type = SIEVE_SCORE_STRLEN;
			else if (strcmp(value, "text") == 0)
				sc->type = SIEVE_SCORE_TEXT;
			else {
				snprintf(err, sizeof(err), "invalid value for %s: %.60s", key, value);
				*error_r = err;
				return -1;
			}
			return 1;
		}
		if (strcmp(k, "max_value") == 0) {
			char *end;
			double dv = strtod(value, &end);

			if (end == value || *end != 0 || dv <= 0) {
				snprintf(err, sizeof(err), "invalid value for %s: %.60s", key, value);
				*error_r = err;
				return -1;
			}
			sc->max = dv;
			return 1;
		}
		if (strncmp(k, "text_value", 10) == 0) {
			int nv = atoi(k + 10);

			if (nv < 1 || nv > 10) {
				snprintf(err, sizeof(err), "unknown setting %s", key);
				*error_r = err;
				return -1;
			}
			free(sc->texts[nv]);
			sc->texts[nv] = xstrdup(value);
			return 1;
		}
		return 0;
	}
	if (strncmp(key, "sieve_env_", 10) == 0 && key[10] != 0) {
		/* vnd.dovecot.environment's vnd.dovecot.config.NAME */
		size_t kl = strlen(key + 10), e;

		for (e = 0; e < c->nenv_config; e++)
			if (strncmp(c->env_config[e], key + 10, kl) == 0 &&
			    c->env_config[e][kl] == '=')
				break;
		if (e == c->nenv_config) {
			if (c->nenv_config >= 1000) {
				snprintf(err, sizeof(err), "too many sieve_env_ settings");
				*error_r = err;
				return -1;
			}
			c->env_config = xreallocarray(c->env_config, c->nenv_config + 2,
			    sizeof(char *));
			c->nenv_config++;
		} else
			free(c->env_config[e]);
		c->env_config[e] = xasprintf("%s=%s", key + 10, value);
		c->env_config[c->nenv_config] = NULL;
		return 1;
	}
	if (strcmp(key, "sieve_editheader_max_header_size") == 0) {
		/* Pigeonhole's minimum is 1024; less is an invalid value */
		if (parse_u64(value, true, false, &n) < 0 || n < 1024 || n > SIZE_MAX / 2) {
			snprintf(err, sizeof(err), "invalid value for %s: %.60s (at least 1024)",
			    key, value);
			*error_r = err;
			return -1;
		}
		c->limits.editheader_max_header_size = (size_t)n;
		return 1;
	}
	if (strncmp(key, "sieve_editheader_", 17) == 0) {
		const char *k = key + 17;
		char **p = strcmp(k, "protected") == 0 ? &c->editheader.protect :
		    strcmp(k, "forbid_add") == 0 ? &c->editheader.forbid_add :
		    strcmp(k, "forbid_delete") == 0 ? &c->editheader.forbid_delete : NULL;

		if (p == NULL)
			return 0;
		if (names_set(p, value) < 0) {
			snprintf(err, sizeof(err), "invalid header field name in %s: %.60s", key,
			    value);
			*error_r = err;
			return -1;
		}
		return 1;
	}
	if (strcmp(key, "sieve_global") == 0 || strcmp(key, "sieve_global_dir") == 0) {
		free(c->global_dir);
		c->global_dir = xstrdup(strncmp(value, "file:", 5) == 0 ? value + 5 : value);
		return 1;
	}
	return 0;
}

void
sieve_config_unset(struct sieve_config *c, const char *key)
{
	struct sieve_config d;

	sieve_config_init(&d);
	if (strcmp(key, "sieve_extensions") == 0)
		c->exts = d.exts;
	else if (strcmp(key, "sieve_max_script_size") == 0)
		c->limits.max_script_size = d.limits.max_script_size;
	else if (strcmp(key, "sieve_max_actions") == 0)
		c->limits.max_actions = d.limits.max_actions;
	else if (strcmp(key, "sieve_max_redirects") == 0)
		c->limits.max_redirects = d.limits.max_redirects;
	else if (strcmp(key, "sieve_include_max_nesting_depth") == 0)
		c->limits.max_include_depth = d.limits.max_include_depth;
	else if (strcmp(key, "sieve_include_max_includes") == 0)
		c->limits.max_includes = d.limits.max_includes;
	else if (strcmp(key, "sieve_variables_max_scope_size") == 0)
		c->limits.max_variables = d.limits.max_variables;
	else if (strcmp(key, "sieve_variables_max_variable_size") == 0)
		c->limits.max_variable_size = d.limits.max_variable_size;
	else if (strcmp(key, "sieve_global") == 0 || strcmp(key, "sieve_global_dir") == 0)
		XFREE(c->global_dir);
	else if (strncmp(key, "sieve_vacation_", 15) == 0) {
		c->limits.vacation_min_period = d.limits.vacation_min_period;
		c->limits.vacation_max_period = d.limits.vacation_max_period;
		c->limits.vacation_default_period = d.limits.vacation_default_period;
	} else if (strncmp(key, "sieve_duplicate_", 16) == 0) {
		c->limits.duplicate_default_period = d.limits.duplicate_default_period;
		c->limits.duplicate_max_period = d.limits.duplicate_max_period;
	} else if (strcmp(key, "sieve_editheader_max_header_size") == 0)
		c->limits.editheader_max_header_size = d.limits.editheader_max_header_size;
	else if (strncmp(key, "sieve_env_", 10) == 0) {
		size_t kl = strlen(key + 10);

		for (size_t i = 0; i < c->nenv_config; i++)
			if (strncmp(c->env_config[i], key + 10, kl) == 0 &&
			    c->env_config[i][kl] == '=') {
				free(c->env_config[i]);
				memmove(&c->env_config[i], &c->env_config[i + 1],
				    (c->nenv_config - i) * sizeof(char *));
				c->nenv_config--;
				break;
			}
	} else if (strcmp(key, "sieve_editheader_protected") == 0)
		XFREE(c->editheader.protect);
	else if (strcmp(key, "sieve_editheader_forbid_add") == 0)
		XFREE(c->editheader.forbid_add);
	else if (strcmp(key, "sieve_editheader_forbid_delete") == 0)
		XFREE(c->editheader.forbid_delete);
	else if (strncmp(key, "sieve_spamtest_", 15) == 0)
		score_free(&c->spam);
	else if (strncmp(key, "sieve_virustest_", 16) == 0)
		score_free(&c->virus);
	sieve_config_deinit(&d);
}

char *
sieve_script_basename(const char *path)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	if (n > 6 && strcmp(b + n - 6, ".sieve") == 0)
		n -= 6;
	else if (n > 7 && strcmp(b + n - 7, ".svtest") == 0)
		n -= 7;
	return xstrndup(b, n);
}
