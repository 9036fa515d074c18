/* postalias.c - postalias(1) and newaliases(1).
 *
 *   postalias [-fiNnoprsuvw] [-c DIR] [-d key] [-q key] [type:]file ...
 *   newaliases [-C DIR | -C main.cf] [-v]
 *
 * postalias is postmap's engine (postmap.c) with the aliases(5) format
 * ("name: value, value", quoted names, values rewritten as Postfix stores
 * them), "key:<TAB>value" in -s and -q - output, and the "@" -> "@" entry
 * Sendmail-era programs look for to see that a table is complete (Postfix
 * adds it too). Postfix's NIS entries (YP_LAST_MODIFIED, YP_MASTER_NAME)
 * are not added: yubin has no NIS.
 *
 * newaliases builds every table of alias_database, as Postfix's sendmail
 * -bi does; -C takes the instance directory or its main.cf, as Sendmail's
 * -C takes a configuration file. Tests: tests/e2e/test_postmap.py */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/postmap.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

static const struct postmap_kind postalias_kind = {
	"postalias", MAPS_SOURCE_ALIASES, ":\t", true,
};

int
cmd_postalias(int argc, char **argv)
{
	return postmap_main(&postalias_kind, argc, argv);
}

int
cmd_newaliases(int argc, char **argv)
{
	char *config_dir = NULL;
	struct strvec tables;
	struct maincf *mc;
	const char *error;
	struct str v;
	int c, ret = 0;
	size_t i;

	/* Messages come from postalias, as when Postfix's sendmail runs it. */
	log_open("postalias", LOG_TO_STDERR);
	optind = 1;
	while ((c = getopt(argc, argv, "C:v")) != -1) {
		switch (c) {
		case 'C':
			free(config_dir);
			config_dir = instance_dir_from_path(optarg);
			break;
		case 'v':
			break;
		default:
			fatal("usage: newaliases [-C config_dir] [-v]");
		}
	}
	mc = maincf_new(instance_config_dir(config_dir));
	if (maincf_load(mc, &error) < 0)
		fatal("%s", error);
	str_init(&v, 64);
	if (maincf_get(mc, "alias_database", &v, &error) < 0)
		fatal("alias_database: %s", error);
	strvec_init(&tables);
	maincf_list_split(v.s, &tables);
	for (i = 0; i < tables.n; i++) {
		char *dir = xstrdup(maincf_config_dir(mc));
		char *argv2[] = { "postalias", "-c", dir, tables.v[i], NULL };

		if (postmap_main(&postalias_kind, 4, argv2) != 0)
			ret = 1;
		free(dir);
	}
	strvec_deinit(&tables);
	str_deinit(&v);
	maincf_free(&mc);
	free(config_dir);
	return ret;
}
