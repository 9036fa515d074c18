/* qfile.h - the queue file: one file per message, the contract between the
 * receivers (smtpd, pickup) and the queue manager and queue commands.
 *
 * Writer side (smtpd, pickup): qfile_writer_open() creates a temporary file
 * in queue_directory/incoming whose queue ID is fixed at once (derived from
 * the time and the file's inode, Postfix-style); the envelope and content
 * are appended; qfile_writer_commit() writes the end record, fsyncs the
 * file, renames it to its queue ID and fsyncs the directory. Only after
 * commit returns 0 may the receiver say "250 2.0.0 Ok: queued as ID". A
 * writer that is aborted or dies leaves only a temporary name, which the
 * queue manager and "postsuper -s" remove; the queue manager never
 * schedules a temporary name.
 *
 * The file format (records of one type byte, a 4-byte big-endian length and
 * the data; recipients are finished by overwriting their type byte in place)
 * and the reader side belong to qfile.c and its readers (qmgr, postqueue,
 * postsuper, postcat); see qmsg.h. */
#ifndef YUBIN_QFILE_H
#define YUBIN_QFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest queue ID text (long IDs included), with the NUL. */
#define QFILE_ID_SIZE		32

/* DSN NOTIFY flags of a recipient (RFC 3461). */
#define QFILE_NOTIFY_NEVER	0x1
#define QFILE_NOTIFY_SUCCESS	0x2
#define QFILE_NOTIFY_FAILURE	0x4
#define QFILE_NOTIFY_DELAY	0x8

struct qfile_writer;

/* qfile_writer_open - a new message in queue_dir/incoming; long_ids as
 * enable_long_queue_ids. 0, or -1 with *error_r (static or owned by no one:
 * a string literal or strerror text). */
int	 qfile_writer_open(const char *queue_dir, bool long_ids, struct qfile_writer **w_r,
	    const char **error_r);
/* qfile_writer_open_queue - the same in another queue directory: sendmail
 * writes to maildrop, where pickup finds only committed files */
int	 qfile_writer_open_queue(const char *queue_dir, const char *queue, bool long_ids,
	    struct qfile_writer **w_r, const char **error_r);
/* qfile_writer_id - the queue ID, known from open on */
const char *qfile_writer_id(const struct qfile_writer *);
/* qfile_writer_sender - the envelope sender ("" for the null sender <>) */
int	 qfile_writer_sender(struct qfile_writer *, const char *sender);
/* qfile_writer_attr - a named attribute: client_name, client_address,
 * helo_name, protocol (SMTP/ESMTP/ESMTPS...), sasl_method, sasl_username,
 * message_id, dsn_envid, dsn_ret, smtputf8, bodytype, log_ident, ... */
int	 qfile_writer_attr(struct qfile_writer *, const char *name, const char *value);
/* qfile_writer_rcpt - one envelope recipient; orcpt may be NULL */
int	 qfile_writer_rcpt(struct qfile_writer *, const char *addr, const char *orcpt,
	    int notify);
/* qfile_writer_content - append message content (headers and body, CRLF
 * or LF lines as received after dot-unstuffing). Call as often as needed.
 * Fails once the content passes max_size bytes (0 = no limit); the caller
 * then answers 552 5.3.4 and aborts. */
int	 qfile_writer_content(struct qfile_writer *, const void *data, size_t len,
	    size_t max_size);
/* qfile_writer_size - content bytes so far */
size_t	 qfile_writer_size(const struct qfile_writer *);
/* qfile_writer_commit - make the message durable and visible to the queue
 * manager (see above). On failure the file is removed; answer 451/452. */
int	 qfile_writer_commit(struct qfile_writer *, const char **error_r);
/* The commit in two steps, for a receiver that commits the files of
 * several sessions together (smtpd's group commit): commit_begin writes
 * the last records and starts the write-back (0, or -1 with *errno_r; the
 * file is then removed), commit_group makes n begun files durable and
 * visible: all fsync'd at once (fsync_many.h), each renamed, then one
 * fsync of the directory for all of them. errnos[i] is 0 for each file committed; a failed one is
 * removed. commit_group touches nothing but the writers given to it, so
 * it may run in another thread while the caller works on. */
int	 qfile_writer_commit_begin(struct qfile_writer *, int *errno_r);
void	 qfile_writer_commit_group(struct qfile_writer *const *ws, size_t n, int *errnos);
/* qfile_writer_abort - remove the partial file and free; NULL-safe */
void	 qfile_writer_abort(struct qfile_writer **);
/* qfile_writer_free - free a committed writer; NULL-safe */
void	 qfile_writer_free(struct qfile_writer **);

/* qfile_id_is_valid - a queue ID as this queue makes them, safe to use as a
 * file name (commands check every ID a user gives before building a path) */
bool	 qfile_id_is_valid(const char *id);

#endif
