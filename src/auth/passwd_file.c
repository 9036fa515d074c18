/* passwd_file.c - the passwd-file parser (see passwd_file.h). Entries are
 * kept in a sorted array and found by binary search: a file with many
 * thousands of users costs one parse per change, not one per login.
 * Tests: tests/unit/auth/test_passwd_file.c, fuzz/fuzz_passwd_file.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/passwd_file.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"

struct passwd_file {
	struct passwd_file_entry *v;	/* owned, sorted by user */
	size_t	 n, cap;
	size_t	 warnings;
};

static bool
id_is_valid(const char *s)
{
	/* a number or a name to resolve later; no white space or controls */
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ')
			return false;
	return true;
}

static void
entry_deinit(struct passwd_file_entry *e)
{
	free(e->user);
	free(e->password);
	free(e->uid);
	free(e->gid);
	free(e->home);
	strvec_deinit(&e->extra);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct passwd_file_entry *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	if (c != 0 || x->line == 0 || y->line == 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static void
warn_line(struct passwd_file *pf, const char *name, size_t lineno, const char *why)
{
	pf->warnings++;
	log_warn("passwd-file %s: line %zu: %s: line skipped", name, lineno, why);
}

/* parse_line - one non-comment line into e; NULL or the reason it is broken */
static const char *
parse_line(const char *line, size_t len, struct passwd_file_entry *e)
{
	const char *f[7];
	size_t fl[7];
	size_t nf = 0, start = 0;
	const char *extra = NULL;
	size_t extra_len = 0;

	if (memchr(line, '\0', len) != NULL)
		return "NUL byte";
	for (size_t i = 0; i <= len; i++) {
		if (i == len || line[i] == ':') {
			f[nf] = line + start;
			fl[nf] = i - start;
			nf++;
			start = i + 1;
			if (nf == 7) {
				/* the rest, colons included, is extra_fields */
				if (i < len) {
					extra = line + start;
					extra_len = len - start;
				}
				break;
			}
		}
	}
	if (fl[0] == 0)
		return "missing user name";
	memset(e, 0, sizeof(*e));
	strvec_init(&e->extra);
	e->user = xstrndup(f[0], fl[0]);
	e->password = nf > 1 ? xstrndup(f[1], fl[1]) : xstrdup("");
	e->uid = nf > 2 ? xstrndup(f[2], fl[2]) : xstrdup("");
	e->gid = nf > 3 ? xstrndup(f[3], fl[3]) : xstrdup("");
	e->home = nf > 5 ? xstrndup(f[5], fl[5]) : xstrdup("");
	if (!id_is_valid(e->uid) || !id_is_valid(e->gid)) {
		entry_deinit(e);
		return "invalid uid or gid";
	}
	if (strchr(e->user, ' ') != NULL || strchr(e->user, '\t') != NULL) {
		entry_deinit(e);
		return "white space in user name";
	}
	while (extra != NULL && extra_len > 0) {
		size_t n = 0;

		while (extra_len > 0 && (*extra == ' ' || *extra == '\t')) {
			extra++;
			extra_len--;
		}
		while (n < extra_len && extra[n] != ' ' && extra[n] != '\t')
			n++;
		if (n > 0)
			strvec_push_take(&e->extra, xstrndup(extra, n));
		extra += n;
		extra_len -= n;
	}
	return NULL;
}

struct passwd_file *
passwd_file_parse(const char *name, const char *data, size_t len)
{
	struct passwd_file *pf = xcalloc(1, sizeof(*pf));
	size_t pos = 0, lineno = 0;

	while (pos < len) {
		const char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		struct passwd_file_entry e;
		const char *why;

		pos += ll + (nl != NULL ? 1 : 0);
		lineno++;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0 || line[0] == '#')
			continue;
		if (ll > PASSWD_FILE_MAX_LINE) {
			warn_line(pf, name, lineno, "line too long");
			continue;
		}
		if ((why = parse_line(line, ll, &e)) != NULL) {
			warn_line(pf, name, lineno, why);
			continue;
		}
		if (pf->n == pf->cap) {
			pf->cap = pf->cap == 0 ? 16 : pf->cap * 2;
			pf->v = xreallocarray(pf->v, pf->cap, sizeof(*pf->v));
		}
		e.line = lineno;
		pf->v[pf->n++] = e;
	}
	qsort(pf->v, pf->n, sizeof(*pf->v), entry_cmp);
	/* a user that appears twice: the first line wins, as Dovecot's hash
	 * keeps the first; later ones are reported */
	size_t w = 0;
	for (size_t i = 0; i < pf->n; i++) {
		if (w > 0 && strcmp(pf->v[w - 1].user, pf->v[i].user) == 0) {
			pf->warnings++;
			log_warn("passwd-file %s: User %s exists more than once: later line skipped",
			    name, pf->v[i].user);
			entry_deinit(&pf->v[i]);
			continue;
		}
		pf->v[w++] = pf->v[i];
	}
	pf->n = w;
	return pf;
}

void
passwd_file_free(struct passwd_file **p)
{
	struct passwd_file *pf = *p;

	if (pf == NULL)
		return;
	for (size_t i = 0; i < pf->n; i++)
		entry_deinit(&pf->v[i]);
	free(pf->v);
	free(pf);
	*p = NULL;
}

const struct passwd_file_entry *
passwd_file_find(const struct passwd_file *pf, const char *user)
{
	struct passwd_file_entry key = { .user = (char *)(uintptr_t)user };

	if (pf->n == 0)
		return NULL;
	return bsearch(&key, pf->v, pf->n, sizeof(*pf->v), entry_cmp);
}

size_t
passwd_file_count(const struct passwd_file *pf)
{
	return pf->n;
}

size_t
passwd_file_warnings(const struct passwd_file *pf)
{
	return pf->warnings;
}

const struct passwd_file_entry *
passwd_file_entry_at(const struct passwd_file *pf, size_t i)
{
	return i < pf->n ? &pf->v[i] : NULL;
}
