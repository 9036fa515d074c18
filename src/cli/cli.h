/* cli.h - the commands of the multi-call binary. argv[0] (or the first
 * argument of "yubin") picks one; each returns the process exit status. */
#ifndef YUBIN_CLI_H
#define YUBIN_CLI_H

typedef int cli_main_fn(int argc, char **argv);

struct cli_command {
	const char	*name;
	cli_main_fn	*main;
	const char	*help;
};

/* cli_commands - the table, ended by a NULL name */
extern const struct cli_command cli_commands[];
const struct cli_command *cli_find(const char *name);

cli_main_fn cmd_postconf;
cli_main_fn cmd_postfix;
cli_main_fn cmd_yubin_control;
cli_main_fn cmd_doveconf;
cli_main_fn cmd_doveadm;
cli_main_fn cmd_doveadm_pw;
cli_main_fn cmd_auth;
cli_main_fn cmd_dev;
cli_main_fn cmd_paramdoc;
cli_main_fn cmd_postmap;
cli_main_fn cmd_postalias;
cli_main_fn cmd_newaliases;
cli_main_fn cmd_smtpd;
cli_main_fn cmd_unavailable;
cli_main_fn cmd_postqueue;
cli_main_fn cmd_postsuper;
cli_main_fn cmd_postcat;
cli_main_fn cmd_mailq;
cli_main_fn cmd_sendmail;
cli_main_fn cmd_qtool;
cli_main_fn cmd_dnslookup;	/* src/cli/dnslookup.c */
cli_main_fn cmd_master;
cli_main_fn cmd_qmgr;
cli_main_fn cmd_pickup;
cli_main_fn cmd_inprocess;
cli_main_fn cmd_dovecot;	/* src/dovecot/dovecot_master.c */
cli_main_fn cmd_pop3;		/* src/pop3/pop3_server.c */
cli_main_fn cmd_procmail;	/* src/procmail/pm_main.c */
cli_main_fn cmd_formail;	/* src/procmail/formail.c */
cli_main_fn cmd_lmtp;		/* src/lmtp/lmtp_server.c */
cli_main_fn cmd_sievec;		/* src/cli/sieve_tools.c */
cli_main_fn cmd_sieve_test;
cli_main_fn cmd_sieve_testsuite;	/* src/cli/sieve_testsuite.c */
cli_main_fn cmd_deliver;		/* src/cli/deliver.c */
cli_main_fn cmd_imap;		/* src/imap/imap_mail.c */
cli_main_fn cmd_managesieve;	/* src/managesieve/managesieve_io.c */

/* postqueue_run - postqueue's work for mailq and sendmail too: mode 'p'
 * (list), 'j' (JSON), 'f' (flush), 'i' (one ID: arg), 's' (site: arg) */
int	 postqueue_run(const char *config_flag, int mode, const char *arg);

#endif
