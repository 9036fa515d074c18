/* postconf_edit.h - the parts of postconf that edit main.cf and show master.cf */
#ifndef YUBIN_POSTCONF_EDIT_H
#define YUBIN_POSTCONF_EDIT_H

#include <stdbool.h>

struct maincf;

/* postconf_edit - mode 'e' (name=value ...), 'X' (remove names) or '#'
 * (comment out names) on DIR/main.cf, in place, keeping comments and order.
 * Returns the exit status. */
int	 postconf_edit(const char *dir, int mode, int argc, char **argv);
/* postconf_master - mode 'M' (services) or 'P' (service parameters) */
int	 postconf_master(struct maincf *, int mode, bool defaults, int argc, char **argv);

#endif
