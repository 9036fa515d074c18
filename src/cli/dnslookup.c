/* dnslookup.c - "yubin dnslookup [-c DIR] [-s SERVERS] TYPE NAME...": one
 * or more lookups through the same asynchronous resolver (src/dns) that
 * smtp(8) and smtpd use, all started at once on one loop, with
 * yubin_dns_servers from main.cf unless -s is given. An administrator's
 * check of what the mail system sees, and the tests' way to drive the
 * DNS layer against hostile answers. Exit 0 when every lookup found
 * records, 1 when one was not found, 75 on a temporary failure.
 * Output, one line per record: "NAME TYPE ttl=N VALUE", or
 * "NAME TYPE: not found: reason" / "NAME TYPE: temporary failure: reason".
 * Tests: tests/e2e/test_dns.py */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dns/dns.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"

struct dl_lookup {
	const char	*name;
	enum dns_type	 type;
	int		*pending;	/* borrowed */
	int		*worst;		/* borrowed */
	struct event_base *base;	/* borrowed */
};

static void
dl_done(const struct dns_result *res, void *ctx)
{
	struct dl_lookup *l = ctx;
	struct str line;
	size_t i;

	str_init(&line, 128);
	if (res->status == DNS_OK) {
		for (i = 0; i < res->n; i++) {
			str_reset(&line);
			str_appendf(&line, "%s %s ttl=%u ", l->name, dns_type_name(l->type),
			    (unsigned)res->ttl);
			if (l->type == DNS_T_MX)
				str_appendf(&line, "%u ", (unsigned)res->rr[i].pref);
			log_printable(&line, res->rr[i].name != NULL ? res->rr[i].name :
			    res->rr[i].addr, 1000);
			printf("%s\n", line.s);
		}
	} else {
		printf("%s %s: %s: %s\n", l->name, dns_type_name(l->type),
		    res->status == DNS_NOTFOUND ? "not found" : "temporary failure", res->error);
		if (res->status == DNS_TEMPFAIL)
			*l->worst = 75;
		else if (*l->worst == 0)
			*l->worst = 1;
	}
	str_deinit(&line);
	if (--*l->pending == 0)
		event_base_loopbreak(l->base);
}

int
cmd_dnslookup(int argc, char **argv)
{
	const char *cdir = NULL, *servers = NULL, *err;
	struct maincf *cf = NULL;
	struct event_base *base;
	struct dns_resolver *r;
	struct dl_lookup *ls;
	struct str sv;
	enum dns_type type;
	int c, i, pending, worst = 0;

	while ((c = getopt(argc, argv, "c:s:")) != -1) {
		switch (c) {
		case 'c':
			cdir = optarg;
			break;
		case 's':
			servers = optarg;
			break;
		default:
			fprintf(stderr, "usage: yubin dnslookup [-c DIR] [-s SERVERS] TYPE NAME...\n");
			return 64;
		}
	}
	if (argc - optind < 2 || !dns_type_parse(argv[optind], &type)) {
		fprintf(stderr, "usage: yubin dnslookup [-c DIR] [-s SERVERS] "
		    "A|AAAA|MX|TXT|PTR NAME...\n");
		return 64;
	}
	str_init(&sv, 64);
	if (servers == NULL) {
		cf = maincf_new(instance_config_dir(cdir));
		if (maincf_load(cf, &err) != 0 || maincf_get(cf, "yubin_dns_servers", &sv, &err) != 0) {
			log_msg(LOG_LEVEL_FATAL, "%s", err);
			maincf_free(&cf);
			str_deinit(&sv);
			return 78;
		}
		servers = sv.s;
	}
	base = event_base_new();
	if ((r = dns_resolver_new(base, servers, &err)) == NULL) {
		log_msg(LOG_LEVEL_FATAL, "%s", err);
		event_base_free(base);
		maincf_free(&cf);
		str_deinit(&sv);
		return 78;
	}
	pending = argc - optind - 1;
	ls = xcalloc((size_t)pending, sizeof(*ls));
	for (i = 0; i < argc - optind - 1; i++) {
		ls[i].name = argv[optind + 1 + i];
		ls[i].type = type;
		ls[i].pending = &pending;
		ls[i].worst = &worst;
		ls[i].base = base;
		(void)dns_lookup(r, ls[i].name, type, dl_done, &ls[i]);
	}
	event_base_dispatch(base);
	fflush(stdout);
	dns_resolver_free(&r);
	event_base_free(base);
	free(ls);
	maincf_free(&cf);
	str_deinit(&sv);
	return worst;
}
