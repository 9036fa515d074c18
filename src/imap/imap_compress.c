/* imap_compress.c - the COMPRESS command. See imap_compress.h. */
#include <strings.h>

#include "imap/imap_compress.h"
#include "imap/imap_mail-private.h"

const char *
imap_cmd_compress(struct imap_sess *s, const struct imap_arg *a, size_t n, struct str *reply,
    bool *start_r)
{
	*start_r = false;
	if (n != 1 || a[0].type != IMAP_ARG_ATOM)
		return str_append(reply, "Error in IMAP command COMPRESS: Invalid arguments"), "BAD";
	if (s->conn->z != NULL)
		return str_append(reply, "[COMPRESSIONACTIVE] COMPRESSION=DEFLATE already enabled"),
		    "NO";
	if (strcasecmp(a[0].str, "DEFLATE") != 0)
		return str_append(reply, "Unknown compression mechanism"), "NO";
	*start_r = true;
	return str_append(reply, "Begin compression"), "OK";
}
