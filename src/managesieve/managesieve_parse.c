/* managesieve_parse.c - see managesieve_parse.h. RFC 5804 section 4:
 *   command    = verb *(SP argument) CRLF
 *   argument   = atom / string
 *   string     = quoted / literal-c2s
 *   quoted     = DQUOTE *(any char but CR, LF, NUL, with "\" before '"' and '\') DQUOTE
 *   literal-c2s = "{" number ["+"] "}" CRLF *OCTET
 * Tests: tests/unit/managesieve/test_managesieve_parse.c */
#include "managesieve/managesieve_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"

void
msieve_cmd_deinit(struct msieve_cmd *cmd)
{
	for (size_t i = 0; i < cmd->nargs; i++)
		free(cmd->args[i].s);
	cmd->nargs = 0;
	cmd->verb[0] = '\0';
}

static bool
atom_char(unsigned char c)
{
	/* ATOM-CHAR: any CHAR except atom-specials ("(" ")" "{" SP CTL
	 * "%" "*" DQUOTE "\" ) */
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\", c) == NULL;
}

/* skip_line - bytes through the next LF (or all) */
static size_t
skip_line(const char *buf, size_t len, size_t pos)
{
	const char *nl = memchr(buf + pos, '\n', len - pos);

	return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

enum msieve_parse
msieve_parse(const char *buf, size_t len, size_t max_literal, struct msieve_cmd *cmd,
    size_t *consumed_r, const char **error_r)
{
	size_t pos = 0, n = 0, line_start = 0;

	memset(cmd, 0, sizeof(*cmd));
	*consumed_r = 0;
	*error_r = NULL;
	/* the verb: an atom */
	while (pos < len && atom_char((unsigned char)buf[pos])) {
		if (n + 1 >= sizeof(cmd->verb))
			goto bad;
		cmd->verb[n++] = (char)toupper((unsigned char)buf[pos++]);
	}
	cmd->verb[n] = '\0';
	for (;;) {
		if (pos - line_start > MSIEVE_MAX_LINE) {
			*error_r = "Line too long";
			goto fail_all;
		}
		if (pos >= len)
			goto more;
		if (buf[pos] == '\r' || buf[pos] == '\n') {
			if (buf[pos] == '\r') {
				if (pos + 1 >= len)
					goto more;
				if (buf[pos + 1] != '\n')
					goto bad;
				pos++;
			}
			if (n == 0)
				goto bad;	/* an empty line is no command */
			*consumed_r = pos + 1;
			return MSIEVE_PARSE_OK;
		}
		if (n == 0 || buf[pos] != ' ')
			goto bad;
		pos++;
		if (pos >= len)
			goto more;
		if (cmd->nargs >= MSIEVE_MAX_ARGS) {
			*error_r = "Too many arguments";
			goto fail_line;
		}
		if (buf[pos] == '"') {
			struct str s;

			str_init(&s, 64);
			pos++;
			for (;;) {
				if (pos >= len) {
					str_deinit(&s);
					goto more;
				}
				if (buf[pos] == '"')
					break;
				if (buf[pos] == '\r' || buf[pos] == '\n' || buf[pos] == '\0') {
					str_deinit(&s);
					goto bad;
				}
				if (buf[pos] == '\\') {
					if (pos + 1 >= len) {
						str_deinit(&s);
						goto more;
					}
					if (buf[pos + 1] != '"' && buf[pos + 1] != '\\') {
						str_deinit(&s);
						goto bad;
					}
					pos++;
				}
				str_append_c(&s, buf[pos++]);
			}
			pos++;
			cmd->args[cmd->nargs].type = MSIEVE_ARG_STRING;
			cmd->args[cmd->nargs].len = s.len;
			cmd->args[cmd->nargs++].s = str_export(&s);
		} else if (buf[pos] == '{') {
			size_t size = 0, digits = 0;

			pos++;
			while (pos < len && isdigit((unsigned char)buf[pos])) {
				size_t d = (size_t)(buf[pos] - '0');

				if (size > max_literal / 10 || size * 10 + d > max_literal) {
					*error_r = "Literal too big";
					goto fail_line;
				}
				size = size * 10 + d;
				pos++;
				digits++;
			}
			if (pos < len && buf[pos] == '+')
				pos++;
			if (pos + 2 >= len)
				goto more;
			if (digits == 0 || buf[pos] != '}' || buf[pos + 1] != '\r' ||
			    buf[pos + 2] != '\n')
				goto bad;
			pos += 3;
			if (len - pos < size)
				goto more;
			cmd->args[cmd->nargs].type = MSIEVE_ARG_STRING;
			cmd->args[cmd->nargs].len = size;
			cmd->args[cmd->nargs++].s = xstrndup(buf + pos, size);
			pos += size;
			line_start = pos;
		} else if (atom_char((unsigned char)buf[pos])) {
			size_t start = pos;

			while (pos < len && atom_char((unsigned char)buf[pos]))
				pos++;
			if (pos >= len)
				goto more;
			cmd->args[cmd->nargs].type = MSIEVE_ARG_ATOM;
			cmd->args[cmd->nargs].len = pos - start;
			cmd->args[cmd->nargs++].s = xstrndup(buf + start, pos - start);
		} else {
			goto bad;
		}
	}
more:
	msieve_cmd_deinit(cmd);
	if (pos - line_start > MSIEVE_MAX_LINE) {
		*error_r = "Line too long";
		goto fail_all;
	}
	return MSIEVE_PARSE_MORE;
bad:
	*error_r = "Error in MANAGESIEVE command received by server.";
fail_line:
	msieve_cmd_deinit(cmd);
	/* drop through the end of the line the error is on; without its end
	 * yet, wait for it (an error is only final with the whole line) */
	if (memchr(buf + pos, '\n', len - pos) == NULL && len - line_start <= MSIEVE_MAX_LINE)
		return MSIEVE_PARSE_MORE;
	*consumed_r = skip_line(buf, len, pos);
	return MSIEVE_PARSE_ERROR;
fail_all:
	msieve_cmd_deinit(cmd);
	*consumed_r = len;
	return MSIEVE_PARSE_ERROR;
}

void
msieve_quote(struct str *out, const char *s, size_t len)
{
	bool literal = len > 1024;

	for (size_t i = 0; i < len && !literal; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0' || (unsigned char)s[i] >= 0x80)
			literal = true;
	if (literal) {
		str_appendf(out, "{%zu}\r\n", len);
		str_append_n(out, s, len);
		return;
	}
	str_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			str_append_c(out, '\\');
		str_append_c(out, s[i]);
	}
	str_append_c(out, '"');
}
