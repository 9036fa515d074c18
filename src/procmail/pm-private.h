/* pm-private.h - what the procmail modules share: the run's context (the
 * variables, the message, the log), and each module's calls.
 *   pm_vars.c     variables and sh-like expansion of rcfile text
 *   pm_msg.c      the message: reading, header/body, From_ line, abstract
 *   pm_deliver.c  folders (mbox with locks, Maildir, MH, directories)
 *   pm_run.c      programs: pipes, filters, captures, `...`, forwards
 *   pm_exec.c     the interpreter: items, conditions, flags, actions
 *   pm_main.c     the command line (cmd_procmail)
 * Everything runs as the invoking user in one process (plus children for
 * programs and for 'c' on blocks), as procmail does. */
#ifndef YUBIN_PM_PRIVATE_H
#define YUBIN_PM_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/str.h"
#include "lib/util.h"
#include "procmail/pm_rc.h"

/* procmail's exit codes (sysexits.h values) */
#define PM_EX_OK		0
#define PM_EX_USAGE		64
#define PM_EX_NOUSER		67
#define PM_EX_SOFTWARE		70
#define PM_EX_OSERR		71
#define PM_EX_CANTCREAT		73
#define PM_EX_TEMPFAIL		75

#define PM_MAX_INCLUDE		32	/* INCLUDERC nesting */
#define PM_MAX_RCFILE		(1024 * 1024)
#define PM_MAX_CAPTURE		(16 * 1024 * 1024)

struct pm_msg {
	struct str	 data;		/* the whole message, as procmail holds it */
	size_t		 hlen;		/* header: data[0..hlen), its last "\n" included */
	size_t		 body;		/* where the body starts, after the empty line */
	bool		 padded;	/* one "\n" was added so that it ends in "\n\n" */
};

struct pm_ctx {
	struct strvec	 env;		/* "NAME=value", the environment of programs */
	struct strvec	 args;		/* $1 ... */
	struct pm_msg	 msg;
	int		 log_fd;	/* LOGFILE, or 2 */
	bool		 verbose;
	bool		 fail_soft;	/* -t */
	bool		 filter_mode;	/* -m */
	bool		 delivered;	/* a delivering recipe succeeded */
	bool		 stop;		/* delivered, or SWITCHRC/HOST ended processing */
	bool		 switch_rc;	/* a SWITCHRC: end this file, run the next */
	char		*switch_to;
	bool		 is_clone;	/* 'c' on a block: this process runs it only */
	int		 last_exit;	/* $? */
	double		 last_score;	/* $= */
	char		*rcfile;	/* $_ */
	char		*global_lock;	/* LOCKFILE held */
	int		 include_depth;
	char		*last_folder;	/* LASTFOLDER, the Folder: line */
	char		*log_folder;	/* what the abstract names */
	size_t		 log_size;
	const char	*progname;	/* "procmail" in log lines */
	bool		 dry;		/* parse and match only: run no program (fuzzing) */
	bool		 end_file;	/* SWITCHRC, HOST: stop reading the current rcfile */
};

/* set by pm_run_argv: the program closed its stdin before taking it all */
extern bool pm_write_error;

/* pm_vars.c */
const char *pm_var_get(const struct pm_ctx *, const char *name);
void	 pm_var_set(struct pm_ctx *, const char *name, const char *value);
void	 pm_var_unset(struct pm_ctx *, const char *name);
long	 pm_var_long(const struct pm_ctx *, const char *name, long dflt);
bool	 pm_var_bool(const struct pm_ctx *, const char *name, bool dflt);
/* pm_expand_word - one sh word (quotes, `...`, $...) as an assignment
 * takes it: the value, not split */
void	 pm_expand_word(struct pm_ctx *, const char *raw, struct str *out);
/* pm_expand_words - split into words as an action line or program is:
 * unquoted expansions split on blanks, "$@" the arguments, '#' at a
 * word's start ends the line */
void	 pm_expand_words(struct pm_ctx *, const char *raw, struct strvec *out);
/* pm_expand_dq - sh's rules inside double quotes ('$' conditions) */
void	 pm_expand_dq(struct pm_ctx *, const char *raw, struct str *out);

/* pm_msg.c */
int	 pm_msg_read(struct pm_msg *, int fd);
void	 pm_msg_set(struct pm_msg *, const char *data, size_t len);
void	 pm_msg_deinit(struct pm_msg *);
/* pm_msg_from_line - replace (or add) the From_ line: sender, now */
void	 pm_msg_from_line(struct pm_msg *, const char *sender, bool only_if_missing);
/* pm_msg_search - the header with continued fields joined (H), the body
 * (B), or both (H and B), as the conditions see them */
void	 pm_msg_search(const struct pm_msg *, bool head, bool body, struct str *out);
/* pm_msg_field - the first field "name" (without the colon), unfolded,
 * leading blanks dropped; false when absent */
bool	 pm_msg_field(const struct pm_msg *, const char *name, struct str *out);
bool	 pm_msg_field_ex(const struct pm_msg *, const char *name, struct str *out,
	    bool first_line);
size_t	 pm_msg_from_len(const struct pm_msg *);	/* the From_ line, or 0 */
/* pm_msg_part - the bytes a recipe writes (h, b, both) */
void	 pm_msg_part(const struct pm_msg *, bool head, bool body, const char **p, size_t *n);

/* pm_log.c (in pm_exec.c) */
void	 pm_log(struct pm_ctx *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	 pm_log_raw(struct pm_ctx *, const char *s, size_t n);
void	 pm_log_abstract(struct pm_ctx *);

/* pm_deliver.c */
/* pm_deliver_folders - the words of a file action; 0 or -1 (logged) */
int	 pm_deliver_folders(struct pm_ctx *, struct strvec *folders, bool head, bool body,
	    bool raw, const char *recipe_lock);
/* pm_lock_take - a lockfile as procmail makes one (waits LOCKSLEEP,
 * forces a lock older than LOCKTIMEOUT); 0 or -1 */
int	 pm_lock_take(struct pm_ctx *, const char *path);
void	 pm_lock_release(struct pm_ctx *, const char *path);

/* pm_run.c */
/* pm_run_program - run a program line (raw text after '|'): with the
 * shell when SHELLMETAS occur, else split and exec'd; input to its stdin
 * (NULL: /dev/null); output (NULL: to the log) captured. Returns the exit
 * status (>= 0), or -1 when it could not run. */
int	 pm_run_program(struct pm_ctx *, const char *raw, const char *in, size_t inlen,
	    struct str *output, bool *ran_shell_r, struct str *shown);
/* pm_run_argv - the same with an argv already made */
int	 pm_run_argv(struct pm_ctx *, char **argv, const char *in, size_t inlen,
	    struct str *output);

/* pm_exec.c */
/* pm_exec_file - run one rcfile (INCLUDERC nests through it) */
int	 pm_exec_file(struct pm_ctx *, const char *path, bool missing_ok);
/* pm_finish - deliver to DEFAULT when nothing did, TRAP, the exit code */
int	 pm_finish(struct pm_ctx *);
void	 pm_ctx_init(struct pm_ctx *);
/* pm_assign - NAME=value as an assignment line does it (special names act) */
void	 pm_assign(struct pm_ctx *, const char *name, const char *value);
void	 pm_ctx_deinit(struct pm_ctx *);

/* the fuzz harness and unit tests: parse and match without running programs */
bool	 pm_eval_conditions_dry(struct pm_ctx *, const struct pm_recipe *);
/* pm_exec_dry - walk a parsed rcfile: assignments (no special effects,
 * no `...`), every recipe's conditions against ctx->msg, no action */
void	 pm_exec_dry(struct pm_ctx *, const struct pm_rc *);

#endif
