/* imap_compress.h - COMPRESS DEFLATE (RFC 4978) after login, in
 * Dovecot's replies; the deflate layer itself is the connection's
 * (src/pop3/pop3_conn_deflate.c). Tests: tests/e2e/test_imap_ext.py */
#ifndef YUBIN_IMAP_COMPRESS_H
#define YUBIN_IMAP_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

struct imap_sess;
struct imap_arg;

/* imap_cmd_compress - checks the command; on "OK" *start_r asks the
 * caller to start compression right after the tagged reply went out */
const char *imap_cmd_compress(struct imap_sess *, const struct imap_arg *, size_t,
	    struct str *reply, bool *start_r);

#endif
