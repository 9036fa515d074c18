/* managesieve_parse.h - the ManageSieve (RFC 5804) command reader: one
 * command from a buffer of client bytes, with atoms, quoted strings
 * (section 4: "\" escapes only '"' and '\'), and literals, both the
 * non-synchronizing "{N+}" CRLF form clients must use and "{N}" CRLF.
 * A literal may span many reads: the reader says how much more it needs
 * and consumes nothing until the command is whole, so a caller keeps
 * appending to its buffer and calls again.
 *
 * The server (managesieve.h) reads commands with it through
 * managesieve_io.c's reader.
 * Tests: tests/unit/managesieve/test_managesieve_parse.c;
 * fuzz: fuzz/fuzz_managesieve_command.c, fuzz_managesieve_session.c */
#ifndef YUBIN_MANAGESIEVE_PARSE_H
#define YUBIN_MANAGESIEVE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define MSIEVE_MAX_ARGS		8	/* PUTSCRIPT has two; AUTHENTICATE three */
#define MSIEVE_MAX_VERB		32
#define MSIEVE_MAX_LINE		8192	/* a line outside literals */

enum msieve_arg_type {
	MSIEVE_ARG_ATOM,	/* e.g. a SASL mechanism name */
	MSIEVE_ARG_STRING,	/* quoted or literal */
};

struct msieve_arg {
	enum msieve_arg_type type;
	char	*s;		/* owned, NUL-terminated (a literal may hold NULs: use len) */
	size_t	 len;
};

struct msieve_cmd {
	char	 verb[MSIEVE_MAX_VERB];	/* upper-cased */
	struct msieve_arg args[MSIEVE_MAX_ARGS];
	size_t	 nargs;
};

enum msieve_parse {
	MSIEVE_PARSE_MORE = 0,	/* the command is not complete yet: read more */
	MSIEVE_PARSE_OK = 1,	/* *cmd filled; *consumed_r bytes used */
	MSIEVE_PARSE_ERROR = -1,	/* *error_r; *consumed_r bytes (through the
				 * bad line's end, or the whole buffer) to drop */
};

/* msieve_parse - one command from buf. max_literal bounds a literal's size
 * (a bigger one is an error, found from its "{N+}" before any of it is
 * read). cmd must be deinitialised after MSIEVE_PARSE_OK. */
enum msieve_parse msieve_parse(const char *buf, size_t len, size_t max_literal,
	    struct msieve_cmd *cmd, size_t *consumed_r, const char **error_r);
void	 msieve_cmd_deinit(struct msieve_cmd *);

/* msieve_quote - s as a ManageSieve string into out: quoted when it is
 * short and holds no CR, LF, NUL or 8-bit byte, else a literal {N}CRLF */
struct str;
void	 msieve_quote(struct str *out, const char *s, size_t len);

#endif
