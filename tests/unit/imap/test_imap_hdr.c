/* test_imap_hdr.c - the header-fields records of the IMAP index's cache
 * (src/imap/imap_hdr.c): their format, that filtering a record gives
 * exactly what filtering the message's header gives (folded fields,
 * repeated fields, bare LF and CR, junk lines, NULs, a header without
 * its blank line), what a record refuses to be, the name union; and,
 * through src/imap/imap_index.c on a real Maildir, that records are
 * found after a new sync, refused when damaged or of another file, kept
 * by compaction and dropped by force-resync. */
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

#include "imap/imap_hdr.h"
#include "imap/imap_index.h"
#include "imap/imap_mime.h"
#include "lib/mem.h"
#include "lib/util.h"

#define FILE1	"1000.M1P1.host,S=40:2,S"

static const char *const headers[] = {
	"From: a@b.example\nTo: x@y.example,\n z@y.example\nSubject: one\n\nbody\n",
	"From: A <a@b.example>\r\nTo: x\r\nTo: second\r\ncc:lower@case\r\nSUBJECT: Up\r\n\r\nb\r\n",
	/* junk before and between fields, a field starting with a space */
	" Leading: space\nnot a field\nFrom: j@unk\nGarbage line\n\tcontinued\nX-A: 1\n\n",
	/* bare CR inside, CRLF and LF mixed, trailing white space in names */
	"Subject: a\rb\nFrom : spaced@name\r\nTo:\tt@x\n\t\r\n next\nDate: 1 Jan 2024\n\nx",
	/* no blank line, the last field without a line end */
	"From: end@of.file\nSubject: last",
	/* NUL bytes in a value */
	"From: nul\0byte@x\nSubject: s\0t\n\n",
	"",
	"\n\nbody only\n",
};
static const size_t header_lens[] = { 0, 0, 0, 0, 0, 38, 0, 0 };

static const char *const subsets[][4] = {
	{ "FROM", NULL }, { "TO", NULL }, { "SUBJECT", "FROM", NULL }, { "CC", NULL },
	{ "DATE", "TO", "X-A", NULL }, { "from", "To", NULL }, { "LEADING", NULL },
	{ NULL },
};

static size_t
hlen(size_t i)
{
	return header_lens[i] != 0 ? header_lens[i] : strlen(headers[i]);
}

static size_t
count(const char *const *v)
{
	size_t n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

static void
test_filter_equals_message(void **state)
{
	static const char *const names[] = { "FROM", "TO", "SUBJECT", "CC", "DATE", "X-A",
		"LEADING" };
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		const char *h = headers[i];
		size_t len = mime_header_len(h, hlen(i));
		struct str rec;
		struct imap_hdr_rec r;

		str_init(&rec, 256);
		assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, len, names, 7), 0);
		assert_int_equal(imap_hdr_record_parse(rec.s, rec.len, FILE1, &r), 0);
		for (k = 0; k < sizeof(subsets) / sizeof(subsets[0]); k++) {
			struct str a, b;
			size_t n = count(subsets[k]);

			str_init(&a, 128);
			str_init(&b, 128);
			mime_header_fields(&a, h, len, subsets[k], n, false);
			mime_header_fields(&b, r.fields, r.fields_len, subsets[k], n, false);
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.s, b.s, a.len);
			str_deinit(&a);
			str_deinit(&b);
		}
		/* the first Date for SENTON */
		{
			struct str a, b;
			bool ga, gb;

			str_init(&a, 64);
			str_init(&b, 64);
			ga = mime_header_get(h, len, "Date", &a);
			gb = mime_header_get(r.fields, r.fields_len, "Date", &b);
			assert_int_equal(ga, gb);
			assert_string_equal(a.s, b.s);
			str_deinit(&a);
			str_deinit(&b);
		}
		str_deinit(&rec);
	}
}

static void
test_format_and_covers(void **state)
{
	static const char *const names[] = { "from", "Subject", "FROM", "x-spam-flag" };
	const char *h = "From: a@b\nX-Other: 1\nSubject: hi\n\nbody\n";
	struct str rec;
	struct imap_hdr_rec r;
	char want[64];

	(void)state;
	str_init(&rec, 128);
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, mime_header_len(h, strlen(h)),
	    names, 4), 0);
	snprintf(want, sizeof(want), "%08x FROM SUBJECT X-SPAM-FLAG\nFrom: a@b\r\nSubject: hi\r\n\r\n",
	    (unsigned)imap_hdr_base_hash(FILE1));
	assert_int_equal(rec.len, strlen(want));
	assert_memory_equal(rec.s, want, rec.len);
	assert_int_equal(imap_hdr_record_parse(rec.s, rec.len, FILE1, &r), 0);
	assert_true(imap_hdr_record_covers(&r, "subject"));
	assert_true(imap_hdr_record_covers(&r, "X-Spam-Flag"));
	assert_false(imap_hdr_record_covers(&r, "X-Other"));
	assert_false(imap_hdr_record_covers(&r, "FRO"));
	assert_false(imap_hdr_record_covers(&r, "FROM SUBJECT"));
	/* the base name, not the flags, is what a record belongs to */
	assert_int_equal(imap_hdr_record_parse(rec.s, rec.len, "1000.M1P1.host,S=40:2,RS", &r), 0);
	assert_int_equal(imap_hdr_record_parse(rec.s, rec.len, "1001.M1P1.host,S=40:2,S", &r), -1);
	str_deinit(&rec);
}

static void
test_parse_refuses(void **state)
{
	char good[128], bad[128];
	struct imap_hdr_rec r;
	unsigned hash = imap_hdr_base_hash(FILE1);
	size_t i;
	static const char *const tails[] = {
		"\nFrom: x\r\n\r\n",		/* no names */
		" from\nFrom: x\r\n\r\n",		/* lower case */
		" FROM  TO\nFrom: x\r\n\r\n",	/* an empty name */
		" FR:OM\nFrom: x\r\n\r\n",		/* a colon */
		" FROM\nFrom: x\r\n",		/* no blank line */
		" FROM",			/* no line end */
		" FROM\n\n",			/* LF only */
	};

	(void)state;
	snprintf(good, sizeof(good), "%08x FROM\nFrom: x\r\n\r\n", hash);
	assert_int_equal(imap_hdr_record_parse(good, strlen(good), FILE1, &r), 0);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		snprintf(bad, sizeof(bad), "%08x%s", hash, tails[i]);
		assert_int_equal(imap_hdr_record_parse(bad, strlen(bad), FILE1, &r), -1);
		assert_null(r.fields);
	}
	for (i = 0; i < strlen(good); i++)
		assert_int_equal(imap_hdr_record_parse(good, i, FILE1, &r), -1);
	/* too many names */
	{
		struct str s;

		str_init(&s, 1024);
		str_appendf(&s, "%08x", hash);
		for (i = 0; i <= IMAP_HDR_MAX_NAMES; i++)
			str_appendf(&s, " N%zu", i);
		str_append(&s, "\n\r\n");
		assert_int_equal(imap_hdr_record_parse(s.s, s.len, FILE1, &r), -1);
		str_deinit(&s);
	}
}

static void
test_make_limits(void **state)
{
	const char *h = "From: a\n\n";
	const char *bad1[] = { "FROM", "X Y" }, *bad2[] = { "A:B" }, *none[] = { NULL };
	char longname[IMAP_HDR_MAX_NAME + 2];
	const char *bad3[] = { longname };
	const char *many[IMAP_HDR_MAX_NAMES + 1];
	char bufs[IMAP_HDR_MAX_NAMES + 1][8];
	struct str rec, big;
	size_t i;

	(void)state;
	str_init(&rec, 64);
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, strlen(h), bad1, 2), -1);
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, strlen(h), bad2, 1), -1);
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, strlen(h), bad3, 1), -1);
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, strlen(h), none, 0), -1);
	for (i = 0; i <= IMAP_HDR_MAX_NAMES; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "N%zu", i);
		many[i] = bufs[i];
	}
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, strlen(h), many,
	    IMAP_HDR_MAX_NAMES), 0);
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, strlen(h), many,
	    IMAP_HDR_MAX_NAMES + 1), -1);
	/* a header too big to cache */
	str_init(&big, IMAP_HDR_MAX_RECORD + 64);
	str_append(&big, "References:");
	while (big.len < IMAP_HDR_MAX_RECORD)
		str_append(&big, " <0123456789@example.org>\n");
	str_append(&big, "\n");
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, big.s, big.len,
	    imap_hdr_default_names, count(imap_hdr_default_names)), -1);
	str_deinit(&big);
	str_deinit(&rec);
}

static void
test_names_union(void **state)
{
	const char *h = "From: a\n\n", *req[] = { "x-one", "FROM", "X-ONE", "bad name" };
	const char *old_names[] = { "X-OLD", "SUBJECT" };
	struct strvec v;
	struct str rec;
	struct imap_hdr_rec r;
	size_t nd = count(imap_hdr_default_names);

	(void)state;
	str_init(&rec, 64);
	assert_int_equal(imap_hdr_record_make(&rec, FILE1, h, strlen(h), old_names, 2), 0);
	assert_int_equal(imap_hdr_record_parse(rec.s, rec.len, FILE1, &r), 0);
	strvec_init(&v);
	imap_hdr_names_union(&v, &r, req, 4);
	assert_int_equal(v.n, nd + 2);
	assert_true(strvec_contains(&v, "X-OLD"));
	assert_true(strvec_contains(&v, "X-ONE"));
	assert_true(strvec_contains(&v, "FROM"));
	assert_false(strvec_contains(&v, "BAD NAME"));
	strvec_deinit(&v);
	str_deinit(&rec);
}

/* --- in a Maildir, through the index --- */

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

static int
setup(void **state)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	size_t i;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/yubin-hdr-XXXXXX");
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 3; i++) {
		char *p = path_join(dir, subs[i]);

		mkdir(p, 0700);
		free(p);
	}
	put_file("cur", FILE1, "From: a@b.example\nSubject: one\n\nbody\n");
	put_file("cur", "1001.M1P1.host,S=40:2,", "From: c@d.example\nSubject: two\n\nbody\n");
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

static void
add_record(struct imap_cache_batch *b, struct imap_msg *m, const char *hdr)
{
	struct str rec;

	str_init(&rec, 128);
	assert_int_equal(imap_hdr_record_make(&rec, m->name, hdr,
	    mime_header_len(hdr, strlen(hdr)), imap_hdr_default_names,
	    count(imap_hdr_default_names)), 0);
	imap_cache_batch_add_hdr(b, m, &rec);
	str_deinit(&rec);
}

static void
test_index_records(void **state)
{
	struct imap_mbox_snap s, t;
	struct imap_cache_batch b;
	struct imap_cached c;
	const char *err;
	char *p;
	int fd;

	(void)state;
	assert_int_equal(imap_index_sync(dir, &s, NULL, &err), 0);
	imap_cache_batch_init(&b);
	add_record(&b, &s.m[0], "From: a@b.example\nSubject: one\n\n");
	add_record(&b, &s.m[1], "From: c@d.example\nSubject: two\n\n");
	imap_cache_batch_add(&b, &s.m[1], "(ENV)", "", "");
	imap_cache_batch_commit(&b, dir);
	imap_cache_batch_deinit(&b);
	assert_true(s.m[0].hdr_off >= 8 && s.m[1].hdr_off > s.m[0].hdr_off);
	assert_true(s.m[1].cache_off > s.m[1].hdr_off);
	imap_mbox_snap_free(&s);
	/* a new session finds both kinds through the index */
	assert_int_equal(imap_index_sync(dir, &t, NULL, &err), 0);
	imap_cached_init(&c);
	assert_true(imap_index_hdr_get(dir, &t.m[1], &c));
	assert_true(imap_hdr_record_covers(&c.hdr, "Subject"));
	assert_non_null(strstr(c.hdr.fields, "Subject: two\r\n"));
	assert_true(imap_index_cache_get(dir, &t.m[1], &c));
	assert_string_equal(c.envelope, "(ENV)");
	/* a record is not an ENVELOPE entry, nor the other way round */
	{
		struct imap_msg m = t.m[1];

		m.cache_off = t.m[1].hdr_off;
		m.cache_len = t.m[1].hdr_len;
		assert_false(imap_index_cache_get(dir, &m, &c));
		m = t.m[1];
		m.hdr_off = t.m[1].cache_off;
		m.hdr_len = (uint16_t)t.m[1].cache_len;
		assert_false(imap_index_hdr_get(dir, &m, &c));
		/* nor another file's */
		m = t.m[1];
		m.name = (char *)"1002.M1P1.host,S=40:2,";
		assert_false(imap_index_hdr_get(dir, &m, &c));
	}
	/* a flipped byte: refused */
	p = path_join(dir, IMAP_INDEX_CACHE_FILE);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "Q", 1, (off_t)t.m[0].hdr_off + 30), 1);
	close(fd);
	free(p);
	imap_cached_deinit(&c);
	imap_cached_init(&c);
	assert_false(imap_index_hdr_get(dir, &t.m[0], &c));
	assert_true(imap_index_hdr_get(dir, &t.m[1], &c));
	imap_cached_deinit(&c);
	imap_mbox_snap_free(&t);
}

static void
test_compaction_and_rebuild(void **state)
{
	struct imap_mbox_snap s, t;
	struct imap_cache_batch b;
	struct imap_cached c;
	const char *err;
	char *p = xasprintf("%s/cur/%s", dir, FILE1);
	int i;

	(void)state;
	assert_int_equal(imap_index_sync(dir, &s, NULL, &err), 0);
	imap_cache_batch_init(&b);
	/* many records written anew: most of the cache is dead */
	for (i = 0; i < 400; i++) {
		add_record(&b, &s.m[0], "From: a@b.example\nSubject: one\n\n");
		add_record(&b, &s.m[1], "From: c@d.example\nSubject: two\n\n");
		imap_cache_batch_commit(&b, dir);
	}
	imap_cache_batch_deinit(&b);
	imap_mbox_snap_free(&s);
	/* an expunge makes the next sync rescan, and compact */
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(imap_index_sync(dir, &t, NULL, &err), 0);
	assert_int_equal(t.n, 1);
	{
		struct stat st;
		char *cp = path_join(dir, IMAP_INDEX_CACHE_FILE);

		assert_int_equal(stat(cp, &st), 0);
		assert_true(st.st_size < 4096);
		free(cp);
	}
	imap_cached_init(&c);
	assert_true(imap_index_hdr_get(dir, &t.m[0], &c));
	assert_non_null(strstr(c.hdr.fields, "Subject: two"));
	imap_mbox_snap_free(&t);
	/* force-resync drops them */
	assert_int_equal(imap_index_rebuild(dir, &err), 0);
	assert_int_equal(imap_index_sync(dir, &t, NULL, &err), 0);
	assert_false(imap_index_hdr_get(dir, &t.m[0], &c));
	imap_cached_deinit(&c);
	imap_mbox_snap_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_equals_message),
		cmocka_unit_test(test_format_and_covers),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_make_limits),
		cmocka_unit_test(test_names_union),
		cmocka_unit_test_setup_teardown(test_index_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_and_rebuild, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
