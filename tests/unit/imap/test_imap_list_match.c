/* test_imap_list_match - LIST patterns: '*' crosses the separator, '%'
 * does not, INBOX in any case, and patterns that a backtracking matcher
 * takes exponential time on (they must answer, and answer right). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "imap/imap_list.h"

static void
test_wildcards(void **state)
{
	(void)state;
	assert_true(imap_list_match("*", "A.B.C", '.'));
	assert_true(imap_list_match("%", "A", '.'));
	assert_false(imap_list_match("%", "A.B", '.'));
	assert_true(imap_list_match("A.%", "A.B", '.'));
	assert_false(imap_list_match("A.%", "A.B.C", '.'));
	assert_true(imap_list_match("A*", "A.B.C", '.'));
	assert_true(imap_list_match("A%C", "AbbC", '.'));
	assert_false(imap_list_match("A%C", "Ab.C", '.'));
	assert_true(imap_list_match("*%", "A.B", '.'));
	assert_true(imap_list_match("%*", "A.B", '.'));
	assert_true(imap_list_match("", "", '.'));
	assert_false(imap_list_match("", "A", '.'));
	assert_false(imap_list_match("A", "", '.'));
	assert_true(imap_list_match("%", "", '.'));
	assert_true(imap_list_match("inbox", "INBOX", '.'));
	assert_true(imap_list_match("Inbox.%", "INBOX.Sent", '.'));
	assert_false(imap_list_match("Sent", "sent", '.'));
	assert_true(imap_list_match("S*t", "Sent", '.'));
	assert_false(imap_list_match("S*t", "Sent.x", '.'));
}

static void
test_no_exponential_backtracking(void **state)
{
	char name[201];
	char pat[64];
	size_t i;

	(void)state;
	memset(name, 'a', 200);
	name[200] = '\0';
	/* "*a*a*...*b": 20 wildcards over 200 a's has no match */
	pat[0] = '\0';
	for (i = 0; i < 20; i++)
		strcat(pat, "*a");
	strcat(pat, "*b");
	assert_false(imap_list_match(pat, name, '.'));
	pat[strlen(pat) - 1] = 'a';
	assert_true(imap_list_match(pat, name, '.'));
	pat[0] = '\0';
	for (i = 0; i < 20; i++)
		strcat(pat, "%a");
	strcat(pat, "%b");
	assert_false(imap_list_match(pat, name, '.'));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_no_exponential_backtracking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
