/* fuzz_login_pool_msg.c - the messages a pooled login process (network-
 * facing, unprivileged, so not trusted) sends the service: the first
 * byte chooses how many fds came with it, the rest is the message. A
 * hand-off's session id must come out as base64 text that fits. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "login/login_pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char session[32];
	size_t nfds;

	if (size == 0)
		return 0;
	nfds = data[0] % 4;
	memset(session, 'X', sizeof(session));
	switch (login_pool_msg_parse((const char *)data + 1, size - 1, nfds, session,
	    sizeof(session))) {
	case LOGIN_POOL_MSG_HANDOFF:
		if (nfds != 2 || memchr(session, '\0', sizeof(session)) == NULL ||
		    strlen(session) == 0 || strspn(session, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/=") != strlen(session))
			__builtin_trap();
		break;
	case LOGIN_POOL_MSG_BUSY:
	case LOGIN_POOL_MSG_IDLE:
		if (nfds != 0 || size != 2)
			__builtin_trap();
		break;
	case LOGIN_POOL_MSG_BAD:
		break;
	}
	return 0;
}
