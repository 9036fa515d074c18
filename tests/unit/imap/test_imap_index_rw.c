/* test_imap_index_rw.c - the index's in-place update path (the ENVELOPE
 * cache offsets written into yubin.index by imap_cache_batch_commit)
 * trusts a record on its own checksum, not the names area's: a name whose
 * terminating NUL was damaged (the last byte of the file) must not send
 * the name comparison past the end of the mapping. mmap is wrapped here
 * so that the index's mapping ends right at an inaccessible page: the
 * over-read is a crash, not luck. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_index.h"
#include "lib/mem.h"
#include "lib/util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MMAP_WRAP 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NO_MMAP_WRAP 1
#endif

#ifndef NO_MMAP_WRAP
/* mmap - a file mapping is placed just below a PROT_NONE page (the ASan
 * runtime has its own mmap: there the test runs without the guard) */
void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t span = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
	void *r;

	if (addr != NULL || fd < 0)
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	r = (void *)syscall(SYS_mmap, NULL, span + (size_t)page, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return r;
	return (void *)syscall(SYS_mmap, r, len, prot, flags | MAP_FIXED, fd, off);
}
#endif

static char dir[256];

static void
put_cur(const char *name)
{
	char *p = xasprintf("%s/cur/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs("Subject: x\n\nbody\n", f);
	fclose(f);
	free(p);
}

static off_t
index_size(void)
{
	struct imap_mbox_snap s;
	struct stat st;
	const char *err;
	char *p = path_join(dir, IMAP_INDEX_FILE);

	assert_int_equal(imap_index_sync(dir, &s, NULL, &err), 0);
	imap_mbox_snap_free(&s);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_size;
}

/* name - a Maildir name of exactly len characters (with ":2,") */
static char *
name(unsigned i, size_t len)
{
	char *n = xasprintf("17000%05u.M1P1.", i);
	size_t have = strlen(n);
	char *out = xmalloc(len + 1);

	memcpy(out, n, have);
	memset(out + have, 'h', len - have - 3);
	memcpy(out + len - 3, ":2,", 3);
	out[len] = '\0';
	free(n);
	return out;
}

static void
test_unterminated_last_name(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	struct imap_mbox_snap s;
	struct imap_cache_batch b;
	const char *err;
	off_t s0, s1, left;
	size_t rec;
	unsigned i = 0;
	char *p, *n;
	int fd;

	(void)state;
	/* the record size, measured: one message of a known name */
	n = name(i++, 40);
	put_cur(n);
	free(n);
	s0 = index_size();
	n = name(i++, 40);
	put_cur(n);
	free(n);
	s1 = index_size();
	rec = (size_t)(s1 - s0) - 41;
	/* fill until one last name makes the file a whole number of pages */
	for (;;) {
		left = (off_t)page - s1 % (off_t)page;
		if (left >= (off_t)rec + 30 && left <= (off_t)rec + 200)
			break;
		n = name(i++, 200);
		put_cur(n);
		free(n);
		s1 = index_size();
	}
	n = name(i++, (size_t)left - rec - 1);
	put_cur(n);
	free(n);
	assert_int_equal(index_size() % page, 0);
	assert_int_equal(imap_index_sync(dir, &s, NULL, &err), 0);
	/* the last name's NUL (the file's last byte) and its ":" damaged */
	p = path_join(dir, IMAP_INDEX_FILE);
	s1 = index_size();
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "x", 1, s1 - 1), 1);
	assert_int_equal(pwrite(fd, "x", 1, s1 - 4), 1);
	close(fd);
	free(p);
	/* a FETCH ENVELOPE's cache entry for that message: the record is
	 * not trusted (before: strchr() ran off the mapping) */
	imap_cache_batch_init(&b);
	imap_cache_batch_add(&b, &s.m[s.n - 1], "(ENV)", "(BODY)", "(BS)");
	imap_cache_batch_commit(&b, dir);
	imap_cache_batch_deinit(&b);
	imap_mbox_snap_free(&s);
	/* and the next sync rebuilds the damaged index */
	assert_int_equal(imap_index_sync(dir, &s, NULL, &err), 0);
	assert_int_equal(s.n, i);
	imap_mbox_snap_free(&s);
}

static int
setup(void **state)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	size_t i;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/yubin-idxrw-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	for (i = 0; i < 3; i++) {
		char *p = path_join(dir, subs[i]);

		if (mkdir(p, 0700) != 0)
			return -1;
		free(p);
	}
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	(void)!system(cmd);
	free(cmd);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unterminated_last_name, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
