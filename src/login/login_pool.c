/* login_pool.c - pre-forked login processes (see login_pool.h).
 *
 * Each L has a SOCK_SEQPACKET channel to the service (one message per
 * send, so no framing): "B" it took a client (busy), "I" it is waiting
 * again, "H<session>" with two fds (SCM_RIGHTS: the client socket and S's
 * end of the login's channel) a hand-off. The service never writes to L;
 * its end closing (the service ended or retired) tells an idle L to end. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "login/login_pool.h"

/* the most Ls one service keeps, whatever process_limit says */
#define LOGIN_POOL_MAX	10000

struct login_proc {
	pid_t	 pid;
	int	 fd;			/* the service's end of L's channel */
	bool	 idle;
};

struct login_pool {
	struct login_pool_settings set;
	int	 listen_fd;
	struct login_proc *procs;
	size_t	 count, size;
	struct pollfd *pfds;
};

/* L's own state (a login process serves one client at a time) */
static int l_pool_fd = -1, l_client_fd = -1;
static char l_session[32];

bool
login_pool_enabled(unsigned long service_count, unsigned long min_avail)
{
	return service_count != 1 || min_avail > 0;
}

struct login_pool *
login_pool_new(int listen_fd, const struct login_pool_settings *set)
{
	struct login_pool *p = xcalloc(1, sizeof(*p));
	int fl = fcntl(listen_fd, F_GETFL);

	p->set = *set;
	if (p->set.min_avail == 0)
		p->set.min_avail = 1;	/* someone must be accepting */
	if (p->set.process_limit == 0 || p->set.process_limit > LOGIN_POOL_MAX)
		p->set.process_limit = LOGIN_POOL_MAX;
	if (p->set.min_avail > p->set.process_limit)
		p->set.min_avail = p->set.process_limit;
	p->listen_fd = listen_fd;
	/* idle Ls all wake for a connection; the losers must not block */
	if (fl >= 0)
		(void)fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK);
	return p;
}

static void
pool_close(struct login_pool *p)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->procs[i].fd >= 0)
			close(p->procs[i].fd);
	free(p->procs);
	free(p->pfds);
	free(p);
}

void
login_pool_free(struct login_pool **pp)
{
	if (*pp != NULL)
		pool_close(*pp);
	*pp = NULL;
}

void
login_pool_forget(struct login_pool **pp)
{
	login_pool_free(pp);
}

void
login_pool_count(const struct login_pool *p, unsigned long *alive_r, unsigned long *idle_r)
{
	unsigned long idle = 0;

	for (size_t i = 0; i < p->count; i++)
		if (p->procs[i].idle)
			idle++;
	*alive_r = p->count;
	*idle_r = idle;
}

void
login_pool_fill(struct login_pool *p, void (*child)(void *ctx, int listen_fd, int pool_fd),
    void *ctx)
{
	unsigned long alive, idle;

	login_pool_count(p, &alive, &idle);
	while (idle < p->set.min_avail && alive < p->set.process_limit) {
		int sp[2];
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
			log_error("login pool: socketpair: %s", strerror(errno));
			return;
		}
		if ((pid = fork()) < 0) {
			log_error("login pool: fork: %s", strerror(errno));
			close(sp[0]);
			close(sp[1]);
			return;
		}
		if (pid == 0) {
			int listen_fd = p->listen_fd;

			close(sp[0]);
			login_pool_forget(&p);
			child(ctx, listen_fd, sp[1]);
			_exit(1);
		}
		close(sp[1]);
		if (p->count == p->size) {
			p->size = p->size == 0 ? 8 : p->size * 2;
			p->procs = xreallocarray(p->procs, p->size, sizeof(*p->procs));
		}
		p->procs[p->count++] = (struct login_proc){ .pid = pid, .fd = sp[0], .idle = true };
		alive++;
		idle++;
	}
}

/* pool_drop - L i is gone (or broke its channel): forget it */
static void
pool_drop(struct login_pool *p, size_t i)
{
	if (p->procs[i].fd >= 0)
		close(p->procs[i].fd);
	p->procs[i] = p->procs[--p->count];
}

bool
login_pool_reaped(struct login_pool *p, pid_t pid)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->procs[i].pid == pid) {
			pool_drop(p, i);
			return true;
		}
	return false;
}

/* recv_msg - one message of L's and the fds it carried (unused ones
 * closed); its length, 0 at the end, -1 nothing now or an error */
static ssize_t
recv_msg(int fd, char *buf, size_t size, int fds[2])
{
	union {
		char	 buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf) };
	size_t got = 0;
	ssize_t n;

	fds[0] = fds[1] = -1;
	n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t k = 0; k < nfd; k++) {
			int passed;

			memcpy(&passed, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (got < 2)
				fds[got++] = passed;
			else
				close(passed);
		}
	}
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		for (size_t k = 0; k < got; k++)
			close(fds[k]);
		fds[0] = fds[1] = -1;
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/* session_ok - L's session id: base64 text only (it goes into log lines) */
static bool
session_ok(const char *s, size_t len)
{
	if (len == 0 || len >= sizeof(((struct login_pool_handoff *)0)->session))
		return false;
	for (size_t i = 0; i < len; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
		    s[i]) == NULL || s[i] == '\0')
			return false;
	return true;
}

enum login_pool_msg
login_pool_msg_parse(const char *buf, size_t len, size_t nfds, char *session, size_t size)
{
	if (len == 1 && nfds == 0 && buf[0] == 'B')
		return LOGIN_POOL_MSG_BUSY;
	if (len == 1 && nfds == 0 && buf[0] == 'I')
		return LOGIN_POOL_MSG_IDLE;
	if (len >= 2 && nfds == 2 && buf[0] == 'H' && session_ok(buf + 1, len - 1) &&
	    len - 1 < size) {
		memcpy(session, buf + 1, len - 1);
		session[len - 1] = '\0';
		return LOGIN_POOL_MSG_HANDOFF;
	}
	return LOGIN_POOL_MSG_BAD;
}

/* pool_read - L i's pending messages; false when L broke its channel */
static bool
pool_read(struct login_pool *p, size_t i,
    void (*on_handoff)(void *ctx, struct login_pool_handoff *), void *ctx)
{
	for (;;) {
		char buf[64];
		int fds[2];
		ssize_t n = recv_msg(p->procs[i].fd, buf, sizeof(buf), fds);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		if (n == 0)
			return false;
		struct login_pool_handoff h = { .login_pid = p->procs[i].pid,
			.client_fd = fds[0], .ctl_fd = fds[1] };
		size_t nfds = (fds[0] >= 0) + (fds[1] >= 0);

		switch (login_pool_msg_parse(buf, (size_t)n, nfds, h.session, sizeof(h.session))) {
		case LOGIN_POOL_MSG_BUSY:
			p->procs[i].idle = false;
			continue;
		case LOGIN_POOL_MSG_IDLE:
			p->procs[i].idle = true;
			continue;
		case LOGIN_POOL_MSG_HANDOFF:
			on_handoff(ctx, &h);
			continue;
		case LOGIN_POOL_MSG_BAD:
		default:
			/* not what a login process sends: stop listening to it */
			log_error("login pool: unexpected message from login process %ld",
			    (long)p->procs[i].pid);
			if (fds[0] >= 0)
				close(fds[0]);
			if (fds[1] >= 0)
				close(fds[1]);
			return false;
		}
	}
}

void
login_pool_wait(struct login_pool *p, int timeout_ms,
    void (*on_handoff)(void *ctx, struct login_pool_handoff *), void *ctx)
{
	size_t n = p->count;

	p->pfds = xreallocarray(p->pfds, n > 0 ? n : 1, sizeof(*p->pfds));
	for (size_t i = 0; i < n; i++)
		p->pfds[i] = (struct pollfd){ .fd = p->procs[i].fd, .events = POLLIN };
	if (poll(p->pfds, n, timeout_ms) <= 0)
		return;
	/* backwards: pool_drop moves the last entry into the dropped one */
	for (size_t i = n; i-- > 0; ) {
		if (p->pfds[i].revents == 0)
			continue;
		if (!pool_read(p, i, on_handoff, ctx)) {
			/* its pid stays until the reap; a new L takes its place */
			close(p->procs[i].fd);
			p->procs[i].fd = -1;
			p->procs[i].idle = false;
		}
	}
}

/* --- in L --- */

static int
send_msg(int fd, const char *data, size_t len, const int *fds, size_t nfds)
{
	union {
		char	 buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char buf[64];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len > sizeof(buf))
		return -1;
	memcpy(buf, data, len);

	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n == (ssize_t)len ? 0 : -1;
}

int
login_pool_handoff_prepare(int ctl_fd)
{
	char msg[1 + sizeof(l_session)];
	int sp[2], fds[2];
	size_t len;

	if (l_pool_fd < 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return -1;
	/* this login's channel takes the number the protocol already holds */
	if (dup3(sp[0], ctl_fd, O_CLOEXEC) < 0) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	close(sp[0]);
	len = strlen(l_session);
	msg[0] = 'H';
	memcpy(msg + 1, l_session, len);
	fds[0] = l_client_fd;
	fds[1] = sp[1];
	if (send_msg(l_pool_fd, msg, 1 + len, fds, 2) != 0) {
		close(sp[1]);
		return -1;
	}
	close(sp[1]);
	return 0;
}

void
login_pool_serve(int listen_fd, int pool_fd, unsigned long service_count,
    bool (*serve)(void *ctx, int client_fd, int ctl_fd, char *session, size_t size),
    void *ctx)
{
	unsigned long served = 0;

	l_pool_fd = pool_fd;
	while (service_count == 0 || served < service_count) {
		struct pollfd pfd[2] = {
			{ .fd = listen_fd, .events = POLLIN },
			{ .fd = pool_fd, .events = POLLIN },
		};
		bool go_on;
		int fd, sp[2];

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;		/* the service is gone, or retired */
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;	/* another L took it */
		served++;
		if (send_msg(pool_fd, "B", 1, NULL, 0) != 0 ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
			close(fd);
			break;
		}
		/* a placeholder: each hand-off makes its own channel */
		close(sp[1]);
		l_client_fd = fd;
		l_session[0] = '\0';
		go_on = serve(ctx, fd, sp[0], l_session, sizeof(l_session));
		l_client_fd = -1;
		close(sp[0]);
		close(fd);
		if (!go_on || send_msg(pool_fd, "I", 1, NULL, 0) != 0)
			break;
	}
	l_pool_fd = -1;
}
