/* sieve_match.c - comparators (i;octet, i;ascii-casemap, i;ascii-numeric)
 * and match types (:is, :contains, :matches, :regex; :value for relational)
 * with match variables for RFC 5229.
 *
 * :matches never backtracks: the pattern is cut at its '*'s, the first
 * piece is anchored at the start, the last at the end, and each middle
 * piece is found at its leftmost place, which is both correct for globs
 * and the "each wildcard as short as possible, the last takes the rest"
 * that RFC 5229's examples show. Time is O(value * pattern) at worst.
 * :regex uses glibc's POSIX regcomp/regexec (the dialect Pigeonhole uses),
 * refusing back-references, the one feature that makes it exponential, and
 * bounding the pattern and the subject. Tests: tests/unit/sieve/,
 * tests/sieve/match.svtest, fuzz/fuzz_sieve_run.c */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "sieve/sieve-private.h"

#define REGEX_MAX_PATTERN	4096
#define REGEX_MAX_SUBJECT	(256 * 1024)

static inline int
fold(int cmp, unsigned char c)
{
	return cmp == SV_CMP_OCTET ? c : tolower(c);
}

bool
sv_cmp_eq(int cmp, const char *a, size_t al, const char *b, size_t bl)
{
	size_t i;

	if (cmp == SV_CMP_NUMERIC)
		return sv_numeric_cmp(a, al, b, bl) == 0;
	if (al != bl)
		return false;
	for (i = 0; i < al; i++)
		if (fold(cmp, (unsigned char)a[i]) != fold(cmp, (unsigned char)b[i]))
			return false;
	return true;
}

/* sv_numeric_cmp - RFC 4790 i;ascii-numeric: the leading digits as a number,
 * a string without them is positive infinity */
int
sv_numeric_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	size_t ia = 0, ib = 0, la, lb;
	bool infa = al == 0 || !isdigit((unsigned char)a[0]);
	bool infb = bl == 0 || !isdigit((unsigned char)b[0]);

	if (infa || infb)
		return infa == infb ? 0 : infa ? 1 : -1;
	while (ia + 1 < al && a[ia] == '0' && isdigit((unsigned char)a[ia + 1]))
		ia++;
	while (ib + 1 < bl && b[ib] == '0' && isdigit((unsigned char)b[ib + 1]))
		ib++;
	for (la = ia; la < al && isdigit((unsigned char)a[la]); la++)
		;
	for (lb = ib; lb < bl && isdigit((unsigned char)b[lb]); lb++)
		;
	if (la - ia != lb - ib)
		return la - ia < lb - ib ? -1 : 1;
	for (; ia < la; ia++, ib++)
		if (a[ia] != b[ib])
			return a[ia] < b[ib] ? -1 : 1;
	return 0;
}

bool
sv_relop(int relop, int c)
{
	switch (relop) {
	case SV_REL_GT: return c > 0;
	case SV_REL_GE: return c >= 0;
	case SV_REL_LT: return c < 0;
	case SV_REL_LE: return c <= 0;
	case SV_REL_EQ: return c == 0;
	default: return c != 0;
	}
}

int
sv_cmp_order(int cmp, const char *a, size_t al, const char *b, size_t bl)
{
	size_t i;

	if (cmp == SV_CMP_NUMERIC)
		return sv_numeric_cmp(a, al, b, bl);
	for (i = 0; i < al && i < bl; i++) {
		int x = fold(cmp, (unsigned char)a[i]), y = fold(cmp, (unsigned char)b[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return al == bl ? 0 : al < bl ? -1 : 1;
}

static bool
contains(int cmp, const char *v, size_t vl, const char *k, size_t kl)
{
	size_t i, j;

	if (kl == 0)
		return true;
	for (i = 0; i + kl <= vl; i++) {
		for (j = 0; j < kl; j++)
			if (fold(cmp, (unsigned char)v[i + j]) != fold(cmp, (unsigned char)k[j]))
				break;
		if (j == kl)
			return true;
	}
	return false;
}

/* A glob piece: literal characters and '?' (no '*'), escapes resolved. */
struct piece {
	char	*c;		/* characters */
	bool	*any;		/* '?' at this place */
	size_t	 n;
};

/* piece_at - does the piece match v at i? */
static bool
piece_at(int cmp, const struct piece *p, const char *v, size_t vl, size_t i)
{
	size_t j;

	if (i + p->n > vl)
		return false;
	for (j = 0; j < p->n; j++)
		if (!p->any[j] && fold(cmp, (unsigned char)v[i + j]) != fold(cmp, (unsigned char)p->c[j]))
			return false;
	return true;
}

static void
capture_piece(struct sv_matchvars *mv, unsigned *nv, const struct piece *p, const char *v,
    size_t at)
{
	size_t j;

	for (j = 0; j < p->n; j++)
		if (p->any[j]) {
			if (mv != NULL && *nv < 10)
				str_append_n(&mv->v[*nv], v + at + j, 1);
			(*nv)++;
		}
}

/* sv_glob - :matches with '*', '?' and '\' escapes */
bool
sv_glob(int cmp, const char *v, size_t vl, const char *pat, size_t pl, struct sv_matchvars *mv)
{
	struct piece *pc;
	size_t np = 1, i, k, pos = 0;
	unsigned nv = 1;
	bool ok = false;

	for (i = 0; i < pl; i++) {
		if (pat[i] == '\\')
			i++;
		else if (pat[i] == '*')
			np++;
	}
	pc = xcalloc(np, sizeof(*pc));
	for (k = 0; k < np; k++) {
		pc[k].c = xmalloc(pl + 1);
		pc[k].any = xcalloc(pl + 1, sizeof(bool));
	}
	for (i = 0, k = 0; i < pl; i++) {
		if (pat[i] == '*') {
			k++;
			continue;
		}
		if (pat[i] == '?') {
			pc[k].any[pc[k].n] = true;
			pc[k].c[pc[k].n++] = '?';
			continue;
		}
		if (pat[i] == '\\' && i + 1 < pl)
			i++;
		pc[k].c[pc[k].n++] = pat[i];
	}
	if (mv != NULL)
		for (i = 0; i < 10; i++)
			str_reset(&mv->v[i]);
	if (np == 1) {
		ok = pc[0].n == vl && piece_at(cmp, &pc[0], v, vl, 0);
		if (ok)
			capture_piece(mv, &nv, &pc[0], v, 0);
		goto out;
	}
	/* first piece at the start, last at the end */
	if (pc[0].n + pc[np - 1].n > vl || !piece_at(cmp, &pc[0], v, vl, 0) ||
	    !piece_at(cmp, &pc[np - 1], v, vl, vl - pc[np - 1].n))
		goto out;
	capture_piece(mv, &nv, &pc[0], v, 0);
	pos = pc[0].n;
	for (k = 1; k < np; k++) {
		size_t at, limit = vl - pc[np - 1].n;

		if (k == np - 1)
			at = limit;
		else {
			for (at = pos; at + pc[k].n <= limit; at++)
				if (piece_at(cmp, &pc[k], v, vl, at))
					break;
			if (at + pc[k].n > limit)
				goto out;
		}
		/* the '*' before this piece took v[pos..at) */
		if (mv != NULL && nv < 10)
			str_append_n(&mv->v[nv], v + pos, at - pos);
		nv++;
		capture_piece(mv, &nv, &pc[k], v, at);
		pos = at + pc[k].n;
	}
	ok = true;
out:
	if (ok && mv != NULL) {
		str_append_n(&mv->v[0], v, vl);
		mv->set = true;
	}
	for (k = 0; k < np; k++) {
		free(pc[k].c);
		free(pc[k].any);
	}
	free(pc);
	return ok;
}

int
sv_regex_compile(regex_t *re, const char *pat, int cmp, const char **err_r)
{
	static char buf[160];
	size_t i;
	int rc;

	if (strlen(pat) > REGEX_MAX_PATTERN) {
		*err_r = "pattern too long";
		return -1;
	}
	for (i = 0; pat[i] != 0; i++) {
		if (pat[i] == '\\' && pat[i + 1] != 0) {
			if (isdigit((unsigned char)pat[i + 1])) {
				*err_r = "back-references are not supported";
				return -1;
			}
			i++;
		}
	}
	rc = regcomp(re, pat, REG_EXTENDED | (cmp == SV_CMP_CASEMAP ? REG_ICASE : 0));
	if (rc != 0) {
		regerror(rc, re, buf, sizeof(buf));
		*err_r = buf;
		return -1;
	}
	return 0;
}

int
sv_match(const struct sv_node *n, size_t keyidx, const char *val, size_t vlen, const char *key,
    size_t klen, struct sv_matchvars *mv, const char **err_r)
{
	switch (n->match) {
	case SV_MATCH_IS:
		return sv_cmp_eq(n->cmp, val, vlen, key, klen);
	case SV_MATCH_CONTAINS:
		return contains(n->cmp, val, vlen, key, klen);
	case SV_MATCH_MATCHES:
		return sv_glob(n->cmp, val, vlen, key, klen, mv);
	case SV_MATCH_VALUE:
		return sv_relop(n->relop, sv_cmp_order(n->cmp, val, vlen, key, klen));
	case SV_MATCH_REGEX: {
		regex_t tmp, *re;
		regmatch_t m[10];
		char *subj;
		int rc, i;

		if (keyidx < n->nre && n->re_set[keyidx])
			re = &n->re[keyidx];
		else {
			if (sv_regex_compile(&tmp, key, n->cmp, err_r) < 0)
				return -1;
			re = &tmp;
		}
		if (vlen > REGEX_MAX_SUBJECT)
			vlen = REGEX_MAX_SUBJECT;
		subj = xstrndup(val, vlen);	/* regexec needs a NUL end */
		rc = regexec(re, subj, 10, m, 0);
		if (rc == 0 && mv != NULL) {
			for (i = 0; i < 10; i++) {
				str_reset(&mv->v[i]);
				if (m[i].rm_so >= 0 && m[i].rm_eo >= m[i].rm_so)
					str_append_n(&mv->v[i], subj + m[i].rm_so,
					    (size_t)(m[i].rm_eo - m[i].rm_so));
			}
			mv->set = true;
		}
		free(subj);
		if (re == &tmp)
			regfree(&tmp);
		return rc == 0;
	}
	default:
		return 0;
	}
}
