/* postconf_edit.h - the parts of postconf that edit main.cf and show master.cf */
#ifndef YUBIN_POSTCONF_EDIT_H
#define YUBIN_POSTCONF_EDIT_H

#include <stdbool.h>

struct maincf;

/* postconf_edit - mode 'e' (name=value ...), 'X' (remove names) or '#'
 * (comment out names) on DIR/main.cf, in place, keeping comments and order.
 * Returns the exit status. */
int	 postconf_edit(const char *dir, int mode, int argc, char **argv);
struct mastercf;
/* postconf_master - mode 'M' (services; folded as -Mf) or 'P' (their -o
 * parameters), optionally only the services named service[/type] */
int	 postconf_master(struct maincf *, int mode, bool folded, int argc, char **argv);
/* postconf_master_load - DIR/master.cf, noting the $names its -o values use;
 * a missing file is only a warning when quiet_missing. The caller frees *mf_r. */
int	 postconf_master_load(struct maincf *, struct mastercf **mf_r, bool quiet_missing);

#endif
