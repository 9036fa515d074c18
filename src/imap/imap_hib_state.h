/* imap_hib_state.h - the state record an IDLE session hands to the
 * hibernate process with its client socket (imap_hibernate.c), and that
 * the restored session process reads back: who the client is, what it
 * has selected and which of its messages it has been told about, so the
 * restored session keeps the client's UID -> sequence view and reports
 * what changed as EXPUNGE/EXISTS/FETCH.
 *
 * The record is text, one "KEY TAB VALUE" line each, first line
 * "YUBIN-HIB 1". The user it names is never trusted for rights: the
 * restore looks the user up again in the userdb (login_split_restore).
 * Only what the session itself knew travels; home, uid/gid and the mail
 * location come from the userdb again. Fuzzed: fuzz/fuzz_imap_hib_state.c;
 * tests: tests/unit/imap/test_imap_hib_state.c */
#ifndef YUBIN_IMAP_HIB_STATE_H
#define YUBIN_IMAP_HIB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct str;

/* the largest record: one SOCK_SEQPACKET message (a session whose UID
 * list does not fit, in ranges, stays awake) */
#define IMAP_HIB_STATE_MAX	65536

struct imap_hib_range {
	uint32_t lo, hi;		/* lo <= hi */
};

struct imap_hib_state {
	char	 user[256];
	char	 session[32];		/* Dovecot's session=<...> id */
	char	 rip[64], lip[64];
	char	 tag[128];		/* the IDLE command's tag */
	char	 mailbox[1024];		/* the selected mailbox, internal name */
	uint32_t uidvalidity;
	uint64_t modseq;		/* HIGHESTMODSEQ of what was reported */
	struct imap_hib_range *uids;	/* owned; sorted, disjoint, not adjacent */
	size_t	 nuids;			/* ranges */
	size_t	 count;			/* messages in the ranges */
	bool	 readonly, condstore, qresync, rev2, utf8;
	unsigned long long in, out;	/* bytes so far, for the logout line */
};

/* imap_hib_state_uids_set - the ranges of a sorted UID array */
void	 imap_hib_state_uids_set(struct imap_hib_state *, const uint32_t *uids, size_t n);
/* imap_hib_state_format - the record into out (appended); -1 when a
 * value cannot travel (a tab, newline or control character) */
int	 imap_hib_state_format(const struct imap_hib_state *, struct str *out);
/* imap_hib_state_parse - the record in data (len bytes, need not be NUL
 * terminated); 0, or -1 with *error_r (a literal) when anything is
 * missing, unknown, repeated, too long or out of order. st is reset
 * first; deinit it either way. */
int	 imap_hib_state_parse(struct imap_hib_state *, const char *data, size_t len,
	    const char **error_r);
void	 imap_hib_state_deinit(struct imap_hib_state *);

#endif
