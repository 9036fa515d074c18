/* smtpd_cmd.c - the SMTP command table, the command-line parser and the
 * commands, with Postfix's reply texts. The queue file side of MAIL, RCPT,
 * DATA and BDAT is in smtpd_msg.c. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>

#include "dns/dns.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mail/address.h"
#include "queue/qfile.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_dnscheck.h"
#include "smtpd/smtpd_check.h"

static smtpd_cmd_fn smtpd_cmd_helo, smtpd_cmd_ehlo, smtpd_cmd_starttls, smtpd_cmd_auth,
    smtpd_cmd_mail, smtpd_cmd_rcpt, smtpd_cmd_data, smtpd_cmd_bdat, smtpd_cmd_rset,
    smtpd_cmd_noop, smtpd_cmd_vrfy, smtpd_cmd_quit;

/* Postfix's order, which is also the order of the "disconnect from" counters. */
const struct smtpd_cmd smtpd_cmds[] = {
	{ "helo", smtpd_cmd_helo, SMTPD_CMD_FLAG_LIMIT | SMTPD_CMD_FLAG_PRE_TLS },
	{ "ehlo", smtpd_cmd_ehlo, SMTPD_CMD_FLAG_LIMIT | SMTPD_CMD_FLAG_PRE_TLS },
	{ "starttls", smtpd_cmd_starttls, SMTPD_CMD_FLAG_PRE_TLS },
	{ "auth", smtpd_cmd_auth, 0 },
	{ "mail", smtpd_cmd_mail, 0 },
	{ "rcpt", smtpd_cmd_rcpt, 0 },
	{ "data", smtpd_cmd_data, 0 },
	{ "bdat", smtpd_cmd_bdat, 0 },
	{ "rset", smtpd_cmd_rset, SMTPD_CMD_FLAG_LIMIT },
	{ "noop", smtpd_cmd_noop, SMTPD_CMD_FLAG_LIMIT | SMTPD_CMD_FLAG_PRE_TLS },
	{ "vrfy", smtpd_cmd_vrfy, SMTPD_CMD_FLAG_LIMIT },
	{ "quit", smtpd_cmd_quit, SMTPD_CMD_FLAG_PRE_TLS },
	{ NULL, NULL, 0 },
};
#define SMTPD_CMD_UNKNOWN	12	/* the statistics slot of unknown commands */

const struct smtpd_cmd *
smtpd_cmd_find(const char *verb, size_t len, size_t *index_r)
{
	size_t i;

	for (i = 0; smtpd_cmds[i].name != NULL; i++) {
		if (strlen(smtpd_cmds[i].name) == len && strncasecmp(smtpd_cmds[i].name, verb, len) == 0) {
			*index_r = i;
			return &smtpd_cmds[i];
		}
	}
	*index_r = SMTPD_CMD_UNKNOWN;
	return NULL;
}

static bool
smtpd_is_space(char c)
{
	return c == ' ' || c == '\t';
}

bool
smtpd_cmd_split(const char *line, size_t len, size_t *verb_len_r, const char **args_r)
{
	size_t i = 0, v;

	while (i < len && smtpd_is_space(line[i]))
		i++;
	if (i == len)
		return false;
	if (i > 0)
		return false;	/* Postfix's tokenizer would accept it; RFC 5321 does not */
	for (v = i; v < len && !smtpd_is_space(line[v]); v++)
		;
	*verb_len_r = v;
	while (v < len && smtpd_is_space(line[v]))
		v++;
	*args_r = line + v;
	return true;
}

int
smtpd_cmd_path(const char *args, const char *keyword, unsigned addr_flags, struct str *out,
    const char **params_r)
{
	size_t klen = strlen(keyword), used;
	const char *p, *err;

	if (strncasecmp(args, keyword, klen) != 0)
		return -1;
	p = args + klen;
	while (smtpd_is_space(*p))
		p++;
	if (*p == '\0')
		return -1;
	if (address_parse_path(p, strlen(p), addr_flags, out, &used, &err) < 0)
		return -2;
	p += used;
	if (*p != '\0' && !smtpd_is_space(*p))
		return -2;	/* "<a@b>junk" */
	while (smtpd_is_space(*p))
		p++;
	*params_r = p;
	return 0;
}

bool
smtpd_cmd_param(const char **pp, const char **key_r, size_t *key_len_r, const char **val_r,
    size_t *val_len_r)
{
	const char *p = *pp, *start;

	while (smtpd_is_space(*p))
		p++;
	if (*p == '\0')
		return false;
	start = p;
	while (*p != '\0' && !smtpd_is_space(*p) && *p != '=')
		p++;
	*key_r = start;
	*key_len_r = (size_t)(p - start);
	if (*p == '=') {
		start = ++p;
		while (*p != '\0' && !smtpd_is_space(*p))
			p++;
		*val_r = start;
		*val_len_r = (size_t)(p - start);
	} else {
		*val_r = NULL;
		*val_len_r = 0;
	}
	*pp = p;
	return true;
}

bool
smtpd_xtext_is_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return false;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=')
			return false;
	}
	return true;
}

static bool
smtpd_key_is(const char *key, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(key, name, len) == 0;
}

static bool
smtpd_val_is(const char *val, size_t len, const char *name)
{
	return val != NULL && smtpd_key_is(val, len, name);
}

/* smtpd_cmd_helo_name - remember the HELO/EHLO argument, white space
 * collapsed as Postfix does with several words */
static void
smtpd_cmd_helo_name(struct smtpd_session *s, const char *args)
{
	size_t len = strlen(args);

	while (len > 0 && smtpd_is_space(args[len - 1]))
		len--;
	str_reset(&s->helo);
	s->helo.overflow = false;
	str_append_n(&s->helo, args, len);
}

static int
smtpd_cmd_helo(struct smtpd_session *s, const char *args)
{
	if (*args == '\0') {
		smtpd_reply(s, "501 Syntax: HELO hostname");
		return -1;
	}
	smtpd_tx_reset(s);
	smtpd_cmd_helo_name(s, args);
	s->esmtp = false;
	smtpd_reply(s, "250 %s", s->srv->cfg.myhostname);
	return 0;
}

static bool
smtpd_ehlo_keyword_on(const struct smtpd_config *cfg, const char *kw)
{
	size_t i;

	for (i = 0; i < cfg->discard_ehlo.n; i++)
		if (strcasecmp(cfg->discard_ehlo.v[i], kw) == 0)
			return false;
	return true;
}

static int
smtpd_cmd_ehlo(struct smtpd_session *s, const char *args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	struct strvec kw;
	size_t i;

	if (*args == '\0') {
		smtpd_reply(s, "501 Syntax: EHLO hostname");
		return -1;
	}
	smtpd_tx_reset(s);
	smtpd_cmd_helo_name(s, args);
	s->esmtp = true;
	strvec_init(&kw);
	if (smtpd_ehlo_keyword_on(cfg, "PIPELINING"))
		strvec_push(&kw, "PIPELINING");
	if (smtpd_ehlo_keyword_on(cfg, "SIZE")) {
		if (cfg->message_size_limit > 0)
			strvec_push_take(&kw, xasprintf("SIZE %ld", cfg->message_size_limit));
		else
			strvec_push(&kw, "SIZE");
	}
	if (!cfg->disable_vrfy && smtpd_ehlo_keyword_on(cfg, "VRFY"))
		strvec_push(&kw, "VRFY");
	if (!s->tls && (cfg->ssl_ctx != NULL || cfg->tls_broken) &&
	    smtpd_ehlo_keyword_on(cfg, "STARTTLS"))
		strvec_push(&kw, "STARTTLS");
	if (smtpd_ehlo_keyword_on(cfg, "AUTH"))
		smtpd_sasl_ehlo(s, &kw);
	if (smtpd_ehlo_keyword_on(cfg, "ENHANCEDSTATUSCODES"))
		strvec_push(&kw, "ENHANCEDSTATUSCODES");
	if (smtpd_ehlo_keyword_on(cfg, "8BITMIME"))
		strvec_push(&kw, "8BITMIME");
	if (smtpd_ehlo_keyword_on(cfg, "DSN"))
		strvec_push(&kw, "DSN");
	if (cfg->smtputf8 && smtpd_ehlo_keyword_on(cfg, "SMTPUTF8"))
		strvec_push(&kw, "SMTPUTF8");
	if (smtpd_ehlo_keyword_on(cfg, "CHUNKING"))
		strvec_push(&kw, "CHUNKING");
	if (kw.n == 0)
		smtpd_reply(s, "250 %s", cfg->myhostname);
	else
		smtpd_reply(s, "250-%s", cfg->myhostname);
	for (i = 0; i < kw.n; i++)
		smtpd_reply(s, "250%c%s", i + 1 == kw.n ? ' ' : '-', kw.v[i]);
	strvec_deinit(&kw);
	return 0;
}

static int
smtpd_cmd_starttls(struct smtpd_session *s, const char *args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;

	if (*args != '\0') {
		smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return -1;
	}
	if (s->tls) {
		smtpd_reply(s, "554 5.5.1 Error: TLS already active");
		return -1;
	}
	if (cfg->ssl_ctx == NULL && !cfg->tls_broken) {
		smtpd_reply(s, "502 5.5.1 Error: command not implemented");
		return -1;
	}
	if (s->tx.active) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return -1;
	}
	if (cfg->ssl_ctx == NULL) {
		smtpd_reply(s, "454 4.7.0 TLS not available due to local problem");
		return -1;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	/* RFC 3207: forget everything learned before TLS; smtpd.c switches
	 * the connection after this reply and drops pipelined plaintext */
	str_reset(&s->helo);
	s->esmtp = false;
	smtpd_sasl_reset(s);
	if (smtpd_tls_start(s, -1) < 0)
		return -1;
	return 0;
}

static int
smtpd_cmd_auth(struct smtpd_session *s, const char *args)
{
	return smtpd_sasl_cmd_auth(s, args);
}

static void smtpd_log_reject(struct smtpd_session *, const char *verb, const char *reply,
    const char *rcpt);

/* smtpd_queue_space_ok - Postfix's check at MAIL FROM: the queue file
 * system keeps queue_minfree and has room for 1.5 times the size limit,
 * and for the SIZE the client announced (size < 0: none); else 452, so
 * that a client tries later instead of sending a message that cannot be
 * stored */
static bool
smtpd_queue_space_ok(struct smtpd_session *s, long size)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	struct statvfs vfs;
	unsigned long long avail;

	if (statvfs(cfg->queue_dir, &vfs) != 0)
		return true;	/* no answer is no reason to refuse mail */
	avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	if (avail <= (unsigned long long)cfg->queue_minfree ||
	    (size >= 0 && (unsigned long long)size >= avail - (unsigned long long)cfg->queue_minfree) ||
	    (size >= 0 && (unsigned long long)size >= avail / 3 * 2)) {
		log_warn("not enough free space in mail queue: %llu bytes < %s", avail,
		    size >= 0 ? "1.5*message size" : "queue_minfree");
		return false;
	}
	if (cfg->message_size_limit > 0 &&
	    (unsigned long long)cfg->message_size_limit >= avail / 3 * 2) {
		log_warn("not enough free space in mail queue: %llu bytes < 1.5*message size limit",
		    avail);
		return false;
	}
	return true;
}

static int
smtpd_cmd_mail(struct smtpd_session *s, const char *args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	const char *params, *key, *val;
	size_t klen, vlen;
	bool utf8 = false;
	char *end;
	long size, announced = -1;
	int rc;

	if (cfg->helo_required && s->helo.len == 0) {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return -1;
	}
	if (s->tx.bdat) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL after BDAT");
		return -1;
	}
	if (s->tx.active) {
		smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
		return -1;
	}
	rc = smtpd_cmd_path(args, "FROM:", cfg->strict_rfc821 ? ADDRESS_FLAG_NEED_BRACKETS : 0,
	    &s->tx.sender, &params);
	if (rc == -1) {
		smtpd_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return -1;
	}
	if (rc < 0) {
		smtpd_reply(s, "501 5.1.7 Bad sender address syntax");
		return -1;
	}
	s->tx.body[0] = '\0';
	while (smtpd_cmd_param(&params, &key, &klen, &val, &vlen)) {
		if (smtpd_key_is(key, klen, "SIZE")) {
			errno = 0;
			size = val != NULL && vlen > 0 && isdigit((unsigned char)*val) ?
			    strtol(val, &end, 10) : -1;
			if (size < 0 || errno != 0 || end != val + vlen) {
				smtpd_reply(s, "501 5.5.4 Bad message size syntax");
				return -1;
			}
			if (cfg->message_size_limit > 0 && size > cfg->message_size_limit) {
				smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
				return -1;
			}
			announced = size;
		} else if (smtpd_key_is(key, klen, "BODY") && (smtpd_val_is(val, vlen, "8BITMIME") ||
		    smtpd_val_is(val, vlen, "7BIT"))) {
			memcpy(s->tx.body, val, vlen);
			s->tx.body[vlen] = '\0';
		} else if (smtpd_key_is(key, klen, "SMTPUTF8") && val == NULL && cfg->smtputf8) {
			utf8 = true;
		} else if (smtpd_key_is(key, klen, "RET")) {
			if (!smtpd_val_is(val, vlen, "FULL") && !smtpd_val_is(val, vlen, "HDRS")) {
				smtpd_reply(s, "501 5.5.4 Bad RET parameter syntax");
				return -1;
			}
			memcpy(s->tx.dsn_ret, val, vlen);
			s->tx.dsn_ret[vlen] = '\0';
		} else if (smtpd_key_is(key, klen, "ENVID")) {
			if (val == NULL || vlen > 100 || !smtpd_xtext_is_valid(val, vlen)) {
				smtpd_reply(s, "501 5.5.4 Bad ENVID parameter syntax");
				return -1;
			}
			memcpy(s->tx.dsn_envid, val, vlen);
			s->tx.dsn_envid[vlen] = '\0';
		} else if (smtpd_key_is(key, klen, "AUTH") && val != NULL) {
			/* RFC 4954: ignored from a client that did not authenticate */
		} else {
			smtpd_reply(s, "555 5.5.4 Unsupported option: %.*s",
			    (int)((val != NULL ? (size_t)(val - key) + vlen : klen) > 100 ? 100 :
			    (val != NULL ? (size_t)(val - key) + vlen : klen)), key);
			return -1;
		}
	}
	if (address_is_utf8(s->tx.sender.s) && !utf8) {
		smtpd_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
		return -1;
	}
	if (!smtpd_queue_space_ok(s, announced)) {
		smtpd_log_reject(s, "MAIL", "452 4.3.1 Insufficient system storage", NULL);
		smtpd_reply(s, "452 4.3.1 Insufficient system storage");
		return -1;
	}
	s->tx.smtputf8 = utf8;
	s->tx.active = true;
	smtpd_reply(s, "250 2.1.0 Ok");
	return 0;
}

/* smtpd_log_reject - Postfix's "NOQUEUE: reject: RCPT from ..." line */
static void
smtpd_log_reject(struct smtpd_session *s, const char *verb, const char *reply, const char *rcpt)
{
	struct str line;

	str_init(&line, 256);
	str_appendf(&line, "%s: reject: %s from %s: ", s->tx.id[0] ? s->tx.id : "NOQUEUE", verb,
	    s->namaddr);
	log_printable(&line, reply, 512);
	str_append(&line, "; from=<");
	log_printable(&line, s->tx.sender.s, 512);
	str_append(&line, ">");
	if (rcpt != NULL) {
		str_append(&line, " to=<");
		log_printable(&line, rcpt, 512);
		str_append(&line, ">");
	}
	str_appendf(&line, " proto=%s", s->esmtp ? "ESMTP" : "SMTP");
	if (s->helo.len > 0) {
		str_append(&line, " helo=<");
		log_printable(&line, s->helo.s, 256);
		str_append(&line, ">");
	}
	log_info("%s", line.s);
	str_deinit(&line);
}

static int smtpd_cmd_rcpt(struct smtpd_session *, const char *);

/* smtpd_rcpt_dns_cb - the answer a RCPT's restrictions waited for: store
 * it and evaluate the command again (it may need another) */
static void
smtpd_rcpt_dns_cb(const struct dns_result *res, void *ctx)
{
	struct smtpd_session *s = ctx;
	const char *name;
	enum dns_type type;
	int rc;

	s->dns_q = NULL;
	if (smtpd_dns_answers_wanted(s->dns_answers, &name, &type))
		smtpd_dns_answers_put(s->dns_answers, name, type, res);
	smtpd_set_mode(s, SMTPD_MODE_CMD);
	rc = smtpd_cmd_rcpt(s, s->dns_args);
	if (rc > 0)
		return;		/* waiting again */
	XFREE(s->dns_args);
	smtpd_cmd_done(s, SMTPD_CMD_SLOT_RCPT, rc);
	smtpd_resume(s);
}

/* smtpd_rcpt_dns_start - start the lookup the restrictions want; false
 * when none can be started (no resolver, or the bound reached): the
 * answer is then a temporary failure, stored for the next evaluation */
static bool
smtpd_rcpt_dns_start(struct smtpd_session *s, const char *args)
{
	const char *name;
	enum dns_type type;

	if (!smtpd_dns_answers_wanted(s->dns_answers, &name, &type))
		return false;
	if (s->srv->dns == NULL || smtpd_dns_answers_count(s->dns_answers) >= SMTPD_DNS_ANSWERS_MAX) {
		struct dns_result fail;

		memset(&fail, 0, sizeof(fail));
		fail.status = DNS_TEMPFAIL;
		fail.type = type;
		snprintf(fail.error, sizeof(fail.error), "no lookup possible");
		smtpd_dns_answers_put(s->dns_answers, name, type, &fail);
		return false;
	}
	if (args != s->dns_args) {
		free(s->dns_args);
		s->dns_args = xstrdup(args);
	}
	smtpd_set_mode(s, SMTPD_MODE_DNS_WAIT);
	s->dns_q = dns_lookup(s->srv->dns, name, type, smtpd_rcpt_dns_cb, s);
	return true;
}

static int
smtpd_cmd_rcpt(struct smtpd_session *s, const char *args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	struct smtpd_check_ctx ctx;
	const char *params, *key, *val;
	struct str rcpt, reply;
	size_t klen, vlen;
	int rc, notify = 0;
	const char *orcpt = NULL;
	char *orcpt_copy = NULL;

	if (s->tx.bdat) {
		smtpd_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return -1;
	}
	if (!s->tx.active) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return -1;
	}
	str_init(&rcpt, 64);
	str_init(&reply, 128);
	rc = smtpd_cmd_path(args, "TO:", ADDRESS_FLAG_REJECT_NULL |
	    (cfg->strict_rfc821 ? ADDRESS_FLAG_NEED_BRACKETS : 0), &rcpt, &params);
	if (rc == -1) {
		smtpd_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		goto fail;
	}
	if (rc < 0) {
		smtpd_reply(s, "501 5.1.3 Bad recipient address syntax");
		goto fail;
	}
	while (smtpd_cmd_param(&params, &key, &klen, &val, &vlen)) {
		if (smtpd_key_is(key, klen, "NOTIFY") && val != NULL && vlen > 0) {
			char buf[64];
			char *tok, *save = NULL;

			if (vlen >= sizeof(buf)) {
				smtpd_reply(s, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
				goto fail;
			}
			memcpy(buf, val, vlen);
			buf[vlen] = '\0';
			for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
				if (strcasecmp(tok, "NEVER") == 0)
					notify |= QFILE_NOTIFY_NEVER;
				else if (strcasecmp(tok, "SUCCESS") == 0)
					notify |= QFILE_NOTIFY_SUCCESS;
				else if (strcasecmp(tok, "FAILURE") == 0)
					notify |= QFILE_NOTIFY_FAILURE;
				else if (strcasecmp(tok, "DELAY") == 0)
					notify |= QFILE_NOTIFY_DELAY;
				else
					notify = -1;
				if (notify < 0)
					break;
			}
			if (notify <= 0 || ((notify & QFILE_NOTIFY_NEVER) && notify != QFILE_NOTIFY_NEVER)) {
				smtpd_reply(s, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
				goto fail;
			}
		} else if (smtpd_key_is(key, klen, "ORCPT") && val != NULL) {
			const char *semi = memchr(val, ';', vlen);
			if (semi == NULL || semi == val || vlen > 500 ||
			    !smtpd_xtext_is_valid(semi + 1, vlen - (size_t)(semi + 1 - val))) {
				smtpd_reply(s, "501 5.5.4 Error: Bad ORCPT parameter syntax");
				goto fail;
			}
			free(orcpt_copy);
			orcpt = orcpt_copy = xstrndup(val, vlen);
		} else {
			size_t n = val != NULL ? (size_t)(val - key) + vlen : klen;
			smtpd_reply(s, "555 5.5.4 Unsupported option: %.*s", (int)(n > 100 ? 100 : n), key);
			goto fail;
		}
	}
	if (address_is_utf8(rcpt.s) && !s->tx.smtputf8) {
		smtpd_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
		goto fail;
	}
	if (cfg->rcpt_limit > 0 && s->tx.nrcpt >= (size_t)cfg->rcpt_limit) {
		smtpd_reply(s, "452 4.5.3 Error: too many recipients");
		goto fail;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.addr = s->addr;
	ctx.name = s->name;
	ctx.namaddr = s->namaddr;
	ctx.helo = s->helo.len > 0 ? s->helo.s : NULL;
	ctx.sender = s->tx.sender.s;
	ctx.rcpt = rcpt.s;
	ctx.sasl_authenticated = s->sasl_user != NULL;
	/* a new RCPT starts with no answers (the resolver caches them by
	 * TTL); one evaluated again after a lookup keeps what it gathered */
	if (s->dns_args == NULL)
		smtpd_dns_answers_free(&s->dns_answers);
	if (s->dns_answers == NULL)
		s->dns_answers = smtpd_dns_answers_new();
	ctx.dns = s->dns_answers;
	while ((rc = smtpd_check_rcpt(cfg->checks, &ctx, &reply)) == SMTPD_CHECK_PENDING) {
		if (smtpd_rcpt_dns_start(s, args)) {
			/* answered from smtpd_rcpt_dns_cb */
			free(orcpt_copy);
			str_deinit(&rcpt);
			str_deinit(&reply);
			return 1;
		}
	}
	if (rc != 0) {
		smtpd_reply(s, "%s", reply.s);
		smtpd_log_reject(s, "RCPT", reply.s, rcpt.s);
		goto fail;
	}
	if (s->tx.qf == NULL && smtpd_msg_open(s) < 0) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		goto fail;
	}
	if (smtpd_msg_rcpt(s, rcpt.s, orcpt, notify) < 0)
		goto fail;
	if (s->tx.nrcpt++ == 0)
		str_append(&s->tx.first_rcpt, rcpt.s);
	smtpd_reply(s, "250 2.1.5 Ok");
	free(orcpt_copy);
	str_deinit(&rcpt);
	str_deinit(&reply);
	return 0;
fail:
	free(orcpt_copy);
	str_deinit(&rcpt);
	str_deinit(&reply);
	return -1;
}

static int
smtpd_cmd_data(struct smtpd_session *s, const char *args)
{
	if (*args != '\0') {
		smtpd_reply(s, "501 5.5.4 Syntax: DATA");
		return -1;
	}
	if (s->tx.bdat) {
		smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return -1;
	}
	if (s->tx.nrcpt == 0) {
		if (!s->tx.active)
			smtpd_reply(s, "503 5.5.1 Error: need RCPT command");
		else
			smtpd_reply(s, "554 5.5.1 Error: no valid recipients");
		return -1;
	}
	smtpd_data_deinit(&s->tx.data);
	smtpd_data_init(&s->tx.data, false, (size_t)s->srv->cfg.message_size_limit);
	if (smtpd_msg_begin(s) < 0) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_tx_reset(s);
		return -1;
	}
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtpd_set_mode(s, SMTPD_MODE_DATA);
	return 0;
}

static int
smtpd_cmd_bdat(struct smtpd_session *s, const char *args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	unsigned long long size;
	const char *p = args;
	bool last = false;
	char *end;

	errno = 0;
	size = isdigit((unsigned char)*p) ? strtoull(p, &end, 10) : 0;
	if (!isdigit((unsigned char)*p) || errno != 0 || (*end != '\0' && !smtpd_is_space(*end))) {
		smtpd_reply(s, "521 5.5.4 Syntax: BDAT count [LAST]");
		smtpd_close(s, NULL);
		return -1;
	}
	p = end;
	while (smtpd_is_space(*p))
		p++;
	if (strncasecmp(p, "LAST", 4) == 0) {
		last = true;
		p += 4;
		while (smtpd_is_space(*p))
			p++;
	}
	if (*p != '\0' || size > (unsigned long long)SIZE_MAX / 2) {
		smtpd_reply(s, "521 5.5.4 Syntax: BDAT count [LAST]");
		smtpd_close(s, NULL);
		return -1;
	}
	s->tx.bdat_left = (size_t)size;
	s->tx.bdat_size = (size_t)size;
	s->tx.bdat_total += (size_t)size;
	s->tx.bdat_last = last;
	s->tx.bdat_reply[0] = '\0';
	if (size == 0 && !last) {
		log_info("%s: null BDAT request from %s", s->tx.id[0] ? s->tx.id : "NOQUEUE", s->namaddr);
		smtpd_reply(s, "551 5.7.1 Null BDAT request");
		return -1;
	}
	if (!s->tx.active) {
		snprintf(s->tx.bdat_reply, sizeof(s->tx.bdat_reply), "503 5.5.1 Error: need MAIL command");
	} else if (s->tx.nrcpt == 0) {
		snprintf(s->tx.bdat_reply, sizeof(s->tx.bdat_reply), "554 5.5.1 Error: no valid recipients");
	} else if (s->tx.bdat_failed) {
		snprintf(s->tx.bdat_reply, sizeof(s->tx.bdat_reply),
		    "551 5.0.0 Discarded %zu bytes after earlier error", (size_t)size);
	} else {
		if (!s->tx.bdat) {
			smtpd_data_deinit(&s->tx.data);
			smtpd_data_init(&s->tx.data, true, (size_t)cfg->message_size_limit);
			s->tx.bdat = true;
			if (smtpd_msg_begin(s) < 0) {
				s->tx.bdat_failed = true;
				snprintf(s->tx.bdat_reply, sizeof(s->tx.bdat_reply),
				    "451 4.3.0 Error: queue file write error");
			}
		}
		if (s->tx.bdat_reply[0] == '\0' && cfg->message_size_limit > 0 &&
		    s->tx.data.size + (size_t)size > (size_t)cfg->message_size_limit) {
			log_info("%s: BDAT request from %s exceeds message size limit",
			    s->tx.id, s->namaddr);
			s->tx.bdat_failed = true;
			snprintf(s->tx.bdat_reply, sizeof(s->tx.bdat_reply),
			    "552 5.3.4 Chunk exceeds message size limit");
		}
	}
	if (s->tx.active)
		s->tx.bdat = true;
	smtpd_set_mode(s, SMTPD_MODE_BDAT);
	return 0;	/* counted when the chunk ends (smtpd_msg_bdat_done) */
}

static int
smtpd_cmd_rset(struct smtpd_session *s, const char *args)
{
	if (*args != '\0') {
		smtpd_reply(s, "501 5.5.4 Syntax: RSET");
		return -1;
	}
	smtpd_tx_reset(s);
	smtpd_reply(s, "250 2.0.0 Ok");
	return 0;
}

static int
smtpd_cmd_noop(struct smtpd_session *s, const char *args)
{
	smtpd_reply(s, "250 2.0.0 Ok");
	return 0;
}

static int
smtpd_cmd_vrfy(struct smtpd_session *s, const char *args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	struct str addr;
	const char *err;
	size_t used;

	if (cfg->disable_vrfy) {
		smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
		return -1;
	}
	if (*args == '\0') {
		smtpd_reply(s, "501 5.5.4 Syntax: VRFY address%s", cfg->smtputf8 ? " [SMTPUTF8]" : "");
		return -1;
	}
	str_init(&addr, 64);
	if (address_parse_path(args, strlen(args), ADDRESS_FLAG_REJECT_NULL, &addr, &used, &err) < 0 ||
	    (args[used] != '\0' && !smtpd_is_space(args[used]))) {
		str_deinit(&addr);
		smtpd_reply(s, "501 5.1.3 Bad recipient address syntax");
		return -1;
	}
	smtpd_reply(s, "252 2.0.0 %s", addr.s);
	str_deinit(&addr);
	return 0;
}

static int
smtpd_cmd_quit(struct smtpd_session *s, const char *args)
{
	smtpd_reply(s, "221 2.0.0 Bye");
	smtpd_close(s, NULL);
	return 0;
}

/* smtpd_cmd_forbidden - a command that shows the peer is no SMTP client
 * (an HTTP proxy request): Postfix ends the session at once */
static bool
smtpd_cmd_forbidden(const struct smtpd_config *cfg, const char *verb, size_t len)
{
	size_t i;

	for (i = 0; i < cfg->forbidden.n; i++) {
		const char *f = cfg->forbidden.v[i];
		if (strlen(f) == len && strncasecmp(f, verb, len) == 0)
			return true;
	}
	return false;
}

void
smtpd_dispatch(struct smtpd_session *s, const char *line, size_t len)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	const struct smtpd_cmd *cmd;
	const char *args;
	size_t vlen, slot;
	struct str text;
	int rc;

	if (memchr(line, '\0', len) != NULL || !smtpd_cmd_split(line, len, &vlen, &args)) {
		smtpd_reply(s, "500 5.5.2 Error: bad syntax");
		s->error_count++;
		goto out;
	}
	if (cfg->smtputf8 && !address_utf8_is_valid(line, len)) {
		smtpd_reply(s, "500 5.5.2 Error: bad UTF-8 syntax");
		s->error_count++;
		goto out;
	}
	if (smtpd_cmd_forbidden(cfg, line, vlen)) {
		str_init(&text, 128);
		log_printable(&text, line, 100);
		log_warn("non-SMTP command from %s: %s", s->namaddr, text.s);
		str_deinit(&text);
		smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
		smtpd_close(s, NULL);
		return;
	}
	cmd = smtpd_cmd_find(line, vlen, &slot);
	s->cmd_total[slot]++;
	if (cmd == NULL) {
		s->where = "UNKNOWN";
		smtpd_reply(s, "500 5.5.2 Error: command not recognized");
		s->error_count++;
		goto out;
	}
	s->where = cmd->name;
	if (cfg->tls_level == SMTPD_TLS_ENCRYPT && !s->tls && !(cmd->flags & SMTPD_CMD_FLAG_PRE_TLS)) {
		smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		s->error_count++;
		goto out;
	}
	if ((cmd->flags & SMTPD_CMD_FLAG_LIMIT) && s->junk_count++ > cfg->junk_limit)
		s->error_count++;
	rc = cmd->fn(s, args);
	/* DATA counts when the message is queued, BDAT when its chunk is
	 * done, AUTH (rc 1) when the service answers */
	if (rc > 0 || (rc == 0 && (slot == SMTPD_CMD_SLOT_DATA || slot == SMTPD_CMD_SLOT_BDAT)))
		return;
	smtpd_cmd_done(s, slot, rc);
	return;
out:
	smtpd_cmd_done(s, SMTPD_NCMD, 0);
}

void
smtpd_cmd_done(struct smtpd_session *s, size_t slot, int rc)
{
	const struct smtpd_config *cfg = &s->srv->cfg;

	if (slot < SMTPD_NCMD) {
		if (rc == 0)
			s->cmd_ok[slot]++;
		else
			s->error_count++;
	}
	if (s->mode != SMTPD_MODE_CLOSING && s->error_count >= cfg->hard_error_limit) {
		log_info("too many errors after %s from %s", s->where ? s->where : "CONNECT",
		    s->namaddr);
		smtpd_reply(s, "421 4.7.0 %s Error: too many errors", cfg->myhostname);
		smtpd_close(s, NULL);
	}
}

void
smtpd_cmd_stats(const struct smtpd_session *s, struct str *out)
{
	unsigned ok = 0, total = 0;
	size_t i;

	for (i = 0; i < SMTPD_NCMD; i++) {
		if (s->cmd_total[i] == 0)
			continue;
		str_appendf(out, " %s=%u", i == SMTPD_CMD_UNKNOWN ? "unknown" : smtpd_cmds[i].name,
		    s->cmd_ok[i]);
		if (s->cmd_ok[i] != s->cmd_total[i])
			str_appendf(out, "/%u", s->cmd_total[i]);
		ok += s->cmd_ok[i];
		total += s->cmd_total[i];
	}
	str_appendf(out, " commands=%u", ok);
	if (ok != total)
		str_appendf(out, "/%u", total);
}
