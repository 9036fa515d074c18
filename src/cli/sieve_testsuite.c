/* sieve_testsuite.c - sieve-testsuite FILE.svtest...: Sieve tests written
 * in Sieve with Pigeonhole's vnd.dovecot.testsuite extension: test,
 * test_fail, test_set ("message", "envelope.from|to|orig_to|auth"),
 * test_config_set/unset/reload, test_script_compile, test_script_run
 * [:append_result], test_multiscript, test_error, test_result_action,
 * test_result_execute, test_result_reset, test_result_print, test_message
 * :smtp|:folder, test_mailbox_create/delete, test_binary_save/load, and
 * ${tst.path} / ${tst.name}. Results are executed into a scratch mail
 * store (in memory: folder name -> messages) and a captured outbox.
 * test_imap_metadata_set is not supported: it fails the test saying so.
 * Prints "Test 'NAME' SUCCEEDED" or "Test 'NAME' FAILED: why" per test;
 * exits 1 when any failed. Tests: the .svtest files in tests/sieve/ (CTest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve_config.h"
#include "sieve/sieve_exec.h"
#include "sieve/sieve_run.h"
#include "sieve/sieve_tools.h"

#define TS_MAX_STORED	1000	/* messages in the scratch store and outbox */

struct ts_msg {
	char	*from, *to;	/* outbox: envelope */
	char	*data;
	size_t	 len;
};

struct ts_folder {
	char	*name;
	struct ts_msg *m;
	size_t	 n;
};

struct ts {
	const char *file;
	char	*dir;
	struct sieve_config cfg;
	struct sieve_env env;
	struct sieve_msg *msg;
	char	*env_from, *env_to, *env_orig_to, *env_auth;
	struct sieve_result *res;
	struct sieve_script *compiled;
	struct str compiled_text;
	char	*compiled_name;
	struct strvec errors;		/* of the last compile or run */
	struct ts_folder *folders;
	size_t	 nfolders;
	struct ts_msg *outbox;
	size_t	 noutbox;
	struct strvec vacation_seen, dups;
	struct { char *name; char *text; char *sname; } bins[16];
	size_t	 nbins;
	/* the test running now */
	const char *test_name;
	bool	 test_failed;
	char	*fail_reason;
	unsigned tests, failures;
};

static void
set_str(char **p, const char *v)
{
	free(*p);
	*p = v != NULL ? xstrdup(v) : NULL;
}

static void
ts_env(struct ts *t)
{
	t->env.env_from = t->env_from;
	t->env.env_to = t->env_to;
	t->env.env_orig_to = t->env_orig_to;
	t->env.env_auth = t->env_auth;
	t->env.spam = &t->cfg.spam;
	t->env.virus = &t->cfg.virus;
	t->env.editheader = &t->cfg.editheader;
	t->env.env_config = t->cfg.env_config;
}

static void
ts_fail(struct ts *t, struct sv_run *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
ts_fail(struct ts *t, struct sv_run *r, const char *fmt, ...)
{
	va_list ap;
	struct str s;

	str_init(&s, 64);
	va_start(ap, fmt);
	str_vappendf(&s, fmt, ap);
	va_end(ap);
	if (t->test_name == NULL) {
		fprintf(stdout, "%s: line %u: %s\n", t->file, r->line, s.s);
		t->failures++;
		str_deinit(&s);
		r->stopped = true;
		return;
	}
	if (!t->test_failed) {
		t->test_failed = true;
		t->fail_reason = str_export(&s);
	}
	str_deinit(&s);
	r->stopped = true;	/* the rest of this test's block is skipped */
}

static struct ts_folder *
folder_find(struct ts *t, const char *name, bool create)
{
	size_t i;

	for (i = 0; i < t->nfolders; i++)
		if (strcmp(t->folders[i].name, name) == 0 ||
		    (strcasecmp(name, "INBOX") == 0 && strcasecmp(t->folders[i].name, "INBOX") == 0))
			return &t->folders[i];
	if (!create || t->nfolders >= 256)
		return NULL;
	t->folders = xreallocarray(t->folders, t->nfolders + 1, sizeof(*t->folders));
	memset(&t->folders[t->nfolders], 0, sizeof(*t->folders));
	t->folders[t->nfolders].name = xstrdup(name);
	return &t->folders[t->nfolders++];
}

static void
msg_push(struct ts_msg **v, size_t *n, const char *from, const char *to, const char *data,
    size_t len)
{
	struct ts_msg *m;

	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	m = &(*v)[(*n)++];
	m->from = from != NULL ? xstrdup(from) : NULL;
	m->to = to != NULL ? xstrdup(to) : NULL;
	m->data = xmalloc(len + 1);
	memcpy(m->data, data, len);
	m->data[len] = 0;
	m->len = len;
}

static void
msgs_free(struct ts_msg *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].from);
		free(v[i].to);
		free(v[i].data);
	}
	free(v);
}

static void
folders_free(struct ts *t)
{
	size_t i;

	for (i = 0; i < t->nfolders; i++) {
		free(t->folders[i].name);
		msgs_free(t->folders[i].m, t->folders[i].n);
	}
	free(t->folders);
	t->folders = NULL;
	t->nfolders = 0;
}

/* the executor's operations on the scratch store and outbox */
static int
op_store(void *ctx, const char *mailbox, char *const *flags, bool create, const char *data,
    size_t len)
{
	struct ts *t = ctx;
	struct ts_folder *f = folder_find(t, mailbox, true);

	if (f == NULL || f->n >= TS_MAX_STORED)
		return -1;
	msg_push(&f->m, &f->n, NULL, NULL, data, len);
	return 0;
}

static int
op_send(void *ctx, const char *from, const char *rcpt, const char *data, size_t len)
{
	struct ts *t = ctx;

	if (t->noutbox >= TS_MAX_STORED)
		return -1;
	msg_push(&t->outbox, &t->noutbox, from, rcpt, data, len);
	return 0;
}

static int
op_vacation_seen(void *ctx, const char *sender, const char *handle, uint64_t seconds)
{
	struct ts *t = ctx;
	char *key = xasprintf("%s\n%s", sender, handle);
	int seen = strvec_contains(&t->vacation_seen, key);

	if (seen)
		free(key);
	else
		strvec_push_take(&t->vacation_seen, key);
	return seen;
}

static void
op_dup_mark(void *ctx, const char *id, size_t len, uint64_t seconds)
{
	struct ts *t = ctx;
	char *k = xmalloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		k[i] = id[i] == 0 ? '\n' : id[i];
	k[len] = 0;
	strvec_push_take(&t->dups, k);
}

static int
cb_dup_check(void *ctx, const char *id, size_t len)
{
	struct ts *t = ctx;
	char *k = xmalloc(len + 1);
	size_t i;
	int rc;

	for (i = 0; i < len; i++)
		k[i] = id[i] == 0 ? '\n' : id[i];
	k[len] = 0;
	rc = strvec_contains(&t->dups, k);
	free(k);
	return rc;
}

static int
cb_mailbox_exists(void *ctx, const char *name)
{
	struct ts *t = ctx;

	return strcasecmp(name, "INBOX") == 0 || folder_find(t, name, false) != NULL;
}

static void
cb_namespace(void *ctx, const char *name, size_t len, struct str *out)
{
	struct ts *t = ctx;

	if (len == 8 && strncasecmp(name, "tst.path", 8) == 0)
		str_append(out, t->dir);
	else if (len == 8 && strncasecmp(name, "tst.name", 8) == 0 && t->test_name != NULL)
		str_append(out, t->test_name);
}

static const struct sieve_exec_ops *
ts_ops(struct ts *t)
{
	static struct sieve_exec_ops ops;

	ops.store = op_store;
	ops.send = op_send;
	ops.vacation_seen = op_vacation_seen;
	ops.duplicate_mark = op_dup_mark;
	ops.ctx = t;
	return &ops;
}

static void
set_message(struct ts *t, const char *data, size_t len)
{
	sieve_msg_free(&t->msg);
	t->msg = sieve_msg_new(data, len);
}

/* errors_from - the error lines of a compile or run, one message each */
static void
errors_from(struct ts *t, const char *text)
{
	const char *p = text;

	strvec_deinit(&t->errors);
	strvec_init(&t->errors);
	while (*p != 0) {
		const char *nl = strchr(p, '\n'), *e;
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, n), *msg;

		e = strstr(line, ": error: ");
		if (e != NULL) {
			msg = xstrdup(e + 9);
			strvec_push_take(&t->errors, msg);
		}
		free(line);
		p += n;
		if (*p == '\n')
			p++;
	}
}

static char *
arg0(struct sv_run *r, const struct sv_node *n, size_t pos)
{
	struct str b;

	str_init(&b, 64);
	sv_expand(r, &n->pos[pos]->v[0], &b);
	return str_export(&b);
}

static char *
script_path(struct ts *t, const char *name)
{
	return name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", t->dir, name);
}

/* compile - a script file for test_script_compile / multiscript */
static struct sieve_script *
compile_file(struct ts *t, const char *name, struct str *text_r)
{
	char *path = script_path(t, name), *base;
	struct str text, errs;
	struct sieve_script *sc = NULL;

	str_init(&text, 1024);
	str_init(&errs, 256);
	if (file_read(path, t->cfg.limits.max_script_size, &text) < 0)
		str_appendf(&errs, "%s: error: failed to open script %s.\n", name, path);
	else {
		base = sieve_script_basename(path);
		sc = sieve_compile(base, text.s, text.len, &t->cfg.limits, &t->cfg.exts, &errs);
		free(base);
	}
	errors_from(t, errs.s);
	if (text_r != NULL) {
		str_reset(text_r);
		str_append_n(text_r, text.s, text.len);
	}
	free(path);
	str_deinit(&text);
	str_deinit(&errs);
	return sc;
}

static const char *
action_name(const struct sieve_action *a)
{
	switch (a->kind) {
	case SIEVE_ACT_KEEP: return "keep";
	case SIEVE_ACT_FILEINTO: return "store";
	case SIEVE_ACT_REDIRECT: return "redirect";
	case SIEVE_ACT_DISCARD: return "discard";
	case SIEVE_ACT_REJECT: return "reject";
	case SIEVE_ACT_EREJECT: return "ereject";
	case SIEVE_ACT_VACATION: return "vacation";
	case SIEVE_ACT_NOTIFY: return "notify";
	default: return "unknown";
	}
}

/* match_list - the node's match over vals, with :index picking one */
static int
match_list(struct sv_run *r, const struct sv_node *n, struct strvec *vals)
{
	sv_apply_index(r, n, vals);
	return sv_match_values(r, n, vals, n->pos[n->npos - 1]);
}

static int run_script_into(struct ts *t, struct sieve_script *sc, bool append, struct sv_run *r);

static int
ts_hook(void *ctx, void *runp, const void *nodep)
{
	struct ts *t = ctx;
	struct sv_run *r = runp;
	const struct sv_node *n = nodep;
	char *a = NULL, *b = NULL;
	int rc = 0;
	size_t i;

	switch (n->id) {
	case SV_C_TEST: {
		const char *saved = t->test_name;
		size_t errs_at = r->errs != NULL ? r->errs->len : 0;

		a = arg0(r, n, 0);
		t->test_name = a;
		t->test_failed = false;
		XFREE(t->fail_reason);
		sieve_result_reset(t->res);
		sv_run_block(r, n->block, n->nblock);
		if (r->failed) {
			/* a run-time error inside the test fails it, and the run goes on */
			if (!t->test_failed) {
				t->test_failed = true;
				if (r->errs != NULL && r->errs->len > errs_at) {
					t->fail_reason = xstrndup(r->errs->s + errs_at,
					    r->errs->len - errs_at - 1);
					str_truncate(r->errs, errs_at);
				} else
					t->fail_reason = xstrdup("run-time error in the test script");
			}
			r->failed = false;
		}
		r->stopped = false;
		t->tests++;
		if (t->test_failed) {
			t->failures++;
			printf("Test '%s' FAILED: %s\n", a, t->fail_reason);
		} else
			printf("Test '%s' SUCCEEDED\n", a);
		fflush(stdout);
		t->test_name = saved;
		break;
	}
	case SV_C_TEST_FAIL:
		a = arg0(r, n, 0);
		ts_fail(t, r, "%s", a);
		break;
	case SV_C_TEST_SET:
		a = arg0(r, n, 0);
		b = arg0(r, n, 1);
		if (strcmp(a, "message") == 0)
			set_message(t, b, strlen(b));
		else if (strcmp(a, "envelope.from") == 0)
			set_str(&t->env_from, b);
		else if (strcmp(a, "envelope.to") == 0)
			set_str(&t->env_to, b);
		else if (strcmp(a, "envelope.orig_to") == 0)
			set_str(&t->env_orig_to, b);
		else if (strcmp(a, "envelope.auth") == 0)
			set_str(&t->env_auth, b);
		else
			ts_fail(t, r, "test_set: unknown object '%s'", a);
		ts_env(t);
		break;
	case SV_C_TEST_CONFIG_SET: {
		const char *err;

		a = arg0(r, n, 0);
		b = arg0(r, n, 1);
		if (sieve_config_set(&t->cfg, a, b, &err) < 0)
			ts_fail(t, r, "test_config_set: %s", err);
		ts_env(t);
		break;
	}
	case SV_C_TEST_CONFIG_UNSET:
		a = arg0(r, n, 0);
		sieve_config_unset(&t->cfg, a);
		ts_env(t);
		break;
	case SV_C_TEST_CONFIG_RELOAD:
		/* settings apply from the next compile on; nothing to reload */
		break;
	case SV_C_TEST_RESULT_RESET:
		sieve_result_reset(t->res);
		msgs_free(t->outbox, t->noutbox);
		t->outbox = NULL;
		t->noutbox = 0;
		break;
	case SV_C_TEST_RESULT_PRINT: {
		struct str o;

		str_init(&o, 512);
		sieve_result_print(t->res, &t->env, &o);
		fputs(o.s, stdout);
		str_deinit(&o);
		break;
	}
	case SV_C_TEST_MESSAGE: case SV_T_TEST_MESSAGE: {
		/* as a command, a missing message fails the test; as a test
		 * (Pigeonhole's form), it is false */
		struct sv_arg *fa;
		uint64_t idx = n->pos[0]->num;
		bool quiet = n->id == SV_T_TEST_MESSAGE;

		if (sv_has_tag(n, ":smtp")) {
			if (idx >= t->noutbox) {
				if (!quiet)
					ts_fail(t, r, "test_message: no outgoing SMTP message with index "
					    "%llu", (unsigned long long)idx);
				break;
			}
			rc = 1;
			set_message(t, t->outbox[idx].data, t->outbox[idx].len);
			set_str(&t->env_from, t->outbox[idx].from);
			set_str(&t->env_to, t->outbox[idx].to);
			ts_env(t);
		} else if (sv_node_tag(n, ":folder", &fa) != NULL) {
			struct ts_folder *f;

			{
				struct str fb;

				str_init(&fb, 32);
				sv_expand(r, &fa->v[0], &fb);
				a = str_export(&fb);
			}
			f = folder_find(t, a, false);
			if (f == NULL || idx >= f->n) {
				if (!quiet)
					ts_fail(t, r, "test_message: no message %llu in folder '%s'",
					    (unsigned long long)idx, a);
				break;
			}
			rc = 1;
			set_message(t, f->m[idx].data, f->m[idx].len);
		} else
			ts_fail(t, r, "test_message: :smtp or :folder is needed");
		break;
	}
	case SV_C_TEST_MAILBOX_CREATE:
		a = arg0(r, n, 0);
		(void)folder_find(t, a, true);
		break;
	case SV_C_TEST_MAILBOX_DELETE: {
		struct ts_folder *f;

		a = arg0(r, n, 0);
		f = folder_find(t, a, false);
		if (f != NULL) {
			size_t k = (size_t)(f - t->folders);

			free(f->name);
			msgs_free(f->m, f->n);
			memmove(f, f + 1, (t->nfolders - k - 1) * sizeof(*f));
			t->nfolders--;
		}
		break;
	}
	case SV_C_TEST_BINARY_SAVE:
		a = arg0(r, n, 0);
		if (t->compiled == NULL) {
			ts_fail(t, r, "test_binary_save: no compiled script");
			break;
		}
		for (i = 0; i < t->nbins; i++)
			if (strcmp(t->bins[i].name, a) == 0)
				break;
		if (i == t->nbins) {
			if (t->nbins >= 16) {
				ts_fail(t, r, "test_binary_save: too many saved binaries");
				break;
			}
			t->nbins++;
		} else {
			free(t->bins[i].name);
			free(t->bins[i].text);
			free(t->bins[i].sname);
		}
		t->bins[i].name = xstrdup(a);
		t->bins[i].text = xstrndup(t->compiled_text.s, t->compiled_text.len);
		t->bins[i].sname = xstrdup(t->compiled_name);
		break;
	case SV_C_TEST_BINARY_LOAD: {
		struct str errs;

		a = arg0(r, n, 0);
		for (i = 0; i < t->nbins; i++)
			if (strcmp(t->bins[i].name, a) == 0)
				break;
		if (i == t->nbins) {
			ts_fail(t, r, "test_binary_load: no binary saved as '%s'", a);
			break;
		}
		/* yubin keeps no binary form: the saved script is compiled again */
		sieve_script_free(&t->compiled);
		str_init(&errs, 64);
		t->compiled = sieve_compile(t->bins[i].sname, t->bins[i].text,
		    strlen(t->bins[i].text), &t->cfg.limits, &t->cfg.exts, &errs);
		str_deinit(&errs);
		if (t->compiled == NULL)
			ts_fail(t, r, "test_binary_load: '%s' does not compile", a);
		break;
	}
	case SV_C_TEST_IMAP_METADATA_SET:
		ts_fail(t, r, "test_imap_metadata_set: IMAP METADATA is not supported by yubin");
		break;
	case SV_T_TEST_SCRIPT_COMPILE: {
		a = arg0(r, n, 0);
		sieve_script_free(&t->compiled);
		t->compiled = compile_file(t, a, &t->compiled_text);
		set_str(&t->compiled_name, a);
		rc = t->compiled != NULL;
		break;
	}
	case SV_T_TEST_SCRIPT_RUN:
		if (t->compiled == NULL) {
			ts_fail(t, r, "test_script_run: no compiled script");
			break;
		}
		rc = run_script_into(t, t->compiled, sv_has_tag(n, ":append_result"), r);
		break;
	case SV_T_TEST_MULTISCRIPT: {
		/* Pigeonhole's multiscript: a result per script, carried out with
		 * keep left to the next; the next runs while the message is kept */
		struct str log;

		sieve_result_reset(t->res);
		str_init(&log, 256);
		rc = 1;
		for (i = 0; i < n->pos[0]->n && rc; i++) {
			struct str nm;
			struct sieve_script *sc;
			bool last;

			str_init(&nm, 32);
			sv_expand(r, &n->pos[0]->v[i], &nm);
			sc = compile_file(t, nm.s, NULL);
			str_deinit(&nm);
			if (sc == NULL) {
				rc = 0;
				break;
			}
			rc = run_script_into(t, sc, true, r);
			sieve_script_free(&sc);
			if (!rc)
				break;
			last = i + 1 == n->pos[0]->n || sieve_result_stopped(t->res) ||
			    !sieve_result_kept(t->res);
			rc = sieve_execute_step(t->res, t->msg, &t->env, ts_ops(t), &log, last) == 0;
			if (last)
				break;
			{
				struct sieve_result *next = sieve_result_new();

				sieve_result_carry(next, t->res);
				sieve_result_free(&t->res);
				t->res = next;
				r->res = next;
			}
		}
		str_deinit(&log);
		break;
	}
	case SV_T_TEST_ERROR: {
		/* match_list narrows the list for :index: work on a copy */
		struct strvec copy;

		strvec_init(&copy);
		for (i = 0; i < t->errors.n; i++)
			strvec_push(&copy, t->errors.v[i]);
		rc = match_list(r, n, &copy);
		strvec_deinit(&copy);
		break;
	}
	case SV_T_TEST_RESULT_ACTION: {
		struct strvec names;

		strvec_init(&names);
		for (i = 0; i < sieve_result_count(t->res); i++)
			strvec_push(&names, action_name(sieve_result_action(t->res, i)));
		rc = match_list(r, n, &names);
		strvec_deinit(&names);
		break;
	}
	case SV_T_TEST_RESULT_EXECUTE: {
		struct str log;

		str_init(&log, 256);
		rc = sieve_execute(t->res, t->msg, &t->env, ts_ops(t), &log) == 0;
		str_deinit(&log);
		break;
	}
	default:
		sv_run_error(r, n->line, "'%s' is not supported by sieve-testsuite", n->name);
		break;
	}
	/* the running testsuite script now reads the new current message */
	r->msg = t->msg;
	if (r->part >= t->msg->nparts)
		r->part = 0;
	free(a);
	free(b);
	return rc;
}

static int
run_script_into(struct ts *t, struct sieve_script *sc, bool append, struct sv_run *r)
{
	struct str errs;
	struct sieve_env env = t->env;
	int rc;

	if (!append)
		sieve_result_reset(t->res);
	/* the script under test does not see the testsuite's own commands */
	env.testsuite = NULL;
	str_init(&errs, 256);
	rc = sieve_run(sc, t->msg, &env, t->res, &errs) == SIEVE_OK;
	errors_from(t, errs.s);
	str_deinit(&errs);
	return rc;
}

static int
run_file(const char *file)
{
	struct ts t;
	struct str text, errs;
	struct sieve_script *sc;
	struct sieve_extset all;
	char *name;
	int rc;
	size_t i;
	static const char dflt[] = "From: sender@example.com\r\nTo: recipient@example.org\r\n"
		"Subject: Frop!\r\n\r\nFrop!\r\n";

	memset(&t, 0, sizeof(t));
	t.file = file;
	sieve_config_init(&t.cfg);
	{
		struct str d;

		str_init(&d, 64);
		path_dirname(&d, file);
		t.dir = str_export(&d);
	}
	t.cfg.personal_dir = xstrdup(t.dir);
	strvec_init(&t.errors);
	strvec_init(&t.vacation_seen);
	strvec_init(&t.dups);
	str_init(&t.compiled_text, 256);
	set_str(&t.env_from, "sender@example.com");
	set_str(&t.env_to, "recipient@example.org");
	t.env.default_mailbox = "INBOX";
	t.env.location = "MS";
	t.env.phase = "during";
	t.env.hostname = "testsuite.example.org";
	t.env.loader = &t.cfg.loader;
	t.env.mailbox_exists = cb_mailbox_exists;
	t.env.duplicate_check = cb_dup_check;
	t.env.var_namespace = cb_namespace;
	t.env.testsuite = ts_hook;
	t.env.ctx = &t;
	t.env.now = 0;
	ts_env(&t);
	set_message(&t, dflt, sizeof(dflt) - 1);
	t.res = sieve_result_new();
	str_init(&text, 4096);
	str_init(&errs, 256);
	rc = 1;
	if (file_read(file, 16 * 1024 * 1024, &text) < 0) {
		fprintf(stderr, "sieve-testsuite: Fatal: cannot read %s\n", file);
		goto out;
	}
	/* the test script itself may use every extension yubin has */
	all.bits = (UINT64_C(1) << SV_EXT_COUNT) - 1;
	name = sieve_script_basename(file);
	sc = sieve_compile(name, text.s, text.len, &t.cfg.limits, &all, &errs);
	free(name);
	fputs(errs.s, stderr);
	if (sc == NULL) {
		fprintf(stderr, "sieve-testsuite: Fatal: failed to compile testsuite %s\n", file);
		goto out;
	}
	printf("##\n## Testsuite: %s\n##\n", file);
	str_reset(&errs);
	if (sieve_run(sc, t.msg, &t.env, t.res, &errs) != SIEVE_OK) {
		fputs(errs.s, stdout);
		printf("Testsuite %s aborted by a run-time error\n", file);
		t.failures++;
	}
	sieve_script_free(&sc);
	if (t.failures == 0) {
		printf("PASS: %u test%s succeeded\n", t.tests, t.tests == 1 ? "" : "s");
		rc = 0;
	} else
		printf("FAIL: %u of %u tests failed\n", t.failures, t.tests);
out:
	str_deinit(&text);
	str_deinit(&errs);
	sieve_result_free(&t.res);
	sieve_msg_free(&t.msg);
	sieve_script_free(&t.compiled);
	str_deinit(&t.compiled_text);
	free(t.compiled_name);
	strvec_deinit(&t.errors);
	strvec_deinit(&t.vacation_seen);
	strvec_deinit(&t.dups);
	folders_free(&t);
	msgs_free(t.outbox, t.noutbox);
	for (i = 0; i < t.nbins; i++) {
		free(t.bins[i].name);
		free(t.bins[i].text);
		free(t.bins[i].sname);
	}
	free(t.env_from);
	free(t.env_to);
	free(t.env_orig_to);
	free(t.env_auth);
	free(t.fail_reason);
	free(t.dir);
	sieve_config_deinit(&t.cfg);
	return rc;
}

int
cmd_sieve_testsuite(int argc, char **argv)
{
	int i, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "Usage: sieve-testsuite FILE.svtest...\n");
		return 64;
	}
	for (i = 1; i < argc; i++)
		if (run_file(argv[i]) != 0)
			failed++;
	return failed > 0 ? 1 : 0;
}
