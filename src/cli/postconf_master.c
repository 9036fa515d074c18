/* postconf_master.c - postconf -M and -P: master.cf services. */
#include "cli/postconf_edit.h"
#include "lib/log.h"

int
postconf_master(struct maincf *mc, int mode, bool defaults, int argc, char **argv)
{
	log_error("-M and -P need master.cf support, which this build does not have yet");
	return 1;
}
