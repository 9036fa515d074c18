/* sieve_exec.c - executing a Sieve result (see sieve_exec.h).
 * Tests: tests/sieve/ (test_result_execute, test_message :smtp),
 * tests/e2e/test_sieve.py (deliver). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve_exec.h"

static const char *
hdr(struct sieve_msg *m, const char *name)
{
	size_t n, i;
	const struct sv_header *h = sv_msg_headers(m, 0, &n);

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

/* redirected_from - the message already went through a redirect by me */
static bool
redirected_from(struct sieve_msg *m, const char *me)
{
	size_t n, i;
	const struct sv_header *h = sv_msg_headers(m, 0, &n);

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, "x-sieve-redirected-from") == 0 &&
		    strcasecmp(h[i].value, me) == 0)
			return true;
	return false;
}

static const char *
msgid(struct sieve_msg *m)
{
	const char *id = hdr(m, "message-id");

	return id != NULL ? id : "<unspecified>";
}

static bool
local_is(const char *addr, const char *local)
{
	size_t ll = strlen(local);
	const char *at = strrchr(addr, '@');
	size_t al = at != NULL ? (size_t)(at - addr) : strlen(addr);

	return al == ll && strncasecmp(addr, local, ll) == 0;
}

/* date_now - an RFC 5322 date */
static void
date_now(struct str *out, time_t now)
{
	struct tm tm;
	char buf[64];

	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	str_append(out, buf);
}

int
sieve_vacation_reply(const struct sieve_action *a, struct sieve_msg *m,
    const struct sieve_env *env, struct str *out, const char **why_r)
{
	const char *sender = env->env_from, *v, *me = env->env_to;
	struct strvec mine, rcpts;
	size_t i, j;
	bool addressed = false;
	time_t now = env->now != 0 ? env->now : time(NULL);

	/* RFC 5230 4.6 and 5: never to the null sender, daemons, lists, bulk
	 * or automatic mail */
	if (sender == NULL || *sender == 0) {
		*why_r = "the envelope sender is <>";
		return 0;
	}
	if (local_is(sender, "mailer-daemon") || local_is(sender, "listserv") ||
	    local_is(sender, "majordomo") || strncasecmp(sender, "owner-", 6) == 0 ||
	    strstr(sender, "-request@") != NULL) {
		*why_r = "the sender is a system address";
		return 0;
	}
	if ((v = hdr(m, "auto-submitted")) != NULL && strncasecmp(v, "no", 2) != 0) {
		*why_r = "the message is auto-submitted";
		return 0;
	}
	if (hdr(m, "list-id") != NULL || hdr(m, "list-owner") != NULL ||
	    hdr(m, "list-unsubscribe") != NULL || hdr(m, "list-post") != NULL) {
		*why_r = "the message is from a mailing list";
		return 0;
	}
	if ((v = hdr(m, "precedence")) != NULL && (strncasecmp(v, "bulk", 4) == 0 ||
	    strncasecmp(v, "list", 4) == 0 || strncasecmp(v, "junk", 4) == 0)) {
		*why_r = "the message has precedence bulk, list or junk";
		return 0;
	}
	/* only when one of the user's addresses is in To, Cc or Bcc (4.5) */
	strvec_init(&mine);
	strvec_init(&rcpts);
	if (me != NULL)
		strvec_push(&mine, me);
	if (env->env_orig_to != NULL)
		strvec_push(&mine, env->env_orig_to);
	for (i = 0; a->addresses != NULL && a->addresses[i] != NULL; i++)
		strvec_push(&mine, a->addresses[i]);
	{
		size_t n;
		const struct sv_header *h = sv_msg_headers(m, 0, &n);

		for (i = 0; i < n; i++)
			if (strcasecmp(h[i].name, "to") == 0 || strcasecmp(h[i].name, "cc") == 0 ||
			    strcasecmp(h[i].name, "bcc") == 0 ||
			    strcasecmp(h[i].name, "resent-to") == 0 ||
			    strcasecmp(h[i].name, "resent-cc") == 0)
				sv_addr_list(h[i].value, &rcpts);
	}
	/* never to one's own address (RFC 5230 4.5) */
	for (j = 0; j < mine.n; j++)
		if (strcasecmp(sender, mine.v[j]) == 0) {
			strvec_deinit(&mine);
			strvec_deinit(&rcpts);
			*why_r = "the sender is the user's own address";
			return 0;
		}
	for (i = 0; i < rcpts.n && !addressed; i++)
		for (j = 0; j < mine.n && !addressed; j++)
			if (strcasecmp(rcpts.v[i], mine.v[j]) == 0)
				addressed = true;
	strvec_deinit(&rcpts);
	if (!addressed) {
		strvec_deinit(&mine);
		*why_r = "none of the user's addresses is in To, Cc or Bcc";
		return 0;
	}
	/* the reply */
	str_reset(out);
	str_append(out, "From: ");
	str_append(out, a->from != NULL ? a->from : mine.n > 0 ? mine.v[0] : "postmaster");
	str_append(out, "\r\nTo: <");
	str_append(out, sender);
	str_append(out, ">\r\nSubject: ");
	if (a->subject != NULL)
		str_append(out, a->subject);
	else {
		const char *s = hdr(m, "subject");

		str_append(out, "Auto: ");
		str_append(out, s != NULL ? s : "");
	}
	str_append(out, "\r\n");
	if ((v = hdr(m, "message-id")) != NULL) {
		const char *refs = hdr(m, "references");

		str_appendf(out, "In-Reply-To: %s\r\nReferences: ", v);
		if (refs != NULL)
			str_appendf(out, "%s ", refs);
		str_appendf(out, "%s\r\n", v);
	}
	str_append(out, "Date: ");
	date_now(out, now);
	str_appendf(out, "\r\nMessage-ID: <%lld.%u.vacation@%s>\r\n", (long long)now,
	    (unsigned)(out->len * 2654435761u), env->hostname != NULL ? env->hostname : "localhost");
	str_append(out, "Auto-Submitted: auto-replied (vacation)\r\nPrecedence: bulk\r\n");
	str_append(out, "X-Sieve: yubin Sieve\r\n");
	if (a->mime) {
		/* :mime: the reason is a MIME entity with its own headers */
		str_append(out, "MIME-Version: 1.0\r\n");
		str_append(out, a->body);
	} else {
		str_append(out, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n");
		str_append(out, a->body);
		str_append(out, "\r\n");
	}
	strvec_deinit(&mine);
	return 1;
}

static void
reject_mdn(const struct sieve_action *a, struct sieve_msg *m, const struct sieve_env *env,
    struct str *out)
{
	size_t len;
	const char *data = sieve_msg_data(m, &len);
	const char *rcpt = env->env_to != NULL ? env->env_to : "";
	time_t now = env->now != 0 ? env->now : time(NULL);
	const char *subject = hdr(m, "subject");

	str_appendf(out, "From: Mail Delivery Subsystem <%s>\r\nTo: <%s>\r\n",
	    env->postmaster != NULL ? env->postmaster : "MAILER-DAEMON",
	    env->env_from != NULL ? env->env_from : "");
	str_appendf(out, "Subject: Automatically rejected mail\r\n");
	if (subject != NULL)
		(void)subject;
	str_append(out, "Date: ");
	date_now(out, now);
	str_append(out, "\r\nAuto-Submitted: auto-replied (rejected)\r\nPrecedence: bulk\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-"
	    "notification;\r\n\tboundary=\"yubin-reject\"\r\n\r\n"
	    "This is a MIME-encapsulated message\r\n\r\n--yubin-reject\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n");
	str_appendf(out, "Your message to <%s> was automatically rejected:\r\n%s\r\n", rcpt,
	    a->target);
	str_append(out, "\r\n--yubin-reject\r\nContent-Type: message/disposition-notification\r\n\r\n");
	str_appendf(out, "Reporting-UA: %s; yubin Sieve\r\nFinal-Recipient: rfc822; %s\r\n",
	    env->hostname != NULL ? env->hostname : "localhost", rcpt);
	str_appendf(out, "Original-Message-ID: %s\r\nDisposition: automatic-action/MDN-sent-"
	    "automatically; deleted\r\n", msgid(m));
	str_append(out, "\r\n--yubin-reject\r\nContent-Type: message/rfc822\r\n\r\n");
	str_append_n(out, data, len);
	str_append(out, "\r\n--yubin-reject--\r\n");
}

static int
notify_mailto(const struct sieve_action *a, struct sieve_msg *m, const struct sieve_env *env,
    const struct sieve_exec_ops *ops)
{
	const char *uri = a->target + 7, *q = strchr(uri, '?');
	struct strvec to;
	struct str msg, body, usubj;
	size_t i;
	int rc = 0;
	bool has_body = false, has_subj = false;
	const char *subject = hdr(m, "subject"), *from = hdr(m, "from");

	strvec_init(&to);
	if (q != uri)
		strvec_push_take(&to, xstrndup(uri, q != NULL ? (size_t)(q - uri) : strlen(uri)));
	while (q != NULL) {
		const char *k = q + 1, *e = strchr(k, '='), *next = strchr(k, '&');
		size_t vl;

		if (e == NULL || (next != NULL && e > next))
			break;
		vl = next != NULL ? (size_t)(next - e - 1) : strlen(e + 1);
		if (((size_t)(e - k) == 2 && strncasecmp(k, "to", 2) == 0) ||
		    ((size_t)(e - k) == 2 && strncasecmp(k, "cc", 2) == 0))
			strvec_push_take(&to, xstrndup(e + 1, vl));
		else if ((size_t)(e - k) == 4 && strncasecmp(k, "body", 4) == 0 && !has_body) {
			/* RFC 5436 2.7: the URI's body is the notification's body */
			str_init(&body, vl + 1);
			sv_uri_decode(e + 1, vl, &body);
			has_body = true;
		} else if ((size_t)(e - k) == 7 && strncasecmp(k, "subject", 7) == 0 && !has_subj) {
			str_init(&usubj, vl + 1);
			sv_uri_decode(e + 1, vl, &usubj);
			has_subj = true;
		}
		q = next;
	}
	str_init(&msg, 512);
	for (i = 0; i < to.n && rc == 0; i++) {
		str_reset(&msg);
		str_appendf(&msg, "From: %s\r\nTo: <%s>\r\nSubject: ",
		    a->from != NULL ? a->from : env->postmaster != NULL ? env->postmaster :
		    "postmaster", to.v[i]);
		/* one header line: a subject from the URI or the script cannot
		 * add header fields */
		for (const char *c = a->message != NULL ? a->message : has_subj ? usubj.s :
		    subject != NULL ? subject : "Notification"; *c != 0; c++)
			str_append_c(&msg, (unsigned char)*c < 0x20 || *c == 0x7f ? ' ' : *c);
		str_append(&msg, "\r\n");
		str_append(&msg, "Auto-Submitted: auto-notified\r\nPrecedence: bulk\r\n"
		    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
		if (has_body) {
			str_append(&msg, body.s);
			str_append(&msg, "\r\n");
		} else
			str_appendf(&msg, "Notification of new message.\r\nFrom: %s\r\n"
			    "Subject: %s\r\n", from != NULL ? from : "", subject != NULL ? subject : "");
		/* RFC 5436 2.7: notifications go from the null sender */
		rc = ops->send(ops->ctx, "", to.v[i], msg.s, msg.len);
	}
	str_deinit(&msg);
	if (has_body)
		str_deinit(&body);
	if (has_subj)
		str_deinit(&usubj);
	strvec_deinit(&to);
	return rc;
}

int
sieve_execute(const struct sieve_result *res, struct sieve_msg *m, const struct sieve_env *env,
    const struct sieve_exec_ops *ops, struct str *log)
{
	return sieve_execute_step(res, m, env, ops, log, true);
}

int
sieve_execute_step(const struct sieve_result *res, struct sieve_msg *m,
    const struct sieve_env *env, const struct sieve_exec_ops *ops, struct str *log, bool final)
{
	size_t len, i;
	const char *data = sieve_result_edited(res, &len);
	const char *mbox_default = env->default_mailbox != NULL ? env->default_mailbox : "INBOX";
	char **kflags;
	int rc = 0;
	bool keep_anyway = false;
	struct str tmp;

	if (data == NULL)
		data = sieve_msg_data(m, &len);
	str_init(&tmp, 1024);
	for (i = 0; i < sieve_result_count(res); i++) {
		const struct sieve_action *a = sieve_result_action(res, i);

		switch (a->kind) {
		case SIEVE_ACT_KEEP: case SIEVE_ACT_FILEINTO: {
			if (a->kind == SIEVE_ACT_KEEP && !final)
				break;	/* the next script decides */
			/* :specialuse: the mailbox with that flag if there is one,
			 * else the one named (RFC 8579 4) */
			char *su = a->special_use != NULL && ops->special_use_mailbox != NULL ?
			    ops->special_use_mailbox(ops->ctx, a->special_use) : NULL;
			const char *target = su != NULL ? su : a->target;

			if (ops->store(ops->ctx, target, a->flags, a->create, data, len) < 0) {
				str_appendf(log, "sieve: msgid=%s: failed to store into mailbox '%s'\n",
				    msgid(m), target);
				rc = -1;
			} else
				str_appendf(log, "sieve: msgid=%s: stored mail into mailbox '%s'\n",
				    msgid(m), target);
			free(su);
			break;
		}
		case SIEVE_ACT_REDIRECT: {
			const char *me = env->env_to != NULL ? env->env_to : "";

			/* never a loop: not back to the recipient, and not again
			 * through a recipient it was already redirected from */
			if (strcasecmp(a->target, me) == 0 || redirected_from(m, me)) {
				str_appendf(log, "sieve: msgid=%s: redirect to <%s> refused: it would "
				    "loop (X-Sieve-Redirected-From)\n", msgid(m), a->target);
				if (!sieve_result_implicit_keep(res, NULL))
					keep_anyway = true;
				break;
			}
			str_reset(&tmp);
			str_appendf(&tmp, "X-Sieve-Redirected-From: %s\r\n", me);
			str_append_n(&tmp, data, len);
			/* the original sender stays the envelope sender (RFC 5228 4.2) */
			if (ops->send(ops->ctx, env->env_from != NULL ? env->env_from : "", a->target,
			    tmp.s, tmp.len) < 0)
				rc = -1;
			else
				str_appendf(log, "sieve: msgid=%s: forwarded to <%s>\n", msgid(m),
				    a->target);
			break;
		}
		case SIEVE_ACT_DISCARD:
			str_appendf(log, "sieve: msgid=%s: marked message to be discarded if not "
			    "explicitly delivered (discard action)\n", msgid(m));
			break;
		case SIEVE_ACT_REJECT: case SIEVE_ACT_EREJECT:
			if (env->env_from == NULL || *env->env_from == 0) {
				str_appendf(log, "sieve: msgid=%s: discarded reject to <>\n", msgid(m));
				break;
			}
			str_reset(&tmp);
			reject_mdn(a, m, env, &tmp);
			if (ops->send(ops->ctx, "", env->env_from, tmp.s, tmp.len) < 0)
				rc = -1;
			else
				str_appendf(log, "sieve: msgid=%s: rejected\n", msgid(m));
			break;
		case SIEVE_ACT_VACATION: {
			const char *why;

			str_reset(&tmp);
			if (sieve_vacation_reply(a, m, env, &tmp, &why) == 0) {
				str_appendf(log, "sieve: msgid=%s: discarded vacation reply to <%s>: %s\n",
				    msgid(m), env->env_from != NULL ? env->env_from : "", why);
				break;
			}
			if (ops->vacation_seen != NULL && ops->vacation_seen(ops->ctx, env->env_from,
			    a->handle, a->seconds) > 0) {
				str_appendf(log, "sieve: msgid=%s: discarded duplicate vacation response "
				    "to <%s>\n", msgid(m), env->env_from);
				break;
			}
			if (ops->send(ops->ctx, "", env->env_from, tmp.s, tmp.len) < 0)
				rc = -1;
			else
				str_appendf(log, "sieve: msgid=%s: sent vacation response to <%s>\n",
				    msgid(m), env->env_from);
			break;
		}
		case SIEVE_ACT_NOTIFY:
			if (notify_mailto(a, m, env, ops) < 0)
				rc = -1;
			break;
		default:
			break;
		}
	}
	for (size_t d = 0; d < res->ndups && ops->duplicate_mark != NULL; d++)
		ops->duplicate_mark(ops->ctx, res->dups[d].id, res->dups[d].len,
		    res->dups[d].seconds);
	if ((final && sieve_result_implicit_keep(res, &kflags)) || rc < 0 || keep_anyway) {
		if (!final)
			(void)sieve_result_implicit_keep(res, &kflags);
		if (ops->store(ops->ctx, mbox_default, kflags, false, data, len) < 0)
			rc = -1;
		else
			str_appendf(log, "sieve: msgid=%s: stored mail into mailbox '%s'\n", msgid(m),
			    mbox_default);
	}
	str_deinit(&tmp);
	return rc;
}
