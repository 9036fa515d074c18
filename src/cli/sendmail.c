/* sendmail.c - sendmail(1), the Sendmail-compatible interface: for now only
 * the queue modes, -bp (list the queue, as mailq) and -q (deliver deferred
 * mail now, as postqueue -f). Mail submission (the default mode, -t, -bs,
 * -bv, ...) comes with pickup in issue 4; until then it says so and exits
 * 75 (EX_TEMPFAIL) so that a caller retries rather than loses mail.
 * Tests: tests/e2e/test_queue_commands.py */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/instance.h"
#include "lib/log.h"

int
cmd_sendmail(int argc, char **argv)
{
	char *config = NULL;
	int i, mode = 0, ret;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-bp") == 0) {
			mode = 'p';
		} else if (strncmp(argv[i], "-q", 2) == 0) {
			/* -q, -qInterval: one run now (yubin's qmgr schedules itself) */
			mode = 'f';
		} else if (strcmp(argv[i], "-C") == 0 && i + 1 < argc) {
			free(config);
			config = instance_dir_from_path(argv[++i]);
		} else if (strncmp(argv[i], "-C", 2) == 0 && argv[i][2] != '\0') {
			free(config);
			config = instance_dir_from_path(argv[i] + 2);
		} else if (strcmp(argv[i], "-v") == 0) {
			log_set_verbose(1);
		} else {
			break;
		}
	}
	if (mode == 0) {
		log_msg(LOG_LEVEL_FATAL, "mail submission is not available in yubin %s yet "
		    "(issue 4: sendmail and pickup); only -bp and -q work", YUBIN_VERSION);
		free(config);
		return 75;	/* EX_TEMPFAIL */
	}
	ret = postqueue_run(config, mode, NULL);
	free(config);
	return ret;
}
