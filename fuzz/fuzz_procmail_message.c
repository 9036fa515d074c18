/* fuzz_procmail_message.c - an arbitrary message through procmail's
 * message handling (header/body split, continued fields, the From_ line,
 * the LOGFILE abstract) and a fixed rcfile's conditions: macros, \/ MATCH,
 * scores, sizes, VAR ??, H/B areas. Nothing runs, nothing is written. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "lib/mem.h"
#include "procmail/pm-private.h"
#include "procmail/pm_rc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char RC[] =
    ":0\n* ^Subject:\\/.*\n{ S=$MATCH }\n"
    ":0\n* ^TO_me@example\\.org\n* ! ^FROM_DAEMON\n{ }\n"
    ":0\n* ^FROM_MAILER\n{ }\n"
    ":0 HB\n* 1^1 ^.*$\n* -2^0.5 [a-z]+\n* 3^2 > 100\n* 1^1 < 5000\n{ }\n"
    ":0 B\n* ^^From \\/[^ ]+\n* MATCH ?? ()\\/[a-z]+$\n{ }\n"
    ":0\n* S ?? ^ *\\/(re|fwd):\n{ }\n"
    ":0 D\n* ^X-[A-Z][a-z]+:.*\\<\\/[0-9]+\n{ }\n"
    ":0 E\n* $ ^Subject:.*$\\S\n{ }\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	static struct pm_rc *rc;
	struct pm_ctx ctx;
	struct str s;

	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY);
	if (rc == NULL)
		rc = pm_rc_parse("rc", RC, sizeof RC - 1);
	pm_ctx_init(&ctx);
	ctx.log_fd = devnull;
	pm_msg_set(&ctx.msg, (const char *)data, size);
	pm_exec_dry(&ctx, rc);
	str_init(&s, 64);
	(void)pm_msg_field(&ctx.msg, "Subject", &s);
	str_deinit(&s);
	ctx.log_folder = xstrdup("folder/with/a/name/longer/than/sixty/characters/for/the/log/line");
	pm_log_abstract(&ctx);
	pm_msg_from_line(&ctx.msg, "fuzz@example.org", true);
	ctx.log_fd = 2;		/* not ours to close */
	pm_ctx_deinit(&ctx);
	return 0;
}
