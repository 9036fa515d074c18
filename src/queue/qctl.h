/* qctl.h - what the queue commands (postqueue, postsuper, postcat, mailq,
 * sendmail -bp/-q) and the queue manager share beyond the file format: the
 * instance's queue settings, waking the queue manager, and the per-message
 * deferral reasons that mailq shows. */
#ifndef YUBIN_QCTL_H
#define YUBIN_QCTL_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"

struct maincf;

/* The FIFO requests of the queue manager, as Postfix's qmgr(8) reads them. */
#define QCTL_REQ_SCAN_INCOMING	'A'	/* new mail in incoming */
#define QCTL_REQ_FLUSH_DEFERRED	'F'	/* deliver deferred mail now */

/* The queue manager's FIFO, relative to queue_directory. */
#define QCTL_QMGR_FIFO		"public/qmgr"

struct qctl {
	char		*config_dir;	/* owned */
	struct maincf	*cf;		/* owned */
	char		*queue_dir;	/* owned, expanded queue_directory */
	bool		 long_ids;	/* enable_long_queue_ids */
};

/* qctl_open - load the instance's main.cf (config_flag from -c, else
 * MAIL_CONFIG, else the default) and its queue settings. 0, or -1 with
 * *error_r (owned by the qctl or static). */
int	 qctl_open(struct qctl *, const char *config_flag, const char **error_r);
void	 qctl_close(struct qctl *);

/* qctl_wake - write one request byte to the queue manager's FIFO without
 * blocking. -1 with errno when no queue manager listens (ENXIO, ENOENT). */
int	 qctl_wake(const char *queue_dir, char request);

/* qctl_flush - make every deferred message eligible now (mtime = now, as
 * Postfix's flush does) and ask the queue manager to look. Returns how many
 * were touched; *woke_r says whether a queue manager heard it. */
size_t	 qctl_flush(const char *queue_dir, bool *woke_r);

/* A deferral reason: one recipient's last temporary failure. */
struct qctl_reason {
	char	*rcpt;		/* owned */
	char	*status;	/* owned, "4.3.0" */
	char	*text;		/* owned */
};

/* qctl_reasons_write - replace the message's deferral reasons file
 * (queue_dir/defer/ID), one line per recipient. -1 with errno. */
int	 qctl_reasons_write(const char *queue_dir, const char *id,
	    const struct qctl_reason *reasons, size_t n);
/* qctl_reasons_read - the reasons, or none when there is no file */
void	 qctl_reasons_read(const char *queue_dir, const char *id,
	    struct qctl_reason **reasons_r, size_t *n_r);
void	 qctl_reasons_free(struct qctl_reason **reasons, size_t n);
/* qctl_reason_for - the reason recorded for rcpt, or NULL */
const char *qctl_reason_for(const struct qctl_reason *reasons, size_t n, const char *rcpt);

#endif
