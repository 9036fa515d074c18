/* imap_list.c - LIST, LSUB, LIST-EXTENDED, LIST-STATUS, SPECIAL-USE and
 * the subscriptions file. See imap_list.h.
 *
 * The names LIST can show are the Maildir++ folders, INBOX, and the
 * parents that exist only as a prefix of a folder ("Bar" of "Bar.Baz":
 * \Noselect, or \NonExistent in the extended syntax); with the SUBSCRIBED
 * selection, the subscribed names and their parents. Names are listed in
 * sorted order (Dovecot lists in directory order, which clients must not
 * rely on). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_conf.h"
#include "imap/imap_enable.h"
#include "imap/imap_layout.h"
#include "imap/imap_list.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_ns.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/util.h"
#include "storage/storage.h"

#define list_req imap_list_req

#define SEL_SUBSCRIBED	0x01
#define SEL_REMOTE	0x02
#define SEL_RECURSIVE	0x04
#define SEL_SPECIALUSE	0x08
#define RET_SUBSCRIBED	0x10
#define RET_CHILDREN	0x20
#define RET_SPECIALUSE	0x40
#define RET_STATUS	0x80

/* sep_q - the namespace separator as a quoted string (static buffer) */
static const char *
sep_q(const struct imap_sess *s)
{
	static char q[5];
	char sep = imap_ns_sep(s);

	if (sep == '"' || sep == '\\')
		(void)snprintf(q, sizeof(q), "\"\\%c\"", sep);
	else
		(void)snprintf(q, sizeof(q), "\"%c\"", sep);
	return q;
}

/* closure - the states reachable from those in st without reading: a
 * wildcard may match nothing */
static void
closure(const char *p, size_t m, bool *st)
{
	size_t i;

	for (i = 0; i < m; i++)
		if (st[i] && (p[i] == '*' || p[i] == '%'))
			st[i + 1] = true;
}

/* pattern_match - LIST wildcards ('*' anything, '%' anything but the
 * separator) as a set of pattern positions stepped over the name: time
 * pattern x name, never the backtracking that a pattern such as
 * "*a*a*a*a*a*a*b" would make exponential */
static bool
pattern_match(const char *p, const char *name, char sep)
{
	size_t m = strlen(p), i;
	bool *cur = xcalloc(m + 1, sizeof(bool)), *next = xcalloc(m + 1, sizeof(bool));
	bool *t, any = true, ok;

	cur[0] = true;
	closure(p, m, cur);
	for (; *name != '\0' && any; name++) {
		memset(next, 0, (m + 1) * sizeof(bool));
		any = false;
		for (i = 0; i < m; i++) {
			if (!cur[i])
				continue;
			if (p[i] == '*' || (p[i] == '%' && *name != sep))
				next[i] = any = true;
			else if (p[i] == *name)
				next[i + 1] = any = true;
		}
		closure(p, m, next);
		t = cur;
		cur = next;
		next = t;
	}
	ok = any && cur[m];
	free(cur);
	free(next);
	return ok;
}

bool
imap_list_match(const char *pattern, const char *name, char sep)
{
	char *pc = xstrdup(pattern), *nc = xstrdup(name);
	bool m;

	/* INBOX is case-insensitive, also as a prefix of a pattern */
	if (strncasecmp(pc, "INBOX", 5) == 0 && (pc[5] == '\0' || pc[5] == sep ||
	    pc[5] == '*' || pc[5] == '%'))
		memcpy(pc, "INBOX", 5);
	m = pattern_match(pc, nc, sep);
	free(pc);
	free(nc);
	return m;
}

static char *
subscriptions_path(const struct imap_layout *l)
{
	return path_join(l->root, l->mbox ? ".subscriptions" : "subscriptions");
}

void
imap_subscriptions_read(const struct imap_layout *l, struct strvec *out)
{
	char *path = subscriptions_path(l);
	struct str buf;
	char *line, *save = NULL;
	bool v2 = false, first = true;
	struct str err;

	str_init(&err, 64);
	str_init(&buf, 256);
	if (file_read(path, 1024 * 1024, &buf) == 0) {
		for (line = strtok_r(buf.s, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			char *t;

			/* the version header is the first line only: "V\tx"
			 * later is the mailbox V/x */
			if (first && strncmp(line, "V\t", 2) == 0) {
				first = false;
				v2 = true;
				continue;
			}
			first = false;
			if (*line == '\0')
				continue;
			/* Dovecot's version 2 file separates levels with TAB,
			 * so a '.' there is inside a level (LAYOUT=fs) */
			for (t = line; v2 && *t != '\0'; t++)
				if (*t == '\t')
					*t = '.';
				else if (*t == '.')
					*t = IMAP_NAME_DOT;
			/* a name no client could subscribe ("../x" in an
			 * old file) never reaches a path */
			if (imap_mailbox_name_check(line, &err) != 0 &&
			    strcasecmp(line, "INBOX") != 0)
				continue;
			if (!strvec_contains(out, line))
				strvec_push(out, line);
		}
	}
	str_deinit(&buf);
	str_deinit(&err);
	free(path);
}

char *
imap_subscriptions_lock(const struct imap_layout *l)
{
	char *path = subscriptions_path(l), *lock = NULL;
	int tries;

	for (tries = 0; storage_dotlock_take(path, &lock) != 0; tries++) {
		if (errno != EEXIST || tries >= 300)
			break;
		usleep(10000);
	}
	free(path);
	return lock;
}

void
imap_subscriptions_unlock(char **lock)
{
	storage_dotlock_release(lock);
}

int
imap_subscriptions_write(const struct imap_layout *l, const struct strvec *names)
{
	char *path = subscriptions_path(l);
	struct str buf;
	size_t i;
	int ret;

	str_init(&buf, 256);
	str_append(&buf, "V\t2\n\n");
	for (i = 0; i < names->n; i++) {
		const char *c;

		for (c = names->v[i]; *c != '\0'; c++)
			str_append_c(&buf, *c == '.' ? '\t' : *c == IMAP_NAME_DOT ? '.' : *c);
		str_append_c(&buf, '\n');
	}
	ret = file_write_atomic(path, buf.s, buf.len, 0600);
	str_deinit(&buf);
	free(path);
	return ret;
}

static bool
mailbox_exists(const struct imap_sess *s, const char *name)
{
	char *dir;
	bool ok;

	if (strcmp(name, "INBOX") == 0)
		return true;
	dir = imap_sess_dir(s, name);
	ok = imap_layout_selectable(&s->layout, dir);
	free(dir);
	return ok;
}

/* mkdir_parents - path and its missing parents (0700, as the user);
 * 0 when path was made now */
static int
mkdir_parents(const char *path)
{
	char *p = xstrdup(path), *slash;
	int ret;

	for (slash = strchr(p + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(p, 0700);
		*slash = '/';
	}
	ret = mkdir(p, 0700);
	free(p);
	return ret;
}

void
imap_list_autocreate(struct imap_sess *s)
{
	struct strvec subs;
	bool changed = false;
	size_t i;
	char *lock;

	if (s->conf == NULL || s->conf->nmb == 0)
		return;
	/* INBOX's Maildir may not exist before the first delivery; Dovecot
	 * creates it at login, and the folders live inside it */
	if (mkdir_parents(s->root) == 0) {
		static const char *const subdirs[] = { "cur", "new", "tmp" };

		for (i = 0; i < 3; i++) {
			char *sub = path_join(s->root, subdirs[i]);

			(void)mkdir(sub, 0700);
			free(sub);
		}
	}
	strvec_init(&subs);
	lock = imap_subscriptions_lock(&s->layout);
	imap_subscriptions_read(&s->layout, &subs);
	for (i = 0; i < s->conf->nmb; i++) {
		const struct imap_special *sp = &s->conf->mb[i];
		struct str e;

		if (sp->autom == IMAP_AUTO_NO || imap_mailbox_is_inbox(sp->name))
			continue;
		str_init(&e, 64);
		if (imap_mailbox_name_check(sp->name, &e) != 0) {
			log_warn("imap(%s): mailbox %s: %s", s->user, sp->name, e.s);
			str_deinit(&e);
			continue;
		}
		str_deinit(&e);
		if (!mailbox_exists(s, sp->name)) {
			char *dir = imap_sess_dir(s, sp->name);

			if (imap_layout_create(&s->layout, dir) != 0 && errno != EEXIST)
				log_error("imap(%s): autocreate %s failed: %s", s->user, dir,
				    strerror(errno));
			free(dir);
		}
		if (sp->autom == IMAP_AUTO_SUBSCRIBE && !strvec_contains(&subs, sp->name)) {
			strvec_push(&subs, sp->name);
			changed = true;
		}
	}
	if (changed && imap_subscriptions_write(&s->layout, &subs) != 0)
		log_error("imap(%s): cannot write subscriptions: %s", s->user, strerror(errno));
	imap_subscriptions_unlock(&lock);
	strvec_deinit(&subs);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* add_parents - every "a" and "a.b" of "a.b.c" in names, when missing */
static void
add_parents(struct strvec *names)
{
	size_t i, j;

	for (i = 0, j = names->n; i < j; i++) {
		char *p = xstrdup(names->v[i]), *dot;

		while ((dot = strrchr(p, '.')) != NULL) {
			*dot = '\0';
			if (*p != '\0' && !strvec_contains(names, p))
				strvec_push(names, p);
		}
		free(p);
	}
}

/* has_descendant - some name in v is below name */
static bool
has_descendant(const struct strvec *v, const char *name)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < v->n; i++)
		if (strncmp(v->v[i], name, nl) == 0 && v->v[i][nl] == '.')
			return true;
	return false;
}


/* any_match - the patterns are the client's, so the internal name is
 * matched in the form the client sees (imap_ns.c) */
/* inbox_parent - with prefix "INBOX." every folder shows below INBOX */
static bool
inbox_parent(const struct imap_sess *s, const char *name, const struct strvec *existing)
{
	const char *p = imap_ns_prefix(s);

	return strcmp(name, "INBOX") == 0 && strncmp(p, "INBOX", 5) == 0 &&
	    p[5] == imap_ns_sep(s) && p[6] == '\0' && existing->n > 1;
}

static bool
any_match(const struct imap_sess *s, const struct list_req *r, const char *name)
{
	struct str c;
	size_t i;
	bool m = false;

	str_init(&c, strlen(name) + 16);
	imap_ns_out(s, name, &c);
	for (i = 0; i < r->npat && !m; i++)
		m = imap_list_match(r->pat[i], c.s, imap_ns_sep(s));
	str_deinit(&c);
	return m;
}

static bool
status_item_ok(const char *it)
{
	static const char *const ok[] = { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN" };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(it, ok[i]) == 0)
			return true;
	return false;
}

/* parse_opts - the selection or return options; NULL, or the BAD text */
static const char *
parse_opts(struct list_req *r, const struct imap_arg *l, bool ret)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		const char *o = l->list[i].type == IMAP_ARG_ATOM ? l->list[i].str : NULL;

		if (o == NULL)
			return ret ? "Unknown return options" : "Unknown select options";
		if (!ret && strcasecmp(o, "SUBSCRIBED") == 0)
			r->opts |= SEL_SUBSCRIBED;
		else if (!ret && strcasecmp(o, "REMOTE") == 0)
			r->opts |= SEL_REMOTE;
		else if (!ret && strcasecmp(o, "RECURSIVEMATCH") == 0)
			r->opts |= SEL_RECURSIVE;
		else if (!ret && strcasecmp(o, "SPECIAL-USE") == 0)
			r->opts |= SEL_SPECIALUSE;
		else if (ret && strcasecmp(o, "SUBSCRIBED") == 0)
			r->opts |= RET_SUBSCRIBED;
		else if (ret && strcasecmp(o, "CHILDREN") == 0)
			r->opts |= RET_CHILDREN;
		else if (ret && strcasecmp(o, "SPECIAL-USE") == 0)
			r->opts |= RET_SPECIALUSE;
		else if (ret && strcasecmp(o, "STATUS") == 0 && i + 1 < l->count &&
		    l->list[i + 1].type == IMAP_ARG_LIST) {
			const struct imap_arg *st = &l->list[++i];
			size_t k;

			for (k = 0; k < st->count; k++) {
				const char *it = imap_arg_string(&st->list[k]);

				if (it == NULL || !status_item_ok(it))
					return "Invalid status item";
			}
			r->opts |= RET_STATUS;
			r->status = st;
		} else
			return ret ? "Unknown return options" : "Unknown select options";
	}
	if ((r->opts & (SEL_RECURSIVE | SEL_SUBSCRIBED | SEL_SPECIALUSE)) == SEL_RECURSIVE)
		return "RECURSIVEMATCH must not be the only selection";
	return NULL;
}

void
imap_list_req_free(struct list_req *r)
{
	size_t i;

	for (i = 0; i < r->npat; i++)
		free((char *)(uintptr_t)r->pat[i]);
	free(r->pat);
}

/* list_status - the STATUS line of LIST-STATUS, through STATUS itself */
static void
list_status(struct imap_sess *s, const char *name, const struct imap_arg *items)
{
	struct imap_arg args[2];
	struct str tmp;

	memset(args, 0, sizeof(args));
	args[0].type = IMAP_ARG_STRING;
	args[0].str = name;
	args[0].len = strlen(name);
	args[1] = *items;
	str_init(&tmp, 64);
	(void)imap_cmd_status(s, args, 2, &tmp);
	str_deinit(&tmp);
}

static const char *
cmd_lsub(struct imap_sess *s, const struct list_req *r, struct str *reply)
{
	struct strvec subs, all;
	size_t i, k;

	strvec_init(&subs);
	strvec_init(&all);
	imap_subscriptions_read(&s->layout, &subs);
	for (i = 0; i < subs.n; i++)
		strvec_push(&all, subs.v[i]);
	add_parents(&all);
	qsort(all.v, all.n, sizeof(char *), str_cmp);
	for (i = 0; i < all.n; i++) {
		const char *name = all.v[i];
		bool parent_only = !strvec_contains(&subs, name), shown = false;
		struct str q;

		if (!any_match(s, r, name))
			continue;
		/* an unsubscribed parent shows (as \Noselect) only where "%"
		 * stops above its subscribed children */
		if (parent_only) {
			for (k = 0; k < r->npat; k++)
				if (strchr(r->pat[k], '%') != NULL)
					shown = true;
			if (!shown)
				continue;
		}
		str_init(&q, 64);
		imap_sess_name(s, &q, name);
		imap_sess_printf(s, "* LSUB (%s) %s %s\r\n", parent_only ? "\\Noselect" :
		    s->conf != NULL ? imap_conf_special_use(s->conf, name) : "", sep_q(s), q.s);
		str_deinit(&q);
	}
	strvec_deinit(&subs);
	strvec_deinit(&all);
	str_append(reply, "Lsub completed");
	return "OK";
}

int
imap_list_parse(const struct imap_arg *a, size_t n, bool lsub, struct list_req *r,
    struct str *err_text)
{
	const char *err;
	size_t i = 0, k;

	memset(r, 0, sizeof(*r));
	if (!lsub && n > 0 && a[0].type == IMAP_ARG_LIST) {
		r->extended = true;
		if ((err = parse_opts(r, &a[0], false)) != NULL)
			return str_appendf(err_text, "Error in IMAP command LIST: %s", err), -1;
		i++;
	}
	if (i + 2 > n || !imap_arg_is_astring(&a[i]) ||
	    (!imap_arg_is_astring(&a[i + 1]) && (lsub || a[i + 1].type != IMAP_ARG_LIST)))
		return str_append(err_text, "Error in IMAP command: Invalid arguments"), -1;
	r->ref = a[i].str;
	if (a[i + 1].type == IMAP_ARG_LIST) {
		const struct imap_arg *l = &a[i + 1];

		r->extended = true;
		r->pat = xcalloc(l->count + 1, sizeof(*r->pat));
		for (k = 0; k < l->count; k++) {
			if (!imap_arg_is_astring(&l->list[k])) {
				imap_list_req_free(r);
				return str_append(err_text, "Error in IMAP command: Invalid arguments"),
				    -1;
			}
			r->pat[r->npat++] = xasprintf("%s%s", r->ref, l->list[k].str);
		}
	} else {
		r->pat = xcalloc(2, sizeof(*r->pat));
		r->pat[r->npat++] = xasprintf("%s%s", r->ref, a[i + 1].str);
		r->empty = *a[i + 1].str == '\0';
	}
	i += 2;
	if (i < n) {
		if (lsub || i + 2 != n || a[i].type != IMAP_ARG_ATOM ||
		    strcasecmp(a[i].str, "RETURN") != 0 || a[i + 1].type != IMAP_ARG_LIST) {
			imap_list_req_free(r);
			return str_append(err_text, "Error in IMAP command: Invalid arguments"), -1;
		}
		r->extended = true;
		if ((err = parse_opts(r, &a[i + 1], true)) != NULL) {
			imap_list_req_free(r);
			if (strcmp(err, "Invalid status item") == 0) {
				/* name the item, upper-cased, as Dovecot does */
				const struct imap_arg *l = &a[i + 1];

				for (k = 0; k < l->count; k++) {
					size_t j;

					if (l->list[k].type != IMAP_ARG_LIST)
						continue;
					for (j = 0; j < l->list[k].count; j++) {
						const char *it = imap_arg_string(&l->list[k].list[j]);
						char *up, *c;

						if (it != NULL && status_item_ok(it))
							continue;
						up = xstrdup(it != NULL ? it : "");
						for (c = up; *c != '\0'; c++)
							if (*c >= 'a' && *c <= 'z')
								*c = (char)(*c - 32);
						str_appendf(err_text, "Error in IMAP command LIST: "
						    "Invalid status item %s", up);
						free(up);
						return -1;
					}
				}
			}
			return str_appendf(err_text, "Error in IMAP command LIST: %s", err), -1;
		}
	}
	return 0;
}

const char *
imap_cmd_list(struct imap_sess *s, const struct imap_arg *a, size_t n, bool lsub,
    struct str *reply)
{
	struct list_req r;
	struct strvec names, subs, existing, parents;
	const char *status = "OK";
	size_t k;

	if (imap_list_parse(a, n, lsub, &r, reply) != 0)
		return "BAD";
	if (lsub) {
		status = cmd_lsub(s, &r, reply);
		imap_list_req_free(&r);
		return status;
	}
	if (!r.extended && r.empty) {
		/* LIST "" "": the hierarchy separator */
		imap_sess_printf(s, "* LIST (\\Noselect) %s \"\"\r\n", sep_q(s));
		imap_list_req_free(&r);
		return str_append(reply, "List completed"), "OK";
	}
	strvec_init(&names);
	strvec_init(&subs);
	strvec_init(&existing);
	strvec_init(&parents);
	imap_subscriptions_read(&s->layout, &subs);
	{
		struct strvec dirs;

		/* LAYOUT=fs: a directory without cur/ is only a parent,
		 * listed \Noselect even when empty, as Dovecot lists it */
		strvec_init(&dirs);
		imap_layout_folders(&s->layout, &dirs);
		for (k = 0; k < dirs.n; k++) {
			char *dir = imap_sess_dir(s, dirs.v[k]);

			if (imap_layout_selectable(&s->layout, dir))
				strvec_push(&existing, dirs.v[k]);
			else if (s->layout.fs)
				strvec_push(&parents, dirs.v[k]);
			free(dir);
		}
		strvec_deinit(&dirs);
	}
	strvec_push(&existing, "INBOX");
	for (k = 0; k < existing.n; k++)
		strvec_push(&names, existing.v[k]);
	for (k = 0; k < parents.n; k++)
		strvec_push(&names, parents.v[k]);
	if (r.opts & SEL_SUBSCRIBED)
		for (k = 0; k < subs.n; k++)
			if (!strvec_contains(&names, subs.v[k]))
				strvec_push(&names, subs.v[k]);
	add_parents(&names);
	qsort(names.v, names.n, sizeof(char *), str_cmp);
	for (k = 0; k < names.n; k++) {
		const char *name = names.v[k];
		const char *use = s->conf != NULL ? imap_conf_special_use(s->conf, name) : "";
		bool exists = strvec_contains(&existing, name);
		bool on_disk = exists || strvec_contains(&parents, name);
		bool subscribed = strvec_contains(&subs, name);
		bool children = has_descendant(&existing, name) || has_descendant(&parents, name) ||
		    inbox_parent(s, name, &existing);
		bool childinfo = false;
		struct str attrs, q;

		if (!any_match(s, &r, name))
			continue;
		if (r.opts & SEL_SUBSCRIBED) {
			if (!subscribed) {
				size_t j, nl = strlen(name);

				/* RECURSIVEMATCH: a subscribed descendant that the
				 * patterns themselves do not reach */
				if (!(r.opts & SEL_RECURSIVE))
					continue;
				for (j = 0; j < subs.n; j++)
					if (strncmp(subs.v[j], name, nl) == 0 && subs.v[j][nl] == '.' &&
					    !any_match(s, &r, subs.v[j]))
						childinfo = true;
				if (!childinfo)
					continue;
			} else if (r.opts & SEL_RECURSIVE) {
				size_t j, nl = strlen(name);

				for (j = 0; j < subs.n; j++)
					if (strncmp(subs.v[j], name, nl) == 0 && subs.v[j][nl] == '.' &&
					    !any_match(s, &r, subs.v[j]))
						childinfo = true;
			}
		} else if (!on_disk && !children) {
			continue;
		}
		if ((r.opts & SEL_SPECIALUSE) && (!exists || *use == '\0'))
			continue;
		str_init(&attrs, 64);
		if (!r.extended) {
			/* IMAP4rev2 (RFC 9051 7.3.1) says \NonExistent */
			if (!exists)
				str_append(&attrs, s->rev2 && !on_disk ? "\\NonExistent " : "\\Noselect ");
			str_append(&attrs, children ? "\\HasChildren" : "\\HasNoChildren");
			if (*use != '\0')
				str_appendf(&attrs, " %s", use);
		} else {
			if (subscribed && (r.opts & (SEL_SUBSCRIBED | RET_SUBSCRIBED)))
				str_append(&attrs, " \\Subscribed");
			if (!exists)
				str_append(&attrs, on_disk ? " \\Noselect" : " \\NonExistent");
			if (r.opts & RET_CHILDREN)
				str_append(&attrs, children ? " \\HasChildren" : " \\HasNoChildren");
			if (*use != '\0' && (r.opts & (SEL_SPECIALUSE | RET_SPECIALUSE)))
				str_appendf(&attrs, " %s", use);
		}
		str_init(&q, 64);
		imap_sess_name(s, &q, name);
		imap_sess_printf(s, "* LIST (%s) %s %s%s\r\n", attrs.s + (r.extended && attrs.len > 0),
		    sep_q(s), q.s, childinfo ? " (CHILDINFO (\"SUBSCRIBED\"))" : "");
		if ((r.opts & RET_STATUS) && exists)
			list_status(s, name, r.status);
		str_deinit(&q);
		str_deinit(&attrs);
	}
	strvec_deinit(&names);
	strvec_deinit(&subs);
	strvec_deinit(&existing);
	strvec_deinit(&parents);
	imap_list_req_free(&r);
	str_append(reply, "List completed");
	return status;
}
