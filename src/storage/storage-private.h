/* storage-private.h - what the back ends (maildir.c, mbox.c) share with
 * storage.c: one table of functions per format, one level deep. */
#ifndef YUBIN_STORAGE_PRIVATE_H
#define YUBIN_STORAGE_PRIVATE_H

#include "storage/storage.h"

struct str;

struct storage_vfuncs {
	const char	*name;
	int (*deliver)(const char *path, const struct storage_mail *, off_t size_limit,
	    char *where_r, struct storage_error *error_r);
};

extern const struct storage_vfuncs storage_mbox_vfuncs;
extern const struct storage_vfuncs storage_maildir_vfuncs;

/* storage_error_set - fill an error; the status follows errno as
 * Postfix's mbox_dsn() does, def_status otherwise */
void	 storage_error_set(struct storage_error *, int err, const char *def_status,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* storage_render - the stored form: prefix, then content with LF line
 * ends; with mbox set, a From_ line first, ">From " quoting (mboxrd) and a
 * blank line after. */
void	 storage_render(struct str *out, const struct storage_mail *, bool mbox);


#endif
