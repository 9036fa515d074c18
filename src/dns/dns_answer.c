/* dns_answer.c - from the bytes of a DNS answer to a dns_result: c-ares
 * parses the records (ares_parse_*), this file walks the message only for
 * the TTLs, which c-ares 1.18 does not report for MX, TXT and PTR.
 * Everything here runs on bytes from the network: fuzz/fuzz_dns_answer.c.
 * Tests: tests/unit/dns/test_dns.c */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"
#include "lib/str.h"

#define DNS_HDR_SIZE		12
#define DNS_RR_FIXED		10	/* type, class, ttl, rdlength */
#define DNS_QTYPE_CNAME		5
#define DNS_QTYPE_SOA		6
#define DNS_MAX_ADDRS		64
/* A cached answer is kept at most this long, whatever its TTL says, and a
 * negative one at most DNS_NEG_TTL_MAX (RFC 2308 suggests 1-3 hours; a
 * mail system that sees a new MX within minutes is friendlier). */
#define DNS_TTL_MAX		86400
#define DNS_NEG_TTL_MAX		300
#define DNS_MAX_RRS		100

/* dns_skip_name - offset just past the (possibly compressed) name at off,
 * or 0 when it runs past the end. A pointer ends the name: it is skipped,
 * not followed. */
static size_t
dns_skip_name(const unsigned char *buf, size_t len, size_t off)
{
	size_t labels = 0;

	while (off < len) {
		unsigned c = buf[off];

		if ((c & 0xC0) == 0xC0)
			return off + 2 <= len ? off + 2 : 0;
		if ((c & 0xC0) != 0)
			return 0;	/* the reserved 01/10 label types */
		if (c == 0)
			return off + 1;
		off += 1 + c;
		if (++labels > 127)
			return 0;
	}
	return 0;
}

static unsigned
dns_get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned long
dns_get32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	    (unsigned long)p[2] << 8 | p[3];
}

long
dns_answer_ttl(const unsigned char *buf, size_t len, uint16_t qtype)
{
	unsigned qd, an, ns, i;
	size_t off = DNS_HDR_SIZE;
	unsigned long ttl, best = 0, neg = 0;
	bool have = false, have_neg = false;

	if (buf == NULL || len < DNS_HDR_SIZE)
		return -1;
	qd = dns_get16(buf + 4);
	an = dns_get16(buf + 6);
	ns = dns_get16(buf + 8);
	for (i = 0; i < qd; i++) {
		if ((off = dns_skip_name(buf, len, off)) == 0 || off + 4 > len)
			return -1;
		off += 4;
	}
	for (i = 0; i < an + ns; i++) {
		unsigned type, rdlen;

		if ((off = dns_skip_name(buf, len, off)) == 0 || off + DNS_RR_FIXED > len)
			return -1;
		type = dns_get16(buf + off);
		ttl = dns_get32(buf + off + 4);
		if (ttl > 0x7fffffffUL)	/* RFC 2181 8: treat as zero */
			ttl = 0;
		rdlen = dns_get16(buf + off + 8);
		off += DNS_RR_FIXED;
		if (off + rdlen > len)
			return -1;
		if (i < an && (type == qtype || type == DNS_QTYPE_CNAME)) {
			if (!have || ttl < best)
				best = ttl;
			have = true;
		} else if (i >= an && type == DNS_QTYPE_SOA && rdlen >= 20) {
			unsigned long minimum = dns_get32(buf + off + rdlen - 4);

			if (minimum < ttl)
				ttl = minimum;
			if (!have_neg || ttl < neg)
				neg = ttl;
			have_neg = true;
		}
		off += rdlen;
	}
	if (have)
		return (long)(best > DNS_TTL_MAX ? DNS_TTL_MAX : best);
	if (have_neg)
		return (long)(neg > DNS_NEG_TTL_MAX ? DNS_NEG_TTL_MAX : neg);
	return 0;
}

static uint16_t
dns_qtype(enum dns_type t)
{
	switch (t) {
	case DNS_T_A: return 1;
	case DNS_T_AAAA: return 28;
	case DNS_T_MX: return 15;
	case DNS_T_TXT: return 16;
	case DNS_T_PTR: return 12;
	}
	return 0;
}

static struct dns_rr *
dns_add(struct dns_result *res)
{
	struct dns_rr *rr;

	res->rr = xreallocarray(res->rr, res->n + 1, sizeof(*res->rr));
	rr = &res->rr[res->n++];
	memset(rr, 0, sizeof(*rr));
	return rr;
}

/* dns_name_ok - a host name from an answer that we may use and log:
 * printable, no spaces (ares_expand_name escapes the rest) */
static bool
dns_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 255)
		return false;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;

	return (int)x->pref - (int)y->pref;
}

/* dns_convert_records - the records of a successful answer; an ares
 * status (ARES_SUCCESS, ARES_ENODATA, or a parse error) */
static int
dns_convert_records(enum dns_type type, const unsigned char *buf, int len,
    struct dns_result *res)
{
	int r;

	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		struct hostent *he = NULL;
		int n = DNS_MAX_ADDRS, i;

		if (type == DNS_T_A) {
			struct ares_addrttl at[DNS_MAX_ADDRS];

			if ((r = ares_parse_a_reply(buf, len, &he, at, &n)) != ARES_SUCCESS)
				break;
			for (i = 0; i < n; i++) {
				struct dns_rr *rr = dns_add(res);

				rr->family = AF_INET;
				inet_ntop(AF_INET, &at[i].ipaddr, rr->addr, sizeof(rr->addr));
			}
		} else {
			struct ares_addr6ttl at[DNS_MAX_ADDRS];

			if ((r = ares_parse_aaaa_reply(buf, len, &he, at, &n)) != ARES_SUCCESS)
				break;
			for (i = 0; i < n; i++) {
				struct dns_rr *rr = dns_add(res);

				rr->family = AF_INET6;
				inet_ntop(AF_INET6, &at[i].ip6addr, rr->addr, sizeof(rr->addr));
			}
		}
		if (he != NULL)
			ares_free_hostent(he);
		if (res->n == 0)
			r = ARES_ENODATA;
		break;
	}
	case DNS_T_MX: {
		struct ares_mx_reply *mx = NULL, *p;

		if ((r = ares_parse_mx_reply(buf, len, &mx)) != ARES_SUCCESS)
			break;
		for (p = mx; p != NULL && res->n < DNS_MAX_RRS; p = p->next) {
			struct dns_rr *rr;

			if (!dns_name_ok(p->host))
				continue;
			rr = dns_add(res);
			rr->pref = p->priority;
			rr->name = xstrdup(p->host);
		}
		ares_free_data(mx);
		if (res->n == 0)
			r = ARES_ENODATA;
		else	/* stable order within one preference: as received */
			qsort(res->rr, res->n, sizeof(*res->rr), dns_mx_cmp);
		break;
	}
	case DNS_T_TXT: {
		struct ares_txt_ext *txt = NULL, *p;
		struct str s;

		if ((r = ares_parse_txt_reply_ext(buf, len, &txt)) != ARES_SUCCESS)
			break;
		str_init(&s, 256);
		s.max = 65536;
		for (p = txt; p != NULL; p = p->next) {
			if (p->record_start && s.len > 0 && res->n < DNS_MAX_RRS) {
				dns_add(res)->name = xstrdup(s.s);
				str_reset(&s);
			}
			str_append_n(&s, p->txt, p->length);
		}
		if (txt != NULL && res->n < DNS_MAX_RRS)
			dns_add(res)->name = xstrdup(s.s);
		str_deinit(&s);
		ares_free_data(txt);
		if (res->n == 0)
			r = ARES_ENODATA;
		break;
	}
	case DNS_T_PTR: {
		struct hostent *he = NULL;
		unsigned char dummy[4] = { 0, 0, 0, 0 };
		int i;

		if ((r = ares_parse_ptr_reply(buf, len, dummy, sizeof(dummy), AF_INET, &he)) !=
		    ARES_SUCCESS)
			break;
		if (he->h_aliases != NULL && he->h_aliases[0] != NULL) {
			for (i = 0; he->h_aliases[i] != NULL && res->n < DNS_MAX_RRS; i++)
				if (dns_name_ok(he->h_aliases[i]))
					dns_add(res)->name = xstrdup(he->h_aliases[i]);
		} else if (he->h_name != NULL && dns_name_ok(he->h_name)) {
			dns_add(res)->name = xstrdup(he->h_name);
		}
		ares_free_hostent(he);
		if (res->n == 0)
			r = ARES_ENODATA;
		break;
	}
	default:
		r = ARES_ENOTIMP;
	}
	return r;
}

void
dns_answer_convert(enum dns_type type, const unsigned char *buf, size_t len,
    struct dns_result *res)
{
	long ttl;
	int r;

	memset(res, 0, sizeof(*res));
	res->type = type;
	if (len > 65535) {
		res->status = DNS_TEMPFAIL;
		snprintf(res->error, sizeof(res->error), "answer too large");
		return;
	}
	ttl = dns_answer_ttl(buf, len, dns_qtype(type));
	r = dns_convert_records(type, buf, (int)len, res);
	if (r == ARES_SUCCESS && ttl >= 0) {
		res->status = DNS_OK;
		res->ttl = (uint32_t)ttl;
		return;
	}
	dns_result_deinit(res);
	res->type = type;
	if (r == ARES_ENODATA && ttl >= 0) {
		res->status = DNS_NOTFOUND;
		res->ttl = (uint32_t)(ttl > DNS_NEG_TTL_MAX ? DNS_NEG_TTL_MAX : ttl);
		snprintf(res->error, sizeof(res->error), "No %s record", dns_type_name(type));
		return;
	}
	res->status = DNS_TEMPFAIL;
	snprintf(res->error, sizeof(res->error), "malformed DNS reply (%s)",
	    r != ARES_SUCCESS ? ares_strerror(r) : "bad length");
}

void
dns_result_deinit(struct dns_result *res)
{
	size_t i;

	for (i = 0; i < res->n; i++)
		free(res->rr[i].name);
	XFREE(res->rr);
	res->n = 0;
}

void
dns_result_copy(struct dns_result *dst, const struct dns_result *src)
{
	size_t i;

	*dst = *src;
	dst->rr = NULL;
	dst->n = 0;
	if (src->n == 0)
		return;
	dst->rr = xcalloc(src->n, sizeof(*dst->rr));
	for (i = 0; i < src->n; i++) {
		dst->rr[i] = src->rr[i];
		dst->rr[i].name = src->rr[i].name != NULL ? xstrdup(src->rr[i].name) : NULL;
	}
	dst->n = src->n;
}

static const char *const dns_type_names[] = { "A", "AAAA", "MX", "TXT", "PTR" };

const char *
dns_type_name(enum dns_type t)
{
	return (size_t)t < sizeof(dns_type_names) / sizeof(dns_type_names[0]) ?
	    dns_type_names[t] : "?";
}

bool
dns_type_parse(const char *s, enum dns_type *type_r)
{
	size_t i;

	for (i = 0; i < sizeof(dns_type_names) / sizeof(dns_type_names[0]); i++)
		if (strcasecmp(s, dns_type_names[i]) == 0) {
			*type_r = (enum dns_type)i;
			return true;
		}
	return false;
}

bool
dns_reverse_name(const char *addr, char *out, size_t outlen)
{
	unsigned char b[16];
	size_t i, off = 0;
	int n;

	if (inet_pton(AF_INET, addr, b) == 1) {
		n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		return n > 0 && (size_t)n < outlen;
	}
	if (inet_pton(AF_INET6, addr, b) != 1 || outlen < 74)
		return false;
	for (i = 16; i-- > 0;) {
		off += (size_t)snprintf(out + off, outlen - off, "%x.%x.", b[i] & 0xf, b[i] >> 4);
	}
	snprintf(out + off, outlen - off, "ip6.arpa");
	return true;
}
