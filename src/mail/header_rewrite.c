/* header_rewrite.c - canonical rewriting of header addresses (see
 * header_rewrite.h). The value is tokenized the way RFC 5322 address lists
 * are (quoted strings, nested comments, angle addresses, groups); any byte
 * sequence is accepted, and nothing is trusted to be balanced. */
#include "mail/header_rewrite.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "mail/header.h"
#include "mail/rewrite.h"

static const char *const header_rewrite_senders[] = {
	"from", "sender", "reply-to", "errors-to", "return-receipt-to", "resent-from",
	"resent-sender", "resent-reply-to", NULL,
};
static const char *const header_rewrite_recipients[] = {
	"to", "cc", "bcc", "apparently-to", "resent-to", "resent-cc", "resent-bcc", NULL,
};

int
header_rewrite_class(const struct header_field *f)
{
	size_t i;

	for (i = 0; header_rewrite_senders[i] != NULL; i++)
		if (header_is(f, header_rewrite_senders[i]))
			return REWRITE_HEADER_SENDER;
	for (i = 0; header_rewrite_recipients[i] != NULL; i++)
		if (header_is(f, header_rewrite_recipients[i]))
			return REWRITE_HEADER_RECIPIENT;
	return -1;
}

/* skip_comment - p at "(": past the matching ")" (nested, with quoted
 * pairs), or the end */
static size_t
skip_comment(const char *v, size_t len, size_t p)
{
	int depth = 0;

	for (; p < len; p++) {
		if (v[p] == '\\' && p + 1 < len)
			p++;
		else if (v[p] == '(')
			depth++;
		else if (v[p] == ')' && --depth == 0)
			return p + 1;
	}
	return len;
}

static size_t
skip_quoted(const char *v, size_t len, size_t p)
{
	for (p++; p < len; p++) {
		if (v[p] == '\\' && p + 1 < len)
			p++;
		else if (v[p] == '"')
			return p + 1;
	}
	return len;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* element_span - the addr-spec of one list element v[s..e): the inside of
 * its last <...>, else the element without comments and surrounding space
 * (a bare addr-spec). false when there is none (a display name alone, an
 * empty element). */
static bool
element_span(const char *v, size_t s, size_t e, size_t span[2])
{
	size_t p, lt = (size_t)-1, gt = (size_t)-1, first = (size_t)-1, last = 0;

	for (p = s; p < e;) {
		if (v[p] == '"') {
			if (first == (size_t)-1)
				first = p;
			p = skip_quoted(v, e, p);
			last = p;
		} else if (v[p] == '(') {
			p = skip_comment(v, e, p);
		} else if (v[p] == '<') {
			lt = p;
			gt = (size_t)-1;
			for (p++; p < e && v[p] != '>'; p++)
				if (v[p] == '"')
					p = skip_quoted(v, e, p) - 1;
			if (p < e)
				gt = p++;
		} else {
			if (!is_space(v[p])) {
				if (first == (size_t)-1)
					first = p;
				last = p + 1;
			}
			p++;
		}
	}
	if (lt != (size_t)-1) {
		if (gt == (size_t)-1 || gt == lt + 1)
			return false;
		span[0] = lt + 1;
		span[1] = gt;
		return true;
	}
	if (first == (size_t)-1 || last <= first)
		return false;
	/* a bare addr-spec has no white space outside quotes; "Joe Smith" is
	 * not one */
	for (p = first; p < last; p++) {
		if (v[p] == '"')
			p = skip_quoted(v, last, p) - 1;
		else if (is_space(v[p]) || v[p] == '(')
			return false;
	}
	span[0] = first;
	span[1] = last;
	return true;
}

size_t
header_addr_spans(const char *v, size_t len, size_t (*spans)[2], size_t max)
{
	size_t p, s = 0, n = 0;

	for (p = 0; p <= len && n < max;) {
		if (p < len && v[p] == '"') {
			p = skip_quoted(v, len, p);
		} else if (p < len && v[p] == '(') {
			p = skip_comment(v, len, p);
		} else if (p < len && v[p] == '<') {
			for (p++; p < len && v[p] != '>'; p++)
				;
		} else if (p < len && v[p] == ':') {
			/* "group: a, b;": the group name is not an address */
			s = ++p;
		} else if (p == len || v[p] == ',' || v[p] == ';') {
			if (element_span(v, s, p, spans[n]))
				n++;
			s = ++p;
		} else {
			p++;
		}
	}
	return n;
}

int
header_rewrite_field(struct rewrite *rw, const struct header_field *f, struct str *out,
    bool *changed_r, const char **error_r)
{
	size_t (*spans)[2] = NULL, n, i, pos;
	const char *raw = f->name, *v = f->value;
	struct str addr, result;
	int cls = header_rewrite_class(f), ret = 0;
	size_t value_off = (size_t)(v - raw);

	*changed_r = false;
	if (cls < 0) {
		str_append_n(out, raw, f->raw_len);
		return 0;
	}
	spans = xcalloc(HEADER_REWRITE_MAX_ADDRS, sizeof(*spans));
	n = header_addr_spans(v, f->value_len, spans, HEADER_REWRITE_MAX_ADDRS);
	str_init(&addr, 64);
	str_init(&result, 256);
	pos = 0;
	str_append_n(&result, raw, value_off);
	for (i = 0; i < n; i++) {
		str_reset(&addr);
		str_append_n(&addr, v + spans[i][0], spans[i][1] - spans[i][0]);
		/* folded addresses and NULs are left alone */
		if (strpbrk(addr.s, "\r\n") != NULL || memchr(v + spans[i][0], '\0',
		    spans[i][1] - spans[i][0]) != NULL)
			continue;
		{
			struct str rewritten;

			str_init(&rewritten, 64);
			if (rewrite_address(rw, (enum rewrite_class)cls, addr.s, &rewritten,
			    error_r) != 0) {
				str_deinit(&rewritten);
				ret = -1;
				goto out;
			}
			if (strcmp(rewritten.s, addr.s) != 0) {
				str_append_n(&result, v + pos, spans[i][0] - pos);
				str_append(&result, rewritten.s);
				pos = spans[i][1];
				*changed_r = true;
			}
			str_deinit(&rewritten);
		}
	}
	str_append_n(&result, v + pos, f->raw_len - value_off - pos);
	str_append_n(out, *changed_r ? result.s : raw, *changed_r ? result.len : f->raw_len);
out:
	str_deinit(&addr);
	str_deinit(&result);
	free(spans);
	return ret;
}

void
header_rewrite_stream_init(struct header_rewrite_stream *hs, struct rewrite *rw, size_t limit,
    void (*emit)(void *, const char *, size_t), void *ctx)
{
	memset(hs, 0, sizeof(*hs));
	hs->rw = rw;
	hs->limit = limit;
	hs->emit = emit;
	hs->ctx = ctx;
	hs->buf = str_new(256);
	hs->field = str_new(256);
}

void
header_rewrite_stream_deinit(struct header_rewrite_stream *hs)
{
	str_free(&hs->buf);
	str_free(&hs->field);
}

static void
stream_emit(struct header_rewrite_stream *hs, const char *p, size_t len)
{
	if (len > 0)
		hs->emit(hs->ctx, p, len);
}

int
header_rewrite_stream_feed(struct header_rewrite_stream *hs, const char *in, size_t len,
    bool final, const char **error_r)
{
	struct str *buf = hs->buf;
	struct header_field f;
	size_t off = 0, n;
	bool changed;
	int ret = 0;

	if (hs->done) {
		stream_emit(hs, in, len);
		return 0;
	}
	str_append_n(buf, in, len);
	while (off < buf->len) {
		const char *p = buf->s + off;
		size_t left = buf->len - off;

		if (memchr(p, '\n', left) == NULL && !final)
			break;		/* a line still coming */
		n = header_next(p, left, &f);
		if (n == 0) {
			hs->done = true;	/* the body (or a line that is no field) */
			break;
		}
		if (n == left && !final)
			break;		/* a continuation line may follow */
		if (n > hs->limit) {
			hs->done = true;	/* too large to hold: as it is */
			break;
		}
		str_reset(hs->field);
		if (header_rewrite_field(hs->rw, &f, hs->field, &changed, error_r) != 0) {
			hs->done = true;
			ret = -1;
			break;
		}
		stream_emit(hs, hs->field->s, hs->field->len);
		off += n;
	}
	if (!hs->done && buf->len - off > hs->limit)
		hs->done = true;	/* one field past the limit, still growing */
	if (hs->done || final) {
		stream_emit(hs, buf->s + off, buf->len - off);
		str_reset(buf);
		return ret;
	}
	if (off > 0) {
		memmove(buf->s, buf->s + off, buf->len - off);
		str_truncate(buf, buf->len - off);
	}
	return ret;
}
