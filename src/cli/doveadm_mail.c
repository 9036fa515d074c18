/* doveadm_mail.c - doveadm's process and mailbox commands for the
 * retrieval half: who, kick, stop, reload, and mailbox list | create |
 * delete | rename | status -u USER. Sessions are the files that session
 * processes leave in $base_dir/sessions/ (src/login/login_session.c;
 * "PID.ID" for a client in the imap-hibernate process PID);
 * users and their mail location come from the auth service's userdb; the
 * mailbox commands run as the user, as Dovecot's doveadm does.
 * Mailboxes other than INBOX are Maildir++ folders (~/Maildir/.NAME).
 * Tests: tests/e2e/test_doveadm.py */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "cli/doveadm_mail.h"
#include "dovecot/dovecot_master.h"
#include "imap/imap_index.h"
#include "imap/imap_search.h"
#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "login/login.h"
#include "storage/mail_location.h"
#include "storage/mailbox.h"

#define EX_USAGE_	64
#define EX_NOUSER_	67
#define EX_TEMPFAIL_	75
#define EX_NOTFOUND_	68	/* doveadm's DOVEADM_EX_NOTFOUND */

struct who_row {
	char	*user;
	char	*proto;
	char	*ip;
	struct strvec pids;
	size_t	 count;		/* connections */
};

/* entry_name_ok - "PID" or "PID.ID" (a file being written is "NAME.tmp") */
static bool
entry_name_ok(const char *name)
{
	size_t n = strspn(name, "0123456789"), m;

	if (n == 0)
		return false;
	if (name[n] == '\0')
		return true;
	m = name[n] == '.' ? strspn(name + n + 1, "0123456789") : 0;
	return m > 0 && name[n + 1 + m] == '\0';
}

/* doveadm_sessions - live sessions from $base_dir/sessions: each entry a
 * "NAME\tuser\tproto\trip" string, NAME the file's name: "PID" for a
 * session process, "PID.ID" for a client hibernated in the
 * imap-hibernate process PID (login.h); *dir_r the directory (owned) */
static int
doveadm_sessions(const char *conf_path, struct strvec *out, char **dir_r)
{
	const char *err;
	char *base = dovecot_base_dir(conf_path, &err), *dir;
	struct dirent *de;
	struct str data;
	DIR *d;

	if (base == NULL) {
		fprintf(stderr, "Error: %s\n", err);
		return -1;
	}
	dir = path_join(base, "sessions");
	free(base);
	str_init(&data, 256);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *path;
			long pid = atol(de->d_name);
			char *f[4], *p;
			int n;

			if (!entry_name_ok(de->d_name) || pid <= 0 || !login_session_alive(de->d_name))
				continue;
			path = path_join(dir, de->d_name);
			str_reset(&data);
			if (file_read(path, 4096, &data) == 0) {
				for (p = data.s, n = 0; n < 4 && p != NULL; n++) {
					f[n] = p;
					p = strpbrk(p, "\t\n");
					if (p != NULL)
						*p++ = '\0';
				}
				if (n == 4)
					strvec_push_take(out, xasprintf("%s\t%s\t%s\t%s", de->d_name, f[0],
					    f[1], f[2]));
			}
			free(path);
		}
		closedir(d);
	}
	str_deinit(&data);
	if (dir_r != NULL)
		*dir_r = dir;
	else
		free(dir);
	return 0;
}

static int
doveadm_who(const char *conf_path, int argc, char **argv)
{
	struct strvec s;
	struct who_row *rows = NULL;
	size_t i, i2, j, nrows = 0;
	const char *mask = argc > 0 ? argv[argc - 1] : NULL;

	strvec_init(&s);
	if (doveadm_sessions(conf_path, &s, NULL) != 0)
		return EX_TEMPFAIL_;
	strvec_sort(&s);
	/* one row per user, protocol and address, as doveadm who groups */
	for (i = 0; i < s.n; i++) {
		char *f[4], *p = s.v[i];
		int n;

		for (n = 0; n < 4; n++) {
			f[n] = p;
			p = strchr(p, '\t');
			if (p != NULL)
				*p++ = '\0';
			else
				break;
		}
		if (mask != NULL && mask[0] != '-' && strcmp(mask, f[1]) != 0)
			continue;
		for (j = 0; j < nrows; j++)
			if (strcmp(rows[j].user, f[1]) == 0 && strcmp(rows[j].proto, f[2]) == 0 &&
			    strcmp(rows[j].ip, f[3]) == 0)
				break;
		if (j == nrows) {
			rows = xreallocarray(rows, nrows + 1, sizeof(*rows));
			rows[j].user = f[1];
			rows[j].proto = f[2];
			rows[j].ip = f[3];
			rows[j].count = 0;
			strvec_init(&rows[j].pids);
			nrows++;
		}
		/* a connection each; its process's pid once, as Dovecot lists
		 * the imap-hibernate process once for all its clients */
		rows[j].count++;
		if ((p = strchr(f[0], '.')) != NULL)
			*p = '\0';
		for (i2 = 0; i2 < rows[j].pids.n; i2++)
			if (strcmp(rows[j].pids.v[i2], f[0]) == 0)
				break;
		if (i2 == rows[j].pids.n)
			strvec_push(&rows[j].pids, f[0]);
	}
	printf("%-16s # %-5s %-20s %s\n", "username", "proto", "(pids)", "(ips)");
	for (j = 0; j < nrows; j++) {
		struct str pids;

		str_init(&pids, 64);
		str_append_c(&pids, '(');
		for (i = 0; i < rows[j].pids.n; i++)
			str_appendf(&pids, "%s%s", i > 0 ? " " : "", rows[j].pids.v[i]);
		str_append_c(&pids, ')');
		printf("%-16s %zu %-5s %-20s (%s)\n", rows[j].user, rows[j].count, rows[j].proto,
		    pids.s, rows[j].ip);
		str_deinit(&pids);
		strvec_deinit(&rows[j].pids);
	}
	free(rows);
	strvec_deinit(&s);
	return 0;
}

static int
doveadm_kick(const char *conf_path, int argc, char **argv)
{
	struct strvec s;
	size_t i, kicked = 0;
	struct str names;
	char *dir = NULL;

	if (argc < 1) {
		fprintf(stderr, "doveadm kick: user mask or IP address needed\n");
		return EX_USAGE_;
	}
	strvec_init(&s);
	str_init(&names, 64);
	if (doveadm_sessions(conf_path, &s, &dir) != 0)
		return EX_TEMPFAIL_;
	for (i = 0; i < s.n; i++) {
		bool done;
		char *f[4], *p = s.v[i];
		int n;

		for (n = 0; n < 4 && p != NULL; n++) {
			f[n] = p;
			p = strchr(p, '\t');
			if (p != NULL)
				*p++ = '\0';
		}
		if (n < 4 || (strcmp(f[1], argv[0]) != 0 && strcmp(f[3], argv[0]) != 0))
			continue;
		if (strchr(f[0], '.') != NULL) {
			/* a hibernated client: its entry goes, and the
			 * imap-hibernate process, told, drops the clients
			 * whose entries are gone (the others stay) */
			done = login_session_remove(dir, f[0]);
			if (done)
				(void)kill((pid_t)atol(f[0]), SIGUSR1);
		} else {
			done = kill((pid_t)atol(f[0]), SIGTERM) == 0;
		}
		if (done) {
			kicked++;
			if (strstr(names.s, f[1]) == NULL)
				str_appendf(&names, "%s%s", names.len > 0 ? ", " : "", f[1]);
		}
	}
	if (kicked == 0)
		printf("no users kicked\n");
	else
		printf("%s kicked\n", names.s);
	str_deinit(&names);
	strvec_deinit(&s);
	free(dir);
	return 0;
}

/* --- mailbox commands --- */

struct user_mail {
	char	*maildir;	/* the Maildir root, or NULL for mbox */
	char	*inbox;		/* mbox INBOX path, or NULL */
};

/* doveadm_user_become - see doveadm_mail.h */
int
doveadm_user_become(struct dovecot_conf *dc, const char *user, struct auth_client_userdb *udb)
{
	struct auth_client *auth;
	const char *err;
	char *sock;
	int n, ret = DOVEADM_EX_TEMPFAIL;

	memset(udb, 0, sizeof(*udb));
	sock = path_join(dovecot_conf_get(dc, "base_dir") != NULL ?
	    dovecot_conf_get(dc, "base_dir") : "/run/dovecot", "auth-master");
	auth = auth_client_new(sock, NULL);
	n = auth_client_userdb(auth, user, "doveadm", udb, &err);
	if (n <= 0) {
		if (n == 0)
			fprintf(stderr, "doveadm(%s): Error: User doesn't exist\n", user);
		else
			fprintf(stderr, "doveadm(%s): Error: userdb lookup failed: %s\n", user, err);
		ret = n == 0 ? DOVEADM_EX_NOUSER : DOVEADM_EX_TEMPFAIL;
		goto out;
	}
	if (geteuid() == 0) {
		const char *v = dovecot_conf_get(dc, "first_valid_uid");
		long first = v != NULL ? strtol(v, NULL, 10) : 500;

		/* as the login path and Dovecot: a user's files are touched with
		 * the user's uid, never as root by default */
		if (udb->uid < 0) {
			fprintf(stderr, "doveadm(%s): Error: User is missing UID (see mail_uid "
			    "setting)\n", user);
			goto out;
		}
		if (udb->uid < first || (udb->uid == 0 && first != 0)) {
			fprintf(stderr, "doveadm(%s): Error: Mail access for users with UID %ld not "
			    "permitted (see first_valid_uid in config file, uid from userdb "
			    "lookup).\n", user, udb->uid);
			goto out;
		}
	}
	if (geteuid() == 0) {
		gid_t g = udb->gid >= 0 ? (gid_t)udb->gid : (gid_t)udb->uid;

		if (setgroups(1, &g) != 0 || setgid(g) != 0 || setuid((uid_t)udb->uid) != 0) {
			fprintf(stderr, "doveadm(%s): Error: cannot become uid %ld\n", user, udb->uid);
			goto out;
		}
	}
	ret = 0;
out:
	if (ret != 0)
		auth_client_userdb_deinit(udb);
	auth_client_free(&auth);
	free(sock);
	return ret;
}

/* doveadm_user - look the user up, become them (as root), find their mail */
static int
doveadm_user(const char *conf_path, const char *user, struct user_mail *um)
{
	struct dovecot_conf *dc = dovecot_conf_new();
	struct auth_client_userdb udb;
	const char *err, *loc;
	struct mail_location ml;
	int ret;

	memset(um, 0, sizeof(*um));
	memset(&udb, 0, sizeof(udb));
	if (dovecot_conf_parse_file(dc, conf_path, 0, &err) != 0) {
		fprintf(stderr, "Error: %s\n", err);
		dovecot_conf_free(&dc);
		return EX_TEMPFAIL_;
	}
	if ((ret = doveadm_user_become(dc, user, &udb)) != 0)
		goto out;
	loc = udb.mail != NULL ? udb.mail : dovecot_conf_get(dc, "mail_location");
	/* the parser login and IMAP use (storage/mail_location.h); the
	 * mailbox commands follow Maildir++ under the root */
	if (mail_location_parse(loc, user, udb.home, &ml, &err) != 0) {
		fprintf(stderr, "Error: mail_location: %s\n", err);
		mail_location_deinit(&ml);
		ret = EX_TEMPFAIL_;
		goto out;
	}
	if (ml.format == STORAGE_MBOX) {
		um->inbox = ml.inbox;
		ml.inbox = NULL;
	} else {
		um->maildir = ml.root;
		ml.root = NULL;
	}
	mail_location_deinit(&ml);
	ret = 0;
out:
	auth_client_userdb_deinit(&udb);
	dovecot_conf_free(&dc);
	return ret;
}

/* folder_path - the Maildir++ directory of a mailbox name, or NULL for a
 * name that cannot be one */
static char *
folder_path(const struct user_mail *um, const char *name)
{
	char *p, *q;

	if (strcmp(name, "INBOX") == 0)
		return xstrdup(um->maildir);
	if (*name == '\0' || strchr(name, '.') == name || strstr(name, "..") != NULL ||
	    name[0] == '/')
		return NULL;
	p = xasprintf("%s/.%s", um->maildir, name);
	/* the hierarchy separator "/" is "." on disk in Maildir++ */
	for (q = p + strlen(um->maildir) + 2; *q != '\0'; q++)
		if (*q == '/')
			*q = '.';
	return p;
}

static int
maildir_make(const char *path)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	char *p;
	size_t i;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -1;
	for (i = 0; i < 3; i++) {
		p = path_join(path, sub[i]);
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		free(p);
	}
	p = path_join(path, "maildirfolder");
	(void)file_write_atomic(p, "", 0, 0600);
	free(p);
	return 0;
}

static void
rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct stat st;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *p;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			p = path_join(path, de->d_name);
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				rm_rf(p);
			else
				(void)unlink(p);
			free(p);
		}
		closedir(d);
	}
	(void)rmdir(path);
}

/* mailbox_status_index - a Maildir's status from the IMAP index (brought
 * up to date first, as Dovecot's doveadm syncs its index) */
static int
mailbox_status_index(const char *path, const char *name, const char *fields)
{
	struct imap_mbox_snap snap;
	const char *err;
	unsigned long long vsize = 0;
	size_t i, unseen = 0;
	bool all = strstr(fields, "all") != NULL;

	if (imap_index_sync(path, &snap, NULL, &err) != 0) {
		fprintf(stderr, "Error: Mailbox %s: %s\n", name, err);
		return EX_TEMPFAIL_;
	}
	for (i = 0; i < snap.n; i++) {
		vsize += snap.m[i].vsize;
		if (!(snap.m[i].flags & IMAP_FLAG_SEEN))
			unseen++;
	}
	/* Dovecot 2.3's order, whatever the order asked */
	printf("%s", name);
	if (all || strstr(fields, "messages") != NULL)
		printf(" messages=%zu", snap.n);
	if (all || strstr(fields, "uidnext") != NULL)
		printf(" uidnext=%u", snap.uidnext);
	if (all || strstr(fields, "uidvalidity") != NULL)
		printf(" uidvalidity=%u", snap.uidvalidity);
	if (all || strstr(fields, "unseen") != NULL)
		printf(" unseen=%zu", unseen);
	if (all || strstr(fields, "highestmodseq") != NULL)
		printf(" highestmodseq=%llu", (unsigned long long)snap.highestmodseq);
	if (all || strstr(fields, "vsize") != NULL)
		printf(" vsize=%llu", vsize);
	printf("\n");
	imap_mbox_snap_free(&snap);
	return 0;
}

static int
mailbox_status_print(const struct user_mail *um, const char *name, const char *fields)
{
	struct mailbox *mb;
	const char *err;
	char *path = um->maildir != NULL ? folder_path(um, name) : xstrdup(um->inbox);
	unsigned long long vsize = 0;
	size_t i;
	bool all = strstr(fields, "all") != NULL;
	uint32_t next = 1;

	if (path == NULL || (um->maildir == NULL && strcmp(name, "INBOX") != 0)) {
		fprintf(stderr, "Error: Mailbox %s: Mailbox doesn't exist: %s\n", name, name);
		free(path);
		return EX_NOUSER_ - 1;
	}
	if (um->maildir != NULL) {
		struct stat st;
		char *cur = path_join(path, "cur");
		int r;

		if (strcmp(name, "INBOX") != 0 && stat(cur, &st) != 0) {
			fprintf(stderr, "Error: Mailbox %s: Failed to lookup mailbox status: Mailbox "
			    "doesn't exist: %s\n", name, name);
			r = EX_NOTFOUND_;
		} else {
			r = mailbox_status_index(path, name, fields);
		}
		free(cur);
		free(path);
		return r;
	}
	if (mailbox_open(path, um->maildir != NULL ? STORAGE_MAILDIR : STORAGE_MBOX, &mb, &err) != 0) {
		fprintf(stderr, "Error: Mailbox %s: %s\n", name, err);
		free(path);
		return EX_TEMPFAIL_;
	}
	for (i = 0; i < mailbox_count(mb); i++) {
		vsize += mailbox_msg(mb, i)->vsize;
		if (mailbox_msg(mb, i)->uid >= next)
			next = mailbox_msg(mb, i)->uid + 1;
	}
	if (mailbox_uidnext(mb) > next)
		next = mailbox_uidnext(mb);	/* an mbox's X-IMAPbase: past expunged UIDs */
	printf("%s", name);
	if (all || strstr(fields, "messages") != NULL)
		printf(" messages=%zu", mailbox_count(mb));
	if (all || strstr(fields, "uidnext") != NULL)
		printf(" uidnext=%u", next);
	if (all || strstr(fields, "uidvalidity") != NULL)
		printf(" uidvalidity=%u", mailbox_uidvalidity(mb));
	if (all || strstr(fields, "vsize") != NULL)
		printf(" vsize=%llu", vsize);
	printf("\n");
	mailbox_close(&mb);
	free(path);
	return 0;
}

static int
doveadm_mailbox(const char *conf_path, int argc, char **argv)
{
	const char *user = NULL, *sub;
	struct user_mail um;
	int c, ret = 0, i;

	if (argc < 1) {
		fprintf(stderr, "usage: doveadm mailbox list|create|delete|rename|status -u USER ...\n");
		return EX_USAGE_;
	}
	sub = argv[0];
	optind = 1;
	while ((c = getopt(argc, argv, "+u:s")) != -1) {
		if (c == 'u')
			user = optarg;
	}
	if (user == NULL) {
		fprintf(stderr, "doveadm mailbox %s: -u USER is needed\n", sub);
		return EX_USAGE_;
	}
	if ((ret = doveadm_user(conf_path, user, &um)) != 0)
		return ret;
	argc -= optind;
	argv += optind;
	if (strcmp(sub, "list") == 0) {
		DIR *d;
		struct dirent *de;
		struct strvec names;

		strvec_init(&names);
		printf("INBOX\n");
		if (um.maildir != NULL && (d = opendir(um.maildir)) != NULL) {
			while ((de = readdir(d)) != NULL) {
				char *n, *q;

				if (de->d_name[0] != '.' || de->d_name[1] == '\0' || de->d_name[1] == '.')
					continue;
				n = xstrdup(de->d_name + 1);
				for (q = n; *q != '\0'; q++)
					if (*q == '.')
						*q = '/';
				strvec_push_take(&names, n);
			}
			closedir(d);
		}
		strvec_sort(&names);
		for (i = 0; (size_t)i < names.n; i++)
			printf("%s\n", names.v[i]);
		strvec_deinit(&names);
	} else if (strcmp(sub, "create") == 0 || strcmp(sub, "delete") == 0) {
		for (i = 0; i < argc; i++) {
			char *p = um.maildir != NULL ? folder_path(&um, argv[i]) : NULL;
			struct stat st;

			if (p == NULL || strcmp(argv[i], "INBOX") == 0) {
				fprintf(stderr, "Error: Can't %s mailbox %s: Invalid mailbox name\n",
				    sub, argv[i]);
				ret = EX_USAGE_ + 1;
			} else if (sub[0] == 'c') {
				if (stat(p, &st) == 0) {
					fprintf(stderr, "Error: Can't create mailbox %s: Mailbox already "
					    "exists\n", argv[i]);
					ret = EX_USAGE_ + 1;
				} else if (maildir_make(p) != 0) {
					fprintf(stderr, "Error: Can't create mailbox %s: %s\n", argv[i],
					    strerror(errno));
					ret = EX_TEMPFAIL_;
				}
			} else {
				if (stat(p, &st) != 0) {
					fprintf(stderr, "Error: Can't delete mailbox %s: Mailbox doesn't "
					    "exist: %s\n", argv[i], argv[i]);
					ret = EX_NOUSER_ - 1;
				} else {
					rm_rf(p);
				}
			}
			free(p);
		}
	} else if (strcmp(sub, "rename") == 0) {
		char *from, *to;

		if (argc != 2 || um.maildir == NULL) {
			fprintf(stderr, "usage: doveadm mailbox rename -u USER OLD NEW\n");
			ret = EX_USAGE_;
		} else {
			from = folder_path(&um, argv[0]);
			to = folder_path(&um, argv[1]);
			if (from == NULL || to == NULL || strcmp(argv[0], "INBOX") == 0 ||
			    rename(from, to) != 0) {
				fprintf(stderr, "Error: Can't rename mailbox %s to %s: %s\n", argv[0],
				    argv[1], errno != 0 ? strerror(errno) : "Invalid mailbox name");
				ret = EX_TEMPFAIL_;
			}
			free(from);
			free(to);
		}
	} else if (strcmp(sub, "status") == 0) {
		if (argc < 2) {
			fprintf(stderr, "usage: doveadm mailbox status -u USER FIELDS MAILBOX...\n");
			ret = EX_USAGE_;
		}
		for (i = 1; i < argc && ret == 0; i++)
			ret = mailbox_status_print(&um, argv[i], argv[0]);
	} else {
		fprintf(stderr, "doveadm: Unknown command 'mailbox %s'\n", sub);
		ret = EX_USAGE_;
	}
	free(um.maildir);
	free(um.inbox);
	return ret;
}

/* doveadm_force_resync - force-resync -u USER MAILBOX...: the IMAP index
 * of each mailbox thrown away and rebuilt from the Maildir */
static int
doveadm_force_resync(const char *conf_path, int argc, char **argv)
{
	const char *user = NULL, *err;
	struct user_mail um;
	int c, i, ret;

	optind = 1;
	while ((c = getopt(argc, argv, "+u:f")) != -1) {
		if (c == 'u')
			user = optarg;
	}
	if (user == NULL || optind >= argc) {
		fprintf(stderr, "usage: doveadm force-resync -u USER MAILBOX...\n");
		return EX_USAGE_;
	}
	if ((ret = doveadm_user(conf_path, user, &um)) != 0)
		return ret;
	if (um.maildir == NULL) {
		/* mbox has no yubin index: nothing to rebuild */
		free(um.inbox);
		return 0;
	}
	for (i = optind; i < argc && ret == 0; i++) {
		char *p = folder_path(&um, argv[i]);
		char *cur = p != NULL ? path_join(p, "cur") : NULL;
		struct stat st;

		if (p == NULL || stat(cur, &st) != 0) {
			/* Dovecot 2.3 says nothing and exits 0 here too */
		} else if (imap_index_rebuild(p, &err) != 0) {
			fprintf(stderr, "Error: Mailbox %s: %s\n", argv[i], err);
			ret = EX_TEMPFAIL_;
		}
		free(cur);
		free(p);
	}
	free(um.maildir);
	return ret;
}

int
doveadm_mail_cmd(const char *config_flag, int argc, char **argv)
{
	char *conf = instance_dovecot_conf(config_flag);
	int ret = -1;

	if (strcmp(argv[0], "who") == 0)
		ret = doveadm_who(conf, argc - 1, argv + 1);
	else if (strcmp(argv[0], "kick") == 0)
		ret = doveadm_kick(conf, argc - 1, argv + 1);
	else if (strcmp(argv[0], "stop") == 0 || strcmp(argv[0], "reload") == 0)
		ret = dovecot_master_signal(conf, argv[0]);
	else if (strcmp(argv[0], "mailbox") == 0)
		ret = doveadm_mailbox(conf, argc - 1, argv + 1);
	else if (strcmp(argv[0], "force-resync") == 0)
		ret = doveadm_force_resync(conf, argc, argv);
	free(conf);
	return ret;
}
