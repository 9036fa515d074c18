/* dev.c - "yubin dev [DIR] [--port-base N] [--no-wait]": a self-contained
 * development instance.
 *
 * Creates DIR (default ./var/dev) with a complete, commented configuration
 * (main.cf, master.cf, dovecot.conf, aliases, users, a self-signed
 * certificate) when files are missing, never replacing one that exists,
 * and then runs the instance in the foreground as the invoking user until
 * SIGINT or SIGTERM. The daemons arrive in later work; until then it says
 * plainly which services are not built yet. Tests: tests/e2e/test_dev.py */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/dev_config.h"
#include "dovecot/dovecot_master.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/tlscert.h"
#include "lib/util.h"
#include "master/master.h"

#define DEV_DEFAULT_DIR	"var/dev"

/* The services a dev instance offers, in the order the banner lists them. */
static const struct dev_service {
	const char	*name;
	int		 offset;	/* from the port base */
	const char	*config;	/* where it is configured */
} dev_services[] = {
	{ "smtp", DEV_PORT_SMTP, "master.cf" },
	{ "submission", DEV_PORT_SUBMISSION, "master.cf" },
	{ "smtps", DEV_PORT_SMTPS, "master.cf" },
	{ "lmtp", DEV_PORT_LMTP, "dovecot.conf" },
	{ "imap", DEV_PORT_IMAP, "dovecot.conf" },
	{ "imaps", DEV_PORT_IMAPS, "dovecot.conf" },
	{ "pop3", DEV_PORT_POP3, "dovecot.conf" },
	{ "pop3s", DEV_PORT_POP3S, "dovecot.conf" },
	{ "managesieve", DEV_PORT_SIEVE, "dovecot.conf" },
};

static void
dev_usage(FILE *fp)
{
	fprintf(fp, "usage: yubin dev [DIR] [--port-base N] [--no-wait]\n"
	    "\n"
	    "Create a development instance in DIR (default ./%s) when files are\n"
	    "missing, and run it in the foreground until Ctrl-C.\n"
	    "\n"
	    "  --port-base N  listen on 127.0.0.1, ports N+25 (smtp), N+587, N+465,\n"
	    "                 N+24 (lmtp), N+143, N+993, N+110, N+995, N+4190\n"
	    "                 (default %d)\n"
	    "  --no-wait      create the instance, print how to use it, and exit\n"
	    "                 (also --init-only)\n", DEV_DEFAULT_DIR, DEV_PORT_BASE_DEFAULT);
}

/* dev_parse_port_base - a whole decimal number whose ports all fall in
 * 1024..65535 (dev mode is unprivileged) */
static bool
dev_parse_port_base(const char *s, int *base_r)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		return false;
	if (n + DEV_PORT_MIN_OFFSET < 1024 || n + DEV_PORT_MAX_OFFSET > 65535)
		return false;
	*base_r = (int)n;
	return true;
}

/* dev_path_is_safe - the path goes unquoted into main.cf lists, $name
 * expansion and passwd-file fields, where white space, '$', ',' or ':'
 * mean something; refuse (and say why) rather than quote */
static bool
dev_path_is_safe(const char *path)
{
	if (path[strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789/._+-")] == '\0')
		return true;
	log_error("%s: use a directory whose path has only letters, digits and / . _ + - "
	    "in it (it is written into main.cf and the users file)", path);
	return false;
}

/* dev_mkdirs - mkdir -p; existing directories are fine */
static int
dev_mkdirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	int ret = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				ret = -1;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	if (ret == 0) {
		struct stat st;

		if (stat(path, &st) != 0)
			ret = -1;
		else if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			ret = -1;
		}
	}
	free(p);
	return ret;
}

/* dev_create_file - write path only when it does not exist. The data goes
 * to a temporary name first and is link(2)ed into place, so the file
 * appears complete or not at all, and a file created meanwhile by someone
 * else is never replaced (link fails with EEXIST where rename would not).
 * 1 created, 0 it existed, -1 error (errno). */
static int
dev_create_file(const char *path, const char *data, size_t len, mode_t mode)
{
	struct str tmp;
	struct stat st;
	size_t off = 0;
	int fd, ret = -1, saved;

	if (lstat(path, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	str_init(&tmp, 64);
	str_appendf(&tmp, "%s.new.%ld", path, (long)getpid());
	if ((fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		goto out;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			goto out_unlink;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		goto out_unlink;
	if (link(tmp.s, path) != 0) {
		ret = errno == EEXIST ? 0 : -1;
		goto out_unlink;
	}
	ret = 1;
out_unlink:
	saved = errno;
	unlink(tmp.s);
	errno = saved;
out:
	str_deinit(&tmp);
	return ret;
}

/* dev_hostname - this host's name when it is a plausible DNS name (it ends
 * up in main.cf and the certificate), else "localhost" */
static void
dev_hostname(char *buf, size_t size)
{
	const char *p;

	if (gethostname(buf, size) != 0 || buf[0] == '\0')
		goto fallback;
	buf[size - 1] = '\0';
	for (p = buf; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			goto fallback;
	if (buf[0] == '.' || buf[0] == '-' || strlen(buf) > 253)
		goto fallback;
	return;
fallback:
	snprintf(buf, size, "localhost");
}

struct dev_file {
	const char	*name;
	void		(*make)(struct str *, const struct dev_params *);
	mode_t		 mode;
};

static const struct dev_file dev_files[] = {
	{ "main.cf", dev_config_main_cf, 0644 },
	{ "master.cf", dev_config_master_cf, 0644 },
	{ "dovecot.conf", dev_config_dovecot_conf, 0644 },
	{ "aliases", dev_config_aliases, 0644 },
	/* holds passwords */
	{ "users", dev_config_users, 0600 },
};

static int
dev_alias_add(void *ctx, const char *key, const char *value, int line)
{
	(void)maps_writer_add(ctx, key, value);
	return 0;
}

/* dev_aliases_db - build DIR/aliases.db when it is missing or older than
 * DIR/aliases, as newaliases would: local delivery reads only the indexed
 * form. 0 or -1 (logged). */
static int
dev_aliases_db(const struct dev_params *dev)
{
	struct maps_writer *w;
	struct stat src, db;
	struct str path, text, spec;
	const char *err;
	int ret = -1;

	str_init(&path, 128);
	str_init(&text, 1024);
	str_init(&spec, 128);
	str_appendf(&path, "%s/aliases", dev->dir);
	str_appendf(&spec, "hash:%s", path.s);
	if (stat(path.s, &src) != 0) {
		ret = 0;
		goto out;
	}
	str_append(&path, ".db");
	if (stat(path.s, &db) == 0 && db.st_mtime >= src.st_mtime) {
		ret = 0;
		goto out;
	}
	str_truncate(&path, path.len - 3);
	if (file_read(path.s, MAPS_SOURCE_MAX, &text) != 0) {
		log_error("cannot read %s: %s", path.s, strerror(errno));
		goto out;
	}
	if ((w = maps_writer_new(spec.s, 0, &err)) == NULL) {
		log_error("%s", err);
		goto out;
	}
	(void)maps_source_parse(path.s, text.s, text.len, MAPS_SOURCE_ALIASES, 0, dev_alias_add, w);
	(void)maps_writer_add(w, "@", "@");
	if (maps_writer_commit(w, 0644, -1, -1, &err) != 0)
		log_error("%s", err);
	else
		ret = 0;
	maps_writer_free(&w);
out:
	str_deinit(&path);
	str_deinit(&text);
	str_deinit(&spec);
	return ret;
}

/* dev_populate - create what is missing under dev->dir; 0 or -1 (logged) */
static int
dev_populate(const struct dev_params *dev)
{
	static const struct {
		const char	*name;
		mode_t		 mode;
	} dirs[] = {
		{ "spool", 0755 }, { "data", 0700 }, { "data/dovecot", 0700 },
		{ "mail", 0755 }, { "log", 0755 }, { "run", 0755 }, { "tls", 0755 },
		{ "home", 0755 }, { "home/" DEV_USER_NAME, 0700 },
	};
	struct str path, buf;
	struct stat st;
	bool have_cert, have_key;
	size_t i;
	int ret = -1, r;

	str_init(&path, 128);
	str_init(&buf, 4096);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		str_reset(&path);
		str_appendf(&path, "%s/%s", dev->dir, dirs[i].name);
		if (dev_mkdirs(path.s, dirs[i].mode) != 0) {
			log_error("cannot create directory %s: %s", path.s, strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < sizeof(dev_files) / sizeof(dev_files[0]); i++) {
		str_reset(&path);
		str_appendf(&path, "%s/%s", dev->dir, dev_files[i].name);
		str_reset(&buf);
		dev_files[i].make(&buf, dev);
		if ((r = dev_create_file(path.s, buf.s, buf.len, dev_files[i].mode)) < 0) {
			log_error("cannot create %s: %s", path.s, strerror(errno));
			goto out;
		}
		if (r > 0)
			log_info("created %s", path.s);
	}

	if (dev_aliases_db(dev) != 0)
		goto out;

	str_reset(&path);
	str_appendf(&path, "%s/tls/cert.pem", dev->dir);
	have_cert = lstat(path.s, &st) == 0;
	str_reset(&buf);
	str_appendf(&buf, "%s/tls/key.pem", dev->dir);
	have_key = lstat(buf.s, &st) == 0;
	if (!have_cert && !have_key) {
		const char *err;

		errno = 0;
		if (tlscert_write(path.s, buf.s, dev->hostname, TLSCERT_DEFAULT_DAYS, &err) != 0) {
			log_error("%s: %s%s%s", path.s, err, errno != 0 ? ": " : "",
			    errno != 0 ? strerror(errno) : "");
			goto out;
		}
		log_info("created %s and %s (self-signed, CN=%s)", path.s, buf.s, dev->hostname);
	} else if (have_cert != have_key) {
		/* one of a pair: replacing the other would not match it, so leave
		 * both for the administrator */
		log_warn("%s is missing; remove %s too to have a new pair made",
		    have_cert ? buf.s : path.s, have_cert ? path.s : buf.s);
	}
	ret = 0;
out:
	str_deinit(&path);
	str_deinit(&buf);
	return ret;
}

/* dev_check_ports - warn when an existing master.cf was made for another
 * port base, because the banner would then name the wrong ports */
static void
dev_check_ports(const struct dev_params *dev)
{
	struct str path, text, want;

	str_init(&path, 128);
	str_init(&text, 8192);
	str_init(&want, 32);
	str_appendf(&path, "%s/master.cf", dev->dir);
	str_appendf(&want, "127.0.0.1:%d ", dev->port_base + DEV_PORT_SMTP);
	if (file_read(path.s, 1 << 20, &text) == 0 && strstr(text.s, want.s) == NULL)
		log_warn("%s does not listen on 127.0.0.1:%d: it was made for another "
		    "--port-base or edited; the ports below follow --port-base %d",
		    path.s, dev->port_base + DEV_PORT_SMTP, dev->port_base);
	str_deinit(&path);
	str_deinit(&text);
	str_deinit(&want);
}

/* dev_password - the test user's password from DIR/users when it is still
 * stored as {PLAIN} (the administrator may have changed it), into out */
static bool
dev_password(const struct dev_params *dev, struct str *out)
{
	struct str path, text;
	const char *line, *prefix = DEV_USER_NAME ":{PLAIN}";
	bool found = false;

	str_init(&path, 128);
	str_init(&text, 1024);
	str_appendf(&path, "%s/users", dev->dir);
	if (file_read(path.s, 1 << 20, &text) == 0) {
		for (line = text.s; line != NULL && *line != '\0'; ) {
			const char *nl = strchr(line, '\n');

			if (strncmp(line, prefix, strlen(prefix)) == 0) {
				const char *pw = line + strlen(prefix);
				const char *colon = strchr(pw, ':');
				size_t n = colon != NULL ? (size_t)(colon - pw) : strcspn(pw, "\n");

				if (nl == NULL || pw + n <= nl) {
					str_append_n(out, pw, n);
					found = true;
				}
				break;
			}
			line = nl != NULL ? nl + 1 : NULL;
		}
	}
	str_deinit(&path);
	str_deinit(&text);
	return found;
}

/* dev_bindir - the directory of the running binary, for the hints */
static void
dev_bindir(struct str *out)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		str_append(out, "yubin");
		return;
	}
	exe[n] = '\0';
	path_dirname(out, exe);
}

/* dev_service_state - what the banner says about a service: the master.cf
 * services run under the MTA's master (smtpd), the rest under the
 * Dovecot-side master (lmtp, imap, pop3, managesieve); anything else is
 * said to be missing rather than pretended. */
static const char *
dev_service_state(const struct dev_service *svc, bool no_wait)
{
	if (strcmp(svc->config, "master.cf") == 0)
		return no_wait ? "configured (smtpd)" : "listening (smtpd)";
	if (strncmp(svc->name, "pop3", 4) == 0)
		return no_wait ? "configured (pop3)" : "listening (pop3)";
	if (strcmp(svc->name, "lmtp") == 0)
		return no_wait ? "configured (lmtp)" : "listening (lmtp)";
	if (strncmp(svc->name, "imap", 4) == 0)
		return no_wait ? "configured (imap)" : "listening (imap)";
	if (strcmp(svc->name, "managesieve") == 0)
		return no_wait ? "configured (managesieve)" : "listening (managesieve)";
	return "not built yet";
}

static void
dev_banner(const struct dev_params *dev, bool no_wait)
{
	struct str bindir, pw;
	size_t i;

	str_init(&bindir, 128);
	str_init(&pw, 32);
	dev_bindir(&bindir);
	printf("yubin dev: instance %s (port base %d, running as %s)\n\n", dev->dir,
	    dev->port_base, dev->user);
	printf("  config   %s/main.cf, master.cf, dovecot.conf, aliases, users\n", dev->dir);
	printf("  tls      %s/tls/cert.pem (self-signed)\n", dev->dir);
	printf("  log      %s/log/maillog\n\n", dev->dir);
	printf("  %-12s %-17s %-13s %s\n", "service", "address", "config", "state");
	for (i = 0; i < sizeof(dev_services) / sizeof(dev_services[0]); i++) {
		const struct dev_service *svc = &dev_services[i];
		char addr[32];

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", dev->port_base + svc->offset);
		printf("  %-12s %-17s %-13s %s\n", svc->name, addr, svc->config,
		    dev_service_state(svc, no_wait));
	}
	printf("\nSMTP (smtp, submission, smtps) goes through the queue; mail for\n"
	    "%s@localhost (and postmaster@ and root@, through %s/aliases) goes over\n"
	    "LMTP (%s/run/lmtp, mailbox_transport in main.cf) through %s's active\n"
	    "Sieve script (%s/home/%s/.dovecot.sieve) into the Maildir\n"
	    "%s/mail/localhost/%s/, read over IMAP or POP3. The LMTP port above\n"
	    "takes mail from other MTAs the same way; ManageSieve manages the\n"
	    "scripts (sieve-connect below: STARTTLS with the self-signed\n"
	    "certificate, hence --notlsverify).\n\n",
	    DEV_USER_NAME, dev->dir, dev->dir, DEV_USER_NAME, dev->dir, DEV_USER_NAME, dev->dir,
	    DEV_USER_NAME);
	if (dev_password(dev, &pw))
		printf("Test user: %s, password %s (%s/users; a dev-mode-only password, never "
		    "use it elsewhere)\n\n", DEV_USER_NAME, pw.s, dev->dir);
	else
		printf("Test users: see %s/users\n\n", dev->dir);
	printf("Try what works now:\n");
	printf("  %s/postconf -c %s -n\n", bindir.s, dev->dir);
	printf("  MAIL_CONFIG=%s %s/postconf -n\n", dev->dir, bindir.s);
	printf("  %s/doveconf -c %s/dovecot.conf -n\n", bindir.s, dev->dir);
	printf("  %s/postfix -c %s check\n", bindir.s, dev->dir);
	printf("  swaks --server 127.0.0.1:%d --to %s@localhost\n", dev->port_base + DEV_PORT_SMTP,
	    DEV_USER_NAME);
	printf("  %s/mailq -C %s\n", bindir.s, dev->dir);
	printf("  curl pop3://%s:%s@127.0.0.1:%d/1\n", DEV_USER_NAME,
	    pw.len > 0 ? pw.s : DEV_USER_NAME, dev->port_base + DEV_PORT_POP3);
	printf("  curl 'imap://%s:%s@127.0.0.1:%d/INBOX;UID=1'\n", DEV_USER_NAME,
	    pw.len > 0 ? pw.s : DEV_USER_NAME, dev->port_base + DEV_PORT_IMAP);
	printf("  sieve-connect -s 127.0.0.1 -p %d -u %s --notlsverify --upload --localsieve "
	    "my.sieve --remotesieve main\n", dev->port_base + DEV_PORT_SIEVE, DEV_USER_NAME);
	printf("  sieve-connect -s 127.0.0.1 -p %d -u %s --notlsverify --activate "
	    "--remotesieve main\n", dev->port_base + DEV_PORT_SIEVE, DEV_USER_NAME);
	printf("  sieve-connect -s 127.0.0.1 -p %d -u %s --notlsverify --list\n\n",
	    dev->port_base + DEV_PORT_SIEVE, DEV_USER_NAME);
	if (no_wait)
		printf("Instance ready (--no-wait: not staying in the foreground).\n");
	else
		printf("Running in the foreground; press Ctrl-C to stop.\n");
	fflush(stdout);
	str_deinit(&bindir);
	str_deinit(&pw);
}

int
cmd_dev(int argc, char **argv)
{
	struct dev_params dev;
	struct str bindir;
	const char *dir_arg = NULL;
	char host[256], *dir = NULL, *logpath;
	char uidbuf[32], gidbuf[32], *user = NULL, *group = NULL;
	struct passwd *pw;
	struct group *gr;
	bool no_wait = false;
	int i, base = DEV_PORT_BASE_DEFAULT, ret = 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;

		if (strcmp(a, "--no-wait") == 0 || strcmp(a, "--init-only") == 0) {
			no_wait = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			dev_usage(stdout);
			return 0;
		} else if (strcmp(a, "--port-base") == 0 || strncmp(a, "--port-base=", 12) == 0) {
			if (a[11] == '=')
				val = a + 12;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				fprintf(stderr, "yubin dev: --port-base needs a number\n");
				dev_usage(stderr);
				return 1;
			}
			if (!dev_parse_port_base(val, &base)) {
				fprintf(stderr, "yubin dev: bad --port-base %s: it must be a number "
				    "from %d to %d, so that every port (N+%d to N+%d) lies in "
				    "1024..65535\n", val, 1024 - DEV_PORT_MIN_OFFSET,
				    65535 - DEV_PORT_MAX_OFFSET, DEV_PORT_MIN_OFFSET,
				    DEV_PORT_MAX_OFFSET);
				return 1;
			}
		} else if (strcmp(a, "--") == 0 && i + 1 < argc && dir_arg == NULL) {
			dir_arg = argv[++i];
		} else if (a[0] == '-') {
			fprintf(stderr, "yubin dev: unknown option %s\n", a);
			dev_usage(stderr);
			return 1;
		} else if (dir_arg == NULL) {
			dir_arg = a;
		} else {
			fprintf(stderr, "yubin dev: more than one directory (%s, %s)\n", dir_arg, a);
			dev_usage(stderr);
			return 1;
		}
	}
	if (dir_arg != NULL && *dir_arg == '\0') {
		dev_usage(stderr);
		return 1;
	}
	if (dir_arg == NULL)
		dir_arg = DEV_DEFAULT_DIR;

	/* checked before anything is created, and again once resolved */
	if (!dev_path_is_safe(dir_arg))
		return 1;
	if (dev_mkdirs(dir_arg, 0755) != 0) {
		log_error("cannot create %s: %s", dir_arg, strerror(errno));
		return 1;
	}
	/* every path written into the config is absolute, so that -c DIR and
	 * MAIL_CONFIG=DIR work from any working directory */
	if ((dir = realpath(dir_arg, NULL)) == NULL) {
		log_error("cannot resolve %s: %s", dir_arg, strerror(errno));
		return 1;
	}
	if (!dev_path_is_safe(dir)) {
		free(dir);
		return 1;
	}

	memset(&dev, 0, sizeof(dev));
	dev.dir = dir;
	dev.port_base = base;
	dev_hostname(host, sizeof(host));
	dev.hostname = host;
	dev.uid = (unsigned long)getuid();
	dev.gid = (unsigned long)getgid();
	snprintf(uidbuf, sizeof(uidbuf), "%lu", dev.uid);
	snprintf(gidbuf, sizeof(gidbuf), "%lu", dev.gid);
	/* getpwuid's storage lasts until the next call; copy what we keep */
	pw = getpwuid(getuid());
	user = xstrdup(pw != NULL ? pw->pw_name : uidbuf);
	gr = getgrgid(getgid());
	group = xstrdup(gr != NULL ? gr->gr_name : gidbuf);
	dev.user = user;
	dev.group = group;
	str_init(&bindir, 128);
	dev_bindir(&bindir);
	dev.bindir = bindir.s;

	/* from here on this is the instance's master: daemon-shaped log lines
	 * on stderr and in the maillog_file */
	log_open("yubin/master", LOG_TO_STDERR | LOG_STDERR_FULL);

	/* the log directory first, so that the maillog records the creation */
	logpath = xasprintf("%s/log", dir);
	if (dev_mkdirs(logpath, 0755) != 0) {
		log_error("cannot create directory %s: %s", logpath, strerror(errno));
		free(logpath);
		goto out;
	}
	free(logpath);
	logpath = xasprintf("%s/log/maillog", dir);
	if (log_set_file(logpath) != 0)
		log_warn("cannot open %s: %s", logpath, strerror(errno));
	free(logpath);
	if (pw == NULL || gr == NULL)
		log_warn("uid %lu or gid %lu has no name; main.cf uses the numbers", dev.uid,
		    dev.gid);
	if (dev.uid == 0)
		log_warn("running as root: dev mode is meant for an unprivileged user, and "
		    "mail_owner = root will not pass \"postfix check\"");
	if (dev_populate(&dev) != 0)
		goto out;
	dev_check_ports(&dev);

	if (!no_wait) {
		/* Blocked before the banner invites Ctrl-C; the master takes any
		 * pending one once its handlers are in place. */
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	log_info("instance %s, port base %d%s", dir, base, no_wait ? ", not starting (--no-wait)"
	    : ", starting");
	dev_banner(&dev, no_wait);
	ret = 0;
	if (!no_wait) {
		/* The master runs here, in the foreground, until SIGINT or
		 * SIGTERM; it opens its own log sinks from main.cf. */
		char *dconf = path_join(dir, "dovecot.conf");

		log_set_file(NULL);
		/* the retrieval half (POP3 on N+110, N+995) in the background,
		 * stopped when the MTA's master returns */
		if (dovecot_master_start(dconf, 0) != 0)
			log_warn("the retrieval side (dovecot) did not start; see %s/log", dir);
		ret = master_control(dir, "start-fg", 0, NULL);
		(void)dovecot_master_signal(dconf, "stop");
		free(dconf);
		log_info("stopped");
		printf("yubin dev: stopped\n");
		fflush(stdout);
	}
out:
	log_set_file(NULL);
	str_deinit(&bindir);
	free(dir);
	free(user);
	free(group);
	return ret;
}
