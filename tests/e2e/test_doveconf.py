"""doveconf and doveadm config against Debian's real doveconf (Dovecot 2.3).

Both read the same files; the settings lines must match. The one place
where they may differ is ALLOWED_DIFFERENCES below."""
import os
import shutil

import pytest

# Settings that real Dovecot computes at run time from things yubin does not
# have (yet), so their values are allowed to differ. One place, with reasons:
ALLOWED_DIFFERENCES = {
    # Pigeonhole fills these from its Sieve extension list when it starts;
    # yubin will report its own Sieve engine's capabilities once it has one.
    "managesieve_sieve_capability": "computed by Pigeonhole at run time",
    "managesieve_notify_capability": "computed by Pigeonhole at run time",
}


def settings_lines(out):
    """The -n output without '#' header lines and without the allowed
    differences (top-level lines only can be among them)."""
    lines = []
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        if line.split(" = ", 1)[0] in ALLOWED_DIFFERENCES:
            continue
        lines.append(line)
    return lines


def stock_copy(tmp_path):
    if not os.path.exists("/etc/dovecot/dovecot.conf"):
        pytest.skip("Debian's /etc/dovecot is not installed")
    dst = tmp_path / "dovecot"
    shutil.copytree("/etc/dovecot", dst)
    return dst


def test_stock_tree_n_matches_real(tmp_path, run, run_real):
    d = stock_copy(tmp_path)
    conf = str(d / "dovecot.conf")
    real = run_real("doveconf", "-c", conf, "-n")
    ours = run("doveconf", "-c", conf, "-n")
    assert real.rc == 0, real
    assert ours.rc == 0, ours
    assert settings_lines(ours.out) == settings_lines(real.out)
    # the absolute !include_try of protocols.d kept working on the copy
    assert 'protocols = " imap lmtp sieve pop3"' in ours.out
    assert ours.out.startswith("# yubin ")
    assert ": %s\n" % conf in ours.out.splitlines()[0] + "\n"


# Every setting from the brief, set to a non-default value, with sections,
# filters and includes.
HANDWRITTEN = r"""
# hand-written test configuration
listen = 127.0.0.1
protocols = imap
protocols = $protocols pop3 lmtp
base_dir = /tmp/yubin-run/
instance_name = yubintest
log_path = /var/log/dovecot.log
info_log_path = /var/log/dovecot-info.log
debug_log_path = /var/log/dovecot-debug.log
syslog_facility = local1
verbose_proctitle = yes
ssl = required
ssl_cert = </etc/ssl/certs/x.pem
ssl_key = </etc/ssl/private/x.key
ssl_ca = </etc/ssl/certs/ca.pem
ssl_min_protocol = TLSv1.3
ssl_cipher_list = HIGH:!aNULL
ssl_dh = </etc/dh.pem
ssl_client_ca_dir = /etc/ssl/certs
ssl_client_ca_file = /etc/ssl/ca.pem
mail_location = maildir:~/Maildir
mail_privileged_group = mail
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 1000
last_valid_uid = 2000
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_username_format = %Ln
auth_verbose = yes
auth_debug = yes
mail_debug = yes
mail_max_userip_connections = 20
login_greeting = "Hello # there"
login_trusted_networks = 10.0.0.0/8 192.168.0.0/16
pop3_uidl_format = %08Xv%08Xu
imap_idle_notify_interval = 5m
imap_capability = +XFOO
postmaster_address = postmaster@example.org
hostname = mail.example.org
recipient_delimiter = +-
lda_mailbox_autocreate = yes
lda_mailbox_autosubscribe = yes
lmtp_save_to_detail_mailbox = yes
mail_plugins = quota acl
submission_max_mail_size = 10M
!include conf.d/*.conf
!include_try conf.d/missing-*.conf
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox "Sent Messages" {
    special_use = \Sent
  }
  mailbox Sent {
    special_use = \Sent
  }
}
namespace {
  type = shared
  prefix = shared/%%u/
  location = maildir:%%h/Maildir:INDEX=~/shared/%%u
  list = children
}
service imap-login {
  inet_listener imaps {
    port = 1993
    ssl = yes
  }
  inet_listener imap {
    port = 0
  }
  process_min_avail = 2
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0660
    user = postfix
  }
}
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT /etc/dovecot/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=/var/vmail/%d/%n
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_dir = ~/sieve
  sieve_before = /etc/sieve/before.sieve
  sieve_after = /etc/sieve/after.sieve
  sieve_global = /etc/sieve/global
  sieve_extensions = +vnd.dovecot.filter
  quota = maildir:User quota
  dict_password = secret
}
dict {
  quota = file:/var/lib/quota
}
protocol imap {
  mail_plugins = $mail_plugins imap_quota imap_acl
  mail_max_userip_connections = 50
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
protocol !indexer-worker {
  mail_debug = no
}
local 127.0.0.1 {
  ssl = no
}
remote 10.0.0.0/8 {
  login_greeting = internal
}
"""

INCLUDED = """
managesieve_notify_capability = mailto
managesieve_sieve_capability = fileinto reject envelope
auth_verbose = no
auth_verbose = $auth_verbose
"""

KEYS = [
    "listen", "protocols", "base_dir", "instance_name", "log_path", "info_log_path",
    "debug_log_path", "syslog_facility", "verbose_proctitle", "ssl", "ssl_cert", "ssl_key",
    "ssl_ca", "ssl_min_protocol", "ssl_cipher_list", "ssl_dh", "ssl_client_ca_dir",
    "ssl_client_ca_file", "mail_location", "mail_privileged_group", "mail_uid", "mail_gid",
    "first_valid_uid", "last_valid_uid", "auth_mechanisms", "disable_plaintext_auth",
    "auth_username_format", "auth_verbose", "auth_debug", "mail_debug",
    "mail_max_userip_connections", "login_greeting", "login_trusted_networks",
    "pop3_uidl_format", "imap_idle_notify_interval", "imap_capability", "postmaster_address",
    "hostname", "recipient_delimiter", "lda_mailbox_autocreate", "lda_mailbox_autosubscribe",
    "lmtp_save_to_detail_mailbox", "mail_plugins", "submission_max_mail_size",
    "plugin/sieve", "plugin/sieve_after", "plugin/dict_password",
    "namespace/inbox/separator", "namespace/inbox/location",
    "namespace/inbox/mailbox/Drafts/auto", "namespace/inbox/mailbox/Sent/special_use",
    "service/imap-login/inet_listener/imaps/port",
    "service/imap-login/inet_listener/imap/port",
    "service/pop3-login/inet_listener/pop3s/port",
    "no_such_setting", "plugin/no_such_key",
]


@pytest.fixture
def handwritten(confdir):
    (confdir / "conf.d").mkdir()
    (confdir / "conf.d" / "50-extra.conf").write_text(INCLUDED)
    path = confdir / "dovecot.conf"
    path.write_text(HANDWRITTEN)
    return str(path)


def test_handwritten_n_matches_real(handwritten, run, run_real):
    real = run_real("doveconf", "-c", handwritten, "-n")
    ours = run("doveconf", "-c", handwritten, "-n")
    assert real.rc == 0, real
    assert ours.rc == 0, ours
    assert settings_lines(ours.out) == settings_lines(real.out)
    # the file set them, so they show (and must match) here
    assert "managesieve_sieve_capability = fileinto reject envelope" in ours.out
    assert "ssl_key = # hidden, use -P to show it" in ours.out
    assert "  dict_password = # hidden, use -P to show it" in ours.out


def test_handwritten_P_shows_secrets(handwritten, run, run_real):
    real = run_real("doveconf", "-c", handwritten, "-n", "-P")
    ours = run("doveconf", "-c", handwritten, "-n", "-P")
    assert settings_lines(ours.out) == settings_lines(real.out)
    assert "ssl_key = </etc/ssl/private/x.key" in ours.out


@pytest.mark.parametrize("key", KEYS)
def test_key_lookups_match_real(handwritten, run, run_real, key):
    for args in ((key,), ("-h", key)):
        real = run_real("doveconf", "-c", handwritten, *args)
        ours = run("doveconf", "-c", handwritten, *args)
        assert (ours.rc, ours.out) == (real.rc, real.out), (args, real, ours)
        adm = run("doveadm", "config", "-c", handwritten, *args)
        assert (adm.rc, adm.out) == (real.rc, real.out), (args, adm)


def test_several_keys_in_order(handwritten, run, run_real):
    args = ("-c", handwritten, "-h", "mail_uid", "listen", "ssl_key")
    assert run("doveconf", *args).out == run_real("doveconf", *args).out


def test_full_output_has_defaults(handwritten, run):
    ours = run("doveconf", "-c", handwritten)
    assert ours.rc == 0, ours
    assert "\nversion_ignore = no\n" in ours.out
    assert "\nmail_uid = vmail\n" in ours.out
    assert "\nssl_key = # hidden, use -P to show it\n" in ours.out


BROKEN = [
    ("foo = 1\n", 1),
    ("\n\nbar\n", 3),
    ("}\n", 1),
    ("ssl = maybe\n", 1),
    ("verbose_proctitle = maybe\n", 1),
    ("first_valid_uid = abc\n", 1),
    ("imap_idle_notify_interval = 5\n", 1),
    ("submission_max_mail_size = 10x\n", 1),
    ("plugin {\n  x {\n  }\n}\n", 2),
    ("namespace {\n  bogus = 1\n}\n", 2),
    ("namespace {\n  mailbox x {\n    bogus = 1\n  }\n}\n", 3),
    ("protocol imap {\n  protocol pop3 {\n  }\n}\n", 2),
    ("!include nothere.conf\n", 1),
    ("plugin {\n  x = $x y\n}\n", 2),
    ("= 3\n", 1),
    ("service imap {\n", None),
]


@pytest.mark.parametrize("text,line", BROKEN)
def test_errors_match_real(confdir, run, run_real, text, line):
    path = confdir / "dovecot.conf"
    path.write_text(text)
    real = run_real("doveconf", "-c", str(path), "-n")
    ours = run("doveconf", "-c", str(path), "-n")
    assert real.rc == 89 and ours.rc == 89, (real, ours)
    want = real.err.strip().splitlines()[-1]
    assert ours.err.strip().splitlines()[-1] == want
    where = ("line %d:" % line) if line else str(path)
    assert where in want and str(path) in want


def test_include_loop_is_reported(confdir, run):
    (confdir / "a.conf").write_text("!include b.conf\n")
    (confdir / "b.conf").write_text("!include a.conf\n")
    r = run("doveconf", "-c", str(confdir / "a.conf"), "-n", timeout=20)
    assert r.rc == 89
    assert "Recursive include file" in r.err and "line 1" in r.err


def test_hostile_inputs_terminate(confdir, run):
    cases = [
        b"\x00\xff\xfe garbage {{{ }}} = = <\n" * 100,
        b"login_greeting = " + b"x" * (2 * 1024 * 1024) + b"\n",
        b"namespace x {\n" * 10000,
        b"}\n" * 1000,
        b"login_greeting = $login_greeting $login_greeting\n" * 30,
    ]
    path = confdir / "dovecot.conf"
    for data in cases:
        path.write_bytes(data)
        r = run("doveconf", "-c", str(path), "-n", timeout=30)
        assert r.rc in (0, 89), r
        if r.rc == 89:
            assert r.err.startswith("doveconf: Fatal: ")


def test_missing_file(run, run_real, tmp_path):
    path = str(tmp_path / "nope.conf")
    real = run_real("doveconf", "-c", path, "-n")
    ours = run("doveconf", "-c", path, "-n")
    assert ours.rc == real.rc == 89
    assert ours.err.strip() == real.err.strip().splitlines()[-1]


def test_doveadm_unknown_command(run):
    r = run("doveadm", "frobnicate")
    assert r.rc == 64
    assert "Unknown command" in r.err
    assert run("doveadm").rc == 64
