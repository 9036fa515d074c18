"""A retrieval-side instance for the POP3, dovecot master and doveadm
tests: dovecot.conf with a passwd-file of one user (alice, password
"secret"), Maildir mail owned by the user, a self-signed certificate,
started with `yubin dovecot -c FILE` and stopped by the master's own pid."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from conftest import free_port


def wait_for(pred, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def mail_owner():
    """The uid/gid that owns the test mail: nobody as root (as CI runs),
    else ourselves."""
    if os.getuid() == 0:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    return os.getuid(), os.getgid()


class Retrieval:
    def __init__(self, bindir, root, extra="", user="alice"):
        self.bindir = bindir
        # the mail processes run as the mail's owner (nobody under root),
        # who must reach the Maildir: pytest's own tmp is root-only
        self.root = tempfile.mkdtemp(prefix="yubin-pop3-") if os.getuid() == 0 else str(root)
        self.tmp = self.root != str(root)
        self.conf = os.path.join(self.root, "dovecot.conf")
        self.base = os.path.join(self.root, "run")
        self.log = os.path.join(self.root, "dovecot.log")
        self.home = os.path.join(self.root, "home", user)
        self.maildir = os.path.join(self.home, "Maildir")
        self.pop3 = free_port()
        self.pop3s = free_port()
        self.uid, self.gid = mail_owner()
        os.makedirs(self.base, exist_ok=True)
        os.chmod(self.root, 0o755)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        tls = os.path.join(self.root, "tls")
        os.makedirs(tls, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                        tls + "/key.pem", "-out", tls + "/cert.pem", "-days", "2",
                        "-subj", "/CN=localhost"], check=True, capture_output=True)
        with open(os.path.join(self.root, "users"), "w") as f:
            f.write("%s:{PLAIN}secret:%d:%d::%s::\n" % (user, self.uid, self.gid, self.home))
        with open(self.conf, "w") as f:
            f.write("base_dir = %s\nlog_path = %s\nprotocols = pop3\nlisten = 127.0.0.1\n"
                    "ssl = yes\nssl_cert = <%s/cert.pem\nssl_key = <%s/key.pem\n"
                    "disable_plaintext_auth = yes\nfirst_valid_uid = %d\n"
                    "mail_location = maildir:~/Maildir\nauth_mechanisms = plain login\n"
                    "default_login_user = nobody\n"
                    "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s/users\n}\n"
                    "userdb {\n  driver = passwd-file\n  args = %s/users\n}\n"
                    "service pop3-login {\n  inet_listener pop3 {\n    port = %d\n  }\n"
                    "  inet_listener pop3s {\n    port = %d\n    ssl = yes\n  }\n}\n"
                    % (self.base, self.log, tls, tls, min(self.uid, 500), self.root,
                       self.root, self.pop3, self.pop3s))
            f.write(extra)
        self.chown()

    def chown(self):
        for d, dirs, files in os.walk(os.path.join(self.root, "home")):
            os.chown(d, self.uid, self.gid)
            for n in files:
                os.chown(os.path.join(d, n), self.uid, self.gid)

    def put(self, name, content, sub="new"):
        path = os.path.join(self.maildir, sub, name)
        with open(path, "wb") as f:
            f.write(content)
        os.chown(path, self.uid, self.gid)
        return path

    def yubin(self, *args, timeout=60):
        return subprocess.run([os.path.join(self.bindir, "yubin")] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def doveadm(self, *args):
        return self.yubin("doveadm", "-c", self.conf, *args)

    def start(self):
        r = self.yubin("dovecot", "-c", self.conf)
        # the master's own words are in its log ("see the log")
        assert r.returncode == 0, (r, self.logtext()[-3000:])
        assert wait_for(lambda: listening(self.pop3) and listening(self.pop3s) and
                        os.path.exists(os.path.join(self.base, "auth-client"))), self.logtext()

    def master_pid(self):
        try:
            with open(os.path.join(self.base, "master.pid")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def stop(self):
        pid = self.master_pid()
        if pid > 0:
            try:
                os.kill(pid, signal.SIGTERM)
                if not wait_for(lambda: not os.path.exists("/proc/%d" % pid), 40):
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self):
        self.stop()
        if self.tmp:
            shutil.rmtree(self.root, ignore_errors=True)

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""
