"""POP3 (issue 6, items 4-6, 8): Python's poplib, fetchmail and curl fetch
mail over STLS and pop3s; replies are Dovecot's byte for byte (checked
against Debian's real Dovecot on the same mailbox where it matters: the
UIDLs); deletions happen only at QUIT; plaintext logins are refused before
TLS; mail_max_userip_connections refuses the connection over the limit;
bad input (unknown commands, overlong lines, broken base64) is answered
and survived; and yubin dev's demo user fetches what the MTA delivered."""
import os
import poplib
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import dev_port_base
from pop3_fixtures import Retrieval, listening, wait_for

MSG1 = b"From: a@example.org\nSubject: one\n\nbody one\n.leading dot\n"
MSG2 = b"From: b@example.org\nSubject: two\n\nbody two\n"


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture
def box(bindir, tmp_path):
    r = Retrieval(bindir, tmp_path / "r")
    r.put("1700000001.M1P1.test", MSG1)
    r.put("1700000002.M1P1.test", MSG2)
    yield r
    r.cleanup()


def talk(port, lines):
    """Send the lines pipelined, then read until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"".join(line + b"\r\n" for line in lines))
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


def test_poplib_over_stls_and_pop3s_and_deletions_at_quit(box):
    box.start()
    p = poplib.POP3("127.0.0.1", box.pop3, timeout=20)
    assert p.getwelcome() == b"+OK Dovecot (Debian) ready."
    p.stls(tls_ctx())
    p.user("alice")
    p.pass_("secret")
    assert p.stat() == (2, len(MSG1) + MSG1.count(b"\n") + len(MSG2) + MSG2.count(b"\n"))
    lines = p.retr(1)[1]
    assert lines == [b"From: a@example.org", b"Subject: one", b"", b"body one",
                     b".leading dot"]
    assert p.dele(1).startswith(b"+OK Marked to be deleted.")
    # not gone before QUIT: another session still sees it
    q = poplib.POP3_SSL("127.0.0.1", box.pop3s, context=tls_ctx(), timeout=20)
    q.user("alice")
    q.pass_("secret")
    assert q.stat()[0] == 2
    q.quit()
    p.quit()
    r = poplib.POP3_SSL("127.0.0.1", box.pop3s, context=tls_ctx(), timeout=20)
    r.user("alice")
    r.pass_("secret")
    assert r.stat()[0] == 1
    assert r.retr(1)[1][1] == b"Subject: two"
    r.quit()
    log = box.logtext()
    assert "pop3-login: Login: user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=" in log
    assert ", TLS, session=<" in log
    assert "Disconnected: Logged out top=0/0, retr=1/" in log and "del=1/2, size=" in log


def test_rset_undoes_deletions_and_a_dropped_session_deletes_nothing(box):
    box.start()
    p = poplib.POP3_SSL("127.0.0.1", box.pop3s, context=tls_ctx(), timeout=20)
    p.user("alice")
    p.pass_("secret")
    p.dele(1)
    p.rset()
    p.dele(2)
    p.sock.close()          # no QUIT: UPDATE state never reached
    time.sleep(0.3)
    q = poplib.POP3_SSL("127.0.0.1", box.pop3s, context=tls_ctx(), timeout=20)
    q.user("alice")
    q.pass_("secret")
    assert q.stat()[0] == 2
    q.quit()


def test_replies_are_dovecots(box):
    box.start()
    got = talk(box.pop3, [b"CAPA", b"FOO", b"USER alice", b"APOP alice 00", b"AUTH FOO",
                          b"PASS wrong", b"QUIT"])
    # on loopback (rip == lip) plaintext is allowed, as Dovecot allows it
    assert got == (b"+OK Dovecot (Debian) ready.\r\n"
                   b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
                   b"AUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"
                   b"-ERR Unknown command.\r\n"
                   b"+OK\r\n"
                   b"-ERR APOP not enabled.\r\n"
                   b"-ERR [AUTH] Unsupported authentication mechanism.\r\n"
                   b"-ERR [AUTH] Authentication failed.\r\n"
                   b"+OK Logging out\r\n"), got
    s = socket.create_connection(("127.0.0.1", box.pop3), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER alice\r\nPASS secret\r\nSTAT\r\nLIST 9\r\nLIST x\r\nTOP 1\r\n"
              b"UIDL 1\r\nDELE 1\r\nDELE 1\r\nRETR 1\r\nFOO\r\nTOP 2 0\r\nQUIT\r\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    lines = out.split(b"\r\n")
    assert lines[0] == b"+OK"
    assert lines[1] == b"+OK Logged in."
    assert lines[2].startswith(b"+OK 2 ")
    assert lines[3] == b"-ERR There's no message 9."
    assert lines[4] == b"-ERR Invalid message number: x"
    assert lines[5] == b"-ERR Noise after message number: "
    assert lines[6].startswith(b"+OK 1 ") and len(lines[6]) == len(b"+OK 1 ") + 16
    assert lines[7] == b"+OK Marked to be deleted."
    assert lines[8] == b"-ERR Message is deleted."
    assert lines[9] == b"-ERR Message is deleted."
    assert lines[10] == b"-ERR Unknown command: FOO"
    assert lines[11:16] == [b"+OK", b"From: b@example.org", b"Subject: two", b"", b"."]
    assert lines[16] == b"+OK Logging out."


def test_uidls_equal_real_dovecots_on_the_same_maildir(box, tmp_path):
    """Debian's Dovecot serves the mailbox first (and writes its
    dovecot-uidlist); yubin must then give every message the same UIDL,
    and a message delivered afterwards must get the next UID."""
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(dovecot):
        if os.environ.get("CI"):
            pytest.fail("Debian's dovecot is not installed")
        pytest.skip("Debian's dovecot is not installed")
    if os.getuid() != 0:
        pytest.skip("the real Dovecot needs root here")
    import pathlib
    # Dovecot's login processes (dovenull) chroot into base_dir: it must be
    # reachable, so it lives beside the box, not in pytest's root-only tmp
    real = pathlib.Path(box.root) / "real"
    (real / "run").mkdir(parents=True)
    os.chmod(str(real), 0o755)
    from conftest import free_port
    port = free_port()
    conf = real / "dovecot.conf"
    conf.write_text(
        "base_dir = %s/run\nstate_dir = %s\nlog_path = %s/log\nprotocols = pop3\n"
        "listen = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\nfirst_valid_uid = 1\n"
        "mail_location = maildir:~/Maildir\n"
        "passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n}\n"
        "userdb {\n driver = passwd-file\n args = %s/users\n}\n"
        "service pop3-login {\n inet_listener pop3 {\n  port = %d\n }\n"
        " inet_listener pop3s {\n  port = 0\n }\n}\n"
        "service imap-login {\n inet_listener imap {\n  port = 0\n }\n"
        " inet_listener imaps {\n  port = 0\n }\n}\n"
        % (real, real, real, box.root, box.root, port))
    # not capture_output: the daemon keeps the pipes open, and run() would
    # wait for their end forever
    with open(str(real / "start.log"), "w") as out:
        r = subprocess.run([dovecot, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    assert r.returncode == 0, (real / "start.log").read_text()
    try:
        assert wait_for(lambda: listening(port))
        p = poplib.POP3("127.0.0.1", port, timeout=20)
        p.user("alice")
        p.pass_("secret")
        want = p.uidl()[1]
        p.quit()
    finally:
        with open(str(real / "run" / "master.pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20)
    assert len(want) == 2
    box.put("1700000003.M1P1.test", b"Subject: three\n\n3\n")
    box.start()
    p = poplib.POP3_SSL("127.0.0.1", box.pop3s, context=tls_ctx(), timeout=20)
    p.user("alice")
    p.pass_("secret")
    got = p.uidl()[1]
    p.quit()
    assert got[:2] == want
    uid3, validity = int(got[2].split()[1][:8], 16), got[2].split()[1][8:]
    assert uid3 == 3 and validity == want[0].split()[1][8:]


def test_plaintext_refused_without_tls_when_not_local(box):
    """rip != lip: 127.0.0.2 talks to 127.0.0.1 (no TLS): USER is refused
    with Dovecot's words, CAPA offers neither USER nor PLAIN; after STLS
    both work."""
    with open(box.conf, "a") as f:
        f.write("")
    box.start()
    s = socket.create_connection(("127.0.0.1", box.pop3), timeout=10,
                                 source_address=("127.0.0.2", 0))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER alice\r\n")
    assert f.readline() == (b"-ERR [AUTH] Plaintext authentication disallowed on "
                            b"non-secure (SSL/TLS) connections.\r\n")
    s.sendall(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
    assert f.readline().startswith(b"-ERR [AUTH] Plaintext authentication disallowed")
    s.sendall(b"CAPA\r\n")
    capa = b""
    while not capa.endswith(b".\r\n"):
        capa += f.readline()
    assert b"USER\r\n" not in capa and b"PLAIN" not in capa and b"STLS\r\n" in capa
    s.close()


def test_userip_limit_refuses_the_connection_over_it(bindir, tmp_path):
    r = Retrieval(bindir, tmp_path / "r", extra="mail_max_userip_connections = 2\n")
    try:
        r.start()
        held = []
        for _ in range(2):
            p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=tls_ctx(), timeout=20)
            p.user("alice")
            p.pass_("secret")
            held.append(p)
        p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=tls_ctx(), timeout=20)
        p.user("alice")
        with pytest.raises(poplib.error_proto) as e:
            p.pass_("secret")
        assert e.value.args[0] == (b"-ERR [IN-USE] Maximum number of connections from "
                                   b"user+IP exceeded (mail_max_userip_connections=2)")
        for h in held:
            h.quit()
        # a slot is free again
        assert wait_for(lambda: len(r.doveadm("who").stdout.splitlines()) <= 1)
        p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=tls_ctx(), timeout=20)
        p.user("alice")
        p.pass_("secret")
        p.quit()
    finally:
        r.cleanup()


def test_userip_limit_counts_each_user_apart_and_forgets_ended_sessions(bindir, tmp_path):
    r = Retrieval(bindir, tmp_path / "r", extra="mail_max_userip_connections = 1\n")
    with open(os.path.join(r.root, "users"), "a") as f:
        f.write("bob:{PLAIN}secret:%d:%d::%s::\n" % (r.uid, r.gid, r.home))

    def login(user):
        p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=tls_ctx(), timeout=20)
        p.user(user)
        p.pass_("secret")
        return p

    def leftovers():
        # ended sessions' files kept for reuse (.spare/) are not leftovers
        out = []
        for d, _, files in os.walk(os.path.join(r.base, "sessions")):
            if os.path.basename(d) != ".spare":
                out += [os.path.join(d, n) for n in files if n != ".lock"]
        return out

    try:
        r.start()
        for _ in range(2):      # the second round after every session ended
            alice = login("alice")
            bob = login("bob")  # another user from the same address: not counted
            with pytest.raises(poplib.error_proto) as e:
                login("alice")
            assert b"[IN-USE]" in e.value.args[0]
            alice.quit()

            def again():        # alice's slot is free once her process is gone
                try:
                    login("alice").quit()
                    return True
                except poplib.error_proto:
                    return False
            assert wait_for(again)
            bob.quit()
            # nothing of the ended sessions stays behind but a few spares
            assert wait_for(lambda: leftovers() == []), leftovers()
            assert len(os.listdir(os.path.join(r.base, "sessions", ".spare"))) <= 6
    finally:
        r.cleanup()


def test_bad_input_is_answered_and_survived(box):
    box.start()
    s = socket.create_connection(("127.0.0.1", box.pop3), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"AUTH PLAIN !!!notbase64\r\n")
    assert f.readline() == b"-ERR [AUTH] Invalid base64 data in initial response\r\n"
    s.sendall(b"AUTH PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(b"%%%\r\n")
    assert f.readline().startswith(b"-ERR [AUTH] Invalid base64")
    s.sendall(b"\x00\xff\r\n")
    assert f.readline() == b"-ERR Unknown command.\r\n"
    s.sendall(b"A" * 5000 + b"\r\n")
    assert f.read() == b""      # dropped: Dovecot's "Input buffer full"
    s.close()
    assert "Disconnected (Input buffer full)" in box.logtext()
    # the service lives on
    p = poplib.POP3_SSL("127.0.0.1", box.pop3s, context=tls_ctx(), timeout=20)
    p.user("alice")
    p.pass_("secret")
    p.quit()


def test_a_client_that_never_logs_in_is_dropped(bindir, tmp_path, monkeypatch):
    monkeypatch.setenv("YUBIN_POP3_TIMEOUT_MS", "500")
    r = Retrieval(bindir, tmp_path / "r")
    try:
        r.start()
        s = socket.create_connection(("127.0.0.1", r.pop3), timeout=20)
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        assert f.read() == b""      # closed by the server, not by us
        s.close()
        assert wait_for(lambda: "Disconnected (Inactivity)" in r.logtext())
    finally:
        r.cleanup()


def test_fetchmail_and_curl_retrieve(box, tmp_path):
    box.start()
    if not shutil.which("curl"):
        pytest.fail("curl is not installed; scripts/bootstrap installs it")
    c = subprocess.run(["curl", "-s", "--ssl-reqd", "--insecure", "--user", "alice:secret",
                        "pop3://127.0.0.1:%d/1" % box.pop3], capture_output=True, timeout=30)
    assert c.returncode == 0, c
    assert b"Subject: one" in c.stdout
    c = subprocess.run(["curl", "-s", "--insecure", "--user", "alice:secret",
                        "pop3s://127.0.0.1:%d/2" % box.pop3s], capture_output=True, timeout=30)
    assert c.returncode == 0, c
    assert b"Subject: two" in c.stdout
    fm = shutil.which("fetchmail")
    if fm is None:
        if os.environ.get("CI"):
            pytest.fail("fetchmail is not installed; scripts/bootstrap installs it")
        pytest.skip("fetchmail is not installed")
    out = tmp_path / "fetched"
    rc = tmp_path / "fetchmailrc"
    rc.write_text("poll 127.0.0.1 service %d protocol pop3 user alice password secret "
                  "sslproto TLS1.2+ no sslcertck keep mda \"cat >> %s\"\n" % (box.pop3, out))
    os.chmod(str(rc), 0o600)
    f = subprocess.run([fm, "-f", str(rc), "--nosyslog", "-v"], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, HOME=str(tmp_path)))
    assert f.returncode == 0, f
    text = out.read_text()
    assert "Subject: one" in text and "Subject: two" in text


def port_base():
    return dev_port_base()


def test_dev_demo_fetches_what_the_mta_delivered(tmp_path, bindir):
    d = tmp_path / "dev"
    base = port_base()
    p = subprocess.Popen([os.path.join(bindir, "yubin"), "dev", str(d), "--port-base",
                          str(base)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert wait_for(lambda: listening(base + 25) and listening(base + 110) and
                        listening(base + 995), 30), "dev never listened"
        with smtplib.SMTP("127.0.0.1", base + 25, timeout=20) as s:
            s.sendmail("someone@example.org", ["demo@localhost"],
                       b"Subject: for demo\r\n\r\nhello demo\r\n")
        new = d / "mail" / "localhost" / "demo" / "new"
        assert wait_for(lambda: new.exists() and len(os.listdir(str(new))) >= 1, 30)
        q = poplib.POP3("127.0.0.1", base + 110, timeout=20)
        q.stls(tls_ctx())
        q.user("demo")
        q.pass_("demo")
        n = q.stat()[0]
        assert n >= 1
        assert b"Subject: for demo" in q.retr(n)[1]
        q.quit()
        q = poplib.POP3_SSL("127.0.0.1", base + 995, context=tls_ctx(), timeout=20)
        q.user("demo")
        q.pass_("demo")
        assert q.stat()[0] == n
        q.quit()
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_apop_with_a_plaintext_passdb(bindir, tmp_path):
    """auth_mechanisms = ... apop: the greeting carries an RFC 1939
    timestamp, new for every connection; poplib's apop() logs in; a wrong
    digest, a missing one and AUTH APOP are refused with Dovecot's words
    (compared with Debian's Dovecot 2.3 by hand: the same replies); CAPA
    does not list APOP as a SASL mechanism; the log names method=APOP."""
    import hashlib
    import re
    r = Retrieval(bindir, tmp_path / "r", extra="auth_mechanisms = plain login apop\n")
    r.put("1700000001.M1P1.test", MSG1)
    try:
        r.start()
        p = poplib.POP3("127.0.0.1", r.pop3, timeout=20)
        w1 = p.getwelcome()
        assert re.fullmatch(rb"\+OK Dovecot (\(Debian\) )?ready\. <[0-9a-f]+\.\d+\.[0-9a-f]+\.\S+@\S+>", w1), w1
        p.apop("alice", "secret")
        assert p.stat()[0] == 1
        p.quit()
        p = poplib.POP3("127.0.0.1", r.pop3, timeout=20)
        assert p.getwelcome() != w1
        with pytest.raises(poplib.error_proto) as e:
            p.apop("alice", "wrong")
        assert e.value.args[0] == b"-ERR [AUTH] Authentication failed."
        p.close()
        s = socket.create_connection(("127.0.0.1", r.pop3), timeout=10)
        f = s.makefile("rb")
        ts = re.search(rb"<[^>]+>", f.readline()).group(0)
        for line, want in ((b"APOP alice", b"-ERR Invalid parameters.\r\n"),
                           (b"APOP", b"-ERR Invalid parameters.\r\n"),
                           (b"APOP alice zz" + b"0" * 30, b"-ERR Invalid parameters.\r\n"),
                           (b"AUTH APOP", b"-ERR [AUTH] Unsupported authentication mechanism.\r\n")):
            s.sendall(line + b"\r\n")
            assert f.readline() == want, line
        s.sendall(b"CAPA\r\n")
        capa = b""
        while not capa.endswith(b".\r\n"):
            capa += f.readline()
        assert b"SASL PLAIN LOGIN\r\n" in capa and b"APOP" not in capa
        # the digest of this connection's own timestamp works here
        s.sendall(b"APOP alice " + hashlib.md5(ts + b"secret").hexdigest().encode() + b"\r\n")
        assert f.readline() == b"+OK Logged in.\r\n"
        s.close()
        assert wait_for(lambda: "method=APOP" in r.logtext())
    finally:
        r.cleanup()


def test_client_certificates_checked_against_ssl_ca(bindir, tmp_path):
    """ssl_ca = <file with ssl_verify_client_cert = yes: a client
    certificate signed by that CA is taken, one from another CA ends the
    handshake, none at all still leaves the password to decide."""
    d = tmp_path / "pki"
    d.mkdir()

    def ossl(*args):
        subprocess.run(["openssl"] + list(args), cwd=str(d), check=True, capture_output=True)

    for ca in ("ca", "other"):
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key",
             "-out", ca + ".pem", "-days", "2", "-subj", "/CN=" + ca)
    for who, ca in (("good", "ca"), ("bad", "other")):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + ".key", "-out",
             who + ".csr", "-subj", "/CN=" + who)
        ossl("x509", "-req", "-in", who + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
             "-CAcreateserial", "-out", who + ".pem", "-days", "2")
    r = Retrieval(bindir, tmp_path / "r", extra="ssl_ca = <%s/ca.pem\n"
                  "ssl_verify_client_cert = yes\n" % d)
    r.put("1700000001.M1P1.test", MSG1)
    try:
        r.start()
        for who in ("good", None):
            c = tls_ctx()
            if who:
                c.load_cert_chain(str(d / (who + ".pem")), str(d / (who + ".key")))
            p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=c, timeout=20)
            p.user("alice")
            p.pass_("secret")
            assert p.stat()[0] == 1
            p.quit()
        c = tls_ctx()
        c.load_cert_chain(str(d / "bad.pem"), str(d / "bad.key"))
        with pytest.raises((ssl.SSLError, OSError, poplib.error_proto)):
            p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=c, timeout=20)
            p.user("alice")     # TLS 1.3: the refusal may come with the first read
            p.pass_("secret")
        # the server still serves others afterwards
        p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=tls_ctx(), timeout=20)
        assert p.getwelcome().startswith(b"+OK")
        p.quit()
    finally:
        r.cleanup()
