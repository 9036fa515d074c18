/* mbox_index.h - the offset cache of an mbox: what a full read of the
 * file gave (UIDVALIDITY, UIDNEXT, the keyword names, and per message
 * its UID, flags, keyword bits, size, date and place in the file), keyed
 * by the file's device, inode, size, mtime and ctime (nanoseconds), so
 * that a SELECT or FETCH of an unchanged mbox does not read the whole
 * file again. It is a cache: missing, stale or damaged (checksum, sizes,
 * order) means a full read, which writes it anew (new file, fsync,
 * rename). It also holds what the mbox cannot: CONDSTORE's modseqs (RFC
 * 7162), per UID and the mailbox's highest, as Dovecot keeps them in its
 * index files; a rebuild carries them over from the previous cache by UID
 * (imap_mbox_mbox.c). It lives where Dovecot keeps its mbox indexes:
 * DIR/.imap/NAME/yubin.mbox.index for the mbox DIR/NAME.
 * Tests: tests/unit/imap/test_imap_mboxf_cache.c, fuzz/fuzz_mbox_index.c */
#ifndef YUBIN_STORAGE_MBOX_INDEX_H
#define YUBIN_STORAGE_MBOX_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct str;

struct mbox_index_key {
	uint64_t dev, ino, size;
	int64_t	 mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct mbox_index_rec {
	uint32_t uid;
	uint32_t flags;		/* the reader's own flag bits */
	uint32_t kw;		/* bit i: keyword name i */
	uint32_t pad;
	uint64_t vsize;
	int64_t	 date;
	uint64_t from, end;	/* the From_ line; the next one or the end */
	uint64_t modseq;	/* CONDSTORE; 0: none (never written so) */
};

#define MBOX_INDEX_MAX_KEYWORDS	64

struct mbox_index {
	struct mbox_index_key key;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;		/* >= every record's modseq */
	struct mbox_index_rec *r;	/* owned, sorted by UID */
	size_t	 n;
	char	*kw[MBOX_INDEX_MAX_KEYWORDS];	/* owned */
	size_t	 nkw;
};

void	 mbox_index_key_of(const struct stat *, struct mbox_index_key *);
/* mbox_index_path - DIR/.imap/NAME/yubin.mbox.index (owned) */
char	*mbox_index_path(const char *mbox_path);
/* mbox_index_parse - an index file's bytes; 0, or -1 when damaged */
int	 mbox_index_parse(const char *buf, size_t len, struct mbox_index *out);
void	 mbox_index_format(const struct mbox_index *, struct str *out);
/* mbox_index_load - the index at path when it is whole and its key is
 * key (NULL: any key, the previous cache a rebuild takes modseqs from):
 * 0; else -1 (missing, damaged or stale) */
int	 mbox_index_load(const char *path, const struct mbox_index_key *key,
	    struct mbox_index *out);
/* mbox_index_write - written whole (directories made, new file, fsync,
 * rename); 0 or -1 (then there is just no cache) */
int	 mbox_index_write(const char *path, const struct mbox_index *);
void	 mbox_index_free(struct mbox_index *);

#endif
