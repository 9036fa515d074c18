/* maincf.h - main.cf with Postfix's syntax and semantics.
 *
 * Syntax: "name = value" lines; a line that starts with white space
 * continues the previous one; "#" lines and blank lines are comments. The
 * later of two settings wins. Values stay as written ("raw") and are
 * expanded lazily on lookup: $name, ${name}, $(name), ${name?text},
 * ${name:text}, ${name?{text}:{text}} and ${{$a} OP {b} ? {t} : {f}} with
 * OP one of == != <level <=level >level >=level.
 *
 * Every parameter yubin knows is one line of maincf_params.def (name, type,
 * default as Postfix prints it, help); postconf -d, -n, the checks and
 * docs/parameters.md are derived from that table. */
#ifndef YUBIN_MAINCF_H
#define YUBIN_MAINCF_H

#include <stdbool.h>
#include <stddef.h>

struct str;
struct maincf;

enum maincf_type {
	MAINCF_STR,
	MAINCF_BOOL,	/* yes/no */
	MAINCF_INT,	/* a number */
	MAINCF_SIZE,	/* a number of bytes (Postfix has no units for these) */
	MAINCF_TIME,	/* a number with an optional unit s m h d w */
	MAINCF_LIST,	/* separated by commas and/or white space */
};

/* A default that depends on the host or on other settings. */
typedef void maincf_default_fn(struct maincf *, struct str *out);

struct maincf_param {
	const char		*name;
	enum maincf_type	 type;
	const char		*def;		/* default text; NULL when def_fn is set */
	maincf_default_fn	*def_fn;
	char			 unit;		/* TIME: the unit a bare number has */
	long			 min;		/* INT/SIZE/TIME: smallest value */
	const char		*help;
};

extern const struct maincf_param maincf_params[];
extern const size_t maincf_nparams;
const struct maincf_param *maincf_param_find(const char *name);
/* maincf_param_is_raw - a parameter whose $names are expanded at delivery
 * time, not from main.cf (forward_path's $home), as Postfix's raw table */
bool	 maincf_param_is_raw(const char *name);

/* One "name = value" line of main.cf, as written. */
struct maincf_entry {
	char	*name;		/* owned */
	char	*value;		/* owned, raw (unexpanded), continuation lines joined */
	int	 line;		/* where it starts in main.cf */
};

/* maincf_new - an instance's main.cf, not yet read */
struct maincf *maincf_new(const char *config_dir);
void	 maincf_free(struct maincf **);
/* maincf_load - read DIR/main.cf. -1 when it cannot be read or is malformed;
 * *error_r then says why, naming the file (and line). Bad lines are also
 * reported with log_warn as they are found. */
int	 maincf_load(struct maincf *, const char **error_r);
/* maincf_parse - like maincf_load, from a buffer (for tests and fuzzing) */
int	 maincf_parse(struct maincf *, const char *path, const char *text, size_t len,
	    const char **error_r);
const char *maincf_path(const struct maincf *);
const char *maincf_config_dir(const struct maincf *);
/* maincf_entries - the settings in file order (later ones win) */
const struct maincf_entry *maincf_entries(const struct maincf *, size_t *n_r);
/* maincf_override - a setting that wins over main.cf (master.cf -o, tests) */
void	 maincf_override(struct maincf *, const char *name, const char *value);
/* maincf_ignore_file - behave as postconf -d: use defaults only */
void	 maincf_use_defaults_only(struct maincf *, bool);

/* maincf_raw - the raw value: the override, else main.cf, else the default
 * text (derived defaults are computed). NULL for an unknown, unset name.
 * The result is owned by the maincf and stays valid until it is freed. */
const char *maincf_raw(struct maincf *, const char *name);
/* maincf_default - the default text of a known parameter, else NULL */
const char *maincf_default(struct maincf *, const char *name);
/* maincf_is_set - main.cf (or an override) sets it */
bool	 maincf_is_set(struct maincf *, const char *name);
/* maincf_line - the main.cf line that sets it, or 0 */
int	 maincf_line(struct maincf *, const char *name);

/* maincf_expand - expand $name references in text into out (appended).
 * -1 on a reference loop or malformed expression, with *error_r (static
 * text or owned by the maincf). Undefined names expand to "" and are noted
 * (maincf_undefined). */
int	 maincf_expand(struct maincf *, const char *text, struct str *out, const char **error_r);
/* maincf_get - expanded value of a parameter into out (reset first) */
int	 maincf_get(struct maincf *, const char *name, struct str *out, const char **error_r);

/* Typed accessors of the expanded value; -1 with *error_r on a bad value. */
int	 maincf_get_bool(struct maincf *, const char *name, bool *val_r, const char **error_r);
int	 maincf_get_long(struct maincf *, const char *name, long *val_r, const char **error_r);
/* maincf_get_time - seconds */
int	 maincf_get_time(struct maincf *, const char *name, long *val_r, const char **error_r);

/* maincf_parse_bool/long/time - value syntax, shared with postfix check;
 * unit is the default unit of a bare time number. */
bool	 maincf_parse_bool(const char *s, bool *val_r);
bool	 maincf_parse_long(const char *s, long *val_r);
bool	 maincf_parse_time(const char *s, char unit, long *val_r);
/* maincf_check_value - does value suit the parameter's type? */
bool	 maincf_check_value(const struct maincf_param *, const char *value, const char **why_r);

/* maincf_list_split - split a list value (commas and/or white space;
 * {braced} items stay whole) into the vector */
struct strvec;
void	 maincf_list_split(const char *value, struct strvec *out);

/* maincf_note_reference - names referenced from elsewhere (master.cf -o
 * values) count as used, as Postfix's "unused parameter" check has it */
void	 maincf_note_reference(struct maincf *, const char *text);
/* maincf_unused - user-defined settings that nothing uses: unknown names not
 * referenced by any $name in main.cf or master.cf. Appends names. */
void	 maincf_unused(struct maincf *, struct strvec *out);
/* maincf_undefined - names that an expansion found undefined */
const struct strvec *maincf_undefined(struct maincf *);

#endif
