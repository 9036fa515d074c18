/* pm_regex.h - procmail's egrep dialect on top of POSIX regcomp/regexec.
 *
 * procmail's expressions are egrep's with a few extensions (procmailrc(5),
 * "Extended regular expressions" and MISCELLANEOUS): case-insensitive
 * unless the D flag is given; ^ and $ in the middle of an expression match
 * a newline; ^^ anchors at the very start or end of the search area; \< and
 * \> match a non-word character; { has no special meaning; the macros ^TO_,
 * ^TO, ^FROM_DAEMON and ^FROM_MAILER expand to fixed expressions; \/ splits
 * the expression and whatever the right part matches becomes MATCH (the
 * left part as short as possible, the right part as long as possible, as
 * procmail does). pm_regex_compile translates that into POSIX EREs and
 * compiles them with REG_NEWLINE so that ^, $, . and [^...] stay within
 * lines the way procmail's own matcher does.
 * Tests: tests/unit/procmail/test_pm_regex.c, fuzz/fuzz_procmailrc.c. */
#ifndef YUBIN_PM_REGEX_H
#define YUBIN_PM_REGEX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

struct pm_regex {
	regex_t	 full;		/* the whole expression: (left)(right) */
	regex_t	 left;		/* only with a \/ split */
	regex_t	 right;
	bool	 split;		/* \/ was present */
	bool	 empty;		/* the expression is empty: matches everywhere */
	bool	 anchor_start;	/* ^^ at the start */
	bool	 anchor_end;	/* ^^ at the end */
	bool	 right_dollar;	/* the right part ends in '$': procmail's MATCH
				 * takes the newline it matched */
	bool	 compiled;
};

/* pm_regex_translate - procmail's dialect into an ERE (for tests and
 * logging); *split_r gets the offset of the split in out, or -1. */
struct str;
void	 pm_regex_translate(const char *pat, struct str *left, struct str *right, bool *split_r,
	    bool *anchor_start_r, bool *anchor_end_r);

/* pm_regex_compile - 0, or -1 with *error_r (a static or per-call
 * string in errbuf of errlen bytes) */
int	 pm_regex_compile(struct pm_regex *, const char *pat, bool case_sensitive,
	    char *errbuf, size_t errlen);
void	 pm_regex_free(struct pm_regex *);

/* pm_regex_match - does the expression occur in text[0..len)? With a \/
 * split, *match_r (may be NULL) gets a malloc'd copy of the extracted part. */
bool	 pm_regex_match(const struct pm_regex *, const char *text, size_t len, char **match_r);

/* pm_regex_count - how many times it occurs for weighted scoring, counted
 * as procmail does (each search starts one past the previous match's
 * start), at most limit */
unsigned long pm_regex_count(const struct pm_regex *, const char *text, size_t len,
	    unsigned long limit);

#endif
