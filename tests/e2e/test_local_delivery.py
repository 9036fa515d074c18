"""Local delivery end to end (issue 4): a running instance (master, smtpd,
qmgr) takes mail over SMTP for real system users (made with useradd here,
removed afterwards) and local(8) puts it into an mbox and a Maildir that
Debian's mutt and Dovecot read; aliases of every kind after postalias,
.forward, procmail as mailbox_command, unsafe recipients, a locked mbox.
Needs root (useradd, setuid children); skipped otherwise."""
import grp
import os
import pwd
import pty
import re
import select
import shutil
import signal
import smtplib
import socket
import sys
import subprocess
import tempfile
import time
import uuid

import pytest

import conftest
from conftest import free_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for useradd")


def wait_for(pred, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def instance_pids(etc):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if etc.encode() in argv:
            pids.append(int(d))
    return pids


class Lab:
    def __init__(self, base, run):
        self.base = base
        self.run = run
        self.users = []
        self.etc = os.path.join(base, "etc")
        self.spool = os.path.join(base, "spool")
        self.mail = os.path.join(base, "mail")
        self.log = os.path.join(base, "maillog")
        self.port = free_port()
        os.makedirs(self.etc)
        os.makedirs(self.mail)
        os.chmod(self.mail, 0o1777)   # like a /var/mail that users may lock in
        self.env = {"MAIL_CONFIG": self.etc}
        self.master_pid = None

    def useradd(self):
        name = "yb%s" % uuid.uuid4().hex[:8]
        home = os.path.join(self.base, "home", name)
        os.makedirs(os.path.dirname(home), exist_ok=True)
        conftest.account_tool("useradd", "-m", "-d", home, "-s", "/bin/sh", "-U", name, check=True)
        self.users.append(name)
        return pwd.getpwnam(name)

    def configure(self, extra="", owner="root"):
        self.owner = owner
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(
                "compatibility_level = 3.6\nmyhostname = mx.local.test\n"
                "mydomain = local.test\nmyorigin = local.test\n"
                "mydestination = local.test, localhost\nmynetworks = 127.0.0.0/8\n"
                "queue_directory = %(spool)s\ndata_directory = %(spool)s/data\n"
                "maillog_file = %(log)s\nmail_owner = %(owner)s\nsetgid_group = %(owner)s\n"
                "default_transport = discard:remote\n"
                "alias_maps = hash:%(etc)s/aliases\nalias_database = hash:%(etc)s/aliases\n"
                "mail_spool_directory = %(mail)s\nrecipient_delimiter = +\n"
                "default_privs = nobody\n"
                "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n"
                % vars(self) + extra)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("127.0.0.1:%d inet n - n - - smtpd\n"
                    "qmgr      unix  n       -       n       300     1       qmgr\n"
                    "pickup    unix  n       -       n       60      1       pickup\n"
                    "local     unix  -       n       n       -       -       local\n"
                    "virtual   unix  -       n       n       -       -       virtual\n"
                    "discard   unix  -       -       n       -       -       discard\n"
                    "error     unix  -       -       n       -       -       error\n"
                    "lmtp      unix  -       -       n       -       -       lmtp\n"
                    % self.port)
        if not os.path.exists(os.path.join(self.etc, "aliases")):
            self.aliases("")

    def aliases(self, text):
        path = os.path.join(self.etc, "aliases")
        with open(path, "w") as f:
            f.write(text)
        r = self.run("postalias", "-c", self.etc, path, env=self.env)
        assert r.rc == 0, r

    def start(self):
        r = self.run("postfix", "-c", self.etc, "start", timeout=60)
        assert r.rc == 0, r

    def maillog(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def send(self, rcpts, body="hello from the test\n", subject="t", sender="alice@remote.test"):
        msg = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n\r\n%s"
               % (sender, ", ".join(rcpts), subject, uuid.uuid4().hex,
                  body.replace("\n", "\r\n")))
        with smtplib.SMTP("127.0.0.1", self.port, timeout=20) as s:
            s.ehlo("client.test")
            refused = s.sendmail(sender, rcpts, msg.encode())
        return refused

    def enqueue(self, sender, *rcpts, body="Subject: q\n\nbody\n"):
        r = self.run("yubin", "qtool", "enqueue", "-f", sender, *rcpts, env=self.env,
                     stdin=body)
        assert r.rc == 0, r
        return r.out.strip()

    def delivered(self, pattern, timeout=20):
        return wait_for(lambda: re.search(pattern, self.maillog()), timeout)

    def close(self):
        for pid in instance_pids(self.etc):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for u in self.users:
            conftest.account_tool("userdel", "-r", u)
            try:
                grp.getgrnam(u)
                conftest.account_tool("groupdel", u)
            except KeyError:
                pass


@pytest.fixture
def lab(run):
    base = tempfile.mkdtemp(prefix="yubin-local-", dir="/tmp")
    os.chmod(base, 0o755)
    lb = Lab(base, run)
    yield lb
    lb.close()
    shutil.rmtree(base, ignore_errors=True)


def read_mbox_with_mutt(box, home):
    """mutt in batch mode: on a pty of our own, pipe the first message to
    cat and quit (mutt has no non-interactive way to print a message)."""
    tmp = tempfile.mkdtemp(dir="/tmp")
    os.mkdir(os.path.join(tmp, "Mail"))    # or mutt asks to create it
    out = os.path.join(tmp, "out")
    args = ["mutt", "-n", "-F", "/dev/null", "-R", "-f", box, "-e", "set wait_key=no",
            "-e", "push \"<pipe-message>cat > %s<enter><quit>\"" % out]
    pid, fd = pty.fork()
    if pid == 0:
        os.execve("/usr/bin/mutt", args, {"TERM": "xterm", "HOME": tmp,
                                          "PATH": "/usr/bin:/bin"})
    end = time.time() + 30
    done = False
    screen = b""
    while time.time() < end and not done:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                screen += os.read(fd, 4096)
            except OSError:
                pass
        done = os.waitpid(pid, os.WNOHANG)[0] == pid
    if not done:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)
    try:
        with open(out) as f:
            return f.read()
    except FileNotFoundError:
        return "mutt printed nothing; its screen: %r" % screen[-2000:]


def read_with_dovecot(tmp, user, location):
    """Debian's Dovecot imap binary, pre-authenticated as the user (no
    daemon, no auth service), on a private dovecot.conf whose
    mail_location points at the box yubin wrote."""
    conf = os.path.join(tmp, "dovecot-%s.conf" % user.pw_name)
    with open(conf, "w") as f:
        f.write("mail_location = %s\nssl = no\nbase_dir = %s/run\n"
                "log_path = /dev/stderr\n" % (location, tmp))
    os.chmod(conf, 0o644)
    r = subprocess.run(["runuser", "-u", user.pw_name, "--", "env", "-i",
                        "USER=" + user.pw_name, "HOME=" + user.pw_dir,
                        "/usr/lib/dovecot/imap", "-c", conf],
                       input=b"a SELECT INBOX\r\nb FETCH 1 BODY.PEEK[]\r\nc LOGOUT\r\n",
                       capture_output=True, timeout=30)
    return (r.stdout + r.stderr).decode(errors="replace")


def test_mbox_delivery_read_by_mutt_and_dovecot(lab):
    u = lab.useradd()
    lab.configure()
    lab.start()
    body = "first line\nFrom the start of a line\n>From quoted\nlast\n"
    assert lab.send(["%s@local.test" % u.pw_name], body=body, subject="mbox test") == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, delay=[\d.]+, "
                         r"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
                         r"status=sent \(delivered to mailbox\)" % u.pw_name), lab.maillog()
    box = os.path.join(lab.mail, u.pw_name)
    st = os.stat(box)
    assert st.st_uid == u.pw_uid and (st.st_mode & 0o777) == 0o600
    text = open(box).read()
    assert re.match(r"From alice@remote\.test  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n"
                    r"Return-Path: <alice@remote\.test>\n"
                    r"X-Original-To: %s@local\.test\nDelivered-To: %s@local\.test\n"
                    % (u.pw_name, u.pw_name), text), text
    assert "\n>From the start of a line\n>>From quoted\n" in text
    assert text.endswith("last\n\n") and "\r" not in text
    m = read_mbox_with_mutt(box, u.pw_dir)
    assert "Subject: mbox test" in m and "From the start of a line" in m, m
    d = read_with_dovecot(lab.base, u, "mbox:~/mail:INBOX=%s" % box)
    assert "Subject: mbox test" in d and "\n>From the start of a line" in d, d


def test_maildir_delivery_read_by_mutt_and_dovecot(lab):
    u = lab.useradd()
    lab.configure("home_mailbox = Maildir/\n")
    lab.start()
    assert lab.send(["%s@local.test" % u.pw_name], subject="maildir test") == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                         r"\(delivered to maildir\)" % u.pw_name), lab.maillog()
    md = os.path.join(u.pw_dir, "Maildir")
    for sub in ("cur", "new", "tmp"):
        st = os.stat(os.path.join(md, sub))
        assert st.st_uid == u.pw_uid and (st.st_mode & 0o777) == 0o700
    names = os.listdir(os.path.join(md, "new"))
    assert len(names) == 1 and os.listdir(os.path.join(md, "tmp")) == []
    name = names[0]
    size = os.path.getsize(os.path.join(md, "new", name))
    assert re.match(r"\d+\.M\d+P\d+Q\d+\.[^,/]+,S=%d$" % size, name), name
    text = open(os.path.join(md, "new", name)).read()
    assert text.startswith("Return-Path: <alice@remote.test>\n") and "\nFrom " not in text[:5]
    m = read_mbox_with_mutt(md, u.pw_dir)
    assert "Subject: maildir test" in m, m
    d = read_with_dovecot(lab.base, u, "maildir:~/Maildir")
    assert "Subject: maildir test" in d, d


def test_aliases_every_kind_after_postalias(lab):
    u = lab.useradd()
    v = lab.useradd()
    out = os.path.join(lab.base, "alias-file")
    cmd_out = os.path.join(lab.base, "cmd-out")
    inc = os.path.join(lab.base, "list.inc")
    # default_privs (nobody) writes the file and runs the command of a
    # root-owned alias database
    nobody = pwd.getpwnam("nobody")
    for p in (out, cmd_out):
        open(p, "w").close()
        os.chown(p, nobody.pw_uid, nobody.pw_gid)
    with open(inc, "w") as f:
        f.write("# a list\n%s\nfriend@remote.test\n" % v.pw_name)
    lab.configure()
    lab.aliases(
        "team: %s, someone@elsewhere.test\n"
        "tofile: %s\n"
        "tocmd: \"|cat >> %s; echo RECIPIENT=$RECIPIENT SENDER=$SENDER >> %s\"\n"
        "list: :include:%s\n"
        "owner-list: %s\n"
        "self: self, %s\n" % (u.pw_name, out, cmd_out, cmd_out, inc, u.pw_name,
                              u.pw_name))
    lab.start()
    for rc in ("team", "tofile", "tocmd", "list"):
        assert lab.send(["%s@local.test" % rc], subject="to %s" % rc) == {}
    assert lab.delivered(r"to=<%s@local.test>, orig_to=<team@local.test>, relay=local, "
                         r".*status=sent \(delivered to mailbox\)" % u.pw_name), lab.maillog()
    assert lab.delivered(r"to=<someone@elsewhere.test>, orig_to=<team@local.test>, "
                         r"relay=local, .*status=sent \(forwarded as [0-9A-Za-z]+\)")
    assert lab.delivered(r"to=<someone@elsewhere.test>, relay=none, .*status=sent \(remote\)")
    assert lab.delivered(r"to=<tofile@local.test>, relay=local, .*status=sent "
                         r"\(delivered to file: %s\)" % re.escape(out))
    assert lab.delivered(r"to=<tocmd@local.test>, relay=local, .*status=sent "
                         r"\(delivered to command: cat >> ")
    assert lab.delivered(r"to=<%s@local.test>, orig_to=<list@local.test>, .*"
                         r"\(delivered to mailbox\)" % v.pw_name)
    assert lab.delivered(r"to=<friend@remote.test>, orig_to=<list@local.test>, .*"
                         r"\(forwarded as ")
    assert "Subject: to tofile" in open(out).read()
    c = open(cmd_out).read()
    assert "Subject: to tocmd" in c and "RECIPIENT=tocmd@local.test SENDER=alice@remote.test" in c
    # the list's forwarded copy goes out from its owner
    assert lab.delivered(r"from=<owner-list@local.test>")
    # "self: self, user" delivers to the system user... there is none, so
    # it bounces as an unknown user, while the other target gets it
    assert lab.send(["self@local.test"], subject="self") == {}
    assert lab.delivered(r"to=<self@local.test>, relay=local, .*dsn=5\.1\.1, "
                         r"status=bounced \(unknown user: \"self\"\)"), lab.maillog()
    assert lab.delivered(r"to=<%s@local.test>, orig_to=<self@local.test>, .*"
                         r"\(delivered to mailbox\)" % u.pw_name)


def test_forward_file_and_backslash_copy(lab):
    u = lab.useradd()
    fwd = os.path.join(u.pw_dir, ".forward")
    with open(fwd, "w") as f:
        f.write("\\%s, elsewhere@remote.test\n" % u.pw_name)
    os.chown(fwd, u.pw_uid, u.pw_gid)
    lab.configure()
    lab.start()
    assert lab.send(["%s@local.test" % u.pw_name], subject="fwd") == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*\(delivered to mailbox\)"
                         % u.pw_name), lab.maillog()
    assert lab.delivered(r"to=<elsewhere@remote.test>, orig_to=<%s@local.test>, relay=local,"
                         r" .*\(forwarded as " % u.pw_name)
    assert "Subject: fwd" in open(os.path.join(lab.mail, u.pw_name)).read()


def test_group_writable_forward_is_ignored(lab):
    u = lab.useradd()
    fwd = os.path.join(u.pw_dir, ".forward")
    with open(fwd, "w") as f:
        f.write("elsewhere@remote.test\n")
    os.chown(fwd, u.pw_uid, u.pw_gid)
    os.chmod(fwd, 0o664)
    lab.configure()
    lab.start()
    assert lab.send(["%s@local.test" % u.pw_name]) == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*\(delivered to mailbox\)"
                         % u.pw_name), lab.maillog()
    assert "forwarded as" not in lab.maillog()


def test_procmail_as_mailbox_command(lab):
    u = lab.useradd()
    rc = os.path.join(u.pw_dir, ".procmailrc")
    with open(rc, "w") as f:
        f.write("MAILDIR=$HOME/pm\nLOGFILE=$HOME/pm.log\n:0\n* ^Subject: .*sorted\nsorted/\n")
    os.chown(rc, u.pw_uid, u.pw_gid)
    os.chmod(rc, 0o644)
    os.mkdir(os.path.join(u.pw_dir, "pm"))
    os.chown(os.path.join(u.pw_dir, "pm"), u.pw_uid, u.pw_gid)
    lab.configure("mailbox_command = /usr/bin/procmail -a \"$EXTENSION\"\n")
    lab.start()
    assert lab.send(["%s+tag@local.test" % u.pw_name], subject="to be sorted") == {}
    assert lab.delivered(r"to=<%s\+tag@local.test>, relay=local, .*status=sent "
                         r"\(delivered to command: /usr/bin/procmail -a \"\$EXTENSION\"\)"
                         % u.pw_name), lab.maillog()
    new = os.path.join(u.pw_dir, "pm", "sorted", "new")
    assert wait_for(lambda: os.path.isdir(new) and os.listdir(new))
    f = os.path.join(new, os.listdir(new)[0])
    assert os.stat(f).st_uid == u.pw_uid
    assert "Subject: to be sorted" in open(f).read()


def test_unsafe_recipients_bounce_as_unknown_users(lab):
    lab.configure()
    lab.start()
    qid = lab.enqueue("alice@remote.test", "|rm -rf /@localhost", "../../etc/passwd@localhost",
                      "a/b@localhost")
    assert lab.delivered(r"%s: removed" % qid), lab.maillog()
    log = lab.maillog()
    assert re.search(r"to=<\|rm -rf /@localhost>, relay=local, .*dsn=5\.1\.1, "
                     r"status=bounced \(unknown user: \"\|rm -rf /\"\)", log), log
    assert re.search(r"to=<\.\./\.\./etc/passwd@localhost>, .*status=bounced \(unknown user",
                     log)
    assert re.search(r"to=<a/b@localhost>, .*status=bounced \(unknown user", log)


def test_senders_mbox_fields_are_dropped_at_delivery(lab):
    """Status, X-Status, X-Keywords, X-UID, X-IMAPbase, X-IMAP and
    Content-Length belong to the mbox, not to the sender: a message that
    brings them would arrive read, deleted, with forged keywords or UIDs
    (X-IMAPbase 4294967295 would use the UIDs up). They are dropped from the
    header, as Dovecot's LDA does; the same words in the body stay."""
    u = lab.useradd()
    lab.configure()
    lab.start()
    forged = ("Status: RO\r\nX-Status: DF\r\nX-Keywords: $Forged\r\nX-UID: 7\r\n"
              "X-IMAPbase: 1 4294967295\r\n  $Folded\r\nX-IMAP: 1 2\r\nContent-Length: 3\r\n")
    msg = ("From: alice@remote.test\r\n%sTo: %s@local.test\r\nSubject: forged\r\n"
           "\r\nStatus: RO in the body\r\nX-UID: 9 in the body\r\n" % (forged, u.pw_name))
    with smtplib.SMTP("127.0.0.1", lab.port, timeout=20) as c:
        c.sendmail("alice@remote.test", ["%s@local.test" % u.pw_name], msg.encode())
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent" % u.pw_name), \
        lab.maillog()
    text = open(os.path.join(lab.mail, u.pw_name)).read()
    head, _, body = text.partition("\n\n")
    for name in ("Status:", "X-Status:", "X-Keywords:", "X-UID:", "X-IMAPbase:", "X-IMAP:",
                 "Content-Length:", "$Folded"):
        assert name not in head, head
    assert head.endswith("\nSubject: forged") and "\nTo: %s@local.test" % u.pw_name in head
    assert body.startswith("Status: RO in the body\nX-UID: 9 in the body\n"), body


def test_locked_mbox_defers_then_delivers(lab):
    u = lab.useradd()
    # local waits for a held lock up to deliver_lock_attempts x 1s first
    lab.configure("deliver_lock_attempts = 1\n")
    box = os.path.join(lab.mail, u.pw_name)
    lock = box + ".lock"
    open(lock, "w").close()
    lab.start()
    assert lab.send(["%s@local.test" % u.pw_name], subject="locked") == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*dsn=4\.2\.0, "
                         r"status=deferred \(cannot update mailbox %s for user %s\. "
                         r"unable to lock for exclusive access" % (u.pw_name, re.escape(box),
                                                                  u.pw_name)), lab.maillog()
    assert not os.path.exists(box) or "Subject: locked" not in open(box).read()
    os.unlink(lock)
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                         r"\(delivered to mailbox\)" % u.pw_name, timeout=30), lab.maillog()
    assert "Subject: locked" in open(box).read()


def test_command_exit_codes(lab):
    lab.configure()
    lab.aliases("temp: \"|exit 75\"\nperm: \"|echo no such thing; exit 67\"\n")
    lab.start()
    assert lab.send(["temp@local.test", "perm@local.test"]) == {}
    assert lab.delivered(r"to=<temp@local.test>, relay=local, .*dsn=4\.3\.0, "
                         r"status=deferred \(temporary failure\. Command died with status 75: "
                         r"\"exit 75\"\)"), lab.maillog()
    assert lab.delivered(r"to=<perm@local.test>, relay=local, .*dsn=5\.1\.1, "
                         r"status=bounced \(user unknown\. Command died with status 67: "
                         r"\"echo no such thing; exit 67\"\. Command output: no such thing\)")


def test_unknown_local_and_virtual_users_are_refused_at_rcpt(lab):
    u = lab.useradd()
    vbase = os.path.join(lab.base, "vmail")
    os.makedirs(vbase)
    os.chown(vbase, u.pw_uid, u.pw_gid)
    lab.configure("local_recipient_maps = unix:passwd.byname $alias_maps\n"
                  "virtual_mailbox_domains = virt.test\nvirtual_mailbox_base = %s\n"
                  "virtual_mailbox_maps = inline:{ known@virt.test=virt.test/known/ }\n"
                  "virtual_uid_maps = static:%d\nvirtual_gid_maps = static:%d\n"
                  "virtual_minimum_uid = 100\n" % (vbase, u.pw_uid, u.pw_gid))
    lab.aliases("listed: %s\n" % u.pw_name)
    lab.start()
    with smtplib.SMTP("127.0.0.1", lab.port, timeout=20) as s:
        s.ehlo("client.test")
        assert s.mail("alice@remote.test")[0] == 250
        assert s.rcpt("nosuch@local.test") == (
            550, b"5.1.1 <nosuch@local.test>: Recipient address rejected: "
                 b"User unknown in local recipient table")
        assert s.rcpt("nosuch@virt.test") == (
            550, b"5.1.1 <nosuch@virt.test>: Recipient address rejected: "
                 b"User unknown in virtual mailbox table")
        assert s.rcpt("%s+ext@local.test" % u.pw_name)[0] == 250
        assert s.rcpt("listed@local.test")[0] == 250
        assert s.rcpt("known@virt.test")[0] == 250
        s.data(b"Subject: virtual\r\n\r\nbody\r\n")
    assert lab.delivered(r"to=<known@virt.test>, relay=virtual, .*dsn=2\.0\.0, "
                         r"status=sent \(delivered to maildir\)"), lab.maillog()
    new = os.path.join(vbase, "virt.test", "known", "new")
    names = os.listdir(new)
    assert len(names) == 1
    st = os.stat(os.path.join(new, names[0]))
    assert st.st_uid == u.pw_uid
    text = open(os.path.join(new, names[0])).read()
    assert "Delivered-To: known@virt.test\n" in text and "Subject: virtual" in text
    assert re.search(r"NOQUEUE: reject: RCPT from .*: 550 5\.1\.1 <nosuch@local\.test>: "
                     r"Recipient address rejected: User unknown in local recipient table;",
                     lab.maillog())


def test_unprivileged_queue_manager_delivers_through_its_root_helper(lab):
    """mail_owner = postfix: the queue manager runs as postfix, and the
    helper it forked before dropping privileges does the deliveries, each
    in a child that became the recipient; forwarded copies are written
    into the queue as postfix."""
    u = lab.useradd()
    lab.configure("home_mailbox = Maildir/\n", owner="postfix")
    lab.aliases("fan: %s, far@remote.test\n" % u.pw_name)
    lab.start()
    assert lab.send(["%s@local.test" % u.pw_name, "fan@local.test"], subject="unpriv") == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                         r"\(delivered to maildir\)" % u.pw_name), lab.maillog()
    assert lab.delivered(r"to=<far@remote.test>, orig_to=<fan@local.test>, .*"
                         r"\(forwarded as ([0-9A-Za-z]+)\)")
    assert lab.delivered(r"to=<far@remote.test>, relay=none, .*status=sent \(remote\)")
    new = os.path.join(u.pw_dir, "Maildir", "new")
    assert len(os.listdir(new)) == 2
    for n in os.listdir(new):
        assert os.stat(os.path.join(new, n)).st_uid == u.pw_uid
    qmgr = [p for p in instance_pids(lab.etc)
            if open("/proc/%d/cmdline" % p, "rb").read().startswith(b"qmgr\0")]
    # the queue manager itself as postfix; its children: the pool of
    # delivery helpers as root, and the smtp/lmtp client (master.cf has an
    # lmtp service) as postfix
    def ppid(p):
        with open("/proc/%d/stat" % p) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    main = [p for p in qmgr if ppid(p) not in qmgr]
    assert len(main) == 1
    postfix_uid = pwd.getpwnam("postfix").pw_uid
    assert os.stat("/proc/%d" % main[0]).st_uid == postfix_uid
    kids = [p for p in qmgr if p != main[0]]
    helpers = [p for p in kids if os.stat("/proc/%d" % p).st_uid == 0]
    others = [p for p in kids if os.stat("/proc/%d" % p).st_uid != 0]
    assert len(helpers) >= 1 and len(others) <= 1
    assert all(os.stat("/proc/%d" % p).st_uid == postfix_uid for p in others)


def test_a_slow_delivery_does_not_hold_up_another_recipient(lab):
    """Deliveries run concurrently: while a command delivery for one
    recipient waits (until the test releases it), mail for another user
    is delivered. One delivery at a time would never deliver the second
    message before the release, and the wait below would fail."""
    release = os.path.join(lab.base, "release")
    started = os.path.join(lab.base, "started")
    lab.configure("command_time_limit = 120s\n", owner="postfix")
    lab.aliases("slow: \"|touch %s; until test -e %s; do sleep 0.1; done\"\n"
                % (started, release))
    os.chmod(lab.base, 0o777)   # the command runs as default_privs
    u = lab.useradd()
    lab.start()
    assert lab.send(["slow@local.test"], subject="slow") == {}
    assert wait_for(lambda: os.path.exists(started)), lab.maillog()
    assert lab.send(["%s@local.test" % u.pw_name], subject="fast") == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                         r"\(delivered to mailbox\)" % u.pw_name), lab.maillog()
    assert "to=<slow@local.test>" not in lab.maillog()
    open(release, "w").close()
    assert lab.delivered(r"to=<slow@local.test>, relay=local, .*status=sent "
                         r"\(delivered to command: "), lab.maillog()


def test_local_destination_concurrency_limit_holds_the_third_delivery(lab):
    """Three messages for one recipient whose command waits for a release:
    local_destination_concurrency_limit (2) lets two run, the third waits
    for a free place, and all three are delivered once released."""
    release = os.path.join(lab.base, "release")
    started = os.path.join(lab.base, "started")
    os.makedirs(started)
    lab.configure("command_time_limit = 120s\n", owner="postfix")
    lab.aliases("slow: \"|touch %s/$$; until test -e %s; do sleep 0.1; done\"\n"
                % (started, release))
    os.chmod(lab.base, 0o777)   # the command runs as default_privs
    os.chmod(started, 0o777)
    lab.start()
    for n in range(3):
        assert lab.send(["slow@local.test"], subject="slow %d" % n) == {}
    assert wait_for(lambda: len(os.listdir(started)) >= 2), lab.maillog()
    time.sleep(2)   # room for a third to start, were the limit not kept
    assert len(os.listdir(started)) == 2
    open(release, "w").close()
    assert wait_for(lambda: len(re.findall(r"to=<slow@local.test>, relay=local, .*status=sent",
                                           lab.maillog())) == 3), lab.maillog()
    assert len(os.listdir(started)) == 3


def test_command_time_limit_defers_and_kills_the_command(lab):
    marker = os.path.join(lab.base, "still-running")
    lab.configure("command_time_limit = 1s\n")
    lab.aliases("slow: \"|sleep 5; touch %s\"\n" % marker)
    lab.start()
    assert lab.send(["slow@local.test"]) == {}
    assert lab.delivered(r"to=<slow@local.test>, relay=local, .*dsn=4\.3\.0, "
                         r"status=deferred \(Command time limit exceeded: \"sleep 5; touch "),\
        lab.maillog()
    time.sleep(5)
    assert not os.path.exists(marker)   # its process group was killed


def test_aliases_every_kind_after_newaliases(lab):
    """The sendmail-compatible newaliases (not postalias) builds
    alias_database; the four target kinds then work from the indexed form."""
    u = lab.useradd()
    out = os.path.join(lab.base, "nl-file")
    cmd_out = os.path.join(lab.base, "nl-cmd")
    inc = os.path.join(lab.base, "nl.inc")
    nobody = pwd.getpwnam("nobody")
    for p in (out, cmd_out):
        open(p, "w").close()
        os.chown(p, nobody.pw_uid, nobody.pw_gid)
    with open(inc, "w") as f:
        f.write("%s\n" % u.pw_name)
    lab.configure()
    with open(os.path.join(lab.etc, "aliases"), "w") as f:
        f.write("touser: %s\ntofile: %s\ntocmd: \"|cat >> %s\"\nlist: :include:%s\n"
                % (u.pw_name, out, cmd_out, inc))
    db = os.path.join(lab.etc, "aliases.db")
    if os.path.exists(db):
        os.unlink(db)
    r = lab.run("newaliases", env=lab.env)
    assert r.rc == 0, r
    assert os.path.exists(db)
    lab.start()
    for rc in ("touser", "tofile", "tocmd", "list"):
        assert lab.send(["%s@local.test" % rc], subject="nl %s" % rc) == {}
    assert lab.delivered(r"to=<%s@local.test>, orig_to=<touser@local.test>, .*"
                         r"\(delivered to mailbox\)" % u.pw_name), lab.maillog()
    assert lab.delivered(r"to=<tofile@local.test>, .*\(delivered to file: ")
    assert lab.delivered(r"to=<tocmd@local.test>, .*\(delivered to command: cat >> ")
    assert lab.delivered(r"to=<%s@local.test>, orig_to=<list@local.test>, .*"
                         r"\(delivered to mailbox\)" % u.pw_name)
    assert "Subject: nl tofile" in open(out).read()
    assert "Subject: nl tocmd" in open(cmd_out).read()
    box = open(os.path.join(lab.mail, u.pw_name)).read()
    assert "Subject: nl touser" in box and "Subject: nl list" in box


def test_procmail_gets_postfix_environment(lab):
    """Debian's procmail as mailbox_command sees the variables Postfix's
    local(8) exports (procmail's LOG writes them to its log file)."""
    u = lab.useradd()
    rc = os.path.join(u.pw_dir, ".procmailrc")
    names = ("USER", "HOME", "SHELL", "LOGNAME", "EXTENSION", "DOMAIN", "LOCAL",
             "RECIPIENT", "SENDER", "ORIGINAL_RECIPIENT")
    with open(rc, "w") as f:
        f.write("LOGFILE=$HOME/env.log\n")
        for n in names:
            f.write("LOG=\"%s=$%s\n\"\n" % (n, n))
        f.write(":0\n$HOME/pm-box\n")
    os.chown(rc, u.pw_uid, u.pw_gid)
    os.chmod(rc, 0o644)
    # -p: procmail keeps the environment it was given (it clears it otherwise)
    lab.configure("mailbox_command = /usr/bin/procmail -p -a \"$EXTENSION\"\n")
    lab.start()
    assert lab.send(["%s+tag@local.test" % u.pw_name], subject="env",
                    sender="Bob@Remote.test") == {}
    assert lab.delivered(r"to=<%s\+tag@local.test>, relay=local, .*status=sent "
                         r"\(delivered to command: /usr/bin/procmail" % u.pw_name), lab.maillog()
    log = os.path.join(u.pw_dir, "env.log")
    assert wait_for(lambda: os.path.exists(log) and "ORIGINAL_RECIPIENT=" in open(log).read())
    env = dict(line.split("=", 1) for line in open(log).read().splitlines()
               if "=" in line and line.split("=", 1)[0] in names)
    assert env == {"USER": u.pw_name, "HOME": u.pw_dir, "SHELL": "/bin/sh",
                   "LOGNAME": u.pw_name, "EXTENSION": "tag", "DOMAIN": "local.test",
                   "LOCAL": "%s+tag" % u.pw_name,
                   "RECIPIENT": "%s+tag@local.test" % u.pw_name,
                   "SENDER": "Bob@Remote.test",
                   "ORIGINAL_RECIPIENT": "%s+tag@local.test" % u.pw_name}, env
    assert "Subject: env" in open(os.path.join(u.pw_dir, "pm-box")).read()


def test_hostile_recipients_over_smtp_reach_no_shell_or_path(lab):
    """With local_recipient_maps empty smtpd takes any local recipient, so
    these reach local(8): none may run a command or name a file."""
    marker = os.path.join(lab.base, "pwned")
    lab.configure("local_recipient_maps =\n")
    lab.start()
    hostile = ['"|touch %s"@local.test' % marker, '"/tmp/x%s"@local.test' % uuid.uuid4().hex,
               "../../etc/passwd@local.test", '"a/b"@local.test',
               '":include:/etc/passwd"@local.test']
    assert lab.send(hostile, subject="hostile") == {}
    for rcpt in hostile:
        assert lab.delivered(r"to=<%s>, relay=local, .*dsn=5\.1\.1, status=bounced "
                             r"\(unknown user: " % re.escape(rcpt)), lab.maillog()
    assert not os.path.exists(marker)
    assert "delivered to file" not in lab.maillog()
    assert "delivered to command" not in lab.maillog()
    # NUL and a bare CR or LF inside an address never get as far as the queue
    with socket.create_connection(("127.0.0.1", lab.port), timeout=20) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"HELO client.test\r\n")
        f.readline()
        s.sendall(b"MAIL FROM:<a@remote.test>\r\n")
        assert f.readline().startswith(b"250")
        for bad in (b"RCPT TO:<\"a\x00b\"@local.test>\r\n", b"RCPT TO:<\"a\rb\"@local.test>\r\n",
                    b"RCPT TO:<a\x00/b@local.test>\r\n"):
            s.sendall(bad)
            reply = f.readline()
            assert reply[:1] == b"5", (bad, reply)
        s.sendall(b"QUIT\r\n")
        f.readline()


def test_sendmail_t_with_daemons_stopped_reaches_the_mbox(lab):
    """sendmail -t while nothing runs: the message waits in maildrop and
    lands in the user's mbox once the daemons start. A recipient with a
    line break in it is set aside by pickup, never delivered."""
    u = lab.useradd()
    lab.configure()
    r = lab.run("sendmail", "-t", "-i", "-f", "bob@remote.test", env=lab.env,
                stdin="To: %s@local.test\nSubject: offline\n\nwritten offline\n" % u.pw_name)
    assert r.rc == 0, r
    r = lab.run("sendmail", "-i", "x\ny@local.test", env=lab.env, stdin="Subject: bad\n\nb\n")
    assert os.listdir(os.path.join(lab.spool, "maildrop"))
    assert not os.path.exists(os.path.join(lab.mail, u.pw_name))
    lab.start()
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                         r"\(delivered to mailbox\)" % u.pw_name), lab.maillog()
    box = open(os.path.join(lab.mail, u.pw_name)).read()
    assert box.startswith("From bob@remote.test ") and "Subject: offline" in box
    assert "written offline\n" in box
    assert wait_for(lambda: not os.listdir(os.path.join(lab.spool, "maildrop")))
    assert "to=<x" not in lab.maillog()


def test_fcntl_locked_mbox_defers_then_delivers(lab):
    """Another program's fcntl lock on the mbox (as Dovecot and mutt take
    it): deliver_lock_attempts x deliver_lock_delay of waiting, then a
    deferral, never a bounce, and delivery once the lock goes."""
    import fcntl
    u = lab.useradd()
    lab.configure("deliver_lock_attempts = 2\ndeliver_lock_delay = 1s\n")
    box = os.path.join(lab.mail, u.pw_name)
    with open(box, "w") as f:
        f.write("From old@x  Mon Jan  1 00:00:00 2024\nSubject: old\n\nold\n\n")
    os.chown(box, u.pw_uid, u.pw_gid)
    os.chmod(box, 0o600)
    held = open(box, "r+")
    fcntl.lockf(held, fcntl.LOCK_EX)
    try:
        lab.start()
        assert lab.send(["%s@local.test" % u.pw_name], subject="fcntl") == {}
        assert lab.delivered(r"to=<%s@local.test>, relay=local, .*dsn=4\.2\.0, "
                             r"status=deferred \(cannot update mailbox" % u.pw_name), lab.maillog()
        assert "Subject: fcntl" not in open(box).read()
    finally:
        fcntl.lockf(held, fcntl.LOCK_UN)
        held.close()
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                         r"\(delivered to mailbox\)" % u.pw_name, timeout=30), lab.maillog()
    text = open(box).read()
    assert text.startswith("From old@x") and "Subject: fcntl" in text
    assert not re.search(r"status=bounced", lab.maillog())


def test_lock_released_within_the_attempts_delivers_without_deferral(lab):
    """A dot-lock that its owner removes after about two seconds, well
    inside deliver_lock_attempts x deliver_lock_delay: the delivery waits
    and succeeds in the same attempt."""
    u = lab.useradd()
    lab.configure("deliver_lock_attempts = 20\ndeliver_lock_delay = 1s\n")
    box = os.path.join(lab.mail, u.pw_name)
    lock = box + ".lock"
    open(lock, "w").close()
    lab.start()
    assert lab.send(["%s@local.test" % u.pw_name], subject="waited") == {}
    time.sleep(2)
    assert "to=<%s@local.test>" % u.pw_name not in lab.maillog()
    os.unlink(lock)
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                         r"\(delivered to mailbox\)" % u.pw_name), lab.maillog()
    assert "status=deferred" not in lab.maillog()
    assert "Subject: waited" in open(box).read()


def test_full_disk_defers_and_never_truncates_the_mbox(lab):
    """A small tmpfs as mail_spool_directory, nearly filled: a message that
    does not fit is deferred (4.3.0), the mbox keeps its old bytes exactly,
    and the mail arrives once there is room."""
    u = lab.useradd()
    small = os.path.join(lab.base, "small")
    os.makedirs(small)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=1777", "tmpfs", small],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode(errors="replace"))
    try:
        lab.mail = small
        lab.configure()
        box = os.path.join(small, u.pw_name)
        old = "From old@x  Mon Jan  1 00:00:00 2024\nSubject: old\n\nold body\n\n"
        with open(box, "w") as f:
            f.write(old)
        os.chown(box, u.pw_uid, u.pw_gid)
        os.chmod(box, 0o600)
        filler = conftest.fill_filesystem(small, 16 * 1024)
        lab.start()
        body = ("line of a large message %s\n" % ("y" * 60)) * 1500   # ~130 KB
        assert lab.send(["%s@local.test" % u.pw_name], body=body, subject="big") == {}
        assert lab.delivered(r"to=<%s@local.test>, relay=local, .*dsn=4\.3\.0, "
                             r"status=deferred \(cannot update mailbox %s for user %s\. "
                             r"error writing message: No space left on device"
                             % (u.pw_name, re.escape(box), u.pw_name)), lab.maillog()
        assert open(box).read() == old
        assert not os.path.exists(box + ".lock")
        os.unlink(filler)
        assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                             r"\(delivered to mailbox\)" % u.pw_name, timeout=30), lab.maillog()
        text = open(box).read()
        assert text.startswith(old) and "Subject: big" in text and text.endswith("\n\n")
    finally:
        lab.close()
        subprocess.run(["umount", "-l", small], capture_output=True)


def test_bounce_reaches_the_local_sender(lab):
    """A local user's mail to an address local(8) cannot deliver comes back
    to that user's own mbox as a Postfix-worded RFC 3464 notice."""
    import email
    import email.policy
    u = lab.useradd()
    lab.configure()
    lab.start()
    lab.enqueue("%s@local.test" % u.pw_name, "nobody-here@local.test",
                body="Subject: will bounce\nMessage-ID: <b1@test>\n\nbody\n")
    assert lab.delivered(r"to=<nobody-here@local.test>, relay=local, .*dsn=5\.1\.1, "
                         r"status=bounced \(unknown user: \"nobody-here\"\)"), lab.maillog()
    assert lab.delivered(r"sender non-delivery notification: [0-9A-Za-z]+"), lab.maillog()
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                         r"\(delivered to mailbox\)" % u.pw_name), lab.maillog()
    box = open(os.path.join(lab.mail, u.pw_name)).read()
    assert box.startswith("From MAILER-DAEMON ")
    msg = email.message_from_string(box.split("\n", 1)[1], policy=email.policy.default)
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg.get_content_type() == "multipart/report"
    parts = list(msg.iter_parts())
    assert "your message could not\nbe delivered" in parts[0].get_content()
    assert parts[1].get_content_type() == "message/delivery-status"
    ds = str(parts[1])
    assert "Final-Recipient: rfc822; nobody-here@local.test" in ds
    assert "Status: 5.1.1" in ds and "Action: failed" in ds
    assert "Subject: will bounce" in str(parts[2])


def test_errors_of_a_list_go_to_its_owner_alias(lab):
    """list has owner-list: the delivery to the unknown member and the
    failing command bounce to the owner (whose mailbox gets the notices),
    the good member gets the message, and the original sender hears
    nothing. Without an owner- alias the sender gets the notice."""
    import email
    import email.policy
    member = lab.useradd()
    boss = lab.useradd()
    sender = lab.useradd()
    inc = os.path.join(lab.base, "members.inc")
    with open(inc, "w") as f:
        f.write("%s\nno-such-member\n" % member.pw_name)
    lab.configure()
    lab.aliases("list: :include:%s, \"|exit 67\"\nowner-list: %s\n"
                "plain: no-such-plain\n" % (inc, boss.pw_name))
    lab.start()
    lab.enqueue("%s@local.test" % sender.pw_name, "list@local.test",
                body="Subject: to the list\n\nbody\n")
    assert lab.delivered(r"to=<%s@local.test>, orig_to=<list@local.test>, .*"
                         r"\(delivered to mailbox\)" % member.pw_name), lab.maillog()
    assert lab.delivered(r"to=<no-such-member@local.test>, orig_to=<list@local.test>, .*"
                         r"dsn=5\.1\.1, status=bounced \(unknown user: \"no-such-member\"\)")
    assert lab.delivered(r"to=<list@local.test>, relay=local, .*status=bounced \(user unknown\. "
                         r"Command died with status 67"), lab.maillog()
    assert lab.delivered(r"yubin/bounce\[\d+\]: \w+: sender non-delivery notification: ")
    # two notices, both to the owner, delivered into the owner's mailbox
    assert lab.delivered(r"to=<%s@local.test>, orig_to=<owner-list@local.test>, .*"
                         r"\(delivered to mailbox\)" % boss.pw_name), lab.maillog()
    bbox = os.path.join(lab.mail, boss.pw_name)
    assert wait_for(lambda: open(bbox).read().count("\nFrom MAILER-DAEMON ") +
                    open(bbox).read().startswith("From MAILER-DAEMON ") == 2), lab.maillog()
    text = open(bbox).read()
    assert "Final-Recipient: rfc822; no-such-member@local.test" in text
    assert "Subject: Undelivered Mail Returned to Sender" in text
    assert re.search(r"^To: owner-list@local\.test$", text, re.M), text
    assert not os.path.exists(os.path.join(lab.mail, sender.pw_name))
    # no owner: the notice goes to the sender
    lab.enqueue("%s@local.test" % sender.pw_name, "plain@local.test",
                body="Subject: to plain\n\nbody\n")
    sbox = os.path.join(lab.mail, sender.pw_name)
    assert wait_for(lambda: os.path.exists(sbox) and
                    "unknown user: \"no-such-plain\"" in open(sbox).read()), lab.maillog()
    msg = email.message_from_string(open(sbox).read().split("\n", 1)[1],
                                    policy=email.policy.default)
    assert msg["To"] == "%s@local.test" % sender.pw_name
    # named as Postfix names an expanded recipient
    parts = list(msg.iter_parts())
    assert ("<no-such-plain@local.test> (expanded from <plain@local.test>): "
            "unknown user: \"no-such-plain\"") in parts[0].get_content()
    ds = str(parts[1])
    assert "Final-Recipient: rfc822; no-such-plain@local.test" in ds
    assert "Original-Recipient: rfc822;plain@local.test" in ds
    assert "Diagnostic-Code: X-Postfix; unknown user" in ds and "Remote-MTA" not in ds


def test_expand_owner_alias_uses_the_owners_address_as_sender(lab):
    lab.configure("expand_owner_alias = yes\n")
    lab.aliases("list: far@remote.test\nowner-list: boss@remote.test\n")
    lab.start()
    assert lab.send(["list@local.test"]) == {}
    assert lab.delivered(r"to=<far@remote.test>, orig_to=<list@local.test>, .*"
                         r"\(forwarded as (\w+)\)"), lab.maillog()
    assert lab.delivered(r"from=<boss@remote.test>"), lab.maillog()


def test_notify_success_and_never(lab):
    """RCPT ... NOTIFY=SUCCESS: a final local delivery sends the sender a
    "Successful Mail Delivery Report" (Action: delivered; an alias with
    several targets: expanded); NOTIFY=NEVER: an undeliverable recipient
    sends the sender nothing; no NOTIFY: no success notice."""
    import email
    import email.policy
    u = lab.useradd()
    v = lab.useradd()
    sender = lab.useradd()
    lab.configure("local_recipient_maps =\n")
    lab.aliases("both: %s, %s\n" % (u.pw_name, v.pw_name))
    lab.start()
    frm = "%s@local.test" % sender.pw_name
    with smtplib.SMTP("127.0.0.1", lab.port, timeout=20) as s:
        s.ehlo("client.test")
        assert s.mail(frm, ["RET=HDRS", "ENVID=env-1"])[0] == 250
        assert s.rcpt("%s@local.test" % u.pw_name, ["NOTIFY=SUCCESS"])[0] == 250
        assert s.rcpt("both@local.test", ["NOTIFY=SUCCESS,FAILURE"])[0] == 250
        assert s.rcpt("%s@local.test" % v.pw_name)[0] == 250
        assert s.rcpt("nobody-at-all@local.test", ["NOTIFY=NEVER"])[0] == 250
        s.data(b"Subject: dsn test\r\n\r\nbody\r\n")
    assert lab.delivered(r"to=<nobody-at-all@local.test>, .*status=bounced"), lab.maillog()
    assert lab.delivered(r"yubin/bounce\[\d+\]: \w+: sender delivery status notification: "
                         r"\w+"), lab.maillog()
    sbox = os.path.join(lab.mail, sender.pw_name)
    assert wait_for(lambda: os.path.exists(sbox) and
                    open(sbox).read().count("Successful Mail Delivery Report") >= 2), \
        lab.maillog()
    time.sleep(1)   # room for a wrong extra notice to arrive
    text = open(sbox).read()
    assert "Undelivered Mail" not in text and "nobody-at-all" not in text, text
    notices = [email.message_from_string(m, policy=email.policy.default)
               for m in re.split(r"(?m)^From MAILER-DAEMON .*\n", text) if m.strip()]
    assert len(notices) == 2, text
    reports = {}
    for n in notices:
        assert n["Subject"] == "Successful Mail Delivery Report"
        parts = list(n.iter_parts())
        ds = str(parts[1])
        assert "Original-Envelope-Id: env-1" in ds
        rcpt = re.search(r"Final-Recipient: rfc822; (\S+)", ds).group(1)
        reports[rcpt] = re.search(r"Action: (\w+)", ds).group(1)
        assert "Status: 2.0.0" in ds and "Remote-MTA" not in ds
        assert parts[2].get_content_type() == "text/rfc822-headers"
    assert reports == {"%s@local.test" % u.pw_name: "delivered",
                       "both@local.test": "expanded"}, reports


def test_per_user_tables_fallback_transport_and_luser_relay(lab):
    """Postfix's order after the aliases: mailbox_transport_maps,
    mailbox_command_maps (per user name), and for recipients that are no
    user: fallback_transport_maps, fallback_transport, luser_relay (with
    $user expanded; the relay gets the mail as a forwarded copy)."""
    a = lab.useradd()   # mailbox_command_maps
    b = lab.useradd()   # catch-all of luser_relay
    c = lab.useradd()   # mailbox_transport_maps
    out = os.path.join(a.pw_dir, "via-command")
    cmds = os.path.join(lab.etc, "commands")
    with open(cmds, "w") as f:   # a file: main.cf would expand $HOME itself
        f.write("%s cat > $HOME/via-command\n" % a.pw_name)
    lab.configure("local_recipient_maps =\n"
                  "mailbox_command_maps = texthash:%s\n"
                  "mailbox_transport_maps = inline:{ {%s = discard:held by table} }\n"
                  "fallback_transport_maps = inline:{ {gone = error:5.1.1 gone for good} }\n"
                  "luser_relay = %s+$user\n" % (cmds, c.pw_name, b.pw_name))
    lab.start()
    assert lab.send(["%s@local.test" % a.pw_name, "%s@local.test" % c.pw_name,
                     "gone@local.test", "whoever+x@local.test"], subject="tables") == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent \(delivered to "
                         r"command: cat > \$HOME/via-command\)" % a.pw_name), lab.maillog()
    assert wait_for(lambda: os.path.exists(out) and "Subject: tables" in open(out).read())
    assert lab.delivered(r"to=<%s@local.test>, relay=none, .*status=sent \(held by table\)"
                         % c.pw_name), lab.maillog()
    assert lab.delivered(r"to=<gone@local.test>, relay=none, .*dsn=5\.1\.1, "
                         r"status=bounced \(gone for good\)"), lab.maillog()
    assert lab.delivered(r"to=<%s\+whoever@local.test>, orig_to=<whoever\+x@local.test>, "
                         r"relay=local, .*status=sent \(delivered to mailbox\)" % b.pw_name), \
        lab.maillog()
    box = open(os.path.join(lab.mail, b.pw_name)).read()
    assert "Subject: tables" in box and "Delivered-To: %s+whoever@local.test" % b.pw_name in box
    assert not os.path.exists(os.path.join(lab.mail, a.pw_name))
    assert not os.path.exists(os.path.join(lab.mail, c.pw_name))


def test_mailbox_transport_lmtp_hands_users_to_an_lmtp_server(lab, tmp_path):
    """The Postfix-to-Dovecot hand-off: mailbox_transport = lmtp:unix:PATH
    (and mailbox_transport_maps with lmtp:inet:) makes local(8) pass each
    user's mailbox delivery to the queue manager's lmtp client, after the
    aliases: an alias to the user reaches the LMTP server as the user's
    address; nothing lands in the mail spool."""
    from aiosmtpd.controller import Controller, UnixSocketController
    from aiosmtpd.lmtp import LMTP
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from smtp_peers import Handler

    class LMTPUnix(UnixSocketController):
        def factory(self):
            return LMTP(self.handler)

    class LMTPInet(Controller):
        def factory(self):
            return LMTP(self.handler)

    a = lab.useradd()
    b = lab.useradd()
    sock = str(tmp_path / "lmtp.sock")
    port = free_port()
    h1, h2 = Handler(), Handler()
    c1 = LMTPUnix(h1, unix_socket=sock)
    c2 = LMTPInet(h2, hostname="127.0.0.1", port=port)
    c1.start()
    c2.start()
    try:
        lab.configure("mailbox_transport = lmtp:unix:%s\n"
                      "mailbox_transport_maps = inline:{ {%s = lmtp:inet:127.0.0.1:%d} }\n"
                      % (sock, b.pw_name, port))
        lab.aliases("team: %s\n" % a.pw_name)
        lab.start()
        assert lab.send(["team@local.test", "%s@local.test" % b.pw_name],
                        subject="via lmtp") == {}
        assert wait_for(lambda: len(h1.messages) == 1 and len(h2.messages) == 1), lab.maillog()
        assert h1.messages[0][1] == ["%s@local.test" % a.pw_name]
        assert h2.messages[0][1] == ["%s@local.test" % b.pw_name]
        assert b"Subject: via lmtp" in h1.messages[0][2]
        # Postfix's line for a passed alias: the user, and the alias as orig_to
        assert lab.delivered(r"yubin/lmtp\[\d+\]: [0-9A-F]+: to=<%s@local.test>, "
                             r"orig_to=<team@local.test>, relay=.*status=sent" % a.pw_name), \
            lab.maillog()
        assert not os.path.exists(os.path.join(lab.mail, a.pw_name))
        assert not os.path.exists(os.path.join(lab.mail, b.pw_name))
    finally:
        c1.stop()
        c2.stop()


def test_fallback_transport_and_luser_relay_with_local_recipient_maps(lab):
    """fallback_transport takes unknown users before luser_relay; with
    local_recipient_maps left at its default, smtpd still refuses unknown
    users at RCPT, as postconf(5) warns for luser_relay."""
    b = lab.useradd()
    lab.configure("fallback_transport = discard:fell back\nluser_relay = %s\n" % b.pw_name)
    lab.start()
    with smtplib.SMTP("127.0.0.1", lab.port, timeout=20) as s:
        s.ehlo("client.test")
        s.mail("alice@remote.test")
        assert s.rcpt("stranger@local.test")[0] == 550
    lab.enqueue("alice@remote.test", "stranger@local.test")
    assert lab.delivered(r"to=<stranger@local.test>, relay=none, .*status=sent "
                         r"\(fell back\)"), lab.maillog()
    assert not os.path.exists(os.path.join(lab.mail, b.pw_name))


def test_notify_success_travels_with_a_forwarded_copy(lab):
    """A .forward to one address passes the DSN request on with the copy
    (RFC 3461: no notice at the forwarding): the final delivery, here
    virtual(8), sends the one success notice, naming the forwarded address
    and the original recipient."""
    import email
    import email.policy
    u = lab.useradd()
    owner = lab.useradd()
    sender = lab.useradd()
    vbase = os.path.join(lab.base, "vmail")
    os.makedirs(vbase)
    os.chown(vbase, owner.pw_uid, owner.pw_gid)
    fwd = os.path.join(u.pw_dir, ".forward")
    with open(fwd, "w") as f:
        f.write("known@virt.test\n")
    os.chown(fwd, u.pw_uid, u.pw_gid)
    lab.configure("virtual_mailbox_domains = virt.test\nvirtual_mailbox_base = %s\n"
                  "virtual_mailbox_maps = inline:{ known@virt.test=virt.test/known/ }\n"
                  "virtual_uid_maps = static:%d\nvirtual_gid_maps = static:%d\n"
                  "virtual_minimum_uid = 100\n" % (vbase, owner.pw_uid, owner.pw_gid))
    lab.start()
    with smtplib.SMTP("127.0.0.1", lab.port, timeout=20) as s:
        s.ehlo("client.test")
        assert s.mail("%s@local.test" % sender.pw_name)[0] == 250
        assert s.rcpt("%s@local.test" % u.pw_name, ["NOTIFY=SUCCESS"])[0] == 250
        s.data(b"Subject: forwarded dsn\r\n\r\nbody\r\n")
    assert lab.delivered(r"to=<known@virt.test>, orig_to=<%s@local.test>, relay=local, .*"
                         r"\(forwarded as \w+\)" % u.pw_name), lab.maillog()
    assert lab.delivered(r"to=<known@virt.test>, orig_to=<%s@local.test>, relay=virtual, .*"
                         r"status=sent \(delivered to maildir\)" % u.pw_name), lab.maillog()
    sbox = os.path.join(lab.mail, sender.pw_name)
    assert wait_for(lambda: os.path.exists(sbox) and "Successful Mail" in open(sbox).read()), \
        lab.maillog()
    time.sleep(1)
    text = open(sbox).read()
    assert text.count("From MAILER-DAEMON ") == 1, text
    msg = email.message_from_string(text.split("\n", 1)[1], policy=email.policy.default)
    ds = str(list(msg.iter_parts())[1])
    assert "Final-Recipient: rfc822; known@virt.test" in ds
    assert "Original-Recipient: rfc822;%s@local.test" % u.pw_name in ds
    assert "Action: delivered" in ds


def test_mailbox_size_limit_bounces_and_keeps_the_mbox(lab):
    """An mbox that would grow past mailbox_size_limit: the delivery fails
    for good (5.2.2, "File too large"), the mbox keeps its bytes."""
    u = lab.useradd()
    lab.configure("message_size_limit = 10000\nmailbox_size_limit = 20000\n")
    box = os.path.join(lab.mail, u.pw_name)
    old = "From old@x  Mon Jan  1 00:00:00 2024\nSubject: old\n\n" + "x" * 15000 + "\n\n"
    with open(box, "w") as f:
        f.write(old)
    os.chown(box, u.pw_uid, u.pw_gid)
    os.chmod(box, 0o600)
    lab.start()
    assert lab.send(["%s@local.test" % u.pw_name], body="y" * 6000 + "\n") == {}
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*dsn=5\.2\.2, status=bounced "
                         r"\(cannot update mailbox %s for user %s\. error writing message: "
                         r"File too large" % (u.pw_name, re.escape(box), u.pw_name)), lab.maillog()
    assert open(box).read() == old


def test_alias_source_newer_than_database_warns(lab):
    u = lab.useradd()
    lab.configure()
    lab.aliases("fresh: %s\n" % u.pw_name)
    src = os.path.join(lab.etc, "aliases")
    with open(src, "a") as f:
        f.write("later: %s\n" % u.pw_name)
    t = time.time() + 5
    os.utime(src, (t, t))
    lab.start()
    assert lab.send(["fresh@local.test"]) == {}
    assert lab.delivered(r"to=<%s@local.test>, orig_to=<fresh@local.test>, .*"
                         r"\(delivered to mailbox\)" % u.pw_name), lab.maillog()
    assert re.search(r"warning: database %s\.db is older than source file %s"
                     % (re.escape(src), re.escape(src)), lab.maillog()), lab.maillog()


def test_sendmail_bp_and_q(lab):
    """sendmail -bp lists what waits (as mailq), sendmail -q runs the queue
    now: a message deferred by a held lock is delivered at once after."""
    u = lab.useradd()
    lab.configure("deliver_lock_attempts = 1\nminimal_backoff_time = 300s\n"
                  "maximal_backoff_time = 600s\nqueue_run_delay = 300s\n")
    box = os.path.join(lab.mail, u.pw_name)
    open(box + ".lock", "w").close()
    lab.start()
    assert lab.send(["%s@local.test" % u.pw_name], subject="queued") == {}
    assert lab.delivered(r"status=deferred \(cannot update mailbox"), lab.maillog()
    r = lab.run("sendmail", "-bp", env=lab.env)
    assert r.rc == 0 and "%s@local.test" % u.pw_name in r.out and "alice@remote.test" in r.out, r
    os.unlink(box + ".lock")
    r = lab.run("sendmail", "-q", env=lab.env)
    assert r.rc == 0, r
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent" % u.pw_name,
                         timeout=20), lab.maillog()
    assert "Subject: queued" in open(box).read()


def test_full_disk_defers_a_maildir_delivery_without_leftovers(lab):
    """The same for a Maildir spool (mail_spool_directory ending in /): the
    delivery is deferred, nothing is left in tmp/ or new/, and the mail
    arrives once there is room."""
    u = lab.useradd()
    small = os.path.join(lab.base, "small-md")
    os.makedirs(small)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=1777", "tmpfs", small],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode(errors="replace"))
    try:
        lab.configure("mail_spool_directory = %s/\n" % small)
        md = os.path.join(small, u.pw_name)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(md, sub))
        for d in (md, os.path.join(md, "tmp"), os.path.join(md, "new"), os.path.join(md, "cur")):
            os.chown(d, u.pw_uid, u.pw_gid)
            os.chmod(d, 0o700)
        filler = conftest.fill_filesystem(small, 16 * 1024)
        lab.start()
        body = ("line of a large message %s\n" % ("y" * 60)) * 1500
        assert lab.send(["%s@local.test" % u.pw_name], body=body, subject="big md") == {}
        assert lab.delivered(r"to=<%s@local.test>, relay=local, .*dsn=4\.3\.0, "
                             r"status=deferred \(maildir delivery failed: .*No space left on device"
                             % u.pw_name), \
            lab.maillog()
        assert os.listdir(os.path.join(md, "tmp")) == []
        assert os.listdir(os.path.join(md, "new")) == []
        os.unlink(filler)
        assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent "
                             r"\(delivered to maildir\)" % u.pw_name, timeout=30), lab.maillog()
        names = os.listdir(os.path.join(md, "new"))
        assert len(names) == 1
        assert "Subject: big md" in open(os.path.join(md, "new", names[0])).read()
    finally:
        lab.close()
        subprocess.run(["umount", "-l", small], capture_output=True)


def test_sendmail_v_reports_the_first_delivery_attempt(lab):
    """sendmail -v: after the first attempt the sender gets one "Mail
    Delivery Status Report" listing every recipient with its action
    (delivered, failed, delayed); the later delivery of the delayed one
    sends no second report."""
    import email
    import email.policy
    ok = lab.useradd()
    locked = lab.useradd()
    sender = lab.useradd()
    lab.configure("deliver_lock_attempts = 1\n")
    lbox = os.path.join(lab.mail, locked.pw_name)
    open(lbox + ".lock", "w").close()
    lab.start()
    r = lab.run("sendmail", "-v", "-i", "-f", "%s@local.test" % sender.pw_name,
                "%s@local.test" % ok.pw_name, "%s@local.test" % locked.pw_name,
                "nobody-v@local.test", env=lab.env, stdin="Subject: with -v\n\nbody\n")
    assert r.rc == 0, r
    sbox = os.path.join(lab.mail, sender.pw_name)
    assert wait_for(lambda: os.path.exists(sbox) and
                    "Mail Delivery Status Report" in open(sbox).read()), lab.maillog()
    assert re.search(r"yubin/bounce\[\d+\]: \w+: sender delivery status notification: \w+",
                     lab.maillog())
    msgs = [email.message_from_string(m, policy=email.policy.default)
            for m in re.split(r"(?m)^From MAILER-DAEMON .*\n", open(sbox).read()) if m.strip()]
    report = [m for m in msgs if m["Subject"] == "Mail Delivery Status Report"]
    assert len(report) == 1
    parts = list(report[0].iter_parts())
    assert "Enclosed is the mail delivery report that you requested." in parts[0].get_content()
    ds = str(parts[1])
    actions = dict(re.findall(r"Final-Recipient: rfc822; (\S+)\n(?:Original-Recipient: .*\n)?"
                              r"Action: (\w+)", ds))
    assert actions == {"%s@local.test" % ok.pw_name: "delivered",
                       "%s@local.test" % locked.pw_name: "delayed",
                       "nobody-v@local.test": "failed"}, ds
    os.unlink(lbox + ".lock")
    assert lab.delivered(r"to=<%s@local.test>, relay=local, .*status=sent" % locked.pw_name,
                         timeout=30), lab.maillog()
    time.sleep(1.5)
    assert open(sbox).read().count("Subject: Mail Delivery Status Report") == 1


def test_forwarded_copies_go_out_from_their_own_senders(lab):
    """An alias that names a list with an owner and another remote address:
    the list's copy goes out from the owner, the other from the message's
    sender, as two new messages."""
    lab.configure()
    lab.aliases("team: list, ext@remote.test\nlist: far@remote.test\n"
                "owner-list: boss@remote.test\n")
    lab.start()
    assert lab.send(["team@local.test"]) == {}
    assert lab.delivered(r"to=<ext@remote.test>, orig_to=<team@local.test>, .*"
                         r"\(forwarded as \w+\)"), lab.maillog()
    log = lab.maillog()
    far = re.search(r"to=<far@remote.test>, orig_to=<team@local.test>, .*"
                    r"\(forwarded as (\w+)\)", log).group(1)
    ext = re.search(r"to=<ext@remote.test>, orig_to=<team@local.test>, .*"
                    r"\(forwarded as (\w+)\)", log).group(1)
    assert far != ext
    assert lab.delivered(r"%s: from=<owner-list@local.test>" % far), lab.maillog()
    assert lab.delivered(r"%s: from=<alice@remote.test>" % ext), lab.maillog()


def test_kill_9_of_a_maildir_batch_child_loses_nothing(lab):
    """A backlog for one user goes out in batches: one child that became
    the user stores many messages and fsyncs new/ once. Children killed
    with SIGKILL in the middle of their batch lose nothing: every message
    is in the Maildir afterwards (its batch is deferred and tried again),
    the queue ends empty, and a duplicate is only possible for a message
    whose file was already renamed into new/ when its child died (as
    Postfix's local killed between its link and its status report)."""
    u = lab.useradd()
    lab.configure("home_mailbox = Maildir/\n", owner="postfix")
    n_msgs = 120
    filler = ("x" * 76 + "\n") * 3000     # ~230 KB: a batch takes a while
    for k in range(n_msgs):
        lab.enqueue("alice@remote.test", "%s@local.test" % u.pw_name,
                    body="Subject: batch %d\nMessage-ID: <batch-%d@test>\n\n%s"
                    % (k, k, filler))
    # written by root here: the queue manager runs as mail_owner
    pf = pwd.getpwnam("postfix")
    incoming = os.path.join(lab.spool, "incoming")
    for name in os.listdir(incoming):
        os.chown(os.path.join(incoming, name), pf.pw_uid, pf.pw_gid)
    lab.start()
    kills = 0
    end = time.time() + 60
    done_re = r"to=<%s@local.test>, relay=local, .*status=sent" % u.pw_name
    while time.time() < end and kills < 6:
        if len(re.findall(done_re, lab.maillog())) >= n_msgs:
            break
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.stat("/proc/" + d).st_uid != u.pw_uid:
                    continue
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if not f.read().startswith(b"qmgr\0"):
                        continue
                os.kill(int(d), signal.SIGKILL)
                kills += 1
            except (OSError, ProcessLookupError):
                continue
        time.sleep(0.005)
    assert lab.delivered(r"status=deferred \(delivery process died\)", timeout=1) or \
        kills == 0, lab.maillog()[-3000:]
    # everything arrives, after the retries of the killed batches
    assert wait_for(lambda: len(re.findall(done_re, lab.maillog())) >= n_msgs, 120), \
        lab.maillog()[-3000:]
    spool_left = lambda: [f for q in ("incoming", "active", "deferred")
                          for f in os.listdir(os.path.join(lab.spool, q))]
    assert wait_for(lambda: spool_left() == [], 30), spool_left()
    seen = {}
    for sub in ("new", "cur"):
        box = os.path.join(u.pw_dir, "Maildir", sub)
        for name in os.listdir(box):
            with open(os.path.join(box, name), "rb") as f:
                head = f.read(2000)
            m = re.search(rb"Message-ID: <batch-(\d+)@test>", head)
            assert m, head[:300]
            seen[int(m.group(1))] = seen.get(int(m.group(1)), 0) + 1
    assert sorted(seen) == list(range(n_msgs))          # none lost
    dups = sum(c - 1 for c in seen.values())
    print("batch children killed: %d, duplicates: %d" % (kills, dups))
    # a kill can only duplicate the messages of its own batch
    assert dups <= kills * 32, (dups, kills)
    # the batches were real: one child stored several messages
    assert kills > 0, "no batch child was caught to kill"


def test_backlog_into_an_mbox_in_batches_keeps_every_message_once(lab):
    """A backlog for one mbox user goes out in batches (one child, one
    lock, one fsync for many messages): every message is in the mbox once
    and whole, as Python's mailbox module reads it; with
    mailbox_size_limit, the messages that no longer fit bounce one by one
    with Postfix's reason and the mbox keeps exactly those that fit."""
    import mailbox
    u = lab.useradd()
    lab.configure("mailbox_size_limit = 200000\n", owner="postfix")
    n_msgs = 40
    filler = ("y" * 76 + "\n") * 120     # ~9 KB
    for k in range(n_msgs):
        lab.enqueue("alice@remote.test", "%s@local.test" % u.pw_name,
                    body="Subject: mbox %d\nMessage-ID: <mbox-%d@test>\n\n%s" % (k, k, filler))
    pf = pwd.getpwnam("postfix")
    incoming = os.path.join(lab.spool, "incoming")
    for name in os.listdir(incoming):
        os.chown(os.path.join(incoming, name), pf.pw_uid, pf.pw_gid)
    lab.start()
    line_re = r"to=<%s@local.test>, relay=local, .*status=(sent|bounced)" % u.pw_name
    assert wait_for(lambda: len(re.findall(line_re, lab.maillog())) >= n_msgs, 60), \
        lab.maillog()[-3000:]
    log = lab.maillog()
    sent = len(re.findall(r"to=<%s@local.test>, relay=local, .*status=sent "
                          r"\(delivered to mailbox\)" % u.pw_name, log))
    bounced = re.findall(r"to=<%s@local.test>, relay=local, .*dsn=5\.2\.2, status=bounced "
                         r"\(cannot update mailbox (\S+) for user %s\. error writing message: "
                         r"File too large\)" % (u.pw_name, u.pw_name), log)
    assert sent + len(bounced) == n_msgs, log[-3000:]
    assert 0 < sent < n_msgs, (sent, log[-3000:])
    box = mailbox.mbox(os.path.join(lab.mail, u.pw_name), create=False)
    ids = [m["Message-ID"] for m in box]
    assert len(ids) == sent
    assert len(set(ids)) == len(ids)
    for m in box:
        assert m.get_payload() == filler
    assert os.path.getsize(os.path.join(lab.mail, u.pw_name)) <= 200000


def test_reused_queue_files_hold_only_their_own_message(lab):
    """The queue manager keeps the file of a delivered message in spare/
    and the next message is written into it (no new inode per message):
    each message, longer or shorter than the one before it in that file,
    reaches the Maildir whole and with nothing of the earlier message, and
    the queue IDs show the reuse (a short ID ends in the file's inode)."""
    u = lab.useradd()
    lab.configure("home_mailbox = Maildir/\n", owner="postfix")
    lab.start()
    bodies = {}
    sizes = [20000, 300, 9000, 40, 15000, 2000, 100, 25000, 10, 5000]
    for k, size in enumerate(sizes):
        line = ("%d-" % k + "z" * 70 + "\n")
        bodies[k] = (line * (size // len(line) + 1))[:size].rstrip("\n") + "\n"
        assert lab.send(["%s@local.test" % u.pw_name], body=bodies[k],
                        subject="spare %d" % k) == {}
        # delivered and removed, so that the next message can take its file
        assert wait_for(lambda: len(re.findall(r": removed$", lab.maillog(), re.M)) > k,
                        30), lab.maillog()[-2000:]
    spare = os.path.join(lab.spool, "spare")
    assert os.listdir(spare), "no file was kept for reuse"
    ids = re.findall(r"smtpd\[\d+\]: ([0-9A-F]{10,}): client=", lab.maillog())
    assert len(ids) == len(sizes)
    inodes = [i[5:] for i in ids]
    assert len(set(inodes)) < len(inodes), ids
    new = os.path.join(u.pw_dir, "Maildir", "new")
    seen = {}
    for name in os.listdir(new):
        with open(os.path.join(new, name)) as f:
            text = f.read()
        k = int(re.search(r"^Subject: spare (\d+)$", text, re.M).group(1))
        assert text.split("\n\n", 1)[1] == bodies[k], (k, len(text))
        assert text.endswith(bodies[k])
        seen[k] = seen.get(k, 0) + 1
    assert seen == {k: 1 for k in range(len(sizes))}
