/* imap_enable.c - ENABLE. See imap_enable.h. */
#include <string.h>
#include <strings.h>

#include "imap/imap_condstore.h"
#include "imap/imap_enable.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_utf7.h"
#include "lib/util.h"

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
			/* RFC 9051 6.3.1: mailbox names are UTF-8 from now on */
			s->rev2 = s->utf8 = true;
			str_append(&line, " IMAP4rev2");
		} else if (strcasecmp(a[i].str, "UTF8=ACCEPT") == 0 && !s->utf8) {
			s->utf8 = true;
			str_append(&line, " UTF8=ACCEPT");
		} else if ((strcasecmp(a[i].str, "CONDSTORE") == 0 && !s->condstore) ||
		    (strcasecmp(a[i].str, "QRESYNC") == 0 && !s->qresync)) {
			(void)imap_condstore_enable(s, a[i].str);	/* QRESYNC implies CONDSTORE */
			str_appendf(&line, " %s", strcasecmp(a[i].str, "QRESYNC") == 0 ?
			    "QRESYNC" : "CONDSTORE");
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

static int
convert(struct imap_arg *a, struct strvec *keep)
{
	struct str m;

	if (a->type == IMAP_ARG_LIST || a->type == IMAP_ARG_NIL)
		return 0;
	str_init(&m, a->len + 16);
	if (imap_utf8_to_mutf7(a->str, &m) != 0) {
		str_deinit(&m);
		return -1;
	}
	a->str = m.s;
	a->len = m.len;
	strvec_push_take(keep, str_export(&m));
	a->str = keep->v[keep->n - 1];
	str_deinit(&m);
	return 0;
}

int
imap_enable_name_args(const struct imap_sess *s, const char *name, struct imap_arg *a, size_t n,
    struct strvec *keep)
{
	static const char *const first[] = { "SELECT", "EXAMINE", "CREATE", "DELETE", "SUBSCRIBE",
		"UNSUBSCRIBE", "STATUS", "APPEND", "GETQUOTAROOT", "RENAME", "LSUB" };
	const char *verb = strncmp(name, "UID ", 4) == 0 ? name + 4 : name;
	size_t i, k;

	if (!s->utf8 || n == 0)
		return 0;
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		if (strcmp(name, first[i]) == 0) {
			if (convert(&a[0], keep) != 0)
				return -1;
			/* RENAME's target, LSUB's pattern */
			if ((strcmp(name, "RENAME") == 0 || strcmp(name, "LSUB") == 0) && n > 1 &&
			    convert(&a[1], keep) != 0)
				return -1;
			return 0;
		}
	if ((strcmp(verb, "COPY") == 0 || strcmp(verb, "MOVE") == 0) && n > 1)
		return convert(&a[1], keep);
	if (strcmp(name, "LIST") == 0) {
		/* [(selection)] reference (pattern | (patterns)) [RETURN (...)] */
		i = a[0].type == IMAP_ARG_LIST ? 1 : 0;
		if (i + 1 >= n)
			return 0;
		if (convert(&a[i], keep) != 0)
			return -1;
		if (a[i + 1].type != IMAP_ARG_LIST)
			return convert(&a[i + 1], keep);
		for (k = 0; k < a[i + 1].count; k++)
			if (convert(&a[i + 1].list[k], keep) != 0)
				return -1;
	}
	return 0;
}

void
imap_sess_name(const struct imap_sess *s, struct str *out, const char *name)
{
	struct str u;
	size_t i;
	bool ascii = true;

	if (!s->utf8) {
		imap_astring(out, name, strlen(name));
		return;
	}
	str_init(&u, strlen(name) + 16);
	if (imap_mutf7_to_utf8(name, &u) != 0) {
		/* not mUTF-7 on disk (written by something else): as it is */
		str_reset(&u);
		str_append(&u, name);
	}
	for (i = 0; i < u.len; i++)
		if ((unsigned char)u.s[i] >= 0x80)
			ascii = false;
	if (ascii) {
		imap_astring(out, u.s, u.len);
	} else {
		/* RFC 6855: a quoted string may hold UTF-8 */
		str_append_c(out, '"');
		for (i = 0; i < u.len; i++) {
			if (u.s[i] == '"' || u.s[i] == '\\')
				str_append_c(out, '\\');
			str_append_c(out, u.s[i]);
		}
		str_append_c(out, '"');
	}
	str_deinit(&u);
}
