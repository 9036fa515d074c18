# (in a directory of its own: it needs a non-default extension, so
# test_sieve.py's sievec check of every example leaves it out)
# vnd.dovecot.environment implies environment; its items and the env.
# variables namespace ("-" written "_")
require ["vnd.dovecot.environment", "variables", "fileinto"];
if environment :is "vnd.dovecot.default-mailbox" "INBOX" { fileinto "default-mailbox"; }
if environment :is "vnd.dovecot.config.reason" "away" { fileinto "config"; }
fileinto "${env.vnd.dovecot.default_mailbox}-${env.location}-${env.vnd.dovecot.config.reason}";
