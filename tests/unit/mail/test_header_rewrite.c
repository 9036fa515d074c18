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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_addr_specs_change),
		cmocka_unit_test(test_other_fields_and_non_addresses_stay),
		cmocka_unit_test(test_spans_survive_garbage),
	};

	log_open("test", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
