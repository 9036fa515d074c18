"""The LMTP server (RFC 2033) as Dovecot's lmtp: Python's smtplib.LMTP over
the unix socket ($base_dir/lmtp) and over TCP delivers into the user's
Maildir through the user's Sieve script; the replies are compared with
Debian's Dovecot lmtp on the same dialogue; bad input (overlong lines, a
DATA that never ends, a connection dropped mid-DATA) stores nothing and
gets Dovecot's replies; Debian's Postfix hands mail over with
virtual_transport = lmtp:unix:PATH."""
import glob
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import free_port
from pop3_fixtures import Retrieval, listening, wait_for

MSG = (b"From: Sender <sender@example.org>\r\nTo: alice@example.org\r\n"
       b"Subject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\nline one\r\n"
       b".leading dot\r\n")


def msg(subject, mid="m1"):
    return MSG % (subject.encode(), mid.encode())


def lmtp_conf(port, extra=""):
    return ("protocols = pop3 lmtp\n"
            "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n"
            "    port = %d\n  }\n}\n" % port) + extra


class Box(Retrieval):
    def __init__(self, bindir, root, extra=""):
        self.lmtp_port = free_port()
        super().__init__(bindir, root, lmtp_conf(self.lmtp_port, extra))
        self.sock = os.path.join(self.base, "lmtp")
        self.bob_home = os.path.join(self.root, "home", "bob")
        os.makedirs(os.path.join(self.bob_home, "Maildir"), exist_ok=True)
        with open(os.path.join(self.root, "users"), "a") as f:
            f.write("bob:{PLAIN}secret:%d:%d::%s::\n" % (self.uid, self.gid, self.bob_home))
            f.write("rooty:{PLAIN}secret:0:0::%s::\n" % self.bob_home)
        self.chown()

    def start(self):
        super().start()
        assert wait_for(lambda: listening(self.lmtp_port) and os.path.exists(self.sock)), \
            self.logtext()

    def sieve(self, text, user_home=None):
        home = user_home or self.home
        os.makedirs(os.path.join(home, "sieve"), exist_ok=True)
        with open(os.path.join(home, "sieve", "main.sieve"), "w") as f:
            f.write(text)
        link = os.path.join(home, ".dovecot.sieve")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink("sieve/main.sieve", link)
        self.chown()

    def new(self, folder="", home=None):
        base = os.path.join(home or self.home, "Maildir")
        if folder:
            base = os.path.join(base, "." + folder)
        return sorted(glob.glob(os.path.join(base, "new", "*")))

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()


@pytest.fixture
def box(bindir, tmp_path):
    b = Box(bindir, tmp_path)
    yield b
    b.cleanup()


def tcp(box):
    return smtplib.LMTP("127.0.0.1", box.lmtp_port, timeout=30)


def test_unix_socket_delivers_into_the_maildir(box):
    box.start()
    c = smtplib.LMTP(box.sock, timeout=30)
    code, ehlo = c.ehlo("client.example")
    assert code == 250
    assert c.has_extn("pipelining") and c.has_extn("enhancedstatuscodes") and \
        c.has_extn("8bitmime")
    refused = c.sendmail("sender@example.org", ["alice"], msg("over unix"))
    assert refused == {}
    c.quit()
    files = box.new()
    assert len(files) == 1
    data = box.read(files[0])
    # Dovecot's trace headers, then the message with LF line ends,
    # dot-unstuffed
    assert data.startswith(b"Return-Path: <sender@example.org>\nDelivered-To: alice\n"
                           b"Received: from client.example\n\tby ")
    assert b"\n\t(envelope-from <sender@example.org>)\n\tfor <alice>; " in data
    assert data.endswith(b"Subject: over unix\nMessage-ID: <m1@example.org>\n\n"
                         b"line one\n.leading dot\n")
    assert b"\r" not in data
    st = os.stat(files[0])
    assert (st.st_uid, st.st_gid) == (box.uid, box.gid)
    log = box.logtext()
    assert re.search(r"lmtp\(\d+\): Connect from local", log), log
    assert re.search(r"lmtp\(alice\)<\d+><[A-Za-z0-9+/]{22}>: sieve: msgid=<m1@example.org>: "
                     r"stored mail into mailbox 'INBOX'", log), log
    assert wait_for(lambda: re.search(r"lmtp\(\d+\): Disconnect from local: Logged out "
                                      r"\(state=READY\)", box.logtext())), box.logtext()


def test_tcp_multiple_recipients_one_reply_each(box):
    box.start()
    s = socket.create_connection(("127.0.0.1", box.lmtp_port), timeout=30)
    f = s.makefile("rb")
    assert f.readline().endswith(b" Dovecot (Debian) ready.\r\n")
    # pipelined, as RFC 2033 allows
    s.sendall(b"LHLO client\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\n"
              b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob>\r\nDATA\r\n")
    lines = [f.readline() for _ in range(9)]
    assert lines[:4] == [b"250-" + socket.gethostname().encode() + b"\r\n", b"250-8BITMIME\r\n",
                         b"250-ENHANCEDSTATUSCODES\r\n", b"250 PIPELINING\r\n"]
    assert lines[4:] == [b"250 2.1.0 OK\r\n", b"250 2.1.5 OK\r\n",
                         b"550 5.1.1 <nobody@example.org> User doesn't exist: "
                         b"nobody@example.org\r\n", b"250 2.1.5 OK\r\n", b"354 OK\r\n"]
    s.sendall(msg("two").replace(b"m1@", b"m2@") + b".\r\n")
    r1, r2 = f.readline(), f.readline()
    m = re.match(rb"250 2\.0\.0 <alice> ([A-Za-z0-9+/]{22}) Saved\r\n", r1)
    assert m, r1
    # the second recipient is the third RCPT: Dovecot numbers it R3
    assert r2 == b"250 2.0.0 <bob> " + m.group(1) + b":R3 Saved\r\n"
    s.sendall(b"QUIT\r\n")
    assert f.readline() == b"221 2.0.0 Bye\r\n"
    s.close()
    assert len(box.new()) == 1 and len(box.new(home=box.bob_home)) == 1
    assert b"Delivered-To: bob\n" in box.read(box.new(home=box.bob_home)[0])
    assert "Connect from 127.0.0.1" in box.logtext()


DIALOGUE = [b"LHLO x", b"HELO x", b"EHLO x", b"VRFY alice", b"NOOP", b"DATA",
            b"RCPT TO:<alice>", b"MAIL FROM:a@b", b"MAIL FROM:<a@b> SIZE=100",
            b"MAIL FROM:<a@b> BODY=8BITMIME", b"MAIL FROM:<a@b>", b"RCPT",
            b"RCPT TO:alice", b"RCPT TO:<>", b"RCPT TO:<bad address>",
            b"RCPT TO:<alice> NOTIFY=NEVER", b"RCPT TO:<nobody>", b"RCPT TO:<alice+foo@x>",
            b"DATA", b"RSET", b"mail from:<>", b"DATA", b"RCPT TO:<alice>", b"FOO",
            b"X" * 100, b"QUIT"]


def dialogue(addr):
    """Each command alone, its reply read before the next: the
    transcript with session ids and the host name masked."""
    s = socket.create_connection(addr, timeout=30)
    f = s.makefile("rb")
    out = [f.readline()]
    for cmd in DIALOGUE:
        s.sendall(cmd + b"\r\n")
        while True:
            line = f.readline()
            out.append(line)
            if line[3:4] != b"-":
                break
    s.close()
    text = b"".join(out).decode()
    host = socket.gethostname()
    return text.replace(host, "HOST")


def test_replies_are_debian_dovecots(box, tmp_path):
    """The same dialogue against Debian's Dovecot lmtp (run from a temp
    dir on loopback, killed by its pid) and against yubin's."""
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists("/usr/lib/dovecot/lmtp"):
        if os.environ.get("CI"):
            pytest.fail("Debian's dovecot-lmtpd is not installed")
        pytest.skip("Debian's dovecot-lmtpd is not installed")
    if os.getuid() != 0:
        pytest.skip("the real Dovecot needs root here")
    real = os.path.join(box.root, "real")
    os.makedirs(os.path.join(real, "run"))
    os.chmod(real, 0o755)
    port = free_port()
    conf = os.path.join(real, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("base_dir = %s/run\nstate_dir = %s\nlog_path = %s/log\nprotocols = lmtp\n"
                "listen = 127.0.0.1\nssl = no\nfirst_valid_uid = 1\n"
                "mail_location = maildir:%s/mail/%%u\n"
                "passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n}\n"
                "userdb {\n driver = passwd-file\n args = %s/users\n}\n"
                "service lmtp {\n inet_listener lmtp {\n  address = 127.0.0.1\n"
                "  port = %d\n }\n}\n"
                "service imap-login {\n inet_listener imap {\n  port = 0\n }\n"
                " inet_listener imaps {\n  port = 0\n }\n}\n"
                "service pop3-login {\n inet_listener pop3 {\n  port = 0\n }\n"
                " inet_listener pop3s {\n  port = 0\n }\n}\n"
                % (real, real, real, real, box.root, box.root, port))
    with open(os.path.join(real, "start.log"), "w") as out:
        r = subprocess.run([dovecot, "-c", conf], stdout=out, stderr=subprocess.STDOUT)
    assert r.returncode == 0
    try:
        assert wait_for(lambda: listening(port))
        want = dialogue(("127.0.0.1", port))
    finally:
        with open(os.path.join(real, "run", "master.pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20)
    box.start()
    got = dialogue(("127.0.0.1", box.lmtp_port))
    # Dovecot offers CHUNKING (BDAT); yubin does not yet
    want = want.replace("250-CHUNKING\r\n", "")
    assert got == want


def test_sieve_files_into_a_folder_and_detail_mailbox(box):
    box.sieve('require ["fileinto"];\n'
              'if header :contains "subject" "[list]" { fileinto "Lists"; stop; }\n'
              'if header :contains "subject" "nofolder" { fileinto "Missing"; stop; }\n')
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(box.maildir, ".Lists", sub))
    box.chown()
    box.start()
    c = tcp(box)
    c.sendmail("s@example.org", ["alice"], msg("[list] news"))
    c.sendmail("s@example.org", ["alice"], msg("personal", "m2"))
    # a folder that does not exist (no lda_mailbox_autocreate): INBOX, as
    # Dovecot's implicit keep after a failed fileinto
    c.sendmail("s@example.org", ["alice"], msg("nofolder", "m3"))
    c.quit()
    lists = box.new("Lists")
    assert len(lists) == 1 and b"Subject: [list] news\n" in box.read(lists[0])
    inbox = b"".join(box.read(p) for p in box.new())
    assert len(box.new()) == 2 and b"Subject: personal\n" in inbox and b"Subject: nofolder" in inbox
    assert "stored mail into mailbox 'Lists'" in box.logtext()
    assert "failed to store into mailbox 'Missing': Mailbox doesn't exist" in box.logtext()


def test_save_to_detail_mailbox(bindir, tmp_path):
    b = Box(bindir, tmp_path, "lmtp_save_to_detail_mailbox = yes\n"
            "lda_mailbox_autocreate = yes\nlmtp_add_received_header = no\n")
    try:
        b.start()
        c = tcp(b)
        assert c.sendmail("s@example.org", ["alice+Travel"], msg("trip")) == {}
        c.quit()
        assert len(b.new("Travel")) == 1 and b.new() == []
        data = b.read(b.new("Travel")[0])
        assert b"Delivered-To: alice+Travel\n" in data and b"Received:" not in data
    finally:
        b.cleanup()


def test_reject_is_answered_at_lmtp_time_per_recipient(box):
    box.sieve('require ["reject"];\nif header :contains "subject" "spam" '
              '{ reject "No spam here, thanks."; }\n')
    box.start()
    c = tcp(box)
    c.ehlo("x")
    c.mail("s@example.org")
    assert c.rcpt("alice")[0] == 250
    assert c.rcpt("bob")[0] == 250
    c.putcmd("data")
    assert c.getreply()[0] == 354
    c.send(msg("cheap spam") + b".\r\n")
    assert c.getreply() == (550, b"5.7.1 <alice> No spam here, thanks.")
    code, text = c.getreply()
    assert code == 250 and text.startswith(b"2.0.0 <bob> ")
    c.quit()
    assert box.new() == [] and len(box.new(home=box.bob_home)) == 1
    # smtplib's own API: a refused recipient is an SMTPDataError for LMTP
    c = tcp(box)
    with pytest.raises(smtplib.SMTPDataError) as e:
        c.sendmail("s@example.org", ["alice"], msg("more spam", "m3"))
    assert e.value.smtp_code == 550
    c.quit()
    assert box.new() == []


def test_ereject_is_answered_at_lmtp_time(bindir, tmp_path):
    """RFC 5429 2.1: ereject refuses the message in the LMTP dialogue itself
    (the extension enabled as in Pigeonhole: sieve_extensions = +ereject)."""
    b = Box(bindir, tmp_path, "plugin {\n  sieve_extensions = +ereject\n}\n")
    b.sieve('require ["ereject"];\nif address "from" "sender@example.org" {\n'
            '    ereject "I no longer accept mail from this address";\n}\n')
    try:
        b.start()
        c = tcp(b)
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("sender@example.org", ["alice"], msg("hello", "e1"))
        assert e.value.smtp_code == 550
        assert b"I no longer accept mail from this address" in e.value.smtp_error
        c.quit()
        assert b.new() == []
    finally:
        b.cleanup()


def test_root_and_low_uids_are_refused(box):
    box.start()
    c = tcp(box)
    c.ehlo("x")
    c.mail("s@example.org")
    assert c.rcpt("rooty") == (451, b"4.3.0 <rooty> Temporary internal error")
    c.quit()
    assert "not permitted" in box.logtext()


def test_overlong_line_is_refused_and_the_session_goes_on(box):
    box.start()
    s = socket.create_connection(("127.0.0.1", box.lmtp_port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"NOOP " + b"x" * 100000 + b"\r\nNOOP\r\nQUIT\r\n")
    assert f.readline() == b"500 5.5.2 Line too long\r\n"
    assert f.readline() == b"250 2.0.0 OK\r\n"
    assert f.readline() == b"221 2.0.0 Bye\r\n"
    s.close()


def test_dropped_connection_mid_data_stores_nothing(box):
    box.start()
    s = socket.create_connection(("127.0.0.1", box.lmtp_port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\nDATA\r\n")
    while f.readline() != b"354 OK\r\n":
        pass
    s.sendall(b"Subject: half\r\n\r\n" + b"body line\r\n" * 20000)
    f.close()   # the file object holds the socket open too
    s.close()
    assert wait_for(lambda: "state=DATA" in box.logtext())
    assert box.new() == []
    assert os.listdir(os.path.join(box.maildir, "tmp")) == []
    assert re.search(r"Disconnect from 127\.0\.0\.1: Connection closed \(state=DATA\)",
                     box.logtext())


def test_data_that_never_ends_times_out(bindir, tmp_path):
    b = Box(bindir, tmp_path)
    os.environ["YUBIN_LMTP_TIMEOUT_MS"] = "1500"
    try:
        b.start()
    finally:
        del os.environ["YUBIN_LMTP_TIMEOUT_MS"]
    try:
        s = socket.create_connection(("127.0.0.1", b.lmtp_port), timeout=30)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\nDATA\r\n"
                  b"Subject: never ends\r\n\r\nbody\r\n")
        lines = []
        while True:
            line = f.readline()
            if not line:
                break
            lines.append(line)
        assert lines[-1].startswith(b"421 4.4.2 ") and \
            lines[-1].endswith(b" Disconnected for inactivity\r\n")
        s.close()
        assert b.new() == []
        assert wait_for(lambda: "Disconnected for inactivity (state=DATA)" in b.logtext())
    finally:
        b.cleanup()


def test_too_big_message_is_refused_per_recipient(box):
    """Above the size cap every recipient gets 552 and nothing is stored;
    the cap is deliver's own (255 MB), so this sends just past it."""
    box.start()
    s = socket.create_connection(("127.0.0.1", box.lmtp_port), timeout=120)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\nDATA\r\n")
    while f.readline() != b"354 OK\r\n":
        pass
    chunk = (b"y" * 998 + b"\r\n") * 1024
    for _ in range(272):
        s.sendall(chunk)
    s.sendall(b".\r\n")
    assert f.readline() == b"552 5.3.4 <alice> Message too big for system\r\n"
    s.sendall(b"QUIT\r\n")
    assert f.readline() == b"221 2.0.0 Bye\r\n"
    s.close()
    assert box.new() == []


class RealPostfix:
    """Debian's Postfix from a temp dir on loopback (never the system
    service): smtpd on a free port, no chroot, stopped by its master's pid."""

    def __init__(self, root, main_extra):
        self.root = root
        self.etc = os.path.join(root, "etc")
        self.spool = os.path.join(root, "spool")
        self.data = os.path.join(root, "data")
        self.log = os.path.join(root, "maillog")
        self.port = free_port()
        for d in (self.etc, self.spool, self.data):
            os.makedirs(d, exist_ok=True)
        os.chmod(root, 0o755)
        import pwd
        pw = pwd.getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        with open("/etc/postfix/master.cf") as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            w = line.split()
            if len(w) >= 8 and not line.startswith((" ", "\t", "#")):
                if w[0] == "smtp" and w[1] == "inet":
                    w[0] = "127.0.0.1:%d" % self.port
                if w[4] == "y":
                    w[4] = "n"    # no chroot: the LMTP socket is outside the spool
                line = "  ".join(w)
            out.append(line)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("compatibility_level = 3.6\nqueue_directory = %s\ndata_directory = %s\n"
                    "mail_owner = postfix\nsetgid_group = postdrop\n"
                    "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
                    "myhostname = mx.test\nmydomain = test\nmydestination =\n"
                    "mynetworks = 127.0.0.0/8\nmaillog_file = %s\nmaillog_file_prefixes = /tmp, /var\n"
                    "smtputf8_enable = no\nbiff = no\nalias_maps =\nalias_database =\n"
                    "relayhost = [127.0.0.1]:9\ndefault_transport = error:no remote mail\n"
                    % (self.spool, self.data, self.log) + main_extra)

    def start(self):
        r = subprocess.run(["/usr/sbin/postfix", "-c", self.etc, "start"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert wait_for(lambda: listening(self.port)), self.logtext()

    def pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def stop(self):
        pid = self.pid()
        if pid > 0:
            try:
                os.kill(pid, signal.SIGTERM)
                if not wait_for(lambda: not os.path.exists("/proc/%d" % pid), 30):
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def test_debian_postfix_hands_mail_over_lmtp_unix(box):
    """virtual_transport = lmtp:unix:$base_dir/lmtp: Debian's Postfix
    delivers over LMTP; alice's Sieve script files one message into a
    folder, rejects another at LMTP time (Postfix logs the 550 and
    bounces), keeps the third."""
    if not os.path.exists("/usr/sbin/postfix"):
        if os.environ.get("CI"):
            pytest.fail("Debian's postfix is not installed")
        pytest.skip("Debian's postfix is not installed")
    if os.getuid() != 0:
        pytest.skip("Debian's Postfix needs root here")
    with open(os.path.join(box.root, "users"), "a") as f:
        f.write("alice@example.org:{PLAIN}secret:%d:%d::%s::\n" % (box.uid, box.gid, box.home))
    box.sieve('require ["fileinto", "reject"];\n'
              'if header :contains "subject" "[list]" { fileinto "Lists"; stop; }\n'
              'if header :contains "subject" "spam" { reject "No spam here, thanks."; }\n')
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(box.maildir, ".Lists", sub))
    box.chown()
    box.start()
    pf = RealPostfix(os.path.join(box.root, "postfix"),
                     "virtual_mailbox_domains = example.org\n"
                     "virtual_transport = lmtp:unix:%s\n" % box.sock)
    try:
        pf.start()
        c = smtplib.SMTP("127.0.0.1", pf.port, timeout=30)
        c.sendmail("sender@example.net", ["alice@example.org"], msg("[list] digest", "p1"))
        c.sendmail("sender@example.net", ["alice@example.org"], msg("hello", "p2"))
        c.sendmail("sender@example.net", ["alice@example.org"], msg("buy spam", "p3"))
        c.quit()
        assert wait_for(lambda: len(box.new("Lists")) == 1 and len(box.new()) == 1 and
                        "status=bounced" in pf.logtext(), 60), pf.logtext() + box.logtext()
        assert b"Subject: [list] digest\n" in box.read(box.new("Lists")[0])
        data = box.read(box.new()[0])
        assert b"Subject: hello\n" in data
        assert b"Delivered-To: alice@example.org\n" in data
        assert b"Return-Path: <sender@example.net>\n" in data
        assert wait_for(lambda: "status=bounced" in pf.logtext(), 60), pf.logtext()
        log = pf.logtext()
        assert re.search(r"to=<alice@example\.org>, relay=[^,]*lmtp[^,]*, .*status=sent "
                         r"\(250 2\.0\.0 <alice@example\.org> [A-Za-z0-9+/]{22} Saved\)", log), log
        assert ("status=bounced (host mx.test[%s] said: 550 5.7.1 <alice@example.org> "
                "No spam here, thanks. (in reply to end of DATA command))" % box.sock) in log, log
        assert len(box.new()) == 1    # nothing of the rejected one was stored
    finally:
        pf.stop()


def test_vacation_and_redirect_leave_through_sendmail_path(bindir, tmp_path):
    """vacation answers once per sender, redirect forwards: both through
    sendmail_path (a capture script here), run as the recipient."""
    b = Box(bindir, tmp_path)
    out = os.path.join(b.root, "outbox")
    os.makedirs(out)
    os.chmod(out, 0o777)
    script = os.path.join(b.root, "fake-sendmail")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nf=$(mktemp %s/msg.XXXXXX)\n{ echo \"ARGS: $*\"; cat; } > \"$f\"\n"
                % out)
    os.chmod(script, 0o755)
    with open(b.conf, "a") as f:
        f.write("sendmail_path = %s\n" % script)
    b.sieve('require ["vacation"];\nvacation :days 1 :subject "Away" '
            ':addresses ["alice@example.org"] "I am away.";\n')
    b.sieve('redirect "carol@example.net";\n', user_home=b.bob_home)
    try:
        b.start()
        c = tcp(b)
        # smtplib reads one reply after DATA: one recipient per transaction
        for i in range(2):
            for rcpt in ("alice", "bob"):
                assert c.sendmail("friend@example.net", [rcpt], msg("hi %d" % i, "v%d" % i)) == {}
        c.quit()
        assert wait_for(lambda: len(os.listdir(out)) == 3), (os.listdir(out), b.logtext()[-3000:])
        mails = [open(os.path.join(out, n), "rb").read() for n in sorted(os.listdir(out))]
        vac = [m for m in mails if b"Subject: Away" in m]
        red = [m for m in mails if b"-- carol@example.net" in m]
        assert len(vac) == 1 and len(red) == 2, mails
        assert b"-f <> -- friend@example.net" in vac[0] or b"-- friend@example.net" in vac[0]
        assert b"I am away." in vac[0]
        assert len(b.new()) == 2            # alice keeps both (vacation keeps)
        assert b.new(home=b.bob_home) == []  # bob's were redirected only
    finally:
        b.cleanup()


def test_listener_modes_extra_socket_and_reload(bindir, tmp_path):
    """unix_listener mode is applied; a second unix_listener (absolute
    path) serves too; doveadm reload keeps the sockets (no connection
    refused meanwhile) and delivery goes on."""
    b = Box(bindir, tmp_path)
    extra = os.path.join(b.root, "extra-lmtp")
    with open(b.conf, "a") as f:
        f.write("service lmtp {\n  unix_listener lmtp {\n    mode = 0600\n  }\n"
                "  unix_listener %s {\n    mode = 0660\n  }\n}\n" % extra)
    try:
        b.start()
        assert wait_for(lambda: os.path.exists(extra))
        assert os.stat(b.sock).st_mode & 0o777 == 0o600
        assert os.stat(extra).st_mode & 0o777 == 0o660
        with smtplib.LMTP(extra, timeout=30) as c:
            assert c.sendmail("s@example.org", ["alice"], msg("extra")) == {}
        r = b.doveadm("reload")
        assert r.returncode == 0, r
        assert wait_for(lambda: "reloading configuration" in b.logtext())
        for path in (b.sock, extra):
            with smtplib.LMTP(path, timeout=30) as c:
                assert c.sendmail("s@example.org", ["alice"], msg("after reload")) == {}
        with tcp(b) as c:
            assert c.sendmail("s@example.org", ["alice"], msg("tcp after reload")) == {}
        assert len(b.new()) == 4
    finally:
        b.cleanup()


def test_data_is_spooled_in_mail_temp_dir(bindir, tmp_path):
    """DATA goes to an unnamed file in mail_temp_dir (disk, as Dovecot
    spools it), not to memory; the delivered message is whole."""
    b = Box(bindir, tmp_path)
    spool = os.path.join(b.root, "spool")
    os.makedirs(spool)
    with open(b.conf, "a") as f:
        f.write("mail_temp_dir = %s\n" % spool)
    try:
        b.start()
        s = socket.create_connection(("127.0.0.1", b.lmtp_port), timeout=30)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"LHLO x\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\nDATA\r\n")
        while f.readline() != b"354 OK\r\n":
            pass
        s.sendall(b"Subject: spooled\r\n\r\n" + b"0123456789" * 10000 + b"\r\n")
        def spooled():
            # the live session process among those that logged a connect
            for pid in re.findall(r"lmtp\((\d+)\): Connect from 127", b.logtext()):
                try:
                    fds = os.listdir("/proc/%s/fd" % pid)
                except OSError:
                    continue
                for fd in fds:
                    try:
                        if os.readlink("/proc/%s/fd/%s" % (pid, fd)).startswith(spool + "/"):
                            return True
                    except OSError:
                        pass
            return False
        assert wait_for(spooled)
        s.sendall(b".\r\n")
        assert f.readline().startswith(b"250 2.0.0 <alice> ")
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
        data = b.read(b.new()[0])
        assert data.endswith(b"Subject: spooled\n\n" + b"0123456789" * 10000 + b"\n")
        assert os.listdir(spool) == []
    finally:
        b.cleanup()


def test_postfix_lmtp_sieve_folder_seen_over_imap(bindir, tmp_path):
    """Issue 8's whole path: Debian's Postfix hands the mail over LMTP,
    the user's Sieve script files it into a folder, and Python's imaplib
    sees it there on yubin's IMAP server."""
    import imaplib
    if not os.path.exists("/usr/sbin/postfix"):
        if os.environ.get("CI"):
            pytest.fail("Debian's postfix is not installed")
        pytest.skip("Debian's postfix is not installed")
    if os.getuid() != 0:
        pytest.skip("Debian's Postfix needs root here")
    imap_port = free_port()
    box = Box(bindir, tmp_path / "b", extra=(
        "protocols = imap pop3 lmtp\n"
        "service imap-login {\n  inet_listener imap {\n    port = %d\n  }\n"
        "  inet_listener imaps {\n    port = 0\n  }\n}\n" % imap_port))
    pf = None
    try:
        with open(os.path.join(box.root, "users"), "a") as f:
            f.write("alice@example.org:{PLAIN}secret:%d:%d::%s::\n"
                    % (box.uid, box.gid, box.home))
        box.sieve('require ["fileinto"];\n'
                  'if header :contains "subject" "[list]" { fileinto "Lists"; stop; }\n')
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(box.maildir, ".Lists", sub))
        box.chown()
        box.start()
        assert wait_for(lambda: listening(imap_port)), box.logtext()
        pf = RealPostfix(os.path.join(box.root, "postfix"),
                         "virtual_mailbox_domains = example.org\n"
                         "virtual_transport = lmtp:unix:%s\n" % box.sock)
        pf.start()
        c = smtplib.SMTP("127.0.0.1", pf.port, timeout=30)
        c.sendmail("sender@example.net", ["alice@example.org"], msg("[list] over imap", "i1"))
        c.quit()
        assert wait_for(lambda: len(box.new("Lists")) == 1, 60), pf.logtext() + box.logtext()
        m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=30)
        m.login("alice@example.org", "secret")
        typ, data = m.select("Lists")
        assert typ == "OK" and data[0] == b"1", data
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK" and b"Subject: [list] over imap" in data[0][1], data
        typ, data = m.select("INBOX")
        assert typ == "OK" and data[0] == b"0", data
        m.logout()
    finally:
        if pf is not None:
            pf.stop()
        box.cleanup()
