/* master.c - the master daemon: reads master.cf, binds the listeners, runs
 * one worker per service (docs/process-contract.md), restarts crashed ones
 * with back-off, reloads on SIGHUP, stops on SIGTERM, aborts on SIGQUIT;
 * and master_control(), the postfix start/stop/... verbs.
 * Tests: tests/e2e/test_master.py */
#include "master/master.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
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
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mastercf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "master/skeleton.h"
#include "master/supervise.h"
#include "qmgr/transport.h"
#include "queue/qctl.h"
#include "queue/qdir.h"

#define MASTER_SCRIPT_TAG	"yubin/postfix-script"
#define MASTER_STOP_WAIT	60	/* seconds stop/abort wait for the master */
#define MASTER_START_WAIT	10

/* One running (or waiting) service. */
struct master_service {
	char		*key;		/* owned: "name/type", to match across reloads */
	char		*command;	/* owned */
	struct strvec	 argv;		/* owned: the worker's argv */
	int		 fd;		/* listening endpoint, -1 for none */
	bool		 fd_shared;	/* fd belongs to the service's first process */
	pid_t		 pid;		/* 0 when not running */
	time_t		 restart_at;	/* when to start it again (pid 0) */
	long		 backoff;	/* seconds; doubles on each failure */
	char		*path;		/* owned: unix socket or FIFO path to unlink */
};

struct master {
	char			*config_dir;	/* owned */
	char			*queue_dir;	/* owned */
	char			*exe;		/* owned: /proc/self/exe at start */
	char			*exe_dir;	/* owned: its directory */
	struct master_service	*svc;		/* owned array */
	size_t			 nsvc;
	pid_t			*retired;	/* owned: old workers finishing after reload */
	size_t			 nretired;
	long			 throttle;	/* service_throttle_time */
	int			 pid_fd;
	bool			 log_stderr;
};

static int master_sigpipe[2] = { -1, -1 };
static const int master_signals[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD };
/* "postfix start" waits on this pipe: the master writes one byte once its
 * configuration is loaded and its listeners are bound, so a master that
 * dies on a bad master.cf is reported as not started (a pid lock held for
 * a moment is no proof). -1 when nobody waits. */
static int master_ready_fd = -1;

static void
master_on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(master_sigpipe[1], &c, 1);
	errno = saved;
}

static char *
master_expand(struct maincf *cf, const char *name)
{
	const char *err;
	struct str v;
	char *s;

	str_init(&v, 64);
	if (maincf_get(cf, name, &v, &err) != 0)
		str_reset(&v);
	s = str_export(&v);
	str_deinit(&v);
	return s;
}

/* master_pid_path - queue_dir/pid/master.pid (caller frees) */
static char *
master_pid_path(const char *queue_dir)
{
	return xasprintf("%s/pid/master.pid", queue_dir);
}

/* master_running_pid - the pid of the master holding the lock, or 0 */
static pid_t
master_running_pid(const char *queue_dir)
{
	char *path = master_pid_path(queue_dir), buf[32];
	pid_t pid = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return 0;
	/* locked by someone: a master runs; unlocked: a stale file */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			pid = (pid_t)strtol(buf, NULL, 10);
		}
		if (pid <= 0)
			pid = -1;
	}
	close(fd);
	return pid;
}

static void
master_service_free(struct master_service *s)
{
	if (s->fd >= 0 && !s->fd_shared)
		close(s->fd);
	if (s->path != NULL)
		(void)unlink(s->path);
	free(s->key);
	free(s->command);
	free(s->path);
	strvec_deinit(&s->argv);
}

/* master_bind_inet - one listening TCP socket for host:port; host "" means
 * inet_interfaces (all: the IPv4 wildcard; loopback-only: 127.0.0.1) */
static int
master_bind_inet(struct maincf *cf, const char *name, const char **error_r)
{
	struct str host, port;
	struct addrinfo hints, *res = NULL;
	char *ifaces = NULL, *comma;
	int fd = -1, one = 1, pnum;

	str_init(&host, 32);
	str_init(&port, 16);
	if (mastercf_inet_split(name, &host, &port, error_r) != 0)
		goto out;
	if ((pnum = mastercf_port_number(port.s)) < 0) {
		*error_r = "unknown service port";
		goto out;
	}
	if (host.len == 0) {
		ifaces = master_expand(cf, "inet_interfaces");
		if ((comma = strpbrk(ifaces, ", \t")) != NULL)
			*comma = '\0';	/* one endpoint per service (fd 3) */
		if (strcmp(ifaces, "all") == 0 || *ifaces == '\0')
			str_append(&host, "0.0.0.0");
		else if (strcmp(ifaces, "loopback-only") == 0 || strcmp(ifaces, "localhost") == 0)
			str_append(&host, "127.0.0.1");
		else
			str_append(&host, ifaces[0] == '[' ? ifaces + 1 : ifaces);
		if (host.len > 0 && host.s[host.len - 1] == ']')
			str_truncate(&host, host.len - 1);
	}
	str_reset(&port);
	str_appendf(&port, "%d", pnum);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host.s, port.s, &hints, &res) != 0 || res == NULL) {
		*error_r = "cannot resolve the listen address";
		goto out;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (res->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 100) != 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	if (res != NULL)
		freeaddrinfo(res);
	free(ifaces);
	str_deinit(&host);
	str_deinit(&port);
	return fd;
}

static int
master_bind_unix(const char *path, const char **error_r)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = "socket path too long";
		return -1;
	}
	strcpy(sun.sun_path, path);
	(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, 100) != 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
master_open_fifo(const char *path, const char **error_r)
{
	int fd;

	if (mkfifo(path, 0622) != 0 && errno != EEXIST) {
		*error_r = strerror(errno);
		return -1;
	}
	(void)chmod(path, 0622);
	/* read-write: the FIFO never sees end-of-file between writers */
	if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		*error_r = strerror(errno);
	return fd;
}

/* master_runnable - this binary has a daemon of that name */
static bool
master_runnable(const char *command)
{
	const struct cli_command *c = cli_find(command);

	return c != NULL && c->main != cmd_unavailable && c->main != cmd_inprocess;
}

/* master_process_count - how many processes serve one service. smtpd runs
 * many sessions per process on an event loop; a few processes let their
 * queue-file commits (fsync) overlap, as Postfix's process per session
 * does. Capped by maxproc ("-": default_process_limit). Every other
 * service has one process. */
static size_t
master_process_count(struct maincf *cf, const struct mastercf_service *s)
{
	long maxproc = s->maxproc, ncpu = sysconf(_SC_NPROCESSORS_ONLN), want;
	const char *err;

	if (s->type != MASTERCF_INET || strcmp(s->command, "smtpd") != 0)
		return 1;
	if (maxproc < 0 && maincf_get_long(cf, "default_process_limit", &maxproc, &err) != 0)
		maxproc = 100;
	want = 2 * (ncpu > 0 ? ncpu : 1);
	if (maxproc > 0 && want > maxproc)
		want = maxproc;
	return want > 0 ? (size_t)want : 1;
}

/* master_add_copies - the last service in svc served by n processes: n-1
 * more entries that share its listener ("name/type#k" keys, so that a
 * reload matches them up) */
static size_t
master_add_copies(struct master_service **svcp, size_t nsvc, size_t n)
{
	size_t k, first = nsvc - 1;

	for (k = 1; k < n; k++) {
		struct master_service *svc, *c;

		*svcp = xreallocarray(*svcp, nsvc + 1, sizeof(**svcp));
		svc = *svcp;
		c = &svc[nsvc++];
		memset(c, 0, sizeof(*c));
		c->key = xasprintf("%s#%zu", svc[first].key, k);
		c->command = xstrdup(svc[first].command);
		c->fd = svc[first].fd;
		c->fd_shared = true;
		c->backoff = 1;
		strvec_init(&c->argv);
		for (size_t j = 0; j < svc[first].argv.n; j++)
			strvec_push(&c->argv, svc[first].argv.v[j]);
	}
	return nsvc;
}

/* master_load - read main.cf and master.cf into a new service table; old
 * services with the same name and type hand over their listener, so a
 * reload never closes a socket that clients are connecting to */
/* master_done_elsewhere - a Postfix service that yubin has no process
 * for because other processes do its work: cleanup (smtpd and pickup),
 * trivial-rewrite (each daemon rewrites), bounce/defer/trace (the queue
 * manager), showq (mailq reads the queue), flush (postqueue -s), proxymap
 * (tables open in each process), anvil, scache (the smtp client's own
 * cache), tlsmgr, postlogd (each process logs) */
static bool
master_done_elsewhere(const char *command)
{
	static const char *const names[] = { "cleanup", "trivial-rewrite", "bounce", "showq",
	    "flush", "proxymap", "anvil", "scache", "tlsmgr", "postlogd" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(command, names[i]) == 0)
			return true;
	return false;
}

static int
master_load(struct master *m, struct master_service *old, size_t nold, bool report)
{
	const struct mastercf_service *all, *s;
	struct master_service *svc = NULL, *ns;
	struct mastercf *mc = mastercf_new();
	struct maincf *cf = maincf_new(m->config_dir);
	const char *err;
	char *mcpath, *key, *path;
	struct str elsewhere;
	size_t i, j, n, nsvc = 0;
	int ret = -1;

	str_init(&elsewhere, 128);
	mcpath = xasprintf("%s/master.cf", m->config_dir);
	if (maincf_load(cf, &err) != 0 || mastercf_load(mc, mcpath, &err) != 0) {
		log_error("%s", err);
		goto out;
	}
	if (maincf_get_time(cf, "service_throttle_time", &m->throttle, &err) != 0)
		m->throttle = 60;
	all = mastercf_services(mc, &n);
	for (i = 0; i < n; i++) {
		s = &all[i];
		if (mastercf_find(mc, s->name, s->type_name) != s)
			continue;	/* the last duplicate wins */
		if (transport_find(s->command) != NULL && s->type == MASTERCF_UNIX)
			continue;	/* delivered inside the queue manager */
		if (master_done_elsewhere(s->command)) {
			/* Postfix's own plumbing: yubin does that work inside
			 * other processes; one line names them all */
			if (report)
				str_appendf(&elsewhere, "%s%s (line %d)", elsewhere.len > 0 ? ", " : "",
				    s->command, s->line);
			continue;
		}
		if (s->type == MASTERCF_PASS || s->type == MASTERCF_UNIX_DGRAM ||
		    !master_runnable(s->command)) {
			if (report)
				log_warn("%s: line %d: service %s is not available in this build, "
				    "not started", mcpath, s->line, s->command);
			continue;
		}
		key = xasprintf("%s/%s", s->name, s->type_name);
		svc = xreallocarray(svc, nsvc + 1, sizeof(*svc));
		ns = &svc[nsvc++];
		memset(ns, 0, sizeof(*ns));
		ns->key = key;
		ns->command = xstrdup(s->command);
		ns->fd = -1;
		ns->backoff = 1;
		for (j = 0; j < nold; j++) {
			if (old[j].key != NULL && strcmp(old[j].key, key) == 0 && old[j].fd >= 0) {
				ns->fd = old[j].fd;
				ns->path = old[j].path;
				old[j].fd = -1;
				old[j].path = NULL;
				break;
			}
		}
		if (ns->fd < 0) {
			path = NULL;
			if (s->type == MASTERCF_INET) {
				ns->fd = master_bind_inet(cf, s->name, &err);
			} else if (s->type == MASTERCF_FIFO || strcmp(s->command, "qmgr") == 0) {
				/* the queue manager's wake-up channel is a FIFO for
				 * both master.cf forms (process-contract.md) */
				path = xasprintf("%s/public/%s", m->queue_dir, s->name);
				ns->fd = master_open_fifo(path, &err);
			} else {
				path = xasprintf("%s/%s/%s", m->queue_dir,
				    s->private_ ? "private" : "public", s->name);
				ns->fd = master_bind_unix(path, &err);
			}
			ns->path = path;
			if (ns->fd < 0) {
				log_error("%s: line %d: service %s: %s", mcpath, s->line, s->name, err);
				master_service_free(ns);
				nsvc--;
				continue;
			}
		}
		strvec_init(&ns->argv);
		strvec_push(&ns->argv, s->command);
		strvec_push(&ns->argv, "-c");
		strvec_push(&ns->argv, m->config_dir);
		strvec_push(&ns->argv, "-n");
		strvec_push(&ns->argv, s->name);
		strvec_push(&ns->argv, "-t");
		strvec_push(&ns->argv, s->type_name);
		for (j = 0; j < s->nopts; j++) {
			strvec_push(&ns->argv, "-o");
			strvec_push_take(&ns->argv, xasprintf("%s=%s", s->opts[j].name,
			    s->opts[j].value));
		}
		if (s->verbose)
			strvec_push(&ns->argv, "-v");
		nsvc = master_add_copies(&svc, nsvc, master_process_count(cf, s));
	}
	if (elsewhere.len > 0)
		log_info("%s: Postfix services whose work yubin does inside its other "
		    "processes, not started: %s", mcpath, elsewhere.s);
	m->svc = svc;
	m->nsvc = nsvc;
	ret = 0;
out:
	str_deinit(&elsewhere);
	free(mcpath);
	mastercf_free(&mc);
	maincf_free(&cf);
	return ret;
}

static void
master_spawn(struct master *m, struct master_service *s)
{
	const char *env[] = { "MAIL_CONFIG", m->config_dir, "YUBIN_MASTER", "1",
	    m->log_stderr ? "YUBIN_LOG_STDERR" : NULL, "1", NULL };
	pid_t pid = supervise_spawn(m->exe, s->argv.v, &s->fd, 1, env);

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		s->restart_at = time(NULL) + s->backoff;
		return;
	}
	s->pid = pid;
}

static struct master_service *
master_by_pid(struct master *m, pid_t pid)
{
	size_t i;

	for (i = 0; i < m->nsvc; i++)
		if (m->svc[i].pid == pid)
			return &m->svc[i];
	return NULL;
}

static bool
master_forget_retired(struct master *m, pid_t pid)
{
	size_t i;

	for (i = 0; i < m->nretired; i++) {
		if (m->retired[i] == pid) {
			m->retired[i] = m->retired[--m->nretired];
			return true;
		}
	}
	return false;
}

static void
master_reap(struct master *m, bool stopping)
{
	struct master_service *s;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (master_forget_retired(m, pid) || (s = master_by_pid(m, pid)) == NULL)
			continue;
		s->pid = 0;
		if (stopping)
			continue;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			s->backoff = 1;
			s->restart_at = time(NULL);
			continue;
		}
		/* Postfix names the program file; ours is one binary, so
		 * the name is the multi-call link beside it */
		if (WIFSIGNALED(status))
			log_warn("process %s/%s pid %ld killed by signal %d", m->exe_dir,
			    s->command, (long)pid, WTERMSIG(status));
		else
			log_warn("process %s/%s pid %ld exit status %d", m->exe_dir, s->command,
			    (long)pid, WEXITSTATUS(status));
		s->restart_at = time(NULL) + s->backoff;
		s->backoff = s->backoff * 2 > m->throttle ? m->throttle : s->backoff * 2;
	}
}

static size_t
master_alive(const struct master *m)
{
	size_t i, n = m->nretired;

	for (i = 0; i < m->nsvc; i++)
		if (m->svc[i].pid > 0)
			n++;
	return n;
}

/* master_signal_all - sig to every worker, old and new */
static void
master_signal_all(struct master *m, int sig)
{
	size_t i;

	for (i = 0; i < m->nsvc; i++)
		if (m->svc[i].pid > 0)
			kill(m->svc[i].pid, sig);
	for (i = 0; i < m->nretired; i++)
		kill(m->retired[i], sig);
}

static void
master_free_services(struct master_service *svc, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		master_service_free(&svc[i]);
	free(svc);
}

/* master_reload - new tables; old workers finish with SIGTERM, but smtpd
 * with SIGUSR2: it stops accepting and serves the sessions it has to their
 * end, as Postfix's smtpd does on reload (a client that has just seen the
 * old process's 220 must not get 421 at its first command) */
static void
master_reload(struct master *m)
{
	struct master_service *old = m->svc;
	size_t i, nold = m->nsvc;

	log_info("reload -- version %s, configuration %s", YUBIN_VERSION, m->config_dir);
	if (master_load(m, old, nold, true) != 0) {
		log_warn("reload failed; keeping the running configuration");
		m->svc = old;
		m->nsvc = nold;
		return;
	}
	for (i = 0; i < nold; i++) {
		if (old[i].pid > 0) {
			kill(old[i].pid, strcmp(old[i].command, "smtpd") == 0 ? SIGUSR2 : SIGTERM);
			m->retired = xreallocarray(m->retired, m->nretired + 1, sizeof(pid_t));
			m->retired[m->nretired++] = old[i].pid;
		}
	}
	master_free_services(old, nold);
}

static int
master_lock_pid(struct master *m)
{
	char *path = master_pid_path(m->queue_dir);

	m->pid_fd = supervise_pidfile(path, true);
	free(path);
	return m->pid_fd < 0 ? -1 : 0;
}

/* master_run - the master itself, until stopped */
static int
master_run(const char *config_dir, bool log_stderr)
{
	struct master m;
	struct maincf *cf;
	struct passwd *pw;
	struct pollfd pfd;
	const char *err;
	char *maillog, *syslog_name, *owner, tag[128];
	unsigned char sig;
	bool stopping = false, aborting = false;
	time_t now, deadline = 0;
	size_t i;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	memset(&m, 0, sizeof(m));
	m.pid_fd = -1;
	m.config_dir = xstrdup(config_dir);
	m.log_stderr = log_stderr;
	cf = maincf_new(config_dir);
	if (maincf_load(cf, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		maincf_free(&cf);
		return 1;
	}
	m.queue_dir = master_expand(cf, "queue_directory");
	syslog_name = master_expand(cf, "syslog_name");
	maillog = master_expand(cf, "maillog_file");
	owner = master_expand(cf, "mail_owner");
	snprintf(tag, sizeof(tag), "%s/master", syslog_name);
	log_open(tag, (*maillog != '\0' ? 0 : LOG_TO_SYSLOG) |
	    (log_stderr ? LOG_TO_STDERR | LOG_STDERR_FULL : 0));
	if (*maillog != '\0')
		(void)log_set_file(maillog);
	if (geteuid() == 0 && (pw = getpwnam(owner)) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	free(syslog_name);
	free(maillog);
	free(owner);
	maincf_free(&cf);
	/* like "postfix start" running post-install: the queue must exist */
	if (qdir_create(m.queue_dir, uid, gid, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		return 1;
	}
	if (master_lock_pid(&m) != 0) {
		log_msg(LOG_LEVEL_FATAL, "the yubin mail system is already running");
		return 1;
	}
	if ((m.exe = supervise_self_exe()) == NULL) {
		log_msg(LOG_LEVEL_FATAL, "readlink /proc/self/exe: %s", strerror(errno));
		return 1;
	}
	m.exe_dir = xstrdup(m.exe);
	if (strrchr(m.exe_dir, '/') != NULL)
		*strrchr(m.exe_dir, '/') = '\0';
	if (supervise_signals(master_sigpipe, master_on_signal, master_signals,
	    sizeof(master_signals) / sizeof(master_signals[0])) != 0) {
		log_msg(LOG_LEVEL_FATAL, "pipe: %s", strerror(errno));
		return 1;
	}

	if (master_load(&m, NULL, 0, true) != 0) {
		log_msg(LOG_LEVEL_FATAL, "cannot start: configuration errors");
		return 1;
	}
	log_info("daemon started -- version %s, configuration %s", YUBIN_VERSION, config_dir);
	if (master_ready_fd >= 0) {
		(void)!write(master_ready_fd, "1", 1);
		close(master_ready_fd);
		master_ready_fd = -1;
	}
	for (;;) {
		now = time(NULL);
		if (!stopping)
			for (i = 0; i < m.nsvc; i++)
				if (m.svc[i].pid == 0 && m.svc[i].restart_at <= now)
					master_spawn(&m, &m.svc[i]);
		if (stopping && master_alive(&m) == 0)
			break;
		if (stopping && now >= deadline && !aborting) {
			/* workers that do not finish in time are killed */
			master_signal_all(&m, SIGKILL);
			aborting = true;
		}
		pfd.fd = master_sigpipe[0];
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, 1000);
		while (read(master_sigpipe[0], &sig, 1) == 1) {
			switch (sig) {
			case SIGCHLD:
				break;
			case SIGHUP:
				if (!stopping)
					master_reload(&m);
				break;
			case SIGQUIT:
				log_info("terminating on signal %d", sig);
				stopping = aborting = true;
				master_signal_all(&m, SIGKILL);
				break;
			default:	/* SIGTERM, SIGINT */
				if (!stopping) {
					log_info("terminating on signal %d", sig);
					stopping = true;
					deadline = time(NULL) + MASTER_STOP_WAIT;
					master_signal_all(&m, SIGTERM);
				}
				break;
			}
		}
		master_reap(&m, stopping);
	}
	master_free_services(m.svc, m.nsvc);
	free(m.retired);
	{
		char *p = master_pid_path(m.queue_dir);

		(void)unlink(p);
		free(p);
	}
	close(m.pid_fd);
	free(m.exe);
	free(m.exe_dir);
	free(m.queue_dir);
	free(m.config_dir);
	return 0;
}

/* master_say - a postfix-script line on stderr and in the log */
static void __attribute__((format(printf, 2, 3)))
master_say(enum log_level level, const char *fmt, ...)
{
	char saved[128];
	va_list ap;
	struct str text;

	str_init(&text, 128);
	va_start(ap, fmt);
	str_vappendf(&text, fmt, ap);
	va_end(ap);
	snprintf(saved, sizeof(saved), "%s", log_tag());
	log_open(MASTER_SCRIPT_TAG, LOG_TO_STDERR);
	log_msg(level, "%s", text.s);
	log_open(saved, LOG_TO_STDERR);
	str_deinit(&text);
}

static bool
master_wait_gone(const char *queue_dir, int seconds)
{
	int i;

	for (i = 0; i < seconds * 10; i++) {
		if (master_running_pid(queue_dir) == 0)
			return true;
		usleep(100000);
	}
	return false;
}

static int
master_start(const char *config_dir, const char *queue_dir)
{
	pid_t pid;
	int i, status, ready[2];
	char byte;
	ssize_t n;

	master_say(LOG_LEVEL_INFO, "starting the yubin mail system");
	if (pipe2(ready, O_CLOEXEC) != 0)
		return 1;
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		close(ready[0]);
		master_ready_fd = ready[1];
		daemon_detach();
		_exit(master_run(config_dir, false));
	}
	close(ready[1]);
	(void)waitpid(pid, &status, 0);
	/* the byte, or end of file when the master died before it was ready */
	do
		n = read(ready[0], &byte, 1);
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	for (i = 0; n == 1 && i < MASTER_START_WAIT * 10; i++) {
		if (master_running_pid(queue_dir) > 0)
			return 0;
		usleep(100000);
	}
	master_say(LOG_LEVEL_FATAL, "the yubin mail system did not start; see the log");
	return 1;
}

int
master_control(const char *config_dir, const char *verb, int argc, char **argv)
{
	struct qctl q;
	const char *err;
	pid_t pid;
	bool woke;
	int ret = 1;

	if (qctl_open(&q, config_dir, &err) != 0) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		qctl_close(&q);
		return 1;
	}
	pid = master_running_pid(q.queue_dir);
	if (strcmp(verb, "status") == 0) {
		if (pid != 0) {
			master_say(LOG_LEVEL_INFO, "the yubin mail system is running: PID: %ld",
			    (long)pid);
			ret = 0;
		} else {
			master_say(LOG_LEVEL_INFO, "the yubin mail system is not running");
		}
	} else if (strcmp(verb, "start") == 0 || strcmp(verb, "start-fg") == 0) {
		if (pid != 0)
			master_say(LOG_LEVEL_FATAL, "the yubin mail system is already running");
		else if (strcmp(verb, "start-fg") == 0)
			ret = master_run(q.config_dir, true);
		else
			ret = master_start(q.config_dir, q.queue_dir);
	} else if (strcmp(verb, "stop") == 0 || strcmp(verb, "abort") == 0 ||
	    strcmp(verb, "reload") == 0) {
		if (pid <= 0) {
			master_say(LOG_LEVEL_FATAL, "the yubin mail system is not running");
		} else if (verb[0] == 'r') {
			master_say(LOG_LEVEL_INFO, "refreshing the yubin mail system");
			ret = kill(pid, SIGHUP) == 0 ? 0 : 1;
		} else {
			master_say(LOG_LEVEL_INFO, verb[0] == 's' ? "stopping the yubin mail system" :
			    "aborting the yubin mail system");
			if (kill(pid, verb[0] == 's' ? SIGTERM : SIGQUIT) == 0 &&
			    master_wait_gone(q.queue_dir, MASTER_STOP_WAIT + 10))
				ret = 0;
			else
				master_say(LOG_LEVEL_ERROR, "the master did not stop");
		}
	} else if (strcmp(verb, "flush") == 0) {
		(void)qctl_flush(q.queue_dir, &woke);
		if (woke)
			ret = 0;
		else
			log_msg(LOG_LEVEL_FATAL, "Cannot flush mail queue - mail system is down");
	} else {
		log_msg(LOG_LEVEL_FATAL, "unknown command: %s", verb);
	}
	qctl_close(&q);
	return ret;
}

/* cmd_master - "yubin master [-c DIR] VERB": the master_control verbs, and
 * with no verb the master in the foreground (as Postfix's master -d) */
int
cmd_master(int argc, char **argv)
{
	const char *config = NULL;
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "+c:Dd")) != -1) {
		if (c == 'c')
			config = optarg;
	}
	config = instance_config_dir(config);
	if (optind == argc)
		return master_control(config, "start-fg", 0, NULL);
	return master_control(config, argv[optind], argc - optind - 1, argv + optind + 1);
}

/* cmd_inprocess - master.cf commands that run inside the queue manager in
 * this build (discard, error): nothing to start by hand */
int
cmd_inprocess(int argc, char **argv)
{
	log_msg(LOG_LEVEL_INFO, "%s runs inside the queue manager in this build; "
	    "there is no process to start", argv[0]);
	return 0;
}
