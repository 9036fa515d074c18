/* test_header_rewrite.c - canonical rewriting of header addresses: only the
 * addr-specs change, everything around them stays byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/header.h"
#include "mail/header_rewrite.h"
#include "mail/rewrite.h"

static struct maincf *cf;
static struct rewrite *rw;
static char table[64];

static int
setup(void **state)
{
	const char *err = NULL;
	char *text;
	FILE *fp;
	int fd;

	strcpy(table, "/tmp/hdrrwXXXXXX");
	fd = mkstemp(table);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fprintf(fp, "joe@old.example joe@new.example\n@legacy.example @example.com\n");
	fclose(fp);
	text = xasprintf("myhostname = mail.example.com\nmydomain = example.com\n"
	    "myorigin = $mydomain\nmydestination = $myhostname, localhost\n"
	    "canonical_maps = texthash:%s\n", table);
	cf = maincf_new("/nonexistent");
	assert_int_equal(maincf_parse(cf, "main.cf", text, strlen(text), &err), 0);
	free(text);
	rw = rewrite_new(cf, &err);
	assert_non_null(rw);
	return 0;
}

static int
teardown(void **state)
{
	rewrite_free(&rw);
	maincf_free(&cf);
	unlink(table);
	return 0;
}

static void
expect(const char *field, const char *want, bool want_changed)
{
	struct header_field f;
	struct str out;
	const char *err = NULL;
	bool changed;

	assert_true(header_next(field, strlen(field), &f) > 0);
	str_init(&out, 128);
	assert_int_equal(header_rewrite_field(rw, &f, &out, &changed, &err), 0);
	if (strcmp(out.s, want) != 0)
		fail_msg("got <%s>\nwant <%s>", out.s, want);
	assert_int_equal(changed, want_changed);
	str_deinit(&out);
}

static void
test_only_addr_specs_change(void **state)
{
	expect("From: \"Joe (old)\" <joe@old.example> (work)\n",
	    "From: \"Joe (old)\" <joe@new.example> (work)\n", true);
	expect("To: joe@old.example, Ann <ann@legacy.example>,\n\tbob (Bob)\n",
	    "To: joe@new.example, Ann <ann@example.com>,\n\tbob@example.com (Bob)\n", true);
	expect("Cc: friends: joe@old.example, x@y.example;\n",
	    "Cc: friends: joe@new.example, x@y.example;\n", true);
}

static void
test_other_fields_and_non_addresses_stay(void **state)
{
	expect("Subject: joe@old.example\n", "Subject: joe@old.example\n", false);
	expect("To: undisclosed-recipients:;\n", "To: undisclosed-recipients:;\n", false);
	/* two words are a display name without an address */
	expect("To: Joe Smith\n", "To: Joe Smith\n", false);
	expect("Reply-To: <>\n", "Reply-To: <>\n", false);
	expect("To: x@y.example\n", "To: x@y.example\n", false);
}

static void
test_spans_survive_garbage(void **state)
{
	static const char *const bad[] = {
		"<<<", "\"unterminated", "(((", ">a@b<", ",,,;;;::", "a@b (c", "\"\\", "<\"a>\"@b>",
	};
	size_t spans[16][2], i, n, k;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = header_addr_spans(bad[i], strlen(bad[i]), spans, 16);
		for (k = 0; k < n; k++)
			assert_true(spans[k][0] < spans[k][1] && spans[k][1] <= strlen(bad[i]));
	}
}

static void
collect(void *ctx, const char *p, size_t len)
{
	str_append_n(ctx, p, len);
}

/* the stream: fields complete only when the next line does not continue
 * them, the body untouched, the same bytes whatever the cut */
static void
test_stream_pieces(void **state)
{
	static const char in[] = "From: joe\nTo: a@legacy.example,\n\tjoe@old.example\n"
	    "\nFrom: joe\n";
	static const char want[] = "From: joe@example.com\nTo: a@example.com,\n"
	    "\tjoe@new.example\n\nFrom: joe\n";
	struct header_rewrite_stream hs;
	struct str out;
	const char *err;
	size_t piece, off, n;

	for (piece = 1; piece <= sizeof(in); piece++) {
		str_init(&out, 64);
		header_rewrite_stream_init(&hs, rw, 1000, collect, &out);
		for (off = 0; off < sizeof(in) - 1; off += n) {
			n = sizeof(in) - 1 - off < piece ? sizeof(in) - 1 - off : piece;
			assert_int_equal(header_rewrite_stream_feed(&hs, in + off, n, false, &err), 0);
		}
		assert_int_equal(header_rewrite_stream_feed(&hs, "", 0, true, &err), 0);
		if (strcmp(out.s, want) != 0)
			fail_msg("piece %zu: got <%s>", piece, out.s);
		header_rewrite_stream_deinit(&hs);
		str_deinit(&out);
	}
}

/* a field past the limit and everything after it pass unchanged; a
 * message that ends inside its header is flushed at the end */
static void
test_stream_limit_and_end(void **state)
{
	struct header_rewrite_stream hs;
	struct str out, big;
	const char *err;
	size_t i;

	str_init(&big, 4096);
	str_append(&big, "From: joe\nTo: ");
	for (i = 0; i < 300; i++)
		str_append(&big, "joe, ");
	str_append(&big, "x\nCc: joe\n");
	str_init(&out, 64);
	header_rewrite_stream_init(&hs, rw, 200, collect, &out);
	assert_int_equal(header_rewrite_stream_feed(&hs, big.s, big.len, false, &err), 0);
	assert_int_equal(header_rewrite_stream_feed(&hs, "", 0, true, &err), 0);
	assert_int_equal(strncmp(out.s, "From: joe@example.com\nTo: joe, joe,", 35), 0);
	assert_non_null(strstr(out.s, "x\nCc: joe\n"));
	header_rewrite_stream_deinit(&hs);
	str_reset(&out);
	header_rewrite_stream_init(&hs, rw, 200, collect, &out);
	assert_int_equal(header_rewrite_stream_feed(&hs, "Cc: joe", 7, false, &err), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(header_rewrite_stream_feed(&hs, "", 0, true, &err), 0);
	assert_string_equal(out.s, "Cc: joe@example.com");
	header_rewrite_stream_deinit(&hs);
	str_deinit(&out);
	str_deinit(&big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_addr_specs_change),
		cmocka_unit_test(test_other_fields_and_non_addresses_stay),
		cmocka_unit_test(test_spans_survive_garbage),
		cmocka_unit_test(test_stream_pieces),
		cmocka_unit_test(test_stream_limit_and_end),
	};

	log_open("test", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
