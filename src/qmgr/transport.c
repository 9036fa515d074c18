/* transport.c - the built-in transports: Postfix's discard(8) (pretend
 * delivery, the nexthop is the reason) and error(8)/retry (bounce or defer
 * with the nexthop as the reason); local(8) and virtual(8) live in
 * src/local/. Tests: tests/unit/qmgr/test_qmgr.c */
#include "qmgr/transport.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "local/local.h"
#include "smtp/smtp.h"

/* transport_dsn_code - length of a leading "D.DDD.DDD" code, or 0 */
static size_t
transport_dsn_code(const char *s)
{
	size_t i = 0, part, digits;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	i = 1;
	for (part = 0; part < 2; part++) {
		if (s[i++] != '.')
			return 0;
		for (digits = 0; isdigit((unsigned char)s[i]) && digits < 3; digits++)
			i++;
		if (digits == 0)
			return 0;
	}
	return s[i] == '\0' || s[i] == ' ' ? i : 0;
}

void
transport_dsn_set(struct transport_dsn *dsn, const char *def_status, const char *relay,
    const char *reason)
{
	size_t n = transport_dsn_code(reason);

	memset(dsn, 0, sizeof(*dsn));
	if (n > 0 && n < sizeof(dsn->status) && reason[0] == def_status[0]) {
		snprintf(dsn->status, sizeof(dsn->status), "%.*s", (int)n, reason);
		reason += n;
		while (*reason == ' ')
			reason++;
	} else {
		snprintf(dsn->status, sizeof(dsn->status), "%s", def_status);
	}
	snprintf(dsn->relay, sizeof(dsn->relay), "%s", relay);
	snprintf(dsn->reason, sizeof(dsn->reason), "%s", reason);
}

static enum transport_status
transport_discard(const struct transport_request *req, struct transport_dsn *dsn)
{
	transport_dsn_set(dsn, "2.0.0", "none", req->nexthop);
	return TRANSPORT_SENT;
}

static enum transport_status
transport_error(const struct transport_request *req, struct transport_dsn *dsn)
{
	transport_dsn_set(dsn, "5.0.0", "none", *req->nexthop != '\0' ? req->nexthop :
	    "user unknown");
	return TRANSPORT_BOUNCED;
}

static enum transport_status
transport_retry(const struct transport_request *req, struct transport_dsn *dsn)
{
	transport_dsn_set(dsn, "4.0.0", "none", *req->nexthop != '\0' ? req->nexthop :
	    "delivery temporarily suspended");
	return TRANSPORT_DEFERRED;
}

static const struct transport transport_table[] = {
	{ "discard", transport_discard, NULL, NULL, NULL, NULL, 0 },
	{ "error", transport_error, NULL, NULL, NULL, NULL, 0 },
	{ "retry", transport_retry, NULL, NULL, NULL, NULL, 0 },
	{ "local", local_transport_deliver, local_transport_start, local_helper_finish,
	    local_helper_agents, local_transport_start_batch, LOCAL_BATCH_MAX },
	{ "virtual", virtual_transport_deliver, virtual_transport_start, local_helper_finish,
	    local_helper_agents, NULL, 0 },
	{ "smtp", smtp_transport_deliver, smtp_transport_start, smtp_transport_finish,
	    smtp_helper_agents, NULL, 0 },
	{ "lmtp", smtp_transport_deliver, lmtp_transport_start, smtp_transport_finish,
	    smtp_helper_agents, NULL, 0 },
};

const struct transport *
transport_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(transport_table) / sizeof(transport_table[0]); i++)
		if (strcmp(transport_table[i].name, name) == 0)
			return &transport_table[i];
	return NULL;
}

void
transport_add_line(const struct transport_request *req, const char *to,
    enum transport_status status, const struct transport_dsn *dsn)
{
	struct transport_lines *l = req->lines;

	if (l == NULL)
		return;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].to = xstrdup(to);
	l->v[l->n].status = status;
	l->v[l->n].dsn = *dsn;
	l->n++;
}

void
transport_lines_deinit(struct transport_lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].to);
	XFREE(l->v);
	l->n = 0;
}
