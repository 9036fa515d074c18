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
