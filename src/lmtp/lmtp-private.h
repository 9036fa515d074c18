/* lmtp-private.h - what lmtp_server.c and lmtp_deliver.c share: the
 * settings an LMTP process reads once, the connection, the session and
 * its recipients. */
#ifndef YUBIN_LMTP_PRIVATE_H
#define YUBIN_LMTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/str.h"

/* deliver's own cap (src/cli/deliver.c) less room for the headers added */
#define LMTP_MAX_MESSAGE	(255u * 1024 * 1024)

struct lmtp_settings {
	char	*conf_path;
	char	*base_dir;
	char	*auth_master_socket;	/* $base_dir/auth-master */
	char	*hostname;		/* hostname, else gethostname() */
	char	*greeting;		/* login_greeting */
	char	*delimiters;		/* recipient_delimiter */
	char	*temp_dir;		/* mail_temp_dir: DATA is spooled there */
	bool	 save_to_detail;	/* lmtp_save_to_detail_mailbox */
	bool	 add_received;		/* lmtp_add_received_header */
	unsigned long first_valid_uid;
	size_t	 max_message;
	int	 timeout_ms;
};

enum lmtp_read {
	LMTP_READ_LINE = 1,
	LMTP_READ_EOF = 0,
	LMTP_READ_TIMEOUT = -1,
	LMTP_READ_TOO_LONG = -2,	/* skipped to its end; the connection goes on */
	LMTP_READ_ERROR = -3,
};

struct lmtp_conn {
	int	 fd;
	char	 in[16384];
	size_t	 pos, len;
	struct str out;
	int	 timeout_ms;
	bool	 broken;
};

struct lmtp_rcpt {
	char	*addr;		/* as in RCPT TO, owned */
	char	*user;		/* the userdb's name, owned */
	char	*detail;	/* after recipient_delimiter, "" if none; owned */
	char	*home;		/* owned */
	char	*id;		/* Dovecot's session id of this recipient, owned */
	uid_t	 uid;
	gid_t	 gid;
};

struct auth_client;

struct lmtp_session {
	const struct lmtp_settings *set;	/* borrowed */
	struct lmtp_conn conn;
	struct auth_client *auth;		/* auth-master, owned; NULL until needed */
	char	 rip[64];
	bool	 unix_socket;
	char	 helo[128];
	char	 id[32];			/* session id */
	char	*tx_id;				/* transaction id, owned */
	unsigned tx_seq, rcpt_seq;
	struct str from;
	bool	 have_mail;
	bool	 in_data;
	struct lmtp_rcpt *rcpts;
	size_t	 nrcpts;
	const char *end_reason;			/* literal */
};

void	 lmtp_reply(struct lmtp_conn *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum lmtp_read lmtp_conn_getline(struct lmtp_conn *, struct str *line, size_t max);
void	 lmtp_settings_free(struct lmtp_settings *);
/* lmtp_tmpfile - an unnamed file (O_TMPFILE) in mail_temp_dir, so that
 * DATA is spooled to disk as Dovecot's is, not held in memory; a memfd
 * when the file system cannot. -1 on failure. */
int	 lmtp_tmpfile(const struct lmtp_settings *);

/* lmtp_deliver - deliver the message (msg_fd, len bytes, LF line ends) to
 * one recipient in a process that has become the recipient, through
 * Sieve as `deliver` does; reply gets the reply line for that recipient
 * (without CRLF). Logs as Dovecot's lmtp does. */
void	 lmtp_deliver(struct lmtp_session *, const struct lmtp_rcpt *, int msg_fd, size_t len,
	    struct str *reply);

#endif
