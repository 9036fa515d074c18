/* doveadm_mail.h - doveadm's who, kick, stop, reload and mailbox
 * commands (doveadm_mail.c); doveadm.c dispatches to them. */
#ifndef YUBIN_DOVEADM_MAIL_H
#define YUBIN_DOVEADM_MAIL_H

/* doveadm_mail_cmd - argv[0] is the command name; config_flag is -c FILE
 * or NULL. The exit status, or -1 when argv[0] is not one of ours. */
int	 doveadm_mail_cmd(const char *config_flag, int argc, char **argv);

#endif
