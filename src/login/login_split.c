/* login_split.c - the session and login processes' hand-off (see
 * login_split.h). Tests: tests/e2e/test_pop3.py (logins, refusals, the
 * userip limit), test_auth.py (REQUEST). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "login/login.h"
#include "login/login_pool.h"
#include "login/login_split.h"

#define LOGIN_SPLIT_MAX_LEFTOVER	65536

static const char *const refusal_names[] = { "TEMP", "PERM", "IN-USE" };

/* in L: the session process of the last login, from its OK */
static long l_mpid;

static void refuse(int ctl, enum login_refusal, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* refuse - tell L: "ERR TAB kind TAB text" (ctl < 0: nobody) */
static void
refuse(int ctl, enum login_refusal kind, const char *fmt, ...)
{
	char text[400], buf[512];
	va_list ap;
	int n;

	if (ctl < 0)
		return;	/* a restored session: no login process to tell */
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	n = snprintf(buf, sizeof(buf), "ERR\t%s\t%s\n", refusal_names[kind], text);
	if (n > 0)
		(void)!write(ctl, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* take_fds - the fds a recvmsg brought (SCM_RIGHTS): the first to *fd_r
 * when it is wanted and still unset, the others closed */
static void
take_fds(struct msghdr *msg, int *fd_r)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		int passed;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(&passed, CMSG_DATA(c), sizeof(passed));
		if (fd_r != NULL && *fd_r < 0)
			*fd_r = passed;
		else
			close(passed);
	}
}

/* recv_fds - recvmsg of up to len bytes into buf, fds to take_fds; with
 * MSG_PEEK the kernel installs a copy of each fd, which is closed (the
 * real receive brings them again) */
static ssize_t
recv_fds(int fd, char *buf, size_t len, int flags, int *fd_r)
{
	union {
		char	 buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	while ((n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | flags)) < 0 && errno == EINTR)
		;
	if (n >= 0)
		take_fds(&msg, (flags & MSG_PEEK) != 0 ? NULL : fd_r);
	return n;
}

/* read_line_fd_passed - one line from fd, nothing past it taken (the
 * leftover input, or under TLS the session's data, follows on the same
 * socket): a peek finds the newline and one receive takes exactly the
 * line, two syscalls where a byte at a time took one per byte. An fd
 * passed along (SCM_RIGHTS) goes to *fd_r, or is closed when fd_r is
 * NULL. */
static bool
read_line_fd_passed(int fd, char *buf, size_t size, int *fd_r)
{
	size_t got = 0;

	while (got < size - 1) {
		ssize_t n = recv_fds(fd, buf + got, size - 1 - got, MSG_PEEK, NULL);
		char *nl;
		size_t take;

		if (n <= 0)
			return false;
		nl = memchr(buf + got, '\n', (size_t)n);
		/* no newline yet: take what came and wait for the rest */
		take = nl != NULL ? (size_t)(nl - (buf + got)) + 1 : (size_t)n;
		if (recv_fds(fd, buf + got, take, MSG_WAITALL, fd_r) != (ssize_t)take)
			return false;
		if (nl != NULL) {
			*nl = '\0';
			return true;
		}
		got += take;
	}
	return false;
}

static bool
read_line_fd(int fd, char *buf, size_t size)
{
	return read_line_fd_passed(fd, buf, size, NULL);
}

/* send_ok_fd - "OK" to L with fd passed along */
static int
send_ok_fd(int ctl, int fd)
{
	union {
		char	 buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (char *)"OK\n", .iov_len = 3 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(&cbuf, 0, sizeof(cbuf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	return sendmsg(ctl, &msg, MSG_NOSIGNAL) == 3 ? 0 : -1;
}

static bool
read_full(int fd, char *buf, size_t len)
{
	for (size_t got = 0; got < len; ) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

struct auth_client *
login_split_become_login(const struct login_split_params *p)
{
	struct auth_client *auth = auth_client_new(p->auth_socket, NULL);
	const char *err;

	if (auth_client_connect(auth, &err) != 0)
		log_error("%s-login: auth service: %s", p->protocol, err);
	if (geteuid() == 0) {
		long uid = p->login_uid, gid = p->login_gid;

		if (uid < 0)
			login_split_resolve_user(p->login_user, &uid, &gid);
		if (uid <= 0 || setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 ||
		    setuid((uid_t)uid) != 0 || setuid(0) == 0) {
			log_error("%s-login: cannot drop privileges to %s", p->protocol,
			    p->login_user);
			_exit(1);
		}
	}
	return auth;
}

/* login_child - L of one connection */
static void __attribute__((noreturn))
login_child(const struct login_split_params *p, int client_fd, int ctl)
{
	struct auth_client *auth = login_split_become_login(p);

	_exit(p->login_run(p->ctx, client_fd, ctl, auth));
}

void
login_split_resolve_user(const char *login_user, long *uid_r, long *gid_r)
{
	struct passwd *pw = getpwnam(login_user);

	/* a dev instance run as root names root: use nobody */
	if (pw == NULL || pw->pw_uid == 0)
		pw = getpwnam("nobody");
	*uid_r = pw != NULL ? (long)pw->pw_uid : -1;
	*gid_r = pw != NULL ? (long)pw->pw_gid : -1;
}

/* become - setgroups/setgid/setuid to the user when root; 0 or -1 */
static int
become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0 ||
	    (uid != 0 && setuid(0) == 0))
		return -1;
	return 0;
}

/* session_setup - what every session of a user is set up with, after
 * the auth service named the user (a login's REQUEST, or the USER lookup
 * of a session restored from hibernation): the uid rules, the session
 * file and mail_max_userip_connections, home and the mail location. 1, or
 * 0 refused (logged; L told when ctl >= 0). expect_uid >= 0: the uid the
 * hibernated session ran as, which the userdb must still give. */
static int
session_setup(const struct login_split_params *p, int ctl, struct auth_client_userdb *udb,
    long expect_uid, struct login_split_result *r, uid_t *uid_r, gid_t *gid_r)
{
	uid_t uid;
	gid_t gid;

	r->user = xstrdup(udb->user);
	uid = udb->uid >= 0 ? (uid_t)udb->uid : geteuid();
	gid = udb->gid >= 0 ? (gid_t)udb->gid : getegid();
	/* as Dovecot: never below first_valid_uid, never root, except that an
	 * instance run by root with first_valid_uid = 0 (yubin dev as root)
	 * serves users whose uid is its own; without root, only our own uid */
	if (geteuid() == 0 ? uid < p->first_valid_uid ||
	    (uid == 0 && p->first_valid_uid != 0) : uid != geteuid()) {
		log_error("%s(%s)<%ld><%s>: Logins with UID %ld not permitted", p->protocol,
		    r->user, (long)getpid(), p->session, (long)uid);
		refuse(ctl, LOGIN_REFUSED_PERM, "Login not permitted.");
		return 0;
	}
	if (expect_uid >= 0 && (long)uid != expect_uid) {
		log_error("%s(%s)<%ld><%s>: restored session: the userdb gives uid %ld, the "
		    "session ran as %ld: refused", p->protocol, r->user, (long)getpid(), p->session,
		    (long)uid, expect_uid);
		return 0;
	}
	if (!p->registered && login_session_register(p->sessions_dir, p->max_userip, r->user,
	    p->protocol, p->rip, p->lip, p->session) != 0) {
		log_info("%s-login: Disconnected: Maximum number of connections from user+IP "
		    "exceeded (mail_max_userip_connections=%lu): user=<%s>, method=%s, rip=%s, "
		    "lip=%s, session=<%s>", p->protocol, p->max_userip, r->user, r->method, p->rip,
		    p->lip, p->session);
		refuse(ctl, LOGIN_REFUSED_IN_USE, "Maximum number of connections from user+IP "
		    "exceeded (mail_max_userip_connections=%lu)", p->max_userip);
		return 0;
	}
	r->home = udb->home != NULL ? xstrdup(udb->home) : NULL;
	r->mail_location = xstrdup(udb->mail != NULL ? udb->mail :
	    p->mail_location != NULL ? p->mail_location : "");
	r->mail_path = login_mail_path(r->mail_location, r->user, r->home, &r->maildir);
	if (r->mail_path == NULL) {
		refuse(ctl, LOGIN_REFUSED_TEMP, "Temporary authentication failure.");
		return 0;
	}
	*uid_r = uid;
	*gid_r = gid;
	return 1;
}

/* session_become - the user's uid and gid, and home as the working
 * directory; 1, or 0 (logged, L told when ctl >= 0) */
static int
session_become(const struct login_split_params *p, int ctl, struct login_split_result *r,
    uid_t uid, gid_t gid)
{
	if (become(uid, gid) != 0) {
		log_error("%s(%s): cannot become uid %ld: %s", p->protocol, r->user, (long)uid,
		    strerror(errno));
		refuse(ctl, LOGIN_REFUSED_TEMP, "Internal error.");
		return 0;
	}
	if (r->home != NULL && chdir(r->home) != 0)
		(void)chdir("/");
	return 1;
}

static int login_split_serve(const struct login_split_params *, int client_fd,
	    struct login_split_result *);

int
login_split_run(const struct login_split_params *p, int client_fd,
    struct login_split_result *r)
{
	int sp[2];
	pid_t login_pid;

	memset(r, 0, sizeof(*r));
	r->fd = r->ctl = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return 0;
	signal(SIGCHLD, SIG_IGN);	/* L reaps itself */
	if ((login_pid = fork()) < 0) {
		close(sp[0]);
		close(sp[1]);
		return 0;
	}
	if (login_pid == 0) {
		close(sp[0]);
		login_child(p, client_fd, sp[1]);
	}
	close(sp[1]);
	r->ctl = sp[0];
	r->login_pid = login_pid;
	return login_split_serve(p, client_fd, r);
}

int
login_split_attach(const struct login_split_params *p, int client_fd, int ctl_fd,
    long login_pid, struct login_split_result *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->ctl = ctl_fd;
	r->login_pid = (int)login_pid;
	return login_split_serve(p, client_fd, r);
}

int
login_split_next(const struct login_split_params *p, int client_fd,
    struct login_split_result *r)
{
	int ctl = r->ctl;
	pid_t login_pid = r->login_pid;

	r->ctl = -1;
	login_split_result_deinit(r);
	r->ctl = ctl;
	r->login_pid = login_pid;
	return login_split_serve(p, client_fd, r);
}

/* login_split_serve - one login of L's, from its LOGIN line on */
static int
login_split_serve(const struct login_split_params *p, int client_fd,
    struct login_split_result *r)
{
	struct auth_client_userdb udb;
	struct auth_client *auth = NULL;
	char line[1024], *f[7], *s;
	const char *err;
	int sp[2] = { r->ctl, -1 }, n, ok = 0;
	pid_t login_pid = r->login_pid;
	uid_t uid;
	gid_t gid;

	memset(&udb, 0, sizeof(udb));
	/* nothing comes unless a login succeeded:
	 * LOGIN user method tls leftover-length auth-id cookie */
	if (!read_line_fd(sp[0], line, sizeof(line)) || strncmp(line, "LOGIN\t", 6) != 0)
		goto out;
	for (s = line, n = 0; n < 7 && s != NULL; n++) {
		f[n] = s;
		s = strchr(s, '\t');
		if (s != NULL)
			*s++ = '\0';
	}
	if (n < 7)
		goto out;
	r->method = xstrdup(f[2]);
	r->tls = strcmp(f[3], "1") == 0;
	r->fd = r->tls ? sp[0] : client_fd;
	r->leftover_len = (size_t)strtoul(f[4], NULL, 10);
	if (r->leftover_len > LOGIN_SPLIT_MAX_LEFTOVER)
		goto out;
	r->leftover = xmalloc(r->leftover_len + 1);
	if (!read_full(sp[0], r->leftover, r->leftover_len))
		goto out;
	r->leftover[r->leftover_len] = '\0';
	auth = auth_client_new(p->auth_master_socket, NULL);
	n = auth_client_master_request(auth, (long)login_pid, strtoul(f[5], NULL, 10), f[6],
	    p->protocol, &udb, &err);
	if (n > 0 && strcmp(udb.user, f[1]) != 0) {
		log_error("%s(%s)<%ld><%s>: login process named user %s, the auth service %s: "
		    "refused", p->protocol, udb.user, (long)getpid(), p->session, f[1], udb.user);
		refuse(sp[0], LOGIN_REFUSED_TEMP, "Temporary authentication failure.");
		goto out;
	}
	if (n <= 0) {
		log_error("%s(%s)<%ld><%s>: userdb lookup failed: %s", p->protocol, f[1],
		    (long)getpid(), p->session, n == 0 ? "no such user" : err);
		refuse(sp[0], LOGIN_REFUSED_TEMP, "Temporary authentication failure.");
		goto out;
	}
	if (!session_setup(p, sp[0], &udb, -1, r, &uid, &gid))
		goto out;
	if (p->resumable) {
		/* S stays root for the next login; a child becomes the user */
		pid_t pid;

		signal(SIGCHLD, SIG_DFL);	/* its status is wanted */
		if ((pid = fork()) < 0) {
			refuse(sp[0], LOGIN_REFUSED_TEMP, "Internal error.");
			goto out;
		}
		if (pid > 0) {
			r->child = pid;
			ok = 2;
			goto out;
		}
	}
	if (!session_become(p, sp[0], r, uid, gid))
		goto out;
	/* resumable: S is what doveadm kick and the service's stop signal;
	 * the user's process goes with it (set after the uid change, which
	 * clears it) */
	if (p->resumable && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() == 1))
		goto out;
	if (p->resumable && r->tls) {
		/* under TLS the data goes over a channel of this login's own,
		 * passed to L with the OK: when this process ends, L sees its
		 * end, and nothing left in it reaches the next login */
		int dp[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, dp) != 0 ||
		    send_ok_fd(sp[0], dp[1]) != 0) {
			log_error("%s(%s): cannot pass the data channel: %s", p->protocol, r->user,
			    strerror(errno));
			goto out;
		}
		close(dp[1]);
		r->fd = dp[0];
	} else {
		/* with our pid: a pooled L is not our parent (its mpid=) */
		char okline[32];
		int len = snprintf(okline, sizeof(okline), "OK\t%ld\n", (long)getpid());

		(void)!write(sp[0], okline, (size_t)len);
	}
	ok = 1;
out:
	auth_client_free(&auth);
	auth_client_userdb_deinit(&udb);
	if (!ok)
		login_split_result_deinit(r);
	return ok;
}

int
login_split_restore(const struct login_split_params *p, const char *user, long expect_uid,
    int client_fd, struct login_split_result *r)
{
	struct auth_client_userdb udb;
	struct auth_client *auth = auth_client_new(p->auth_master_socket, NULL);
	const char *err;
	uid_t uid;
	gid_t gid;
	int n, ok = 0;

	memset(r, 0, sizeof(*r));
	r->fd = r->ctl = -1;
	memset(&udb, 0, sizeof(udb));
	r->method = xstrdup("hibernate");
	n = auth_client_userdb(auth, user, p->protocol, &udb, &err);
	if (n <= 0) {
		log_error("%s(%s)<%ld><%s>: userdb lookup failed: %s", p->protocol, user,
		    (long)getpid(), p->session, n == 0 ? "no such user" : err);
		goto out;
	}
	if (strcmp(udb.user, user) != 0) {
		/* the userdb renames the user: the hibernated session ran as
		 * the name it gives, so another name is not that session's */
		log_error("%s(%s)<%ld><%s>: restored session: the userdb names %s: refused",
		    p->protocol, user, (long)getpid(), p->session, udb.user);
		goto out;
	}
	if (!session_setup(p, -1, &udb, expect_uid, r, &uid, &gid) ||
	    !session_become(p, -1, r, uid, gid))
		goto out;
	r->fd = client_fd;
	ok = 1;
out:
	auth_client_free(&auth);
	auth_client_userdb_deinit(&udb);
	if (!ok)
		login_split_result_deinit(r);
	return ok;
}

void
login_split_result_deinit(struct login_split_result *r)
{
	free(r->user);
	free(r->method);
	free(r->leftover);
	free(r->home);
	free(r->mail_path);
	free(r->mail_location);
	if (r->ctl >= 0)
		close(r->ctl);
	memset(r, 0, sizeof(*r));
	r->fd = r->ctl = -1;
}

int
login_split_handoff(int ctl_fd, struct auth_client *auth, const char *user, const char *method,
    unsigned long auth_id, bool tls, const char *pending, size_t pending_len,
    enum login_refusal *kind_r, char *text, size_t text_size)
{
	return login_split_handoff_fd(ctl_fd, auth, user, method, auth_id, tls, pending,
	    pending_len, kind_r, text, text_size, NULL);
}

int
login_split_handoff_fd(int ctl_fd, struct auth_client *auth, const char *user,
    const char *method, unsigned long auth_id, bool tls, const char *pending,
    size_t pending_len, enum login_refusal *kind_r, char *text, size_t text_size,
    int *data_fd_r)
{
	const char *cookie = auth_client_cookie(auth);
	struct str msg;
	char reply[512], *tab;
	int ret = -1;

	/* pooled L: this login's own channel to a new session process */
	if (login_pool_handoff_prepare(ctl_fd) != 0)
		return -1;
	str_init(&msg, 256);
	/* S asks the auth service who logged in (auth id and cookie name the
	 * login); user is for its log lines and a consistency check only */
	str_appendf(&msg, "LOGIN\t%s\t%s\t%d\t%zu\t%lu\t%s\n", user, method, tls ? 1 : 0,
	    pending_len, auth_id, cookie != NULL ? cookie : "-");
	str_append_n(&msg, pending, pending_len);
	if (data_fd_r != NULL)
		*data_fd_r = -1;
	if (write(ctl_fd, msg.s, msg.len) != (ssize_t)msg.len ||
	    !read_line_fd_passed(ctl_fd, reply, sizeof(reply), data_fd_r))
		goto out;
	if (strcmp(reply, "OK") == 0 || strncmp(reply, "OK\t", 3) == 0) {
		l_mpid = reply[2] == '\t' ? strtol(reply + 3, NULL, 10) : 0;
		ret = 1;
	} else if (strncmp(reply, "ERR\t", 4) == 0 && (tab = strchr(reply + 4, '\t')) != NULL) {
		*tab = '\0';
		*kind_r = LOGIN_REFUSED_TEMP;
		for (size_t i = 0; i < sizeof(refusal_names) / sizeof(refusal_names[0]); i++)
			if (strcmp(reply + 4, refusal_names[i]) == 0)
				*kind_r = (enum login_refusal)i;
		snprintf(text, text_size, "%s", tab + 1);
		ret = 0;
	}
out:
	str_deinit(&msg);
	return ret;
}

long
login_split_mpid(void)
{
	return l_mpid > 0 ? l_mpid : (long)getppid();
}
