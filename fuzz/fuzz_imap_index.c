/* fuzz_imap_index.c - a hostile yubin.index: the image is checked as it
 * comes (checksums must refuse it unless intact), then with its checksums
 * recomputed so that the structural checks behind them are reached; an
 * image that passes becomes a snapshot whose file names must stay inside
 * the Maildir's cur/. The resealed image is then put into a real Maildir
 * and synced (the rescan merges the directory with it), with the input
 * as its yubin.index.cache too, whose entries of both kinds (ENVELOPE
 * and header fields) the snapshot's records then point into; the
 * expunge history the sync carries over must stay well-formed. */
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_index.h"
#include "lib/mem.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
cleanup(void)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char *p;
	size_t i;

	snprintf(dir, sizeof(dir), "/tmp/fuzz-imap-index-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	for (i = 0; i < 3; i++) {
		p = path_join(dir, subs[i]);
		(void)mkdir(p, 0700);
		free(p);
	}
	p = xasprintf("%s/cur/1.M1P1.h:2,S", dir);
	(void)file_write_atomic(p, "Subject: a\n\nx\n", 14, 0600);
	free(p);
	p = xasprintf("%s/cur/2.M1P1.h:2,", dir);
	(void)file_write_atomic(p, "Subject: b\n\ny\n", 14, 0600);
	free(p);
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_mbox_snap snap;
	enum imap_index_how how;
	const char *why, *err;
	unsigned char *copy;
	char *path;
	size_t i;

	if (dir[0] == '\0')
		setup();
	(void)imap_index_load_check(data, size, &why);
	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	imap_index_reseal(copy, size);
	if (imap_index_snap_from_image(copy, size, &snap) == 0) {
		for (i = 0; i < snap.n; i++)
			if (strchr(snap.m[i].name, '/') != NULL || strcmp(snap.m[i].name, "..") == 0)
				__builtin_trap();
		imap_mbox_snap_free(&snap);
	}
	/* the input is the cache file too: the entries the records point
	 * at (both kinds) are read from hostile bytes */
	path = path_join(dir, IMAP_INDEX_CACHE_FILE);
	(void)file_write_atomic(path, (const char *)data, size, 0600);
	free(path);
	path = path_join(dir, IMAP_INDEX_FILE);
	if (file_write_atomic(path, (const char *)copy, size, 0600) == 0 &&
	    imap_index_sync(dir, &snap, &how, &err) == 0) {
		struct imap_cached c;

		/* the directory is the truth unless the (fuzzed) stamps
		 * matched it exactly to the nanosecond */
		if (snap.n != 2 && how != IMAP_INDEX_FAST)
			__builtin_trap();
		imap_cached_init(&c);
		for (i = 0; i < snap.n; i++) {
			if (imap_index_hdr_get(dir, &snap.m[i], &c) &&
			    (c.hdr.fields == NULL || c.hdr.fields_len < 2))
				__builtin_trap();
			(void)imap_index_cache_get(dir, &snap.m[i], &c);
		}
		imap_cached_deinit(&c);
		/* the expunge history carried over: ascending, apart, below
		 * UIDNEXT */
		{
			struct imap_index_exp *r;
			uint64_t start;
			size_t n, k;

			if (imap_index_history(dir, snap.uidvalidity, &start, &r, &n) == 0) {
				for (k = 0; k < n; k++)
					if (r[k].lo == 0 || r[k].lo > r[k].hi || r[k].hi >= snap.uidnext ||
					    (k > 0 && r[k - 1].hi >= r[k].lo))
						__builtin_trap();
				free(r);
			}
		}
		imap_mbox_snap_free(&snap);
	}
	free(path);
	free(copy);
	return 0;
}
