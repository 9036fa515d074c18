/* pop3_server.c - the POP3 service process and the session process of
 * each connection (see pop3.h for the process picture): settings from
 * dovecot.conf, TLS (ssl, ssl_cert, ssl_key, ssl_min_protocol,
 * ssl_cipher_list), the accept loop, the hand-over from the login process,
 * mail_max_userip_connections, the session files that doveadm who and kick
 * read ($base_dir/sessions/PID: "user TAB pop3 TAB rip TAB lip TAB session"),
 * the switch to the user's uid, and verbose_proctitle.
 * Tests: tests/e2e/test_pop3.py, tests/e2e/test_doveadm.py */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "auth/auth_client.h"
#include "lib/base64.h"
#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "pop3/pop3-private.h"
#include "pop3/pop3.h"

#define POP3_LISTEN_FD	3

static char *proctitle_start;
static size_t proctitle_len;
static volatile sig_atomic_t pop3_stop, pop3_retire;
/* the protocol served: POP3 here, IMAP when src/imap calls pop3_service_main */
static const struct pop3_proto *proto;

void
pop3_proctitle(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (proctitle_start == NULL)
		return;
	va_start(ap, fmt);
	n = snprintf(buf, sizeof(buf), "dovecot/%s ", proto->name);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	/* argv's own memory is what ps reads; the rest is cleared */
	memset(proctitle_start, 0, proctitle_len);
	memcpy(proctitle_start, buf, strlen(buf) < proctitle_len - 1 ? strlen(buf) :
	    proctitle_len - 1);
	(void)prctl(PR_SET_NAME, proto->name, 0, 0, 0);
}

/* --- settings --- */

static char *
pop3_get(const struct dovecot_conf *dc, const char *key)
{
	const struct dovecot_conf_filter f = { .protocol = proto->name };
	const char *v = dovecot_conf_get_filtered(dc, &f, key);

	return xstrdup(v != NULL ? v : "");
}

static bool
pop3_get_bool(const struct dovecot_conf *dc, const char *key)
{
	char *v = pop3_get(dc, key);
	const char *err;
	bool b = false;

	(void)dovecot_conf_parse_bool(v, &b, &err);
	free(v);
	return b;
}

static unsigned long
pop3_get_uint(const struct dovecot_conf *dc, const char *key)
{
	char *v = pop3_get(dc, key);
	unsigned long long n = 0;
	const char *err;

	(void)dovecot_conf_parse_uint(v, &n, &err);
	free(v);
	return (unsigned long)n;
}

static int
pop3_tls_version(const char *name)
{
	static const struct { const char *name; int v; } t[] = {
		{ "TLSv1", TLS1_VERSION }, { "TLSv1.1", TLS1_1_VERSION },
		{ "TLSv1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION },
		{ "ANY", 0 }, { "SSLv3", TLS1_VERSION },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(t[i].name, name) == 0)
			return t[i].v;
	return -1;
}

/* pop3_tls_ctx - the server context from ssl_cert and ssl_key (PEM text
 * or <file); NULL with a warning when they cannot be used */
static SSL_CTX *
pop3_tls_ctx(const struct dovecot_conf *dc, const char **error_r)
{
	struct str cert, key;
	char *v, *minp, *ciphers;
	SSL_CTX *ctx = NULL;
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	int minv;

	str_init(&cert, 4096);
	str_init(&key, 4096);
	v = pop3_get(dc, "ssl_cert");
	if (*v == '\0' || dovecot_conf_value_read(dc, v, &cert) != 0) {
		*error_r = *v == '\0' ? "ssl_cert not set" : "cannot read ssl_cert";
		free(v);
		goto fail;
	}
	free(v);
	v = pop3_get(dc, "ssl_key");
	if (*v == '\0' || dovecot_conf_value_read(dc, v, &key) != 0) {
		*error_r = *v == '\0' ? "ssl_key not set" : "cannot read ssl_key";
		free(v);
		goto fail;
	}
	free(v);
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		goto ssl_fail;
	bio = BIO_new_mem_buf(cert.s, (int)cert.len);
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1)
		goto ssl_fail;
	/* the rest of the file is the chain */
	for (;;) {
		X509 *extra = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		if (extra == NULL)
			break;
		if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			goto ssl_fail;
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	bio = BIO_new_mem_buf(key.s, (int)key.len);
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		goto ssl_fail;
	minp = pop3_get(dc, "ssl_min_protocol");
	minv = pop3_tls_version(minp);
	free(minp);
	if (minv < 0) {
		*error_r = "unknown ssl_min_protocol";
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, minv);
	ciphers = pop3_get(dc, "ssl_cipher_list");
	if (*ciphers != '\0' && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		free(ciphers);
		*error_r = "invalid ssl_cipher_list";
		goto fail;
	}
	free(ciphers);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	goto out;
ssl_fail:
	*error_r = "cannot load the certificate or key";
fail:
	SSL_CTX_free(ctx);
	ctx = NULL;
	ERR_clear_error();
out:
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pk);
	explicit_bzero(key.s, key.len);
	str_deinit(&cert);
	str_deinit(&key);
	return ctx;
}

static int
pop3_settings_load(struct pop3_settings *set, const char *conf_path, const char **error_r)
{
	struct dovecot_conf *dc = dovecot_conf_new();
	char *v, *logpath;
	const char *err;

	memset(set, 0, sizeof(*set));
	if (dovecot_conf_parse_file(dc, conf_path, 0, error_r) != 0) {
		*error_r = xstrdup(*error_r);
		dovecot_conf_free(&dc);
		return -1;
	}
	set->conf_path = xstrdup(conf_path);
	set->base_dir = pop3_get(dc, "base_dir");
	set->auth_socket = path_join(set->base_dir, "auth-client");
	set->sessions_dir = path_join(set->base_dir, "sessions");
	set->greeting = pop3_get(dc, "login_greeting");
	set->mail_location = pop3_get(dc, "mail_location");
	set->uidl_format = pop3_get(dc, "pop3_uidl_format");
	set->login_user = pop3_get(dc, "default_login_user");
	set->disable_plaintext_auth = pop3_get_bool(dc, "disable_plaintext_auth");
	set->verbose_proctitle = pop3_get_bool(dc, "verbose_proctitle");
	set->max_userip = pop3_get_uint(dc, "mail_max_userip_connections");
	set->first_valid_uid = pop3_get_uint(dc, "first_valid_uid");
	set->login_timeout_ms = POP3_LOGIN_TIMEOUT_MS;
	set->idle_timeout_ms = POP3_IDLE_TIMEOUT_MS;
	/* tests shorten the timeouts; never meant for production */
	if (getenv("YUBIN_POP3_TIMEOUT_MS") != NULL)
		set->login_timeout_ms = set->idle_timeout_ms = atoi(getenv("YUBIN_POP3_TIMEOUT_MS"));
	logpath = pop3_get(dc, "log_path");
	if (*logpath != '\0' && strcmp(logpath, "syslog") != 0 && strcmp(logpath, "/dev/stderr") != 0)
		(void)log_set_file(logpath);
	free(logpath);
	v = pop3_get(dc, "ssl");
	set->ssl = strcmp(v, "no") == 0 ? POP3_SSL_NO : strcmp(v, "required") == 0 ?
	    POP3_SSL_REQUIRED : POP3_SSL_YES;
	free(v);
	if (set->ssl != POP3_SSL_NO) {
		set->ssl_ctx = pop3_tls_ctx(dc, &err);
		if (set->ssl_ctx == NULL)
			log_error("%s-login: TLS is not available: %s", proto->name, err);
	}
	dovecot_conf_free(&dc);
	return 0;
}

/* --- sessions (doveadm who, kick; mail_max_userip_connections) --- */

static bool
pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* session_register - under the directory's lock: count this user's live
 * sessions from rip, refuse past the limit, else write our file. 0, or -1
 * over the limit. */
static int
session_register(const struct pop3_client *c, const char *user)
{
	const struct pop3_settings *set = c->set;
	char *lockp = path_join(set->sessions_dir, ".lock"), path[512];
	struct str data, content;
	struct dirent *de;
	unsigned long count = 0;
	DIR *d;
	int lfd, ret = 0;

	lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lockp);
	if (lfd >= 0)
		(void)flock(lfd, LOCK_EX);
	str_init(&data, 256);
	str_init(&content, 256);
	/* Dovecot compares user names case-sensitively here */
	str_appendf(&content, "%s\t%s\t%s\t%s\t%s\n", user, proto->name, c->rip, c->lip,
	    c->session);
	if (set->max_userip > 0 && (d = opendir(set->sessions_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			const char *tab1, *tab2, *tab3;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", set->sessions_dir, de->d_name);
			str_reset(&data);
			if (file_read(path, 4096, &data) != 0)
				continue;
			if (!pid_alive(atol(de->d_name))) {
				(void)unlink(path);	/* a session that ended unseen */
				continue;
			}
			tab1 = strchr(data.s, '\t');
			tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;
			tab3 = tab2 != NULL ? strchr(tab2 + 1, '\t') : NULL;
			if (tab3 != NULL && (size_t)(tab1 - data.s) == strlen(user) &&
			    strncmp(data.s, user, strlen(user)) == 0 &&
			    (size_t)(tab3 - tab2 - 1) == strlen(c->rip) &&
			    strncmp(tab2 + 1, c->rip, strlen(c->rip)) == 0)
				count++;
		}
		closedir(d);
	}
	if (set->max_userip > 0 && count >= set->max_userip) {
		ret = -1;
	} else {
		snprintf(path, sizeof(path), "%s/%ld", set->sessions_dir, (long)getpid());
		(void)file_write_atomic(path, content.s, content.len, 0644);
	}
	if (lfd >= 0)
		close(lfd);
	str_deinit(&data);
	str_deinit(&content);
	return ret;
}

/* --- the session process --- */

/* mail_path - the INBOX of a user from the userdb's mail field or
 * mail_location: "maildir:~/Maildir", "mbox:~/mail:INBOX=/var/mail/%u";
 * empty means ~/Maildir when it exists, else /var/mail/USER. */
static char *
mail_path(const char *location, const char *user, const char *home, bool *maildir_r)
{
	struct str out;
	const char *p, *loc = location, *inbox;
	char *spec;

	*maildir_r = true;
	if (*loc == '\0') {
		char *md = home != NULL ? path_join(home, "Maildir") : NULL;
		struct stat st;

		if (md != NULL && stat(md, &st) == 0)
			return md;
		free(md);
		*maildir_r = false;
		return xasprintf("/var/mail/%s", user);
	}
	if (strncmp(loc, "maildir:", 8) == 0) {
		loc += 8;
	} else if (strncmp(loc, "mbox:", 5) == 0) {
		*maildir_r = false;
		loc += 5;
		inbox = strstr(loc, ":INBOX=");
		loc = inbox != NULL ? inbox + 7 : "/var/mail/%u";
	}
	spec = xstrndup(loc, strcspn(loc, ":"));
	str_init(&out, 128);
	for (p = spec; *p != '\0'; p++) {
		if (*p == '~' && p == spec && home != NULL) {
			str_append(&out, home);
		} else if (*p == '%' && p[1] != '\0') {
			const char *at = strchr(user, '@');

			p++;
			if (*p == 'u')
				str_append(&out, user);
			else if (*p == 'n')
				str_append_n(&out, user, at != NULL ? (size_t)(at - user) : strlen(user));
			else if (*p == 'd')
				str_append(&out, at != NULL ? at + 1 : "");
			else if (*p == 'h')
				str_append(&out, home != NULL ? home : "");
			else
				str_append_c(&out, *p);
		} else {
			str_append_c(&out, *p);
		}
	}
	free(spec);
	return str_export(&out);
}

static void session_reply(int, const char *, ...) __attribute__((format(printf, 2, 3)));

/* session_reply - one line to the login process */
static void
session_reply(int ctl, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(ctl, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static bool
read_line_fd(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size - 1) {
		if (read(fd, buf + got, 1) != 1)
			return false;
		if (buf[got] == '\n') {
			buf[got] = '\0';
			return true;
		}
		got++;
	}
	return false;
}

/* session_run - S: wait for the login, check, become the user, serve */
static int
session_run(struct pop3_client *c, int client_fd)
{
	const struct pop3_settings *set = c->set;
	struct auth_client_userdb udb;
	struct auth_client *auth = NULL, *login_auth;
	struct pop3_conn conn;
	char line[1024], *f[5], *p, *path = NULL, *home = NULL;
	const char *err;
	int sp[2], n, i, status = 1;
	bool maildir, tls;
	size_t left;
	pid_t login_pid;
	uid_t uid;
	gid_t gid;

	memset(&udb, 0, sizeof(udb));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return 1;
	signal(SIGCHLD, SIG_IGN);	/* the login process reaps itself */
	if ((login_pid = fork()) < 0)
		return 1;
	if (login_pid == 0) {
		struct passwd *pw;

		close(sp[0]);
		/* connect to the auth service before the drop: its socket may be
		 * in a directory that only root can reach, as Dovecot's is */
		login_auth = auth_client_new(set->auth_socket, NULL);
		if (auth_client_connect(login_auth, &err) != 0)
			log_error("%s-login: auth service: %s", proto->name, err);
		if (geteuid() == 0) {
			/* the login part never runs as root */
			pw = getpwnam(set->login_user);
			/* a dev instance run as root names root: use nobody */
			if (pw == NULL || pw->pw_uid == 0)
				pw = getpwnam("nobody");
			if (pw == NULL || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
			    setuid(pw->pw_uid) != 0 || setuid(0) == 0) {
				log_error("%s-login: cannot drop privileges to %s", proto->name,
				    set->login_user);
				_exit(1);
			}
		}
		_exit(proto->login_run(c, client_fd, sp[1], login_auth));
	}
	close(sp[1]);
	/* nothing more comes unless the login succeeded */
	if (!read_line_fd(sp[0], line, sizeof(line)) || strncmp(line, "LOGIN\t", 6) != 0)
		goto out;
	for (p = line, n = 0; n < 5 && p != NULL; n++) {
		f[n] = p;
		p = strchr(p, '\t');
		if (p != NULL)
			*p++ = '\0';
	}
	if (n < 5)
		goto out;
	tls = strcmp(f[3], "1") == 0;
	left = (size_t)strtoul(f[4], NULL, 10);
	pop3_conn_init(&conn, tls ? sp[0] : client_fd, set->idle_timeout_ms);
	if (left > sizeof(conn.in))
		goto out;
	for (i = 0; (size_t)i < left; ) {
		ssize_t r = read(sp[0], conn.in + i, left - (size_t)i);

		if (r <= 0)
			goto out;
		i += (int)r;
	}
	conn.in_len = left;
	/* the user as the userdb knows it: never trust the login process for
	 * the uid or the mail location */
	auth = auth_client_new(set->auth_socket, NULL);
	n = auth_client_userdb(auth, f[1], proto->name, &udb, &err);
	if (n <= 0) {
		log_error("%s(%s)<%ld><%s>: userdb lookup failed: %s", proto->name, f[1], (long)getpid(),
		    c->session, n == 0 ? "no such user" : err);
		session_reply(sp[0], "ERR\t[SYS/TEMP] Temporary authentication failure.\n");
		goto out;
	}
	uid = udb.uid >= 0 ? (uid_t)udb.uid : geteuid();
	gid = udb.gid >= 0 ? (gid_t)udb.gid : getegid();
	/* as Dovecot: never below first_valid_uid, never root, except that an
	 * instance run by root with first_valid_uid = 0 (yubin dev as root)
	 * serves users whose uid is its own; without root, only our own uid */
	if (geteuid() == 0 ? uid < set->first_valid_uid ||
	    (uid == 0 && set->first_valid_uid != 0) : uid != geteuid()) {
		log_error("%s(%s)<%ld><%s>: Logins with UID %ld not permitted", proto->name, f[1],
		    (long)getpid(), c->session, (long)uid);
		session_reply(sp[0], "ERR\t[SYS/PERM] Login not permitted.\n");
		goto out;
	}
	if (session_register(c, udb.user != NULL ? udb.user : f[1]) != 0) {
		log_info("%s-login: Disconnected: Maximum number of connections from user+IP "
		    "exceeded (mail_max_userip_connections=%lu): user=<%s>, method=%s, rip=%s, "
		    "lip=%s, session=<%s>", proto->name, set->max_userip, f[1], f[2], c->rip, c->lip,
		    c->session);
		session_reply(sp[0], "ERR\t[IN-USE] Maximum number of connections from user+IP "
		    "exceeded (mail_max_userip_connections=%lu)\n", set->max_userip);
		goto out;
	}
	home = udb.home != NULL ? xstrdup(udb.home) : NULL;
	path = mail_path(udb.mail != NULL ? udb.mail : set->mail_location, f[1], home, &maildir);
	if (geteuid() == 0) {
		if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0 ||
		    (uid != 0 && setuid(0) == 0)) {
			log_error("%s(%s): cannot become uid %ld: %s", proto->name, f[1], (long)uid,
			    strerror(errno));
			session_reply(sp[0], "ERR\t[SYS/TEMP] Internal error.\n");
			goto out;
		}
	}
	if (home != NULL && chdir(home) != 0)
		(void)chdir("/");
	session_reply(sp[0], "OK\n");
	if (set->verbose_proctitle)
		pop3_proctitle("[%s %s]", f[1], c->rip);
	auth_client_free(&auth);
	status = proto->mail_run(c, &conn, f[1], path, maildir);
	pop3_conn_deinit(&conn);
out:
	auth_client_free(&auth);
	auth_client_userdb_deinit(&udb);
	free(path);
	free(home);
	close(sp[0]);
	return status;
}

/* --- the service --- */

static void
pop3_on_signal(int sig)
{
	if (sig == SIGHUP)
		pop3_retire = 1;
	else
		pop3_stop = 1;
}

static void
pop3_addr(const struct sockaddr_storage *ss, char *buf, size_t size, unsigned *port_r)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)size);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)size);
		*port_r = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)size);
		*port_r = ntohs(s4->sin_port);
	} else {
		snprintf(buf, size, "unknown");
		*port_r = 0;
	}
}

static void
pop3_session_id(char *out, size_t size)
{
	unsigned char raw[12];
	struct str s;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	str_init(&s, 24);
	base64_encode(&s, raw, sizeof(raw));
	snprintf(out, size, "%s", s.s);
	str_deinit(&s);
}

static void
pop3_reap(const struct pop3_settings *set, size_t *live)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%ld", set->sessions_dir, (long)pid);
		(void)unlink(path);
		if (*live > 0)
			(*live)--;
	}
}

int
cmd_pop3(int argc, char **argv)
{
	static const struct pop3_proto pop3 = { "pop3", pop3_login_run, pop3_mail_run };

	return pop3_service_main(argc, argv, &pop3);
}

int
pop3_service_main(int argc, char **argv, const struct pop3_proto *served)
{
	struct pop3_settings set;
	struct sigaction sa;
	const char *conf = NULL, *listener, *err;
	char *conf_path;
	bool implicit = false;
	size_t live = 0, limit;
	int c, i;

	proto = served;
	listener = served->name;
	optind = 1;
	while ((c = getopt(argc, argv, "c:l:s")) != -1) {
		if (c == 'c')
			conf = optarg;
		else if (c == 'l')
			listener = optarg;
		else if (c == 's')
			implicit = true;
	}
	proctitle_start = argv[0];
	for (i = 0; i < argc; i++)
		proctitle_len = (size_t)(argv[i] + strlen(argv[i]) + 1 - argv[0]);
	log_open("dovecot", getenv("YUBIN_LOG_STDERR") != NULL ? LOG_TO_STDERR | LOG_STDERR_FULL :
	    LOG_TO_SYSLOG);
	conf_path = instance_dovecot_conf(conf);
	if (pop3_settings_load(&set, conf_path, &err) != 0)
		fatal("%s", err);
	free(conf_path);
	(void)mkdir(set.sessions_dir, 0755);
	/* our own process group, so that a stop reaches every session process
	 * and nothing else */
	(void)setpgid(0, 0);
	{
		/* the master reads ours; the service's own default */
		limit = 1000;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pop3_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	if (set.verbose_proctitle)
		pop3_proctitle("[%s listener, %zu connections]", listener, live);
	while (!pop3_stop && !pop3_retire) {
		struct pollfd pfd = { .fd = POP3_LISTEN_FD, .events = POLLIN };
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		struct pop3_client client;
		pid_t pid;
		int fd;

		pop3_reap(&set, &live);
		if (live >= limit) {
			usleep(10000);	/* wait for a slot; the kernel queues the rest */
			continue;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		fd = accept4(POP3_LISTEN_FD, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&client, 0, sizeof(client));
		client.set = &set;
		client.implicit_tls = implicit;
		pop3_addr(&peer, client.rip, sizeof(client.rip), &client.rport);
		if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
			pop3_addr(&local, client.lip, sizeof(client.lip), &client.lport);
		pop3_session_id(client.session, sizeof(client.session));
		if ((pid = fork()) < 0) {
			log_error("fork: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			close(POP3_LISTEN_FD);
			_exit(session_run(&client, fd));
		}
		close(fd);
		live++;
	}
	/* stop: sessions end with the service; reload (SIGHUP): they go on */
	if (pop3_stop) {
		signal(SIGTERM, SIG_IGN);
		(void)kill(0, SIGTERM);	/* our own process group: see setpgid above */
	}
	return 0;
}
