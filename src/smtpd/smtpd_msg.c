/* smtpd_msg.c - the queue file of an SMTP transaction: opened at the first
 * accepted recipient (so that "ID: client=" is logged when Postfix logs it),
 * a Received: header in Postfix's shape, the content as the reader
 * produces it, and "250 ... queued as ID" only after qfile_writer_commit()
 * made the file durable. Any failure aborts the file: nothing else is
 * touched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mail/rewrite.h"
#include "lib/mem.h"
#include "queue/qfile.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_commit.h"

int
smtpd_msg_open(struct smtpd_session *s)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	struct str sender;
	const char *err;
	int rc = 0;

	if (qfile_writer_open(cfg->queue_dir, cfg->long_ids, &s->tx.qf, &err) < 0) {
		log_warn("queue file create in %s/incoming: %s", cfg->queue_dir, err);
		return -1;
	}
	snprintf(s->tx.id, sizeof(s->tx.id), "%s", qfile_writer_id(s->tx.qf));
	str_init(&sender, 64);
	if (rewrite_address(cfg->rewrite, REWRITE_ENVELOPE_SENDER, s->tx.sender.s, &sender,
	    &err) != 0) {
		log_warn("%s: %s", s->tx.id, err);
		str_deinit(&sender);
		qfile_writer_abort(&s->tx.qf);
		s->tx.id[0] = '\0';
		return -1;
	}
	rc |= qfile_writer_sender(s->tx.qf, sender.s);
	str_deinit(&sender);
	if (s->tx.dsn_ret[0] != '\0')
		rc |= qfile_writer_attr(s->tx.qf, "dsn_ret", s->tx.dsn_ret);
	if (s->tx.dsn_envid[0] != '\0')
		rc |= qfile_writer_attr(s->tx.qf, "dsn_envid", s->tx.dsn_envid);
	rc |= qfile_writer_attr(s->tx.qf, "client_name", s->name);
	rc |= qfile_writer_attr(s->tx.qf, "client_address", s->addr);
	if (s->helo.len > 0)
		rc |= qfile_writer_attr(s->tx.qf, "helo_name", s->helo.s);
	rc |= qfile_writer_attr(s->tx.qf, "protocol", smtpd_protocol(s));
	rc |= qfile_writer_attr(s->tx.qf, "log_ident", s->tx.id);
	if (s->tx.smtputf8)
		rc |= qfile_writer_attr(s->tx.qf, "smtputf8", "1");
	if (s->tx.body[0] != '\0')
		rc |= qfile_writer_attr(s->tx.qf, "bodytype", s->tx.body);
	if (rc != 0) {
		log_warn("%s: queue file write error", s->tx.id);
		qfile_writer_abort(&s->tx.qf);
		s->tx.id[0] = '\0';
		return -1;
	}
	if (s->sasl_user != NULL) {
		struct str user;

		/* Postfix's shape, which pflogsumm and fail2ban read */
		str_init(&user, 64);
		log_printable(&user, s->sasl_user, 200);
		log_info("%s: client=%s, sasl_method=%s, sasl_username=%s", s->tx.id, s->namaddr,
		    s->sasl_method, user.s);
		str_deinit(&user);
	} else
		log_info("%s: client=%s", s->tx.id, s->namaddr);
	return 0;
}

/* smtpd_msg_rcpt - one accepted recipient into the queue file, rewritten
 * (canonical maps, then virtual aliases: one address may become many; the
 * original goes into each as its ORCPT unless the client gave one, so the
 * delivery log shows orig_to=). Replies 451 itself on failure. */
int
smtpd_msg_rcpt(struct smtpd_session *s, const char *rcpt, const char *orcpt, int notify)
{
	struct strvec out;
	const char *err;
	char *orig = NULL;
	size_t i;
	int rc = 0;

	strvec_init(&out);
	if (rewrite_recipient(s->srv->cfg.rewrite, rcpt, &out, &err) != 0) {
		log_warn("%s: %s", s->tx.id, err);
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		strvec_deinit(&out);
		return -1;
	}
	if (orcpt == NULL && (out.n != 1 || strcmp(out.v[0], rcpt) != 0))
		orcpt = orig = xasprintf("rfc822;%s", rcpt);
	for (i = 0; i < out.n && rc == 0; i++)
		rc = qfile_writer_rcpt(s->tx.qf, out.v[i], orcpt, notify);
	free(orig);
	strvec_deinit(&out);
	if (rc < 0) {
		log_warn("%s: queue file write error (recipient)", s->tx.id);
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_tx_reset(s);
		return -1;
	}
	return 0;
}

/* smtpd_msg_received - "Received: from helo (name [addr])\n\tby myhostname
 * (mail_name) with ESMTP id ID\n\tfor <rcpt>; date", as Postfix writes it
 * (the "for" clause only with one recipient) */
static void
smtpd_msg_received(struct smtpd_session *s, struct str *out)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %e %b %Y %H:%M:%S %z (%Z)", &tm);
	str_append(out, "Received: from ");
	log_printable(out, s->helo.len > 0 ? s->helo.s : s->name, 255);
	str_appendf(out, " (%s [%s])", s->name, s->addr);
	if (cfg->sasl_auth_header && s->sasl_user != NULL) {
		str_append(out, "\n\t(Authenticated sender: ");
		log_printable(out, s->sasl_user, 255);
		str_append(out, ")");
	}
	str_appendf(out, "\n\tby %s (%s) with %s id %s", cfg->myhostname, cfg->mail_name,
	    smtpd_protocol(s), s->tx.id);
	if (s->tx.nrcpt == 1) {
		str_append(out, "\n\tfor <");
		log_printable(out, s->tx.first_rcpt.s, 512);
		str_append(out, ">");
	}
	/* strftime's %e pads with a space; Postfix prints "Mon,  1 Jan" too */
	str_appendf(out, "; %s\n", date);
}

int
smtpd_msg_begin(struct smtpd_session *s)
{
	struct str hdr;
	int rc;

	if (s->tx.qf == NULL)
		return -1;
	smtpd_hdr_begin(s);
	str_init(&hdr, 256);
	smtpd_msg_received(s, &hdr);
	rc = qfile_writer_content(s->tx.qf, hdr.s, hdr.len, 0);
	str_deinit(&hdr);
	s->tx.write_failed = rc < 0;
	return rc;
}

/* smtpd_msg_content - hand what the reader produced to the queue file */
void
smtpd_msg_content(struct smtpd_session *s)
{
	struct smtpd_data *d = &s->tx.data;

	if (d->out.len > 0 && !d->overflow && !s->tx.write_failed && s->tx.qf != NULL)
		smtpd_hdr_content(s, d->out.s, d->out.len, false);
	str_reset(&d->out);
}

/* The queue manager's FIFO stays open between messages (it was an open
 * and a close per message). A write that finds no reader (EPIPE: the
 * queue manager restarted, or the FIFO was made anew) closes it, and the
 * FIFO is opened again and written once more. */
static int smtpd_wake_fd = -1;
static char *smtpd_wake_path;	/* owned: the FIFO smtpd_wake_fd is */

void
smtpd_msg_wake_qmgr(const char *queue_dir)
{
	char *path = xasprintf("%s/public/qmgr", queue_dir);
	int tries;

	if (smtpd_wake_path == NULL || strcmp(smtpd_wake_path, path) != 0) {
		if (smtpd_wake_fd >= 0)
			close(smtpd_wake_fd);
		smtpd_wake_fd = -1;
		free(smtpd_wake_path);
		smtpd_wake_path = path;
	} else
		free(path);
	/* non-blocking: no reader (ENXIO at the open) or a full FIFO
	 * (EAGAIN) is fine, the queue manager also scans incoming on its
	 * own; SIGPIPE is ignored (smtpd.c) */
	for (tries = 0; tries < 2; tries++) {
		if (smtpd_wake_fd < 0 &&
		    (smtpd_wake_fd = open(smtpd_wake_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
			return;
		if (write(smtpd_wake_fd, "A", 1) == 1 || errno == EAGAIN || errno == EINTR)
			return;
		close(smtpd_wake_fd);
		smtpd_wake_fd = -1;
	}
}

/* smtpd_msg_queued - the queue file is durable: log, 250, wake the queue
 * manager */
static void
smtpd_msg_queued(struct smtpd_session *s, bool bdat)
{
	struct smtpd_data *d = &s->tx.data;

	qfile_writer_free(&s->tx.qf);
	if (d->msgid.len > 0) {
		struct str text;

		str_init(&text, 128);
		log_printable(&text, d->msgid.s, SMTPD_DATA_MSGID_MAX);
		log_info("%s: message-id=%s", s->tx.id, text.s);
		str_deinit(&text);
	}
	if (bdat)
		smtpd_reply(s, "250 2.0.0 Ok: %zu bytes queued as %s", s->tx.bdat_total, s->tx.id);
	else
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->tx.id);
	smtpd_msg_wake_qmgr(s->srv->cfg.queue_dir);
	smtpd_tx_reset(s);
}

/* smtpd_msg_commit_failed - 451, the file is gone */
static void
smtpd_msg_commit_failed(struct smtpd_session *s, const char *err)
{
	if (err != NULL)
		log_warn("%s: queue file commit: %s", s->tx.id, err);
	smtpd_reply(s, "451 4.3.0 Error: queue file write error");
	s->error_count++;
	smtpd_tx_reset(s);
}

/* smtpd_msg_finish - end of the message: commit, reply, log. Returns the
 * reply already sent: 0 when the message was queued, 1 when the commit
 * is under way (smtpd_msg_committed answers), -1 when refused. */
static int
smtpd_msg_finish(struct smtpd_session *s, bool bdat)
{
	struct smtpd_data *d = &s->tx.data;
	const char *err;
	int e;

	smtpd_msg_content(s);
	if (d->overflow) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		s->error_count++;
		smtpd_tx_reset(s);
		return -1;
	}
	/* the header fields still held back (a message that is all header) */
	if (!s->tx.write_failed && s->tx.qf != NULL)
		smtpd_hdr_content(s, "", 0, true);
	if (!s->tx.write_failed && d->msgid.len > 0)
		(void)qfile_writer_attr(s->tx.qf, "message_id", d->msgid.s);
	if (s->tx.write_failed) {
		smtpd_msg_commit_failed(s, NULL);
		return -1;
	}
	if (qfile_writer_commit_begin(s->tx.qf, &e) != 0) {
		smtpd_msg_commit_failed(s, strerror(e));
		return -1;
	}
	/* the fsyncs in the group commit thread; the session reads nothing
	 * until its reply is out */
	s->commit_bdat = bdat;
	if (smtpd_commit_submit(s) == 0) {
		smtpd_set_mode(s, SMTPD_MODE_COMMIT_WAIT);
		return 1;
	}
	qfile_writer_commit_group(&s->tx.qf, 1, &e);
	if (e != 0) {
		err = strerror(e);
		smtpd_msg_commit_failed(s, err);
		return -1;
	}
	smtpd_msg_queued(s, bdat);
	return 0;
}

void
smtpd_msg_committed(struct smtpd_session *s, int err)
{
	smtpd_set_mode(s, SMTPD_MODE_CMD);
	if (err != 0)
		smtpd_msg_commit_failed(s, strerror(err));
	else {
		if (!s->commit_bdat)
			s->cmd_ok[SMTPD_CMD_SLOT_DATA]++;
		smtpd_msg_queued(s, s->commit_bdat);
	}
	/* what the client pipelined meanwhile, and a close it asked for */
	smtpd_resume(s);
}

/* smtpd_msg_end - the "." of DATA was read */
void
smtpd_msg_end(struct smtpd_session *s)
{
	if (smtpd_msg_finish(s, false) == 0)
		s->cmd_ok[SMTPD_CMD_SLOT_DATA]++;
}

/* smtpd_msg_bdat_done - the bytes of one BDAT chunk were read */
void
smtpd_msg_bdat_done(struct smtpd_session *s)
{
	if (s->tx.bdat_reply[0] != '\0') {
		smtpd_reply(s, "%s", s->tx.bdat_reply);
		s->error_count++;
		if (s->tx.bdat_last || !s->tx.active)
			smtpd_tx_reset(s);
		return;
	}
	s->cmd_ok[SMTPD_CMD_SLOT_BDAT]++;
	if (s->tx.bdat_last) {
		smtpd_data_finish(&s->tx.data);
		smtpd_msg_finish(s, true);
		return;
	}
	smtpd_msg_content(s);
	smtpd_reply(s, "250 2.0.0 Ok: %zu bytes", s->tx.bdat_size);
}
