/* smtpd.h - what the files of src/smtpd/ share: the configuration read
 * once at start, the session and its transaction, and the calls between
 * the session loop (smtpd.c), the commands (smtpd_cmd.c), the message
 * reader (smtpd_data.c), the restrictions (smtpd_check.c) and TLS
 * (smtpd_tls.c). Nothing outside src/smtpd/ includes it except tests. */
#ifndef YUBIN_SMTPD_H
#define YUBIN_SMTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"
#include "lib/util.h"
#include "smtpd/smtpd_data.h"

struct auth_client;
struct auth_client_request;
struct bufferevent;
struct event;
struct event_base;
struct evconnlistener;
struct maincf;
struct qfile_writer;
struct smtpd_checks;
struct rewrite;
struct header_rewrite_stream;
struct ssl_ctx_st;

enum smtpd_tls_level {
	SMTPD_TLS_NONE,
	SMTPD_TLS_MAY,
	SMTPD_TLS_ENCRYPT,
};

/* Parameters, read once at start (a reload starts a new process). */
struct smtpd_config {
	char	*myhostname;		/* owned */
	char	*banner;		/* owned: expanded smtpd_banner */
	char	*queue_dir;		/* owned */
	char	*mail_name;		/* owned */
	long	 message_size_limit;	/* 0 = none */
	long	 queue_minfree;		/* bytes the queue file system keeps free */
	long	 line_limit;		/* line_length_limit */
	long	 rcpt_limit;
	long	 timeout;		/* seconds */
	long	 conn_limit;		/* per client address; 0 = none */
	long	 hard_error_limit;
	long	 junk_limit;
	bool	 disable_vrfy;
	bool	 sasl_enable;
	bool	 tls_auth_only;		/* AUTH only after STARTTLS */
	bool	 sasl_auth_header;	/* smtpd_sasl_authenticated_header */
	char	*sasl_path;		/* owned: the auth service; NULL: no AUTH */
	bool	 smtputf8;
	bool	 strict_rfc821;
	bool	 long_ids;
	bool	 helo_required;
	bool	 wrappermode;
	enum smtpd_tls_level tls_level;
	struct ssl_ctx_st *ssl_ctx;	/* owned; NULL: TLS not possible */
	bool	 tls_broken;		/* configured, but the key or cert failed */
	struct strvec discard_ehlo;	/* EHLO keywords not announced */
	struct strvec forbidden;	/* commands that end the session */
	struct smtpd_checks *checks;	/* owned */
	struct rewrite *rewrite;	/* owned: canonical and virtual rewriting */
	/* header rewriting (smtpd_hdr.c) */
	long	 header_size_limit;
	struct cidr_list *hdr_inet;	/* owned: permit_inet_interfaces, or NULL */
	struct cidr_list *hdr_tables;	/* owned: check_address_map tables, or NULL */
	bool	 hdr_mynetworks;	/* permit_mynetworks */
	bool	 hdr_sasl;		/* permit_sasl_authenticated */
	struct rewrite *remote_rewrite;	/* owned: remote_header_rewrite_domain, or NULL */
};

enum smtpd_mode {
	SMTPD_MODE_CMD,
	SMTPD_MODE_DATA,		/* reading DATA up to "." */
	SMTPD_MODE_BDAT,		/* reading a BDAT chunk */
	SMTPD_MODE_AUTH,		/* AUTH: the next line answers a 334 */
	SMTPD_MODE_AUTH_WAIT,		/* AUTH: waiting for the auth service */
	SMTPD_MODE_DNS_WAIT,		/* RCPT: a restriction waits for DNS */
	SMTPD_MODE_COMMIT_WAIT,		/* end of data: the queue file is being
					 * committed (smtpd_commit.h) */
	SMTPD_MODE_CLOSING,		/* flushing the last reply */
};

/* One mail transaction: from MAIL to the end of data or RSET. */
struct smtpd_tx {
	bool	 active;		/* MAIL was accepted */
	struct str sender;		/* "" for <> */
	size_t	 nrcpt;			/* accepted recipients */
	struct str first_rcpt;		/* for Received: ... for <rcpt> */
	struct qfile_writer *qf;	/* owned; opened at the first accepted RCPT */
	char	 id[40];		/* queue ID, "" until qf is open */
	bool	 smtputf8;
	char	 body[16];		/* BODY= value, or "" */
	char	 dsn_ret[8];		/* RET= value, or "" */
	char	 dsn_envid[104];	/* ENVID= value (xtext), or "" */
	bool	 bdat;			/* BDAT chunks have begun */
	bool	 bdat_failed;		/* a chunk failed: discard until LAST */
	bool	 write_failed;		/* the queue file refused content */
	char	 bdat_reply[128];	/* the reply after a discarded chunk, or "" */
	size_t	 bdat_left;		/* bytes of the current chunk still to read */
	bool	 bdat_last;
	size_t	 bdat_size;		/* size of the current chunk, as received */
	size_t	 bdat_total;		/* bytes of all chunks, as received */
	struct smtpd_data data;		/* the message reader */
	struct header_rewrite_stream *hdr; /* owned: header rewriting, NULL: none */
};

#define SMTPD_NCMD	16		/* size of the command statistics table */
#define SMTPD_CMD_SLOT_AUTH	3	/* smtpd_cmds[] index of "auth" */
#define SMTPD_CMD_SLOT_RCPT	5	/* smtpd_cmds[] index of "rcpt" */
#define SMTPD_CMD_SLOT_DATA	6	/* smtpd_cmds[] index of "data" */
#define SMTPD_CMD_SLOT_BDAT	7	/* smtpd_cmds[] index of "bdat" */
#define SMTPD_ADDR_SIZE	64
#define SMTPD_NAME_SIZE	300

struct smtpd_server;
struct dns_query;
struct dns_resolver;
struct smtpd_dns_answers;

struct smtpd_session {
	struct smtpd_server *srv;	/* borrowed, parent */
	struct smtpd_session *next, *prev; /* the server's list */
	struct bufferevent *bev;	/* owned */
	struct event *deadline;		/* owned: smtpd_timeout per line or record */
	char	 addr[SMTPD_ADDR_SIZE];	/* client address text */
	char	 name[SMTPD_NAME_SIZE];	/* client name ("unknown": no lookup yet) */
	char	 namaddr[SMTPD_NAME_SIZE + SMTPD_ADDR_SIZE + 2];
	char	 laddr[SMTPD_ADDR_SIZE];	/* server address text, "" if unknown */
	unsigned lport, rport;
	enum smtpd_mode mode;
	struct str helo;		/* owned; empty: none yet */
	bool	 esmtp;			/* EHLO was used */
	bool	 tls;			/* TLS is active */
	bool	 skip_line;		/* discarding the rest of an over-long line */
	bool	 paused;		/* output backlog: input waits */
	bool	 direct;		/* plaintext: replies go straight to the socket
					 * (smtpd_flush), EV_WRITE only for a backlog */
	bool	 in_process;		/* inside smtpd_process: replies wait for its
					 * end, so pipelined ones leave together */
	bool	 freeing;
	int	 error_count;
	int	 junk_count;
	const char *where;		/* last command, for "lost connection after" */
	unsigned cmd_ok[SMTPD_NCMD];
	unsigned cmd_total[SMTPD_NCMD];
	struct str line;		/* owned: the command line being handled */
	struct smtpd_tx tx;
	/* SMTP AUTH (smtpd_sasl.c) */
	struct auth_client_request *auth_req; /* owned: the attempt in progress */
	char	*sasl_method;		/* owned: "PLAIN" during and after AUTH */
	char	*sasl_user;		/* owned: authenticated as; NULL: not */
	char	*sasl_challenge;	/* owned: the last 334 text of the attempt */
	/* DNS-based restrictions (smtpd_dnscheck.h) */
	struct smtpd_dns_answers *dns_answers;	/* owned; NULL until needed */
	struct dns_query *dns_q;	/* pending lookup; cancelled at free */
	char	*dns_args;		/* owned: the RCPT arguments to evaluate again */
	/* the group commit of the queue file (smtpd_commit.h) */
	struct smtpd_commit *commit;	/* in flight; NULL: none */
	bool	 commit_bdat;		/* it ends a BDAT transaction */
};

struct smtpd_server {
	struct smtpd_config cfg;
	struct maincf *mc;		/* owned */
	struct event_base *base;	/* owned */
	struct evconnlistener *listener; /* owned */
	struct event *sigterm;		/* owned */
	struct event *sigretire;	/* owned: SIGUSR2, retired by a reload */
	struct smtpd_session *sessions;	/* owned list */
	struct auth_client *auth;	/* owned: SMTP AUTH's service, or NULL */
	struct dns_resolver *dns;	/* owned: for the DNS restrictions, or NULL */
	size_t	 nsessions;
	bool	 stopping;
	struct smtpd_committer *committer; /* owned: group commit thread, or NULL */
	bool	 commit_failed;		/* no thread could be started: commit inline */
};

/* smtpd.c */
void	 smtpd_reply(struct smtpd_session *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 smtpd_close(struct smtpd_session *, const char *why);
void	 smtpd_tx_reset(struct smtpd_session *);
void	 smtpd_set_mode(struct smtpd_session *, enum smtpd_mode);
/* smtpd_resume - go on with input held back while a reply was pending
 * (AUTH): process what the client sent, close if that ended the session */
void	 smtpd_resume(struct smtpd_session *);
const char *smtpd_protocol(const struct smtpd_session *);

/* smtpd_cmd.c */
struct smtpd_cmd;
typedef int smtpd_cmd_fn(struct smtpd_session *, const char *args);
struct smtpd_cmd {
	const char	*name;
	smtpd_cmd_fn	*fn;
	unsigned	 flags;
};
#define SMTPD_CMD_FLAG_LIMIT	0x1	/* counts toward smtpd_junk_command_limit */
#define SMTPD_CMD_FLAG_PRE_TLS	0x2	/* allowed before STARTTLS under encrypt */
extern const struct smtpd_cmd smtpd_cmds[];
/* smtpd_cmd_find - the table entry of a verb (case-insensitive), else
 * NULL; *index_r is its statistics slot (the "unknown" slot for NULL) */
const struct smtpd_cmd *smtpd_cmd_find(const char *verb, size_t len, size_t *index_r);
/* smtpd_cmd_split - verb and arguments of a command line: leading white
 * space skipped, the verb ends at white space, *args_r is what follows it
 * without leading white space. false for an empty line. */
bool	 smtpd_cmd_split(const char *line, size_t len, size_t *verb_len_r, const char **args_r);
/* smtpd_cmd_path - "FROM:<path> params" (keyword "FROM:" or "TO:"): the
 * mailbox into out, *params_r at the ESMTP parameters. 0; -1 when the
 * keyword is missing (answer "Syntax: ..."); -2 for a bad path. */
int	 smtpd_cmd_path(const char *args, const char *keyword, unsigned addr_flags,
	    struct str *out, const char **params_r);
/* smtpd_cmd_param - the next "KEY[=VALUE]" of *p into key/val (views into
 * the line); false at the end */
bool	 smtpd_cmd_param(const char **p, const char **key_r, size_t *key_len_r,
	    const char **val_r, size_t *val_len_r);
/* smtpd_xtext_is_valid - RFC 3461 xtext */
bool	 smtpd_xtext_is_valid(const char *s, size_t len);
void	 smtpd_dispatch(struct smtpd_session *, const char *line, size_t len);
/* smtpd_cmd_done - count a command's outcome (rc 0: success) in the
 * statistics and apply smtpd_hard_error_limit; dispatch calls it, and an
 * asynchronous command (AUTH) when its answer comes */
void	 smtpd_cmd_done(struct smtpd_session *, size_t slot, int rc);
/* smtpd_cmd_stats - "ehlo=1 mail=1 ... commands=5" */
void	 smtpd_cmd_stats(const struct smtpd_session *, struct str *out);

/* smtpd_msg.c: the queue file of a transaction */
int	 smtpd_msg_open(struct smtpd_session *);
/* smtpd_msg_rcpt - a recipient, rewritten and expanded, into the queue file;
 * on failure the 451 reply is sent (smtpd_msg.c) */
int	 smtpd_msg_rcpt(struct smtpd_session *, const char *rcpt, const char *orcpt, int notify);
int	 smtpd_msg_begin(struct smtpd_session *);
void	 smtpd_msg_content(struct smtpd_session *);
void	 smtpd_msg_end(struct smtpd_session *);
void	 smtpd_msg_bdat_done(struct smtpd_session *);
void	 smtpd_msg_wake_qmgr(const char *queue_dir);

/* smtpd_hdr.c: header address rewriting (local_header_rewrite_clients,
 * remote_header_rewrite_domain) */
struct cidr_list;
int	 smtpd_hdr_config(struct smtpd_config *, struct maincf *, const char **error_r);
void	 smtpd_hdr_config_free(struct smtpd_config *);
/* smtpd_hdr_begin - choose the context for this message's client */
void	 smtpd_hdr_begin(struct smtpd_session *);
/* smtpd_hdr_content - content into the queue file, header fields
 * rewritten; final: the end of the message */
void	 smtpd_hdr_content(struct smtpd_session *, const char *p, size_t len, bool final);
/* smtpd_hdr_end - free the message's rewriting state */
void	 smtpd_hdr_end(struct smtpd_session *);

/* smtpd_sasl.c: SMTP AUTH through the authentication service */
int	 smtpd_sasl_config(struct smtpd_config *, struct maincf *, const char **error_r);
void	 smtpd_sasl_start(struct smtpd_server *);
void	 smtpd_sasl_stop(struct smtpd_server *);
/* smtpd_sasl_ehlo - "AUTH PLAIN LOGIN ..." into kw when AUTH is offered */
void	 smtpd_sasl_ehlo(struct smtpd_session *, struct strvec *kw);
/* smtpd_sasl_cmd_auth - the AUTH command; 1 when the answer comes later */
int	 smtpd_sasl_cmd_auth(struct smtpd_session *, const char *args);
/* smtpd_sasl_response - a client's line after "334 ..." */
void	 smtpd_sasl_response(struct smtpd_session *, const char *line, bool truncated);
/* smtpd_sasl_reset - forget the authentication (STARTTLS, session end) */
void	 smtpd_sasl_reset(struct smtpd_session *);

/* smtpd_tls.c */
int	 smtpd_tls_init(struct smtpd_config *, struct maincf *, const char **error_r);
int	 smtpd_tls_start(struct smtpd_session *, int fd);
struct bufferevent *smtpd_tls_socket(struct smtpd_server *, int fd);
void	 smtpd_tls_error(char *buf, size_t size);
/* smtpd.c: set the callbacks of a new bufferevent of the session */
void	 smtpd_tls_attach(struct smtpd_session *);
const char *smtpd_tls_describe(struct smtpd_session *, char *buf, size_t size);

#endif
