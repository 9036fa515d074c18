/* test_sieve_storage.c - Pigeonhole's file layout in a scratch home:
 * PUTSCRIPT validates before storing (a broken script leaves nothing and
 * reports its line), LISTSCRIPTS sorts and marks the active one,
 * SETACTIVE makes the relative link ".dovecot.sieve -> sieve/NAME.sieve",
 * the active script cannot be deleted, RENAMESCRIPT moves the link along,
 * deactivation removes only a link, bad names are refused. */
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

#include "lib/str.h"
#include "lib/util.h"
#include "managesieve/sieve_storage.h"
#include "sieve/sieve.h"

static char home[] = "/tmp/yubin-test-sieve-storage-XXXXXX";

static void
test_storage(void **state)
{
	struct sieve_storage st;
	struct sieve_storage_error err;
	struct sieve_limits limits;
	struct sieve_extset exts;
	struct strvec names;
	struct str errors, text;
	char dir[256], active[256], link[256];
	long act;
	ssize_t n;
	static const char good[] = "require \"fileinto\";\nfileinto \"Lists\";\n";
	static const char bad[] = "keep;\nfrobnicate;\n";

	(void)state;
	assert_non_null(mkdtemp(home));
	snprintf(dir, sizeof(dir), "%s/sieve", home);
	snprintf(active, sizeof(active), "%s/.dovecot.sieve", home);
	sieve_storage_init(&st, dir, active);
	sieve_limits_default(&limits);
	sieve_extset_default(&exts);
	str_init(&errors, 256);
	str_init(&text, 256);
	strvec_init(&names);

	/* nothing yet */
	assert_int_equal(sieve_storage_list(&st, &names, &act, &err), 0);
	assert_int_equal(names.n, 0);
	assert_int_equal(act, -1);
	/* a broken script is refused with its line, nothing stored */
	assert_int_equal(sieve_storage_put(&st, "broken", bad, strlen(bad), &limits, &exts,
	    &errors, &err), -1);
	assert_non_null(strstr(errors.s, "line 2"));
	{
		char p[300];

		snprintf(p, sizeof(p), "%s/broken.sieve", dir);
		assert_int_equal(access(p, F_OK), -1);
	}
	str_reset(&errors);
	assert_int_equal(sieve_storage_put(&st, "b", good, strlen(good), &limits, &exts,
	    &errors, &err), 0);
	assert_int_equal(sieve_storage_put(&st, "a", good, strlen(good), &limits, &exts,
	    &errors, &err), 0);
	strvec_deinit(&names);
	strvec_init(&names);
	assert_int_equal(sieve_storage_list(&st, &names, &act, &err), 0);
	assert_int_equal(names.n, 2);
	assert_string_equal(names.v[0], "a");
	assert_string_equal(names.v[1], "b");
	assert_int_equal(act, -1);
	/* activate: the relative link Pigeonhole makes */
	assert_int_equal(sieve_storage_activate(&st, "b", &err), 0);
	n = readlink(active, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "sieve/b.sieve");
	strvec_deinit(&names);
	strvec_init(&names);
	assert_int_equal(sieve_storage_list(&st, &names, &act, &err), 0);
	assert_int_equal(act, 1);
	/* the active one cannot be deleted; the other can */
	assert_int_equal(sieve_storage_delete(&st, "b", &err), -1);
	assert_string_equal(err.code, "ACTIVE");
	assert_int_equal(sieve_storage_delete(&st, "a", &err), 0);
	assert_int_equal(sieve_storage_delete(&st, "a", &err), -1);
	assert_string_equal(err.code, "NONEXISTENT");
	/* rename moves the link along */
	assert_int_equal(sieve_storage_rename(&st, "b", "c", &err), 0);
	n = readlink(active, link, sizeof(link) - 1);
	link[n] = '\0';
	assert_string_equal(link, "sieve/c.sieve");
	assert_int_equal(sieve_storage_get(&st, "c", &text, &err), 0);
	assert_string_equal(text.s, good);
	assert_int_equal(sieve_storage_get(&st, "b", &text, &err), -1);
	assert_string_equal(err.code, "NONEXISTENT");
	assert_int_equal(sieve_storage_put(&st, "d", good, strlen(good), &limits, &exts,
	    &errors, &err), 0);
	assert_int_equal(sieve_storage_rename(&st, "c", "d", &err), -1);
	assert_string_equal(err.code, "ALREADYEXISTS");
	/* deactivate */
	assert_int_equal(sieve_storage_activate(&st, "", &err), 0);
	assert_int_equal(access(active, F_OK), -1);
	assert_int_equal(sieve_storage_activate(&st, "nope", &err), -1);
	assert_string_equal(err.code, "NONEXISTENT");
	/* names that could leave the directory */
	assert_false(sieve_storage_name_ok("../x"));
	assert_false(sieve_storage_name_ok(""));
	assert_false(sieve_storage_name_ok(".."));
	assert_false(sieve_storage_name_ok("a\nb"));
	assert_true(sieve_storage_name_ok("My Rules"));
	assert_int_equal(sieve_storage_put(&st, "../evil", good, strlen(good), &limits, &exts,
	    &errors, &err), -1);

	strvec_deinit(&names);
	str_deinit(&errors);
	str_deinit(&text);
	sieve_storage_deinit(&st);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
		assert_int_equal(system(cmd), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
