/* sieve_valid.c - the Sieve validator: the table of every command and test
 * with its extension, tagged and positional arguments; require and ihave;
 * if/elsif/else order; comparator, match type and address part checks;
 * encoded-character decoding; constant :regex keys compiled once here.
 * Tests: tests/unit/sieve/test_sieve.c, tests/sieve/errors.svtest,
 * tests/e2e/test_sieve.py (sievec against Pigeonhole's). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "sieve/sieve-private.h"

#define M "%C %M"
static const struct sv_def defs[] = {
	/* commands */
	{ "require", SV_C_REQUIRE, false, -1, "", "l", 0, 0 },
	{ "if", SV_C_IF, false, -1, "", "", 1, 1 },
	{ "elsif", SV_C_ELSIF, false, -1, "", "", 1, 1 },
	{ "else", SV_C_ELSE, false, -1, "", "", 0, 1 },
	{ "stop", SV_C_STOP, false, -1, "", "", 0, 0 },
	{ "keep", SV_C_KEEP, false, -1, ":flags=l!imap4flags", "", 0, 0 },
	{ "discard", SV_C_DISCARD, false, -1, "", "", 0, 0 },
	{ "fileinto", SV_C_FILEINTO, false, SV_EXT_FILEINTO,
	    ":copy!copy :flags=l!imap4flags :create!mailbox :specialuse=s!special-use", "s", 0, 0 },
	{ "redirect", SV_C_REDIRECT, false, -1, ":copy!copy", "s", 0, 0 },
	{ "reject", SV_C_REJECT, false, SV_EXT_REJECT, "", "s", 0, 0 },
	{ "ereject", SV_C_EREJECT, false, SV_EXT_EREJECT, "", "s", 0, 0 },
	{ "vacation", SV_C_VACATION, false, SV_EXT_VACATION,
	    ":days=n :seconds=n!vacation-seconds :subject=s :from=s :addresses=l :mime "
	    ":handle=s", "s", 0, 0 },
	{ "set", SV_C_SET, false, SV_EXT_VARIABLES, ":lower :upper :lowerfirst :upperfirst "
	    ":quotewildcard :quoteregex!regex :length :encodeurl!enotify", "ss", 0, 0 },
	{ "setflag", SV_C_SETFLAG, false, SV_EXT_IMAP4FLAGS, "", "*sl", 0, 0 },
	{ "addflag", SV_C_ADDFLAG, false, SV_EXT_IMAP4FLAGS, "", "*sl", 0, 0 },
	{ "removeflag", SV_C_REMOVEFLAG, false, SV_EXT_IMAP4FLAGS, "", "*sl", 0, 0 },
	{ "include", SV_C_INCLUDE, false, SV_EXT_INCLUDE, ":personal :global :once :optional",
	    "s", 0, 0 },
	{ "return", SV_C_RETURN, false, SV_EXT_INCLUDE, "", "", 0, 0 },
	{ "global", SV_C_GLOBAL, false, SV_EXT_INCLUDE, "", "l", 0, 0 },
	{ "addheader", SV_C_ADDHEADER, false, SV_EXT_EDITHEADER, ":last", "ss", 0, 0 },
	{ "deleteheader", SV_C_DELETEHEADER, false, SV_EXT_EDITHEADER, ":index=n :last " M, "s?l",
	    0, 0 },
	{ "foreverypart", SV_C_FOREVERYPART, false, SV_EXT_FOREVERYPART, ":name=s", "", 0, 1 },
	{ "break", SV_C_BREAK, false, SV_EXT_FOREVERYPART, ":name=s", "", 0, 0 },
	{ "extracttext", SV_C_EXTRACTTEXT, false, SV_EXT_EXTRACTTEXT, ":first=n :lower :upper "
	    ":lowerfirst :upperfirst :quotewildcard :quoteregex!regex :length", "s", 0, 0 },
	{ "notify", SV_C_NOTIFY, false, SV_EXT_ENOTIFY,
	    ":from=s :importance=s :options=l :message=s", "s", 0, 0 },
	{ "error", SV_C_ERROR, false, SV_EXT_IHAVE, "", "s", 0, 0 },
	/* tests */
	{ "address", SV_T_ADDRESS, true, -1, M " %A %I %P", "ll", 0, 0 },
	{ "envelope", SV_T_ENVELOPE, true, SV_EXT_ENVELOPE, M " %A", "ll", 0, 0 },
	{ "header", SV_T_HEADER, true, -1, M " %I %P", "ll", 0, 0 },
	{ "exists", SV_T_EXISTS, true, -1, ":mime!mime :anychild!mime", "l", 0, 0 },
	{ "size", SV_T_SIZE, true, -1, ":over=n :under=n", "", 0, 0 },
	{ "allof", SV_T_ALLOF, true, -1, "", "", 2, 0 },
	{ "anyof", SV_T_ANYOF, true, -1, "", "", 2, 0 },
	{ "not", SV_T_NOT, true, -1, "", "", 1, 0 },
	{ "true", SV_T_TRUE, true, -1, "", "", 0, 0 },
	{ "false", SV_T_FALSE, true, -1, "", "", 0, 0 },
	{ "string", SV_T_STRING, true, SV_EXT_VARIABLES, M, "ll", 0, 0 },
	{ "hasflag", SV_T_HASFLAG, true, SV_EXT_IMAP4FLAGS, M, "*ll", 0, 0 },
	{ "body", SV_T_BODY, true, SV_EXT_BODY, M " :raw :content=l :text", "l", 0, 0 },
	{ "date", SV_T_DATE, true, SV_EXT_DATE, M " %I :zone=s :originalzone", "sll", 0, 0 },
	{ "currentdate", SV_T_CURRENTDATE, true, SV_EXT_DATE, M " :zone=s", "sl", 0, 0 },
	{ "mailboxexists", SV_T_MAILBOXEXISTS, true, SV_EXT_MAILBOX, "", "l", 0, 0 },
	{ "duplicate", SV_T_DUPLICATE, true, SV_EXT_DUPLICATE,
	    ":handle=s :header=s :uniqueid=s :seconds=n :last", "", 0, 0 },
	{ "environment", SV_T_ENVIRONMENT, true, SV_EXT_ENVIRONMENT, M, "sl", 0, 0 },
	{ "spamtest", SV_T_SPAMTEST, true, SV_EXT_SPAMTEST, M " :percent!spamtestplus", "l", 0, 0 },
	{ "virustest", SV_T_VIRUSTEST, true, SV_EXT_VIRUSTEST, M, "l", 0, 0 },
	{ "ihave", SV_T_IHAVE, true, SV_EXT_IHAVE, "", "l", 0, 0 },
	{ "valid_notify_method", SV_T_VALID_NOTIFY_METHOD, true, SV_EXT_ENOTIFY, "", "l", 0, 0 },
	{ "notify_method_capability", SV_T_NOTIFY_METHOD_CAPABILITY, true, SV_EXT_ENOTIFY, M,
	    "ssl", 0, 0 },
	{ "specialuse_exists", SV_T_SPECIALUSE_EXISTS, true, SV_EXT_SPECIAL_USE, "", "*ll", 0, 0 },
	/* vnd.dovecot.testsuite */
	{ "test", SV_C_TEST, false, SV_EXT_TESTSUITE, "", "s", 0, 1 },
	{ "test_fail", SV_C_TEST_FAIL, false, SV_EXT_TESTSUITE, "", "s", 0, 0 },
	{ "test_set", SV_C_TEST_SET, false, SV_EXT_TESTSUITE, "", "ss", 0, 0 },
	{ "test_config_set", SV_C_TEST_CONFIG_SET, false, SV_EXT_TESTSUITE, "", "ss", 0, 0 },
	{ "test_config_unset", SV_C_TEST_CONFIG_UNSET, false, SV_EXT_TESTSUITE, "", "s", 0, 0 },
	{ "test_config_reload", SV_C_TEST_CONFIG_RELOAD, false, SV_EXT_TESTSUITE,
	    ":extension=s", "", 0, 0 },
	{ "test_result_reset", SV_C_TEST_RESULT_RESET, false, SV_EXT_TESTSUITE, "", "", 0, 0 },
	{ "test_result_print", SV_C_TEST_RESULT_PRINT, false, SV_EXT_TESTSUITE, "", "", 0, 0 },
	{ "test_message", SV_C_TEST_MESSAGE, false, SV_EXT_TESTSUITE, ":smtp :folder=s",
	    "n", 0, 0 },
	{ "test_mailbox_create", SV_C_TEST_MAILBOX_CREATE, false, SV_EXT_TESTSUITE, "", "s", 0, 0 },
	{ "test_mailbox_delete", SV_C_TEST_MAILBOX_DELETE, false, SV_EXT_TESTSUITE, "", "s", 0, 0 },
	{ "test_binary_save", SV_C_TEST_BINARY_SAVE, false, SV_EXT_TESTSUITE, "", "s", 0, 0 },
	{ "test_binary_load", SV_C_TEST_BINARY_LOAD, false, SV_EXT_TESTSUITE, "", "s", 0, 0 },
	{ "test_imap_metadata_set", SV_C_TEST_IMAP_METADATA_SET, false, SV_EXT_TESTSUITE,
	    ":mailbox=s", "ss", 0, 0 },
	{ "test_script_compile", SV_T_TEST_SCRIPT_COMPILE, true, SV_EXT_TESTSUITE, "", "s", 0, 0 },
	{ "test_script_run", SV_T_TEST_SCRIPT_RUN, true, SV_EXT_TESTSUITE, ":append_result",
	    "", 0, 0 },
	{ "test_multiscript", SV_T_TEST_MULTISCRIPT, true, SV_EXT_TESTSUITE, "", "l", 0, 0 },
	{ "test_error", SV_T_TEST_ERROR, true, SV_EXT_TESTSUITE, M " :index=n", "l", 0, 0 },
	{ "test_result_action", SV_T_TEST_RESULT_ACTION, true, SV_EXT_TESTSUITE,
	    M " :index=n", "l", 0, 0 },
	{ "test_result_execute", SV_T_TEST_RESULT_EXECUTE, true, SV_EXT_TESTSUITE, "", "", 0, 0 },
	{ "test_message", SV_T_TEST_MESSAGE, true, SV_EXT_TESTSUITE, ":smtp :folder=s", "n", 0, 0 },
	{ NULL, 0, false, 0, NULL, NULL, 0, 0 },
};
#undef M

static const char *const group_c = ":comparator=s";
static const char *const group_m = ":is :contains :matches :regex!regex :count=s!relational "
	":value=s!relational";
static const char *const group_a = ":all :localpart :domain :user!subaddress :detail!subaddress";
static const char *const group_i = ":index=n!index :last!index";
static const char *const group_p = ":mime!mime :anychild!mime :type!mime :subtype!mime "
	":contenttype!mime :param=l!mime";

/* tags that exclude each other */
static const char *const exclusive[] = {
	":is :contains :matches :regex :count :value", ":all :localpart :domain :user :detail",
	":over :under", ":raw :content :text", ":zone :originalzone", ":lower :upper",
	":lowerfirst :upperfirst", ":days :seconds", ":type :subtype :contenttype :param",
	":personal :global", ":header :uniqueid", NULL,
};

static const char *const ext_names[] = {
#define SV_EXT_NAME(id, name, dflt) name,
	SIEVE_EXTENSIONS(SV_EXT_NAME)
#undef SV_EXT_NAME
};
static const bool ext_default[] = {
#define SV_EXT_DFLT(id, name, dflt) dflt,
	SIEVE_EXTENSIONS(SV_EXT_DFLT)
#undef SV_EXT_DFLT
};

const char *
sv_ext_name(int ext)
{
	return ext >= 0 && ext < SV_EXT_COUNT ? ext_names[ext] : "";
}

int
sv_ext_lookup(const char *name)
{
	int i;

	for (i = 0; i < SV_EXT_COUNT; i++)
		if (strcmp(ext_names[i], name) == 0)
			return i;
	/* comparators are required as "comparator-NAME" */
	if (strcmp(name, "comparator-i;octet") == 0 ||
	    strcmp(name, "comparator-i;ascii-casemap") == 0)
		return SV_EXT_COUNT;	/* always there */
	return -1;
}

void
sieve_extset_default(struct sieve_extset *s)
{
	int i;

	s->bits = 0;
	for (i = 0; i < SV_EXT_COUNT; i++)
		if (ext_default[i])
			s->bits |= UINT64_C(1) << i;
}

int
sieve_extset_apply(struct sieve_extset *s, const char *spec, const char **bad_r)
{
	static char bad[128];
	char *copy = xstrdup(spec), *save = NULL, *w;
	bool replaced = false;
	int rc = 0;

	for (w = strtok_r(copy, " \t,", &save); w != NULL; w = strtok_r(NULL, " \t,", &save)) {
		char op = 0;
		int e;

		if (*w == '+' || *w == '-')
			op = *w++;
		e = sv_ext_lookup(w);
		if (e < 0 || e == SV_EXT_COUNT) {
			if (e == SV_EXT_COUNT)
				continue;
			snprintf(bad, sizeof(bad), "%s", w);
			*bad_r = bad;
			rc = -1;
			continue;
		}
		if (op == 0 && !replaced) {
			s->bits = 0;
			replaced = true;
		}
		if (op == '-')
			s->bits &= ~(UINT64_C(1) << e);
		else
			s->bits |= UINT64_C(1) << e;
	}
	free(copy);
	return rc;
}

void
sieve_extset_string(const struct sieve_extset *s, struct str *out)
{
	int i;

	/* i;octet and i;ascii-casemap are always there and not listed, as
	 * Pigeonhole's managesieve_sieve_capability does not list them */
	for (i = 0; i < SV_EXT_COUNT; i++)
		if (i != SV_EXT_TESTSUITE && (s->bits & (UINT64_C(1) << i))) {
			if (out->len > 0 && out->s[out->len - 1] != ' ')
				str_append_c(out, ' ');
			str_append(out, ext_names[i]);
		}
}

const struct sv_def *
sv_def_find(const char *name, bool test)
{
	const struct sv_def *d;

	for (d = defs; d->name != NULL; d++)
		if (d->test == test && strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static const struct sv_def *
sv_def_any(const char *name)
{
	const struct sv_def *d;

	for (d = defs; d->name != NULL; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

const char *
sv_node_tag(const struct sv_node *n, const char *name, struct sv_arg **val_r)
{
	size_t i;

	for (i = 0; i < n->ntags; i++)
		if (strcmp(n->tags[i].name, name) == 0) {
			if (val_r != NULL)
				*val_r = n->tags[i].val;
			return n->tags[i].name;
		}
	return NULL;
}

struct vstate {
	struct sieve_script *sc;
	struct sv_errs *errs;
	bool	 seen_other;	/* a command other than require */
	unsigned unknown_reported;
	char	 reported[16][32];
};

static bool
has_ext(struct vstate *vs, int ext)
{
	return ext < 0 || (vs->sc->exts.bits & (UINT64_C(1) << ext)) != 0;
}

/* spec_find - the spec token for tag in a tag spec (expanding groups):
 * copies "name=t!ext" into out; false if the tag is not allowed */
static bool
spec_find(const char *spec, const char *tag, char *out, size_t outsz)
{
	const char *p = spec;
	size_t tl = strlen(tag);

	while (*p != 0) {
		const char *e;
		size_t n;

		while (*p == ' ')
			p++;
		e = p;
		while (*e != 0 && *e != ' ')
			e++;
		n = (size_t)(e - p);
		if (n == 2 && p[0] == '%') {
			const char *g = p[1] == 'C' ? group_c : p[1] == 'M' ? group_m :
			    p[1] == 'A' ? group_a : p[1] == 'I' ? group_i : group_p;

			if (spec_find(g, tag, out, outsz))
				return true;
		} else if (n >= tl && strncmp(p, tag, tl) == 0 &&
		    (n == tl || p[tl] == '=' || p[tl] == '!')) {
			snprintf(out, outsz, "%.*s", (int)n, p);
			return true;
		}
		p = e;
	}
	return false;
}

static bool
tags_exclusive(const char *a, const char *b)
{
	const char *const *g;

	for (g = exclusive; *g != NULL; g++) {
		const char *pa = strstr(*g, a), *pb = strstr(*g, b);

		if (pa != NULL && pb != NULL && (pa[strlen(a)] == ' ' || pa[strlen(a)] == 0) &&
		    (pb[strlen(b)] == ' ' || pb[strlen(b)] == 0))
			return true;
	}
	return false;
}

static const char *
kind_name(const struct sv_arg *a)
{
	if (a->kind == SV_ARG_NUMBER)
		return "number";
	if (a->kind == SV_ARG_TAG)
		return "tag";
	return a->list ? "string list" : "string";
}

/* decode_encoded - RFC 5228 2.4.2.4: ${hex:41 42} and ${unicode:263a}, in
 * place; a malformed sequence stays as written */
static void
decode_encoded(struct sv_string *s)
{
	struct str out;
	size_t i = 0;

	if (memmem(s->s, s->len, "${", 2) == NULL)
		return;
	str_init(&out, s->len);
	while (i < s->len) {
		size_t j, pfx = 0;
		bool hex = false, ok = true;
		struct str dec;

		if (s->s[i] != '$' || i + 1 >= s->len || s->s[i + 1] != '{') {
			str_append_c(&out, s->s[i++]);
			continue;
		}
		if (s->len - i > 6 && strncasecmp(s->s + i + 2, "hex:", 4) == 0)
			hex = true, pfx = 6;
		else if (s->len - i > 10 && strncasecmp(s->s + i + 2, "unicode:", 8) == 0)
			pfx = 10;
		else {
			str_append_c(&out, s->s[i++]);
			continue;
		}
		str_init(&dec, 16);
		j = i + pfx;
		for (;;) {
			unsigned long v = 0;
			size_t d = 0;

			while (j < s->len && (s->s[j] == ' ' || s->s[j] == '\t' || s->s[j] == '\r' ||
			    s->s[j] == '\n'))
				j++;
			if (j >= s->len) {
				ok = false;
				break;
			}
			if (s->s[j] == '}')
				break;
			while (j < s->len && isxdigit((unsigned char)s->s[j]) && d < 9) {
				v = v * 16 + (unsigned long)(isdigit((unsigned char)s->s[j]) ?
				    s->s[j] - '0' : tolower((unsigned char)s->s[j]) - 'a' + 10);
				j++, d++;
			}
			if (d == 0 || (j < s->len && s->s[j] != ' ' && s->s[j] != '\t' &&
			    s->s[j] != '}' && s->s[j] != '\r' && s->s[j] != '\n')) {
				ok = false;
				break;
			}
			if (hex) {
				if (d > 2) {
					ok = false;
					break;
				}
				str_append_c(&dec, (int)v);
			} else {
				if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
					ok = false;
					break;
				}
				if (v < 0x80)
					str_append_c(&dec, (int)v);
				else if (v < 0x800) {
					str_append_c(&dec, (int)(0xc0 | (v >> 6)));
					str_append_c(&dec, (int)(0x80 | (v & 0x3f)));
				} else if (v < 0x10000) {
					str_append_c(&dec, (int)(0xe0 | (v >> 12)));
					str_append_c(&dec, (int)(0x80 | ((v >> 6) & 0x3f)));
					str_append_c(&dec, (int)(0x80 | (v & 0x3f)));
				} else {
					str_append_c(&dec, (int)(0xf0 | (v >> 18)));
					str_append_c(&dec, (int)(0x80 | ((v >> 12) & 0x3f)));
					str_append_c(&dec, (int)(0x80 | ((v >> 6) & 0x3f)));
					str_append_c(&dec, (int)(0x80 | (v & 0x3f)));
				}
			}
		}
		if (ok) {
			str_append_n(&out, dec.s, dec.len);
			i = j + 1;
		} else
			str_append_c(&out, s->s[i++]);
		str_deinit(&dec);
	}
	free(s->s);
	s->len = out.len;
	s->s = str_export(&out);
	s->vars = memmem(s->s, s->len, "${", 2) != NULL;
}

static bool valid_var_name(const char *s, size_t len);

static void validate_block(struct vstate *, struct sv_node *, size_t, bool top);

static const char *
node_kind(const struct sv_node *n, bool test)
{
	return test ? "test" : "command";
}

/* validate_node - one command or test and what it contains */
static void
validate_node(struct vstate *vs, struct sv_node *n, bool test)
{
	const struct sv_def *d = sv_def_find(n->name, test);
	char spec[64];
	size_t i, k, pi = 0, npos_spec;
	const char *pos;
	bool right_align;

	if (d == NULL || !has_ext(vs, d->ext)) {
		const struct sv_def *other = sv_def_any(n->name);

		if (other != NULL && other->test != test && has_ext(vs, other->ext))
			sv_error(vs->errs, n->line, n->col, "%s '%s' used as %s", other->test ?
			    "test" : "command", n->name, node_kind(n, test));
		else {
			for (k = 0; k < vs->unknown_reported && k < 16; k++)
				if (strcmp(vs->reported[k], n->name) == 0)
					return;
			if (vs->unknown_reported < 16)
				snprintf(vs->reported[vs->unknown_reported++], 32, "%s", n->name);
			sv_error(vs->errs, n->line, n->col, "unknown %s '%s' (only reported once at "
			    "first occurrence).", node_kind(n, test), n->name);
		}
		return;
	}
	n->def = d;
	n->id = d->id;
	n->match = SV_MATCH_IS;
	n->cmp = SV_CMP_CASEMAP;
	n->addrpart = SV_ADDR_ALL;
	n->relop = SV_REL_EQ;
	if (d->id != SV_C_REQUIRE)
		vs->seen_other = true;
	/* tags anywhere before the positional arguments */
	pos = d->pos;
	right_align = *pos == '*';
	if (right_align)
		pos++;
	npos_spec = strlen(pos);
	for (i = 0; i < n->nargs; i++) {
		struct sv_arg *a = &n->args[i];
		char *eq, *bang;
		char type = 0;

		if (a->kind != SV_ARG_TAG) {
			if (n->npos >= 4) {
				sv_error(vs->errs, a->line, a->col, "too many positional arguments "
				    "for %s '%s'", node_kind(n, test), n->name);
				return;
			}
			n->pos[n->npos++] = a;
			continue;
		}
		if (n->npos > 0) {
			sv_error(vs->errs, a->line, a->col, "tagged argument %s after a positional "
			    "argument of %s '%s'", a->tag, node_kind(n, test), n->name);
			return;
		}
		if (!spec_find(d->tags, a->tag, spec, sizeof(spec))) {
			sv_error(vs->errs, a->line, a->col, "unknown tagged argument '%s' for the %s %s "
			    "(reported only once at first occurrence).", a->tag, n->name,
			    node_kind(n, test));
			return;
		}
		bang = strchr(spec, '!');
		if (bang != NULL) {
			int e;

			*bang++ = 0;
			e = sv_ext_lookup(bang);
			if (e >= 0 && e < SV_EXT_COUNT && !has_ext(vs, e) &&
			    !(e == SV_EXT_SPAMTESTPLUS && has_ext(vs, SV_EXT_SPAMTEST))) {
				sv_error(vs->errs, a->line, a->col, "unknown tagged argument '%s' for the "
				    "%s %s (reported only once at first occurrence).", a->tag, n->name,
				    node_kind(n, test));
				return;
			}
		}
		eq = strchr(spec, '=');
		if (eq != NULL)
			type = eq[1];
		for (k = 0; k < n->ntags; k++) {
			if (strcmp(n->tags[k].name, a->tag) == 0) {
				sv_error(vs->errs, a->line, a->col, "tagged argument %s specified more "
				    "than once for %s '%s'", a->tag, node_kind(n, test), n->name);
				return;
			}
			if (tags_exclusive(n->tags[k].name, a->tag)) {
				sv_error(vs->errs, a->line, a->col, "%s cannot be combined with %s "
				    "for %s '%s'", a->tag, n->tags[k].name, node_kind(n, test), n->name);
				return;
			}
		}
		if (n->ntags >= 12) {
			sv_error(vs->errs, a->line, a->col, "too many tagged arguments");
			return;
		}
		n->tags[n->ntags].name = a->tag;
		n->tags[n->ntags].tagarg = a;
		n->tags[n->ntags].val = NULL;
		if (type != 0) {
			struct sv_arg *v = i + 1 < n->nargs ? &n->args[i + 1] : NULL;

			if (v == NULL || v->kind == SV_ARG_TAG ||
			    (type == 'n' && v->kind != SV_ARG_NUMBER) ||
			    (type != 'n' && v->kind != SV_ARG_STRINGS) ||
			    (type == 's' && v->n != 1)) {
				sv_error(vs->errs, a->line, a->col, "the %s tag for the %s %s requires "
				    "a %s argument, but %s was found", a->tag, n->name, node_kind(n, test),
				    type == 'n' ? "number" : type == 's' ? "string" : "string list",
				    v == NULL ? "none" : kind_name(v));
				return;
			}
			n->tags[n->ntags].val = v;
			i++;
		}
		n->ntags++;
	}
	/* positional arguments */
	{
		size_t need = npos_spec, opt = 0;
		const char *q = strchr(pos, '?');

		if (q != NULL) {
			need = (size_t)(q - pos);
			opt = npos_spec - need - 1;
		}
		if (right_align && n->npos == npos_spec - 1)
			pi = 1;		/* the optional first is absent */
		else if (n->npos < need || n->npos > need + opt) {
			sv_error(vs->errs, n->line, n->col, "the %s %s requires %zu positional "
			    "argument(s), but %zu is/are specified.", n->name, node_kind(n, test),
			    need, n->npos);
			return;
		}
		for (i = 0; i < n->npos; i++, pi++) {
			char t = pos[pi] == '?' ? pos[++pi] : pos[pi];
			struct sv_arg *a = n->pos[i];

			if ((t == 'n' && a->kind != SV_ARG_NUMBER) ||
			    (t != 'n' && a->kind != SV_ARG_STRINGS) || (t == 's' && a->list)) {
				sv_error(vs->errs, a->line, a->col, "the %s %s expects a %s as "
				    "positional argument %zu, but %s was found", n->name,
				    node_kind(n, test), t == 'n' ? "number" : t == 's' ? "string" :
				    "string list", i + 1, kind_name(a));
				return;
			}
		}
		if (right_align && n->npos == npos_spec - 1) {
			/* shift: pos[] holds the given ones; mark the missing first */
			memmove(&n->pos[1], &n->pos[0], n->npos * sizeof(n->pos[0]));
			n->pos[0] = NULL;
			n->npos++;
		}
	}
	/* encoded-character: decode every string once */
	if (has_ext(vs, SV_EXT_ENCODED_CHAR))
		for (i = 0; i < n->nargs; i++)
			for (k = 0; k < n->args[i].n; k++)
				decode_encoded(&n->args[i].v[k]);
	/* common tags */
	for (i = 0; i < n->ntags; i++) {
		const char *t = n->tags[i].name;
		struct sv_arg *v = n->tags[i].val;

		if (strcmp(t, ":comparator") == 0) {
			const char *c = v->v[0].s;

			if (strcmp(c, "i;octet") == 0)
				n->cmp = SV_CMP_OCTET;
			else if (strcmp(c, "i;ascii-casemap") == 0)
				n->cmp = SV_CMP_CASEMAP;
			else if (strcmp(c, "i;ascii-numeric") == 0 && has_ext(vs, SV_EXT_NUMERIC))
				n->cmp = SV_CMP_NUMERIC;
			else {
				sv_error(vs->errs, v->line, v->col, "unknown comparator '%s'", c);
				return;
			}
		} else if (strcmp(t, ":is") == 0)
			n->match = SV_MATCH_IS;
		else if (strcmp(t, ":contains") == 0)
			n->match = SV_MATCH_CONTAINS;
		else if (strcmp(t, ":matches") == 0)
			n->match = SV_MATCH_MATCHES;
		else if (strcmp(t, ":regex") == 0)
			n->match = SV_MATCH_REGEX;
		else if (strcmp(t, ":count") == 0 || strcmp(t, ":value") == 0) {
			static const char *const ops[] = { "gt", "ge", "lt", "le", "eq", "ne" };
			const char *op = v->v[0].s;

			n->match = t[1] == 'c' ? SV_MATCH_COUNT : SV_MATCH_VALUE;
			for (k = 0; k < 6; k++)
				if (strcasecmp(op, ops[k]) == 0)
					break;
			if (k == 6) {
				sv_error(vs->errs, v->line, v->col, "invalid relational match type "
				    "'%s' (expected gt, ge, lt, le, eq or ne)", op);
				return;
			}
			n->relop = (int)k;
		} else if (strcmp(t, ":localpart") == 0)
			n->addrpart = SV_ADDR_LOCAL;
		else if (strcmp(t, ":domain") == 0)
			n->addrpart = SV_ADDR_DOMAIN;
		else if (strcmp(t, ":user") == 0)
			n->addrpart = SV_ADDR_USER;
		else if (strcmp(t, ":detail") == 0)
			n->addrpart = SV_ADDR_DETAIL;
	}
	if (n->cmp == SV_CMP_NUMERIC && (n->match == SV_MATCH_CONTAINS ||
	    n->match == SV_MATCH_MATCHES || n->match == SV_MATCH_REGEX)) {
		sv_error(vs->errs, n->line, n->col, "the comparator i;ascii-numeric does not "
		    "support the %s match type", n->match == SV_MATCH_CONTAINS ? ":contains" :
		    n->match == SV_MATCH_MATCHES ? ":matches" : ":regex");
		return;
	}
	/* compile constant :regex keys now: a bad one is a compile error */
	if (n->match == SV_MATCH_REGEX && n->npos > 0) {
		struct sv_arg *keys = n->pos[n->npos - 1];

		if (d->id == SV_C_DELETEHEADER)
			keys = n->npos > 1 ? n->pos[1] : NULL;
		if (keys != NULL) {
			n->nre = keys->n;
			n->re = xcalloc(keys->n, sizeof(*n->re));
			n->re_set = xcalloc(keys->n, sizeof(*n->re_set));
			for (k = 0; k < keys->n; k++) {
				const char *err;

				if (keys->v[k].vars && has_ext(vs, SV_EXT_VARIABLES))
					continue;
				if (sv_regex_compile(&n->re[k], keys->v[k].s, n->cmp, &err) < 0) {
					sv_error(vs->errs, keys->line, keys->col, "invalid regular "
					    "expression '%s' for regex match: %s", keys->v[k].s, err);
					return;
				}
				n->re_set[k] = true;
			}
		}
	}
	/* per-command checks */
	switch (d->id) {
	case SV_C_REQUIRE: {
		struct sv_arg *a = n->pos[0];

		if (vs->seen_other)
			sv_error(vs->errs, n->line, n->col, "require command can only be placed at "
			    "top level at the beginning of the file");
		for (k = 0; k < a->n; k++) {
			int e = sv_ext_lookup(a->v[k].s);

			if (e == SV_EXT_COUNT)
				continue;
			if (e < 0 || !(vs->sc->enabled.bits & (UINT64_C(1) << e))) {
				sv_error(vs->errs, n->line, 0, "require command: unknown Sieve "
				    "capability `%s'.", a->v[k].s);
				continue;
			}
			vs->sc->exts.bits |= UINT64_C(1) << e;
			/* spamtestplus implies spamtest; variables are needed by
			 * several; imply what the RFCs imply */
			if (e == SV_EXT_SPAMTESTPLUS)
				vs->sc->exts.bits |= UINT64_C(1) << SV_EXT_SPAMTEST;
			if (e == SV_EXT_EREJECT)
				vs->sc->exts.bits |= UINT64_C(1) << SV_EXT_EREJECT;
			/* vnd.dovecot.environment implies environment */
			if (e == SV_EXT_VND_ENVIRONMENT)
				vs->sc->exts.bits |= UINT64_C(1) << SV_EXT_ENVIRONMENT;
		}
		break;
	}
	case SV_C_SET:
		if (!valid_var_name(n->pos[0]->v[0].s, n->pos[0]->v[0].len))
			sv_error(vs->errs, n->pos[0]->line, n->pos[0]->col, "invalid variable name "
			    "'%s'", n->pos[0]->v[0].s);
		break;
	case SV_C_SETFLAG: case SV_C_ADDFLAG: case SV_C_REMOVEFLAG: case SV_T_HASFLAG:
		if (n->pos[0] != NULL) {
			if (!has_ext(vs, SV_EXT_VARIABLES)) {
				sv_error(vs->errs, n->line, n->col, "the %s %s needs the variables "
				    "extension for a variable-name argument", n->name, node_kind(n, test));
				break;
			}
			for (k = 0; k < n->pos[0]->n; k++)
				if (!valid_var_name(n->pos[0]->v[k].s, n->pos[0]->v[k].len))
					sv_error(vs->errs, n->pos[0]->line, n->pos[0]->col, "invalid "
					    "variable name '%s'", n->pos[0]->v[k].s);
		}
		break;
	case SV_T_SIZE:
		if (n->ntags != 1)
			sv_error(vs->errs, n->line, n->col, "the size test requires either the :under "
			    "or the :over tag to be specified");
		break;
	case SV_C_REDIRECT: {
		const char *addr = n->pos[0]->v[0].s;

		if (!n->pos[0]->v[0].vars && (strchr(addr, '@') == NULL || strchr(addr, ' ') ||
		    addr[0] == '@' || addr[strlen(addr) - 1] == '@'))
			sv_error(vs->errs, n->pos[0]->line, n->pos[0]->col, "specified redirect "
			    "address '%s' is invalid", addr);
		break;
	}
	case SV_C_GLOBAL:
		for (k = 0; k < n->pos[0]->n; k++)
			if (!valid_var_name(n->pos[0]->v[k].s, n->pos[0]->v[k].len))
				sv_error(vs->errs, n->line, n->col, "invalid variable name '%s'",
				    n->pos[0]->v[k].s);
		break;
	case SV_C_INCLUDE: {
		const char *nm = n->pos[0]->v[0].s;

		n->include_global = sv_has_tag(n, ":global");
		n->include_once = sv_has_tag(n, ":once");
		n->include_optional = sv_has_tag(n, ":optional");
		if (*nm == 0 || strchr(nm, '/') != NULL || strcmp(nm, ".") == 0 ||
		    strcmp(nm, "..") == 0)
			sv_error(vs->errs, n->pos[0]->line, n->pos[0]->col, "include: invalid "
			    "script name '%s'", nm);
		break;
	}
	case SV_C_ADDHEADER: case SV_C_DELETEHEADER: {
		const char *h = n->pos[0]->v[0].s;
		size_t j;

		for (j = 0; h[j] != 0; j++)
			if ((unsigned char)h[j] <= 32 || h[j] == ':' || (unsigned char)h[j] >= 127)
				break;
		if (!n->pos[0]->v[0].vars && (h[0] == 0 || h[j] != 0))
			sv_error(vs->errs, n->pos[0]->line, n->pos[0]->col, "%s: specified field "
			    "name '%s' is invalid", n->name, h);
		/* a constant value over sieve_editheader_max_header_size can never
		 * be added: Pigeonhole refuses the script */
		if (d->id == SV_C_ADDHEADER && !n->pos[1]->v[0].vars &&
		    n->pos[1]->v[0].len > vs->sc->limits.editheader_max_header_size)
			sv_error(vs->errs, n->pos[1]->line, n->pos[1]->col, "addheader command: "
			    "specified header value is too large (%zu bytes)", n->pos[1]->v[0].len);
		if (d->id == SV_C_DELETEHEADER && !n->pos[0]->v[0].vars &&
		    (strcasecmp(h, "received") == 0 || strcasecmp(h, "auto-submitted") == 0))
			sv_warning(vs->errs, n->line, "deleteheader command: deleting specified "
			    "header field '%s' is forbidden; modification will be denied", h);
		break;
	}
	default:
		break;
	}
	/* subtests and block */
	if (d->subtests == 0 && n->ntests > 0) {
		sv_error(vs->errs, n->line, n->col, "the %s %s accepts no tests", n->name,
		    node_kind(n, test));
		return;
	}
	if (d->subtests == 1 && (n->ntests != 1 || n->test_list)) {
		sv_error(vs->errs, n->line, n->col, "the %s %s requires one test", n->name,
		    node_kind(n, test));
		return;
	}
	if (d->subtests == 2 && !n->test_list) {
		sv_error(vs->errs, n->line, n->col, "the %s test requires a test list", n->name);
		return;
	}
	if (d->block && !n->has_block) {
		sv_error(vs->errs, n->line, n->col, "the %s command requires a command block",
		    n->name);
		return;
	}
	if (!d->block && n->has_block) {
		sv_error(vs->errs, n->line, n->col, "the %s command does not take a command block",
		    n->name);
		return;
	}
	for (i = 0; i < n->ntests; i++)
		validate_node(vs, &n->tests[i], true);
	/* ihave: a block guarded by an unknown capability is not validated */
	if ((d->id == SV_C_IF || d->id == SV_C_ELSIF) && n->ntests == 1 &&
	    n->tests[0].id == SV_T_IHAVE && n->tests[0].def != NULL && n->tests[0].npos == 1 &&
	    n->tests[0].pos[0] != NULL) {
		struct sv_arg *caps = n->tests[0].pos[0];
		bool all = true;

		for (k = 0; k < caps->n; k++) {
			int e = sv_ext_lookup(caps->v[k].s);

			if (e < 0 || (e < SV_EXT_COUNT && !(vs->sc->enabled.bits & (UINT64_C(1) << e))))
				all = false;
		}
		if (!all)
			return;
		for (k = 0; k < caps->n; k++) {
			int e = sv_ext_lookup(caps->v[k].s);

			if (e < SV_EXT_COUNT)
				vs->sc->exts.bits |= UINT64_C(1) << e;
		}
	}
	if (n->has_block)
		validate_block(vs, n->block, n->nblock, false);
}

static bool
valid_var_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return false;
	/* an identifier, possibly with a namespace ("tst.path" style) */
	for (i = 0; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || (s[i] == '.' && i > 0)))
			return false;
	return !isdigit((unsigned char)s[0]);
}

static void
validate_block(struct vstate *vs, struct sv_node *cmds, size_t n, bool top)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct sv_node *c = &cmds[i];

		if (strcmp(c->name, "require") == 0 && !top) {
			sv_error(vs->errs, c->line, c->col, "require command can only be placed at "
			    "top level at the beginning of the file");
			continue;
		}
		if ((strcmp(c->name, "elsif") == 0 || strcmp(c->name, "else") == 0) &&
		    (i == 0 || (strcmp(cmds[i - 1].name, "if") != 0 &&
		    strcmp(cmds[i - 1].name, "elsif") != 0))) {
			sv_error(vs->errs, c->line, c->col, "the %s command must follow an if or "
			    "elseif command", c->name);
			continue;
		}
		validate_node(vs, c, false);
	}
}

int
sv_validate(struct sieve_script *sc, struct sv_errs *errs)
{
	struct vstate vs;
	unsigned before = errs->count;

	memset(&vs, 0, sizeof(vs));
	vs.sc = sc;
	vs.errs = errs;
	validate_block(&vs, sc->cmds, sc->ncmds, true);
	return errs->count == before ? 0 : -1;
}
