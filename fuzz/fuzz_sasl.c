/* fuzz_sasl.c - the SASL decoders of the authentication service on
 * arbitrary input: base64_decode (every response crosses it),
 * sasl_plain_decode (RFC 4616 message) and sasl_scram_parse_client_first
 * (RFC 5802 client-first-message), with the invariants each promises;
 * and the APOP mechanism's message parser (challenge NUL user NUL digest). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth/sasl.h"
#include "lib/base64.h"
#include "lib/mem.h"
#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
be_clear(void *ctx, const char *user, struct str *out)
{
	str_append(out, "secret");
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *authzid, *authcid, *passwd;
	struct sasl_scram_client_first cf;
	char buf[1024];
	struct str out, again;

	/* base64: whatever decodes, re-encodes to a string that decodes to
	 * the same bytes */
	str_init(&out, 64);
	str_init(&again, 64);
	if (base64_decode(&out, (const char *)data, size) == 0) {
		struct str enc;

		str_init(&enc, 64);
		base64_encode(&enc, out.s, out.len);
		if (base64_decode(&again, enc.s, enc.len) != 0 || again.len != out.len ||
		    memcmp(again.s, out.s, out.len) != 0)
			__builtin_trap();
		str_deinit(&enc);
	}
	/* PLAIN: the views lie inside buf and are NUL-free strings */
	if (sasl_plain_decode(data, size, &authzid, &authcid, &passwd, buf, sizeof(buf)) == 0) {
		const char *v[3] = { authzid, authcid, passwd };

		for (int i = 0; i < 3; i++)
			if (v[i] == NULL || v[i] < buf || v[i] + strlen(v[i]) >= buf + sizeof(buf))
				__builtin_trap();
		if (strlen(authcid) + strlen(passwd) + strlen(authzid) + 2 != size)
			__builtin_trap();
	}
	/* SCRAM client-first: a user and a nonce, the bare part a suffix */
	memset(&cf, 0, sizeof(cf));
	if (sasl_scram_parse_client_first((const char *)data, size, &cf) == 0) {
		if (cf.user == NULL || cf.nonce == NULL || cf.bare == NULL ||
		    strlen(cf.bare) > size)
			__builtin_trap();
	}
	sasl_scram_client_first_deinit(&cf);
	/* APOP: refused or accepted, the user is a clean string when set */
	{
		struct sasl_backend be = { NULL, NULL, NULL, be_clear, NULL };
		struct sasl_request *r = sasl_request_new(sasl_mech_find("APOP"), &be, "h");
		const char *reason;
		struct str ch;

		str_init(&ch, 16);
		if (sasl_request_step(r, data, size, true, &ch, &reason) == SASL_OK &&
		    sasl_request_user(r) == NULL)
			__builtin_trap();
		str_deinit(&ch);
		sasl_request_free(&r);
	}
	str_deinit(&out);
	str_deinit(&again);
	return 0;
}
