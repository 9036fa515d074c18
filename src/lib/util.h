/* util.h - small helpers with no mail knowledge: files, string vectors. */
#ifndef YUBIN_UTIL_H
#define YUBIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>

struct str;

/* strvec - owned vector of owned strings, NULL-terminated for execv() */
struct strvec {
	char	**v;		/* owned, each element owned; v[n] == NULL */
	size_t	  n;
	size_t	  cap;
};

void	 strvec_init(struct strvec *);
void	 strvec_deinit(struct strvec *);
void	 strvec_push(struct strvec *, const char *);
void	 strvec_push_take(struct strvec *, char *);	/* takes ownership */
bool	 strvec_contains(const struct strvec *, const char *);
void	 strvec_sort(struct strvec *);

/* file_read - read a whole file into out (reset first). Fails with
 * errno = EFBIG when it is larger than max bytes. 0 or -1 with errno. */
int	 file_read(const char *path, size_t max, struct str *out);
/* file_write_atomic - write data to path via a temporary name, fsync, rename,
 * fsync of the directory. 0 or -1 with errno. */
int	 file_write_atomic(const char *path, const char *data, size_t len, int mode);
/* dir_fsync - fsync of the directory dir, so that names made or removed
 * in it are on disk. 0 or -1 with errno. */
int	 dir_fsync(const char *dir);
/* dir_fsync_of - dir_fsync of the directory that holds path */
int	 dir_fsync_of(const char *path);

/* daemon_detach - in a forked child of a starting command: a session of
 * its own, a second fork (the daemon can never take a terminal again; the
 * middle process exits 0 here, or 1 when that fork fails), "/" as the
 * working directory, /dev/null as stdin, stdout and stderr. Returns in
 * the daemon; exits 1 on failure. */
void	 daemon_detach(void);
/* path_dirname - the directory part of path into out (no trailing slash) */
void	 path_dirname(struct str *out, const char *path);
/* path_join - dir "/" name, or name alone when it is absolute */
char	*path_join(const char *dir, const char *name);

#endif
