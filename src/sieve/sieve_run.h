/* sieve_run.h - the interpreter's run state, shared by sieve_run.c (core),
 * sieve_ext.c (extension tests and actions) and sieve_result.c. */
#ifndef YUBIN_SIEVE_RUN_H
#define YUBIN_SIEVE_RUN_H

#include "sieve/sieve-private.h"

struct strvec;

struct sv_var {
	char	*name;
	struct str val;
};
struct sv_scope {
	struct sv_var *v;
	size_t	 n;
};

struct sv_run {
	const struct sieve_script *sc;		/* the script running now */
	const struct sieve_script *main;
	struct sieve_msg *msg;
	const struct sieve_env *env;
	struct sieve_result *res;
	struct str *errs;
	time_t	 now;
	unsigned line;
	uint64_t steps;
	bool	 failed;
	bool	 stopped;		/* stop or return: leave this script */
	bool	 stop_all;		/* stop: leave every script */
	bool	 breaking;		/* break out of foreverypart */
	char	*break_name;
	size_t	 part;			/* current MIME part (foreverypart) */
	bool	 in_foreverypart;
	const char *loop_name;
	struct sv_matchvars mv;
	struct str flags;		/* imap4flags' internal variable */
	struct sv_scope local, globals, *scope;
	char	**global_names;
	size_t	 nglobal_names;
	struct sv_incl {
		char	*name;
		bool	 global;
		struct sieve_script *sc;
	} *included;
	size_t	 nincluded;
	unsigned include_depth;
	void	(*ns_lookup)(struct sv_run *, const char *name, size_t len, struct str *out);
};

void	 sv_run_error(struct sv_run *, unsigned line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 sv_run_warning(struct sv_run *, unsigned line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 sv_expand(struct sv_run *, const struct sv_string *, struct str *out);
const char *sv_arg_str(struct sv_run *, const struct sv_arg *, size_t i, struct str *buf);
struct sv_var *sv_var_get(struct sv_run *, const char *name, size_t len, bool create);
void	 sv_scope_free(struct sv_scope *);
int	 sv_match_values(struct sv_run *, const struct sv_node *, const struct strvec *vals,
	    const struct sv_arg *keys);
void	 sv_header_values(struct sv_run *, size_t part, const char *name, bool decoded,
	    struct strvec *out);
void	 sv_apply_index(struct sv_run *, const struct sv_node *, struct strvec *);
void	 sv_run_script(struct sv_run *, const struct sieve_script *);
void	 sv_run_block(struct sv_run *, const struct sv_node *, size_t);
void	 sv_ns_lookup_default(struct sv_run *, const char *name, size_t len, struct str *out);

/* sieve_ext.c */
void	 sv_ext_command(struct sv_run *, const struct sv_node *);
int	 sv_test_hasflag(struct sv_run *, const struct sv_node *);
/* sieve_tests.c */
int	 sv_ext_test(struct sv_run *, const struct sv_node *);
const char *sv_env_item(struct sv_run *, const char *name, size_t len, bool var);
void	 sv_mime_header_values(struct sv_run *, const struct sv_node *, const char *name,
	    bool raw, struct strvec *out);
void	 sv_mime_ct_values(struct sv_run *, const struct sv_node *, const struct strvec *in,
	    struct strvec *out);

/* sieve_result.c */
/* sv_result_add - add an action (takes ownership of a's strings); applies
 * duplicates, conflicts and limits; false after a run-time error */
bool	 sv_result_add(struct sv_run *, struct sieve_action *a);
void	 sv_result_finish(struct sv_run *);
void	 sv_action_clear(struct sieve_action *);
void	 sv_flags_normalise(const char *in, struct str *out);

#endif
