/* imap_io.h - what the IMAP login and mail processes share: reading one
 * command (with its literals, "+ OK" sent for synchronizing ones) from a
 * connection through the parser, Dovecot's capability lists, and the
 * "(0.001 + 0.000 secs)" timing that Dovecot appends to tagged replies. */
#ifndef YUBIN_IMAP_IO_H
#define YUBIN_IMAP_IO_H

#include <stdbool.h>
#include <time.h>

#include "imap/imap_parser.h"
#include "pop3/pop3_conn.h"

enum imap_read {
	IMAP_READ_COMMAND = 1,
	IMAP_READ_EOF = 0,
	IMAP_READ_TIMEOUT = -1,
	IMAP_READ_FATAL = -2,	/* "* BYE <parser error>" was sent */
	IMAP_READ_ERROR = -3,
};

/* imap_read_command - the next whole command into the parser (reset by
 * the caller after use) */
enum imap_read imap_read_command(struct pop3_conn *, struct imap_parser *);

/* the capabilities, as Dovecot 2.3 lists them, of what yubin implements */
#define IMAP_CAPS_PRELOGIN	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+"
#define IMAP_CAPS_POSTLOGIN	"IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE " \
	"UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED CONDSTORE QRESYNC ESEARCH SEARCHRES " \
	"LIST-STATUS BINARY MOVE LITERAL+ UTF8=ACCEPT SPECIAL-USE COMPRESS=DEFLATE"

/* imap_timing - Dovecot's " (0.001 + 0.000 secs)." suffix for a command
 * that started at start (CLOCK_MONOTONIC) */
void	 imap_timing(char *buf, size_t size, const struct timespec *start);

/* imap_max_append - the largest APPEND literal (bytes) */
#define IMAP_MAX_APPEND	(64u * 1024 * 1024)

#endif
