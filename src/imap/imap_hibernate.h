/* imap_hibernate.h - IMAP hibernation (Dovecot's imap_hibernate_timeout
 * and imap-hibernate service): a session that has been in IDLE for
 * imap_hibernate_timeout hands its client socket, the directories it
 * watches and a state record (imap_hib_state.h) to one hibernate process
 * per IMAP listener, and ends. The hibernate process holds many such
 * clients in one epoll loop with one inotify instance, sends the IDLE
 * keepalive, and never reads what a client sends: when the client sends
 * anything or the mailbox changes, it forks a process that sets the
 * session up again as after a login (login_split_restore: the userdb,
 * the uid rules, becoming the user) and goes on in IDLE with the same
 * UID -> sequence view (imap_mail_restore), reporting what changed.
 *
 *   imap service (root) ── fork ──▶ imap-hibernate (root: it forks the
 *     │                             restored sessions, which become users)
 *     │   $base_dir/imap-hibernate-LISTENER  (SOCK_SEQPACKET, 0666; only
 *     │   processes whose parent is the service or the hibernate process
 *     │   are heard: SO_PEERCRED and /proc/PID/stat)
 *     └─ session S (user) ──record + client fd + dir fds──▶ imap-hibernate
 *                            ◀── WATCHING ── (inotify watches added)
 *                            ── GO ──▶ (S saw no input and no change since: it ends)
 *
 * A TLS client hibernates too: its TLS state is in the login process,
 * which goes on proxying, and the session's end of that proxy is what is
 * handed over. COMPRESS clients stay in their session process (the
 * deflate state is in it). Tests: tests/e2e/test_imap_hibernate.py,
 * tests/unit/imap/test_imap_hib_state.c; fuzz: fuzz_imap_hib_state. */
#ifndef YUBIN_IMAP_HIBERNATE_H
#define YUBIN_IMAP_HIBERNATE_H

#include <stdbool.h>
#include <sys/types.h>

struct pop3_settings;
struct imap_sess;

/* imap_hibernate_start - in the IMAP service process (pop3_proto's
 * service_helper): bind the hibernate socket (once; kept open, so a
 * restarted hibernate process serves the same socket) and fork the
 * hibernate process; its pid, or -1 when hibernation is off
 * (imap_hibernate_timeout = 0) or cannot start. */
pid_t	 imap_hibernate_start(const struct pop3_settings *, const char *listener);

/* imap_hibernate_possible - hibernation is on and this session could be
 * handed over now: a mailbox selected, no SEARCHRES result saved ($ is
 * not in the record), no COMPRESS, no input
 * buffered, nothing left to send */
bool	 imap_hibernate_possible(const struct imap_sess *);

/* imap_hibernate_handover - in a session in IDLE (ifd: its own inotify
 * instance, or -1): 1 the client is the hibernate process's now (the
 * session ends without a word to it), 0 not handed over (the session
 * goes on) */
int	 imap_hibernate_handover(struct imap_sess *, int ifd);

#endif
