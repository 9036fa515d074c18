/* fuzz_aliases_expand.c - the parsers of local delivery on arbitrary
 * input: alias / .forward target lists (local_split_targets), forward_path
 * $name expansion (local_expand_path), the unsafe-local-part check, and
 * the Delivered-To: header scan. Invariants: no target is empty, an unsafe
 * local part never contains what the check promises to refuse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "local/local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct local_vars v = { .user = "u", .home = "/h", .shell = "/bin/sh",
	    .recipient = "u+e@d", .extension = "e", .domain = "d", .local = "u+e",
	    .recipient_delimiter = "+" };
	struct strvec targets;
	struct str out;
	char *s = xstrndup((const char *)data, size);
	size_t i;

	strvec_init(&targets);
	local_split_targets(s, &targets);
	for (i = 0; i < targets.n; i++)
		if (targets.v[i][0] == '\0')
			__builtin_trap();
	strvec_deinit(&targets);
	str_init(&out, 64);
	(void)local_expand_path(s, &v, &out);
	str_deinit(&out);
	if (local_part_is_safe(s) && (strchr(s, '/') != NULL || strstr(s, "..") != NULL ||
	    s[0] == '|' || strchr(s, '\n') != NULL))
		__builtin_trap();
	strvec_init(&targets);
	local_delivered_to((const char *)data, size, &targets);
	strvec_deinit(&targets);
	free(s);
	return 0;
}
