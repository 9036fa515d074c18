/* doveadm_sieve.h - doveadm sieve list|put|get|activate|deactivate|
 * delete|rename (doveadm_sieve.c); doveadm.c dispatches to it. */
#ifndef YUBIN_DOVEADM_SIEVE_H
#define YUBIN_DOVEADM_SIEVE_H

/* doveadm_sieve_cmd - argv[0] is the command name ("sieve"); config_flag
 * is -c FILE or NULL. The exit status, or -1 when argv[0] is not "sieve". */
int	 doveadm_sieve_cmd(const char *config_flag, int argc, char **argv);

#endif
