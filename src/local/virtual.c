/* virtual.c - Postfix's virtual(8) as a transport: mailboxes that belong
 * to no system user. virtual_mailbox_maps gives the path under
 * virtual_mailbox_base ("/"-ended is a Maildir), virtual_uid_maps and
 * virtual_gid_maps the owner (at least virtual_minimum_uid); the write
 * runs in a child that has become that owner (local_exec.c). Also the
 * target of local's mailbox_transport=virtual (yubin dev's demo user).
 * Tests: tests/e2e/test_local_delivery.py, tests/e2e/test_dev.py */
#include "local/local-private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/maincf.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "queue/qmsg.h"
#include "storage/storage.h"

/* virtual_find - user@domain, then @domain, in the table list param:
 * 1/0/-1 as maps_find */
static int
virtual_find(struct maincf *cf, const char *param, const char *addr, struct str *val,
    const char **error_r)
{
	struct str spec;
	struct maps *maps;
	const char *at = strrchr(addr, '@');
	int r;

	str_init(&spec, 128);
	if (maincf_get(cf, param, &spec, error_r) != 0) {
		str_deinit(&spec);
		return -1;
	}
	if (spec.len == 0) {
		str_deinit(&spec);
		return 0;
	}
	maps = maps_open(spec.s, MAPS_FLAG_DEFER_ERRORS, error_r);
	str_deinit(&spec);
	if (maps == NULL)
		return -1;
	r = maps_find(maps, addr, val, error_r);
	if (r == 0 && at != NULL)
		r = maps_find(maps, at, val, error_r);
	maps_free(&maps);
	return r;
}

static int
virtual_number(struct maincf *cf, const char *param, const char *addr, long *n_r,
    const char **error_r)
{
	struct str val;
	char *end;
	int r;

	str_init(&val, 16);
	r = virtual_find(cf, param, addr, &val, error_r);
	if (r == 1) {
		*n_r = strtol(val.s, &end, 10);
		if (end == val.s || *end != '\0' || *n_r < 0) {
			*error_r = "bad number in table";
			r = -1;
		}
	}
	str_deinit(&val);
	return r;
}

/* virtual_path_is_safe - a table value is a path under the base: no
 * ".." segment, not absolute */
static bool
virtual_path_is_safe(const char *p)
{
	const char *s;

	if (*p == '/' || *p == '\0')
		return false;
	for (s = p; (s = strstr(s, "..")) != NULL; s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			return false;
	return strchr(p, '\n') == NULL;
}

enum transport_status
virtual_transport_deliver(const struct transport_request *req, struct transport_dsn *dsn)
{
	const struct qmsg *m = req->msg;
	const struct qmsg_rcpt *r = &m->rcpts[req->rcpt];
	struct str addr, val, base, path, content, prefix;
	struct strvec delivered;
	struct local_user u;
	struct local_msg lm;
	const char *err, *orig;
	long uid = -1, gid = -1, min_uid = 100, limit = 0;
	enum transport_status st = TRANSPORT_DEFERRED;
	size_t i;
	int rr;

	if (local_helper_active())
		return local_helper_deliver(req, true, dsn);
	str_init(&addr, 64);
	str_append(&addr, req->addr != NULL ? req->addr : r->addr);
	for (i = 0; i < addr.len; i++)
		addr.s[i] = (char)tolower((unsigned char)addr.s[i]);
	orig = r->orcpt != NULL ? (strncasecmp(r->orcpt, "rfc822;", 7) == 0 ? r->orcpt + 7 :
	    r->orcpt) : r->addr;
	str_init(&val, 128);
	str_init(&base, 128);
	str_init(&path, 128);
	str_init(&content, m->size + 1);
	str_init(&prefix, 256);
	strvec_init(&delivered);
	memset(&u, 0, sizeof(u));

	rr = virtual_find(req->cf, "virtual_mailbox_maps", addr.s, &val, &err);
	if (rr < 0) {
		transport_dsn_set(dsn, "4.3.0", "virtual", err);
		goto out;
	}
	if (rr == 0 || !virtual_path_is_safe(val.s)) {
		char reason[TRANSPORT_DSN_TEXT_SIZE];

		snprintf(reason, sizeof(reason), "unknown user: \"%s\"", addr.s);
		transport_dsn_set(dsn, "5.1.1", "virtual", reason);
		st = TRANSPORT_BOUNCED;
		goto out;
	}
	if (virtual_number(req->cf, "virtual_uid_maps", addr.s, &uid, &err) != 1 ||
	    virtual_number(req->cf, "virtual_gid_maps", addr.s, &gid, &err) != 1) {
		transport_dsn_set(dsn, "4.3.5", "virtual", "mail system configuration error: "
		    "no virtual_uid_maps or virtual_gid_maps entry");
		goto out;
	}
	(void)maincf_get_long(req->cf, "virtual_minimum_uid", &min_uid, &err);
	(void)maincf_get_long(req->cf, "virtual_mailbox_limit", &limit, &err);
	/* Delivering as our own uid changes nothing and gains nothing, so it
	 * is allowed below the minimum (yubin dev run by root). */
	if (uid < min_uid && (uid_t)uid != geteuid()) {
		transport_dsn_set(dsn, "4.3.5", "virtual", "mail system configuration error: "
		    "user ID below virtual_minimum_uid");
		goto out;
	}
	if (maincf_get(req->cf, "virtual_mailbox_base", &base, &err) != 0 || base.len == 0) {
		transport_dsn_set(dsn, "4.3.5", "virtual",
		    "mail system configuration error: virtual_mailbox_base is empty");
		goto out;
	}
	str_appendf(&path, "%s/%s", base.s, val.s);
	qmsg_content(m, &content);
	local_delivered_to(content.s, content.len, &delivered);
	if (strvec_contains(&delivered, addr.s)) {
		char reason[TRANSPORT_DSN_TEXT_SIZE];

		snprintf(reason, sizeof(reason), "mail forwarding loop for %s", addr.s);
		transport_dsn_set(dsn, "5.4.6", "virtual", reason);
		st = TRANSPORT_BOUNCED;
		goto out;
	}
	str_appendf(&prefix, "Return-Path: <%s>\n", m->sender);
	if (orig != NULL && *orig != '\0')
		str_appendf(&prefix, "X-Original-To: %s\n", orig);
	str_appendf(&prefix, "Delivered-To: %s\n", addr.s);
	u.uid = (uid_t)uid;
	u.gid = (gid_t)gid;
	u.name = addr.s;	/* borrowed: virtual(8) names the recipient in errors */
	memset(&lm, 0, sizeof(lm));
	lm.cf = req->cf;
	lm.content = content.s;
	lm.len = content.len;
	lm.arrival = (time_t)m->arrival_sec;
	lm.orig_rcpt = orig;
	lm.dev_mode = geteuid() != 0 || (uid_t)uid == geteuid();
	st = local_exec_mailbox(&lm, &u, path.s, m->sender, prefix.s, (off_t)limit, false, dsn);
	snprintf(dsn->relay, sizeof(dsn->relay), "virtual");
	if (st == TRANSPORT_SENT)
		transport_dsn_set(dsn, "2.0.0", "virtual",
		    storage_format_of(path.s) == STORAGE_MAILDIR ? "delivered to maildir" :
		    "delivered to mailbox");
	if (st == TRANSPORT_SENT)
		snprintf(dsn->action, sizeof(dsn->action), "delivered");
out:
	str_deinit(&addr);
	str_deinit(&val);
	str_deinit(&base);
	str_deinit(&path);
	str_deinit(&content);
	str_deinit(&prefix);
	strvec_deinit(&delivered);
	return st;
}
