/* bounce.c - delivery status notifications (bounce.h). The text is
 * Postfix's built-in failure and delay templates ("postconf -b"), the
 * structure its bounce_notify_util.c writes: a text part, a
 * message/delivery-status part, and the original message (message/rfc822)
 * or its headers (text/rfc822-headers). */
#include "bounce/bounce.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "queue/qctl.h"
#include "queue/qfile.h"
#include "queue/qmsg.h"

static const char bounce_failure_text[] =
    "I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients. It's attached below.\n";

static const char bounce_success_text[] =
    "Your message was successfully delivered to the destination(s)\n"
    "listed below. If the message was delivered to mailbox you will\n"
    "receive no further notifications. Otherwise you may still receive\n"
    "notifications of mail delivery errors from other systems.\n";

static const char bounce_trace_text[] =
    "Enclosed is the mail delivery report that you requested.\n";

static const char bounce_delay_banner[] =
    "####################################################################\n"
    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
    "####################################################################\n";

static const char bounce_trailer[] =
    "For further assistance, please send mail to postmaster.\n"
    "\n"
    "If you do so, please include this problem report. You can\n"
    "delete your own text from the attached returned message.\n"
    "\n"
    "                   The mail system\n";

/* bounce_date - RFC 5322 date of t in local time */
static void
bounce_date(struct str *out, long t)
{
	char buf[64];
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%a, %e %b %Y %H:%M:%S %z (%Z)", &tm);
	str_append(out, buf);
}

/* bounce_append_lf - content with CRLF turned into LF */
static void
bounce_append_lf(struct str *out, const char *p, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			str_append_n(out, p + start, i - start);
			start = i + 1;
		}
	}
	str_append_n(out, p + start, len - start);
}

/* bounce_header_len - length of the header section of content (without
 * the empty line that ends it) */
static size_t
bounce_header_len(const char *p, size_t len)
{
	size_t i;

	if (len > 0 && p[0] == '\n')
		return 0;
	if (len > 1 && p[0] == '\r' && p[1] == '\n')
		return 0;
	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n' || (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n'))
			return i + 1;
	}
	return len;
}

/* bounce_printable - diagnostic text for a header field: one line, ASCII */
static void
bounce_printable(struct str *out, const char *s)
{
	for (; *s != '\0'; s++)
		str_append_c(out, (*s >= 0x20 && *s < 0x7f) ? *s : '?');
}

void
bounce_compose(const struct bounce_info *b, const struct bounce_rcpt *rcpts, size_t n,
    struct str *out)
{
	bool delay = b->kind == BOUNCE_DELAY;
	bool success = b->kind == BOUNCE_SUCCESS;
	bool trace = b->kind == BOUNCE_TRACE;
	bool headers_only = b->ret_hdrs || delay || b->postmaster_copy ||
	    ((success || trace) && !b->ret_full);
	struct str boundary;
	size_t i, hlen, len;
	char msgid_time[32];
	time_t now = (time_t)b->now;
	struct tm tm;
	const char *orig;

	str_init(&boundary, 64);
	str_appendf(&boundary, "%s.%ld/%s", b->new_id, b->now, b->myhostname);
	gmtime_r(&now, &tm);
	strftime(msgid_time, sizeof(msgid_time), "%Y%m%d%H%M%S", &tm);

	str_append(out, "Date: ");
	bounce_date(out, b->now);
	str_appendf(out, "\nFrom: %s (Mail Delivery System)\n", b->from);
	if (b->postmaster_copy)
		str_appendf(out, "Subject: %s\n", delay ? "Postmaster Warning: Delayed Mail" :
		    "Postmaster Copy: Undelivered Mail");
	else
		str_appendf(out, "Subject: %s\n", delay ? "Delayed Mail (still being retried)" :
		    success ? "Successful Mail Delivery Report" :
		    trace ? "Mail Delivery Status Report" :
		    "Undelivered Mail Returned to Sender");
	str_append(out, "To: ");
	bounce_printable(out, b->to);
	str_append(out, "\nAuto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n");
	str_appendf(out, "\tboundary=\"%s\"\n", boundary.s);
	str_append(out, "Content-Transfer-Encoding: 8bit\n");
	str_appendf(out, "Message-Id: <%s.%s@%s>\n", msgid_time, b->new_id, b->myhostname);
	str_append(out, "\nThis is a MIME-encapsulated message.\n\n");

	/* the notification, Postfix's template */
	str_appendf(out, "--%s\n", boundary.s);
	str_append(out, "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=us-ascii\n\n");
	str_appendf(out, "This is the mail system at host %s.\n\n", b->myhostname);
	if (delay) {
		str_append(out, bounce_delay_banner);
		str_appendf(out, "\nYour message could not be delivered for more than %ld hour(s).\n"
		    "It will be retried until it is %ld day(s) old.\n\n",
		    b->delay_warning_time / 3600, b->max_lifetime / 86400);
	} else if (success) {
		str_append(out, bounce_success_text);
		str_append(out, "\n");
	} else if (trace) {
		str_append(out, bounce_trace_text);
		str_append(out, "\n");
	} else {
		str_append(out, bounce_failure_text);
		str_append(out, "\n");
	}
	if (success || trace)
		str_append(out, "                   The mail system\n");
	else
		str_append(out, bounce_trailer);
	str_append(out, "\n");
	for (i = 0; i < n; i++) {
		str_append(out, "<");
		bounce_printable(out, rcpts[i].addr);
		str_append(out, ">");
		if (rcpts[i].orcpt != NULL) {
			orig = strncasecmp(rcpts[i].orcpt, "rfc822;", 7) == 0 ?
			    rcpts[i].orcpt + 7 : rcpts[i].orcpt;
			if (strcasecmp(orig, rcpts[i].addr) != 0) {
				str_append(out, " (expanded from <");
				bounce_printable(out, orig);
				str_append(out, ">)");
			}
		}
		str_append(out, ": ");
		bounce_printable(out, rcpts[i].reason);
		str_append(out, "\n");
	}
	str_append(out, "\n");

	/* the machine-readable report (RFC 3464) */
	str_appendf(out, "--%s\n", boundary.s);
	str_append(out, "Content-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n\n");
	if (b->envid != NULL) {
		str_append(out, "Original-Envelope-Id: ");
		bounce_printable(out, b->envid);
		str_append(out, "\n");
	}
	str_appendf(out, "Reporting-MTA: dns; %s\n", b->myhostname);
	str_appendf(out, "X-Postfix-Queue-ID: %s\n", b->queue_id);
	str_append(out, "X-Postfix-Sender: rfc822; ");
	bounce_printable(out, b->sender);
	str_append(out, "\nArrival-Date: ");
	bounce_date(out, b->arrival);
	str_append(out, "\n");
	for (i = 0; i < n; i++) {
		str_append(out, "\nFinal-Recipient: rfc822; ");
		bounce_printable(out, rcpts[i].addr);
		str_append(out, "\n");
		if (rcpts[i].orcpt != NULL) {
			str_append(out, "Original-Recipient: ");
			if (strchr(rcpts[i].orcpt, ';') == NULL)
				str_append(out, "rfc822;");
			bounce_printable(out, rcpts[i].orcpt);
			str_append(out, "\n");
		}
		str_appendf(out, "Action: %s\n", rcpts[i].action != NULL ? rcpts[i].action :
		    delay ? "delayed" : success ? "delivered" : "failed");
		str_append(out, "Status: ");
		bounce_printable(out, rcpts[i].status);
		str_append(out, "\n");
		/* local(8) and virtual(8) have no remote MTA: Postfix's
		 * X-Postfix diagnostic, as for its own transports */
		if (rcpts[i].relay != NULL && strcmp(rcpts[i].relay, "none") != 0 &&
		    strcmp(rcpts[i].relay, "local") != 0 && strcmp(rcpts[i].relay, "virtual") != 0) {
			str_append(out, "Remote-MTA: dns; ");
			bounce_printable(out, rcpts[i].relay);
			str_append(out, "\nDiagnostic-Code: smtp; ");
		} else {
			str_append(out, "Diagnostic-Code: X-Postfix; ");
		}
		bounce_printable(out, rcpts[i].reason);
		str_append(out, "\n");
		if (delay) {
			str_append(out, "Will-Retry-Until: ");
			bounce_date(out, b->arrival + b->max_lifetime);
			str_append(out, "\n");
		}
	}
	str_append(out, "\n");

	/* the original: whole (up to bounce_size_limit) or its headers */
	str_appendf(out, "--%s\n", boundary.s);
	hlen = bounce_header_len(b->content, b->content_len);
	if (headers_only) {
		str_appendf(out, "Content-Description: %s\n"
		    "Content-Type: text/rfc822-headers\n\n",
		    success ? "Delivered Message Headers" : trace ? "Message Headers" :
		    "Undelivered Message Headers");
		bounce_append_lf(out, b->content, hlen);
	} else {
		str_appendf(out, "Content-Description: %s\n"
		    "Content-Type: message/rfc822\n", success ? "Delivered Message" :
		    trace ? "Message" : "Undelivered Message");
		str_append(out, "Content-Transfer-Encoding: 8bit\n\n");
		len = b->content_len;
		if (b->size_limit > 0 && len > b->size_limit) {
			/* cut at a line end, as Postfix cuts at a record */
			len = b->size_limit;
			while (len > hlen && b->content[len - 1] != '\n')
				len--;
			if (len < hlen)
				len = hlen;
		}
		bounce_append_lf(out, b->content, len);
		if (len > 0 && b->content[len - 1] != '\n')
			str_append(out, "\n");
	}
	str_appendf(out, "\n--%s--\n", boundary.s);
	str_deinit(&boundary);
}

/* bounce_has_class - notify_classes lists cls */
static bool
bounce_has_class(struct maincf *cf, const char *cls)
{
	struct strvec items;
	struct str v;
	const char *err;
	bool found = false;

	str_init(&v, 64);
	strvec_init(&items);
	if (maincf_get(cf, "notify_classes", &v, &err) == 0) {
		maincf_list_split(v.s, &items);
		for (size_t i = 0; i < items.n && !found; i++)
			found = strcasecmp(items.v[i], cls) == 0;
	}
	strvec_deinit(&items);
	str_deinit(&v);
	return found;
}

static char *
bounce_param(struct maincf *cf, const char *name)
{
	struct str v;
	const char *err;

	str_init(&v, 64);
	if (maincf_get(cf, name, &v, &err) != 0)
		str_reset(&v);
	return str_export(&v);
}

/* bounce_send - one notice as a new queue file */
static int
bounce_send(struct maincf *cf, const char *queue_dir, bool long_ids, struct bounce_info *b,
    const char *env_from, const struct bounce_rcpt *rcpts, size_t n, const char *who,
    const char **error_r)
{
	struct qfile_writer *w;
	struct str text;
	int rc = 0;

	if (qfile_writer_open(queue_dir, long_ids, &w, error_r) != 0)
		return -1;
	b->new_id = qfile_writer_id(w);
	str_init(&text, 4096);
	bounce_compose(b, rcpts, n, &text);
	rc |= qfile_writer_sender(w, env_from);
	rc |= qfile_writer_attr(w, "log_ident", qfile_writer_id(w));
	rc |= qfile_writer_attr(w, "protocol", "local");
	rc |= qfile_writer_rcpt(w, b->to, NULL, 0);
	rc |= qfile_writer_content(w, text.s, text.len, 0);
	str_deinit(&text);
	if (rc != 0) {
		*error_r = "queue file write error";
		qfile_writer_abort(&w);
		return -1;
	}
	if (qfile_writer_commit(w, error_r) != 0) {
		qfile_writer_free(&w);
		return -1;
	}
	log_info("%s: %s %s notification: %s", b->queue_id, who,
	    b->kind == BOUNCE_DELAY ? "delay" : b->kind == BOUNCE_SUCCESS ||
	    b->kind == BOUNCE_TRACE ? "delivery status" : "non-delivery", qfile_writer_id(w));
	qfile_writer_free(&w);
	b->new_id = NULL;
	(void)qctl_wake(queue_dir, QCTL_REQ_SCAN_INCOMING);
	return 0;
}

int
bounce_notify(struct maincf *cf, const char *queue_dir, bool long_ids, enum bounce_kind kind,
    const struct qmsg *m, const struct bounce_rcpt *rcpts, size_t n, const char **error_r)
{
	struct bounce_info b;
	struct bounce_rcpt *want;
	struct str content;
	char *myhostname, *mailer_daemon, *double_bounce, *dbs, *to = NULL, *size_s;
	const char *ret_attr;
	size_t i, nwant = 0;
	int need = kind == BOUNCE_DELAY ? QFILE_NOTIFY_DELAY : kind == BOUNCE_SUCCESS ?
	    QFILE_NOTIFY_SUCCESS : QFILE_NOTIFY_FAILURE;
	int ret = 0;
	long v;

	if (n == 0)
		return 0;
	myhostname = bounce_param(cf, "myhostname");
	dbs = bounce_param(cf, "double_bounce_sender");
	mailer_daemon = xasprintf("MAILER-DAEMON@%s", myhostname);
	double_bounce = xasprintf("%s@%s", dbs, myhostname);
	free(dbs);
	str_init(&content, m->size + 1);
	qmsg_content(m, &content);

	memset(&b, 0, sizeof(b));
	b.kind = kind;
	b.queue_id = m->id;
	b.sender = m->sender;
	b.from = mailer_daemon;
	b.myhostname = myhostname;
	b.envid = qmsg_attr(m, "dsn_envid");
	ret_attr = qmsg_attr(m, "dsn_ret");
	b.ret_hdrs = ret_attr != NULL && strcasecmp(ret_attr, "HDRS") == 0;
	b.ret_full = ret_attr != NULL && strcasecmp(ret_attr, "FULL") == 0;
	b.arrival = m->arrival_sec;
	b.now = (long)time(NULL);
	b.content = content.s;
	b.content_len = content.len;
	size_s = bounce_param(cf, "bounce_size_limit");
	b.size_limit = maincf_parse_long(size_s, &v) && v > 0 ? (size_t)v : 50000;
	free(size_s);
	if (maincf_get_time(cf, "delay_warning_time", &b.delay_warning_time, error_r) != 0 ||
	    maincf_get_time(cf, "maximal_queue_lifetime", &b.max_lifetime, error_r) != 0) {
		b.delay_warning_time = 0;
		b.max_lifetime = 5 * 86400;
	}

	if ((kind == BOUNCE_SUCCESS || kind == BOUNCE_TRACE) && (*m->sender == '\0' ||
	    strcasecmp(m->sender, double_bounce) == 0)) {
		/* nobody to tell */
	} else if (strcasecmp(m->sender, double_bounce) == 0) {
		/* a postmaster notice that failed: never a triple bounce */
		if (kind == BOUNCE_FAILURE)
			log_warn("%s: undeliverable postmaster notification discarded", m->id);
	} else if (*m->sender == '\0') {
		/* a bounce that bounced: to the postmaster, or nowhere */
		if (kind == BOUNCE_FAILURE &&
		    (bounce_has_class(cf, "bounce") || bounce_has_class(cf, "2bounce"))) {
			to = bounce_param(cf, "2bounce_notice_recipient");
			b.to = to;
			ret = bounce_send(cf, queue_dir, long_ids, &b, double_bounce, rcpts, n,
			    "postmaster", error_r);
		}
	} else {
		want = xreallocarray(NULL, n, sizeof(*want));
		for (i = 0; i < n; i++)
			/* no NOTIFY means FAILURE,DELAY: success only when asked */
			if (kind == BOUNCE_TRACE ||
			    (rcpts[i].notify == 0 && kind != BOUNCE_SUCCESS) ||
			    (rcpts[i].notify & need) != 0)
				want[nwant++] = rcpts[i];
		if (nwant > 0) {
			b.to = m->sender;
			ret = bounce_send(cf, queue_dir, long_ids, &b, "", want, nwant, "sender",
			    error_r);
		}
		free(want);
		if (ret == 0 && kind != BOUNCE_SUCCESS && kind != BOUNCE_TRACE &&
		    bounce_has_class(cf, kind == BOUNCE_DELAY ? "delay" : "bounce")) {
			to = bounce_param(cf, kind == BOUNCE_DELAY ? "delay_notice_recipient" :
			    "bounce_notice_recipient");
			b.to = to;
			b.postmaster_copy = true;
			ret = bounce_send(cf, queue_dir, long_ids, &b, double_bounce, rcpts, n,
			    "postmaster", error_r);
		}
	}
	free(to);
	str_deinit(&content);
	free(myhostname);
	free(mailer_daemon);
	free(double_bounce);
	return ret;
}
