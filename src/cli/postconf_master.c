/* postconf_master.c - postconf -M (services, as Postfix prints them; -Mf
 * folded) and -P (the -o parameters of services as service/type/name = value).
 * Tests: tests/e2e/test_mastercf.py and test_postconf_master.py */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/postconf_edit.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mastercf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* postconf_master_selected - does "service[/type[/param]]" select it? */
static bool
postconf_master_selected(const struct mastercf_service *s, int argc, char **argv)
{
	int i;

	if (argc == 0)
		return true;
	for (i = 0; i < argc; i++) {
		const char *slash = strchr(argv[i], '/');
		size_t len = slash ? (size_t)(slash - argv[i]) : strlen(argv[i]);

		if (strlen(s->name) != len || strncmp(s->name, argv[i], len) != 0)
			continue;
		if (slash == NULL)
			return true;
		len = strcspn(slash + 1, "/");
		if (strlen(s->type_name) == len && strncmp(s->type_name, slash + 1, len) == 0)
			return true;
	}
	return false;
}

/* postconf_master_params - one service's -o settings as -P prints them:
 * sorted by name, the last setting of a name winning */
static void
postconf_master_params(const struct mastercf_service *s, struct str *out)
{
	struct strvec lines;
	size_t j, k;

	strvec_init(&lines);
	for (j = 0; j < s->nopts; j++) {
		for (k = j + 1; k < s->nopts; k++)
			if (strcmp(s->opts[j].name, s->opts[k].name) == 0)
				break;
		if (k < s->nopts)
			continue;
		if (s->opts[j].value[0] == '\0')
			strvec_push_take(&lines, xasprintf("%s/%s/%s =", s->name, s->type_name,
			    s->opts[j].name));
		else
			strvec_push_take(&lines, xasprintf("%s/%s/%s = %s", s->name, s->type_name,
			    s->opts[j].name, s->opts[j].value));
	}
	strvec_sort(&lines);
	for (j = 0; j < lines.n; j++)
		str_appendf(out, "%s\n", lines.v[j]);
	strvec_deinit(&lines);
}

int
postconf_master_load(struct maincf *mc, struct mastercf **mf_r, bool quiet_missing)
{
	struct mastercf *mf = mastercf_new();
	char *path = path_join(maincf_config_dir(mc), "master.cf");
	const struct strvec *warnings;
	const struct mastercf_service *s;
	const char *err;
	size_t i, j, n;
	int ret = 0;

	if (mastercf_load(mf, path, &err) < 0) {
		if (errno == ENOENT && quiet_missing) {
			log_warn("open %s: %s", path, strerror(ENOENT));
		} else {
			/* Postfix's postconf treats a bad master.cf as fatal. */
			fatal("%s", err);
		}
	}
	warnings = mastercf_warnings(mf);
	for (i = 0; i < warnings->n; i++)
		log_warn("%s", warnings->v[i]);
	/* Parameters named in -o values count as used in main.cf. */
	s = mastercf_services(mf, &n);
	for (i = 0; i < n; i++)
		for (j = 0; j < s[i].nopts; j++)
			maincf_note_reference(mc, s[i].opts[j].value);
	free(path);
	*mf_r = mf;
	return ret;
}

int
postconf_master(struct maincf *mc, int mode, bool folded, int argc, char **argv)
{
	const struct mastercf_service *s;
	struct mastercf *mf;
	struct str out;
	size_t i, n;

	if (postconf_master_load(mc, &mf, false) < 0) {
		mastercf_free(&mf);
		return 1;
	}
	str_init(&out, 1024);
	s = mastercf_services(mf, &n);
	for (i = 0; i < n; i++) {
		if (!postconf_master_selected(&s[i], argc, argv))
			continue;
		if (mode == 'M') {
			if (folded)
				mastercf_format_service_folded(&s[i], &out);
			else
				mastercf_format_service(&s[i], &out);
			continue;
		}
		postconf_master_params(&s[i], &out);
	}
	fwrite(out.s, 1, out.len, stdout);
	str_deinit(&out);
	mastercf_free(&mf);
	return 0;
}
