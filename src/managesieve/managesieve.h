/* managesieve.h - the ManageSieve server (RFC 5804) in Dovecot/Pigeonhole
 * 2.3's dialect: its replies, response codes, log lines and settings
 * (protocols = ... sieve, service managesieve-login { inet_listener sieve
 * { port = 4190 } }, plugin { sieve = file:~/sieve;active=~/.dovecot.sieve
 * sieve_max_script_size sieve_quota_max_scripts sieve_quota_max_storage
 * sieve_extensions sieve_max_redirects }).
 *
 * Processes: the service and session processes are POP3's and IMAP's
 * (pop3_service_main, src/login/login_split): per connection a session
 * process S forks the login process L (managesieve_login.c, as
 * default_login_user: greeting, CAPABILITY, STARTTLS, AUTHENTICATE with
 * SASL-IR, NOOP, LOGOUT); after the hand-off S, which stays root, forks
 * the user's process per login (login_split's resumable mode), which runs
 * the script commands (managesieve_session.c) on sieve_storage.c, every
 * script compiled by src/sieve before it is stored; UNAUTHENTICATE hands
 * the connection back to L for another login.
 * Tests: tests/e2e/test_managesieve.py; fuzz: fuzz/fuzz_managesieve_command.c */
#ifndef YUBIN_MANAGESIEVE_H
#define YUBIN_MANAGESIEVE_H

/* cmd_managesieve - the service (argv: managesieve -c DOVECOT_CONF -l
 * LISTENER), fd 3 the listening socket */
int	 cmd_managesieve(int argc, char **argv);

#endif
