/* lmtp.h - the LMTP server (RFC 2033) in Dovecot's dialect: its replies,
 * its log lines, its settings (dovecot.conf: protocols = lmtp, service lmtp
 * { unix_listener lmtp { } inet_listener lmtp { } }, recipient_delimiter,
 * lmtp_save_to_detail_mailbox, lda_mailbox_autocreate, first_valid_uid).
 *
 * Processes:
 *
 *   lmtp service (started by the Dovecot-side master, listener on fd 3)
 *     └─ accept ─▶ fork: session process (the master's user: it asks the
 *                   auth service's auth-master socket about recipients)
 *                   └─ per recipient after DATA: fork, setgroups/setgid/
 *                      setuid to the userdb's uid, and deliver through
 *                      Sieve exactly as `deliver` (src/cli/deliver.c) does
 *
 * A recipient's 250 is sent only after its delivery process exited 0, and
 * that process fsyncs the file and its directory (src/storage): nothing
 * acknowledged is lost. A connection that ends before the final "." stores
 * nothing. Tests: tests/unit/lmtp/, tests/e2e/test_lmtp.py; fuzz:
 * fuzz/fuzz_lmtp_command.c */
#ifndef YUBIN_LMTP_H
#define YUBIN_LMTP_H

#include <stdbool.h>
#include <stddef.h>

struct str;

#define LMTP_MAX_LINE		4096	/* a command line, as Dovecot's */
#define LMTP_MAX_VERB		16

enum lmtp_verb {
	LMTP_CMD_NONE,		/* not a command (syntax) */
	LMTP_CMD_UNKNOWN,	/* a word we do not know (HELO, EHLO too) */
	LMTP_CMD_LHLO,
	LMTP_CMD_MAIL,
	LMTP_CMD_RCPT,
	LMTP_CMD_DATA,
	LMTP_CMD_RSET,
	LMTP_CMD_NOOP,
	LMTP_CMD_QUIT,
	LMTP_CMD_VRFY,
};

/* lmtp_cmd_parse - the verb of one command line (without CRLF) and the
 * text after the first space (*args_r, borrowed, "" when none) */
enum lmtp_verb lmtp_cmd_parse(const char *line, const char **args_r);

/* lmtp_path_parse - "FROM:<path> params" (kw "FROM") or "TO:<path>
 * params" (kw "TO"): the address without the brackets into addr (reset;
 * a source route is dropped, a quoted local part kept as sent), and the
 * parameter text after it into *params_r (borrowed, "" when none).
 * 0, or -1 with *error_r, Dovecot's reply text after "501 5.5.4 "
 * ("Invalid FROM: Missing '<' at beginning of path"). null_ok: "<>" is
 * accepted (MAIL). */
int	 lmtp_path_parse(const char *args, const char *kw, bool null_ok, struct str *addr,
	    const char **params_r, const char **error_r);

/* lmtp_mail_params_ok - MAIL parameters that Dovecot's LMTP accepts
 * (BODY=7BIT, BODY=8BITMIME); anything else is "555 5.5.4 Unsupported
 * parameters" */
bool	 lmtp_mail_params_ok(const char *params);

/* lmtp_split_detail - user+detail: with a delimiter from delims found in
 * the local part, user (reset) gets the address without the detail and
 * detail (reset) the detail; without one, user is the address and detail
 * empty */
void	 lmtp_split_detail(const char *addr, const char *delims, struct str *user,
	    struct str *detail);

/* The DATA reader: bytes as they arrive, dot-unstuffed, CRLF turned into
 * LF, up to the line "." (RFC 5321 4.5.2). Output beyond max is counted
 * but dropped (overflow set) so that the end is still found. */
struct lmtp_data {
	int	 state;
	size_t	 total;		/* bytes of message, kept or not */
	size_t	 max;
	bool	 overflow;
	bool	 done;
};

void	 lmtp_data_init(struct lmtp_data *, size_t max);
/* lmtp_data_feed - consume from buf (up to n bytes, stopping right after
 * the final ".CRLF"), append the message bytes to out; the count consumed */
size_t	 lmtp_data_feed(struct lmtp_data *, const char *buf, size_t n, struct str *out);

/* cmd_lmtp - the service (argv: lmtp -c DOVECOT_CONF), listener on fd 3 */
int	 cmd_lmtp(int argc, char **argv);

#endif
