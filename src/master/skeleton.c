/* skeleton.c - the daemon start-up skeleton (skeleton.h).
 * Tests: tests/e2e/test_master.py (every daemon the master starts) */
#include "master/skeleton.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/instance.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

static char skeleton_error[512];

static int __attribute__((format(printf, 2, 3)))
skeleton_fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skeleton_error, sizeof(skeleton_error), fmt, ap);
	va_end(ap);
	*error_r = skeleton_error;
	return -1;
}

/* skeleton_expand - an expanded main.cf value (caller frees) or NULL */
static char *
skeleton_expand(struct maincf *cf, const char *name, const char **error_r)
{
	struct str v;
	char *s;

	str_init(&v, 64);
	if (maincf_get(cf, name, &v, error_r) != 0) {
		str_deinit(&v);
		return NULL;
	}
	s = str_export(&v);
	str_deinit(&v);
	return s;
}

void
skeleton_log_as(const struct skeleton *sk, const char *name)
{
	char tag[128];

	snprintf(tag, sizeof(tag), "%s/%s", sk->syslog_name != NULL ? sk->syslog_name : "yubin",
	    name);
	log_open(tag, sk->log_flags);
}

int
skeleton_init(struct skeleton *sk, const char *command, int argc, char **argv,
    const char **error_r)
{
	struct strvec overrides;
	const char *env, *err;
	char *maillog, *eq;
	struct stat st;
	size_t i;
	int n;

	memset(sk, 0, sizeof(*sk));
	sk->command = command;
	sk->listen_fd = -1;
	strvec_init(&overrides);
	for (n = 1; n < argc; n++) {
		const char *a = argv[n], *v = n + 1 < argc ? argv[n + 1] : NULL;

		if (strcmp(a, "-v") == 0) {
			sk->verbose = true;
			continue;
		}
		if (strcmp(a, "-c") != 0 && strcmp(a, "-n") != 0 && strcmp(a, "-t") != 0 &&
		    strcmp(a, "-o") != 0 && strcmp(a, "--listen") != 0) {
			strvec_deinit(&overrides);
			return skeleton_fail(error_r, "unexpected argument: %s", a);
		}
		if (v == NULL) {
			strvec_deinit(&overrides);
			return skeleton_fail(error_r, "option %s needs a value", a);
		}
		n++;
		if (a[1] == 'c')
			free(sk->config_dir), sk->config_dir = xstrdup(v);
		else if (a[1] == 'n')
			free(sk->service_name), sk->service_name = xstrdup(v);
		else if (a[1] == 't')
			free(sk->service_type), sk->service_type = xstrdup(v);
		else if (a[1] == 'o')
			strvec_push(&overrides, v);
		else
			free(sk->listen_addr), sk->listen_addr = xstrdup(v);
	}
	if (sk->config_dir == NULL)
		sk->config_dir = xstrdup(instance_config_dir(NULL));
	if (sk->service_name == NULL)
		sk->service_name = xstrdup(command);
	if (sk->service_type == NULL)
		sk->service_type = xstrdup("unix");
	env = getenv("YUBIN_MASTER");
	sk->under_master = env != NULL && strcmp(env, "1") == 0;
	if (sk->under_master && fstat(SKELETON_LISTEN_FD, &st) == 0)
		sk->listen_fd = SKELETON_LISTEN_FD;

	sk->cf = maincf_new(sk->config_dir);
	if (maincf_load(sk->cf, &err) != 0) {
		strvec_deinit(&overrides);
		return skeleton_fail(error_r, "%s", err);
	}
	for (i = 0; i < overrides.n; i++) {
		if ((eq = strchr(overrides.v[i], '=')) == NULL) {
			strvec_deinit(&overrides);
			return skeleton_fail(error_r, "-o %s: expected name=value", overrides.v[i]);
		}
		*eq = '\0';
		maincf_override(sk->cf, overrides.v[i], eq + 1);
	}
	strvec_deinit(&overrides);
	if ((sk->queue_dir = skeleton_expand(sk->cf, "queue_directory", &err)) == NULL ||
	    (sk->syslog_name = skeleton_expand(sk->cf, "syslog_name", &err)) == NULL ||
	    (maillog = skeleton_expand(sk->cf, "maillog_file", &err)) == NULL)
		return skeleton_fail(error_r, "%s", err);

	/* with maillog_file, Postfix's daemons log there instead of syslog
	 * (through postlogd); the master asks for stderr in dev mode */
	sk->log_flags = *maillog != '\0' ? 0 : LOG_TO_SYSLOG;
	/* by hand (tests, debugging) or in dev mode, also on stderr */
	if (!sk->under_master ||
	    ((env = getenv("YUBIN_LOG_STDERR")) != NULL && strcmp(env, "1") == 0))
		sk->log_flags |= LOG_TO_STDERR | LOG_STDERR_FULL;
	skeleton_log_as(sk, sk->command);
	if (*maillog != '\0' && log_set_file(maillog) != 0) {
		int saved = errno;

		free(maillog);
		return skeleton_fail(error_r, "open maillog_file: %s", strerror(saved));
	}
	free(maillog);
	if (sk->verbose)
		log_set_verbose(1);
	return 0;
}

void
skeleton_deinit(struct skeleton *sk)
{
	maincf_free(&sk->cf);
	XFREE(sk->config_dir);
	XFREE(sk->service_name);
	XFREE(sk->service_type);
	XFREE(sk->listen_addr);
	XFREE(sk->queue_dir);
	XFREE(sk->syslog_name);
}

int
skeleton_drop_privileges(struct skeleton *sk, const char **error_r)
{
	const char *err;
	struct passwd *pw;
	char *owner;

	if (geteuid() != 0)
		return 0;
	if ((owner = skeleton_expand(sk->cf, "mail_owner", &err)) == NULL)
		return skeleton_fail(error_r, "%s", err);
	if ((pw = getpwnam(owner)) == NULL) {
		skeleton_fail(error_r, "unknown mail_owner: %s", owner);
		free(owner);
		return -1;
	}
	free(owner);
	/* dev mode: mail_owner is the invoking user, nothing changes */
	if (pw->pw_uid == geteuid())
		return 0;
	if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		return skeleton_fail(error_r, "cannot become mail_owner: %s", strerror(errno));
	/* a process that can get root back has not dropped it */
	if (setuid(0) == 0)
		return skeleton_fail(error_r, "privileges could be regained");
	return 0;
}
