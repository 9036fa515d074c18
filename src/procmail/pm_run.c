/* pm_run.c - programs procmail starts: the mail (or part of it) on their
 * stdin, their stdout captured (filters, VAR=|, `...`) or sent to the log
 * like their stderr, the variables as their environment. A line with any
 * of $SHELLMETAS goes to "$SHELL" "$SHELLFLAGS" "line"; another is split
 * into words by procmail itself and exec'd (procmailrc(5)). They run with
 * the rights this process has: procmail's own (see pm_main.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/mem.h"
#include "procmail/pm-private.h"

bool pm_write_error;	/* the last program closed its stdin early */

static void
child_exec(struct pm_ctx *ctx, char **argv)
{
	struct strvec v;
	size_t i;

	execvpe(argv[0], argv, ctx->env.v);
	/* procmail hands what it cannot exec to /bin/sh as a script */
	strvec_init(&v);
	strvec_push(&v, "/bin/sh");
	for (i = 0; argv[i] != NULL; i++)
		strvec_push(&v, argv[i]);
	execve(v.v[0], v.v, ctx->env.v);
	dprintf(2, "%s: Couldn't execute \"%s\"\n", ctx->progname, argv[0]);
	_exit(127);
}

int
pm_run_argv(struct pm_ctx *ctx, char **argv, const char *in, size_t inlen, struct str *output)
{
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, status = 0;
	long timeout = pm_var_long(ctx, "TIMEOUT", 960);
	time_t deadline = time(NULL) + (timeout > 0 ? timeout : 1000000000L);
	size_t off = 0;
	pid_t pid;

	pm_write_error = false;
	if (ctx->dry)
		return -1;	/* the fuzz harness: never run anything */
	if (pipe2(inp, O_CLOEXEC) != 0)
		return -1;
	if (output != NULL && pipe2(outp, O_CLOEXEC) != 0) {
		close(inp[0]);
		close(inp[1]);
		return -1;
	}
	if ((pid = fork()) < 0) {
		close(inp[0]);
		close(inp[1]);
		if (output != NULL) {
			close(outp[0]);
			close(outp[1]);
		}
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		dup2(inp[0], 0);
		if (output != NULL)
			dup2(outp[1], 1);
		else {
			/* a delivering program's output goes nowhere, as with
			 * procmail; its stderr goes to the log */
			int dn = open("/dev/null", O_WRONLY);

			if (dn >= 0 && dn != 1) {
				dup2(dn, 1);
				close(dn);
			}
		}
		if (ctx->log_fd != 2)
			dup2(ctx->log_fd, 2);
		child_exec(ctx, argv);
	}
	close(inp[0]);
	if (output != NULL)
		close(outp[1]);
	if (in == NULL || inlen == 0) {
		close(inp[1]);
		inp[1] = -1;
	} else
		(void)fcntl(inp[1], F_SETFL, O_NONBLOCK);
	while (inp[1] >= 0 || (output != NULL && outp[0] >= 0)) {
		struct pollfd pf[2];
		int np = 0, wi = -1, ri = -1;
		time_t now = time(NULL);

		if (now >= deadline) {
			pm_log(ctx, "Timeout, terminating \"%s\"", argv[0]);
			kill(pid, SIGTERM);
			break;
		}
		if (inp[1] >= 0) {
			pf[np].fd = inp[1];
			pf[np].events = POLLOUT;
			wi = np++;
		}
		if (output != NULL && outp[0] >= 0) {
			pf[np].fd = outp[0];
			pf[np].events = POLLIN;
			ri = np++;
		}
		if (poll(pf, (nfds_t)np, 1000) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (wi >= 0 && pf[wi].revents != 0) {
			ssize_t w = write(inp[1], in + off, inlen - off > 65536 ? 65536 : inlen - off);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				pm_write_error = true;
				off = inlen;
			}
			if (off >= inlen) {
				close(inp[1]);
				inp[1] = -1;
			}
		}
		if (ri >= 0 && pf[ri].revents != 0) {
			char buf[65536];
			ssize_t r = read(outp[0], buf, sizeof buf);

			if (r > 0)
				str_append_n(output, buf, (size_t)r);
			else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(outp[0]);
				outp[0] = -1;
			}
		}
	}
	if (inp[1] >= 0)
		close(inp[1]);
	if (output != NULL && outp[0] >= 0)
		close(outp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* has_metas - any of $SHELLMETAS in the line (the leading '|' already gone) */
static bool
has_metas(struct pm_ctx *ctx, const char *raw)
{
	const char *m = pm_var_get(ctx, "SHELLMETAS");

	if (m == NULL)
		m = "&|<>~;?*[";
	return strpbrk(raw, m) != NULL;
}

int
pm_run_program(struct pm_ctx *ctx, const char *raw, const char *in, size_t inlen,
    struct str *output, bool *ran_shell_r, struct str *shown)
{
	struct strvec words;
	int rc;

	strvec_init(&words);
	if (has_metas(ctx, raw)) {
		const char *sh = pm_var_get(ctx, "SHELL");
		const char *fl = pm_var_get(ctx, "SHELLFLAGS");

		strvec_push(&words, sh != NULL && *sh ? sh : "/bin/sh");
		strvec_push(&words, fl != NULL && *fl ? fl : "-c");
		strvec_push(&words, raw);
		if (shown != NULL)
			str_append(shown, raw);
		if (ran_shell_r != NULL)
			*ran_shell_r = true;
	} else {
		size_t i;

		pm_expand_words(ctx, raw, &words);
		for (i = 0; shown != NULL && i < words.n; i++) {
			if (i > 0)
				str_append_c(shown, ' ');
			str_append(shown, words.v[i]);
		}
		if (ran_shell_r != NULL)
			*ran_shell_r = false;
	}
	if (words.n == 0) {
		strvec_deinit(&words);
		return -1;
	}
	rc = pm_run_argv(ctx, words.v, in, inlen, output);
	strvec_deinit(&words);
	return rc;
}
