/* qdir.h - the queue directories under queue_directory: their names and
 * modes, moving a message between them durably, and listing them.
 *
 * Message queues: incoming (committed, not yet seen by the queue manager),
 * active (being delivered), deferred (waiting for its next attempt, whose
 * time is the file's mtime), hold (never scheduled until released), corrupt
 * (files a reader rejected), maildrop (local submissions, issue 4). Beside
 * them: bounce and defer (per-message delivery status text), pid (the
 * master's lock file), public (the qmgr FIFO, pickup) and private (unix
 * sockets of internal services). */
#ifndef YUBIN_QDIR_H
#define YUBIN_QDIR_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/util.h"

/* qdir_all - every directory qdir_create makes, NULL-terminated */
extern const char *const qdir_all[];
/* qdir_message_queues - the queues that hold queue files, in the order
 * mailq shows them and postsuper searches them */
extern const char *const qdir_message_queues[];

/* qdir_is_message_queue - one of qdir_message_queues */
bool	 qdir_is_message_queue(const char *name);
/* qdir_mode - the mode qdir_create gives a directory (-1 if unknown) */
int	 qdir_mode(const char *name);

/* qdir_create - make queue_dir and every directory in qdir_all that is
 * missing, with its mode; owner uid/gid when they are not -1 (as root).
 * 0, or -1 with *error_r (owned by the qdir module, valid until next call). */
int	 qdir_create(const char *queue_dir, uid_t uid, gid_t gid, const char **error_r);

/* qdir_path - "queue_dir/queue/id" (caller frees) */
char	*qdir_path(const char *queue_dir, const char *queue, const char *id);


/* qdir_move - rename queue_dir/from/id to queue_dir/to/id and fsync both
 * directories. -1 with errno (ENOENT: someone else moved or removed it). */
int	 qdir_move(const char *queue_dir, const char *id, const char *from, const char *to);
/* qdir_move_unsynced - the same without the directory fsyncs, for the queue
 * manager's moves among incoming, active and deferred: after a power loss
 * the message is in one of them either way, and every one of them is
 * scanned again, so only the time of the next attempt can change. */
int	 qdir_move_unsynced(const char *queue_dir, const char *id, const char *from,
	    const char *to);
/* qdir_unsynced - whether this process moved a name into or out of queue
 * without a directory fsync (qdir_move_unsynced) since qdir_synced(queue):
 * on disk the old name may still be there, or the new one not yet; true
 * for every queue until its first qdir_synced, since a crash may undo
 * what an earlier process moved. qdir_synced - the caller has fsync'd
 * queue's directory. Spares (qspare.h) need an old name gone for good
 * before its file is reused. */
bool	 qdir_unsynced(const char *queue);
void	 qdir_synced(const char *queue);

/* qdir_list - append the valid queue IDs in queue_dir/queue to ids, sorted.
 * Temporary and stray names are skipped (qdir_list_other finds them).
 * -1 with errno when the directory cannot be read. */
int	 qdir_list(const char *queue_dir, const char *queue, struct strvec *ids);
/* qdir_list_other - names in queue_dir/queue that are not queue IDs */
int	 qdir_list_other(const char *queue_dir, const char *queue, struct strvec *names);

/* qdir_find - the message queue that holds id (a qdir_message_queues
 * element), or NULL */
const char *qdir_find(const char *queue_dir, const char *id);

/* qdir_defer_path - the per-message deferral reasons file (caller frees) */
char	*qdir_defer_path(const char *queue_dir, const char *id);

/* qdir_remove - remove a message wherever it is in queue (and its deferral
 * reasons); fsync the directory. -1 with errno. */
int	 qdir_remove(const char *queue_dir, const char *queue, const char *id);
/* qdir_remove_unsynced - the same without the directory fsync, for a
 * message whose every recipient is marked done (fsync'd): should a system
 * crash undo the unlink, the file comes back with nothing left to deliver
 * and the queue manager removes it again. -1 with errno. */
int	 qdir_remove_unsynced(const char *queue_dir, const char *queue, const char *id);

#endif
