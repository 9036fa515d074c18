/* imap_list.h - LIST and LSUB (RFC 3501), LIST-EXTENDED (RFC 5258:
 * selection SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE; return
 * SUBSCRIBED, CHILDREN, SPECIAL-USE; several patterns; \NonExistent,
 * \Subscribed, CHILDINFO), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154)
 * from the namespace's mailbox sections, and the subscriptions file
 * (Dovecot's "V\t2" format). Replies are Dovecot 2.3's. Tests:
 * tests/e2e/test_imap_ext.py, tests/e2e/test_imap.py */
#ifndef YUBIN_IMAP_LIST_H
#define YUBIN_IMAP_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

struct imap_layout;

struct imap_sess;
struct imap_arg;
struct strvec;

/* a LIST or LSUB command's arguments */
struct imap_list_req {
	unsigned	 opts;		/* selection and return options (imap_list.c) */
	bool		 extended;	/* the RFC 5258 syntax was used */
	bool		 empty;		/* the one pattern is "" */
	const char	*ref;
	const char	**pat;		/* ref+pattern each, owned strings */
	size_t		 npat;
	const struct imap_arg *status;	/* RETURN (STATUS (...)) items */
};

/* imap_list_parse - 0, or -1 with the BAD text in err */
int	 imap_list_parse(const struct imap_arg *, size_t, bool lsub, struct imap_list_req *,
	    struct str *err);
void	 imap_list_req_free(struct imap_list_req *);

/* imap_cmd_list - LIST (extended) or LSUB; the tagged reply text into
 * reply, the status word returned */
const char *imap_cmd_list(struct imap_sess *, const struct imap_arg *, size_t, bool lsub,
	    struct str *reply);

/* the subscriptions file of the layout's root (names with "."
 * separators): "subscriptions", and ".subscriptions" under mbox as
 * Dovecot names it there (a file "subscriptions" would be an mbox) */
void	 imap_subscriptions_read(const struct imap_layout *, struct strvec *out);
int	 imap_subscriptions_write(const struct imap_layout *, const struct strvec *names);
/* imap_subscriptions_lock - Dovecot's dot-lock of that file, held from
 * the read to the write of a change (two sessions lost each other's
 * otherwise), waited for up to 3 s; NULL when not taken */
char	*imap_subscriptions_lock(const struct imap_layout *);
void	 imap_subscriptions_unlock(char **lock);

/* imap_list_autocreate - the configured mailboxes with auto = create or
 * subscribe are created (and subscribed) at login, as Dovecot creates
 * them when the mailbox list is first looked at */
void	 imap_list_autocreate(struct imap_sess *);

/* imap_list_match - does name match the LIST pattern (ref and pattern
 * concatenated; '*' anything, '%' anything but the separator, INBOX in
 * any case) */
bool	 imap_list_match(const char *pattern, const char *name, char sep);

#endif
