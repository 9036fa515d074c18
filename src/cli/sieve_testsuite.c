/* sieve_testsuite.c - sieve-testsuite: being written (next commit). */
#include "cli/cli.h"

int
cmd_sieve_testsuite(int argc, char **argv)
{
	return cmd_unavailable(argc, argv);
}
