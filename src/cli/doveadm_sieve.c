/* doveadm_sieve.c - Pigeonhole's doveadm sieve commands on a user's
 * script storage:
 *   doveadm sieve list|deactivate -u USER
 *   doveadm sieve put [-a] -u USER NAME < SCRIPT
 *   doveadm sieve get|activate -u USER NAME
 *   doveadm sieve delete [-a] -u USER NAME...
 *   doveadm sieve rename -u USER OLD NEW
 * or -A for every user the userdb lists (auth-master LIST), each in a
 * child process. The user comes from the auth service's userdb and the
 * command runs with the user's uid (doveadm_user_become); the storage is plugin { sieve =
 * file:DIR;active=PATH } (default file:~/sieve;active=~/.dovecot.sieve),
 * kept by src/managesieve/sieve_storage.c as ManageSieve keeps it. A script
 * is compiled (with the plugin section's sieve_* settings) before put
 * stores it and before activate makes it active: errors name line and
 * column, on stderr in the shape Pigeonhole's doveadm prints them
 * ("doveadm(USER): Error: sieve: NAME: line N: ..."), exit 65. Output and
 * exit codes are Pigeonhole 2.3's: list prints "NAME ACTIVE" / "NAME ",
 * get prints "sieve script:" and the text; 67 unknown user, 68 no such
 * script, 65 bad name, bad script or active script refused, 64 usage.
 * Tests: tests/e2e/test_doveadm_sieve.py (side by side with Debian's). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "cli/doveadm_mail.h"
#include "cli/doveadm_sieve.h"
#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "managesieve/sieve_storage.h"
#include "sieve/sieve.h"
#include "sieve/sieve_config.h"

struct dsieve {
	const char *user;
	const char *home;
	bool	 all;		/* -A: output lines carry the user */
	size_t	 nth;		/* -A: this user's place in the list */
	const struct str *text;	/* put: the script, read once from stdin */
	struct sieve_storage st;
	struct sieve_config cfg;
};

static void
dsieve_usage(void)
{
	fprintf(stderr, "usage: doveadm [-Dv] [-f <formatter>] sieve <command> [<args>]\n"
	    "  activate     [-u <user>|-A] [-S <socket_path>] <scriptname>\n"
	    "  deactivate   [-u <user>|-A] [-S <socket_path>] \n"
	    "  delete       [-u <user>|-A] [-S <socket_path>] [-a] <scriptname> [...]\n"
	    "  get          [-u <user>|-A] [-S <socket_path>] <scriptname>\n"
	    "  list         [-u <user>|-A] [-S <socket_path>] \n"
	    "  put          [-u <user>|-A] [-S <socket_path>] [-a] <scriptname>\n"
	    "  rename       [-u <user>|-A] [-S <socket_path>] <oldname> <newname>\n");
}

/* expand - "~/x", %u, %n, %d, %h, %% of a sieve location as Dovecot
 * expands them for the user */
static char *
expand(const struct dsieve *ds, const char *v, size_t len)
{
	const char *at = strchr(ds->user, '@');
	struct str out;
	size_t i;

	str_init(&out, 64);
	for (i = 0; i < len; i++) {
		if (v[i] == '~' && i == 0 && ds->home != NULL && (len == 1 || v[1] == '/'))
			str_append(&out, ds->home);
		else if (v[i] == '%' && i + 1 < len) {
			switch (v[++i]) {
			case 'u': str_append(&out, ds->user); break;
			case 'n': str_append_n(&out, ds->user, at != NULL ?
				      (size_t)(at - ds->user) : strlen(ds->user)); break;
			case 'd': str_append(&out, at != NULL ? at + 1 : ""); break;
			case 'h': str_append(&out, ds->home != NULL ? ds->home : "~"); break;
			default: str_append_c(&out, v[i]); break;
			}
		} else
			str_append_c(&out, v[i]);
	}
	return str_export(&out);
}

/* dsieve_settings - the Sieve settings of dovecot.conf's plugin section */
static void
dsieve_settings(struct dsieve *ds, const struct dovecot_conf *dc)
{
	const struct dovecot_conf_section *root = dovecot_conf_root(dc);
	const char *err;
	size_t i, k;

	for (i = 0; i < dovecot_conf_section_count(root); i++) {
		const struct dovecot_conf_section *s = dovecot_conf_section_child(root, i);
		const char *t = dovecot_conf_section_type(s), *key, *val;

		if (t == NULL || strcmp(t, "plugin") != 0)
			continue;
		for (k = 0; dovecot_conf_section_key(s, k, &key, &val); k++)
			if (sieve_config_set(&ds->cfg, key, val, &err) < 0)
				fprintf(stderr, "doveadm: Warning: plugin/%s: %s\n", key, err);
	}
}

/* dsieve_setup - the user's storage from plugin { sieve } (and the old
 * sieve_dir). 0, or an exit status after an error line. */
static int
dsieve_setup(struct dsieve *ds, const struct dovecot_conf *dc)
{
	const char *loc = dovecot_conf_get(dc, "plugin/sieve");
	const char *legacy_dir = dovecot_conf_get(dc, "plugin/sieve_dir");
	const char *p, *act = NULL;
	char *dir, *active;

	if (loc == NULL || *loc == '\0')
		loc = "file:~/sieve;active=~/.dovecot.sieve";
	if (strncmp(loc, "file:", 5) != 0 && legacy_dir != NULL && *legacy_dir != '\0') {
		/* the old pair: sieve = ACTIVE-PATH, sieve_dir = DIR */
		dir = expand(ds, legacy_dir, strlen(legacy_dir));
		active = expand(ds, loc, strcspn(loc, ";"));
	} else {
		if (strncmp(loc, "file:", 5) == 0)
			loc += 5;
		for (p = strchr(loc, ';'); p != NULL; p = strchr(p + 1, ';'))
			if (strncmp(p + 1, "active=", 7) == 0)
				act = p + 8;
		dir = expand(ds, loc, strcspn(loc, ";"));
		active = act != NULL ? expand(ds, act, strcspn(act, ";")) :
		    expand(ds, "~/.dovecot.sieve", 16);
	}
	if (ds->home == NULL && (strchr(dir, '~') != NULL || strchr(active, '~') != NULL)) {
		fprintf(stderr, "doveadm(%s): Error: sieve: home directory not set for user\n",
		    ds->user);
		free(dir);
		free(active);
		return DOVEADM_EX_TEMPFAIL;
	}
	sieve_storage_init(&ds->st, dir, active);
	free(ds->cfg.personal_dir);
	ds->cfg.personal_dir = dir;	/* include :personal, for the checks */
	free(active);
	return 0;
}

/* print_errors - the compiler's "NAME: line N: error: TEXT (column C)."
 * lines as Pigeonhole's doveadm logs them:
 * "doveadm(USER): Error: sieve: NAME: line N: TEXT (column C)" */
static void
print_errors(const struct dsieve *ds, const struct str *errors)
{
	const char *line = errors->s, *nl;

	while (line != NULL && *line != '\0') {
		const char *level = "Error";
		char *cut;
		size_t len;
		struct str out;

		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		str_init(&out, len + 16);
		str_append_n(&out, line, len);
		if ((cut = strstr(out.s, ": error: ")) != NULL)
			memmove(cut + 2, cut + 9, strlen(cut + 9) + 1);
		else if ((cut = strstr(out.s, ": warning: ")) != NULL) {
			memmove(cut + 2, cut + 11, strlen(cut + 11) + 1);
			level = "Warning";
		}
		out.len = strlen(out.s);
		if (out.len > 0 && out.s[out.len - 1] == '.')
			str_truncate(&out, out.len - 1);
		if (out.len > 0)
			fprintf(stderr, "doveadm(%s): %s: sieve: %s\n", ds->user, level, out.s);
		str_deinit(&out);
		line = nl != NULL ? nl + 1 : NULL;
	}
}

/* fail - one storage error as Pigeonhole words it; the exit status */
static int
fail(const struct dsieve *ds, const char *what, const char *name,
    const struct sieve_storage_error *err)
{
	if (err->code != NULL && strcmp(err->code, "NONEXISTENT") == 0) {
		fprintf(stderr, "doveadm(%s): Error: Failed to %s Sieve script: Sieve script "
		    "`%s' not found\n", ds->user, what, name);
		return DOVEADM_EX_NOTFOUND;
	}
	if (err->code != NULL && strcmp(err->code, "ACTIVE") == 0) {
		fprintf(stderr, "doveadm(%s): Error: Failed to %s Sieve script: Cannot delete the "
		    "active Sieve script.\n", ds->user, what);
		return DOVEADM_EX_DATAERR;
	}
	if (err->code != NULL && strcmp(err->code, "ALREADYEXISTS") == 0) {
		fprintf(stderr, "doveadm(%s): Error: Failed to %s Sieve script: A sieve script "
		    "with that name already exists.\n", ds->user, what);
		return DOVEADM_EX_DATAERR;
	}
	fprintf(stderr, "doveadm(%s): Error: Failed to %s Sieve script: %s\n", ds->user, what,
	    err->text);
	return DOVEADM_EX_TEMPFAIL;
}

/* name_ok - Pigeonhole refuses a bad name before touching the storage */
static bool
name_ok(const char *name)
{
	if (sieve_storage_name_ok(name))
		return true;
	fprintf(stderr, "Fatal: Sieve script name not valid: %s\n", name);
	return false;
}

static int
cmd_list(struct dsieve *ds)
{
	struct sieve_storage_error err = { 0 };
	struct strvec names;
	long active;
	size_t i;
	int rc = 0;

	strvec_init(&names);
	if (sieve_storage_list(&ds->st, &names, &active, &err) != 0)
		rc = fail(ds, "list", "", &err);
	for (i = 0; rc == 0 && i < names.n; i++)
		printf("%s%s%s %s\n", ds->all ? ds->user : "", ds->all ? " " : "", names.v[i],
		    (long)i == active ? "ACTIVE" : "");
	strvec_deinit(&names);
	return rc;
}

/* read_script - standard input, up to the size limit: read once, before
 * any user (with -A every user gets the same script) */
static int
read_script(size_t max, struct str *out)
{
	char buf[8192];
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "doveadm: Error: read(stdin) failed: %s\n", strerror(errno));
			return DOVEADM_EX_TEMPFAIL;
		}
		if (out->len + (size_t)n > max) {
			fprintf(stderr, "doveadm: Error: Failed to save Sieve script: the script is "
			    "too large (max %zu bytes)\n", max);
			return DOVEADM_EX_DATAERR;
		}
		str_append_n(out, buf, (size_t)n);
	}
	return 0;
}

static int
cmd_put(struct dsieve *ds, const char *name, bool activate)
{
	struct sieve_storage_error err = { 0 };
	const struct str *text = ds->text;
	struct str errors;
	int rc = 0;

	str_init(&errors, 256);
	if (!sieve_storage_check(name, text->s, text->len, &ds->cfg.limits, &ds->cfg.exts,
	    &errors)) {
		print_errors(ds, &errors);
		rc = DOVEADM_EX_DATAERR;
		goto out;
	}
	print_errors(ds, &errors);	/* warnings */
	str_reset(&errors);
	if (sieve_storage_put(&ds->st, name, text->s, text->len, &ds->cfg.limits, &ds->cfg.exts,
	    &errors, &err) != 0)
		rc = fail(ds, "save", name, &err);
	else if (activate && sieve_storage_activate(&ds->st, name, &err) != 0)
		rc = fail(ds, "activate", name, &err);
out:
	str_deinit(&errors);
	return rc;
}

static int
cmd_get(struct dsieve *ds, const char *name)
{
	struct sieve_storage_error err = { 0 };
	struct str text;
	int rc = 0;

	if (!name_ok(name))
		return DOVEADM_EX_DATAERR;
	str_init(&text, 4096);
	if (sieve_storage_get(&ds->st, name, &text, &err) != 0)
		rc = fail(ds, "open", name, &err);
	else {
		/* doveadm's pager formatter: records apart by a form feed, the
		 * user first with -A, then the field's title and the text */
		if (ds->all)
			printf("%s%s\n", ds->nth > 0 ? "\f\n" : "", ds->user);
		fputs("sieve script:\n", stdout);
		fwrite(text.s, 1, text.len, stdout);
	}
	str_deinit(&text);
	return rc;
}

/* cmd_activate - as Pigeonhole: a script that does not compile is not
 * made active */
static int
cmd_activate(struct dsieve *ds, const char *name)
{
	struct sieve_storage_error err = { 0 };
	struct str text, errors;
	int rc = 0;

	if (!name_ok(name))
		return DOVEADM_EX_DATAERR;
	str_init(&text, 4096);
	str_init(&errors, 256);
	if (sieve_storage_get(&ds->st, name, &text, &err) != 0)
		rc = fail(ds, "activate", name, &err);
	else if (!sieve_storage_check(name, text.s, text.len, &ds->cfg.limits, &ds->cfg.exts,
	    &errors)) {
		print_errors(ds, &errors);
		rc = DOVEADM_EX_DATAERR;
	} else if (sieve_storage_activate(&ds->st, name, &err) != 0)
		rc = fail(ds, "activate", name, &err);
	str_deinit(&text);
	str_deinit(&errors);
	return rc;
}

static int
cmd_delete(struct dsieve *ds, int argc, char **argv, bool force)
{
	struct sieve_storage_error err = { 0 };
	struct strvec names;
	long active;
	int i, rc = 0;

	for (i = 0; i < argc; i++) {
		if (!name_ok(argv[i])) {
			rc = DOVEADM_EX_DATAERR;
			continue;
		}
		if (force) {
			/* -a: the active script goes too, deactivated first */
			strvec_init(&names);
			if (sieve_storage_list(&ds->st, &names, &active, &err) == 0 && active >= 0 &&
			    strcmp(names.v[active], argv[i]) == 0 &&
			    sieve_storage_activate(&ds->st, "", &err) != 0) {
				rc = fail(ds, "deactivate", argv[i], &err);
				strvec_deinit(&names);
				continue;
			}
			strvec_deinit(&names);
		}
		if (sieve_storage_delete(&ds->st, argv[i], &err) != 0)
			rc = fail(ds, "delete", argv[i], &err);
	}
	return rc;
}

static int
cmd_rename(struct dsieve *ds, const char *from, const char *to)
{
	struct sieve_storage_error err = { 0 };

	if (!name_ok(from) || !name_ok(to))
		return DOVEADM_EX_DATAERR;
	if (sieve_storage_rename(&ds->st, from, to, &err) != 0)
		return fail(ds, "rename", from, &err);
	return 0;
}

/* dsieve_run - one subcommand for one user, already that user */
static int
dsieve_run(struct dsieve *ds, const char *sub, int argc, char **argv, bool flag_a)
{
	struct sieve_storage_error err = { 0 };

	if (strcmp(sub, "list") == 0 && argc == 0)
		return cmd_list(ds);
	if (strcmp(sub, "put") == 0 && argc == 1)
		return name_ok(argv[0]) ? cmd_put(ds, argv[0], flag_a) : DOVEADM_EX_DATAERR;
	if (strcmp(sub, "get") == 0 && argc == 1)
		return cmd_get(ds, argv[0]);
	if (strcmp(sub, "activate") == 0 && argc == 1)
		return cmd_activate(ds, argv[0]);
	if (strcmp(sub, "deactivate") == 0 && argc == 0)
		return sieve_storage_activate(&ds->st, "", &err) == 0 ? 0 :
		    fail(ds, "deactivate", "", &err);
	if (strcmp(sub, "delete") == 0 && argc >= 1)
		return cmd_delete(ds, argc, argv, flag_a);
	if (strcmp(sub, "rename") == 0 && argc == 2)
		return cmd_rename(ds, argv[0], argv[1]);
	dsieve_usage();
	return DOVEADM_EX_USAGE;
}

/* args_ok - the subcommand's argument count, checked before any user */
static bool
args_ok(const char *sub, int argc)
{
	if (strcmp(sub, "list") == 0 || strcmp(sub, "deactivate") == 0)
		return argc == 0;
	if (strcmp(sub, "delete") == 0)
		return argc >= 1;
	if (strcmp(sub, "rename") == 0)
		return argc == 2;
	return argc == 1;
}

static bool
known_sub(const char *sub)
{
	static const char *const subs[] = { "list", "put", "get", "activate", "deactivate",
		"delete", "rename", NULL };

	for (size_t i = 0; subs[i] != NULL; i++)
		if (strcmp(sub, subs[i]) == 0)
			return true;
	return false;
}

/* one_user - become user and run the subcommand; the exit status */
static int
one_user(struct dsieve *ds, struct dovecot_conf *dc, const char *user, const char *sub,
    int argc, char **argv, bool flag_a)
{
	struct auth_client_userdb udb;
	int rc;

	if ((rc = doveadm_user_become(dc, user, &udb)) != 0)
		return rc;
	ds->user = user;
	ds->home = udb.home;
	if ((rc = dsieve_setup(ds, dc)) == 0) {
		rc = dsieve_run(ds, sub, argc, argv, flag_a);
		sieve_storage_deinit(&ds->st);
	}
	if (fflush(stdout) != 0 && rc == 0)
		rc = DOVEADM_EX_TEMPFAIL;
	ds->home = NULL;
	auth_client_userdb_deinit(&udb);
	return rc;
}

/* all_users - -A: every user of the userdb, each in a child that becomes
 * the user (a uid change cannot be undone); the first failure's status */
static int
all_users(struct dsieve *ds, struct dovecot_conf *dc, const char *sub, int argc, char **argv,
    bool flag_a)
{
	struct auth_client *auth;
	struct strvec users;
	const char *err;
	char *sock;
	bool listed = true;
	int rc = 0;

	strvec_init(&users);
	sock = path_join(dovecot_conf_get(dc, "base_dir") != NULL ?
	    dovecot_conf_get(dc, "base_dir") : "/run/dovecot", "auth-master");
	auth = auth_client_new(sock, NULL);
	free(sock);
	if (auth_client_userdb_list(auth, &users, &err) != 0) {
		fprintf(stderr, "doveadm: Error: %s\n", err);
		rc = DOVEADM_EX_TEMPFAIL;
		listed = false;
	}
	auth_client_free(&auth);
	for (size_t i = 0; listed && i < users.n; i++) {
		int st = 0, urc;
		pid_t pid;

		fflush(stdout);
		if ((pid = fork()) < 0) {
			fprintf(stderr, "doveadm: Error: fork failed: %s\n", strerror(errno));
			rc = DOVEADM_EX_TEMPFAIL;
			break;
		}
		if (pid == 0) {
			ds->nth = i;
			_exit(one_user(ds, dc, users.v[i], sub, argc, argv, flag_a));
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		urc = WIFEXITED(st) ? WEXITSTATUS(st) : DOVEADM_EX_TEMPFAIL;
		if (urc != 0 && rc == 0)
			rc = urc;	/* the others still run, as in Dovecot */
	}
	strvec_deinit(&users);
	return rc;
}

int
doveadm_sieve_cmd(const char *config_flag, int argc, char **argv)
{
	struct dovecot_conf *dc;
	struct dsieve ds;
	struct str text;
	const char *user = NULL, *sub, *err;
	bool flag_a = false, all = false;
	char *conf;
	int c, rc;

	if (strcmp(argv[0], "sieve") != 0)
		return -1;
	if (argc < 2 || !known_sub(argv[1])) {
		dsieve_usage();
		return DOVEADM_EX_USAGE;
	}
	sub = argv[1];
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+u:AS:a")) != -1) {
		switch (c) {
		case 'u': user = optarg; break;
		case 'A': all = true; break;
		case 'S': break;	/* doveadm-server socket: commands run here */
		case 'a': flag_a = true; break;
		default:
			dsieve_usage();
			return DOVEADM_EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (!args_ok(sub, argc)) {
		dsieve_usage();
		return DOVEADM_EX_USAGE;
	}
	if ((user == NULL) == !all) {
		fprintf(stderr, "doveadm sieve %s: -u USER or -A is needed\n", sub);
		dsieve_usage();
		return DOVEADM_EX_USAGE;
	}
	conf = instance_dovecot_conf(config_flag);
	dc = dovecot_conf_new();
	if (dovecot_conf_parse_file(dc, conf, 0, &err) != 0) {
		fprintf(stderr, "doveadm: Fatal: Error reading configuration: %s\n", err);
		dovecot_conf_free(&dc);
		free(conf);
		return DOVEADM_EX_TEMPFAIL;
	}
	free(conf);
	memset(&ds, 0, sizeof(ds));
	ds.all = all;
	sieve_config_init(&ds.cfg);
	dsieve_settings(&ds, dc);
	str_init(&text, 4096);
	ds.text = &text;
	rc = 0;
	if (strcmp(sub, "put") == 0 && argc == 1 && name_ok(argv[0]))
		rc = read_script(ds.cfg.limits.max_script_size, &text);
	else if (strcmp(sub, "put") == 0 && argc == 1)
		rc = DOVEADM_EX_DATAERR;
	if (rc == 0)
		rc = all ? all_users(&ds, dc, sub, argc, argv, flag_a) :
		    one_user(&ds, dc, user, sub, argc, argv, flag_a);
	str_deinit(&text);
	sieve_config_deinit(&ds.cfg);
	dovecot_conf_free(&dc);
	return rc;
}
