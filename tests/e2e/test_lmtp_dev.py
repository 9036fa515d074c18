"""yubin dev (issue 8, item 4): LMTP on N+24 and $DIR/run/lmtp delivers
demo's mail through demo's active Sieve script; SMTP mail for
demo@localhost passes through that script too (local(8) hands the mailbox
to LMTP: mailbox_transport = lmtp:unix:DIR/run/lmtp, the canonical Postfix
+ Dovecot set-up), and a Sieve reject becomes the MTA's bounce with the
LMTP server's 550."""
import os
import pwd
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile

import pytest

from pop3_fixtures import listening
from test_local_dev import port_base, wait_for

SCRIPT = ('require ["fileinto", "reject"];\n'
          'if header :contains "subject" "[list]" { fileinto "Lists"; stop; }\n'
          'if header :contains "subject" "spam" { reject "No spam, please."; }\n')


class Dev:
    def __init__(self, bindir, as_nobody):
        self.as_nobody = as_nobody
        self.root = tempfile.mkdtemp(prefix="yubin-dev-lmtp-")
        os.chmod(self.root, 0o755)
        self.dir = os.path.join(self.root, "dev")
        self.base = port_base()
        self.cmd = [os.path.join(bindir, "yubin"), "dev", self.dir, "--port-base", str(self.base)]
        if as_nobody:
            pw = pwd.getpwnam("nobody")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.cmd = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                        "--clear-groups", "--"] + self.cmd
        self.ids = (pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid) \
            if as_nobody else (os.getuid(), os.getgid())
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        assert wait_for(lambda: os.path.exists(os.path.join(self.dir, "run", "lmtp")) and
                        os.path.exists(os.path.join(self.dir, "run", "auth-master")) and
                        listening(self.base + 25) and listening(self.base + 24), 30), \
            self.maillog()

    def maillog(self):
        try:
            with open(os.path.join(self.dir, "log", "maillog"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def dovecot_log(self):
        try:
            with open(os.path.join(self.dir, "log", "dovecot.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def install_script(self):
        home = os.path.join(self.dir, "home", "demo")
        maildir = os.path.join(self.dir, "mail", "localhost", "demo")
        os.makedirs(os.path.join(home, "sieve"), exist_ok=True)
        with open(os.path.join(home, "sieve", "main.sieve"), "w") as f:
            f.write(SCRIPT)
        os.symlink("sieve/main.sieve", os.path.join(home, ".dovecot.sieve"))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
            os.makedirs(os.path.join(maildir, ".Lists", sub), exist_ok=True)
        for top in (os.path.join(self.dir, "home"), os.path.join(self.dir, "mail")):
            for d, dirs, files in os.walk(top):
                os.chown(d, *self.ids)
                for n in files:
                    os.chown(os.path.join(d, n), *self.ids)
        self.maildir = maildir

    def new(self, folder=""):
        d = os.path.join(self.maildir, "." + folder if folder else "", "new")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def test_dev_lmtp_port_delivers_through_demos_sieve_script(bindir):
    dev = Dev(bindir, as_nobody=False)
    try:
        dev.start()
        dev.install_script()
        with smtplib.LMTP("127.0.0.1", dev.base + 24, timeout=30) as c:
            assert c.sendmail("a@example.org", ["demo"],
                              b"Subject: [list] weekly\r\n\r\nnews\r\n") == {}
            assert c.sendmail("a@example.org", ["demo@localhost"],
                              b"Subject: hello\r\n\r\nhi\r\n") == {}
            with pytest.raises(smtplib.SMTPDataError) as e:
                c.sendmail("a@example.org", ["demo"], b"Subject: spam\r\n\r\nx\r\n")
            assert e.value.smtp_code == 550 and b"No spam, please." in e.value.smtp_error
        with smtplib.LMTP(os.path.join(dev.dir, "run", "lmtp"), timeout=30) as c:
            assert c.sendmail("a@example.org", ["demo"],
                              b"Subject: [list] daily\r\n\r\nnews\r\n") == {}
        assert len(dev.new("Lists")) == 2 and len(dev.new()) == 1, dev.dovecot_log()
        assert re.search(r"lmtp\(demo\)<\d+><[^>]+>: sieve: msgid=unspecified: stored mail "
                         r"into mailbox 'Lists'|lmtp\(demo\).*stored mail into mailbox 'Lists'",
                         dev.dovecot_log()), dev.dovecot_log()
    finally:
        dev.stop()


def test_dev_smtp_mail_for_demo_passes_through_sieve(bindir):
    dev = Dev(bindir, as_nobody=False)
    try:
        dev.start()
        dev.install_script()
        with smtplib.SMTP("127.0.0.1", dev.base + 25, timeout=30) as s:
            s.sendmail("someone@example.org", ["demo@localhost"],
                       b"Subject: [list] via smtp\r\n\r\nnews\r\n")
            s.sendmail("someone@example.org", ["root@localhost"],
                       b"Subject: plain\r\n\r\nhello\r\n")
            s.sendmail("someone@example.org", ["demo@localhost"],
                       b"Subject: spam spam\r\n\r\nbuy\r\n")
        lmtp = re.escape("[%s]" % os.path.join(dev.dir, "run", "lmtp"))
        sent = re.compile(r"yubin/lmtp\[\d+\]: \w+: to=<demo@localhost>, relay=[^,]*%s, "
                          r".*status=sent \(250 2\.0\.0 " % lmtp)
        # the files are in the Maildir before the client logs the 250 it
        # got for them: wait for the log lines as well
        assert wait_for(lambda: len(dev.new("Lists")) == 1 and len(dev.new()) == 1 and
                        "status=bounced" in dev.maillog() and
                        sent.search(dev.maillog()) is not None, 60), dev.maillog()
        log = dev.maillog()
        assert re.search(r"to=<demo@localhost>, relay=[^,]*%s, .*dsn=5\.7\.1, "
                         r"status=bounced \(host .* said: 550 5\.7\.1 .*No spam, please\." % lmtp,
                         log), log
        with open(os.path.join(dev.maildir, ".Lists", "new", dev.new("Lists")[0]), "rb") as f:
            assert b"Subject: [list] via smtp\n" in f.read()
    finally:
        dev.stop()
