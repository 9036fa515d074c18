/* fuzz_mbox_meta.c - Dovecot's IMAP headers of an mbox message
 * (storage/mbox_meta.c) on arbitrary input: parsing never reads past the
 * input, the header length is within it, and what is formatted parses
 * back to the same UID, flags and X-IMAPbase; so does a pseudo message
 * made from the numbers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "storage/mbox_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbox_meta m, again;
	struct str out;
	char *copy = malloc(size + 1);	/* exact size: ASan sees overreads */

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	mbox_meta_parse(copy, size, &m);
	if (m.header_len > size || m.nkeywords > MBOX_META_MAX_KEYWORDS)
		__builtin_trap();
	/* keywords are single words: the format is only meant for those */
	for (size_t i = 0; i < m.nkeywords; i++)
		if (m.keywords[i][0] == '\0' || strpbrk(m.keywords[i], " \t\r\n") != NULL)
			__builtin_trap();
	str_init(&out, 256);
	mbox_meta_format(&m, m.has_base, &out);
	str_append_c(&out, '\n');
	mbox_meta_parse(out.s, out.len, &again);
	if (again.uid != m.uid || again.flags != m.flags || again.has_base != m.has_base ||
	    again.uidvalidity != m.uidvalidity || again.last_uid != m.last_uid ||
	    again.header_len != out.len)
		__builtin_trap();
	mbox_meta_free(&again);
	/* the pseudo message made from these numbers parses back as one */
	str_reset(&out);
	mbox_meta_pseudo(m.uidvalidity, m.last_uid, m.base_keywords, m.nbase_keywords,
	    (long long)m.uid * 86400, &out);
	{
		const char *nl = memchr(out.s, '\n', out.len);

		if (nl == NULL)
			__builtin_trap();
		mbox_meta_parse(nl + 1, out.len - (size_t)(nl + 1 - out.s), &again);
		if (!again.pseudo || !again.has_base || again.uidvalidity != m.uidvalidity ||
		    again.last_uid != m.last_uid || again.nbase_keywords != m.nbase_keywords)
			__builtin_trap();
		mbox_meta_free(&again);
	}
	mbox_meta_free(&m);
	str_deinit(&out);
	free(copy);
	return 0;
}
