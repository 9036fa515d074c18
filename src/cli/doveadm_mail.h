/* doveadm_mail.h - doveadm's who, kick, stop, reload and mailbox
 * commands (doveadm_mail.c); doveadm.c dispatches to them. The user
 * lookup is shared with doveadm sieve (doveadm_sieve.c). */
#ifndef YUBIN_DOVEADM_MAIL_H
#define YUBIN_DOVEADM_MAIL_H

struct auth_client_userdb;
struct dovecot_conf;

/* doveadm's exit codes (sysexits.h values, as Dovecot's doveadm uses them) */
#define DOVEADM_EX_USAGE	64
#define DOVEADM_EX_DATAERR	65
#define DOVEADM_EX_NOUSER	67
#define DOVEADM_EX_NOTFOUND	68
#define DOVEADM_EX_TEMPFAIL	75

/* doveadm_mail_cmd - argv[0] is the command name; config_flag is -c FILE
 * or NULL. The exit status, or -1 when argv[0] is not one of ours. */
int	 doveadm_mail_cmd(const char *config_flag, int argc, char **argv);

/* doveadm_user_become - -u USER: the userdb entry from the instance's auth
 * service ($base_dir/auth-master of dc), and, as root, become its uid and
 * gid. 0 (*udb filled: deinit it), or the exit status after printing
 * Dovecot's error line (DOVEADM_EX_NOUSER for an unknown user). */
int	 doveadm_user_become(struct dovecot_conf *dc, const char *user,
	    struct auth_client_userdb *udb);

#endif
