/* postmap.c - postmap(1): build, query, list and edit lookup tables.
 *
 *   postmap [-fiNnoprsUuvw] [-c DIR] [-d key] [-q key] [type:]file ...
 *
 * As Postfix 3.7 documents it: without -q, -d or -s, each [type:]file is
 * built from its source file (the type defaults to default_database_type);
 * -q looks a key up in the tables in order (-q - reads keys from stdin and
 * prints "key<TAB>value"); -s lists a table; -d deletes; -i adds entries
 * from stdin to an existing table; -f keeps keys' case; -r replaces
 * duplicates, -w ignores them (default: warn, first wins); -p does not copy
 * the source file's permissions. -N/-n (whether keys include a NUL) mean
 * nothing for yubin's tables and are accepted. -b, -h and -m (header/body
 * checks) are not supported yet. Exit status as Postfix: 0 found/done,
 * 1 not found or an error. Messages: "postmap: warning: FILE, line N: ...".
 * postalias.c uses the same engine with the aliases format.
 * Tests: tests/e2e/test_postmap.py */
#include "cli/postmap.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/maincf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

static const struct postmap_kind postmap_kind = {
	"postmap", MAPS_SOURCE_POSTMAP, "\t", false,
};

static char *postmap_default_type;	/* owned: default_database_type */

/* postmap_load_config - default_database_type from main.cf; a missing
 * main.cf leaves Postfix's default ("hash"), so postmap works without an
 * instance, as a table tool should */
static void
postmap_load_config(const char *config_dir)
{
	struct maincf *mc = maincf_new(instance_config_dir(config_dir));
	const char *error;
	struct str v;

	str_init(&v, 16);
	if (maincf_load(mc, &error) < 0) {
		if (access(maincf_path(mc), F_OK) == 0 || config_dir != NULL)
			fatal("%s", error);
		maincf_use_defaults_only(mc, true);
	}
	if (maincf_get(mc, "default_database_type", &v, &error) < 0 || v.len == 0)
		fatal("default_database_type: %s", v.len == 0 ? "empty value" : error);
	free(postmap_default_type);
	postmap_default_type = str_export(&v);
	str_deinit(&v);
	maincf_free(&mc);
}

/* postmap_spec - "type:name", the default type added when there is none.
 * A colon after a slash belongs to the file name. Caller frees. */
static char *
postmap_spec(const char *arg)
{
	const char *colon = strchr(arg, ':'), *slash = strchr(arg, '/');

	if (colon != NULL && colon != arg && (slash == NULL || colon < slash))
		return xstrdup(arg);
	return xasprintf("%s:%s", postmap_default_type ? postmap_default_type : "hash", arg);
}

/* postmap_source_name - the source file of a buildable table: the name */
static const char *
postmap_source_name(const char *spec)
{
	const char *p = spec;

	while (strncmp(p, "proxy:", 6) == 0)
		p += 6;
	return strchr(p, ':') + 1;
}

struct build_ctx {
	struct maps_writer	*w;
	bool			 any;
};

static int
build_add(void *ctx, const char *key, const char *value, int line)
{
	struct build_ctx *b = ctx;

	(void)maps_writer_add(b->w, key, value);
	b->any = true;
	return 0;
}

int
postmap_build(const struct postmap_kind *k, const char *arg, int flags, bool keep_mode)
{
	char *spec = postmap_spec(arg);
	const char *src, *error;
	struct build_ctx b = { NULL, false };
	struct str text;
	struct stat st;
	int mode = 0644, ret = -1;
	long uid = -1, gid = -1;

	str_init(&text, 4096);
	if ((b.w = maps_writer_new(spec, flags, &error)) == NULL) {
		fatal("%s", error);
	}
	src = postmap_source_name(spec);
	if (file_read(src, MAPS_SOURCE_MAX, &text) < 0 || stat(src, &st) < 0) {
		fatal("open %s: %s", src, errno == EFBIG ? "file is too large" :
		    strerror(errno));
	}
	/* The table gets the source's permissions and, when root builds it,
	 * its owner: Postfix acts as the owner of the source file. */
	if (keep_mode)
		mode = (int)(st.st_mode & 0777);
	if (geteuid() == 0) {
		uid = (long)st.st_uid;
		gid = (long)st.st_gid;
	}
	(void)maps_source_parse(src, text.s, text.len, k->format, flags & MAPS_FLAG_NO_FOLD,
	    build_add, &b);
	if (k->sentinel)
		(void)maps_writer_add(b.w, "@", "@");
	if (maps_writer_commit(b.w, mode, uid, gid, &error) < 0) {
		fatal("%s", error);
	}
	ret = 0;
	maps_writer_free(&b.w);
	str_deinit(&text);
	free(spec);
	return ret;
}

/* postmap_incremental - -i: entries from stdin into an existing table */
static int
postmap_incremental(const struct postmap_kind *k, const char *arg, int flags)
{
	char *spec = postmap_spec(arg);
	struct build_ctx b = { NULL, false };
	struct str text, path;
	const char *error;
	struct stat st;
	int ret = -1, mode = 0644;
	char buf[8192];
	size_t n;

	str_init(&text, 4096);
	str_init(&path, 64);
	if ((b.w = maps_writer_new(spec, flags, &error)) == NULL ||
	    maps_writer_load(b.w, &error) < 0) {
		fatal("%s", error);
	}
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		if (text.len + n > MAPS_SOURCE_MAX) {
			fatal("standard input is too large");
		}
		str_append_n(&text, buf, n);
	}
	(void)maps_source_parse("-", text.s, text.len, k->format, flags & MAPS_FLAG_NO_FOLD,
	    build_add, &b);
	if (k->sentinel)
		(void)maps_writer_add(b.w, "@", "@");
	if (maps_table_path(spec, &path, &error) == 0 && stat(path.s, &st) == 0)
		mode = (int)(st.st_mode & 0777);
	if (maps_writer_commit(b.w, mode, -1, -1, &error) < 0) {
		fatal("%s", error);
	}
	ret = 0;
	maps_writer_free(&b.w);
	str_deinit(&text);
	str_deinit(&path);
	free(spec);
	return ret;
}

/* postmap_query - the first table (in order, opened as needed) that has
 * key: 1 printed, 0 none has it, -1 error (fatal for the command) */
static int
postmap_query(char **args, int nargs, int flags, const char *key, struct str *value)
{
	const char *error;
	int i, r;

	for (i = 0; i < nargs; i++) {
		char *spec = postmap_spec(args[i]);
		struct maps *m = maps_open(spec, flags, &error);

		free(spec);
		if (m == NULL)
			fatal("%s", error);
		r = maps_find(m, key, value, &error);
		maps_free(&m);
		if (r < 0)
			fatal("%s", error);
		if (r > 0)
			return 1;
	}
	return 0;
}

/* read_line - one line of stdin without its newline; false at EOF */
static bool
read_line(struct str *line)
{
	int c;

	str_reset(line);
	while ((c = getchar()) != EOF && c != '\n')
		str_append_c(line, c);
	return c != EOF || line->len > 0;
}

struct dump_ctx {
	const char *sep;
};

static int
dump_one(void *ctx, const char *key, const char *value)
{
	const struct dump_ctx *d = ctx;

	printf("%s%s%s\n", key, d->sep, value);
	return 0;
}

/* postmap_delete - -d: 1 some table had the key, 0 none */
static int
postmap_delete(char **args, int nargs, int flags, const char *key)
{
	const char *error;
	int i, found = 0;

	for (i = 0; i < nargs; i++) {
		char *spec = postmap_spec(args[i]);
		struct maps_writer *w = maps_writer_new(spec, flags, &error);
		struct str path;
		struct stat st;

		str_init(&path, 64);
		if (w == NULL || maps_writer_load(w, &error) < 0)
			fatal("%s", error);
		if (maps_writer_delete(w, key) > 0) {
			int mode = 0644;

			found = 1;
			if (maps_table_path(spec, &path, &error) == 0 && stat(path.s, &st) == 0)
				mode = (int)(st.st_mode & 0777);
			if (maps_writer_commit(w, mode, -1, -1, &error) < 0)
				fatal("%s", error);
		}
		maps_writer_free(&w);
		str_deinit(&path);
		free(spec);
	}
	return found;
}

static void
postmap_usage(const struct postmap_kind *k)
{
	fatal("usage: %s [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] "
	    "[map_type:]file...", k->name);
}

int
postmap_main(const struct postmap_kind *k, int argc, char **argv)
{
	const char *config_dir = NULL, *query = NULL, *del = NULL;
	bool incremental = false, dump = false, keep_mode = true;
	int c, i, flags = 0, ret = 0;
	struct str value, line;

	optind = 1;
	while ((c = getopt(argc, argv, "bc:d:fhimNnopq:rsUuvw")) != -1) {
		switch (c) {
		case 'c':
			config_dir = optarg;
			break;
		case 'd':
			del = optarg;
			break;
		case 'f':
			flags |= MAPS_FLAG_NO_FOLD;
			break;
		case 'i':
			incremental = true;
			break;
		case 'b':
		case 'h':
		case 'm':
			fatal("-%c (header and body checks) is not supported by yubin's %s yet",
			    c, k->name);
		case 'N':
		case 'n':
			/* yubin's tables store lengths: no NUL convention */
			break;
		case 'o':
		case 'U':
		case 'u':
		case 'v':
			break;
		case 'p':
			keep_mode = false;
			break;
		case 'q':
			query = optarg;
			break;
		case 'r':
			flags |= MAPS_WRITE_DUP_REPLACE;
			break;
		case 's':
			dump = true;
			break;
		case 'w':
			flags |= MAPS_WRITE_DUP_IGNORE;
			break;
		default:
			postmap_usage(k);
		}
	}
	if (optind >= argc)
		postmap_usage(k);
	if ((query != NULL) + (del != NULL) + dump + incremental > 1)
		fatal("specify only one of -d, -i, -q or -s");
	postmap_load_config(config_dir);
	str_init(&value, 256);
	str_init(&line, 256);
	if (query != NULL && strcmp(query, "-") == 0) {
		ret = 1;
		while (read_line(&line)) {
			if (postmap_query(argv + optind, argc - optind, flags, line.s, &value) > 0) {
				printf("%s%s%s\n", line.s, k->dump_sep, value.s);
				ret = 0;
			}
		}
	} else if (query != NULL) {
		ret = 1;
		if (postmap_query(argv + optind, argc - optind, flags, query, &value) > 0) {
			printf("%s\n", value.s);
			ret = 0;
		}
	} else if (del != NULL && strcmp(del, "-") == 0) {
		ret = 1;
		while (read_line(&line))
			if (postmap_delete(argv + optind, argc - optind, flags, line.s) > 0)
				ret = 0;
	} else if (del != NULL) {
		ret = postmap_delete(argv + optind, argc - optind, flags, del) > 0 ? 0 : 1;
	} else if (dump) {
		struct dump_ctx d = { k->dump_sep };
		const char *error;

		for (i = optind; i < argc; i++) {
			char *spec = postmap_spec(argv[i]);

			if (maps_iterate(spec, flags, dump_one, &d, &error) < 0)
				fatal("%s", error);
			free(spec);
		}
	} else {
		for (i = optind; i < argc; i++) {
			int r = incremental ? postmap_incremental(k, argv[i], flags) :
			    postmap_build(k, argv[i], flags, keep_mode);

			if (r < 0)
				ret = 1;
		}
	}
	fflush(stdout);
	str_deinit(&value);
	str_deinit(&line);
	XFREE(postmap_default_type);
	return ret;
}

int
cmd_postmap(int argc, char **argv)
{
	return postmap_main(&postmap_kind, argc, argv);
}
