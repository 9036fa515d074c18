/* postmap.h - the engine postmap, postalias and newaliases share: they
 * differ only in the source format, the dump shape and postalias's "@:@". */
#ifndef YUBIN_CLI_POSTMAP_H
#define YUBIN_CLI_POSTMAP_H

#include "lib/maps.h"

struct postmap_kind {
	const char		*name;		/* "postmap", "postalias" */
	enum maps_source_format	 format;
	const char		*dump_sep;	/* between key and value in -s and -q - */
	bool			 sentinel;	/* add "@" -> "@" (Sendmail's completeness mark) */
};

/* postmap_main - the command line of postmap(1) / postalias(1) */
int	postmap_main(const struct postmap_kind *, int argc, char **argv);
/* postmap_build - build one "type:name" table from its source file; the
 * default type comes from default_database_type. 0, or -1 (logged). */
int	postmap_build(const struct postmap_kind *, const char *spec, int flags, bool keep_mode);

#endif
