/* main.c - the multi-call binary: argv[0] picks the command, as Postfix's
 * and Dovecot's separate programs would be picked by name. "yubin CMD ..."
 * equals "CMD ...". */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

static void
usage_list(FILE *fp)
{
	const struct cli_command *c;

	fprintf(fp, "yubin %s - a mail system that speaks Postfix's and Dovecot's dialects\n\n",
	    YUBIN_VERSION);
	fprintf(fp, "usage: yubin COMMAND [ARGS...], or run a command by its own name\n\n");
	for (c = cli_commands; c->name != NULL; c++)
		fprintf(fp, "  %-12s %s\n", c->name, c->help);
}

int
main(int argc, char **argv)
{
	const struct cli_command *cmd;
	char *name = basename(argv[0]);

	if (strcmp(name, "yubin") == 0 || strncmp(name, "yubin", 5) == 0) {
		if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0) {
			usage_list(stdout);
			return argc < 2 ? 1 : 0;
		}
		if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
			printf("yubin %s\n", YUBIN_VERSION);
			return 0;
		}
		argc--;
		argv++;
		name = argv[0];
	}
	if ((cmd = cli_find(name)) == NULL) {
		fprintf(stderr, "yubin: unknown command: %s (try: yubin help)\n", name);
		return 1;
	}
	log_open(cmd->name, LOG_TO_STDERR);
	return cmd->main(argc, argv);
}
