/* imap_quota.h - QUOTA (RFC 2087, RFC 9208's GETQUOTA/GETQUOTAROOT
 * subset that Dovecot 2.3 offers) when dovecot.conf configures `plugin {
 * quota = maildir:NAME  quota_rule = *:storage=SIZE[:messages=N] }`: one
 * quota root for all of the user's mailboxes; usage counted over the
 * Maildir++ folders (sizes from ",S=" names, else the file), and written
 * to Dovecot's maildirsize file so Dovecot sees the same numbers; APPEND
 * and COPY over the limit get "NO [OVERQUOTA]". Tests:
 * tests/e2e/test_imap_ext.py */
#ifndef YUBIN_IMAP_QUOTA_H
#define YUBIN_IMAP_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

struct imap_sess;
struct imap_arg;

/* imap_quota_usage - bytes and messages in INBOX's Maildir and every
 * folder of the layout */
struct imap_layout;
void	 imap_quota_usage(const struct imap_layout *, const char *inbox, uint64_t *bytes_r,
	    uint64_t *count_r);

/* imap_quota_allows - may bytes in count more messages be added? Always
 * true without a quota. When false, reply holds the NO text. */
bool	 imap_quota_allows(struct imap_sess *, uint64_t bytes, uint64_t count, struct str *reply);

/* GETQUOTAROOT, GETQUOTA, SETQUOTA (refused as Dovecot refuses it) */
const char *imap_cmd_quota(struct imap_sess *, const char *name, const struct imap_arg *,
	    size_t, struct str *reply);

/* imap_quota_caps - " QUOTA" when a quota is configured, else "" */
const char *imap_quota_caps(const struct imap_sess *);

#endif
