/* smtpd_commit.h - group commit of queue files in smtpd. A session whose
 * message is complete hands its queue file here (qfile_writer_commit_begin
 * done) and waits in SMTPD_MODE_COMMIT_WAIT, reading nothing; one thread
 * per smtpd process takes every file handed over meanwhile, fsyncs and
 * renames each into incoming/, and fsyncs incoming/ once for all of them
 * (qfile_writer_commit_group). Only then does the event loop send each
 * session its "250 ... queued as" (or 451). So no 250 goes out before the
 * file and its directory entry are on disk, exactly as before, while the
 * loop goes on serving the other sessions during the fsyncs, and one
 * directory fsync covers the messages of several sessions.
 * Tests: tests/e2e/test_smtpd.py, test_crash.py, test_master_smtp.py */
#ifndef YUBIN_SMTPD_COMMIT_H
#define YUBIN_SMTPD_COMMIT_H

struct smtpd_server;
struct smtpd_session;

/* smtpd_commit_submit - commit s->tx.qf (taken from the session) in the
 * group commit thread, started on first use; smtpd_msg_committed(s, errno)
 * follows in the event loop. 0, or -1 (no thread: the caller commits
 * itself; s->tx.qf is left alone). */
int	 smtpd_commit_submit(struct smtpd_session *s);
/* smtpd_commit_forget - the session goes away while its commit is in
 * flight: the file is committed anyway (it is then queued without a 250,
 * as when a client drops after the final "."), and freed here */
void	 smtpd_commit_forget(struct smtpd_session *s);
/* smtpd_commit_stop - at exit: wait for the thread to finish what it has,
 * free what is left */
void	 smtpd_commit_stop(struct smtpd_server *srv);

/* smtpd_msg.c: the commit of s's message is over (0: durable) */
void	 smtpd_msg_committed(struct smtpd_session *s, int err);

#endif
