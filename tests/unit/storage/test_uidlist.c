/* test_uidlist.c - Dovecot's dovecot-uidlist: version 3 and 1 headers,
 * W extensions, broken lines skipped, UIDs that do not grow skipped, the
 * written form; and a Maildir opened for reading keeps the UIDs Dovecot
 * gave, numbers new mail after them, moves new/ to cur/ and gives
 * Dovecot's UIDLs. */
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

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/mailbox.h"

static char tmpdir[] = "/tmp/test_uidlist.XXXXXX";

static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_v3_parsed_as_dovecot_writes_it(void **state)
{
	static const char data[] = "3 V1795597554 N3 G150c5d31f2a4066b5e3d000083ecc375\n"
	    "1 W34 :170000001.M1P1.host\n2 W35 :170000002.M1P1.host\n";
	struct uidlist u;
	struct str out;
	const char *err;

	uidlist_init(&u);
	assert_int_equal(uidlist_parse(&u, data, strlen(data), &err), 0);
	assert_int_equal(u.uidvalidity, 1795597554u);
	assert_int_equal(u.next_uid, 3);
	assert_string_equal(u.guid, "150c5d31f2a4066b5e3d000083ecc375");
	assert_int_equal(u.n, 2);
	assert_int_equal(u.e[1].uid, 2);
	assert_int_equal(u.e[1].vsize, 35);
	assert_string_equal(u.e[1].base, "170000002.M1P1.host");
	str_init(&out, 128);
	uidlist_format(&u, &out);
	assert_string_equal(out.s, data);
	str_deinit(&out);
	uidlist_deinit(&u);
}

static void
test_broken_lines_are_skipped(void **state)
{
	static const char data[] = "3 V7 N2\nx junk\n5 :a\n4 :b\n6 W1\n7 :../x\n8 :c";
	struct uidlist u;
	const char *err;

	uidlist_init(&u);
	assert_int_equal(uidlist_parse(&u, data, strlen(data), &err), 0);
	assert_int_equal(u.n, 2);	/* 5 :a and the unterminated 8 :c */
	assert_string_equal(u.e[0].base, "a");
	assert_string_equal(u.e[1].base, "c");
	assert_int_equal(u.next_uid, 9);
	uidlist_deinit(&u);
}

static void
test_version_1_and_bad_headers(void **state)
{
	struct uidlist u;
	const char *err;

	uidlist_init(&u);
	assert_int_equal(uidlist_parse(&u, "1 42 3\n1 a\n2 b\n", 15, &err), 0);
	assert_int_equal(u.uidvalidity, 42);
	assert_int_equal(u.n, 2);
	uidlist_deinit(&u);
	uidlist_init(&u);
	assert_int_equal(uidlist_parse(&u, "3 N5\n", 5, &err), -1);	/* no V */
	uidlist_deinit(&u);
	uidlist_init(&u);
	assert_int_equal(uidlist_parse(&u, "no newline", 10, &err), -1);
	uidlist_deinit(&u);
}

static void
put(const char *dir, const char *name, const char *content)
{
	char *p = path_join(dir, name);

	assert_int_equal(file_write_atomic(p, content, strlen(content), 0600), 0);
	free(p);
}

static void
test_maildir_keeps_dovecot_uids_and_numbers_new_mail(void **state)
{
	char *md = path_join(tmpdir, "Maildir"), *sub;
	struct mailbox *mb;
	struct str uidl, msg;
	const char *err;
	bool del[3] = { true, false, false };

	assert_int_equal(mkdir(md, 0700), 0);
	sub = path_join(md, "cur");
	assert_int_equal(mkdir(sub, 0700), 0);
	put(sub, "100.M1P1.host:2,S", "From: a\n\nbody\n");
	free(sub);
	sub = path_join(md, "new");
	assert_int_equal(mkdir(sub, 0700), 0);
	put(sub, "200.M1P1.host", ".dot\n");
	put(sub, "150.M1P1.host", "x\r\n");
	free(sub);
	put(md, "dovecot-uidlist", "3 V1000 N8 Gabc\n7 :100.M1P1.host\n");

	assert_int_equal(mailbox_open(md, STORAGE_MAILDIR, &mb, &err), 0);
	assert_int_equal(mailbox_count(mb), 3);
	assert_int_equal(mailbox_uidvalidity(mb), 1000);
	assert_int_equal(mailbox_msg(mb, 0)->uid, 7);
	/* new mail in name order after Dovecot's next UID */
	assert_int_equal(mailbox_msg(mb, 1)->uid, 8);
	assert_string_equal(mailbox_msg(mb, 1)->name, "150.M1P1.host:2,");
	assert_int_equal(mailbox_msg(mb, 2)->uid, 9);
	/* sizes with CRLF line ends */
	assert_int_equal(mailbox_msg(mb, 0)->vsize, 17);
	assert_int_equal(mailbox_msg(mb, 1)->vsize, 3);
	str_init(&uidl, 32);
	mailbox_uidl(mb, 1, "%08Xu%08Xv", &uidl);
	assert_string_equal(uidl.s, "00000008000003e8");
	str_init(&msg, 64);
	assert_int_equal(mailbox_msg_read(mb, 2, &msg, &err), 0);
	assert_string_equal(msg.s, ".dot\n");
	assert_int_equal(mailbox_expunge(mb, del, &err), 0);
	mailbox_close(&mb);

	/* reopened: the list lost the expunged one and kept the others */
	assert_int_equal(mailbox_open(md, STORAGE_MAILDIR, &mb, &err), 0);
	assert_int_equal(mailbox_count(mb), 2);
	assert_int_equal(mailbox_msg(mb, 0)->uid, 8);
	assert_int_equal(mailbox_msg(mb, 1)->uid, 9);
	mailbox_close(&mb);
	str_reset(&msg);
	sub = path_join(md, "dovecot-uidlist");
	assert_int_equal(file_read(sub, 4096, &msg), 0);
	assert_string_equal(msg.s, "3 V1000 N10 Gabc\n8 W3 :150.M1P1.host\n9 W6 :200.M1P1.host\n");
	free(sub);
	str_deinit(&msg);
	str_deinit(&uidl);
	free(md);
}

static void
test_maildir_held_lock_is_waited_for_then_refused(void **state)
{
	char *md = path_join(tmpdir, "Locked"), *sub;
	struct mailbox *mb = NULL;
	const char *err;

	assert_int_equal(mkdir(md, 0700), 0);
	sub = path_join(md, "cur");
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	put(md, "dovecot-uidlist.lock", "");
	assert_int_equal(mailbox_open(md, STORAGE_MAILDIR, &mb, &err), -1);
	assert_non_null(strstr(err, "cannot lock"));
	assert_null(mb);
	free(md);
}

static void
test_mbox_read_as_imap_and_expunge_keeps_numbers(void **state)
{
	char *mbox = path_join(tmpdir, "mbox");
	struct mailbox *mb;
	struct str msg, uidl;
	const char *err;
	bool del[3] = { true, false, false };

	(void)state;
	/* Content-Length keeps a "From " body line inside (storage/mbox_file.c,
	 * IMAP's split); the mbox headers are hidden, ">From " stays as IMAP
	 * and Dovecot show it */
	put(tmpdir, "mbox", "From a@b Mon Jan  1 00:00:00 2024\nX-IMAPbase: 55 3 kw\nX-UID: 1\n"
	    "Content-Length: 15\n\n>From x\nFrom y\n\n"
	    "From c@d Mon Jan  1 00:00:00 2024\nX-UID: 2\n\nsecond\n\n"
	    "From c@d Mon Jan  1 00:00:00 2024\n\nthird\n\n");
	assert_int_equal(mailbox_open(mbox, STORAGE_MBOX, &mb, &err), 0);
	assert_int_equal(mailbox_count(mb), 3);
	assert_int_equal(mailbox_msg(mb, 2)->uid, 4);	/* after X-IMAPbase's last */
	assert_int_equal(mailbox_uidnext(mb), 5);
	str_init(&msg, 64);
	str_init(&uidl, 64);
	assert_int_equal(mailbox_msg_read(mb, 0, &msg, &err), 0);
	assert_string_equal(msg.s, "\n>From x\nFrom y\n");
	assert_int_equal(mailbox_msg(mb, 0)->vsize, 19);
	mailbox_uidl(mb, 1, "%08Xu%08Xv", &uidl);
	assert_string_equal(uidl.s, "0000000200000037");
	/* the first message (with X-IMAPbase) goes: the pseudo message keeps
	 * the numbers */
	assert_int_equal(mailbox_expunge(mb, del, &err), 0);
	mailbox_close(&mb);
	str_reset(&msg);
	assert_int_equal(file_read(mbox, 4096, &msg), 0);
	assert_non_null(strstr(msg.s, "\nX-IMAP: 55 0000000003 kw\n"));
	assert_non_null(strstr(msg.s, "\n\nFrom c@d Mon Jan  1 00:00:00 2024\nX-UID: 2\n\nsecond\n\n"));
	assert_int_equal(mailbox_open(mbox, STORAGE_MBOX, &mb, &err), 0);
	assert_int_equal(mailbox_count(mb), 2);
	assert_int_equal(mailbox_uidvalidity(mb), 55);
	assert_int_equal(mailbox_msg(mb, 0)->uid, 2);
	assert_int_equal(mailbox_msg(mb, 1)->uid, 4);
	mailbox_close(&mb);
	str_deinit(&msg);
	str_deinit(&uidl);
	free(mbox);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v3_parsed_as_dovecot_writes_it),
		cmocka_unit_test(test_broken_lines_are_skipped),
		cmocka_unit_test(test_version_1_and_bad_headers),
		cmocka_unit_test(test_maildir_keeps_dovecot_uids_and_numbers_new_mail),
		cmocka_unit_test(test_maildir_held_lock_is_waited_for_then_refused),
		cmocka_unit_test(test_mbox_read_as_imap_and_expunge_keeps_numbers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
