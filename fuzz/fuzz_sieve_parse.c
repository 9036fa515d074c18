/* fuzz_sieve_parse.c - the Sieve lexer, parser and validator on arbitrary
 * script text with every extension enabled: no crash, no over-read, no
 * unbounded time or memory (nesting, string lists and the script size are
 * capped), and a script either compiles or says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/str.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sieve_limits lim;
	struct sieve_extset ext;
	struct sieve_script *sc;
	struct str errs;

	sieve_limits_default(&lim);
	lim.max_script_size = 64 * 1024;
	ext.bits = (UINT64_C(1) << SV_EXT_COUNT) - 1;
	str_init(&errs, 256);
	sc = sieve_compile("fuzz", (const char *)data, size, &lim, &ext, &errs);
	if (sc == NULL && errs.len == 0)
		abort();	/* a refused script always says why */
	sieve_script_free(&sc);
	str_deinit(&errs);
	return 0;
}
