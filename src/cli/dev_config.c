/* dev_config.c - the configuration templates of "yubin dev".
 *
 * The files are written for an administrator who knows Postfix and Dovecot:
 * the stock layouts and comments, with the changes a loopback-only,
 * unprivileged instance needs. Templates hold @NAME@ tokens that
 * dev_expand() fills in from struct dev_params. Tests: tests/e2e/test_dev.py
 * (which feeds the results to Debian's real postconf and doveconf). */
#include "cli/dev_config.h"

#include <stdbool.h>
#include <string.h>

#include "lib/str.h"

static const char main_cf_template[] =
"# main.cf - Postfix-style configuration of a yubin development instance.\n"
"#\n"
"# Written by \"yubin dev\" for @DIR@; it is yours to edit: yubin dev never\n"
"# overwrites an existing file. See postconf(5) for each parameter, and\n"
"# \"postconf -c @DIR@ -n\" for what is set here.\n"
"#\n"
"# This instance runs as @USER@, without root, and listens on loopback only\n"
"# (master.cf binds 127.0.0.1 with ports from @PORT_BASE@ up).\n"
"\n"
"# Use the current defaults rather than the backwards-compatible ones, and\n"
"# do not log compatibility warnings.\n"
"compatibility_level = 3.6\n"
"\n"
"# LOCATIONS\n"
"#\n"
"# Everything the instance writes stays under its directory, so several\n"
"# instances (and a system Postfix) can live side by side.\n"
"queue_directory = @DIR@/spool\n"
"data_directory = @DIR@/data\n"
"maillog_file = @DIR@/log/maillog\n"
"\n"
"# OWNERSHIP\n"
"#\n"
"# A system instance has a dedicated mail_owner (postfix) and setgid_group\n"
"# (postdrop). A dev instance runs as whoever started it, so both are the\n"
"# invoking user's names.\n"
"mail_owner = @USER@\n"
"setgid_group = @GROUP@\n"
"\n"
"# IDENTITY\n"
"#\n"
"# myhostname is this host's name; myorigin is the domain that locally\n"
"# posted mail appears to come from.\n"
"myhostname = @HOST@\n"
"myorigin = $myhostname\n"
"smtpd_banner = $myhostname ESMTP $mail_name (yubin dev)\n"
"biff = no\n"
"append_dot_mydomain = no\n"
"\n"
"# LISTENING\n"
"#\n"
"# master.cf names 127.0.0.1 on each inet service; these keep outgoing\n"
"# connections and anything else that uses the defaults on loopback too.\n"
"inet_interfaces = loopback-only\n"
"inet_protocols = ipv4\n"
"\n"
"# DESTINATIONS AND RELAYING\n"
"#\n"
"# Mail for mydestination is delivered here; everything else is relayed\n"
"# only for mynetworks (loopback) and SASL-authenticated clients. This is\n"
"# NOT an open relay: reject_unauth_destination refuses the rest.\n"
"mydestination = $myhostname, localhost.$mydomain, localhost\n"
"mynetworks = 127.0.0.0/8 [::1]/128\n"
"relay_domains =\n"
"smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated\n"
"    reject_unauth_destination\n"
"# Nothing leaves this host: mail for other domains is deferred and stays\n"
"# in the queue (see it with mailq). Comment this out to deliver for real.\n"
"default_transport = retry:outbound mail disabled in yubin dev\n"
"\n"
"# LOCAL DELIVERY\n"
"#\n"
"# Aliases first (@DIR@/aliases; rebuild the database with\n"
"# \"postalias @DIR@/aliases\" or newaliases), then the user's mailbox.\n"
"# The mail users of this instance live in @DIR@/users (Dovecot's\n"
"# passwd-file), not in /etc/passwd: local(8) hands mailbox delivery over\n"
"# LMTP to this instance's Dovecot side (the canonical Postfix + Dovecot\n"
"# set-up), which runs the user's active Sieve script and writes the\n"
"# Maildir @DIR@/mail/localhost/USER/. With the Dovecot side stopped the\n"
"# mail waits in the queue. \"mailbox_transport = virtual\" would write\n"
"# the Maildir directly (virtual(8), without Sieve).\n"
"alias_maps = hash:@DIR@/aliases\n"
"alias_database = hash:@DIR@/aliases\n"
"home_mailbox = Maildir/\n"
"mail_spool_directory = @DIR@/mail\n"
"mailbox_transport = lmtp:unix:@DIR@/run/lmtp\n"
"virtual_mailbox_base = @DIR@/mail\n"
"virtual_mailbox_maps = inline:{ @DEV_USER@@localhost=localhost/@DEV_USER@/,\n"
"    @DEV_USER@@@HOST@=localhost/@DEV_USER@/ }\n"
"virtual_uid_maps = static:@UID@\n"
"virtual_gid_maps = static:@GID@\n"
"# Accept any local part: local delivery bounces unknown users, and this\n"
"# instance only listens on loopback, so there is no backscatter to fear.\n"
"local_recipient_maps =\n"
"recipient_delimiter = +\n"
"mailbox_size_limit = 0\n"
"\n"
"# TLS\n"
"#\n"
"# A self-signed certificate made for this instance (CN @HOST@, SANs\n"
"# localhost, 127.0.0.1 and ::1). \"may\": offer STARTTLS, do not require\n"
"# it (submission requires it in master.cf).\n"
"smtpd_tls_cert_file = @DIR@/tls/cert.pem\n"
"smtpd_tls_key_file = @DIR@/tls/key.pem\n"
"smtpd_tls_security_level = may\n"
"smtpd_tls_loglevel = 1\n"
"smtp_tls_security_level = may\n"
"\n"
"# SASL\n"
"#\n"
"# Authentication asks the Dovecot-style auth service of this instance\n"
"# (base_dir of dovecot.conf); master.cf turns it on for submission and\n"
"# smtps only.\n"
"smtpd_sasl_type = dovecot\n"
"smtpd_sasl_path = @DIR@/run/auth-client\n"
"smtpd_sasl_auth_enable = no\n";

/* master.cf: Postfix's master.cf.dist with chroot off (no root to chroot
 * with) and the inet services on loopback ports from the base. */
static const char master_cf_template[] =
"#\n"
"# master.cf - Postfix master process configuration of a yubin development\n"
"# instance (@DIR@). For the format, see master(5).\n"
"#\n"
"# Differences from the stock file: the inet services listen on 127.0.0.1\n"
"# with ports offset from @PORT_BASE@, submission and smtps are enabled,\n"
"# and nothing is chrooted (a dev instance runs without root).\n"
"#\n"
"# Do not forget to execute \"postfix -c @DIR@ reload\" after editing this file.\n"
"#\n"
"# ==========================================================================\n"
"# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
"#               (yes)   (yes)   (no)    (never) (100)\n"
"# ==========================================================================\n"
"127.0.0.1:@PORT_SMTP@ inet n    -       n       -       -       smtpd\n"
"#127.0.0.1:@PORT_SMTP@ inet n   -       n       -       1       postscreen\n"
"#smtpd     pass  -       -       n       -       -       smtpd\n"
"#dnsblog   unix  -       -       n       -       0       dnsblog\n"
"#tlsproxy  unix  -       -       n       -       0       tlsproxy\n"
"# submission: mail user agents, STARTTLS and SASL required.\n"
"127.0.0.1:@PORT_SUBMISSION@ inet n -     n       -       -       smtpd\n"
"  -o syslog_name=postfix/submission\n"
"  -o smtpd_tls_security_level=encrypt\n"
"  -o smtpd_sasl_auth_enable=yes\n"
"  -o smtpd_tls_auth_only=yes\n"
"  -o smtpd_reject_unlisted_recipient=no\n"
"#     Longer restriction lists are easier to keep in main.cf as your own\n"
"#     parameters (say mua_client_restrictions), named here with $.\n"
"#  -o smtpd_client_restrictions=\n"
"#  -o smtpd_helo_restrictions=\n"
"#  -o smtpd_sender_restrictions=\n"
"  -o smtpd_relay_restrictions=\n"
"  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
"  -o milter_macro_daemon_name=ORIGINATING\n"
"# smtps (submissions): the same with implicit TLS.\n"
"127.0.0.1:@PORT_SMTPS@ inet n -       n       -       -       smtpd\n"
"  -o syslog_name=postfix/smtps\n"
"  -o smtpd_tls_wrappermode=yes\n"
"  -o smtpd_sasl_auth_enable=yes\n"
"  -o smtpd_reject_unlisted_recipient=no\n"
"#  -o smtpd_client_restrictions=\n"
"#  -o smtpd_helo_restrictions=\n"
"#  -o smtpd_sender_restrictions=\n"
"  -o smtpd_relay_restrictions=\n"
"  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
"  -o milter_macro_daemon_name=ORIGINATING\n"
"#628       inet  n       -       n       -       -       qmqpd\n"
"pickup    unix  n       -       n       60      1       pickup\n"
"cleanup   unix  n       -       n       -       0       cleanup\n"
"qmgr      unix  n       -       n       300     1       qmgr\n"
"#qmgr     unix  n       -       n       300     1       oqmgr\n"
"tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n"
"rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
"bounce    unix  -       -       n       -       0       bounce\n"
"defer     unix  -       -       n       -       0       bounce\n"
"trace     unix  -       -       n       -       0       bounce\n"
"verify    unix  -       -       n       -       1       verify\n"
"flush     unix  n       -       n       1000?   0       flush\n"
"proxymap  unix  -       -       n       -       -       proxymap\n"
"proxywrite unix -       -       n       -       1       proxymap\n"
"smtp      unix  -       -       n       -       -       smtp\n"
"relay     unix  -       -       n       -       -       smtp\n"
"        -o syslog_name=postfix/$service_name\n"
"#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5\n"
"showq     unix  n       -       n       -       -       showq\n"
"error     unix  -       -       n       -       -       error\n"
"retry     unix  -       -       n       -       -       error\n"
"discard   unix  -       -       n       -       -       discard\n"
"local     unix  -       n       n       -       -       local\n"
"virtual   unix  -       n       n       -       -       virtual\n"
"lmtp      unix  -       -       n       -       -       lmtp\n"
"anvil     unix  -       -       n       -       1       anvil\n"
"scache    unix  -       -       n       -       1       scache\n"
"postlog   unix-dgram n  -       n       -       1       postlogd\n";

/* dovecot.conf: one file rather than Debian's conf.d, so that the whole
 * access side of the instance reads top to bottom. */
static const char dovecot_conf_template[] =
"# dovecot.conf - Dovecot-style configuration of a yubin development\n"
"# instance (@DIR@). Dovecot 2.3 syntax; see \"doveconf -c\n"
"# @DIR@/dovecot.conf -n\" for what is set here. yubin dev never\n"
"# overwrites this file once it exists.\n"
"\n"
"# imap, pop3, lmtp (delivery from the MTA) and sieve (ManageSieve).\n"
"protocols = imap pop3 lmtp sieve\n"
"\n"
"# Loopback only: this instance is for trying things out.\n"
"listen = 127.0.0.1\n"
"\n"
"# Sockets (auth-client for the MTA's SASL, among others) and state stay\n"
"# in the instance directory.\n"
"base_dir = @DIR@/run\n"
"state_dir = @DIR@/data/dovecot\n"
"instance_name = yubin-dev\n"
"\n"
"# No root: every service runs as the invoking user (@USER@).\n"
"default_login_user = @USER@\n"
"default_internal_user = @USER@\n"
"default_internal_group = @GROUP@\n"
"first_valid_uid = @UID@\n"
"first_valid_gid = @GID@\n"
"\n"
"# Logging\n"
"log_path = @DIR@/log/dovecot.log\n"
"auth_verbose = yes\n"
"\n"
"# TLS with the instance's self-signed certificate. imaps and pop3s use it\n"
"# from the first byte; imap and pop3 offer STARTTLS.\n"
"ssl = yes\n"
"ssl_cert = <@DIR@/tls/cert.pem\n"
"ssl_key = <@DIR@/tls/key.pem\n"
"ssl_min_protocol = TLSv1.2\n"
"\n"
"# Plaintext authentication is refused without TLS, except on loopback,\n"
"# which Dovecot counts as secure.\n"
"disable_plaintext_auth = yes\n"
"auth_mechanisms = plain login\n"
"\n"
"# Mailboxes: the Maildirs that the MTA's virtual(8) delivery writes.\n"
"mail_location = maildir:@DIR@/mail/localhost/%n\n"
"\n""# An IMAP client quiet in IDLE for 30 seconds is handed to the one\n"
"# imap-hibernate process, which holds it in a few KiB until it speaks or\n"
"# its mailbox changes (0: never, Dovecot's and yubin's default).\n"
"imap_hibernate_timeout = 30 secs\n"
"\n"
"namespace inbox {\n"
"  inbox = yes\n"
"  mailbox Drafts {\n"
"    special_use = \\Drafts\n"
"    auto = subscribe\n"
"  }\n"
"  mailbox Junk {\n"
"    special_use = \\Junk\n"
"    auto = subscribe\n"
"  }\n"
"  mailbox Trash {\n"
"    special_use = \\Trash\n"
"    auto = subscribe\n"
"  }\n"
"  mailbox Sent {\n"
"    special_use = \\Sent\n"
"    auto = subscribe\n"
"  }\n"
"  mailbox \"Sent Messages\" {\n"
"    special_use = \\Sent\n"
"  }\n"
"  mailbox Archive {\n"
"    special_use = \\Archive\n"
"    auto = subscribe\n"
"  }\n"
"}\n"
"\n"
"# Users: passwd-file, one \"user:{SCHEME}password:uid:gid::home::\" line\n"
"# each. \"user@domain\" logs in as \"user\" (username_format=%n).\n"
"passdb {\n"
"  driver = passwd-file\n"
"  args = scheme=PLAIN username_format=%n @DIR@/users\n"
"}\n"
"userdb {\n"
"  driver = passwd-file\n"
"  args = username_format=%n @DIR@/users\n"
"}\n"
"\n"
"# Without root nothing can chroot, so the services that chroot by default\n"
"# (login processes, anvil, ipc) run unconfined: \"chroot =\".\n"
"service anvil {\n"
"  chroot =\n"
"}\n"
"service ipc {\n"
"  chroot =\n"
"}\n"
"\n"
"# Listeners, with ports offset from @PORT_BASE@.\n"
"service imap-login {\n"
"  chroot =\n"
"  inet_listener imap {\n"
"    port = @PORT_IMAP@\n"
"  }\n"
"  inet_listener imaps {\n"
"    port = @PORT_IMAPS@\n"
"    ssl = yes\n"
"  }\n"
"}\n"
"\n"
"service pop3-login {\n"
"  chroot =\n"
"  inet_listener pop3 {\n"
"    port = @PORT_POP3@\n"
"  }\n"
"  inet_listener pop3s {\n"
"    port = @PORT_POP3S@\n"
"    ssl = yes\n"
"  }\n"
"}\n"
"\n"
"# The MTA delivers over LMTP (mailbox_transport in main.cf).\n"
"service lmtp {\n"
"  inet_listener lmtp {\n"
"    address = 127.0.0.1\n"
"    port = @PORT_LMTP@\n"
"  }\n"
"}\n"
"\n"
"service managesieve-login {\n"
"  chroot =\n"
"  inet_listener sieve {\n"
"    port = @PORT_SIEVE@\n"
"  }\n"
"}\n"
"\n"
"# Sieve filtering at delivery: each user's active script is ~/.dovecot.sieve,\n"
"# managed over ManageSieve in ~/sieve.\n"
"protocol lmtp {\n"
"  mail_plugins = $mail_plugins sieve\n"
"  postmaster_address = postmaster@localhost\n"
"}\n"
"\n"
"# Rejections, vacation replies and redirects leave through this\n"
"# instance's own sendmail.\n"
"sendmail_path = @BINDIR@/sendmail -C @DIR@\n"
"\n"
"plugin {\n"
"  sieve = file:~/sieve;active=~/.dovecot.sieve\n"
"}\n";

static const char aliases_template[] =
"# aliases - local aliases of a yubin development instance, aliases(5)\n"
"# format. After editing, run \"postalias @DIR@/aliases\" (or newaliases\n"
"# with MAIL_CONFIG=@DIR@).\n"
"#\n"
"# RFC 2142 role addresses and root go to the instance's test user.\n"
"postmaster: @DEV_USER@\n"
"root: @DEV_USER@\n"
"@SIEVE_ALIAS@"
"abuse: postmaster\n"
"hostmaster: postmaster\n"
"webmaster: postmaster\n"
"MAILER-DAEMON: postmaster\n";

/* The file itself holds no comments: not every passwd-file reader skips
 * them, and the format is described in dovecot.conf next to the passdb. */
static const char users_template[] =
"@DEV_USER@:{PLAIN}@DEV_PASSWORD@:@UID@:@GID@::@DIR@/home/@DEV_USER@::\n";

/* The demo user's mail reaches Sieve through LMTP (mailbox_transport in
 * main.cf): the aliases only say so. */
static const char sieve_alias[] =
"#\n"
"# @DEV_USER@'s mail, also for these aliases, goes over LMTP through\n"
"# @DEV_USER@'s active Sieve script (@DIR@/home/@DEV_USER@/.dovecot.sieve,\n"
"# managed over ManageSieve): see mailbox_transport in main.cf.\n";

static void dev_expand(struct str *out, const char *tpl, const struct dev_params *dev);

/* dev_expand - append template to out with each @NAME@ token filled in */
static void
dev_expand(struct str *out, const char *tpl, const struct dev_params *dev)
{
	static const struct {
		const char	*name;
		int		 offset;
	} ports[] = {
		{ "PORT_LMTP", DEV_PORT_LMTP },
		{ "PORT_SMTP", DEV_PORT_SMTP },
		{ "PORT_POP3", DEV_PORT_POP3 },
		{ "PORT_IMAP", DEV_PORT_IMAP },
		{ "PORT_SMTPS", DEV_PORT_SMTPS },
		{ "PORT_SUBMISSION", DEV_PORT_SUBMISSION },
		{ "PORT_IMAPS", DEV_PORT_IMAPS },
		{ "PORT_POP3S", DEV_PORT_POP3S },
		{ "PORT_SIEVE", DEV_PORT_SIEVE },
		{ "PORT_BASE", 0 },
	};
	const char *p = tpl, *at, *end;

	while ((at = strchr(p, '@')) != NULL) {
		char name[32];
		size_t len, i;
		bool done = false;

		str_append_n(out, p, (size_t)(at - p));
		end = strchr(at + 1, '@');
		len = end == NULL ? 0 : (size_t)(end - at - 1);
		if (end == NULL || len == 0 || len >= sizeof(name)) {
			/* not a token: a literal '@' (postmaster@localhost) */
			str_append_c(out, '@');
			p = at + 1;
			continue;
		}
		memcpy(name, at + 1, len);
		name[len] = '\0';
		if (strcmp(name, "DIR") == 0)
			str_append(out, dev->dir);
		else if (strcmp(name, "HOST") == 0)
			str_append(out, dev->hostname);
		else if (strcmp(name, "USER") == 0)
			str_append(out, dev->user);
		else if (strcmp(name, "GROUP") == 0)
			str_append(out, dev->group);
		else if (strcmp(name, "UID") == 0)
			str_appendf(out, "%lu", dev->uid);
		else if (strcmp(name, "GID") == 0)
			str_appendf(out, "%lu", dev->gid);
		else if (strcmp(name, "SIEVE_ALIAS") == 0)
			dev_expand(out, sieve_alias, dev);
		else if (strcmp(name, "BINDIR") == 0)
			str_append(out, dev->bindir != NULL ? dev->bindir : "/usr/local/bin");
		else if (strcmp(name, "DEV_USER") == 0)
			str_append(out, DEV_USER_NAME);
		else if (strcmp(name, "DEV_PASSWORD") == 0)
			str_append(out, DEV_USER_PASSWORD);
		else {
			for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
				if (strcmp(name, ports[i].name) == 0) {
					str_appendf(out, "%d", dev->port_base + ports[i].offset);
					done = true;
					break;
				}
			}
			if (!done) {
				/* an '@' in the text, e.g. "postmaster@localhost": keep
				 * it and look for a token from the next '@' on */
				str_append_c(out, '@');
				p = at + 1;
				continue;
			}
		}
		p = end + 1;
	}
	str_append(out, p);
}

void
dev_config_main_cf(struct str *out, const struct dev_params *dev)
{
	dev_expand(out, main_cf_template, dev);
}

void
dev_config_master_cf(struct str *out, const struct dev_params *dev)
{
	dev_expand(out, master_cf_template, dev);
}

void
dev_config_dovecot_conf(struct str *out, const struct dev_params *dev)
{
	dev_expand(out, dovecot_conf_template, dev);
}

void
dev_config_aliases(struct str *out, const struct dev_params *dev)
{
	dev_expand(out, aliases_template, dev);
}

void
dev_config_users(struct str *out, const struct dev_params *dev)
{
	dev_expand(out, users_template, dev);
}
