/* dovecot_conf-private.h - the settings tree, shared by the parser
 * (dovecot_conf.c) and the doveconf output (dovecot_conf_dump.c). Not for
 * other modules: they use dovecot_conf.h. */
#ifndef YUBIN_DOVECOT_CONF_PRIVATE_H
#define YUBIN_DOVECOT_CONF_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/dovecot_conf.h"
#include "lib/util.h"

struct dc_kv {
	char	*key;		/* owned */
	char	*value;		/* owned; "<path" for file values */
	char	*dir;		/* owned; directory of the file that set it */
};

struct dovecot_conf_section {
	char	*type;		/* owned; NULL for the root */
	char	*name;		/* owned; NULL when unnamed */
	struct dovecot_conf_section *parent;	/* borrowed */
	struct dovecot_conf_section **children;	/* owned, in order of appearance */
	size_t	 nchildren, childcap;
	struct dc_kv *kvs;	/* owned, in order of first setting */
	size_t	 nkvs, kvcap;
};

struct dovecot_conf {
	struct dovecot_conf_section root;
	struct strvec warnings;
	char	*error;		/* owned; last parse error */
	/* parse state */
	unsigned flags;
	unsigned nfiles;	/* files read in this parse, for the cap */
	struct strvec include_stack;	/* paths being parsed, for loop detection */
	struct dovecot_conf_section *stack[DOVECOT_CONF_MAX_SECTION_DEPTH + 1];	/* borrowed */
	char	*stack_file[DOVECOT_CONF_MAX_SECTION_DEPTH + 1];	/* owned */
	unsigned stack_line[DOVECOT_CONF_MAX_SECTION_DEPTH + 1];
	int	 depth;
};

#define IS_WHITE(c) ((c) == ' ' || (c) == '\t')

struct dc_filters {
	const struct dovecot_conf_section **v;	/* borrowed */
	size_t	 n, cap;
};

bool	 dc_is_filter_type(const char *type);
bool	 dc_is_freeform(const char *type);
bool	 dc_is_global(const struct dovecot_conf_section *s);
const char *dc_kv_get(const struct dovecot_conf_section *s, const char *key);
const char *dc_default(const struct dovecot_conf_section *s, const char *key);
bool	 dc_builtin_path(const struct dovecot_conf_section *s, struct str *out);
void	 dc_type_path(const struct dovecot_conf_section *s, struct str *out);
/* dc_filters_collect - every filter node, depth first, least specific first */
void	 dc_filters_collect(const struct dovecot_conf_section *s, struct dc_filters *f);

#endif
