/* fuzz_smtp_reply.c - the SMTP client's reply parser: arbitrary server
 * output split into lines as the client splits it (CRLF or LF), fed
 * reply by reply, with the EHLO keyword parser on every complete reply. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct smtp_ehlo e;
	const char *p = (const char *)data, *end = p + size, *nl, *err;
	int rc;

	smtp_reply_init(&r);
	while (p < end) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		rc = smtp_reply_feed(&r, p, n, &err);
		if (rc < 0) {
			smtp_reply_reset(&r);
		} else if (rc == 1) {
			if (r.code < 200 || r.code > 599 || r.lines.n == 0 ||
			    r.lines.n > SMTP_REPLY_LINES_MAX || r.text.len > SMTP_REPLY_TEXT_MAX)
				__builtin_trap();
			smtp_ehlo_parse(&r, &e);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	smtp_reply_deinit(&r);
	return 0;
}
