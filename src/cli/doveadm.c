/* doveadm.c - Dovecot's doveadm: config (doveconf with the remaining
 * arguments, as in Dovecot), pw (doveadm_pw.c), sieve (doveadm_sieve.c),
 * who, kick, stop, reload and mailbox (doveadm_mail.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/doveadm_mail.h"
#include "cli/doveadm_sieve.h"

#define DOVEADM_EX_USAGE 64	/* EX_USAGE: what doveadm exits with on usage errors */

static void
doveadm_usage(void)
{
	fprintf(stderr, "usage: doveadm [-Dv] [-f <formatter>] <command> [<args>]\n\n"
	    "  config       [doveconf parameters]\n"
	    "  who          [-1] [<user mask>]\n"
	    "  kick         <user mask>|<ip>\n"
	    "  mailbox      list|create|delete|rename|status -u <user> ...\n"
	    "  reload\n"
	    "  stop\n"
	    "  sieve        list|put|get|activate|deactivate|delete|rename -u <user> ...\n"
	    "  pw           [-l] [-p plaintext] [-r rounds] [-s scheme] [-t hash] [-u user] [-V]\n");
}

int
cmd_doveadm(int argc, char **argv)
{
	const char *config = NULL;
	int i = 1, ret;

	/* global options that do not change what "config" prints */
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "-o") == 0)
			i++;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			config = argv[++i];	/* dovecot.conf, as Dovecot's doveadm -c */
		else if (strcmp(argv[i], "-D") != 0 && strcmp(argv[i], "-v") != 0) {
			fprintf(stderr, "doveadm: Unknown option: %s\n", argv[i]);
			doveadm_usage();
			return DOVEADM_EX_USAGE;
		}
		i++;
	}
	if (i >= argc) {
		doveadm_usage();
		return DOVEADM_EX_USAGE;
	}
	if (strcmp(argv[i], "pw") == 0)
		return cmd_doveadm_pw(argc - i, argv + i);
	if (strcmp(argv[i], "config") == 0) {
		/* argv[i] becomes doveconf's argv[0] */
		return cmd_doveconf(argc - i, argv + i);
	}
	if ((ret = doveadm_sieve_cmd(config, argc - i, argv + i)) >= 0)
		return ret;
	if ((ret = doveadm_mail_cmd(config, argc - i, argv + i)) >= 0)
		return ret;
	fprintf(stderr, "doveadm: Unknown command '%s'\n", argv[i]);
	doveadm_usage();
	return DOVEADM_EX_USAGE;
}
