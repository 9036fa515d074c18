/* mastercf.h - master.cf, Postfix's service table, with Postfix 3.7 syntax.
 *
 * One service per logical line:
 *
 *	service type private unpriv chroot wakeup maxproc command [args...]
 *
 * "#" lines and blank lines are comments; a line that starts with white
 * space continues the previous logical line (a comment line inside does not
 * end it). "-" in columns 3-7 means the default: private y, unpriv y,
 * chroot n (Postfix >= 3.0), wakeup 0 (never), maxproc
 * $default_process_limit. Daemon options come first after the command:
 * "-o name=value", "-o { name = value with spaces }" (Postfix >= 3.0),
 * "-oname=value", "-v", "-D"; the first argument that is not an option ends
 * them, and what follows is passed through ("{...}" groups one argument).
 *
 * Errors follow postconf's wording ("file PATH: line N: bad field count",
 * "invalid type field ..."), with file and line added where postconf has
 * none. Input is bounded: MASTERCF_MAX_SIZE bytes of file, and everything
 * else is linear in the input. */
#ifndef YUBIN_MASTERCF_H
#define YUBIN_MASTERCF_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"

struct str;
struct mastercf;

/* The largest master.cf mastercf_load reads (Postfix has no limit; a real
 * one is a few KB). */
#define MASTERCF_MAX_SIZE	(16u * 1024 * 1024)

enum mastercf_type {
	MASTERCF_INET,
	MASTERCF_UNIX,
	MASTERCF_UNIX_DGRAM,
	MASTERCF_FIFO,
	MASTERCF_PASS,
};

/* One "-o name=value" daemon option, in file order. */
struct mastercf_opt {
	char	*name;		/* owned */
	char	*value;		/* owned; braces and surrounding blanks stripped */
};

struct mastercf_service {
	/* The whole entry as postconf normalizes it: the seven columns, the
	 * command, then the arguments with "-oname=value" split into "-o"
	 * "name=value" and {braces} removed. Every const char * below points
	 * into it. */
	struct strvec		 argv;		/* owned */
	const char		*name;		/* "smtp", "127.0.0.1:2525", "[::1]:25" */
	const char		*type_name;	/* "inet", as written */
	enum mastercf_type	 type;
	const char		*private_text;	/* columns 3-7 as written ("-" = default) */
	const char		*unpriv_text;
	const char		*chroot_text;
	const char		*wakeup_text;
	const char		*maxproc_text;
	bool			 private_;	/* resolved: y, y, n when "-" */
	bool			 unpriv;
	bool			 chroot;
	long			 wakeup;	/* seconds; 0 = never */
	bool			 wakeup_cond;	/* "N?": only after the service was used */
	long			 maxproc;	/* -1 = "-" ($default_process_limit); 0 = no limit */
	const char		*command;
	size_t			 args_index;	/* argv.v[args_index...] = arguments after command */
	struct mastercf_opt	*opts;		/* owned array; -o overrides in order */
	size_t			 nopts;
	bool			 verbose;	/* -v among the daemon options */
	int			 line;		/* first line of the entry */
};

/* mastercf_new - an empty service table */
struct mastercf *mastercf_new(void);
void	 mastercf_free(struct mastercf **);

/* mastercf_load - read and parse a master.cf file (adding to the table).
 * -1 when it cannot be read or is malformed; *error_r (owned by the
 * mastercf, valid until the next call or free) says why, naming the file
 * and line. A missing file is an error with errno ENOENT set. */
int	 mastercf_load(struct mastercf *, const char *path, const char **error_r);
/* mastercf_parse - like mastercf_load, from a buffer (may hold NUL bytes,
 * which end a logical line's text as they do in Postfix) */
int	 mastercf_parse(struct mastercf *, const char *path, const char *text, size_t len,
	    const char **error_r);

/* mastercf_services - every entry in file order, duplicates included (as
 * postconf -M shows them; the master uses the last, see mastercf_find). */
const struct mastercf_service *mastercf_services(const struct mastercf *, size_t *n_r);
/* mastercf_find - the last service with this name and type ("inet", ...) */
const struct mastercf_service *mastercf_find(const struct mastercf *, const char *name,
	    const char *type);
/* mastercf_warnings - non-fatal problems found while parsing, in order,
 * each "PATH: line N: text" (callers log them with log_warn) */
const struct strvec *mastercf_warnings(const struct mastercf *);

/* mastercf_validate - what the master would refuse or warn about at start,
 * beyond postconf's syntax checks: an inet service that is private, a bad
 * inet host:port or unknown port name, a wakeup or maxproc it cannot use,
 * "-o" without name=value (errors); a duplicate name+type (warning, the
 * last entry wins). Appends "PATH: line N: text" lines; returns the
 * number of errors. */
int	 mastercf_validate(const struct mastercf *, struct strvec *errors,
	    struct strvec *warnings);

/* mastercf_format_service - append the entry as "postconf -M" prints it:
 * the columns at positions 0, 11, 17, 25, 33, 41, 49, 57 (one space at
 * least), then the rest separated by single spaces, values with blanks in
 * braces, ending with a newline. */
void	 mastercf_format_service(const struct mastercf_service *, struct str *out);
/* mastercf_format_service_folded - as "postconf -Mf": each -o on its own
 * line, other lines wrapped before 80 columns, continuation indent 4 */
void	 mastercf_format_service_folded(const struct mastercf_service *, struct str *out);

/* mastercf_type_name - "inet", "unix", "unix-dgram", "fifo", "pass" */
const char *mastercf_type_name(enum mastercf_type);

/* mastercf_inet_split - split an inet service name into host and port text:
 * "smtp" -> "", "smtp"; "127.0.0.1:2525"; "[::1]:2525" -> "::1", "2525";
 * ":2525" -> "", "2525". host "" means every address of inet_interfaces.
 * -1 with *error_r (static text) on a malformed name. Results are appended
 * to host and port. */
int	 mastercf_inet_split(const char *name, struct str *host, struct str *port,
	    const char **error_r);
/* mastercf_port_number - a numeric port, else a service name resolved with
 * getservbyname(3) (tcp), else the built-in table (smtp 25, submission 587,
 * smtps and submissions 465, lmtp 24, ...). -1 when unknown or out of range. */
int	 mastercf_port_number(const char *port);

#endif
