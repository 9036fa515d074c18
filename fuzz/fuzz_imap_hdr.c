/* fuzz_imap_hdr.c - header-fields records (src/imap/imap_hdr.c). The
 * input read two ways: (1) as a hostile record's data, which parses or
 * is refused, and whose fields are filtered when it parses; (2) as a
 * first line of field names and a message header: the record made of
 * them must parse, cover each name it took, and filtering it for any of
 * its names (and for all of them) must give byte for byte what filtering
 * the header gives; the first Date field must be the same too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_hdr.h"
#include "imap/imap_mime.h"
#include "lib/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME	"1700000000.M1P1.fuzz,S=10:2,S"

static void
same_filter(const char *hdr, size_t hlen, const struct imap_hdr_rec *r, const char *const *names,
    size_t n)
{
	struct str a, b;

	str_init(&a, 256);
	str_init(&b, 256);
	mime_header_fields(&a, hdr, hlen, names, n, false);
	mime_header_fields(&b, r->fields, r->fields_len, names, n, false);
	if (a.len != b.len || memcmp(a.s, b.s, a.len) != 0)
		__builtin_trap();
	str_deinit(&a);
	str_deinit(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl;
	struct imap_hdr_rec r;
	struct str rec;
	struct strvec names;
	size_t i;

	if (size > 256 * 1024)
		return 0;
	/* (1) hostile record */
	if (imap_hdr_record_parse(p, size, NAME, &r) == 0) {
		struct str out;
		const char *one[1] = { "FROM" };

		str_init(&out, 256);
		mime_header_fields(&out, r.fields, r.fields_len, one, 1, false);
		(void)imap_hdr_record_covers(&r, "From");
		str_deinit(&out);
	}
	/* (2) names, then a header */
	nl = memchr(p, '\n', size);
	if (nl == NULL)
		return 0;
	strvec_init(&names);
	{
		char *line = xstrndup(p, (size_t)(nl - p)), *tok, *save = NULL;

		for (tok = strtok_r(line, " ", &save); tok != NULL && names.n < 60;
		    tok = strtok_r(NULL, " ", &save))
			strvec_push(&names, tok);
		free(line);
	}
	str_init(&rec, 1024);
	{
		const char *hdr = nl + 1;
		size_t rest = size - (size_t)(hdr - p), hlen = mime_header_len(hdr, rest);

		if (names.n > 0 && imap_hdr_record_make(&rec, NAME, hdr, hlen,
		    (const char *const *)names.v, names.n) == 0) {
			if (imap_hdr_record_parse(rec.s, rec.len, NAME, &r) != 0)
				__builtin_trap();
			for (i = 0; i < names.n; i++) {
				const char *one[1] = { names.v[i] };

				if (!imap_hdr_record_covers(&r, names.v[i]))
					__builtin_trap();
				same_filter(hdr, hlen, &r, one, 1);
			}
			same_filter(hdr, hlen, &r, (const char *const *)names.v, names.n);
			if (imap_hdr_record_covers(&r, "DATE")) {
				struct str a, b;
				bool ga, gb;

				str_init(&a, 64);
				str_init(&b, 64);
				ga = mime_header_get(hdr, hlen, "Date", &a);
				gb = mime_header_get(r.fields, r.fields_len, "Date", &b);
				if (ga != gb || a.len != b.len || memcmp(a.s, b.s, a.len) != 0)
					__builtin_trap();
				str_deinit(&a);
				str_deinit(&b);
			}
		}
	}
	str_deinit(&rec);
	strvec_deinit(&names);
	return 0;
}
