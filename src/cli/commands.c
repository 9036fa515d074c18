/* commands.c - the table of commands of the multi-call binary. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

const struct cli_command cli_commands[] = {
	{ "postfix", cmd_postfix, "control the MTA: start, stop, abort, reload, status, flush, check" },
	{ "start", cmd_yubin_control, "start the instance (postfix start)" },
	{ "stop", cmd_yubin_control, "stop the instance (postfix stop)" },
	{ "postconf", cmd_postconf, "show or edit main.cf and master.cf parameters" },
	{ "postqueue", cmd_postqueue, "queue control for users (list, flush)" },
	{ "postsuper", cmd_postsuper, "queue maintenance (delete, hold, requeue)" },
	{ "postcat", cmd_postcat, "show a queued message" },
	{ "postmap", cmd_postmap, "build or query lookup tables" },
	{ "postalias", cmd_postalias, "build or query alias tables" },
	{ "sendmail", cmd_sendmail, "Sendmail-compatible interface" },
	{ "mailq", cmd_mailq, "list the mail queue" },
	{ "newaliases", cmd_newaliases, "rebuild the alias database" },
	{ "dovecot", cmd_dovecot, "the retrieval half's master: dovecot [-c FILE] [-F] [-n] [stop|reload]" },
	{ "doveconf", cmd_doveconf, "show dovecot.conf settings" },
	{ "auth", cmd_auth, "the authentication service (auth -c DOVECOT_CONF [--listen PATH])" },
	{ "doveadm", cmd_doveadm, "mail access administration (config, ...)" },
	{ "paramdoc", cmd_paramdoc, "print the main.cf parameter table as Markdown" },
	{ "smtpd", cmd_smtpd, "the SMTP server daemon (run by the master, or --listen for tests)" },
	{ "pop3", cmd_pop3, "the POP3 service (run by the dovecot master)" },
	{ "dovecot-lmtp", cmd_lmtp, "the LMTP server (run by the dovecot master; Postfix's \"lmtp\" is the client)" },
	{ "imap", cmd_imap, "the IMAP service (run by the dovecot master)" },
	{ "managesieve", cmd_managesieve, "the ManageSieve service (run by the dovecot master)" },
	{ "dev", cmd_dev, "create and run a self-contained development instance" },
	{ "master", cmd_master, "the master daemon (postfix start runs it)" },
	{ "qmgr", cmd_qmgr, "the queue manager daemon (run by the master)" },
	{ "pickup", cmd_pickup, "the local submission daemon (run by the master)" },
	{ "discard", cmd_inprocess, "the discard transport (runs inside qmgr)" },
	{ "error", cmd_inprocess, "the error transport (runs inside qmgr)" },
	{ "procmail", cmd_procmail, "procmail-compatible delivery filter (.procmailrc)" },
	{ "formail", cmd_formail, "formail-compatible mail (re)formatter" },
	{ "sievec", cmd_sievec, "check a Sieve script (sievec SCRIPT)" },
	{ "sieve-test", cmd_sieve_test, "run a Sieve script on a message and print the actions" },
	{ "deliver", cmd_deliver, "deliver a message to a user through Sieve (dovecot-lda)" },
	{ "sieve-testsuite", cmd_sieve_testsuite, "run Sieve tests written in Sieve (.svtest)" },
	{ "dnslookup", cmd_dnslookup, "DNS lookups as the mail system makes them (dnslookup [-c DIR] [-s SERVERS] TYPE NAME...)" },
	{ "qtool", cmd_qtool, "queue test tool (enqueue a message; for tests only)" },
	{ NULL, NULL, NULL },
};

const struct cli_command *
cli_find(const char *name)
{
	const struct cli_command *c;

	for (c = cli_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* cmd_unavailable - commands whose subsystem this build does not have yet:
 * say so plainly and fail, rather than pretend. */
int
cmd_unavailable(int argc, char **argv)
{
	log_msg(LOG_LEVEL_FATAL, "%s is not available in yubin %s yet: its subsystem "
	    "is not built", log_tag(), YUBIN_VERSION);
	return 75;		/* EX_TEMPFAIL */
}
