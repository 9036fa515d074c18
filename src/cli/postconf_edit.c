/* postconf_edit.c - postconf -e, -X and -#: edit main.cf in place.
 *
 * Like Postfix: -e replaces every setting of a name (with its continuation
 * lines) by one "name = value" line and appends names that are not there;
 * -X removes them; -# comments them out. Comments, blank lines and order
 * are kept. The new file replaces the old one atomically (fsync, rename).
 * Tests: tests/e2e/test_postconf.py */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/postconf_edit.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

#define POSTCONF_EDIT_MAX	(16u * 1024 * 1024)

struct postconf_change {
	char	*name;		/* owned */
	char	*value;		/* owned; NULL for -X and -# */
	bool	 done;		/* written in place already */
};

/* postconf_line_name - the parameter a logical line sets, into name */
static bool
postconf_line_name(const char *line, size_t len, struct str *name)
{
	size_t i = 0;

	str_reset(name);
	if (len == 0 || isspace((unsigned char)line[0]) || line[0] == '#')
		return false;
	while (i < len && line[i] != '=' && !isspace((unsigned char)line[i]))
		i++;
	str_append_n(name, line, i);
	return i > 0;
}

static struct postconf_change *
postconf_find_change(struct postconf_change *ch, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(ch[i].name, name) == 0)
			return &ch[i];
	return NULL;
}

static int
postconf_parse_changes(int mode, int argc, char **argv, struct postconf_change *ch)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '='), *v;
		const char *end;

		if (mode == 'e') {
			if (eq == NULL) {
				log_error("missing '=' after attribute name: \"%s\"", arg);
				return -1;
			}
			end = eq;
			while (end > arg && isspace((unsigned char)end[-1]))
				end--;
			v = eq + 1;
			while (isspace((unsigned char)*v))
				v++;
			ch[i].name = xstrndup(arg, (size_t)(end - arg));
			ch[i].value = xstrdup(v);
			/* A value spanning lines would become continuation lines. */
			for (char *p = ch[i].value; *p; p++)
				if (*p == '\n' || *p == '\r')
					*p = ' ';
		} else {
			if (eq != NULL) {
				log_error("illegal parameter name: \"%s\"", arg);
				return -1;
			}
			ch[i].name = xstrdup(arg);
			ch[i].value = NULL;
		}
		if (ch[i].name[0] == '\0' || strpbrk(ch[i].name, " \t#") != NULL) {
			log_error("illegal parameter name: \"%s\"", ch[i].name);
			return -1;
		}
	}
	return 0;
}

int
postconf_edit(const char *dir, int mode, int argc, char **argv)
{
	struct postconf_change *ch = xcalloc((size_t)argc, sizeof(*ch));
	struct str text, out, name;
	char *path = path_join(dir, "main.cf");
	struct postconf_change *cur = NULL;	/* the entry being edited, if any */
	const char *p, *end;
	struct stat st;
	int ret = 1, mode_bits = 0644, i;

	str_init(&text, 4096);
	str_init(&out, 4096);
	str_init(&name, 64);
	if (postconf_parse_changes(mode, argc, argv, ch) < 0)
		goto out;
	if (file_read(path, POSTCONF_EDIT_MAX, &text) < 0) {
		if (errno != ENOENT || mode != 'e') {
			log_error("open %s: %s", path, strerror(errno));
			goto out;
		}
	} else if (stat(path, &st) == 0) {
		mode_bits = st.st_mode & 07777;
	}

	for (p = text.s, end = text.s + text.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		bool continuation = len > 0 && isspace((unsigned char)p[0]);
		bool blank = true;
		size_t k;

		for (k = 0; k < len; k++)
			if (!isspace((unsigned char)p[k])) {
				blank = false;
				break;
			}
		if (continuation && !blank && cur != NULL) {
			/* Part of an edited setting: -e and -X drop it, -# comments it. */
			if (mode == '#') {
				str_append_c(&out, '#');
				str_append_n(&out, p, len);
				str_append_c(&out, '\n');
			}
		} else if (!continuation && postconf_line_name(p, len, &name) &&
		    (cur = postconf_find_change(ch, (size_t)argc, name.s)) != NULL) {
			if (mode == 'e')
				str_appendf(&out, "%s = %s\n", cur->name, cur->value);
			else if (mode == '#') {
				str_append_c(&out, '#');
				str_append_n(&out, p, len);
				str_append_c(&out, '\n');
			}
			cur->done = true;
		} else {
			if (!continuation && !blank && p[0] != '#')
				cur = NULL;
			str_append_n(&out, p, len);
			if (nl != NULL)
				str_append_c(&out, '\n');
		}
		p = nl ? nl + 1 : end;
	}
	if (mode == 'e') {
		for (i = 0; i < argc; i++) {
			if (ch[i].done || postconf_find_change(ch, (size_t)i, ch[i].name) != NULL)
				continue;
			if (out.len > 0 && out.s[out.len - 1] != '\n')
				str_append_c(&out, '\n');
			str_appendf(&out, "%s = %s\n", ch[i].name, ch[i].value);
		}
	}
	if (file_write_atomic(path, out.s, out.len, mode_bits) < 0) {
		log_error("write %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < argc; i++) {
		free(ch[i].name);
		free(ch[i].value);
	}
	free(ch);
	free(path);
	str_deinit(&text);
	str_deinit(&out);
	str_deinit(&name);
	return ret;
}
