/* sieve_result.c - the result of a run: the action list with RFC 5228's
 * implicit keep and cancellation (4.2, 2.10.2), duplicate actions merged
 * (a mailbox or an address once), the conflicts of the extensions (reject
 * and ereject against delivering actions and vacation, RFC 5429 2.1 and
 * 2.2; one vacation, RFC 5230 4), sieve_max_actions and
 * sieve_max_redirects; and the printout in Pigeonhole sieve-test's shape.
 * Tests: tests/sieve/actions.svtest, tests/e2e/test_sieve.py */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/util.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve_run.h"

char **
sv_strv_dup(char *const *v)
{
	struct strvec o;
	size_t i;

	if (v == NULL)
		return NULL;
	strvec_init(&o);
	for (i = 0; v[i] != NULL; i++)
		strvec_push(&o, v[i]);
	return o.v;
}

void
sv_strv_free(char ***vp)
{
	char **v = *vp;
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
	*vp = NULL;
}

void
sv_action_clear(struct sieve_action *a)
{
	free(a->target);
	sv_strv_free(&a->flags);
	free(a->special_use);
	free(a->subject);
	free(a->from);
	free(a->handle);
	free(a->body);
	free(a->message);
	free(a->importance);
	sv_strv_free(&a->addresses);
	free(a->reply_to);
	memset(a, 0, sizeof(*a));
}

struct sieve_result *
sieve_result_new(void)
{
	struct sieve_result *r = xcalloc(1, sizeof(*r));

	str_init(&r->edited, 0);
	return r;
}

void
sieve_result_reset(struct sieve_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		sv_action_clear(&r->acts[i]);
	r->n = 0;
	r->keep_cancelled = false;
	r->keep_explicit = false;
	sv_strv_free(&r->keep_flags);
	r->redirects = 0;
	for (i = 0; i < r->nehdr; i++) {
		free(r->ehdr[i].name);
		free(r->ehdr[i].value);
		free(r->ehdr[i].decoded);
	}
	free(r->ehdr);
	r->ehdr = NULL;
	r->nehdr = 0;
	r->ehdr_set = false;
	str_reset(&r->edited);
	r->edited_set = false;
	for (i = 0; i < r->ndups; i++) {
		free(r->dups[i].id);
		free(r->dups[i].handle);
	}
	XFREE(r->dups);
	r->ndups = 0;
	r->stopped = false;
	r->carry_flags = false;
}

void
sieve_result_free(struct sieve_result **rp)
{
	if (*rp == NULL)
		return;
	sieve_result_reset(*rp);
	free((*rp)->acts);
	str_deinit(&(*rp)->edited);
	free(*rp);
	*rp = NULL;
}

static bool
is_store(const struct sieve_action *a)
{
	return a->kind == SIEVE_ACT_KEEP || a->kind == SIEVE_ACT_FILEINTO;
}

static bool
is_reject(const struct sieve_action *a)
{
	return a->kind == SIEVE_ACT_REJECT || a->kind == SIEVE_ACT_EREJECT;
}

static const char *
kind_word(const struct sieve_action *a)
{
	switch (a->kind) {
	case SIEVE_ACT_KEEP: case SIEVE_ACT_FILEINTO: return "store";
	case SIEVE_ACT_REDIRECT: return "redirect";
	case SIEVE_ACT_REJECT: return "reject";
	case SIEVE_ACT_EREJECT: return "ereject";
	case SIEVE_ACT_VACATION: return "vacation";
	case SIEVE_ACT_NOTIFY: return "notify";
	case SIEVE_ACT_DISCARD: return "discard";
	default: return "action";
	}
}

bool
sv_result_add(struct sv_run *r, struct sieve_action *a)
{
	struct sieve_result *res = r->res;
	const char *name = r->sc->name;
	size_t i;

	for (i = 0; i < res->n; i++) {
		struct sieve_action *o = &res->acts[i];

		/* the same mailbox or address twice is one action (RFC 5228 4.1,
		 * 4.2: keep and fileinto "INBOX" are the same) */
		if (is_store(a) && is_store(o) && strcmp(a->target, o->target) == 0) {
			/* the first one stands (with its :copy); the later one's
			 * flags replace the earlier's, as Pigeonhole does */
			if (a->flags != NULL) {
				sv_strv_free(&o->flags);
				o->flags = a->flags;
				a->flags = NULL;
			}
			sv_action_clear(a);
			return true;
		}
		if (a->kind == SIEVE_ACT_REDIRECT && o->kind == SIEVE_ACT_REDIRECT &&
		    strcasecmp(a->target, o->target) == 0) {
			sv_action_clear(a);
			return true;
		}
		/* the same notification twice is sent once (as Pigeonhole does) */
		if (a->kind == SIEVE_ACT_NOTIFY && o->kind == SIEVE_ACT_NOTIFY &&
		    strcasecmp(a->target, o->target) == 0) {
			sv_action_clear(a);
			return true;
		}
		if (a->kind == SIEVE_ACT_DISCARD && o->kind == SIEVE_ACT_DISCARD) {
			sv_action_clear(a);
			return true;
		}
		/* conflicts */
		if (is_reject(a) && is_reject(o)) {
			sv_run_error(r, a->line, "duplicate reject/ereject action not allowed "
			    "(previously triggered one was here: %s: line %u)", name, o->line);
			goto fail;
		}
		if (is_reject(a) && (is_store(o) || o->kind == SIEVE_ACT_REDIRECT)) {
			sv_run_error(r, a->line, "reject/ereject action conflicts with other action: "
			    "the %s action (%s: line %u) tries to deliver the message", kind_word(o),
			    name, o->line);
			goto fail;
		}
		if (is_reject(o) && (is_store(a) || a->kind == SIEVE_ACT_REDIRECT)) {
			sv_run_error(r, o->line, "reject/ereject action conflicts with other action: "
			    "the %s action (%s: line %u) tries to deliver the message", kind_word(a),
			    name, a->line);
			goto fail;
		}
		if (a->kind == SIEVE_ACT_VACATION && is_reject(o)) {
			sv_run_error(r, a->line, "vacation action conflicts with other action: the "
			    "%s action (%s: line %u) also sends a response back to the sender",
			    kind_word(o), name, o->line);
			goto fail;
		}
		if (is_reject(a) && o->kind == SIEVE_ACT_VACATION) {
			sv_run_error(r, a->line, "reject/ereject action conflicts with other action: "
			    "the vacation action (%s: line %u) also sends a response back to the "
			    "sender", name, o->line);
			goto fail;
		}
		if (a->kind == SIEVE_ACT_VACATION && o->kind == SIEVE_ACT_VACATION) {
			sv_run_error(r, a->line, "duplicate vacation action not allowed "
			    "(previously triggered one was here: %s: line %u)", name, o->line);
			goto fail;
		}
	}
	if (a->kind == SIEVE_ACT_REDIRECT) {
		res->redirects++;
		if (res->redirects > r->sc->limits.max_redirects) {
			sv_run_error(r, a->line, "number of redirect actions exceeds policy limit "
			    "(%u > %u)", res->redirects, r->sc->limits.max_redirects);
			goto fail;
		}
	}
	if (res->n + 1 > r->sc->limits.max_actions) {
		sv_run_error(r, a->line, "total number of actions exceeds policy limit (%zu > %u)",
		    res->n + 1, r->sc->limits.max_actions);
		goto fail;
	}
	if ((is_store(a) || a->kind == SIEVE_ACT_REDIRECT) && !a->copy)
		res->keep_cancelled = true;
	if (is_reject(a) || a->kind == SIEVE_ACT_DISCARD)
		res->keep_cancelled = true;
	if (a->kind == SIEVE_ACT_KEEP)
		res->keep_explicit = true;
	if (res->n == res->cap) {
		res->cap = res->cap == 0 ? 8 : res->cap * 2;
		res->acts = xreallocarray(res->acts, res->cap, sizeof(*res->acts));
	}
	res->acts[res->n++] = *a;
	return true;
fail:
	sv_action_clear(a);
	return false;
}

/* sv_result_finish - after a successful run: the implicit keep's flags are
 * the internal flag variable's at the end (RFC 5232 3) */
void
sv_result_finish(struct sv_run *r)
{
	struct sieve_result *res = r->res;
	struct strvec v;
	const char *p = r->flags.s;

	sv_strv_free(&res->keep_flags);
	strvec_init(&v);
	while (*p != 0) {
		size_t n = strcspn(p, " ");

		if (n > 0)
			strvec_push_take(&v, xstrndup(p, n));
		p += n;
		while (*p == ' ')
			p++;
	}
	res->keep_flags = v.n > 0 ? v.v : NULL;
	if (v.n == 0)
		strvec_deinit(&v);
	/* editheader: the edited header section, as the message to deliver */
	if (res->ehdr_set) {
		size_t i, blen;
		const struct sv_part *top = &r->msg->parts[0];

		str_reset(&res->edited);
		for (i = 0; i < res->nehdr; i++)
			str_appendf(&res->edited, "%s: %s\r\n", res->ehdr[i].name, res->ehdr[i].value);
		str_append(&res->edited, "\r\n");
		blen = top->body_len;
		str_append_n(&res->edited, top->body, blen);
		res->edited_set = true;
	}
}

size_t
sieve_result_count(const struct sieve_result *r)
{
	return r->n;
}

const struct sieve_action *
sieve_result_action(const struct sieve_result *r, size_t i)
{
	return i < r->n ? &r->acts[i] : NULL;
}

bool
sieve_result_implicit_keep(const struct sieve_result *r, char ***flags_r)
{
	if (flags_r != NULL)
		*flags_r = r->keep_flags;
	return !r->keep_cancelled;
}

bool
sieve_result_stopped(const struct sieve_result *r)
{
	return r->stopped;
}

const char *
sieve_result_edited(const struct sieve_result *r, size_t *len_r)
{
	if (!r->edited_set)
		return NULL;
	*len_r = r->edited.len;
	return r->edited.s;
}

/* print_flags - system flags first in IMAP's order, lower case, then the
 * keywords as written (what Pigeonhole's sieve-test prints) */
static void
print_flags(char **flags, struct str *out)
{
	static const char *const sys[] = { "\\answered", "\\flagged", "\\deleted", "\\seen",
		"\\draft", NULL };
	size_t i, j;

	if (flags == NULL || flags[0] == NULL)
		return;
	str_append(out, "        + add IMAP flags:");
	for (j = 0; sys[j] != NULL; j++)
		for (i = 0; flags[i] != NULL; i++)
			if (strcasecmp(flags[i], sys[j]) == 0) {
				str_appendf(out, " %s", sys[j]);
				break;
			}
	for (i = 0; flags[i] != NULL; i++) {
		if (flags[i][0] == '\\')
			continue;
		str_appendf(out, " %s", flags[i]);
	}
	str_append_c(out, '\n');
}

/* print_sanitized - control characters as '?', as Pigeonhole prints them */
static void
print_sanitized(const char *s, struct str *out)
{
	for (; *s != 0; s++)
		str_append_c(out, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void
print_mailto(const struct sieve_action *a, struct str *out)
{
	const char *uri = a->target + 7, *q = strchr(uri, '?');
	struct strvec to, cc;
	struct str dec;
	char *subject = NULL, *body = NULL;
	size_t i;

	strvec_init(&to);
	strvec_init(&cc);
	if (q != uri)
		strvec_push_take(&to, xstrndup(uri, q != NULL ? (size_t)(q - uri) : strlen(uri)));
	while (q != NULL) {
		const char *k = q + 1, *e = strchr(k, '=');
		const char *next = strchr(k, '&');
		size_t vl;

		if (e == NULL || (next != NULL && e > next))
			break;
		vl = next != NULL ? (size_t)(next - e - 1) : strlen(e + 1);
		if ((size_t)(e - k) == 2 && strncasecmp(k, "to", 2) == 0)
			strvec_push_take(&to, xstrndup(e + 1, vl));
		else if ((size_t)(e - k) == 2 && strncasecmp(k, "cc", 2) == 0)
			strvec_push_take(&cc, xstrndup(e + 1, vl));
		else if ((size_t)(e - k) == 7 && strncasecmp(k, "subject", 7) == 0 && subject == NULL) {
			str_init(&dec, vl + 1);
			sv_uri_decode(e + 1, vl, &dec);
			subject = str_export(&dec);
		} else if ((size_t)(e - k) == 4 && strncasecmp(k, "body", 4) == 0 && body == NULL) {
			str_init(&dec, vl + 1);
			sv_uri_decode(e + 1, vl, &dec);
			body = str_export(&dec);
		}
		q = next;
	}
	str_appendf(out, " * send notification with method 'mailto:':\n");
	str_appendf(out, "    => importance   : %s\n", a->importance != NULL ? a->importance : "2");
	if (a->message != NULL)
		str_appendf(out, "    => subject      : %s\n", a->message);
	else if (subject != NULL)
		str_appendf(out, "    => subject      : %s\n", subject);
	if (a->from != NULL)
		str_appendf(out, "    => from         : %s\n", a->from);
	str_append(out, "    => recipients   :\n");
	for (i = 0; i < to.n; i++)
		str_appendf(out, "       + To: %s\n", to.v[i]);
	for (i = 0; i < cc.n; i++)
		str_appendf(out, "       + Cc: %s\n", cc.v[i]);
	if (body != NULL)
		str_appendf(out, "    => body         : \n--\n%s\n--\n", body);
	str_append_c(out, '\n');
	strvec_deinit(&to);
	strvec_deinit(&cc);
	free(subject);
	free(body);
}

static void print_result(const struct sieve_result *, const struct sieve_env *, struct str *,
    bool multi);

void
sieve_result_print(const struct sieve_result *r, const struct sieve_env *env, struct str *out)
{
	print_result(r, env, out, false);
}

void
sieve_result_print_multi(const struct sieve_result *r, const struct sieve_env *env,
    struct str *out)
{
	print_result(r, env, out, true);
}

bool
sieve_result_kept(const struct sieve_result *r)
{
	size_t i;

	if (!r->keep_cancelled)
		return true;
	for (i = 0; i < r->n; i++)
		if (r->acts[i].kind == SIEVE_ACT_KEEP)
			return true;
	return false;
}

void
sieve_result_carry(struct sieve_result *to, const struct sieve_result *from)
{
	sv_strv_free(&to->keep_flags);
	to->keep_flags = sv_strv_dup(from->keep_flags);
	to->carry_flags = to->keep_flags != NULL;
}

/* print_dups - the duplicate tracking that a test recorded before action
 * pos (after the last action for pos == r->n) */
static void
print_dups(const struct sieve_result *r, size_t pos, struct str *out)
{
	for (size_t d = 0; d < r->ndups; d++) {
		if (r->dups[d].pos != pos && !(pos == r->n && r->dups[d].pos > r->n))
			continue;
		if (r->dups[d].handle != NULL)
			str_appendf(out, " * track duplicate with handle: %s\n", r->dups[d].handle);
		else
			str_append(out, " * track duplicate\n");
	}
}

static void
print_result(const struct sieve_result *r, const struct sieve_env *env, struct str *out,
    bool multi)
{
	size_t i;

	str_append(out, "\nPerformed actions:\n\n");
	if (r->n == 0 && r->ndups == 0)
		str_append(out, "  (none)\n");
	for (i = 0; i < r->n; i++) {
		const struct sieve_action *a = &r->acts[i];

		print_dups(r, i, out);
		switch (a->kind) {
		case SIEVE_ACT_KEEP: case SIEVE_ACT_FILEINTO:
			if (multi && a->kind == SIEVE_ACT_KEEP)
				str_append(out, " * keep\n");
			else
				str_appendf(out, " * store message in folder: %s\n", a->target);
			/* in Pigeonhole's order: special-use, create, copy, flags */
			if (a->special_use != NULL)
				str_appendf(out, "        + use mailbox with special-use flag `%s' "
				    "instead if accessible\n", a->special_use);
			if (a->create)
				str_append(out, "        + create mailbox if it does not exist\n");
			if (a->copy)
				str_append(out, "        + preserve implicit keep\n");
			print_flags(a->flags, out);
			break;
		case SIEVE_ACT_REDIRECT:
			str_appendf(out, " * redirect message to: <%s>\n", a->target);
			break;
		case SIEVE_ACT_DISCARD:
			str_append(out, " * discard\n");
			break;
		case SIEVE_ACT_REJECT: case SIEVE_ACT_EREJECT:
			str_append(out, a->kind == SIEVE_ACT_REJECT ? " * reject message with reason: " :
			    " * reject message at SMTP time with reason: ");
			print_sanitized(a->target, out);
			str_append_c(out, '\n');
			break;
		case SIEVE_ACT_VACATION:
			str_append(out, " * send vacation message:\n");
			str_appendf(out, "    => seconds : %llu\n", (unsigned long long)a->seconds);
			if (a->subject != NULL)
				str_appendf(out, "    => subject : %s\n", a->subject);
			if (a->from != NULL)
				str_appendf(out, "    => from    : %s\n", a->from);
			str_appendf(out, "    => handle  : %s\n", a->handle);
			str_appendf(out, "\nSTART MESSAGE\n%s\nEND MESSAGE\n", a->body);
			break;
		case SIEVE_ACT_NOTIFY:
			print_mailto(a, out);
			break;
		default:
			break;
		}
		if (a->copy && a->kind == SIEVE_ACT_REDIRECT)
			str_append(out, "        + preserve implicit keep\n");
	}
	print_dups(r, r->n, out);
	str_append(out, "\nImplicit keep:\n\n");
	if (r->keep_cancelled)
		str_append(out, "  (none)\n");
	else {
		if (multi)
			str_append(out, " * keep\n");
		else
			str_appendf(out, " * store message in folder: %s\n",
			    env != NULL && env->default_mailbox != NULL ? env->default_mailbox :
			    "INBOX");
		print_flags(r->keep_flags, out);
	}
	str_append_c(out, '\n');
}

/* sv_result_track_dup - remember an ID that a duplicate test found new
 * (id is "ID\0handle", len bytes); the same ID and handle once */
void
sv_result_track_dup(struct sieve_result *r, const char *id, size_t len, const char *handle,
    uint64_t seconds)
{
	struct sv_dup *d;

	for (size_t i = 0; i < r->ndups; i++)
		if (r->dups[i].len == len && memcmp(r->dups[i].id, id, len) == 0) {
			r->dups[i].seconds = seconds;
			return;
		}
	r->dups = xreallocarray(r->dups, r->ndups + 1, sizeof(*r->dups));
	d = &r->dups[r->ndups++];
	d->id = xmalloc(len);
	memcpy(d->id, id, len);
	d->len = len;
	d->handle = handle != NULL ? xstrdup(handle) : NULL;
	d->pos = r->n;
	d->seconds = seconds;
}
