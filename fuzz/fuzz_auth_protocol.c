/* fuzz_auth_protocol.c - the authentication service's side of Dovecot's
 * auth protocol (auth_server.c: the line parser, AUTH/CONT/USER/PASS and
 * the SASL steps behind them) on arbitrary client input, over an
 * in-process connection: the service answers or drops the client, never
 * crashes, and frees everything. A passwd-file user (alice/secret) makes
 * the success paths reachable. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth/auth_server.h"
#include "lib/dovecot_conf.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dovecot_conf *conf;

static void
setup(void)
{
	char users[] = "/tmp/fuzz_auth_users.XXXXXX", conf_text[512];
	const char *err;
	int fd;

	log_open("fuzz", 0);
	fd = mkstemp(users);
	if (fd < 0 || write(fd, "alice:{PLAIN}secret:1000:1000::/home/alice::\n", 45) != 45)
		abort();
	close(fd);
	snprintf(conf_text, sizeof(conf_text),
	    "auth_mechanisms = plain login cram-md5 scram-sha-256\n"
	    "auth_failure_delay = 0s\n"
	    "passdb {\n  driver = passwd-file\n  args = %s\n}\n"
	    "userdb {\n  driver = passwd-file\n  args = %s\n}\n", users, users);
	conf = dovecot_conf_new();
	if (dovecot_conf_parse_buffer(conf, "fuzz.conf", conf_text, strlen(conf_text), 0,
	    &err) < 0) {
		fprintf(stderr, "fuzz_auth_protocol: %s\n", err);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hello[] = "VERSION\t1\t2\nCPID\t1\n";
	struct auth_server *srv;
	struct bufferevent *client;
	struct event_base *base;
	const char *err;

	if (conf == NULL)
		setup();
	/* a fresh service per input: no state (penalties) carries over */
	if ((srv = auth_server_test_new(conf, &err)) == NULL)
		abort();
	base = auth_server_test_base(srv);
	/* bit 1 of the first byte: the auth-master socket (USER, REQUEST) */
	client = auth_server_test_connect(srv, size > 0 && (data[0] & 2) != 0);
	if (client == NULL)
		abort();
	/* an even first byte: the handshake first, so AUTH lines get parsed */
	if (size == 0 || (data[0] & 1) == 0)
		bufferevent_write(client, hello, sizeof(hello) - 1);
	bufferevent_write(client, data, size);
	bufferevent_write(client, "\n", 1);
	for (int i = 0; i < 8; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	evbuffer_drain(bufferevent_get_input(client), evbuffer_get_length(
	    bufferevent_get_input(client)));
	bufferevent_free(client);
	auth_server_test_free(&srv);
	return 0;
}
