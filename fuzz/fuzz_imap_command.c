/* fuzz_imap_command.c - the IMAP command gatherer and argument parser on
 * arbitrary input fed in pieces whose sizes the input chooses, then every
 * argument as a sequence set and as a search program (imap_search.c) and
 * as a mailbox name, the whole argument list as LIST/LSUB arguments
 * (imap_list.c: LIST-EXTENDED options, patterns, RETURN (STATUS ...)) and
 * as SEARCH RETURN options (imap_esearch.c), and every string through
 * the UTF-8 / modified UTF-7 name conversions (imap_utf7.c). Checks: the
 * gathered command never exceeds its limits, every argument tree is
 * consistent, and a UTF-8 name comes back unchanged from mUTF-7. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_esearch.h"
#include "imap/imap_conf.h"
#include "imap/imap_list.h"
#include "imap/imap_mail-private.h"
#include "imap/imap_ns.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_utf7.h"
#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ns_roundtrip - a client name the namespace accepts comes back the
 * same from its internal form, under "/", under prefix "INBOX." and under
 * LAYOUT=fs's default */
static void
ns_roundtrip(const char *name)
{
	static char prefix[] = "INBOX.";
	struct imap_conf conf;
	struct imap_sess s;
	unsigned v;

	for (v = 0; v < 3; v++) {
		struct str in, out, err;

		memset(&conf, 0, sizeof(conf));
		memset(&s, 0, sizeof(s));
		s.conf = &conf;
		conf.ns_sep = v == 0 ? '/' : v == 1 ? '.' : '\0';
		conf.ns_prefix = v == 1 ? prefix : NULL;
		s.layout.fs = s.layout.dots = v == 2;
		str_init(&in, 32);
		str_init(&out, 32);
		str_init(&err, 32);
		if (imap_ns_in(&s, name, &in, &err) == 0) {
			/* whatever the name, its LAYOUT=fs directory has no
			 * "." or ".." component */
			if (v == 2) {
				char root[] = "/r";
				char *dir, *c;

				s.layout.root = root;
				dir = imap_layout_dir(&s.layout, in.s);
				for (c = dir; c != NULL; c = strchr(c + 1, '/'))
					if (strcmp(c, "/.") == 0 || strcmp(c, "/..") == 0 ||
					    strncmp(c, "/./", 3) == 0 || strncmp(c, "/../", 4) == 0)
						__builtin_trap();
				free(dir);
				s.layout.root = NULL;
			}
			imap_ns_out(&s, in.s, &out);
			/* INBOX is INBOX in any case, and so is the INBOX of
			 * "inbox/child" (Dovecot's rule): it comes back as
			 * "INBOX" */
			if (strncasecmp(name, "INBOX", 5) == 0 && strncmp(out.s, "INBOX", 5) == 0 &&
			    strcmp(out.s + 5, name + 5) == 0)
				;
			else if (strcmp(out.s, name) != 0 || err.len != 0)
				__builtin_trap();
		} else if (err.len == 0) {
			__builtin_trap();
		}
		str_deinit(&in);
		str_deinit(&out);
		str_deinit(&err);
	}
}

static void
walk(const struct imap_arg *args, size_t n, unsigned depth)
{
	size_t i;

	if (depth > IMAP_PARSER_MAX_DEPTH + 1)
		__builtin_trap();
	for (i = 0; i < n; i++) {
		if (args[i].type == IMAP_ARG_LIST) {
			walk(args[i].list, args[i].count, depth + 1);
		} else {
			struct imap_seqset s;
			struct str out;

			if (args[i].str == NULL || args[i].str[args[i].len] != '\0')
				__builtin_trap();
			if (imap_seqset_parse(args[i].str, &s) == 0)
				imap_seqset_deinit(&s);
			str_init(&out, 32);
			(void)imap_mailbox_name_check(args[i].str, &out);
			/* UTF8=ACCEPT names: UTF-8 to mUTF-7 and back is the identity */
			str_reset(&out);
			if (imap_utf8_to_mutf7(args[i].str, &out) == 0) {
				struct str back;

				str_init(&back, 32);
				if (imap_mutf7_to_utf8(out.s, &back) != 0 ||
				    strcmp(back.s, args[i].str) != 0)
					__builtin_trap();
				str_deinit(&back);
			}
			str_reset(&out);
			(void)imap_mutf7_to_utf8(args[i].str, &out);
			str_deinit(&out);
			ns_roundtrip(args[i].str);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser p;
	size_t off = 0, step = size > 0 ? (size_t)data[0] % 17 + 1 : 1;

	imap_parser_init(&p, 4096, 8192);
	while (off < size) {
		size_t n = size - off < step ? size - off : step, used;
		enum imap_feed r = imap_parser_feed(&p, (const char *)data + off, n, &used);

		if (used > n)
			__builtin_trap();
		off += used;
		if (p.text_len > 4096 || p.buf.len > 4096 + 8192 + 4096)
			__builtin_trap();
		if (r == IMAP_FEED_FATAL)
			break;
		if (r == IMAP_FEED_COMMAND) {
			struct imap_arg *args;
			const char *tag, *name;
			size_t count;

			if (imap_parser_args(&p, &tag, &name, &args, &count) == 0) {
				struct imap_search *s;
				const char *err;

				struct imap_search_ret sret;
				struct imap_list_req lr;
				struct str e;
				size_t rused, k;

				walk(args, count, 0);
				s = imap_search_parse(args, count, &err);
				imap_search_free(&s);
				if (imap_search_ret_parse(args, count, &sret, &rused, &err) == 0 &&
				    rused > count)
					__builtin_trap();
				str_init(&e, 64);
				for (k = 0; k < 2; k++) {
					if (imap_list_parse(args, count, k == 1, &lr, &e) == 0) {
						size_t j;

						for (j = 0; j < lr.npat; j++) {
							(void)imap_list_match(lr.pat[j], "INBOX.a.b%c", '.');
							(void)imap_list_match(lr.pat[j], "INBOX/a.b%c", '/');
						}
						imap_list_req_free(&lr);
					}
				}
				str_deinit(&e);
			}
			imap_parser_reset(&p);
		}
	}
	imap_parser_deinit(&p);
	return 0;
}
