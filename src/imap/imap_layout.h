/* imap_layout.h - where IMAP's mailboxes live on disk, after the user's
 * mail location (storage/mail_location.h): Maildir++ (ROOT/.A.B) or
 * LAYOUT=fs (ROOT/A/B). Mailbox names here are internal ones, "." as the
 * hierarchy separator in both (clients' names: imap_ns.h). */
#ifndef YUBIN_IMAP_LAYOUT_H
#define YUBIN_IMAP_LAYOUT_H

#include <stdbool.h>

struct str;

struct strvec;

struct imap_layout {
	char	*inbox;		/* INBOX's Maildir (owned) */
	char	*root;		/* the folders' root (owned) */
	bool	 fs;		/* LAYOUT=fs */
	bool	 mbox;		/* mbox files: folders ROOT/A/B files (imap_mbox_mbox.c) */
	bool	 dots;		/* fs, and the client's separator is not '.': a
				 * directory "a.b" is the folder "a.b" (set by
				 * the session once it knows the separator) */
};

/* imap_layout_init - from the location in effect (NULL or "": the one
 * login found, inbox), for user; 0 or -1 with *error_r */
int	 imap_layout_init(struct imap_layout *, const char *location, const char *user,
	    const char *home, const char *inbox, const char **error_r);
void	 imap_layout_deinit(struct imap_layout *);

/* imap_layout_dir - the Maildir of mailbox name ("A.B"), owned; the name
 * was checked by the caller (imap_mailbox_name_check) */
char	*imap_layout_dir(const struct imap_layout *, const char *name);
/* imap_layout_name_check - 0, or -1 with the NO text in error when name
 * cannot be a mailbox of this layout (LAYOUT=fs: a part named cur, new
 * or tmp) */
int	 imap_layout_name_check(const struct imap_layout *, const char *name, struct str *error);
/* imap_layout_folders - the names of all directories that can be
 * mailboxes (INBOX not included) */
void	 imap_layout_folders(const struct imap_layout *, struct strvec *out);
/* imap_layout_selectable - dir holds mail: Maildir++ folders are
 * directories; under LAYOUT=fs a directory without cur/ is only a parent
 * (\Noselect) */
bool	 imap_layout_selectable(const struct imap_layout *, const char *dir);
/* imap_layout_mkparents - the root and (LAYOUT=fs) the parent
 * directories of dir under it (mode 0700); 0 or -1 with errno */
int	 imap_layout_mkparents(const struct imap_layout *, const char *dir);

/* imap_layout_create - a new mailbox at dir (parents as needed; under
 * LAYOUT=fs a \Noselect parent directory is made a mailbox): 0, or -1
 * with errno (EEXIST: a mailbox already) */
int	 imap_layout_create(const struct imap_layout *, const char *dir);

#endif
