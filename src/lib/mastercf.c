/* mastercf.c - master.cf parser and postconf -M formatter.
 *
 * Reads logical lines the way Postfix's readllines() does, splits them the
 * way postconf's pcf_parse_master_entry() does (argv_splitq with braces,
 * then pcf_normalize_daemon_args), so that postconf -M prints what the real
 * one prints. The master's own start-up checks are mastercf_validate().
 * Owns: every service and its strings. Tests: tests/unit/lib/test_mastercf.c,
 * fuzz/fuzz_mastercf.c, tests/e2e/test_mastercf.py. */
#include "lib/mastercf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

#define MASTERCF_BLANKS		" \t\r\n"
#define MASTERCF_MIN_FIELDS	8	/* seven columns and the command */
#define MASTERCF_LINE_LIMIT	80	/* postconf -Mf wraps before this */
#define MASTERCF_INDENT		"    "
#define MASTERCF_INDENT_LEN	4
#define MASTERCF_QUOTE_MAX	1000	/* bytes of an entry quoted in a message */

struct mastercf {
	struct mastercf_service	*svcs;		/* owned */
	size_t			 n;
	size_t			 cap;
	struct strvec		 warnings;	/* owned */
	char			*error;		/* owned, the last error */
	char			*path;		/* owned, the last file parsed */
};

static const char *const mastercf_type_names[] = {
	[MASTERCF_INET] = "inet",
	[MASTERCF_UNIX] = "unix",
	[MASTERCF_UNIX_DGRAM] = "unix-dgram",
	[MASTERCF_FIFO] = "fifo",
	[MASTERCF_PASS] = "pass",
};

struct mastercf *
mastercf_new(void)
{
	struct mastercf *mc = xcalloc(1, sizeof(*mc));

	strvec_init(&mc->warnings);
	return mc;
}

static void
mastercf_service_deinit(struct mastercf_service *svc)
{
	size_t i;

	for (i = 0; i < svc->nopts; i++) {
		free(svc->opts[i].name);
		free(svc->opts[i].value);
	}
	free(svc->opts);
	strvec_deinit(&svc->argv);
}

void
mastercf_free(struct mastercf **mcp)
{
	struct mastercf *mc = *mcp;
	size_t i;

	if (mc == NULL)
		return;
	for (i = 0; i < mc->n; i++)
		mastercf_service_deinit(&mc->svcs[i]);
	free(mc->svcs);
	strvec_deinit(&mc->warnings);
	free(mc->error);
	free(mc->path);
	free(mc);
	*mcp = NULL;
}

const char *
mastercf_type_name(enum mastercf_type type)
{
	return mastercf_type_names[type];
}

/* mastercf_quote - printable, bounded copy of input text for a message */
static void
mastercf_quote(struct str *out, const char *s, size_t max)
{
	log_printable(out, s, max);
}

/* mastercf_warn - collect "PATH: line N: text" */
static void __attribute__((format(printf, 4, 5)))
mastercf_warn(struct mastercf *mc, const char *path, int line, const char *fmt, ...)
{
	struct str s;
	va_list ap;

	str_init(&s, 128);
	str_appendf(&s, "%s: line %d: ", path, line);
	va_start(ap, fmt);
	str_vappendf(&s, fmt, ap);
	va_end(ap);
	strvec_push_take(&mc->warnings, str_export(&s));
	str_deinit(&s);
}

/* mastercf_fail - set the error "file PATH: line N: text" (postconf's shape) */
static int __attribute__((format(printf, 4, 5)))
mastercf_fail(struct mastercf *mc, const char *path, int line, const char *fmt, ...)
{
	struct str s;
	va_list ap;

	str_init(&s, 128);
	str_appendf(&s, "file %s: line %d: ", path, line);
	va_start(ap, fmt);
	str_vappendf(&s, fmt, ap);
	va_end(ap);
	free(mc->error);
	mc->error = str_export(&s);
	str_deinit(&s);
	return -1;
}

/* mastercf_is_space - Postfix's ISSPACE on a byte */
static bool
mastercf_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* mastercf_next_line - one logical line, as readllines(): comment and blank
 * lines are dropped even between continuation lines; a line that starts with
 * white space continues the previous one and is joined without a separator
 * (its own white space separates). false at the end of input. */
static bool
mastercf_next_line(struct mastercf *mc, const char *path, const char *text, size_t len,
    size_t *pos, int *lineno, struct str *buf, int *first_r)
{
	for (;;) {
		str_reset(buf);
		*first_r = 0;
		while (*pos < len) {
			const char *p = text + *pos;
			const char *nl = memchr(p, '\n', len - *pos);
			size_t n = nl != NULL ? (size_t)(nl - p) : len - *pos;
			size_t i;

			*pos += n + (nl != NULL ? 1 : 0);
			(*lineno)++;
			for (i = 0; i < n && mastercf_is_space((unsigned char)p[i]); i++)
				;
			if (i < n && p[i] != '#') {
				if (*first_r == 0)
					*first_r = *lineno;
				str_append_n(buf, p, n);
			}
			if (nl == NULL || *pos >= len)
				break;
			if (buf->len > 0 && text[*pos] != '#' &&
			    !mastercf_is_space((unsigned char)text[*pos]))
				break;
		}
		if (buf->len == 0)
			return false;
		if (mastercf_is_space((unsigned char)buf->s[0])) {
			struct str q;

			str_init(&q, 64);
			mastercf_quote(&q, buf->s, 30);
			mastercf_warn(mc, path, *first_r,
			    "logical line must not start with whitespace: \"%s\"", q.s);
			str_deinit(&q);
			continue;
		}
		return true;
	}
}

/* mastercf_split - argv_splitq(): white space separates, but not inside
 * {braces}; an unbalanced "{" runs to the end of the line */
static void
mastercf_split(const char *s, struct strvec *out)
{
	while (*s != '\0') {
		const char *start;
		int level = 0;

		s += strspn(s, MASTERCF_BLANKS);
		if (*s == '\0')
			break;
		for (start = s; *s != '\0'; s++) {
			if (*s == '{')
				level++;
			else if (level > 0 && *s == '}')
				level--;
			else if (level == 0 && strchr(MASTERCF_BLANKS, *s) != NULL)
				break;
		}
		strvec_push_take(out, xstrndup(start, (size_t)(s - start)));
	}
}

/* mastercf_balpar - length of the balanced {...} at the start of s, or 0 */
static size_t
mastercf_balpar(const char *s)
{
	const char *cp;
	int level;

	if (*s != '{')
		return 0;
	for (level = 1, cp = s + 1; *cp != '\0'; cp++) {
		if (*cp == '}') {
			if (--level == 0)
				return (size_t)(cp - s + 1);
		} else if (*cp == '{') {
			level++;
		}
	}
	return 0;
}

/* mastercf_trim - copy of s[0..n) without surrounding white space */
static char *
mastercf_trim(const char *s, size_t n)
{
	while (n > 0 && mastercf_is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && mastercf_is_space((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* mastercf_extract - extpar(..., EXTPAR_FLAG_STRIP): the text inside
 * {braces}, trimmed. Postfix warns and keeps going on a missing "}" or text
 * after it, and so do we. Returns an owned string. */
static char *
mastercf_extract(struct mastercf *mc, const char *path, int line, const char *arg)
{
	size_t n = mastercf_balpar(arg);
	struct str q;
	char *res;

	str_init(&q, 64);
	mastercf_quote(&q, arg, MASTERCF_QUOTE_MAX);
	if (n == 0) {
		mastercf_warn(mc, path, line, "missing '}' in \"%s\"", q.s);
		res = mastercf_trim(arg + 1, strlen(arg + 1));
	} else {
		if (arg[n] != '\0')
			mastercf_warn(mc, path, line, "syntax error after '}' in \"%s\"", q.s);
		res = mastercf_trim(arg + 1, n - 2);
	}
	str_deinit(&q);
	return res;
}

/* mastercf_nameval - split_nameval(): "name = value" -> "name=value";
 * NULL with *why_r when there is no name or no "=" */
static char *
mastercf_nameval(const char *s, const char **why_r)
{
	const char *np = s, *ep, *cp;
	char *name, *value, *res;

	while (mastercf_is_space((unsigned char)*np))
		np++;
	if (*np == '\0') {
		*why_r = "missing attribute name";
		return NULL;
	}
	for (ep = np; *ep != '\0' && *ep != '=' && !mastercf_is_space((unsigned char)*ep); ep++)
		;
	for (cp = ep; mastercf_is_space((unsigned char)*cp); cp++)
		;
	if (*cp != '=') {
		*why_r = "missing '=' after attribute name";
		return NULL;
	}
	name = xstrndup(np, (size_t)(ep - np));
	value = mastercf_trim(cp + 1, strlen(cp + 1));
	res = xasprintf("%s=%s", name, value);
	free(name);
	free(value);
	return res;
}

/* mastercf_expects_value - pcf_daemon_options_expecting_value ("o"); like
 * Postfix's strchr() test, a bare "-" counts too */
static bool
mastercf_expects_value(const char *arg)
{
	return arg[1] == 'o' || arg[1] == '\0';
}

/* mastercf_normalize - pcf_normalize_daemon_args(): split "-vozz" into
 * "-v" "-ozz" and "-oname=value" into "-o" "name=value", strip {braces} of
 * option values (normalizing "-o { a = b }" to "a=b") and of arguments. */
static void
mastercf_normalize(struct mastercf *mc, const char *path, int line, struct strvec *in,
    struct strvec *out)
{
	size_t i = MASTERCF_MIN_FIELDS;
	char *carry = NULL;	/* a token split off the previous one */
	bool in_opts = true;

	for (;;) {
		char *arg, *value, *cp;

		if (carry != NULL) {
			arg = carry;
			carry = NULL;
		} else if (i < in->n) {
			arg = xstrdup(in->v[i++]);
		} else {
			break;
		}
		if (in_opts && (arg[0] != '-' || strcmp(arg, "--") == 0))
			in_opts = false;
		if (!in_opts) {
			if (arg[0] == '{') {
				strvec_push_take(out, mastercf_extract(mc, path, line, arg));
				free(arg);
			} else {
				strvec_push_take(out, arg);
			}
			continue;
		}
		for (cp = arg + 1; *cp != '\0'; cp++) {
			if (*cp == 'o' && cp > arg + 1) {
				carry = xasprintf("-%s", cp);
				*cp = '\0';
				break;
			}
		}
		if (!mastercf_expects_value(arg)) {
			strvec_push_take(out, arg);
			continue;
		}
		if (arg[1] != '\0' && arg[2] != '\0') {
			value = xstrdup(arg + 2);
			arg[2] = '\0';
		} else if (carry != NULL) {
			value = carry;
			carry = NULL;
		} else if (i < in->n) {
			value = xstrdup(in->v[i++]);
		} else {
			strvec_push_take(out, arg);
			continue;
		}
		if (value[0] == '{') {
			char *inner = mastercf_extract(mc, path, line, value);

			free(value);
			value = inner;
			if (arg[1] == 'o') {
				const char *why = "";
				char *nv = mastercf_nameval(value, &why);

				if (nv == NULL) {
					struct str q;

					str_init(&q, 64);
					mastercf_quote(&q, value, MASTERCF_QUOTE_MAX);
					mastercf_warn(mc, path, line, "%s: \"%s\"", why, q.s);
					str_deinit(&q);
				} else {
					free(value);
					value = nv;
				}
			}
		}
		strvec_push_take(out, arg);
		strvec_push_take(out, value);
	}
}

/* mastercf_check_fields - pcf_check_master_entry(), with postconf's wording */
static int
mastercf_check_fields(struct mastercf *mc, const char *path, int line, const char *raw,
    char **f)
{
	static const char *const bool_names[] = { "private", "unprivileged", "chroot" };
	struct str q;
	const char *what = NULL, *bad = NULL;
	size_t i, n;
	int rc = 0;

	for (i = 0; i < sizeof(mastercf_type_names) / sizeof(mastercf_type_names[0]); i++)
		if (strcmp(f[1], mastercf_type_names[i]) == 0)
			break;
	if (i == sizeof(mastercf_type_names) / sizeof(mastercf_type_names[0])) {
		what = "type";
		bad = f[1];
	}
	for (i = 0; what == NULL && i < 3; i++) {
		const char *cp = f[2 + i];

		if (cp[0] == '\0' || cp[1] != '\0' || strchr("yn-", cp[0]) == NULL) {
			what = bool_names[i];
			bad = cp;
		}
	}
	if (what == NULL) {
		/* as postconf: "-", or digits with an optional "?" (even "?") */
		const char *cp = f[5];

		n = strlen(cp);
		if (n > 0 && cp[n - 1] == '?')
			n--;
		if (!(cp[0] == '-' && n == 1) && strspn(cp, "0123456789") != n) {
			what = "wakeup";
			bad = cp;
		}
	}
	if (what == NULL && strcmp(f[6], "-") != 0 && f[6][strspn(f[6], "0123456789")] != '\0') {
		what = "process_limit";
		bad = f[6];
	}
	if (what != NULL) {
		struct str b;

		str_init(&q, 128);
		str_init(&b, 32);
		mastercf_quote(&q, raw, MASTERCF_QUOTE_MAX);
		mastercf_quote(&b, bad, MASTERCF_QUOTE_MAX);
		rc = mastercf_fail(mc, path, line, "invalid %s field \"%s\" in \"%s\"", what, b.s,
		    q.s);
		str_deinit(&b);
		str_deinit(&q);
	}
	return rc;
}

/* mastercf_number - digits to a long, saturating at LONG_MAX */
static long
mastercf_number(const char *s)
{
	long v = 0;

	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (LONG_MAX - (*s - '0')) / 10)
			return LONG_MAX;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* mastercf_fill - resolve the columns and collect -o overrides */
static void
mastercf_fill(struct mastercf_service *svc)
{
	char **v = svc->argv.v;
	size_t i, j;

	svc->name = v[0];
	svc->type_name = v[1];
	for (j = 0; j < sizeof(mastercf_type_names) / sizeof(mastercf_type_names[0]); j++)
		if (strcmp(v[1], mastercf_type_names[j]) == 0)
			svc->type = (enum mastercf_type)j;
	svc->private_text = v[2];
	svc->unpriv_text = v[3];
	svc->chroot_text = v[4];
	svc->wakeup_text = v[5];
	svc->maxproc_text = v[6];
	svc->command = v[7];
	svc->args_index = MASTERCF_MIN_FIELDS;
	svc->private_ = v[2][0] != 'n';
	svc->unpriv = v[3][0] != 'n';
	svc->chroot = v[4][0] == 'y';
	svc->wakeup = strcmp(v[5], "-") == 0 ? 0 : mastercf_number(v[5]);
	svc->wakeup_cond = svc->wakeup > 0 && v[5][strlen(v[5]) - 1] == '?';
	svc->maxproc = strcmp(v[6], "-") == 0 ? -1 : mastercf_number(v[6]);

	for (i = MASTERCF_MIN_FIELDS; i < svc->argv.n; i++) {
		const char *arg = v[i];

		if (arg[0] != '-' || strcmp(arg, "--") == 0)
			break;
		if (strcmp(arg, "-v") == 0)
			svc->verbose = true;
		if (!mastercf_expects_value(arg) || i + 1 >= svc->argv.n)
			continue;
		i++;
		if (arg[1] == 'o' && strchr(v[i], '=') != NULL) {
			const char *eq = strchr(v[i], '=');
			struct mastercf_opt *o;

			svc->opts = xreallocarray(svc->opts, svc->nopts + 1, sizeof(*svc->opts));
			o = &svc->opts[svc->nopts++];
			o->name = xstrndup(v[i], (size_t)(eq - v[i]));
			o->value = xstrdup(eq + 1);
		}
	}
}

/* mastercf_parse_entry - one logical line into a service */
static int
mastercf_parse_entry(struct mastercf *mc, const char *path, int line, const char *raw)
{
	struct mastercf_service *svc;
	struct strvec toks;
	size_t i;

	strvec_init(&toks);
	mastercf_split(raw, &toks);
	if (toks.n < MASTERCF_MIN_FIELDS) {
		strvec_deinit(&toks);
		return mastercf_fail(mc, path, line, "bad field count");
	}
	if (mastercf_check_fields(mc, path, line, raw, toks.v) < 0) {
		strvec_deinit(&toks);
		return -1;
	}
	if (mc->n == mc->cap) {
		mc->cap = mc->cap == 0 ? 32 : mc->cap * 2;
		mc->svcs = xreallocarray(mc->svcs, mc->cap, sizeof(*mc->svcs));
	}
	svc = &mc->svcs[mc->n++];
	memset(svc, 0, sizeof(*svc));
	strvec_init(&svc->argv);
	for (i = 0; i < MASTERCF_MIN_FIELDS; i++)
		strvec_push(&svc->argv, toks.v[i]);
	mastercf_normalize(mc, path, line, &toks, &svc->argv);
	strvec_deinit(&toks);
	svc->line = line;
	mastercf_fill(svc);
	return 0;
}

int
mastercf_parse(struct mastercf *mc, const char *path, const char *text, size_t len,
    const char **error_r)
{
	struct str buf;
	size_t pos = 0;
	int lineno = 0, first;
	int rc = 0;

	free(mc->path);
	mc->path = xstrdup(path);
	str_init(&buf, 256);
	while (mastercf_next_line(mc, path, text, len, &pos, &lineno, &buf, &first)) {
		/* NUL ends the text, as it ends Postfix's C string */
		if (mastercf_parse_entry(mc, path, first, buf.s) < 0) {
			*error_r = mc->error;
			rc = -1;
			break;
		}
	}
	str_deinit(&buf);
	return rc;
}

int
mastercf_load(struct mastercf *mc, const char *path, const char **error_r)
{
	struct str text;
	int rc;

	str_init(&text, 4096);
	if (file_read(path, MASTERCF_MAX_SIZE, &text) < 0) {
		int saved = errno;

		free(mc->error);
		mc->error = xasprintf("open %s: %s", path,
		    saved == EFBIG ? "file too large" : strerror(saved));
		*error_r = mc->error;
		str_deinit(&text);
		errno = saved;
		return -1;
	}
	rc = mastercf_parse(mc, path, text.s, text.len, error_r);
	str_deinit(&text);
	return rc;
}

const struct mastercf_service *
mastercf_services(const struct mastercf *mc, size_t *n_r)
{
	*n_r = mc->n;
	return mc->svcs;
}

const struct mastercf_service *
mastercf_find(const struct mastercf *mc, const char *name, const char *type)
{
	size_t i;

	for (i = mc->n; i > 0; i--) {
		const struct mastercf_service *svc = &mc->svcs[i - 1];

		if (strcmp(svc->name, name) == 0 && strcmp(svc->type_name, type) == 0)
			return svc;
	}
	return NULL;
}

const struct strvec *
mastercf_warnings(const struct mastercf *mc)
{
	return &mc->warnings;
}

/* mastercf_has_blank - does text contain master.cf white space? */
static bool
mastercf_has_blank(const char *s)
{
	return s[strcspn(s, MASTERCF_BLANKS)] != '\0';
}

/* mastercf_format - pcf_print_master_entry() */
static void
mastercf_format(const struct mastercf_service *svc, bool fold, struct str *out)
{
	static const size_t column_goal[MASTERCF_MIN_FIELDS] = { 0, 11, 17, 25, 33, 41, 49, 57 };
	char *const *v = svc->argv.v;
	size_t line_len = 0, field;
	bool in_opts = true;

	for (field = 0; field < MASTERCF_MIN_FIELDS; field++) {
		if (line_len > 0) {
			do {
				str_append_c(out, ' ');
				line_len++;
			} while (line_len < column_goal[field]);
		}
		str_append(out, v[field]);
		line_len += strlen(v[field]);
	}
	for (; field < svc->argv.n; field++) {
		const char *arg = v[field], *aval = NULL;
		size_t arg_len = strlen(arg);
		bool parens = false;

		if (in_opts) {
			if (arg[0] != '-' || strcmp(arg, "--") == 0) {
				in_opts = false;
			} else if (mastercf_expects_value(arg) && field + 1 < svc->argv.n) {
				aval = v[field + 1];
				line_len = MASTERCF_LINE_LIMIT;	/* an option with value on its own line */
				arg_len += strlen(aval) + 3;
				if ((parens = mastercf_has_blank(aval)))
					arg_len += 2;
			}
		} else {
			/* not for the first non-option: postconf's quirk */
			parens = mastercf_has_blank(arg);
		}
		if (line_len > MASTERCF_INDENT_LEN) {
			if (!fold || line_len + 1 + arg_len < MASTERCF_LINE_LIMIT) {
				str_append_c(out, ' ');
				line_len++;
			} else {
				str_append(out, "\n" MASTERCF_INDENT);
				line_len = MASTERCF_INDENT_LEN;
			}
		}
		if (!in_opts && parens) {
			str_append_c(out, '{');
			line_len++;
		}
		str_append(out, arg);
		line_len += strlen(arg);
		if (!in_opts && parens) {
			str_append_c(out, '}');
			line_len++;
		}
		if (aval != NULL) {
			str_append_c(out, ' ');
			if (parens)
				str_append_c(out, '{');
			str_append(out, aval);
			if (parens)
				str_append_c(out, '}');
			field++;
			line_len = MASTERCF_LINE_LIMIT;
		}
	}
	str_append_c(out, '\n');
}

void
mastercf_format_service(const struct mastercf_service *svc, struct str *out)
{
	mastercf_format(svc, false, out);
}

void
mastercf_format_service_folded(const struct mastercf_service *svc, struct str *out)
{
	mastercf_format(svc, true, out);
}

/* mastercf_valid_host - host name or address characters (the master
 * resolves it later; this catches garbage early) */
static bool
mastercf_valid_host(const char *s, bool bracketed)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!isalnum(c) && c != '.' && c != '-' && c != '_' &&
		    !(c == ':' && bracketed) && !(c == '%' && bracketed))
			return false;
	}
	return true;
}

int
mastercf_inet_split(const char *name, struct str *host, struct str *port,
    const char **error_r)
{
	const char *h = "", *p = name, *colon;
	size_t hlen = 0;
	bool bracketed = false;

	if (name[0] == '[') {
		const char *end = strchr(name, ']');

		if (end == NULL) {
			*error_r = "missing \"]\"";
			return -1;
		}
		if (end[1] != ':') {
			*error_r = end[1] == '\0' ? "missing port" : "garbage after \"]\"";
			return -1;
		}
		h = name + 1;
		hlen = (size_t)(end - h);
		p = end + 2;
		bracketed = true;
	} else if ((colon = strrchr(name, ':')) != NULL) {
		h = name;
		hlen = (size_t)(colon - name);
		p = colon + 1;
		bracketed = memchr(name, ':', hlen) != NULL;	/* bare IPv6 address */
	}
	if (*p == '\0') {
		*error_r = "missing port";
		return -1;
	}
	if (strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
	    strlen(p)) {
		*error_r = "bad port";
		return -1;
	}
	if (hlen > 0 || name[0] == '[') {
		char *hc = xstrndup(h, hlen);
		bool ok = mastercf_valid_host(hc, bracketed);

		free(hc);
		if (!ok) {
			*error_r = "bad hostname or network address";
			return -1;
		}
	}
	str_append_n(host, h, hlen);
	str_append(port, p);
	return 0;
}

int
mastercf_port_number(const char *port)
{
	static const struct {
		const char	*name;
		int		 port;
	} known[] = {
		{ "smtp", 25 }, { "submission", 587 }, { "smtps", 465 }, { "submissions", 465 },
		{ "lmtp", 24 }, { "qmqp", 628 }, { "pop3", 110 }, { "pop3s", 995 },
		{ "imap", 143 }, { "imap2", 143 }, { "imaps", 993 }, { "sieve", 4190 },
	};
	struct servent se, *res = NULL;
	char buf[1024];
	size_t i;

	if (*port == '\0')
		return -1;
	if (strspn(port, "0123456789") == strlen(port)) {
		long v = strlen(port) > 5 ? 0 : strtol(port, NULL, 10);

		return v >= 1 && v <= 65535 ? (int)v : -1;
	}
	if (getservbyname_r(port, "tcp", &se, buf, sizeof(buf), &res) == 0 && res != NULL)
		return ntohs((uint16_t)res->s_port);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].name, port) == 0)
			return known[i].port;
	return -1;
}

/* mastercf_key_hash - FNV-1a of name and type, for the duplicate check */
static uint64_t
mastercf_key_hash(const struct mastercf_service *svc)
{
	uint64_t h = 14695981039346656037ull;
	const char *s;

	for (s = svc->name; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (s = svc->type_name; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* mastercf_push_msg - "PATH: line N: text" onto a vector */
static void __attribute__((format(printf, 4, 5)))
mastercf_push_msg(struct strvec *out, const char *path, int line, const char *fmt, ...)
{
	struct str s;
	va_list ap;

	str_init(&s, 128);
	str_appendf(&s, "%s: line %d: ", path, line);
	va_start(ap, fmt);
	str_vappendf(&s, fmt, ap);
	va_end(ap);
	strvec_push_take(out, str_export(&s));
	str_deinit(&s);
}

/* mastercf_validate_one - the master's per-entry checks */
static int
mastercf_validate_one(const struct mastercf_service *svc, const char *path,
    struct strvec *errors)
{
	struct str q, host, port;
	const char *why;
	int nerr = 0;
	size_t i;

	str_init(&q, 64);
	mastercf_quote(&q, svc->name, MASTERCF_QUOTE_MAX);
	if (svc->type == MASTERCF_INET) {
		if (svc->private_) {
			mastercf_push_msg(errors, path, svc->line, "inet service cannot be private");
			nerr++;
		}
		str_init(&host, 64);
		str_init(&port, 16);
		if (mastercf_inet_split(svc->name, &host, &port, &why) < 0) {
			mastercf_push_msg(errors, path, svc->line, "%s in \"%s\"", why, q.s);
			nerr++;
		} else if (mastercf_port_number(port.s) < 0) {
			str_reset(&q);
			mastercf_quote(&q, port.s, MASTERCF_QUOTE_MAX);
			mastercf_push_msg(errors, path, svc->line, "unknown service: %s/tcp", q.s);
			nerr++;
		}
		str_deinit(&host);
		str_deinit(&port);
	}
	if (strcmp(svc->wakeup_text, "-") != 0 &&
	    (!isdigit((unsigned char)svc->wakeup_text[0]) || svc->wakeup > INT_MAX)) {
		str_reset(&q);
		mastercf_quote(&q, svc->wakeup_text, MASTERCF_QUOTE_MAX);
		mastercf_push_msg(errors, path, svc->line, "field \"wakeup_time\": bad value: \"%s\"",
		    q.s);
		nerr++;
	}
	if (svc->maxproc > INT_MAX) {
		str_reset(&q);
		mastercf_quote(&q, svc->maxproc_text, MASTERCF_QUOTE_MAX);
		mastercf_push_msg(errors, path, svc->line, "field \"max_proc\": bad value: \"%s\"",
		    q.s);
		nerr++;
	}
	for (i = svc->args_index; i < svc->argv.n; i++) {
		const char *arg = svc->argv.v[i];

		if (arg[0] != '-' || strcmp(arg, "--") == 0)
			break;
		if (!mastercf_expects_value(arg))
			continue;
		if (i + 1 >= svc->argv.n) {
			mastercf_push_msg(errors, path, svc->line, "option %s requires a value", arg);
			nerr++;
			break;
		}
		i++;
		if (arg[1] == 'o' && strchr(svc->argv.v[i], '=') == NULL) {
			str_reset(&q);
			mastercf_quote(&q, svc->argv.v[i], MASTERCF_QUOTE_MAX);
			mastercf_push_msg(errors, path, svc->line,
			    "invalid \"-o %s\" option: missing '=' after attribute name", q.s);
			nerr++;
		}
	}
	str_deinit(&q);
	return nerr;
}

int
mastercf_validate(const struct mastercf *mc, struct strvec *errors, struct strvec *warnings)
{
	const char *path = mc->path != NULL ? mc->path : "master.cf";
	size_t *slots, nslots = 16, i;
	int nerr = 0;

	while (nslots < mc->n * 2)
		nslots *= 2;
	slots = xcalloc(nslots, sizeof(*slots));	/* index + 1; 0 = empty */
	for (i = 0; i < mc->n; i++) {
		const struct mastercf_service *svc = &mc->svcs[i];
		size_t s = (size_t)mastercf_key_hash(svc) & (nslots - 1);

		nerr += mastercf_validate_one(svc, path, errors);
		for (; slots[s] != 0; s = (s + 1) & (nslots - 1)) {
			const struct mastercf_service *prev = &mc->svcs[slots[s] - 1];

			if (strcmp(prev->name, svc->name) == 0 &&
			    strcmp(prev->type_name, svc->type_name) == 0) {
				struct str q;

				str_init(&q, 64);
				mastercf_quote(&q, svc->name, MASTERCF_QUOTE_MAX);
				mastercf_push_msg(warnings, path, svc->line,
				    "duplicate master.cf entry for service \"%s\" (%s) -- "
				    "using the last entry", q.s, svc->type_name);
				str_deinit(&q);
				break;
			}
		}
		slots[s] = i + 1;
	}
	free(slots);
	return nerr;
}
