/* fuzz_procmailrc.c - the procmailrc parser on arbitrary input, then every
 * recipe's conditions (procmail's regexps, scores, \/ MATCH, $ expansion,
 * VAR ??) matched against a fixed message, running no program. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "lib/log.h"
#include "procmail/pm-private.h"
#include "procmail/pm_rc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MESSAGE[] =
    "From joe@example.org  Mon Nov 23 10:01:44 2026\n"
    "Return-Path: <joe@example.org>\n"
    "From: Joe <joe@example.org>\n"
    "To: list@lists.example.net, me@example.org\n"
    "Subject: Re: [list] hello\n"
    " world 12345\n"
    "Precedence: bulk\n"
    "Message-ID: <x1@example.org>\n"
    "\n"
    "body line one\n"
    "From the body\n"
    "last line\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	struct pm_ctx ctx;
	struct pm_rc *rc;

	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY);
	log_open("fuzz", 0);
	rc = pm_rc_parse("rc", (const char *)data, size);
	pm_ctx_init(&ctx);
	ctx.log_fd = devnull;
	ctx.dry = true;
	pm_var_set(&ctx, "HOME", "/nonexistent");
	pm_var_set(&ctx, "SHELLMETAS", "&|<>~;?*[");
	strvec_push(&ctx.args, "arg1");
	pm_msg_set(&ctx.msg, MESSAGE, sizeof MESSAGE - 1);
	pm_exec_dry(&ctx, rc);
	ctx.log_fd = 2;		/* not ours to close */
	pm_ctx_deinit(&ctx);
	pm_rc_free(&rc);
	return 0;
}
