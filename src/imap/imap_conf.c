/* imap_conf.c - special-use mailboxes and quota from dovecot.conf. See
 * imap_conf.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_conf.h"
#include "lib/dovecot_conf.h"
#include "lib/mem.h"

/* the namespace that holds INBOX: "inbox = yes", else the one named inbox */
static const struct dovecot_conf_section *
inbox_namespace(const struct dovecot_conf *dc)
{
	const struct dovecot_conf_section *root = dovecot_conf_root(dc), *named = NULL;
	size_t i, n = dovecot_conf_section_count(root);

	for (i = 0; i < n; i++) {
		const struct dovecot_conf_section *sec = dovecot_conf_section_child(root, i);
		const char *t = dovecot_conf_section_type(sec), *v;

		if (t == NULL || strcmp(t, "namespace") != 0)
			continue;
		v = dovecot_conf_section_get(sec, "inbox");
		if (v != NULL && strcmp(v, "yes") == 0)
			return sec;
		if (dovecot_conf_section_name(sec) != NULL &&
		    strcmp(dovecot_conf_section_name(sec), "inbox") == 0)
			named = sec;
	}
	return named;
}

/* quota_rule - "*:storage=1G", "*:messages=100", "*:storage=1G:messages=10" */
static void
quota_rule(struct imap_conf *c, const char *rule)
{
	char *copy, *tok, *save = NULL;

	if (rule == NULL || strncmp(rule, "*:", 2) != 0)
		return;
	copy = xstrdup(rule + 2);
	for (tok = strtok_r(copy, ": ", &save); tok != NULL; tok = strtok_r(NULL, ": ", &save)) {
		unsigned long long v;
		const char *err;

		if (strncasecmp(tok, "storage=", 8) == 0) {
			/* Dovecot's default unit here is kilobytes */
			const char *num = tok + 8;
			size_t l = strlen(num);

			if (l > 0 && num[l - 1] >= '0' && num[l - 1] <= '9') {
				if (dovecot_conf_parse_uint(num, &v, &err) == 0)
					c->quota_storage = v * 1024;
			} else if (dovecot_conf_parse_size(num, &v, &err) == 0) {
				c->quota_storage = v;
			}
		} else if (strncasecmp(tok, "messages=", 9) == 0 &&
		    dovecot_conf_parse_uint(tok + 9, &v, &err) == 0) {
			c->quota_messages = v;
		}
	}
	free(copy);
}

void
imap_conf_load(struct imap_conf *c, const struct dovecot_conf *dc)
{
	const struct dovecot_conf_section *ns = inbox_namespace(dc);
	const char *q;

	memset(c, 0, sizeof(*c));
	if (ns != NULL) {
		size_t i, n = dovecot_conf_section_count(ns);
		const char *sep = dovecot_conf_section_get(ns, "separator");
		const char *prefix = dovecot_conf_section_get(ns, "prefix");

		/* one character, as Dovecot takes it; empty is the default */
		if (sep != NULL && sep[0] != '\0')
			c->ns_sep = sep[0];
		if (prefix != NULL && *prefix != '\0')
			c->ns_prefix = xstrdup(prefix);

		c->mb = xcalloc(n + 1, sizeof(*c->mb));
		for (i = 0; i < n; i++) {
			const struct dovecot_conf_section *mb = dovecot_conf_section_child(ns, i);
			const char *t = dovecot_conf_section_type(mb), *name, *use, *au;
			struct imap_special *sp;

			if (t == NULL || strcmp(t, "mailbox") != 0 ||
			    (name = dovecot_conf_section_name(mb)) == NULL || *name == '\0')
				continue;
			use = dovecot_conf_section_get(mb, "special_use");
			au = dovecot_conf_section_get(mb, "auto");
			sp = &c->mb[c->nmb++];
			sp->name = xstrdup(name);
			sp->use = xstrdup(use != NULL ? use : "");
			sp->autom = au == NULL ? IMAP_AUTO_NO : strcmp(au, "create") == 0 ?
			    IMAP_AUTO_CREATE : strcmp(au, "subscribe") == 0 ? IMAP_AUTO_SUBSCRIBE :
			    IMAP_AUTO_NO;
		}
	}
	{
		const struct dovecot_conf_filter f = { .protocol = "imap" };
		const char *t = dovecot_conf_get_filtered(dc, &f, "imap_hibernate_timeout"), *err;

		if (t == NULL || dovecot_conf_parse_time_ms(t, &c->hibernate_timeout_ms, &err) != 0)
			c->hibernate_timeout_ms = 0;
		t = dovecot_conf_get_filtered(dc, &f, "imap_idle_notify_interval");
		if (t == NULL || dovecot_conf_parse_time_ms(t, &c->idle_notify_ms, &err) != 0)
			c->idle_notify_ms = 0;
	}
	q = dovecot_conf_get(dc, "plugin/quota");
	if (q != NULL && *q != '\0') {
		const char *colon = strchr(q, ':');

		c->quota = true;
		/* "maildir:User quota" (backend:name); the name may carry
		 * ":noenforcing" etc. after another colon, ignored */
		if (colon != NULL && colon[1] != '\0') {
			const char *end = strchr(colon + 1, ':');

			c->quota_root = end != NULL ? xstrndup(colon + 1, (size_t)(end - colon - 1)) :
			    xstrdup(colon + 1);
		} else {
			c->quota_root = xstrdup("User quota");
		}
		quota_rule(c, dovecot_conf_get(dc, "plugin/quota_rule"));
	}
}

int
imap_conf_read(struct imap_conf *c, const char *path)
{
	struct dovecot_conf *dc = dovecot_conf_new();
	const char *err;
	int ret = 0;

	if (path != NULL && dovecot_conf_parse_file(dc, path, 0, &err) == 0) {
		imap_conf_load(c, dc);
	} else {
		memset(c, 0, sizeof(*c));
		ret = -1;
	}
	dovecot_conf_free(&dc);
	return ret;
}

void
imap_conf_free(struct imap_conf *c)
{
	size_t i;

	for (i = 0; i < c->nmb; i++) {
		free(c->mb[i].name);
		free(c->mb[i].use);
	}
	free(c->mb);
	free(c->quota_root);
	free(c->ns_prefix);
	memset(c, 0, sizeof(*c));
}

const char *
imap_conf_special_use(const struct imap_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nmb; i++)
		if (strcmp(c->mb[i].name, name) == 0)
			return c->mb[i].use;
	return "";
}
