/* sieve_storage.h - a user's Sieve scripts laid out as Pigeonhole's
 * file storage does (plugin { sieve = file:~/sieve;active=~/.dovecot.sieve }):
 * DIR/NAME.sieve per script, and the active one named by a symbolic link
 * at the active path ("sieve/NAME.sieve", relative when DIR sits beside
 * it). What ManageSieve's PUTSCRIPT, LISTSCRIPTS, SETACTIVE, GETSCRIPT,
 * DELETESCRIPT and RENAMESCRIPT do to files, in a process that already
 * runs as the user. Scripts are validated with the sieve module before
 * they are stored; every write is a temporary file, fsync, rename and a
 * directory fsync, so a script or the active link is either old or new.
 * Used by the ManageSieve session (managesieve_session.c) and by
 * `doveadm sieve` (src/cli/doveadm_sieve.c).
 * Tests: tests/unit/managesieve/test_sieve_storage.c */
#ifndef YUBIN_SIEVE_STORAGE_H
#define YUBIN_SIEVE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

struct str;
struct strvec;
struct sieve_limits;
struct sieve_extset;

#define SIEVE_STORAGE_NAME_MAX	200	/* bytes of a script name */

struct sieve_storage {
	char	*dir;		/* owned: DIR */
	char	*active;	/* owned: the active link's path */
};

/* How a call failed, as ManageSieve answers it: the response code
 * ("NONEXISTENT", "ACTIVE", "ALREADYEXISTS", "QUOTA", or NULL) and text. */
struct sieve_storage_error {
	const char *code;
	char	 text[512];
};

void	 sieve_storage_init(struct sieve_storage *, const char *dir, const char *active);
void	 sieve_storage_deinit(struct sieve_storage *);

/* sieve_storage_name_ok - a name ManageSieve may use: not empty, at most
 * SIEVE_STORAGE_NAME_MAX bytes, no '/', no control character, not "." or
 * ".." */
bool	 sieve_storage_name_ok(const char *name);

/* sieve_storage_list - the names, sorted, into out; *active_r the active
 * one's index or -1. 0, or -1 (err). */
int	 sieve_storage_list(const struct sieve_storage *, struct strvec *out, long *active_r,
	    struct sieve_storage_error *err);
/* sieve_storage_check - compile text; errors (Pigeonhole's "line N:
 * error: ..." lines) into errors. true when it compiles. */
bool	 sieve_storage_check(const char *name, const char *text, size_t len,
	    const struct sieve_limits *, const struct sieve_extset *, struct str *errors);
/* sieve_storage_put - check, then store text as NAME (replacing it) */
int	 sieve_storage_put(const struct sieve_storage *, const char *name, const char *text,
	    size_t len, const struct sieve_limits *, const struct sieve_extset *,
	    struct str *errors, struct sieve_storage_error *err);
int	 sieve_storage_get(const struct sieve_storage *, const char *name, struct str *out,
	    struct sieve_storage_error *err);
/* sieve_storage_activate - NAME becomes active; "" deactivates */
int	 sieve_storage_activate(const struct sieve_storage *, const char *name,
	    struct sieve_storage_error *err);
/* sieve_storage_delete - refused for the active script (code "ACTIVE") */
int	 sieve_storage_delete(const struct sieve_storage *, const char *name,
	    struct sieve_storage_error *err);
/* sieve_storage_rename - the active link follows the script */
int	 sieve_storage_rename(const struct sieve_storage *, const char *from, const char *to,
	    struct sieve_storage_error *err);

#endif
