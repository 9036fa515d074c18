/* imap_layout.c - mailbox names to directories (imap_layout.h) */
#include "imap/imap_layout.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "imap/imap_mailbox_name.h"
#include "imap/imap_mbox.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/mail_location.h"

/* deeper trees are not listed: bounds the walk of a hostile tree */
#define LAYOUT_MAX_DEPTH	32

int
imap_layout_init(struct imap_layout *l, const char *location, const char *user,
    const char *home, const char *inbox, const char **error_r)
{
	struct mail_location ml;

	memset(l, 0, sizeof(*l));
	if (location == NULL || *location == '\0' ||
	    mail_location_parse(location, user, home, &ml, error_r) != 0) {
		if (location != NULL && *location != '\0')
			return -1;
		l->inbox = xstrdup(inbox);
		l->root = xstrdup(inbox);
		return 0;
	}
	l->mbox = ml.format == STORAGE_MBOX;
	l->fs = ml.layout_fs || l->mbox;	/* mbox subfolders are directories */
	l->root = ml.root;
	ml.root = NULL;
	l->inbox = xstrdup(inbox);
	mail_location_deinit(&ml);
	return 0;
}

void
imap_layout_deinit(struct imap_layout *l)
{
	free(l->inbox);
	free(l->root);
	memset(l, 0, sizeof(*l));
}

char *
imap_layout_dir(const struct imap_layout *l, const char *name)
{
	struct str p;
	const char *c;

	if (!l->fs)
		return xasprintf("%s/.%s", l->root, name);
	str_init(&p, strlen(l->root) + strlen(name) + 2);
	str_append(&p, l->root);
	str_append_c(&p, '/');
	for (c = name; *c != '\0'; c++) {
		bool level_start = c == name || c[-1] == '.';
		size_t dots = 0;

		/* a level "." or ".." (refused as a name, but a subscriptions
		 * file can hold anything) keeps its bytes: never a path's */
		while (level_start && c[dots] == IMAP_NAME_DOT)
			dots++;
		if (level_start && dots > 0 && dots <= 2 && (c[dots] == '.' || c[dots] == '\0')) {
			str_append_n(&p, c, dots);
			c += dots - 1;
			continue;
		}
		str_append_c(&p, *c == '.' ? '/' : *c == IMAP_NAME_DOT ? '.' : *c);
	}
	return str_export(&p);
}

int
imap_layout_name_check(const struct imap_layout *l, const char *name, struct str *error)
{
	const char *part = name, *end;

	if (!l->fs)
		return 0;
	/* under LAYOUT=fs a part of the name is a directory next to the
	 * parent's own cur/new/tmp: those names would be the Maildir itself */
	for (;;) {
		size_t len;

		end = strchr(part, '.');
		len = end != NULL ? (size_t)(end - part) : strlen(part);
		/* mbox: the index directory, the subscriptions file and
		 * dot-locks are not mailboxes (Dovecot's text; it accepts
		 * ".subscriptions" and then hides it behind its own file) */
		if (l->mbox && ((len == 5 && strncmp(part, IMAP_NAME_DOT_S "imap", 5) == 0) ||
		    (len == 14 && strncmp(part, IMAP_NAME_DOT_S "subscriptions", 14) == 0) ||
		    (len >= 5 && strncmp(part + len - 5, IMAP_NAME_DOT_S "lock", 5) == 0))) {
			str_append(error, "[CANNOT] Invalid mailbox name: Contains reserved name");
			return -1;
		}
		if ((len == 3 && (strncmp(part, "cur", 3) == 0 || strncmp(part, "new", 3) == 0 ||
		    strncmp(part, "tmp", 3) == 0))) {
			str_appendf(error, "[CANNOT] Invalid mailbox name: %.*s is reserved for the "
			    "Maildir's own directories", (int)len, part);
			return -1;
		}
		if (end == NULL)
			return 0;
		part = end + 1;
	}
}

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool
is_reg(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* name_listed - a directory entry that may name a mailbox: not "." or
 * "..", no control characters (a client could not name it), and for mbox
 * not the index directory or a dot-lock of another mbox. A name such as
 * ".Trash" is listed, as Dovecot lists it under LAYOUT=fs. */
static bool
name_listed(const struct imap_layout *l, const char *name)
{
	size_t len = strlen(name);
	const char *c;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (c = name; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	if (!l->dots && strchr(name, '.') != NULL)
		return false;	/* "a.b" would be read as a/b */
	if (l->mbox)	/* its index, subscriptions, other mboxes' dot-locks */
		return strcmp(name, ".imap") != 0 && strcmp(name, ".subscriptions") != 0 &&
		    !(len >= 5 && strcmp(name + len - 5, ".lock") == 0);
	return true;
}

/* walk - the directories under dir as "prefix.name" ('.' inside a name
 * as IMAP_NAME_DOT); Maildir's own cur/new/tmp and names a client could
 * not send are not mailboxes */
static void
walk(const struct imap_layout *l, const char *dir, const char *prefix, unsigned depth,
    struct strvec *out)
{
	DIR *d;
	struct dirent *de;

	if (depth > LAYOUT_MAX_DEPTH || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *p, *name;

		if (!name_listed(l, de->d_name) ||
		    strcmp(de->d_name, "cur") == 0 || strcmp(de->d_name, "new") == 0 ||
		    strcmp(de->d_name, "tmp") == 0)
			continue;
		p = path_join(dir, de->d_name);
		if (!is_dir(p) && !(l->mbox && is_reg(p))) {
			free(p);
			continue;
		}
		name = *prefix != '\0' ? xasprintf("%s.%s", prefix, de->d_name) :
		    xstrdup(de->d_name);
		/* the file name's dots are inside this level */
		for (char *dot = name + (*prefix != '\0' ? strlen(prefix) + 1 : 0); *dot != '\0'; dot++)
			if (*dot == '.')
				*dot = IMAP_NAME_DOT;
		/* a folder that is called INBOX would shadow the real one */
		if (depth > 0 || strcasecmp(name, "INBOX") != 0)
			strvec_push(out, name);
		walk(l, p, name, depth + 1, out);
		free(name);
		free(p);
	}
	closedir(d);
}

void
imap_layout_folders(const struct imap_layout *l, struct strvec *out)
{
	if (!l->fs)
		imap_mbox_folders(l->root, out);
	else
		walk(l, l->root, "", 0, out);
}

bool
imap_layout_selectable(const struct imap_layout *l, const char *dir)
{
	char *cur;
	bool ok;

	if (l->mbox)
		return is_reg(dir);	/* an mbox folder is a file; a directory only a parent */
	if (!l->fs)
		return is_dir(dir);
	cur = path_join(dir, "cur");
	ok = is_dir(cur);
	free(cur);
	return ok;
}

int
imap_layout_mkparents(const struct imap_layout *l, const char *dir)
{
	size_t rl = strlen(l->root);
	char *p;
	char *slash;

	/* the root itself may not exist yet (Dovecot makes it on demand) */
	if (mkdir(l->root, 0700) != 0 && errno != EEXIST)
		return -1;
	if (!l->fs || strncmp(dir, l->root, rl) != 0 || dir[rl] != '/')
		return 0;
	p = xstrdup(dir);
	for (slash = strchr(p + rl + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*slash = '/';
	}
	free(p);
	return 0;
}

int
imap_layout_create(const struct imap_layout *l, const char *dir)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	size_t i;

	if (imap_layout_mkparents(l, dir) != 0)
		return -1;
	if (l->mbox) {
		int fd = open(dir, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0 || fsync(fd) != 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return close(fd) == 0 ? dir_fsync_of(dir) : -1;
	}
	if (!l->fs || !is_dir(dir) || imap_layout_selectable(l, dir))
		return imap_mbox_create(dir);
	/* a \Noselect parent becomes a mailbox too */
	for (i = 0; i < 3; i++) {
		char *p = path_join(dir, subs[i]);
		int r = mkdir(p, 0700);

		free(p);
		if (r != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}
