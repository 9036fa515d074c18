/* test_imap_mboxf_cache.c - the offset cache of an mbox (storage/mbox_index.c)
 * and its use by IMAP (imap/imap_mbox_mbox.c): a round trip, damage
 * (checksum, sizes, order, truncation) refused, a stale key refused; a
 * scan of an unchanged mbox answers from the cache without reading the
 * file, a changed mbox is read again, a damaged cache is rebuilt. */
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
	mbox_index_free(&back);
	/* every flipped byte and every truncation is noticed */
	for (i = 0; i < out.len; i++) {
		out.s[i] ^= 0x20;
		assert_int_equal(mbox_index_parse(out.s, out.len, &back), -1);
		out.s[i] ^= 0x20;
		assert_int_equal(mbox_index_parse(out.s, i, &back), -1);
	}
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_damage),
		cmocka_unit_test(test_scan_answers_from_the_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
