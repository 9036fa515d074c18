/* imap.h - the IMAP server (RFC 3501 IMAP4rev1 with UIDPLUS, MOVE, IDLE,
 * NAMESPACE, ID, ENABLE, UNSELECT, CHILDREN, LITERAL+, SASL-IR,
 * SPECIAL-USE, LIST-EXTENDED, LIST-STATUS, ESEARCH, SEARCHRES, BINARY,
 * COMPRESS=DEFLATE, QUOTA, and IMAP4rev2 / UTF8=ACCEPT when enabled) in
 * Dovecot's dialect, on Maildir.
 *
 * Processes: the same as POP3's (src/pop3/pop3.h), through
 * pop3_service_main: the service process accepts, a session process per
 * connection forks the login process (imap_login.c, as default_login_user),
 * checks the user and becomes the user, then runs the mail half
 * (imap_mail.c: commands; imap_mbox.c: the selected Maildir). Tests:
 * tests/unit/imap/, tests/e2e/test_imap.py; fuzz: fuzz_imap_command.c,
 * fuzz_imap_mime.c */
#ifndef YUBIN_IMAP_H
#define YUBIN_IMAP_H

#include <stdbool.h>

struct pop3_client;
struct pop3_conn;
struct auth_client;

int	 imap_login_run(struct pop3_client *, int client_fd, int ctl_fd, struct auth_client *);
int	 imap_mail_run(struct pop3_client *, struct pop3_conn *, const char *user,
	    const char *mailbox_path, bool maildir);
/* imap_mail_restore - a session handed back by the hibernate process
 * (imap_hibernate.c), in a process that already runs as the user: the
 * mailbox of st selected again with the client's view of it, what
 * changed reported, and the IDLE command of st->tag going on */
struct imap_hib_state;
int	 imap_mail_restore(struct pop3_client *, struct pop3_conn *, const char *user,
	    const char *mailbox_path, bool maildir, const struct imap_hib_state *st);
/* cmd_imap - the service (argv: imap -c DOVECOT_CONF -l LISTENER [-s]) */
int	 cmd_imap(int argc, char **argv);

#endif
