/* pm_main.c - `yubin procmail` and the name `procmail`: procmail(1)'s
 * command line (-v -p -t -f -r -o -Y -a -d -m, VAR=value arguments,
 * rcfiles), the environment defaults of procmailrc(5), the message from
 * stdin, then the rcfile and the exit code the MTA maps (0 delivered,
 * 75 EX_TEMPFAIL with -t or on a lock timeout, 73 EX_CANTCREAT, 67
 * EX_NOUSER for an unknown -d recipient).
 *
 * Privileges: procmail runs with the rights of whoever runs it; Postfix's
 * local(8) runs mailbox_command as the recipient already. With -d and
 * root privileges it becomes the recipient (initgroups, setgid, setuid)
 * before it reads anything of the user's, as procmail does; with -d and
 * no root it only delivers when the recipient is itself. /etc/procmailrc
 * is never read (procmail would run it as root). */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/mem.h"
#include "procmail/pm-private.h"

extern char **environ;

static void
usage(void)
{
	fprintf(stderr, "Usage: procmail [-vptoY] [-f fromwhom] [parameter=value | rcfile] ...\n"
	    "   Or: procmail [-toY] [-f fromwhom] [-a argument] ... -d recipient ...\n"
	    "   Or: procmail [-ptY] -m [parameter=value] ... rcfile [argument] ...\n");
}

/* self_dir_sendmail - yubin's sendmail beside this binary */
static char *
default_sendmail(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	char *slash;

	if (n <= 0)
		return xstrdup("/usr/sbin/sendmail");
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		return xstrdup("/usr/sbin/sendmail");
	*slash = '\0';
	return xasprintf("%s/sendmail", buf);
}

static void
set_defaults(struct pm_ctx *ctx, const struct passwd *pw, bool preserve, bool filter_mode,
    bool dot_rc)
{
	char host[256], *sm;
	size_t i;

	if (preserve) {
		for (i = 0; environ[i] != NULL; i++)
			strvec_push(&ctx->env, environ[i]);
	} else if (getenv("TZ") != NULL) {
		pm_var_set(ctx, "TZ", getenv("TZ"));
	}
	pm_var_set(ctx, "HOME", pw->pw_dir);
	pm_var_set(ctx, "LOGNAME", pw->pw_name);
	pm_var_set(ctx, "USER", pw->pw_name);
	pm_var_set(ctx, "SHELL", pw->pw_shell != NULL && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
	{
		char *path = xasprintf("%s/bin:/usr/local/bin:/usr/bin:/bin", pw->pw_dir);

		pm_var_set(ctx, "PATH", path);
		free(path);
	}
	pm_var_set(ctx, "SHELLMETAS", "&|<>~;?*[");
	pm_var_set(ctx, "SHELLFLAGS", "-c");
	{
		char *org = xasprintf("/var/mail/%s", pw->pw_name);

		/* -m: no ORGMAIL, yet DEFAULT stays the system mailbox, as
		 * Debian's procmail 3.23pre has it */
		if (!filter_mode)
			pm_var_set(ctx, "ORGMAIL", org);
		pm_var_set(ctx, "DEFAULT", org);
		free(org);
	}
	pm_var_set(ctx, "MAILDIR", dot_rc ? "." : pw->pw_dir);
	pm_var_set(ctx, "MSGPREFIX", "msg.");
	sm = default_sendmail();
	pm_var_set(ctx, "SENDMAIL", sm);
	free(sm);
	pm_var_set(ctx, "SENDMAILFLAGS", "-oi");
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		pm_var_set(ctx, "HOST", host);
	}
	pm_var_set(ctx, "COMSAT", "no");
	pm_var_set(ctx, "PROCMAIL_VERSION", "3.23pre");
	pm_var_set(ctx, "LOCKEXT", ".lock");
	umask(077);
	if (chdir(pm_var_get(ctx, "MAILDIR")) != 0)
		pm_log(ctx, "Couldn't chdir to \"%s\"", pm_var_get(ctx, "MAILDIR"));
}

/* rc_is_safe - procmail skips an rcfile others could have written */
static bool
rc_is_safe(struct pm_ctx *ctx, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return true;	/* reported when it is read */
	if ((st.st_mode & S_IWOTH) || (st.st_uid != geteuid() && st.st_uid != 0)) {
		pm_log(ctx, "Suspicious rcfile \"%s\"", path);
		return false;
	}
	return true;
}

/* envelope_sender - for a From_ line procmail must make */
static char *
envelope_sender(struct pm_ctx *ctx)
{
	struct str v;
	char *s, *lt, *gt;

	str_init(&v, 64);
	if (pm_msg_field(&ctx->msg, "Return-Path", &v) && (lt = strchr(v.s, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL && gt > lt + 1) {
		s = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		str_deinit(&v);
		return s;
	}
	str_deinit(&v);
	return xstrdup(pm_var_get(ctx, "LOGNAME") ? pm_var_get(ctx, "LOGNAME") : "MAILER-DAEMON");
}

struct pm_cmdline {
	bool		 preserve, fail_soft, filter_mode, delivery;
	const char	*from;
	struct strvec	 args, assigns, rcfiles, recipients;
};

static int
run_one(struct pm_cmdline *cl, const struct passwd *pw)
{
	struct pm_ctx ctx;
	bool dot_rc = cl->rcfiles.n > 0 && strncmp(cl->rcfiles.v[0], "./", 2) == 0;
	char *rcpath = NULL;
	size_t i;
	int code;

	pm_ctx_init(&ctx);
	ctx.fail_soft = cl->fail_soft;
	ctx.filter_mode = cl->filter_mode;
	for (i = 0; i < cl->args.n; i++)
		strvec_push(&ctx.args, cl->args.v[i]);
	set_defaults(&ctx, pw, cl->preserve, cl->filter_mode, dot_rc);
	if (pm_msg_read(&ctx.msg, 0) != 0) {
		pm_log(&ctx, "Couldn't read the mail: %s", strerror(errno));
		pm_ctx_deinit(&ctx);
		return PM_EX_TEMPFAIL;
	}
	if (cl->from != NULL && strcmp(cl->from, "-") != 0)
		pm_msg_from_line(&ctx.msg, cl->from, false);
	else if (cl->from != NULL || cl->delivery || (!cl->filter_mode && cl->rcfiles.n == 0)) {
		size_t fl = pm_msg_from_len(&ctx.msg);
		/* -f -: the sender of the From_ line stays, the time is now */
		char *s = cl->from != NULL && fl > 5 ?
		    xstrndup(ctx.msg.data.s + 5, strcspn(ctx.msg.data.s + 5, " \t\n")) :
		    envelope_sender(&ctx);

		pm_msg_from_line(&ctx.msg, s, cl->from == NULL);
		free(s);
	}
	for (i = 0; i < cl->assigns.n; i++) {
		char *eq = strchr(cl->assigns.v[i], '=');
		char *name = xstrndup(cl->assigns.v[i], (size_t)(eq - cl->assigns.v[i]));

		/* command-line INCLUDERC and SWITCHRC have no effect (procmailrc(5)) */
		if (strcmp(name, "INCLUDERC") != 0 && strcmp(name, "SWITCHRC") != 0)
			pm_assign(&ctx, name, eq + 1);
		free(name);
	}
	if (cl->rcfiles.n == 0 && !cl->filter_mode) {
		rcpath = xasprintf("%s/.procmailrc", pw->pw_dir);
		if (rc_is_safe(&ctx, rcpath))
			(void)pm_exec_file(&ctx, rcpath, true);
	} else {
		for (i = 0; i < cl->rcfiles.n; i++) {
			const char *r = cl->rcfiles.v[i];

			free(rcpath);
			if (r[0] == '/' || cl->filter_mode || strncmp(r, "./", 2) == 0)
				rcpath = xstrdup(r);
			else
				rcpath = xasprintf("%s/%s", pw->pw_dir, r);
			if (access(rcpath, R_OK) != 0) {
				if (cl->filter_mode || i + 1 == cl->rcfiles.n)
					pm_log(&ctx, "Couldn't read \"%s\"", rcpath);
				continue;
			}
			if (!rc_is_safe(&ctx, rcpath)) {
				pm_log(&ctx, "Couldn't read \"%s\"", rcpath);
				continue;
			}
			(void)pm_exec_file(&ctx, rcpath, false);
			break;
		}
	}
	while (ctx.switch_to != NULL && !ctx.stop) {
		char *next = ctx.switch_to;

		ctx.switch_to = NULL;
		ctx.end_file = false;
		(void)pm_exec_file(&ctx, next, false);
		free(next);
	}
	free(rcpath);
	code = pm_finish(&ctx);
	pm_ctx_deinit(&ctx);
	return code;
}

/* become - -d as root: the recipient's uid, gid and groups */
static int
become(const struct passwd *pw)
{
	if (geteuid() != 0)
		return pw->pw_uid == geteuid() ? 0 : -1;
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		return -1;
	if (setuid(0) == 0)
		return -1;	/* must not be able to get root back */
	return 0;
}

int
cmd_procmail(int argc, char **argv)
{
	struct pm_cmdline cl = { 0 };
	const struct passwd *pw;
	int i, code = 0;

	signal(SIGPIPE, SIG_IGN);
	strvec_init(&cl.args);
	strvec_init(&cl.assigns);
	strvec_init(&cl.rcfiles);
	strvec_init(&cl.recipients);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (cl.delivery) {
			strvec_push(&cl.recipients, a);
			continue;
		}
		if (a[0] == '-' && a[1] != '\0' && cl.rcfiles.n == 0) {
			const char *p;

			if (strcmp(a, "--") == 0)
				continue;
			for (p = a + 1; *p != '\0'; p++) {
				const char *val;

				switch (*p) {
				case 'v':
					printf("procmail v3.23pre (yubin %s)\n", YUBIN_VERSION);
					goto done;
				case 'p': cl.preserve = true; break;
				case 't': cl.fail_soft = true; break;
				case 'o': case 'Y': break;
				case 'm': cl.filter_mode = true; break;
				case 'd': cl.delivery = true; break;
				case 'f': case 'r': case 'a':
					val = p[1] != '\0' ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
					if (val == NULL) {
						usage();
						{ code = PM_EX_USAGE; goto done; }
					}
					if (*p == 'a')
						strvec_push(&cl.args, val);
					else
						cl.from = val;
					goto next_arg;
				case 'h': case '?':
					usage();
					{ code = PM_EX_USAGE; goto done; }
				default:
					usage();
					{ code = PM_EX_USAGE; goto done; }
				}
			}
next_arg:
			continue;
		}
		if (cl.filter_mode && cl.rcfiles.n > 0) {
			strvec_push(&cl.args, a);
			continue;
		}
		if (strchr(a, '=') != NULL && pm_is_varname(a, (size_t)(strchr(a, '=') - a)))
			strvec_push(&cl.assigns, a);
		else
			strvec_push(&cl.rcfiles, a);
	}
	if (cl.filter_mode && cl.rcfiles.n == 0) {
		usage();
		{ code = PM_EX_USAGE; goto done; }
	}
	if (cl.delivery) {
		size_t k;

		if (cl.recipients.n == 0) {
			usage();
			{ code = PM_EX_USAGE; goto done; }
		}
		/* one process per recipient, each becoming that user; the
		 * mail is read once into a memory file they all rewind */
		if (cl.recipients.n > 1) {
			int mfd = memfd_create("procmail", MFD_CLOEXEC);
			char buf[65536];
			ssize_t r;

			if (mfd < 0)
				{ code = PM_EX_TEMPFAIL; goto done; }
			while ((r = read(0, buf, sizeof buf)) > 0)
				if (write(mfd, buf, (size_t)r) != r)
					{ code = PM_EX_TEMPFAIL; goto done; }
			if (r < 0 || dup2(mfd, 0) < 0)
				{ code = PM_EX_TEMPFAIL; goto done; }
			close(mfd);
		}
		for (k = 0; k < cl.recipients.n; k++) {
			pid_t pid;
			int st;

			if ((pw = getpwnam(cl.recipients.v[k])) == NULL) {
				fprintf(stderr, "procmail: Unknown user \"%s\"\n", cl.recipients.v[k]);
				code = code ? code : PM_EX_NOUSER;
				continue;
			}
			if (cl.recipients.n == 1) {
				if (become(pw) != 0) {
					fprintf(stderr, "procmail: Insufficient privileges\n");
					code = PM_EX_TEMPFAIL;
				} else
					code = run_one(&cl, pw);
				break;
			}
			if ((pid = fork()) == 0) {
				(void)lseek(0, 0, SEEK_SET);
				if (become(pw) != 0)
					_exit(PM_EX_TEMPFAIL);
				_exit(run_one(&cl, pw));
			}
			while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
				code = pid < 0 || !WIFEXITED(st) ? PM_EX_TEMPFAIL : WEXITSTATUS(st);
		}
		goto done;
	}
	if ((pw = getpwuid(getuid())) == NULL) {
		fprintf(stderr, "procmail: Unknown user (uid %ld)\n", (long)getuid());
		code = PM_EX_NOUSER;
		goto done;
	}
	code = run_one(&cl, pw);
done:
	strvec_deinit(&cl.args);
	strvec_deinit(&cl.assigns);
	strvec_deinit(&cl.rcfiles);
	strvec_deinit(&cl.recipients);
	return code;
}
