/* pop3_server.c - the POP3 service process and the session process of
 * each connection (see pop3.h for the process picture): settings from
 * dovecot.conf, TLS (ssl, ssl_cert, ssl_key, ssl_min_protocol,
 * ssl_cipher_list), the accept loop, the hand-over from the login process,
 * mail_max_userip_connections, the session files that doveadm who and kick
 * read ($base_dir/sessions/PID: "user TAB pop3 TAB rip TAB lip TAB session"),
 * the switch to the user's uid, and verbose_proctitle.
 * Tests: tests/e2e/test_pop3.py, tests/e2e/test_doveadm.py */
#include <arpa/inet.h>
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
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "auth/auth_client.h"
#include "lib/base64.h"
#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "login/login.h"
#include "login/login_pool.h"
#include "login/login_split.h"
#include "pop3/pop3-private.h"
#include "pop3/pop3.h"

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

void
pop3_proctitle_full(const char *comm, const char *title)
{
	if (proctitle_start == NULL)
		return;
	memset(proctitle_start, 0, proctitle_len);
	memcpy(proctitle_start, title, strlen(title) < proctitle_len - 1 ? strlen(title) :
	    proctitle_len - 1);
	(void)prctl(PR_SET_NAME, comm, 0, 0, 0);
}

/* --- settings --- */

/* conf_protocol - the protocol name filters see for this service */
static const char *
conf_protocol(void)
{
	return proto->conf_protocol != NULL ? proto->conf_protocol : proto->name;
}

/* pop3_login_service_load - service NAME-login's service_count,
 * process_min_avail and process_limit (0: default_process_limit) */
static void
pop3_login_service_load(struct pop3_settings *set, const struct dovecot_conf *dc)
{
	static const char *const keys[] = { "service_count", "process_min_avail",
	    "process_limit" };
	unsigned long *vals[] = { &set->login_service_count, &set->login_min_avail,
	    &set->login_process_limit };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *path = xasprintf("service/%s-login/%s", proto->name, keys[i]);
		const char *v = dovecot_conf_get(dc, path), *err;
		unsigned long long n = i == 0 ? 1 : 0;

		if (v != NULL)
			(void)dovecot_conf_parse_uint(v, &n, &err);
		*vals[i] = (unsigned long)n;
		free(path);
	}
	if (set->login_process_limit == 0) {
		const char *v = dovecot_conf_get(dc, "default_process_limit"), *err;
		unsigned long long n = 100;

		if (v != NULL)
			(void)dovecot_conf_parse_uint(v, &n, &err);
		set->login_process_limit = (unsigned long)n;
	}
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
	set->base_dir = dovecot_conf_protocol_str(dc, conf_protocol(), "base_dir");
	set->auth_socket = path_join(set->base_dir, "auth-client");
	set->auth_master_socket = path_join(set->base_dir, "auth-master");
	set->sessions_dir = path_join(set->base_dir, "sessions");
	set->greeting = dovecot_conf_protocol_str(dc, conf_protocol(), "login_greeting");
	set->mail_location = dovecot_conf_protocol_str(dc, conf_protocol(), "mail_location");
	set->uidl_format = dovecot_conf_protocol_str(dc, conf_protocol(), "pop3_uidl_format");
	set->login_user = dovecot_conf_protocol_str(dc, conf_protocol(), "default_login_user");
	/* once here, not a passwd lookup (nsswitch.conf, nscd's socket,
	 * /etc/passwd) in each connection's login process */
	login_split_resolve_user(set->login_user, &set->login_uid, &set->login_gid);
	set->disable_plaintext_auth = dovecot_conf_protocol_bool(dc, conf_protocol(), "disable_plaintext_auth");
	set->verbose_proctitle = dovecot_conf_protocol_bool(dc, conf_protocol(), "verbose_proctitle");
	set->max_userip = dovecot_conf_protocol_uint(dc, conf_protocol(), "mail_max_userip_connections");
	set->first_valid_uid = dovecot_conf_protocol_uint(dc, conf_protocol(), "first_valid_uid");
	pop3_login_service_load(set, dc);
	set->login_timeout_ms = POP3_LOGIN_TIMEOUT_MS;
	set->idle_timeout_ms = POP3_IDLE_TIMEOUT_MS;
	/* tests shorten the timeouts; never meant for production */
	if (getenv("YUBIN_POP3_TIMEOUT_MS") != NULL)
		set->login_timeout_ms = set->idle_timeout_ms = atoi(getenv("YUBIN_POP3_TIMEOUT_MS"));
	logpath = dovecot_conf_protocol_str(dc, conf_protocol(), "log_path");
	if (*logpath != '\0' && strcmp(logpath, "syslog") != 0 && strcmp(logpath, "/dev/stderr") != 0 &&
	    log_set_file(logpath) == 0 && getenv("YUBIN_LOG_STDERR") == NULL) {
		/* as Dovecot, a log_path file is the only sink: no syslog
		 * besides it (whose socket, where there is none, each login
		 * and session process tried to connect to again) */
		closelog();
		log_open("dovecot", 0);
	}
	free(logpath);
	v = dovecot_conf_protocol_str(dc, conf_protocol(), "ssl");
	set->ssl = strcmp(v, "no") == 0 ? POP3_SSL_NO : strcmp(v, "required") == 0 ?
	    POP3_SSL_REQUIRED : POP3_SSL_YES;
	free(v);
	if (set->ssl != POP3_SSL_NO) {
		set->ssl_ctx = login_tls_ctx(dc, proto->conf_protocol != NULL ?
		    proto->conf_protocol : proto->name, &err);
		if (set->ssl_ctx == NULL)
			log_error("%s-login: TLS is not available: %s", proto->name, err);
	}
	dovecot_conf_free(&dc);
	return 0;
}

/* pop3_settings_deinit - what pop3_settings_load allocated */
static void
pop3_settings_deinit(struct pop3_settings *set)
{
	free(set->conf_path);
	free(set->base_dir);
	free(set->auth_socket);
	free(set->auth_master_socket);
	free(set->sessions_dir);
	free(set->greeting);
	free(set->mail_location);
	free(set->uidl_format);
	free(set->login_user);
	if (set->ssl_ctx != NULL)
		SSL_CTX_free(set->ssl_ctx);
	memset(set, 0, sizeof(*set));
}

/* --- the session process --- */

static int
pop3_login_entry(void *ctx, int client_fd, int ctl_fd, struct auth_client *auth)
{
	return proto->login_run(ctx, client_fd, ctl_fd, auth);
}

/* session_params - the login split's parameters for connection c */
static void
session_params(struct pop3_client *c, struct login_split_params *p)
{
	const struct pop3_settings *set = c->set;

	*p = (struct login_split_params){
		.protocol = proto->name, .auth_socket = set->auth_socket,
		.auth_master_socket = set->auth_master_socket, .login_user = set->login_user,
		.login_uid = set->login_uid, .login_gid = set->login_gid,
		.first_valid_uid = set->first_valid_uid, .max_userip = set->max_userip,
		.sessions_dir = set->sessions_dir, .mail_location = set->mail_location,
		.rip = c->rip, .lip = c->lip, .session = c->session,
		.login_run = pop3_login_entry, .ctx = c, .resumable = proto->resumable,
	};
}

static int session_mail(struct pop3_client *, struct login_split_result *);

/* session_run - S: the login split (login_split.c), then the mailbox */
static int
session_run(struct pop3_client *c, int client_fd)
{
	struct login_split_params p;
	struct login_split_result r;
	int ret;

	session_params(c, &p);
	ret = login_split_run(&p, client_fd, &r);
	/* resumable: this process stays root while a child serves each login;
	 * the child's RESUME status means L took the connection back */
	while (ret == 2) {
		int st;

		while (waitpid(r.child, &st, 0) < 0)
			if (errno != EINTR) {
				login_split_result_deinit(&r);
				return 1;
			}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != LOGIN_SPLIT_EXIT_RESUME) {
			login_split_result_deinit(&r);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
		}
		ret = login_split_next(&p, client_fd, &r);
	}
	if (ret == 0)
		return 1;
	return session_mail(c, &r);
}

/* session_run_attached - S forked for a pooled login process's hand-off */
static int
session_run_attached(struct pop3_client *c, struct login_pool_handoff *h)
{
	struct login_split_params p;
	struct login_split_result r;

	session_params(c, &p);
	if (login_split_attach(&p, h->client_fd, h->ctl_fd, (long)h->login_pid, &r) != 1)
		return 1;
	return session_mail(c, &r);
}

/* session_mail - S after the login, as the user: the protocol's mailbox
 * half on the connection the split left (r's, deinitialized here) */
static int
session_mail(struct pop3_client *c, struct login_split_result *rp)
{
	const struct pop3_settings *set = c->set;
	struct login_split_result r = *rp;
	struct pop3_conn conn;
	int status;

	c->ctl = proto->resumable ? r.ctl : -1;
	pop3_conn_init(&conn, r.fd, set->idle_timeout_ms);
	if (r.leftover_len > sizeof(conn.in)) {
		login_split_result_deinit(&r);
		return 1;
	}
	memcpy(conn.in, r.leftover, r.leftover_len);
	conn.in_len = r.leftover_len;
	if (set->verbose_proctitle)
		pop3_proctitle("[%s %s]", r.user, c->rip);
	/* the user's home, for "~" in per-user settings (plugin/sieve) */
	if (r.home != NULL)
		(void)setenv("HOME", r.home, 1);
	c->mail_location = r.mail_location;
	status = proto->mail_run(c, &conn, r.user, r.mail_path, r.maildir);
	pop3_conn_deinit(&conn);
	login_split_result_deinit(&r);
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

/* the service's pool of login processes (NULL: one per connection) */
static struct login_pool *service_pool;

/* emptied .userip directories and spare session files are pruned this
 * often */
#define PRUNE_INTERVAL	600
static time_t last_prune;

/* helper_keep - the protocol's helper process (IMAP's hibernation) runs,
 * restarted at most once a second */
static void
helper_keep(const struct pop3_settings *set, const char *listener, pid_t *helper,
    time_t *started)
{
	if (*helper < 0 && proto->service_helper != NULL && time(NULL) != *started) {
		*started = time(NULL);
		*helper = proto->service_helper(set, listener);
	}
}

/* pop3_reap - ended session processes; the helper's pid is set to -1
 * when it ended */
static void
pop3_reap(const struct pop3_settings *set, size_t *live, pid_t *helper)
{
	time_t now;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == *helper) {
			log_error("%s: helper process %ld ended (%s %d)", proto->name, (long)pid,
			    WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) :
			    WTERMSIG(st));
			*helper = -1;
			/* the clients IMAP's hibernate process held went with
			 * it: their registry entries ("PID.ID") go too */
			login_session_drop_holder(set->sessions_dir, (long)pid);
			continue;
		}
		if (service_pool != NULL && login_pool_reaped(service_pool, pid))
			continue;	/* a login process, never a session */
		/* its file stays as a spare for the next session */
		(void)login_session_retire(set->sessions_dir, (long)pid);
		if (*live > 0)
			(*live)--;
	}
	now = time(NULL);
	if (now - last_prune >= PRUNE_INTERVAL || now < last_prune) {
		login_session_prune(set->sessions_dir);
		last_prune = now;
	}
}

/* client_init - an accepted connection's facts (peer NULL: asked of fd) */
static void
client_init(struct pop3_client *client, const struct pop3_settings *set, int fd,
    bool implicit, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage ss, local;
	socklen_t plen = sizeof(ss), llen = sizeof(local);

	memset(client, 0, sizeof(*client));
	client->set = set;
	client->implicit_tls = implicit;
	client->ctl = -1;
	if (peer == NULL) {
		memset(&ss, 0, sizeof(ss));
		if (getpeername(fd, (struct sockaddr *)&ss, &plen) != 0)
			ss.ss_family = AF_UNSPEC;
		peer = &ss;
	}
	login_addr_text(peer, client->rip, sizeof(client->rip), &client->rport);
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		login_addr_text(&local, client->lip, sizeof(client->lip), &client->lport);
}

/* --- the login pool (service NAME-login { service_count = 0 ... }) --- */

struct pool_ctx {
	const struct pop3_settings *set;
	bool	 implicit;
	size_t	*live;
	struct auth_client *auth;	/* in a login process: its connection */
};

/* pool_serve_one - in a pooled login process: one client's login; false
 * when the auth connection is lost and cannot be made again (as
 * default_login_user the socket may be out of reach): a new login
 * process, connected while root, takes this one's place */
static bool
pool_serve_one(void *ctx, int fd, int ctl_fd, char *session, size_t size)
{
	struct pool_ctx *pc = ctx;
	struct pop3_client client;
	const char *err;

	client_init(&client, pc->set, fd, pc->implicit, NULL);
	pop3_session_id(client.session, sizeof(client.session));
	snprintf(session, size, "%s", client.session);
	client.keep_auth = true;
	(void)proto->login_run(&client, fd, ctl_fd, pc->auth);
	pop3_proctitle("[idle]");
	return auth_client_connect(pc->auth, &err) == 0;
}

/* pool_login_child - a new pooled login process: as default_login_user,
 * clients one after another until service_count or the service ends */
static void
pool_login_child(void *ctx, int listen_fd, int pool_fd)
{
	struct pool_ctx *pc = ctx;
	struct pop3_client dummy;
	struct login_split_params p;
	const char *err;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	memset(&dummy, 0, sizeof(dummy));
	dummy.set = pc->set;
	session_params(&dummy, &p);
	pc->auth = login_split_become_login(&p);
	if (auth_client_connect(pc->auth, &err) != 0) {
		/* the auth service is not there (yet): no clients for a
		 * process that cannot log them in; the pause bounds how often
		 * the service forks another */
		sleep(1);
		_exit(1);
	}
	pop3_proctitle("[idle]");
	login_pool_serve(listen_fd, pool_fd, pc->set->login_service_count, pool_serve_one, pc);
	auth_client_free(&pc->auth);
	_exit(0);
}

/* pool_on_handoff - in the service: a session process for a pooled
 * login process's login; it asks the auth service with that L's pid */
static void
pool_on_handoff(void *ctx, struct login_pool_handoff *h)
{
	struct pool_ctx *pc = ctx;
	pid_t pid = fork();

	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	if (pid == 0) {
		struct pop3_client client;

		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(POP3_LISTEN_FD);
		login_pool_forget(&service_pool);
		client_init(&client, pc->set, h->client_fd, pc->implicit, NULL);
		snprintf(client.session, sizeof(client.session), "%s", h->session);
		_exit(session_run_attached(&client, h));
	}
	close(h->client_fd);
	close(h->ctl_fd);
	if (pid > 0)
		(*pc->live)++;
}

int
cmd_pop3(int argc, char **argv)
{
	static const struct pop3_proto pop3 = { "pop3", NULL, pop3_login_run, pop3_mail_run,
	    false, NULL, NULL };

	return pop3_service_main(argc, argv, &pop3);
}

/* malloc_no_tcache - run again (exec of ourselves, once) with glibc's
 * per-thread cache of freed chunks off: an idle session's malloc_trim
 * (lib/mem_idle.c) cannot return the pages that cache pins, and after an
 * IMAP SELECT it held ~120 KiB of freed chunks, more than all else the
 * session had. The tunable is read only at startup, hence the exec. */
static void
malloc_no_tcache(char **argv)
{
	static const char tunable[] = "glibc.malloc.tcache_count=0";
	const char *old = getenv("GLIBC_TUNABLES");
	char *v;

	if (old != NULL && strstr(old, "glibc.malloc.tcache_count") != NULL)
		return;
	v = old != NULL && *old != '\0' ? xasprintf("%s:%s", old, tunable) : xstrdup(tunable);
	/* and every symbol bound now, once, in the service: lazily bound,
	 * each forked login and session process resolved the same PLT
	 * entries again (do_lookup_x was ~3% of a login's CPU) */
	(void)setenv("LD_BIND_NOW", "1", 1);
	if (setenv("GLIBC_TUNABLES", v, 1) == 0)
		execv("/proc/self/exe", argv);
	free(v);	/* no exec: go on with the cache */
}

int
pop3_service_main(int argc, char **argv, const struct pop3_proto *served)
{
	struct pop3_settings set;
	struct sigaction sa;
	const char *conf = NULL, *err, *listener_arg;
	char *listener;
	char *conf_path;
	bool implicit = false;
	size_t live = 0, limit;
	pid_t helper = -1;
	time_t helper_started = 0;
	int c, i;

	proto = served;
	malloc_no_tcache(argv);
	listener_arg = served->name;
	optind = 1;
	while ((c = getopt(argc, argv, "c:l:s")) != -1) {
		if (c == 'c')
			conf = optarg;
		else if (c == 'l')
			listener_arg = optarg;
		else if (c == 's')
			implicit = true;
	}
	/* argv's memory becomes the process title: keep the name apart */
	listener = xstrdup(listener_arg);
	proctitle_start = argv[0];
	for (i = 0; i < argc; i++)
		proctitle_len = (size_t)(argv[i] + strlen(argv[i]) + 1 - argv[0]);
	log_open("dovecot", getenv("YUBIN_LOG_STDERR") != NULL ? LOG_TO_STDERR | LOG_STDERR_FULL :
	    LOG_TO_SYSLOG);
	conf_path = instance_dovecot_conf(conf);
	if (pop3_settings_load(&set, conf_path, &err) != 0)
		fatal("%s", err);
	free(conf_path);
	/* the time zone loaded once here: each forked process's first log
	 * line would read /etc/localtime again */
	tzset();
	if (proto->service_init != NULL)
		proto->service_init(set.conf_path);
	(void)mkdir(set.sessions_dir, 0755);
	login_session_sweep(set.sessions_dir);
	last_prune = time(NULL);
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
	/* ManageSieve's login process takes its connection back after
	 * UNAUTHENTICATE: one per connection, whatever the settings say */
	if (!proto->resumable && login_pool_enabled(set.login_service_count, set.login_min_avail)) {
		const struct login_pool_settings ps = {
			.service_count = set.login_service_count, .min_avail = set.login_min_avail,
			.process_limit = set.login_process_limit,
		};
		struct pool_ctx pc = { .set = &set, .implicit = implicit, .live = &live };

		service_pool = login_pool_new(POP3_LISTEN_FD, &ps);
		while (!pop3_stop && !pop3_retire) {
			pop3_reap(&set, &live, &helper);
			helper_keep(&set, listener, &helper, &helper_started);
			if (live >= limit) {
				usleep(10000);	/* Ls wait for their OK meanwhile */
				continue;
			}
			login_pool_fill(service_pool, pool_login_child, &pc);
			login_pool_wait(service_pool, 1000, pool_on_handoff, &pc);
		}
		/* idle login processes end when their channels close */
		login_pool_free(&service_pool);
	}
	while (!pop3_stop && !pop3_retire) {
		struct pollfd pfd = { .fd = POP3_LISTEN_FD, .events = POLLIN };
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct pop3_client client;
		pid_t pid;
		int fd;

		pop3_reap(&set, &live, &helper);
		helper_keep(&set, listener, &helper, &helper_started);
		if (live >= limit) {
			usleep(10000);	/* wait for a slot; the kernel queues the rest */
			continue;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		fd = accept4(POP3_LISTEN_FD, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		client_init(&client, &set, fd, implicit, &peer);
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
	pop3_settings_deinit(&set);
	free(listener);
	return 0;
}
