/* imap_enable.c - ENABLE. See imap_enable.h. */
#include <string.h>
#include <strings.h>

#include "imap/imap_condstore.h"
#include "imap/imap_enable.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_ns.h"
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

/* convert - one name argument: UTF-8 into mUTF-7 (after UTF8=ACCEPT),
 * then, unless it is a LIST pattern, the client's namespace form into
 * the internal name (imap_ns.c); -1 with the NO text in error, or BAD
 * (error left empty) for invalid UTF-8 */
static int
convert_ns(const struct imap_sess *s, struct imap_arg *a, struct strvec *keep, bool ns,
    struct str *error)
{
	struct str m, n;

	if (a->type == IMAP_ARG_LIST || a->type == IMAP_ARG_NIL)
		return 0;
	str_init(&m, a->len + 16);
	if (!s->utf8) {
		str_append(&m, a->str);
	} else if (imap_utf8_to_mutf7(a->str, &m) != 0) {
		str_deinit(&m);
		return -1;
	}
	if (ns) {
		str_init(&n, m.len + 16);
		if (imap_ns_in(s, m.s, &n, error) != 0) {
			str_deinit(&n);
			str_deinit(&m);
			return -1;
		}
		str_deinit(&m);
		m = n;
	}
	a->str = m.s;
	a->len = m.len;
	strvec_push_take(keep, str_export(&m));
	a->str = keep->v[keep->n - 1];
	str_deinit(&m);
	return 0;
}

#define convert(a, keep) convert_ns(s, (a), (keep), true, error)
#define convert_pat(a, keep) convert_ns(s, (a), (keep), false, error)

int
imap_enable_name_args(const struct imap_sess *s, const char *name, struct imap_arg *a, size_t n,
    struct strvec *keep, struct str *error)
{
	static const char *const first[] = { "SELECT", "EXAMINE", "CREATE", "DELETE", "SUBSCRIBE",
		"UNSUBSCRIBE", "STATUS", "APPEND", "GETQUOTAROOT", "RENAME" };
	const char *verb = strncmp(name, "UID ", 4) == 0 ? name + 4 : name;
	size_t i, k;

	if (n == 0)
		return 0;
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		if (strcmp(name, first[i]) == 0) {
			if (convert(&a[0], keep) != 0) {
				/* Dovecot's SUBSCRIBE looks the name up first */
				if (strcmp(name, "SUBSCRIBE") == 0 &&
				    strncmp(error->s, "[CANNOT]", 8) == 0) {
					str_reset(error);
					str_appendf(error, "Mailbox doesn't exist: %s", a[0].str);
				}
				return -1;
			}
			if (strcmp(name, "RENAME") == 0 && n > 1 && convert(&a[1], keep) != 0)
				return -1;
			return 0;
		}
	if ((strcmp(verb, "COPY") == 0 || strcmp(verb, "MOVE") == 0) && n > 1)
		return convert(&a[1], keep);
	if (strcmp(name, "LIST") == 0 || strcmp(name, "LSUB") == 0) {
		/* [(selection)] reference (pattern | (patterns)) [RETURN (...)];
		 * patterns are matched against the names clients see
		 * (imap_list.c), so only their charset changes */
		i = a[0].type == IMAP_ARG_LIST ? 1 : 0;
		if (i + 1 >= n)
			return 0;
		if (convert_pat(&a[i], keep) != 0)
			return -1;
		if (a[i + 1].type != IMAP_ARG_LIST)
			return convert_pat(&a[i + 1], keep);
		for (k = 0; k < a[i + 1].count; k++)
			if (convert_pat(&a[i + 1].list[k], keep) != 0)
				return -1;
	}
	return 0;
}

void
imap_sess_name(const struct imap_sess *s, struct str *out, const char *name)
{
	struct str u, c;
	size_t i;
	bool ascii = true;

	str_init(&c, strlen(name) + 16);
	imap_ns_out(s, name, &c);
	if (!s->utf8) {
		imap_astring(out, c.s, c.len);
		str_deinit(&c);
		return;
	}
	str_init(&u, c.len + 16);
	if (imap_mutf7_to_utf8(c.s, &u) != 0) {
		/* not mUTF-7 on disk (written by something else): as it is */
		str_reset(&u);
		str_append(&u, c.s);
	}
	str_deinit(&c);
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
