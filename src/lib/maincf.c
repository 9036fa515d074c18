/* maincf.c - main.cf: parsing, the parameter table, lazy $name expansion
 * and typed access (see maincf.h). Tests: tests/unit/lib/test_maincf.c,
 * tests/e2e/test_postconf.py (against the real Postfix), fuzz/fuzz_maincf.c */
#include "lib/maincf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* A main.cf larger than this is not a configuration file. */
#define MAINCF_MAX_SIZE		(16u * 1024 * 1024)
/* Postfix gives up on macro nesting deeper than this. */
#define MAINCF_MAX_DEPTH	100

static maincf_default_fn maincf_default_myhostname;
static maincf_default_fn maincf_default_mydomain;
static maincf_default_fn maincf_default_mynetworks;

const struct maincf_param maincf_params[] = {
#define PARAM(type, name, def, fn, unit, min, help) \
	{ #name, MAINCF_##type, def, fn, unit, min, help },
#include "lib/maincf_params.def"
#undef PARAM
};
const size_t maincf_nparams = sizeof(maincf_params) / sizeof(maincf_params[0]);

struct maincf_override {
	char	*name;		/* owned */
	char	*value;		/* owned */
};

struct maincf {
	char			*config_dir;	/* owned */
	char			*path;		/* owned: config_dir/main.cf */
	struct maincf_entry	*entries;	/* owned, file order */
	size_t			 nentries, capentries;
	/* by name: index + 1 of the last entry of each name (0 = free); a
	 * linear search made every $name of an expansion cost the whole file */
	size_t			*slots;		/* owned, nslots a power of two */
	size_t			 nslots;
	struct maincf_override	*overrides;	/* owned */
	size_t			 noverrides;
	bool			 defaults_only;	/* postconf -d */
	char			**derived;	/* owned, per parameter index: computed defaults */
	struct strvec		 refs;		/* names referenced by $name anywhere */
	struct strvec		 undefined;	/* names an expansion found undefined */
	struct str		 error;		/* text of the last error */
};

static int
maincf_param_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct maincf_param *)elem)->name);
}

const struct maincf_param *
maincf_param_find(const char *name)
{
	return bsearch(name, maincf_params, maincf_nparams, sizeof(maincf_params[0]),
	    maincf_param_cmp);
}

bool
maincf_param_is_raw(const char *name)
{
	static const char *const raw[] = { "forward_path", "luser_relay", "mailbox_command",
		"command_expansion_filter", NULL };
	size_t i;

	for (i = 0; raw[i] != NULL; i++)
		if (strcmp(raw[i], name) == 0)
			return true;
	return false;
}

struct maincf *
maincf_new(const char *config_dir)
{
	struct maincf *mc = xcalloc(1, sizeof(*mc));

	mc->config_dir = xstrdup(config_dir);
	mc->path = path_join(config_dir, "main.cf");
	mc->derived = xcalloc(maincf_nparams, sizeof(char *));
	strvec_init(&mc->refs);
	strvec_init(&mc->undefined);
	str_init(&mc->error, 128);
	return mc;
}

static void
maincf_clear_entries(struct maincf *mc)
{
	size_t i;

	for (i = 0; i < mc->nentries; i++) {
		free(mc->entries[i].name);
		free(mc->entries[i].value);
	}
	mc->nentries = 0;
	if (mc->slots != NULL)
		memset(mc->slots, 0, mc->nslots * sizeof(*mc->slots));
}

static void
maincf_clear_derived(struct maincf *mc)
{
	size_t i;

	for (i = 0; i < maincf_nparams; i++)
		XFREE(mc->derived[i]);
}

void
maincf_free(struct maincf **mcp)
{
	struct maincf *mc = *mcp;
	size_t i;

	if (mc == NULL)
		return;
	maincf_clear_entries(mc);
	free(mc->entries);
	free(mc->slots);
	for (i = 0; i < mc->noverrides; i++) {
		free(mc->overrides[i].name);
		free(mc->overrides[i].value);
	}
	free(mc->overrides);
	maincf_clear_derived(mc);
	free(mc->derived);
	strvec_deinit(&mc->refs);
	strvec_deinit(&mc->undefined);
	str_deinit(&mc->error);
	free(mc->config_dir);
	free(mc->path);
	XFREE(*mcp);
}

const char *
maincf_path(const struct maincf *mc)
{
	return mc->path;
}

const char *
maincf_config_dir(const struct maincf *mc)
{
	return mc->config_dir;
}

const struct maincf_entry *
maincf_entries(const struct maincf *mc, size_t *n_r)
{
	*n_r = mc->nentries;
	return mc->entries;
}

static const char *
maincf_errorf(struct maincf *mc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
maincf_errorf(struct maincf *mc, const char *fmt, ...)
{
	va_list ap;

	str_reset(&mc->error);
	va_start(ap, fmt);
	str_vappendf(&mc->error, fmt, ap);
	va_end(ap);
	return mc->error.s;
}

static bool
maincf_is_name_char(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

void
maincf_note_reference(struct maincf *mc, const char *text)
{
	const char *p = text;

	while ((p = strchr(p, '$')) != NULL) {
		const char *start;

		p++;
		if (*p == '$') {
			p++;
			continue;
		}
		if (*p == '{' || *p == '(')
			p++;
		start = p;
		while (maincf_is_name_char(*p))
			p++;
		if (p > start) {
			char *name = xstrndup(start, (size_t)(p - start));

			if (strvec_contains(&mc->refs, name))
				free(name);
			else
				strvec_push_take(&mc->refs, name);
		}
	}
}

static size_t
maincf_name_hash(const char *name)
{
	size_t h = 5381;

	while (*name != '\0')
		h = h * 33 + (unsigned char)*name++;
	return h;
}

/* maincf_slot - the slot of name: its entry's, or the free one to take */
static size_t *
maincf_slot(const struct maincf *mc, const char *name)
{
	size_t mask = mc->nslots - 1, i = maincf_name_hash(name) & mask;

	while (mc->slots[i] != 0 && strcmp(mc->entries[mc->slots[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return &mc->slots[i];
}

/* maincf_index_entry - the last entry of a name wins, as in Postfix */
static void
maincf_index_entry(struct maincf *mc, size_t idx)
{
	if (mc->nslots < 2 * mc->capentries) {
		size_t i;

		free(mc->slots);
		mc->nslots = 4 * mc->capentries;
		mc->slots = xcalloc(mc->nslots, sizeof(*mc->slots));
		for (i = 0; i < idx; i++)
			*maincf_slot(mc, mc->entries[i].name) = i + 1;
	}
	*maincf_slot(mc, mc->entries[idx].name) = idx + 1;
}

static void
maincf_add_entry(struct maincf *mc, const char *name, size_t namelen, const char *value,
    size_t valuelen, int line)
{
	struct maincf_entry *e;

	if (mc->nentries == mc->capentries) {
		mc->capentries = mc->capentries ? mc->capentries * 2 : 32;
		mc->entries = xreallocarray(mc->entries, mc->capentries, sizeof(*e));
	}
	e = &mc->entries[mc->nentries++];
	e->name = xstrndup(name, namelen);
	e->value = xstrndup(value, valuelen);
	e->line = line;
	maincf_index_entry(mc, mc->nentries - 1);
}

/* maincf_logical_line - parse one logical line (continuations joined);
 * -1 with the error set on a fatal syntax error */
static int
maincf_logical_line(struct maincf *mc, const char *path, struct str *ll, int line,
    const char **error_r)
{
	const char *p = ll->s, *name, *value, *end;
	size_t namelen;

	if (memchr(ll->s, '\0', ll->len) != NULL) {
		*error_r = maincf_errorf(mc, "%s, line %d: NUL character in configuration",
		    path, line);
		return -1;
	}
	name = p;
	while (*p != '\0' && *p != '=' && !isspace((unsigned char)*p))
		p++;
	namelen = (size_t)(p - name);
	while (isspace((unsigned char)*p))
		p++;
	if (namelen == 0 && *p == '=') {
		struct str show;

		str_init(&show, 64);
		log_printable(&show, ll->s, 200);
		*error_r = maincf_errorf(mc, "%s, line %d: missing attribute name: \"%s\"", path,
		    line, show.s);
		str_deinit(&show);
		return -1;
	}
	if (*p != '=') {
		struct str show;

		str_init(&show, 64);
		log_printable(&show, ll->s, 200);
		*error_r = maincf_errorf(mc, "%s, line %d: missing '=' after attribute name: \"%s\"",
		    path, line, show.s);
		str_deinit(&show);
		return -1;
	}
	p++;
	while (isspace((unsigned char)*p))
		p++;
	value = p;
	end = ll->s + ll->len;
	while (end > value && isspace((unsigned char)end[-1]))
		end--;
	maincf_add_entry(mc, name, namelen, value, (size_t)(end - value), line);
	return 0;
}

int
maincf_parse(struct maincf *mc, const char *path, const char *text, size_t len,
    const char **error_r)
{
	struct str ll;
	const char *p = text, *textend = text + len;
	int lineno = 0, start_line = 0, ret = 0;
	bool have = false;
	size_t i;

	maincf_clear_entries(mc);
	maincf_clear_derived(mc);
	str_init(&ll, 256);
	while (p < textend && ret == 0) {
		const char *nl = memchr(p, '\n', (size_t)(textend - p));
		const char *eol = nl ? nl : textend;
		const char *q = p, *e = eol;

		lineno++;
		while (q < e && isspace((unsigned char)*q))
			q++;
		while (e > q && isspace((unsigned char)e[-1]))
			e--;
		if (q == e || *q == '#') {
			/* Blank and comment lines, even inside a continued line. */
		} else if (q != p) {
			/* Leading white space: continue the logical line. */
			if (have) {
				str_append_c(&ll, ' ');
				str_append_n(&ll, q, (size_t)(e - q));
			} else {
				struct str line, show;

				/* The input buffer is not NUL-terminated: copy the line. */
				str_init(&line, 64);
				str_append_n(&line, p, (size_t)(e - p));
				str_init(&show, 64);
				log_printable(&show, line.s, 200);
				log_warn("%s: logical line must not start with whitespace: \"%s\"",
				    path, show.s);
				str_deinit(&show);
				str_deinit(&line);
			}
		} else {
			if (have)
				ret = maincf_logical_line(mc, path, &ll, start_line, error_r);
			str_reset(&ll);
			str_append_n(&ll, q, (size_t)(e - q));
			start_line = lineno;
			have = true;
		}
		p = nl ? nl + 1 : textend;
	}
	if (have && ret == 0)
		ret = maincf_logical_line(mc, path, &ll, start_line, error_r);
	str_deinit(&ll);
	if (ret == 0)
		for (i = 0; i < mc->nentries; i++)
			maincf_note_reference(mc, mc->entries[i].value);
	return ret;
}

int
maincf_load(struct maincf *mc, const char **error_r)
{
	struct str text;
	int ret;

	str_init(&text, 4096);
	if (file_read(mc->path, MAINCF_MAX_SIZE, &text) < 0) {
		*error_r = maincf_errorf(mc, "open %s: %s", mc->path,
		    errno == EFBIG ? "file too large" : strerror(errno));
		str_deinit(&text);
		return -1;
	}
	ret = maincf_parse(mc, mc->path, text.s, text.len, error_r);
	str_deinit(&text);
	return ret;
}

void
maincf_override(struct maincf *mc, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < mc->noverrides; i++) {
		if (strcmp(mc->overrides[i].name, name) == 0) {
			free(mc->overrides[i].value);
			mc->overrides[i].value = xstrdup(value);
			goto done;
		}
	}
	mc->overrides = xreallocarray(mc->overrides, mc->noverrides + 1, sizeof(*mc->overrides));
	mc->overrides[mc->noverrides].name = xstrdup(name);
	mc->overrides[mc->noverrides].value = xstrdup(value);
	mc->noverrides++;
done:
	maincf_note_reference(mc, value);
	maincf_clear_derived(mc);
}

void
maincf_use_defaults_only(struct maincf *mc, bool on)
{
	mc->defaults_only = on;
	maincf_clear_derived(mc);
}

static const struct maincf_entry *
maincf_find_entry(const struct maincf *mc, const char *name)
{
	size_t slot;

	if (mc->nslots == 0 || (slot = *maincf_slot(mc, name)) == 0)
		return NULL;
	return &mc->entries[slot - 1];
}

static const char *
maincf_find_set(struct maincf *mc, const char *name)
{
	const struct maincf_entry *e;
	size_t i;

	for (i = 0; i < mc->noverrides; i++)
		if (strcmp(mc->overrides[i].name, name) == 0)
			return mc->overrides[i].value;
	if (mc->defaults_only)
		return NULL;
	if ((e = maincf_find_entry(mc, name)) != NULL)
		return e->value;
	return NULL;
}

bool
maincf_is_set(struct maincf *mc, const char *name)
{
	return maincf_find_set(mc, name) != NULL;
}

int
maincf_line(struct maincf *mc, const char *name)
{
	const struct maincf_entry *e = maincf_find_entry(mc, name);

	return e ? e->line : 0;
}

const char *
maincf_default(struct maincf *mc, const char *name)
{
	const struct maincf_param *p = maincf_param_find(name);
	size_t idx;

	if (p == NULL)
		return NULL;
	if (p->def != NULL)
		return p->def;
	idx = (size_t)(p - maincf_params);
	if (mc->derived[idx] == NULL) {
		struct str out;

		str_init(&out, 64);
		/* Mark it in progress so that a derived default that refers back
		 * to itself sees "" rather than recursing. */
		mc->derived[idx] = xstrdup("");
		p->def_fn(mc, &out);
		free(mc->derived[idx]);
		mc->derived[idx] = str_export(&out);
	}
	return mc->derived[idx];
}

const char *
maincf_raw(struct maincf *mc, const char *name)
{
	const char *v = maincf_find_set(mc, name);

	return v != NULL ? v : maincf_default(mc, name);
}

/* Expansion. */

/* Values of names already expanded in this call: a name's value does not
 * depend on where it is referenced, and $a = $b$b$b$b chains otherwise
 * cost a call per leaf up to MAINCF_MAX_SIZE. Small values only, so that
 * the memo stays far below the size bound. */
#define MAINCF_MEMO_NAMES	32
#define MAINCF_MEMO_VALUE	(64u * 1024)

struct maincf_memo {
	char		*name;		/* owned */
	struct str	 value;
};

struct maincf_expand_ctx {
	struct maincf		*mc;
	const char		*error;		/* first error, static or in mc->error */
	struct maincf_memo	 memo[MAINCF_MEMO_NAMES];
	size_t			 nmemo;
};

static int maincf_expand_text(struct maincf_expand_ctx *, const char *text, size_t len,
    struct str *out, int depth);

/* maincf_match_brace - p points at an opening { or (: return the matching
 * close, or NULL */
static const char *
maincf_match_brace(const char *p, const char *end)
{
	char open = *p, close = open == '{' ? '}' : ')';
	int level = 0;

	for (; p < end; p++) {
		if (*p == open)
			level++;
		else if (*p == close && --level == 0)
			return p;
	}
	return NULL;
}

static void
maincf_note_undefined(struct maincf *mc, const char *name)
{
	if (!strvec_contains(&mc->undefined, name))
		strvec_push(&mc->undefined, name);
}

/* maincf_expand_name - the expanded value of parameter name into out */
static int
maincf_expand_name(struct maincf_expand_ctx *cx, const char *name, size_t len, struct str *out,
    int depth)
{
	char buf[256];
	const char *raw;
	struct maincf_memo *m;
	size_t i, start;

	if (len >= sizeof(buf)) {
		cx->error = maincf_errorf(cx->mc, "parameter name too long: \"%.40s...\"", name);
		return -1;
	}
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (depth >= MAINCF_MAX_DEPTH) {
		cx->error = maincf_errorf(cx->mc, "unreasonable macro call nesting: \"%s\"", buf);
		return -1;
	}
	if ((raw = maincf_raw(cx->mc, buf)) == NULL) {
		maincf_note_undefined(cx->mc, buf);
		return 0;
	}
	for (i = 0; i < cx->nmemo; i++)
		if (strcmp(cx->memo[i].name, buf) == 0) {
			str_append_n(out, cx->memo[i].value.s, cx->memo[i].value.len);
			return 0;
		}
	/* into the memo only once complete: a loop must still end in the
	 * nesting error */
	start = out->len;
	if (maincf_expand_text(cx, raw, strlen(raw), out, depth + 1) < 0)
		return -1;
	if (out->overflow || out->len - start > MAINCF_MEMO_VALUE ||
	    cx->nmemo == MAINCF_MEMO_NAMES)
		return 0;
	m = &cx->memo[cx->nmemo++];
	m->name = xstrdup(buf);
	str_init(&m->value, out->len - start + 1);
	str_append_n(&m->value, out->s + start, out->len - start);
	return 0;
}

static bool
maincf_is_number(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* maincf_level_cmp - compare compatibility levels such as 3.6 and 2 */
static int
maincf_level_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		char *ea, *eb;
		unsigned long na = strtoul(a, &ea, 10), nb = strtoul(b, &eb, 10);

		if (na != nb)
			return na < nb ? -1 : 1;
		a = *ea == '.' ? ea + 1 : ea;
		b = *eb == '.' ? eb + 1 : eb;
		if (ea == a && eb == b)
			break;
	}
	return 0;
}

static const char *
maincf_skip_space(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

/* maincf_braced - p at "{": the inner text of {...}; advances *pp past it */
static bool
maincf_braced(const char **pp, const char *end, const char **in_r, size_t *len_r)
{
	const char *p = maincf_skip_space(*pp, end), *close;

	if (p >= end || *p != '{' || (close = maincf_match_brace(p, end)) == NULL)
		return false;
	*in_r = p + 1;
	*len_r = (size_t)(close - p - 1);
	*pp = close + 1;
	return true;
}

/* maincf_expand_relational - "{a} OP {b} ? {t} : {f}" */
static int
maincf_expand_relational(struct maincf_expand_ctx *cx, const char *p, const char *end,
    struct str *out, int depth)
{
	const char *a, *b, *t, *f, *op;
	size_t alen, blen, tlen, flen, oplen;
	struct str va, vb;
	bool level, result = false;
	int cmp, ret = -1;

	if (!maincf_braced(&p, end, &a, &alen))
		goto syntax;
	p = op = maincf_skip_space(p, end);
	while (p < end && strchr("=!<>", *p) != NULL)
		p++;
	oplen = (size_t)(p - op);
	level = (size_t)(end - p) >= 5 && strncmp(p, "level", 5) == 0;
	if (level)
		p += 5;
	if (!maincf_braced(&p, end, &b, &blen))
		goto syntax;
	p = maincf_skip_space(p, end);
	if (p >= end || *p++ != '?' || !maincf_braced(&p, end, &t, &tlen))
		goto syntax;
	p = maincf_skip_space(p, end);
	if (p >= end || *p++ != ':' || !maincf_braced(&p, end, &f, &flen))
		goto syntax;
	if (maincf_skip_space(p, end) != end)
		goto syntax;

	str_init(&va, 32);
	str_init(&vb, 32);
	if (maincf_expand_text(cx, a, alen, &va, depth) < 0 ||
	    maincf_expand_text(cx, b, blen, &vb, depth) < 0)
		goto out;
	if (level)
		cmp = maincf_level_cmp(va.s, vb.s);
	else if (maincf_is_number(va.s) && maincf_is_number(vb.s))
		cmp = maincf_level_cmp(va.s, vb.s);
	else
		cmp = strcmp(va.s, vb.s);
	if (oplen == 2 && strncmp(op, "==", 2) == 0)
		result = cmp == 0;
	else if (oplen == 2 && strncmp(op, "!=", 2) == 0)
		result = cmp != 0;
	else if (oplen == 2 && strncmp(op, "<=", 2) == 0)
		result = cmp <= 0;
	else if (oplen == 2 && strncmp(op, ">=", 2) == 0)
		result = cmp >= 0;
	else if (oplen == 1 && *op == '<')
		result = cmp < 0;
	else if (oplen == 1 && *op == '>')
		result = cmp > 0;
	else {
		cx->error = maincf_errorf(cx->mc, "\"==\" or \"!=\" or \"<\" or \"<=\" or \">=\" or "
		    "\">\" expected at: \"%.*s\"", (int)(end - op > 60 ? 60 : end - op), op);
		goto out;
	}
	ret = result ? maincf_expand_text(cx, t, tlen, out, depth)
	    : maincf_expand_text(cx, f, flen, out, depth);
out:
	str_deinit(&va);
	str_deinit(&vb);
	return ret;
syntax:
	cx->error = maincf_errorf(cx->mc, "malformed conditional expression: \"${%.*s}\"",
	    (int)(end - p > 80 ? 80 : end - p), p);
	return -1;
}

/* maincf_expand_braced - the inside of ${...} or $(...) */
static int
maincf_expand_braced(struct maincf_expand_ctx *cx, const char *p, const char *end,
    struct str *out, int depth)
{
	const char *name = p, *t, *f;
	size_t namelen, tlen, flen;
	struct str val;
	int ret;

	if (depth >= MAINCF_MAX_DEPTH) {
		cx->error = maincf_errorf(cx->mc, "unreasonable macro call nesting");
		return -1;
	}
	if (maincf_skip_space(p, end) < end && *maincf_skip_space(p, end) == '{')
		return maincf_expand_relational(cx, p, end, out, depth + 1);
	while (p < end && maincf_is_name_char(*p))
		p++;
	namelen = (size_t)(p - name);
	if (namelen == 0) {
		cx->error = maincf_errorf(cx->mc, "empty macro name: \"${%.*s}\"",
		    (int)(end - name > 60 ? 60 : end - name), name);
		return -1;
	}
	if (p == end)
		return maincf_expand_name(cx, name, namelen, out, depth);
	if (*p != '?' && *p != ':') {
		cx->error = maincf_errorf(cx->mc, "malformed macro reference: \"${%.*s}\"",
		    (int)(end - name > 60 ? 60 : end - name), name);
		return -1;
	}
	str_init(&val, 32);
	val.max = MAINCF_MAX_SIZE;	/* ${a?x} with a self-multiplying $a */
	ret = maincf_expand_name(cx, name, namelen, &val, depth);
	if (ret == 0) {
		bool nonempty = val.len > 0;
		const char *rest = p + 1;

		if (*p == '?' && maincf_braced(&rest, end, &t, &tlen) &&
		    (rest = maincf_skip_space(rest, end)) < end && *rest == ':') {
			/* ${name?{value}:{value}} */
			rest++;
			if (!maincf_braced(&rest, end, &f, &flen) ||
			    maincf_skip_space(rest, end) != end) {
				cx->error = maincf_errorf(cx->mc, "malformed conditional: \"${%.*s}\"",
				    (int)(end - name > 60 ? 60 : end - name), name);
				ret = -1;
			} else {
				ret = nonempty ? maincf_expand_text(cx, t, tlen, out, depth + 1)
				    : maincf_expand_text(cx, f, flen, out, depth + 1);
			}
		} else if (*p == '?' && nonempty) {
			ret = maincf_expand_text(cx, p + 1, (size_t)(end - p - 1), out, depth + 1);
		} else if (*p == ':' && !nonempty) {
			ret = maincf_expand_text(cx, p + 1, (size_t)(end - p - 1), out, depth + 1);
		}
	}
	str_deinit(&val);
	return ret;
}

static int
maincf_expand_text(struct maincf_expand_ctx *cx, const char *text, size_t len, struct str *out,
    int depth)
{
	const char *p = text, *end = text + len;

	if (depth >= MAINCF_MAX_DEPTH) {
		cx->error = maincf_errorf(cx->mc, "unreasonable macro call nesting");
		return -1;
	}
	while (p < end) {
		const char *dollar = memchr(p, '$', (size_t)(end - p));

		if (dollar == NULL) {
			str_append_n(out, p, (size_t)(end - p));
			break;
		}
		str_append_n(out, p, (size_t)(dollar - p));
		p = dollar + 1;
		if (p == end) {
			str_append_c(out, '$');
			break;
		}
		if (*p == '$') {
			str_append_c(out, '$');
			p++;
		} else if (*p == '{' || *p == '(') {
			const char *close = maincf_match_brace(p, end);

			if (close == NULL) {
				cx->error = maincf_errorf(cx->mc, "truncated macro reference: \"%.*s\"",
				    (int)(end - dollar > 60 ? 60 : end - dollar), dollar);
				return -1;
			}
			if (maincf_expand_braced(cx, p + 1, close, out, depth) < 0)
				return -1;
			p = close + 1;
		} else if (maincf_is_name_char(*p)) {
			const char *name = p;

			while (p < end && maincf_is_name_char(*p))
				p++;
			if (maincf_expand_name(cx, name, (size_t)(p - name), out, depth) < 0)
				return -1;
		} else {
			str_append_c(out, '$');
		}
		if (out->overflow) {
			cx->error = "expansion too large";
			return -1;
		}
	}
	return 0;
}

int
maincf_expand(struct maincf *mc, const char *text, struct str *out, const char **error_r)
{
	struct maincf_expand_ctx cx = { .mc = mc };
	size_t saved_max = out->max, i;
	int ret;

	/* Bound the result: self-multiplying references ($a = $b$b, $b = $c$c,
	 * ...) must not eat the machine. */
	if (out->max == 0)
		out->max = MAINCF_MAX_SIZE;
	ret = maincf_expand_text(&cx, text, strlen(text), out, 0);
	out->max = saved_max;
	for (i = 0; i < cx.nmemo; i++) {
		free(cx.memo[i].name);
		str_deinit(&cx.memo[i].value);
	}
	if (ret < 0)
		*error_r = cx.error ? cx.error : "macro processing error";
	return ret;
}

int
maincf_get(struct maincf *mc, const char *name, struct str *out, const char **error_r)
{
	const char *raw = maincf_raw(mc, name);

	str_reset(out);
	if (raw == NULL) {
		*error_r = maincf_errorf(mc, "%s: unknown parameter", name);
		return -1;
	}
	return maincf_expand(mc, raw, out, error_r);
}

/* Typed values. */

bool
maincf_parse_bool(const char *s, bool *val_r)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0) {
		*val_r = true;
		return true;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0) {
		*val_r = false;
		return true;
	}
	return false;
}

bool
maincf_parse_long(const char *s, long *val_r)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s) && !(*s == '-' && isdigit((unsigned char)s[1])))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*val_r = v;
	return true;
}

bool
maincf_parse_time(const char *s, char unit, long *val_r)
{
	char *end;
	long v, mult;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return false;
	if (*end != '\0') {
		if (end[1] != '\0')
			return false;
		unit = *end;
	}
	switch (unit ? unit : 's') {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 7 * 86400; break;
	default: return false;
	}
	if (v > LONG_MAX / mult)
		return false;
	*val_r = v * mult;
	return true;
}

bool
maincf_check_value(const struct maincf_param *p, const char *value, const char **why_r)
{
	bool b;
	long l;

	switch (p->type) {
	case MAINCF_BOOL:
		if (!maincf_parse_bool(value, &b)) {
			*why_r = "bad boolean configuration";
			return false;
		}
		break;
	case MAINCF_INT:
	case MAINCF_SIZE:
		if (!maincf_parse_long(value, &l)) {
			*why_r = "bad numerical configuration";
			return false;
		}
		if (l < p->min) {
			*why_r = "invalid parameter value";
			return false;
		}
		break;
	case MAINCF_TIME:
		if (!maincf_parse_time(value, p->unit, &l)) {
			*why_r = "bad time value or unit";
			return false;
		}
		if (l < p->min) {
			*why_r = "invalid parameter value";
			return false;
		}
		break;
	case MAINCF_STR:
	case MAINCF_LIST:
		break;
	}
	return true;
}

static int
maincf_get_checked(struct maincf *mc, const char *name, struct str *val, const char **error_r)
{
	const struct maincf_param *p = maincf_param_find(name);
	const char *why;

	if (maincf_get(mc, name, val, error_r) < 0)
		return -1;
	if (p != NULL && !maincf_check_value(p, val->s, &why)) {
		int line = maincf_line(mc, name);

		if (line > 0)
			*error_r = maincf_errorf(mc, "%s, line %d: %s: %s = %s", mc->path, line, why,
			    name, val->s);
		else
			*error_r = maincf_errorf(mc, "%s: %s = %s", why, name, val->s);
		return -1;
	}
	return 0;
}

int
maincf_get_bool(struct maincf *mc, const char *name, bool *val_r, const char **error_r)
{
	struct str v;
	int ret;

	str_init(&v, 16);
	if ((ret = maincf_get_checked(mc, name, &v, error_r)) == 0 &&
	    !maincf_parse_bool(v.s, val_r)) {
		*error_r = maincf_errorf(mc, "bad boolean configuration: %s = %s", name, v.s);
		ret = -1;
	}
	str_deinit(&v);
	return ret;
}

int
maincf_get_long(struct maincf *mc, const char *name, long *val_r, const char **error_r)
{
	struct str v;
	int ret;

	str_init(&v, 16);
	if ((ret = maincf_get_checked(mc, name, &v, error_r)) == 0 &&
	    !maincf_parse_long(v.s, val_r)) {
		*error_r = maincf_errorf(mc, "bad numerical configuration: %s = %s", name, v.s);
		ret = -1;
	}
	str_deinit(&v);
	return ret;
}

int
maincf_get_time(struct maincf *mc, const char *name, long *val_r, const char **error_r)
{
	const struct maincf_param *p = maincf_param_find(name);
	struct str v;
	int ret;

	str_init(&v, 16);
	if ((ret = maincf_get_checked(mc, name, &v, error_r)) == 0 &&
	    !maincf_parse_time(v.s, p ? p->unit : 's', val_r)) {
		*error_r = maincf_errorf(mc, "bad time value or unit: %s = %s", name, v.s);
		ret = -1;
	}
	str_deinit(&v);
	return ret;
}

void
maincf_list_split(const char *value, struct strvec *out)
{
	const char *p = value;

	for (;;) {
		const char *start;

		while (*p != '\0' && (isspace((unsigned char)*p) || *p == ','))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && !isspace((unsigned char)*p) && *p != ',') {
			if (*p == '{') {
				const char *close = maincf_match_brace(p, p + strlen(p));

				p = close ? close + 1 : p + strlen(p);
			} else {
				p++;
			}
		}
		strvec_push_take(out, xstrndup(start, (size_t)(p - start)));
	}
}

void
maincf_unused(struct maincf *mc, struct strvec *out)
{
	size_t i;

	for (i = 0; i < mc->nentries; i++) {
		const char *name = mc->entries[i].name;

		if (maincf_param_find(name) == NULL && !strvec_contains(&mc->refs, name) &&
		    !strvec_contains(out, name))
			strvec_push(out, name);
	}
}

const struct strvec *
maincf_undefined(struct maincf *mc)
{
	return &mc->undefined;
}

/* Derived defaults. */

static void
maincf_default_myhostname(struct maincf *mc, struct str *out)
{
	char host[HOST_NAME_MAX + 1];
	const char *domain;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	str_append(out, host);
	if (strchr(host, '.') == NULL) {
		/* Not in FQDN form: append $mydomain when main.cf sets it. */
		domain = maincf_find_set(mc, "mydomain");
		if (domain != NULL && *domain != '\0') {
			struct str d;
			const char *err;

			str_init(&d, 64);
			if (maincf_expand(mc, domain, &d, &err) == 0 && d.len > 0)
				str_appendf(out, ".%s", d.s);
			else
				str_append(out, ".localdomain");
			str_deinit(&d);
		} else {
			str_append(out, ".localdomain");
		}
	}
}

static void
maincf_default_mydomain(struct maincf *mc, struct str *out)
{
	struct str host;
	const char *err, *dot;

	str_init(&host, 64);
	if (maincf_get(mc, "myhostname", &host, &err) == 0 &&
	    (dot = strchr(host.s, '.')) != NULL && dot[1] != '\0')
		str_append(out, dot + 1);
	else
		str_append(out, "localdomain");
	str_deinit(&host);
}

static void
maincf_mask(unsigned char *addr, size_t len, unsigned prefix)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned bits = prefix >= 8 ? 8 : prefix;

		addr[i] &= (unsigned char)(bits == 0 ? 0 : (0xff << (8 - bits)));
		prefix -= bits;
	}
}

static unsigned
maincf_prefix_len(const unsigned char *mask, size_t len)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char m = mask[i];

		while (m & 0x80) {
			n++;
			m = (unsigned char)(m << 1);
		}
		if (mask[i] != 0xff)
			break;
	}
	return n;
}

static void
maincf_networks_family(struct ifaddrs *ifa0, int family, const char *style,
    struct strvec *seen, struct str *out)
{
	struct ifaddrs *ifa;

	for (ifa = ifa0; ifa != NULL; ifa = ifa->ifa_next) {
		unsigned char addr[16], mask[16];
		char text[INET6_ADDRSTRLEN], item[INET6_ADDRSTRLEN + 8];
		size_t len;
		unsigned prefix;

		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != family ||
		    !(ifa->ifa_flags & IFF_UP))
			continue;
		if (family == AF_INET) {
			len = 4;
			memcpy(addr, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, len);
			memset(mask, 0xff, len);
			if (ifa->ifa_netmask != NULL)
				memcpy(mask, &((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr, len);
		} else {
			len = 16;
			memcpy(addr, &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr, len);
			memset(mask, 0xff, len);
			if (ifa->ifa_netmask != NULL)
				memcpy(mask, &((struct sockaddr_in6 *)ifa->ifa_netmask)->sin6_addr,
				    len);
		}
		prefix = maincf_prefix_len(mask, len);
		if (strcmp(style, "host") == 0) {
			prefix = (unsigned)len * 8;
		} else if (strcmp(style, "class") == 0 && family == AF_INET) {
			prefix = addr[0] < 128 ? 8 : addr[0] < 192 ? 16 : addr[0] < 224 ? 24 : 32;
		}
		maincf_mask(addr, len, prefix);
		inet_ntop(family, addr, text, sizeof(text));
		if (family == AF_INET)
			snprintf(item, sizeof(item), "%s/%u", text, prefix);
		else
			snprintf(item, sizeof(item), "[%s]/%u", text, prefix);
		if (strvec_contains(seen, item))
			continue;
		strvec_push(seen, item);
		if (out->len > 0)
			str_append_c(out, ' ');
		str_append(out, item);
	}
}

static void
maincf_default_mynetworks(struct maincf *mc, struct str *out)
{
	struct ifaddrs *ifa0;
	struct strvec seen;
	struct str style, protos;
	const char *err;
	bool v4 = true, v6 = true;

	str_init(&style, 16);
	str_init(&protos, 16);
	if (maincf_get(mc, "mynetworks_style", &style, &err) < 0)
		str_append(&style, "subnet");
	if (maincf_get(mc, "inet_protocols", &protos, &err) == 0 && strcmp(protos.s, "all") != 0) {
		v4 = strstr(protos.s, "ipv4") != NULL;
		v6 = strstr(protos.s, "ipv6") != NULL;
	}
	strvec_init(&seen);
	if (getifaddrs(&ifa0) == 0) {
		if (v4)
			maincf_networks_family(ifa0, AF_INET, style.s, &seen, out);
		if (v6)
			maincf_networks_family(ifa0, AF_INET6, style.s, &seen, out);
		freeifaddrs(ifa0);
	}
	if (out->len == 0)
		str_append(out, "127.0.0.0/8");
	strvec_deinit(&seen);
	str_deinit(&style);
	str_deinit(&protos);
}
