/* sieve_tests.c - the extensions' tests: body (RFC 5173), date and
 * currentdate (RFC 5260), environment (RFC 5183), spamtest/virustest
 * (RFC 5235), duplicate (RFC 7352), the mime options of header, address and
 * exists (RFC 5703), mailboxexists, specialuse_exists, ihave,
 * valid_notify_method, notify_method_capability; the testsuite's tests go
 * to the tool through env->testsuite. Tests: the .svtest files in
 * tests/sieve/, tests/e2e/test_sieve.py. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mem.h"
#include "lib/util.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve_run.h"

static char *
tag_str(struct sv_run *r, const struct sv_node *n, const char *tag)
{
	struct sv_arg *a;
	struct str b;

	if (sv_node_tag(n, tag, &a) == NULL || a == NULL)
		return NULL;
	str_init(&b, 64);
	sv_expand(r, &a->v[0], &b);
	return str_export(&b);
}

/* MIME (RFC 5703) */
static bool
part_in_scope(struct sv_run *r, const struct sv_node *n, size_t p)
{
	size_t q;

	if (!sv_has_tag(n, ":anychild"))
		return p == r->part;
	/* the current part and every part below it */
	for (q = p; ; ) {
		if (q == r->part)
			return true;
		if (r->msg->parts[q].parent < 0)
			return false;
		q = (size_t)r->msg->parts[q].parent;
	}
}

void
sv_mime_header_values(struct sv_run *r, const struct sv_node *n, const char *name, bool raw,
    struct strvec *out)
{
	size_t p;

	for (p = 0; p < r->msg->nparts; p++)
		if (part_in_scope(r, n, p))
			sv_header_values(r, p, name, !raw, out);
}

void
sv_mime_ct_values(struct sv_run *r, const struct sv_node *n, const struct strvec *in,
    struct strvec *out)
{
	size_t i;
	struct sv_arg *pa;

	for (i = 0; i < in->n; i++) {
		const char *v = in->v[i];
		size_t tl = strcspn(v, ";");
		char *ct = xstrndup(v, tl), *sl, *e;

		for (e = ct + strlen(ct); e > ct && isspace((unsigned char)e[-1]); e--)
			e[-1] = 0;
		while (*ct == ' ' || *ct == '\t')
			memmove(ct, ct + 1, strlen(ct));
		sl = strchr(ct, '/');
		if (sv_has_tag(n, ":type"))
			strvec_push_take(out, xstrndup(ct, sl != NULL ? (size_t)(sl - ct) : strlen(ct)));
		else if (sv_has_tag(n, ":subtype")) {
			if (sl != NULL)
				strvec_push(out, sl + 1);
		} else if (sv_has_tag(n, ":contenttype"))
			strvec_push(out, ct);
		else if (sv_node_tag(n, ":param", &pa) != NULL) {
			size_t j;

			for (j = 0; j < pa->n; j++) {
				const char *p = strchr(v, ';');
				size_t nl = pa->v[j].len;

				while (p != NULL) {
					p++;
					while (*p == ' ' || *p == '\t')
						p++;
					if (strncasecmp(p, pa->v[j].s, nl) == 0 && p[nl] == '=') {
						const char *q = p + nl + 1;
						size_t ql;

						if (*q == '"') {
							q++;
							ql = strcspn(q, "\"");
						} else
							ql = strcspn(q, "; \t");
						strvec_push_take(out, xstrndup(q, ql));
					}
					p = strchr(p, ';');
				}
			}
		}
		free(ct);
	}
}

/* body (RFC 5173) */
static int
test_body(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals;
	struct sv_arg *ca = NULL;
	size_t p;
	int rc;

	strvec_init(&vals);
	if (sv_has_tag(n, ":raw")) {
		const struct sv_part *top = &r->msg->parts[0];

		strvec_push_take(&vals, xstrndup(top->body, top->body_len));
	} else {
		bool content = sv_node_tag(n, ":content", &ca) != NULL;

		for (p = 0; p < r->msg->nparts; p++) {
			const struct sv_part *pt = &r->msg->parts[p];
			bool want = false;
			size_t j;

			if (pt->is_message && !content)
				continue;
			if (!content)
				want = !pt->multipart && strncmp(pt->ctype, "text/", 5) == 0;
			else
				for (j = 0; j < ca->n && !want; j++) {
					const char *t = ca->v[j].s;
					size_t tl = strlen(t);

					if (tl == 0)
						want = true;
					else if (strchr(t, '/') != NULL)
						want = strcasecmp(pt->ctype, t) == 0;
					else
						want = strncasecmp(pt->ctype, t, tl) == 0 &&
						    pt->ctype[tl] == '/';
				}
			if (!want)
				continue;
			if (pt->multipart) {
				/* RFC 5173 5.2: for a multipart, its prologue and epilogue */
				if (content && pt->prologue_len + pt->epilogue_len > 0) {
					struct str b;

					str_init(&b, pt->prologue_len + pt->epilogue_len + 1);
					str_append_n(&b, pt->body, pt->prologue_len);
					str_append_n(&b, pt->epilogue, pt->epilogue_len);
					strvec_push_take(&vals, str_export(&b));
				}
				continue;
			}
			{
				struct str b;

				str_init(&b, pt->body_len + 1);
				sv_part_decoded_body(r->msg, p, &b);
				/* :text reads HTML as the text it shows (RFC 5173 5.1
				 * leaves it open; Pigeonhole does this) */
				if (!content && strcmp(pt->ctype, "text/html") == 0)
					sv_html_to_text(&b);
				strvec_push_take(&vals, str_export(&b));
			}
		}
	}
	rc = sv_match_values(r, n, &vals, n->pos[0]);
	strvec_deinit(&vals);
	return rc;
}

/* date (RFC 5260) */
static void
date_part(const char *part, time_t t, int zone, struct strvec *out)
{
	struct tm tm;
	char buf[64];
	time_t lt = t + (time_t)zone * 60;
	int az = zone < 0 ? -zone : zone;

	gmtime_r(&lt, &tm);
	buf[0] = 0;
	if (strcasecmp(part, "year") == 0)
		snprintf(buf, sizeof(buf), "%04d", tm.tm_year + 1900);
	else if (strcasecmp(part, "month") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_mon + 1);
	else if (strcasecmp(part, "day") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_mday);
	else if (strcasecmp(part, "date") == 0)
		strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
	else if (strcasecmp(part, "julian") == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)(lt / 86400 + 40587));
	else if (strcasecmp(part, "hour") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_hour);
	else if (strcasecmp(part, "minute") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_min);
	else if (strcasecmp(part, "second") == 0)
		snprintf(buf, sizeof(buf), "%02d", tm.tm_sec);
	else if (strcasecmp(part, "time") == 0)
		strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	else if (strcasecmp(part, "iso8601") == 0) {
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		if (zone == 0)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "Z");
		else
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%c%02d:%02d",
			    zone < 0 ? '-' : '+', az / 60, az % 60);
	} else if (strcasecmp(part, "std11") == 0) {
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S", &tm);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %c%02d%02d",
		    zone < 0 ? '-' : '+', az / 60, az % 60);
	} else if (strcasecmp(part, "zone") == 0)
		snprintf(buf, sizeof(buf), "%c%02d%02d", zone < 0 ? '-' : '+', az / 60, az % 60);
	else if (strcasecmp(part, "weekday") == 0)
		snprintf(buf, sizeof(buf), "%d", tm.tm_wday);
	else
		return;
	strvec_push(out, buf);
}

static bool
zone_parse(const char *z, int *zone_r)
{
	int v;

	if ((z[0] != '+' && z[0] != '-') || strlen(z) != 5 || strspn(z + 1, "0123456789") != 4)
		return false;
	v = atoi(z + 1);
	if (v % 100 > 59)
		return false;
	*zone_r = (v / 100 * 60 + v % 100) * (z[0] == '-' ? -1 : 1);
	return true;
}

static int
local_zone(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return (int)(tm.tm_gmtoff / 60);
}

static int
test_date(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals, raw;
	struct str hname, part;
	char *zs = tag_str(r, n, ":zone");
	size_t i;
	int rc, zone = 0;
	bool current = n->id == SV_T_CURRENTDATE;
	const struct sv_arg *parta = current ? n->pos[0] : n->pos[1];
	const struct sv_arg *keys = current ? n->pos[1] : n->pos[2];

	strvec_init(&vals);
	strvec_init(&raw);
	str_init(&hname, 32);
	str_init(&part, 16);
	sv_expand(r, &parta->v[0], &part);
	if (zs != NULL && !zone_parse(zs, &zone)) {
		/* an invalid zone: RFC 5260 says to use the original (or local) */
		free(zs);
		zs = NULL;
	}
	if (current) {
		if (zs == NULL)
			zone = local_zone(r->now);
		date_part(part.s, r->now, zone, &vals);
	} else {
		sv_expand(r, &n->pos[0]->v[0], &hname);
		sv_header_values(r, 0, hname.s, false, &raw);
		if (sv_has_tag(n, ":index"))
			sv_apply_index(r, n, &raw);
		else
			while (raw.n > 1) {
				/* the first occurrence only, as Pigeonhole's date test */
				free(raw.v[--raw.n]);
				raw.v[raw.n] = NULL;
			}
		for (i = 0; i < raw.n; i++) {
			const char *v = raw.v[i];
			time_t t;
			int oz, z;

			/* Received: the date follows the last ';' */
			if (strcasecmp(hname.s, "received") == 0 && strrchr(v, ';') != NULL)
				v = strrchr(v, ';') + 1;
			if (!sv_parse_date(v, &t, &oz))
				continue;
			z = zs != NULL ? zone : sv_has_tag(n, ":originalzone") ? oz : local_zone(t);
			date_part(part.s, t, z, &vals);
		}
	}
	rc = sv_match_values(r, n, &vals, keys);
	strvec_deinit(&vals);
	strvec_deinit(&raw);
	str_deinit(&hname);
	str_deinit(&part);
	free(zs);
	return rc;
}

/* name_is - does the item name (len bytes) equal want? In the env.
 * variables namespace "-" is written "_" (vnd.dovecot.environment 4) */
static bool
name_is(const char *name, size_t len, const char *want, bool var)
{
	size_t i;

	if (strlen(want) != len)
		return false;
	for (i = 0; i < len; i++) {
		char a = (char)tolower((unsigned char)name[i]), b = want[i];

		if (a != b && !(var && a == '_' && b == '-'))
			return false;
	}
	return true;
}

/* sv_env_item - an environment item's value (RFC 5183 4; the
 * vnd.dovecot.* ones when the script requires vnd.dovecot.environment),
 * or NULL when the item does not exist. remote-host and remote-ip are
 * not among them: the message comes from the MTA over LMTP or a pipe,
 * which does not pass the SMTP client on (no XCLIENT), as in Pigeonhole.
 * var: the name is written as an env. variable. */
const char *
sv_env_item(struct sv_run *r, const char *name, size_t len, bool var)
{
	bool vnd = (r->sc->exts.bits & (UINT64_C(1) << SV_EXT_VND_ENVIRONMENT)) != 0 ||
	    (r->main->exts.bits & (UINT64_C(1) << SV_EXT_VND_ENVIRONMENT)) != 0;

	if (name_is(name, len, "domain", var)) {
		const char *h = r->env->hostname;

		return h != NULL && strchr(h, '.') != NULL ? strchr(h, '.') + 1 : h;
	}
	if (name_is(name, len, "host", var))
		return r->env->hostname;
	if (name_is(name, len, "location", var))
		return r->env->location != NULL ? r->env->location : "MS";
	if (name_is(name, len, "phase", var))
		return r->env->phase != NULL ? r->env->phase : "during";
	if (name_is(name, len, "name", var))
		return "yubin Sieve";
	if (name_is(name, len, "version", var))
		return YUBIN_VERSION;
	if (!vnd)
		return NULL;
	if (name_is(name, len, "vnd.dovecot.default-mailbox", var))
		return r->env->default_mailbox != NULL ? r->env->default_mailbox : "INBOX";
	if (name_is(name, len, "vnd.dovecot.username", var))
		return r->env->user;
	if (len > 19 && strncasecmp(name, "vnd.dovecot.config.", 19) == 0 &&
	    r->env->env_config != NULL) {
		/* the setting sieve_env_NAME; its name as written (settings are
		 * case-sensitive in Dovecot) */
		const char *k = name + 19;
		size_t kl = len - 19;

		for (char *const *c = r->env->env_config; *c != NULL; c++)
			if (strncmp(*c, k, kl) == 0 && (*c)[kl] == '=')
				return *c + kl + 1;
	}
	return NULL;
}

static int
test_environment(struct sv_run *r, const struct sv_node *n)
{
	struct strvec vals;
	struct str name;
	const char *v;
	int rc;

	strvec_init(&vals);
	str_init(&name, 32);
	sv_expand(r, &n->pos[0]->v[0], &name);
	v = sv_env_item(r, name.s, name.len, false);
	if (v != NULL)
		strvec_push(&vals, v);
	rc = vals.n > 0 ? sv_match_values(r, n, &vals, n->pos[1]) : 0;
	strvec_deinit(&vals);
	str_deinit(&name);
	return rc;
}

/* header_score_value - the first field name's value (regex group 1 if a
 * pattern is given), or NULL; caller frees */
static char *
header_score_value(struct sv_run *r, const char *name, const char *pattern)
{
	struct strvec raw;
	char *v = NULL;

	strvec_init(&raw);
	sv_header_values(r, 0, name, false, &raw);
	if (raw.n > 0) {
		if (pattern == NULL)
			v = xstrdup(raw.v[0]);
		else {
			regex_t re;
			regmatch_t m[2];
			const char *err;

			if (sv_regex_compile(&re, pattern, SV_CMP_OCTET, &err) == 0) {
				if (regexec(&re, raw.v[0], 2, m, 0) == 0) {
					int g = m[1].rm_so >= 0 ? 1 : 0;

					v = xstrndup(raw.v[0] + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
				}
				regfree(&re);
			}
		}
	}
	strvec_deinit(&raw);
	return v;
}

/* score_number - a scanner's decimal number, the whole string: an optional
 * sign, digits, an optional fraction (Pigeonhole reads "5.5 ", "1e1" or
 * "0x5" as no number, so the test says "not tested") */
static bool
score_number(const char *v, double *out)
{
	const char *p = v;
	size_t digits = 0;

	if (*p == '+' || *p == '-')
		p++;
	for (; isdigit((unsigned char)*p); p++)
		digits++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	if (*p != 0 || digits > 30)
		return false;
	*out = digits > 0 ? strtod(v, NULL) : 0;
	return true;
}

/* score_max - the maximum score: sieve_*_max_value, or read from the
 * message by sieve_*_max_header; <= 0 when there is none (the test then
 * says "not tested"). Pigeonhole refuses the two together. */
static double
score_max(struct sv_run *r, const struct sieve_scorecfg *sc, unsigned line, const char *test)
{
	char *v;
	double mx = 0;

	if (sc->max_header == NULL)
		return sc->max;
	if (sc->max > 0) {
		sv_run_warning(r, line, "%s: sieve_%s_max_header and sieve_%s_max_value cannot "
		    "both be configured", test, test, test);
		return 0;
	}
	v = header_score_value(r, sc->max_header, sc->max_regex);
	if (v == NULL || !score_number(v, &mx))
		mx = 0;
	free(v);
	return mx;
}

/* spamtest / virustest (RFC 5235): the configured header as a score */
static int
test_spamtest(struct sv_run *r, const struct sv_node *n)
{
	bool virus = n->id == SV_T_VIRUSTEST, percent = sv_has_tag(n, ":percent");
	const struct sieve_scorecfg *sc = virus ? r->env->virus : r->env->spam;
	struct strvec vals;
	char buf[32], *v = NULL;
	int top = virus ? 5 : 10, level = -1, rc;
	double frac = -1;

	strvec_init(&vals);
	if (sc != NULL && sc->header != NULL)
		v = header_score_value(r, sc->header, sc->regex);
	if (v != NULL) {
		if (sc->type == SIEVE_SCORE_TEXT) {
			int i;

			for (i = 1; i <= top; i++)
				if (sc->texts[i] != NULL && strcmp(sc->texts[i], v) == 0)
					level = i;
			if (level > 0)
				frac = (double)(level - 1) / (top - 1);
		} else {
			double mx = score_max(r, sc, n->line, virus ? "virustest" : "spamtest"), x;
			bool ok = sc->type == SIEVE_SCORE_STRLEN;

			x = ok ? (double)strlen(v) : 0;
			if (!ok)
				ok = score_number(v, &x);
			if (ok && mx > 0)
				frac = x <= 0 ? 0 : x >= mx ? 1 : x / mx;
		}
	}
	/* 0: not tested; 1 .. top (RFC 5235 3) or 0 .. 100 with :percent */
	if (frac < 0)
		snprintf(buf, sizeof(buf), "0");
	else if (percent)
		snprintf(buf, sizeof(buf), "%d", (int)(frac * 100 + 0.5));
	else if (level > 0)
		snprintf(buf, sizeof(buf), "%d", level);
	else
		/* truncated, as Pigeonhole maps it: 3 of 10 is 3, 7.5 of 10 is 7 */
		snprintf(buf, sizeof(buf), "%d", frac <= 0 ? 1 : 1 + (int)(frac * (top - 1) + 1e-9));
	strvec_push(&vals, buf);
	rc = sv_match_values(r, n, &vals, n->pos[0]);
	strvec_deinit(&vals);
	free(v);
	return rc;
}

static int
test_duplicate(struct sv_run *r, const struct sv_node *n)
{
	struct strvec raw;
	struct str id;
	char *u = tag_str(r, n, ":uniqueid"), *h = tag_str(r, n, ":header");
	char *hd = tag_str(r, n, ":handle");
	struct sv_arg *sa;
	uint64_t period;
	int rc = 0;

	strvec_init(&raw);
	str_init(&id, 128);
	if (u != NULL)
		str_append(&id, u);
	else {
		sv_header_values(r, 0, h != NULL ? h : "message-id", false, &raw);
		if (raw.n == 0)
			goto out;	/* no ID: never a duplicate (RFC 7352 3.1) */
		str_append(&id, raw.v[0]);
	}
	str_append_c(&id, 0);
	if (hd != NULL)
		str_append(&id, hd);
	if (r->env->duplicate_check != NULL)
		rc = r->env->duplicate_check(r->env->ctx, id.s, id.len) > 0;
	/* the period: :seconds or sieve_duplicate_default_period, both capped
	 * by sieve_duplicate_max_period (0: no cap) */
	period = sv_node_tag(n, ":seconds", &sa) != NULL ? sa->num :
	    r->sc->limits.duplicate_default_period;
	if (r->sc->limits.duplicate_max_period > 0 && period > r->sc->limits.duplicate_max_period)
		period = r->sc->limits.duplicate_max_period;
	/* marked as seen only when the result is executed (RFC 7352 3); a
	 * new ID starts its period, and with :last a duplicate starts it
	 * again (the period counts from the last time it was seen) */
	if (!rc || sv_has_tag(n, ":last"))
		sv_result_track_dup(r->res, id.s, id.len, hd, period);
out:
	strvec_deinit(&raw);
	str_deinit(&id);
	free(u);
	free(h);
	free(hd);
	return rc;
}

int
sv_ext_test(struct sv_run *r, const struct sv_node *n)
{
	size_t i;

	switch (n->id) {
	case SV_T_HASFLAG:
		return sv_test_hasflag(r, n);
	case SV_T_BODY:
		return test_body(r, n);
	case SV_T_DATE: case SV_T_CURRENTDATE:
		return test_date(r, n);
	case SV_T_ENVIRONMENT:
		return test_environment(r, n);
	case SV_T_SPAMTEST: case SV_T_VIRUSTEST:
		return test_spamtest(r, n);
	case SV_T_DUPLICATE:
		return test_duplicate(r, n);
	case SV_T_MAILBOXEXISTS: {
		struct str b;
		int ok = 1;

		str_init(&b, 32);
		for (i = 0; i < n->pos[0]->n && ok; i++) {
			sv_expand(r, &n->pos[0]->v[i], &b);
			ok = r->env->mailbox_exists != NULL &&
			    r->env->mailbox_exists(r->env->ctx, b.s) > 0;
		}
		str_deinit(&b);
		return ok;
	}
	case SV_T_SPECIALUSE_EXISTS: {
		struct str mb, f;
		int ok = 1;

		str_init(&mb, 32);
		str_init(&f, 32);
		if (n->pos[0] != NULL)
			sv_expand(r, &n->pos[0]->v[0], &mb);
		for (i = 0; i < n->pos[1]->n && ok; i++) {
			sv_expand(r, &n->pos[1]->v[i], &f);
			ok = r->env->special_use_exists != NULL &&
			    r->env->special_use_exists(r->env->ctx, n->pos[0] != NULL ? mb.s : NULL,
			    f.s) > 0;
		}
		str_deinit(&mb);
		str_deinit(&f);
		return ok;
	}
	case SV_T_IHAVE:
		for (i = 0; i < n->pos[0]->n; i++) {
			int e = sv_ext_lookup(n->pos[0]->v[i].s);

			if (e < 0 || (e < SV_EXT_COUNT &&
			    !(r->main->enabled.bits & (UINT64_C(1) << e))))
				return 0;
		}
		return 1;
	case SV_T_VALID_NOTIFY_METHOD: {
		struct str b;
		int ok = 1;

		str_init(&b, 32);
		for (i = 0; i < n->pos[0]->n && ok; i++) {
			sv_expand(r, &n->pos[0]->v[i], &b);
			ok = strncasecmp(b.s, "mailto:", 7) == 0;
		}
		str_deinit(&b);
		return ok;
	}
	case SV_T_NOTIFY_METHOD_CAPABILITY: {
		struct str uri, cap;
		struct strvec vals;
		int rc = 0;

		str_init(&uri, 32);
		str_init(&cap, 32);
		strvec_init(&vals);
		sv_expand(r, &n->pos[0]->v[0], &uri);
		sv_expand(r, &n->pos[1]->v[0], &cap);
		if (strncasecmp(uri.s, "mailto:", 7) == 0 && strcasecmp(cap.s, "online") == 0) {
			strvec_push(&vals, "maybe");
			rc = sv_match_values(r, n, &vals, n->pos[2]);
		}
		strvec_deinit(&vals);
		str_deinit(&uri);
		str_deinit(&cap);
		return rc;
	}
	default:
		if (r->env->testsuite != NULL)
			return r->env->testsuite(r->env->ctx, r, n);
		sv_run_error(r, n->line, "test '%s' is not available here", n->name);
		return 0;
	}
}

