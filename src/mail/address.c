/* address.c - RFC 5321 path parser for the SMTP server (see address.h). */
#include <stdint.h>
#include <string.h>

#include "lib/str.h"
#include "mail/address.h"

/* RFC 5322 atext, plus bytes above 0x7f (checked as UTF-8 as a whole) */
static bool
address_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
address_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

bool
address_utf8_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t cp;
	int n, i;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else
			return false;
		if (end - p <= n)
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		p += n + 1;
	}
	return true;
}

/* address_literal_ok - "[1.2.3.4]" or "[IPv6:...]" or "[tag:text]" */
static bool
address_literal_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return false;
	for (i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		/* dtext: printable ASCII except [ ] and backslash */
		if (c <= 0x20 || c >= 0x7f || c == '[' || c == ']' || c == '\\')
			return false;
	}
	return true;
}

/* address_domain_ok - dot-separated labels of letters, digits, '-' and '_'
 * (UTF-8 for internationalized names), one trailing dot tolerated */
static bool
address_domain_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0)
		return false;
	if (s[0] == '[')
		return address_literal_ok(s, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') {
			label++;
		} else
			return false;
	}
	return true;
}

/* address_mailbox_ok - local-part ["@" domain] */
static bool
address_mailbox_ok(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0)
		return false;
	if (s[0] == '"') {
		for (i = 1; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\')
				i++;
			if (i >= len || address_is_ctl((unsigned char)s[i]))
				return false;
		}
		if (i >= len)
			return false;
		i++;		/* the closing quote */
	} else {
		for (; i < len && s[i] != '@'; i++)
			if (s[i] != '.' && !address_is_atext((unsigned char)s[i]))
				return false;
		if (i == 0)
			return false;
	}
	if (i == len)
		return true;	/* no domain: Postfix accepts it, restrictions decide */
	if (s[i] != '@')
		return false;
	return address_domain_ok(s + i + 1, len - i - 1);
}

/* address_route_end - length of a source route "@a,@b:" at s, or 0 */
static size_t
address_route_end(const char *s, size_t len)
{
	size_t i = 0, start;

	for (;;) {
		if (i >= len || s[i] != '@')
			return 0;
		start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':')
			i++;
		if (i >= len || !address_domain_ok(s + start, i - start))
			return 0;
		if (s[i] == ':')
			return i + 1;
		i++;		/* ',' */
	}
}

int
address_parse_path(const char *in, size_t len, unsigned flags, struct str *out,
    size_t *used_r, const char **error_r)
{
	const char *box;
	size_t i, boxlen, route;
	bool quoted = false;

	str_reset(out);
	if (len > 0 && in[0] == '<') {
		/* find the closing bracket outside quotes */
		for (i = 1; i < len; i++) {
			if (quoted && in[i] == '\\' && i + 1 < len) {
				i++;
				continue;
			}
			if (in[i] == '"')
				quoted = !quoted;
			else if (!quoted && in[i] == '>')
				break;
			else if (!quoted && (in[i] == '<' || in[i] == ' ' || in[i] == '\t'))
				goto bad;
		}
		if (i >= len)
			goto bad;
		box = in + 1;
		boxlen = i - 1;
		*used_r = i + 1;
	} else {
		if (flags & ADDRESS_FLAG_NEED_BRACKETS)
			goto bad;
		for (i = 0; i < len; i++) {
			if (quoted && in[i] == '\\' && i + 1 < len) {
				i++;
				continue;
			}
			if (in[i] == '"')
				quoted = !quoted;
			else if (!quoted && (in[i] == ' ' || in[i] == '\t'))
				break;
			else if (!quoted && (in[i] == '<' || in[i] == '>'))
				goto bad;
		}
		if (quoted || i == 0)
			goto bad;
		box = in;
		boxlen = i;
		*used_r = i;
	}
	if (boxlen == 0) {
		if (flags & ADDRESS_FLAG_REJECT_NULL)
			goto bad;
		return 0;
	}
	if (box[0] == '@') {
		if ((route = address_route_end(box, boxlen)) == 0)
			goto bad;
		box += route;
		boxlen -= route;
	}
	if (boxlen > ADDRESS_MAX || !address_mailbox_ok(box, boxlen) ||
	    !address_utf8_is_valid(box, boxlen))
		goto bad;
	str_append_n(out, box, boxlen);
	return 0;
bad:
	*error_r = "bad address syntax";
	return -1;
}

/* address_at - offset of the '@' before the domain, or len */
static size_t
address_at(const char *addr)
{
	size_t i, len = strlen(addr);

	if (addr[0] == '"') {
		for (i = 1; i < len && addr[i] != '"'; i++)
			if (addr[i] == '\\' && i + 1 < len)
				i++;
		return i < len && addr[i + 1] == '@' ? i + 1 : len;
	}
	const char *at = strrchr(addr, '@');
	return at != NULL ? (size_t)(at - addr) : len;
}

const char *
address_domain(const char *addr)
{
	size_t at = address_at(addr);

	return addr[at] == '@' ? addr + at + 1 : NULL;
}

size_t
address_local_len(const char *addr)
{
	return address_at(addr);
}

bool
address_is_utf8(const char *addr)
{
	for (; *addr != '\0'; addr++)
		if ((unsigned char)*addr >= 0x80)
			return true;
	return false;
}

bool
address_is_fqdn(const char *domain)
{
	size_t len;

	if (domain == NULL || *domain == '\0')
		return false;
	if (domain[0] == '[')
		return true;
	len = strlen(domain);
	return strchr(domain, '.') != NULL && domain[len - 1] != '.' && domain[0] != '.';
}
