/* imap_enable.c - ENABLE. See imap_enable.h. */
#include <string.h>
#include <strings.h>

#include "imap/imap_enable.h"
#include "imap/imap_mail-private.h"

const char *
imap_cmd_enable(struct imap_sess *s, const struct imap_arg *a, size_t n, struct str *reply)
{
	struct str line;
	size_t i;

	if (n == 0)
		return str_append(reply, "Error in IMAP command ENABLE: Missing arguments"), "BAD";
	str_init(&line, 64);
	for (i = 0; i < n; i++) {
		if (a[i].type != IMAP_ARG_ATOM)
			continue;
		/* each is reported once, when it is newly enabled (RFC 5161 3.1);
		 * what yubin does not know is left out, as Dovecot leaves it */
		if (strcasecmp(a[i].str, "IMAP4rev2") == 0 && !s->rev2) {
			s->rev2 = true;
			str_append(&line, " IMAP4rev2");
		} else if (strcasecmp(a[i].str, "UTF8=ACCEPT") == 0 && !s->utf8) {
			s->utf8 = true;
			str_append(&line, " UTF8=ACCEPT");
		}
	}
	if (line.len > 0) {
		str_append(&line, "\r\n");
		s->out += line.len + 9;
		pop3_conn_append(s->conn, "* ENABLED", 9);
		pop3_conn_append(s->conn, line.s, line.len);
	}
	str_deinit(&line);
	return str_append(reply, "Enabled"), "OK";
}
