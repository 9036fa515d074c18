/* imap_mailbox_name.h - mailbox names as IMAP clients send them (RFC 3501
 * 5.1.3 modified UTF-7) checked before they become Maildir++ folder
 * names (".Name", separator "."), with Dovecot 2.3's refusals: a leading,
 * trailing or doubled separator, "/" (so "../" never reaches a path),
 * control characters and anything that is not valid mUTF-7. Tests:
 * tests/unit/imap/test_imap_mime.c (names), fuzz/fuzz_imap_command.c */
#ifndef YUBIN_IMAP_MAILBOX_NAME_H
#define YUBIN_IMAP_MAILBOX_NAME_H

#include <stdbool.h>

#include "lib/str.h"

/* IMAP_NAME_DOT - a '.' inside one level of a name under LAYOUT=fs (and
 * mbox), whose separator is '/': the internal separator is '.', so the
 * client's '.' travels as this byte (imap_ns.c) and becomes '.' again in
 * the directory name (imap_layout.c) and in replies. No client can send
 * it: names with control characters are refused. */
#define IMAP_NAME_DOT	'\x01'
#define IMAP_NAME_DOT_S	"\x01"

/* imap_mailbox_name_check - 0 when name may be used; else -1 with the
 * text of the NO reply (without the tag) in error */
int	 imap_mailbox_name_check(const char *name, struct str *error);

/* imap_mailbox_name_controls - the name (mUTF-7) decodes to control
 * characters, which Dovecot refuses in new names ("[CANNOT] Control
 * characters not allowed in new mailbox names") */
bool	 imap_mailbox_name_controls(const char *name);

/* imap_mailbox_is_inbox - INBOX in any case */
int	 imap_mailbox_is_inbox(const char *name);

#endif
