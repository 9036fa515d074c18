/* fuzz_sieve_run.c - compile arbitrary script text and, when it compiles,
 * run it against a fixed MIME message and execute the result into a
 * discarding store: the interpreter, :matches, :regex, variables, the MIME
 * walker, include (a loader that returns the script itself, so loops are
 * tried) and the executor must stay within their limits; spamtest and
 * virustest (its maximum read from the message), editheader with a
 * site policy and vnd.dovecot.environment's config items are configured. The input's
 * first line, when it starts with "#M", is used as the message instead
 * (so the message parser is fuzzed too). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve.h"
#include "sieve/sieve_exec.h"

static const char fixed[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob+x@example.com, \"Carol\" <carol@example.net>, \"q \\\"x\"@y.example\r\n"
	"Cc: <@route.example:x@y.example>, g: a@b.example;\r\n"
	"Subject: =?UTF-8?Q?caf=C3=A9?= [list] hello\r\n"
	"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
	"Message-ID: <1@example.org>\r\n"
	"X-Spam-Score: 5\r\n"
	"X-Spam-Max: max=9.5\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 text\r\n"
	"--b\r\nContent-Type: text/html\r\n\r\n<p>a &amp; b<script>x</script>&#65;</p>\r\n"
	"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n"
	"--b--\r\n";

struct fctx {
	const uint8_t *data;
	size_t size;
};

static int
load(void *ctx, const char *name, bool global, struct str *out)
{
	struct fctx *f = ctx;

	if (global)
		return 0;
	str_append_n(out, f->data, f->size);
	return 1;
}

static int
store(void *ctx, const char *mailbox, char *const *flags, bool create, const char *data,
    size_t len)
{
	return 0;
}

static int
sendm(void *ctx, const char *from, const char *rcpt, const char *data, size_t len)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sieve_limits lim;
	struct sieve_extset ext;
	struct sieve_script *sc;
	struct sieve_msg *m;
	struct sieve_result *res;
	struct sieve_env env;
	struct sieve_loader loader;
	struct sieve_exec_ops ops;
	struct fctx f = { data, size };
	struct str errs, log;
	const char *msg = fixed;
	size_t mlen = sizeof(fixed) - 1;

	if (size > 2 && data[0] == '#' && data[1] == 'M') {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t n = nl != NULL ? (size_t)(nl - data) : size;

		msg = (const char *)data + 2;
		mlen = n - 2;
	}
	sieve_limits_default(&lim);
	lim.max_script_size = 64 * 1024;
	lim.max_steps = 20000;
	lim.editheader_max_header_size = 1024;
	lim.duplicate_max_period = 3600;
	ext.bits = (UINT64_C(1) << SV_EXT_COUNT) - 1;
	ext.bits &= ~(UINT64_C(1) << SV_EXT_TESTSUITE);
	str_init(&errs, 256);
	str_init(&log, 256);
	sc = sieve_compile("fuzz", (const char *)data, size, &lim, &ext, &errs);
	if (sc != NULL) {
		memset(&env, 0, sizeof(env));
		env.env_from = "alice@example.org";
		env.env_to = "bob+x@example.com";
		{
			static struct sieve_scorecfg spam, virus;
			static struct sieve_hdrcfg hdr;

			spam.header = (char *)(uintptr_t)"X-Spam-Score";
			spam.max = 10;
			env.spam = &spam;
			/* the maximum read from the message (sieve_*_max_header) */
			virus.header = (char *)(uintptr_t)"X-Spam-Score";
			virus.max_header = (char *)(uintptr_t)"X-Spam-Max";
			virus.max_regex = (char *)(uintptr_t)"max=([-+0-9.]+)";
			env.virus = &virus;
			hdr.protect = (char *)(uintptr_t)"X-A x-b";
			hdr.forbid_add = (char *)(uintptr_t)"X-C";
			hdr.forbid_delete = (char *)(uintptr_t)" X-D  Received ";
			env.editheader = &hdr;
		}
		{
			static char dept[] = "dept=sales", empty[] = "empty=";
			static char *const cfgitems[] = { dept, empty, NULL };

			env.env_config = cfgitems;
			env.user = "bob";
			env.hostname = "mx.example.com";
		}
		env.now = 1790000000;
		loader.load = load;
		loader.ctx = &f;
		env.loader = &loader;
		memset(&ops, 0, sizeof(ops));
		ops.store = store;
		ops.send = sendm;
		m = sieve_msg_new(msg, mlen);
		res = sieve_result_new();
		if (sieve_run(sc, m, &env, res, &errs) == SIEVE_OK) {
			struct str out;

			str_init(&out, 256);
			sieve_result_print(res, &env, &out);
			str_deinit(&out);
			(void)sieve_execute(res, m, &env, &ops, &log);
		}
		sieve_result_free(&res);
		sieve_msg_free(&m);
	}
	sieve_script_free(&sc);
	str_deinit(&errs);
	str_deinit(&log);
	return 0;
}
