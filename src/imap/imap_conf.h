/* imap_conf.h - the dovecot.conf settings a logged-in IMAP session needs
 * beyond pop3_settings: the special-use mailboxes of the inbox namespace
 * (`namespace inbox { mailbox Drafts { special_use = \Drafts  auto =
 * create } }`) and the quota (`plugin { quota = maildir:User quota
 * quota_rule = *:storage=1G }`). Read by the mail process from the
 * configuration file it was started with. Tests: tests/e2e/test_imap_ext.py */
#ifndef YUBIN_IMAP_CONF_H
#define YUBIN_IMAP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dovecot_conf;

enum imap_auto { IMAP_AUTO_NO, IMAP_AUTO_CREATE, IMAP_AUTO_SUBSCRIBE };

struct imap_special {
	char		*name;		/* the mailbox ("Sent Messages") */
	char		*use;		/* "\Sent" or "\Sent \Archive"; "" for none */
	enum imap_auto	 autom;
};

struct imap_conf {
	struct imap_special *mb;	/* owned */
	size_t		 nmb;
	bool		 quota;		/* a quota root is configured */
	char		*quota_root;	/* its name ("User quota") */
	uint64_t	 quota_storage;	/* bytes; 0 = unlimited */
	uint64_t	 quota_messages;/* 0 = unlimited */
	char		 ns_sep;	/* the inbox namespace's separator; 0 = default */
	char		*ns_prefix;	/* its prefix ("INBOX."); NULL = none */
	/* imap_hibernate_timeout: an IDLE session hands its client to the
	 * hibernate process after this long (imap_hibernate.c); 0 = never */
	unsigned long long hibernate_timeout_ms;
	/* imap_idle_notify_interval: IDLE's "* OK Still here", also from the
	 * hibernate process; 0 = the default (2 minutes) */
	unsigned long long idle_notify_ms;
};

/* imap_conf_load - from a parsed configuration (never fails: what is
 * missing stays off) */
void	 imap_conf_load(struct imap_conf *, const struct dovecot_conf *);
/* imap_conf_read - parse path and load; -1 (conf left empty) when the
 * file cannot be read */
int	 imap_conf_read(struct imap_conf *, const char *path);
void	 imap_conf_free(struct imap_conf *);

/* imap_conf_special_use - the special-use attributes of a mailbox name
 * ("" when none) */
const char *imap_conf_special_use(const struct imap_conf *, const char *name);

#endif
