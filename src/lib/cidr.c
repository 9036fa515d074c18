/* cidr.c - client address lists (see cidr.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cidr.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

enum cidr_kind {
	CIDR_NET,
	CIDR_NAME,
	CIDR_TABLE,
};

struct cidr_item {
	enum cidr_kind	 kind;
	bool		 negate;
	struct cidr	 net;
	char		*text;		/* owned: host name or type:table */
	struct maps	*maps;		/* owned: the opened type:table */
};

struct cidr_list {
	struct cidr_item *items;	/* owned */
	size_t		  n, cap;
	bool		  subdomains;
	int		  depth;	/* /file nesting while adding */
};

/* cidr_addr_parse - address text to family + 16 bytes; IPv4-mapped IPv6
 * becomes IPv4 so that one IPv4 network matches both forms */
static bool
cidr_addr_parse(const char *text, int *family_r, uint8_t out[16])
{
	struct in6_addr a6;
	struct in_addr a4;

	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, &a4) == 1) {
		memcpy(out, &a4, 4);
		*family_r = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(out, a6.s6_addr + 12, 4);
			*family_r = AF_INET;
		} else {
			memcpy(out, a6.s6_addr, 16);
			*family_r = AF_INET6;
		}
		return true;
	}
	return false;
}

int
cidr_parse(const char *text, struct cidr *out, const char **error_r)
{
	char buf[128];
	const char *slash, *host;
	size_t hlen;
	long bits;
	char *end;
	int i, max;

	memset(out, 0, sizeof(*out));
	slash = strchr(text, '/');
	hlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	host = text;
	if (hlen >= 2 && text[0] == '[' && text[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(buf)) {
		*error_r = "bad address pattern";
		return -1;
	}
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if (!cidr_addr_parse(buf, &out->family, out->addr)) {
		*error_r = "bad address pattern";
		return -1;
	}
	max = out->family == AF_INET ? 32 : 128;
	/* an IPv4-mapped network given in IPv6 form: shift its mask too */
	if (out->family == AF_INET && strchr(buf, ':') != NULL)
		max = 128;
	bits = max;
	if (slash != NULL) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || errno != 0 || bits < 0 || bits > max ||
		    !isdigit((unsigned char)slash[1])) {
			*error_r = "bad network mask";
			return -1;
		}
	}
	if (max == 128 && out->family == AF_INET) {
		if (bits < 96) {
			*error_r = "bad network mask";
			return -1;
		}
		bits -= 96;
	}
	out->bits = (int)bits;
	/* Postfix refuses a pattern with host bits set (10.1.2.3/8) */
	for (i = 0; i < (out->family == AF_INET ? 4 : 16); i++) {
		int keep = out->bits - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		if ((out->addr[i] & ~mask) != 0) {
			*error_r = "non-null host address bits";
			return -1;
		}
	}
	return 0;
}

bool
cidr_contains(const struct cidr *net, const char *addr)
{
	uint8_t a[16];
	int family, full, rest;

	if (!cidr_addr_parse(addr, &family, a) || family != net->family)
		return false;
	full = net->bits / 8;
	rest = net->bits % 8;
	if (memcmp(a, net->addr, (size_t)full) != 0)
		return false;
	if (rest != 0 && ((a[full] ^ net->addr[full]) & (0xff << (8 - rest)) & 0xff) != 0)
		return false;
	return true;
}

struct cidr_list *
cidr_list_new(bool subdomains)
{
	struct cidr_list *l = xcalloc(1, sizeof(*l));

	l->subdomains = subdomains;
	return l;
}

void
cidr_list_free(struct cidr_list **lp)
{
	struct cidr_list *l = *lp;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].text);
		maps_free(&l->items[i].maps);
	}
	free(l->items);
	free(l);
	*lp = NULL;
}

static struct cidr_item *
cidr_list_push(struct cidr_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->items = xreallocarray(l->items, l->cap, sizeof(*l->items));
	}
	memset(&l->items[l->n], 0, sizeof(l->items[0]));
	return &l->items[l->n++];
}

/* cidr_list_add_file - the patterns of a /file/name, as Postfix reads them */
static int
cidr_list_add_file(struct cidr_list *l, const char *path, bool negate, const char **error_r)
{
	struct str text, word;
	const char *p;
	int rc = 0;

	if (l->depth > 8) {
		*error_r = "/file patterns nested too deeply";
		return -1;
	}
	str_init(&text, 256);
	if (file_read(path, 16 * 1024 * 1024, &text) < 0) {
		*error_r = strerror(errno);
		str_deinit(&text);
		return -1;
	}
	str_init(&word, 64);
	l->depth++;
	for (p = text.s; *p != '\0' && rc == 0;) {
		if (*p == '#') {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (isspace((unsigned char)*p) || *p == ',') {
			p++;
			continue;
		}
		str_reset(&word);
		if (negate)
			str_append_c(&word, '!');
		while (*p != '\0' && !isspace((unsigned char)*p) && *p != ',')
			str_append_c(&word, *p++);
		rc = cidr_list_add(l, word.s, error_r);
	}
	l->depth--;
	str_deinit(&word);
	str_deinit(&text);
	return rc;
}

int
cidr_list_add(struct cidr_list *l, const char *pattern, const char **error_r)
{
	struct cidr_item *it;
	struct cidr net;
	bool negate = false;

	while (*pattern == '!') {
		negate = !negate;
		pattern++;
	}
	if (*pattern == '\0') {
		*error_r = "empty pattern";
		return -1;
	}
	if (pattern[0] == '/')
		return cidr_list_add_file(l, pattern, negate, error_r);
	if (pattern[0] == '[' || strchr(pattern, ':') != NULL || isdigit((unsigned char)pattern[0])) {
		if (cidr_parse(pattern, &net, error_r) == 0) {
			it = cidr_list_push(l);
			it->kind = CIDR_NET;
			it->negate = negate;
			it->net = net;
			return 0;
		}
		/* "type:table" has a colon but is no IPv6 address */
		if (pattern[0] != '[' && strchr(pattern, ':') != NULL &&
		    isalpha((unsigned char)pattern[0])) {
			/* a table that cannot be read fails each lookup (-1), as
			 * Postfix defers on a broken table */
			struct maps *m = maps_open(pattern, MAPS_FLAG_DEFER_ERRORS, error_r);
			if (m == NULL)
				return -1;
			it = cidr_list_push(l);
			it->kind = CIDR_TABLE;
			it->negate = negate;
			it->text = xstrdup(pattern);
			it->maps = m;
			return 0;
		}
		if (!isalpha((unsigned char)pattern[0]))
			return -1;
	}
	it = cidr_list_push(l);
	it->kind = CIDR_NAME;
	it->negate = negate;
	it->text = xstrdup(pattern);
	return 0;
}

/* cidr_name_matches - host name against a name pattern */
static bool
cidr_name_matches(const char *pattern, const char *name, bool subdomains)
{
	size_t pl, nl;

	if (pattern[0] == '.') {
		pl = strlen(pattern);
		nl = strlen(name);
		return nl > pl && strcasecmp(name + nl - pl, pattern) == 0;
	}
	if (strcasecmp(pattern, name) == 0)
		return true;
	if (!subdomains)
		return false;
	pl = strlen(pattern);
	nl = strlen(name);
	return nl > pl && name[nl - pl - 1] == '.' && strcasecmp(name + nl - pl, pattern) == 0;
}

int
cidr_list_match(const struct cidr_list *l, const char *addr, const char *name)
{
	const struct cidr_item *it;
	bool hit;
	size_t i;

	for (i = 0; i < l->n; i++) {
		it = &l->items[i];
		switch (it->kind) {
		case CIDR_NET:
			hit = addr != NULL && cidr_contains(&it->net, addr);
			break;
		case CIDR_NAME:
			hit = name != NULL && strcmp(name, "unknown") != 0 &&
			    cidr_name_matches(it->text, name, l->subdomains);
			break;
		case CIDR_TABLE:
		default: {
			/* the client address, then its name: any value is a match */
			struct str val;
			const char *err;
			int rc = 0;

			str_init(&val, 16);
			if (addr != NULL)
				rc = maps_find(it->maps, addr, &val, &err);
			if (rc == 0 && name != NULL && strcmp(name, "unknown") != 0)
				rc = maps_find(it->maps, name, &val, &err);
			str_deinit(&val);
			if (rc < 0)
				return -1;	/* the caller defers rather than decides */
			hit = rc == 1;
			break;
		}
		}
		if (hit)
			return it->negate ? 0 : 1;
	}
	return 0;
}
