/* managesieve-private.h - what the ManageSieve service, login and session
 * files share: the settings read once by the service process (as root,
 * before any fork), the command reader over a pop3_conn, replies and the
 * capability list. */
#ifndef YUBIN_MANAGESIEVE_PRIVATE_H
#define YUBIN_MANAGESIEVE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/str.h"
#include "managesieve/managesieve_parse.h"
#include "sieve/sieve_config.h"

struct pop3_conn;
struct pop3_client;
struct auth_client;

/* Pigeonhole's limits on what a login process reads: a SASL response or
 * an initial response fits in this; a logged-in command line, outside
 * literals, in managesieve_max_line_length */
#define MSIEVE_LOGIN_MAX_LITERAL	(16 * 1024)
/* Pigeonhole's managesieve-login hangs up after 3 bad commands, the
 * session after 20 */
#define MSIEVE_LOGIN_MAX_BAD		3
#define MSIEVE_MAX_BAD			20

struct msieve_settings {
	char	*implementation;	/* managesieve_implementation_string */
	char	*sieve_caps;		/* managesieve_sieve_capability or the engine's set */
	char	*notify_caps;		/* managesieve_notify_capability or "mailto" */
	char	*location;		/* plugin/sieve */
	struct sieve_config cfg;	/* sieve_extensions, sieve_max_* ... */
	uint64_t quota_max_storage;	/* sieve_quota_max_storage, 0: none */
	uint64_t quota_max_scripts;	/* sieve_quota_max_scripts, 0: none */
};

/* set once in the service process, read by its children */
extern struct msieve_settings msieve_set;

/* The command reader: the client's bytes gathered in buf until a whole
 * command (literals included) is there. */
struct msieve_reader {
	struct pop3_conn *conn;
	struct str buf;
	size_t	 max_literal;
	uint64_t skip;		/* bytes of a refused literal still to drop */
	bool	 skip_line;	/* then the rest of its line */
	uint64_t in_bytes;	/* for "bytes=IN/OUT" */
	uint64_t out_bytes;	/* replies flushed so far */
};

enum msieve_read {
	MSIEVE_READ_CMD = 1,	/* cmd filled (msieve_cmd_deinit it) */
	MSIEVE_READ_BAD = 2,	/* a bad command, dropped: *error_r */
	MSIEVE_READ_TOOBIG = 3,	/* a literal over max_literal: dropped as it comes */
	MSIEVE_READ_EOF = 0,
	MSIEVE_READ_TIMEOUT = -1,
	MSIEVE_READ_FATAL = -2,	/* a line past any limit: hang up */
	MSIEVE_READ_ERROR = -3,
};

void	 msieve_reader_init(struct msieve_reader *, struct pop3_conn *, size_t max_literal);
void	 msieve_reader_deinit(struct msieve_reader *);
enum msieve_read msieve_read_command(struct msieve_reader *, struct msieve_cmd *,
	    const char **error_r);
/* msieve_read_string - one string line (a SASL response): the string into
 * out. MSIEVE_READ_CMD when read, MSIEVE_READ_BAD when the line is not one
 * string. */
enum msieve_read msieve_read_string(struct msieve_reader *, struct str *out);

/* msieve_reply - "OK|NO|BYE [(CODE)] "text"" CRLF; text quoted or a
 * literal as msieve_quote decides. Returns the bytes queued. */
size_t	 msieve_reply(struct pop3_conn *, const char *kind, const char *code,
	    const char *text, size_t len);
size_t	 msieve_replyf(struct pop3_conn *, const char *kind, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* msieve_caps - the capability lines: login (pre-login: SASL, STARTTLS
 * when offered) or the session's (MAXREDIRECTS, UNAUTHENTICATE when the
 * session can give the connection back) */
void	 msieve_caps(struct str *out, bool login, const char *sasl, bool starttls,
	    bool unauth);

/* msieve_printable - a client's name as Pigeonhole shows it in a reply:
 * control characters become '?' */
void	 msieve_printable(struct str *out, const char *s, size_t len);

int	 msieve_login_run(struct pop3_client *, int client_fd, int ctl_fd,
	    struct auth_client *auth);
int	 msieve_mail_run(struct pop3_client *, struct pop3_conn *, const char *user,
	    const char *mailbox_path, bool maildir);

#endif
