/* sieve_exec.h - carry out a Sieve result: store into mailboxes, send
 * redirects, vacation replies (RFC 5230's rules: never to lists, bulk or
 * automatic mail, once per sender per period), rejections (RFC 5429 MDN)
 * and mailto notifications (RFC 5436), through the caller's operations,
 * so that sieve-testsuite (a scratch store and a captured outbox) and
 * deliver (src/storage, sendmail) share the rules. */
#ifndef YUBIN_SIEVE_EXEC_H
#define YUBIN_SIEVE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve/sieve.h"

struct str;

struct sieve_exec_ops {
	/* store - deliver data into mailbox with flags; 0 or -1 */
	int	(*store)(void *ctx, const char *mailbox, char *const *flags, bool create,
		    const char *data, size_t len);
	/* send - one message to rcpt; env_from "" is the null sender; 0 or -1 */
	int	(*send)(void *ctx, const char *env_from, const char *rcpt, const char *data,
		    size_t len);
	/* vacation_seen - 1 when sender got a reply for handle within seconds;
	 * 0 otherwise, and then remember it now */
	int	(*vacation_seen)(void *ctx, const char *sender, const char *handle,
		    uint64_t seconds);
	/* duplicate_mark - remember a duplicate ID for seconds */
	void	(*duplicate_mark)(void *ctx, const char *id, size_t len, uint64_t seconds);
	void	*ctx;
};

/* sieve_execute - every action of the result, then implicit keep. Log
 * lines (Pigeonhole's "sieve: msgid=...: stored mail into mailbox 'X'")
 * are appended to log. 0, or -1 when an action failed (the caller keeps
 * the message in the default mailbox so nothing is lost). */
int	 sieve_execute(const struct sieve_result *, struct sieve_msg *,
	    const struct sieve_env *, const struct sieve_exec_ops *, struct str *log);

/* sieve_vacation_reply - 1 and the reply in out when RFC 5230 allows a
 * reply to this message, 0 (reason in *why_r) when it must not be sent */
int	 sieve_vacation_reply(const struct sieve_action *, struct sieve_msg *,
	    const struct sieve_env *, struct str *out, const char **why_r);

#endif
