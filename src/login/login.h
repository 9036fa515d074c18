/* login.h - pieces shared by the Dovecot-side services that log users in
 * (POP3 today; IMAP and ManageSieve follow the same split): the TLS
 * context, the session registry, the INBOX path. */
#ifndef YUBIN_LOGIN_H
#define YUBIN_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

struct dovecot_conf;

/* login_tls_ctx - the server context from ssl_cert and ssl_key (PEM text
 * or <file) and the other ssl_* settings as protocol sees them; NULL with
 * *error_r (a literal) when they cannot be used */
SSL_CTX	*login_tls_ctx(const struct dovecot_conf *, const char *protocol, const char **error_r);

/* login_session_register - under sessions_dir's lock: count user's live
 * sessions from rip (names compared case-sensitively, as Dovecot does;
 * only that user and address's sessions are read, through an index in
 * sessions_dir/.userip), refuse past max_userip (0: no limit), else write
 * sessions_dir/PID ("user TAB protocol TAB rip TAB lip TAB session"). 0,
 * or -1 over the limit. */
int	 login_session_register(const char *sessions_dir, unsigned long max_userip,
	    const char *user, const char *protocol, const char *rip, const char *lip,
	    const char *session);
/* login_session_unregister - the session of process pid has ended: its
 * file and its index entry go */
void	 login_session_unregister(const char *sessions_dir, long pid);
/* login_session_retire - the same, but the file stays as a spare that
 * the next login_session_register renames in (true), which saves the file
 * system an inode per login; false: removed */
bool	 login_session_retire(const char *sessions_dir, long pid);
/* A client held by the imap-hibernate process keeps its session's entry
 * under the name "HPID.ID" (HPID that process's pid, ID its number for
 * the client there): it lives while HPID does, doveadm who shows HPID,
 * doveadm kick removes the entry and sends HPID SIGUSR1, upon which the
 * process drops the clients whose entries are gone. */
#define LOGIN_SESSION_HOLDER	"imap-hibernate"	/* its process name (comm) */
/* login_session_alive - whether the entry name's process lives: "PID"
 * that pid, "PID.ID" that pid as a LOGIN_SESSION_HOLDER process */
bool	 login_session_alive(const char *name);
/* login_session_move - under the lock, the entry from ("PID" or
 * "PID.ID") becomes to, with its index entry: a hibernating session's
 * entry goes to the hibernate process, a restored session takes it back.
 * When from is not there: with create a new entry to is written from the
 * fields (0), else -1 (doveadm kick removed it). */
int	 login_session_move(const char *sessions_dir, const char *from, const char *to,
	    bool create, const char *user, const char *protocol, const char *rip,
	    const char *lip, const char *session);
/* login_session_remove - under the lock, the entry name and its index
 * entry go; whether it was there */
bool	 login_session_remove(const char *sessions_dir, const char *name);
/* login_session_exists - whether the entry name is there */
bool	 login_session_exists(const char *sessions_dir, const char *name);
/* login_session_drop_holder - the entries "PID.ID" of the ended process
 * pid go (a hibernate process killed: its clients are gone) */
void	 login_session_drop_holder(const char *sessions_dir, long pid);
/* login_session_prune - remove emptied .userip directories (kept between
 * a user's logins) and spares past a few dozen; the service calls it now
 * and then */
void	 login_session_prune(const char *sessions_dir);
/* login_session_sweep - remove the files and index entries of sessions
 * whose process is gone (a stopped service leaves them), the spares and
 * the emptied directories: at a service's start, since a login reads only
 * its own user and address's entries */
void	 login_session_sweep(const char *sessions_dir);

/* login_mail_path - the INBOX of a user from the userdb's mail field or
 * mail_location: "maildir:~/Maildir", "mbox:~/mail:INBOX=/var/mail/%u";
 * empty means ~/Maildir when it exists, else /var/mail/USER. Owned;
 * NULL (logged) for a location that does not parse (mail_location.h).
 * *maildir_r says which format. */
char	*login_mail_path(const char *location, const char *user, const char *home,
	    bool *maildir_r);

/* login_addr_text - a peer's or our own address as log lines show it
 * (IPv4-mapped IPv6 as IPv4; "unknown" for other families), and its port
 * (0 when none) */
struct sockaddr_storage;
void	 login_addr_text(const struct sockaddr_storage *, char *buf, size_t size,
	    unsigned *port_r);

#endif
