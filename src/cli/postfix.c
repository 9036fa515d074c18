/* postfix.c - the postfix(1) command: "postfix [-Dv] [-c DIR] verb".
 *
 * check parses main.cf and master.cf and reports, the way Postfix's daemons
 * would at start-up, values they would refuse: typed parameters (booleans,
 * numbers, times), mynetworks CIDR patterns, lookup table types, TLS and
 * alias files, and the queue directories' ownership and modes. Problems are
 * "postfix: warning: ..." or "postfix: fatal: ..." lines naming file and
 * line; the exit status is 1 when any is fatal. A clean configuration prints
 * nothing. dovecot.conf is checked by doveconf, not here.
 * start, start-fg, stop, abort, reload, status and flush are the master's
 * (src/master/master.c, master_control).
 * Tests: tests/e2e/test_postfix_check.py */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dovecot/dovecot_master.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mastercf.h"
#include "master/master.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* Where a value comes from, for messages: main.cf says "PATH, line N: ",
 * master.cf "PATH: line N: " (each file's own Postfix shape). */
struct check_ctx {
	struct maincf	*mc;		/* borrowed */
	const char	*file;		/* borrowed */
	int		 line;
	bool		 master;	/* the value is a master.cf -o override */
	unsigned	 nfatal;
};

static void __attribute__((format(printf, 3, 4)))
check_report(struct check_ctx *cx, enum log_level level, const char *fmt, ...)
{
	struct str s;
	va_list ap;

	str_init(&s, 128);
	if (cx->file != NULL)
		str_appendf(&s, cx->master ? "%s: line %d: " : "%s, line %d: ", cx->file, cx->line);
	va_start(ap, fmt);
	str_vappendf(&s, fmt, ap);
	va_end(ap);
	log_msg(level, "%s", s.s);
	if (level >= LOG_LEVEL_FATAL)
		cx->nfatal++;
	str_deinit(&s);
}

/* postfix_check_typed - a bool, number or time value, in the wording of
 * Postfix's mail_conf_bool/int/time */
static void
postfix_check_typed(struct check_ctx *cx, const struct maincf_param *p, const char *value)
{
	const char *why;
	long v = 0;

	if (maincf_check_value(p, value, &why))
		return;
	switch (p->type) {
	case MAINCF_BOOL:
		check_report(cx, LOG_LEVEL_FATAL, "bad boolean configuration: %s = %s", p->name,
		    value);
		break;
	case MAINCF_INT:
	case MAINCF_SIZE:
		if (maincf_parse_long(value, &v))
			check_report(cx, LOG_LEVEL_FATAL, "invalid %s parameter value %ld < %ld",
			    p->name, v, p->min);
		else
			check_report(cx, LOG_LEVEL_FATAL, "bad numerical configuration: %s = %s",
			    p->name, value);
		break;
	case MAINCF_TIME:
		if (maincf_parse_time(value, p->unit, &v))
			check_report(cx, LOG_LEVEL_FATAL, "invalid %s: %ld (min %ld)", p->name, v,
			    p->min);
		else
			check_report(cx, LOG_LEVEL_FATAL, "parameter %s: bad time value or unit: %s",
			    p->name, value);
		break;
	default:
		check_report(cx, LOG_LEVEL_FATAL, "%s: %s = %s", why, p->name, value);
		break;
	}
}

/* postfix_table_type_known - the lookup table types yubin provides */
static bool
postfix_table_type_known(const char *type)
{
	static const char *const known[] = { "hash", "btree", "cdb", "lmdb", "texthash",
		"regexp", "pcre", "inline", "static", "unix", "proxy", NULL };
	size_t i;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(known[i], type) == 0)
			return true;
	return false;
}

/* postfix_check_table - "type:name": the type must be one yubin knows;
 * for alias tables the source file of an indexed table must exist */
static void
postfix_check_table(struct check_ctx *cx, const char *param, const char *item, bool source)
{
	const char *colon = strchr(item, ':');
	char *type;

	if (colon == NULL)
		return;
	type = xstrndup(item, (size_t)(colon - item));
	if (strcmp(type, "proxy") == 0 && strchr(colon + 1, ':') != NULL) {
		postfix_check_table(cx, param, colon + 1, source);
	} else if (strcmp(type, "nis") == 0) {
		check_report(cx, LOG_LEVEL_WARN, "%s: unsupported dictionary type: %s "
		    "(accepted for compatibility; lookups find nothing)", param, type);
	} else if (!postfix_table_type_known(type)) {
		check_report(cx, LOG_LEVEL_FATAL, "unsupported dictionary type: %s", type);
	} else if (source && colon[1] == '/' &&
	    (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0 ||
	     strcmp(type, "cdb") == 0 || strcmp(type, "lmdb") == 0 ||
	     strcmp(type, "texthash") == 0) &&
	    access(colon + 1, R_OK) != 0) {
		check_report(cx, LOG_LEVEL_WARN, "%s: open %s: %s", param, colon + 1,
		    strerror(errno));
	}
	free(type);
}

/* postfix_is_table_item - a list item that names a table, not a pattern */
static bool
postfix_is_table_item(const char *item)
{
	if (*item == '!')
		item++;
	return item[0] != '[' && item[0] != '/' && item[0] != '{' && item[0] != '$' &&
	    strchr(item, ':') != NULL;
}

/* postfix_check_restrictions - tables given to check_*_access, and bare
 * tables, in an smtpd_*_restrictions list */
static void
postfix_check_restrictions(struct check_ctx *cx, const char *param, const struct strvec *items)
{
	size_t i;

	for (i = 0; i < items->n; i++) {
		const char *it = items->v[i];
		size_t n = strlen(it);

		if (strcmp(it, "check_policy_service") == 0) {
			i++;	/* a service endpoint (inet:, unix:), not a table */
		} else if (strncmp(it, "check_", 6) == 0 && n > 7 &&
		    strcmp(it + n - 7, "_access") == 0) {
			if (i + 1 < items->n && postfix_is_table_item(items->v[i + 1]))
				postfix_check_table(cx, param, items->v[++i], false);
		} else if (postfix_is_table_item(it)) {
			postfix_check_table(cx, param, it, false);
		}
	}
}

/* postfix_check_ipv4 / _ipv6 - host bits beyond the mask must be zero */
static void
postfix_cidr_suggest(struct check_ctx *cx, const char *param, int family, const char *addr,
    const char *mask, unsigned char *bytes, int bits)
{
	int len = family == AF_INET ? 4 : 16, i;
	bool nonnull = false;
	char buf[INET6_ADDRSTRLEN];

	for (i = 0; i < len; i++) {
		int keep = bits - i * 8;
		unsigned char m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));

		if (bytes[i] & ~m)
			nonnull = true;
		bytes[i] &= m;
	}
	if (!nonnull)
		return;
	inet_ntop(family, bytes, buf, sizeof(buf));
	check_report(cx, LOG_LEVEL_FATAL, "%s: non-null host address bits in \"%s/%s\", "
	    "perhaps you should use \"%s%s%s/%d\" instead", param, addr, mask,
	    family == AF_INET6 ? "[" : "", buf, family == AF_INET6 ? "]" : "", bits);
}

/* postfix_check_cidr - "a.b.c.d/n" or "[ipv6]/n" as cidr_match_parse */
static void
postfix_check_cidr(struct check_ctx *cx, const char *param, const char *item)
{
	const char *slash = strrchr(item, '/');
	char *addr;
	const char *mask = slash + 1;
	unsigned char bytes[16];
	int family, bits;
	size_t alen;

	alen = (size_t)(slash - item);
	if (item[0] == '[') {
		if (alen < 2 || item[alen - 1] != ']') {
			check_report(cx, LOG_LEVEL_FATAL, "%s: bad address pattern: \"%s\"", param,
			    item);
			return;
		}
		addr = xstrndup(item + 1, alen - 2);
	} else {
		addr = xstrndup(item, alen);
	}
	family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (*mask == '\0' || strspn(mask, "0123456789") != strlen(mask) || strlen(mask) > 3) {
		check_report(cx, LOG_LEVEL_FATAL, "%s: bad mask value in \"%s/%s\"", param, addr,
		    mask);
	} else if ((bits = atoi(mask)) > (family == AF_INET ? 32 : 128)) {
		check_report(cx, LOG_LEVEL_FATAL, "%s: bad mask length in \"%s/%s\"", param, addr,
		    mask);
	} else if (inet_pton(family, addr, bytes) != 1) {
		check_report(cx, LOG_LEVEL_FATAL, "%s: bad network value in \"%s/%s\"", param, addr,
		    mask);
	} else {
		postfix_cidr_suggest(cx, param, family, addr, mask, bytes, bits);
	}
	free(addr);
}

/* postfix_is_table_name - "type:name" rather than an IPv6 address or
 * network ("fe80::/10" has a colon too) */
static bool
postfix_is_table_name(const char *item)
{
	size_t n = strcspn(item, ":/[");
	unsigned char bytes[16];
	char *addr;
	bool v6;

	if (item[n] != ':' || n == 0)
		return false;
	addr = xstrndup(item, strcspn(item, "/"));
	v6 = inet_pton(AF_INET6, addr, bytes) == 1;
	free(addr);
	return !v6;
}

/* postfix_check_networks - mynetworks items: CIDR, [ipv6], address, host
 * name, /file/name or type:table; "!" negates */
static void
postfix_check_networks(struct check_ctx *cx, const char *param, const struct strvec *items)
{
	size_t i;

	for (i = 0; i < items->n; i++) {
		const char *it = items->v[i];
		unsigned char bytes[16];

		if (*it == '!')
			it++;
		if (postfix_is_table_name(it)) {
			postfix_check_table(cx, param, it, false);
		} else if (*it == '/') {
			if (access(it, R_OK) != 0)
				check_report(cx, LOG_LEVEL_WARN, "%s: open %s: %s", param, it,
				    strerror(errno));
		} else if (strchr(it, '/') != NULL) {
			postfix_check_cidr(cx, param, it);
		} else if (*it == '[') {
			size_t n = strlen(it);
			char *a = n >= 2 && it[n - 1] == ']' ? xstrndup(it + 1, n - 2) : NULL;

			if (a == NULL || (inet_pton(AF_INET6, a, bytes) != 1 &&
			    inet_pton(AF_INET, a, bytes) != 1))
				check_report(cx, LOG_LEVEL_FATAL, "%s: bad address pattern: \"%s\"",
				    param, it);
			free(a);
		} else if (inet_pton(AF_INET6, it, bytes) == 1) {
			/* a bare IPv6 address */
		} else if (strspn(it, "0123456789.") == strlen(it)) {
			if (inet_pton(AF_INET, it, bytes) != 1)
				check_report(cx, LOG_LEVEL_FATAL, "%s: bad address pattern: \"%s\"",
				    param, it);
		} else {
			const char *c;

			for (c = it; *c != '\0'; c++)
				if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_')
					break;
			if (*c != '\0')
				check_report(cx, LOG_LEVEL_FATAL, "%s: bad address pattern: \"%s\"",
				    param, it);
		}
	}
}

/* postfix_ends_with - does s end with suffix? */
static bool
postfix_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* postfix_is_table_list - parameters whose list items may be tables */
static bool
postfix_is_table_list(const char *name)
{
	static const char *const lists[] = { "alias_database", "mydestination", "relay_domains",
		"virtual_alias_domains", "virtual_mailbox_domains", "permit_mx_backup_networks",
		"debug_peer_list", "smtpd_client_event_limit_exceptions", NULL };
	size_t i;

	if (postfix_ends_with(name, "_maps") || postfix_ends_with(name, "_checks") ||
	    (strncmp(name, "authorized_", 11) == 0 && postfix_ends_with(name, "_users")))
		return true;
	for (i = 0; lists[i] != NULL; i++)
		if (strcmp(lists[i], name) == 0)
			return true;
	return false;
}

/* postfix_check_file - a file a parameter names must be readable */
static void
postfix_check_file(struct check_ctx *cx, const char *name, const char *value)
{
	if (*value == '\0' || access(value, R_OK) == 0)
		return;
	check_report(cx, LOG_LEVEL_FATAL, "%s: cannot open %s: %s", name, value, strerror(errno));
}

/* postfix_check_param - every check that applies to one parameter value;
 * restriction_class says the name is listed in smtpd_restriction_classes */
static void
postfix_check_param(struct check_ctx *cx, const char *name, const char *raw,
    bool restriction_class)
{
	const struct maincf_param *p = maincf_param_find(name);
	struct strvec items;
	struct str val;
	const char *err;

	str_init(&val, 128);
	if (maincf_expand(cx->mc, raw, &val, &err) < 0) {
		check_report(cx, LOG_LEVEL_FATAL, "%s: %s", name, err);
		str_deinit(&val);
		return;
	}
	if (p != NULL && (p->type == MAINCF_BOOL || p->type == MAINCF_INT ||
	    p->type == MAINCF_SIZE || p->type == MAINCF_TIME))
		postfix_check_typed(cx, p, val.s);

	strvec_init(&items);
	maincf_list_split(val.s, &items);
	if (strcmp(name, "mynetworks") == 0) {
		postfix_check_networks(cx, name, &items);
	} else if (postfix_ends_with(name, "_restrictions") || restriction_class) {
		postfix_check_restrictions(cx, name, &items);
	} else if (postfix_is_table_list(name)) {
		bool source = strcmp(name, "alias_maps") == 0 || strcmp(name, "alias_database") == 0;
		size_t i;

		for (i = 0; i < items.n; i++)
			if (postfix_is_table_item(items.v[i]))
				postfix_check_table(cx, name, items.v[i], source);
	}
	if (strcmp(name, "smtpd_tls_cert_file") == 0 || strcmp(name, "smtpd_tls_key_file") == 0 ||
	    strcmp(name, "smtpd_tls_CAfile") == 0)
		postfix_check_file(cx, name, val.s);
	strvec_deinit(&items);
	str_deinit(&val);
}

/* postfix_check_main - each effective main.cf setting */
static void
postfix_check_main(struct maincf *mc, struct check_ctx *cx)
{
	const struct maincf_entry *e;
	struct strvec classes;
	struct str val;
	const char *err;
	size_t i, n;

	strvec_init(&classes);
	str_init(&val, 64);
	if (maincf_get(mc, "smtpd_restriction_classes", &val, &err) == 0)
		maincf_list_split(val.s, &classes);
	e = maincf_entries(mc, &n);
	for (i = 0; i < n; i++) {
		if (maincf_line(mc, e[i].name) != e[i].line)
			continue;	/* a later setting wins */
		cx->line = e[i].line;
		postfix_check_param(cx, e[i].name, e[i].value,
		    strvec_contains(&classes, e[i].name));
	}
	str_deinit(&val);
	strvec_deinit(&classes);
}

/* postfix_check_master - master.cf syntax, the master's checks, and the
 * values of -o overrides */
static void
postfix_check_master(struct maincf *mc, const char *dir, struct check_ctx *cx)
{
	struct mastercf *ms = mastercf_new();
	struct strvec errors, warnings;
	const struct mastercf_service *s;
	const char *err;
	char *path = path_join(dir, "master.cf");
	size_t i, j, n;
	int rc;

	rc = mastercf_load(ms, path, &err);
	for (i = 0; i < mastercf_warnings(ms)->n; i++)
		log_warn("%s", mastercf_warnings(ms)->v[i]);
	if (rc < 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		cx->nfatal++;
		goto out;
	}
	strvec_init(&errors);
	strvec_init(&warnings);
	mastercf_validate(ms, &errors, &warnings);
	for (i = 0; i < warnings.n; i++)
		log_warn("%s", warnings.v[i]);
	for (i = 0; i < errors.n; i++) {
		log_msg(LOG_LEVEL_FATAL, "%s", errors.v[i]);
		cx->nfatal++;
	}
	strvec_deinit(&errors);
	strvec_deinit(&warnings);

	cx->file = path;
	cx->master = true;
	s = mastercf_services(ms, &n);
	for (i = 0; i < n; i++) {
		cx->line = s[i].line;
		for (j = 0; j < s[i].nopts; j++) {
			maincf_note_reference(mc, s[i].opts[j].value);
			postfix_check_param(cx, s[i].opts[j].name, s[i].opts[j].value, false);
		}
	}
out:
	mastercf_free(&ms);
	free(path);
}

/* postfix_check_dir - one queue directory: exists, owned by mail_owner
 * (when we can tell, as root), not group or world writable (maildrop may be
 * group writable by setgid_group, as Postfix's postfix-files has it) */
static void
postfix_check_dir(struct check_ctx *cx, const char *path, bool maildrop, const struct passwd *pw,
    const struct group *gr)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		check_report(cx, LOG_LEVEL_WARN, "missing queue directory: %s (%s)", path,
		    strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		check_report(cx, LOG_LEVEL_FATAL, "not a directory: %s", path);
		return;
	}
	if (pw != NULL && st.st_uid != pw->pw_uid)
		check_report(cx, LOG_LEVEL_WARN, "not owned by %s: %s", pw->pw_name, path);
	if (maildrop) {
		if (st.st_mode & S_IWOTH)
			check_report(cx, LOG_LEVEL_WARN, "group or other writable: %s", path);
		else if ((st.st_mode & S_IWGRP) && gr != NULL && st.st_gid != gr->gr_gid)
			check_report(cx, LOG_LEVEL_WARN, "not owned by group %s: %s", gr->gr_name,
			    path);
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		check_report(cx, LOG_LEVEL_WARN, "group or other writable: %s", path);
	}
}

/* postfix_check_queue - queue_directory and its subdirectories */
static void
postfix_check_queue(struct maincf *mc, struct check_ctx *cx)
{
	static const char *const subdirs[] = { "incoming", "active", "deferred", "hold",
		"corrupt", "maildrop", "bounce", "defer", "trace", "flush", NULL };
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	struct str qdir, owner, group;
	const char *err;
	struct stat st;
	size_t i;

	cx->file = NULL;
	str_init(&qdir, 64);
	str_init(&owner, 16);
	str_init(&group, 16);
	if (maincf_get(mc, "queue_directory", &qdir, &err) < 0 ||
	    maincf_get(mc, "mail_owner", &owner, &err) < 0 ||
	    maincf_get(mc, "setgid_group", &group, &err) < 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		cx->nfatal++;
		goto out;
	}
	if (stat(qdir.s, &st) != 0) {
		log_warn("no queue directory %s: %s (it is created at start)", qdir.s,
		    strerror(errno));
		goto out;
	}
	if (geteuid() == 0) {
		/* ownership is only meaningful when we could have set it */
		if ((pw = getpwnam(owner.s)) == NULL)
			log_warn("mail_owner: unknown user name value: %s", owner.s);
		gr = getgrnam(group.s);
	}
	for (i = 0; subdirs[i] != NULL; i++) {
		char *sub = path_join(qdir.s, subdirs[i]);

		postfix_check_dir(cx, sub, strcmp(subdirs[i], "maildrop") == 0, pw, gr);
		free(sub);
	}
out:
	str_deinit(&qdir);
	str_deinit(&owner);
	str_deinit(&group);
}

/* postfix_check - "postfix check": 0, or 1 when anything was fatal */
static int
postfix_check(const char *dir)
{
	struct maincf *mc = maincf_new(dir);
	struct check_ctx cx = { .mc = mc };
	const char *err;

	if (maincf_load(mc, &err) < 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		maincf_free(&mc);
		return 1;
	}
	cx.file = maincf_path(mc);
	postfix_check_main(mc, &cx);
	postfix_check_master(mc, dir, &cx);
	postfix_check_queue(mc, &cx);
	maincf_free(&mc);
	return cx.nfatal > 0 ? 1 : 0;
}

static int
postfix_usage(void)
{
	log_msg(LOG_LEVEL_FATAL, "usage: postfix [-c config_dir] [-Dv] command");
	return 1;
}

int
cmd_postfix(int argc, char **argv)
{
	static const char *const verbs[] = { "start", "start-fg", "stop", "reload", "abort",
		"status", "flush", NULL };
	const char *flag_dir = NULL, *cmd;
	int ch, verbose = 0;
	size_t i;

	optind = 1;
	while ((ch = getopt(argc, argv, "+c:Dv")) != -1) {
		switch (ch) {
		case 'c':
			flag_dir = optarg;
			break;
		case 'D':
			break;
		case 'v':
			log_set_verbose(++verbose);
			break;
		default:
			return postfix_usage();
		}
	}
	if (optind >= argc)
		return postfix_usage();
	cmd = argv[optind];
	if (strcmp(cmd, "check") == 0) {
		if (optind + 1 < argc) {
			log_msg(LOG_LEVEL_FATAL, "usage postfix check (no arguments)");
			return 1;
		}
		return postfix_check(instance_config_dir(flag_dir));
	}
	for (i = 0; verbs[i] != NULL; i++)
		if (strcmp(cmd, verbs[i]) == 0)
			return master_control(instance_config_dir(flag_dir), cmd, argc - optind - 1,
			    argv + optind + 1);
	log_msg(LOG_LEVEL_FATAL, "unknown command: '%s'. Usage: postfix start (or stop, reload, "
	    "abort, flush, check, status)", cmd);
	return 1;
}

/* cmd_yubin_control - "yubin start|stop [-c DIR]": the same as postfix's verbs */
int
cmd_yubin_control(int argc, char **argv)
{
	const char *flag_dir = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch != 'c') {
			log_msg(LOG_LEVEL_FATAL, "usage: yubin %s [-c config_dir]", argv[0]);
			return 1;
		}
		flag_dir = optarg;
	}
	{
		/* both halves: the MTA, and the retrieval side when the instance
		 * has a dovecot.conf (either half also runs alone: postfix start,
		 * dovecot) */
		const char *dir = instance_config_dir(flag_dir);
		char *dconf = path_join(dir, "dovecot.conf");
		int ret = master_control(dir, argv[0], argc - optind, argv + optind);

		if (access(dconf, F_OK) == 0) {
			const char *err;
			pid_t running = dovecot_master_pid(dconf, &err);

			if (strcmp(argv[0], "start") == 0 && running == 0)
				ret |= dovecot_master_start(dconf, 0) != 0;
			else if (strcmp(argv[0], "stop") == 0 && running > 0)
				ret |= dovecot_master_signal(dconf, "stop") != 0;
		}
		free(dconf);
		return ret;
	}
}
