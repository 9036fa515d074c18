"""postconf against Debian's real Postfix 3.7: the same main.cf must give
the same answers, except where yubin deliberately differs (DELIBERATE)."""
import os
import re
import shutil

import pytest

# Issue 2's parameter list: postconf -d and -n must agree with Postfix 3.7.
PARAMS = """myhostname mydomain myorigin mydestination mynetworks mynetworks_style
inet_interfaces inet_protocols relay_domains relayhost home_mailbox
mail_spool_directory mailbox_command alias_maps alias_database canonical_maps
sender_canonical_maps recipient_canonical_maps disable_vrfy_command smtpd_banner
mail_name smtpd_use_tls smtpd_enforce_tls smtpd_tls_security_level
smtpd_tls_cert_file smtpd_tls_key_file smtpd_tls_CAfile smtpd_tls_wrappermode
smtp_tls_security_level smtpd_recipient_restrictions smtpd_relay_restrictions
smtpd_client_restrictions smtpd_helo_restrictions smtpd_sender_restrictions
smtpd_sasl_auth_enable smtpd_sasl_type smtpd_sasl_path message_size_limit
mailbox_size_limit queue_directory data_directory command_directory
daemon_directory mail_owner setgid_group maillog_file maximal_queue_lifetime
bounce_queue_lifetime queue_run_delay minimal_backoff_time maximal_backoff_time
default_process_limit smtpd_client_connection_count_limit smtpd_timeout
smtpd_recipient_limit allow_percent_hack append_dot_mydomain recipient_delimiter
forward_path allow_mail_to_commands allow_mail_to_files local_recipient_maps
transport_maps virtual_alias_maps virtual_mailbox_domains virtual_mailbox_maps
virtual_mailbox_base virtual_transport local_transport default_transport
relay_transport notify_classes enable_long_queue_ids compatibility_level""".split()

# The one place where yubin's defaults deliberately differ from Postfix's:
# its own name and its own paths, so that it can be installed beside Postfix.
DELIBERATE = {
    "mail_name": "yubin names itself in banners and bounces",
    "queue_directory": "/var/spool/yubin, not Postfix's queue",
    "data_directory": "/var/lib/yubin",
    "daemon_directory": "/usr/lib/yubin",
    "mail_owner": "the yubin system user",
    "setgid_group": "yubindrop, yubin's own submission group",
    "config_directory": "/etc/yubin",
    "syslog_name": "logs are tagged yubin/<service>",
    "mail_version": "yubin's version",
}

# A main.cf that sets every parameter above to a non-default value.
EVERY = """
myhostname = mail.example.com
mydomain = example.com
myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
mynetworks = 127.0.0.0/8, [::1]/128 192.168.0.0/16
mynetworks_style = host
inet_interfaces = loopback-only
inet_protocols = ipv4
relay_domains = example.net
relayhost = [smtp.example.net]:587
home_mailbox = Maildir/
mail_spool_directory = /var/spool/mail
mailbox_command = /usr/bin/procmail -a "$EXTENSION"
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
canonical_maps = hash:/etc/postfix/canonical
sender_canonical_maps = hash:/etc/postfix/sender_canonical
recipient_canonical_maps = hash:/etc/postfix/recipient_canonical
disable_vrfy_command = yes
smtpd_banner = $myhostname ESMTP
mail_name = MyMail
smtpd_use_tls = yes
smtpd_enforce_tls = yes
smtpd_tls_security_level = encrypt
smtpd_tls_cert_file = /etc/ssl/certs/mail.pem
smtpd_tls_key_file = /etc/ssl/private/mail.key
smtpd_tls_CAfile = /etc/ssl/certs/ca.pem
smtpd_tls_wrappermode = yes
smtp_tls_security_level = may
smtpd_recipient_restrictions = permit_mynetworks,
    permit_sasl_authenticated,
    reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
smtpd_client_restrictions = permit_mynetworks, reject_rbl_client zen.example.org
smtpd_helo_restrictions = reject_non_fqdn_helo_hostname
smtpd_sender_restrictions = reject_non_fqdn_sender
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
message_size_limit = 52428800
mailbox_size_limit = 0
queue_directory = /var/spool/mq
data_directory = /var/lib/mq
command_directory = /usr/local/sbin
daemon_directory = /usr/local/libexec/mq
mail_owner = mq
setgid_group = mqdrop
maillog_file = /var/log/mq.log
maximal_queue_lifetime = 2d
bounce_queue_lifetime = 1d
queue_run_delay = 600s
minimal_backoff_time = 10m
maximal_backoff_time = 2h
default_process_limit = 50
smtpd_client_connection_count_limit = 10
smtpd_timeout = 60s
smtpd_recipient_limit = 100
allow_percent_hack = no
append_dot_mydomain = yes
recipient_delimiter = +
forward_path = $home/.forward
allow_mail_to_commands = alias
allow_mail_to_files = alias
local_recipient_maps = $alias_maps
transport_maps = hash:/etc/postfix/transport
virtual_alias_maps = hash:/etc/postfix/virtual
virtual_mailbox_domains = example.org
virtual_mailbox_maps = hash:/etc/postfix/vmailbox
virtual_mailbox_base = /var/vmail
virtual_transport = lmtp:unix:private/dovecot-lmtp
local_transport = local
default_transport = error
relay_transport = smtp
notify_classes = resource, software, policy
enable_long_queue_ids = yes
compatibility_level = 3.6
"""


def debian_main_cf():
    for p in ("/etc/postfix/main.cf", "/usr/share/postfix/main.cf.debian"):
        if os.path.exists(p):
            return open(p).read()
    pytest.skip("no Debian main.cf")


def write(d, text, name="main.cf"):
    (d / name).write_text(text)
    if name == "main.cf" and not (d / "master.cf").exists():
        (d / "master.cf").write_text("")
    return str(d)


def lines(text):
    return [l for l in text.splitlines() if l.strip()]


def without_deliberate(text):
    return [l for l in lines(text) if l.split(" ", 1)[0] not in DELIBERATE]


@pytest.mark.parametrize("source", ["debian", "every"])
def test_postconf_n_agrees_with_postfix(run, run_real, confdir, source):
    d = write(confdir, debian_main_cf() if source == "debian" else EVERY)
    real = run_real("postconf", "-c", d, "-n")
    ours = run("postconf", "-c", d, "-n")
    assert real.rc == 0 and ours.rc == 0, (real, ours)
    assert lines(ours.out) == lines(real.out)


@pytest.mark.parametrize("source", ["debian", "every"])
def test_postconf_d_agrees_with_postfix(run, run_real, confdir, source):
    d = write(confdir, debian_main_cf() if source == "debian" else EVERY)
    real = run_real("postconf", "-c", d, "-d", *PARAMS)
    ours = run("postconf", "-c", d, "-d", *PARAMS)
    assert real.rc == 0 and ours.rc == 0, (real, ours)
    assert without_deliberate(ours.out) == without_deliberate(real.out)
    # Every parameter of the list is known, with a value line each.
    assert len(lines(ours.out)) == len(PARAMS)


@pytest.mark.parametrize("source", ["debian", "every"])
def test_postconf_values_and_expansion_agree(run, run_real, confdir, source):
    d = write(confdir, debian_main_cf() if source == "debian" else EVERY)
    # Expanded values that name $mail_name would differ only by the
    # deliberate name; give both the same one.
    same_name = ["-o", "mail_name=Postfix"]
    for flags in ([], ["-x"], ["-h"], ["-hx"]):
        real = run_real("postconf", "-c", d, *same_name, *flags, *PARAMS)
        ours = run("postconf", "-c", d, *same_name, *flags, *PARAMS)
        assert real.rc == 0 and ours.rc == 0, (flags, real, ours)
        if flags and "h" in flags[0]:
            # Without names, compare value lines where the name is not deliberate.
            keep = [i for i, p in enumerate(PARAMS) if p not in DELIBERATE]
            r, o = real.out.split("\n"), ours.out.split("\n")
            assert [o[i] for i in keep] == [r[i] for i in keep], flags
        else:
            assert without_deliberate(ours.out) == without_deliberate(real.out), flags


def test_deliberate_differences_are_the_listed_ones(run, run_real, confdir):
    d = write(confdir, "")
    names = [p for p in DELIBERATE if p not in ("syslog_name",)]
    real = dict(l.split(" = ", 1) for l in lines(run_real("postconf", "-c", d, "-d", *names).out)
                if " = " in l)
    ours = dict(l.split(" = ", 1) for l in lines(run("postconf", "-c", d, "-d", *names).out)
                if " = " in l)
    for name in ("mail_name", "queue_directory", "mail_owner"):
        assert ours[name] != real[name], name
    assert ours["mail_name"] == "yubin"


def test_mail_config_environment_equals_c(run, confdir):
    d = write(confdir, "myhostname = env.example\nrelayhost = [x]\n")
    a = run("postconf", "-c", d, "-n")
    b = run("postconf", "-n", env={"MAIL_CONFIG": d})
    assert a.rc == 0 and a.out == b.out
    assert "myhostname = env.example" in a.out


def test_postconf_without_arguments_lists_every_parameter_sorted(run, confdir):
    d = write(confdir, "myhostname = a.example\n")
    r = run("postconf", "-c", d)
    names = [l.split(" ", 1)[0] for l in lines(r.out)]
    assert r.rc == 0 and names == sorted(names)
    for p in PARAMS:
        assert p in names
    assert "myhostname = a.example" in r.out


def test_unused_parameter_warns_with_file_and_line(run, confdir):
    d = write(confdir, "# comment\nmyhostname = a.example\nfoo = bar\n")
    r = run("postconf", "-c", d, "-n")
    assert r.rc == 0
    assert "postconf: warning: %s/main.cf, line 3: unused parameter: foo=bar" % d in r.err
    assert "foo" not in r.out


def test_user_parameter_referenced_is_used(run, run_real, confdir):
    text = ("mua_client_restrictions = permit_sasl_authenticated, reject\n"
            "smtpd_client_restrictions = $mua_client_restrictions\n")
    d = write(confdir, text)
    ours = run("postconf", "-c", d, "-n")
    assert "unused parameter" not in ours.err
    assert lines(ours.out) == lines(run_real("postconf", "-c", d, "-n").out)
    x = run("postconf", "-c", d, "-x", "smtpd_client_restrictions")
    assert x.out == "smtpd_client_restrictions = permit_sasl_authenticated, reject\n"


def test_conditional_expansion_matches_postfix(run, run_real, confdir):
    text = ("a = x$$y\n"
            "b = ${a?{set}:{unset}} ${zz:dflt} ${a:no} ${a?yes} $(a)\n"
            "c = ${{$a} == {x$$y} ? {eq} : {ne}} ${{3.6} <level {2} ? {lt}:{ge}} "
            "${{10} < {9} ? {lt} : {ge}} ${{abc} < {abd} ? {lt} : {ge}}\n"
            "smtpd_banner = $b $c\n")
    d = write(confdir, text)
    ours = run("postconf", "-c", d, "-x", "smtpd_banner")
    real = run_real("postconf", "-c", d, "-x", "smtpd_banner")
    assert ours.out == real.out
    assert ours.out == "smtpd_banner = set dflt yes x$y eq ge ge lt\n"
    assert "undefined parameter: zz" in ours.err


def test_continuation_lines_and_comments_inside(run, run_real, confdir):
    d = write(confdir, "mydestination = a,\n# inside\n   b,\n\tc\nrelayhost =\n")
    ours, real = run("postconf", "-c", d, "-n"), run_real("postconf", "-c", d, "-n")
    assert lines(ours.out) == lines(real.out)
    assert "mydestination = a, b, c" in ours.out


def _edit_both(run, run_real, tmp_path, text, *args):
    results = []
    for name, runner in (("real", run_real), ("ours", run)):
        d = tmp_path / name
        d.mkdir()
        (d / "main.cf").write_text(text)
        (d / "master.cf").write_text("")
        r = runner("postconf", "-c", str(d), *args)
        assert r.rc == 0, r
        results.append((d / "main.cf").read_text())
    return results


MAIN_FOR_EDIT = "# c1\na = 1\n# c2\nmyhostname = x\n  y\nmyhostname = z\nb = 2\n"


def test_edit_e_matches_postfix(run, run_real, tmp_path):
    real, ours = _edit_both(run, run_real, tmp_path, MAIN_FOR_EDIT, "-e",
                            "myhostname = new.example", "relayhost=[r]:25")
    assert ours == real
    assert "# c1\n" in ours and "relayhost = [r]:25\n" in ours


def test_edit_comment_out_matches_postfix(run, run_real, tmp_path):
    real, ours = _edit_both(run, run_real, tmp_path, MAIN_FOR_EDIT, "-#", "myhostname")
    assert ours == real
    assert "#myhostname = x\n" in ours


def test_edit_remove_matches_postfix(run, run_real, tmp_path):
    real, ours = _edit_both(run, run_real, tmp_path, MAIN_FOR_EDIT, "-X", "myhostname", "b")
    assert ours == real
    assert "myhostname" not in ours


def test_missing_main_cf_is_fatal(run, confdir):
    r = run("postconf", "-c", str(confdir), "-n")
    assert r.rc != 0 and "main.cf" in r.err and "fatal" in r.err


@pytest.mark.parametrize("text,expect", [
    ("foo bar\n", "line 1: missing '=' after attribute name"),
    ("a = 1\n= value\n", "line 2: missing attribute name"),
    ("a = b\x00c\n", "line 1: NUL character"),
])
def test_syntax_errors_name_file_and_line(run, confdir, text, expect):
    d = write(confdir, text)
    r = run("postconf", "-c", d, "-n")
    assert r.rc == 1
    assert "%s/main.cf, %s" % (d, expect) in r.err


def test_self_reference_is_an_error_not_a_hang(run, confdir):
    d = write(confdir, "a = $b\nb = $a\nsmtpd_banner = $a\n")
    r = run("postconf", "-c", d, "-x", "smtpd_banner", timeout=20)
    assert r.rc != 0
    assert "unreasonable macro call nesting" in r.err


@pytest.mark.parametrize("ref", ["$a29", "${a29?yes}", "${a29:no}", "${a29?{x}:{y}}"])
def test_exponential_expansion_is_bounded(bindir, confdir, ref):
    """$a29 stands for 16 x 4^29 bytes: refused as too large, in little
    memory, also where the value is only tested (${a29?...})"""
    import subprocess
    import sys
    text = "a0 = xxxxxxxxxxxxxxxx\n" + "".join(
        "a%d = $a%d$a%d$a%d$a%d\n" % (i, i - 1, i - 1, i - 1, i - 1) for i in range(1, 30))
    d = write(confdir, text + "smtpd_banner = %s\n" % ref)
    # the peak RSS of the one command, measured by a parent of its own
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.stderr.write(r.stderr)\n")
    p = subprocess.run([sys.executable, "-c", probe, os.path.join(bindir, "postconf"),
                        "-c", d, "-x", "smtpd_banner"], capture_output=True, text=True,
                       timeout=120)
    rc, maxrss_kib = map(int, p.stdout.split())
    assert rc != 0 and "too large" in p.stderr, p.stderr
    assert maxrss_kib < 300 * 1024, maxrss_kib


def test_garbage_and_huge_lines_do_not_crash(run, confdir):
    blob = bytes(range(1, 256)) * 64
    (confdir / "main.cf").write_bytes(b"x = " + b"y" * (2 * 1024 * 1024) + b"\n" + blob)
    r = run("postconf", "-c", str(confdir), "-n", timeout=60)
    assert r.rc in (0, 1)
    assert "AddressSanitizer" not in r.err and "runtime error" not in r.err
