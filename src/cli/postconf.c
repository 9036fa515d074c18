/* postconf.c - Postfix's postconf: show and edit main.cf (and, with -M,
 * master.cf services). Output is "name = value" sorted by name, as
 * Postfix's. Tests: tests/e2e/test_postconf.py (against the real Postfix) */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/postconf_edit.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mastercf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

#define PC_SHOW_DEFAULTS	0x01	/* -d */
#define PC_SHOW_NONDEFAULT	0x02	/* -n */
#define PC_HIDE_NAME		0x04	/* -h */
#define PC_HIDE_VALUE		0x08	/* -H */
#define PC_EXPAND		0x10	/* -x */
#define PC_FOLD			0x20	/* -f */

struct postconf {
	struct maincf	*mc;		/* owned */
	int		 flags;
	const char	*dir;		/* borrowed: the instance directory */
	bool		 dir_given;	/* -c or MAIL_CONFIG named it */
};

static void
postconf_usage(void)
{
	fprintf(stderr, "usage: postconf [-c config_dir] [-d|-n] [-h|-H] [-x] [-o name=value] "
	    "[name ...]\n"
	    "       postconf [-c config_dir] -e name=value ...\n"
	    "       postconf [-c config_dir] -# name ... | -X name ...\n"
	    "       postconf [-c config_dir] -M [service[/type] ...]\n"
	    "       postconf -m | -l | -a | -A\n");
	exit(1);
}

/* postconf_squeeze - collapse white space runs to one space, as Postfix's
 * postconf prints values (its output is built word by word) */
static void
postconf_squeeze(struct str *val)
{
	size_t i, o = 0;
	bool space = false;

	for (i = 0; i < val->len; i++) {
		char c = val->s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = o > 0;
			continue;
		}
		if (space)
			val->s[o++] = ' ';
		space = false;
		val->s[o++] = c;
	}
	str_truncate(val, o);
}

/* postconf_print - one "name = value" line in the form the flags ask for */
static void
postconf_print(struct postconf *pc, const char *name, const char *raw)
{
	struct str val;
	const char *err;

	str_init(&val, 64);
	if ((pc->flags & PC_EXPAND) && !maincf_param_is_raw(name)) {
		if (maincf_expand(pc->mc, raw, &val, &err) < 0) {
			log_warn("%s", err);
			fatal("macro processing error");
		}
	} else {
		str_append(&val, raw);
	}
	postconf_squeeze(&val);
	if (pc->flags & PC_HIDE_VALUE)
		printf("%s\n", name);
	else if (pc->flags & PC_HIDE_NAME)
		printf("%s\n", val.s);
	else if (val.len == 0)
		printf("%s =\n", name);
	else
		printf("%s = %s\n", name, val.s);
	str_deinit(&val);
}

/* postconf_is_visible - known, or set in main.cf and referenced somewhere */
static bool
postconf_is_used_setting(struct postconf *pc, const char *name, const struct strvec *unused)
{
	return maincf_param_find(name) != NULL || !strvec_contains(unused, name);
}

static void
postconf_collect_names(struct postconf *pc, const struct strvec *unused, struct strvec *names)
{
	const struct maincf_entry *e;
	size_t i, n;

	if (!(pc->flags & PC_SHOW_NONDEFAULT))
		for (i = 0; i < maincf_nparams; i++)
			strvec_push(names, maincf_params[i].name);
	if (!(pc->flags & PC_SHOW_DEFAULTS)) {
		e = maincf_entries(pc->mc, &n);
		for (i = 0; i < n; i++)
			if (postconf_is_used_setting(pc, e[i].name, unused) &&
			    !strvec_contains(names, e[i].name))
				strvec_push(names, e[i].name);
		if ((pc->flags & PC_SHOW_NONDEFAULT) && pc->dir_given &&
		    !strvec_contains(names, "config_directory"))
			strvec_push(names, "config_directory");
	}
	strvec_sort(names);
}

static const char *
postconf_value_of(struct postconf *pc, const char *name)
{
	if ((pc->flags & PC_SHOW_DEFAULTS))
		return maincf_default(pc->mc, name);
	return maincf_raw(pc->mc, name);
}

/* postconf_warn_unused - Postfix's "unused parameter" warnings */
static void
postconf_warn_unused(struct postconf *pc, const struct strvec *unused)
{
	const struct maincf_entry *e;
	size_t i, n;

	e = maincf_entries(pc->mc, &n);
	for (i = 0; i < n; i++)
		if (strvec_contains(unused, e[i].name))
			log_warn("%s, line %d: unused parameter: %s=%s", maincf_path(pc->mc),
			    e[i].line, e[i].name, e[i].value);
}

/* postconf_warn_undefined - expand every setting once to find $names that
 * nothing defines, and say so as Postfix does */
static void
postconf_warn_undefined(struct postconf *pc)
{
	const struct maincf_entry *e;
	const struct strvec *undef;
	struct str scratch;
	const char *err;
	size_t i, n;

	str_init(&scratch, 128);
	e = maincf_entries(pc->mc, &n);
	for (i = 0; i < n; i++) {
		str_reset(&scratch);
		(void)maincf_expand(pc->mc, e[i].value, &scratch, &err);
	}
	str_deinit(&scratch);
	undef = maincf_undefined(pc->mc);
	for (i = 0; i < undef->n; i++)
		log_warn("%s: undefined parameter: %s", maincf_path(pc->mc), undef->v[i]);
}

static int
postconf_show(struct postconf *pc, int argc, char **argv)
{
	struct strvec names, unused;
	size_t i;
	int ret = 0;

	strvec_init(&unused);
	if (!(pc->flags & PC_SHOW_DEFAULTS)) {
		maincf_unused(pc->mc, &unused);
		postconf_warn_undefined(pc);
	}
	if (argc > 0) {
		for (i = 0; i < (size_t)argc; i++) {
			const char *v = NULL;

			if (postconf_is_used_setting(pc, argv[i], &unused))
				v = postconf_value_of(pc, argv[i]);
			if (v == NULL && strcmp(argv[i], "config_directory") == 0)
				v = pc->dir;
			if (v == NULL) {
				log_warn("%s: unknown parameter", argv[i]);
				ret = 1;
				continue;
			}
			postconf_print(pc, argv[i], v);
		}
	} else {
		strvec_init(&names);
		postconf_collect_names(pc, &unused, &names);
		for (i = 0; i < names.n; i++) {
			const char *v = postconf_value_of(pc, names.v[i]);

			if (strcmp(names.v[i], "config_directory") == 0 && pc->dir_given &&
			    !(pc->flags & PC_SHOW_DEFAULTS) && !maincf_is_set(pc->mc, names.v[i]))
				v = pc->dir;
			if (v != NULL)
				postconf_print(pc, names.v[i], v);
		}
		strvec_deinit(&names);
	}
	if (!(pc->flags & PC_SHOW_DEFAULTS))
		postconf_warn_unused(pc, &unused);
	strvec_deinit(&unused);
	return ret;
}

static int
postconf_list_static(int which)
{
	static const char *const table_types[] = { "btree", "cdb", "environ", "fail",
		"hash", "inline", "internal", "lmdb", "pcre", "pipemap", "proxy", "randmap",
		"regexp", "static", "texthash", "unix", NULL };
	static const char *const lock_types[] = { "dotlock", "fcntl", "flock", NULL };
	static const char *const sasl_types[] = { "dovecot", NULL };
	const char *const *list = which == 'm' ? table_types : which == 'l' ? lock_types
	    : sasl_types;

	for (; *list != NULL; list++)
		printf("%s\n", *list);
	return 0;
}

int
cmd_postconf(int argc, char **argv)
{
	struct postconf pc = { 0 };
	const char *dir_flag = NULL, *err;
	struct strvec overrides;
	int c, mode = 'p', ret;
	size_t i;

	strvec_init(&overrides);
	optind = 1;
	while ((c = getopt(argc, argv, "aAc:defhHlmMno:PvxX#")) != -1) {
		switch (c) {
		case 'c': dir_flag = optarg; break;
		case 'd': pc.flags |= PC_SHOW_DEFAULTS; break;
		case 'n': pc.flags |= PC_SHOW_NONDEFAULT; break;
		case 'h': pc.flags |= PC_HIDE_NAME; break;
		case 'H': pc.flags |= PC_HIDE_VALUE; break;
		case 'x': pc.flags |= PC_EXPAND; break;
		case 'f': pc.flags |= PC_FOLD; break;
		case 'o': strvec_push(&overrides, optarg); break;
		case 'v': log_set_verbose(1); break;
		case 'e': case 'X': case '#': case 'M': case 'P':
		case 'm': case 'l': case 'a': case 'A':
			if (mode != 'p' && mode != c)
				postconf_usage();
			mode = c;
			break;
		default:
			postconf_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((pc.flags & PC_SHOW_DEFAULTS) && (pc.flags & PC_SHOW_NONDEFAULT)) {
		log_error("specify one of -d and -n");
		postconf_usage();
	}
	if (mode == 'm' || mode == 'l' || mode == 'a' || mode == 'A') {
		strvec_deinit(&overrides);
		return postconf_list_static(mode == 'A' ? 'a' : mode);
	}

	pc.dir = instance_config_dir(dir_flag);
	pc.dir_given = strcmp(pc.dir, INSTANCE_DEFAULT_DIR) != 0;
	if (mode == 'e' || mode == 'X' || mode == '#') {
		strvec_deinit(&overrides);
		if (argc == 0)
			postconf_usage();
		return postconf_edit(pc.dir, mode, argc, argv);
	}
	pc.mc = maincf_new(pc.dir);
	if (maincf_load(pc.mc, &err) < 0)
		fatal("%s", err);
	for (i = 0; i < overrides.n; i++) {
		char *eq = strchr(overrides.v[i], '=');

		if (eq == NULL)
			fatal("-o option requires name=value argument");
		*eq = '\0';
		maincf_override(pc.mc, overrides.v[i], eq + 1);
	}
	strvec_deinit(&overrides);
	if (pc.flags & PC_SHOW_DEFAULTS)
		maincf_use_defaults_only(pc.mc, true);

	if (mode == 'M' || mode == 'P') {
		ret = postconf_master(pc.mc, mode, (pc.flags & PC_FOLD) != 0, argc, argv);
	} else {
		struct mastercf *mf = NULL;

		if (!(pc.flags & PC_SHOW_DEFAULTS))
			(void)postconf_master_load(pc.mc, &mf, true);
		mastercf_free(&mf);
		ret = postconf_show(&pc, argc, argv);
	}
	fflush(stdout);
	maincf_free(&pc.mc);
	return ret;
}
