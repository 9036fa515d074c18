/* sieve_track.c - the vacation and duplicate record (sieve_track.h).
 * Tests: tests/e2e/test_sieve_deliver.py (vacation once per sender). */
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "sieve/sieve_track.h"

static void
digest(char kind, const void *key, size_t len, char hex[65])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	unsigned char *buf = xmalloc(len + 1);
	int i;

	buf[0] = (unsigned char)kind;
	memcpy(buf + 1, key, len);
	SHA256(buf, len + 1, d);
	free(buf);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* each line: "EXPIRY KIND HEX\n". scan - is want (64 hex digits and the
 * kind) recorded and unexpired? With keep, collect the unexpired lines
 * other than want's (an add replaces want's line: duplicate :last moves
 * its expiry), the newest SIEVE_TRACK_MAX - 1 of them. */
static int
scan(const char *path, const char *want, time_t now, struct str *keep, bool *found_r)
{
	struct str text;
	const char *p;
	size_t *starts = NULL, nlines = 0, cap = 0, first = 0;

	*found_r = false;
	str_init(&text, 4096);
	if (file_read(path, 4 * 1024 * 1024, &text) < 0) {
		str_deinit(&text);
		return errno == ENOENT ? 0 : -1;
	}
	for (p = text.s; *p != 0; ) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		long long exp;
		char kind, hex[65];

		if (n < 80 && sscanf(p, "%lld %c %64s", &exp, &kind, hex) == 3 && exp > (long long)now) {
			bool mine = want != NULL && strlen(hex) == 64 && strncmp(hex, want, 64) == 0 &&
			    (char)kind == want[64];

			if (mine)
				*found_r = true;
			if (keep != NULL && !mine) {
				if (nlines == cap) {
					cap = cap == 0 ? 64 : cap * 2;
					starts = xreallocarray(starts, cap, sizeof(*starts));
				}
				starts[nlines++] = (size_t)(p - text.s);
			}
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	/* the oldest entries go first when the record is full */
	if (nlines > SIEVE_TRACK_MAX - 1)
		first = nlines - (SIEVE_TRACK_MAX - 1);
	for (size_t i = first; i < nlines; i++) {
		const char *l = text.s + starts[i];

		str_append_n(keep, l, strcspn(l, "\n"));
		str_append_c(keep, '\n');
	}
	free(starts);
	str_deinit(&text);
	return 0;
}

int
sieve_track_seen(const char *path, char kind, const void *key, size_t len, time_t now)
{
	char want[66];
	bool found;

	digest(kind, key, len, want);
	want[64] = kind;
	want[65] = 0;
	if (scan(path, want, now, NULL, &found) < 0)
		return -1;
	return found ? 1 : 0;
}

int
sieve_track_add(const char *path, char kind, const void *key, size_t len, time_t now,
    uint64_t seconds)
{
	char hex[66];
	struct str keep;
	bool found;
	int rc;

	digest(kind, key, len, hex);
	hex[64] = kind;
	hex[65] = 0;
	str_init(&keep, 4096);
	if (scan(path, hex, now, &keep, &found) < 0) {
		str_deinit(&keep);
		return -1;
	}
	hex[64] = 0;
	str_appendf(&keep, "%lld %c %s\n", (long long)now + (long long)(seconds > 0 ? seconds : 1),
	    kind, hex);
	rc = file_write_atomic(path, keep.s, keep.len, 0600);
	str_deinit(&keep);
	return rc;
}
