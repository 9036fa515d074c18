/* passwd_file.h - Dovecot's passwd-file format:
 *   user:password:uid:gid:(gecos):home:(shell):extra_fields
 * Empty lines and lines starting with '#' are comments; fields after the
 * user may be missing. extra_fields are space-separated "key=value" or
 * "key". A broken line (no user, a bad uid or gid, a NUL byte, a user seen
 * before) is skipped with a warning naming the file and line; the rest of
 * the file is served. */
#ifndef YUBIN_PASSWD_FILE_H
#define YUBIN_PASSWD_FILE_H

#include <stddef.h>

#include "lib/util.h"

#define PASSWD_FILE_MAX_SIZE	(64 * 1024 * 1024)
#define PASSWD_FILE_MAX_LINE	65536

struct passwd_file_entry {
	char	*user;		/* owned */
	char	*password;	/* owned; "" when the field is empty or missing */
	char	*uid;		/* owned, digits or a name; "" = none */
	char	*gid;		/* owned */
	char	*home;		/* owned; "" = none */
	struct strvec extra;	/* owned: extra fields as written */
	size_t	 line;		/* line number in the file */
};

struct passwd_file;	/* opaque */

/* passwd_file_parse - entries of data (len bytes); name is used in the
 * warnings, which go to the log (log_warn) as
 * "passwd-file NAME: line N: reason". Never fails. */
struct passwd_file *passwd_file_parse(const char *name, const char *data, size_t len);
void	 passwd_file_free(struct passwd_file **);
/* passwd_file_find - the entry of user (case-sensitive), or NULL; borrowed */
const struct passwd_file_entry *passwd_file_find(const struct passwd_file *,
	    const char *user);
size_t	 passwd_file_count(const struct passwd_file *);
/* passwd_file_entry_at - entry i (< passwd_file_count), in user order; borrowed */
const struct passwd_file_entry *passwd_file_entry_at(const struct passwd_file *, size_t i);
/* passwd_file_warnings - how many lines were skipped */
size_t	 passwd_file_warnings(const struct passwd_file *);

#endif
