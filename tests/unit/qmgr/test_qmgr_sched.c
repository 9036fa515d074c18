/* test_qmgr_sched.c - the queue manager's concurrency limits: the total,
 * per transport (maxproc) and per destination, and that a finished
 * delivery frees its place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qmgr/qmgr_sched.h"

static void
test_destination_limit_holds_a_third_delivery_to_one_recipient(void **state)
{
	struct qmgr_sched s;

	qmgr_sched_init(&s, 0);
	assert_true(qmgr_sched_may_start(&s, "local", "bob@example.org", 100, 2));
	qmgr_sched_start(&s, "local", "bob@example.org");
	assert_true(qmgr_sched_may_start(&s, "local", "bob@example.org", 100, 2));
	qmgr_sched_start(&s, "local", "bob@example.org");
	/* the third waits; another recipient does not */
	assert_false(qmgr_sched_may_start(&s, "local", "BOB@example.org", 100, 2));
	assert_true(qmgr_sched_may_start(&s, "local", "alice@example.org", 100, 2));
	/* the same destination name on another transport is another count */
	assert_true(qmgr_sched_may_start(&s, "virtual", "bob@example.org", 100, 2));
	assert_int_equal(qmgr_sched_count(&s, "local", "bob@example.org"), 2);
	assert_true(qmgr_sched_done(&s, "local", "bob@example.org"));
	assert_true(qmgr_sched_may_start(&s, "local", "bob@example.org", 100, 2));
	qmgr_sched_deinit(&s);
}

static void
test_transport_limit_counts_all_destinations(void **state)
{
	struct qmgr_sched s;

	qmgr_sched_init(&s, 0);
	qmgr_sched_start(&s, "smtp", "a.example");
	qmgr_sched_start(&s, "smtp", "b.example");
	qmgr_sched_start(&s, "smtp", "c.example");
	assert_false(qmgr_sched_may_start(&s, "smtp", "d.example", 3, 20));
	assert_true(qmgr_sched_may_start(&s, "smtp", "d.example", 4, 20));
	assert_true(qmgr_sched_may_start(&s, "local", "u@x", 3, 2));
	assert_int_equal(qmgr_sched_count(&s, "smtp", NULL), 3);
	qmgr_sched_deinit(&s);
}

static void
test_total_limit_and_zero_means_no_limit(void **state)
{
	struct qmgr_sched s;
	int i;

	qmgr_sched_init(&s, 4);
	for (i = 0; i < 4; i++) {
		assert_true(qmgr_sched_may_start(&s, "local", "same@x", 0, 0));
		qmgr_sched_start(&s, "local", "same@x");
	}
	assert_false(qmgr_sched_may_start(&s, "virtual", "other@x", 0, 0));
	qmgr_sched_deinit(&s);
}

static void
test_done_without_start_is_reported(void **state)
{
	struct qmgr_sched s;

	qmgr_sched_init(&s, 0);
	qmgr_sched_start(&s, "local", "a@x");
	assert_false(qmgr_sched_done(&s, "local", "b@x"));
	assert_false(qmgr_sched_done(&s, "smtp", "a@x"));
	assert_true(qmgr_sched_done(&s, "local", "a@x"));
	assert_false(qmgr_sched_done(&s, "local", "a@x"));
	assert_int_equal(s.n, 0);
	qmgr_sched_deinit(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destination_limit_holds_a_third_delivery_to_one_recipient),
		cmocka_unit_test(test_transport_limit_counts_all_destinations),
		cmocka_unit_test(test_total_limit_and_zero_means_no_limit),
		cmocka_unit_test(test_done_without_start_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
