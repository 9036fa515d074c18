/* pop3_conn_deflate.h - RFC 4978 COMPRESS=DEFLATE for a pop3_conn (the
 * connection code POP3 and IMAP share): raw deflate (RFC 1951, no zlib
 * header) both ways, each flush of replies ended with a sync flush so
 * the client can read what was sent. Input is inflated in bounded steps
 * into the connection's buffer; memory is zlib's fixed windows. Tests:
 * tests/e2e/test_imap_ext.py (Python's zlib on the client side);
 * tests/unit/pop3/test_pop3_conn_deflate.c */
#ifndef YUBIN_POP3_CONN_DEFLATE_H
#define YUBIN_POP3_CONN_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

struct pop3_deflate;

struct pop3_deflate *pop3_deflate_new(void);
void	 pop3_deflate_free(struct pop3_deflate **);

/* pop3_deflate_out - compress [data, data+len) and sync-flush it,
 * appended to out. 0 or -1. */
int	 pop3_deflate_out(struct pop3_deflate *, const char *data, size_t len, struct str *out);

/* pop3_deflate_feed - compressed input received; kept until inflated */
void	 pop3_deflate_feed(struct pop3_deflate *, const char *data, size_t len);
/* pop3_deflate_in - inflate what was fed into [dst, dst+cap): bytes
 * made (0: more input needed), or -1 on a corrupt stream */
long	 pop3_deflate_in(struct pop3_deflate *, char *dst, size_t cap);
/* pop3_deflate_pending - fed input not inflated yet */
bool	 pop3_deflate_pending(const struct pop3_deflate *);

#endif
