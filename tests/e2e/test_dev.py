"""yubin dev: a self-contained development instance.

The generated configuration is fed to Debian's real postconf and doveconf,
which must accept it without complaint; the certificate to openssl(1)."""
import os
import re
import signal
import socket
import time
import stat
import subprocess

import pytest

BASE = 20000
PORTS = {
    "smtp": 25, "submission": 587, "smtps": 465, "lmtp": 24, "imap": 143,
    "imaps": 993, "pop3": 110, "pop3s": 995, "managesieve": 4190,
}
FILES = ["main.cf", "master.cf", "dovecot.conf", "aliases", "users",
         "tls/cert.pem", "tls/key.pem"]
DIRS = ["spool", "mail", "log", "run", "home/demo"]


@pytest.fixture
def inst(run, tmp_path):
    """A fresh instance made with --no-wait and port base 20000."""
    d = tmp_path / "dev"
    r = run("yubin", "dev", str(d), "--no-wait", "--port-base", str(BASE))
    assert r.rc == 0, r
    return d


def test_creates_every_file_and_directory(inst):
    for f in FILES:
        assert (inst / f).is_file(), f
    for d in DIRS:
        assert (inst / d).is_dir(), d
    assert (inst / "log" / "maillog").is_file()


def test_banner_names_services_ports_and_hints(run, tmp_path, bindir):
    d = tmp_path / "dev"
    r = run("yubin", "dev", str(d), "--no-wait", "--port-base", str(BASE))
    assert r.rc == 0, r
    real = os.path.realpath(str(d))
    assert real in r.out
    for name, off in PORTS.items():
        # master.cf's SMTP services run under the master; the Dovecot side
        # comes with later issues.
        state = "configured \\(smtpd\\)" if name in ("smtp", "submission", "smtps") \
            else "configured \\(pop3\\)" if name in ("pop3", "pop3s") \
            else "configured \\(lmtp\\)" if name == "lmtp" \
            else "configured \\(imap\\)" if name in ("imap", "imaps") \
            else "configured \\(managesieve\\)" if name == "managesieve" \
            else "not built yet"
        assert re.search(r"^\s+%s\s+127\.0\.0\.1:%d\s.*%s" % (name, BASE + off, state),
                         r.out, re.M), (name, r.out)
    assert "%s/postconf -c %s -n" % (os.path.realpath(bindir), real) in r.out
    assert "%s/doveconf -c %s/dovecot.conf -n" % (os.path.realpath(bindir), real) in r.out
    assert "Test user: demo, password demo" in r.out and "dev-mode-only password" in r.out
    assert "sieve-connect -s 127.0.0.1 -p %d -u demo --notlsverify --list" % (BASE + 4190) \
        in r.out
    # daemon-shaped log lines on stderr, and the same in the maillog
    assert re.search(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ yubin/master\[\d+\]: created ",
                     r.err, re.M), r.err
    assert "yubin/master[" in (d / "log" / "maillog").read_text()


def test_paths_in_config_are_absolute(run, tmp_path):
    # a relative DIR still yields absolute paths in every file
    r = run("yubin", "dev", "rel", "--no-wait", cwd=str(tmp_path))
    assert r.rc == 0, r
    real = os.path.realpath(str(tmp_path / "rel"))
    main = (tmp_path / "rel" / "main.cf").read_text()
    assert "queue_directory = %s/spool\n" % real in main
    assert "maillog_file = %s/log/maillog\n" % real in main
    assert "smtpd_tls_key_file = %s/tls/key.pem\n" % real in main
    dove = (tmp_path / "rel" / "dovecot.conf").read_text()
    assert "ssl_cert = <%s/tls/cert.pem\n" % real in dove
    # the default port base is 10000
    assert "127.0.0.1:10025 " in (tmp_path / "rel" / "master.cf").read_text()
    assert "port = 10143\n" in dove


def test_default_dir_is_var_dev(run, tmp_path):
    r = run("yubin", "dev", "--no-wait", cwd=str(tmp_path))
    assert r.rc == 0, r
    assert (tmp_path / "var" / "dev" / "main.cf").is_file()


def test_main_cf_is_safe(inst):
    text = (inst / "main.cf").read_text()
    # continuation lines joined, as Postfix reads them
    params = {}
    for m in re.finditer(r"^(\w+) = (.*(?:\n[ \t].*)*)", text, re.M):
        params[m.group(1)] = " ".join(m.group(2).split())
    assert params["mynetworks"] == "127.0.0.0/8 [::1]/128"
    assert params["smtpd_relay_restrictions"] == \
        "permit_mynetworks permit_sasl_authenticated reject_unauth_destination"
    assert params["home_mailbox"] == "Maildir/"
    assert params["smtpd_tls_security_level"] == "may"
    assert "localhost" in params["mydestination"]
    import pwd
    import grp
    assert params["mail_owner"] == pwd.getpwuid(os.getuid()).pw_name
    assert params["setgid_group"] == grp.getgrgid(os.getgid()).gr_name


def test_real_postconf_accepts_main_cf(inst, run_real):
    r = run_real("postconf", "-c", str(inst), "-n")
    assert r.rc == 0, r
    assert r.err == "", r
    real = os.path.realpath(str(inst))
    assert "queue_directory = %s/spool" % real in r.out
    assert "smtpd_tls_cert_file = %s/tls/cert.pem" % real in r.out


def test_real_postconf_lists_master_cf_ports(inst, run_real):
    r = run_real("postconf", "-c", str(inst), "-M")
    assert r.rc == 0, r
    assert r.err == "", r
    services = {}
    for line in r.out.splitlines():
        f = line.split()
        services.setdefault((f[0], f[1]), line)
    for name in ("smtp", "submission", "smtps"):
        key = ("127.0.0.1:%d" % (BASE + PORTS[name]), "inet")
        assert key in services, (name, r.out)
        assert services[key].split()[7] == "smtpd"
    sub = services[("127.0.0.1:%d" % (BASE + 587), "inet")]
    assert "-o smtpd_tls_security_level=encrypt" in sub
    assert "-o smtpd_sasl_auth_enable=yes" in sub
    assert "-o smtpd_tls_wrappermode=yes" in services[("127.0.0.1:%d" % (BASE + 465), "inet")]
    for name in ("pickup", "cleanup", "qmgr", "rewrite", "bounce", "local", "postlog"):
        assert any(k[0] == name for k in services), name


def test_real_doveconf_accepts_dovecot_conf(inst, run_real):
    r = run_real("doveconf", "-c", str(inst / "dovecot.conf"), "-n")
    assert r.rc == 0, r
    assert r.err == "", r
    out = r.out
    assert re.search(r"^protocols = imap pop3 lmtp sieve$", out, re.M), out
    assert re.search(r"^listen = 127\.0\.0\.1$", out, re.M), out
    for name in ("imap", "imaps", "pop3", "pop3s", "lmtp", "managesieve"):
        assert "port = %d\n" % (BASE + PORTS[name]) in out, (name, out)
    # the instance's paths, resolved through the real parser
    real = os.path.realpath(str(inst))
    assert "base_dir = %s/run" % real in out
    assert "%s/users" % real in out


def test_certificate_and_key(inst):
    p = subprocess.run(["openssl", "x509", "-in", str(inst / "tls" / "cert.pem"), "-noout",
                        "-subject", "-ext", "subjectAltName"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "CN" in p.stdout
    assert "DNS:localhost" in p.stdout
    assert "IP Address:127.0.0.1" in p.stdout
    mode = stat.S_IMODE(os.stat(inst / "tls" / "key.pem").st_mode)
    assert mode == 0o600
    # the key belongs to the certificate
    pub_cert = subprocess.run(["openssl", "x509", "-in", str(inst / "tls" / "cert.pem"),
                               "-noout", "-pubkey"], capture_output=True, text=True,
                              timeout=30).stdout
    pub_key = subprocess.run(["openssl", "pkey", "-in", str(inst / "tls" / "key.pem"),
                              "-pubout"], capture_output=True, text=True, timeout=30).stdout
    assert pub_cert and pub_cert == pub_key


def test_users_file_is_a_passwd_file(inst):
    line = (inst / "users").read_text().splitlines()[0]
    f = line.split(":")
    assert f[0] == "demo"
    assert f[1] == "{PLAIN}demo"
    assert f[2:4] == [str(os.getuid()), str(os.getgid())]
    assert f[5] == "%s/home/demo" % os.path.realpath(str(inst))


def test_second_run_keeps_edited_files(run, inst):
    main = inst / "main.cf"
    edited = main.read_text() + "\n# edited by the administrator\nmyhostname = edited.example\n"
    main.write_text(edited)
    cert = (inst / "tls" / "cert.pem").read_bytes()
    (inst / "aliases").unlink()
    r = run("yubin", "dev", str(inst), "--no-wait", "--port-base", str(BASE))
    assert r.rc == 0, r
    assert main.read_text() == edited
    assert (inst / "tls" / "cert.pem").read_bytes() == cert
    # what was missing is made again
    assert (inst / "aliases").is_file()


def test_other_port_base_on_existing_instance_warns(run, inst):
    r = run("yubin", "dev", str(inst), "--no-wait", "--port-base", "30000")
    assert r.rc == 0, r
    assert "warning:" in r.err and "--port-base" in r.err, r
    assert "127.0.0.1:%d " % (BASE + 25) in (inst / "master.cf").read_text()


@pytest.mark.parametrize("base", ["999", "61346", "65535", "-5", "abc", "", "10000x"])
def test_bad_port_base_is_rejected(run, tmp_path, base):
    d = tmp_path / "dev"
    r = run("yubin", "dev", str(d), "--no-wait", "--port-base", base)
    assert r.rc == 1, r
    assert "port-base" in r.err, r
    assert not d.exists()


@pytest.mark.parametrize("base", ["1000", "61345"])
def test_port_base_limits_are_accepted(run, tmp_path, base):
    r = run("yubin", "dev", str(tmp_path / "dev"), "--no-wait", "--port-base=" + base)
    assert r.rc == 0, r


@pytest.mark.parametrize("args", [["--bogus"], ["-x"], ["a", "b"], ["--port-base"]])
def test_bad_usage_prints_usage(run, tmp_path, args):
    r = run("yubin", "dev", "--no-wait", *args, cwd=str(tmp_path))
    assert r.rc == 1, r
    assert "usage: yubin dev" in r.err, r
    assert not (tmp_path / "var").exists()


def test_help(run):
    r = run("yubin", "dev", "--help")
    assert r.rc == 0, r
    assert "usage: yubin dev" in r.out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_foreground_stops_cleanly_on_signal(bindir, tmp_path, sig):
    d = tmp_path / "dev"
    env = dict(os.environ)
    env.pop("MAIL_CONFIG", None)
    p = subprocess.Popen([os.path.join(bindir, "yubin"), "dev", str(d), "--port-base",
                          str(BASE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        # the banner's last line means the signals are being waited for
        lines = []
        for line in p.stdout:
            lines.append(line)
            if "press Ctrl-C to stop" in line:
                break
        assert any("press Ctrl-C" in x for x in lines), "".join(lines)
        assert p.poll() is None
        if sig == signal.SIGINT:
            # The instance's smtpd answers on smtp (N+25) while it runs.
            banner = b""
            for _ in range(100):
                try:
                    with socket.create_connection(("127.0.0.1", BASE + 25), timeout=5) as c:
                        banner = c.recv(512)
                    break
                except OSError:
                    time.sleep(0.1)
            assert banner.startswith(b"220 ") and b"ESMTP" in banner, banner
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, (out, err)
    assert "stopped" in out
    assert re.search(r"yubin/master\[\d+\]: stopped$", err, re.M), err


def test_directory_with_unsafe_characters_is_refused(run, tmp_path):
    # it would be written unquoted into main.cf lists and the users file
    r = run("yubin", "dev", str(tmp_path / "my dev"), "--no-wait")
    assert r.rc == 1, r
    assert "only letters, digits" in r.err, r
    assert not (tmp_path / "my dev").exists()
