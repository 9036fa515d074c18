/* imap_condstore.h - CONDSTORE and QRESYNC (RFC 7162) on the index's
 * modseqs: the FETCH and STORE modifiers, SELECT's (CONDSTORE) and
 * (QRESYNC ...) parameters, and VANISHED replies. The session keeps no
 * list of expunged UIDs: VANISHED (EARLIER) names every UID of the
 * client's range below UIDNEXT that is not in the mailbox (RFC 7162
 * 3.2.5.1 lets a server include UIDs expunged before the client's modseq).
 * Tests: tests/e2e/test_imap_condstore.py */
#ifndef YUBIN_IMAP_CONDSTORE_H
#define YUBIN_IMAP_CONDSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_mail-private.h"

/* imap_condstore_parse_modseq - a mod-sequence-value (1..2^63-1) */
bool	 imap_condstore_parse_modseq(const char *s, uint64_t *out);

/* imap_condstore_fetch_mods - FETCH's modifier list "(CHANGEDSINCE n
 * [VANISHED])": false when malformed */
bool	 imap_condstore_fetch_mods(const struct imap_arg *list, uint64_t *changedsince,
	    bool *vanished);

/* imap_condstore_vanished - "* VANISHED (EARLIER) set" for the UIDs of
 * uidset (NULL: 1:*) that are below UIDNEXT and not in the mailbox and,
 * where the index's expunge history reaches back to since (the client's
 * modseq), only those expunged after since */
void	 imap_condstore_vanished(struct imap_sess *, const char *uidset, uint64_t since);

/* imap_condstore_select - SELECT/EXAMINE's parameter list (a[0] the
 * list): (CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids
 * [seq-match]])). Enables what it names; *qresync_r gets the QRESYNC
 * arguments for imap_condstore_select_done. false: malformed ("BAD"). */
struct imap_qresync {
	bool		 set;
	uint32_t	 uidvalidity;
	uint64_t	 modseq;
	char		*known;		/* owned, or NULL */
};
bool	 imap_condstore_select(struct imap_sess *, const struct imap_arg *list,
	    struct imap_qresync *q, const char **error_r);
/* imap_condstore_nomodseq - the selected mailbox keeps no modseqs (an
 * mbox whose offset cache cannot be written; SELECT said NOMODSEQ).
 * RFC 7162 3.1.2.2: FETCH MODSEQ or CHANGEDSINCE, STORE UNCHANGEDSINCE
 * and SEARCH MODSEQ then get BAD, with this text in reply. */
bool	 imap_condstore_nomodseq(const struct imap_sess *, const char *cmd, struct str *reply);
/* imap_condstore_select_done - after the SELECT lines: HIGHESTMODSEQ,
 * and for QRESYNC with the right UIDVALIDITY, VANISHED (EARLIER) and the
 * FETCH of what changed since the client's modseq */
void	 imap_condstore_select_done(struct imap_sess *, struct imap_qresync *q);

/* imap_condstore_enable - ENABLE's argument: true when known (the
 * session's flag is set); QRESYNC implies CONDSTORE */
bool	 imap_condstore_enable(struct imap_sess *, const char *cap);

#endif
