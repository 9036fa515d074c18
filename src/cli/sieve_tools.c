/* sieve_tools.c - sievec (compile and check a script) and sieve-test (run
 * a script against a message and print the actions), with Pigeonhole's
 * options and output shapes. yubin keeps no binary form of a script:
 * sievec checks and reports, it writes no .svbin. Tests:
 * tests/e2e/test_sieve.py (side by side with Debian's Pigeonhole tools). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/dovecot_conf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "sieve/sieve.h"
#include "sieve/sieve_config.h"
#include "sieve/sieve_tools.h"

#define EX_FATAL	89	/* Dovecot's FATAL_DEFAULT, what Pigeonhole's tools exit with */

/* sieve_tool_option - the options every Sieve tool shares: -x extensions,
 * -o key=value (plugin settings); 1 taken, 0 not ours, -1 bad */
int
sieve_tool_setting(struct sieve_config *cfg, const char *tool, const char *kv)
{
	const char *eq = strchr(kv, '='), *err;
	char *key;
	int rc;

	if (eq == NULL) {
		fprintf(stderr, "%s: Fatal: invalid -o setting: %s\n", tool, kv);
		return -1;
	}
	key = xstrndup(kv, (size_t)(eq - kv));
	rc = sieve_config_set(cfg, key, eq + 1, &err);
	if (rc < 0)
		fprintf(stderr, "%s: Fatal: %s\n", tool, err);
	free(key);
	return rc < 0 ? -1 : 0;
}

/* sieve_tool_config_file - -c FILE: the plugin { } settings of a
 * dovecot.conf, as Pigeonhole's tools read them (sieve_extensions,
 * sieve_global, sieve_spamtest_*, limits); 0 or -1 after a message */
int
sieve_tool_config_file(struct sieve_config *cfg, const char *tool, const char *path)
{
	struct dovecot_conf *dc = dovecot_conf_new();
	const struct dovecot_conf_section *root;
	const char *err, *key, *val;
	size_t i, k;

	if (dovecot_conf_parse_file(dc, path, 0, &err) != 0) {
		fprintf(stderr, "%s: Fatal: %s\n", tool, err);
		dovecot_conf_free(&dc);
		return -1;
	}
	root = dovecot_conf_root(dc);
	for (i = 0; i < dovecot_conf_section_count(root); i++) {
		const struct dovecot_conf_section *sec = dovecot_conf_section_child(root, i);
		const char *t = dovecot_conf_section_type(sec);

		if (t == NULL || strcmp(t, "plugin") != 0)
			continue;
		for (k = 0; dovecot_conf_section_key(sec, k, &key, &val); k++) {
			if (strcmp(key, "sieve_extensions") == 0) {
				sieve_tool_extensions(cfg, tool, val);
				continue;
			}
			if (sieve_config_set(cfg, key, val, &err) < 0)
				fprintf(stderr, "%s: Warning: plugin/%s: %s\n", tool, key, err);
		}
	}
	dovecot_conf_free(&dc);
	return 0;
}

/* sieve_tool_extensions - -x "+a -b" */
int
sieve_tool_extensions(struct sieve_config *cfg, const char *tool, const char *spec)
{
	const char *bad;

	if (sieve_extset_apply(&cfg->exts, spec, &bad) < 0)
		fprintf(stderr, "%s: Warning: sieve: ignored unknown extension '%s' while "
		    "configuring available extensions\n", tool, bad);
	return 0;
}

/* sieve_tool_compile - read and compile a script file; errors on stderr */
struct sieve_script *
sieve_tool_compile(struct sieve_config *cfg, const char *path, const char *tool)
{
	struct str text, errs;
	struct sieve_script *sc;
	char *name, *dir;

	str_init(&text, 4096);
	if (file_read(path, cfg->limits.max_script_size, &text) < 0) {
		if (errno == EFBIG)
			fprintf(stderr, "%s: Fatal: sieve script %s is too large (max %zu bytes)\n",
			    tool, path, cfg->limits.max_script_size);
		else
			fprintf(stderr, "%s: Fatal: failed to open sieve script %s: %s\n", tool, path,
			    strerror(errno));
		str_deinit(&text);
		return NULL;
	}
	if (cfg->personal_dir == NULL) {
		struct str d;

		str_init(&d, 64);
		path_dirname(&d, path);
		dir = str_export(&d);
		cfg->personal_dir = dir;
	}
	name = sieve_script_basename(path);
	str_init(&errs, 256);
	sc = sieve_compile(name, text.s, text.len, &cfg->limits, &cfg->exts, &errs);
	fputs(errs.s, stderr);
	str_deinit(&errs);
	str_deinit(&text);
	free(name);
	return sc;
}

/* sieve_tool_message - read a message file; a leading mbox "From " line
 * is dropped (Pigeonhole's tools accept both) */
struct sieve_msg *
sieve_tool_message(const char *path, const char *tool)
{
	struct str text;
	struct sieve_msg *m;
	size_t off = 0;

	str_init(&text, 4096);
	if (file_read(path, 256 * 1024 * 1024, &text) < 0) {
		fprintf(stderr, "%s: Fatal: failed to open message %s: %s\n", tool, path,
		    strerror(errno));
		str_deinit(&text);
		return NULL;
	}
	if (text.len > 5 && strncmp(text.s, "From ", 5) == 0) {
		const char *nl = memchr(text.s, '\n', text.len);

		off = nl != NULL ? (size_t)(nl - text.s) + 1 : text.len;
	}
	m = sieve_msg_new(text.s + off, text.len - off);
	str_deinit(&text);
	return m;
}

/* first_address - the first address of a header of the message, or NULL */
static char *
first_address(struct sieve_msg *m, const char *name)
{
	size_t len, off = 0;
	const char *d = sieve_msg_data(m, &len);

	/* a small scan of the header section for name: */
	while (off < len) {
		const char *nl = memchr(d + off, '\n', len - off);
		size_t ll = nl != NULL ? (size_t)(nl - d - off) : len - off;
		size_t nl2 = strlen(name);

		if (ll == 0 || (ll == 1 && d[off] == '\r'))
			break;
		if (ll > nl2 && strncasecmp(d + off, name, nl2) == 0 && d[off + nl2] == ':') {
			const char *v = d + off + nl2 + 1, *e = d + off + ll;
			const char *lt = memchr(v, '<', (size_t)(e - v));

			if (lt != NULL) {
				const char *gt = memchr(lt, '>', (size_t)(e - lt));

				if (gt != NULL)
					return xstrndup(lt + 1, (size_t)(gt - lt - 1));
			}
			/* a group ("name: a@b;") is no single address: the default */
			if (memchr(v, ':', (size_t)(e - v)) != NULL)
				return NULL;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' '))
				e--;
			return xstrndup(v, (size_t)(e - v));
		}
		off += ll + 1;
	}
	return NULL;
}

void
sieve_tool_env_defaults(struct sieve_env *env, struct sieve_config *cfg, struct sieve_msg *m,
    char **owned, size_t nowned)
{
	char host[256];

	if (env->env_from == NULL) {
		owned[0] = first_address(m, "return-path");
		if (owned[0] == NULL)
			owned[0] = first_address(m, "sender");
		if (owned[0] == NULL)
			owned[0] = first_address(m, "from");
		env->env_from = owned[0] != NULL ? owned[0] : "sender@example.com";
	}
	if (env->env_to == NULL) {
		owned[1] = first_address(m, "envelope-to");
		if (owned[1] == NULL)
			owned[1] = first_address(m, "delivered-to");
		if (owned[1] == NULL)
			owned[1] = first_address(m, "to");
		env->env_to = owned[1] != NULL ? owned[1] : "recipient@example.com";
	}
	if (env->default_mailbox == NULL)
		env->default_mailbox = "INBOX";
	if (gethostname(host, sizeof(host)) == 0 && nowned > 2) {
		host[sizeof(host) - 1] = 0;
		owned[2] = xstrdup(host);
		env->hostname = owned[2];
	}
	/* RFC 5183: Pigeonhole's sieve-test says "MS" and "post" */
	env->location = "MS";
	env->phase = "post";
	if (env->user == NULL) {
		/* vnd.dovecot.username: the user running the tool, as in Pigeonhole */
		static char user[64];
		const struct passwd *pw = getpwuid(getuid());

		if (pw != NULL && strlen(pw->pw_name) < sizeof(user)) {
			memcpy(user, pw->pw_name, strlen(pw->pw_name) + 1);
			env->user = user;
		}
	}
	env->spam = &cfg->spam;
	env->virus = &cfg->virus;
	env->editheader = &cfg->editheader;
	env->env_config = cfg->env_config;
	env->loader = &cfg->loader;
}

static void
usage_sievec(void)
{
	fprintf(stderr, "Usage: sievec [-c <config-file>] [-d] [-x <extensions>] [-o key=value]\n"
	    "              <script-file> [<out-file>]\n");
}

int
cmd_sievec(int argc, char **argv)
{
	struct sieve_config cfg;
	struct sieve_script *sc;
	int c, rc;

	sieve_config_init(&cfg);
	while ((c = getopt(argc, argv, "c:dDx:o:P:u:")) != -1) {
		switch (c) {
		case 'x':
			sieve_tool_extensions(&cfg, "sievec", optarg);
			break;
		case 'o':
			if (sieve_tool_setting(&cfg, "sievec", optarg) < 0) {
				sieve_config_deinit(&cfg);
				return EX_FATAL;
			}
			break;
		case 'c':
			if (sieve_tool_config_file(&cfg, "sievec", optarg) < 0) {
				sieve_config_deinit(&cfg);
				return EX_FATAL;
			}
			break;
		case 'd': case 'D': case 'P': case 'u':
			break;	/* accepted for Pigeonhole's command lines; no binaries here */
		default:
			usage_sievec();
			sieve_config_deinit(&cfg);
			return EX_FATAL;
		}
	}
	if (optind >= argc) {
		usage_sievec();
		sieve_config_deinit(&cfg);
		return EX_FATAL;
	}
	sc = sieve_tool_compile(&cfg, argv[optind], "sievec");
	if (sc == NULL) {
		fprintf(stderr, "sievec: Fatal: failed to compile sieve script '%s'\n", argv[optind]);
		rc = EX_FATAL;
	} else
		rc = 0;
	sieve_script_free(&sc);
	sieve_config_deinit(&cfg);
	return rc;
}

static void
usage_test(void)
{
	fprintf(stderr, "Usage: sieve-test [-a <orig-recipient-address] [-c <config-file>]\n"
	    "                  [-C] [-D] [-d <dump-filename>] [-e]\n"
	    "                  [-f <envelope-sender>] [-l <mail-location>]\n"
	    "                  [-m <default-mailbox>] [-o key=value]\n"
	    "                  [-r <recipient-address>] [-s <script-file>]\n"
	    "                  [-x <extensions>]\n"
	    "                  <script-file> <mail-file>\n");
}

int
cmd_sieve_test(int argc, char **argv)
{
	struct sieve_config cfg;
	struct sieve_env env;
	struct sieve_script *sc = NULL, *before[9];
	struct sieve_msg *m = NULL;
	struct sieve_result *res = NULL;
	struct str out, errs;
	char *owned[3] = { NULL, NULL, NULL };
	const char *rcpt = NULL, *orig = NULL, *scripts[8];
	size_t nscripts = 0, i, nbefore = 0;
	int c, rc = EX_FATAL;

	sieve_config_init(&cfg);
	memset(&env, 0, sizeof(env));
	while ((c = getopt(argc, argv, "a:c:CDd:ef:l:m:o:P:r:s:t:T:x:")) != -1) {
		switch (c) {
		case 'a': orig = optarg; break;
		case 'r': rcpt = optarg; break;
		case 'f': env.env_from = optarg; break;
		case 'm': env.default_mailbox = optarg; break;
		case 'x': sieve_tool_extensions(&cfg, "sieve-test", optarg); break;
		case 'o':
			if (sieve_tool_setting(&cfg, "sieve-test", optarg) < 0)
				goto out;
			break;
		case 's':
			if (nscripts < 8)
				scripts[nscripts++] = optarg;
			break;
		case 'c':
			if (sieve_tool_config_file(&cfg, "sieve-test", optarg) < 0)
				goto out;
			break;
		case 'C': case 'D': case 'd': case 'e': case 'l': case 'P': case 't':
		case 'T':
			break;
		default:
			usage_test();
			goto out;
		}
	}
	if (argc - optind != 2) {
		usage_test();
		goto out;
	}
	/* the envelope recipient the script sees is the original one when
	 * given (what Pigeonhole's sieve-test does with -a) */
	env.env_to = orig != NULL ? orig : rcpt;
	env.env_orig_to = orig;
	for (i = 0; i < nscripts; i++) {
		before[nbefore] = sieve_tool_compile(&cfg, scripts[i], "sieve-test");
		if (before[nbefore] == NULL) {
			fprintf(stderr, "sieve-test: Fatal: failed to compile sieve script\n");
			goto out;
		}
		nbefore++;
	}
	sc = sieve_tool_compile(&cfg, argv[optind], "sieve-test");
	if (sc == NULL) {
		fprintf(stderr, "sieve-test: Fatal: failed to compile sieve script\n");
		goto out;
	}
	m = sieve_tool_message(argv[optind + 1], "sieve-test");
	if (m == NULL)
		goto out;
	sieve_tool_env_defaults(&env, &cfg, m, owned, 3);
	res = sieve_result_new();
	str_init(&out, 1024);
	str_init(&errs, 256);
	rc = 0;
	if (nbefore == 0) {
		if (sieve_run(sc, m, &env, res, &errs) != SIEVE_OK)
			rc = 1;
		fputs(errs.s, stderr);
		if (rc == 0)
			sieve_result_print(res, &env, &out);
	} else {
		/* -s scripts first, each with its own result, as Pigeonhole's
		 * multiscript runs them: the next one runs only while the message
		 * is still kept and no script ran stop */
		struct sieve_result *prev = NULL;

		before[nbefore] = sc;
		for (i = 0; i <= nbefore && rc == 0; i++) {
			char *base = strrchr(i < nbefore ? scripts[i] : argv[optind], '/');

			if (prev != NULL) {
				sieve_result_carry(res, prev);
				sieve_result_free(&prev);
			}
			str_appendf(&out, "%s## Executing script: %s\n", i < nbefore ? "\n" : "",
			    base != NULL ? base + 1 :
			    (i < nbefore ? scripts[i] : argv[optind]));
			if (sieve_run(before[i], m, &env, res, &errs) != SIEVE_OK) {
				rc = 1;
				break;
			}
			sieve_result_print_multi(res, &env, &out);
			if (i == nbefore || sieve_result_stopped(res) || !sieve_result_kept(res))
				break;
			prev = res;
			res = sieve_result_new();
		}
		sieve_result_free(&prev);
		before[nbefore] = NULL;
		fputs(errs.s, stderr);
	}
	if (rc == 0) {
		fputs(out.s, stdout);
		fflush(stdout);
		fprintf(stderr, "sieve-test: Info: final result: success\n");
	} else
		fprintf(stderr, "sieve-test: Info: final result: failed; resolved with successful "
		    "implicit keep\n");
	str_deinit(&out);
	str_deinit(&errs);
out:
	for (i = 0; i < nbefore; i++)
		sieve_script_free(&before[i]);
	for (i = 0; i < 3; i++)
		free(owned[i]);
	sieve_result_free(&res);
	sieve_msg_free(&m);
	sieve_script_free(&sc);
	sieve_config_deinit(&cfg);
	return rc;
}
