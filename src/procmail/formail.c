/* formail.c - `yubin formail` and the name `formail`: the parts of
 * formail(1) that procmail recipes use: header edits (-A append, -a
 * append if absent, -i rename the old one to Old-..., -I replace or
 * delete), extraction (-x contents, -X whole fields), -c (join continued
 * fields), -f (no From_ line made), -b (no From escaping), -r (an
 * auto-reply header: To from the envelope sender, or with -t from
 * Reply-To/From; Subject "Re: ..."; References; In-Reply-To; X-Loop kept),
 * -k (keep the body, quoted with -p's prefix), -D maxlen cache (duplicate
 * Message-ID, or with -r sender; exit 0 when seen before), -s [command]
 * (split a mailbox, one command per message).
 * Tests: tests/e2e/test_procmail.py (against Debian's formail). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "procmail/formail.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"
#include "storage/storage.h"

#define FM_MAX_INPUT	((size_t)1 << 30)

struct fm_field {
	char	*text;		/* the whole field, continuation lines and "\n" included */
	size_t	 namelen;	/* up to the colon */
};

struct fm_msg {
	char		*from_line;	/* "From ...\n" or NULL */
	struct fm_field	*f;
	size_t		 nf;
	const char	*body;
	size_t		 blen;
	bool		 had_blank;	/* the header ended in an empty line */
};

struct fm_opts {
	bool		 f, b, c, r, k, t, z;
	const char	*prefix;
	struct strvec	 x, X, a, A, i, I;
	const char	*dup_cache;
	long		 dup_max;
	bool		 split;
	char		**split_argv;
};

static void
msg_free(struct fm_msg *m)
{
	size_t i;

	for (i = 0; i < m->nf; i++)
		free(m->f[i].text);
	free(m->f);
	free(m->from_line);
	memset(m, 0, sizeof *m);
}

static void
add_field(struct fm_msg *m, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);

	m->f = xreallocarray(m->f, m->nf + 1, sizeof *m->f);
	m->f[m->nf].text = xstrndup(s, n);
	m->f[m->nf].namelen = colon != NULL ? (size_t)(colon - s) : 0;
	m->nf++;
}

static void
msg_parse(struct fm_msg *m, const char *s, size_t len)
{
	size_t i = 0, start;

	memset(m, 0, sizeof *m);
	if (len >= 5 && memcmp(s, "From ", 5) == 0) {
		const char *nl = memchr(s, '\n', len);

		i = nl != NULL ? (size_t)(nl - s) + 1 : len;
		m->from_line = xstrndup(s, i);
	}
	while (i < len) {
		const char *nl;

		if (s[i] == '\n') {
			i++;
			m->had_blank = true;
			break;
		}
		start = i;
		for (;;) {
			nl = memchr(s + i, '\n', len - i);
			i = nl != NULL ? (size_t)(nl - s) + 1 : len;
			if (i < len && (s[i] == ' ' || s[i] == '\t'))
				continue;
			break;
		}
		add_field(m, s + start, i - start);
	}
	m->body = s + i;
	m->blen = len - i;
}

/* field_is - the field's name is name ("Subject:" or "Subject") */
static bool
field_is(const struct fm_field *f, const char *name)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == ':')
		n--;
	return f->namelen == n && strncasecmp(f->text, name, n) == 0;
}

static const struct fm_field *
find(const struct fm_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nf; i++)
		if (field_is(&m->f[i], name))
			return &m->f[i];
	return NULL;
}

/* value - the contents after the colon, leading blanks and the final
 * newline removed, continuation lines kept */
static char *
value(const struct fm_field *f)
{
	const char *p = f->text + f->namelen + 1;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	return xstrndup(p, n);
}

/* angle_addr - the address inside <...>, or the trimmed text */
static char *
angle_addr(const char *v)
{
	const char *lt = strchr(v, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt != NULL && gt != NULL)
		return xstrndup(lt + 1, (size_t)(gt - lt - 1));
	return xstrdup(v);
}

/* reply_to - who an auto-reply goes to (-t: the header's idea first) */
static char *
reply_to(const struct fm_msg *m, bool trust)
{
	static const char *const env[] = { "Return-Path", NULL };
	static const char *const hdr[] = { "Reply-To", "From", "Sender", NULL };
	const struct fm_field *f;
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		bool header_pass = trust ? pass == 0 : pass == 1;

		if (header_pass) {
			for (i = 0; hdr[i] != NULL; i++)
				if ((f = find(m, hdr[i])) != NULL) {
					char *v = value(f), *a;

					if (*v == '\0') {
						free(v);
						continue;
					}
					a = strchr(v, '<') ? angle_addr(v) : xstrdup(v);
					free(v);
					return a;
				}
		} else {
			for (i = 0; env[i] != NULL; i++)
				if ((f = find(m, env[i])) != NULL) {
					char *v = value(f), *a = angle_addr(v);

					free(v);
					if (*a != '\0')
						return a;
					free(a);
				}
			if (m->from_line != NULL) {
				const char *p = m->from_line + 5;
				size_t n = strcspn(p, " \t\n");

				if (n > 0)
					return xstrndup(p, n);
			}
		}
	}
	return xstrdup("foo@bar");
}

/* out_body - the body; escape puts esc before "From " lines (formail's
 * escaping, with the -p prefix), prefix quotes every non-empty line (-rk) */
static void
out_body(struct str *o, const char *b, size_t n, const char *prefix, bool escape,
    const char *esc)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(b + i, '\n', n - i);
		size_t e = nl != NULL ? (size_t)(nl - b) + 1 : n;

		if (prefix != NULL && b[i] != '\n')	/* empty lines stay empty */
			str_append(o, prefix);
		if (escape && e - i >= 5 && memcmp(b + i, "From ", 5) == 0)
			str_append(o, esc);
		str_append_n(o, b + i, e - i);
		i = e;
	}
	if (o->len > 0 && o->s[o->len - 1] != '\n')
		str_append_c(o, '\n');
}

static void
append_field_arg(struct str *o, const char *arg)
{
	const char *colon = strchr(arg, ':');

	if (colon == NULL || colon[1 + strspn(colon + 1, " \t")] == '\0')
		return;		/* a name alone adds nothing */
	str_append(o, arg);
	str_append_c(o, '\n');
}

static void
concat_field(struct str *o, const char *t)
{
	for (; *t != '\0'; t++) {
		if (*t == '\n' && (t[1] == ' ' || t[1] == '\t'))
			str_append_c(o, ' ');
		else
			str_append_c(o, *t);
	}
}

static void
out_field(struct str *o, const struct fm_opts *op, const char *t)
{
	if (op->c)
		concat_field(o, t);
	else
		str_append(o, t);
	if (o->len > 0 && o->s[o->len - 1] != '\n')
		str_append_c(o, '\n');
}

static bool
named_in(const struct strvec *v, const struct fm_field *f)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		char *c = strchr(v->v[i], ':');
		char *name = c ? xstrndup(v->v[i], (size_t)(c - v->v[i])) : xstrdup(v->v[i]);
		bool hit = field_is(f, name);

		free(name);
		if (hit)
			return true;
	}
	return false;
}

static bool
msg_has(const struct fm_msg *m, const char *arg)
{
	const char *c = strchr(arg, ':');
	char *name = c ? xstrndup(arg, (size_t)(c - arg)) : xstrdup(arg);
	bool r = find(m, name) != NULL;

	free(name);
	return r;
}

/* add_edits - -a (if absent), -A, -i, -I fields at the end, in that
 * order (formail's) */
static void
add_edits(struct str *o, const struct fm_msg *m, const struct fm_opts *op)
{
	size_t i;

	for (i = 0; i < op->a.n; i++)
		if (!msg_has(m, op->a.v[i]))
			append_field_arg(o, op->a.v[i]);
	for (i = 0; i < op->A.n; i++)
		append_field_arg(o, op->A.v[i]);
	for (i = 0; i < op->i.n; i++)
		append_field_arg(o, op->i.v[i]);
	for (i = 0; i < op->I.n; i++)
		append_field_arg(o, op->I.v[i]);
}

static void
make_reply(struct str *o, const struct fm_msg *m, const struct fm_opts *op)
{
	const struct fm_field *subj = find(m, "Subject"), *mid = find(m, "Message-ID");
	const struct fm_field *refs = find(m, "References");
	char *to = reply_to(m, op->t), *v;
	size_t i;

	for (i = 0; i < m->nf; i++)
		if (field_is(&m->f[i], "X-Loop") || named_in(&op->i, &m->f[i]))
			if (!named_in(&op->I, &m->f[i]))
				out_field(o, op, m->f[i].text);
	str_appendf(o, "To: %s\n", to);
	free(to);
	if (subj != NULL) {
		v = value(subj);
		str_append(o, "Subject: Re: ");
		if (op->c)
			concat_field(o, v);
		else
			str_append(o, v);
		str_append_c(o, '\n');
		free(v);
	}
	if (mid != NULL) {
		char *id = value(mid);

		if (refs != NULL) {
			v = value(refs);
			str_appendf(o, "References: %s %s\n", v, id);
			free(v);
		} else
			str_appendf(o, "References: %s\n", id);
		str_appendf(o, "In-Reply-To: %s\n", id);
		free(id);
	}
	add_edits(o, m, op);
	str_append_c(o, '\n');
	if (op->k) {
		const char *px = op->prefix ? op->prefix : ">";

		out_body(o, m->body, m->blen, op->b ? NULL : px, !op->b, px);
		if (m->blen > 0 && !(o->len >= 2 && o->s[o->len - 2] == '\n'))
			str_append_c(o, '\n');
	}
}

static void
make_edited(struct str *o, const struct fm_msg *m, const struct fm_opts *op)
{
	size_t i;

	if (m->from_line != NULL)
		str_append(o, m->from_line);
	else if (!op->f) {
		char *s = reply_to(m, false), tb[64];
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(tb, sizeof tb, "%a %b %e %H:%M:%S %Y", &tm);
		str_appendf(o, "From %s  %s\n", s, tb);
		free(s);
	}
	for (i = 0; i < m->nf; i++) {
		const struct fm_field *f = &m->f[i];

		if (named_in(&op->I, f))
			continue;
		if (named_in(&op->i, f)) {
			str_append(o, "Old-");
			out_field(o, op, f->text);
			continue;
		}
		out_field(o, op, f->text);
	}
	add_edits(o, m, op);
	str_append_c(o, '\n');
	out_body(o, m->body, m->blen, NULL, !op->b, op->prefix ? op->prefix : ">");
	/* mailbox format: the mail ends in an empty line */
	if (m->blen > 0 && !(o->len >= 2 && o->s[o->len - 2] == '\n'))
		str_append_c(o, '\n');
}

static void
extract(struct str *o, const struct fm_msg *m, const struct fm_opts *op)
{
	size_t i;

	for (i = 0; i < m->nf; i++) {
		const struct fm_field *f = &m->f[i];

		if (named_in(&op->X, f))
			out_field(o, op, f->text);
		else if (named_in(&op->x, f)) {
			const char *t = f->text + f->namelen + 1;

			if (op->z) {
				size_t n;
				char *z;

				t += strspn(t, " \t");
				z = xstrdup(t);
				n = strlen(z);
				while (n > 0 && strchr(" \t\n", z[n - 1]) != NULL)
					z[--n] = '\0';
				out_field(o, op, z);
				free(z);
			} else
				out_field(o, op, t);
		}
	}
}

/* dup_check - the idcache: NUL-terminated keys, an empty one ends the
 * list; 1 when key was there, 0 when added, -1 on error */
static int
dup_check(const char *path, long maxlen, const char *key)
{
	struct str c, n;
	size_t i = 0, klen = strlen(key);
	int fd, rc = 0;

	str_init(&c, 1024);
	str_init(&n, 1024);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) < 0)
		return -1;
	if (lockf(fd, F_LOCK, 0) != 0 || file_read(path, 16 * 1024 * 1024, &c) != 0) {
		close(fd);
		return -1;
	}
	while (i < c.len && c.s[i] != '\0') {
		size_t l = strnlen(c.s + i, c.len - i);

		if (l == klen && memcmp(c.s + i, key, klen) == 0) {
			rc = 1;
			goto out;
		}
		i += l + 1;
	}
	str_append_n(&n, c.s, i < c.len ? i : c.len);
	str_append_n(&n, key, klen + 1);
	/* too big: the oldest keys go first */
	while (maxlen > 0 && n.len + 1 > (size_t)maxlen && n.len > klen + 1) {
		size_t l = strlen(n.s) + 1;

		memmove(n.s, n.s + l, n.len - l);
		n.len -= l;
	}
	str_append_n(&n, "", 1);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, n.s, n.len, 0) != (ssize_t)n.len || fsync(fd) != 0)
		rc = -1;
out:
	close(fd);
	str_deinit(&c);
	str_deinit(&n);
	return rc;
}

static int
process(const char *s, size_t len, const struct fm_opts *op, int out_fd)
{
	struct fm_msg m;
	struct str o;
	int rc = 0;

	msg_parse(&m, s, len);
	str_init(&o, len + 256);
	if (op->dup_cache != NULL) {
		const struct fm_field *mid = find(&m, "Message-ID");
		char *key = op->r ? reply_to(&m, op->t) : (mid ? value(mid) : NULL);
		int d = key != NULL ? dup_check(op->dup_cache, op->dup_max, key) : 0;

		free(key);
		if (d < 0) {
			fprintf(stderr, "formail: Couldn't open \"%s\"\n", op->dup_cache);
			rc = 2;
		}
		if (!op->split) {
			msg_free(&m);
			str_deinit(&o);
			return d == 1 ? 0 : 1;
		}
		if (d == 1) {
			msg_free(&m);
			str_deinit(&o);
			return 0;
		}
	}
	if ((op->x.n > 0 || op->X.n > 0) && op->r) {
		/* -r with -x: the field of the reply header, e.g. -rtzxTo: */
		struct str rep;
		struct fm_msg rm;

		str_init(&rep, 512);
		make_reply(&rep, &m, op);
		msg_parse(&rm, rep.s, rep.len);
		extract(&o, &rm, op);
		msg_free(&rm);
		str_deinit(&rep);
	} else if (op->x.n > 0 || op->X.n > 0)
		extract(&o, &m, op);
	else if (op->r)
		make_reply(&o, &m, op);
	else
		make_edited(&o, &m, op);
	if (storage_write_full(out_fd, o.s, o.len) != 0 && errno != EPIPE)
		rc = 1;
	msg_free(&m);
	str_deinit(&o);
	return rc;
}

/* run_split - one message into a new command */
static int
run_split(const char *s, size_t len, const struct fm_opts *op, int out_fd)
{
	int p[2], st = 0, rc;
	pid_t pid;

	if (op->split_argv == NULL || op->split_argv[0] == NULL)
		return process(s, len, op, out_fd);
	if (pipe(p) != 0 || (pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		close(p[1]);
		dup2(p[0], 0);
		close(p[0]);
		execvp(op->split_argv[0], op->split_argv);
		fprintf(stderr, "formail: Couldn't exec \"%s\"\n", op->split_argv[0]);
		_exit(127);
	}
	close(p[0]);
	rc = process(s, len, op, p[1]);
	close(p[1]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return rc;
}

static int
split_all(const char *s, size_t len, const struct fm_opts *op, int out_fd)
{
	size_t start = 0, i;
	int rc = 0;

	for (i = 1; i + 5 <= len; i++) {
		if (s[i - 1] == '\n' && memcmp(s + i, "From ", 5) == 0 && i >= 2 && s[i - 2] == '\n') {
			rc |= run_split(s + start, i - start, op, out_fd);
			start = i;
		}
	}
	if (start < len)
		rc |= run_split(s + start, len - start, op, out_fd);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "Usage: formail [-bczfrktedqBY] [-D maxlen idcache] [-x headerfield] "
	    "[-X headerfield]\n\t[-a headerfield] [-A headerfield] [-i headerfield] "
	    "[-I headerfield] [-p prefix] [-s [command [arg ...]]]\n");
}

static void
opts_init(struct fm_opts *op)
{
	memset(op, 0, sizeof *op);
	strvec_init(&op->x);
	strvec_init(&op->X);
	strvec_init(&op->a);
	strvec_init(&op->A);
	strvec_init(&op->i);
	strvec_init(&op->I);
}

static void
opts_deinit(struct fm_opts *op)
{
	strvec_deinit(&op->x);
	strvec_deinit(&op->X);
	strvec_deinit(&op->a);
	strvec_deinit(&op->A);
	strvec_deinit(&op->i);
	strvec_deinit(&op->I);
}

/* opts_parse - formail's options; 0, 64 on a usage error, -1 for -v */
static int
opts_parse(int argc, char **argv, struct fm_opts *op)
{
	int i;

	for (i = 1; i < argc && !op->split; i++) {
		const char *a = argv[i], *p;

		if (a[0] != '-' || a[1] == '\0')
			return 64;
		for (p = a + 1; *p != '\0'; p++) {
			const char *val = NULL;

			if (strchr("xXaAiIpuU", *p) != NULL) {
				val = p[1] != '\0' ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (val == NULL)
					return 64;
			}
			switch (*p) {
			case 'f': op->f = true; break;
			case 'b': op->b = true; break;
			case 'c': op->c = true; break;
			case 'r': op->r = true; break;
			case 'k': op->k = true; break;
			case 't': op->t = true; break;
			case 'z': op->z = true; break;
			case 'Y': case 'B': case 'e': case 'd': case 'q': break;
			case 'x': strvec_push(&op->x, val); break;
			case 'X': strvec_push(&op->X, val); break;
			case 'a': strvec_push(&op->a, val); break;
			case 'A': strvec_push(&op->A, val); break;
			case 'i': strvec_push(&op->i, val); break;
			case 'I': strvec_push(&op->I, val); break;
			case 'u': case 'U': break;
			case 'p': op->prefix = val; break;
			case 'D':
				if (i + 2 >= argc)
					return 64;
				op->dup_max = strtol(argv[++i], NULL, 10);
				op->dup_cache = argv[++i];
				break;
			case 's':
				op->split = true;
				op->split_argv = argv + i + 1;
				break;
			case 'v':
				return -1;
			default:
				return 64;
			}
			if (val != NULL || *p == 'D' || *p == 's')
				break;
		}
	}
	return 0;
}

int
formail_buffer(int argc, char **argv, const char *in, size_t len, int out_fd)
{
	struct fm_opts op;
	int rc;

	opts_init(&op);
	rc = opts_parse(argc, argv, &op);
	if (rc == 0)
		rc = op.split && (op.split_argv == NULL || op.split_argv[0] == NULL) ?
		    split_all(in, len, &op, out_fd) : process(in, len, &op, out_fd);
	opts_deinit(&op);
	return rc < 0 ? 64 : rc;
}

int
cmd_formail(int argc, char **argv)
{
	struct fm_opts op;
	struct str in;
	char buf[65536];
	ssize_t r;
	int rc;

	opts_init(&op);
	rc = opts_parse(argc, argv, &op);
	if (rc == -1) {
		printf("formail v3.23pre (yubin %s)\n", YUBIN_VERSION);
		opts_deinit(&op);
		return 0;
	}
	if (rc != 0) {
		usage();
		opts_deinit(&op);
		return rc;
	}
	str_init(&in, sizeof buf);
	while ((r = read(0, buf, sizeof buf)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || in.len + (size_t)r > FM_MAX_INPUT) {
			str_deinit(&in);
			opts_deinit(&op);
			return 74;
		}
		str_append_n(&in, buf, (size_t)r);
	}
	rc = op.split ? split_all(in.s, in.len, &op, 1) : process(in.s, in.len, &op, 1);
	str_deinit(&in);
	opts_deinit(&op);
	return rc;
}
