/* imap_index.h - the per-mailbox index of the IMAP server: a cache of
 * what a Maildir scan finds (UIDs, flags, sizes, dates, file names), the
 * CONDSTORE modseqs, and ENVELOPE/BODY/BODYSTRUCTURE strings, so that
 * SELECT and FETCH over a large mailbox neither read the directory nor
 * open the message files when nothing changed.
 *
 * The Maildir and dovecot-uidlist stay the truth: the index is thrown
 * away and rebuilt from them when it is missing, damaged (checksums) or
 * of another UIDVALIDITY. Files, in the Maildir next to dovecot-uidlist
 * (Dovecot's Maildir code ignores names without a leading "." or
 * "dovecot"):
 *
 *   yubin.index        header + fixed records sorted by UID + base names
 *                      + the expunge history (below);
 *                      rewritten whole through yubin.index.tmp (fsync,
 *                      rename, fsync of the directory); records updated in
 *                      place for STORE modseqs and cache offsets, each
 *                      record with its own checksum.
 *   yubin.index.cache  append-only entries of two kinds, each checked
 *                      (kind, UID, length, checksum) when read:
 *                      ENVELOPE/BODY/BODYSTRUCTURE, and header fields
 *                      (below); compacted when more than half is dead.
 *   yubin.index.lock   flock(2)ed by every writer, so modseqs only grow.
 *
 * The directory is trusted unchanged when the mtimes of cur/ and new/
 * and the stat of dovecot-uidlist equal those recorded, and the recorded
 * mtimes were older than the second in which the scan began (a change in
 * the same second would not move the mtime). Otherwise the directory is
 * read again (dates of known messages are taken from the index, not
 * stat'ed) and merged: messages whose flags changed, by anyone, get a
 * new modseq. Tests: tests/unit/imap/test_imap_index.c,
 * tests/e2e/test_imap_condstore.py; fuzz: fuzz/fuzz_imap_index.c */
#ifndef YUBIN_IMAP_INDEX_H
#define YUBIN_IMAP_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_hdr.h"
#include "imap/imap_mbox.h"
#include "lib/str.h"

#define IMAP_INDEX_FILE		"yubin.index"
#define IMAP_INDEX_CACHE_FILE	"yubin.index.cache"
#define IMAP_INDEX_LOCK_FILE	"yubin.index.lock"

/* how imap_index_sync got its answer (for tests and doveadm) */
enum imap_index_how {
	IMAP_INDEX_FAST,	/* from the index alone: no readdir */
	IMAP_INDEX_RESCAN,	/* directory read, merged with the index */
	IMAP_INDEX_REBUILT,	/* no usable index: built from the directory */
};

/* imap_index_sync - the snapshot of the Maildir dir (see above); the
 * index is written when it changed. 0, or -1 with *error_r. how_r may
 * be NULL. */
int	 imap_index_sync(const char *dir, struct imap_mbox_snap *out, enum imap_index_how *how_r,
	    const char **error_r);

/* imap_index_unchanged - true when snap (taken from dir's index) is
 * still what the index would give: the directory stamps are the trusted
 * ones recorded and no session has given out a modseq since. Costs three
 * stat(2)s and one header read: lets NOOP/IDLE skip a resync. */
bool	 imap_index_unchanged(const char *dir, const struct imap_mbox_snap *snap);

/* imap_index_rebuild - throw the index (and cache) away and build it
 * again from the directory (doveadm force-resync). Modseqs go on from the
 * old index's highest when its header is readable. */
int	 imap_index_rebuild(const char *dir, const char **error_r);

/* imap_index_changed - the session renamed these messages' files (STORE,
 * \Seen by FETCH): give them one new modseq (returned, 0 on failure) and
 * record flags, name and modseq in the index */
uint64_t imap_index_changed(const char *dir, struct imap_mbox_snap *snap, const size_t *idx,
	    size_t n);

/* imap_index_load_check - validate an index image (the fuzz harness's
 * entry): 0 when usable, -1 with *why_r */
int	 imap_index_load_check(const void *data, size_t len, const char **why_r);
/* imap_index_reseal - recompute the checksums of an index image in place
 * (as far as its header says where things are), so that the fuzz harness
 * reaches the checks behind them */
void	 imap_index_reseal(void *data, size_t len);
/* imap_index_snap_from_image - the snapshot an image stands for: 0, or
 * -1 when it is not a valid index */
int	 imap_index_snap_from_image(const void *data, size_t len, struct imap_mbox_snap *out);

/* --- the expunge history (QRESYNC) ---
 * The index remembers which UIDs went away at which modseq, as ranges
 * (after the base names in yubin.index), from history_start on: the
 * modseq at which the index was built. VANISHED (EARLIER) then names only
 * the UIDs expunged after the client's modseq; a client older than the
 * history gets every missing UID, as does one of a mailbox without an
 * index. At most IMAP_INDEX_EXP_MAX ranges: beyond, neighbours are
 * joined under the higher modseq (more UIDs reported, never fewer). */
#define IMAP_INDEX_EXP_MAX	4096

struct imap_index_exp {
	uint32_t	 lo, hi;	/* UIDs lo..hi that are not in the mailbox */
	uint64_t	 modseq;	/* when the last of them went */
};

/* imap_index_history - the expunge history of dir's index if its
 * UIDVALIDITY is uidvalidity: 0 with *start_r (the modseq from which on
 * it is complete) and the ranges (*r_r owned by the caller, ascending),
 * or -1 when there is none to trust */
int	 imap_index_history(const char *dir, uint32_t uidvalidity, uint64_t *start_r,
	    struct imap_index_exp **r_r, size_t *n_r);

/* --- the ENVELOPE / BODY / BODYSTRUCTURE cache --- */

struct imap_cached {
	struct str	 data;		/* "envelope\0body\0bodystructure\0" */
	const char	*envelope, *body, *bodystructure;	/* into data or map */
	struct str	 hdr_data;	/* a header-fields record's data */
	struct imap_hdr_rec hdr;	/* into hdr_data or map, after imap_index_hdr_get */
	int		 fd;		/* the cache file, open across calls */
	void		*map;		/* its first map_len bytes mapped, or NULL (owned) */
	size_t		 map_len;
	bool		 tried;
};

/* imap_cached_init, _deinit - a reader for one command (the cache file
 * is opened at the first get and kept open) */
void	 imap_cached_init(struct imap_cached *);
void	 imap_cached_deinit(struct imap_cached *);
/* imap_index_cache_get - m's cached strings: true when found and intact */
bool	 imap_index_cache_get(const char *dir, const struct imap_msg *m, struct imap_cached *out);
/* imap_index_hdr_get - m's header-fields record into out->hdr: true when
 * found, intact and of m's file */
bool	 imap_index_hdr_get(const char *dir, const struct imap_msg *m, struct imap_cached *out);

/* a batch of new cache entries, written at commit (one lock, one append) */
struct imap_cache_batch {
	struct str	 buf;		/* entries to append */
	uint32_t	*uids;
	uint64_t	*offs;		/* into buf */
	uint32_t	*lens;
	bool		*hdr;		/* a header-fields record (else ENVELOPE...) */
	struct imap_msg **msgs;		/* borrowed: their cache_off/hdr_off is set on commit */
	size_t		 n;
};

void	 imap_cache_batch_init(struct imap_cache_batch *);
void	 imap_cache_batch_add(struct imap_cache_batch *, struct imap_msg *m, const char *envelope,
	    const char *body, const char *bodystructure);
/* imap_cache_batch_add_hdr - a header-fields record (its data, from
 * imap_hdr_record_make) for m */
void	 imap_cache_batch_add_hdr(struct imap_cache_batch *, struct imap_msg *m,
	    const struct str *record);
/* imap_cache_batch_commit - append and record in the index; the batch
 * is emptied (and may be reused) */
void	 imap_cache_batch_commit(struct imap_cache_batch *, const char *dir);
void	 imap_cache_batch_deinit(struct imap_cache_batch *);

#endif
