/* test_mail_location.c - Dovecot's mail location strings: formats, keys,
 * variables, the defaults for INBOX, and the errors. */
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

#include "storage/mail_location.h"

static void
test_maildir(void **state)
{
	struct mail_location l;
	const char *err = NULL;

	assert_int_equal(mail_location_parse("maildir:~/Maildir", "bob", "/home/bob", &l, &err), 0);
	assert_int_equal(l.format, STORAGE_MAILDIR);
	assert_false(l.layout_fs);
	assert_string_equal(l.root, "/home/bob/Maildir");
	assert_string_equal(l.inbox, "/home/bob/Maildir");
	assert_null(l.index);
	mail_location_deinit(&l);

	assert_int_equal(mail_location_parse("maildir:/srv/mail/%d/%n/:LAYOUT=fs:INDEX=/idx/%u:"
	    "CONTROL=~/ctl", "bob@example.org", "/home/bob", &l, &err), 0);
	assert_true(l.layout_fs);
	assert_string_equal(l.root, "/srv/mail/example.org/bob");
	assert_string_equal(l.inbox, "/srv/mail/example.org/bob");
	assert_string_equal(l.index, "/idx/bob@example.org");
	assert_string_equal(l.control, "/home/bob/ctl");
	mail_location_deinit(&l);

	assert_int_equal(mail_location_parse("maildir:%h/Maildir:LAYOUT=maildir++:INBOX=~/in:"
	    "ITERINDEX:DIRNAME=x", "bob", "/home/bob", &l, &err), 0);
	assert_false(l.layout_fs);
	assert_string_equal(l.root, "/home/bob/Maildir");
	assert_string_equal(l.inbox, "/home/bob/in");
	mail_location_deinit(&l);

	assert_int_equal(mail_location_parse("maildir:/m/%{username}/%{domain}/100%%", "a@b", NULL,
	    &l, &err), 0);
	assert_string_equal(l.root, "/m/a/b/100%");
	mail_location_deinit(&l);
}

static void
test_mbox(void **state)
{
	struct mail_location l;
	const char *err = NULL;

	assert_int_equal(mail_location_parse("mbox:~/mail:INBOX=/var/mail/%u", "bob", "/home/bob",
	    &l, &err), 0);
	assert_int_equal(l.format, STORAGE_MBOX);
	assert_string_equal(l.root, "/home/bob/mail");
	assert_string_equal(l.inbox, "/var/mail/bob");
	mail_location_deinit(&l);

	/* without INBOX=: Dovecot's ~/mail/inbox */
	assert_int_equal(mail_location_parse("mbox:~/mail", "bob", "/home/bob", &l, &err), 0);
	assert_string_equal(l.inbox, "/home/bob/mail/inbox");
	mail_location_deinit(&l);
}

static void
test_autodetect(void **state)
{
	char dir[] = "/tmp/test_mail_location.XXXXXX", md[64];
	struct mail_location l;
	const char *err = NULL;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(mail_location_parse("", "bob", dir, &l, &err), 0);
	assert_int_equal(l.format, STORAGE_MBOX);
	assert_string_equal(l.inbox, "/var/mail/bob");
	mail_location_deinit(&l);
	snprintf(md, sizeof(md), "%s/Maildir", dir);
	assert_int_equal(mkdir(md, 0700), 0);
	assert_int_equal(mail_location_parse(NULL, "bob", dir, &l, &err), 0);
	assert_int_equal(l.format, STORAGE_MAILDIR);
	assert_string_equal(l.inbox, md);
	mail_location_deinit(&l);
	rmdir(md);
	rmdir(dir);
}

static void
test_errors(void **state)
{
	static const char *const bad[] = {
		"sdbox:~/mail", "maildir:~/Maildir:LAYOUT=index", "maildir:Maildir",
		"maildir:/m/%x", "maildir:/m/%", "maildir:/m/%{user", "maildir:/m/%{nope}",
		"mbox:~/mail", "maildir:/m/%u", "maildir:%h/x",
	};
	struct mail_location l;
	const char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		/* no home: ~ and %h fail; "../x" as the user leads out of /m */
		assert_int_equal(mail_location_parse(bad[i], "../x", NULL, &l, &err), -1);
		assert_non_null(err);
		mail_location_deinit(&l);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir),
		cmocka_unit_test(test_mbox),
		cmocka_unit_test(test_autodetect),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
