/* doveconf.c - Dovecot's doveconf over yubin's dovecot.conf parser.
 *
 *   doveconf [-c FILE] [-a | -n | -d] [-P]     the configuration
 *   doveconf [-c FILE] [-h] [-f k=v] KEY...    single settings
 *
 * Messages, exit codes (89 for configuration errors, 64 for usage) and
 * output shape follow Dovecot 2.3's doveconf, which scripts parse. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/mem.h"
#include "lib/str.h"

#define DOVECONF_EX_USAGE	64	/* EX_USAGE, as Dovecot */
#define DOVECONF_EX_CONFIG	89	/* Dovecot's FATAL_DEFAULT */

static void
doveconf_usage(void)
{
	fprintf(stderr, "usage: doveconf [-adnNPx] [-h] [-c <config file>] [-f <filter>] "
	    "[<setting> [...]]\n");
}

static void
doveconf_header(struct str *out, const char *path)
{
	struct utsname u;
	char host[256];

	str_appendf(out, "# yubin %s: %s\n", YUBIN_VERSION, path);
	if (uname(&u) == 0)
		str_appendf(out, "# OS: %s %s %s\n", u.sysname, u.release, u.machine);
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		str_appendf(out, "# Hostname: %s\n", host);
	}
}

/* doveconf_filter_add - "-f protocol=imap", "-f lip=1.2.3.4", "-f rip=..." */
static int
doveconf_filter_add(struct dovecot_conf_filter *f, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL)
		return -1;
	if (strncmp(arg, "protocol=", 9) == 0 || strncmp(arg, "service=", 8) == 0)
		f->protocol = eq + 1;
	else if (strncmp(arg, "lip=", 4) == 0)
		f->local_ip = eq + 1;
	else if (strncmp(arg, "rip=", 4) == 0)
		f->remote_ip = eq + 1;
	else
		return -1;
	return 0;
}

int
cmd_doveconf(int argc, char **argv)
{
	struct dovecot_conf_filter filter = { NULL, NULL, NULL };
	const char *config_flag = NULL, *error;
	const char *const *warn;
	struct dovecot_conf *conf;
	bool value_only = false, defaults = false, filtered = false;
	unsigned flags = 0;
	struct str out;
	char *path;
	int c, i, ret = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "ac:df:hm:nNPsSx")) != -1) {
		switch (c) {
		case 'a':
			flags &= ~DOVECOT_CONF_DUMP_NONDEFAULT;
			break;
		case 'c':
			config_flag = optarg;
			break;
		case 'd':
			defaults = true;
			break;
		case 'f':
			if (doveconf_filter_add(&filter, optarg) < 0) {
				fprintf(stderr, "doveconf: Fatal: Unknown filter: %s\n", optarg);
				return DOVECONF_EX_USAGE;
			}
			filtered = true;
			break;
		case 'h':
			value_only = true;
			break;
		case 'n':
			flags |= DOVECOT_CONF_DUMP_NONDEFAULT;
			break;
		case 'P':
			flags |= DOVECOT_CONF_DUMP_SHOW_SECRETS;
			break;
		case 'm':	/* module: yubin has one settings table */
		case 'N':	/* -N: non-default plus what the config set; same as -n here */
		case 's':	/* hidden settings: yubin has none */
		case 'S':	/* machine-readable: not yet */
		case 'x':	/* expand values: done when daemons read them */
			if (c == 'N')
				flags |= DOVECOT_CONF_DUMP_NONDEFAULT;
			break;
		default:
			doveconf_usage();
			return DOVECONF_EX_USAGE;
		}
	}
	if (value_only && optind >= argc) {
		fprintf(stderr, "doveconf: Fatal: -h must be given with setting name filters\n");
		return DOVECONF_EX_CONFIG;
	}

	conf = dovecot_conf_new();
	path = instance_dovecot_conf(config_flag);
	if (!defaults && dovecot_conf_parse_file(conf, path, 0, &error) < 0) {
		fprintf(stderr, "doveconf: Fatal: %s\n", error);
		dovecot_conf_free(&conf);
		free(path);
		return DOVECONF_EX_CONFIG;
	}
	for (warn = dovecot_conf_warnings(conf); *warn != NULL; warn++)
		fprintf(stderr, "doveconf: Warning: %s\n", *warn);

	str_init(&out, 16384);
	if (optind < argc) {
		/* Lookups print raw values, secrets included, as Dovecot's do;
		 * an unknown name prints nothing. */
		for (i = optind; i < argc; i++) {
			const char *v = filtered ? dovecot_conf_get_filtered(conf, &filter, argv[i])
			    : dovecot_conf_get(conf, argv[i]);

			if (v == NULL)
				continue;
			if (value_only)
				str_appendf(&out, "%s\n", v);
			else
				str_appendf(&out, "%s = %s\n", argv[i], v);
		}
	} else {
		doveconf_header(&out, path);
		dovecot_conf_dump(conf, flags, &out);
	}
	if (fwrite(out.s, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "doveconf: Error: write(stdout) failed\n");
		ret = 1;
	}
	str_deinit(&out);
	dovecot_conf_free(&conf);
	free(path);
	return ret;
}
