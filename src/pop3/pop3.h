/* pop3.h - the POP3 server (RFC 1939, 2449 CAPA, 2595 STLS, 5034 AUTH)
 * in Dovecot's dialect: its replies byte for byte, its log lines, its
 * settings (dovecot.conf, protocol pop3).
 *
 * Processes (one connection each, Dovecot's "high-security" login mode):
 *
 *   pop3 service (as the master starts it; never reads client input)
 *     └─ accept ─▶ fork: session process S (still root)
 *                   ├─ fork: login process L: drops to default_login_user,
 *                   │   TLS, CAPA/USER/PASS/AUTH/STLS, asks the auth service;
 *                   │   on success tells S "LOGIN" over a socketpair; under
 *                   │   TLS it stays as the TLS proxy, else it exits
 *                   └─ S: userdb lookup, mail_max_userip_connections, the
 *                       session file for doveadm who/kick, then setgid/setuid
 *                       to the user, and the transaction state on the mailbox
 *
 * So the code that parses what a client sends before login never runs as
 * root and never with a user's rights, and a user's mailbox is opened only
 * by a process that has become that user. Tests: tests/unit/pop3/,
 * tests/e2e/test_pop3.py; fuzz: fuzz/fuzz_pop3_command.c */
#ifndef YUBIN_POP3_H
#define YUBIN_POP3_H

#include <stdbool.h>
#include <stddef.h>

struct str;

/* Dovecot's input limits: a login-state line and a mail-state line */
#define POP3_LOGIN_MAX_LINE	1024
#define POP3_MAX_LINE		4096

/* pop3_cmd_parse - split one command line (without CRLF) into its verb,
 * upper-cased into verb (size verb_size), and the argument text after one
 * space (*args_r, "" when none, borrowed from line). false when the verb
 * is empty or longer than verb_size - 1 or holds non-letters. */
bool	 pop3_cmd_parse(const char *line, char *verb, size_t verb_size, const char **args_r);

/* pop3_msgnum - a message number argument: "3" -> 3. Dovecot's errors go
 * to *error_r: "Invalid message number: x", "Noise after message number: "
 * (with the rest). 0 on success. */
int	 pop3_msgnum(const char *args, unsigned *num_r, const char **rest_r,
	    struct str *error);

/* pop3_dot_stuff - append data (LF or CRLF line ends) to out as POP3 sends
 * a multi-line reply body: CRLF line ends, a leading "." doubled. With
 * max_body_lines >= 0 (TOP), only the header and that many body lines. A
 * missing final line end is added. */
void	 pop3_dot_stuff(struct str *out, const char *data, size_t len, long max_body_lines);

/* cmd_pop3 - the service (argv: pop3 -c DOVECOT_CONF -l LISTENER [-s]),
 * fd 3 the listening socket; -s: implicit TLS (pop3s) */
int	 cmd_pop3(int argc, char **argv);

#endif
