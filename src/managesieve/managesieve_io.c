/* managesieve_io.c - the ManageSieve service entry (settings read once, as
 * root, before pop3_service_main forks anything), the command reader over
 * a pop3_conn, replies and the capability list. See managesieve.h.
 * Tests: tests/e2e/test_managesieve.py */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/dovecot_conf.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "managesieve/managesieve-private.h"
#include "managesieve/managesieve.h"
#include "pop3/pop3-private.h"

struct msieve_settings msieve_set;

/* --- settings --- */

static const char *
msieve_get(const struct dovecot_conf *dc, const char *key)
{
	const struct dovecot_conf_filter f = { .protocol = "sieve" };
	const char *v = dovecot_conf_get_filtered(dc, &f, key);

	return v != NULL ? v : "";
}

static void
msieve_settings_load(const char *conf)
{
	/* the plugin settings Pigeonhole's ManageSieve honours */
	static const char *const keys[] = { "sieve_extensions", "sieve_max_script_size",
		"sieve_max_actions", "sieve_max_redirects", "sieve_include_max_nesting_depth",
		"sieve_include_max_includes", "sieve_variables_max_scope_size",
		"sieve_variables_max_variable_size", "sieve_global",
		"sieve_editheader_max_header_size", NULL };
	struct msieve_settings *s = &msieve_set;
	struct dovecot_conf *dc = dovecot_conf_new();
	char *path = instance_dovecot_conf(conf);
	const char *err, *v;
	unsigned long long n;
	struct str caps;

	sieve_config_init(&s->cfg);
	if (dovecot_conf_parse_file(dc, path, 0, &err) != 0)
		fatal("%s", err);	/* pop3_service_main would say the same */
	free(path);
	for (size_t i = 0; keys[i] != NULL; i++) {
		char key[128];

		snprintf(key, sizeof(key), "plugin/%s", keys[i]);
		v = dovecot_conf_get(dc, key);
		if (v != NULL && *v != '\0' && sieve_config_set(&s->cfg, keys[i], v, &err) < 0)
			log_warn("managesieve: plugin/%s: %s", keys[i], err);
	}
	v = dovecot_conf_get(dc, "plugin/sieve_quota_max_storage");
	if (v != NULL && *v != '\0' && dovecot_conf_parse_size(v, &n, &err) == 0)
		s->quota_max_storage = n;
	v = dovecot_conf_get(dc, "plugin/sieve_quota_max_scripts");
	if (v != NULL && *v != '\0' && dovecot_conf_parse_uint(v, &n, &err) == 0)
		s->quota_max_scripts = n;
	v = dovecot_conf_get(dc, "plugin/sieve");
	s->location = xstrdup(v != NULL && *v != '\0' ? v : "file:~/sieve;active=~/.dovecot.sieve");
	s->implementation = xstrdup(msieve_get(dc, "managesieve_implementation_string"));
	str_init(&caps, 256);
	sieve_extset_string(&s->cfg.exts, &caps);
	v = msieve_get(dc, "managesieve_sieve_capability");
	s->sieve_caps = *v != '\0' ? xstrdup(v) : str_export(&caps);
	str_deinit(&caps);
	v = msieve_get(dc, "managesieve_notify_capability");
	s->notify_caps = xstrdup(*v != '\0' ? v : strstr(s->sieve_caps, "enotify") != NULL ?
	    "mailto" : "");
	dovecot_conf_free(&dc);
}

int
cmd_managesieve(int argc, char **argv)
{
	static const struct pop3_proto managesieve = { "managesieve", "sieve", msieve_login_run,
		msieve_mail_run, true, NULL, NULL };
	const char *conf = NULL;
	int c, rc;

	log_open("dovecot", getenv("YUBIN_LOG_STDERR") != NULL ? LOG_TO_STDERR | LOG_STDERR_FULL :
	    LOG_TO_SYSLOG);
	optind = 1;
	while ((c = getopt(argc, argv, "c:l:s")) != -1)
		if (c == 'c')
			conf = optarg;
	msieve_settings_load(conf);
	rc = pop3_service_main(argc, argv, &managesieve);
	free(msieve_set.implementation);
	free(msieve_set.sieve_caps);
	free(msieve_set.notify_caps);
	free(msieve_set.location);
	sieve_config_deinit(&msieve_set.cfg);
	memset(&msieve_set, 0, sizeof(msieve_set));
	return rc;
}

/* --- replies --- */

size_t
msieve_reply(struct pop3_conn *c, const char *kind, const char *code, const char *text,
    size_t len)
{
	struct str out;
	size_t n;

	str_init(&out, len + 64);
	str_append(&out, kind);
	if (code != NULL)
		str_appendf(&out, " (%s)", code);
	if (text != NULL) {
		str_append_c(&out, ' ');
		msieve_quote(&out, text, len);
	}
	str_append(&out, "\r\n");
	pop3_conn_append(c, out.s, out.len);
	n = out.len;
	str_deinit(&out);
	return n;
}

size_t
msieve_replyf(struct pop3_conn *c, const char *kind, const char *code, const char *fmt, ...)
{
	struct str text;
	va_list ap;
	size_t n;

	str_init(&text, 128);
	va_start(ap, fmt);
	str_vappendf(&text, fmt, ap);
	va_end(ap);
	n = msieve_reply(c, kind, code, text.s, text.len);
	str_deinit(&text);
	return n;
}

void
msieve_caps(struct str *out, bool login, const char *sasl, bool starttls, bool unauth)
{
	const struct msieve_settings *s = &msieve_set;

	str_append(out, "\"IMPLEMENTATION\" ");
	msieve_quote(out, s->implementation, strlen(s->implementation));
	str_append(out, "\r\n\"SIEVE\" ");
	msieve_quote(out, s->sieve_caps, strlen(s->sieve_caps));
	str_append(out, "\r\n");
	if (!login)
		str_appendf(out, "\"MAXREDIRECTS\" \"%u\"\r\n", s->cfg.limits.max_redirects);
	if (*s->notify_caps != '\0') {
		str_append(out, "\"NOTIFY\" ");
		msieve_quote(out, s->notify_caps, strlen(s->notify_caps));
		str_append(out, "\r\n");
	}
	if (login) {
		str_append(out, "\"SASL\" ");
		msieve_quote(out, sasl, strlen(sasl));
		str_append(out, "\r\n");
		if (starttls)
			str_append(out, "\"STARTTLS\"\r\n");
	}
	if (unauth)
		str_append(out, "\"UNAUTHENTICATE\"\r\n");
	str_append(out, "\"VERSION\" \"1.0\"\r\n");
}

void
msieve_printable(struct str *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len && i < 256; i++)
		str_append_c(out, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
}

/* --- the reader --- */

void
msieve_reader_init(struct msieve_reader *r, struct pop3_conn *c, size_t max_literal)
{
	memset(r, 0, sizeof(*r));
	r->conn = c;
	r->max_literal = max_literal;
	str_init(&r->buf, 1024);
}

void
msieve_reader_deinit(struct msieve_reader *r)
{
	explicit_bzero(r->buf.s, r->buf.len);
	str_deinit(&r->buf);
}

static void
reader_drop(struct msieve_reader *r, size_t n)
{
	memmove(r->buf.s, r->buf.s + n, r->buf.len - n);
	str_truncate(&r->buf, r->buf.len - n);
}

/* reader_fill - the conn's unread bytes, or a read's, into buf */
static enum msieve_read
reader_fill(struct msieve_reader *r)
{
	struct pop3_conn *c = r->conn;

	if (c->in_pos == c->in_len) {
		int n;

		r->out_bytes += c->out.len;	/* the read flushes it */
		n = pop3_conn_read(c);

		if (n == 0)
			return MSIEVE_READ_EOF;
		if (n == -1)
			return MSIEVE_READ_TIMEOUT;
		if (n < 0)
			return MSIEVE_READ_ERROR;
	}
	str_append_n(&r->buf, c->in + c->in_pos, c->in_len - c->in_pos);
	r->in_bytes += c->in_len - c->in_pos;
	c->in_pos = c->in_len;
	return MSIEVE_READ_CMD;
}

/* literal_size - N of the "{N}" or "{N+}" that ends the line buf[0..n) */
static bool
literal_size(const char *buf, size_t n, uint64_t *size_r)
{
	size_t i = n;
	uint64_t v = 0, mul = 1;

	if (i > 0 && buf[i - 1] == '\n')
		i--;
	if (i > 0 && buf[i - 1] == '\r')
		i--;
	if (i == 0 || buf[--i] != '}')
		return false;
	if (i > 0 && buf[i - 1] == '+')
		i--;
	if (i == 0 || !isdigit((unsigned char)buf[i - 1]))
		return false;
	while (i > 0 && isdigit((unsigned char)buf[i - 1])) {
		if (mul > UINT64_MAX / 100)
			return false;	/* 19+ digits: no client means that */
		v += (uint64_t)(buf[i - 1] - '0') * mul;
		mul *= 10;
		i--;
	}
	*size_r = v;
	return i > 0 && buf[i - 1] == '{';
}

enum msieve_read
msieve_read_command(struct msieve_reader *r, struct msieve_cmd *cmd, const char **error_r)
{
	enum msieve_read rd;

	for (;;) {
		/* a refused literal goes by without being kept */
		if (r->skip > 0 && r->buf.len > 0) {
			size_t n = r->buf.len < r->skip ? r->buf.len : (size_t)r->skip;

			reader_drop(r, n);
			r->skip -= n;
		}
		if (r->skip == 0 && r->skip_line && r->buf.len > 0) {
			const char *nl = memchr(r->buf.s, '\n', r->buf.len);

			reader_drop(r, nl != NULL ? (size_t)(nl - r->buf.s) + 1 : r->buf.len);
			r->skip_line = nl == NULL;
		}
		if (r->skip == 0 && !r->skip_line && r->buf.len > 0) {
			size_t used;
			enum msieve_parse p = msieve_parse(r->buf.s, r->buf.len, r->max_literal,
			    cmd, &used, error_r);

			if (p == MSIEVE_PARSE_OK) {
				reader_drop(r, used);
				return MSIEVE_READ_CMD;
			}
			if (p == MSIEVE_PARSE_ERROR) {
				uint64_t size;

				if (strcmp(*error_r, "Literal too big") == 0) {
					if (!literal_size(r->buf.s, used, &size))
						return MSIEVE_READ_FATAL;
					reader_drop(r, used);
					r->skip = size;
					r->skip_line = true;
					return MSIEVE_READ_TOOBIG;
				}
				if (strcmp(*error_r, "Line too long") == 0)
					return MSIEVE_READ_FATAL;
				reader_drop(r, used);
				return MSIEVE_READ_BAD;
			}
		}
		if ((rd = reader_fill(r)) != MSIEVE_READ_CMD)
			return rd;
	}
}

enum msieve_read
msieve_read_string(struct msieve_reader *r, struct str *out)
{
	struct msieve_cmd cmd;
	const char *err;
	enum msieve_read rd;

	/* a response line is one string: read as the argument of a verb */
	{
		struct str tmp;

		str_init(&tmp, r->buf.len + 4);
		str_append(&tmp, "R ");
		str_append_n(&tmp, r->buf.s, r->buf.len);
		explicit_bzero(r->buf.s, r->buf.len);
		str_reset(&r->buf);
		str_append_n(&r->buf, tmp.s, tmp.len);
		explicit_bzero(tmp.s, tmp.len);
		str_deinit(&tmp);
	}
	rd = msieve_read_command(r, &cmd, &err);
	if (rd != MSIEVE_READ_CMD)
		return rd;
	if (cmd.nargs != 1 || cmd.args[0].type != MSIEVE_ARG_STRING) {
		/* "*" alone (without quotes) is no string either */
		msieve_cmd_deinit(&cmd);
		return MSIEVE_READ_BAD;
	}
	str_append_n(out, cmd.args[0].s, cmd.args[0].len);
	explicit_bzero(cmd.args[0].s, cmd.args[0].len);
	msieve_cmd_deinit(&cmd);
	return MSIEVE_READ_CMD;
}
