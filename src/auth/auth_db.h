/* auth_db.h - passdbs and userdbs as dovecot.conf configures them:
 * passdb drivers passwd-file, passwd, shadow, static; userdb drivers
 * passwd-file, passwd, static. Lookups: 1 found, 0 not found, -1 error.
 * Tests: tests/unit/auth/test_passwd_file.c, tests/e2e/test_auth.py. */
#ifndef YUBIN_AUTH_DB_H
#define YUBIN_AUTH_DB_H

#include "auth/password.h"
#include "lib/util.h"

struct dovecot_conf;
struct str;

/* what %-variables expand to */
struct auth_vars {
	const char	*user;		/* %u; %n, %d derived */
	const char	*service;	/* %s */
	const char	*rip;		/* %r */
	const char	*lip;		/* %l */
};

/* auth_var_expand - Dovecot's %u %n %d %s %r %l %% with the L (lower)
 * and U (upper) modifiers ("%Lu"); unknown variables expand to nothing */
void	 auth_var_expand(struct str *out, const char *fmt, const struct auth_vars *);

struct auth_db;

/* auth_db_new - from conf's passdb and userdb sections; -1 with *error_r
 * (literal or owned by the db's static storage) for an unknown driver */
struct auth_db *auth_db_new(const struct dovecot_conf *, const char **error_r);
void	 auth_db_free(struct auth_db **);

int	 auth_db_verify_plain(struct auth_db *, const struct auth_vars *, const char *password);
int	 auth_db_cram_md5(struct auth_db *, const struct auth_vars *,
	    unsigned char ctx_r[PASSWORD_CRAM_MD5_CONTEXT_LEN]);
int	 auth_db_scram(struct auth_db *, const struct auth_vars *, struct password_scram *r);
/* auth_db_plaintext - the clear password (plaintext schemes only) */
int	 auth_db_plaintext(struct auth_db *, const struct auth_vars *, struct str *out);
/* auth_db_userdb_list - every user the userdbs can list (Dovecot's userdb
 * iteration, for doveadm -A): a passwd-file whose path has no %variables,
 * passwd (the system's users). 0 (users appended, each once), or -1 when a
 * userdb cannot be listed (static, a per-user file) or failed. */
int	 auth_db_userdb_list(struct auth_db *, struct strvec *users);
/* auth_db_userdb - "key=value" fields (uid, gid, home, ...) into fields */
int	 auth_db_userdb(struct auth_db *, const struct auth_vars *, struct strvec *fields);

#endif
