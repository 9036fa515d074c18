/* fuzz_header_stream.c - the header rewriting stream of smtpd
 * (mail/header_rewrite.h) on arbitrary bytes cut into arbitrary pieces: no
 * crash, bounded memory, and the stored bytes never depend on how the
 * network cut the message (the whole input at once must give the same
 * output as the pieces). The first input byte picks the piece size. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/maincf.h"
#include "lib/str.h"
#include "mail/header_rewrite.h"
#include "mail/rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rewrite *rw;

static void
collect(void *ctx, const char *p, size_t len)
{
	str_append_n(ctx, p, len);
}

static void
run(const char *p, size_t len, size_t piece, struct str *out)
{
	struct header_rewrite_stream hs;
	const char *err;
	size_t off, n;

	header_rewrite_stream_init(&hs, rw, 512, collect, out);
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		(void)header_rewrite_stream_feed(&hs, p + off, n, false, &err);
		/* held back: at most the limit plus one piece */
		if (hs.buf->len > 512 + piece)
			abort();
	}
	(void)header_rewrite_stream_feed(&hs, "", 0, true, &err);
	header_rewrite_stream_deinit(&hs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str whole, pieces;

	if (rw == NULL) {
		static const char conf[] =
		    "myorigin = example.com\nmydestination = example.com, localhost\n"
		    "canonical_maps = inline:{ {a@example.com = b@example.org}, "
		    "{@x.test = @y.test}, {c = d@e.f} }\n";
		struct maincf *cf = maincf_new("/nonexistent");
		const char *err;

		if (maincf_parse(cf, "main.cf", conf, sizeof(conf) - 1, &err) != 0 ||
		    (rw = rewrite_new(cf, &err)) == NULL)
			abort();
		/* cf stays: rw borrows it for the life of the process */
	}
	if (size == 0)
		return 0;
	str_init(&whole, size + 64);
	str_init(&pieces, size + 64);
	run((const char *)data + 1, size - 1, size - 1 + 1, &whole);
	run((const char *)data + 1, size - 1, (size_t)data[0] % 17 + 1, &pieces);
	if (whole.len != pieces.len || memcmp(whole.s, pieces.s, whole.len) != 0)
		abort();
	str_deinit(&whole);
	str_deinit(&pieces);
	return 0;
}
