/* mail_location.c - Dovecot's mail location string (see mail_location.h).
 * One parser for login (the INBOX POP3 opens), IMAP (root, layout) and
 * local delivery, so that all of them find the same mailboxes. */
#include "storage/mail_location.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* expand - one path with its variables; NULL with *error_r */
static char *
expand(const char *p, size_t len, const char *user, const char *home, const char **error_r)
{
	const char *at = strchr(user, '@'), *end = p + len;
	struct str out;

	str_init(&out, len + 64);
	for (; p < end; p++) {
		const char *v = NULL;
		size_t vl = 0;

		if (*p == '~' && out.len == 0 && (p + 1 == end || p[1] == '/')) {
			if (home == NULL || *home == '\0')
				goto nohome;
			str_append(&out, home);
			continue;
		}
		if (*p != '%') {
			str_append_c(&out, *p);
			continue;
		}
		if (++p == end) {
			*error_r = "a % at the end of the mail location";
			goto fail;
		}
		if (*p == '{') {
			const char *close = memchr(p, '}', (size_t)(end - p));
			size_t nl;

			if (close == NULL) {
				*error_r = "unterminated %{ in the mail location";
				goto fail;
			}
			nl = (size_t)(close - p - 1);
#define IS(s) (nl == sizeof(s) - 1 && memcmp(p + 1, s, nl) == 0)
			if (IS("user"))
				v = "u";
			else if (IS("username"))
				v = "n";
			else if (IS("domain"))
				v = "d";
			else if (IS("home"))
				v = "h";
#undef IS
			if (v == NULL) {
				*error_r = "unknown variable in the mail location";
				goto fail;
			}
			p = close;
		} else
			v = p;
		switch (*v) {
		case '%':
			v = "%";
			vl = 1;
			break;
		case 'u':
			v = user;
			vl = strlen(user);
			break;
		case 'n':
			v = user;
			vl = at != NULL ? (size_t)(at - user) : strlen(user);
			break;
		case 'd':
			v = at != NULL ? at + 1 : "";
			vl = strlen(v);
			break;
		case 'h':
			if (home == NULL || *home == '\0')
				goto nohome;
			v = home;
			vl = strlen(home);
			break;
		default:
			*error_r = "unknown variable in the mail location";
			goto fail;
		}
		str_append_n(&out, v, vl);
	}
	if (out.len == 0 || out.s[0] != '/') {
		*error_r = "the mail location is not an absolute path";
		goto fail;
	}
	/* a user name with "/.." must not lead elsewhere */
	if (strstr(out.s, "/../") != NULL || (out.len >= 3 && strcmp(out.s + out.len - 3, "/..") == 0)) {
		*error_r = "the mail location leads outside its directory (..)";
		goto fail;
	}
	while (out.len > 1 && out.s[out.len - 1] == '/')
		str_truncate(&out, out.len - 1);
	return str_export(&out);
nohome:
	*error_r = "the mail location needs a home directory (~ or %h) and the user has none";
fail:
	str_deinit(&out);
	return NULL;
}

static int
autodetect(const char *user, const char *home, struct mail_location *out, const char **error_r)
{
	struct stat st;

	if (home != NULL && *home == '/') {
		char *md = path_join(home, "Maildir");

		if (stat(md, &st) == 0 && S_ISDIR(st.st_mode)) {
			out->format = STORAGE_MAILDIR;
			out->root = md;
			out->inbox = xstrdup(md);
			return 0;
		}
		free(md);
		out->root = path_join(home, "mail");
	}
	if (strchr(user, '/') != NULL || strcmp(user, "..") == 0 || *user == '\0') {
		*error_r = "the user name cannot be a file name under /var/mail";
		return -1;
	}
	out->format = STORAGE_MBOX;
	out->inbox = xasprintf("/var/mail/%s", user);
	if (out->root == NULL)
		out->root = xstrdup("/var/mail");	/* no folders without a home */
	return 0;
}

int
mail_location_parse(const char *location, const char *user, const char *home,
    struct mail_location *out, const char **error_r)
{
	const char *p = location, *colon;
	const char *inbox_spec = NULL;
	size_t inbox_len = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (location == NULL || *location == '\0')
		return autodetect(user, home, out, error_r);
	if (strncasecmp(p, "maildir:", 8) == 0) {
		out->format = STORAGE_MAILDIR;
		p += 8;
	} else if (strncasecmp(p, "mbox:", 5) == 0) {
		out->format = STORAGE_MBOX;
		p += 5;
	} else if (*p == '/' || *p == '~' || *p == '%') {
		/* a bare path: Dovecot guesses; a directory with cur/ is a Maildir */
		out->format = STORAGE_MAILDIR;
	} else {
		*error_r = "unknown mailbox format in the mail location (maildir and mbox are supported)";
		return -1;
	}
	colon = strchr(p, ':');
	if ((out->root = expand(p, colon != NULL ? (size_t)(colon - p) : strlen(p), user, home,
	    error_r)) == NULL)
		goto out;
	while (colon != NULL) {
		const char *k = colon + 1, *eq, *vend;
		char **dst = NULL;

		colon = strchr(k, ':');
		vend = colon != NULL ? colon : k + strlen(k);
		eq = memchr(k, '=', (size_t)(vend - k));
		if (vend == k)
			continue;
		if (eq == NULL)
			continue;	/* ITERINDEX, NO-NOSELECT...: flags we need not act on */
#define KEY(s) ((size_t)(eq - k) == sizeof(s) - 1 && strncasecmp(k, s, sizeof(s) - 1) == 0)
		if (KEY("LAYOUT")) {
			size_t vl = (size_t)(vend - eq - 1);

			if (vl == 2 && strncasecmp(eq + 1, "fs", 2) == 0)
				out->layout_fs = true;
			else if (vl == 9 && strncasecmp(eq + 1, "maildir++", 9) == 0)
				out->layout_fs = false;
			else {
				*error_r = "unsupported LAYOUT in the mail location (maildir++ and fs are)";
				goto out;
			}
			continue;
		}
		if (KEY("INBOX")) {
			inbox_spec = eq + 1;
			inbox_len = (size_t)(vend - eq - 1);
			continue;
		}
		if (KEY("INDEX"))
			dst = &out->index;
		else if (KEY("CONTROL"))
			dst = &out->control;
#undef KEY
		if (dst == NULL || (size_t)(vend - eq - 1) == 0)
			continue;	/* DIRNAME, ALT, VOLATILEDIR...: not used here */
		if (eq[1] == 'M' && (size_t)(vend - eq - 1) == 6 && memcmp(eq + 1, "MEMORY", 6) == 0)
			continue;	/* INDEX=MEMORY: no index files */
		free(*dst);
		if ((*dst = expand(eq + 1, (size_t)(vend - eq - 1), user, home, error_r)) == NULL)
			goto out;
	}
	if (inbox_spec != NULL) {
		if ((out->inbox = expand(inbox_spec, inbox_len, user, home, error_r)) == NULL)
			goto out;
	} else if (out->format == STORAGE_MAILDIR)
		out->inbox = xstrdup(out->root);
	else
		out->inbox = path_join(out->root, "inbox");	/* Dovecot: ~/mail/inbox */
	ret = 0;
out:
	return ret;
}

void
mail_location_deinit(struct mail_location *l)
{
	free(l->root);
	free(l->inbox);
	free(l->index);
	free(l->control);
	memset(l, 0, sizeof(*l));
}
