/* fuzz_imap_mboxf.c - an mbox file as IMAP reads it (imap/imap_mbox_mbox.c)
 * on arbitrary input: the From_ split (with Content-Length) stays inside
 * the input and always moves on, and the UIDs it gives grow strictly and
 * stay below UIDNEXT; keyword bits stay within the 26 a session shows. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_mbox_mbox.h"
#include "storage/mbox_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_mbox_snap snap;
	char *copy = malloc(size + 1);	/* exact size: ASan sees overreads */
	size_t pos = 0, from, msg, mlen, i, rounds = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	while (mbox_file_next(copy, size, &pos, &from, &msg, &mlen)) {
		size_t before = from;

		if (from >= size || msg < from || msg + mlen > size || pos > size || pos <= before ||
		    ++rounds > size)
			__builtin_trap();
	}
	(void)imap_mboxf_parse(copy, size, &snap);
	for (i = 0; i < snap.n; i++)
		if (snap.m[i].uid == 0 || snap.m[i].uid >= snap.uidnext ||
		    (i > 0 && snap.m[i].uid <= snap.m[i - 1].uid) ||
		    (snap.m[i].kw >> IMAP_MAX_KEYWORDS) != 0)
			__builtin_trap();
	imap_mbox_snap_free(&snap);
	free(copy);
	return 0;
}
