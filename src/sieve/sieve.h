/* sieve.h - the Sieve mail filtering language (RFC 5228 and extensions):
 * compile a script (lexer, parser, validator: errors with line and column
 * in Pigeonhole's shape), run it against a message and an envelope into a
 * result (the list of actions with implicit keep), print or execute it.
 *
 * Ownership: a compiled script (struct sieve_script) is immutable and may
 * be run many times; a result is owned by its caller. Nothing here does
 * I/O except through the callbacks of struct sieve_env, so the same engine
 * serves sievec, sieve-test, the testsuite, deliver and (later) lmtpd.
 * Tests: tests/unit/sieve/, tests/sieve/ (.svtest files), tests/e2e/test_sieve.py;
 * fuzz: fuzz_sieve_parse, fuzz_sieve_run. */
#ifndef YUBIN_SIEVE_H
#define YUBIN_SIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct str;
struct sieve_script;
struct sieve_msg;
struct sieve_result;

/* Limits (Pigeonhole's setting names where it has one). */
struct sieve_limits {
	size_t	 max_script_size;	/* sieve_max_script_size, default 1M */
	unsigned max_actions;		/* sieve_max_actions, default 32 */
	unsigned max_redirects;		/* sieve_max_redirects, default 4 */
	unsigned max_nesting;		/* blocks and tests, default 32 */
	unsigned max_strlist;		/* items in one string list, default 1024 */
	unsigned max_include_depth;	/* sieve_include_max_nesting_depth, 10 */
	unsigned max_includes;		/* sieve_include_max_includes, 255 */
	unsigned max_variables;		/* sieve_variables_max_scope_size, 255 */
	size_t	 max_variable_size;	/* sieve_variables_max_variable_size, 4k */
	uint64_t max_steps;		/* interpreter steps per run (loops do not exist,
					 * but foreverypart over many parts can be long) */
	uint64_t vacation_min_period;	/* sieve_vacation_min_period, 1 day */
	uint64_t vacation_max_period;	/* sieve_vacation_max_period, 90 days */
	uint64_t vacation_default_period; /* sieve_vacation_default_period, 7 days */
	uint64_t duplicate_default_period; /* sieve_duplicate_default_period, 14 days */
	uint64_t duplicate_max_period;	/* sieve_duplicate_max_period, 7 days (caps both
					 * :seconds and the default, as in Pigeonhole) */
	size_t	 editheader_max_header_size; /* sieve_editheader_max_header_size, 2048
					 * (at least 1024): the longest addheader value */
};

void	 sieve_limits_default(struct sieve_limits *);

/* sieve_ext_* - the extension set a compile may use. Pigeonhole enables all
 * it has except a few that need configuration; sieve_extensions "+name
 * -name" edits the set as Pigeonhole's setting does. */
struct sieve_extset {
	uint64_t bits;
};
void	 sieve_extset_default(struct sieve_extset *);
/* sieve_extset_apply - "name name" replaces, "+a -b" edits; -1 on an
 * unknown name (*bad_r names it) */
int	 sieve_extset_apply(struct sieve_extset *, const char *spec, const char **bad_r);
/* sieve_extset_string - the enabled capabilities, space separated, in
 * Pigeonhole's order (the ManageSieve SIEVE capability; the default set
 * gives Pigeonhole's default managesieve_sieve_capability) */
void	 sieve_extset_string(const struct sieve_extset *, struct str *out);

/* spamtest/virustest settings (Pigeonhole's sieve_spamtest_*): the header
 * and an optional POSIX regex whose first group is the value, its type
 * (score: a number up to max; strlen: the length, as "*****"; text: which
 * of texts[1..10] it equals) */
enum sieve_score_type { SIEVE_SCORE_SCORE, SIEVE_SCORE_STRLEN, SIEVE_SCORE_TEXT };
struct sieve_scorecfg {
	char	*header;
	char	*regex;
	/* sieve_*_max_header: the maximum score read from the message itself
	 * (instead of max), with its own optional pattern */
	char	*max_header;
	char	*max_regex;
	enum sieve_score_type type;
	double	 max;
	char	*texts[11];	/* sieve_spamtest_text_value1..10 */
};

/* editheader settings (Pigeonhole's sieve_editheader_*): space-separated
 * field names that addheader / deleteheader may not touch (protect: both).
 * Received and Auto-Submitted can never be deleted and Subject can always
 * be added and deleted (RFC 5293 6), whatever these say. */
struct sieve_hdrcfg {
	char	*protect;
	char	*forbid_add;
	char	*forbid_delete;
};

/* Where a script comes from: include needs to load others. */
struct sieve_loader {
	/* load - the text of script name (":personal" or ":global"); 1 found,
	 * 0 not found, -1 error; text into out */
	int	(*load)(void *ctx, const char *name, bool global, struct str *out);
	void	*ctx;
};

/* sieve_compile - compile script text; name is the script's name for
 * messages ("NAME: line N: error: ..."). Errors and warnings are appended
 * to errors (one line each, "\n"-ended). Returns the script or NULL. */
struct sieve_script *sieve_compile(const char *name, const char *text, size_t len,
	    const struct sieve_limits *, const struct sieve_extset *, struct str *errors);
void	 sieve_script_free(struct sieve_script **);
const char *sieve_script_name(const struct sieve_script *);

/* The message being filtered. */
struct sieve_msg *sieve_msg_new(const char *data, size_t len);
void	 sieve_msg_free(struct sieve_msg **);
const char *sieve_msg_data(const struct sieve_msg *, size_t *len_r);

/* The environment of a run: envelope, identity, the stores the actions
 * consult (all optional). */
struct sieve_env {
	const char	*env_from;	/* envelope sender ("" = null) */
	const char	*env_to;	/* final recipient */
	const char	*env_orig_to;	/* original recipient */
	const char	*env_auth;	/* SASL user */
	const char	*user;		/* the mail user */
	const char	*default_mailbox; /* "INBOX" */
	const char	*delimiter;	/* recipient_delimiter for :user/:detail ("+") */
	const char	*postmaster;	/* postmaster address */
	const char	*hostname;	/* environment "host" / "domain" */
	const char	*location;	/* environment "location": "MDA" / "MTA" */
	const char	*phase;		/* environment "phase": "during" */
	time_t		 now;		/* 0 = time(NULL) */
	const struct sieve_scorecfg *spam, *virus;	/* spamtest, virustest (may be NULL) */
	const struct sieve_hdrcfg *editheader;		/* may be NULL */
	/* vnd.dovecot.environment's "vnd.dovecot.config.NAME": the settings
	 * sieve_env_NAME, as "NAME=value" strings (NULL-ended; may be NULL) */
	char *const	*env_config;
	const struct sieve_loader *loader;
	/* mailbox_exists - 1 yes, 0 no (mailboxexists, fileinto :create) */
	int	(*mailbox_exists)(void *ctx, const char *mailbox);
	/* special_use_exists - 1 yes, 0 no */
	int	(*special_use_exists)(void *ctx, const char *mailbox, const char *flag);
	/* duplicate_check - 1 seen before within period seconds, 0 not;
	 * the id is marked at execution, not here (RFC 7352 3) */
	int	(*duplicate_check)(void *ctx, const char *id, size_t len);
	/* vacation_check - 1 this sender got a reply within the period */
	int	(*vacation_check)(void *ctx, const char *sender, const char *handle);
	/* var_namespace - expand ${ns.name} for a namespace the engine does not
	 * know (the testsuite's tst.*); append the value to out */
	void	(*var_namespace)(void *ctx, const char *name, size_t len, struct str *out);
	/* testsuite - the vnd.dovecot.testsuite commands and tests (the
	 * sieve-testsuite tool; run is struct sv_run, node struct sv_node);
	 * a test's truth or 0 for a command */
	int	(*testsuite)(void *ctx, void *run, const void *node);
	void	*ctx;
};

/* sieve_run - run a compiled script; actions go to result (which may hold
 * earlier scripts' actions, for sieve_before/after). Returns SIEVE_OK, or
 * SIEVE_ERROR after a run-time error (the message in errors: the caller
 * falls back to keep, RFC 5228 2.10.6). */
enum sieve_status { SIEVE_OK = 0, SIEVE_ERROR = -1 };
int	 sieve_run(const struct sieve_script *, struct sieve_msg *, const struct sieve_env *,
	    struct sieve_result *, struct str *errors);

struct sieve_result *sieve_result_new(void);
void	 sieve_result_free(struct sieve_result **);
void	 sieve_result_reset(struct sieve_result *);
/* sieve_result_print - the actions as Pigeonhole's sieve-test prints them */
void	 sieve_result_print(const struct sieve_result *, const struct sieve_env *,
	    struct str *out);
/* sieve_result_print_multi - the same for one script of several (sieve-test
 * -s, sieve_before): keep is printed as "keep", since the last script
 * decides where the message is kept */
void	 sieve_result_print_multi(const struct sieve_result *, const struct sieve_env *,
	    struct str *out);
/* sieve_result_kept - after one script of several: is the message still
 * kept (implicit keep or an explicit keep)? Pigeonhole runs the next
 * script only then. */
bool	 sieve_result_kept(const struct sieve_result *);
/* sieve_result_carry - start a script's result from the previous one's:
 * the implicit keep's flags become the new script's flags */
void	 sieve_result_carry(struct sieve_result *to, const struct sieve_result *from);

/* The action list, for executors (deliver, lmtpd, the testsuite). */
enum sieve_action_kind {
	SIEVE_ACT_KEEP, SIEVE_ACT_FILEINTO, SIEVE_ACT_REDIRECT, SIEVE_ACT_DISCARD,
	SIEVE_ACT_REJECT, SIEVE_ACT_EREJECT, SIEVE_ACT_VACATION, SIEVE_ACT_NOTIFY,
	SIEVE_ACT_ADDHEADER, SIEVE_ACT_DELETEHEADER,
};
struct sieve_action {
	enum sieve_action_kind kind;
	char	*target;	/* mailbox, address, reason, notify method */
	char	**flags;	/* imap4flags for keep/fileinto (NULL-ended) */
	bool	 copy;		/* :copy */
	bool	 create;	/* :create */
	char	*special_use;	/* :specialuse */
	/* vacation / notify */
	char	*subject, *from, *handle, *body, *message, *importance;
	char	**addresses;	/* vacation :addresses, notify :options */
	bool	 mime;
	uint64_t seconds;	/* vacation period */
	char	*reply_to;	/* vacation: the address answered */
	unsigned line;
};
size_t	 sieve_result_count(const struct sieve_result *);
const struct sieve_action *sieve_result_action(const struct sieve_result *, size_t i);
/* sieve_result_implicit_keep - does implicit keep apply? flags of it */
bool	 sieve_result_implicit_keep(const struct sieve_result *, char ***flags_r);
/* sieve_result_stopped - a script of this result ran "stop": with several
 * scripts (sieve_before/after) the later ones do not run */
bool	 sieve_result_stopped(const struct sieve_result *);
/* sieve_result_edited - the message after editheader, or NULL if untouched */
const char *sieve_result_edited(const struct sieve_result *, size_t *len_r);

#endif
