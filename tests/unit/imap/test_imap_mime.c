/* test_imap_mime.c - ENVELOPE and BODYSTRUCTURE in Dovecot 2.3's shape
 * (the expected strings are what Debian's Dovecot 2.3.19 answered for
 * the same messages), BODY[section] ranges including message/rfc822
 * parts, HEADER.FIELDS(.NOT), and mailbox name checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imap/imap_layout.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_mime.h"

static const char msg3[] =
	"From: x@example.org\nTo: undisclosed-recipients:;\nCc: (Comment Name) c@d.example\n"
	"Subject: fwd\nContent-Type: message/rfc822\n\n"
	"From: \"Inner\" <in@example.org>\nSubject: inner\nContent-Language: en\n"
	"Content-Type: text/html; charset=\"iso-8859-1\"\n\n<p>x</p>\n";

static void
test_envelope_and_bodystructure(void **state)
{
	struct mime_message m;
	struct str out;

	mime_parse(&m, msg3, sizeof(msg3) - 1);
	str_init(&out, 256);
	mime_envelope(&out, m.text, m.root.hdr_len);
	assert_string_equal(out.s, "(NIL \"fwd\" ((NIL NIL \"x\" \"example.org\")) ((NIL NIL \"x\" "
	    "\"example.org\")) ((NIL NIL \"x\" \"example.org\")) ((NIL NIL "
	    "\"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) ((NIL NIL \"c\" \"d.example\")) "
	    "NIL NIL NIL)");
	str_reset(&out);
	mime_bodystructure(&out, &m, true);
	assert_string_equal(out.s, "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 129 (NIL \"inner\" "
	    "((\"Inner\" NIL \"in\" \"example.org\")) ((\"Inner\" NIL \"in\" \"example.org\")) "
	    "((\"Inner\" NIL \"in\" \"example.org\")) NIL NIL NIL NIL NIL) (\"text\" \"html\" "
	    "(\"charset\" \"iso-8859-1\") NIL NIL \"7bit\" 10 1 NIL NIL (\"en\") NIL) 6 NIL NIL NIL "
	    "NIL)");
	str_reset(&out);
	mime_bodystructure(&out, &m, false);
	assert_string_equal(out.s, "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 129 (NIL \"inner\" "
	    "((\"Inner\" NIL \"in\" \"example.org\")) ((\"Inner\" NIL \"in\" \"example.org\")) "
	    "((\"Inner\" NIL \"in\" \"example.org\")) NIL NIL NIL NIL NIL) (\"text\" \"html\" "
	    "(\"charset\" \"iso-8859-1\") NIL NIL \"7bit\" 10 1) 6)");
	str_deinit(&out);
	mime_free(&m);
}

static void
test_sections(void **state)
{
	static const char mp[] = "Subject: two\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
	    "pre\n--XX\nContent-Type: text/plain\n\nhello\n--XX\n\nsecond\n--XX--\nepilogue\n";
	static const char *const names[] = { "SUBJECT" };
	struct mime_message m;
	const struct mime_part *p;
	struct str out;

	mime_parse(&m, mp, sizeof(mp) - 1);
	assert_true(m.root.multipart);
	assert_int_equal(m.root.nchildren, 2);
	p = mime_section(&m, "1");
	assert_non_null(p);
	assert_int_equal(p->body_len, 5);
	assert_memory_equal(m.text + p->body_off, "hello", 5);
	p = mime_section(&m, "2");
	assert_memory_equal(m.text + p->body_off, "second", p->body_len);
	assert_null(mime_section(&m, "3"));
	assert_null(mime_section(&m, "1.1"));
	assert_null(mime_section(&m, "0"));
	str_init(&out, 64);
	mime_header_fields(&out, m.text, m.root.hdr_len, names, 1, false);
	assert_string_equal(out.s, "Subject: two\r\n\r\n");
	str_reset(&out);
	mime_header_fields(&out, m.text, m.root.hdr_len, names, 1, true);
	assert_string_equal(out.s, "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n");
	str_reset(&out);
	mime_crlf(&out, "a\nb\r\n", 5);
	assert_string_equal(out.s, "a\r\nb\r\n");
	assert_int_equal(mime_vsize("a\nb\r\n", 5), 6);
	str_deinit(&out);
	mime_free(&m);
	/* 10,000 nested multiparts stop at the limits */
	{
		struct str deep;
		size_t i;

		str_init(&deep, 1 << 20);
		for (i = 0; i < 10000; i++)
			str_append(&deep, "Content-Type: multipart/mixed; boundary=b\n\n--b\n");
		mime_parse(&m, deep.s, deep.len);
		assert_true(m.nparts <= MIME_MAX_PARTS + MIME_MAX_DEPTH);
		mime_free(&m);
		str_deinit(&deep);
	}
}

static void
test_mailbox_names(void **state)
{
	static const struct { const char *name, *error; } cases[] = {
		{ "Archive.2024", NULL },
		{ "Entw&APw-rfe", NULL },
		{ "../x", "[CANNOT] Invalid mailbox name: Begins with hierarchy separator" },
		/* Dovecot's order of checks (tests/e2e/test_imap_ext.py compares) */
		{ "a/../b", "[CANNOT] Invalid mailbox name: Has adjacent hierarchy separators" },
		{ "a/b", "[CANNOT] Invalid mailbox name: Name must not have '/' characters" },
		{ "&2D0-", "Mailbox name is not valid mUTF-7" },
		{ "~x", "[CANNOT] Invalid mailbox name: Begins with '~'" },
		{ "a\002b", "Mailbox name is not valid mUTF-7" },
		/* IMAP_NAME_DOT: a '.' inside a LAYOUT=fs level (imap_ns.c) */
		{ "a\001b.c", NULL },
		{ "\001hidden", NULL },
		{ "a.\001\001\001", NULL },
		{ "\001\001.x", "[CANNOT] Invalid mailbox name: Contains '..' part" },
		{ "x.\001\001", "[CANNOT] Invalid mailbox name: Contains '..' part" },
		{ "x.\001.y", "[CANNOT] Invalid mailbox name: Contains '.' part" },
		{ "caf\xc3\xa9", "Mailbox name is not valid mUTF-7" },
		{ "&AGE-", "Mailbox name is not valid mUTF-7" },
		{ "x.", "[CANNOT] Invalid mailbox name: Ends with hierarchy separator" },
		{ "a..b", "[CANNOT] Invalid mailbox name: Has adjacent hierarchy separators" },
		{ "", "[CANNOT] Invalid mailbox name: Name is empty" },
	};
	struct str e;
	size_t i;

	str_init(&e, 64);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = imap_mailbox_name_check(cases[i].name, &e);

		assert_int_equal(r, cases[i].error == NULL ? 0 : -1);
		if (cases[i].error != NULL)
			assert_string_equal(e.s, cases[i].error);
	}
	str_deinit(&e);
}

static void
test_layout_fs_dirs(void **state)
{
	struct imap_layout l;
	const char *err = NULL;
	char *d;

	assert_int_equal(imap_layout_init(&l, "maildir:/srv/m:LAYOUT=fs", "u", "/home/u",
	    "/srv/m", &err), 0);
	d = imap_layout_dir(&l, "a\001b.c\001d");
	assert_string_equal(d, "/srv/m/a.b/c.d");
	free(d);
	/* levels of dots alone never become "." or ".." in a path */
	d = imap_layout_dir(&l, "\001\001.x");
	assert_string_equal(d, "/srv/m/\001\001/x");
	free(d);
	d = imap_layout_dir(&l, "x.\001");
	assert_string_equal(d, "/srv/m/x/\001");
	free(d);
	d = imap_layout_dir(&l, "x.\001\001\001");
	assert_string_equal(d, "/srv/m/x/...");
	free(d);
	imap_layout_deinit(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_and_bodystructure),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_mailbox_names),
		cmocka_unit_test(test_layout_fs_dirs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
