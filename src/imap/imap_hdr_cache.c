/* imap_hdr_cache.c - see imap_hdr_cache.h */
#include <string.h>
#include <strings.h>

#include "imap/imap_hdr_cache.h"
#include "imap/imap_mime.h"

void
imap_hdrc_init(struct imap_hdrc *c, const char *dir)
{
	memset(c, 0, sizeof(*c));
	c->dir = dir;
	imap_cached_init(&c->cached);
	imap_cache_batch_init(&c->batch);
	strvec_init(&c->missed);
	str_init(&c->rec, 1024);
	strvec_init(&c->defaults);
	imap_hdr_names_union(&c->defaults, NULL, NULL, 0);
}

void
imap_hdrc_deinit(struct imap_hdrc *c)
{
	imap_cache_batch_commit(&c->batch, c->dir);
	imap_cache_batch_deinit(&c->batch);
	imap_cached_deinit(&c->cached);
	strvec_deinit(&c->missed);
	str_deinit(&c->rec);
	strvec_deinit(&c->defaults);
}

/* hdrc_look - make m the current message: its record looked up once */
static void
hdrc_look(struct imap_hdrc *c, const struct imap_msg *m)
{
	if (c->cur_uid == m->uid && c->cur_uid != 0)
		return;
	c->cur_uid = m->uid;
	c->cur_valid = imap_index_hdr_get(c->dir, m, &c->cached);
	strvec_deinit(&c->missed);
	strvec_init(&c->missed);
}

int
imap_hdrc_fields(struct imap_hdrc *c, const struct imap_msg *m, const char *const *names,
    size_t n, struct str *out)
{
	size_t i;
	bool all = true;

	hdrc_look(c, m);
	for (i = 0; i < n; i++) {
		if (c->cur_valid && imap_hdr_record_covers(&c->cached.hdr, names[i]))
			continue;
		all = false;
		if (!strvec_contains(&c->missed, names[i]))
			strvec_push(&c->missed, names[i]);
	}
	if (!all)
		return -1;
	str_reset(out);
	mime_header_fields(out, c->cached.hdr.fields, c->cached.hdr.fields_len, names, n, false);
	return 0;
}

static void
hdrc_add(struct imap_hdrc *c, struct imap_msg *m)
{
	imap_cache_batch_add_hdr(&c->batch, m, &c->rec);
	if (c->batch.buf.len > 1024 * 1024)
		imap_cache_batch_commit(&c->batch, c->dir);
}

void
imap_hdrc_learn(struct imap_hdrc *c, struct imap_msg *m, const char *text, size_t len)
{
	struct strvec names;
	size_t i;
	bool covers = true;

	hdrc_look(c, m);
	if (c->cur_valid && c->missed.n == 0)
		return;
	if (!c->cur_valid && c->missed.n == 0) {
		/* the common case (a message listed for the first time) */
		if (imap_hdr_record_make_norm(&c->rec, m->name, text, mime_header_len(text, len),
		    &c->defaults) == 0)
			hdrc_add(c, m);
		c->cur_uid = 0;
		return;
	}
	strvec_init(&names);
	imap_hdr_names_union(&names, c->cur_valid ? &c->cached.hdr : NULL,
	    (const char *const *)c->missed.v, c->missed.n);
	/* a name that cannot be cached (or no room) would be missed again
	 * each time: then the old record stays */
	for (i = 0; i < c->missed.n && covers; i++) {
		size_t k;

		covers = false;
		for (k = 0; k < names.n && !covers; k++)
			covers = strcasecmp(names.v[k], c->missed.v[i]) == 0;
	}
	if ((covers || !c->cur_valid) &&
	    imap_hdr_record_make_norm(&c->rec, m->name, text, mime_header_len(text, len),
	    &names) == 0)
		hdrc_add(c, m);
	strvec_deinit(&names);
	/* asked and learnt: not missed twice for the same message */
	c->cur_uid = 0;
}
