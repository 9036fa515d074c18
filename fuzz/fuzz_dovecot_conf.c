/* fuzz_dovecot_conf.c - libFuzzer harness for the dovecot.conf parser.
 * Parses from the buffer with includes disabled, so that "!include /etc/..."
 * in the input never reads files; then dumps both ways and looks up a few
 * paths, which walks every tree the parser can build. */
#include <stddef.h>
#include <stdint.h>

#include "lib/dovecot_conf.h"
#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dovecot_conf_filter filter = { "imap", "10.0.0.1", "::1" };
	struct dovecot_conf *conf = dovecot_conf_new();
	const char *error;
	struct str out;

	str_init(&out, 1024);
	if (dovecot_conf_parse_buffer(conf, "fuzz.conf", (const char *)data, size,
	    DOVECOT_CONF_NO_INCLUDES, &error) == 0) {
		dovecot_conf_dump(conf, DOVECOT_CONF_DUMP_NONDEFAULT, &out);
		dovecot_conf_dump(conf, DOVECOT_CONF_DUMP_SHOW_SECRETS, &out);
		(void)dovecot_conf_get(conf, "namespace/inbox/mailbox/Sent/special_use");
		(void)dovecot_conf_get(conf, "service/imap-login/inet_listener/imaps/port");
		(void)dovecot_conf_get_filtered(conf, &filter, "mail_plugins");
	}
	str_deinit(&out);
	dovecot_conf_free(&conf);
	return 0;
}
