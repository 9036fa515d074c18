/* pm_rc.h - the procmailrc parser: a file's text into a tree of items
 * (assignments, recipes with their conditions and one action or a nested
 * block, and diagnostics), each with its line number.
 *
 * procmail interprets its rcfile as it reads it; parsing it whole first is
 * the same as long as nothing is expanded here: assignment values, action
 * lines and conditions stay raw text and are expanded by the interpreter
 * (pm_exec.c) when it reaches them, in order. What cannot be parsed becomes
 * a PM_ITEM_DIAG item at the place procmail would complain, so the message
 * appears in LOGFILE at the same point of the run, with its line.
 * Tests: tests/unit/procmail/test_pm_rc.c, fuzz/fuzz_procmailrc.c. */
#ifndef YUBIN_PM_RC_H
#define YUBIN_PM_RC_H

#include <stdbool.h>
#include <stddef.h>

/* recipe flags, one bit per letter of ":0 flags" */
enum {
	PMF_H = 1 << 0, PMF_B = 1 << 1, PMF_D = 1 << 2, PMF_A = 1 << 3, PMF_a = 1 << 4,
	PMF_E = 1 << 5, PMF_e = 1 << 6, PMF_h = 1 << 7, PMF_b = 1 << 8, PMF_f = 1 << 9,
	PMF_c = 1 << 10, PMF_w = 1 << 11, PMF_W = 1 << 12, PMF_i = 1 << 13, PMF_r = 1 << 14,
};

enum pm_action_kind {
	PM_ACT_FILE,		/* a mailbox: file, directory, Maildir (/), MH (/.) */
	PM_ACT_PIPE,		/* | command */
	PM_ACT_FORWARD,		/* ! addresses */
	PM_ACT_BLOCK,		/* { ... } */
};

struct pm_cond {
	char	*text;		/* after the '*', leading and trailing blanks removed */
	int	 line;
};

struct pm_item;

struct pm_block {
	struct pm_item	*items;
	size_t		 n, cap;
};

struct pm_recipe {
	unsigned	 flags;
	bool		 local_lock;	/* a second ':' */
	char		*lockfile;	/* after it, raw; NULL = implicit */
	struct pm_cond	*conds;
	size_t		 ncond;
	enum pm_action_kind kind;
	char		*action;	/* raw text after '|' or '!', or the folder line */
	char		*capture;	/* VAR of "VAR=| command", or NULL */
	int		 action_line;
	struct pm_block	 block;		/* PM_ACT_BLOCK */
};

enum pm_item_kind {
	PM_ITEM_ASSIGN,		/* NAME=value, or NAME alone (unset) */
	PM_ITEM_RECIPE,
	PM_ITEM_DIAG,		/* a parse error: logged when reached */
};

struct pm_item {
	enum pm_item_kind kind;
	int		 line;
	char		*name;		/* ASSIGN */
	char		*value;		/* ASSIGN: the raw word; NULL = unset */
	struct pm_recipe *recipe;	/* RECIPE */
	char		*diag;		/* DIAG: procmail's text, e.g. Skipped "x" */
};

struct pm_rc {
	char		*path;
	struct pm_block	 top;
};

/* pm_rc_parse - parse text (len bytes, NULs allowed: they end a line's
 * meaning) into a new tree; never fails, bad parts become DIAG items */
struct pm_rc *pm_rc_parse(const char *path, const char *text, size_t len);
void	 pm_rc_free(struct pm_rc **);

/* pm_is_varname - [A-Za-z_][A-Za-z0-9_]* of length n */
bool	 pm_is_varname(const char *s, size_t n);

#endif
