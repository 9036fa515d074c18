/* imap_hib_state.c - the hibernation state record (imap_hib_state.h).
 * The parser reads bytes from another process: every field is bounded,
 * every number checked, nothing is read past len. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_hib_state.h"
#include "lib/mem.h"
#include "lib/str.h"

#define HIB_MAGIC	"YUBIN-HIB 1"

enum {
	K_USER, K_SESSION, K_RIP, K_LIP, K_TAG, K_MAILBOX, K_UIDVALIDITY, K_MODSEQ, K_UIDS,
	K_OPTS, K_IN, K_OUT, K_COUNT
};
static const char *const key_names[K_COUNT] = {
	"user", "session", "rip", "lip", "tag", "mailbox", "uidvalidity", "modseq", "uids",
	"opts", "in", "out",
};

void
imap_hib_state_uids_set(struct imap_hib_state *st, const uint32_t *uids, size_t n)
{
	size_t i;

	free(st->uids);
	st->uids = NULL;
	st->nuids = 0;
	st->count = n;
	if (n == 0)
		return;
	st->uids = xcalloc(n, sizeof(*st->uids));
	for (i = 0; i < n; i++) {
		if (st->nuids > 0 && uids[i] == st->uids[st->nuids - 1].hi + 1) {
			st->uids[st->nuids - 1].hi = uids[i];
			continue;
		}
		st->uids[st->nuids].lo = st->uids[st->nuids].hi = uids[i];
		st->nuids++;
	}
}

/* value_ok - a value travels on one line: no control characters */
static bool
value_ok(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	return true;
}

int
imap_hib_state_format(const struct imap_hib_state *st, struct str *out)
{
	size_t i;

	if (!value_ok(st->user) || !value_ok(st->session) || !value_ok(st->rip) ||
	    !value_ok(st->lip) || !value_ok(st->tag) || !value_ok(st->mailbox) ||
	    st->user[0] == '\0' || st->tag[0] == '\0' || st->mailbox[0] == '\0')
		return -1;
	str_appendf(out, "%s\nuser\t%s\nsession\t%s\nrip\t%s\nlip\t%s\ntag\t%s\nmailbox\t%s\n"
	    "uidvalidity\t%u\nmodseq\t%llu\nuids\t", HIB_MAGIC, st->user, st->session, st->rip,
	    st->lip, st->tag, st->mailbox, st->uidvalidity, (unsigned long long)st->modseq);
	for (i = 0; i < st->nuids; i++) {
		if (st->uids[i].lo == st->uids[i].hi)
			str_appendf(out, "%s%u", i > 0 ? "," : "", st->uids[i].lo);
		else
			str_appendf(out, "%s%u:%u", i > 0 ? "," : "", st->uids[i].lo, st->uids[i].hi);
	}
	str_appendf(out, "\nopts\t%s%s%s%s%s\nin\t%llu\nout\t%llu\n", st->readonly ? "r" : "",
	    st->condstore ? "c" : "", st->qresync ? "q" : "", st->rev2 ? "2" : "",
	    st->utf8 ? "u" : "", st->in, st->out);
	return 0;
}

/* parse_u64 - a decimal number of at most max, the whole of [p, p+len) */
static bool
parse_u64(const char *p, size_t len, uint64_t max, uint64_t *r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (v > (max - (uint64_t)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*r = v;
	return true;
}

/* parse_uids - "1:5,7,9:12": increasing, disjoint, not adjacent (as
 * imap_hib_state_uids_set writes them), UIDs from 1 */
static int
parse_uids(struct imap_hib_state *st, const char *p, size_t len)
{
	size_t cap = 0, i = 0;

	while (i < len) {
		size_t start = i, colon = 0;
		uint64_t lo, hi;

		while (i < len && p[i] != ',') {
			if (p[i] == ':' && colon == 0)
				colon = i;
			i++;
		}
		if (colon != 0) {
			if (!parse_u64(p + start, colon - start, UINT32_MAX, &lo) ||
			    !parse_u64(p + colon + 1, i - colon - 1, UINT32_MAX, &hi))
				return -1;
		} else {
			if (!parse_u64(p + start, i - start, UINT32_MAX, &lo))
				return -1;
			hi = lo;
		}
		if (lo == 0 || hi < lo ||
		    (st->nuids > 0 && lo <= (uint64_t)st->uids[st->nuids - 1].hi + 1))
			return -1;
		if (st->nuids == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			st->uids = xreallocarray(st->uids, cap, sizeof(*st->uids));
		}
		st->uids[st->nuids].lo = (uint32_t)lo;
		st->uids[st->nuids].hi = (uint32_t)hi;
		st->nuids++;
		st->count += (size_t)(hi - lo + 1);
		if (i < len) {
			i++;	/* the comma */
			if (i == len)
				return -1;	/* a trailing comma */
		}
	}
	return 0;
}

/* copy_field - a text value into a fixed field */
static bool
copy_field(char *dst, size_t size, const char *p, size_t len)
{
	if (len >= size)
		return false;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return true;
}

int
imap_hib_state_parse(struct imap_hib_state *st, const char *data, size_t len,
    const char **error_r)
{
	const char *p = data, *end = data + len;
	unsigned seen = 0;
	size_t ml = sizeof(HIB_MAGIC) - 1;

	memset(st, 0, sizeof(*st));
	if (len > IMAP_HIB_STATE_MAX)
		return *error_r = "record too long", -1;
	if (len < ml + 1 || memcmp(p, HIB_MAGIC, ml) != 0 || p[ml] != '\n')
		return *error_r = "not a hibernation record", -1;
	p += ml + 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *tab, *v;
		size_t klen, vlen, i;
		uint64_t num;
		int k = -1;

		if (nl == NULL)
			return *error_r = "unterminated line", -1;
		tab = memchr(p, '\t', (size_t)(nl - p));
		if (tab == NULL)
			return *error_r = "line without a value", -1;
		klen = (size_t)(tab - p);
		v = tab + 1;
		vlen = (size_t)(nl - v);
		for (i = 0; i < vlen; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				return *error_r = "control character in a value", -1;
		for (i = 0; i < K_COUNT; i++)
			if (strlen(key_names[i]) == klen && memcmp(key_names[i], p, klen) == 0)
				k = (int)i;
		if (k < 0)
			return *error_r = "unknown key", -1;
		if (seen & (1u << k))
			return *error_r = "repeated key", -1;
		seen |= 1u << k;
		switch (k) {
		case K_USER:
			if (vlen == 0 || !copy_field(st->user, sizeof(st->user), v, vlen))
				return *error_r = "bad user", -1;
			break;
		case K_SESSION:
			if (!copy_field(st->session, sizeof(st->session), v, vlen))
				return *error_r = "bad session", -1;
			break;
		case K_RIP:
			if (!copy_field(st->rip, sizeof(st->rip), v, vlen))
				return *error_r = "bad rip", -1;
			break;
		case K_LIP:
			if (!copy_field(st->lip, sizeof(st->lip), v, vlen))
				return *error_r = "bad lip", -1;
			break;
		case K_TAG:
			if (vlen == 0 || !copy_field(st->tag, sizeof(st->tag), v, vlen) ||
			    strpbrk(st->tag, " (){%*\"\\]") != NULL)
				return *error_r = "bad tag", -1;
			break;
		case K_MAILBOX:
			if (vlen == 0 || !copy_field(st->mailbox, sizeof(st->mailbox), v, vlen))
				return *error_r = "bad mailbox", -1;
			break;
		case K_UIDVALIDITY:
			if (!parse_u64(v, vlen, UINT32_MAX, &num) || num == 0)
				return *error_r = "bad uidvalidity", -1;
			st->uidvalidity = (uint32_t)num;
			break;
		case K_MODSEQ:
			if (!parse_u64(v, vlen, UINT64_MAX, &num))
				return *error_r = "bad modseq", -1;
			st->modseq = num;
			break;
		case K_UIDS:
			if (parse_uids(st, v, vlen) != 0)
				return *error_r = "bad uid list", -1;
			break;
		case K_OPTS:
			for (i = 0; i < vlen; i++) {
				bool *b = v[i] == 'r' ? &st->readonly : v[i] == 'c' ? &st->condstore :
				    v[i] == 'q' ? &st->qresync : v[i] == '2' ? &st->rev2 :
				    v[i] == 'u' ? &st->utf8 : NULL;

				if (b == NULL || *b)
					return *error_r = "bad options", -1;
				*b = true;
			}
			break;
		case K_IN:
		case K_OUT:
			if (!parse_u64(v, vlen, UINT64_MAX, &num))
				return *error_r = "bad byte count", -1;
			*(k == K_IN ? &st->in : &st->out) = num;
			break;
		}
		p = nl + 1;
	}
	if (seen != (1u << K_COUNT) - 1)
		return *error_r = "missing key", -1;
	return 0;
}

void
imap_hib_state_deinit(struct imap_hib_state *st)
{
	free(st->uids);
	st->uids = NULL;
	st->nuids = 0;
	st->count = 0;
}
