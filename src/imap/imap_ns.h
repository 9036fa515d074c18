/* imap_ns.h - the inbox namespace as clients see it (dovecot.conf's
 * `namespace inbox { separator = /  prefix = INBOX. }`): the hierarchy
 * separator and prefix of mailbox names on the wire, translated at the
 * edges of the session to and from the internal names the commands work
 * on (Maildir++ form, "." between levels, no prefix). Defaults as
 * Dovecot 2.3's: the layout's own separator ("." Maildir++, "/"
 * LAYOUT=fs), prefix "". Tests: tests/e2e/test_imap_ns.py */
#ifndef YUBIN_IMAP_NS_H
#define YUBIN_IMAP_NS_H

#include "lib/str.h"

struct imap_conf;
struct imap_layout;
struct imap_sess;

/* imap_ns_conf_sep, imap_ns_conf_in - the same as imap_ns_sep and
 * imap_ns_in from the namespace settings and the layout alone, for
 * those that name mailboxes outside a session (deliver's Sieve fileinto) */
char	 imap_ns_conf_sep(const struct imap_conf *, const struct imap_layout *);
int	 imap_ns_conf_in(const struct imap_conf *, const struct imap_layout *, const char *name,
	    struct str *out, struct str *error);

/* imap_ns_sep - the separator clients see */
char	 imap_ns_sep(const struct imap_sess *);
/* imap_ns_prefix - the namespace prefix ("" when none) */
const char *imap_ns_prefix(const struct imap_sess *);

/* imap_ns_in - a client's mailbox name (mUTF-7) into the internal name
 * (appended to out): 0, or -1 with Dovecot's NO text in error (a name
 * outside the prefix, a "." that the separator cannot carry) */
int	 imap_ns_in(const struct imap_sess *, const char *name, struct str *out,
	    struct str *error);
/* imap_ns_out - an internal name as the client sees it (mUTF-7) */
void	 imap_ns_out(const struct imap_sess *, const char *name, struct str *out);
/* imap_ns_show - the same for the text of a reply ("Mailbox doesn't
 * exist: NAME"), in a buffer of the process's one session, valid until
 * the next call */
const char *imap_ns_show(const struct imap_sess *, const char *name);

#endif
