/* pm_regex.c - procmail's egrep dialect translated to POSIX EREs (glibc
 * regcomp/regexec), with \/ extraction and match counting for scores.
 * Why POSIX and not a matcher of our own: glibc's is a DFA/backtracking
 * hybrid with leftmost-longest semantics like egrep's and procmail's, is
 * already in every process, and its behaviour on hostile patterns has
 * years of fuzzing behind it; procmail's extensions are all expressible as
 * rewrites of the pattern (see pm_regex.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "procmail/pm_regex.h"

/* The macros, from procmailrc(5), MISCELLANEOUS (one line each here). */
static const char TO_ADDR[] =
    "(^((Original-)?(Resent-)?(To|Cc|Bcc)|(X-Envelope|Apparently(-Resent)?)-To):(.*[^-a-zA-Z0-9_.])?)";
static const char TO_WORD[] =
    "(^((Original-)?(Resent-)?(To|Cc|Bcc)|(X-Envelope|Apparently(-Resent)?)-To):(.*[^a-zA-Z])?)";
static const char FROM_DAEMON[] =
    "(^(Mailing-List:|Precedence:.*(junk|bulk|list)|To: Multiple recipients of |"
    "(((Resent-)?(From|Sender)|X-Envelope-From):|>?From )([^>]*[^(.%@a-z0-9])?"
    "(Post(ma?(st(e?r)?|n)|office)|(send)?Mail(er)?|daemon|m(mdf|ajordomo)|n?uucp|"
    "LIST(SERV|proc)|NETSERV|o(wner|ps)|r(e(quest|sponse)|oot)|b(ounce|bs\\.smtp)|echo|"
    "mirror|s(erv(ices?|er)|mtp(error)?|ystem)|A(dmin(istrator)?|MMGR|utoanswer))"
    "(([^).!:a-z0-9][-_a-z0-9]*)?[%@>\t ][^<)]*(\\(.*\\).*)?)?$([^>]|$)))";
static const char FROM_MAILER[] =
    "(^(((Resent-)?(From|Sender)|X-Envelope-From):|>?From )([^>]*[^(.%@a-z0-9])?"
    "(Post(ma(st(er)?|n)|office)|(send)?Mail(er)?|daemon|mmdf|n?uucp|ops|r(esponse|oot)|"
    "(bbs\\.)?smtp(error)?|s(erv(ices?|er)|ystem)|A(dmin(istrator)?|MMGR))"
    "(([^).!:a-z0-9][-_a-z0-9]*)?[%@>\t ][^<)]*(\\(.*\\).*)?)?$([^>]|$))";

#define WORD_EDGE "([^a-zA-Z0-9_]|^|$)"

/* expand_macros - replace ^TO_, ^TO, ^FROM_DAEMON, ^FROM_MAILER */
static void
expand_macros(const char *pat, struct str *out)
{
	while (*pat != '\0') {
		if (pat[0] == '\\' && pat[1] != '\0') {
			str_append_n(out, pat, 2);
			pat += 2;
		} else if (strncmp(pat, "^TO_", 4) == 0) {
			str_append(out, TO_ADDR);
			pat += 4;
		} else if (strncmp(pat, "^TO", 3) == 0) {
			str_append(out, TO_WORD);
			pat += 3;
		} else if (strncmp(pat, "^FROM_DAEMON", 12) == 0) {
			str_append(out, FROM_DAEMON);
			pat += 12;
		} else if (strncmp(pat, "^FROM_MAILER", 12) == 0) {
			str_append(out, FROM_MAILER);
			pat += 12;
		} else
			str_append_c(out, *pat++);
	}
}

/* copy_bracket - a [...] set as is; returns the length consumed, 0 when
 * it is not closed (then the [ is a literal) */
static size_t
copy_bracket(const char *p, struct str *out)
{
	size_t i = 1;

	if (p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	while (p[i] != '\0' && p[i] != ']')
		i++;
	if (p[i] != ']')
		return 0;
	str_append_n(out, p, i + 1);
	return i + 1;
}

void
pm_regex_translate(const char *pat0, struct str *left, struct str *right, bool *split_r,
    bool *anchor_start_r, bool *anchor_end_r)
{
	struct str exp;
	struct str *out = left;
	const char *p;
	bool alt_start = true;
	int depth = 0;
	size_t n;

	*split_r = *anchor_start_r = *anchor_end_r = false;
	str_init(&exp, strlen(pat0) + 16);
	expand_macros(pat0, &exp);
	p = exp.s;
	if (p[0] == '^' && p[1] == '^') {
		*anchor_start_r = true;
		p += 2;
	}
	while (*p != '\0') {
		char c = *p;

		if (c == '\\') {
			char nx = p[1];

			if (nx == '/' && !*split_r && depth == 0) {
				*split_r = true;
				out = right;
				alt_start = true;
				p += 2;
				continue;
			}
			if (nx == '<' || nx == '>')
				str_append(out, WORD_EDGE);
			else if (nx == '\0') {
				str_append(out, "\\\\");
				p++;
				alt_start = false;
				continue;
			} else if (strchr(".[]()*+?{}|^$\\", nx) != NULL) {
				str_append_c(out, '\\');
				str_append_c(out, nx);
			} else
				str_append_c(out, nx);
			p += 2;
			alt_start = false;
			continue;
		}
		switch (c) {
		case '[':
			if ((n = copy_bracket(p, out)) == 0) {
				str_append(out, "\\[");
				n = 1;
			}
			p += n;
			alt_start = false;
			continue;
		case '^':
			if (p[1] == '^' && p[2] == '\0') {
				*anchor_end_r = true;
				p += 2;
				continue;
			}
			str_append(out, alt_start ? "^" : "\n");
			p++;
			alt_start = false;
			continue;
		case '$':
			if (p[1] == '\0' || p[1] == ')' || p[1] == '|')
				str_append_c(out, '$');
			else
				str_append_c(out, '\n');	/* "$^" is two of them */
			p++;
			alt_start = false;
			continue;
		case '{':
		case '}':
			str_append_c(out, '\\');
			str_append_c(out, c);
			p++;
			alt_start = false;
			continue;
		case '(':
			depth++;
			str_append_c(out, c);
			p++;
			alt_start = true;
			continue;
		case '|':
			str_append_c(out, c);
			p++;
			alt_start = true;
			continue;
		case ')':
			if (depth == 0) {
				str_append(out, "\\)");
			} else {
				depth--;
				str_append_c(out, c);
			}
			p++;
			alt_start = false;
			continue;
		case '*':
		case '+':
		case '?':
			/* nothing to repeat: a literal, as egrep takes it */
			if (alt_start) {
				str_append_c(out, '\\');
				str_append_c(out, c);
				p++;
				alt_start = false;
				continue;
			}
			/* a run of operators is one: "a+*?" is "a*" (glibc would
			 * copy the operand once per '+', doubling each time) */
			if (out->len > 0 && strchr("*+?", out->s[out->len - 1]) != NULL &&
			    !(out->len > 1 && out->s[out->len - 2] == '\\')) {
				char prev = out->s[out->len - 1];

				if (prev != c)
					out->s[out->len - 1] = '*';
				p++;
				continue;
			}
			str_append_c(out, c);
			p++;
			continue;
		default:
			str_append_c(out, c);
			p++;
			alt_start = false;
		}
	}
	/* unbalanced "(": close them, as a forgiving egrep would fail; here
	 * the compile error is reported instead */
	str_deinit(&exp);
}

/* too_complex - glibc's regcomp copies the operand of every '+' (and a
 * group's copies nest), so a few nested "(...)+" multiply the compiled
 * size: more than PM_REGEX_MAX_GROUP_PLUS of them, or an expression longer
 * than PM_REGEX_MAX_LEN (procmail's LINEBUF is 2048), is refused rather
 * than let a recipe exhaust memory */
#define PM_REGEX_MAX_LEN	8192
#define PM_REGEX_MAX_GROUP_PLUS	6

static bool
too_complex(const struct str *ere)
{
	size_t i, plus = 0;

	if (ere->len > PM_REGEX_MAX_LEN)
		return true;
	for (i = 1; i < ere->len; i++)
		if (ere->s[i] == '+' && ere->s[i - 1] == ')' &&
		    !(i > 1 && ere->s[i - 2] == '\\'))
			plus++;
	return plus > PM_REGEX_MAX_GROUP_PLUS;
}

static int
compile_one(regex_t *re, const char *ere, int flags, char *errbuf, size_t errlen)
{
	int rc = regcomp(re, ere, flags);

	if (rc != 0) {
		regerror(rc, re, errbuf, errlen);
		regfree(re);
		return -1;
	}
	return 0;
}

int
pm_regex_compile(struct pm_regex *rx, const char *pat, bool case_sensitive, char *errbuf,
    size_t errlen)
{
	struct str left, right, full;
	int flags = REG_EXTENDED | REG_NEWLINE | (case_sensitive ? 0 : REG_ICASE);
	int rc = -1;

	memset(rx, 0, sizeof *rx);
	str_init(&left, 64);
	str_init(&right, 64);
	str_init(&full, 64);
	pm_regex_translate(pat, &left, &right, &rx->split, &rx->anchor_start, &rx->anchor_end);
	if (too_complex(&left) || too_complex(&right)) {
		snprintf(errbuf, errlen, "expression too long or too complex");
		goto out;
	}
	rx->right_dollar = rx->split && right.len > 0 && right.s[right.len - 1] == '$' &&
	    !(right.len > 1 && right.s[right.len - 2] == '\\');
	if (rx->split)
		str_appendf(&full, "(%s)(%s)", left.s, right.s);
	else
		str_append(&full, left.s);
	if (full.len == 0) {
		rx->empty = true;
		rx->compiled = true;
		rc = 0;
		goto out;
	}
	if (compile_one(&rx->full, full.s, flags, errbuf, errlen) != 0)
		goto out;
	if (rx->split) {
		if (compile_one(&rx->left, left.len ? left.s : "()", flags, errbuf, errlen) != 0) {
			regfree(&rx->full);
			goto out;
		}
		if (compile_one(&rx->right, right.len ? right.s : "()", flags, errbuf,
		    errlen) != 0) {
			regfree(&rx->full);
			regfree(&rx->left);
			goto out;
		}
	}
	rx->compiled = true;
	rc = 0;
out:
	str_deinit(&left);
	str_deinit(&right);
	str_deinit(&full);
	return rc;
}

void
pm_regex_free(struct pm_regex *rx)
{
	if (!rx->compiled || rx->empty) {
		rx->compiled = false;
		return;
	}
	regfree(&rx->full);
	if (rx->split) {
		regfree(&rx->left);
		regfree(&rx->right);
	}
	rx->compiled = false;
}

/* exec_at - regexec on text[from..to), positions relative to text */
static bool
exec_at(const regex_t *re, const char *text, size_t from, size_t to, size_t len,
    regmatch_t *m, size_t nm)
{
	int eflags = REG_STARTEND;

	if (to < len && text[to] != '\n')
		eflags |= REG_NOTEOL;
	m[0].rm_so = (regoff_t)from;
	m[0].rm_eo = (regoff_t)to;
	return regexec(re, text, nm, m, eflags) == 0;
}

/* match_text - MATCH: with a final '$', the newline it stood for too */
static char *
match_text(const struct pm_regex *rx, const char *text, size_t len, size_t so, size_t eo)
{
	if (rx->right_dollar && eo < len && text[eo] == '\n')
		eo++;
	return xstrndup(text + so, eo - so);
}

/* extract - procmail's \/: the shortest left part from the match start,
 * then the longest right part after it */
static char *
extract(const struct pm_regex *rx, const char *text, size_t len, const regmatch_t *full)
{
	size_t so = (size_t)full[0].rm_so, lim = (size_t)full[1].rm_eo, e;
	regmatch_t m[1];

	for (e = so; e <= lim; e++) {
		if (!exec_at(&rx->left, text, so, e, len, m, 1) || (size_t)m[0].rm_so != so ||
		    (size_t)m[0].rm_eo != e)
			continue;
		if (!exec_at(&rx->right, text, e, len, len, m, 1) || (size_t)m[0].rm_so != e)
			continue;
		return match_text(rx, text, len, e, (size_t)m[0].rm_eo);
	}
	return match_text(rx, text, len, (size_t)full[2].rm_so, (size_t)full[2].rm_eo);
}

/* next_match - the next occurrence at or after pos that satisfies the ^^
 * anchors; false when none */
static bool
next_match(const struct pm_regex *rx, const char *text, size_t len, size_t pos, regmatch_t *m)
{
	while (pos <= len) {
		if (!exec_at(&rx->full, text, pos, len, len, m, 3))
			return false;
		if (rx->anchor_start && m[0].rm_so != 0)
			return false;
		if (!rx->anchor_end || (size_t)m[0].rm_eo == len)
			return true;
		if (rx->anchor_start)
			return false;
		pos = (size_t)m[0].rm_so + 1;
	}
	return false;
}

bool
pm_regex_match(const struct pm_regex *rx, const char *text, size_t len, char **match_r)
{
	regmatch_t m[3];

	if (match_r != NULL)
		*match_r = NULL;
	if (!rx->compiled)
		return false;
	if (rx->empty)
		return true;
	if (!next_match(rx, text, len, 0, m))
		return false;
	if (rx->split && match_r != NULL)
		*match_r = extract(rx, text, len, m);
	return true;
}

unsigned long
pm_regex_count(const struct pm_regex *rx, const char *text, size_t len, unsigned long limit)
{
	regmatch_t m[3];
	unsigned long n = 0;
	size_t pos = 0;

	if (!rx->compiled)
		return 0;
	if (rx->empty)
		return 1;
	while (n < limit && pos <= len && next_match(rx, text, len, pos, m)) {
		/* an empty match at the very end is not one more (procmail's
		 * "$" needs a newline to match there) */
		if (m[0].rm_so == m[0].rm_eo && (size_t)m[0].rm_so == len && n > 0)
			break;
		n++;
		if (rx->anchor_start)
			break;
		/* procmail looks for the next one from one past the start of
		 * this one: "[a-z]+" counts every letter */
		pos = (size_t)m[0].rm_so + 1;
	}
	return n;
}
