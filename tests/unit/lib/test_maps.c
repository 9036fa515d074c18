/* test_maps.c - lookup tables: every back end, lists, folding, the cdb
 * round trip, regexp flags and if/endif, partial address keys, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/maps-private.h"
#include "lib/maps.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/util.h"

static char tmpdir[] = "/tmp/test_maps.XXXXXX";

static char *
write_tmp(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* expect - maps_find on spec gives want (NULL = not found) */
static void
expect(const char *spec, int flags, const char *key, const char *want)
{
	const char *err = NULL;
	struct maps *m = maps_open(spec, flags, &err);
	struct str v;
	int r;

	if (m == NULL)
		fail_msg("open %s: %s", spec, err);
	str_init(&v, 16);
	r = maps_find(m, key, &v, &err);
	if (want == NULL) {
		if (r != 0)
			fail_msg("%s: %s: want not found, got %d (%s)", spec, key, r,
			    r > 0 ? v.s : err);
	} else {
		if (r != 1)
			fail_msg("%s: %s: want \"%s\", got %d (%s)", spec, key, want, r,
			    r < 0 ? err : "");
		assert_string_equal(v.s, want);
	}
	str_deinit(&v);
	maps_free(&m);
	assert_null(m);
}

static void
test_inline_and_static(void **state)
{
	expect("inline:{ a=1, { b = two words }, C=3 }", 0, "a", "1");
	expect("inline:{ a=1, { b = two words }, C=3 }", 0, "B", "two words");
	expect("inline:{ a=1, { b = two words }, C=3 }", 0, "c", "3");
	expect("inline:{ a=1, { b = two words }, C=3 }", 0, "d", NULL);
	expect("inline:{ a=1 }", MAPS_FLAG_NO_FOLD, "A", NULL);
	expect("static:OK", 0, "anything", "OK");
	expect("static:{ with spaces }", 0, "x", "with spaces");
	assert_true(maps_type_is_known("hash"));
	assert_true(maps_type_is_known("regexp"));
	assert_false(maps_type_is_known("ldap"));
}

static void
test_bad_specs_fail_at_open(void **state)
{
	const char *err = NULL;

	assert_null(maps_open("ldap:/x", 0, &err));
	assert_string_equal(err, "unsupported dictionary type: ldap");
	assert_null(maps_open("nocolon", 0, &err));
	assert_null(maps_open("", 0, &err));
	assert_null(maps_open("inline:{ a }", 0, &err));
	assert_null(maps_open("inline:{ a=b", 0, &err));
	assert_null(maps_open("unix:nope.byname", 0, &err));
}

static void
test_missing_file_is_an_error_not_a_miss(void **state)
{
	char *spec = xasprintf("hash:%s/absent", tmpdir);
	const char *err = NULL;
	struct maps *m;
	struct str v;

	assert_null(maps_open(spec, 0, &err));
	assert_non_null(strstr(err, "absent.db: No such file or directory"));
	m = maps_open(spec, MAPS_FLAG_DEFER_ERRORS, &err);
	assert_non_null(m);
	str_init(&v, 16);
	assert_int_equal(maps_find(m, "key", &v, &err), -1);
	assert_non_null(strstr(err, "open database"));
	maps_free(&m);
	str_deinit(&v);
	free(spec);
}

struct collect {
	struct strvec keys;
	struct strvec values;
};

static int
collect_add(void *ctx, const char *key, const char *value, int line)
{
	struct collect *c = ctx;

	strvec_push(&c->keys, key);
	strvec_push_take(&c->values, xasprintf("%d:%s", line, value));
	return 0;
}

static void
test_source_format(void **state)
{
	const char *text = "Foo  bar baz\n# comment\nk2 v2\n  cont\n#c\n\tmore\nk3\nk4:  x\n"
	    "   orphan\nk5 v5  \n";
	struct collect c;
	int w;

	log_open("test", 0);
	strvec_init(&c.keys);
	strvec_init(&c.values);
	w = maps_source_parse("src", text, strlen(text), MAPS_SOURCE_POSTMAP, 0, collect_add, &c);
	assert_int_equal(w, 2);		/* k3 has no value; k4: looks like aliases */
	/* "orphan" continues k4's logical line, as in Postfix's readlline */
	assert_int_equal(c.keys.n, 4);
	assert_string_equal(c.keys.v[0], "foo");
	assert_string_equal(c.values.v[0], "1:bar baz");
	assert_string_equal(c.values.v[1], "3:v2  cont\tmore");
	assert_string_equal(c.keys.v[2], "k4:");
	assert_string_equal(c.values.v[2], "8:x   orphan");
	assert_string_equal(c.values.v[3], "10:v5");
	strvec_deinit(&c.keys);
	strvec_deinit(&c.values);

	/* a continuation with nothing to continue is dropped with a warning */
	strvec_init(&c.keys);
	strvec_init(&c.values);
	w = maps_source_parse("src", "  lead\nk v\n", 11, MAPS_SOURCE_POSTMAP, 0, collect_add, &c);
	assert_int_equal(w, 1);
	assert_int_equal(c.keys.n, 1);
	strvec_deinit(&c.keys);
	strvec_deinit(&c.values);
}

static void
test_aliases_format(void **state)
{
	const char *text = "Root: a,b ,  c\n\"x y\": z\nbad line\nuser@dom: q\n"
	    "p: |\"/bin/cmd arg\", /tmp/f, :include:/etc/inc\nr:\n  s,\n  t\n"
	    "k: a\\,b\nn: Name <a@b>\n";
	struct collect c;
	int w;

	log_open("test", 0);
	strvec_init(&c.keys);
	strvec_init(&c.values);
	w = maps_source_parse("aliases", text, strlen(text), MAPS_SOURCE_ALIASES, 0,
	    collect_add, &c);
	assert_int_equal(w, 2);
	assert_int_equal(c.keys.n, 6);
	assert_string_equal(c.keys.v[0], "root");
	assert_string_equal(c.values.v[0], "1:a, b, c");
	assert_string_equal(c.keys.v[1], "x y");
	assert_string_equal(c.values.v[2], "5:|\"/bin/cmd arg\", /tmp/f, :include:/etc/inc");
	assert_string_equal(c.values.v[3], "6:s, t");
	assert_string_equal(c.values.v[4], "9:\"a,b\"");
	assert_string_equal(c.values.v[5], "10:Name <a@b>");
	strvec_deinit(&c.keys);
	strvec_deinit(&c.values);
}

static void
test_cdb_round_trip_with_collisions(void **state)
{
	/* "a6" and "gp" have the same hash (with xor); so do "a7" and "gq" */
	static const char *const coll[] = { "a6", "gp", "a7", "gq" };
	char *spec = xasprintf("cdb:%s/big", tmpdir);
	const char *err = NULL;
	struct maps_writer *w;
	struct maps *m;
	struct str v;
	char key[32], val[32];
	size_t i;

	log_open("test", 0);
	assert_int_equal(maps_cdb_hash("a6", 2), maps_cdb_hash("gp", 2));
	assert_int_equal(maps_cdb_hash("a7", 2), maps_cdb_hash("gq", 2));
	w = maps_writer_new(spec, MAPS_WRITE_DUP_IGNORE, &err);
	assert_non_null(w);
	for (i = 0; i < 4; i++)
		assert_int_equal(maps_writer_add(w, coll[i], coll[i]), 1);
	for (i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "key%zu", i);
		snprintf(val, sizeof(val), "value%zu", i * 7);
		assert_int_equal(maps_writer_add(w, key, val), 1);
	}
	assert_int_equal(maps_writer_add(w, "key1", "dup"), 0);
	assert_int_equal(maps_writer_commit(w, 0600, -1, -1, &err), 0);
	maps_writer_free(&w);

	m = maps_open(spec, 0, &err);
	assert_non_null(m);
	str_init(&v, 16);
	for (i = 0; i < 4; i++) {
		char lower[8];

		snprintf(lower, sizeof(lower), "%s", coll[i]);
		maps_fold(lower);
		assert_int_equal(maps_find(m, lower, &v, &err), 1);
		assert_string_equal(v.s, lower);
	}
	for (i = 0; i < 50000; i += 997) {
		snprintf(key, sizeof(key), "KEY%zu", i);
		snprintf(val, sizeof(val), "value%zu", i * 7);
		assert_int_equal(maps_find(m, key, &v, &err), 1);
		assert_string_equal(v.s, val);
	}
	assert_int_equal(maps_find(m, "key1", &v, &err), 1);
	assert_string_equal(v.s, "value7");
	assert_int_equal(maps_find(m, "key50000", &v, &err), 0);
	assert_int_equal(maps_find(m, "", &v, &err), 0);
	maps_free(&m);
	str_deinit(&v);
	free(spec);
}

static void
test_damaged_tables_are_errors(void **state)
{
	char *spec = xasprintf("hash:%s/bad", tmpdir);
	char *path = write_tmp("bad.db", "short");
	const char *err = NULL;
	struct str junk;
	size_t i;

	assert_null(maps_open(spec, 0, &err));
	assert_non_null(strstr(err, "too short"));
	/* a header pointing past the end of the file */
	str_init(&junk, 4096);
	for (i = 0; i < 4096; i++)
		str_append_c(&junk, (char)(i * 31 + 7));
	assert_int_equal(file_write_atomic(path, junk.s, junk.len, 0644), 0);
	assert_null(maps_open(spec, 0, &err));
	str_deinit(&junk);
	free(spec);
	free(path);
}

static void
test_texthash(void **state)
{
	char *path = write_tmp("th", "User@Example.COM ok\nother  two words\nuser@example.com dup\n");
	char *spec = xasprintf("texthash:%s", path);

	log_open("test", 0);
	expect(spec, 0, "user@example.com", "ok");
	expect(spec, 0, "USER@EXAMPLE.COM", "ok");
	expect(spec, 0, "other", "two words");
	expect(spec, 0, "nope", NULL);
	free(spec);
	free(path);
}

static void
test_regexp(void **state)
{
	char *path = write_tmp("re",
	    "/^(.*)@example\\.com$/\tlocal $1 ${1}$$\n"
	    "/^CASE$/i\tsensitive\n"
	    "/^case$/\tinsensitive\n"
	    "!/@/\tno at sign\n"
	    "if /\\.org$/\n"
	    "/^a/\ta-dot-org\n"
	    "if !/^ab/\n"
	    "/^a/\tnot-ab-dot-org\n"
	    "endif\n"
	    "endif\n"
	    "/^a/\ta-anything\n"
	    "/x/!/y/\tx-without-y\n"
	    "#(a+)+ is fine for a DFA; bounds are capped\n"
	    "/(a{255}){255}/ never\n"

	    "/[/ bad\n"
	    "/(a)/ $2\n"
	    "/^line\nfeed/m\tmulti\n");
	char *spec = xasprintf("regexp:%s", path);

	log_open("test", 0);
	expect(spec, 0, "Joe@Example.com", "local Joe Joe$");
	expect(spec, 0, "CASE", "sensitive");
	expect(spec, 0, "case", "insensitive");
	expect(spec, 0, "Case", "insensitive");
	expect(spec, 0, "nohost", "no at sign");
	expect(spec, 0, "abc@x.org", "a-dot-org");
	expect(spec, 0, "b@q.org", NULL);
	expect(spec, 0, "abc@x.net", "a-anything");
	expect(spec, 0, "x@y", NULL);
	expect(spec, 0, "x@z", "x-without-y");
	expect(spec, MAPS_FLAG_FOLD_PATTERN, "CASE", "insensitive");
	free(spec);
	free(path);

	/* nested repeats that would expand to gigabytes are refused; long
	 * flat patterns are not */
	path = write_tmp("re3",
	    "/k++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++/ never\n"
	    "/$k+++*+++++++++++01}1!/ never (stacked repetition: exponential in glibc)\n"
	    "/^k+?$/ two in a row are allowed\n"
	    "/^[a-z]+\\.[a-z]+\\.[a-z]+\\.[a-z]+\\.[a-z]+\\.[a-z]+\\.[a-z]+\\.[a-z]+\\.[a-z]+"
	    "\\.[a-z]+\\.[a-z]+\\.[a-z]+$/ twelve\n"
	    "/^([0-9]{1,3}\\.){3}[0-9]{1,3}$/ ipv4\n"
	    "/\\.{0,255}{0,255}{1,255}/ braces in a row (a fuzzer's: gigabytes in glibc)\n"
	    "/^x{255}{255}$/ 65025 copies\n"
	    "/^q{2}{2}$/ four qs\n"
	    "/5{,2505}{1,255}/ glibc's {,n} counts too (another fuzzer's)\n"
	    "/^(.*){1,255}e/ a variable group 255 times (a third fuzzer's)\n"
	    "/^(((((z*)*)*)*)*)$/ height 5\n"
	    "/^(w*)+v$/ height 2 is fine\n"
	    "/^(.|){1,255}y$/ alternatives 255 times\n"
	    "/^(ab|cd){2}$/ alternatives twice\n"
	    "/\\.{0,255}{0,}{1,255}/ an open interval in the row\n"
	    "/.|(^){1,255}e\\.com$/ an anchor 255 times (a fifth fuzzer's)\n"
	    "/^((\\<){1,8}){1,8}a$/ 64 anchors are fine\n"
	    "/(a)\\1{1,200}/ back-references count as anchors\n"
	    "/^(.*){\\,255}g/ an escaped comma in an interval (a sixth fuzzer's)\n"
	    "/^(h){1\\,3}$/ an escaped comma, as glibc reads it\n");
	spec = xasprintf("regexp:%s", path);
	expect(spec, 0, "...", NULL);
	expect(spec, 0, "55555", NULL);
	expect(spec, 0, "xe", NULL);
	expect(spec, 0, "zz", NULL);
	expect(spec, 0, "wwv", "height 2 is fine");
	expect(spec, 0, "xy", NULL);
	expect(spec, 0, "e.com", NULL);
	expect(spec, 0, "a", "64 anchors are fine");
	expect(spec, 0, "aaa", NULL);
	expect(spec, 0, "xg", NULL);
	expect(spec, 0, "hhh", "an escaped comma, as glibc reads it");
	expect(spec, 0, "abcd", "alternatives twice");
	expect(spec, 0, "qqqq", "four qs");
	expect(spec, 0, "kkkk", "two in a row are allowed");
	expect(spec, 0, "$kk01}1!", NULL);
	expect(spec, 0, "b.c.d.e.f.g.h.i.j.k.l.m", "twelve");
	expect(spec, 0, "192.0.2.1", "ipv4");
	free(spec);
	free(path);

	/* a review's findings: counts a ")" hands to the top level, groups
	 * as the syntax makes them, "\0" as a digit inside an interval */
	{
		struct str t;

		str_init(&t, 16384);
		for (int i = 0; i < 8; i++)
			str_append(&t, i == 0 ? "/((^){127})" : "((^){127})");
		str_append(&t, "/ top-level anchors\n");
		for (int i = 0; i < 390; i++)
			str_append(&t, i == 0 ? "/((((a{8}){8}){8}){4})" : "((((a{8}){8}){8}){4})");
		str_append(&t, "/ top-level nodes\n");
		str_append(&t, "/(((a{255}\\)\\))){255}\\)){255}/ escaped parens are text in ERE\n");
		str_append(&t, "/\\(\\(a\\{255\\}(\\)\\{255\\}(\\)\\{255\\}/x parens are text in BRE\n");
		str_append(&t, "/((a{2\\0\\0}){2\\0\\0}){2\\0\\0}/ zeros escaped in a bound\n");
		str_append(&t, "/^a{2\\0\\0}$/ two hundred\n");
		str_append(&t, "/^\\(q\\)$/ a parenthesised q\n");
		str_append(&t, "/^\\(rs\\)*$/x basic groups\n");
		str_append(&t, "/^(){1,255}e/ empty groups are zero-width (a fuzzer's)\n");
		str_append(&t, "/^f(){1,8}$/ eight empty groups\n");
		path = write_tmp("re4", t.s);
		str_deinit(&t);
	}
	spec = xasprintf("regexp:%s", path);
	expect(spec, 0, "^", NULL);
	expect(spec, 0, "aaaaaaaa", NULL);
	expect(spec, 0, "(q)", "a parenthesised q");
	expect(spec, 0, "rsrs", "basic groups");
	expect(spec, 0, "e", NULL);
	expect(spec, 0, "f", "eight empty groups");
	{
		char a200[201];

		memset(a200, 'a', 200);
		a200[200] = '\0';
		expect(spec, 0, a200, "two hundred");
		a200[199] = '\0';
		expect(spec, 0, a200, NULL);
	}
	free(spec);
	free(path);

	/* what the estimate lets through but glibc compiles slowly (128
	 * anchors of two kinds: seconds here) is tried in a child first,
	 * under a CPU budget; costly but quick patterns pass that test */
	maps_regexp_set_probe_ms(100);
	/* with SIGCHLD ignored the kernel would reap the child first */
	signal(SIGCHLD, SIG_IGN);
	path = write_tmp("re5",
	    "/(\\<){1,63}(\\>){1,63}|^(y)$/ slow $3 (submatches: no REG_NOSUB)\n"
	    "/^(ab){2,3}$/ repeated group\n"
	    "/^\\(cd\\)\\{2\\}$/x basic interval\n"
	    "/^(\\<){1,9}z$/ nine anchors: costly, quick\n"
	    "/^x/ plain\n");
	spec = xasprintf("regexp:%s", path);
	expect(spec, 0, "x", "plain");
	expect(spec, 0, "z", "nine anchors: costly, quick");
	expect(spec, 0, "y", NULL);
	expect(spec, 0, "ababab", "repeated group");
	expect(spec, 0, "cdcd", "basic interval");
	free(spec);
	free(path);
	maps_regexp_set_probe_ms(0);
	signal(SIGCHLD, SIG_DFL);

	path = write_tmp("re2", "/^ab/\tinner\nif /^a/\n/^ac/ ac\n");
	spec = xasprintf("regexp:%s", path);
	expect(spec, 0, "ab", "inner");
	expect(spec, 0, "ac", "ac");
	expect(spec, 0, "b", NULL);
	free(spec);
	free(path);
}

static void
test_lists_search_in_order_and_stop_at_errors(void **state)
{
	char *spec = xasprintf("inline:{a=first}, static:second");
	char *broken = xasprintf("inline:{a=1} hash:%s/none static:x", tmpdir);
	const char *err;
	struct maps *m;
	struct str v;

	expect(spec, 0, "a", "first");
	expect(spec, 0, "b", "second");
	m = maps_open(broken, MAPS_FLAG_DEFER_ERRORS, &err);
	assert_non_null(m);
	str_init(&v, 16);
	assert_int_equal(maps_find(m, "a", &v, &err), 1);
	assert_int_equal(maps_find(m, "b", &v, &err), -1);
	assert_string_equal(maps_title(m), broken);
	maps_free(&m);
	str_deinit(&v);
	free(spec);
	free(broken);
}

static void
test_cache_shares_tables(void **state)
{
	const char *err;
	struct maps *a = maps_open("inline:{k=v}", 0, &err);
	struct maps *b = maps_open("inline:{k=v}", 0, &err);
	struct str v;

	str_init(&v, 16);
	maps_free(&a);
	assert_int_equal(maps_find(b, "k", &v, &err), 1);
	maps_free(&b);
	str_deinit(&v);
}

static void
check_keys(const char *addr, const struct maps_addr_opts *o, const char *const *want)
{
	struct strvec keys;
	size_t i;

	strvec_init(&keys);
	maps_address_keys(addr, o, &keys);
	for (i = 0; want[i] != NULL; i++) {
		if (i >= keys.n)
			fail_msg("%s: missing key %s", addr, want[i]);
		assert_string_equal(keys.v[i], want[i]);
	}
	assert_int_equal(keys.n, i);
	strvec_deinit(&keys);
}

static void
test_address_search_order(void **state)
{
	struct maps_addr_opts acc = { MAPS_ADDR_ACCESS, 0, "+" };
	struct maps_addr_opts accp = { MAPS_ADDR_ACCESS, MAPS_ADDR_PARENT, "+" };
	struct maps_addr_opts accd = { MAPS_ADDR_ACCESS, MAPS_ADDR_DOT_PARENT, "+-" };
	struct maps_addr_opts virt = { MAPS_ADDR_VIRTUAL, MAPS_ADDR_LOCAL_DOMAIN, "+" };
	struct maps_addr_opts virt2 = { MAPS_ADDR_VIRTUAL, 0, NULL };
	const char *err;
	struct maps *m;
	struct str v, k;

	check_keys("user+ext@sub.example.com", &acc, (const char *const[]){
	    "user+ext@sub.example.com", "user@sub.example.com", "sub.example.com",
	    "user+ext@", "user@", NULL });
	check_keys("user@sub.example.com", &accp, (const char *const[]){
	    "user@sub.example.com", "sub.example.com", "example.com", "com", "user@", NULL });
	check_keys("owner-list@a.b", &accd, (const char *const[]){
	    "owner-list@a.b", "a.b", ".b", "owner-list@", NULL });
	check_keys("user+ext@example.com", &virt, (const char *const[]){
	    "user+ext@example.com", "user@example.com", "user+ext", "user", "@example.com",
	    NULL });
	check_keys("user+ext@example.com", &virt2, (const char *const[]){
	    "user+ext@example.com", "@example.com", NULL });

	/* partial keys skip regexp tables; the matched key is reported */
	m = maps_open("inline:{ example.com=DOMAIN, user@=LOCAL }", 0, &err);
	assert_non_null(m);
	str_init(&v, 16);
	str_init(&k, 16);
	assert_int_equal(maps_find_address(m, "User+x@Example.com", &acc, &v, &k, &err), 1);
	assert_string_equal(v.s, "DOMAIN");
	assert_string_equal(k.s, "Example.com");
	assert_int_equal(maps_find_address(m, "user@other", &acc, &v, &k, &err), 1);
	assert_string_equal(v.s, "LOCAL");
	assert_int_equal(maps_find_address(m, "x@other", &acc, &v, NULL, &err), 0);
	maps_free(&m);
	str_deinit(&v);
	str_deinit(&k);
}

static void
test_bounded_input(void **state)
{
	struct str big, v;
	const char *err;
	struct maps *m;
	char *path, *spec;
	struct collect c;
	size_t i;

	log_open("test", 0);
	str_init(&big, 2 * 1024 * 1024);
	for (i = 0; i < 1024 * 1024 + 10; i++)
		str_append_c(&big, 'k');
	m = maps_open("static:x", 0, &err);
	str_init(&v, 16);
	assert_int_equal(maps_find(m, big.s, &v, &err), -1);
	maps_free(&m);

	/* a source line over MAPS_LINE_MAX is skipped, the rest is read */
	str_append(&big, " v\nsmall value\n");
	strvec_init(&c.keys);
	strvec_init(&c.values);
	assert_int_equal(maps_source_parse("big", big.s, big.len, MAPS_SOURCE_POSTMAP, 0,
	    collect_add, &c), 1);
	assert_int_equal(c.keys.n, 1);
	strvec_deinit(&c.keys);
	strvec_deinit(&c.values);

	/* binary garbage in a regexp table: rules skipped, no crash */
	str_reset(&big);
	for (i = 0; i < 65536; i++)
		str_append_c(&big, (char)((i * 7919) % 251 + 1));
	path = xasprintf("%s/garbage", tmpdir);
	assert_int_equal(file_write_atomic(path, big.s, big.len, 0644), 0);
	spec = xasprintf("regexp:%s", path);
	m = maps_open(spec, 0, &err);
	assert_non_null(m);
	(void)maps_find(m, "some key", &v, &err);
	maps_free(&m);
	free(spec);
	spec = xasprintf("texthash:%s", path);
	m = maps_open(spec, 0, &err);
	assert_non_null(m);
	maps_free(&m);
	free(spec);
	free(path);
	str_deinit(&big);
	str_deinit(&v);
}

static int
collect_iter(void *ctx, const char *key, const char *value)
{
	struct collect *c = ctx;

	strvec_push(&c->keys, key);
	strvec_push(&c->values, value);
	return 0;
}

static void
test_writer_incremental_delete_and_iterate(void **state)
{
	char *spec = xasprintf("hash:%s/inc", tmpdir);
	const char *err;
	struct maps_writer *w;
	struct collect c;
	struct stat st;
	char *path = xasprintf("%s/inc.db", tmpdir);

	w = maps_writer_new(spec, 0, &err);
	maps_writer_add(w, "a", "1");
	maps_writer_add(w, "b", "2");
	assert_int_equal(maps_writer_commit(w, 0640, -1, -1, &err), 0);
	maps_writer_free(&w);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	w = maps_writer_new(spec, MAPS_WRITE_DUP_REPLACE, &err);
	assert_int_equal(maps_writer_load(w, &err), 0);
	assert_int_equal(maps_writer_add(w, "b", "two"), 0);
	assert_int_equal(maps_writer_delete(w, "a"), 1);
	assert_int_equal(maps_writer_delete(w, "zz"), 0);
	maps_writer_add(w, "c", "3");
	assert_int_equal(maps_writer_commit(w, 0644, -1, -1, &err), 0);
	maps_writer_free(&w);

	strvec_init(&c.keys);
	strvec_init(&c.values);
	assert_int_equal(maps_iterate(spec, 0, collect_iter, &c, &err), 0);
	assert_int_equal(c.keys.n, 2);
	assert_string_equal(c.keys.v[0], "b");
	assert_string_equal(c.values.v[0], "two");
	assert_string_equal(c.keys.v[1], "c");
	strvec_deinit(&c.keys);
	strvec_deinit(&c.values);
	assert_int_equal(maps_iterate("regexp:/dev/null", 0, collect_iter, &c, &err), -1);
	assert_null(maps_writer_new("regexp:/x", 0, &err));
	assert_null(maps_writer_new("ldap:/x", 0, &err));
	free(spec);
	free(path);
}

static void
test_unix_and_nis(void **state)
{
	log_open("test", 0);
	expect("unix:passwd.byname", 0, "root", "root:x:0:0:root:/root:/bin/bash");
	expect("proxy:unix:passwd.byname", 0, "no-such-user-here", NULL);
	expect("nis:mail.aliases", 0, "root", NULL);
}

static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int r = system(cmd);

	free(cmd);
	return r == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_and_static),
		cmocka_unit_test(test_bad_specs_fail_at_open),
		cmocka_unit_test(test_missing_file_is_an_error_not_a_miss),
		cmocka_unit_test(test_source_format),
		cmocka_unit_test(test_aliases_format),
		cmocka_unit_test(test_cdb_round_trip_with_collisions),
		cmocka_unit_test(test_damaged_tables_are_errors),
		cmocka_unit_test(test_texthash),
		cmocka_unit_test(test_regexp),
		cmocka_unit_test(test_lists_search_in_order_and_stop_at_errors),
		cmocka_unit_test(test_cache_shares_tables),
		cmocka_unit_test(test_address_search_order),
		cmocka_unit_test(test_bounded_input),
		cmocka_unit_test(test_writer_incremental_delete_and_iterate),
		cmocka_unit_test(test_unix_and_nis),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
