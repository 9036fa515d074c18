/* imap_hdr_cache.h - header fields of the messages one command looks at
 * (SEARCH's header keys, FETCH BODY[HEADER.FIELDS (...)]), answered from
 * the index's header-fields records (imap_hdr.h) when they cover the
 * names asked, and records written for the messages whose text had to
 * be read: the default names, those of the old record, and the names
 * asked that it lacked (a client's own HEADER.FIELDS list is cached
 * after its first use, within IMAP_HDR_MAX_NAMES). Tests:
 * tests/unit/imap/test_imap_hdr.c, tests/e2e/test_imap_hdrcache.py */
#ifndef YUBIN_IMAP_HDR_CACHE_H
#define YUBIN_IMAP_HDR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_index.h"
#include "lib/str.h"
#include "lib/util.h"

struct imap_hdrc {
	const char	*dir;		/* borrowed: the Maildir */
	struct imap_cached cached;	/* the record of cur_uid */
	struct imap_cache_batch batch;	/* new records, written at deinit */
	uint32_t	 cur_uid;	/* 0: none looked up yet */
	bool		 cur_valid;	/* cached.hdr holds cur_uid's intact record */
	struct strvec	 missed;	/* names asked for cur_uid that it lacks */
	struct str	 rec;		/* scratch for a new record */
	struct strvec	 defaults;	/* imap_hdr_default_names, normalized once */
};

void	 imap_hdrc_init(struct imap_hdrc *, const char *dir);
/* imap_hdrc_deinit - writes the batched records */
void	 imap_hdrc_deinit(struct imap_hdrc *);
/* imap_hdrc_fields - m's fields called names (n of them) as
 * mime_header_fields gives them from the message, into out (reset): 0
 * when the cache had them all, -1 when only the text can tell */
int	 imap_hdrc_fields(struct imap_hdrc *, const struct imap_msg *m, const char *const *names,
	    size_t n, struct str *out);
/* imap_hdrc_learn - m's text was read: write m a record when it has none
 * intact or lacked names asked (m's hdr_off is set when the batch is
 * written, so m must stay put until deinit) */
void	 imap_hdrc_learn(struct imap_hdrc *, struct imap_msg *m, const char *text, size_t len);

#endif
