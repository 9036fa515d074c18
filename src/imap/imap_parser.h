/* imap_parser.h - reading IMAP commands (RFC 3501 section 9, RFC 7888
 * LITERAL+) from a byte stream with bounded memory.
 *
 * Two stages:
 *  1. The gatherer (imap_parser_feed) collects one command: its lines and
 *     the literals between them. A line ending in "{N}" announces a
 *     synchronizing literal: the feed stops with IMAP_FEED_CONTINUE so that
 *     the caller sends "+ OK" before the client sends the bytes; "{N+}" is
 *     LITERAL+ (no continuation). The announced size is checked before
 *     anything is read or allocated: a literal over the limit (imap_max_
 *     line_length for every command, the append limit for APPEND) ends the
 *     connection with Dovecot's "* BYE Literal size too large", so a
 *     "{4294967296}" costs nothing. Lines are bounded by max_line.
 *  2. The argument parser (imap_parser_args) turns the gathered command
 *     into a tag, a command name and a tree of arguments: atoms, quoted
 *     strings, literals, NIL, parenthesised lists (nested at most
 *     IMAP_PARSER_MAX_DEPTH deep), and "[...]"/"<...>" kept inside atoms
 *     (BODY[HEADER.FIELDS (A B)]<0.10> is one atom followed by nothing
 *     else, as FETCH wants it).
 *
 * Everything an argument points at lives in the parser and stays valid
 * until the next imap_parser_reset. Tests: tests/unit/imap/test_imap_parser.c;
 * fuzz: fuzz/fuzz_imap_command.c */
#ifndef YUBIN_IMAP_PARSER_H
#define YUBIN_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

#define IMAP_PARSER_MAX_DEPTH	100	/* nested lists */
#define IMAP_DEFAULT_MAX_LINE	65536	/* Dovecot's imap_max_line_length */

enum imap_arg_type {
	IMAP_ARG_NIL,
	IMAP_ARG_ATOM,
	IMAP_ARG_STRING,	/* quoted, unescaped */
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	const char	*str;		/* ATOM/STRING/LITERAL: NUL-terminated (literals may hold NULs) */
	size_t		 len;
	struct imap_arg	*list;		/* LIST: its members */
	size_t		 count;
};

enum imap_feed {
	IMAP_FEED_MORE,		/* everything consumed, the command is not complete */
	IMAP_FEED_COMMAND,	/* a complete command: call imap_parser_args */
	IMAP_FEED_CONTINUE,	/* send "+ OK\r\n" and feed on */
	IMAP_FEED_FATAL,	/* send "* BYE <error>" and close */
};

struct imap_parser {
	struct str	 buf;		/* the gathered command */
	size_t		 max_line;	/* the non-literal text of one command */
	uint64_t	 max_append;	/* all the literals of one APPEND together */
	size_t		 text_len;	/* non-literal bytes gathered */
	uint64_t	 literal_left;	/* > 0: reading a literal */
	uint64_t	 append_lits;	/* APPEND literal bytes announced so far */
	size_t		 line_start;	/* where the current line's text begins in buf */
	bool		 in_literal;
	bool		 done;
	char		 error[128];
	/* the argument tree: one block per list, freed at reset */
	void		**blocks;
	size_t		 nblocks;
};

void	 imap_parser_init(struct imap_parser *, size_t max_line, uint64_t max_append);
void	 imap_parser_deinit(struct imap_parser *);
/* imap_parser_reset - ready for the next command */
void	 imap_parser_reset(struct imap_parser *);

/* imap_parser_feed - take bytes of input; *used_r says how many were
 * consumed (the rest belongs to the next call or the next command). */
enum imap_feed imap_parser_feed(struct imap_parser *, const char *data, size_t len,
	    size_t *used_r);
/* imap_parser_error - the text after "* BYE " (IMAP_FEED_FATAL) or after
 * "BAD Error in IMAP command X: " (imap_parser_args) */
const char *imap_parser_error(const struct imap_parser *);

/* imap_parser_args - the gathered command as tag, name (upper-cased
 * when "UID" precedes it, name is "UID FETCH" etc.) and its arguments.
 * 0, or -1: *tag_r is set when a tag was read ("*" otherwise) and the
 * error text says what is wrong. */
int	 imap_parser_args(struct imap_parser *, const char **tag_r, const char **name_r,
	    struct imap_arg **args_r, size_t *count_r);

/* imap_arg_string - an ATOM, STRING or LITERAL's text (astring), else NULL */
const char *imap_arg_string(const struct imap_arg *);
/* imap_arg_nstring - as imap_arg_string, or NULL for NIL (is_nil_r) */
bool	 imap_arg_is_astring(const struct imap_arg *);

/* --- sequence sets (RFC 3501 sequence-set, RFC 5182 "$") --- */

struct imap_seqrange {
	uint32_t	 lo, hi;	/* lo <= hi; UINT32_MAX stands for "*" */
};

struct imap_seqset {
	struct imap_seqrange *r;	/* owned */
	size_t		 n;
	bool		 saved;		/* "$": the last SEARCH's result */
};

/* imap_seqset_parse - "1,3:5,7:*" or "$". 0, or -1 (Dovecot: "Invalid
 * messageset"). Ranges are normalised (lo <= hi) but not merged. */
int	 imap_seqset_parse(const char *s, struct imap_seqset *out);
void	 imap_seqset_deinit(struct imap_seqset *);
/* imap_seqset_contains - n in the set, where "*" means max */
bool	 imap_seqset_contains(const struct imap_seqset *, uint32_t n, uint32_t max);

/* imap_quote - append s as an IMAP string: NIL for NULL, a quoted string
 * when it is safe, else a literal */
void	 imap_quote(struct str *out, const char *s, size_t len);

/* imap_astring - as an atom when it can be one (mailbox names in LIST) */
void	 imap_astring(struct str *out, const char *s, size_t len);

#endif
