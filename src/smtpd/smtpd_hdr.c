/* smtpd_hdr.c - header address rewriting of mail received over SMTP, as
 * Postfix's cleanup does it for smtpd:
 *   - a client that matches local_header_rewrite_clients gets the local
 *     context: canonical maps on the address fields (header_rewrite.h) and
 *     $myorigin / $mydomain completing incomplete addresses;
 *   - any other client gets the remote context when
 *     remote_header_rewrite_domain is set (that domain completes incomplete
 *     addresses), and no header rewriting at all when it is empty (the
 *     default).
 * The reader (smtpd_data.c) hands over content as it comes; a
 * header_rewrite_stream holds the header section back one field at a
 * time, at most header_size_limit bytes of one field (a longer field, and
 * everything after it, is passed on unchanged). The body is never
 * buffered. Tests:
 * tests/e2e/test_smtpd_header_rewrite.py */
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/header.h"
#include "mail/header_rewrite.h"
#include "mail/rewrite.h"
#include "queue/qfile.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/* smtpd_hdr_add_host - the addresses of one inet_interfaces item */
static void
smtpd_hdr_add_host(struct cidr_list *l, const char *host)
{
	struct addrinfo hints, *res = NULL, *ai;
	char text[INET6_ADDRSTRLEN];
	const char *err;

	if (strcasecmp(host, "loopback-only") == 0) {
		(void)cidr_list_add(l, "127.0.0.1", &err);
		(void)cidr_list_add(l, "::1", &err);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (*host == '[') {
		/* [::1] as Postfix writes IPv6 literals */
		char *bare = xstrndup(host + 1, strcspn(host + 1, "]"));

		(void)cidr_list_add(l, bare, &err);
		free(bare);
		return;
	}
	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		log_warn("inet_interfaces: cannot find the address of %s", host);
		return;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    inet_ntop(ai->ai_family, a, text, sizeof(text)) != NULL)
			(void)cidr_list_add(l, text, &err);
	}
	freeaddrinfo(res);
}

/* smtpd_hdr_interfaces - this host's addresses as inet_interfaces names
 * them: "all" is every address of every interface */
static struct cidr_list *
smtpd_hdr_interfaces(struct maincf *mc)
{
	struct cidr_list *l = cidr_list_new(false);
	struct strvec items;
	struct str v;
	const char *err;
	size_t i;

	str_init(&v, 64);
	strvec_init(&items);
	if (maincf_get(mc, "inet_interfaces", &v, &err) == 0)
		maincf_list_split(v.s, &items);
	for (i = 0; i < items.n; i++) {
		if (strcasecmp(items.v[i], "all") == 0) {
			struct ifaddrs *ifs = NULL, *ifa;
			char text[INET6_ADDRSTRLEN];

			if (getifaddrs(&ifs) != 0)
				continue;
			for (ifa = ifs; ifa != NULL; ifa = ifa->ifa_next) {
				const struct sockaddr *sa = ifa->ifa_addr;
				const void *a;

				if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
					continue;
				a = sa->sa_family == AF_INET ?
				    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
				    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
				if (inet_ntop(sa->sa_family, a, text, sizeof(text)) != NULL)
					(void)cidr_list_add(l, text, &err);
			}
			freeifaddrs(ifs);
		} else
			smtpd_hdr_add_host(l, items.v[i]);
	}
	strvec_deinit(&items);
	str_deinit(&v);
	return l;
}

int
smtpd_hdr_config(struct smtpd_config *cfg, struct maincf *mc, const char **error_r)
{
	struct strvec items;
	struct str v;
	const char *err;
	size_t i;
	int ret = -1;

	str_init(&v, 64);
	strvec_init(&items);
	if (maincf_get_long(mc, "header_size_limit", &cfg->header_size_limit, error_r) < 0)
		goto out;
	if (maincf_get(mc, "local_header_rewrite_clients", &v, error_r) < 0)
		goto out;
	maincf_list_split(v.s, &items);
	for (i = 0; i < items.n; i++) {
		const char *it = items.v[i];

		if (strcasecmp(it, "permit_inet_interfaces") == 0) {
			if (cfg->hdr_inet == NULL)
				cfg->hdr_inet = smtpd_hdr_interfaces(mc);
		} else if (strcasecmp(it, "permit_mynetworks") == 0) {
			cfg->hdr_mynetworks = true;
		} else if (strcasecmp(it, "permit_sasl_authenticated") == 0) {
			cfg->hdr_sasl = true;
		} else if (strcasecmp(it, "permit_tls_clientcerts") == 0 ||
		    strcasecmp(it, "permit_tls_all_clientcerts") == 0) {
			/* no client certificates are asked for: never a match */
		} else if (strcasecmp(it, "check_address_map") == 0 && i + 1 < items.n) {
			/* the result is ignored: a client address found is a match */
			if (cfg->hdr_tables == NULL)
				cfg->hdr_tables = cidr_list_new(false);
			if (cidr_list_add(cfg->hdr_tables, items.v[++i], &err) < 0) {
				*error_r = err;
				goto out;
			}
		} else {
			log_warn("unknown local_header_rewrite_clients element: \"%s\"", it);
		}
	}
	str_reset(&v);
	if (maincf_get(mc, "remote_header_rewrite_domain", &v, error_r) < 0)
		goto out;
	if (v.len > 0) {
		if ((cfg->remote_rewrite = rewrite_new(mc, error_r)) == NULL)
			goto out;
		rewrite_set_origin(cfg->remote_rewrite, v.s);
	}
	ret = 0;
out:
	strvec_deinit(&items);
	str_deinit(&v);
	return ret;
}

void
smtpd_hdr_config_free(struct smtpd_config *cfg)
{
	cidr_list_free(&cfg->hdr_inet);
	cidr_list_free(&cfg->hdr_tables);
	rewrite_free(&cfg->remote_rewrite);
}

/* smtpd_hdr_is_local - the client matches local_header_rewrite_clients; a
 * table that cannot be read counts as no match (the remote context, as
 * Postfix's cleanup falls back to it) */
static bool
smtpd_hdr_is_local(const struct smtpd_session *s)
{
	const struct smtpd_config *cfg = &s->srv->cfg;

	if (cfg->hdr_inet != NULL && cidr_list_match(cfg->hdr_inet, s->addr, NULL) == 1)
		return true;
	if (cfg->hdr_mynetworks && smtpd_check_mynetworks(cfg->checks, s->addr, s->name) == 1)
		return true;
	if (cfg->hdr_sasl && s->sasl_user != NULL)
		return true;
	if (cfg->hdr_tables != NULL && cidr_list_match(cfg->hdr_tables, s->addr, NULL) == 1)
		return true;
	return false;
}

/* smtpd_hdr_write - bytes into the queue file (a failure is noted once) */
static void
smtpd_hdr_write(void *ctx, const char *p, size_t len)
{
	struct smtpd_session *s = ctx;

	if (len == 0 || s->tx.write_failed || s->tx.qf == NULL)
		return;
	if (qfile_writer_content(s->tx.qf, p, len, 0) < 0) {
		log_warn("%s: queue file write error", s->tx.id);
		s->tx.write_failed = true;
	}
}

void
smtpd_hdr_begin(struct smtpd_session *s)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	struct rewrite *rw = smtpd_hdr_is_local(s) ? cfg->rewrite : cfg->remote_rewrite;

	smtpd_hdr_end(s);
	if (rw == NULL)
		return;
	s->tx.hdr = xcalloc(1, sizeof(*s->tx.hdr));
	header_rewrite_stream_init(s->tx.hdr, rw, (size_t)cfg->header_size_limit,
	    smtpd_hdr_write, s);
}

void
smtpd_hdr_end(struct smtpd_session *s)
{
	if (s->tx.hdr == NULL)
		return;
	header_rewrite_stream_deinit(s->tx.hdr);
	XFREE(s->tx.hdr);
}

void
smtpd_hdr_content(struct smtpd_session *s, const char *p, size_t len, bool final)
{
	const char *err;

	if (s->tx.hdr == NULL) {
		smtpd_hdr_write(s, p, len);
		return;
	}
	if (header_rewrite_stream_feed(s->tx.hdr, p, len, final, &err) != 0) {
		/* a table that cannot be read: defer the whole message rather
		 * than queue it half rewritten */
		log_warn("%s: header rewriting: %s", s->tx.id, err);
		s->tx.write_failed = true;
	}
}
