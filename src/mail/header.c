/* header.c - header fields and address lists (header.h). */
#include "mail/header.h"

#include <string.h>
#include <strings.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

/* Longest address kept; longer ones are dropped (never truncated into a
 * different address). */
#define HEADER_ADDR_MAX	1000

size_t
header_next(const char *p, size_t len, struct header_field *f)
{
	size_t i = 0, eol;

	memset(f, 0, sizeof(*f));
	if (len == 0 || p[0] == '\n' || (p[0] == '\r' && len > 1 && p[1] == '\n'))
		return 0;
	/* field-name: printable ASCII but colon, then optional white space */
	while (i < len && p[i] > 0x20 && p[i] < 0x7f && p[i] != ':')
		i++;
	f->name = p;
	f->name_len = i;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (f->name_len == 0 || i >= len || p[i] != ':')
		return 0;
	i++;
	f->value = p + i;
	for (;;) {
		const char *nl = memchr(p + i, '\n', len - i);

		if (nl == NULL) {
			eol = len;
			break;
		}
		i = (size_t)(nl - p) + 1;
		if (i < len && (p[i] == ' ' || p[i] == '\t'))
			continue;	/* a continuation line */
		eol = i;
		break;
	}
	f->raw_len = eol;
	f->value_len = (size_t)(p + eol - f->value);
	while (f->value_len > 0 && (f->value[f->value_len - 1] == '\n' ||
	    f->value[f->value_len - 1] == '\r'))
		f->value_len--;
	return eol;
}

size_t
header_section_len(const char *p, size_t len)
{
	struct header_field f;
	size_t off = 0, n;

	while ((n = header_next(p + off, len - off, &f)) > 0)
		off += n;
	return off;
}

bool
header_is(const struct header_field *f, const char *name)
{
	return strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

/* header_push - one address candidate: trimmed, sane, kept */
static size_t
header_push(struct str *a, struct strvec *out)
{
	size_t s = 0, e = a->len;
	size_t added = 0;

	while (s < e && (a->s[s] == ' ' || a->s[s] == '\t'))
		s++;
	while (e > s && (a->s[e - 1] == ' ' || a->s[e - 1] == '\t'))
		e--;
	if (e > s && e - s <= HEADER_ADDR_MAX && memchr(a->s + s, '\0', e - s) == NULL) {
		strvec_push_take(out, xstrndup(a->s + s, e - s));
		added = 1;
	}
	str_reset(a);
	return added;
}

size_t
header_addresses(const char *value, size_t len, struct strvec *out)
{
	struct str cur, angle;
	size_t i, added = 0;
	int depth = 0;
	bool quoted = false, in_angle = false, have_angle = false;

	str_init(&cur, 64);
	str_init(&angle, 64);
	for (i = 0; i < len; i++) {
		char c = value[i];

		if (c == '\r' || c == '\n')
			c = ' ';
		if (depth > 0) {		/* inside a (comment) */
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (quoted) {
			if (c == '\\' && i + 1 < len) {
				str_append_c(in_angle ? &angle : &cur, c);
				c = value[++i];
			} else if (c == '"') {
				quoted = false;
			}
			str_append_c(in_angle ? &angle : &cur, c);
			continue;
		}
		if (in_angle) {
			if (c == '>')
				in_angle = false;
			else if (c == '"') {
				quoted = true;
				str_append_c(&angle, c);
			} else if (c != ' ' && c != '\t')
				str_append_c(&angle, c);
			continue;
		}
		switch (c) {
		case '(':
			depth = 1;
			break;
		case '"':
			quoted = true;
			str_append_c(&cur, c);
			break;
		case '<':
			/* what came before is a display name */
			in_angle = true;
			have_angle = true;
			str_reset(&angle);
			break;
		case ':':
			/* a group name ends here */
			str_reset(&cur);
			have_angle = false;
			break;
		case ',':
		case ';':
			added += header_push(have_angle ? &angle : &cur, out);
			str_reset(&cur);
			str_reset(&angle);
			have_angle = false;
			break;
		default:
			str_append_c(&cur, c);
			break;
		}
	}
	added += header_push(have_angle ? &angle : &cur, out);
	str_deinit(&cur);
	str_deinit(&angle);
	return added;
}
