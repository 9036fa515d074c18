/* managesieve_session.c - a logged-in ManageSieve session, in the process
 * that became the user: LISTSCRIPTS, GETSCRIPT, PUTSCRIPT, CHECKSCRIPT,
 * SETACTIVE, DELETESCRIPT, RENAMESCRIPT, HAVESPACE, CAPABILITY, NOOP,
 * LOGOUT on the user's script storage (sieve_storage.c, plugin/sieve).
 * A script is compiled by src/sieve before it is stored; its errors go
 * back in the NO reply with their lines. Quotas: sieve_max_script_size
 * (QUOTA/MAXSIZE), sieve_quota_max_scripts (QUOTA/MAXSCRIPTS),
 * sieve_quota_max_storage (QUOTA/MAXSTORAGE). Replies and log lines are
 * Pigeonhole 2.3's. Tests: tests/e2e/test_managesieve.py */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "managesieve/managesieve-private.h"
#include "login/login_split.h"
#include "managesieve/sieve_storage.h"
#include "pop3/pop3-private.h"

struct msieve_session {
	struct pop3_client *client;
	struct pop3_conn *conn;
	struct msieve_reader rd;
	struct sieve_storage st;
	const char *user;
	unsigned bad;
};

/* --- the storage location --- */

/* expand - "~/" as $HOME, %u %n %d %h as Dovecot's variables */
static char *
expand(const char *s, size_t len, const char *user)
{
	const char *home = getenv("HOME") != NULL ? getenv("HOME") : "";
	const char *at = strchr(user, '@');
	struct str out;

	str_init(&out, len + 64);
	if (len >= 1 && s[0] == '~' && (len == 1 || s[1] == '/')) {
		str_append(&out, home);
		s++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%' || i + 1 >= len) {
			str_append_c(&out, s[i]);
			continue;
		}
		switch (s[++i]) {
		case 'u':
			str_append(&out, user);
			break;
		case 'n':
			str_append_n(&out, user, at != NULL ? (size_t)(at - user) : strlen(user));
			break;
		case 'd':
			str_append(&out, at != NULL ? at + 1 : "");
			break;
		case 'h':
			str_append(&out, home);
			break;
		default:
			str_append_c(&out, s[i]);
		}
	}
	return str_export(&out);
}

/* storage_open - "file:DIR;active=PATH" (or "DIR") into st */
static void
storage_open(struct sieve_storage *st, const char *location, const char *user)
{
	const char *loc = strncmp(location, "file:", 5) == 0 ? location + 5 : location;
	const char *act = strstr(loc, ";active=");
	char *dir = expand(loc, strcspn(loc, ";"), user);
	char *active = act != NULL ? expand(act + 8, strcspn(act + 8, ";"), user) :
	    expand("~/.dovecot.sieve", 16, user);

	sieve_storage_init(st, dir, active);
	free(dir);
	free(active);
}

/* --- replies --- */

static void
reply_error(struct msieve_session *s, const char *verb, const char *text)
{
	(void)msieve_replyf(s->conn, "NO", NULL, "Error in MANAGESIEVE command %s: %s", verb, text);
}

/* reply_storage - a storage failure in Pigeonhole's words (err->text
 * becomes them too, for the log line) */
static void
reply_storage(struct msieve_session *s, const char *name, struct sieve_storage_error *err)
{
	struct str n;

	str_init(&n, 64);
	msieve_printable(&n, name, strlen(name));
	if (err->code != NULL && strcmp(err->code, "NONEXISTENT") == 0)
		snprintf(err->text, sizeof(err->text), "Sieve script `%s' not found", n.s);
	else if (err->code != NULL && strcmp(err->code, "ACTIVE") == 0)
		snprintf(err->text, sizeof(err->text), "Cannot delete the active Sieve script.");
	else if (err->code != NULL && strcmp(err->code, "ALREADYEXISTS") == 0)
		snprintf(err->text, sizeof(err->text),
		    "A sieve script with that name already exists.");
	(void)msieve_reply(s->conn, "NO", err->code, err->text, strlen(err->text));
	str_deinit(&n);
}

static void
log_session(const struct msieve_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_session(const struct msieve_session *s, const char *fmt, ...)
{
	struct str text, u;
	va_list ap;

	str_init(&text, 128);
	str_init(&u, 64);
	va_start(ap, fmt);
	str_vappendf(&text, fmt, ap);
	va_end(ap);
	log_printable(&u, s->user, 100);
	log_info("managesieve(%s)<%ld><%s>: %s", u.s, (long)getpid(), s->client->session, text.s);
	str_deinit(&text);
	str_deinit(&u);
}

/* crlf - the engine's "\n" lines as CRLF, "NAME: " dropped when strip */
static void
crlf(struct str *out, const struct str *in, const char *strip)
{
	size_t sl = strip != NULL ? strlen(strip) : 0;
	const char *p = in->s, *end = in->s + in->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (sl > 0 && n >= sl && memcmp(p, strip, sl) == 0) {
			p += sl;
			n -= sl;
		}
		str_append_n(out, p, n);
		str_append(out, "\r\n");
		p += n + (nl != NULL ? 1 : 0);
	}
}

/* --- quotas --- */

/* quota_check - can NAME of size bytes be stored? true, or false with
 * the NO sent. Counts every other script and its size. */
static bool
quota_check(struct msieve_session *s, const char *name, uint64_t size)
{
	const struct msieve_settings *set = &msieve_set;
	struct sieve_storage_error err = { 0 };
	struct strvec names;
	uint64_t used = size, count = 1;
	long active;
	bool ok = true;

	if (size > set->cfg.limits.max_script_size) {
		(void)msieve_replyf(s->conn, "NO", "QUOTA/MAXSIZE", "Script is too large (max %zu "
		    "bytes).", set->cfg.limits.max_script_size);
		return false;
	}
	if (set->quota_max_scripts == 0 && set->quota_max_storage == 0)
		return true;
	strvec_init(&names);
	if (sieve_storage_list(&s->st, &names, &active, &err) != 0) {
		(void)msieve_reply(s->conn, "NO", NULL, err.text, strlen(err.text));
		strvec_deinit(&names);
		return false;
	}
	for (size_t i = 0; i < names.n; i++) {
		char *path;
		struct stat sb;

		if (strcmp(names.v[i], name) == 0)
			continue;	/* replaced: its old size does not count */
		count++;
		path = xasprintf("%s/%s.sieve", s->st.dir, names.v[i]);
		if (stat(path, &sb) == 0)
			used += (uint64_t)sb.st_size;
		free(path);
	}
	strvec_deinit(&names);
	/* storage before count, as Pigeonhole reports a big fourth script */
	if (set->quota_max_storage > 0 && used > set->quota_max_storage) {
		(void)msieve_replyf(s->conn, "NO", "QUOTA/MAXSTORAGE",
		    "Script storage quota exceeded "
		    "(max %llu bytes).", (unsigned long long)set->quota_max_storage);
		ok = false;
	} else if (set->quota_max_scripts > 0 && count > set->quota_max_scripts) {
		(void)msieve_replyf(s->conn, "NO", "QUOTA/MAXSCRIPTS",
		    "Script count quota exceeded "
		    "(max %llu scripts).", (unsigned long long)set->quota_max_scripts);
		ok = false;
	}
	return ok;
}

/* --- commands --- */

static bool
is_string(const struct msieve_cmd *cmd, size_t i)
{
	return cmd->args[i].type == MSIEVE_ARG_STRING;
}

/* name_arg - a script name argument without NULs */
static bool
name_arg(const struct msieve_cmd *cmd, size_t i)
{
	return is_string(cmd, i) && strlen(cmd->args[i].s) == cmd->args[i].len;
}

static void
cmd_listscripts(struct msieve_session *s)
{
	struct sieve_storage_error err = { 0 };
	struct strvec names;
	struct str out;
	long active;

	strvec_init(&names);
	if (sieve_storage_list(&s->st, &names, &active, &err) != 0) {
		reply_storage(s, "", &err);
		strvec_deinit(&names);
		return;
	}
	str_init(&out, 256);
	for (size_t i = 0; i < names.n; i++) {
		msieve_quote(&out, names.v[i], strlen(names.v[i]));
		str_append(&out, (long)i == active ? " ACTIVE\r\n" : "\r\n");
	}
	pop3_conn_append(s->conn, out.s, out.len);
	str_deinit(&out);
	strvec_deinit(&names);
	(void)msieve_replyf(s->conn, "OK", NULL, "Listscripts completed.");
}

static void
cmd_getscript(struct msieve_session *s, const char *name)
{
	struct sieve_storage_error err = { 0 };
	struct str text;

	str_init(&text, 1024);
	if (sieve_storage_get(&s->st, name, &text, &err) != 0) {
		reply_storage(s, name, &err);
		log_session(s, "Failed to retrieve script `%s': %s", name, err.text);
	} else {
		char head[32];

		snprintf(head, sizeof(head), "{%zu}\r\n", text.len);
		pop3_conn_append(s->conn, head, strlen(head));
		pop3_conn_append(s->conn, text.s, text.len);
		pop3_conn_append(s->conn, "\r\n", 2);
		(void)msieve_replyf(s->conn, "OK", NULL, "Getscript completed.");
	}
	str_deinit(&text);
}

static void
cmd_putscript(struct msieve_session *s, const char *name, const struct msieve_arg *script)
{
	struct sieve_storage_error err = { 0 };
	struct str errors, out, n;

	str_init(&n, 64);
	msieve_printable(&n, name, strlen(name));
	if (!sieve_storage_name_ok(name)) {
		(void)msieve_replyf(s->conn, "NO", NULL, "Invalid Sieve script name `%s'.", n.s);
		log_session(s, "Failed to store script `%s': Invalid Sieve script name `%s'.", n.s,
		    n.s);
		str_deinit(&n);
		return;
	}
	if (!quota_check(s, name, script->len)) {
		str_deinit(&n);
		return;
	}
	str_init(&errors, 256);
	str_init(&out, 256);
	if (sieve_storage_put(&s->st, name, script->s, script->len, &msieve_set.cfg.limits,
	    &msieve_set.cfg.exts, &errors, &err) != 0) {
		if (errors.len > 0) {
			crlf(&out, &errors, NULL);
			(void)msieve_reply(s->conn, "NO", NULL, out.s, out.len);
		} else {
			reply_storage(s, name, &err);
		}
		if (errors.len == 0)
			log_session(s, "Failed to store script `%s': %s", n.s, err.text);
	} else if (errors.len > 0) {
		crlf(&out, &errors, NULL);
		(void)msieve_reply(s->conn, "OK", "WARNINGS", out.s, out.len);
	} else {
		(void)msieve_replyf(s->conn, "OK", NULL, "PUTSCRIPT completed.");
	}
	str_deinit(&errors);
	str_deinit(&out);
	str_deinit(&n);
}

static void
cmd_checkscript(struct msieve_session *s, const struct msieve_arg *script)
{
	struct str errors, out;

	if (script->len > msieve_set.cfg.limits.max_script_size) {
		(void)msieve_replyf(s->conn, "NO", "QUOTA/MAXSIZE", "Script is too large (max %zu "
		    "bytes).", msieve_set.cfg.limits.max_script_size);
		return;
	}
	str_init(&errors, 256);
	str_init(&out, 256);
	/* Pigeonhole's CHECKSCRIPT errors name no script */
	if (!sieve_storage_check("script", script->s, script->len, &msieve_set.cfg.limits,
	    &msieve_set.cfg.exts, &errors)) {
		crlf(&out, &errors, "script: ");
		(void)msieve_reply(s->conn, "NO", NULL, out.s, out.len);
	} else if (errors.len > 0) {
		crlf(&out, &errors, "script: ");
		(void)msieve_reply(s->conn, "OK", "WARNINGS", out.s, out.len);
	} else {
		(void)msieve_replyf(s->conn, "OK", NULL, "Script checked successfully.");
	}
	str_deinit(&errors);
	str_deinit(&out);
}

/* active_script - the active one's name (owned) or NULL */
static char *
active_script(struct msieve_session *s)
{
	struct sieve_storage_error err = { 0 };
	struct strvec names;
	char *name = NULL;
	long active;

	strvec_init(&names);
	if (sieve_storage_list(&s->st, &names, &active, &err) == 0 && active >= 0)
		name = xstrdup(names.v[active]);
	strvec_deinit(&names);
	return name;
}

static void
cmd_setactive(struct msieve_session *s, const char *name)
{
	struct sieve_storage_error err = { 0 };
	char *act = active_script(s);

	if (*name == '\0') {
		if (act == NULL)
			(void)msieve_replyf(s->conn, "OK", NULL, "No scripts currently active.");
		else if (sieve_storage_activate(&s->st, "", &err) != 0)
			reply_storage(s, name, &err);
		else
			(void)msieve_replyf(s->conn, "OK", NULL,
			    "Active script is now deactivated.");
	} else if (act != NULL && strcmp(act, name) == 0) {
		(void)msieve_replyf(s->conn, "OK", NULL, "Script is already active.");
	} else if (sieve_storage_activate(&s->st, name, &err) != 0) {
		reply_storage(s, name, &err);
		log_session(s, "Failed to open script `%s' for activation: %s", name, err.text);
	} else {
		(void)msieve_replyf(s->conn, "OK", NULL, "Setactive completed.");
	}
	free(act);
}

static void
cmd_deletescript(struct msieve_session *s, const char *name)
{
	struct sieve_storage_error err = { 0 };

	if (sieve_storage_delete(&s->st, name, &err) != 0) {
		reply_storage(s, name, &err);
		log_session(s, "Failed to delete script `%s': %s", name, err.text);
	} else {
		(void)msieve_replyf(s->conn, "OK", NULL, "Deletescript completed.");
	}
}

static void
cmd_renamescript(struct msieve_session *s, const char *from, const char *to)
{
	struct sieve_storage_error err = { 0 };
	struct str n;

	if (!sieve_storage_name_ok(to) && sieve_storage_name_ok(from)) {
		str_init(&n, 64);
		msieve_printable(&n, to, strlen(to));
		(void)msieve_replyf(s->conn, "NO", NULL, "Invalid Sieve script name `%s'.", n.s);
		str_deinit(&n);
		return;
	}
	if (sieve_storage_rename(&s->st, from, to, &err) != 0) {
		reply_storage(s, from, &err);
		log_session(s, "Failed to rename script `%s' to `%s': %s", from, to, err.text);
	} else {
		(void)msieve_replyf(s->conn, "OK", NULL, "Renamescript completed.");
	}
}

static void
cmd_havespace(struct msieve_session *s, const struct msieve_cmd *cmd)
{
	const struct msieve_arg *size = &cmd->args[1];
	uint64_t n = 0;

	if (!name_arg(cmd, 0) || !sieve_storage_name_ok(cmd->args[0].s)) {
		(void)msieve_replyf(s->conn, "NO", NULL, "Invalid script name.");
		return;
	}
	if (size->type != MSIEVE_ARG_ATOM || size->len == 0 || size->len > 19 ||
	    strspn(size->s, "0123456789") != size->len) {
		(void)msieve_replyf(s->conn, "NO", NULL, "Invalid scriptsize argument.");
		return;
	}
	n = strtoull(size->s, NULL, 10);
	if (n == 0) {
		(void)msieve_replyf(s->conn, "NO", NULL, "Cannot upload empty script.");
		return;
	}
	if (quota_check(s, cmd->args[0].s, n))
		(void)msieve_replyf(s->conn, "OK", NULL, "Putscript would succeed.");
}

/* The commands: name, how many string arguments, and whether they are
 * script names (no NUL). HAVESPACE checks its own. */
static const struct {
	const char *verb;
	size_t	 min, max;
} commands[] = {
	{ "CAPABILITY", 0, 0 }, { "LOGOUT", 0, 0 }, { "NOOP", 0, 1 },
	{ "LISTSCRIPTS", 0, 0 }, { "GETSCRIPT", 1, 1 }, { "PUTSCRIPT", 2, 2 },
	{ "CHECKSCRIPT", 1, 1 }, { "SETACTIVE", 1, 1 }, { "DELETESCRIPT", 1, 1 },
	{ "RENAMESCRIPT", 2, 2 }, { "HAVESPACE", 2, 2 }, { "UNAUTHENTICATE", 0, 0 },
};

enum dispatch { DISPATCH_LOGOUT, DISPATCH_NEXT, DISPATCH_UNAUTH };

/* dispatch - one command */
static enum dispatch
dispatch(struct msieve_session *s, const struct msieve_cmd *cmd)
{
	const char *v = cmd->verb;
	size_t i, n = sizeof(commands) / sizeof(commands[0]);

	for (i = 0; i < n && strcmp(commands[i].verb, v) != 0; i++)
		;
	if (i == n) {
		reply_error(s, v, "Unknown command.");
		s->bad++;
		return DISPATCH_NEXT;
	}
	if (cmd->nargs < commands[i].min) {
		reply_error(s, v, "Missing arguments.");
		s->bad++;
		return DISPATCH_NEXT;
	}
	if (cmd->nargs > commands[i].max) {
		reply_error(s, v, "Too many arguments.");
		s->bad++;
		return DISPATCH_NEXT;
	}
	/* every argument is a string but HAVESPACE's size; names hold no NUL */
	for (size_t a = 0; a < cmd->nargs; a++) {
		bool want_atom = strcmp(v, "HAVESPACE") == 0 && a == 1;
		bool script = (strcmp(v, "PUTSCRIPT") == 0 && a == 1) ||
		    strcmp(v, "CHECKSCRIPT") == 0;

		if (want_atom || strcmp(v, "HAVESPACE") == 0)
			continue;
		if (!is_string(cmd, a) || (!script && !name_arg(cmd, a))) {
			reply_error(s, v, "Invalid arguments.");
			s->bad++;
			return DISPATCH_NEXT;
		}
	}
	if (strcmp(v, "CAPABILITY") == 0) {
		struct str caps;

		str_init(&caps, 512);
		msieve_caps(&caps, false, "", false, s->client->ctl >= 0);
		pop3_conn_append(s->conn, caps.s, caps.len);
		str_deinit(&caps);
		(void)msieve_replyf(s->conn, "OK", NULL, "Capability completed.");
	} else if (strcmp(v, "LOGOUT") == 0) {
		(void)msieve_replyf(s->conn, "OK", NULL, "Logout completed.");
		return DISPATCH_LOGOUT;
	} else if (strcmp(v, "UNAUTHENTICATE") == 0) {
		if (s->client->ctl < 0) {
			reply_error(s, v, "Unknown command.");
			s->bad++;
			return DISPATCH_NEXT;
		}
		(void)msieve_replyf(s->conn, "OK", NULL, "Unauthenticate completed.");
		return DISPATCH_UNAUTH;
	} else if (strcmp(v, "NOOP") == 0) {
		if (cmd->nargs == 0) {
			(void)msieve_replyf(s->conn, "OK", NULL, "NOOP Completed");
		} else {
			struct str tag;

			str_init(&tag, 64);
			str_append(&tag, "OK (TAG ");
			msieve_quote(&tag, cmd->args[0].s, cmd->args[0].len);
			str_append(&tag, ") \"Done\"\r\n");
			pop3_conn_append(s->conn, tag.s, tag.len);
			str_deinit(&tag);
		}
	} else if (strcmp(v, "LISTSCRIPTS") == 0) {
		cmd_listscripts(s);
	} else if (strcmp(v, "GETSCRIPT") == 0) {
		cmd_getscript(s, cmd->args[0].s);
	} else if (strcmp(v, "PUTSCRIPT") == 0) {
		cmd_putscript(s, cmd->args[0].s, &cmd->args[1]);
	} else if (strcmp(v, "CHECKSCRIPT") == 0) {
		cmd_checkscript(s, &cmd->args[0]);
	} else if (strcmp(v, "SETACTIVE") == 0) {
		cmd_setactive(s, cmd->args[0].s);
	} else if (strcmp(v, "DELETESCRIPT") == 0) {
		cmd_deletescript(s, cmd->args[0].s);
	} else if (strcmp(v, "RENAMESCRIPT") == 0) {
		cmd_renamescript(s, cmd->args[0].s, cmd->args[1].s);
	} else if (strcmp(v, "HAVESPACE") == 0) {
		cmd_havespace(s, cmd);
	}
	return DISPATCH_NEXT;
}

/* give_back - UNAUTHENTICATE: the login process takes the connection back
 * with what this session read and did not use ("UNAUTH TAB bytes read
 * from the data channel TAB length" and the bytes, over the control
 * channel); 0 or -1 */
static int
give_back(struct msieve_session *s, uint64_t base)
{
	struct str msg;
	int rc = 0;

	str_init(&msg, s->rd.buf.len + 64);
	str_appendf(&msg, "UNAUTH\t%llu\t%zu\n", (unsigned long long)(s->rd.in_bytes - base),
	    s->rd.buf.len);
	str_append_n(&msg, s->rd.buf.s, s->rd.buf.len);
	if (write(s->client->ctl, msg.s, msg.len) != (ssize_t)msg.len)
		rc = -1;
	str_deinit(&msg);
	return rc;
}

int
msieve_mail_run(struct pop3_client *client, struct pop3_conn *conn, const char *user,
    const char *mailbox_path, bool maildir)
{
	struct msieve_session s;
	const char *why = "Connection closed";
	bool disconnected = false, unauth = false;
	/* input the login process handed over with the login: not read from
	 * the data channel (see give_back) */
	uint64_t base = conn->in_len - conn->in_pos;

	memset(&s, 0, sizeof(s));
	s.client = client;
	s.conn = conn;
	s.user = user;
	storage_open(&s.st, msieve_set.location, user);
	msieve_reader_init(&s.rd, conn, msieve_set.cfg.limits.max_script_size);
	(void)msieve_replyf(conn, "OK", NULL, "Logged in.");
	for (;;) {
		struct msieve_cmd cmd;
		const char *err;
		enum msieve_read rd = msieve_read_command(&s.rd, &cmd, &err);
		bool go_on;
		enum dispatch d;

		if (rd == MSIEVE_READ_TIMEOUT) {
			(void)msieve_replyf(conn, "BYE", NULL, "Disconnected for inactivity.");
			why = "Disconnected for inactivity";
			disconnected = true;
			break;
		}
		if (rd == MSIEVE_READ_FATAL) {
			(void)msieve_replyf(conn, "BYE", NULL, "Too long argument.");
			why = "Too long argument";
			disconnected = true;
			break;
		}
		if (rd == MSIEVE_READ_TOOBIG) {
			(void)msieve_replyf(conn, "NO", "QUOTA/MAXSIZE",
			    "Script is too large (max %zu "
			    "bytes).", msieve_set.cfg.limits.max_script_size);
			continue;
		}
		if (rd == MSIEVE_READ_BAD) {
			(void)msieve_reply(conn, "NO", NULL, err, strlen(err));
			go_on = ++s.bad < MSIEVE_MAX_BAD;
		} else if (rd != MSIEVE_READ_CMD) {
			break;
		} else {
			d = dispatch(&s, &cmd);
			msieve_cmd_deinit(&cmd);
			if (d == DISPATCH_LOGOUT || d == DISPATCH_UNAUTH) {
				why = d == DISPATCH_LOGOUT ? "Logged out" : "Unauthenticated";
				unauth = d == DISPATCH_UNAUTH;
				disconnected = true;
				break;
			}
			go_on = s.bad < MSIEVE_MAX_BAD;
		}
		if (!go_on) {
			(void)msieve_replyf(conn, "BYE", NULL,
			    "Too many invalid MANAGESIEVE commands.");
			why = "Too many invalid commands.";
			disconnected = true;
			break;
		}
	}
	s.rd.out_bytes += conn->out.len;
	(void)pop3_conn_flush(conn);
	if (unauth && give_back(&s, base) != 0)
		unauth = false;
	/* Pigeonhole: "Disconnected: Logged out bytes=..." but a client that
	 * just went away is "Connection closed bytes=..." */
	log_session(&s, "%s%s bytes=%llu/%llu", disconnected ? "Disconnected: " : "", why,
	    (unsigned long long)s.rd.in_bytes, (unsigned long long)s.rd.out_bytes);
	msieve_reader_deinit(&s.rd);
	sieve_storage_deinit(&s.st);
	(void)mailbox_path;
	(void)maildir;
	return unauth ? LOGIN_SPLIT_EXIT_RESUME : 0;
}
