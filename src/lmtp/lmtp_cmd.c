/* lmtp_cmd.c - what the LMTP server parses from the client: command
 * lines, MAIL/RCPT paths and parameters, and the DATA stream. Pure
 * functions over bytes, so that fuzz/fuzz_lmtp_command.c reaches all of
 * them. Tests: tests/unit/lmtp/test_lmtp_cmd.c */
#include "lmtp/lmtp.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/str.h"

enum lmtp_verb
lmtp_cmd_parse(const char *line, const char **args_r)
{
	static const struct {
		const char *name;
		enum lmtp_verb verb;
	} verbs[] = {
		{ "LHLO", LMTP_CMD_LHLO }, { "MAIL", LMTP_CMD_MAIL }, { "RCPT", LMTP_CMD_RCPT },
		{ "DATA", LMTP_CMD_DATA }, { "RSET", LMTP_CMD_RSET }, { "NOOP", LMTP_CMD_NOOP },
		{ "QUIT", LMTP_CMD_QUIT }, { "VRFY", LMTP_CMD_VRFY },
	};
	size_t n = 0, i;

	while (isalpha((unsigned char)line[n]))
		n++;
	*args_r = "";
	/* a verb is letters only, ended by a space or the end of the line */
	if (n == 0 || n >= LMTP_MAX_VERB || (line[n] != '\0' && line[n] != ' '))
		return LMTP_CMD_NONE;
	*args_r = line[n] == ' ' ? line + n + 1 : line + n;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == n && strncasecmp(line, verbs[i].name, n) == 0)
			return verbs[i].verb;
	return LMTP_CMD_UNKNOWN;
}

static bool
lmtp_atext(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

int
lmtp_path_parse(const char *args, const char *kw, bool null_ok, struct str *addr,
    const char **params_r, const char **error_r)
{
	static char err[96];
	size_t kwlen = strlen(kw);
	const char *p = args;

	str_reset(addr);
	*params_r = "";
	if (strncasecmp(p, kw, kwlen) != 0 || p[kwlen] != ':') {
		*error_r = "Invalid parameters";
		return -1;
	}
	p += kwlen + 1;
	while (*p == ' ')
		p++;
	if (*p != '<') {
		snprintf(err, sizeof(err), "Invalid %s: Missing '<' at beginning of path", kw);
		*error_r = err;
		return -1;
	}
	p++;
	if (*p == '>') {
		if (!null_ok) {
			snprintf(err, sizeof(err), "Invalid %s: Null path not allowed", kw);
			*error_r = err;
			return -1;
		}
		p++;
		goto params;
	}
	/* an RFC 5321 source route ("@a,@b:") is dropped (section 4.1.1.3) */
	if (*p == '@') {
		const char *colon = strchr(p, ':');
		const char *close = strchr(p, '>');

		if (colon == NULL || (close != NULL && close < colon))
			goto missing_end;
		p = colon + 1;
	}
	if (*p == '"') {
		str_append_c(addr, *p++);
		while (*p != '"') {
			if (*p == '\\' && p[1] != '\0' && (unsigned char)p[1] >= 0x20)
				str_append_c(addr, *p++);
			if (*p == '\0' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				goto missing_end;
			str_append_c(addr, *p++);
		}
		str_append_c(addr, *p++);
	} else {
		while (lmtp_atext((unsigned char)*p))
			str_append_c(addr, *p++);
	}
	if (addr->len == 0)
		goto missing_end;
	if (*p == '@') {
		size_t dstart;

		str_append_c(addr, *p++);
		dstart = addr->len;
		if (*p == '[') {
			str_append_c(addr, *p++);
			/* dtext (RFC 5321 4.1.3): printable, no brackets or backslash */
			while ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f &&
			    strchr("[]\\<>", *p) == NULL)
				str_append_c(addr, *p++);
			if (*p != ']')
				goto missing_end;
			str_append_c(addr, *p++);
		} else {
			while (isalnum((unsigned char)*p) || *p == '-' || *p == '.')
				str_append_c(addr, *p++);
		}
		if (addr->len == dstart)
			goto missing_end;
	}
	if (*p != '>')
		goto missing_end;
	p++;
params:
	if (*p != '\0' && *p != ' ')
		goto missing_end;
	while (*p == ' ')
		p++;
	*params_r = p;
	return 0;
missing_end:
	snprintf(err, sizeof(err), "Invalid %s: Missing '>' at end of path", kw);
	*error_r = err;
	str_reset(addr);
	return -1;
}

bool
lmtp_mail_params_ok(const char *params)
{
	const char *p = params;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (!((n == 9 && strncasecmp(p, "BODY=7BIT", 9) == 0) ||
		    (n == 13 && strncasecmp(p, "BODY=8BITMIME", 13) == 0)))
			return false;
		p += n;
		while (*p == ' ')
			p++;
	}
	return true;
}

void
lmtp_split_detail(const char *addr, const char *delims, struct str *user, struct str *detail)
{
	const char *at = strrchr(addr, '@');
	size_t local = at != NULL ? (size_t)(at - addr) : strlen(addr);
	size_t cut = local;

	str_reset(user);
	str_reset(detail);
	/* the first delimiter in the local part (Dovecot's rule) */
	if (*delims != '\0')
		for (size_t i = 0; i < local; i++)
			if (strchr(delims, addr[i]) != NULL) {
				cut = i;
				break;
			}
	str_append_n(user, addr, cut);
	if (cut < local)
		str_append_n(detail, addr + cut + 1, local - cut - 1);
	if (at != NULL)
		str_append(user, at);
}

/* DATA states: where in a line the reader is */
enum {
	DS_BOL,		/* at the start of a line */
	DS_DOT,		/* a line that began with "." */
	DS_DOT_CR,	/* "." then CR at the start of a line */
	DS_MID,		/* inside a line */
	DS_CR,		/* a CR inside a line */
};

void
lmtp_data_init(struct lmtp_data *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->state = DS_BOL;
	d->max = max;
}

static void
data_out(struct lmtp_data *d, struct str *out, const char *s, size_t n)
{
	d->total += n;
	if (d->overflow || d->total > d->max) {
		d->overflow = true;
		return;
	}
	str_append_n(out, s, n);
}

size_t
lmtp_data_feed(struct lmtp_data *d, const char *buf, size_t n, struct str *out)
{
	size_t i;

	for (i = 0; i < n && !d->done; i++) {
		char c = buf[i];

		switch (d->state) {
		case DS_BOL:
			if (c == '.') {
				d->state = DS_DOT;
				continue;
			}
			d->state = DS_MID;
			break;
		case DS_DOT:
			if (c == '\r') {
				d->state = DS_DOT_CR;
				continue;
			}
			if (c == '\n') {	/* a bare LF ends it too (lenient) */
				d->done = true;
				continue;
			}
			d->state = DS_MID;	/* the leading dot was stuffing */
			break;
		case DS_DOT_CR:
			if (c == '\n') {
				d->done = true;
				continue;
			}
			/* ".\r" then something else: the dot was stuffing, the CR data */
			data_out(d, out, "\r", 1);
			d->state = DS_MID;
			break;
		case DS_CR:
			if (c == '\n') {
				data_out(d, out, "\n", 1);
				d->state = DS_BOL;
				continue;
			}
			data_out(d, out, "\r", 1);
			d->state = DS_MID;
			break;
		default:
			break;
		}
		/* DS_MID */
		if (c == '\r') {
			d->state = DS_CR;
		} else {
			data_out(d, out, &c, 1);
			if (c == '\n')
				d->state = DS_BOL;
		}
	}
	return i;
}
