"""smtpd end to end: `yubin smtpd -c DIR --listen 127.0.0.1:PORT` with a
generated main.cf, driven over raw sockets (exact bytes), Python's smtplib
and swaks. Reply texts are Postfix's. No test asserts a time."""
import os
import pwd
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest
from conftest import free_port

QUEUE_DIRS = ("incoming", "active", "deferred", "hold", "corrupt", "maildrop",
              "bounce", "defer", "pid", "public", "private")


class Smtpd:
    def __init__(self, bindir, tmp, extra="", args=()):
        self.dir = str(tmp)
        self.queue = os.path.join(self.dir, "queue")
        for d in QUEUE_DIRS:
            os.makedirs(os.path.join(self.queue, d), exist_ok=True)
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write("queue_directory = %s\n" % self.queue)
            f.write("myhostname = mx.example.test\n")
            f.write("mydestination = $myhostname, localhost\n")
            f.write("mynetworks = 127.0.0.1/32\n")
            f.write("compatibility_level = 3.6\n")
            f.write("smtpd_timeout = 30s\n")
            # smtpd drops to mail_owner after bind; the tests' own user
            f.write("mail_owner = %s\n" % pwd.getpwuid(os.getuid()).pw_name)
            # no aliases.db here: accept any local part unless a test says
            # otherwise (Postfix's default table would defer)
            f.write("local_recipient_maps =\n")
            f.write(extra)
        self.port = free_port()
        self.logpath = os.path.join(self.dir, "smtpd.log")
        env = dict(os.environ)
        env.pop("YUBIN_MASTER", None)
        env.pop("MAIL_CONFIG", None)
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            [os.path.join(bindir, "yubin"), "smtpd", "-c", self.dir,
             "--listen", "127.0.0.1:%d" % self.port] + list(args),
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise AssertionError("smtpd exited: " + self.logtext())
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("smtpd did not listen: " + self.logtext())

    def logtext(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def wait_log(self, text):
        for _ in range(100):
            if text in self.logtext():
                return True
            time.sleep(0.05)
        return False

    def queued(self):
        return sorted(os.listdir(os.path.join(self.queue, "incoming")))

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture
def smtpd_factory(bindir, tmp_path):
    started = []

    def start(extra="", args=(), sub="i"):
        d = tmp_path / ("%s%d" % (sub, len(started)))
        d.mkdir()
        s = Smtpd(bindir, d, extra, args)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()
        # a sanitizer report or a crash would show here
        assert "Sanitizer" not in s.logtext(), s.logtext()[-3000:]
        assert "runtime error" not in s.logtext()


@pytest.fixture
def smtpd(smtpd_factory):
    return smtpd_factory()


class Raw:
    """A client over a raw socket: exact bytes, one reply at a time."""
    def __init__(self, port, source=None):
        self.sock = socket.socket()
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """one (possibly multi-line) reply, lines joined by newline"""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True


def test_hand_typed_session_is_answered_exactly_as_postfix_would(smtpd):
    c = Raw(smtpd.port)
    assert c.reply() == "220 mx.example.test ESMTP yubin"
    assert c.cmd("HELO localhost") == "250 mx.example.test"
    assert c.cmd("MAIL FROM:root@localhost") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:user@localhost") == "250 2.1.5 Ok"
    assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
    c.send("test\r\n")
    r = c.cmd(".")
    assert r.startswith("250 2.0.0 Ok: queued as ")
    qid = r.split()[-1]
    # the file is there, under its queue ID, when 250 arrives
    assert smtpd.queued() == [qid]
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    assert c.closed()
    assert smtpd.wait_log("disconnect from unknown[127.0.0.1] helo=1 mail=1 rcpt=1 data=1 "
                          "quit=1 commands=5")
    log = smtpd.logtext()
    assert "connect from unknown[127.0.0.1]" in log
    assert "%s: client=unknown[127.0.0.1]" % qid in log


def test_queue_file_holds_envelope_received_header_and_content(smtpd):
    with smtplib.SMTP("127.0.0.1", smtpd.port) as s:
        s.ehlo("client.example")
        s.sendmail("a@example.org", ["user@localhost"],
                   "Message-ID: <m1@example.org>\r\nSubject: x\r\n\r\nbody line\r\n.dot\r\n")
    [qid] = smtpd.queued()
    data = open(os.path.join(smtpd.queue, "incoming", qid), "rb").read()
    assert b"a@example.org" in data and b"user@localhost" in data
    assert b"Received: from client.example (unknown [127.0.0.1])\n\tby mx.example.test (yubin) " \
           b"with ESMTP id " + qid.encode() + b"\n\tfor <user@localhost>; " in data
    assert b"body line\n.dot\n" in data
    assert b"\r\n" not in data.split(b"Subject")[1]
    assert smtpd.wait_log("%s: message-id=<m1@example.org>" % qid)


def test_ehlo_lists_the_postfix_keywords_in_postfix_order(smtpd):
    c = Raw(smtpd.port)
    c.reply()
    assert c.cmd("EHLO client.example").split("\n") == [
        "250-mx.example.test", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY",
        "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8",
        "250 CHUNKING"]


def test_protocol_errors_get_postfix_replies(smtpd):
    c = Raw(smtpd.port)
    c.reply()
    assert c.cmd("HELP") == "500 5.5.2 Error: command not recognized"
    assert c.cmd("HELO") == "501 Syntax: HELO hostname"
    assert c.cmd("RCPT TO:<a@localhost>") == "503 5.5.1 Error: need MAIL command"
    assert c.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
    assert c.cmd("MAIL FROM") == "501 5.5.4 Syntax: MAIL FROM:<address>"
    assert c.cmd("MAIL FROM:<a b@c>") == "501 5.1.7 Bad sender address syntax"
    assert c.cmd("MAIL FROM:<@>") == "501 5.1.7 Bad sender address syntax"
    assert c.cmd("MAIL FROM:<\xe3\x81\x82@example.org>".encode("latin-1").decode("utf-8")) == \
        "553 5.6.7 Must declare SMTPUTF8 to send unicode address"
    assert c.cmd("MAIL FROM:<a@b> FOO=1") == "555 5.5.4 Unsupported option: FOO=1"
    assert c.cmd("MAIL FROM:<>") == "250 2.1.0 Ok"
    assert c.cmd("MAIL FROM:<>") == "503 5.5.1 Error: nested MAIL command"
    assert c.cmd("RCPT TO:<>") == "501 5.1.3 Bad recipient address syntax"
    assert c.cmd("RCPT TO:<x@y") == "501 5.1.3 Bad recipient address syntax"
    assert c.cmd("DATA") == "554 5.5.1 Error: no valid recipients"
    assert c.cmd("VRFY <root@localhost>") == "252 2.0.0 root@localhost"
    assert c.cmd("AUTH PLAIN") == "503 5.5.1 Error: authentication not enabled"
    assert c.cmd("STARTTLS") == "502 5.5.1 Error: command not implemented"
    assert c.cmd("RSET") == "250 2.0.0 Ok"
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"


def test_vrfy_can_be_disabled(smtpd_factory):
    d = smtpd_factory("disable_vrfy_command = yes\n")
    c = Raw(d.port)
    c.reply()
    assert "VRFY" not in c.cmd("EHLO x")
    assert c.cmd("VRFY root") == "502 5.5.1 VRFY command is disabled"


def test_pipelined_burst_is_answered_in_order(smtpd):
    c = Raw(smtpd.port)
    c.reply()
    n = 50
    burst = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n"
    burst += "".join("RCPT TO:<u%d@localhost>\r\n" % i for i in range(n))
    burst += "RCPT TO:<x@elsewhere.example>\r\nDATA\r\n"
    c.send(burst)
    assert c.reply().startswith("250-mx.example.test")
    assert c.reply() == "250 2.1.0 Ok"
    for i in range(n):
        assert c.reply() == "250 2.1.5 Ok"
    # from 127.0.0.1 (mynetworks) relaying is allowed
    assert c.reply() == "250 2.1.5 Ok"
    assert c.reply().startswith("354 ")
    c.send("Subject: pipelined\r\n\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n")
    assert c.reply().startswith("250 2.0.0 Ok: queued as ")
    assert c.reply() == "250 2.0.0 Ok"
    assert c.reply() == "221 2.0.0 Bye"


def test_bdat_chunks_are_queued(smtpd):
    c = Raw(smtpd.port)
    c.reply()
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<user@localhost>") == "250 2.1.5 Ok"
    part1 = b"Subject: chunks\r\n\r\nfirst\r"
    part2 = b"\n.second\r\n"
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    assert c.reply() == "250 2.0.0 Ok: %d bytes" % len(part1)
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    r = c.reply()
    assert r.startswith("250 2.0.0 Ok: %d bytes queued as " % (len(part1) + len(part2)))
    qid = r.split()[-1]
    data = open(os.path.join(smtpd.queue, "incoming", qid), "rb").read()
    # content records split where the chunks did; CR LF became LF across the split
    assert b"first" in data and b"\n.second\n" in data
    assert b"\r" not in data.split(b"Subject: chunks")[1]
    assert c.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
    c.cmd("QUIT")


def test_bdat_with_smtplib_style_and_bad_syntax_closes(smtpd):
    c = Raw(smtpd.port)
    c.reply()
    assert c.cmd("BDAT x") == "521 5.5.4 Syntax: BDAT count [LAST]"
    assert c.closed()


def test_size_overflow_gets_552_and_leaves_no_file(smtpd_factory):
    d = smtpd_factory("message_size_limit = 1000\n")
    c = Raw(d.port)
    c.reply()
    assert "250-SIZE 1000" in c.cmd("EHLO x")
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=5000") == \
        "552 5.3.4 Message size exceeds fixed limit"
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=500") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<user@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("DATA").startswith("354")
    c.send(("x" * 70 + "\r\n") * 100)
    assert c.cmd(".") == "552 5.3.4 Message size exceeds fixed limit"
    assert d.queued() == []
    # the session goes on
    assert c.cmd("NOOP") == "250 2.0.0 Ok"


def test_relay_is_refused_for_a_client_outside_mynetworks(smtpd):
    c = Raw(smtpd.port, source="127.0.0.2")
    c.reply()
    c.cmd("EHLO outside.example")
    assert c.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    # Postfix's default smtpd_relay_restrictions end in defer_unauth_destination
    assert c.cmd("RCPT TO:<victim@elsewhere.example>") == \
        "454 4.7.1 <victim@elsewhere.example>: Relay access denied"
    assert c.cmd("RCPT TO:<victim%elsewhere.example@localhost>") == \
        "454 4.7.1 <victim%elsewhere.example@localhost>: Relay access denied"
    # local domains are still accepted
    assert c.cmd("RCPT TO:<user@localhost>") == "250 2.1.5 Ok"
    c.cmd("QUIT")
    assert smtpd.wait_log("NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 454 4.7.1 "
                          "<victim@elsewhere.example>: Relay access denied; "
                          "from=<a@example.org> to=<victim@elsewhere.example> "
                          "proto=ESMTP helo=<outside.example>")


def test_reject_unauth_destination_gives_554(smtpd_factory):
    d = smtpd_factory("smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
                      "relay_domains = relay.example\n")
    c = Raw(d.port, source="127.0.0.2")
    c.reply()
    c.cmd("HELO outside.example")
    c.cmd("MAIL FROM:<a@example.org>")
    assert c.cmd("RCPT TO:<x@y.example>") == "554 5.7.1 <x@y.example>: Relay access denied"
    assert c.cmd("RCPT TO:<x@relay.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<x@sub.relay.example>") == "250 2.1.5 Ok"


def test_an_open_relay_configuration_is_refused(bindir, tmp_path):
    with pytest.raises(AssertionError):
        Smtpd(bindir, tmp_path, "smtpd_relay_restrictions = permit\n"
              "smtpd_recipient_restrictions = permit\n")


def test_restrictions_non_fqdn_and_access_tables(smtpd_factory, tmp_path):
    table = tmp_path / "access"
    table.write_text("spammer@example.org REJECT go away\nbad.example 550 5.7.2 no thanks\n")
    d = smtpd_factory("smtpd_sender_restrictions = reject_non_fqdn_sender, "
                      "check_sender_access texthash:%s\n"
                      "smtpd_recipient_restrictions = reject_non_fqdn_recipient\n" % table)
    c = Raw(d.port)
    c.reply()
    c.cmd("HELO h")
    c.cmd("MAIL FROM:<root>")
    assert c.cmd("RCPT TO:<user@mx.example.test>") == \
        "504 5.5.2 <root>: Sender address rejected: need fully-qualified address"
    c.cmd("RSET")
    c.cmd("MAIL FROM:<a@example.org>")
    assert c.cmd("RCPT TO:<user>") == \
        "504 5.5.2 <user>: Recipient address rejected: need fully-qualified address"
    assert c.cmd("RCPT TO:<user@localhost>") == \
        "504 5.5.2 <user@localhost>: Recipient address rejected: need fully-qualified address"
    assert c.cmd("RCPT TO:<user@mx.example.test>") == "250 2.1.5 Ok"
    c.cmd("RSET")
    c.cmd("MAIL FROM:<spammer@example.org>")
    assert c.cmd("RCPT TO:<user@mx.example.test>") == \
        "554 5.7.1 <spammer@example.org>: Sender address rejected: go away"
    c.cmd("RSET")
    c.cmd("MAIL FROM:<x@bad.example>")
    assert c.cmd("RCPT TO:<user@mx.example.test>") == \
        "550 5.7.2 <x@bad.example>: Sender address rejected: no thanks"
    # the DNS restrictions (reject_rbl_client, ...) are in test_smtpd_dns.py,
    # against a DNS server of the test's own


def test_too_many_recipients(smtpd_factory):
    d = smtpd_factory("smtpd_recipient_limit = 2\n")
    c = Raw(d.port)
    c.reply()
    c.cmd("HELO h")
    c.cmd("MAIL FROM:<a@example.org>")
    assert c.cmd("RCPT TO:<a@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<b@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<c@localhost>") == "452 4.5.3 Error: too many recipients"


def test_disconnect_inside_data_leaves_no_queue_file(smtpd):
    c = Raw(smtpd.port)
    c.reply()
    c.cmd("HELO h")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<user@localhost>")
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: cut\r\n\r\npartial line")
    c.sock.close()
    assert smtpd.wait_log("lost connection after DATA (")
    assert smtpd.queued() == []
    assert [n for n in os.listdir(os.path.join(smtpd.queue, "incoming"))] == []


def test_garbage_and_huge_lines_get_replies_not_crashes(smtpd):
    c = Raw(smtpd.port)
    c.reply()
    assert c.cmd("\x01\x02\x03") == "500 5.5.2 Error: command not recognized"
    assert c.cmd("") == "500 5.5.2 Error: bad syntax"
    # longer than line_length_limit: cut there, the rest skipped (Postfix's smtp_get)
    assert c.cmd("NOOP " + "x" * 100000) == "250 2.0.0 Ok"
    assert c.cmd("MAIL FROM:<" + "a" * 5000 + "@example.org>") == \
        "501 5.1.7 Bad sender address syntax"
    assert c.cmd("NOOP") == "250 2.0.0 Ok"


def test_non_smtp_command_ends_the_session(smtpd):
    c = Raw(smtpd.port)
    c.reply()
    assert c.cmd("GET / HTTP/1.0") == "221 2.7.0 Error: I can break rules, too. Goodbye."
    assert c.closed()


def test_hard_error_limit_closes(smtpd_factory):
    d = smtpd_factory("smtpd_hard_error_limit = 3\n")
    c = Raw(d.port)
    c.reply()
    c.cmd("X1")
    c.cmd("X2")
    c.send("X3\r\n")
    assert c.reply() == "500 5.5.2 Error: command not recognized"
    assert c.reply() == "421 4.7.0 mx.example.test Error: too many errors"
    assert c.closed()


def test_timeout_gets_421(smtpd_factory):
    d = smtpd_factory("smtpd_timeout = 1s\n")
    c = Raw(d.port)
    c.reply()
    # one byte at a time does not keep the session alive
    c.send("N")
    assert c.reply() == "421 4.4.2 mx.example.test Error: timeout exceeded"
    assert c.closed()
    assert d.wait_log("timeout after CONNECT from unknown[127.0.0.1]")


def make_cert(tmp_path):
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    return cert, key


def test_starttls_then_mail(smtpd_factory, tmp_path):
    cert, key = make_cert(tmp_path)
    d = smtpd_factory("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = %s\n"
                      "smtpd_tls_key_file = %s\n" % (cert, key))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", d.port) as s:
        s.ehlo("client.example")
        assert s.has_extn("starttls")
        code, msg = s.starttls(context=ctx)
        assert (code, msg) == (220, b"2.0.0 Ready to start TLS")
        s.ehlo("client.example")
        assert not s.has_extn("starttls")
        assert s.docmd("STARTTLS") == (554, b"5.5.1 Error: TLS already active")
        s.sendmail("a@example.org", ["user@localhost"], "Subject: tls\r\n\r\nsecret\r\n")
    assert len(d.queued()) == 1
    data = open(os.path.join(d.queue, "incoming", d.queued()[0]), "rb").read()
    assert b"with ESMTPS id" in data
    assert d.wait_log("Anonymous TLS connection established from unknown[127.0.0.1]")


def test_encrypt_level_requires_starttls(smtpd_factory, tmp_path):
    cert, key = make_cert(tmp_path)
    d = smtpd_factory("smtpd_tls_security_level = encrypt\nsmtpd_tls_cert_file = %s\n"
                      "smtpd_tls_key_file = %s\n" % (cert, key))
    c = Raw(d.port)
    c.reply()
    c.cmd("EHLO x")
    assert c.cmd("MAIL FROM:<a@example.org>") == "530 5.7.0 Must issue a STARTTLS command first"


def test_tls_configured_without_a_usable_key_answers_454(smtpd_factory, tmp_path):
    d = smtpd_factory("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = %s\n"
                      % (tmp_path / "missing.pem"))
    c = Raw(d.port)
    c.reply()
    c.cmd("EHLO x")
    assert c.cmd("STARTTLS") == "454 4.7.0 TLS not available due to local problem"


def test_implicit_tls_wrappermode(smtpd_factory, tmp_path):
    cert, key = make_cert(tmp_path)
    d = smtpd_factory("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n" % (cert, key),
                      args=("-o", "smtpd_tls_wrappermode=yes"))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP_SSL("127.0.0.1", d.port, context=ctx) as s:
        s.ehlo("client.example")
        assert not s.has_extn("starttls")
        s.sendmail("a@example.org", ["user@localhost"], "Subject: smtps\r\n\r\nx\r\n")
    assert len(d.queued()) == 1


def test_tls_handshake_garbage_is_a_clean_disconnect(smtpd_factory, tmp_path):
    cert, key = make_cert(tmp_path)
    d = smtpd_factory("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n" % (cert, key),
                      args=("-o", "smtpd_tls_wrappermode=yes"))
    s = socket.create_connection(("127.0.0.1", d.port), 10)
    s.sendall(b"\x16\x03\x01\x00\x05garbage-not-tls\r\n" * 10)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
    assert d.wait_log("lost connection after CONNECT from unknown[127.0.0.1]")
    # the server still serves
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP_SSL("127.0.0.1", d.port, context=ctx) as c:
        assert c.noop()[0] == 250


def test_swaks_delivers(smtpd):
    swaks = "/usr/bin/swaks"
    if not os.path.exists(swaks):
        if os.environ.get("CI"):
            pytest.fail("swaks is not installed; scripts/bootstrap should have done it")
        pytest.skip("swaks is not installed")
    p = subprocess.run([swaks, "--server", "127.0.0.1", "--port", str(smtpd.port),
                        "--from", "a@example.org", "--to", "user@localhost",
                        "--pipeline"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "250 2.0.0 Ok: queued as" in p.stdout
    assert len(smtpd.queued()) == 1


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to change user")
def test_runs_as_mail_owner_after_bind(smtpd_factory):
    # Network code is never root after bind: smtpd becomes mail_owner.
    s = smtpd_factory(extra="mail_owner = nobody\n")
    with open("/proc/%d/status" % s.proc.pid) as f:
        uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
    nobody = pwd.getpwnam("nobody").pw_uid
    assert uids == [str(nobody)] * 4, uids


def test_default_local_recipient_maps_refuse_unknown_users(smtpd_factory):
    # Postfix's default: proxy:unix:passwd.byname $alias_maps
    s = smtpd_factory(extra="local_recipient_maps = proxy:unix:passwd.byname $alias_maps\n"
                            "alias_maps =\n")
    c = smtplib.SMTP("127.0.0.1", s.port, timeout=30)
    c.ehlo("client.example")
    assert c.mail("a@example.org")[0] == 250
    code, msg = c.rcpt("root@localhost")
    assert code == 250, msg
    code, msg = c.rcpt("no-such-user-xyz@localhost")
    assert code == 550 and b"User unknown in local recipient table" in msg, msg
    c.quit()


def test_clients_gone_during_the_group_commit_still_queue_once(smtpd):
    """Clients that hang up right after the final "." (their session goes
    while its queue file is in the group commit thread): every message is
    still committed once, nothing half-written is left in incoming/, the
    next client is served, and smtpd stops cleanly (no leak report under
    ASan)."""
    n = 20
    for k in range(n):
        c = socket.create_connection(("127.0.0.1", smtpd.port), 10)
        f = c.makefile("rb")

        def reply():
            while True:
                line = f.readline()
                assert line, "connection closed early"
                if line[3:4] != b"-":
                    return line

        assert reply().startswith(b"220")
        for cmd, code in ((b"EHLO client.example", b"250"), (b"MAIL FROM:<a@example.org>", b"250"),
                          (b"RCPT TO:<user@localhost>", b"250"), (b"DATA", b"354")):
            c.sendall(cmd + b"\r\n")
            assert reply().startswith(code)
        c.sendall(b"Subject: gone %d\r\n\r\nbody\r\n.\r\n" % k)
        f.close()
        c.close()      # without waiting for the 250
    with smtplib.SMTP("127.0.0.1", smtpd.port) as s:
        s.ehlo("client.example")
        s.sendmail("a@example.org", ["user@localhost"], "Subject: after\r\n\r\nbody\r\n")
    for _ in range(200):
        if len(smtpd.queued()) >= n + 1:
            break
        time.sleep(0.05)
    names = smtpd.queued()
    assert len(names) == n + 1, names
    assert not [q for q in names if q.startswith("t.")]
    subjects = sorted(open(os.path.join(smtpd.queue, "incoming", q), "rb").read()
                      .split(b"Subject: ")[1].split(b"\n")[0] for q in names)
    assert subjects == sorted([b"after"] + [b"gone %d" % k for k in range(n)])
    smtpd.stop()
    assert smtpd.proc.returncode == 0, smtpd.logtext()[-2000:]
    log = smtpd.logtext()
    assert "LeakSanitizer" not in log and "runtime error" not in log, log[-3000:]
