/* maps_unix.c - unix:passwd.byname and unix:group.byname (getpwnam,
 * getgrnam: the value is the passwd or group line), and nis:, which yubin
 * does not speak: Postfix's default alias_maps names nis:mail.aliases, so
 * it opens with a one-time warning and never finds anything.
 * Tests: tests/unit/lib/test_maps.c */
#include "lib/maps-private.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>

#include "lib/log.h"
#include "lib/str.h"

enum unix_map { UNIX_PASSWD = 1, UNIX_GROUP = 2 };

static int
unix_open(struct maps_table *t, const char **error_r)
{
	static int passwd = UNIX_PASSWD, group = UNIX_GROUP;

	if (strcmp(t->name, "passwd.byname") == 0)
		t->ctx = &passwd;
	else if (strcmp(t->name, "group.byname") == 0)
		t->ctx = &group;
	else {
		*error_r = maps_error("unknown table: unix:%s", t->name);
		return -1;
	}
	return 0;
}

static int
unix_lookup(struct maps_table *t, const char *key, struct str *value_r, const char **error_r)
{
	size_t i;

	errno = 0;
	if (*(int *)t->ctx == UNIX_PASSWD) {
		struct passwd *pw = getpwnam(key);

		if (pw == NULL)
			goto none;
		str_reset(value_r);
		str_appendf(value_r, "%s:%s:%ld:%ld:%s:%s:%s", pw->pw_name, pw->pw_passwd,
		    (long)pw->pw_uid, (long)pw->pw_gid, pw->pw_gecos, pw->pw_dir, pw->pw_shell);
	} else {
		struct group *gr = getgrnam(key);

		if (gr == NULL)
			goto none;
		str_reset(value_r);
		str_appendf(value_r, "%s:%s:%ld:", gr->gr_name, gr->gr_passwd, (long)gr->gr_gid);
		for (i = 0; gr->gr_mem[i] != NULL; i++)
			str_appendf(value_r, "%s%s", i > 0 ? "," : "", gr->gr_mem[i]);
	}
	return 1;
none:
	/* getpwnam: NULL with errno 0 (or ENOENT and kin) means no such user;
	 * anything else is a failure to look, which must not read as "no". */
	if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF ||
	    errno == EPERM)
		return 0;
	*error_r = maps_error("unix:%s: lookup failed: %s", t->name, strerror(errno));
	return -1;
}

const struct maps_backend maps_backend_unix = {
	"unix", 0, unix_open, unix_lookup, NULL, NULL,
};

static int
nis_open(struct maps_table *t, const char **error_r)
{
	static bool warned;

	if (!warned) {
		log_warn("nis:%s: NIS is not supported by yubin: the table is always empty",
		    t->name);
		warned = true;
	}
	return 0;
}

static int
nis_lookup(struct maps_table *t, const char *key, struct str *value_r, const char **error_r)
{
	return 0;
}

const struct maps_backend maps_backend_nis = {
	"nis", 0, nis_open, nis_lookup, NULL, NULL,
};
