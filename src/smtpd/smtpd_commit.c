/* smtpd_commit.c - group commit of queue files (smtpd_commit.h). One
 * thread, two lists under one mutex: files to commit and files committed.
 * The thread allocates nothing and calls nothing but the file system
 * calls of qfile_writer_commit_group (whose fsyncs run together, in
 * short-lived threads of fsync_many.h); a pipe rings the event loop,
 * which answers the sessions. Tests: tests/e2e/test_smtpd.py, test_crash.py */
#include "smtpd/smtpd_commit.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "queue/qfile.h"
#include "smtpd/smtpd.h"

/* most files one group commit takes: more wait for the next turn */
#define SMTPD_COMMIT_GROUP_MAX	64

struct smtpd_commit {
	struct qfile_writer	*qf;		/* owned */
	struct smtpd_session	*s;		/* NULL once the session is gone */
	int			 err;
	struct smtpd_commit	*next;
};

struct smtpd_committer {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	pthread_t		 thread;
	struct smtpd_commit	*todo, **todo_tail;
	struct smtpd_commit	*done, **done_tail;
	bool			 stopping;
	int			 pipe[2];
	struct event		*ev;		/* the loop's end of the pipe */
};

static void *
smtpd_commit_thread(void *arg)
{
	struct smtpd_committer *c = arg;
	struct qfile_writer *ws[SMTPD_COMMIT_GROUP_MAX];
	int errs[SMTPD_COMMIT_GROUP_MAX];
	struct smtpd_commit *batch, *e, **tail;
	size_t n, i;
	char bell = 0;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->todo == NULL && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->todo == NULL)
			break;
		/* everything handed over while the last group was on disk */
		batch = c->todo;
		for (n = 1, e = batch; e->next != NULL && n < SMTPD_COMMIT_GROUP_MAX; n++)
			e = e->next;
		c->todo = e->next;
		if (c->todo == NULL)
			c->todo_tail = &c->todo;
		e->next = NULL;
		pthread_mutex_unlock(&c->lock);
		for (i = 0, e = batch; e != NULL; e = e->next)
			ws[i++] = e->qf;
		qfile_writer_commit_group(ws, n, errs);
		pthread_mutex_lock(&c->lock);
		for (i = 0, tail = &batch, e = batch; e != NULL; e = e->next, i++) {
			e->err = errs[i];
			tail = &e->next;
		}
		*c->done_tail = batch;
		c->done_tail = tail;
		/* a full pipe already rings: the byte is only a bell */
		if (write(c->pipe[1], &bell, 1) < 0 && errno != EAGAIN)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* smtpd_commit_ring - in the loop: answer the sessions whose files are done */
static void
smtpd_commit_ring(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_committer *c = arg;
	struct smtpd_commit *list, *e;
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&c->lock);
	list = c->done;
	c->done = NULL;
	c->done_tail = &c->done;
	pthread_mutex_unlock(&c->lock);
	while ((e = list) != NULL) {
		list = e->next;
		if (e->s != NULL) {
			e->s->commit = NULL;
			e->s->tx.qf = e->qf;	/* the session frees it */
			smtpd_msg_committed(e->s, e->err);
		} else {
			if (e->err != 0)
				qfile_writer_abort(&e->qf);
			else
				qfile_writer_free(&e->qf);
		}
		free(e);
	}
}

static struct smtpd_committer *
smtpd_commit_start(struct smtpd_server *srv)
{
	struct smtpd_committer *c = xcalloc(1, sizeof(*c));
	sigset_t all, old;
	int rc;

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->todo_tail = &c->todo;
	c->done_tail = &c->done;
	c->pipe[0] = c->pipe[1] = -1;
	if (pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		goto fail;
	c->ev = event_new(srv->base, c->pipe[0], EV_READ | EV_PERSIST, smtpd_commit_ring, c);
	if (c->ev == NULL || event_add(c->ev, NULL) != 0)
		goto fail;
	/* signals stay the loop's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->thread, NULL, smtpd_commit_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail;
	return c;
fail:
	log_warn("queue file group commit unavailable: committing in the loop");
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->pipe[0] >= 0) {
		close(c->pipe[0]);
		close(c->pipe[1]);
	}
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}

int
smtpd_commit_submit(struct smtpd_session *s)
{
	struct smtpd_server *srv = s->srv;
	struct smtpd_committer *c;
	struct smtpd_commit *e;

	if (srv->committer == NULL && !srv->commit_failed &&
	    (srv->committer = smtpd_commit_start(srv)) == NULL)
		srv->commit_failed = true;
	if ((c = srv->committer) == NULL)
		return -1;
	e = xcalloc(1, sizeof(*e));
	e->qf = s->tx.qf;
	e->s = s;
	s->tx.qf = NULL;
	s->commit = e;
	pthread_mutex_lock(&c->lock);
	*c->todo_tail = e;
	c->todo_tail = &e->next;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void
smtpd_commit_forget(struct smtpd_session *s)
{
	struct smtpd_committer *c = s->srv->committer;

	if (s->commit == NULL || c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	s->commit->s = NULL;
	pthread_mutex_unlock(&c->lock);
	s->commit = NULL;
}

void
smtpd_commit_stop(struct smtpd_server *srv)
{
	struct smtpd_committer *c = srv->committer;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	/* the thread finishes every file it was given, then ends */
	pthread_join(c->thread, NULL);
	smtpd_commit_ring(c->pipe[0], EV_READ, c);
	event_free(c->ev);
	close(c->pipe[0]);
	close(c->pipe[1]);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
	srv->committer = NULL;
}
