/* dovecot_conf.h - dovecot.conf in Dovecot 2.3's syntax and semantics.
 *
 * A parsed file is a tree: the root holds top-level settings, sections
 * (namespace, service, passdb, plugin, ...) and filters (protocol NAME,
 * local IP, remote IP) which hold top-level settings that apply only there.
 * Sections of the same type and name are merged as Dovecot merges them;
 * unnamed list sections (passdb, userdb, unnamed namespace) are not.
 *
 * Values are kept as written after quote removal and `$key` expansion.
 * A `key = <path` value is kept as "<path" and read only when asked
 * (dovecot_conf_value_read), as Dovecot reads it lazily.
 *
 * The settings table is src/lib/dovecot_settings.def; doveconf and the
 * daemons read defaults only through it. */
#ifndef YUBIN_DOVECOT_CONF_H
#define YUBIN_DOVECOT_CONF_H

#include <stdbool.h>
#include <stddef.h>

struct str;

enum dovecot_conf_type {
	DC_STR,
	DC_BOOL,	/* yes / no */
	DC_UINT,
	DC_PORT,	/* 0..65535 */
	DC_TIME,	/* "5 mins", "30s", ... */
	DC_SIZE,	/* "64 k", "10M", ... */
	DC_ENUM,	/* one of enum_values */
};

/* one row of dovecot_settings.def */
struct dovecot_conf_setting {
	const char	*section;	/* "" top level, a type, or "service/NAME..." */
	const char	*name;
	enum dovecot_conf_type type;
	const char	*def;		/* as `doveconf -d` prints it; NULL = unset */
	const char	*enum_values;	/* "a:b:c" for DC_ENUM, else NULL */
	const char	*help;
};

extern const struct dovecot_conf_setting dovecot_conf_settings[];
extern const size_t dovecot_conf_settings_count;

/* dovecot_conf_setting_find - the row for name in section ("" = top level)
 * or NULL */
const struct dovecot_conf_setting *dovecot_conf_setting_find(const char *section,
	    const char *name);

struct dovecot_conf;		/* opaque: a parsed configuration */
struct dovecot_conf_section;	/* opaque: root, section or filter; owned by the conf */

/* parse flags */
#define DOVECOT_CONF_NO_INCLUDES 0x1	/* !include is an error, !include_try is skipped
					 * (fuzzing, untrusted buffers) */

/* Bounds that keep hostile input finite. */
#define DOVECOT_CONF_MAX_FILE_SIZE	(16 * 1024 * 1024)
#define DOVECOT_CONF_MAX_INCLUDE_DEPTH	32
#define DOVECOT_CONF_MAX_FILES		1024	/* included files in one parse */
#define DOVECOT_CONF_MAX_SECTION_DEPTH	16
#define DOVECOT_CONF_MAX_EXPANSION	(64 * 1024)	/* bytes a $key expansion may add */

struct dovecot_conf *dovecot_conf_new(void);
void	 dovecot_conf_free(struct dovecot_conf **);

/* dovecot_conf_parse_file - parse path and what it includes into conf.
 * 0, or -1 with *error_r (owned by conf) like Dovecot's, e.g.
 * "Error in configuration file /etc/x.conf line 5: Unknown setting: foo";
 * "open(/x) failed: No such file or directory" when path itself is missing. */
int	 dovecot_conf_parse_file(struct dovecot_conf *, const char *path, unsigned flags,
	    const char **error_r);
/* dovecot_conf_parse_buffer - the same for data (len bytes, may hold NULs)
 * named name in messages; relative includes resolve against name's dir. */
int	 dovecot_conf_parse_buffer(struct dovecot_conf *, const char *name, const char *data,
	    size_t len, unsigned flags, const char **error_r);
/* dovecot_conf_warnings - warnings of the parse ("FILE line N: text"),
 * NULL-terminated; owned by conf */
const char *const *dovecot_conf_warnings(const struct dovecot_conf *);

/* dovecot_conf_get - a setting by path: "mail_location", "plugin/sieve",
 * "namespace/inbox/location", "service/imap-login/inet_listener/imaps/port".
 * Returns the configured value, else the default (built-in service
 * defaults included), else NULL when neither exists. Borrowed from conf.
 * Filters are not applied: see dovecot_conf_get_filtered. */
const char *dovecot_conf_get(const struct dovecot_conf *, const char *path);

/* what a connection looks like, for filters; NULL members match nothing
 * but unconditioned settings */
struct dovecot_conf_filter {
	const char	*protocol;	/* "imap", "pop3", "lmtp", "lda", "sieve", ... */
	const char	*local_ip;	/* text form, IPv4 or IPv6 */
	const char	*remote_ip;
};

/* dovecot_conf_get_filtered - a top-level setting as a process serving
 * filter sees it: the most specific matching protocol/local/remote block
 * that sets key wins, else the global value, else the default. */
const char *dovecot_conf_get_filtered(const struct dovecot_conf *,
	    const struct dovecot_conf_filter *, const char *key);

/* dovecot_conf_protocol_str - key as a process of protocol sees it
 * (dovecot_conf_get_filtered without addresses), "" when unset; the
 * caller frees. _bool and _uint: the same read as a boolean or a number,
 * false or 0 when unset or not one. */
char	*dovecot_conf_protocol_str(const struct dovecot_conf *, const char *protocol,
	    const char *key);
bool	 dovecot_conf_protocol_bool(const struct dovecot_conf *, const char *protocol,
	    const char *key);
unsigned long dovecot_conf_protocol_uint(const struct dovecot_conf *, const char *protocol,
	    const char *key);

/* typed readers of a value (for daemons): 0, or -1 with *error_r a literal */
int	 dovecot_conf_parse_bool(const char *value, bool *r, const char **error_r);
int	 dovecot_conf_parse_uint(const char *value, unsigned long long *r, const char **error_r);
int	 dovecot_conf_parse_time_ms(const char *value, unsigned long long *ms_r,
	    const char **error_r);
int	 dovecot_conf_parse_size(const char *value, unsigned long long *bytes_r,
	    const char **error_r);

/* dovecot_conf_value_read - the content of a value into out: for "<path"
 * the file's content (path relative to the file that set it, capped at
 * DOVECOT_CONF_MAX_FILE_SIZE), else the value itself. 0 or -1 with errno. */
int	 dovecot_conf_value_read(const struct dovecot_conf *, const char *value,
	    struct str *out);

/* Walking the tree (daemons read passdb lists, namespaces, services). */
const struct dovecot_conf_section *dovecot_conf_root(const struct dovecot_conf *);
size_t	 dovecot_conf_section_count(const struct dovecot_conf_section *);
const struct dovecot_conf_section *dovecot_conf_section_child(
	    const struct dovecot_conf_section *, size_t i);
const char *dovecot_conf_section_type(const struct dovecot_conf_section *);	/* NULL for root */
const char *dovecot_conf_section_name(const struct dovecot_conf_section *);	/* NULL if unnamed */
/* dovecot_conf_section_get - key in this section: set value, else the
 * default of this section (type), else NULL */
const char *dovecot_conf_section_get(const struct dovecot_conf_section *, const char *key);
/* dovecot_conf_section_key - the i-th explicitly set key and its value
 * (plugin {} and dict {} are free-form); false past the end */
bool	 dovecot_conf_section_key(const struct dovecot_conf_section *, size_t i,
	    const char **key_r, const char **value_r);

/* dump flags, doveconf's options */
#define DOVECOT_CONF_DUMP_NONDEFAULT	0x1	/* -n: only what differs from defaults */
#define DOVECOT_CONF_DUMP_SHOW_SECRETS	0x2	/* -P */

/* dovecot_conf_dump - the configuration as doveconf prints it, without
 * its header comments, appended to out */
void	 dovecot_conf_dump(const struct dovecot_conf *, unsigned flags, struct str *out);
/* dovecot_conf_dump_value - append value as doveconf quotes it after "key = " */
void	 dovecot_conf_dump_value(struct str *out, const char *value);

#endif
