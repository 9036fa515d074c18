/* test_qfile.c - the queue file writer, reader and directories: round trip,
 * commit visibility, abort, done marking, corrupt files, queue IDs, spare
 * files (qspare.h). */
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
#include "queue/qspare.h"

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

/* write_big - a committed message whose content is n bytes of 'x' */
static void
write_big(const char *dir, size_t n, char *id)
{
	struct qfile_writer *w;
	const char *err;
	char *body = xmalloc(n);

	memset(body, 'x', n);
	assert_int_equal(qfile_writer_open(dir, false, &w, &err), 0);
	assert_int_equal(qfile_writer_sender(w, "big@example.org"), 0);
	assert_int_equal(qfile_writer_rcpt(w, "bob@example.net", NULL, 0), 0);
	assert_int_equal(qfile_writer_content(w, body, n, 0), 0);
	snprintf(id, QFILE_ID_SIZE, "%s", qfile_writer_id(w));
	assert_int_equal(qfile_writer_commit(w, &err), 0);
	qfile_writer_free(&w);
	free(body);
}

/* spare_put - qspare_put of queue_dir/queue/id, through an open fd */
static int
spare_put(const char *dir, const char *queue, const char *id)
{
	char *path = qdir_path(dir, queue, id);
	int fd = open(path, O_RDONLY), ret;

	assert_true(fd >= 0);
	ret = qspare_put(dir, queue, id, fd);
	close(fd);
	free(path);
	return ret;
}

static void
test_spare_file_is_reused_with_its_old_tail_cut_off(void **state)
{
	struct fixture *f = *state;
	char big[QFILE_ID_SIZE], id[QFILE_ID_SIZE], id2[QFILE_ID_SIZE], *path, *path2;
	struct stat st_big, st, st2;
	struct qmsg *m;
	struct str content;
	const char *err;

	write_big(f->dir, 20000, big);
	path = qdir_path(f->dir, "incoming", big);
	assert_int_equal(stat(path, &st_big), 0);
	free(path);
	assert_int_equal(spare_put(f->dir, "incoming", big), 0);
	assert_int_equal(count_entries(f->dir, "incoming"), 0);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 1);
	/* not before the removal from incoming/ is fsync'd (qspare_publish):
	 * a crash could bring that name back on the next message's bytes */
	write_message(f->dir, false, id);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_not_equal(st.st_ino, st_big.st_ino);
	assert_int_equal(unlink(path), 0);
	free(path);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 1);
	assert_int_equal(qspare_publish(f->dir), 0);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 1);
	/* the next message takes the spare: same inode, a new ID, and only
	 * its own bytes (the same size as a new file with the same records) */
	write_message(f->dir, false, id);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 0);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_ino, st_big.st_ino);
	assert_string_not_equal(id, big);
	write_message(f->dir, false, id2);
	path2 = qdir_path(f->dir, "incoming", id2);
	assert_int_equal(stat(path2, &st2), 0);
	assert_int_not_equal(st2.st_ino, st_big.st_ino);
	assert_int_equal(st.st_size, st2.st_size);
	assert_int_equal(qmsg_open(path, false, &m, &err), 0);
	assert_string_equal(m->id, id);
	assert_string_equal(m->sender, "alice@example.org");
	assert_int_equal(m->nrcpts, 2);
	str_init(&content, 64);
	qmsg_content(m, &content);
	assert_string_equal(content.s, "Subject: hi\n\nbody\n");
	str_deinit(&content);
	qmsg_free(&m);
	free(path);
	free(path2);
}

static void
test_spare_with_another_name_is_never_reused(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE], keep[256], *spare, *path;
	struct stat st_keep, st;
	int fd;

	/* a file that a crash left under two names (or a hard link someone
	 * made): taking it would overwrite the other name's message */
	snprintf(keep, sizeof(keep), "%s/deferred/ABCDE12345", f->dir);
	fd = open(keep, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep me", 7), 7);
	close(fd);
	spare = qdir_path(f->dir, QSPARE_DIR, "ABCDE12345");
	assert_int_equal(link(keep, spare), 0);
	/* nor will the queue manager keep a file with two names */
	assert_int_equal(spare_put(f->dir, "deferred", "ABCDE12345"), -1);
	write_message(f->dir, false, id);
	assert_int_equal(stat(keep, &st_keep), 0);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_not_equal(st.st_ino, st_keep.st_ino);
	assert_int_equal(st_keep.st_size, 7);
	assert_int_equal(st_keep.st_nlink, 1);	/* the spare name was dropped */
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 0);
	free(spare);
	free(path);
}

static void
test_strangers_in_spare_are_left_alone(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE], *d, *l, *path;
	struct stat st;

	/* a directory and a symlink with queue-ID names: never claimed */
	d = qdir_path(f->dir, QSPARE_DIR, "ABCDE12345");
	l = qdir_path(f->dir, QSPARE_DIR, "ABCDE12346");
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(symlink("/etc/passwd", l), 0);
	write_message(f->dir, false, id);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lstat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(lstat(l, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(count_entries(f->dir, "incoming"), 1);
	free(d);
	free(l);
	free(path);
}

static void
test_spare_needs_every_old_queue_synced(void **state)
{
	struct fixture *f = *state;
	char big[QFILE_ID_SIZE], id[QFILE_ID_SIZE], *path;
	struct stat st_big, st;

	/* the queue manager moves a message through incoming/, active/ and
	 * deferred/ without directory fsyncs: publish fsyncs them all, and
	 * one it cannot fsync (here: gone) means no reuse at all */
	write_big(f->dir, 100, big);
	path = qdir_path(f->dir, "incoming", big);
	assert_int_equal(stat(path, &st_big), 0);
	free(path);
	assert_int_equal(qdir_move(f->dir, big, "incoming", "active"), 0);
	path = xasprintf("%s/deferred", f->dir);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(spare_put(f->dir, "active", big), 0);
	assert_int_equal(qspare_publish(f->dir), -1);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 0);
	write_message(f->dir, false, id);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(stat(path, &st), 0);
	free(path);
	assert_int_equal(count_entries(f->dir, "active"), 0);
}

static void
test_publish_tracks_queues_moved_from_unsynced(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE];

	/* publish fsyncs an old queue only while this process may have left
	 * a name in it unsynced: deferred/ not at all while nothing is
	 * retried from it */
	write_message(f->dir, false, id);
	assert_int_equal(qdir_move_unsynced(f->dir, id, "incoming", "active"), 0);
	assert_true(qdir_unsynced("incoming"));
	assert_int_equal(spare_put(f->dir, "active", id), 0);
	assert_int_equal(qspare_publish(f->dir), 0);
	assert_false(qdir_unsynced("incoming"));
	assert_false(qdir_unsynced("deferred"));
	assert_false(qdir_unsynced("active"));

	/* both ends count: without a journal the new name may be lost
	 * while the removal of the old one reaches the disk */
	write_message(f->dir, false, id);
	assert_int_equal(qdir_move_unsynced(f->dir, id, "incoming", "active"), 0);
	assert_true(qdir_unsynced("incoming"));
	assert_true(qdir_unsynced("active"));
	assert_false(qdir_unsynced("deferred"));
	assert_int_equal(qdir_move_unsynced(f->dir, id, "active", "deferred"), 0);
	assert_true(qdir_unsynced("deferred"));
	assert_int_equal(qdir_move_unsynced(f->dir, id, "deferred", "active"), 0);
	/* a move that fails counts too: it costs an fsync at most */
	qdir_synced("hold");
	assert_false(qdir_unsynced("hold"));
	assert_int_equal(qdir_move_unsynced(f->dir, id, "hold", "active"), -1);
	assert_true(qdir_unsynced("hold"));
	assert_true(qdir_unsynced("no such queue"));
	assert_int_equal(spare_put(f->dir, "active", id), 0);
	assert_int_equal(qspare_publish(f->dir), 0);
	assert_false(qdir_unsynced("incoming"));
	assert_false(qdir_unsynced("deferred"));
	assert_true(qdir_unsynced("hold"));
	qdir_synced("hold");
	assert_false(qdir_unsynced("hold"));
}

static void
test_spare_open_elsewhere_is_never_reused(void **state)
{
	struct fixture *f = *state;
	char big[QFILE_ID_SIZE], id[QFILE_ID_SIZE], buf[16], *path;
	struct stat st_big, st;
	int rfd;

	/* a reader (mailq, postcat, an agent) opened the message before it
	 * was kept: it must never see another message's bytes through it */
	write_big(f->dir, 100, big);
	path = qdir_path(f->dir, "incoming", big);
	assert_int_equal(stat(path, &st_big), 0);
	rfd = open(path, O_RDONLY);
	assert_true(rfd >= 0);
	free(path);
	assert_int_equal(spare_put(f->dir, "incoming", big), 0);
	assert_int_equal(qspare_publish(f->dir), 0);
	write_message(f->dir, false, id);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_not_equal(st.st_ino, st_big.st_ino);
	free(path);
	/* the file was dropped from spare/, its reader still sees its own */
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 0);
	assert_int_equal(pread(rfd, buf, 1, 0), 1);
	assert_int_equal(fstat(rfd, &st), 0);
	assert_int_equal(st.st_size, st_big.st_size);
	close(rfd);
}

static void
test_strangers_in_spare_are_never_taken(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE], *p1, *p2, *p3, *path;
	struct stat st;
	int fd;

	/* a directory, a symlink and a file others may read, under names
	 * that look like spares: the writer neither breaks on them nor
	 * writes a message into them */
	p1 = qdir_path(f->dir, QSPARE_DIR, "ABCDE12345");
	assert_int_equal(mkdir(p1, 0700), 0);
	p2 = qdir_path(f->dir, QSPARE_DIR, "ABCDE12346");
	assert_int_equal(symlink("/etc/passwd", p2), 0);
	p3 = qdir_path(f->dir, QSPARE_DIR, "ABCDE12347");
	fd = open(p3, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	write_message(f->dir, false, id);
	assert_int_equal(count_entries(f->dir, "incoming"), 1);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(stat(path, &st), 0);
	/* (a new file may get the freed inode's number: the mode tells) */
	assert_int_equal(st.st_mode & 0777, 0600);
	free(path);
	assert_int_equal(access(p1, F_OK), 0);
	assert_int_equal(rmdir(p1), 0);
	free(p1);
	free(p2);
	free(p3);
}

static void
test_spare_put_keeps_only_small_files(void **state)
{
	struct fixture *f = *state;
	char big[QFILE_ID_SIZE], *path;

	write_big(f->dir, QSPARE_MAX_SIZE + 1, big);
	assert_int_equal(spare_put(f->dir, "incoming", big), -1);
	path = qdir_path(f->dir, "incoming", big);
	assert_int_equal(access(path, F_OK), 0);
	free(path);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 0);
	/* an invalid ID is never a name in spare/ */
	assert_int_equal(qspare_put(f->dir, "incoming", "../x", 0), -1);
}

static void
test_spares_are_bounded(void **state)
{
	struct fixture *f = *state;
	char name[32], *path;
	size_t i;
	int fd;

	for (i = 0; i <= QSPARE_MAX; i++) {
		snprintf(name, sizeof(name), "%010zX", i + 0x100000);
		path = qdir_path(f->dir, "active", name);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(qspare_put(f->dir, "active", name, fd), i < QSPARE_MAX ? 0 : -1);
		close(fd);
		free(path);
	}
	assert_int_equal(qspare_publish(f->dir), 0);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), QSPARE_MAX);
	assert_int_equal(count_entries(f->dir, "active"), 1);
	/* receivers take spares without telling: once one is taken, a file
	 * is kept again (the count is made again, at most once a second while
	 * spare/ is full) */
	write_message(f->dir, false, name);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), QSPARE_MAX - 1);
	sleep(1);
	snprintf(name, sizeof(name), "%010zX", (size_t)QSPARE_MAX + 0x100000);
	assert_int_equal(spare_put(f->dir, "active", name), 0);
	assert_int_equal(qspare_publish(f->dir), 0);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), QSPARE_MAX);
	assert_int_equal(count_entries(f->dir, "active"), 0);
}

static void
test_hidden_spares_are_cleaned_not_claimed(void **state)
{
	struct fixture *f = *state;
	char id[QFILE_ID_SIZE], big[QFILE_ID_SIZE], *path;
	struct stat st_big, st;

	/* the queue manager died between the move and the publish: the
	 * spare stays hidden, and the next start removes it */
	write_big(f->dir, 100, big);
	path = qdir_path(f->dir, "incoming", big);
	assert_int_equal(stat(path, &st_big), 0);
	free(path);
	assert_int_equal(spare_put(f->dir, "incoming", big), 0);
	write_message(f->dir, false, id);
	path = qdir_path(f->dir, "incoming", id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_not_equal(st.st_ino, st_big.st_ino);
	free(path);
	qspare_clean(f->dir);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 0);
	/* and a publish after that has nothing left to rename */
	assert_int_equal(qspare_publish(f->dir), 0);
	assert_int_equal(count_entries(f->dir, QSPARE_DIR), 0);
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
		cmocka_unit_test_setup_teardown(test_spare_file_is_reused_with_its_old_tail_cut_off,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spare_with_another_name_is_never_reused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_strangers_in_spare_are_left_alone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hidden_spares_are_cleaned_not_claimed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spare_needs_every_old_queue_synced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_publish_tracks_queues_moved_from_unsynced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spare_open_elsewhere_is_never_reused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_strangers_in_spare_are_never_taken, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spare_put_keeps_only_small_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spares_are_bounded, setup, teardown),
	};

	log_open("test_qfile", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
