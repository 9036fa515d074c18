"""postfix check: silent with exit 0 on a good configuration; "postfix:
fatal: FILE, line N: ..." and exit 1 on values Postfix's daemons would
refuse; warnings for queue directory problems."""
import grp
import os
import pwd

import pytest

DIST = "/usr/share/postfix/master.cf.dist"

# Debian's stock main.cf, with the instance's own files and queue.
DEBIAN_MAIN = """\
# See /usr/share/postfix/main.cf.dist for a commented, more complete version
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no

# appending .domain is the MUA's job.
append_dot_mydomain = no
readme_directory = no
compatibility_level = 3.6

# TLS parameters
smtpd_tls_cert_file={d}/cert.pem
smtpd_tls_key_file={d}/key.pem
smtpd_tls_security_level=may

smtp_tls_CApath=/etc/ssl/certs
smtp_tls_security_level=may
smtp_tls_session_cache_database = btree:${{data_directory}}/smtp_scache

smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
myhostname = mail.example.com
alias_maps = hash:{d}/aliases
alias_database = hash:{d}/aliases
myorigin = /etc/mailname
mydestination = $myhostname, example.com, localhost.example.com, localhost
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = all
inet_protocols = all
smtpd_timeout = ${{stress?{{10}}:{{300}}}}s
smtpd_recipient_restrictions = permit_mynetworks,
    check_sender_access hash:{d}/access,
    check_policy_service inet:127.0.0.1:10023,
    reject_unauth_destination
transport_maps = proxy:hash:{d}/transport, regexp:{d}/transport.re
queue_directory = {d}/queue
mail_owner = {owner}
setgid_group = {group}
"""

QUEUE_DIRS = ["incoming", "active", "deferred", "hold", "corrupt", "maildrop", "bounce",
              "defer", "trace", "flush"]


@pytest.fixture
def instance(confdir):
    """A good instance: Debian's main.cf and master.cf.dist, readable TLS and
    alias files, a queue with Postfix's modes owned by the current user."""
    if not os.path.exists(DIST):
        pytest.skip("Debian's master.cf.dist is not installed")
    d = confdir
    for name in ("cert.pem", "key.pem", "aliases", "access", "transport", "transport.re"):
        (d / name).write_text("# test\n")
    for sub in QUEUE_DIRS:
        (d / "queue" / sub).mkdir(parents=True)
        os.chmod(d / "queue" / sub, 0o730 if sub == "maildrop" else 0o700)
    owner = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    (d / "main.cf").write_text(DEBIAN_MAIN.format(d=d, owner=owner, group=group))
    (d / "master.cf").write_text(open(DIST).read())
    return d


def add_main(d, text):
    with open(d / "main.cf", "a") as f:
        f.write(text)
    return sum(1 for _ in open(d / "main.cf"))   # the line just added


def test_good_configuration_is_silent(run, instance):
    r = run("postfix", "-c", str(instance), "check")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_mail_config_works_like_dash_c(run, instance):
    r = run("postfix", "check", env={"MAIL_CONFIG": str(instance)})
    assert (r.rc, r.out, r.err) == (0, "", "")
    line = add_main(instance, "biff = sometimes\n")
    r = run("postfix", "check", env={"MAIL_CONFIG": str(instance)})
    assert r.rc == 1
    assert ("postfix: fatal: %s/main.cf, line %d: bad boolean configuration: biff = sometimes"
            % (instance, line)) in r.err


@pytest.mark.parametrize("setting,message", [
    ("disable_vrfy_command = maybe", "bad boolean configuration: disable_vrfy_command = maybe"),
    ("smtpd_timeout = 10x", "parameter smtpd_timeout: bad time value or unit: 10x"),
    ("smtpd_recipient_limit = 12a", "bad numerical configuration: smtpd_recipient_limit = 12a"),
    ("default_process_limit = 0", "invalid default_process_limit parameter value 0 < 1"),
    ("mynetworks = 127.0.0.0/8 10.0.0.0/33", 'mynetworks: bad mask length in "10.0.0.0/33"'),
    ("mynetworks = 1.2.3.4/24",
     'mynetworks: non-null host address bits in "1.2.3.4/24", '
     'perhaps you should use "1.2.3.0/24" instead'),
    ("mynetworks = [2001:db8::1]/32",
     'mynetworks: non-null host address bits in "2001:db8::1/32", '
     'perhaps you should use "[2001:db8::]/32" instead'),
    ("mynetworks = 10.0.0.300/8", 'mynetworks: bad network value in "10.0.0.300/8"'),
    ("transport_maps = foo:/etc/postfix/transport", "unsupported dictionary type: foo"),
    ("virtual_alias_maps = proxy:bar:/x", "unsupported dictionary type: bar"),
    ("smtpd_sender_restrictions = check_sender_access blah:/x, permit",
     "unsupported dictionary type: blah"),
    ("smtpd_tls_cert_file = /nonexistent/cert.pem",
     "smtpd_tls_cert_file: cannot open /nonexistent/cert.pem: No such file or directory"),
    ("smtpd_tls_CAfile = /nonexistent/ca.pem",
     "smtpd_tls_CAfile: cannot open /nonexistent/ca.pem: No such file or directory"),
])
def test_bad_values_are_fatal_with_file_and_line(run, instance, setting, message):
    line = add_main(instance, setting + "\n")
    r = run("postfix", "-c", str(instance), "check")
    assert r.rc == 1, r
    assert "postfix: fatal: %s/main.cf, line %d: %s\n" % (instance, line, message) in r.err, r


def test_expanded_values_and_later_settings_count(run, instance):
    # the earlier bad value is overridden; $name is expanded before checking
    add_main(instance, "smtpd_timeout = forever\nsmtpd_timeout = 5m\n"
             "my_limit = 7\nsmtpd_recipient_limit = $my_limit\nsmtpd_delay_reject = ${biff}\n")
    r = run("postfix", "-c", str(instance), "check")
    assert (r.rc, r.err) == (0, ""), r


def test_master_cf_override_values_are_checked(run, instance):
    with open(instance / "master.cf", "a") as f:
        f.write("submission inet n - y - - smtpd\n  -o smtpd_tls_security_level=encrypt\n"
                "  -o smtpd_sasl_auth_enable=perhaps\n")
    r = run("postfix", "-c", str(instance), "check")
    n = sum(1 for _ in open(instance / "master.cf")) - 2
    assert r.rc == 1
    assert ("postfix: fatal: %s/master.cf: line %d: bad boolean configuration: "
            "smtpd_sasl_auth_enable = perhaps" % (instance, n)) in r.err, r


def test_table_warnings_do_not_fail(run, instance):
    line = add_main(instance, "alias_maps = hash:%s/no-such-aliases, nis:mail.aliases\n"
                    % instance)
    r = run("postfix", "-c", str(instance), "check")
    assert r.rc == 0, r
    assert ("postfix: warning: %s/main.cf, line %d: alias_maps: open %s/no-such-aliases: "
            "No such file or directory" % (instance, line, instance)) in r.err
    assert "alias_maps: unsupported dictionary type: nis" in r.err


def test_queue_directory_problems_are_warnings(run, instance):
    q = instance / "queue"
    os.rmdir(q / "hold")
    os.chmod(q / "active", 0o770)
    os.chmod(q / "maildrop", 0o733)
    r = run("postfix", "-c", str(instance), "check")
    assert r.rc == 0, r
    assert "postfix: warning: missing queue directory: %s/hold" % q in r.err
    assert "postfix: warning: group or other writable: %s/active\n" % q in r.err
    assert "postfix: warning: group or other writable: %s/maildrop\n" % q in r.err
    assert "incoming" not in r.err


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership is checked only as root")
def test_queue_ownership_is_checked_as_root(run, instance):
    q = instance / "queue"
    os.chown(q / "deferred", 65534, -1)
    r = run("postfix", "-c", str(instance), "check")
    owner = pwd.getpwuid(os.geteuid()).pw_name
    assert "postfix: warning: not owned by %s: %s/deferred" % (owner, q) in r.err, r


def test_missing_queue_directory_is_a_warning(run, instance):
    add_main(instance, "queue_directory = %s/nowhere\n" % instance)
    r = run("postfix", "-c", str(instance), "check")
    assert r.rc == 0
    assert "postfix: warning: no queue directory %s/nowhere" % instance in r.err


def test_missing_files_and_usage(run, confdir, instance):
    r = run("postfix", "-c", str(confdir / "nowhere"), "check")
    assert r.rc == 1 and "postfix: fatal: open %s/nowhere/main.cf" % confdir in r.err
    os.unlink(instance / "master.cf")
    r = run("postfix", "-c", str(instance), "check")
    assert r.rc == 1 and "postfix: fatal: open %s/master.cf" % instance in r.err
    r = run("postfix")
    assert r.rc == 1 and "usage: postfix" in r.err
    # Without master.cf the master cannot start; the other verbs find no
    # running master.
    r = run("postfix", "-c", str(instance), "start")
    assert r.rc == 1 and "did not start" in r.err, r
    for cmd in ("stop", "reload", "abort", "status"):
        r = run("postfix", "-c", str(instance), cmd)
        assert r.rc == 1 and "not running" in r.err + r.out, (cmd, r)
    r = run("postfix", "-c", str(instance), "flush")
    assert r.rc == 1 and "mail system is down" in r.err, r


def test_a_started_instance_passes_its_own_check(run, instance_factory):
    """the queue that `postfix start` makes is the one `postfix check`
    looks for (trace/ and flush/ were missing: two warnings on every
    fresh instance, `yubin dev` included)"""
    inst = instance_factory()
    inst.start()
    r = run("postfix", "-c", inst.etc, "check")
    assert r.rc == 0 and "missing queue directory" not in r.err, r
    for sub in QUEUE_DIRS:
        assert os.path.isdir(os.path.join(inst.spool, sub)), sub
