/* fuzz_mbox_index.c - an mbox's offset cache file (storage/mbox_index.c)
 * on arbitrary input, also with a valid checksum recomputed over it:
 * parsing never reads past the input, what it accepts keeps its promises
 * (UIDs growing below UIDNEXT, places in order inside the file, no
 * modseq above the highest) and
 * formats back to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "storage/mbox_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *buf, size_t len)
{
	struct mbox_index ix;
	struct str out;
	size_t i;

	if (mbox_index_parse(buf, len, &ix) != 0)
		return;
	for (i = 0; i < ix.n; i++)
		if (ix.r[i].uid == 0 || ix.r[i].uid >= ix.uidnext || ix.r[i].end > ix.key.size ||
		    ix.r[i].from >= ix.r[i].end || (i > 0 && ix.r[i].from < ix.r[i - 1].end) ||
		    ix.r[i].modseq > ix.highestmodseq)
			__builtin_trap();
	str_init(&out, len + 1);
	mbox_index_format(&ix, &out);
	if (out.len != len || memcmp(out.s, buf, len) != 0)
		__builtin_trap();
	str_deinit(&out);
	mbox_index_free(&ix);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 8);	/* exact size: ASan sees overreads */
	uint64_t h = 1469598103934665603ull;
	size_t i;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	check(copy, size);
	/* the same bytes with a right checksum after them: the checks past
	 * the checksum are reached */
	for (i = 0; i < size; i++) {
		h ^= (unsigned char)copy[i];
		h *= 1099511628211ull;
	}
	memcpy(copy + size, &h, 8);
	check(copy, size + 8);
	free(copy);
	return 0;
}
