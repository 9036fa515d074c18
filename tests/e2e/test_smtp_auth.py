"""SMTP AUTH through the authentication service (issue 6 item 2, issue 3
item 2): an instance whose master.cf has Postfix's stock submission and
smtps entries, smtpd_sasl_type = dovecot and smtpd_sasl_path at a `yubin
auth` started on a unix socket with a passwd-file user. Clients: Python's
smtplib and swaks."""
import base64
import os
import signal
import smtplib
import ssl
import subprocess
import time

import pytest

from conftest import free_port

USERS = "alice:{PLAIN}secret:1000:1000::/home/alice::\n"


def make_cert(tmp_path):
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    return cert, key


class Authd:
    """`yubin auth` on a unix socket, stopped by its own pid."""

    def __init__(self, bindir, d, extra=""):
        self.bindir = bindir
        self.d = d
        d.mkdir(exist_ok=True)
        (d / "users").write_text(USERS)
        self.conf = d / "dovecot.conf"
        self.conf.write_text("auth_mechanisms = plain login cram-md5\n%s\n"
                             "passdb {\n  driver = passwd-file\n  args = %s/users\n}\n"
                             "userdb {\n  driver = passwd-file\n  args = %s/users\n}\n"
                             % (extra, d, d))
        self.sock = str(d / "auth.sock")
        self.p = None

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.log = open(self.d / "auth.log", "a")
        self.p = subprocess.Popen([os.path.join(self.bindir, "yubin"), "auth", "-c",
                                   str(self.conf), "--listen", self.sock],
                                  stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(self.sock):
                return
            time.sleep(0.05)
        raise AssertionError("auth service did not start")

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(timeout=20)
        self.p = None


@pytest.fixture
def setup(instance_factory, bindir, tmp_path):
    """make(main_extra, auth_extra, start_auth) -> (instance, authd, ports)"""
    made = []

    def make(main_extra="", auth_extra="auth_failure_delay = 0s", start_auth=True,
             submission_extra=""):
        cert, key = make_cert(tmp_path)
        a = Authd(bindir, tmp_path / ("auth%d" % len(made)), auth_extra)
        made.append(a)
        if start_auth:
            a.start()
        sub, smtps = free_port(), free_port()
        master = ("127.0.0.1:%d inet n - n - - smtpd\n"
                  "  -o syslog_name=postfix/submission\n"
                  "  -o smtpd_tls_security_level=encrypt\n"
                  "  -o smtpd_sasl_auth_enable=yes\n"
                  "  -o smtpd_tls_auth_only=yes\n"
                  "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n%s"
                  "127.0.0.1:%d inet n - n - - smtpd\n"
                  "  -o syslog_name=postfix/smtps\n"
                  "  -o smtpd_tls_wrappermode=yes\n"
                  "  -o smtpd_sasl_auth_enable=yes\n"
                  "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
                  % (sub, submission_extra, smtps))
        main = ("mynetworks = 192.0.2.0/24\n"
                "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,"
                " reject_unauth_destination\n"
                "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                "smtpd_tls_security_level = may\n"
                "smtpd_sasl_type = dovecot\nsmtpd_sasl_path = %s\n%s"
                % (cert, key, a.sock, main_extra))
        inst = instance_factory(main_extra=main, master_extra=master)
        inst.start()
        return inst, a, {"smtp": inst.port, "submission": sub, "smtps": smtps}
    yield make
    for a in made:
        a.stop()


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def connect(port, source=None, retries=100):
    for _ in range(retries):
        try:
            return smtplib.SMTP("127.0.0.1", port, timeout=30,
                                source_address=(source, 0) if source else None)
        except ConnectionRefusedError:
            time.sleep(0.1)
    raise AssertionError("no listener on %d" % port)


def plain(user, pw):
    return base64.b64encode(b"\0" + user + b"\0" + pw).decode()


MSG = "From: alice@test.example\r\nSubject: auth\r\n\r\nhello\r\n"


def test_submission_starttls_auth_plain_relays_for_the_user(setup):
    inst, a, ports = setup()
    s = connect(ports["submission"])
    s.ehlo()
    assert not s.has_extn("auth"), "smtpd_tls_auth_only: no AUTH before STARTTLS"
    assert s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret"))[0] == 530
    s.starttls(context=ctx())
    s.ehlo()
    assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "CRAM-MD5"]
    code, msg = s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret"))
    assert (code, msg) == (235, b"2.7.0 Authentication successful")
    assert s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret")) == \
        (503, b"5.5.1 Error: already authenticated")
    assert s.docmd("MAIL", "FROM:<alice@test.example> AUTH=<>") == (250, b"2.1.0 Ok")
    assert s.docmd("RCPT", "TO:<someone@remote.example>") == (250, b"2.1.5 Ok")
    code, msg = s.data(MSG)
    assert code == 250 and b"queued as" in msg
    qid = msg.decode().split()[-1]
    s.quit()
    assert inst.wait_log(r"%s: client=\S+\[127\.0\.0\.1\], sasl_method=PLAIN, "
                         r"sasl_username=alice$" % qid)
    assert inst.wait_log(r"%s: to=<someone@remote\.example>.*status=sent" % qid)
    assert inst.wait_log(r"disconnect from \S+ ehlo=2 starttls=1 auth=1/3 mail=1 rcpt=1 "
                         r"data=1 quit=1 commands=8/10")


def test_submission_refuses_relay_without_auth(setup):
    inst, a, ports = setup()
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    assert s.docmd("MAIL", "FROM:<alice@test.example>")[0] == 250
    code, msg = s.docmd("RCPT", "TO:<someone@remote.example>")
    assert (code, msg) == (554, b"5.7.1 <someone@remote.example>: Relay access denied")
    s.quit()


def test_wrong_password_535_and_logged_for_fail2ban(setup):
    inst, a, ports = setup()
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    code, msg = s.docmd("AUTH", "PLAIN " + plain(b"alice", b"wrong"))
    assert code == 535 and msg.startswith(b"5.7.8 Error: authentication failed: ")
    assert s.docmd("MAIL", "FROM:<alice@test.example>")[0] == 250
    assert s.docmd("RCPT", "TO:<someone@remote.example>")[0] == 554
    s.quit()
    # the line fail2ban's stock postfix filter (mode auth) matches
    assert inst.wait_log(r"postfix/submission/smtpd\[\d+\]: warning: \S+\[127\.0\.0\.1\]: "
                         r"SASL PLAIN authentication failed: ")


def test_auth_login_and_cram_md5(setup):
    inst, a, ports = setup()
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    assert s.docmd("AUTH", "LOGIN") == (334, base64.b64encode(b"Username:"))
    assert s.docmd(base64.b64encode(b"alice").decode()) == \
        (334, base64.b64encode(b"Password:"))
    assert s.docmd(base64.b64encode(b"secret").decode()) == \
        (235, b"2.7.0 Authentication successful")
    s.quit()
    # a failed LOGIN shows Postfix's famous reason: the last challenge
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    s.docmd("AUTH", "LOGIN " + base64.b64encode(b"alice").decode())
    assert s.docmd(base64.b64encode(b"nope").decode()) == \
        (535, b"5.7.8 Error: authentication failed: UGFzc3dvcmQ6")
    s.quit()
    # CRAM-MD5 through smtplib's own implementation
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    s.user, s.password = "alice", "secret"
    assert s.auth("CRAM-MD5", s.auth_cram_md5) == (235, b"2.7.0 Authentication successful")
    s.quit()
    assert inst.wait_log(r"SASL LOGIN authentication failed: UGFzc3dvcmQ6")


def test_abort_unknown_mechanism_and_syntax(setup):
    inst, a, ports = setup()
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    assert s.docmd("AUTH", "LOGIN")[0] == 334
    assert s.docmd("*") == (501, b"5.7.0 Authentication aborted")
    assert s.docmd("AUTH", "GSSAPI") == (504, b"5.5.4 Unrecognized authentication type")
    assert s.docmd("AUTH") == (501, b"5.5.4 Syntax: AUTH mechanism")
    assert s.docmd("AUTH", "PLAIN a b") == (501, b"5.5.4 Syntax: AUTH mechanism")
    assert s.docmd("MAIL", "FROM:<a@test.example>")[0] == 250
    assert s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret")) == \
        (503, b"5.5.1 Error: MAIL transaction in progress")
    assert s.docmd("RSET")[0] == 250
    # still usable after all that; an empty initial response ("=") asks for it
    assert s.docmd("AUTH", "PLAIN =")[0] in (334, 535)
    s.quit()
    assert inst.wait_log(r"warning: \S+\[127\.0\.0\.1\]: SASL LOGIN authentication aborted")


def test_no_auth_without_sasl_auth_enable(setup):
    inst, a, ports = setup()
    s = connect(ports["smtp"])
    s.starttls(context=ctx())
    s.ehlo()
    assert not s.has_extn("auth")
    assert s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret")) == \
        (503, b"5.5.1 Error: authentication not enabled")
    s.quit()


def test_plaintext_from_non_local_address_without_tls_is_refused(setup):
    # tls_auth_only off and TLS not required on this service: the auth
    # service itself refuses plaintext from 127.0.0.2 (not this host's address)
    inst, a, ports = setup("smtpd_sasl_auth_enable = yes\n")
    port = ports["smtp"]
    s = connect(port, source="127.0.0.2")
    s.ehlo()
    assert s.has_extn("auth")
    code, msg = s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret"))
    assert code == 535
    assert b"Plaintext authentication disallowed" in msg
    s.quit()
    # from the local address (127.0.0.1 to 127.0.0.1) it is secured
    s = connect(port)
    s.ehlo()
    assert s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret"))[0] == 235
    s.quit()


def test_smtps_wrappermode_auth(setup):
    inst, a, ports = setup()
    s = smtplib.SMTP_SSL("127.0.0.1", ports["smtps"], timeout=30, context=ctx())
    s.ehlo()
    assert not s.has_extn("starttls")
    assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "CRAM-MD5"]
    assert s.login("alice", "secret") == (235, b"2.7.0 Authentication successful")
    assert s.sendmail("alice@test.example", ["x@elsewhere.example"], MSG) == {}
    s.quit()
    s = smtplib.SMTP_SSL("127.0.0.1", ports["smtps"], timeout=30, context=ctx())
    s.ehlo()
    assert s.docmd("MAIL", "FROM:<alice@test.example>")[0] == 250
    assert s.docmd("RCPT", "TO:<x@elsewhere.example>") == \
        (554, b"5.7.1 <x@elsewhere.example>: Relay access denied")
    s.quit()
    # smtplib prefers CRAM-MD5 among what EHLO offers
    assert inst.wait_log(r"postfix/smtps/smtpd\[\d+\]: \w+: client=\S+, sasl_method=CRAM-MD5, "
                         r"sasl_username=alice$")


def test_swaks_auth_login_and_plain(setup):
    # swaks here has no Net::SSLeay: plaintext AUTH on a service without
    # TLS requirements, from this host's own address (secured for Dovecot)
    inst, a, ports = setup("smtpd_sasl_auth_enable = yes\n")
    for mech in ("LOGIN", "PLAIN"):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(ports["smtp"]),
                            "--auth", mech, "--auth-user", "alice", "--auth-password",
                            "secret", "--from", "alice@test.example",
                            "--to", "x@elsewhere.example", "--timeout", "30"],
                           capture_output=True, text=True, timeout=120)
        assert "235 2.7.0 Authentication successful" in r.stdout, r.stdout + r.stderr
        assert "Ok: queued as" in r.stdout, r.stdout
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(ports["smtp"]),
                        "--auth", "LOGIN", "--auth-user", "alice", "--auth-password",
                        "bad", "--from", "alice@test.example",
                        "--to", "x@elsewhere.example", "--timeout", "30"],
                       capture_output=True, text=True, timeout=120)
    assert "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6" in r.stdout, r.stdout
    assert inst.wait_log(r"\w+: client=\S+, sasl_method=PLAIN, sasl_username=alice$")
    assert inst.wait_log(r"\w+: client=\S+, sasl_method=LOGIN, sasl_username=alice$")


def test_received_header_names_the_user(setup):
    # a transport master.cf lacks defers the mail: it stays for postcat
    inst, a, ports = setup("smtpd_sasl_authenticated_header = yes\n"
                           "default_transport = nosuch\n")
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    s.login("alice", "secret")
    assert s.mail("alice@test.example")[0] == 250
    assert s.rcpt("x@remote.example")[0] == 250
    code, msg = s.data(MSG)
    assert code == 250
    qid = msg.decode().split()[-1]
    s.quit()
    r = inst.run("postcat", "-c", inst.etc, "-q", qid)
    assert "\t(Authenticated sender: alice)\n" in r.out, r
    assert "with ESMTPSA id " + qid in r.out, r


def test_auth_service_down_gives_454(setup):
    inst, a, ports = setup()
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    assert s.has_extn("auth")
    a.stop()
    code, msg = s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret"))
    assert code == 454 and msg.startswith(b"4.7.0 Temporary authentication failure"), msg
    # the session goes on; nothing was accepted for relay
    assert s.docmd("MAIL", "FROM:<alice@test.example>")[0] == 250
    assert s.docmd("RCPT", "TO:<x@remote.example>")[0] == 554
    s.quit()
    # back up: the next attempt reconnects
    a.start()
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    assert s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret"))[0] == 235
    s.quit()


def test_auth_service_never_up_gives_454_not_a_crash(setup):
    inst, a, ports = setup(start_auth=False)
    s = connect(ports["submission"])
    s.starttls(context=ctx())
    s.ehlo()
    code, msg = s.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret"))
    assert code == 454, msg
    assert s.docmd("NOOP")[0] == 250
    s.quit()


def test_a_delayed_failure_does_not_stall_other_sessions(setup):
    # one smtpd process serves both sessions; the service delays the FAIL
    # of the first. The second authenticates and finishes while the first
    # still waits: an order, not a time.
    inst, a, ports = setup(auth_extra="auth_failure_delay = 4s")
    s1 = connect(ports["submission"])
    s1.starttls(context=ctx())
    s1.ehlo()
    s1.putcmd("AUTH", "PLAIN " + plain(b"alice", b"wrong"))
    s2 = connect(ports["submission"])
    s2.starttls(context=ctx())
    s2.ehlo()
    assert s2.docmd("AUTH", "PLAIN " + plain(b"alice", b"secret"))[0] == 235
    s1.sock.setblocking(False)
    try:
        pending = s1.sock.recv(1)
    except (BlockingIOError, ssl.SSLWantReadError):
        pending = b""
    s1.sock.setblocking(True)
    assert pending == b"", "the delayed FAIL came before the other session finished"
    s2.quit()
    assert s1.getreply()[0] == 535
    s1.quit()
