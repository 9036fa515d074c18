/* test_imap_mboxf_cache.c - the offset cache of an mbox (storage/mbox_index.c)
 * and its use by IMAP (imap/imap_mbox_mbox.c): a round trip, damage
 * (checksum, sizes, order, truncation) refused, a stale key refused; a
 * scan of an unchanged mbox answers from the cache without reading the
 * file, a changed mbox is read again, a damaged cache is rebuilt; the
 * CONDSTORE modseqs it keeps: in the file format, and carried over a
 * rebuild by UID (kept when unchanged, new for changed, new and after an
 * expunge). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_mbox.h"
#include "imap/imap_mbox_mbox.h"
#include "imap/imap_search.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/mbox_index.h"

static void
sample(struct mbox_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->key.ino = 7;
	ix->key.size = 500;
	ix->key.mtime_nsec = 123;
	ix->uidvalidity = 99;
	ix->uidnext = 11;
	ix->n = 2;
	ix->r = xcalloc(2, sizeof(*ix->r));
	ix->r[0] = (struct mbox_index_rec){ .uid = 3, .flags = 1, .kw = 2, .vsize = 40, .date = 5,
		.from = 0, .end = 100 };
	ix->r[1] = (struct mbox_index_rec){ .uid = 10, .vsize = 80, .from = 100, .end = 500 };
	ix->kw[ix->nkw++] = xstrdup("$Label1");
	ix->kw[ix->nkw++] = xstrdup("foo");
	ix->highestmodseq = 1000000000007ull;
	ix->r[0].modseq = 1000000000007ull;
	ix->r[1].modseq = 42;
}

static void
test_round_trip_and_damage(void **state)
{
	struct mbox_index ix, back;
	struct str out;
	size_t i;

	(void)state;
	sample(&ix);
	str_init(&out, 256);
	mbox_index_format(&ix, &out);
	assert_int_equal(mbox_index_parse(out.s, out.len, &back), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(back.r[1].uid, 10);
	assert_int_equal(back.r[0].kw, 2);
	assert_int_equal(back.nkw, 2);
	assert_string_equal(back.kw[1], "foo");
	assert_memory_equal(&back.key, &ix.key, sizeof(ix.key));
	assert_true(back.highestmodseq == 1000000000007ull);
	assert_true(back.r[0].modseq == 1000000000007ull);
	assert_true(back.r[1].modseq == 42);
	mbox_index_free(&back);
	/* every flipped byte and every truncation is noticed */
	for (i = 0; i < out.len; i++) {
		out.s[i] ^= 0x20;
		assert_int_equal(mbox_index_parse(out.s, out.len, &back), -1);
		out.s[i] ^= 0x20;
		assert_int_equal(mbox_index_parse(out.s, i, &back), -1);
	}
	/* well summed but a modseq above the highest: refused */
	ix.r[1].modseq = ix.highestmodseq + 1;
	str_reset(&out);
	mbox_index_format(&ix, &out);
	assert_int_equal(mbox_index_parse(out.s, out.len, &back), -1);
	ix.r[1].modseq = 42;
	/* a version 1 file (no modseqs) is refused: rebuilt */
	str_reset(&out);
	mbox_index_format(&ix, &out);
	out.s[8] = 1;
	assert_int_equal(mbox_index_parse(out.s, out.len, &back), -1);
	/* well summed but out of order: refused too */
	ix.r[1].uid = 2;
	str_reset(&out);
	mbox_index_format(&ix, &out);
	assert_int_equal(mbox_index_parse(out.s, out.len, &back), -1);
	mbox_index_free(&ix);
	str_deinit(&out);
}

static void
put(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
test_scan_answers_from_the_cache(void **state)
{
	char dir[] = "/tmp/test_mbox_index.XXXXXX", *box, *ixpath;
	struct imap_mbox_snap s;
	struct mbox_index ix;
	struct mbox_index_key key;
	struct str buf;
	struct stat st;
	const char *err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	box = path_join(dir, "Work");
	put(box, "From a  Thu Nov 19 10:00:00 2026\nX-IMAPbase: 77 0000000005 kw\nX-UID: 4\n"
	    "X-Keywords: kw\nContent-Length: 2\n\n1\n\n"
	    "From a  Thu Nov 19 10:00:00 2026\nX-UID: 5\nStatus: RO\n\ntwo\n\n", "w");
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	assert_int_equal(s.n, 2);
	imap_mbox_snap_free(&s);
	ixpath = mbox_index_path(box);
	assert_int_equal(strcmp(ixpath + strlen(dir), "/.imap/Work/yubin.mbox.index"), 0);
	assert_int_equal(stat(box, &st), 0);
	mbox_index_key_of(&st, &key);
	assert_int_equal(mbox_index_load(ixpath, &key, &ix), 0);
	assert_int_equal(ix.n, 2);
	assert_int_equal(ix.r[1].uid, 5);
	assert_int_equal(ix.r[0].kw, 1);
	/* the cache says something the file does not: a scan that shows it
	 * did not read the file */
	ix.r[1].flags = IMAP_FLAG_FLAGGED;
	assert_int_equal(mbox_index_write(ixpath, &ix), 0);
	mbox_index_free(&ix);
	imap_mboxf_cache_drop();
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	assert_int_equal(s.m[1].flags, IMAP_FLAG_FLAGGED);
	/* FETCH reads only the message's bytes, at the cached place */
	str_init(&buf, 64);
	assert_int_equal(imap_mboxf_read(box, &s.m[1], &buf), 0);
	assert_string_equal(buf.s, "\ntwo\n");
	imap_mbox_snap_free(&s);
	/* the mbox changes (a delivery appends): read again, cache renewed */
	put(box, "From b  Thu Nov 19 10:00:00 2026\n\nthree\n", "a");
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.m[1].flags, IMAP_FLAG_SEEN);
	assert_int_equal(s.m[2].uid, 6);
	imap_mbox_snap_free(&s);
	/* a damaged cache is read past and rebuilt */
	put(ixpath, "garbage", "w");
	imap_mboxf_cache_drop();
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	assert_int_equal(s.n, 3);
	imap_mbox_snap_free(&s);
	assert_int_equal(stat(box, &st), 0);
	mbox_index_key_of(&st, &key);
	assert_int_equal(mbox_index_load(ixpath, &key, &ix), 0);
	assert_int_equal(ix.n, 3);
	mbox_index_free(&ix);
	/* DELETE takes the cache with it */
	assert_int_equal(imap_mboxf_delete(box), 0);
	assert_int_equal(access(ixpath, F_OK), -1);
	str_deinit(&buf);
	free(ixpath);
	free(box);
	{
		char *d = xasprintf("%s/.imap", dir);

		assert_int_equal(rmdir(d), 0);
		free(d);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* cache_modseqs - the modseqs in box's cache as it is on disk */
static void
cache_modseqs(const char *box, uint64_t *highest, uint64_t *ms, size_t n)
{
	char *ixpath = mbox_index_path(box);
	struct mbox_index ix;
	size_t i;

	assert_int_equal(mbox_index_load(ixpath, NULL, &ix), 0);
	assert_int_equal(ix.n, n);
	*highest = ix.highestmodseq;
	for (i = 0; i < n; i++)
		ms[i] = ix.r[i].modseq;
	mbox_index_free(&ix);
	free(ixpath);
}

static void
test_modseqs_survive_a_rebuild(void **state)
{
	char dir[] = "/tmp/test_mbox_modseq.XXXXXX", *box, *ixpath;
	struct imap_mbox_snap s;
	const char *err;
	uint64_t h0, h1, h2, ms[3];
	size_t i, idx[1];

	(void)state;
	assert_non_null(mkdtemp(dir));
	box = path_join(dir, "Work");
	put(box, "From a  Thu Nov 19 10:00:00 2026\nX-IMAPbase: 77 0000000005\nX-UID: 4\n\n1\n\n"
	    "From a  Thu Nov 19 10:00:00 2026\nX-UID: 5\nStatus: RO\n\ntwo\n\n", "w");
	imap_mboxf_cache_drop();
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	/* a first cache: every message at one modseq, the highest */
	h0 = s.highestmodseq;
	assert_true(h0 > 1);
	assert_true(s.m[0].modseq == h0 && s.m[1].modseq == h0);
	cache_modseqs(box, &h1, ms, 2);
	assert_true(h1 == h0 && ms[0] == h0 && ms[1] == h0);
	/* a STORE rewrites the file: the rebuilt cache gives the changed
	 * message alone the next modseq, and the session gets it */
	assert_int_equal(imap_mboxf_set_flags(box, &s.m[0], IMAP_FLAG_FLAGGED, 0), 0);
	s.m[0].flags = IMAP_FLAG_FLAGGED;
	idx[0] = 0;
	assert_true(imap_mboxf_changed(box, &s, idx, 1) == h0 + 1);
	assert_true(s.m[0].modseq == h0 + 1 && s.highestmodseq == h0 + 1);
	imap_mbox_snap_free(&s);
	/* read from disk alone (the memory copy dropped): the same */
	imap_mboxf_cache_drop();
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	assert_true(s.highestmodseq == h0 + 1);
	assert_true(s.m[0].modseq == h0 + 1 && s.m[1].modseq == h0);
	imap_mbox_snap_free(&s);
	/* a delivery: the old ones keep theirs, the new one gets the next */
	put(box, "From b  Thu Nov 19 10:00:00 2026\n\nthree\n", "a");
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.m[0].modseq == h0 + 1 && s.m[1].modseq == h0);
	assert_true(s.m[2].modseq == h0 + 2 && s.highestmodseq == h0 + 2);
	imap_mbox_snap_free(&s);
	cache_modseqs(box, &h2, ms, 3);
	assert_true(h2 == h0 + 2 && ms[2] == h0 + 2);
	/* an expunge: the rest keep theirs, the highest still grows */
	{
		uint32_t uid = 5;

		assert_int_equal(imap_mboxf_expunge(box, &uid, 1), 0);
	}
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.m[0].modseq == h0 + 1 && s.m[1].modseq == h0 + 2);
	assert_true(s.highestmodseq == h0 + 3);
	imap_mbox_snap_free(&s);
	/* a lost cache: modseqs start again above all the old ones */
	ixpath = mbox_index_path(box);
	assert_int_equal(unlink(ixpath), 0);
	imap_mboxf_cache_drop();
	assert_int_equal(imap_mboxf_scan(box, &s, &err), 0);
	for (i = 0; i < s.n; i++)
		assert_true(s.m[i].modseq >= h0 + 3);
	imap_mbox_snap_free(&s);
	assert_int_equal(imap_mboxf_delete(box), 0);
	free(ixpath);
	free(box);
	{
		char *d = xasprintf("%s/.imap", dir);

		assert_int_equal(rmdir(d), 0);
		free(d);
	}
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_damage),
		cmocka_unit_test(test_scan_answers_from_the_cache),
		cmocka_unit_test(test_modseqs_survive_a_rebuild),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
