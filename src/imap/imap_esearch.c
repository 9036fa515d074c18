/* imap_esearch.c - SEARCH RETURN options and the ESEARCH reply. See
 * imap_esearch.h. */
#include <string.h>
#include <strings.h>

#include "imap/imap_esearch.h"
#include "imap/imap_parser.h"

int
imap_search_ret_parse(const struct imap_arg *a, size_t n, struct imap_search_ret *r,
    size_t *used_r, const char **error_r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	*used_r = 0;
	if (n == 0 || a[0].type != IMAP_ARG_ATOM || strcasecmp(a[0].str, "RETURN") != 0)
		return 0;
	if (n < 2 || a[1].type != IMAP_ARG_LIST) {
		*error_r = "Unknown argument RETURN";	/* Dovecot reads it as a key */
		return -1;
	}
	r->esearch = true;
	for (i = 0; i < a[1].count; i++) {
		const struct imap_arg *o = &a[1].list[i];

		if (o->type != IMAP_ARG_ATOM) {
			*error_r = "Unknown SEARCH return option";
			return -1;
		}
		if (strcasecmp(o->str, "MIN") == 0)
			r->opts |= IMAP_SRET_MIN;
		else if (strcasecmp(o->str, "MAX") == 0)
			r->opts |= IMAP_SRET_MAX;
		else if (strcasecmp(o->str, "ALL") == 0)
			r->opts |= IMAP_SRET_ALL;
		else if (strcasecmp(o->str, "COUNT") == 0)
			r->opts |= IMAP_SRET_COUNT;
		else if (strcasecmp(o->str, "SAVE") == 0)
			r->opts |= IMAP_SRET_SAVE;
		else {
			*error_r = "Unknown SEARCH return option";
			return -1;
		}
	}
	/* RETURN () means RETURN (ALL) */
	if (r->opts == 0)
		r->opts = IMAP_SRET_ALL;
	*used_r = 2;
	return 0;
}

void
imap_seqset_format(struct str *out, const uint32_t *nums, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j + 1 < n && nums[j + 1] == nums[j] + 1)
			j++;
		if (i > 0)
			str_append_c(out, ',');
		if (j > i)
			str_appendf(out, "%u:%u", nums[i], nums[j]);
		else
			str_appendf(out, "%u", nums[i]);
		i = j + 1;
	}
}

void
imap_esearch_reply(struct str *out, const struct imap_search_ret *r, const char *tag, bool uid,
    const uint32_t *nums, size_t n)
{
	/* SAVE alone answers nothing (RFC 5182 2.1) */
	if ((r->opts & ~IMAP_SRET_SAVE) == 0)
		return;
	str_append(out, "* ESEARCH (TAG ");
	imap_quote(out, tag, strlen(tag));
	str_append_c(out, ')');
	if (uid)
		str_append(out, " UID");
	if (n > 0 && (r->opts & IMAP_SRET_MIN))
		str_appendf(out, " MIN %u", nums[0]);
	if (n > 0 && (r->opts & IMAP_SRET_MAX))
		str_appendf(out, " MAX %u", nums[n - 1]);
	if (n > 0 && (r->opts & IMAP_SRET_ALL)) {
		str_append(out, " ALL ");
		imap_seqset_format(out, nums, n);
	}
	if (r->opts & IMAP_SRET_COUNT)
		str_appendf(out, " COUNT %zu", n);
	str_append(out, "\r\n");
}

size_t
imap_esearch_save(const struct imap_search_ret *r, uint32_t *uids, size_t n)
{
	unsigned o = r->opts & ~IMAP_SRET_SAVE;

	if (n == 0 || (o & (IMAP_SRET_ALL | IMAP_SRET_COUNT)) || o == 0)
		return n;
	if ((o & IMAP_SRET_MIN) && (o & IMAP_SRET_MAX)) {
		uids[1] = uids[n - 1];
		return n > 1 ? 2 : 1;
	}
	if (o & IMAP_SRET_MAX)
		uids[0] = uids[n - 1];
	return 1;
}
