/* fuzz_imap_hib_state.c - the hibernation state record (imap/imap_hib_state.c)
 * on arbitrary input: nothing is read past the input, and what parses
 * formats back into a record that parses to the same state. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_hib_state.h"
#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_hib_state st, again;
	const char *err;
	char *copy = malloc(size + 1);	/* exact size: ASan sees overreads */
	struct str out;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (imap_hib_state_parse(&st, copy, size, &err) == 0) {
		size_t i, count = 0;

		for (i = 0; i < st.nuids; i++) {
			if (st.uids[i].lo == 0 || st.uids[i].hi < st.uids[i].lo ||
			    (i > 0 && st.uids[i].lo <= st.uids[i - 1].hi + 1))
				__builtin_trap();
			count += st.uids[i].hi - st.uids[i].lo + 1;
		}
		if (count != st.count)
			__builtin_trap();
		str_init(&out, 256);
		if (imap_hib_state_format(&st, &out) != 0)
			__builtin_trap();
		if (imap_hib_state_parse(&again, out.s, out.len, &err) != 0 ||
		    again.nuids != st.nuids || again.count != st.count ||
		    strcmp(again.user, st.user) != 0 || strcmp(again.mailbox, st.mailbox) != 0 ||
		    again.modseq != st.modseq || again.uidvalidity != st.uidvalidity ||
		    (st.nuids > 0 && memcmp(again.uids, st.uids, st.nuids * sizeof(*st.uids)) != 0))
			__builtin_trap();
		imap_hib_state_deinit(&again);
		str_deinit(&out);
	}
	imap_hib_state_deinit(&st);
	free(copy);
	return 0;
}
