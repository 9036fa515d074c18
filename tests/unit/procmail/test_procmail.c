/* test_procmail.c - procmail's regexp dialect on POSIX regex (macros, ^ and
 * $ in the middle, ^^, \< \>, \/ extraction with procmail's shortest-left
 * rule, case), the rcfile parser (recipes, flags, conditions, actions,
 * blocks, assignments, diagnostics with lines), variable expansion, and
 * conditions with scores, evaluated dry (no program runs). The behaviour
 * against Debian's procmail is in tests/e2e/test_procmail.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "procmail/pm-private.h"
#include "procmail/pm_rc.h"
#include "procmail/pm_regex.h"

static const char MSG[] =
    "From joe@example.org  Mon Nov 23 10:01:44 2026\n"
    "From: Joe Bloggs <joe@example.org>\n"
    "To: list@lists.example.net\n"
    "Cc: Bob <bob@ex.org>\n"
    "Subject: abc 123 x\n"
    "X-Cont: a\n"
    " b\n"
    "\n"
    "foo\n"
    "boo\n";

struct match_case {
	const char	*name;
	const char	*pattern;
	bool		 case_sensitive;
	bool		 head, body;
	bool		 want;
	const char	*want_match;	/* MATCH, or NULL */
};

static const struct match_case match_cases[] = {
	{ "a plain header regexp matches, ignoring case", "^subject:.*ABC", false, true, false, true, NULL },
	{ "D makes it case sensitive", "^subject:.*ABC", true, true, false, false, NULL },
	{ "the left part of \\/ is as short as it can be", "^Subject:.*\\/[0-9]+", false, true, false, true, "123" },
	{ "so the right part takes the blanks", "^Subject: *\\/.*", false, true, false, true, " abc 123 x" },
	{ "continued fields are joined for matching", "^X-Cont:\\/.*", false, true, false, true, " a  b" },
	{ "^TO_ finds the first destination", "^TO_\\/[a-z]+", false, true, false, true, "list" },
	{ "^TO_ finds a Cc: address too", "^TO_\\/bob", false, true, false, true, "Bob" },
	{ "^TO_ with an address", "^TO_list@lists\\.example\\.net", false, true, false, true, NULL },
	{ "^TO is a word match: a whole word", "^TOlists", false, true, false, true, NULL },
	{ "^TO is a word match: not inside one", "^TOists", false, true, false, false, NULL },
	{ "^FROM_DAEMON does not match a person", "^FROM_DAEMON", false, true, false, false, NULL },
	{ "the body with B", "^boo$", false, false, true, true, NULL },
	{ "the header is not the body", "^boo$", false, true, false, false, NULL },
	{ "$ in the middle is a newline", "foo$boo", false, false, true, true, NULL },
	{ "^^ anchors at the very start", "^^foo", false, false, true, true, NULL },
	{ "^^ anchors: not elsewhere", "^^boo", false, false, true, false, NULL },
	{ "\\< matches a non-word character", "\\<123\\>", false, true, false, true, NULL },
	{ "{ is a literal", "a{1}", false, true, false, false, NULL },
	{ "an empty expression matches", "", false, true, false, true, NULL },
};

static void
test_regex_cases(void **state)
{
	struct str area;
	struct pm_msg m = { 0 };
	size_t i;

	(void)state;
	str_init(&m.data, 0);
	pm_msg_set(&m, MSG, sizeof MSG - 1);
	str_init(&area, 256);
	for (i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
		const struct match_case *c = &match_cases[i];
		struct pm_regex rx;
		char err[128], *match = NULL;
		bool got;

		pm_msg_search(&m, c->head, c->body, &area);
		assert_int_equal(pm_regex_compile(&rx, c->pattern, c->case_sensitive, err, sizeof err), 0);
		got = pm_regex_match(&rx, area.s, area.len, &match);
		if (got != c->want)
			fail_msg("%s: %s", c->name, got ? "matched" : "did not match");
		if (c->want_match != NULL) {
			assert_non_null(match);
			if (strcmp(match, c->want_match) != 0)
				fail_msg("%s: MATCH=[%s]", c->name, match);
		}
		free(match);
		pm_regex_free(&rx);
	}
	str_deinit(&area);
	pm_msg_deinit(&m);
}

static void
test_regex_count_and_errors(void **state)
{
	struct pm_regex rx;
	char err[128];

	(void)state;
	assert_int_equal(pm_regex_compile(&rx, "o", false, err, sizeof err), 0);
	assert_int_equal(pm_regex_count(&rx, "foo\nboo\n", 8, 100), 4);
	assert_int_equal(pm_regex_count(&rx, "foo\nboo\n", 8, 3), 3);
	pm_regex_free(&rx);
	assert_int_equal(pm_regex_compile(&rx, "^.*$", false, err, sizeof err), 0);
	assert_int_equal(pm_regex_count(&rx, "a\nb\nc", 5, 100), 3);
	pm_regex_free(&rx);
	/* an unbalanced group is an error, not a crash */
	assert_int_equal(pm_regex_compile(&rx, "(abc", false, err, sizeof err), -1);
	assert_true(err[0] != '\0');
}

static void
test_parse_recipes(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "MAILDIR = $HOME/Mail   # where\n"
	    "UNSETME\n"
	    ":0 HBfw: my.lock\n"
	    "* ^Subject:.*x\n"
	    "* ! ^From: \\\n"
	    "     joe\n"
	    "| formail -A \"X: y\"\n"
	    "\n"
	    ":0\n"
	    "* 1^0 a\n"
	    "{ X=$MATCH\n"
	    "  :0 c\n"
	    "  ! someone@example.org\n"
	    "}\n"
	    ":0 bad\n"
	    "folder\n"
	    ":0\n"
	    "SUBJ=| formail -xSubject:\n"
	    ":0:\n";
	struct pm_rc *rc = pm_rc_parse("rc", text, sizeof text - 1);
	const struct pm_block *b = &rc->top;
	const struct pm_recipe *r;

	(void)state;
	assert_int_equal(b->n, 8);
	assert_int_equal(b->items[0].kind, PM_ITEM_ASSIGN);
	assert_string_equal(b->items[0].name, "MAILDIR");
	assert_string_equal(b->items[0].value, "$HOME/Mail");
	assert_int_equal(b->items[0].line, 2);
	assert_int_equal(b->items[1].kind, PM_ITEM_ASSIGN);
	assert_null(b->items[1].value);		/* unset */
	r = b->items[2].recipe;
	assert_int_equal(b->items[2].line, 4);
	assert_int_equal(r->flags, PMF_H | PMF_B | PMF_f | PMF_w);
	assert_true(r->local_lock);
	assert_string_equal(r->lockfile, "my.lock");
	assert_int_equal(r->ncond, 2);
	assert_string_equal(r->conds[1].text, "! ^From: joe");
	assert_int_equal(r->kind, PM_ACT_PIPE);
	assert_string_equal(r->action, " formail -A \"X: y\"");
	r = b->items[3].recipe;
	assert_int_equal(r->kind, PM_ACT_BLOCK);
	assert_int_equal(r->block.n, 2);
	assert_string_equal(r->block.items[0].name, "X");
	assert_int_equal(r->block.items[1].recipe->kind, PM_ACT_FORWARD);
	assert_true(r->block.items[1].recipe->flags & PMF_c);
	/* the unknown flag 'd' is reported before its recipe, with its line */
	assert_int_equal(b->items[4].kind, PM_ITEM_DIAG);
	assert_string_equal(b->items[4].diag, "Skipped \"d\"");
	assert_int_equal(b->items[4].line, 16);
	assert_int_equal(b->items[5].recipe->flags, PMF_b | PMF_a);
	assert_string_equal(b->items[5].recipe->action, "folder");
	assert_string_equal(b->items[6].recipe->capture, "SUBJ");
	/* a recipe at the end of the file without an action */
	assert_null(b->items[7].recipe->action);
	pm_rc_free(&rc);
}

static void
test_parse_garbage_is_skipped(void **state)
{
	static const char text[] = "}\n@@@ what\n:0\n{\n:0\n{\n";
	struct pm_rc *rc = pm_rc_parse("rc", text, sizeof text - 1);

	(void)state;
	assert_int_equal(rc->top.items[0].kind, PM_ITEM_DIAG);
	assert_string_equal(rc->top.items[1].diag, "Skipped \"@@@ what\"");
	assert_int_equal(rc->top.items[1].line, 2);
	pm_rc_free(&rc);
}

static void
test_expansion(void **state)
{
	struct pm_ctx ctx;
	struct str s;
	struct strvec w;

	(void)state;
	pm_ctx_init(&ctx);
	ctx.dry = true;
	str_init(&s, 64);
	strvec_init(&w);
	pm_var_set(&ctx, "A", "foo bar");
	strvec_push(&ctx.args, "one");
	strvec_push(&ctx.args, "two words");
	pm_expand_word(&ctx, "\"x  y\"z'$A'${NO:-def}${A:+set}$1", &s);
	assert_string_equal(s.s, "x  yz$Adefsetone");
	str_reset(&s);
	pm_expand_word(&ctx, "$\\A", &s);
	assert_string_equal(s.s, "()foo bar");	/* procmail's () first */
	pm_var_set(&ctx, "B", "a.b*");
	str_reset(&s);
	pm_expand_word(&ctx, "$\\B$#", &s);
	assert_string_equal(s.s, "()a\\.b\\*2");
	pm_expand_words(&ctx, "cmd $A \"$A\" \"$@\" $@ # comment", &w);
	assert_int_equal(w.n, 6);	/* unquoted $@ is nothing */
	assert_string_equal(w.v[1], "foo");
	assert_string_equal(w.v[3], "foo bar");
	assert_string_equal(w.v[5], "two words");
	str_reset(&s);
	pm_expand_dq(&ctx, "^Subject: $A \\$x", &s);
	assert_string_equal(s.s, "^Subject: foo bar $x");
	strvec_deinit(&w);
	str_deinit(&s);
	pm_ctx_deinit(&ctx);
}

static void
test_conditions_and_scores(void **state)
{
	static const char text[] =
	    ":0\n* 1^0\n* 2^1 o\n* -1^0 ^Subject\n/dev/null\n"
	    ":0 B\n* 1^1 o\n/dev/null\n"
	    ":0\n* ! ^Subject: nothing\n* < 100000\n* > 10\n/dev/null\n"
	    ":0\n* ^Subject: \\/[0-9a-z ]+\n* MATCH ?? ()\\/[0-9]+\n/dev/null\n"
	    ":0\n* -5^0\n/dev/null\n";
	struct pm_rc *rc = pm_rc_parse("rc", text, sizeof text - 1);
	struct pm_ctx ctx;

	(void)state;
	pm_ctx_init(&ctx);
	ctx.dry = true;
	pm_msg_set(&ctx.msg, MSG, sizeof MSG - 1);
	/* 15 o's in the header (5 in the From_ line, 5 in From:, To, Cc 3, Cont) */
	assert_true(pm_eval_conditions_dry(&ctx, rc->top.items[0].recipe));
	assert_int_equal((long)ctx.last_score, 1 + 2 * 15 - 1);
	assert_true(pm_eval_conditions_dry(&ctx, rc->top.items[1].recipe));
	assert_int_equal((long)ctx.last_score, 4);
	assert_true(pm_eval_conditions_dry(&ctx, rc->top.items[2].recipe));
	assert_true(pm_eval_conditions_dry(&ctx, rc->top.items[3].recipe));
	assert_string_equal(pm_var_get(&ctx, "MATCH"), "123");
	assert_false(pm_eval_conditions_dry(&ctx, rc->top.items[4].recipe));
	pm_ctx_deinit(&ctx);
	pm_rc_free(&rc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regex_cases),
		cmocka_unit_test(test_regex_count_and_errors),
		cmocka_unit_test(test_parse_recipes),
		cmocka_unit_test(test_parse_garbage_is_skipped),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_conditions_and_scores),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
