/* mail_location.h - Dovecot 2.3's mail location: "FORMAT:PATH[:KEY=VALUE...]"
 * from mail_location in dovecot.conf or a userdb's mail field.
 *
 *   maildir:~/Maildir                       INBOX is the root itself
 *   maildir:~/Maildir:LAYOUT=fs             folders ROOT/Name/Sub, not ROOT/.Name.Sub
 *   mbox:~/mail:INBOX=/var/mail/%u          INBOX the spool, folders files under ~/mail
 *   mbox:~/mail                             INBOX is ~/mail/inbox
 *   ""                                      ~/Maildir when it exists, else
 *                                           mbox ~/mail with /var/mail/USER
 *
 * Keys: INBOX, LAYOUT (maildir++ or fs), INDEX, CONTROL; others that
 * Dovecot knows (DIRNAME, FULLDIRNAME, VOLATILEDIR, ALT, UTF8,
 * ITERINDEX, NO-NOSELECT, SUBSCRIPTIONS, ...) are accepted and ignored.
 * Variables in every path: ~ (home, at the start), %u (user), %n (user
 * without @domain), %d (the domain), %h (home), %% (a %); the long forms
 * %{user} %{username} %{domain} %{home} as well. A path that needs a home
 * that the user does not have, an unknown format, an unknown variable or
 * a relative path is an error. Tests: tests/unit/storage/test_mail_location.c,
 * fuzz/fuzz_mail_location.c */
#ifndef YUBIN_STORAGE_MAIL_LOCATION_H
#define YUBIN_STORAGE_MAIL_LOCATION_H

#include <stdbool.h>

#include "storage/storage.h"

struct mail_location {
	enum storage_format format;
	bool	 layout_fs;	/* LAYOUT=fs: hierarchy as directories */
	char	*root;		/* the folders' root (owned) */
	char	*inbox;		/* INBOX: a Maildir or an mbox file (owned) */
	char	*index;		/* INDEX= (owned), NULL when not given */
	char	*control;	/* CONTROL= (owned), NULL when not given */
};

/* mail_location_parse - location for user (home may be NULL). 0, or -1
 * with *error_r (a literal). out is zeroed first and owns its strings
 * (mail_location_deinit) either way. */
int	 mail_location_parse(const char *location, const char *user, const char *home,
	    struct mail_location *out, const char **error_r);
void	 mail_location_deinit(struct mail_location *);

#endif
