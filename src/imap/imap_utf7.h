/* imap_utf7.h - mailbox names between UTF-8 (what a client sends and
 * sees after ENABLE UTF8=ACCEPT, RFC 6855) and modified UTF-7 (RFC 3501
 * 5.1.3: what IMAP4rev1 clients use and what Dovecot stores as Maildir++
 * folder names). Strict: bad UTF-8 (overlong, surrogates, past U+10FFFF)
 * and bad mUTF-7 are refused. Tests: tests/unit/imap/test_imap_utf7.c,
 * tests/e2e/test_imap_ext.py; fuzz: fuzz_imap_command.c */
#ifndef YUBIN_IMAP_UTF7_H
#define YUBIN_IMAP_UTF7_H

#include "lib/str.h"

/* imap_utf8_to_mutf7 - appended to out; 0, or -1 for invalid UTF-8 */
int	 imap_utf8_to_mutf7(const char *in, struct str *out);
/* imap_mutf7_to_utf8 - appended to out; 0, or -1 for invalid mUTF-7 */
int	 imap_mutf7_to_utf8(const char *in, struct str *out);

#endif
