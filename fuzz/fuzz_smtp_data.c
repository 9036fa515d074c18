/* fuzz_smtp_data.c - the DATA/BDAT message reader: the same input fed in
 * one piece and in pieces of every size the first byte picks must give
 * the same content and the same end. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/str.h"
#include "smtpd/smtpd_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
feed_all(struct smtpd_data *d, const char *in, size_t len, size_t step, struct str *content)
{
	size_t off = 0, n;

	while (off < len && !smtpd_data_done(d)) {
		n = len - off < step ? len - off : step;
		off += smtpd_data_feed(d, in + off, n);
		if (d->out.len > SMTPD_DATA_OUT_MAX)
			__builtin_trap();
		str_append_n(content, d->out.s, d->out.len);
		str_reset(&d->out);
	}
	return off;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_data a, b;
	struct str ca, cb;
	size_t step, max, ua, ub;
	bool bdat;

	if (size < 2)
		return 0;
	step = (data[0] & 0x3f) + 1;
	bdat = data[0] & 0x40;
	max = data[1] * 8;
	data += 2;
	size -= 2;
	str_init(&ca, 64);
	str_init(&cb, 64);
	smtpd_data_init(&a, bdat, max);
	smtpd_data_init(&b, bdat, max);
	ua = feed_all(&a, (const char *)data, size, size ? size : 1, &ca);
	ub = feed_all(&b, (const char *)data, size, step, &cb);
	if (ua != ub || ca.len != cb.len || memcmp(ca.s, cb.s, ca.len) != 0 ||
	    smtpd_data_done(&a) != smtpd_data_done(&b) || a.overflow != b.overflow ||
	    (max != 0 && ca.len > max))
		__builtin_trap();
	smtpd_data_deinit(&a);
	smtpd_data_deinit(&b);
	str_deinit(&ca);
	str_deinit(&cb);
	return 0;
}
