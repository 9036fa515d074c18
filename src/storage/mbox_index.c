/* mbox_index.c - the offset cache of an mbox (mbox_index.h).
 *
 * File: "YUBMBOX1", then u32 version, n, nkw, names_len, uidvalidity,
 * uidnext, the key (7 x 64 bits), the highest modseq (64 bits), n records
 * (struct mbox_index_rec, 56 bytes each, native byte order: the cache never leaves the host), the
 * keyword names NUL-terminated (names_len bytes), then a 64-bit FNV-1a
 * of everything before it. */
#include "storage/mbox_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

#define MAGIC		"YUBMBOX1"
/* version 2 added the modseqs; a version 1 file is refused (rebuilt) */
#define VERSION		2
#define HDR_LEN		(8 + 6 * 4 + sizeof(struct mbox_index_key) + 8)
/* an index larger than this is not read (50 million messages) */
#define INDEX_MAX	(56ull * 50 * 1000 * 1000)

_Static_assert(sizeof(struct mbox_index_rec) == 56, "mbox_index_rec is 56 bytes on disk");
_Static_assert(sizeof(struct mbox_index_key) == 56, "mbox_index_key is 56 bytes on disk");

static uint64_t
fnv(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n-- > 0) {
		h ^= (unsigned char)*p++;
		h *= 1099511628211ull;
	}
	return h;
}

void
mbox_index_key_of(const struct stat *st, struct mbox_index_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	k->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
	k->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	k->ctime_nsec = (int64_t)st->st_ctim.tv_nsec;
}

char *
mbox_index_path(const char *mbox_path)
{
	const char *slash = strrchr(mbox_path, '/');

	if (slash == NULL)
		return xasprintf(".imap/%s/yubin.mbox.index", mbox_path);
	return xasprintf("%.*s/.imap/%s/yubin.mbox.index", (int)(slash - mbox_path), mbox_path,
	    slash + 1);
}

void
mbox_index_free(struct mbox_index *ix)
{
	size_t i;

	free(ix->r);
	for (i = 0; i < ix->nkw; i++)
		free(ix->kw[i]);
	memset(ix, 0, sizeof(*ix));
}

static uint32_t
get32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int
mbox_index_parse(const char *buf, size_t len, struct mbox_index *out)
{
	uint32_t version, n, nkw, names_len;
	uint64_t sum;
	const char *p, *names;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (len < HDR_LEN + 8 || memcmp(buf, MAGIC, 8) != 0)
		return -1;
	memcpy(&sum, buf + len - 8, 8);
	if (sum != fnv(buf, len - 8))
		return -1;
	version = get32(buf + 8);
	n = get32(buf + 12);
	nkw = get32(buf + 16);
	names_len = get32(buf + 20);
	if (version != VERSION || nkw > MBOX_INDEX_MAX_KEYWORDS ||
	    (uint64_t)HDR_LEN + (uint64_t)n * sizeof(struct mbox_index_rec) + names_len + 8 != len)
		return -1;
	out->uidvalidity = get32(buf + 24);
	out->uidnext = get32(buf + 28);
	memcpy(&out->key, buf + 32, sizeof(out->key));
	memcpy(&out->highestmodseq, buf + 32 + sizeof(out->key), 8);
	p = buf + HDR_LEN;
	out->r = xreallocarray(NULL, (size_t)n + 1, sizeof(*out->r));
	memcpy(out->r, p, (size_t)n * sizeof(*out->r));
	out->n = n;
	for (i = 0; i < n; i++) {
		const struct mbox_index_rec *r = &out->r[i];

		/* what a reader relies on: UIDs growing below UIDNEXT, places
		 * inside the file, in order */
		if (r->uid == 0 || r->uid >= out->uidnext || (i > 0 && r->uid <= out->r[i - 1].uid) ||
		    r->from >= r->end || r->end > out->key.size ||
		    (i > 0 && r->from < out->r[i - 1].end) || r->modseq > out->highestmodseq)
			goto bad;
	}
	names = p + (size_t)n * sizeof(*out->r);
	for (i = 0; i < nkw; i++) {
		const char *z = memchr(names, '\0', (size_t)(buf + len - 8 - names));

		if (z == NULL || z == names)
			goto bad;
		out->kw[out->nkw++] = xstrndup(names, (size_t)(z - names));
		names = z + 1;
	}
	if (names != buf + len - 8)
		goto bad;
	return 0;
bad:
	mbox_index_free(out);
	return -1;
}

static void
put32(struct str *out, uint32_t v)
{
	str_append_n(out, (const char *)&v, 4);
}

void
mbox_index_format(const struct mbox_index *ix, struct str *out)
{
	size_t i, names_len = 0;
	uint64_t sum;

	for (i = 0; i < ix->nkw; i++)
		names_len += strlen(ix->kw[i]) + 1;
	str_append_n(out, MAGIC, 8);
	put32(out, VERSION);
	put32(out, (uint32_t)ix->n);
	put32(out, (uint32_t)ix->nkw);
	put32(out, (uint32_t)names_len);
	put32(out, ix->uidvalidity);
	put32(out, ix->uidnext);
	str_append_n(out, (const char *)&ix->key, sizeof(ix->key));
	str_append_n(out, (const char *)&ix->highestmodseq, 8);
	if (ix->n > 0)	/* an emptied mbox has no records (r NULL) */
		str_append_n(out, (const char *)ix->r, ix->n * sizeof(*ix->r));
	for (i = 0; i < ix->nkw; i++)
		str_append_n(out, ix->kw[i], strlen(ix->kw[i]) + 1);
	sum = fnv(out->s, out->len);
	str_append_n(out, (const char *)&sum, 8);
}

int
mbox_index_load(const char *path, const struct mbox_index_key *key, struct mbox_index *out)
{
	struct str buf;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	str_init(&buf, 4096);
	if (file_read(path, INDEX_MAX, &buf) == 0 && mbox_index_parse(buf.s, buf.len, out) == 0) {
		if (key == NULL || memcmp(&out->key, key, sizeof(*key)) == 0)
			ret = 0;
		else
			mbox_index_free(out);	/* the mbox changed since */
	}
	str_deinit(&buf);
	return ret;
}

/* mkdir_parents - the directories above path (mode 0700, as Dovecot makes
 * its .imap ones) */
static int
mkdir_parents(const char *path)
{
	char *p = xstrdup(path), *s;
	int ret;

	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		(void)mkdir(p, 0700);	/* the ancestors exist already */
		*s = '/';
	}
	s = strrchr(p, '/');
	if (s != NULL)
		*s = '\0';
	ret = s == NULL || access(p, W_OK) == 0 ? 0 : -1;
	free(p);
	return ret;
}

int
mbox_index_write(const char *path, const struct mbox_index *ix)
{
	struct str out;
	int ret;

	if (mkdir_parents(path) != 0)
		return -1;
	str_init(&out, 64 + ix->n * sizeof(*ix->r));
	mbox_index_format(ix, &out);
	ret = file_write_atomic(path, out.s, out.len, 0600);
	str_deinit(&out);
	return ret;
}
