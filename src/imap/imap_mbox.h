/* imap_mbox.h - one Maildir as IMAP sees it: UIDs and UIDVALIDITY from
 * dovecot-uidlist (through src/storage's reader, so POP3, Dovecot and
 * yubin agree), flags in the ":2," part of the file names (D F R S T, and
 * a-z for the keywords named in dovecot-keywords), INTERNALDATE as the
 * file's mtime, sizes from ",W=" or the file. Folders are Maildir++
 * ("ROOT/.Name", separator "."). Everything runs as the mailbox owner. */
#ifndef YUBIN_IMAP_MBOX_H
#define YUBIN_IMAP_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/str.h"
#include "storage/storage_keywords.h"

struct strvec;

#define IMAP_MAX_KEYWORDS	STORAGE_KEYWORDS_MAX	/* storage/storage_keywords.h */

struct imap_msg {
	uint32_t	 uid;
	char		*name;		/* file name in cur/ (owned) */
	unsigned	 flags;		/* IMAP_FLAG_* */
	uint32_t	 kw;		/* bit i: keyword i of dovecot-keywords */
	size_t		 vsize;
	time_t		 date;
	uint64_t	 modseq;	/* CONDSTORE (imap_index.c) */
	uint64_t	 cache_off;	/* ENVELOPE/BODYSTRUCTURE in the cache file, 0 = none */
	uint32_t	 cache_len;
	bool		 name_borrowed;	/* name points into the snapshot's mapped index */
	uint16_t	 hdr_len;	/* header-fields record in the cache file (imap_index.h) */
	uint64_t	 hdr_off;	/* 0 = none */
};

struct imap_mbox_snap {
	struct imap_msg	*m;		/* owned, by UID */
	size_t		 n;
	uint32_t	 uidvalidity, uidnext;
	unsigned	 new_count;	/* messages taken from new/ by this scan */
	uint64_t	 highestmodseq;	/* from the index (imap_index.c) */
	void		*map;		/* the index mapped (owned), or NULL */
	size_t		 map_len;
};

/* imap_mbox_date_fn - a known INTERNALDATE for uid with base name base,
 * or -1: lets a rescan skip the stat(2) of messages it knows */
typedef time_t imap_mbox_date_fn(void *ctx, uint32_t uid, const char *base);

/* imap_mbox_scan - the messages of the Maildir at dir now (new/ moves
 * to cur/; those get IMAP_FLAG_RECENT). 0, or -1 with *error_r. */
int	 imap_mbox_scan(const char *dir, struct imap_mbox_snap *out, const char **error_r);
/* imap_mbox_scan_dir - the same without the index: the directory is read
 * (dates from date_fn when it knows them; may be NULL). imap_mbox_scan
 * goes through the index (imap_index_sync). */
int	 imap_mbox_scan_dir(const char *dir, imap_mbox_date_fn *date_fn, void *ctx,
	    struct imap_mbox_snap *out, const char **error_r);
/* imap_mbox_parse_info - IMAP flags and keyword bits of a file name */
void	 imap_mbox_parse_info(const char *name, unsigned *flags, uint32_t *kw);
void	 imap_mbox_snap_free(struct imap_mbox_snap *);

/* keywords: dovecot-keywords of dir, "N name" lines, added to names
 * (*n_r: one past the highest index; callers start from 0 and NULLs) */
void	 imap_mbox_keywords_read(const char *dir, char **names, size_t *n_r);
/* imap_keyword_check - NULL when name may be a keyword (an IMAP atom
 * without the atom-specials, Dovecot's rule: a "]", space or ")" in one
 * would break the FLAGS lists it is echoed in), else the NO text; new
 * names are also held to Dovecot's 50 characters */
const char *imap_keyword_check(const char *name, bool new_name);
/* imap_mbox_keyword_index - index of name, added (and the file
 * rewritten) when create; -1 if unknown or full */
int	 imap_mbox_keyword_index(const char *dir, char **names, size_t *n, const char *name,
	    bool create);

/* imap_mbox_set_flags - rename cur/NAME so that its info part says
 * flags and kw; m->name is updated. 0, or -1 (gone: expunged elsewhere) */
int	 imap_mbox_set_flags(const char *dir, struct imap_msg *m, unsigned flags, uint32_t kw);

/* imap_mbox_refresh_name - m's file was renamed by someone else (its
 * flags changed): find its current name in cur/ by base name, and take
 * flags and keywords from it. 0, or -1 (gone: expunged) */
int	 imap_mbox_refresh_name(const char *dir, struct imap_msg *m);

/* imap_mbox_save - a new message (CRLF made LF) into dir/cur with flags,
 * kw and the date as mtime; file and directory fsync'd. *base_r (owned)
 * is its base name, to find its UID after the next scan. 0 or -1. */
int	 imap_mbox_save(const char *dir, const char *data, size_t len, unsigned flags, uint32_t kw,
	    time_t date, char **base_r);
/* imap_mbox_copy - a hard link (or copy) of src's message file into dir,
 * on disk when it returns 0; -1 with errno (ENOENT: the source is gone,
 * expunged meanwhile) and nothing left behind */
int	 imap_mbox_copy(const char *src_dir, const struct imap_msg *m, const char *dir,
	    uint32_t kw, char **base_r);
/* imap_mbox_copy_to_mboxf - the messages m[idx[i]] of src_dir (with
 * keyword bits kws[i] of the target) appended to the mbox dir in one
 * append under one lock; bases_r[i] (owned) name them as imap_mbox_copy's
 * do. 0, or -1 with errno (ENOENT: a source is gone) and nothing added */
int	 imap_mbox_copy_to_mboxf(const char *src_dir, const struct imap_msg *m,
	    const size_t *idx, const uint32_t *kws, size_t n, const char *dir, char **bases_r);
/* imap_mbox_remove_bases - unlink the messages of dir whose base names are
 * among bases (NULLs skipped): a COPY that is undone */
void	 imap_mbox_remove_bases(const char *dir, char *const *bases, size_t n);

/* imap_mbox_read - the message's content */
int	 imap_mbox_read(const char *dir, const struct imap_msg *m, struct str *out);

/* imap_mbox_create - ROOT/.name with cur, new, tmp: 0, -1 errno (EEXIST) */
int	 imap_mbox_create(const char *path);
/* imap_mbox_delete - remove the Maildir at path (its files, not its
 * subfolders, which are separate directories under Maildir++) */
int	 imap_mbox_delete(const char *path);

/* imap_mbox_folders - the folder names under root (without the dot) */
void	 imap_mbox_folders(const char *root, struct strvec *out);

#endif
