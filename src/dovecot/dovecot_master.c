/* dovecot_master.c - `dovecot [-c FILE] [-F] [-n] [stop|reload]`: the
 * master of the retrieval half (see dovecot_master.h). Shaped like
 * src/master/master.c (the MTA's), but driven by dovecot.conf and kept
 * apart so that either half runs alone.
 * Tests: tests/e2e/test_dovecot_master.py */
#include "dovecot/dovecot_master.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "master/supervise.h"

#define DM_STOP_WAIT	30	/* seconds stop waits for the services */
#define DM_START_WAIT	10
#define DM_MAX_BACKOFF	60

struct dm_service {
	char		*key;		/* "pop3/pop3s/127.0.0.1" or "auth" */
	struct strvec	 argv;
	int		 fd;
	int		 fd2;		/* a second socket (auth-master), or -1 */
	pid_t		 pid;
	time_t		 restart_at;
	long		 backoff;
	char		*unlink_path;	/* a unix socket to remove at the end */
	char		*unlink_path2;
};

struct dm {
	char		*conf_path;
	char		*base_dir;
	char		*exe;
	struct dm_service *svc;
	size_t		 nsvc;
	pid_t		*retired;
	size_t		 nretired;
	int		 pid_fd;
};

static int dm_sigpipe[2] = { -1, -1 };
static const int dm_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };

static void
dm_on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(dm_sigpipe[1], &c, 1);
	errno = saved;
}

static struct dovecot_conf *
dm_conf(const char *path, const char **error_r)
{
	static char errbuf[1024];
	struct dovecot_conf *dc = dovecot_conf_new();

	if (dovecot_conf_parse_file(dc, path, 0, error_r) != 0) {
		snprintf(errbuf, sizeof(errbuf), "%s", *error_r);
		*error_r = errbuf;
		dovecot_conf_free(&dc);
		return NULL;
	}
	return dc;
}

char *
dovecot_base_dir(const char *conf_path, const char **error_r)
{
	struct dovecot_conf *dc = dm_conf(conf_path, error_r);
	const char *v;
	char *r;

	if (dc == NULL)
		return NULL;
	v = dovecot_conf_get(dc, "base_dir");
	r = xstrdup(v != NULL ? v : "/run/dovecot");
	dovecot_conf_free(&dc);
	return r;
}

pid_t
dovecot_master_pid(const char *conf_path, const char **error_r)
{
	char *base = dovecot_base_dir(conf_path, error_r), *path;
	struct str data;
	pid_t pid = 0;
	int fd;

	if (base == NULL)
		return -1;
	path = path_join(base, "master.pid");
	str_init(&data, 32);
	/* running = the pid file is locked by a live master */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK &&
		    file_read(path, 64, &data) == 0)
			pid = (pid_t)atol(data.s);
		close(fd);
	}
	str_deinit(&data);
	free(path);
	free(base);
	return pid;
}

/* --- binding --- */

static int
dm_bind_inet(const char *addr, const char *port, const char **error_r)
{
	static char errbuf[256];
	struct addrinfo hints, *res = NULL;
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(strcmp(addr, "*") == 0 ? "0.0.0.0" : strcmp(addr, "::") == 0 ? "::" : addr,
	    port, &hints, &res) != 0 || res == NULL) {
		snprintf(errbuf, sizeof(errbuf), "cannot resolve listen address %s", addr);
		*error_r = errbuf;
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (res->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 511) != 0) {
		snprintf(errbuf, sizeof(errbuf), "bind(%s, %s) failed: %s", addr, port,
		    strerror(errno));
		*error_r = errbuf;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
dm_bind_unix(const char *path, int mode, const char **error_r)
{
	static char errbuf[256];
	struct sockaddr_un sun;
	mode_t old;
	bool bound;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = "unix socket path too long";
		return -1;
	}
	strcpy(sun.sun_path, path);
	(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* the socket is born with its mode: no moment with the umask's */
	old = umask(~(mode_t)mode & 0777);
	bound = fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	umask(old);
	if (!bound || listen(fd, 128) != 0) {
		snprintf(errbuf, sizeof(errbuf), "bind(%s) failed: %s", path, strerror(errno));
		*error_r = errbuf;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct dm_service *
dm_add(struct dm_service **svc, size_t *n, const char *key)
{
	struct dm_service *s;

	*svc = xreallocarray(*svc, *n + 1, sizeof(**svc));
	s = &(*svc)[(*n)++];
	memset(s, 0, sizeof(*s));
	s->key = xstrdup(key);
	s->fd = -1;
	s->fd2 = -1;
	s->backoff = 1;
	strvec_init(&s->argv);
	return s;
}

static void
dm_service_free(struct dm_service *s)
{
	free(s->key);
	strvec_deinit(&s->argv);
	if (s->fd >= 0)
		close(s->fd);
	if (s->fd2 >= 0)
		close(s->fd2);
	free(s->unlink_path);
	free(s->unlink_path2);
}

/* dm_find_fd - take the listening socket of key from the old table (a
 * reload keeps its sockets, so no connection is refused meanwhile) */
static int
dm_take_fd(struct dm_service *old, size_t nold, const char *key)
{
	size_t i;
	int fd;

	for (i = 0; i < nold; i++) {
		if (strcmp(old[i].key, key) == 0 && old[i].fd >= 0) {
			fd = old[i].fd;
			old[i].fd = -1;
			return fd;
		}
	}
	return -1;
}

static int
dm_take_fd2(struct dm_service *old, size_t nold, const char *key)
{
	for (size_t i = 0; i < nold; i++) {
		if (strcmp(old[i].key, key) == 0 && old[i].fd2 >= 0) {
			int fd = old[i].fd2;

			old[i].fd2 = -1;
			return fd;
		}
	}
	return -1;
}

/* dm_listener_perms - `service SERVICE { unix_listener NAME { mode user
 * group } }` applied to the socket at path; unset keys keep def_mode and
 * the master's own user */
static void
dm_listener_perms(const struct dovecot_conf *dc, const char *service, const char *name,
    const char *path, mode_t def_mode)
{
	const struct dovecot_conf_section *root = dovecot_conf_root(dc), *svc, *lis;
	const char *mode = NULL, *user = NULL, *group = NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	mode_t m = def_mode;

	for (size_t i = 0; i < dovecot_conf_section_count(root); i++) {
		svc = dovecot_conf_section_child(root, i);
		if (dovecot_conf_section_type(svc) == NULL ||
		    strcmp(dovecot_conf_section_type(svc), "service") != 0 ||
		    dovecot_conf_section_name(svc) == NULL ||
		    strcmp(dovecot_conf_section_name(svc), service) != 0)
			continue;
		for (size_t j = 0; j < dovecot_conf_section_count(svc); j++) {
			lis = dovecot_conf_section_child(svc, j);
			if (dovecot_conf_section_type(lis) == NULL ||
			    strcmp(dovecot_conf_section_type(lis), "unix_listener") != 0 ||
			    dovecot_conf_section_name(lis) == NULL ||
			    strcmp(dovecot_conf_section_name(lis), name) != 0)
				continue;
			mode = dovecot_conf_section_get(lis, "mode");
			user = dovecot_conf_section_get(lis, "user");
			group = dovecot_conf_section_get(lis, "group");
		}
	}
	if (mode != NULL && *mode != '\0') {
		char *end;
		unsigned long v = strtoul(mode, &end, 8);

		if (*end != '\0' || v > 0777)
			log_error("master: Error: service(%s): unix_listener %s: "
			    "invalid mode %s", service, name, mode);
		else
			m = (mode_t)v;
	}
	if (user != NULL && *user != '\0') {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL)
			log_error("master: Error: service(%s): unix_listener %s: "
			    "unknown user %s", service, name, user);
		else
			uid = pw->pw_uid;
	}
	if (group != NULL && *group != '\0') {
		struct group *gr = getgrnam(group);

		if (gr == NULL)
			log_error("master: Error: service(%s): unix_listener %s: "
			    "unknown group %s", service, name, group);
		else
			gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0)
		log_error("master: Error: chown(%s) failed: %s", path, strerror(errno));
	if (chmod(path, m) != 0)
		log_error("master: Error: chmod(%s) failed: %s", path, strerror(errno));
}

static bool
dm_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

/* dm_lmtp_service - one lmtp service process for the listener fd */
static void
dm_lmtp_service(struct dm *m, struct dm_service **svc, size_t *nsvc, const char *key, int fd,
    const char *unlink_path)
{
	struct dm_service *s = dm_add(svc, nsvc, key);

	s->fd = fd;
	s->unlink_path = unlink_path != NULL ? xstrdup(unlink_path) : NULL;
	strvec_push(&s->argv, "dovecot-lmtp");
	strvec_push(&s->argv, "-c");
	strvec_push(&s->argv, m->conf_path);
}

/* dm_load_lmtp - `protocols = ... lmtp`: the unix listener $base_dir/lmtp
 * (Dovecot's default, mode 0666) and those of `service lmtp { unix_listener
 * NAME { mode user group } inet_listener NAME { address port } }`; a
 * relative unix_listener name is under base_dir, as Dovecot's */
static void
dm_load_lmtp(struct dm *m, const struct dovecot_conf *dc, struct dm_service *old, size_t nold,
    struct dm_service **svc, size_t *nsvc)
{
	const struct dovecot_conf_section *root = dovecot_conf_root(dc), *sec, *lis;
	const char *v = dovecot_conf_get(dc, "listen"), *err;
	struct strvec unix_names;
	char key[600];
	size_t i, j;

	strvec_init(&unix_names);
	strvec_push(&unix_names, "lmtp");
	for (i = 0; i < dovecot_conf_section_count(root); i++) {
		sec = dovecot_conf_section_child(root, i);
		if (dovecot_conf_section_type(sec) == NULL ||
		    strcmp(dovecot_conf_section_type(sec), "service") != 0 ||
		    dovecot_conf_section_name(sec) == NULL ||
		    strcmp(dovecot_conf_section_name(sec), "lmtp") != 0)
			continue;
		for (j = 0; j < dovecot_conf_section_count(sec); j++) {
			const char *type, *name, *port, *addr;
			char *addrs, *a, *save = NULL;

			lis = dovecot_conf_section_child(sec, j);
			type = dovecot_conf_section_type(lis);
			name = dovecot_conf_section_name(lis);
			if (type == NULL || name == NULL)
				continue;
			if (strcmp(type, "unix_listener") == 0) {
				if (!strvec_contains(&unix_names, name))
					strvec_push(&unix_names, name);
				continue;
			}
			if (strcmp(type, "inet_listener") != 0)
				continue;
			port = dovecot_conf_section_get(lis, "port");
			addr = dovecot_conf_section_get(lis, "address");
			if (port == NULL || *port == '\0' || strcmp(port, "0") == 0)
				continue;
			addrs = xstrdup(addr != NULL && *addr != '\0' ? addr : v != NULL ? v : "*, ::");
			for (a = strtok_r(addrs, ", ", &save); a != NULL; a = strtok_r(NULL, ", ", &save)) {
				int fd;

				snprintf(key, sizeof(key), "lmtp/inet/%s/%s", a, port);
				fd = dm_take_fd(old, nold, key);
				if (fd < 0 && (fd = dm_bind_inet(a, port, &err)) < 0) {
					log_error("master: Error: service(lmtp): %s", err);
					continue;
				}
				dm_lmtp_service(m, svc, nsvc, key, fd, NULL);
			}
			free(addrs);
		}
	}
	for (i = 0; i < unix_names.n; i++) {
		char *path = unix_names.v[i][0] == '/' ? xstrdup(unix_names.v[i]) :
		    path_join(m->base_dir, unix_names.v[i]);
		int fd;

		snprintf(key, sizeof(key), "lmtp/unix/%s", path);
		fd = dm_take_fd(old, nold, key);
		if (fd < 0) {
			if ((fd = dm_bind_unix(path, 0666, &err)) < 0) {
				log_error("master: Error: service(lmtp): %s", err);
				free(path);
				continue;
			}
			dm_listener_perms(dc, "lmtp", unix_names.v[i], path, 0666);
		}
		dm_lmtp_service(m, svc, nsvc, key, fd, path);
		free(path);
	}
	strvec_deinit(&unix_names);
}

/* dm_load - the service table from dovecot.conf */
static int
dm_load(struct dm *m, struct dm_service *old, size_t nold)
{
	struct dovecot_conf *dc;
	const struct dovecot_conf_section *root, *sec, *lis;
	const char *err, *v;
	struct dm_service *svc = NULL, *s;
	size_t nsvc = 0, i, j;
	const struct cli_command *auth_cmd = cli_find("auth");
	char *listen_all, *protocols = NULL, key[512];

	if ((dc = dm_conf(m->conf_path, &err)) == NULL) {
		log_error("master: Error: %s", err);
		return -1;
	}
	v = dovecot_conf_get(dc, "base_dir");
	free(m->base_dir);
	m->base_dir = xstrdup(v != NULL ? v : "/run/dovecot");
	(void)mkdir(m->base_dir, 0755);
	if (auth_cmd != NULL && auth_cmd->main != cmd_unavailable) {
		char *path = path_join(m->base_dir, "auth-client");
		char *mpath = path_join(m->base_dir, "auth-master");

		/* auth-client checks passwords only (throttled per address, as
		 * the POP3 port is): login processes and smtpd as mail_owner
		 * reach it. auth-master answers who logged in and userdb
		 * lookups: the master's user only, as Dovecot's. */
		s = dm_add(&svc, &nsvc, "auth");
		if ((s->fd = dm_take_fd(old, nold, "auth")) < 0)
			s->fd = dm_bind_unix(path, 0666, &err);
		if (s->fd < 0)
			log_error("master: Error: service(auth): %s", err);
		else
			dm_listener_perms(dc, "auth", "auth-client", path, 0666);
		if ((s->fd2 = dm_take_fd2(old, nold, "auth")) < 0)
			s->fd2 = dm_bind_unix(mpath, 0600, &err);
		if (s->fd2 < 0)
			log_error("master: Error: service(auth): %s", err);
		else
			dm_listener_perms(dc, "auth", "auth-master", mpath, 0600);
		s->unlink_path = path;
		s->unlink_path2 = mpath;
		strvec_push(&s->argv, "auth");
		strvec_push(&s->argv, "-c");
		strvec_push(&s->argv, m->conf_path);
	}
	v = dovecot_conf_get(dc, "protocols");
	if (v != NULL && dm_has_word(v, "lmtp"))
		dm_load_lmtp(m, dc, old, nold, &svc, &nsvc);
	if (v == NULL || (!dm_has_word(v, "pop3") && !dm_has_word(v, "imap") &&
	    !dm_has_word(v, "sieve")))
		goto done;
	protocols = xstrdup(v);
	v = dovecot_conf_get(dc, "listen");
	listen_all = xstrdup(v != NULL ? v : "*, ::");
	root = dovecot_conf_root(dc);
	for (i = 0; i < dovecot_conf_section_count(root); i++) {
		const char *proto, *word;

		sec = dovecot_conf_section_child(root, i);
		if (dovecot_conf_section_type(sec) == NULL ||
		    strcmp(dovecot_conf_section_type(sec), "service") != 0 ||
		    dovecot_conf_section_name(sec) == NULL)
			continue;
		/* pop3-login, imap-login and managesieve-login: the same service
		 * shape; ManageSieve is "sieve" in protocols */
		if (strcmp(dovecot_conf_section_name(sec), "pop3-login") == 0)
			proto = word = "pop3";
		else if (strcmp(dovecot_conf_section_name(sec), "imap-login") == 0)
			proto = word = "imap";
		else if (strcmp(dovecot_conf_section_name(sec), "managesieve-login") == 0) {
			proto = "managesieve";
			word = "sieve";
		} else
			continue;
		if (!dm_has_word(protocols, word))
			continue;
		for (j = 0; j < dovecot_conf_section_count(sec); j++) {
			const char *name, *port, *addr, *ssl;
			char *addrs, *a, *save = NULL;

			lis = dovecot_conf_section_child(sec, j);
			if (dovecot_conf_section_type(lis) == NULL ||
			    strcmp(dovecot_conf_section_type(lis), "inet_listener") != 0 ||
			    (name = dovecot_conf_section_name(lis)) == NULL)
				continue;
			port = dovecot_conf_section_get(lis, "port");
			addr = dovecot_conf_section_get(lis, "address");
			ssl = dovecot_conf_section_get(lis, "ssl");
			if (port == NULL || strcmp(port, "0") == 0 || *port == '\0')
				continue;
			addrs = xstrdup(addr != NULL && *addr != '\0' ? addr : listen_all);
			for (a = strtok_r(addrs, ", ", &save); a != NULL; a = strtok_r(NULL, ", ", &save)) {
				int fd;

				snprintf(key, sizeof(key), "%s/%s/%s/%s", proto, name, a, port);
				fd = dm_take_fd(old, nold, key);
				if (fd < 0 && (fd = dm_bind_inet(a, port, &err)) < 0) {
					log_error("master: Error: service(%s-login): %s", proto, err);
					continue;
				}
				s = dm_add(&svc, &nsvc, key);
				s->fd = fd;
				strvec_push(&s->argv, proto);
				strvec_push(&s->argv, "-c");
				strvec_push(&s->argv, m->conf_path);
				strvec_push(&s->argv, "-l");
				strvec_push(&s->argv, name);
				if (ssl != NULL && strcmp(ssl, "yes") == 0)
					strvec_push(&s->argv, "-s");
			}
			free(addrs);
		}
	}
	free(listen_all);
done:
	free(protocols);
	dovecot_conf_free(&dc);
	m->svc = svc;
	m->nsvc = nsvc;
	return 0;
}

static void
dm_spawn(struct dm *m, struct dm_service *s)
{
	static const char *const env[] = { "YUBIN_MASTER", "1", NULL };
	int fds[2] = { s->fd, s->fd2 };	/* fd 3, and fd 4 (auth-master) */
	pid_t pid = supervise_spawn(m->exe, s->argv.v, fds, s->fd2 >= 0 ? 2 : 1, env);

	if (pid < 0) {
		s->restart_at = time(NULL) + s->backoff;
		return;
	}
	s->pid = pid;
}

static void
dm_reap(struct dm *m, bool stopping)
{
	int status;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct dm_service *s = NULL;

		for (i = 0; i < m->nretired; i++) {
			if (m->retired[i] == pid) {
				m->retired[i] = m->retired[--m->nretired];
				break;
			}
		}
		for (i = 0; i < m->nsvc; i++)
			if (m->svc[i].pid == pid)
				s = &m->svc[i];
		if (s == NULL)
			continue;
		s->pid = 0;
		if (stopping)
			continue;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			s->restart_at = time(NULL);
			continue;
		}
		if (WIFSIGNALED(status))
			log_error("master: Error: service(%s): child %ld killed with signal %d",
			    s->argv.v[0], (long)pid, WTERMSIG(status));
		else
			log_error("master: Error: service(%s): child %ld returned error %d",
			    s->argv.v[0], (long)pid, WEXITSTATUS(status));
		s->restart_at = time(NULL) + s->backoff;
		s->backoff = s->backoff * 2 > DM_MAX_BACKOFF ? DM_MAX_BACKOFF : s->backoff * 2;
	}
}

static void
dm_free_services(struct dm_service *svc, size_t n, bool unlink_sockets)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (unlink_sockets && svc[i].unlink_path != NULL)
			(void)unlink(svc[i].unlink_path);
		if (unlink_sockets && svc[i].unlink_path2 != NULL)
			(void)unlink(svc[i].unlink_path2);
		dm_service_free(&svc[i]);
	}
	free(svc);
}

static void
dm_reload(struct dm *m)
{
	struct dm_service *old = m->svc;
	size_t i, nold = m->nsvc;

	log_info("master: Warning: SIGHUP received - reloading configuration");
	if (dm_load(m, old, nold) != 0) {
		m->svc = old;
		m->nsvc = nold;
		return;
	}
	/* old services stop accepting and exit; their sessions go on */
	for (i = 0; i < nold; i++) {
		if (old[i].pid > 0) {
			kill(old[i].pid, strcmp(old[i].argv.v[0], "auth") == 0 ? SIGTERM : SIGHUP);
			m->retired = xreallocarray(m->retired, m->nretired + 1, sizeof(pid_t));
			m->retired[m->nretired++] = old[i].pid;
		}
	}
	dm_free_services(old, nold, false);
}

static int
dm_run(const char *conf_path)
{
	struct dm m;
	struct pollfd pfd;
	const char *err;
	char *pidpath, *logpath = NULL;
	unsigned char sig;
	bool stopping = false;
	time_t deadline = 0;
	size_t i, alive;
	struct dovecot_conf *dc;
	struct str protos;

	memset(&m, 0, sizeof(m));
	m.conf_path = xstrdup(conf_path);
	if ((dc = dm_conf(conf_path, &err)) == NULL) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		return 89;
	}
	if (dovecot_conf_get(dc, "log_path") != NULL)
		logpath = xstrdup(dovecot_conf_get(dc, "log_path"));
	{
		/* "pop3 lmtp" is logged as Dovecot does: "pop3, lmtp" */
		const char *pv = dovecot_conf_get(dc, "protocols");
		char *copy = xstrdup(pv != NULL && *pv != '\0' ? pv : "none"), *w, *save = NULL;

		str_init(&protos, 32);
		for (w = strtok_r(copy, " ,", &save); w != NULL; w = strtok_r(NULL, " ,", &save))
			str_appendf(&protos, "%s%s", protos.len > 0 ? ", " : "", w);
		free(copy);
	}
	dovecot_conf_free(&dc);
	if (logpath != NULL && *logpath != '\0' && strcmp(logpath, "syslog") != 0) {
		log_open("dovecot", getenv("YUBIN_LOG_STDERR") != NULL ?
		    LOG_TO_STDERR | LOG_STDERR_FULL : 0);
		(void)log_set_file(logpath);
	} else {
		log_open("dovecot", LOG_TO_SYSLOG);
	}
	free(logpath);
	if ((m.exe = supervise_self_exe()) == NULL)
		fatal("readlink /proc/self/exe: %s", strerror(errno));
	if (supervise_signals(dm_sigpipe, dm_on_signal, dm_signals,
	    sizeof(dm_signals) / sizeof(dm_signals[0])) != 0)
		fatal("pipe: %s", strerror(errno));
	if (dm_load(&m, NULL, 0) != 0)
		return 89;
	pidpath = path_join(m.base_dir, "master.pid");
	if ((m.pid_fd = supervise_pidfile(pidpath, false)) < 0) {
		log_msg(LOG_LEVEL_FATAL, "Dovecot is already running with PID %s", pidpath);
		return 89;
	}
	log_info("master: Dovecot v2.3 (yubin %s) starting up for %s", YUBIN_VERSION, protos.s);
	str_deinit(&protos);
	for (;;) {
		time_t now = time(NULL);

		if (!stopping)
			for (i = 0; i < m.nsvc; i++)
				if (m.svc[i].pid == 0 && m.svc[i].restart_at <= now)
					dm_spawn(&m, &m.svc[i]);
		alive = m.nretired;
		for (i = 0; i < m.nsvc; i++)
			alive += m.svc[i].pid > 0;
		if (stopping && (alive == 0 || now >= deadline))
			break;
		pfd.fd = dm_sigpipe[0];
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, 1000);
		while (read(dm_sigpipe[0], &sig, 1) == 1) {
			if (sig == SIGHUP && !stopping) {
				dm_reload(&m);
			} else if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
				log_info("master: Warning: Killed with signal %d (by pid=0 uid=0 code=kill)",
				    sig);
				stopping = true;
				deadline = time(NULL) + DM_STOP_WAIT;
				for (i = 0; i < m.nsvc; i++)
					if (m.svc[i].pid > 0)
						kill(m.svc[i].pid, SIGTERM);
				for (i = 0; i < m.nretired; i++)
					kill(m.retired[i], SIGTERM);
			}
		}
		dm_reap(&m, stopping);
	}
	for (i = 0; i < m.nsvc; i++)
		if (m.svc[i].pid > 0)
			kill(m.svc[i].pid, SIGKILL);
	dm_free_services(m.svc, m.nsvc, true);
	free(m.retired);
	(void)unlink(pidpath);
	free(pidpath);
	close(m.pid_fd);
	free(m.exe);
	free(m.base_dir);
	free(m.conf_path);
	return 0;
}

int
dovecot_master_start(const char *conf_path, int foreground)
{
	const char *err;
	pid_t pid;
	int i, status;

	pid = dovecot_master_pid(conf_path, &err);
	if (pid < 0) {
		fprintf(stderr, "Error: %s\n", err);
		return 89;
	}
	if (pid > 0) {
		fprintf(stderr, "Fatal: Dovecot is already running with PID %ld\n", (long)pid);
		return 89;
	}
	if (foreground)
		return dm_run(conf_path);
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		daemon_detach();
		_exit(dm_run(conf_path));
	}
	(void)waitpid(pid, &status, 0);
	for (i = 0; i < DM_START_WAIT * 10; i++) {
		if (dovecot_master_pid(conf_path, &err) > 0)
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "Fatal: Dovecot did not start; see the log\n");
	return 89;
}

int
dovecot_master_signal(const char *conf_path, const char *verb)
{
	const char *err;
	pid_t pid = dovecot_master_pid(conf_path, &err);
	int i;

	if (pid < 0) {
		fprintf(stderr, "Error: %s\n", err);
		return 89;
	}
	if (pid == 0) {
		fprintf(stderr, "Fatal: Dovecot is not running\n");
		return 89;
	}
	if (strcmp(verb, "reload") == 0)
		return kill(pid, SIGHUP) == 0 ? 0 : 89;
	if (kill(pid, SIGTERM) != 0)
		return 89;
	for (i = 0; i < (DM_STOP_WAIT + 5) * 10; i++) {
		if (dovecot_master_pid(conf_path, &err) == 0)
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "Error: Dovecot did not stop\n");
	return 89;
}

int
cmd_dovecot(int argc, char **argv)
{
	const char *conf = NULL;
	char *path;
	bool foreground = false, dump = false;
	int c, ret;

	log_open("dovecot", LOG_TO_STDERR);
	optind = 1;
	while ((c = getopt(argc, argv, "+c:Fn")) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'F':
			foreground = true;
			break;
		case 'n':
			dump = true;
			break;
		default:
			fprintf(stderr, "usage: dovecot [-c FILE] [-F] [-n] [stop|reload]\n");
			return 64;
		}
	}
	path = instance_dovecot_conf(conf);
	if (dump) {
		char *dargv[] = { (char *)"doveconf", (char *)"-c", path, (char *)"-n", NULL };

		ret = cmd_doveconf(4, dargv);
	} else if (optind < argc) {
		if (strcmp(argv[optind], "stop") != 0 && strcmp(argv[optind], "reload") != 0) {
			fprintf(stderr, "usage: dovecot [-c FILE] [-F] [-n] [stop|reload]\n");
			ret = 64;
		} else {
			ret = dovecot_master_signal(path, argv[optind]);
		}
	} else {
		ret = dovecot_master_start(path, foreground);
	}
	free(path);
	return ret;
}
