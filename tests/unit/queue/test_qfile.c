/* test_qfile.c - the queue file writer, reader and directories: round trip,
 * commit visibility, abort, done marking, corrupt files, queue IDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "queue/qdir.h"
#include "queue/qfile.h"
#include "queue/qmsg.h"

struct fixture {
	char	 dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	const char *err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_qfile.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(qdir_create(f->dir, (uid_t)-1, (gid_t)-1, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static size_t
count_entries(const char *queue_dir, const char *queue)
{
	struct strvec a, b;
	size_t n;

	strvec_init(&a);
	strvec_init(&b);
	assert_int_equal(qdir_list(queue_dir, queue, &a), 0);
	assert_int_equal(qdir_list_other(queue_dir, queue, &b), 0);
	n = a.n + b.n;
	strvec_deinit(&a);
	strvec_deinit(&b);
	return n;
}

/* write_message - a committed message with two recipients; its ID into id */
static void
write_message(const char *dir, bool long_ids, char *id)
{
	struct qfile_writer *w;
	const char *err;

	assert_int_equal(qfile_writer_open(dir, long_ids, &w, &err), 0);
	assert_int_equal(qfile_writer_sender(w, "alice@example.org"), 0);
	assert_int_equal(qfile_writer_attr(w, "client_name", "client.example"), 0);
	assert_int_equal(qfile_writer_rcpt(w, "bob@example.net", "rfc822;Bob@example.net",
	    QFILE_NOTIFY_FAILURE), 0);
	assert_int_equal(qfile_writer_rcpt(w, "carol@example.net", NULL, 0), 0);
	assert_int_equal(qfile_writer_content(w, "Subject: hi\n\n", 13, 0), 0);
	assert_int_equal(qfile_writer_content(w, "body\n", 5, 0), 0);
	/* an attribute after the content goes to the extracted section */
	assert_int_equal(qfile_writer_attr(w, "message_id", "<1@x>"), 0);
	assert_int_equal(qfile_writer_size(w), 18);
	snprintf(id, QFILE_ID_SIZE, "%s", qfile_writer_id(w));
	assert_true(qfile_id_is_valid(id));
	assert_int_equal(qfile_writer_commit(w, &err), 0);
	qfile_writer_free(&w);
}

static void
test_round_trip_keeps_envelope_and_content(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE], *path;
	struct qmsg *m;
	const char *err;
	struct str content;

	write_message(f->dir, false, id);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(qmsg_open(path, false, &m, &err), 0);
	assert_string_equal(m->id, id);
	assert_string_equal(m->sender, "alice@example.org");
	assert_int_equal(m->nrcpts, 2);
	assert_string_equal(m->rcpts[0].addr, "bob@example.net");
	assert_string_equal(m->rcpts[0].orcpt, "rfc822;Bob@example.net");
	assert_int_equal(m->rcpts[0].notify, QFILE_NOTIFY_FAILURE);
	assert_null(m->rcpts[1].orcpt);
	assert_false(m->rcpts[1].done);
	assert_string_equal(qmsg_attr(m, "client_name"), "client.example");
	assert_string_equal(qmsg_attr(m, "message_id"), "<1@x>");
	assert_null(qmsg_attr(m, "nothing"));
	assert_int_equal(m->size, 18);
	assert_true(m->arrival_sec > 0);
	str_init(&content, 64);
	qmsg_content(m, &content);
	assert_string_equal(content.s, "Subject: hi\n\nbody\n");
	str_deinit(&content);
	qmsg_free(&m);
	assert_null(m);
	free(path);
}

static void
test_message_appears_only_at_commit(void **state)
{
	struct fixture *f = *state;
	struct qfile_writer *w;
	struct strvec ids;
	const char *err;

	assert_int_equal(qfile_writer_open(f->dir, false, &w, &err), 0);
	assert_int_equal(qfile_writer_sender(w, ""), 0);
	assert_int_equal(qfile_writer_rcpt(w, "x@y", NULL, 0), 0);
	assert_int_equal(qfile_writer_content(w, "x\n", 2, 0), 0);
	strvec_init(&ids);
	assert_int_equal(qdir_list(f->dir, "incoming", &ids), 0);
	assert_int_equal(ids.n, 0);	/* only the temporary name exists */
	assert_int_equal(count_entries(f->dir, "incoming"), 1);
	assert_int_equal(qfile_writer_commit(w, &err), 0);
	assert_int_equal(qdir_list(f->dir, "incoming", &ids), 0);
	assert_int_equal(ids.n, 1);
	assert_string_equal(ids.v[0], qfile_writer_id(w));
	assert_int_equal(count_entries(f->dir, "incoming"), 1);
	strvec_deinit(&ids);
	qfile_writer_free(&w);
}

static void
test_abort_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct qfile_writer *w;
	const char *err;

	assert_int_equal(qfile_writer_open(f->dir, true, &w, &err), 0);
	assert_int_equal(qfile_writer_sender(w, "a@b"), 0);
	assert_int_equal(qfile_writer_content(w, "x\n", 2, 0), 0);
	qfile_writer_abort(&w);
	assert_null(w);
	qfile_writer_abort(&w);		/* NULL-safe */
	assert_int_equal(count_entries(f->dir, "incoming"), 0);
}

static void
test_content_over_limit_fails(void **state)
{
	struct fixture *f = *state;
	struct qfile_writer *w;
	const char *err;

	assert_int_equal(qfile_writer_open(f->dir, false, &w, &err), 0);
	assert_int_equal(qfile_writer_content(w, "12345", 5, 8), 0);
	assert_int_equal(qfile_writer_content(w, "12345", 5, 8), -1);
	qfile_writer_abort(&w);
	assert_int_equal(count_entries(f->dir, "incoming"), 0);
}

static void
test_done_marking_survives_reopen(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE], *path;
	struct qmsg *m;
	const char *err;

	write_message(f->dir, true, id);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(qmsg_open(path, true, &m, &err), 0);
	assert_int_equal(qmsg_todo(m), 2);
	assert_int_equal(qmsg_rcpt_done(m, 1, &err), 0);
	assert_int_equal(qmsg_todo(m), 1);
	assert_int_equal(qmsg_rcpt_done(m, 5, &err), -1);
	qmsg_free(&m);
	assert_int_equal(qmsg_open(path, false, &m, &err), 0);
	assert_false(m->rcpts[0].done);
	assert_true(m->rcpts[1].done);
	/* a read-only reader cannot mark */
	assert_int_equal(qmsg_rcpt_done(m, 0, &err), -1);
	qmsg_free(&m);
	free(path);
}

static void
test_reader_rejects_truncated_and_garbage(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE], *path;
	struct qmsg *m = NULL;
	const char *err;
	struct str data;
	size_t cut;

	write_message(f->dir, false, id);
	path = qdir_path(f->dir, "incoming", id);
	str_init(&data, 256);
	assert_int_equal(file_read(path, 1 << 20, &data), 0);
	assert_int_equal(qmsg_parse(data.s, data.len, &m, &err), 0);
	qmsg_free(&m);
	/* every proper prefix is rejected: the end record is missing */
	for (cut = 0; cut < data.len; cut++) {
		assert_int_equal(qmsg_parse(data.s, cut, &m, &err), -1);
		assert_null(m);
		assert_non_null(err);
	}
	/* a length that points past the end */
	data.s[6] = 0x7f;
	assert_int_equal(qmsg_parse(data.s, data.len, &m, &err), -1);
	assert_int_equal(qmsg_parse("garbage\n", 8, &m, &err), -1);
	/* a truncated file on disk */
	assert_int_equal(truncate(path, (off_t)(data.len - 3)), 0);
	assert_int_equal(qmsg_open(path, false, &m, &err), -1);
	assert_int_equal(errno, EINVAL);
	str_deinit(&data);
	free(path);
}

static void
test_queue_ids_are_validated(void **state)
{
	static const struct {
		const char	*id;
		bool		 want;
	} cases[] = {
		{ "3F2A1B2C3D", true },
		{ "0A1B2000C4D5E", true },
		{ "3F2A1B2C3", false },			/* too short */
		{ "3f2a1b2c3d", false },		/* lower case hex */
		{ "../../etc/passwd", false },
		{ "3F2A1B2C3D/..", false },
		{ "", false },
		{ "4Rdd1K3X9Gz2Mh6", true },		/* long form */
		{ "4Rdd1K3X9Gz", false },		/* no inode */
		{ "4Rdd1K3X9Gzz", false },		/* 'z' in the inode */
		{ "4Rdd1K3A9Gz2Mh6", false },		/* a vowel */
		{ "t.123.0.000001", false },		/* a temporary name */
		{ "0123456789ABCDEF0123456789ABCDEF", false },	/* too long */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (qfile_id_is_valid(cases[i].id) != cases[i].want)
			fail_msg("%s: want %d", cases[i].id, cases[i].want);
	assert_false(qfile_id_is_valid(NULL));
}

static void
test_move_and_find(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE];
	struct stat st;
	char *path;

	write_message(f->dir, false, id);
	assert_string_equal(qdir_find(f->dir, id), "incoming");
	assert_int_equal(qdir_move(f->dir, id, "incoming", "hold"), 0);
	assert_string_equal(qdir_find(f->dir, id), "hold");
	assert_int_equal(qdir_move(f->dir, id, "incoming", "hold"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(qdir_move(f->dir, "../x", "hold", "active"), -1);
	assert_null(qdir_find(f->dir, "../hold"));
	assert_int_equal(qdir_remove(f->dir, "hold", id), 0);
	assert_null(qdir_find(f->dir, id));
	path = xasprintf("%s/maildrop", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0730);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_keeps_envelope_and_content, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_message_appears_only_at_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_over_limit_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_marking_survives_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_rejects_truncated_and_garbage, setup,
		    teardown),
		cmocka_unit_test(test_queue_ids_are_validated),
		cmocka_unit_test_setup_teardown(test_move_and_find, setup, teardown),
	};

	log_open("test_qfile", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
