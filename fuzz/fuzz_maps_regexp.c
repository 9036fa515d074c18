/* fuzz_maps_regexp.c - the regexp table parser and matcher: the input is
 * written to a temporary file, opened as regexp:FILE and asked a few keys. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "user@example.com", "User+Ext@Example.COM",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "", "x\ny" };
	char path[] = "/tmp/fuzz_maps_regexp.XXXXXX";
	const char *err;
	struct maps *m;
	struct str v;
	char *spec;
	size_t i;
	int fd;

	log_open("fuzz", 0);
	if ((fd = mkstemp(path)) < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	spec = xasprintf("regexp:%s", path);
	str_init(&v, 64);
	if ((m = maps_open(spec, 0, &err)) != NULL) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			(void)maps_find(m, keys[i], &v, &err);
		maps_free(&m);
	}
	unlink(path);
	str_deinit(&v);
	free(spec);
	return 0;
}
