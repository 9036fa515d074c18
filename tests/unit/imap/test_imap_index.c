/* test_imap_index.c - the IMAP index (src/imap/imap_index.c) on real
 * Maildirs in a temporary directory: built, reopened without reading the
 * directory, rebuilt when missing, truncated or with a flipped byte,
 * unaffected by a crash between writing yubin.index.tmp and its rename;
 * flag changes made behind its back get new modseqs; the ENVELOPE cache
 * survives and a damaged cache entry is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_index.h"
#include "imap/imap_search.h"
#include "lib/mem.h"
#include "lib/util.h"

static char dir[256];

static void
put_file(const char *sub, const char *name, const char *content)
{
	char *p = xasprintf("%s/%s/%s", dir, sub, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	free(p);
}

/* age - every mtime the index looks at set 10 s back, so the index may
 * trust them (a change within the current second is never trusted) */
static void
age(void)
{
	static const char *const subs[] = { "cur", "new", "dovecot-uidlist" };
	struct timespec ts[2];
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 10;
	ts[1] = ts[0];
	for (i = 0; i < 3; i++) {
		char *p = path_join(dir, subs[i]);

		(void)utimensat(AT_FDCWD, p, ts, 0);
		free(p);
	}
}

static int
setup(void **state)
{
	char *p;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/yubin-idx-XXXXXX");
	assert_non_null(mkdtemp(dir));
	p = path_join(dir, "cur");
	mkdir(p, 0700);
	free(p);
	p = path_join(dir, "new");
	mkdir(p, 0700);
	free(p);
	p = path_join(dir, "tmp");
	mkdir(p, 0700);
	free(p);
	put_file("cur", "1000.M1P1.host,S=40:2,S", "From: a@b.example\nSubject: one\n\nbody\n");
	put_file("cur", "1001.M1P1.host,S=40:2,", "From: c@d.example\nSubject: two\n\nbody\n");
	put_file("new", "1002.M1P1.host", "From: e@f.example\nSubject: three\n\nbody\n");
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

/* warm - sync until the index is trusted: returns the last snapshot */
static void
warm(struct imap_mbox_snap *s)
{
	enum imap_index_how how;
	const char *err;

	assert_int_equal(imap_index_sync(dir, s, &how, &err), 0);
	imap_mbox_snap_free(s);
	age();
	assert_int_equal(imap_index_sync(dir, s, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_RESCAN);
	imap_mbox_snap_free(s);
	assert_int_equal(imap_index_sync(dir, s, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_FAST);
}

static void
snap_equal(const struct imap_mbox_snap *a, const struct imap_mbox_snap *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	assert_int_equal(a->uidvalidity, b->uidvalidity);
	assert_int_equal(a->uidnext, b->uidnext);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->m[i].uid, b->m[i].uid);
		assert_string_equal(a->m[i].name, b->m[i].name);
		assert_int_equal(a->m[i].flags & ~IMAP_FLAG_RECENT, b->m[i].flags & ~IMAP_FLAG_RECENT);
		assert_int_equal(a->m[i].vsize, b->m[i].vsize);
		assert_int_equal(a->m[i].date, b->m[i].date);
	}
}

static void
test_build_and_reopen(void **state)
{
	struct imap_mbox_snap s, t;
	enum imap_index_how how;
	const char *err;

	(void)state;
	assert_int_equal(imap_index_sync(dir, &s, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_REBUILT);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.m[0].uid, 1);
	assert_true(s.m[0].flags & IMAP_FLAG_SEEN);
	assert_true(s.m[2].flags & IMAP_FLAG_RECENT);	/* taken from new/ */
	assert_true(s.highestmodseq > 0);
	imap_mbox_snap_free(&s);
	warm(&s);
	/* the fast path does not read the directory: a file slipped into
	 * cur/ with the directory's mtime put back is not seen */
	{
		char *c = path_join(dir, "cur");
		struct stat st;
		struct timespec ts[2];

		assert_int_equal(stat(c, &st), 0);
		put_file("cur", "2000.M9P9.host:2,", "Subject: hidden\n\nx\n");
		ts[0] = ts[1] = st.st_mtim;
		assert_int_equal(utimensat(AT_FDCWD, c, ts, 0), 0);
		free(c);
	}
	assert_int_equal(imap_index_sync(dir, &t, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_FAST);
	snap_equal(&s, &t);
	assert_int_equal(t.highestmodseq, s.highestmodseq);
	imap_mbox_snap_free(&t);
	imap_mbox_snap_free(&s);
}

static void
test_same_second_not_trusted(void **state)
{
	struct imap_mbox_snap s;
	enum imap_index_how how;
	const char *err;
	char *p = path_join(dir, "cur");

	(void)state;
	warm(&s);
	imap_mbox_snap_free(&s);
	/* cur/ touched now: rescanned, and not trusted until a second passes */
	(void)utimensat(AT_FDCWD, p, NULL, 0);
	free(p);
	assert_int_equal(imap_index_sync(dir, &s, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_RESCAN);
	imap_mbox_snap_free(&s);
	assert_int_equal(imap_index_sync(dir, &s, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_RESCAN);
	imap_mbox_snap_free(&s);
}

static void
damage(long off, int whence, bool truncate_it)
{
	char *p = path_join(dir, IMAP_INDEX_FILE);
	int fd = open(p, O_RDWR);
	off_t at;
	unsigned char c;

	assert_true(fd >= 0);
	at = lseek(fd, off, whence);
	if (truncate_it) {
		assert_int_equal(ftruncate(fd, at), 0);
	} else {
		assert_int_equal(pread(fd, &c, 1, at), 1);
		c ^= 0x10;
		assert_int_equal(pwrite(fd, &c, 1, at), 1);
	}
	close(fd);
	free(p);
}

static void
check_rebuilt(const struct imap_mbox_snap *before)
{
	struct imap_mbox_snap s;
	enum imap_index_how how;
	const char *err;

	assert_int_equal(imap_index_sync(dir, &s, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_REBUILT);
	snap_equal(before, &s);
	/* modseqs never go back, even when the old index is lost */
	assert_true(s.highestmodseq > before->highestmodseq);
	imap_mbox_snap_free(&s);
}

/* own_names - the snapshot's names copied out of the mapped index (a
 * test that damages the file in place must not damage its reference) */
static void
own_names(struct imap_mbox_snap *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->m[i].name_borrowed) {
			s->m[i].name = xstrdup(s->m[i].name);
			s->m[i].name_borrowed = false;
		}
	}
}

static void
test_damaged_rebuilt(void **state)
{
	struct imap_mbox_snap s;
	static const struct { long off; int whence; bool trunc; } cases[] = {
		{ -5, SEEK_END, true },		/* truncated */
		{ 0, SEEK_SET, true },		/* empty */
		{ 130, SEEK_SET, false },	/* a byte of the first record */
		{ -2, SEEK_END, false },	/* a byte of the names */
		{ 20, SEEK_SET, false },	/* a byte of the header */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		warm(&s);
		own_names(&s);
		assert_non_null(s.map);
		damage(cases[i].off, cases[i].whence, cases[i].trunc);
		check_rebuilt(&s);
		imap_mbox_snap_free(&s);
	}
}

static void
test_missing_rebuilt(void **state)
{
	struct imap_mbox_snap s;
	char *p = path_join(dir, IMAP_INDEX_FILE);

	(void)state;
	warm(&s);
	assert_int_equal(unlink(p), 0);
	free(p);
	check_rebuilt(&s);
	imap_mbox_snap_free(&s);
}

static void
test_crash_before_rename(void **state)
{
	struct imap_mbox_snap s, t;
	enum imap_index_how how;
	const char *err;
	char *p = xasprintf("%s/%s.tmp", dir, IMAP_INDEX_FILE);
	FILE *f;

	(void)state;
	warm(&s);
	/* a crash left a half-written new index behind: the old one serves */
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("YBIDX01\nhalf", f);
	fclose(f);
	assert_int_equal(imap_index_sync(dir, &t, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_FAST);
	snap_equal(&s, &t);
	imap_mbox_snap_free(&t);
	/* and the next write replaces the leftover */
	age();
	{
		char *c = path_join(dir, "cur");

		(void)utimensat(AT_FDCWD, c, NULL, 0);
		free(c);
	}
	assert_int_equal(imap_index_sync(dir, &t, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_RESCAN);
	assert_int_equal(access(p, F_OK), -1);
	imap_mbox_snap_free(&t);
	imap_mbox_snap_free(&s);
	free(p);
}

static void
test_outside_flag_change_new_modseq(void **state)
{
	struct imap_mbox_snap s, t;
	enum imap_index_how how;
	const char *err;
	char *from = xasprintf("%s/cur/1001.M1P1.host,S=40:2,", dir);
	char *to = xasprintf("%s/cur/1001.M1P1.host,S=40:2,FS", dir);

	(void)state;
	warm(&s);
	assert_true(imap_index_unchanged(dir, &s));
	/* Dovecot (or a user's mv) sets \Flagged \Seen by renaming */
	assert_int_equal(rename(from, to), 0);
	assert_false(imap_index_unchanged(dir, &s));
	assert_int_equal(imap_index_sync(dir, &t, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_RESCAN);
	assert_true(t.highestmodseq > s.highestmodseq);
	assert_int_equal(t.m[1].modseq, t.highestmodseq);
	assert_true(t.m[1].flags & IMAP_FLAG_FLAGGED);
	assert_int_equal(t.m[0].modseq, s.m[0].modseq);
	assert_int_equal(t.m[2].modseq, s.m[2].modseq);
	imap_mbox_snap_free(&t);
	imap_mbox_snap_free(&s);
	free(from);
	free(to);
}

static void
test_changed_in_place(void **state)
{
	struct imap_mbox_snap s, t;
	enum imap_index_how how;
	const char *err;
	size_t one = 0;
	uint64_t ms;

	(void)state;
	warm(&s);
	assert_int_equal(imap_mbox_set_flags(dir, &s.m[0], IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED, 0), 0);
	ms = imap_index_changed(dir, &s, &one, 1);
	assert_true(ms > 0);
	assert_false(imap_index_unchanged(dir, &s));	/* cur/ moved */
	assert_int_equal(s.m[0].modseq, ms);
	assert_int_equal(s.highestmodseq, ms);
	/* the rescan that the rename causes keeps the modseq given */
	assert_int_equal(imap_index_sync(dir, &t, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_RESCAN);
	assert_int_equal(t.m[0].modseq, ms);
	assert_int_equal(t.highestmodseq, ms);
	assert_true(t.m[0].flags & IMAP_FLAG_ANSWERED);
	imap_mbox_snap_free(&t);
	imap_mbox_snap_free(&s);
}

static void
test_cache(void **state)
{
	struct imap_mbox_snap s, t;
	struct imap_cache_batch b;
	struct imap_cached c;
	enum imap_index_how how;
	const char *err;
	char *p;
	int fd;

	(void)state;
	warm(&s);
	imap_cache_batch_init(&b);
	imap_cache_batch_add(&b, &s.m[0], "(ENV one)", "(BODY one)", "(BS one)");
	imap_cache_batch_add(&b, &s.m[1], "(ENV two)", "(BODY two)", "(BS two)");
	imap_cache_batch_commit(&b, dir);
	imap_cache_batch_deinit(&b);
	assert_true(s.m[0].cache_off > 0);
	/* a new session finds them through the index */
	assert_int_equal(imap_index_sync(dir, &t, &how, &err), 0);
	assert_int_equal(how, IMAP_INDEX_FAST);
	imap_cached_init(&c);
	assert_true(imap_index_cache_get(dir, &t.m[1], &c));
	assert_string_equal(c.envelope, "(ENV two)");
	assert_string_equal(c.body, "(BODY two)");
	assert_string_equal(c.bodystructure, "(BS two)");
	assert_false(imap_index_cache_get(dir, &t.m[2], &c));
	/* a damaged entry is refused, never shown */
	p = path_join(dir, IMAP_INDEX_CACHE_FILE);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, (off_t)t.m[1].cache_off + 17), 1);
	close(fd);
	free(p);
	assert_false(imap_index_cache_get(dir, &t.m[1], &c));
	assert_true(imap_index_cache_get(dir, &t.m[0], &c));
	assert_string_equal(c.envelope, "(ENV one)");
	imap_cached_deinit(&c);
	imap_mbox_snap_free(&t);
	imap_mbox_snap_free(&s);
}

static void
test_expunge_and_force_rebuild(void **state)
{
	struct imap_mbox_snap s, t;
	struct imap_cache_batch b;
	struct imap_cached c;
	enum imap_index_how how;
	const char *err;
	char *p = xasprintf("%s/cur/1000.M1P1.host,S=40:2,S", dir);
	uint64_t hms;

	(void)state;
	warm(&s);
	imap_cache_batch_init(&b);
	imap_cache_batch_add(&b, &s.m[1], "(E2)", "(B2)", "(S2)");
	imap_cache_batch_commit(&b, dir);
	imap_cache_batch_deinit(&b);
	hms = s.highestmodseq;
	imap_mbox_snap_free(&s);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(imap_index_sync(dir, &t, &how, &err), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.m[0].uid, 2);
	assert_true(t.highestmodseq > hms);	/* an expunge is a change */
	imap_cached_init(&c);
	assert_true(imap_index_cache_get(dir, &t.m[0], &c));
	assert_string_equal(c.envelope, "(E2)");
	hms = t.highestmodseq;
	imap_mbox_snap_free(&t);
	/* force-resync: index and cache thrown away, modseqs go on */
	assert_int_equal(imap_index_rebuild(dir, &err), 0);
	assert_int_equal(imap_index_sync(dir, &t, &how, &err), 0);
	assert_true(t.highestmodseq > hms);
	assert_int_equal(t.n, 2);
	assert_false(imap_index_cache_get(dir, &t.m[0], &c));
	imap_cached_deinit(&c);
	imap_mbox_snap_free(&t);
}

/* the expunge history: UIDs gone at a rescan are kept with its modseq,
 * survive later syncs, start over with a rebuilt index, and a damaged
 * history makes the index rebuilt */
static void
test_expunge_history(void **state)
{
	struct imap_mbox_snap s, t;
	struct imap_index_exp *r;
	uint64_t start, ms1;
	size_t n;
	const char *err;
	char *p;

	(void)state;
	put_file("cur", "1003.M1P1.host:2,", "Subject: four\n\nx\n");
	put_file("cur", "1004.M1P1.host:2,", "Subject: five\n\nx\n");
	assert_int_equal(imap_index_sync(dir, &s, NULL, &err), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(imap_index_history(dir, s.uidvalidity, &start, &r, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(start, s.highestmodseq);
	free(r);
	assert_int_equal(imap_index_history(dir, s.uidvalidity + 1, &start, &r, &n), -1);
	/* 2 and 3 go (1001 in cur/, 1002 moved from new/ to cur/) */
	p = xasprintf("rm -f '%s'/cur/1001.* '%s'/cur/1002.*", dir, dir);
	assert_int_equal(system(p), 0);
	free(p);
	assert_int_equal(imap_index_sync(dir, &t, NULL, &err), 0);
	assert_int_equal(t.n, 3);
	ms1 = t.highestmodseq;
	assert_true(ms1 > s.highestmodseq);
	assert_int_equal(imap_index_history(dir, t.uidvalidity, &start, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].lo, 2);
	assert_int_equal(r[0].hi, 3);
	assert_int_equal(r[0].modseq, ms1);
	assert_int_equal(start, s.highestmodseq);
	free(r);
	imap_mbox_snap_free(&t);
	/* 5 goes later: its own modseq; 2:3 stay */
	p = xasprintf("%s/cur/1004.M1P1.host:2,", dir);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(imap_index_sync(dir, &t, NULL, &err), 0);
	assert_int_equal(imap_index_history(dir, t.uidvalidity, &start, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].lo, 5);
	assert_int_equal(r[1].hi, 5);
	assert_true(r[1].modseq > ms1);
	free(r);
	imap_mbox_snap_free(&t);
	/* a session whose snapshot (s) predates those expunges hands out a
	 * modseq: the history must not be trusted for a client at it */
	{
		size_t one = 0;
		uint64_t x = imap_index_changed(dir, &s, &one, 1);

		assert_true(x > ms1);
		assert_int_equal(imap_index_history(dir, s.uidvalidity, &start, &r, &n), 0);
		assert_true(start > x);
		free(r);
	}
	/* a flipped byte in the history: the index is rebuilt, and its
	 * history starts over after the highest modseq handed out */
	{
		struct stat st;
		int fd;

		p = path_join(dir, IMAP_INDEX_FILE);
		assert_int_equal(stat(p, &st), 0);
		fd = open(p, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "\xff", 1, st.st_size - 3), 1);
		close(fd);
		free(p);
	}
	assert_int_equal(imap_index_history(dir, s.uidvalidity, &start, &r, &n), -1);
	assert_int_equal(imap_index_sync(dir, &t, NULL, &err), 0);
	assert_int_equal(imap_index_history(dir, t.uidvalidity, &start, &r, &n), 0);
	assert_int_equal(n, 0);
	assert_true(start > ms1);
	free(r);
	imap_mbox_snap_free(&t);
	imap_mbox_snap_free(&s);
}

static void
test_hostile_images(void **state)
{
	unsigned char buf[512];
	const char *why;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(imap_index_load_check(buf, 0, &why), -1);
	assert_int_equal(imap_index_load_check(buf, sizeof(buf), &why), -1);
	memcpy(buf, "YBIDX01\n", 8);
	assert_int_equal(imap_index_load_check(buf, sizeof(buf), &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_second_not_trusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_rebuilt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_rebuilt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_flag_change_new_modseq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_and_force_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_history, setup, teardown),
		cmocka_unit_test(test_hostile_images),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
