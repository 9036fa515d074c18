/* test_sieve_config.c - Pigeonhole's plugin settings as sieve_config_set
 * reads them: editheader limits and lists, duplicate periods,
 * spamtest/virustest max_header, sieve_env_*; bad values are refused (the callers log
 * a warning and keep the default, as Pigeonhole does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sieve/sieve_config.h"

static void
test_editheader_settings(void **state)
{
	struct sieve_config c;
	const char *err = NULL;

	(void)state;
	sieve_config_init(&c);
	assert_int_equal(c.limits.editheader_max_header_size, 2048);
	assert_null(c.editheader.protect);
	assert_int_equal(sieve_config_set(&c, "sieve_editheader_max_header_size", "1k", &err), 1);
	assert_int_equal(c.limits.editheader_max_header_size, 1024);
	/* below Pigeonhole's minimum of 1024: refused, the value stays */
	assert_int_equal(sieve_config_set(&c, "sieve_editheader_max_header_size", "1023", &err),
	    -1);
	assert_non_null(strstr(err, "sieve_editheader_max_header_size"));
	assert_int_equal(sieve_config_set(&c, "sieve_editheader_max_header_size", "x", &err), -1);
	assert_int_equal(c.limits.editheader_max_header_size, 1024);
	sieve_config_unset(&c, "sieve_editheader_max_header_size");
	assert_int_equal(c.limits.editheader_max_header_size, 2048);

	assert_int_equal(sieve_config_set(&c, "sieve_editheader_protected", "X-A X-B", &err), 1);
	assert_string_equal(c.editheader.protect, "X-A X-B");
	assert_int_equal(sieve_config_set(&c, "sieve_editheader_forbid_add", "X-C", &err), 1);
	assert_int_equal(sieve_config_set(&c, "sieve_editheader_forbid_delete", "X-D", &err), 1);
	assert_string_equal(c.editheader.forbid_add, "X-C");
	assert_string_equal(c.editheader.forbid_delete, "X-D");
	/* a colon or a control character is no field name */
	assert_int_equal(sieve_config_set(&c, "sieve_editheader_forbid_add", "X-C:", &err), -1);
	assert_string_equal(c.editheader.forbid_add, "X-C");
	assert_int_equal(sieve_config_set(&c, "sieve_editheader_nosuch", "x", &err), 0);
	sieve_config_unset(&c, "sieve_editheader_protected");
	assert_null(c.editheader.protect);
	assert_string_equal(c.editheader.forbid_delete, "X-D");
	sieve_config_deinit(&c);
}

static void
test_duplicate_periods(void **state)
{
	struct sieve_config c;
	const char *err = NULL;

	(void)state;
	sieve_config_init(&c);
	/* Pigeonhole's defaults: 14 days, capped by a maximum of 7 */
	assert_int_equal(c.limits.duplicate_default_period, 14 * 86400);
	assert_int_equal(c.limits.duplicate_max_period, 7 * 86400);
	assert_int_equal(sieve_config_set(&c, "sieve_duplicate_default_period", "1h", &err), 1);
	assert_int_equal(sieve_config_set(&c, "sieve_duplicate_max_period", "1d", &err), 1);
	assert_int_equal(c.limits.duplicate_default_period, 3600);
	assert_int_equal(c.limits.duplicate_max_period, 86400);
	assert_int_equal(sieve_config_set(&c, "sieve_duplicate_max_period", "soon", &err), -1);
	sieve_config_unset(&c, "sieve_duplicate_max_period");
	assert_int_equal(c.limits.duplicate_max_period, 7 * 86400);
	sieve_config_deinit(&c);
}

static void
test_score_max_header(void **state)
{
	struct sieve_config c;
	const char *err = NULL;

	(void)state;
	sieve_config_init(&c);
	assert_int_equal(sieve_config_set(&c, "sieve_spamtest_max_header",
	    "X-Spam-Status : required=([0-9.]+)", &err), 1);
	assert_string_equal(c.spam.max_header, "X-Spam-Status");
	assert_string_equal(c.spam.max_regex, "required=([0-9.]+)");
	assert_int_equal(sieve_config_set(&c, "sieve_virustest_max_header", "X-Virus-Max", &err),
	    1);
	assert_string_equal(c.virus.max_header, "X-Virus-Max");
	assert_null(c.virus.max_regex);
	assert_null(c.spam.header);
	sieve_config_deinit(&c);
}

static void
test_env_settings(void **state)
{
	struct sieve_config c;
	const char *err = NULL;

	(void)state;
	sieve_config_init(&c);
	assert_null(c.env_config);
	assert_int_equal(sieve_config_set(&c, "sieve_env_a", "1", &err), 1);
	assert_int_equal(sieve_config_set(&c, "sieve_env_b", "two words", &err), 1);
	assert_int_equal(sieve_config_set(&c, "sieve_env_a", "3", &err), 1);
	assert_int_equal(c.nenv_config, 2);
	assert_string_equal(c.env_config[0], "a=3");
	assert_string_equal(c.env_config[1], "b=two words");
	assert_null(c.env_config[2]);
	sieve_config_unset(&c, "sieve_env_a");
	assert_int_equal(c.nenv_config, 1);
	assert_string_equal(c.env_config[0], "b=two words");
	assert_null(c.env_config[1]);
	/* "sieve_env_" alone names nothing */
	assert_int_equal(sieve_config_set(&c, "sieve_env_", "x", &err), 0);
	sieve_config_deinit(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_editheader_settings),
		cmocka_unit_test(test_duplicate_periods),
		cmocka_unit_test(test_score_max_header),
		cmocka_unit_test(test_env_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
