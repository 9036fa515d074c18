"""Debian's real Postfix as a peer on loopback: its own config directory,
queue and mailboxes in a temporary directory, never the system's service;
started with `postfix -c DIR start`, stopped with `postfix -c DIR stop`
and then killed by the master's PID. Mail for realpf.test goes to Maildirs
under DIR/vmail (virtual(8) as the postfix user); anything else goes to
the given relay (`[127.0.0.1]:port`)."""
import os
import pwd
import signal
import subprocess
import time

SERVICES = """\
{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


class RealPostfix:
    def __init__(self, port, relay):
        import tempfile
        # its own directory, traversable by the postfix user (pytest's
        # tmp_path is root's alone); removed by stop()
        self.root = tempfile.mkdtemp(prefix="yubin-realpf-")
        os.chmod(self.root, 0o755)
        self.port = port
        self.etc = os.path.join(self.root, "etc")
        self.spool = os.path.join(self.root, "spool")
        self.vmail = os.path.join(self.root, "vmail")
        self.log = os.path.join(self.root, "maillog")
        pw = pwd.getpwnam("postfix")
        for d in (self.etc, self.spool, self.vmail, os.path.join(self.root, "data")):
            os.makedirs(d, exist_ok=True)
        os.chown(self.vmail, pw.pw_uid, pw.pw_gid)
        os.chown(os.path.join(self.root, "data"), pw.pw_uid, pw.pw_gid)
        with open(os.path.join(self.etc, "vmaps"), "w") as f:
            f.write("user@realpf.test user/\n")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("""compatibility_level = 3.6
queue_directory = {spool}
data_directory = {root}/data
maillog_file = {log}
maillog_file_prefixes = {root}
myhostname = realpf.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
smtpd_banner = $myhostname ESMTP Postfix (Debian)
virtual_mailbox_domains = realpf.test
virtual_mailbox_base = {vmail}
virtual_mailbox_maps = texthash:{etc}/vmaps
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
default_transport = smtp:{relay}
relay_transport = smtp:{relay}
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
""".format(spool=self.spool, root=self.root, log=self.log, vmail=self.vmail, etc=self.etc,
           uid=pw.pw_uid, gid=pw.pw_gid, relay=relay))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(SERVICES.format(port="127.0.0.1:%d" % port))

    def postfix(self, *args):
        return subprocess.run(["/usr/sbin/postfix", "-c", self.etc] + list(args),
                              capture_output=True, text=True, timeout=60)

    def start(self):
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start: %s %s" % (r.stdout, r.stderr))
        end = time.time() + 30
        import socket
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("postfix did not listen: " + self.maillog())

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        import shutil
        try:
            self._stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _stop(self):
        pid = self.master_pid()
        self.postfix("stop")
        if pid:
            end = time.time() + 10
            while time.time() < end:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def maillog(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def mailbox_files(self):
        out = []
        for d in ("new", "cur"):
            p = os.path.join(self.vmail, "user", d)
            if os.path.isdir(p):
                out += [os.path.join(p, n) for n in os.listdir(p)]
        return out
