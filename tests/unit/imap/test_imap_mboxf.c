/* test_imap_mboxf.c - the mbox split IMAP, POP3 and doveadm use
 * (storage/mbox_file.c, through imap/imap_mbox_mbox.c):
 * Content-Length is honoured when it ends at the next From_ line or the
 * end (Dovecot's unescaped "From " body lines stay inside), a wrong one
 * falls back to the From_ lines; UIDs as Dovecot gives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_mbox_mbox.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/mbox_file.h"

static void
split(const char *buf, const char *const *want, size_t nwant)
{
	size_t pos = 0, from, msg, mlen, i = 0, len = strlen(buf);

	while (mbox_file_next(buf, len, &pos, &from, &msg, &mlen)) {
		assert_true(i < nwant);
		assert_int_equal(mlen, strlen(want[i]));
		assert_memory_equal(buf + msg, want[i], mlen);
		i++;
	}
	assert_int_equal(i, nwant);
}

static void
test_content_length_keeps_from_lines(void **state)
{
	static const char *const want[] = {
		"Content-Length: 17\n\nFrom inside\nbody\n",
		"Subject: b\n\nx\n",
	};

	(void)state;
	split("From a  Thu Nov 19 10:00:00 2026\nContent-Length: 17\n\nFrom inside\nbody\n\n"
	    "From b  Thu Nov 19 10:00:01 2026\nSubject: b\n\nx\n\n", want, 2);
}

static void
test_content_length_at_the_end(void **state)
{
	static const char *const want[] = { "Content-Length: 7\n\nFrom x\n" };

	(void)state;
	split("From a  Thu Nov 19 10:00:00 2026\nContent-Length: 7\n\nFrom x\n", want, 1);
}

static void
test_wrong_content_length_falls_back(void **state)
{
	static const char *const want[] = {
		"Content-Length: 3\n\nfirst\n",
		"Content-Length: 999\n\nsecond\n",
	};

	(void)state;
	split("From a  Thu Nov 19 10:00:00 2026\nContent-Length: 3\n\nfirst\n\n"
	    "From b  Thu Nov 19 10:00:00 2026\nContent-Length: 999\n\nsecond\n\n", want, 2);
}

static void
test_last_line_end_is_the_separators(void **state)
{
	/* what Debian's Dovecot served from this file: the line end before
	 * a From_ line or the end is the separator's, blank line or not */
	static const char *const want[] = {
		"Subject: one\n\nbody one",
		"Subject: two\n\nbody two\n\n",
		"Subject: three\n\nbody three",
	};

	(void)state;
	split("From a@b  Wed Nov 25 17:21:33 2026\nSubject: one\n\nbody one\n"
	    "From a@b  Wed Nov 25 17:21:33 2026\nSubject: two\n\nbody two\n\n\n"
	    "From a@b  Wed Nov 25 17:21:33 2026\nSubject: three\n\nbody three\n", want, 3);
}

static void
test_uids_as_dovecot(void **state)
{
	static const char box[] =
	    "From a  Thu Nov 19 10:00:00 2026\nX-IMAPbase: 77 0000000010\nX-UID: 4\n\n1\n\n"
	    "From a  Thu Nov 19 10:00:00 2026\nX-UID: 3\n\n2\n\n"	/* not growing: new */
	    "From a  Thu Nov 19 10:00:00 2026\nX-UID: 12\n\n3\n\n"	/* past the base: new */
	    "From a  Thu Nov 19 10:00:00 2026\n\n4\n";
	struct imap_mbox_snap s;

	(void)state;
	assert_true(imap_mboxf_parse(box, sizeof(box) - 1, &s));
	assert_int_equal(s.n, 4);
	assert_int_equal(s.uidvalidity, 77);
	assert_int_equal(s.m[0].uid, 4);
	assert_int_equal(s.m[1].uid, 11);
	assert_int_equal(s.m[2].uid, 12);
	assert_int_equal(s.m[3].uid, 13);
	assert_int_equal(s.uidnext, 14);
	assert_int_equal(s.m[0].date, 1795082400);	/* the From_ line, UTC */
	imap_mbox_snap_free(&s);
}

static void
test_keyword_bits_follow_x_imapbase(void **state)
{
	/* X-IMAPbase's names first, then one only X-Keywords names; Dovecot
	 * pads X-Keywords with spaces */
	static const char box[] =
	    "From a  Thu Nov 19 10:00:00 2026\nX-IMAPbase: 77 0000000010 $Label1 foo\n"
	    "X-UID: 4\nX-Keywords: foo                 \n\n1\n\n"
	    "From a  Thu Nov 19 10:00:00 2026\nX-UID: 5\nX-Keywords: other $label1\n\n2\n\n"
	    "From a  Thu Nov 19 10:00:00 2026\nX-UID: 6\n\n3\n";
	struct imap_mbox_snap s;

	(void)state;
	assert_false(imap_mboxf_parse(box, sizeof(box) - 1, &s));
	assert_int_equal(s.n, 3);
	assert_int_equal(s.m[0].kw, 1u << 1);
	assert_int_equal(s.m[1].kw, (1u << 0) | (1u << 2));	/* names match without case */
	assert_int_equal(s.m[2].kw, 0);
	imap_mbox_snap_free(&s);
}

static void
test_pseudo_message_is_no_message(void **state)
{
	/* Dovecot's pseudo message first (X-IMAP): its numbers count, it
	 * does not; a later X-IMAP is an ordinary header */
	static const char box[] =
	    "From MAILER_DAEMON  Wed Nov 25 17:21:33 2026\nSubject: DON'T DELETE THIS MESSAGE"
	    " -- FOLDER INTERNAL DATA\nX-IMAP: 1795627293 0000000004 kw\nStatus: RO\n\ntext\n\n"
	    "From a  Thu Nov 19 10:00:00 2026\nX-UID: 4\nX-Keywords: kw\n\n1\n\n"
	    "From a  Thu Nov 19 10:00:00 2026\nX-IMAP: 5 0000000009\n\n2\n";
	struct imap_mbox_snap s;

	(void)state;
	assert_true(imap_mboxf_parse(box, sizeof(box) - 1, &s));	/* the last needs its X-UID */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.uidvalidity, 1795627293);
	assert_int_equal(s.m[0].uid, 4);
	assert_int_equal(s.m[0].kw, 1);
	assert_int_equal(s.m[1].uid, 5);
	assert_int_equal(s.uidnext, 6);
	imap_mbox_snap_free(&s);
	/* the pseudo message alone: an empty mailbox that knows its numbers */
	assert_false(imap_mboxf_parse(box, strstr(box, "From a") - box, &s));
	assert_int_equal(s.n, 0);
	assert_int_equal(s.uidnext, 5);
	imap_mbox_snap_free(&s);
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* save_over_limit - imap_mboxf_save of a 64 KiB message with the file
 * size limit just above the file's: it fails, and the file is as it was */
static void
save_over_limit(const char *path)
{
	struct rlimit old, lim;
	struct imap_mboxf_new add[2];
	struct str before, after, big;
	struct stat st;

	str_init(&before, 256);
	str_init(&after, 256);
	str_init(&big, 70000);
	assert_int_equal(file_read(path, 1 << 20, &before), 0);
	str_append(&big, "Subject: big\r\n\r\n");
	while (big.len < 65536)
		str_append(&big, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n");
	memset(add, 0, sizeof(add));
	add[0].data = "Subject: small\r\n\r\nfits\r\n";
	add[0].len = strlen(add[0].data);
	add[1].data = big.s;	/* the second does not fit: neither is kept */
	add[1].len = big.len;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 4096;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(imap_mboxf_save(path, add, 2), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(file_read(path, 1 << 20, &after), 0);
	assert_int_equal(after.len, before.len);
	assert_memory_equal(after.s, before.s, before.len);
	str_deinit(&before);
	str_deinit(&after);
	str_deinit(&big);
}

static void
test_save_is_all_or_nothing(void **state)
{
	char dir[] = "/tmp/test_imap_mboxf.XXXXXX", *path, *base;
	struct imap_mboxf_new add[2];
	struct stat st1, st2;
	struct str text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = path_join(dir, "box");
	/* X-IMAPbase with the padded last UID: appended in place */
	put(path, "From a  Thu Nov 19 10:00:00 2026\nX-IMAPbase: 77 0000000004 kw\nX-UID: 4\n"
	    "Content-Length: 2\n\n1\n\n");
	save_over_limit(path);
	assert_int_equal(stat(path, &st1), 0);
	memset(add, 0, sizeof(add));
	add[0].data = "Subject: a\r\n\r\nFrom here\r\n";
	add[0].len = strlen(add[0].data);
	add[1].data = "Subject: b\r\n\r\nb\r\n";
	add[1].len = strlen(add[1].data);
	assert_int_equal(imap_mboxf_save(path, add, 2), 0);
	assert_int_equal(add[0].uid, 5);
	assert_int_equal(add[1].uid, 6);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino);	/* appended, not rewritten */
	str_init(&text, 512);
	assert_int_equal(file_read(path, 1 << 20, &text), 0);
	assert_non_null(strstr(text.s, "X-IMAPbase: 77 0000000006 kw\nX-UID: 4\n"));
	assert_non_null(strstr(text.s, "\nX-UID: 5\nStatus: O\nContent-Length: 11\n\n>From here\n\n"));
	assert_non_null(strstr(text.s, "\nX-UID: 6\n"));
	/* no X-IMAPbase yet: a rewrite, as much all or nothing */
	base = path_join(dir, "plain");
	put(base, "From a  Thu Nov 19 10:00:00 2026\nSubject: x\n\nx\n\n");
	save_over_limit(base);
	assert_int_equal(unlink(base), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	str_deinit(&text);
	free(base);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length_keeps_from_lines),
		cmocka_unit_test(test_content_length_at_the_end),
		cmocka_unit_test(test_wrong_content_length_falls_back),
		cmocka_unit_test(test_last_line_end_is_the_separators),
		cmocka_unit_test(test_uids_as_dovecot),
		cmocka_unit_test(test_keyword_bits_follow_x_imapbase),
		cmocka_unit_test(test_pseudo_message_is_no_message),
		cmocka_unit_test(test_save_is_all_or_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
