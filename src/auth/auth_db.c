/* auth_db.c - passdb and userdb drivers (see auth_db.h). A passwd-file is
 * parsed again only when its path (after %-expansion), inode, size or
 * mtime changes. passwd and shadow use the reentrant getpwnam_r and
 * getspnam_r. Only the first passdb that finds a user and verifies the
 * password succeeds; a mismatch goes on to the next passdb, as Dovecot's
 * default result_failure = continue. */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "auth/auth_db.h"
#include "auth/passwd_file.h"
#include "lib/dovecot_conf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

enum db_driver { DB_PASSWD_FILE, DB_PASSWD, DB_SHADOW, DB_STATIC };

struct db {
	enum db_driver driver;
	char	*path;			/* owned: passwd-file path template */
	char	*scheme;		/* owned: default password scheme */
	char	*username_format;	/* owned or NULL */
	struct strvec args;		/* owned: static key=value */
	/* passwd-file cache */
	char	*cached_path;		/* owned */
	struct stat st;
	struct passwd_file *pf;		/* owned */
};

struct auth_db {
	struct db *passdbs;	/* owned */
	size_t	 npassdbs;
	struct db *userdbs;	/* owned */
	size_t	 nuserdbs;
};

void
auth_var_expand(struct str *out, const char *fmt, const struct auth_vars *v)
{
	for (const char *p = fmt; *p != '\0'; p++) {
		int mod = 0;
		const char *val = NULL, *at;
		size_t n;

		if (*p != '%') {
			str_append_c(out, *p);
			continue;
		}
		p++;
		if (*p == 'L' || *p == 'U')
			mod = *p++;
		if (*p == '\0')
			break;
		const char *user = v->user != NULL ? v->user : "";
		at = strchr(user, '@');
		switch (*p) {
		case '%':
			str_append_c(out, '%');
			continue;
		case 'u':
			val = user;
			n = strlen(val);
			break;
		case 'n':
			val = user;
			n = at != NULL ? (size_t)(at - user) : strlen(user);
			break;
		case 'd':
			val = at != NULL ? at + 1 : "";
			n = strlen(val);
			break;
		case 's':
			val = v->service != NULL ? v->service : "";
			n = strlen(val);
			break;
		case 'r':
			val = v->rip != NULL ? v->rip : "";
			n = strlen(val);
			break;
		case 'l':
			val = v->lip != NULL ? v->lip : "";
			n = strlen(val);
			break;
		default:
			continue;
		}
		for (size_t i = 0; i < n; i++)
			str_append_c(out, mod == 'L' ? tolower((unsigned char)val[i]) :
			    mod == 'U' ? toupper((unsigned char)val[i]) : val[i]);
	}
}

static void
db_deinit(struct db *d)
{
	free(d->path);
	free(d->scheme);
	free(d->username_format);
	free(d->cached_path);
	strvec_deinit(&d->args);
	passwd_file_free(&d->pf);
}

/* db_init - one passdb/userdb section */
static int
db_init(struct db *d, const struct dovecot_conf_section *sec, bool passdb, const char **error_r)
{
	const char *driver = dovecot_conf_section_get(sec, "driver");
	const char *args = dovecot_conf_section_get(sec, "args");
	const char *dflt = dovecot_conf_section_get(sec, "default_fields");
	char *copy, *tok, *save = NULL;

	memset(d, 0, sizeof(*d));
	strvec_init(&d->args);
	d->scheme = xstrdup("CRYPT");
	if (driver == NULL || strcmp(driver, "passwd-file") == 0)
		d->driver = DB_PASSWD_FILE;
	else if (strcmp(driver, "passwd") == 0 || strcmp(driver, "pam") == 0)
		d->driver = DB_PASSWD;	/* pam: system users, checked as shadow */
	else if (strcmp(driver, "shadow") == 0)
		d->driver = DB_SHADOW;
	else if (strcmp(driver, "static") == 0)
		d->driver = DB_STATIC;
	else {
		*error_r = passdb ? "Unknown passdb driver" : "Unknown userdb driver";
		return -1;
	}
	if (strcmp(driver != NULL ? driver : "", "pam") == 0)
		d->driver = DB_SHADOW;
	copy = xstrdup(args != NULL ? args : "");
	for (tok = strtok_r(copy, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		if (strncmp(tok, "scheme=", 7) == 0) {
			free(d->scheme);
			d->scheme = xstrdup(tok + 7);
		} else if (strncmp(tok, "username_format=", 16) == 0) {
			free(d->username_format);
			d->username_format = xstrdup(tok + 16);
		} else if (d->driver == DB_STATIC)
			strvec_push(&d->args, tok);
		else if (d->driver == DB_PASSWD_FILE && strchr(tok, '=') == NULL) {
			free(d->path);
			d->path = xstrdup(tok);
		}
	}
	free(copy);
	if (dflt != NULL && d->driver == DB_STATIC) {
		copy = xstrdup(dflt);
		for (tok = strtok_r(copy, " \t", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t", &save))
			strvec_push(&d->args, tok);
		free(copy);
	}
	if (d->driver == DB_PASSWD_FILE && d->path == NULL) {
		db_deinit(d);
		*error_r = "passwd-file: missing file path in args";
		return -1;
	}
	return 0;
}

struct auth_db *
auth_db_new(const struct dovecot_conf *conf, const char **error_r)
{
	const struct dovecot_conf_section *root = dovecot_conf_root(conf);
	struct auth_db *db = xcalloc(1, sizeof(*db));
	size_t n = dovecot_conf_section_count(root);

	for (size_t i = 0; i < n; i++) {
		const struct dovecot_conf_section *s = dovecot_conf_section_child(root, i);
		const char *type = dovecot_conf_section_type(s);
		bool pass;
		struct db d;

		if (type == NULL)
			continue;
		if (strcmp(type, "passdb") == 0)
			pass = true;
		else if (strcmp(type, "userdb") == 0)
			pass = false;
		else
			continue;
		if (db_init(&d, s, pass, error_r) < 0) {
			auth_db_free(&db);
			return NULL;
		}
		if (pass) {
			db->passdbs = xreallocarray(db->passdbs, db->npassdbs + 1, sizeof(d));
			db->passdbs[db->npassdbs++] = d;
		} else {
			db->userdbs = xreallocarray(db->userdbs, db->nuserdbs + 1, sizeof(d));
			db->userdbs[db->nuserdbs++] = d;
		}
	}
	return db;
}

void
auth_db_free(struct auth_db **p)
{
	struct auth_db *db = *p;

	if (db == NULL)
		return;
	for (size_t i = 0; i < db->npassdbs; i++)
		db_deinit(&db->passdbs[i]);
	for (size_t i = 0; i < db->nuserdbs; i++)
		db_deinit(&db->userdbs[i]);
	free(db->passdbs);
	free(db->userdbs);
	free(db);
	*p = NULL;
}

/* pf_load - the parsed passwd-file for these vars; NULL (logged) if unreadable */
static const struct passwd_file *
pf_load(struct db *d, const struct auth_vars *v, int *error_r)
{
	struct str path, data;
	struct stat st;

	*error_r = 0;
	str_init(&path, 128);
	auth_var_expand(&path, d->path, v);
	if (stat(path.s, &st) < 0) {
		if (errno != ENOENT) {
			log_error("passwd-file %s: stat failed: %s", path.s, strerror(errno));
			*error_r = 1;
		}
		/* a per-user or per-domain file that does not exist: no such user */
		str_deinit(&path);
		return NULL;
	}
	if (d->pf != NULL && d->cached_path != NULL && strcmp(d->cached_path, path.s) == 0 &&
	    st.st_ino == d->st.st_ino && st.st_size == d->st.st_size &&
	    st.st_mtim.tv_sec == d->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == d->st.st_mtim.tv_nsec) {
		str_deinit(&path);
		return d->pf;
	}
	str_init(&data, (size_t)st.st_size + 1);
	if (file_read(path.s, PASSWD_FILE_MAX_SIZE, &data) < 0) {
		log_error("passwd-file %s: read failed: %s", path.s, strerror(errno));
		str_deinit(&data);
		str_deinit(&path);
		*error_r = 1;
		return NULL;
	}
	passwd_file_free(&d->pf);
	d->pf = passwd_file_parse(path.s, data.s, data.len);
	free(d->cached_path);
	d->cached_path = str_export(&path);
	d->st = st;
	str_deinit(&data);
	return d->pf;
}

/* db_user - the name this db looks up */
static char *
db_user(const struct db *d, const struct auth_vars *v)
{
	struct str u;

	str_init(&u, 64);
	auth_var_expand(&u, d->username_format != NULL ? d->username_format : "%u", v);
	return str_export(&u);
}

/* pass_lookup - the stored password of the user in d into *stored_r
 * (owned): 1, 0, -1 */
static int
pass_lookup(struct db *d, const struct auth_vars *v, char **stored_r)
{
	char *user = db_user(d, v);
	int ret = 0;

	*stored_r = NULL;
	switch (d->driver) {
	case DB_PASSWD_FILE: {
		int err;
		const struct passwd_file *pf = pf_load(d, v, &err);
		const struct passwd_file_entry *e;

		if (pf == NULL)
			ret = err ? -1 : 0;
		else if ((e = passwd_file_find(pf, user)) != NULL && e->password[0] != '\0') {
			*stored_r = xstrdup(e->password);
			ret = 1;
		}
		break;
	}
	case DB_PASSWD: {
		struct passwd pw, *res = NULL;
		char buf[4096];

		if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0)
			ret = -1;
		else if (res != NULL && strcmp(pw.pw_passwd, "x") != 0 &&
		    strcmp(pw.pw_passwd, "*") != 0 && pw.pw_passwd[0] != '\0') {
			*stored_r = xasprintf("{CRYPT}%s", pw.pw_passwd);
			ret = 1;
		}
		break;
	}
	case DB_SHADOW: {
		struct spwd sp, *res = NULL;
		char buf[4096];

		if (getspnam_r(user, &sp, buf, sizeof(buf), &res) != 0 && errno != ENOENT)
			ret = -1;
		else if (res != NULL && sp.sp_pwdp[0] != '\0' && sp.sp_pwdp[0] != '!' &&
		    sp.sp_pwdp[0] != '*') {
			*stored_r = xasprintf("{CRYPT}%s", sp.sp_pwdp);
			ret = 1;
		}
		break;
	}
	case DB_STATIC:
		for (size_t i = 0; i < d->args.n; i++)
			if (strncmp(d->args.v[i], "password=", 9) == 0) {
				struct str p;

				str_init(&p, 64);
				auth_var_expand(&p, d->args.v[i] + 9, v);
				*stored_r = str_export(&p);
				ret = 1;
			}
		break;
	}
	free(user);
	return ret;
}

int
auth_db_verify_plain(struct auth_db *db, const struct auth_vars *v, const char *password)
{
	int result = 0;

	for (size_t i = 0; i < db->npassdbs; i++) {
		struct db *d = &db->passdbs[i];
		char *stored;
		const char *err;
		int r = pass_lookup(d, v, &stored);

		if (r < 0)
			result = -1;
		if (r <= 0)
			continue;
		r = password_verify(stored, d->scheme, password, v->user, &err);
		free(stored);
		if (r > 0)
			return 1;
		if (r < 0)
			log_warn("passdb(%s): %s", v->user, err);
	}
	return result;
}

/* credentials_lookup - the first passdb whose stored value can give what
 * conv derives from it (conv: 1 done, 0 not from this scheme, -1 broken);
 * 1, 0 none could, -1 error */
static int
credentials_lookup(struct auth_db *db, const struct auth_vars *v,
    int (*conv)(const char *stored, const char *scheme, void *out), void *out)
{
	for (size_t i = 0; i < db->npassdbs; i++) {
		char *stored;
		int r = pass_lookup(&db->passdbs[i], v, &stored);

		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		r = conv(stored, db->passdbs[i].scheme, out);
		OPENSSL_cleanse(stored, strlen(stored));
		free(stored);
		if (r != 0)
			return r;
	}
	return 0;
}

static int
conv_cram(const char *stored, const char *scheme, void *out)
{
	return password_cram_md5_context(stored, scheme, out);
}

static int
conv_scram(const char *stored, const char *scheme, void *out)
{
	return password_scram_credentials(stored, scheme, out);
}

static int
conv_plaintext(const char *stored, const char *scheme, void *out)
{
	return password_plaintext(stored, scheme, out);
}

int
auth_db_cram_md5(struct auth_db *db, const struct auth_vars *v,
    unsigned char ctx_r[PASSWORD_CRAM_MD5_CONTEXT_LEN])
{
	return credentials_lookup(db, v, conv_cram, ctx_r);
}

int
auth_db_scram(struct auth_db *db, const struct auth_vars *v, struct password_scram *out)
{
	return credentials_lookup(db, v, conv_scram, out);
}

int
auth_db_plaintext(struct auth_db *db, const struct auth_vars *v, struct str *out)
{
	return credentials_lookup(db, v, conv_plaintext, out);
}

static void
field_push(struct strvec *f, const char *kv)
{
	/* userdb_ prefixed passwd-file extra fields are userdb fields */
	if (strncmp(kv, "userdb_", 7) == 0)
		kv += 7;
	strvec_push(f, kv);
}

int
auth_db_userdb(struct auth_db *db, const struct auth_vars *v, struct strvec *fields)
{
	int result = 0;

	for (size_t i = 0; i < db->nuserdbs; i++) {
		struct db *d = &db->userdbs[i];
		char *user = db_user(d, v);
		int r = 0;

		switch (d->driver) {
		case DB_PASSWD_FILE: {
			int err;
			const struct passwd_file *pf = pf_load(d, v, &err);
			const struct passwd_file_entry *e;

			if (pf == NULL)
				r = err ? -1 : 0;
			else if ((e = passwd_file_find(pf, user)) != NULL) {
				char *t;

				if (e->uid[0] != '\0') {
					field_push(fields, t = xasprintf("uid=%s", e->uid));
					free(t);
				}
				if (e->gid[0] != '\0') {
					field_push(fields, t = xasprintf("gid=%s", e->gid));
					free(t);
				}
				if (e->home[0] != '\0') {
					field_push(fields, t = xasprintf("home=%s", e->home));
					free(t);
				}
				for (size_t k = 0; k < e->extra.n; k++)
					field_push(fields, e->extra.v[k]);
				r = 1;
			}
			break;
		}
		case DB_PASSWD:
		case DB_SHADOW: {
			struct passwd pw, *res = NULL;
			char buf[4096], *t;

			if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0)
				r = -1;
			else if (res != NULL) {
				strvec_push_take(fields, xasprintf("uid=%lu", (unsigned long)pw.pw_uid));
				strvec_push_take(fields, xasprintf("gid=%lu", (unsigned long)pw.pw_gid));
				strvec_push_take(fields, t = xasprintf("home=%s", pw.pw_dir));
				(void)t;
				r = 1;
			}
			break;
		}
		case DB_STATIC:
			for (size_t k = 0; k < d->args.n; k++) {
				struct str f;

				if (strcmp(d->args.v[k], "allow_all_users=yes") == 0)
					continue;
				str_init(&f, 64);
				auth_var_expand(&f, d->args.v[k], v);
				strvec_push_take(fields, str_export(&f));
			}
			r = 1;
			break;
		}
		free(user);
		if (r < 0)
			result = -1;
		if (r > 0)
			return 1;
	}
	return result;
}

static void
push_once(struct strvec *users, const char *u)
{
	for (size_t i = 0; i < users->n; i++)
		if (strcmp(users->v[i], u) == 0)
			return;
	strvec_push(users, u);
}

int
auth_db_userdb_list(struct auth_db *db, struct strvec *users)
{
	for (size_t i = 0; i < db->nuserdbs; i++) {
		struct db *d = &db->userdbs[i];

		switch (d->driver) {
		case DB_PASSWD_FILE: {
			struct auth_vars v = { 0 };
			const struct passwd_file *pf;
			int err;

			if (strchr(d->path, '%') != NULL)
				return -1;	/* one file per user or domain */
			if ((pf = pf_load(d, &v, &err)) == NULL) {
				if (err)
					return -1;
				break;
			}
			for (size_t k = 0; k < passwd_file_count(pf); k++)
				push_once(users, passwd_file_entry_at(pf, k)->user);
			break;
		}
		case DB_PASSWD:
		case DB_SHADOW: {
			struct passwd *pw;

			setpwent();
			while ((pw = getpwent()) != NULL)
				push_once(users, pw->pw_name);
			endpwent();
			break;
		}
		case DB_STATIC:
			return -1;
		}
	}
	return 0;
}
