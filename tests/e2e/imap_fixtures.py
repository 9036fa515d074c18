"""An IMAP-side instance for the IMAP tests: pop3_fixtures.Retrieval's
instance (passwd-file user alice/secret, Maildir, self-signed
certificate) with `protocols = imap pop3` and an imap-login service on
two free ports (imap with STARTTLS, imaps)."""
import imaplib
import os
import pathlib
import shutil
import signal
import ssl
import subprocess
import tempfile

import pytest

from conftest import free_port
from pop3_fixtures import Retrieval, listening, wait_for


class ImapBox(Retrieval):
    def __init__(self, bindir, root, extra="", user="alice"):
        super().__init__(bindir, root, extra=extra, user=user)
        self.imap = free_port()
        self.imaps = free_port()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace("protocols = pop3\n", "protocols = imap pop3\n")
        text += ("service imap-login {\n  inet_listener imap {\n    port = %d\n  }\n"
                 "  inet_listener imaps {\n    port = %d\n    ssl = yes\n  }\n}\n"
                 % (self.imap, self.imaps))
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        super().start()
        assert wait_for(lambda: listening(self.imap) and listening(self.imaps)), self.logtext()

    def folder(self, name):
        return os.path.join(self.maildir, "." + name)


def tls_ctx():
    """the test certificate is self-signed"""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def login(box, tls="starttls"):
    """alice logged in over STARTTLS (or "imaps", or "plain")"""
    if tls == "imaps":
        m = imaplib.IMAP4_SSL("127.0.0.1", box.imaps, ssl_context=tls_ctx(), timeout=20)
    else:
        m = imaplib.IMAP4("127.0.0.1", box.imap, timeout=20)
        if tls == "starttls":
            m.starttls(ssl_context=tls_ctx())
    m.login("alice", "secret")
    return m


def real_dovecot(box, location="maildir:~/Maildir", extra="", protocol="imap"):
    """Debian's Dovecot serving protocol ("imap" or "pop3") on the box's
    users with this mail_location and extra configuration (loopback, a
    free port, its own base_dir, stopped by its PID); returns (port, stop)."""
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(dovecot) or os.getuid() != 0:
        pytest.skip("needs Debian's dovecot and root")
    real = pathlib.Path(tempfile.mkdtemp(dir=box.root, prefix="real"))
    (real / "run").mkdir(parents=True)
    os.chmod(str(real), 0o755)
    port = free_port()
    conf = real / "dovecot.conf"
    conf.write_text(
        "base_dir = %s/run\nstate_dir = %s\nlog_path = %s/log\nprotocols = %s\n"
        "listen = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\nfirst_valid_uid = 1\n"
        "mail_location = %s\n"
        "passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n}\n"
        "userdb {\n driver = passwd-file\n args = %s/users\n}\n"
        "service %s-login {\n inet_listener %s {\n  port = %d\n }\n"
        " inet_listener %ss {\n  port = 0\n }\n}\n%s"
        % (real, real, real, protocol, location, box.root, box.root, protocol, protocol,
           port, protocol, extra))
    # no pipes: the daemonized master may keep them open
    with open(str(real / "start.log"), "w") as errf:
        r = subprocess.run([dovecot, "-c", str(conf)], stdin=subprocess.DEVNULL,
                           stdout=errf, stderr=errf, timeout=60)
    assert r.returncode == 0, open(str(real / "start.log")).read()

    def stop():
        with open(str(real / "run" / "master.pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20)
    assert wait_for(lambda: listening(port)), open(str(real / "log")).read()
    return port, stop
