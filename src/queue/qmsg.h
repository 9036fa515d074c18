/* qmsg.h - reading a queue file: the queue manager's and the queue
 * commands' view of one queued message.
 *
 * File format (written by qfile.c, read here). A queue file is a sequence of
 * records, each QMSG_REC_HDR_SIZE bytes of header (one type byte, a 4-byte
 * big-endian data length) followed by the data:
 *
 *	V "1"			version, first record
 *	T "SEC USEC"		arrival time
 *	C "%15zu %15zu"		content size, recipient count (fixed width,
 *				rewritten in place at commit)
 *	S sender		envelope sender ("" = <>)
 *	A "name=value"		attribute (client_name, protocol, ...)
 *	O orcpt			original recipient of the next R record
 *	R "NOTIFY addr"		recipient still to deliver (NOTIFY decimal)
 *	D "NOTIFY addr"		the same recipient, finished: the R type byte
 *				is overwritten with D in place and fsync'd
 *	M ""			start of the message content
 *	N bytes			a chunk of content (any number of them)
 *	X ""			end of content; envelope records added late
 *				(S, A, O, R) may follow, as Postfix's extracted
 *				section
 *	E ""			end of file, always last: a file without it
 *				was never committed
 *
 * The reader trusts nothing: every length is checked against the bytes that
 * remain, records must come in this order, and unknown types, missing
 * required records or trailing bytes make the file malformed. A malformed
 * file is the caller's to move to corrupt/ (qdir_move). */
#ifndef YUBIN_QMSG_H
#define YUBIN_QMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "queue/qfile.h"

#define QMSG_REC_HDR_SIZE	5

/* Record types, as single bytes in the file. */
enum qmsg_rec {
	QMSG_REC_VERSION = 'V',
	QMSG_REC_TIME = 'T',
	QMSG_REC_SIZE = 'C',
	QMSG_REC_FROM = 'S',
	QMSG_REC_ATTR = 'A',
	QMSG_REC_ORCP = 'O',
	QMSG_REC_RCPT = 'R',
	QMSG_REC_DONE = 'D',
	QMSG_REC_MESG = 'M',
	QMSG_REC_NORM = 'N',
	QMSG_REC_XTRA = 'X',
	QMSG_REC_END = 'E',
};

/* The version this code writes and reads. */
#define QMSG_VERSION		"1"
/* Longest envelope record (address, attribute) a writer may put and a
 * reader accepts; content chunks may be up to QMSG_MAX_CHUNK. */
#define QMSG_MAX_ENVELOPE_REC	8192
#define QMSG_MAX_CHUNK		(1u << 20)

struct qmsg_rcpt {
	char	*addr;		/* owned */
	char	*orcpt;		/* owned; NULL when none */
	int	 notify;	/* QFILE_NOTIFY_* */
	bool	 done;
	off_t	 offset;	/* of the R/D type byte in the file */
};

struct qmsg_attr {
	char	*name;		/* owned */
	char	*value;		/* owned */
};

/* A chunk of content: offset and length of N record data in the file. */
struct qmsg_chunk {
	off_t	 offset;
	size_t	 len;
};

struct qmsg {
	char			 id[QFILE_ID_SIZE];	/* "" when parsed from a buffer */
	char			*path;			/* owned; NULL from a buffer */
	int			 fd;			/* -1 from a buffer */
	off_t			 file_size;
	long			 arrival_sec;
	long			 arrival_usec;
	size_t			 size;			/* content bytes */
	char			*sender;		/* owned; "" = <> */
	struct qmsg_attr	*attrs;			/* owned array */
	size_t			 nattrs;
	struct qmsg_rcpt	*rcpts;			/* owned array */
	size_t			 nrcpts;
	struct qmsg_chunk	*chunks;		/* owned array */
	size_t			 nchunks;
	char			*buf;			/* owned: the whole file */
};

/* qmsg_open - read and check the queue file at path (its base name is the
 * queue ID). writable: open it read-write so that recipients can be marked
 * done. -1 with *error_r: errno ENOENT when it is gone (a race with another
 * process, not corruption), EINVAL with a reason when it is malformed. The
 * error text is owned by the qmsg module (valid until the next call). */
int	 qmsg_open(const char *path, bool writable, struct qmsg **msg_r, const char **error_r);
/* qmsg_parse - check and parse a queue file held in memory (fuzzing, tests) */
int	 qmsg_parse(const void *data, size_t len, struct qmsg **msg_r, const char **error_r);
void	 qmsg_free(struct qmsg **);

/* qmsg_attr - an attribute's value, or NULL */
const char *qmsg_attr(const struct qmsg *, const char *name);
/* qmsg_content - append the message content to out */
struct str;
void	 qmsg_content(const struct qmsg *, struct str *out);
/* qmsg_todo - recipients not yet done */
size_t	 qmsg_todo(const struct qmsg *);
/* qmsg_rcpt_done - mark recipient i finished, in place, and fsync the file
 * before returning 0, so that a crash after it never delivers again. */
int	 qmsg_rcpt_done(struct qmsg *, size_t i, const char **error_r);
/* qmsg_rcpt_mark - the same mark, written but not yet fsync'd: the caller
 * calls qmsg_sync before it relies on the mark surviving a system crash
 * (several marks, one fsync). A process crash cannot lose a written mark. */
int	 qmsg_rcpt_mark(struct qmsg *, size_t i, const char **error_r);
/* qmsg_sync - fsync the file (the marks written so far) */
int	 qmsg_sync(struct qmsg *, const char **error_r);

/* qmsg_walk - call fn for every record of a parsed message, in file order
 * (postcat); stops early when fn returns non-zero */
typedef int qmsg_walk_fn(int type, const char *data, size_t len, void *ctx);
int	 qmsg_walk(const struct qmsg *, qmsg_walk_fn *fn, void *ctx);

/* qmsg_rec_name - the record type's name for postcat ("sender", ...) */
const char *qmsg_rec_name(int type);

#endif
