/* fuzz_imap_mime.c - the MIME structure, ENVELOPE, BODYSTRUCTURE and
 * every BODY[section] range of arbitrary messages, and the BINARY
 * decoding (imap_binary.c: base64, quoted-printable, the whole message
 * rebuilt) of those sections. Checks: every part's
 * ranges lie inside the message, and the output's parentheses balance
 * outside strings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_binary.h"
#include "imap/imap_mime.h"
#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct mime_message *m, const struct mime_part *p)
{
	size_t i;

	if (p->hdr_off + p->hdr_len > m->len || p->body_off + p->body_len > m->len)
		__builtin_trap();
	for (i = 0; i < p->nchildren; i++)
		check(m, &p->children[i]);
}

static void
balanced(const struct str *s)
{
	long depth = 0;
	size_t i;

	for (i = 0; i < s->len; i++) {
		if (s->s[i] == '"') {
			for (i++; i < s->len && s->s[i] != '"'; i++)
				if (s->s[i] == '\\')
					i++;
		} else if (s->s[i] == '{') {
			size_t n = strtoul(s->s + i + 1, NULL, 10);

			i = (size_t)(strchr(s->s + i, '\n') - s->s) + n;
		} else if (s->s[i] == '(') {
			depth++;
		} else if (s->s[i] == ')') {
			depth--;
		}
	}
	if (depth != 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_message m;
	struct str out;
	static const char *const sections[] = { "", "1", "2", "1.1", "1.2.1", "2.1", "3.1.1" };
	static const char *const names[] = { "FROM", "SUBJECT" };
	size_t i;
	bool decoded_text;

	mime_parse(&m, (const char *)data, size);
	check(&m, &m.root);
	str_init(&out, 256);
	mime_envelope(&out, m.text + m.root.hdr_off, m.root.hdr_len);
	balanced(&out);
	str_reset(&out);
	mime_bodystructure(&out, &m, true);
	balanced(&out);
	str_reset(&out);
	mime_bodystructure(&out, &m, false);
	balanced(&out);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		bool decoded;

		(void)mime_section(&m, sections[i]);
		str_reset(&out);
		(void)imap_binary_section(&m, sections[i], &out, &decoded);
	}
	str_reset(&out);
	(void)imap_binary_section(&m, "TEXT", &out, &decoded_text);
	/* the decoders on the raw input, as a body */
	str_reset(&out);
	(void)imap_binary_decode("base64", (const char *)data, size, &out);
	if (out.len > size)
		__builtin_trap();
	str_reset(&out);
	(void)imap_binary_decode("quoted-printable", (const char *)data, size, &out);
	if (out.len > 2 * size + 2)
		__builtin_trap();
	str_reset(&out);
	mime_header_fields(&out, m.text, m.root.hdr_len, names, 2, true);
	str_deinit(&out);
	mime_free(&m);
	return 0;
}
