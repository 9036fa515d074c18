/* local_expand.c - the first half of local delivery (local.h): from one
 * recipient to a plan of deliveries, through aliases, :include: files,
 * .forward files and the mailbox choice. Reads files as the process it
 * runs in, and never writes. Tests: tests/unit/local/test_local.c */
#include "local/local-private.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "qmgr/qmgr.h"

/* Postfix stops alias and .forward nesting at 100 levels; a loop shows up
 * long before that, as a repeated (source, name) pair. */
#define LOCAL_MAX_DEPTH		100
#define LOCAL_INCLUDE_MAX	(1024 * 1024)

/* Where a target came from: decides allow_mail_to_commands/files. */
enum local_source {
	LOCAL_SRC_NONE,
	LOCAL_SRC_ALIAS,
	LOCAL_SRC_FORWARD,
	LOCAL_SRC_INCLUDE,
};

static const char *const local_source_names[] = { "", "alias", "forward", "include" };

struct local_walk {
	const struct local_expand_ctx	*ctx;
	struct local_plan		*plan;
	struct strvec			 seen;	/* "kind\ttarget" already planned, and
						 * expansions in progress */
	const char			*domain;	/* of the original recipient */
	const char			*error;
};

bool
local_part_is_safe(const char *local)
{
	const unsigned char *p;

	if (*local == '\0' || *local == '|' || *local == ':' || *local == '-' ||
	    *local == '/')
		return false;
	if (strstr(local, "..") != NULL)
		return false;
	for (p = (const unsigned char *)local; *p != '\0'; p++)
		if (*p == '/' || *p == '"' || *p == '\'' || *p == '\\' || *p == '`' ||
		    *p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

void
local_user_deinit(struct local_user *u)
{
	XFREE(u->name);
	XFREE(u->home);
	XFREE(u->shell);
}

/* local_user_copy - dst gets its own copies of src's strings */
static void local_user_copy(struct local_user *dst, const struct local_user *src);

/* the lookups of the current batch (local_user_cache_begin); a batch names
 * a few users at most, further ones are looked up each time */
#define LOCAL_USER_CACHE_MAX	16
static struct local_user_cached {
	char			*key;	/* owned: the name looked up */
	int			 found;	/* 1, or 0: no such user */
	struct local_user	 user;	/* owned, when found */
} local_user_cache[LOCAL_USER_CACHE_MAX];
static size_t local_user_ncache;
static bool local_user_caching;
static uid_t local_user_euid;	/* geteuid() at local_user_cache_begin */

void
local_user_cache_begin(void)
{
	local_user_cache_end();
	local_user_euid = geteuid();
	local_user_caching = true;
}

uid_t
local_euid(void)
{
	return local_user_caching ? local_user_euid : geteuid();
}

void
local_user_cache_end(void)
{
	size_t i;

	for (i = 0; i < local_user_ncache; i++) {
		free(local_user_cache[i].key);
		local_user_deinit(&local_user_cache[i].user);
	}
	local_user_ncache = 0;
	local_user_caching = false;
}

/* local_user_getpwnam_r - the lookup itself */
static int
local_user_getpwnam_r(const char *name, struct local_user *user_r)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e;

	memset(user_r, 0, sizeof(*user_r));
	e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (res == NULL)
		return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM ? 0 : -1;
	user_r->name = xstrdup(pw.pw_name);
	user_r->home = xstrdup(pw.pw_dir);
	user_r->shell = xstrdup(pw.pw_shell != NULL ? pw.pw_shell : "");
	user_r->uid = pw.pw_uid;
	user_r->gid = pw.pw_gid;
	return 1;
}

int
local_user_getpwnam(const char *name, struct local_user *user_r)
{
	struct local_user_cached *c;
	size_t i;
	int r;

	if (local_user_caching)
		for (i = 0; i < local_user_ncache; i++) {
			c = &local_user_cache[i];
			if (strcmp(c->key, name) != 0)
				continue;
			memset(user_r, 0, sizeof(*user_r));
			if (c->found)
				local_user_copy(user_r, &c->user);
			return c->found;
		}
	r = local_user_getpwnam_r(name, user_r);
	/* an error is not kept: the next message tries again */
	if (local_user_caching && r >= 0 && local_user_ncache < LOCAL_USER_CACHE_MAX) {
		c = &local_user_cache[local_user_ncache++];
		c->key = xstrdup(name);
		c->found = r;
		memset(&c->user, 0, sizeof(c->user));
		if (r == 1)
			local_user_copy(&c->user, user_r);
	}
	return r;
}

static void
local_user_copy(struct local_user *dst, const struct local_user *src)
{
	dst->name = src->name != NULL ? xstrdup(src->name) : NULL;
	dst->home = src->home != NULL ? xstrdup(src->home) : NULL;
	dst->shell = src->shell != NULL ? xstrdup(src->shell) : NULL;
	dst->uid = src->uid;
	dst->gid = src->gid;
}

void
local_plan_deinit(struct local_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		free(plan->v[i].rcpt);
		free(plan->v[i].target);
		free(plan->v[i].sender);
		free(plan->v[i].extension);
		local_user_deinit(&plan->v[i].user);
	}
	XFREE(plan->v);
	plan->n = 0;
}

/* local_var - the value of one forward_path variable, NULL when unset */
static const char *
local_var(const struct local_vars *v, const char *name, size_t n)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} vars[] = {
		{ "user", offsetof(struct local_vars, user) },
		{ "home", offsetof(struct local_vars, home) },
		{ "shell", offsetof(struct local_vars, shell) },
		{ "recipient", offsetof(struct local_vars, recipient) },
		{ "extension", offsetof(struct local_vars, extension) },
		{ "domain", offsetof(struct local_vars, domain) },
		{ "local", offsetof(struct local_vars, local) },
		{ "recipient_delimiter", offsetof(struct local_vars, recipient_delimiter) },
	};
	const char *val;
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (strlen(vars[i].name) != n || strncmp(vars[i].name, name, n) != 0)
			continue;
		memcpy(&val, (const char *)v + vars[i].off, sizeof(val));
		return val != NULL && *val != '\0' ? val : NULL;
	}
	return NULL;
}

int
local_expand_path(const char *tmpl, const struct local_vars *v, struct str *out)
{
	const char *p = tmpl, *name, *val, *text = NULL, *close;
	size_t n, tn = 0;
	int undefined = 0;
	char op;

	str_reset(out);
	while (*p != '\0') {
		if (*p != '$') {
			str_append_c(out, *p++);
			continue;
		}
		p++;
		op = 0;
		if (*p == '{' || *p == '(') {
			char want = *p == '{' ? '}' : ')';

			name = ++p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			n = (size_t)(p - name);
			if (*p == '?' || *p == ':') {
				op = *p++;
				text = p;
				if ((close = strchr(p, want)) == NULL)
					return -1;
				tn = (size_t)(close - p);
				p = close;
			}
			if (*p != want || n == 0)
				return -1;
			p++;
		} else {
			name = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			n = (size_t)(p - name);
			if (n == 0)
				return -1;
		}
		val = local_var(v, name, n);
		if (op == '?') {
			if (val != NULL)
				str_append_n(out, text, tn);
		} else if (op == ':') {
			if (val == NULL)
				str_append_n(out, text, tn);
		} else if (val != NULL) {
			str_append(out, val);
		} else {
			undefined = 1;
		}
	}
	return undefined ? 0 : 1;
}

void
local_split_targets(const char *value, struct strvec *out)
{
	const char *p = value;
	struct str tok;
	bool quoted;

	str_init(&tok, 64);
	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		str_reset(&tok);
		quoted = false;
		/* A command or file name runs to the next comma outside quotes:
		 * "|cmd -a b" is one target, as in aliases(5). */
		for (; *p != '\0'; p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (!quoted && *p == ',')
				break;
			if (*p == '\\' && p[1] != '\0' && quoted) {
				str_append_c(&tok, *++p);
				continue;
			}
			str_append_c(&tok, *p);
		}
		while (tok.len > 0 && isspace((unsigned char)tok.s[tok.len - 1]))
			str_truncate(&tok, tok.len - 1);
		/* plain addresses end at white space: "a b" is two of them */
		if (tok.len > 0 && tok.s[0] != '|' && tok.s[0] != '/' &&
		    strncasecmp(tok.s, ":include:", 9) != 0 && strpbrk(tok.s, " \t") != NULL) {
			char *dup = xstrdup(tok.s), *save = NULL, *w;

			for (w = strtok_r(dup, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
				strvec_push(out, w);
			free(dup);
		} else if (tok.len > 0) {
			strvec_push(out, tok.s);
		}
	}
	str_deinit(&tok);
}

void
local_delivered_to(const char *content, size_t len, struct strvec *out)
{
	const char *p = content, *end = content + len, *nl, *v;
	size_t n, i;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break;		/* end of the header */
		if (n > 13 && strncasecmp(p, "Delivered-To:", 13) == 0) {
			for (v = p + 13; v < p + n && isspace((unsigned char)*v); v++)
				;
			{
				char *s = xstrndup(v, (size_t)(p + n - v));

				for (i = 0; s[i] != '\0'; i++)
					s[i] = (char)tolower((unsigned char)s[i]);
				while (i > 0 && isspace((unsigned char)s[i - 1]))
					s[--i] = '\0';
				strvec_push_take(out, s);
			}
		}
		p = nl != NULL ? nl + 1 : end;
	}
}

/* local_add - append an item; returns it for the caller to finish */
static struct local_item *
local_add(struct local_walk *w, enum local_kind kind, const char *rcpt, const char *target,
    const char *sender)
{
	struct local_item *it;

	w->plan->v = xreallocarray(w->plan->v, w->plan->n + 1, sizeof(*w->plan->v));
	it = &w->plan->v[w->plan->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->rcpt = xstrdup(rcpt);
	it->target = xstrdup(target != NULL ? target : "");
	it->sender = xstrdup(sender);
	return it;
}

static void
local_fail(struct local_walk *w, enum local_kind kind, const char *rcpt, const char *sender,
    const char *status, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
local_fail(struct local_walk *w, enum local_kind kind, const char *rcpt, const char *sender,
    const char *status, const char *fmt, ...)
{
	struct local_item *it = local_add(w, kind, rcpt, NULL, sender);
	va_list ap;

	snprintf(it->status, sizeof(it->status), "%s", status);
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
	va_end(ap);
}

bool
local_list_has(struct maincf *cf, const char *param, const char *word)
{
	struct strvec items;
	struct str val;
	const char *err;
	bool found = false;
	size_t i;

	str_init(&val, 64);
	if (maincf_get(cf, param, &val, &err) == 0) {
		strvec_init(&items);
		maincf_list_split(val.s, &items);
		for (i = 0; i < items.n; i++)
			if (strcasecmp(items.v[i], word) == 0)
				found = true;
		strvec_deinit(&items);
	}
	str_deinit(&val);
	return found;
}

/* local_bool - a boolean parameter (false when it cannot be read) */
static bool
local_bool(struct maincf *cf, const char *param)
{
	const char *err;
	bool v = false;

	return maincf_get_bool(cf, param, &v, &err) == 0 && v;
}

/* local_split_lines - the targets of an :include: or .forward file: one
 * target list per line, "#" lines are comments */
static void
local_split_lines(const char *text, struct strvec *items)
{
	char *dup = xstrdup(text), *save = NULL, *line;

	for (line = strtok_r(dup, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (*line != '#')
			local_split_targets(line, items);
	free(dup);
}

/* local_get - a parameter's value; forward_path and mailbox_command are
 * taken raw: their $names are local(8)'s to expand per delivery (and
 * "$EXTENSION" in mailbox_command is the shell's) */
static void
local_get(struct maincf *cf, const char *param, struct str *out)
{
	const char *err, *raw;

	str_reset(out);
	if (maincf_param_is_raw(param)) {
		if ((raw = maincf_raw(cf, param)) != NULL)
			str_append(out, raw);
		return;
	}
	if (maincf_get(cf, param, out, &err) != 0)
		str_reset(out);
}

/* local_privs - the rights a command or file of an alias, :include: or
 * .forward file runs with: its owner, or default_privs when root owns it
 * (Postfix: never run a command as root from a table) */
static int
local_privs(struct local_walk *w, uid_t owner, struct local_user *u_r)
{
	struct passwd *pw;
	struct str name;
	int r;

	memset(u_r, 0, sizeof(*u_r));
	if (w->ctx->dev_mode) {
		owner = geteuid();
		if ((pw = getpwuid(owner)) == NULL)
			return -1;
		return w->ctx->lookup_user == local_user_getpwnam ?
		    local_user_getpwnam(pw->pw_name, u_r) == 1 ? 0 : -1 :
		    w->ctx->lookup_user(pw->pw_name, u_r) == 1 ? 0 : -1;
	}
	if (owner != 0) {
		if ((pw = getpwuid(owner)) == NULL)
			return -1;
		r = w->ctx->lookup_user(pw->pw_name, u_r);
		return r == 1 ? 0 : -1;
	}
	str_init(&name, 32);
	local_get(w->ctx->cf, "default_privs", &name);
	r = w->ctx->lookup_user(name.s, u_r);
	str_deinit(&name);
	if (r == 1 && u_r->uid == 0) {
		local_user_deinit(u_r);
		return -1;	/* default_privs must not be root */
	}
	return r == 1 ? 0 : -1;
}

static void local_recipient(struct local_walk *, const char *addr, const char *sender,
    enum local_source exp_type, const char *exp_from, int depth);

/* local_target - one target of an alias, :include: or .forward file */
static void
local_target(struct local_walk *w, const char *rcpt, const char *target, const char *sender,
    enum local_source src, const char *exp_from, uid_t owner, const struct local_user *fwd_user,
    int depth)
{
	struct local_item *it;
	struct local_user u;
	char *key;

	if (*target == '|' || *target == '/') {
		bool cmd = *target == '|';
		const char *param = cmd ? "allow_mail_to_commands" : "allow_mail_to_files";

		if (!local_list_has(w->ctx->cf, param, local_source_names[src])) {
			/* Postfix's words */
			local_fail(w, LOCAL_BOUNCE, rcpt, sender, "5.7.1", "mail to %s is restricted",
			    cmd ? "command" : "file");
			return;
		}
		if (!cmd && target[strlen(target) - 1] == '/') {
			/* a directory: a Maildir, as Postfix's local reads it */
		}
		key = xasprintf("%c\t%s", cmd ? 'c' : 'f', target);
		if (strvec_contains(&w->seen, key)) {
			free(key);
			return;
		}
		strvec_push_take(&w->seen, key);
		if (fwd_user != NULL) {
			local_user_copy(&u, fwd_user);
		} else if (local_privs(w, owner, &u) != 0) {
			local_fail(w, LOCAL_DEFER, rcpt, sender, "4.3.0",
			    "cannot find the rights to deliver to %s", target);
			return;
		}
		it = local_add(w, cmd ? LOCAL_COMMAND : LOCAL_FILE, rcpt,
		    cmd ? target + 1 : target, sender);
		it->user = u;
		return;
	}
	if (strncasecmp(target, ":include:", 9) == 0) {
		const char *path = target + 9;
		struct strvec items;
		struct stat st;
		struct str text;
		size_t i;
		int fd;

		if (!local_list_has(w->ctx->cf, "allow_mail_to_files", "include") &&
		    src == LOCAL_SRC_INCLUDE && false) {
			/* nested includes are as allowed as their parent */
		}
		if (*path != '/') {
			local_fail(w, LOCAL_BOUNCE, rcpt, sender, "5.3.5",
			    ":include: path must be absolute: %s", path);
			return;
		}
		key = xasprintf("i\t%s", path);
		if (strvec_contains(&w->seen, key)) {
			free(key);
			return;
		}
		strvec_push_take(&w->seen, key);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			local_fail(w, LOCAL_DEFER, rcpt, sender, "4.3.0", "cannot open include file %s: %s",
			    path, fd < 0 ? strerror(errno) : "not a regular file");
			return;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
			close(fd);
			local_fail(w, LOCAL_BOUNCE, rcpt, sender, "5.7.1",
			    "include file %s is group or world writable", path);
			return;
		}
		close(fd);
		str_init(&text, 1024);
		if (file_read(path, LOCAL_INCLUDE_MAX, &text) != 0) {
			local_fail(w, LOCAL_DEFER, rcpt, sender, "4.3.0", "cannot read include file %s: %s",
			    path, strerror(errno));
			str_deinit(&text);
			return;
		}
		strvec_init(&items);
		local_split_lines(text.s, &items);
		for (i = 0; i < items.n; i++)
			local_target(w, rcpt, items.v[i], sender, LOCAL_SRC_INCLUDE, exp_from,
			    st.st_uid, NULL, depth + 1);
		strvec_deinit(&items);
		str_deinit(&text);
		return;
	}
	if (*target == '\\') {
		/* \user in a .forward (or an alias): straight to the mailbox */
		char *a = xstrdup(target + 1);

		local_recipient(w, a, sender, LOCAL_SRC_FORWARD, a, depth + 1);
		free(a);
		return;
	}
	local_recipient(w, target, sender, src, exp_from, depth + 1);
}

/* local_alias_owner - owner-NAME's address when that alias exists, as the
 * envelope sender of NAME's expansion (Postfix: errors go to the owner) */
static char *
local_alias_owner(struct local_walk *w, const char *name)
{
	struct str val, origin;
	const char *err;
	char *key, *owner = NULL;

	if (!local_bool(w->ctx->cf, "owner_request_special"))
		return NULL;
	str_init(&val, 64);
	key = xasprintf("owner-%s", name);
	if (maps_find(w->ctx->aliases, key, &val, &err) == 1) {
		struct strvec targets;
		const char *first;

		str_init(&origin, 64);
		local_get(w->ctx->cf, "myorigin", &origin);
		strvec_init(&targets);
		local_split_targets(val.s, &targets);
		first = targets.n > 0 ? targets.v[0] : "";
		/* expand_owner_alias: the owner alias's own (first) address,
		 * when it is an address, instead of owner-NAME itself */
		if (local_bool(w->ctx->cf, "expand_owner_alias") &&
		    *first != '\0' && strchr("|/:\\\"", *first) == NULL)
			owner = strchr(first, '@') != NULL ? xstrdup(first) :
			    xasprintf("%s@%s", first, origin.s);
		else
			owner = xasprintf("%s@%s", key, origin.s);
		strvec_deinit(&targets);
		str_deinit(&origin);
	}
	free(key);
	str_deinit(&val);
	return owner;
}

/* local_map_find - look the user name up in the tables of a *_maps
 * parameter (mailbox_command_maps, mailbox_transport_maps,
 * fallback_transport_maps: Postfix keys them by the recipient's user
 * name). 1 found (value in out), 0 not (or no tables), -1 a table could
 * not be read (the delivery is deferred). */
static int
local_map_find(struct local_walk *w, const char *param, const char *user, struct str *out)
{
	struct str spec;
	struct maps *m;
	const char *err;
	int r;

	str_init(&spec, 64);
	local_get(w->ctx->cf, param, &spec);
	str_reset(out);
	if (spec.len == 0) {
		str_deinit(&spec);
		return 0;
	}
	m = maps_open(spec.s, MAPS_FLAG_DEFER_ERRORS, &err);
	str_deinit(&spec);
	if (m == NULL)
		return -1;
	r = maps_find(m, user, out, &err);
	maps_free(&m);
	return r < 0 ? -1 : r == 1 ? 1 : 0;
}

/* local_pass - hand the recipient to another transport ("name" or
 * "name:nexthop": mailbox_transport, fallback_transport and their maps) */
static void
local_pass(struct local_walk *w, const char *addr, const char *transport, const char *sender)
{
	enum local_kind kind = LOCAL_PASS;
	char *key;

	if (strncmp(transport, "virtual", 7) == 0 && (transport[7] == '\0' ||
	    transport[7] == ':'))
		kind = LOCAL_VIRTUAL;
	key = xasprintf("v\t%s\t%s", transport, addr);
	if (!strvec_contains(&w->seen, key)) {
		local_add(w, kind, addr, kind == LOCAL_VIRTUAL ? addr : transport, sender);
		strvec_push_take(&w->seen, key);
		key = NULL;
	}
	free(key);
}

/* local_mailbox - the last step: the user's mailbox */
static void
local_mailbox(struct local_walk *w, const char *addr, const char *name, const char *ext,
    const char *sender, const struct local_user *u)
{
	struct str val, path;
	struct local_item *it;
	char *key;

	str_init(&val, 64);
	str_init(&path, 128);
	switch (local_map_find(w, "mailbox_command_maps", name, &val)) {
	case -1:
		local_fail(w, LOCAL_DEFER, addr, sender, "4.3.0",
		    "mailbox_command_maps lookup failure");
		goto out;
	case 0:
		local_get(w->ctx->cf, "mailbox_command", &val);
		break;
	}
	if (val.len > 0) {
		key = xasprintf("m\t%s", name);
		if (!strvec_contains(&w->seen, key)) {
			it = local_add(w, LOCAL_COMMAND, addr, val.s, sender);
			local_user_copy(&it->user, u);
			it->extension = ext != NULL ? xstrdup(ext) : NULL;
			strvec_push_take(&w->seen, key);
			key = NULL;
		}
		free(key);
		goto out;
	}
	local_get(w->ctx->cf, "home_mailbox", &val);
	if (val.len > 0) {
		str_appendf(&path, "%s/%s", u->home, val.s);
	} else {
		local_get(w->ctx->cf, "mail_spool_directory", &val);
		while (val.len > 1 && val.s[val.len - 1] == '/' && val.s[val.len - 2] == '/')
			str_truncate(&val, val.len - 1);
		if (val.len > 0 && val.s[val.len - 1] == '/')
			str_appendf(&path, "%s%s/", val.s, name);	/* a Maildir spool */
		else
			str_appendf(&path, "%s/%s", val.s, name);
	}
	key = xasprintf("b\t%s", path.s);
	if (!strvec_contains(&w->seen, key)) {
		it = local_add(w, LOCAL_MAILBOX, addr, path.s, sender);
		local_user_copy(&it->user, u);
		it->extension = ext != NULL ? xstrdup(ext) : NULL;
		strvec_push_take(&w->seen, key);
		key = NULL;
	}
	free(key);
out:
	str_deinit(&val);
	str_deinit(&path);
}

/* local_forward_file - the user's .forward (forward_path): 1 when one was
 * found and expanded (the mailbox is not used unless it names \user),
 * 0 when there is none */
static int
local_forward_file(struct local_walk *w, const char *addr, const char *local, const char *ext,
    const char *sender, const struct local_user *u, int depth)
{
	struct strvec paths, items;
	struct str val, path, text, delim;
	struct local_vars v;
	struct stat st;
	size_t i, j;
	int fd, found = 0;

	str_init(&val, 128);
	str_init(&path, 128);
	str_init(&text, 1024);
	str_init(&delim, 8);
	local_get(w->ctx->cf, "forward_path", &val);
	local_get(w->ctx->cf, "recipient_delimiter", &delim);
	memset(&v, 0, sizeof(v));
	v.user = u->name;
	v.home = u->home;
	v.shell = u->shell;
	v.recipient = addr;
	v.extension = ext;
	v.domain = w->domain;
	v.local = local;
	v.recipient_delimiter = delim.len > 0 ? delim.s : NULL;
	strvec_init(&paths);
	maincf_list_split(val.s, &paths);
	for (i = 0; i < paths.n && !found; i++) {
		if (local_expand_path(paths.v[i], &v, &path) != 1)
			continue;
		/* Opened as the process that expands; the checks are
		 * Postfix's: a regular file, not a symlink, owned by the user
		 * or root, writable only by its owner. */
		fd = open(path.s, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT && errno != ENOTDIR)
				log_warn("cannot open %s: %s", path.s, strerror(errno));
			continue;
		}
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			continue;
		}
		close(fd);
		if ((st.st_uid != u->uid && st.st_uid != 0) ||
		    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
			log_warn("file %s has bad owner or is group or world writable; ignored",
			    path.s);
			continue;
		}
		if (file_read(path.s, LOCAL_INCLUDE_MAX, &text) != 0)
			continue;
		strvec_init(&items);
		local_split_lines(text.s, &items);
		if (items.n > 0) {
			found = 1;
			for (j = 0; j < items.n; j++)
				local_target(w, addr, items.v[j], sender, LOCAL_SRC_FORWARD, u->name,
				    (uid_t)-1, u, depth);
		}
		strvec_deinit(&items);
	}
	strvec_deinit(&paths);
	str_deinit(&val);
	str_deinit(&path);
	str_deinit(&text);
	str_deinit(&delim);
	return found;
}

/* local_unknown - a recipient that is no user: fallback_transport_maps,
 * fallback_transport, then luser_relay (an address, with $user,
 * $extension, $domain, $local, $recipient expanded, delivered as if it
 * had been forwarded), else Postfix's "unknown user" */
static void
local_unknown(struct local_walk *w, const char *full, const char *local, const char *user,
    const char *ext, const char *delim, const char *sender, int depth)
{
	struct str val, addr;
	struct local_vars v;

	str_init(&val, 64);
	str_init(&addr, 64);
	switch (local_map_find(w, "fallback_transport_maps", user, &val)) {
	case -1:
		local_fail(w, LOCAL_DEFER, full, sender, "4.3.0",
		    "fallback_transport_maps lookup failure");
		goto out;
	case 0:
		local_get(w->ctx->cf, "fallback_transport", &val);
		break;
	}
	if (val.len > 0) {
		local_pass(w, full, val.s, sender);
		goto out;
	}
	local_get(w->ctx->cf, "luser_relay", &val);
	if (val.len > 0) {
		memset(&v, 0, sizeof(v));
		v.user = user;
		v.recipient = full;
		v.extension = ext;
		v.domain = strrchr(full, '@') + 1;
		v.local = local;
		v.recipient_delimiter = *delim != '\0' ? delim : NULL;
		if (local_expand_path(val.s, &v, &addr) == 1 && addr.len > 0 &&
		    strpbrk(addr.s, " \t\r\n,") == NULL) {
			if (strchr(addr.s, '@') == NULL) {
				struct str origin;

				str_init(&origin, 64);
				local_get(w->ctx->cf, "myorigin", &origin);
				str_appendf(&addr, "@%s", origin.s);
				str_deinit(&origin);
			}
			/* a relay that resolves to this transport again is
			 * expanded here (depth-limited: a relay that is itself
			 * unknown ends as a forwarding loop) */
			local_recipient(w, addr.s, sender, LOCAL_SRC_NONE, NULL, depth + 1);
			goto out;
		}
		log_warn("luser_relay: bad result \"%s\" for %s; ignored", addr.s, full);
	}
	local_fail(w, LOCAL_BOUNCE, full, sender, "5.1.1", "unknown user: \"%s\"", local);
out:
	str_deinit(&val);
	str_deinit(&addr);
}

/* local_recipient - one address: Postfix's deliver_recipient() order */
static void
local_recipient(struct local_walk *w, const char *addr_in, const char *sender,
    enum local_source exp_type, const char *exp_from, int depth)
{
	struct str local, base, ext, delim, val, full, route_t, route_n;
	const char *at, *err, *domain;
	struct local_user u;
	char *owner, *key;
	size_t i;
	int r;

	memset(&u, 0, sizeof(u));
	if (depth > LOCAL_MAX_DEPTH) {
		local_fail(w, LOCAL_BOUNCE, addr_in, sender, "5.4.6", "mail forwarding loop for %s",
		    addr_in);
		return;
	}
	str_init(&full, 64);
	str_init(&route_t, 16);
	str_init(&route_n, 16);
	/* an address of another domain goes back to the queue */
	at = strrchr(addr_in, '@');
	if (at != NULL && depth > 0) {
		if (qmgr_route(w->ctx->cf, addr_in, &route_t, &route_n, &err) != 0) {
			local_fail(w, LOCAL_DEFER, addr_in, sender, "4.3.0", "%s", err);
			goto out0;
		}
		if (strcmp(route_t.s, w->ctx->service) != 0) {
			key = xasprintf("r\t%s", addr_in);
			if (!strvec_contains(&w->seen, key)) {
				local_add(w, LOCAL_FORWARD, addr_in, addr_in, sender);
				strvec_push_take(&w->seen, key);
				key = NULL;
			}
			free(key);
			goto out0;
		}
	}
	domain = at != NULL ? at + 1 : w->domain;
	str_init(&local, 64);
	str_append_n(&local, addr_in, at != NULL ? (size_t)(at - addr_in) : strlen(addr_in));
	for (i = 0; i < local.len; i++)
		local.s[i] = (char)tolower((unsigned char)local.s[i]);
	str_appendf(&full, "%s@%s", local.s, domain);
	str_init(&base, 64);
	str_init(&ext, 16);
	str_init(&delim, 8);
	str_init(&val, 128);

	if (!local_part_is_safe(local.s)) {
		local_fail(w, LOCAL_BOUNCE, full.s, sender, "5.1.1", "unknown user: \"%s\"", local.s);
		goto out;
	}
	/* Delivered-To: this address already: the message went round */
	for (i = 0; w->ctx->delivered_to != NULL && i < w->ctx->delivered_to->n; i++) {
		if (strcasecmp(w->ctx->delivered_to->v[i], full.s) == 0) {
			local_fail(w, LOCAL_BOUNCE, full.s, sender, "5.4.6",
			    "mail forwarding loop for %s", full.s);
			goto out;
		}
	}
	local_get(w->ctx->cf, "recipient_delimiter", &delim);
	str_append(&base, local.s);
	/* owner_request_special: with "-" as a delimiter, owner-list and
	 * list-request are names of their own, not list with an extension */
	if (delim.len > 0 && strchr(delim.s, '-') != NULL &&
	    local_bool(w->ctx->cf, "owner_request_special") &&
	    (strncmp(local.s, "owner-", 6) == 0 ||
	    (local.len > 8 && strcmp(local.s + local.len - 8, "-request") == 0)))
		str_truncate(&delim, 0);
	if (delim.len > 0) {
		size_t k = strcspn(local.s, delim.s);

		if (k > 0 && k < local.len) {
			str_truncate(&base, k);
			str_append(&ext, local.s + k + 1);
		}
	}

	/* aliases: the full local part, then without the extension; an
	 * alias that names itself is delivered as a user (user: user, x) */
	if (w->ctx->aliases != NULL && !(exp_from != NULL && strcmp(exp_from, base.s) == 0 &&
	    (exp_type == LOCAL_SRC_ALIAS || exp_type == LOCAL_SRC_FORWARD ||
	    exp_type == LOCAL_SRC_INCLUDE))) {
		const char *keys[2] = { local.s, base.s };
		int nkeys = ext.len > 0 ? 2 : 1, k;

		for (k = 0; k < nkeys; k++) {
			if (exp_from != NULL && strcmp(exp_from, keys[k]) == 0)
				continue;
			r = maps_find(w->ctx->aliases, keys[k], &val, &err);
			if (r < 0) {
				local_fail(w, LOCAL_DEFER, full.s, sender, "4.3.0",
				    "alias database unavailable: %s", err);
				goto out;
			}
			if (r == 0)
				continue;
			key = xasprintf("a\t%s", keys[k]);
			if (strvec_contains(&w->seen, key)) {
				/* still being expanded further up: a loop */
				free(key);
				local_fail(w, LOCAL_BOUNCE, full.s, sender, "5.4.6",
				    "mail forwarding loop for %s", full.s);
				goto out;
			}
			key[0] = 'A';
			if (strvec_contains(&w->seen, key)) {
				/* expanded before in another branch: delivered once */
				free(key);
				goto out;
			}
			key[0] = 'a';
			strvec_push_take(&w->seen, key);
			{
				struct strvec targets;
				const char *exp_sender = sender;
				char *alias = xstrdup(keys[k]);
				size_t j;

				owner = local_alias_owner(w, alias);
				if (owner != NULL)
					exp_sender = owner;
				strvec_init(&targets);
				local_split_targets(val.s, &targets);
				for (j = 0; j < targets.n; j++)
					local_target(w, full.s, targets.v[j], exp_sender, LOCAL_SRC_ALIAS,
					    alias, w->ctx->alias_uid, NULL, depth);
				strvec_deinit(&targets);
				free(owner);
				free(alias);
			}
			/* done: from now on a repeat is a duplicate, not a loop */
			for (i = 0; i < w->seen.n; i++)
				if (w->seen.v[i][0] == 'a' && w->seen.v[i][1] == '\t' &&
				    strcmp(w->seen.v[i] + 2, keys[k]) == 0)
					w->seen.v[i][0] = 'A';
			goto out;
		}
	}

	/* Postfix's order after the aliases: .forward (users only),
	 * mailbox_transport_maps, mailbox_transport (users or not), then for
	 * users the mailbox (mailbox_command_maps, mailbox_command,
	 * home_mailbox, mail_spool_directory) and for others
	 * fallback_transport_maps, fallback_transport, luser_relay */
	r = w->ctx->lookup_user(base.s, &u);
	if (r < 0) {
		local_fail(w, LOCAL_DEFER, full.s, sender, "4.3.0", "user lookup error for %s",
		    base.s);
		goto out;
	}
	/* .forward, unless this address came from the user's own .forward */
	if (r == 1 &&
	    !(exp_type == LOCAL_SRC_FORWARD && exp_from != NULL && strcmp(exp_from, base.s) == 0)) {
		key = xasprintf("F\t%s", base.s);
		if (!strvec_contains(&w->seen, key)) {
			strvec_push_take(&w->seen, key);
			if (local_forward_file(w, full.s, local.s, ext.len > 0 ? ext.s : NULL, sender,
			    &u, depth) == 1)
				goto out;
		} else {
			free(key);
		}
	}
	switch (local_map_find(w, "mailbox_transport_maps", base.s, &val)) {
	case -1:
		local_fail(w, LOCAL_DEFER, full.s, sender, "4.3.0",
		    "mailbox_transport_maps lookup failure");
		goto out;
	case 0:
		local_get(w->ctx->cf, "mailbox_transport", &val);
		break;
	}
	if (val.len > 0) {
		local_pass(w, full.s, val.s, sender);
		goto out;
	}
	if (r == 0) {
		local_unknown(w, full.s, local.s, base.s, ext.len > 0 ? ext.s : NULL, delim.s,
		    sender, depth);
		goto out;
	}
	local_mailbox(w, full.s, base.s, ext.len > 0 ? ext.s : NULL, sender, &u);
out:
	local_user_deinit(&u);
	str_deinit(&local);
	str_deinit(&base);
	str_deinit(&ext);
	str_deinit(&delim);
	str_deinit(&val);
out0:
	str_deinit(&full);
	str_deinit(&route_t);
	str_deinit(&route_n);
}

int
local_expand(const struct local_expand_ctx *ctx, const char *rcpt, struct local_plan *plan_r,
    const char **error_r)
{
	struct local_walk w;
	const char *at = strrchr(rcpt, '@');
	struct str origin;

	memset(plan_r, 0, sizeof(*plan_r));
	memset(&w, 0, sizeof(w));
	w.ctx = ctx;
	w.plan = plan_r;
	strvec_init(&w.seen);
	str_init(&origin, 64);
	if (at == NULL)
		local_get(ctx->cf, "myorigin", &origin);
	w.domain = at != NULL ? at + 1 : origin.s;
	local_recipient(&w, rcpt, ctx->sender, LOCAL_SRC_NONE, NULL, 0);
	strvec_deinit(&w.seen);
	str_deinit(&origin);
	if (w.error != NULL) {
		*error_r = w.error;
		local_plan_deinit(plan_r);
		return -1;
	}
	return 0;
}
