/* sieve-private.h - the pieces of the Sieve engine shared by its files:
 * the syntax tree (parser), the command table (validator), matching, the
 * parsed message and the interpreter's run state. Not for outside users:
 * they have sieve.h. */
#ifndef YUBIN_SIEVE_PRIVATE_H
#define YUBIN_SIEVE_PRIVATE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"
#include "sieve/sieve.h"

/* Extensions, in one list: the bit of each in struct sieve_extset. */
#define SIEVE_EXTENSIONS(X) \
	X(FILEINTO, "fileinto", 1) X(REJECT, "reject", 1) X(EREJECT, "ereject", 0) \
	X(ENVELOPE, "envelope", 1) X(ENCODED_CHAR, "encoded-character", 1) \
	X(VACATION, "vacation", 1) X(VACATION_SECONDS, "vacation-seconds", 0) \
	X(SUBADDRESS, "subaddress", 1) X(NUMERIC, "comparator-i;ascii-numeric", 1) \
	X(RELATIONAL, "relational", 1) X(REGEX, "regex", 1) X(IMAP4FLAGS, "imap4flags", 1) \
	X(COPY, "copy", 1) X(INCLUDE, "include", 1) X(VARIABLES, "variables", 1) \
	X(BODY, "body", 1) X(ENOTIFY, "enotify", 1) \
	X(ENVIRONMENT, "environment", 1) X(MAILBOX, "mailbox", 1) X(DATE, "date", 1) \
	X(INDEX, "index", 1) X(IHAVE, "ihave", 1) X(DUPLICATE, "duplicate", 1) \
	X(MIME, "mime", 1) X(FOREVERYPART, "foreverypart", 1) \
	X(EXTRACTTEXT, "extracttext", 1) X(SPAMTEST, "spamtest", 0) \
	X(SPAMTESTPLUS, "spamtestplus", 0) X(VIRUSTEST, "virustest", 0) \
	X(EDITHEADER, "editheader", 0) X(SPECIAL_USE, "special-use", 0) \
	X(VND_ENVIRONMENT, "vnd.dovecot.environment", 0) \
	X(TESTSUITE, "vnd.dovecot.testsuite", 0)

enum sieve_ext {
#define SV_EXT_ENUM(id, name, dflt) SV_EXT_##id,
	SIEVE_EXTENSIONS(SV_EXT_ENUM)
#undef SV_EXT_ENUM
	SV_EXT_COUNT
};
const char *sv_ext_name(int ext);
int	 sv_ext_lookup(const char *name);	/* -1 if unknown */

/* The syntax tree. */
struct sv_string {
	char	*s;		/* owned, NUL-terminated (may hold NULs: len counts) */
	size_t	 len;
	bool	 vars;		/* holds "${" (variables may expand it) */
};

enum sv_arg_kind { SV_ARG_NUMBER, SV_ARG_STRINGS, SV_ARG_TAG };

struct sv_arg {
	enum sv_arg_kind kind;
	unsigned line, col;
	uint64_t num;
	char	*tag;		/* ":name", lower case as written */
	struct sv_string *v;	/* string list */
	size_t	 n;
	bool	 list;		/* written as [...] */
};

struct sv_def;

struct sv_node {
	char	*name;
	unsigned line, col;
	struct sv_arg *args;
	size_t	 nargs;
	struct sv_node *tests;	/* the test or test-list */
	size_t	 ntests;
	bool	 test_list;
	struct sv_node *block;
	size_t	 nblock;
	bool	 has_block;
	/* filled in by the validator */
	const struct sv_def *def;
	struct sv_arg *pos[4];	/* positional arguments */
	size_t	 npos;
	struct sv_tagval {
		const char *name;
		struct sv_arg *val;	/* NULL for a flag tag */
		struct sv_arg *tagarg;
	} tags[12];
	size_t	 ntags;
	int	 match, relop, cmp, addrpart;
	regex_t	*re;		/* compiled keys of :regex, by key index */
	bool	*re_set;	/* re[i] compiled (constant key) */
	size_t	 nre;
	int	 id;		/* enum sv_cmd */
	struct sieve_script *included;	/* include: the compiled script */
	bool	 include_global, include_once, include_optional;
};

enum { SV_MATCH_IS, SV_MATCH_CONTAINS, SV_MATCH_MATCHES, SV_MATCH_REGEX,
	SV_MATCH_COUNT, SV_MATCH_VALUE };
enum { SV_REL_GT, SV_REL_GE, SV_REL_LT, SV_REL_LE, SV_REL_EQ, SV_REL_NE };
enum { SV_CMP_CASEMAP, SV_CMP_OCTET, SV_CMP_NUMERIC };
enum { SV_ADDR_ALL, SV_ADDR_LOCAL, SV_ADDR_DOMAIN, SV_ADDR_USER, SV_ADDR_DETAIL };

struct sieve_script {
	char	*name;
	struct sv_node *cmds;
	size_t	 ncmds;
	struct sieve_extset exts;	/* required by this script */
	struct sieve_limits limits;
	struct sieve_extset enabled;
	char	**globals;		/* include: "global" names used */
	size_t	 nglobals;
};

/* Lexer and parser (sieve_parse.c): the tree, or NULL after errors. */
struct sv_errs {
	struct str *out;
	const char *name;
	unsigned count;
	unsigned max;		/* stop after this many */
};
void	 sv_error(struct sv_errs *, unsigned line, unsigned col, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
void	 sv_warning(struct sv_errs *, unsigned line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 sv_parse(const char *text, size_t len, const struct sieve_limits *, struct sv_errs *,
	    struct sv_node **cmds_r, size_t *n_r);
void	 sv_nodes_free(struct sv_node *, size_t n);

/* Commands and tests (the validator's table, the interpreter's switch) */
enum sv_cmd {
	SV_C_REQUIRE, SV_C_IF, SV_C_ELSIF, SV_C_ELSE, SV_C_STOP, SV_C_KEEP, SV_C_DISCARD,
	SV_C_FILEINTO, SV_C_REDIRECT, SV_C_REJECT, SV_C_EREJECT, SV_C_VACATION, SV_C_SET,
	SV_C_SETFLAG, SV_C_ADDFLAG, SV_C_REMOVEFLAG, SV_C_INCLUDE, SV_C_RETURN, SV_C_GLOBAL,
	SV_C_ADDHEADER, SV_C_DELETEHEADER, SV_C_FOREVERYPART, SV_C_BREAK, SV_C_EXTRACTTEXT,
	SV_C_NOTIFY, SV_C_ERROR,
	SV_T_ADDRESS, SV_T_ENVELOPE, SV_T_HEADER, SV_T_EXISTS, SV_T_SIZE, SV_T_ALLOF,
	SV_T_ANYOF, SV_T_NOT, SV_T_TRUE, SV_T_FALSE, SV_T_STRING, SV_T_HASFLAG, SV_T_BODY,
	SV_T_DATE, SV_T_CURRENTDATE, SV_T_MAILBOXEXISTS, SV_T_DUPLICATE, SV_T_ENVIRONMENT,
	SV_T_SPAMTEST, SV_T_VIRUSTEST, SV_T_IHAVE, SV_T_VALID_NOTIFY_METHOD,
	SV_T_NOTIFY_METHOD_CAPABILITY, SV_T_SPECIALUSE_EXISTS,
	/* vnd.dovecot.testsuite */
	SV_C_TEST, SV_C_TEST_FAIL, SV_C_TEST_SET, SV_C_TEST_CONFIG_SET, SV_C_TEST_CONFIG_UNSET,
	SV_C_TEST_CONFIG_RELOAD, SV_C_TEST_RESULT_RESET, SV_C_TEST_RESULT_PRINT,
	SV_C_TEST_MESSAGE, SV_C_TEST_MAILBOX_CREATE, SV_C_TEST_MAILBOX_DELETE,
	SV_C_TEST_BINARY_SAVE, SV_C_TEST_BINARY_LOAD, SV_C_TEST_IMAP_METADATA_SET,
	SV_T_TEST_SCRIPT_COMPILE, SV_T_TEST_SCRIPT_RUN, SV_T_TEST_MULTISCRIPT, SV_T_TEST_ERROR,
	SV_T_TEST_RESULT_ACTION, SV_T_TEST_RESULT_EXECUTE, SV_T_TEST_MESSAGE,
};

struct sv_def {
	const char *name;
	int	 id;
	bool	 test;
	int	 ext;		/* -1: base language */
	const char *tags;	/* ":name[=s|l|n][!ext]" and groups %C %M %A %I %P */
	const char *pos;	/* s string, l list, n number; '*' first optional, '?' rest */
	int	 subtests;	/* 0 none, 1 one test, 2 a test list */
	int	 block;		/* 0 none, 1 required */
};
const struct sv_def *sv_def_find(const char *name, bool test);

/* Validator (sieve_valid.c) */
int	 sv_validate(struct sieve_script *, struct sv_errs *);
const char *sv_node_tag(const struct sv_node *, const char *name, struct sv_arg **val_r);
#define sv_has_tag(n, t) (sv_node_tag((n), (t), NULL) != NULL)

/* Matching (sieve_match.c) */
struct sv_matchvars {
	struct str v[10];	/* ${0}..${9} */
	bool	 set;
};
/* sv_match - one value against one key under the node's match type and
 * comparator (not :count); captures into mv when not NULL. 1, 0, or -1 on
 * a bad run-time regex (*err_r). */
int	 sv_match(const struct sv_node *, size_t keyidx, const char *val, size_t vlen,
	    const char *key, size_t klen, struct sv_matchvars *mv, const char **err_r);
bool	 sv_cmp_eq(int cmp, const char *a, size_t al, const char *b, size_t bl);
int	 sv_numeric_cmp(const char *a, size_t al, const char *b, size_t bl);
/* sv_cmp_order - <0, 0, >0 under the comparator (relational :value, :count) */
int	 sv_cmp_order(int cmp, const char *a, size_t al, const char *b, size_t bl);
bool	 sv_relop(int relop, int c);
bool	 sv_glob(int cmp, const char *val, size_t vlen, const char *pat, size_t plen,
	    struct sv_matchvars *mv);
int	 sv_regex_compile(regex_t *re, const char *pat, int cmp, const char **err_r);

/* The message (sieve_msg.c). */
struct sv_header {
	char	*name;		/* as written */
	char	*value;		/* unfolded, leading white space dropped (raw) */
	char	*decoded;	/* RFC 2047 decoded */
};
struct sv_part {
	struct sv_header *hdr;
	size_t	 nhdr;
	char	*ctype;		/* "text/plain" lower case (default by context) */
	char	*charset;
	const char *body;	/* into the message data */
	size_t	 body_len;
	int	 parent;	/* index, -1 for the top */
	size_t	 prologue_len;	/* multipart: text before the first boundary */
	const char *epilogue;	/* multipart: text after the last boundary */
	size_t	 epilogue_len;
	bool	 multipart, is_message;
	unsigned depth;
};
struct sieve_msg {
	char	*data;
	size_t	 len;
	struct sv_part *parts;	/* [0] is the message itself */
	size_t	 nparts;
	/* editheader keeps its own copy of the top-level header list */
};
const struct sv_header *sv_msg_headers(const struct sieve_msg *, size_t part, size_t *n_r);
/* sv_addr_list - the addresses of a header value: each pushed to out (the
 * addr-spec, or the raw item if it does not parse). */
struct strvec;
void	 sv_addr_list(const char *value, struct strvec *out);
/* sv_addr_part - the part of an address; false if it has none (detail) */
bool	 sv_addr_part(const char *addr, int part, const char *sep, struct str *out);
void	 sv_rfc2047_decode(const char *in, size_t len, struct str *out);
/* sv_body_text - text parts decoded (for body :text) */
void	 sv_part_decoded_body(const struct sieve_msg *, size_t part, struct str *out);
/* sv_html_to_text - the text of HTML in place: tags dropped (script and
 * style with their content), common entities decoded */
void	 sv_html_to_text(struct str *);
bool	 sv_parse_date(const char *s, time_t *t_r, int *zone_r);

/* Interpreter and result (sieve_run.c, sieve_result.c) */
struct sv_run;
/* one ID a duplicate test found new: marked as seen when the result is
 * executed (RFC 7352 3); each handle keeps its own record */
struct sv_dup {
	char	*id;		/* ID, NUL, handle */
	size_t	 len;
	char	*handle;	/* NULL without :handle */
	size_t	 pos;		/* where it prints among the actions */
	uint64_t seconds;
};

struct sieve_result {
	struct sieve_action *acts;
	size_t	 n, cap;
	bool	 keep_cancelled;	/* implicit keep cancelled */
	bool	 keep_explicit;
	char	**keep_flags;		/* flags of implicit keep */
	unsigned redirects;
	struct str edited;		/* editheader: the header section as edited */
	bool	 edited_set;
	struct sv_header *ehdr;		/* editheader working copy */
	size_t	 nehdr;
	bool	 ehdr_set;
	struct sv_dup *dups;		/* duplicate: IDs to mark at execution */
	size_t	 ndups;
	bool	 stopped;		/* a script ran stop: later scripts do not run */
	bool	 carry_flags;		/* keep_flags seed the next run's flags */
};
char	**sv_strv_dup(char *const *v);
/* sv_result_track_dup - a duplicate test found id ("ID\0handle", len
 * bytes) new: mark it when the result is executed */
void	 sv_result_track_dup(struct sieve_result *, const char *id, size_t len,
	    const char *handle, uint64_t seconds);
/* sv_uri_decode - %XX escapes of a URI component */
void	 sv_uri_decode(const char *in, size_t len, struct str *out);
void	 sv_strv_free(char ***v);

#endif
