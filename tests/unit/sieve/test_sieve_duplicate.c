/* test_sieve_duplicate.c - duplicate (RFC 7352) against a record that
 * keeps expiry times on a clock the test moves: the period comes from
 * :seconds or sieve_duplicate_default_period, capped by
 * sieve_duplicate_max_period; a new ID starts its period when the result
 * is executed; with :last a duplicate starts it again, without it does not.
 * The record itself (sieve_track) is tested with explicit times too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/str.h"
#include "lib/util.h"
#include "sieve/sieve.h"
#include "sieve/sieve_exec.h"
#include "sieve/sieve_track.h"

static const char msg[] =
	"From: a@example.org\r\n"
	"Message-ID: <dup-1@example.org>\r\n"
	"Subject: x\r\n"
	"\r\n"
	"x\r\n";

/* a record in memory: one ID and its expiry (enough for one message) */
struct clock {
	time_t	 now;
	time_t	 expiry;	/* 0: not recorded */
	uint64_t last_seconds;	/* the period of the last mark */
	unsigned marks;
};

static int
dup_check(void *ctx, const char *id, size_t len)
{
	struct clock *c = ctx;

	(void)id;
	(void)len;
	return c->expiry > c->now;
}

static void
dup_mark(void *ctx, const char *id, size_t len, uint64_t seconds)
{
	struct clock *c = ctx;

	(void)id;
	(void)len;
	c->expiry = c->now + (time_t)seconds;
	c->last_seconds = seconds;
	c->marks++;
}

static int
store(void *ctx, const char *mailbox, char *const *flags, bool create, const char *data,
    size_t len)
{
	(void)ctx; (void)mailbox; (void)flags; (void)create; (void)data; (void)len;
	return 0;
}

/* deliver - run script on msg at c->now and execute the result; 1 when the
 * message was found a duplicate (the script discards it then) */
static int
deliver(const char *script, const struct sieve_limits *lim, struct clock *c)
{
	struct sieve_extset ext;
	struct sieve_script *sc;
	struct sieve_msg *m = sieve_msg_new(msg, sizeof(msg) - 1);
	struct sieve_result *res = sieve_result_new();
	struct sieve_env env;
	struct sieve_exec_ops ops;
	struct str errs, log;
	int discarded = 0;

	sieve_extset_default(&ext);
	str_init(&errs, 64);
	str_init(&log, 64);
	sc = sieve_compile("t", script, strlen(script), lim, &ext, &errs);
	assert_non_null(sc);
	memset(&env, 0, sizeof(env));
	env.now = c->now;
	env.duplicate_check = dup_check;
	env.ctx = c;
	memset(&ops, 0, sizeof(ops));
	ops.store = store;
	ops.duplicate_mark = dup_mark;
	ops.ctx = c;
	assert_int_equal(sieve_run(sc, m, &env, res, &errs), SIEVE_OK);
	for (size_t i = 0; i < sieve_result_count(res); i++)
		if (sieve_result_action(res, i)->kind == SIEVE_ACT_DISCARD)
			discarded = 1;
	assert_int_equal(sieve_execute(res, m, &env, &ops, &log), 0);
	sieve_result_free(&res);
	sieve_script_free(&sc);
	sieve_msg_free(&m);
	str_deinit(&errs);
	str_deinit(&log);
	return discarded;
}

static void
test_period_defaults_and_cap(void **state)
{
	struct sieve_limits lim;
	struct clock c = { .now = 1000000 };

	(void)state;
	sieve_limits_default(&lim);
	/* Pigeonhole's defaults: 14 days by default, but at most 7 */
	assert_int_equal(deliver("require \"duplicate\";\nif duplicate { discard; }\n", &lim, &c),
	    0);
	assert_int_equal(c.last_seconds, 7 * 86400);
	c.expiry = 0;
	lim.duplicate_default_period = 3600;
	assert_int_equal(deliver("require \"duplicate\";\nif duplicate { discard; }\n", &lim, &c),
	    0);
	assert_int_equal(c.last_seconds, 3600);
	/* :seconds is capped by the maximum too */
	c.expiry = 0;
	lim.duplicate_max_period = 600;
	assert_int_equal(deliver("require \"duplicate\";\n"
	    "if duplicate :seconds 86400 { discard; }\n", &lim, &c), 0);
	assert_int_equal(c.last_seconds, 600);
	/* a maximum of 0 caps nothing */
	c.expiry = 0;
	lim.duplicate_max_period = 0;
	assert_int_equal(deliver("require \"duplicate\";\n"
	    "if duplicate :seconds 86400 { discard; }\n", &lim, &c), 0);
	assert_int_equal(c.last_seconds, 86400);
}

static void
test_last_restarts_the_period(void **state)
{
	static const char plain[] = "require \"duplicate\";\n"
		"if duplicate :seconds 100 { discard; }\n";
	static const char last[] = "require \"duplicate\";\n"
		"if duplicate :seconds 100 :last { discard; }\n";
	struct sieve_limits lim;
	struct clock c = { .now = 5000 };

	(void)state;
	sieve_limits_default(&lim);
	/* without :last: seen at 5000, a duplicate at 5080 does not move the
	 * expiry (5100), so at 5150 the ID is new again */
	assert_int_equal(deliver(plain, &lim, &c), 0);
	assert_int_equal(c.expiry, 5100);
	c.now = 5080;
	assert_int_equal(deliver(plain, &lim, &c), 1);
	assert_int_equal(c.marks, 1);
	assert_int_equal(c.expiry, 5100);
	c.now = 5150;
	assert_int_equal(deliver(plain, &lim, &c), 0);
	assert_int_equal(c.expiry, 5250);

	/* with :last: the duplicate at 5230 restarts the period (5330), so
	 * at 5300 it is still a duplicate */
	c.now = 5230;
	c.marks = 0;
	assert_int_equal(deliver(last, &lim, &c), 1);
	assert_int_equal(c.marks, 1);
	assert_int_equal(c.expiry, 5330);
	c.now = 5300;
	assert_int_equal(deliver(last, &lim, &c), 1);
	assert_int_equal(c.expiry, 5400);
	c.now = 5400;
	assert_int_equal(deliver(last, &lim, &c), 0);
}

static void
test_track_record_replaces_and_expires(void **state)
{
	char dir[] = "/tmp/yubin-track-XXXXXX", *path;
	struct str big;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = malloc(strlen(dir) + 8);
	sprintf(path, "%s/track", dir);
	assert_int_equal(sieve_track_seen(path, 'D', "id1", 3, 1000), 0);
	assert_int_equal(sieve_track_add(path, 'D', "id1", 3, 1000, 100), 0);
	assert_int_equal(sieve_track_seen(path, 'D', "id1", 3, 1099), 1);
	assert_int_equal(sieve_track_seen(path, 'V', "id1", 3, 1099), 0);
	assert_int_equal(sieve_track_seen(path, 'D', "id1", 3, 1100), 0);
	/* a second add replaces the first: one line, the later expiry */
	assert_int_equal(sieve_track_add(path, 'D', "id1", 3, 1090, 100), 0);
	assert_int_equal(sieve_track_seen(path, 'D', "id1", 3, 1150), 1);
	str_init(&big, 256);
	assert_int_equal(file_read(path, 1 << 20, &big), 0);
	assert_int_equal(strspn(big.s, "0123456789"), 4);
	assert_non_null(strchr(big.s, '\n'));
	assert_string_equal(strchr(big.s, '\n') + 1, "");
	/* a full record drops its oldest entries, never the new one */
	f = fopen(path, "w");
	assert_non_null(f);
	for (unsigned i = 0; i < SIEVE_TRACK_MAX; i++)
		fprintf(f, "%u D %064x\n", 100000 + i, i);
	fclose(f);
	assert_int_equal(sieve_track_add(path, 'D', "new", 3, 1000, 100), 0);
	assert_int_equal(sieve_track_seen(path, 'D', "new", 3, 1050), 1);
	str_reset(&big);
	assert_int_equal(file_read(path, 1 << 22, &big), 0);
	/* SIEVE_TRACK_MAX lines: the oldest one made room for the new one */
	assert_null(strstr(big.s, "100000 D "));
	assert_non_null(strstr(big.s, "100001 D "));
	assert_non_null(strstr(big.s, "109999 D "));
	str_deinit(&big);
	unlink(path);
	rmdir(dir);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_defaults_and_cap),
		cmocka_unit_test(test_last_restarts_the_period),
		cmocka_unit_test(test_track_record_replaces_and_expires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
