/* lmtp_deliver.c - one recipient's delivery after DATA: a child process
 * becomes the recipient (setgroups, setgid, setuid to the userdb's ids;
 * uids below first_valid_uid were refused at RCPT, root unless
 * first_valid_uid = 0, when deliver -d looks the user up itself) and runs the
 * same code as `deliver` (src/cli/deliver.c: the user's active Sieve
 * script, sieve_before/after, Maildir/mbox through src/storage with fsync
 * of file and directory, vacation/redirect through sendmail_path) with
 * dovecot-lda's -e: a reject/ereject comes back as the reason on stderr
 * and exit 77, answered here with a 5xx for this recipient alone. The
 * child's log lines (dovecot-lda's "lda(user): Info: ...") come back on a
 * pipe and are logged as Dovecot's lmtp logs them:
 * "lmtp(user)<pid><session>: ...". Tests: tests/e2e/test_lmtp.py */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_client.h"
#include "cli/cli.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lmtp/lmtp-private.h"
#include "storage/storage.h"

#define EX_NOUSER	67	/* deliver's exit codes (dovecot-lda's) */
#define EX_NOPERM	77
#define LMTP_CHILD_LOG_MAX	(64 * 1024)
/* a delivery (Sieve, storage, sendmail_path) that takes longer is killed
 * and answered 451: one stuck recipient must not hold the session */
#define LMTP_DELIVER_TIMEOUT	600

/* rcpt_input - Delivered-To and Received, then the message: a new
 * anonymous file positioned at its start, or -1 */
static int
rcpt_input(const struct lmtp_session *s, const struct lmtp_rcpt *r, int msg_fd, size_t len)
{
	struct str hdr;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	off_t off = 0;
	int fd = lmtp_tmpfile(s->set);

	if (fd < 0)
		return -1;
	(void)localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	str_init(&hdr, 512);
	str_appendf(&hdr, "Delivered-To: %s\n", r->addr);
	if (s->set->add_received) {
		if (s->unix_socket)
			str_appendf(&hdr, "Received: from %s\n", s->helo[0] != '\0' ? s->helo :
			    "local");
		else
			str_appendf(&hdr, "Received: from %s ([%s])\n", s->helo[0] != '\0' ?
			    s->helo : "unknown", s->rip);
		str_appendf(&hdr, "\tby %s with LMTP\n\tid %s\n\t(envelope-from <%s>)\n"
		    "\tfor <%s>; %s\n", s->set->hostname, r->id, s->from.s, r->addr, date);
	}
	if (storage_write_full(fd, hdr.s, hdr.len) != 0)
		goto fail;
	while ((size_t)off < len) {
		ssize_t n = sendfile(fd, msg_fd, &off, len - (size_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		goto fail;
	str_deinit(&hdr);
	return fd;
fail:
	str_deinit(&hdr);
	close(fd);
	return -1;
}

/* rcpt_child - in the child: become the user and run deliver. Never
 * returns. */
static void __attribute__((noreturn))
rcpt_child(const struct lmtp_session *s, const struct lmtp_rcpt *r, int in_fd, int err_fd)
{
	char *argv[16];
	int argc = 0, null_fd;

	if (dup2(in_fd, 0) < 0 || dup2(err_fd, 2) < 0)
		_exit(75);
	if ((null_fd = open("/dev/null", O_WRONLY)) >= 0) {
		dup2(null_fd, 1);
		if (null_fd > 2)
			close(null_fd);
	}
	if (geteuid() == 0 && r->uid != 0) {
		gid_t gid = r->gid;

		if (setgroups(1, &gid) != 0 || setgid(r->gid) != 0 || setuid(r->uid) != 0 ||
		    (r->uid != 0 && setuid(0) == 0)) {
			fprintf(stderr, "lda(%s): Fatal: cannot become uid %ld: %s\n", r->user,
			    (long)r->uid, strerror(errno));
			_exit(75);
		}
	}
	if (chdir(r->home) != 0 && chdir("/") != 0)
		_exit(75);
	/* deliver without -d takes the user from USER and HOME, as
	 * dovecot-lda does: the userdb's word, which passwd need not know */
	(void)clearenv();
	(void)setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	(void)setenv("USER", r->user, 1);
	(void)setenv("HOME", r->home, 1);
	argv[argc++] = (char *)"deliver";
	if (geteuid() == 0) {
		/* root's own mail (first_valid_uid = 0, checked at RCPT):
		 * deliver finds the user in the userdb itself, as root */
		argv[argc++] = (char *)"-d";
		argv[argc++] = r->user;
	}
	argv[argc++] = (char *)"-c";
	argv[argc++] = s->set->conf_path;
	argv[argc++] = (char *)"-e";
	argv[argc++] = (char *)"-f";
	argv[argc++] = s->from.s;
	argv[argc++] = (char *)"-a";
	argv[argc++] = r->addr;
	argv[argc++] = (char *)"-r";
	argv[argc++] = r->addr;
	if (s->set->save_to_detail && r->detail[0] != '\0') {
		argv[argc++] = (char *)"-m";
		argv[argc++] = r->detail;
	}
	argv[argc] = NULL;
	optind = 0;	/* glibc: start getopt afresh */
	(void)alarm(LMTP_DELIVER_TIMEOUT);
	{
		int rc = cmd_deliver(argc, argv);

		fflush(stderr);
		_exit(rc);
	}
}

/* log_child - the child's lines as Dovecot's lmtp logs them; other lines
 * (deliver -e's rejection reason) are collected into reason */
static void
log_child(const struct lmtp_session *s, const struct lmtp_rcpt *r, const struct str *out,
    struct str *reason)
{
	const char *p = out->s;

	while (p < out->s + out->len) {
		size_t n = strcspn(p, "\n");
		const char *close = memmem(p, n, "): ", 3);

		if (strncmp(p, "lda(", 4) == 0 && close != NULL) {
			const char *text = close + 3;
			size_t tn = n - (size_t)(text - p);
			enum log_level lv = LOG_LEVEL_INFO;

			/* the level becomes ours (log.c writes its own word) */
			if (tn > 6 && strncmp(text, "Info: ", 6) == 0) {
				text += 6;
				tn -= 6;
			} else if (tn > 9 && strncmp(text, "Warning: ", 9) == 0) {
				lv = LOG_LEVEL_WARN;
				text += 9;
				tn -= 9;
			} else {
				lv = LOG_LEVEL_ERROR;
				if (tn > 7 && (strncmp(text, "Error: ", 7) == 0 ||
				    strncmp(text, "Fatal: ", 7) == 0)) {
					text += 7;
					tn -= 7;
				}
			}
			log_msg(lv, "lmtp(%s)<%ld><%s>: %.*s", r->user, (long)getpid(), r->id,
			    (int)tn, text);
		} else if (reason->len == 0 && n > 0) {
			/* the reason is the peer's to read: printable only */
			for (size_t i = 0; i < n && i < 400; i++)
				str_append_c(reason, (unsigned char)p[i] < 0x20 ||
				    (unsigned char)p[i] > 0x7e ? '?' : p[i]);
		}
		p += n + 1;
	}
}

void
lmtp_deliver(struct lmtp_session *s, const struct lmtp_rcpt *r, int msg_fd, size_t len,
    struct str *reply)
{
	struct str out, reason;
	char buf[4096];
	int in_fd, ep[2], status = 0;
	pid_t pid;
	ssize_t n;

	str_reset(reply);
	if ((in_fd = rcpt_input(s, r, msg_fd, len)) < 0 || pipe2(ep, O_CLOEXEC) != 0) {
		log_error("lmtp(%s)<%ld><%s>: Error: cannot prepare the delivery: %s", r->user,
		    (long)getpid(), r->id, strerror(errno));
		str_appendf(reply, "451 4.3.0 <%s> Temporary internal error", r->addr);
		if (in_fd >= 0)
			close(in_fd);
		return;
	}
	if ((pid = fork()) < 0) {
		log_error("lmtp(%s)<%ld><%s>: Error: fork() failed: %s", r->user, (long)getpid(),
		    r->id, strerror(errno));
		str_appendf(reply, "451 4.3.0 <%s> Temporary internal error", r->addr);
		close(in_fd);
		close(ep[0]);
		close(ep[1]);
		return;
	}
	if (pid == 0) {
		close(ep[0]);
		close(s->conn.fd);
		/* the user's process keeps no auth-master connection */
		auth_client_free(&s->auth);
		rcpt_child(s, r, in_fd, ep[1]);
	}
	close(ep[1]);
	close(in_fd);
	str_init(&out, 1024);
	str_init(&reason, 128);
	/* read to the end (so the child never blocks on a full pipe), keep
	 * the first LMTP_CHILD_LOG_MAX bytes */
	while ((n = read(ep[0], buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out.len + (size_t)n <= LMTP_CHILD_LOG_MAX)
			str_append_n(&out, buf, (size_t)n);
	}
	close(ep[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	log_child(s, r, &out, &reason);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		str_appendf(reply, "250 2.0.0 <%s> %s Saved", r->addr, r->id);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == EX_NOPERM) {
		str_appendf(reply, "550 5.7.1 <%s> %s", r->addr,
		    reason.len > 0 ? reason.s : "Message rejected");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == EX_NOUSER) {
		str_appendf(reply, "550 5.1.1 <%s> User doesn't exist: %s", r->addr, r->user);
	} else {
		if (WIFSIGNALED(status))
			log_error("lmtp(%s)<%ld><%s>: Error: delivery process killed with signal %d",
			    r->user, (long)getpid(), r->id, WTERMSIG(status));
		str_appendf(reply, "451 4.3.0 <%s> Temporary internal error", r->addr);
	}
	str_deinit(&out);
	str_deinit(&reason);
}
