/* postfix.c - placeholder while the command is written in this session. */
#include "cli/cli.h"

int
cmd_postfix(int argc, char **argv)
{
	return 1;
}
