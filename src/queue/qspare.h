/* qspare.h - spare queue files: the queue manager keeps the file of a
 * finished message (renamed into queue_dir/spare/ instead of unlinked),
 * and a receiver that needs a new queue file takes one from there
 * (renamed to its temporary name in incoming/, overwritten, truncated to
 * its new length) instead of creating one. A message then costs no inode
 * allocation and no inode release: on ext4 without a journal, which skips
 * recently freed inodes when it allocates one, that search was the largest
 * single cost of a message (docs/benchmarks.md); everywhere it saves an
 * inode's creation and deletion.
 *
 * What a spare file holds is garbage: a name in spare/ is never a queue
 * file, no reader looks there, and a receiver claims one by an atomic
 * rename to its own temporary name, so two receivers never share one. The
 * queue ID is made after the claim from the time and the inode, as for a
 * new file (the inode is unique among live files either way). A kept
 * file becomes claimable only once its old name's removal is durable
 * (qspare_publish), and is taken only while no other process has it open
 * (a reader of the old message would see the new one). Spares are
 * bounded in number and in size (larger files are unlinked as before).
 * Tests: tests/unit/queue/test_qfile.c; tests/e2e/test_crash.py and
 * test_local_delivery.py (the spare files) */
#ifndef YUBIN_QSPARE_H
#define YUBIN_QSPARE_H

#include <sys/types.h>

/* the directory under queue_directory */
#define QSPARE_DIR		"spare"
/* at most this many spares (the queue manager recounts once a second when
 * it thinks it has reached this): enough for the messages a burst leaves
 * waiting, whose files only come back once they are delivered */
#define QSPARE_MAX		1024
/* files larger than this are removed, not kept (so spares hold at most
 * QSPARE_MAX * QSPARE_MAX_SIZE = 32 MiB) */
#define QSPARE_MAX_SIZE		(32 * 1024)

/* the prefix of a spare not yet published: not a queue ID, never claimed */
#define QSPARE_HIDDEN		".k."

/* qspare_claim - a spare file renamed to path (a temporary name in the
 * queue the caller writes, on the same file system): an open descriptor
 * (read-write, offset 0, the old contents still there: overwrite and
 * truncate), or -1 when there is none (create a file as before) */
int	 qspare_claim(const char *queue_dir, const char *path);

/* qspare_put - keep queue_dir/queue/id as a spare instead of removing it;
 * fd is the caller's open descriptor of it (for its size). 0 kept, -1 not
 * (too big, enough spares, or an error: the caller unlinks it). The file
 * is renamed to a hidden name in spare/ that no receiver takes: the rename
 * out of queue/ is not durable yet, and a crash that undid it after a
 * receiver had overwritten the file would bring back the old name on the
 * new message (delivered twice, or mixed with the old one's records). */
int	 qspare_put(const char *queue_dir, const char *queue, const char *id, int fd);

/* qspare_publish - make the spares kept since the last call claimable:
 * one fsync of the queue they left, then each renamed to its ID. When the
 * fsync fails they are removed instead (-1). Call it once per batch of
 * qspare_put (the queue manager: once per loop turn). */
int	 qspare_publish(const char *queue_dir);

/* qspare_clean - remove the hidden spares a crash left (queue manager
 * start) */
void	 qspare_clean(const char *queue_dir);

#endif
