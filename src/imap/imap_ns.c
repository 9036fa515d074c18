/* imap_ns.c - namespace separator and prefix. See imap_ns.h. */
#include <string.h>
#include <strings.h>

#include "imap/imap_conf.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_ns.h"

char
imap_ns_conf_sep(const struct imap_conf *conf, const struct imap_layout *layout)
{
	if (conf != NULL && conf->ns_sep != '\0')
		return conf->ns_sep;
	/* Dovecot's default is the storage's own: "/" for LAYOUT=fs */
	return layout->fs ? '/' : '.';
}

char
imap_ns_sep(const struct imap_sess *s)
{
	return imap_ns_conf_sep(s->conf, &s->layout);
}

static const char *
conf_prefix(const struct imap_conf *conf)
{
	return conf != NULL && conf->ns_prefix != NULL ? conf->ns_prefix : "";
}

const char *
imap_ns_prefix(const struct imap_sess *s)
{
	return conf_prefix(s->conf);
}

int
imap_ns_in(const struct imap_sess *s, const char *name, struct str *out, struct str *error)
{
	return imap_ns_conf_in(s->conf, &s->layout, name, out, error);
}

int
imap_ns_conf_in(const struct imap_conf *conf, const struct imap_layout *layout,
    const char *name, struct str *out, struct str *error)
{
	const char *prefix = conf_prefix(conf), *c;
	size_t pl = strlen(prefix), start = out->len;
	char sep = imap_ns_conf_sep(conf, layout);

	/* INBOX stays INBOX whatever the prefix */
	if (imap_mailbox_is_inbox(name)) {
		str_append(out, name);
		return 0;
	}
	if (pl > 0) {
		if (strncmp(name, prefix, pl) != 0 || name[pl] == '\0') {
			str_appendf(error, "Client tried to access nonexistent namespace. (Mailbox "
			    "name should probably be prefixed with: %s)", prefix);
			return -1;
		}
		name += pl;
		/* "INBOX.inbox" would alias INBOX itself inside yubin */
		if (imap_mailbox_is_inbox(name)) {
			str_append(error, "[CANNOT] Invalid mailbox name: INBOX is reserved");
			return -1;
		}
	}
	for (c = name; *c != '\0'; c++) {
		if (*c == IMAP_NAME_DOT) {
			/* never the client's: it stands for '.' inside */
			str_append(error, "Mailbox name is not valid mUTF-7");
			return -1;
		}
		if (*c == '.' && sep != '.') {
			/* the internal separator: a directory per level
			 * (LAYOUT=fs, mbox) can hold it, Maildir++ cannot */
			if (layout->dots) {
				str_append_c(out, IMAP_NAME_DOT);
				continue;
			}
			str_append(error, "[CANNOT] Character not allowed in mailbox name: '.'");
			return -1;
		}
		str_append_c(out, *c == sep ? '.' : *c);
	}
	/* "inbox.foo" is INBOX's child, as Dovecot takes it (INBOX is
	 * case-insensitive also as the first level): not a second "inbox" */
	if (pl == 0 && out->len > start + 5 && out->s[start + 5] == '.' &&
	    strncasecmp(out->s + start, "INBOX", 5) == 0)
		memcpy(out->s + start, "INBOX", 5);
	return 0;
}

void
imap_ns_out(const struct imap_sess *s, const char *name, struct str *out)
{
	const char *c;
	char sep = imap_ns_sep(s);

	if (imap_mailbox_is_inbox(name)) {
		str_append(out, name);
		return;
	}
	str_append(out, imap_ns_prefix(s));
	for (c = name; *c != '\0'; c++)
		str_append_c(out, *c == '.' ? sep : *c == IMAP_NAME_DOT ? '.' : *c);
}

const char *
imap_ns_show(const struct imap_sess *s, const char *name)
{
	/* one session per mail process; reused, so bounded by a name's size */
	static struct str buf;

	if (buf.s == NULL)
		str_init(&buf, 64);
	str_reset(&buf);
	imap_ns_out(s, name, &buf);
	return buf.s;
}
