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

#endif
