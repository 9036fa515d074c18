/* imap_enable.h - ENABLE (RFC 5161) of what changes a session's
 * protocol: IMAP4rev2 (RFC 9051: no RECENT, no \Recent, no UNSEEN
 * response code, SEARCH answered with ESEARCH, SELECT/EXAMINE send the
 * mailbox's LIST line, \NonExistent for hierarchy-only names) and
 * UTF8=ACCEPT (RFC 6855: mailbox names in UTF-8 instead of modified
 * UTF-7, both ways). Dovecot 2.3 implements neither (its ENABLE ignores
 * them); yubin follows the RFCs. Tests: tests/e2e/test_imap_ext.py */
#ifndef YUBIN_IMAP_ENABLE_H
#define YUBIN_IMAP_ENABLE_H

#include <stddef.h>

#include "lib/str.h"

struct imap_sess;
struct imap_arg;

const char *imap_cmd_enable(struct imap_sess *, const struct imap_arg *, size_t,
	    struct str *reply);

struct strvec;

/* imap_enable_name_args - the mailbox-name arguments of command name
 * are turned, in place, from UTF-8 into modified UTF-7 (with UTF8=ACCEPT)
 * and from the namespace's form into internal names (imap_ns.h; LIST
 * and LSUB patterns excepted), the new strings owned by keep. 0, or -1:
 * with the NO text in error, or error empty on invalid UTF-8 (BAD). */
int	 imap_enable_name_args(const struct imap_sess *, const char *name, struct imap_arg *,
	    size_t, struct strvec *keep, struct str *error);

/* imap_sess_name - an internal mailbox name (modified UTF-7, as stored)
 * as the client wants to see it: in the namespace's form (imap_ns.h), an
 * astring, in UTF-8 after UTF8=ACCEPT */
void	 imap_sess_name(const struct imap_sess *, struct str *out, const char *name);

#endif
