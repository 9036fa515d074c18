/* smtp_reply.h - the SMTP client's reply parser: server reply lines
 * ("250-text", "250 text") into one reply, and EHLO keywords into the
 * extensions the client uses. Input is the server's, so everything is
 * bounded: a line longer than SMTP_REPLY_LINE_MAX, more than
 * SMTP_REPLY_LINES_MAX lines in one reply, a line that does not start with
 * three digits, or a continuation with another code, is a protocol error
 * (the caller defers and tries the next server), never a hang or a crash.
 * Fuzz: fuzz/fuzz_smtp_reply.c. Tests: tests/unit/smtp/test_smtp_reply.c */
#ifndef YUBIN_SMTP_REPLY_H
#define YUBIN_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"
#include "lib/util.h"

#define SMTP_REPLY_LINE_MAX	2048	/* RFC 5321 4.5.3.1.5: 512; generous */
#define SMTP_REPLY_LINES_MAX	100
#define SMTP_REPLY_TEXT_MAX	4096	/* kept for logs and DSNs */

struct smtp_reply {
	int		 code;		/* 0 until the first line */
	char		 dsn[16];	/* "5.1.1" from the first line, or "" */
	struct str	 text;		/* the lines as sent ("code-text"), joined by " " */
	struct strvec	 lines;		/* the text after "code-"/"code " per line */
	bool		 complete;
};

void	 smtp_reply_init(struct smtp_reply *);
void	 smtp_reply_reset(struct smtp_reply *);
void	 smtp_reply_deinit(struct smtp_reply *);

/* smtp_reply_feed - one line without its CRLF: 1 the reply is complete,
 * 0 more lines follow, -1 protocol error (*error_r, static text) */
int	 smtp_reply_feed(struct smtp_reply *, const char *line, size_t len,
	    const char **error_r);

/* The ESMTP extensions of an EHLO reply that the client acts on. */
#define SMTP_EXT_PIPELINING	0x01
#define SMTP_EXT_SIZE		0x02
#define SMTP_EXT_8BITMIME	0x04
#define SMTP_EXT_SMTPUTF8	0x08
#define SMTP_EXT_STARTTLS	0x10
#define SMTP_EXT_AUTH		0x20
#define SMTP_EXT_DSN		0x40

struct smtp_ehlo {
	unsigned	 ext;		/* SMTP_EXT_* */
	unsigned long	 size_limit;	/* SIZE n; 0 = none announced */
	bool		 auth_plain, auth_login;
};

/* smtp_ehlo_parse - the extensions of a complete 250 EHLO reply (the
 * first line is the server's name, not an extension) */
void	 smtp_ehlo_parse(const struct smtp_reply *, struct smtp_ehlo *out);

#endif
