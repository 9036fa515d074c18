/* pop3_conn_deflate.c - the deflate layer of a connection. See
 * pop3_conn_deflate.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/mem.h"
#include "pop3/pop3_conn_deflate.h"

struct pop3_deflate {
	z_stream	 in, out;
	struct str	 raw;		/* fed, not yet inflated (in.next_in points into it) */
	size_t		 raw_pos;
	bool		 in_end;	/* the client ended its stream */
};

struct pop3_deflate *
pop3_deflate_new(void)
{
	struct pop3_deflate *z = xcalloc(1, sizeof(*z));

	/* negative window bits: raw deflate, as RFC 4978 asks */
	if (inflateInit2(&z->in, -15) != Z_OK) {
		free(z);
		return NULL;
	}
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&z->in);
		free(z);
		return NULL;
	}
	str_init(&z->raw, 4096);
	return z;
}

void
pop3_deflate_free(struct pop3_deflate **zp)
{
	struct pop3_deflate *z = *zp;

	if (z == NULL)
		return;
	inflateEnd(&z->in);
	deflateEnd(&z->out);
	str_deinit(&z->raw);
	free(z);
	*zp = NULL;
}

int
pop3_deflate_out(struct pop3_deflate *z, const char *data, size_t len, struct str *out)
{
	unsigned char buf[16384];
	int r;

	z->out.next_in = (Bytef *)(uintptr_t)data;
	z->out.avail_in = (uInt)len;
	do {
		z->out.next_out = buf;
		z->out.avail_out = sizeof(buf);
		r = deflate(&z->out, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return -1;
		str_append_n(out, (const char *)buf, sizeof(buf) - z->out.avail_out);
	} while (z->out.avail_out == 0 || z->out.avail_in > 0);
	return 0;
}

void
pop3_deflate_feed(struct pop3_deflate *z, const char *data, size_t len)
{
	/* drop what was used before growing */
	if (z->raw_pos > 0) {
		memmove(z->raw.s, z->raw.s + z->raw_pos, z->raw.len - z->raw_pos);
		str_truncate(&z->raw, z->raw.len - z->raw_pos);
		z->raw_pos = 0;
	}
	str_append_n(&z->raw, data, len);
}

bool
pop3_deflate_pending(const struct pop3_deflate *z)
{
	return z->raw_pos < z->raw.len;
}

long
pop3_deflate_in(struct pop3_deflate *z, char *dst, size_t cap)
{
	int r;

	if (cap == 0)
		return 0;
	if (z->in_end)
		return z->raw_pos < z->raw.len ? -1 : 0;
	z->in.next_in = (Bytef *)z->raw.s + z->raw_pos;
	z->in.avail_in = (uInt)(z->raw.len - z->raw_pos);
	z->in.next_out = (Bytef *)dst;
	z->in.avail_out = (uInt)cap;
	r = inflate(&z->in, Z_SYNC_FLUSH);
	z->raw_pos = z->raw.len - z->in.avail_in;
	if (r == Z_STREAM_END)
		z->in_end = true;
	else if (r != Z_OK && r != Z_BUF_ERROR)
		return -1;
	return (long)(cap - z->in.avail_out);
}
