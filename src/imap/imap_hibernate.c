/* imap_hibernate.c - the hibernate process and the hand-over to it (see
 * imap_hibernate.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap.h"
#include "imap/imap_conf.h"
#include "imap/imap_hib_state.h"
#include "imap/imap_hibernate.h"
#include "imap/imap_index.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_mbox_mbox.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "login/login.h"
#include "login/login_split.h"
#include "pop3/pop3-private.h"

#define HIB_KEEPALIVE_S		120	/* IDLE's "* OK Still here" (imap_idle_notify_interval) */
#define HIB_HANDSHAKE_MS	2000	/* a session's WATCHING/GO exchange */
#define HIB_MAX_FDS		3	/* the client, and new/ + cur/ (or the mbox's directory) */
#define HIB_EV_LISTEN		UINT64_MAX
#define HIB_EV_INOTIFY		(UINT64_MAX - 1)

/* where the hibernate process listens: set in the service, inherited by
 * the sessions forked after; the listening socket is the hibernate
 * process's alone */
static char hib_socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int hib_listen_fd = -1;

/* --- the session's side --- */

bool
imap_hibernate_possible(const struct imap_sess *s)
{
	return hib_socket_path[0] != '\0' && s->conf != NULL && s->conf->hibernate_timeout_ms > 0 &&
	    s->selected && s->nsaved == 0 && s->conn->z == NULL && s->conn->ssl == NULL &&
	    s->conn->in_pos >= s->conn->in_len && s->conn->out.len == 0 && s->tag != NULL;
}

/* send_record - the record with fds in one SEQPACKET message */
static int
send_record(int sock, const struct str *rec, const int *fds, size_t nfds)
{
	union {
		char	 buf[CMSG_SPACE(sizeof(int) * HIB_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = rec->s, .iov_len = rec->len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
		.msg_controllen = CMSG_SPACE(sizeof(int) * nfds) };
	struct cmsghdr *c;

	memset(&cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)rec->len ? 0 : -1;
}

/* changed_since - input from the client or a change of the mailbox
 * since the session last looked: then it must not go to sleep */
static bool
changed_since(struct imap_sess *s, int ifd)
{
	struct pollfd pfd[2] = { { .fd = s->conn->fd, .events = POLLIN },
		{ .fd = ifd, .events = POLLIN } };

	if (poll(pfd, ifd >= 0 ? 2 : 1, 0) != 0)
		return true;
	/* without inotify of its own, the index says whether anything moved
	 * (an mbox has none: it stays awake) */
	return ifd < 0 && !imap_index_unchanged(s->sel_dir, &s->snap);
}

int
imap_hibernate_handover(struct imap_sess *s, int ifd)
{
	struct imap_hib_state st;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = HIB_HANDSHAKE_MS / 1000 };
	struct str rec;
	uint32_t *uids;
	int fds[HIB_MAX_FDS], nfds = 1, sock = -1, ret = 0;
	char reply[32];
	ssize_t n;
	size_t i;

	memset(&st, 0, sizeof(st));
	snprintf(st.user, sizeof(st.user), "%s", s->user);
	snprintf(st.session, sizeof(st.session), "%s", s->client->session);
	snprintf(st.rip, sizeof(st.rip), "%s", s->client->rip);
	snprintf(st.lip, sizeof(st.lip), "%s", s->client->lip);
	snprintf(st.tag, sizeof(st.tag), "%s", s->tag);
	snprintf(st.mailbox, sizeof(st.mailbox), "%s", s->sel_name);
	st.uidvalidity = s->snap.uidvalidity;
	st.modseq = s->snap.highestmodseq;
	st.readonly = s->readonly;
	st.condstore = s->condstore;
	st.qresync = s->qresync;
	st.rev2 = s->rev2;
	st.utf8 = s->utf8;
	st.in = s->in;
	st.out = s->out;
	uids = xcalloc(s->snap.n + 1, sizeof(*uids));
	for (i = 0; i < s->snap.n; i++)
		uids[i] = s->snap.m[i].uid;
	imap_hib_state_uids_set(&st, uids, s->snap.n);
	free(uids);
	str_init(&rec, 512);
	fds[0] = s->conn->fd;
	if (imap_hib_state_format(&st, &rec) != 0 || rec.len > IMAP_HIB_STATE_MAX ||
	    strlen(s->tag) >= sizeof(st.tag) || strlen(s->sel_name) >= sizeof(st.mailbox))
		goto out;
	/* the directories to watch, opened with the user's rights: the
	 * hibernate process watches what the session could open */
	if (imap_mboxf_is(s->sel_dir)) {
		char *d = xstrdup(s->sel_dir), *slash = strrchr(d, '/');

		if (slash != NULL)
			*slash = '\0';
		fds[nfds] = open(slash != NULL && *d != '\0' ? d : "/",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(d);
		if (fds[nfds] >= 0)
			nfds++;
	} else {
		char *nd = path_join(s->sel_dir, "new"), *cd = path_join(s->sel_dir, "cur");

		if ((fds[nfds] = open(nd, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
			nfds++;
		if ((fds[nfds] = open(cd, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
			nfds++;
		free(nd);
		free(cd);
	}
	if (nfds < 2)
		goto out;
	if (strlen(hib_socket_path) >= sizeof(sa.sun_path))
		goto out;
	memcpy(sa.sun_path, hib_socket_path, strlen(hib_socket_path) + 1);
	if ((sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(sock, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    send_record(sock, &rec, fds, (size_t)nfds) != 0)
		goto out;
	n = recv(sock, reply, sizeof(reply) - 1, 0);
	if (n <= 0)
		goto out;
	reply[n] = '\0';
	if (strcmp(reply, "WATCHING") != 0) {
		log_warn("imap(%s): hibernation refused: %s", s->user, reply);
		goto out;
	}
	/* the hibernate process watches now; whatever came before is seen
	 * here (the session's own inotify has watched all along) */
	if (changed_since(s, ifd)) {
		(void)send(sock, "ABORT", 5, MSG_NOSIGNAL);
		goto out;
	}
	if (send(sock, "GO", 2, MSG_NOSIGNAL) != 2)
		goto out;
	/* the hibernate process takes this session's registry entry over
	 * and then closes: until then this process stays, as its end lets
	 * the service retire the entry (bounded by SO_RCVTIMEO; the
	 * hibernate process writes the entry anew when it comes late) */
	(void)recv(sock, reply, sizeof(reply) - 1, 0);
	ret = 1;
out:
	if (sock >= 0)
		close(sock);
	for (i = 1; i < (size_t)nfds; i++)
		close(fds[i]);
	str_deinit(&rec);
	imap_hib_state_deinit(&st);
	return ret;
}

/* --- the hibernate process --- */

struct hib_client {
	bool	 used;
	bool	 registered;		/* its registry entry was written */
	int	 fd;			/* the client's socket (owned) */
	int	 wd[HIB_MAX_FDS - 1];	/* its inotify watches, -1: none */
	long	 uid;			/* the uid its session ran as (SO_PEERCRED) */
	char	*rec;			/* the state record as received (owned) */
	size_t	 rec_len;
	time_t	 keepalive;		/* when the next "* OK Still here" is due */
	unsigned long id;		/* its registry entry "PID.ID" (login.h) */
};

struct hib_watch {
	int	 wd;
	unsigned refs;			/* clients on it */
};

struct hib {
	const struct pop3_settings *set;	/* borrowed, the service's */
	int	 ep, ino;
	struct hib_client *cl;		/* owned, slots */
	size_t	 ncl, used;
	struct hib_watch *w;		/* owned */
	size_t	 nw;
	size_t	 kids;			/* restored sessions not reaped yet */
};

static volatile sig_atomic_t hib_stop, hib_kick;
/* the number of the next client's registry entry */
static unsigned long hib_next_id = 1;
/* seconds between keepalives: imap_idle_notify_interval, as in IDLE */
static time_t hib_keepalive_s = HIB_KEEPALIVE_S;
/* the IMAP service that started this process: its children are the
 * sessions that may hand clients over */
static pid_t hib_service_pid;

static void
hib_on_signal(int sig)
{
	if (sig == SIGUSR1)
		hib_kick = 1;	/* doveadm kick removed entries of ours */
	else
		hib_stop = 1;
}

/* the hibernate process's pid (also in its restoring children) */
static pid_t hib_pid;

/* entry_name - a client's registry entry: "PID.ID", PID the hibernate
 * process's */
static void
entry_name(unsigned long id, char *buf, size_t size)
{
	snprintf(buf, size, "%ld.%lu", (long)hib_pid, id);
}

static void
hib_title(const struct hib *h)
{
	char t[96];

	if (h->set->verbose_proctitle)
		snprintf(t, sizeof(t), "dovecot/imap-hibernate [%zu connections]", h->used);
	else
		snprintf(t, sizeof(t), "dovecot/imap-hibernate");
	pop3_proctitle_full(LOGIN_SESSION_HOLDER, t);
}

/* watch_add - a watch on the directory fd stands for (a /proc path, so
 * the inode the session opened is watched); the shared watch's count */
static int
watch_add(struct hib *h, int dirfd)
{
	char path[64];
	int wd;
	size_t i;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
	wd = inotify_add_watch(h->ino, path, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
	    IN_CLOSE_WRITE | IN_MODIFY | IN_MASK_ADD);
	if (wd < 0)
		return -1;
	for (i = 0; i < h->nw; i++)
		if (h->w[i].wd == wd) {
			h->w[i].refs++;
			return wd;
		}
	h->w = xreallocarray(h->w, h->nw + 1, sizeof(*h->w));
	h->w[h->nw].wd = wd;
	h->w[h->nw].refs = 1;
	h->nw++;
	return wd;
}

static void
watch_drop(struct hib *h, int wd)
{
	size_t i;

	for (i = 0; i < h->nw; i++)
		if (h->w[i].wd == wd) {
			if (--h->w[i].refs == 0) {
				(void)inotify_rm_watch(h->ino, wd);
				h->w[i] = h->w[--h->nw];
			}
			return;
		}
}

/* client_free - the client's slot, its socket and watches; the socket
 * is the last copy when the client went to a restored session's process
 * already or is dropped */
static void
client_free(struct hib *h, size_t i)
{
	struct hib_client *c = &h->cl[i];
	size_t k;

	if (!c->used)
		return;
	(void)epoll_ctl(h->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	for (k = 0; k < sizeof(c->wd) / sizeof(c->wd[0]); k++)
		if (c->wd[k] >= 0)
			watch_drop(h, c->wd[k]);
	free(c->rec);
	memset(c, 0, sizeof(*c));
	h->used--;
}

/* client_drop - a client that leaves the hibernate process other than
 * by a restore: its registry entry goes with it */
static void
client_drop(struct hib *h, size_t i)
{
	struct hib_client *c = &h->cl[i];
	char name[48];

	if (c->used && c->registered) {
		entry_name(c->id, name, sizeof(name));
		(void)login_session_remove(h->set->sessions_dir, name);
	}
	client_free(h, i);
}

/* client_log_end - the client's logout line, as its session would have
 * logged it, with why */
static void
client_log_end(const struct hib_client *c, const char *why)
{
	struct imap_hib_state st;
	const char *err;

	if (imap_hib_state_parse(&st, c->rec, c->rec_len, &err) == 0)
		log_info("imap(%s)<%s>: Disconnected: %s (hibernated) in=%llu out=%llu", st.user,
		    st.session, why, st.in, st.out);
	imap_hib_state_deinit(&st);
}

/* kick_gone - doveadm kick removed the entries of the clients it kicks
 * and sent SIGUSR1: those clients are disconnected, as a kicked
 * session's are (its process ends: the client sees the connection
 * close, no BYE) */
static void
kick_gone(struct hib *h)
{
	char name[48];
	size_t i;
	bool any = false;

	for (i = 0; i < h->ncl; i++) {
		struct hib_client *c = &h->cl[i];

		if (!c->used || !c->registered)
			continue;
		entry_name(c->id, name, sizeof(name));
		if (login_session_exists(h->set->sessions_dir, name))
			continue;
		client_log_end(c, "Kicked");
		(void)shutdown(c->fd, SHUT_RDWR);
		client_free(h, i);
		any = true;
	}
	if (any)
		hib_title(h);
}

/* peer_is_ours - the connecting process is a session of this service: a
 * child of the service (our parent, while it lives) or of this process
 * (a restored session); the pid is alive while it waits for our answer */
static bool
peer_is_ours(pid_t pid)
{
	char path[64], buf[512], *p;
	long ppid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, so from the
	 * last ')' */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return false;
	return (ppid == (long)hib_service_pid && getppid() == hib_service_pid) ||
	    ppid == (long)getpid();
}

/* hib_accept - one session's hand-over: peer check, the record, the
 * fds, the watches, WATCHING, and the session's GO */
static void
hib_accept(struct hib *h)
{
	union {
		char	 buf[CMSG_SPACE(sizeof(int) * (HIB_MAX_FDS + 1))];
		struct cmsghdr align;
	} cbuf;
	/* one receive buffer for the process (it takes one hand-over at a
	 * time): its pages are touched once, not per client */
	static char rec[IMAP_HIB_STATE_MAX + 1];
	char go[8];
	struct iovec iov = { .iov_base = rec, .iov_len = sizeof(rec) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf) };
	struct timeval tv = { .tv_sec = HIB_HANDSHAKE_MS / 1000 };
	struct imap_hib_state st;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct epoll_event ev;
	struct hib_client *c = NULL;
	int fds[HIB_MAX_FDS + 1], nfds = 0, sock, wd[HIB_MAX_FDS - 1], k;
	const char *err = NULL;
	struct stat sb;
	ssize_t n;
	size_t i, slot, rec_len;

	memset(&st, 0, sizeof(st));
	memset(&cred, 0, sizeof(cred));
	for (k = 0; k < HIB_MAX_FDS - 1; k++)
		wd[k] = -1;
	if ((sock = accept4(hib_listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	(void)setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    !peer_is_ours(cred.pid)) {
		log_error("imap-hibernate: connection from pid %ld uid %ld refused: not a session "
		    "of this service", (long)cred.pid, (long)cred.uid);
		(void)send(sock, "NO not a session of this service", 32, MSG_NOSIGNAL);
		close(sock);
		return;
	}
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); n >= 0 && cm != NULL;
	    cm = CMSG_NXTHDR(&msg, cm)) {
		size_t cnt;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (nfds < HIB_MAX_FDS)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (n < 0)
		err = "no record";
	else if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
		err = "record too long";
	else if (imap_hib_state_parse(&st, rec, (size_t)n, &err) != 0)
		;	/* err set */
	else if (nfds < 2 || fstat(fds[0], &sb) != 0 || !S_ISSOCK(sb.st_mode))
		err = "no client socket";
	for (k = 1; err == NULL && k < nfds; k++)
		if (fstat(fds[k], &sb) != 0 || !S_ISDIR(sb.st_mode) ||
		    (wd[k - 1] = watch_add(h, fds[k])) < 0)
			err = "cannot watch the mailbox";
	if (err != NULL) {
		char no[128];
		int len = snprintf(no, sizeof(no), "NO %s", err);

		log_error("imap-hibernate: hand-over from pid %ld refused: %s", (long)cred.pid, err);
		(void)send(sock, no, (size_t)len, MSG_NOSIGNAL);
		goto fail;
	}
	rec_len = (size_t)n;
	if (send(sock, "WATCHING", 8, MSG_NOSIGNAL) != 8 ||
	    recv(sock, go, sizeof(go) - 1, 0) != 2 || memcmp(go, "GO", 2) != 0)
		goto fail;	/* the session keeps its client (ABORT) or is gone */
	for (slot = 0; slot < h->ncl && h->cl[slot].used; slot++)
		;
	if (slot == h->ncl) {
		size_t ncl = h->ncl == 0 ? 64 : h->ncl * 2;

		h->cl = xreallocarray(h->cl, ncl, sizeof(*h->cl));
		memset(h->cl + h->ncl, 0, (ncl - h->ncl) * sizeof(*h->cl));
		h->ncl = ncl;
	}
	c = &h->cl[slot];
	c->used = true;
	h->used++;
	c->fd = fds[0];
	fds[0] = -1;
	for (k = 0; k < HIB_MAX_FDS - 1; k++) {
		c->wd[k] = wd[k];
		wd[k] = -1;
	}
	c->uid = (long)cred.uid;
	/* the record as it came, in a right-sized copy, for the restore */
	c->rec = xmalloc(rec_len);
	memcpy(c->rec, rec, rec_len);
	c->rec_len = rec_len;
	c->keepalive = time(NULL) + hib_keepalive_s;
	/* the session's registry entry becomes this client's here, so that
	 * doveadm who, kick and mail_max_userip_connections see it as they
	 * saw the session (the session waits for our close to end) */
	{
		char from[24], name[48];

		c->id = hib_next_id++;
		snprintf(from, sizeof(from), "%ld", (long)cred.pid);
		entry_name(c->id, name, sizeof(name));
		(void)login_session_move(h->set->sessions_dir, from, name, true, st.user, "imap",
		    st.rip, st.lip, st.session);
		c->registered = login_session_exists(h->set->sessions_dir, name);
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = slot;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		log_error("imap-hibernate: epoll_ctl: %s", strerror(errno));
		client_drop(h, slot);
	}
	hib_title(h);
fail:
	for (k = 0; k < HIB_MAX_FDS - 1; k++)
		if (wd[k] >= 0)
			watch_drop(h, wd[k]);
	for (k = 0; k < nfds; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	close(sock);
	imap_hib_state_deinit(&st);
}

/* restore_child - in the forked child: the session set up again as the
 * user (login_split_restore) and on in IDLE; never returns */
static void __attribute__((noreturn))
restore_child(struct hib *h, size_t slot)
{
	const struct pop3_settings *set = h->set;
	struct hib_client *c = &h->cl[slot];
	struct login_split_params p;
	struct login_split_result r;
	struct imap_hib_state st;
	struct pop3_client client;
	struct pop3_conn conn;
	const char *err;
	int status = 1, fd = c->fd;
	bool registered = c->registered;
	char name[48], me[24];
	sigset_t none;
	size_t i;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* the client's registry entry becomes this process's first of all:
	 * whatever ends it from here on, the hibernate process's reap of
	 * this pid removes it. Gone already: doveadm kick took it. */
	if (registered) {
		entry_name(c->id, name, sizeof(name));
		snprintf(me, sizeof(me), "%ld", (long)getpid());
		if (login_session_move(set->sessions_dir, name, me, false, NULL, NULL, NULL, NULL,
		    NULL) != 0) {
			client_log_end(c, "Kicked");
			(void)shutdown(fd, SHUT_RDWR);
			_exit(0);
		}
	}
	/* nothing of the other clients' stays in this process */
	close(h->ep);
	close(h->ino);
	if (hib_listen_fd >= 0)
		close(hib_listen_fd);
	for (i = 0; i < h->ncl; i++)
		if (h->cl[i].used && i != slot)
			close(h->cl[i].fd);
	if (imap_hib_state_parse(&st, c->rec, c->rec_len, &err) != 0)
		_exit(1);	/* checked at the hand-over: cannot happen */
	memset(&client, 0, sizeof(client));
	client.set = set;
	client.ctl = -1;
	snprintf(client.rip, sizeof(client.rip), "%s", st.rip);
	snprintf(client.lip, sizeof(client.lip), "%s", st.lip);
	snprintf(client.session, sizeof(client.session), "%s", st.session);
	memset(&p, 0, sizeof(p));
	p.protocol = "imap";
	p.auth_master_socket = set->auth_master_socket;
	p.first_valid_uid = set->first_valid_uid;
	p.max_userip = 0;	/* counted at its login; a restore is not a new login */
	p.registered = registered;	/* the entry taken over above */
	p.sessions_dir = set->sessions_dir;
	p.mail_location = set->mail_location;
	p.rip = client.rip;
	p.lip = client.lip;
	p.session = client.session;
	if (login_split_restore(&p, st.user, c->uid, fd, &r) != 1) {
		static const char bye[] = "* BYE [UNAVAILABLE] Temporary failure.\r\n";

		(void)!write(fd, bye, sizeof(bye) - 1);
		_exit(1);
	}
	client.mail_location = r.mail_location;
	if (r.home != NULL)
		(void)setenv("HOME", r.home, 1);
	if (set->verbose_proctitle)
		pop3_proctitle("[%s %s]", r.user, client.rip);
	else
		pop3_proctitle("%s", "");
	pop3_conn_init(&conn, r.fd, set->idle_timeout_ms);
	status = imap_mail_restore(&client, &conn, r.user, r.mail_path, r.maildir, &st);
	pop3_conn_deinit(&conn);
	imap_hib_state_deinit(&st);
	_exit(status);
}

/* wake - the client spoke or its mailbox changed: a restored session
 * takes it over */
static void
wake(struct hib *h, size_t slot)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_error("imap-hibernate: fork: %s", strerror(errno));
		return;	/* tried again at the next event */
	}
	if (pid == 0)
		restore_child(h, slot);
	h->kids++;
	client_free(h, slot);
	hib_title(h);
}

/* on_client - an event on a client's socket: input wakes it, its end
 * drops it */
static void
on_client(struct hib *h, size_t slot)
{
	char b;
	ssize_t n;

	if (slot >= h->ncl || !h->cl[slot].used)
		return;
	n = recv(h->cl[slot].fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) {
		wake(h, slot);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	client_log_end(&h->cl[slot], "Connection closed");
	client_drop(h, slot);
	hib_title(h);
}

/* on_inotify - wake every client watching a directory that changed */
static void
on_inotify(struct hib *h)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(h->ino, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n; ) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			size_t i, k;

			for (i = 0; i < h->ncl; i++)
				for (k = 0; h->cl[i].used && k < HIB_MAX_FDS - 1; k++)
					if (h->cl[i].wd[k] == e->wd) {
						wake(h, i);
						break;
					}
			p += sizeof(*e) + e->len;
		}
	}
}

/* keepalive - "* OK Still here" to the clients it is due to, as IDLE
 * sends it; a client that cannot take it is gone */
static void
keepalive(struct hib *h, time_t now)
{
	static const char line[] = "* OK Still here\r\n";
	size_t i;

	for (i = 0; i < h->ncl; i++) {
		struct hib_client *c = &h->cl[i];

		if (!c->used || c->keepalive > now)
			continue;
		c->keepalive = now + hib_keepalive_s;
		if (send(c->fd, line, sizeof(line) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) !=
		    (ssize_t)sizeof(line) - 1) {
			client_drop(h, i);
			hib_title(h);
		}
	}
}

/* hib_main - the hibernate process's loop; never returns */
static void __attribute__((noreturn))
hib_main(const struct pop3_settings *set)
{
	struct hib h;
	struct epoll_event ev, evs[64];
	struct sigaction sa;
	sigset_t block, waiting;
	time_t last = 0;

	memset(&h, 0, sizeof(h));
	h.set = set;
	hib_pid = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = hib_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* SIGUSR1 (a kick) is taken only inside epoll_pwait, so one that
	 * comes while the loop works is not slept through */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waiting);
	sigdelset(&waiting, SIGUSR1);
	signal(SIGHUP, SIG_IGN);	/* a reload leaves hibernated clients be */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	hib_title(&h);
	if ((h.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (h.ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_error("imap-hibernate: %s", strerror(errno));
		_exit(1);
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = HIB_EV_LISTEN;
	(void)epoll_ctl(h.ep, EPOLL_CTL_ADD, hib_listen_fd, &ev);
	ev.data.u64 = HIB_EV_INOTIFY;
	(void)epoll_ctl(h.ep, EPOLL_CTL_ADD, h.ino, &ev);
	while (!hib_stop) {
		int n = epoll_pwait(h.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 1000, &waiting),
		    i;
		time_t now = time(NULL);
		pid_t pid;
		int st;

		for (i = 0; i < n; i++) {
			if (evs[i].data.u64 == HIB_EV_LISTEN)
				hib_accept(&h);
			else if (evs[i].data.u64 == HIB_EV_INOTIFY)
				on_inotify(&h);
			else
				on_client(&h, (size_t)evs[i].data.u64);
		}
		if (hib_kick) {
			hib_kick = 0;
			kick_gone(&h);
		}
		/* restored sessions that ended: their session files go */
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			login_session_unregister(set->sessions_dir, (long)pid);
			if (h.kids > 0)
				h.kids--;
		}
		if (now != last) {
			last = now;
			keepalive(&h, now);
		}
		if (hib_listen_fd >= 0 && getppid() != hib_service_pid) {
			/* the service ended (a reload leaves its sessions
			 * running): no new clients, the held ones are kept */
			(void)epoll_ctl(h.ep, EPOLL_CTL_DEL, hib_listen_fd, NULL);
			close(hib_listen_fd);
			hib_listen_fd = -1;
			(void)unlink(hib_socket_path);
		}
		/* after a reload: ends with its last client, once the
		 * restored sessions it reaps (and whose entries it removes)
		 * have ended too */
		if (hib_listen_fd < 0 && h.used == 0 && h.kids == 0)
			break;
	}
	if (hib_listen_fd >= 0)
		(void)unlink(hib_socket_path);
	/* stopping: the clients are disconnected as the sessions' are */
	for (size_t i = 0; i < h.ncl; i++)
		client_drop(&h, i);
	_exit(0);
}

/* hib_listen - bind the socket (in the hibernate process: no session
 * or login process inherits it, so only this process can take a
 * hand-over); 0 or -1 */
static int
hib_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memcpy(sa.sun_path, hib_socket_path, strlen(hib_socket_path) + 1);
	(void)unlink(hib_socket_path);
	if ((hib_listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(hib_listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(hib_socket_path, 0666) != 0 || listen(hib_listen_fd, 128) != 0) {
		log_error("imap-hibernate: %s: %s", hib_socket_path, strerror(errno));
		return -1;
	}
	return 0;
}

pid_t
imap_hibernate_start(const struct pop3_settings *set, const char *listener)
{
	const struct imap_conf *conf = imap_service_conf();
	pid_t pid;
	int n;

	if (conf == NULL || conf->hibernate_timeout_ms == 0)
		return -1;
	if (conf->idle_notify_ms > 0)
		hib_keepalive_s = conf->idle_notify_ms < 1000 ? 1 : (time_t)(conf->idle_notify_ms / 1000);
	/* the path, known to the sessions forked after this */
	/* one per service: a listener on two addresses is two services */
	n = snprintf(hib_socket_path, sizeof(hib_socket_path), "%s/imap-hibernate-%s-%ld",
	    set->base_dir, listener, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(hib_socket_path) || strchr(listener, '/') != NULL) {
		log_error("imap-hibernate: socket path too long under %s", set->base_dir);
		hib_socket_path[0] = '\0';
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_error("imap-hibernate: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		hib_service_pid = getppid();
		/* the service's client listener is not ours to hold (nor its
		 * restored sessions' to inherit) */
		close(POP3_LISTEN_FD);
		if (hib_listen() != 0)
			_exit(1);
		hib_main(set);
	}
	return pid;
}
