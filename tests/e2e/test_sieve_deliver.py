"""deliver (dovecot-lda's role): a message on standard input goes through
the user's active Sieve script (plugin { sieve = file:~/sieve;active=
~/.dovecot.sieve }, sieve_before) into Maildir folders that Python's own
mailbox module reads; vacation answers once per sender; a broken script
still delivers to INBOX; reject with -e exits 77 for the MTA to bounce.
Outgoing mail goes to sendmail_path, here a small capture program.

Needs root (useradd, and deliver becomes the user)."""
import json
import mailbox
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for useradd")

CAPTURE = r'''#!%s
import json, os, sys, time
out = os.environ.get("CAPTURE_DIR") or os.path.join(os.path.dirname(sys.argv[0]), "out")
data = sys.stdin.buffer.read()
name = os.path.join(out, "%%d.%%d" %% (time.time_ns(), os.getpid()))
with open(name, "wb") as f:
    f.write((json.dumps(sys.argv[1:]) + "\n").encode() + data)
'''


class User:
    def __init__(self, base):
        self.name = "ys%s" % uuid.uuid4().hex[:8]
        self.home = os.path.join(base, "home", self.name)
        os.makedirs(os.path.dirname(self.home), exist_ok=True)
        subprocess.run(["useradd", "-m", "-d", self.home, "-s", "/bin/sh", "-U", self.name],
                       check=True, capture_output=True)
        self.uid = int(subprocess.run(["id", "-u", self.name], capture_output=True,
                                      text=True).stdout)

    def write(self, rel, text):
        p = os.path.join(self.home, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chown(p, self.uid, -1)

    def remove(self):
        subprocess.run(["userdel", "-r", self.name], capture_output=True)


@pytest.fixture
def lab(bindir):
    base = tempfile.mkdtemp(prefix="yubin-deliver-")
    os.chmod(base, 0o755)
    out = os.path.join(base, "out")
    os.makedirs(out)
    os.chmod(out, 0o1777)
    cap = os.path.join(base, "capture")
    with open(cap, "w") as f:
        f.write(CAPTURE % sys.executable)
    os.chmod(cap, 0o755)
    conf = os.path.join(base, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("mail_location = maildir:~/Maildir\n"
                "lda_mailbox_autocreate = yes\n"
                "sendmail_path = %s\n"
                "plugin {\n"
                "  sieve = file:~/sieve;active=~/.dovecot.sieve\n"
                "}\n" % cap)
    users = []

    class Lab:
        pass
    lab = Lab()
    lab.base, lab.out, lab.conf = base, out, conf

    def user():
        u = User(base)
        users.append(u)
        return u

    def deliver(u, msg, *args, conf=None):
        return subprocess.run([os.path.join(bindir, "deliver"), "-c", conf or lab.conf,
                               "-d", u.name] + list(args), input=msg.encode(),
                              capture_output=True, timeout=60)

    def sent():
        res = []
        for n in sorted(os.listdir(out)):
            with open(os.path.join(out, n), "rb") as f:
                argv, _, data = f.read().partition(b"\n")
            res.append((json.loads(argv.decode()), data.decode("utf-8", "replace")))
        return res
    lab.user, lab.deliver, lab.sent = user, deliver, sent
    yield lab
    for u in users:
        u.remove()
    shutil.rmtree(base, ignore_errors=True)


MSG = ("From: Alice <alice@example.org>\n"
       "To: %s@localhost\n"
       "Subject: %s\n"
       "Message-ID: <%s@example.org>\n"
       "\n"
       "Hello.\n")


def msg(u, subject="hello", mid=None):
    return MSG % (u.name, subject, mid or uuid.uuid4().hex)


def maildir(u, folder=None):
    md = mailbox.Maildir(os.path.join(u.home, "Maildir"), factory=None, create=False)
    if folder:
        md = md.get_folder(folder)
    return md


def test_fileinto_a_folder_that_mailbox_module_reads(lab):
    u = lab.user()
    u.write(".dovecot.sieve", 'require "fileinto";\n'
            'if header :contains "subject" "[list]" { fileinto "lists"; }\n')
    r = lab.deliver(u, msg(u, "[list] news"), "-f", "alice@example.org")
    assert r.returncode == 0, r.stderr
    assert b"stored mail into mailbox 'lists'" in r.stderr
    msgs = list(maildir(u, "lists"))
    assert len(msgs) == 1 and msgs[0]["subject"] == "[list] news"
    assert msgs[0]["return-path"] == "<alice@example.org>"
    r = lab.deliver(u, msg(u, "personal"), "-f", "alice@example.org")
    assert r.returncode == 0
    assert [m["subject"] for m in maildir(u)] == ["personal"]
    st = os.stat(os.path.join(u.home, "Maildir", ".lists"))
    assert st.st_uid == u.uid     # written as the user, not as root


def test_broken_script_still_delivers_to_inbox(lab):
    u = lab.user()
    u.write(".dovecot.sieve", 'require "fileinto";\nif header :is "subject" {\n'
            '  fileinto "x";\n}\n')
    r = lab.deliver(u, msg(u, "kept"))
    assert r.returncode == 0
    assert b"line 2: error:" in r.stderr
    assert [m["subject"] for m in maildir(u)] == ["kept"]


def test_runtime_error_keeps_the_message(lab):
    u = lab.user()
    u.write(".dovecot.sieve", 'require "reject";\nkeep;\nreject "no";\n')
    r = lab.deliver(u, msg(u, "conflict"))
    assert r.returncode == 0
    assert b"conflicts with other action" in r.stderr
    assert [m["subject"] for m in maildir(u)] == ["conflict"]
    assert lab.sent() == []


def test_imap4flags_set_maildir_flags(lab):
    u = lab.user()
    u.write(".dovecot.sieve", 'require "imap4flags";\naddflag ["\\\\Seen", "\\\\Flagged"];\n')
    assert lab.deliver(u, msg(u, "flagged")).returncode == 0
    (key, m), = maildir(u).items()
    assert m.get_subdir() == "cur"
    assert m.get_flags() == "FS"


def test_vacation_answers_once_per_sender(lab):
    u = lab.user()
    u.write(".dovecot.sieve", 'require "vacation";\n'
            'vacation :days 7 :addresses ["%s@localhost"] "I am away.";\n' % u.name)
    for i in range(3):
        r = lab.deliver(u, msg(u, "ping %d" % i), "-f", "alice@example.org",
                        "-a", "%s@localhost" % u.name)
        assert r.returncode == 0, r.stderr
    r = lab.deliver(u, msg(u, "from bob"), "-f", "bob@example.org",
                    "-a", "%s@localhost" % u.name)
    assert r.returncode == 0
    replies = lab.sent()
    assert [a[-1] for a, _ in replies] == ["alice@example.org", "bob@example.org"]
    for argv, data in replies:
        assert argv[argv.index("-f") + 1] == "<>"    # from the null sender
        assert "Auto-Submitted: auto-replied" in data
        assert "I am away." in data
    # the messages themselves were all kept
    assert len(list(maildir(u))) == 4


def test_vacation_never_answers_a_list(lab):
    u = lab.user()
    u.write(".dovecot.sieve", 'require "vacation";\nvacation "away";\n')
    m = msg(u, "list").replace("Subject:", "List-Id: <l.example.org>\nSubject:")
    assert lab.deliver(u, m, "-f", "list@example.org",
                       "-a", "%s@localhost" % u.name).returncode == 0
    assert lab.sent() == []


def test_redirect_goes_through_sendmail_path(lab):
    u = lab.user()
    u.write(".dovecot.sieve", 'redirect "carol@example.net";\n')
    r = lab.deliver(u, msg(u, "fwd"), "-f", "alice@example.org")
    assert r.returncode == 0
    (argv, data), = lab.sent()
    assert argv[-1] == "carol@example.net"
    assert argv[argv.index("-f") + 1] == "alice@example.org"
    assert "Subject: fwd" in data
    assert list(maildir(u)) == [] if os.path.isdir(os.path.join(u.home, "Maildir")) else True


def test_reject_with_e_exits_77_for_the_mta(lab):
    u = lab.user()
    u.write(".dovecot.sieve", 'require "reject";\nreject "Not wanted here.";\n')
    r = lab.deliver(u, msg(u, "unwanted"), "-e", "-f", "alice@example.org")
    assert r.returncode == 77
    assert b"Not wanted here." in r.stderr
    assert lab.sent() == []
    r = lab.deliver(u, msg(u, "unwanted"), "-f", "alice@example.org")
    assert r.returncode == 0
    (argv, data), = lab.sent()
    assert argv[-1] == "alice@example.org"
    assert "disposition-notification" in data and "Not wanted here." in data


def test_sieve_before_runs_first_and_stop_ends_it(lab):
    u = lab.user()
    before = os.path.join(lab.base, "before.sieve")
    with open(before, "w") as f:
        f.write('require "fileinto";\nif header :contains "subject" "spam" '
                '{ fileinto "Junk"; stop; }\n')
    os.chmod(before, 0o644)
    conf = os.path.join(lab.base, "before.conf")
    with open(lab.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("plugin {\n", "plugin {\n  sieve_before = %s\n" % before))
    u.write(".dovecot.sieve", 'require "fileinto";\nfileinto "Personal";\n')
    assert lab.deliver(u, msg(u, "spam offer"), conf=conf).returncode == 0
    assert lab.deliver(u, msg(u, "hi"), conf=conf).returncode == 0
    assert [m["subject"] for m in maildir(u, "Junk")] == ["spam offer"]
    assert [m["subject"] for m in maildir(u, "Personal")] == ["hi"]


def test_unknown_user_is_67(lab, bindir):
    r = subprocess.run([os.path.join(bindir, "deliver"), "-c", lab.conf, "-d",
                        "no-such-user-%s" % uuid.uuid4().hex[:6]], input=b"x\n",
                       capture_output=True)
    assert r.returncode == 67
