/* pop3_conn.h - one client connection of a POP3 process: a socket or a
 * TLS stream over it, buffered lines in with a length cap and an idle
 * timeout, buffered replies out (flushed before waiting for input, so
 * pipelined commands get their replies in one write). Blocking: each
 * process serves one connection. */
#ifndef YUBIN_POP3_CONN_H
#define YUBIN_POP3_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

#include "lib/str.h"

struct pop3_conn {
	int	 fd;
	SSL	*ssl;		/* NULL: plaintext */
	char	 in[8192];
	size_t	 in_pos, in_len;
	struct str out;
	int	 timeout_ms;
	bool	 broken;	/* a write failed: stop */
	struct pop3_deflate *z;	/* COMPRESS=DEFLATE (pop3_conn_deflate.c), NULL: off */
};

enum pop3_read {
	POP3_READ_LINE = 1,
	POP3_READ_EOF = 0,
	POP3_READ_TIMEOUT = -1,
	POP3_READ_TOO_LONG = -2,	/* the line passed max: connection unusable */
	POP3_READ_ERROR = -3,
};

void	 pop3_conn_init(struct pop3_conn *, int fd, int timeout_ms);
void	 pop3_conn_deinit(struct pop3_conn *);
/* pop3_conn_getline - the next line without CR LF into line (reset) */
enum pop3_read pop3_conn_getline(struct pop3_conn *, struct str *line, size_t max);
/* pop3_conn_read - flush the replies, then read more input into in[] (for
 * parsers that consume in[in_pos..in_len) themselves, as IMAP's does):
 * >0 bytes read, 0 EOF, -1 timeout, -3 error */
int	 pop3_conn_read(struct pop3_conn *);
void	 pop3_conn_append(struct pop3_conn *, const char *data, size_t len);
void	 pop3_conn_printf(struct pop3_conn *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 pop3_conn_flush(struct pop3_conn *);
/* pop3_conn_starttls - the server side of a TLS handshake now. 0 or -1. */
int	 pop3_conn_starttls(struct pop3_conn *, SSL_CTX *);
/* pop3_conn_unread - bytes read but not yet returned as lines */
size_t	 pop3_conn_pending(const struct pop3_conn *);

/* pop3_conn_compress - from now on both ways are deflated (RFC 4978);
 * input already buffered past in_pos is taken as compressed. 0 or -1. */
int	 pop3_conn_compress(struct pop3_conn *);

/* pop3_conn_proxy - copy between the TLS client of c and fd (the session
 * process, which speaks in clear) until either side closes: what a login
 * process does after the hand-off under TLS */
void	 pop3_conn_proxy(struct pop3_conn *, int fd);

#endif
