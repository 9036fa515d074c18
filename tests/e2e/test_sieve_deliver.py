"""deliver (dovecot-lda's role): a message on standard input goes through
the user's active Sieve script (plugin { sieve = file:~/sieve;active=
~/.dovecot.sieve }, sieve_before) into Maildir folders that Python's own
mailbox module reads; vacation answers once per sender; a broken script
still delivers to INBOX; reject with -e exits 77 for the MTA to bounce.
Outgoing mail goes to sendmail_path, here a small capture program.

Needs root (useradd, and deliver becomes the user)."""
import json
import re
import mailbox
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid

import pytest

import conftest

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
        conftest.account_tool("useradd", "-m", "-d", self.home, "-s", "/bin/sh", "-U", self.name, check=True)
        self.uid = int(subprocess.run(["id", "-u", self.name], capture_output=True,
                                      text=True).stdout)

    def write(self, rel, text):
        p = os.path.join(self.home, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chown(p, self.uid, -1)

    def remove(self):
        conftest.account_tool("userdel", "-r", self.name)


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


@pytest.mark.parametrize("sender,header", [
    ("list@example.org", "List-Id: <l.example.org>"),
    ("list@example.org", "List-Post: <mailto:l@example.org>"),
    ("news@example.org", "Precedence: bulk"),
    ("news@example.org", "Precedence: list"),
    ("news@example.org", "Precedence: junk"),
    ("robot@example.org", "Auto-Submitted: auto-replied"),
    ("robot@example.org", "Auto-Submitted: auto-generated"),
    ("", None),
    ("MAILER-DAEMON@example.org", None),
    ("owner-l@example.org", None),
    ("l-request@example.org", None),
])
def test_vacation_never_answers_lists_bulk_or_automatic_mail(lab, sender, header):
    """RFC 5230 4.6 and 5 (issue 8's done-when): no reply to mailing
    lists, bulk mail, automatic mail or system senders; the message is
    kept all the same."""
    u = lab.user()
    u.write(".dovecot.sieve", 'require "vacation";\nvacation "away";\n')
    m = msg(u, "x")
    if header:
        m = m.replace("Subject:", header + "\nSubject:")
    args = ["-f", sender] if sender else []
    r = lab.deliver(u, m, *args, "-a", "%s@localhost" % u.name)
    assert r.returncode == 0, r.stderr
    assert lab.sent() == []
    assert len(list(maildir(u))) == 1
    # the same script answers an ordinary message from a person
    r = lab.deliver(u, msg(u, "y"), "-f", "person@example.org", "-a", "%s@localhost" % u.name)
    assert r.returncode == 0 and len(lab.sent()) == 1


def test_vacation_answers_again_after_the_period(lab):
    """Once per sender per period: within :seconds no second reply, after it
    a new one (vacation-seconds, RFC 6131, with sieve_vacation_min_period
    lowered so that the period is 4 s: long enough that two deliveries in a
    row fit in it on a loaded machine)."""
    with open(lab.conf) as f:
        text = f.read()
    conf = os.path.join(lab.base, "seconds.conf")
    with open(conf, "w") as f:
        f.write(text.replace("plugin {\n", "plugin {\n  sieve_extensions = +vacation-seconds\n"
                             "  sieve_vacation_min_period = 0\n"))
    u = lab.user()
    u.write(".dovecot.sieve", 'require ["vacation", "vacation-seconds"];\n'
            'vacation :seconds 4 "back soon";\n')

    def send(subject):
        r = lab.deliver(u, msg(u, subject), "-f", "alice@example.org",
                        "-a", "%s@localhost" % u.name, conf=conf)
        assert r.returncode == 0, r.stderr
    send("one")
    send("two")                  # within the period: no reply
    assert len(lab.sent()) == 1
    # the period is over once a later second has begun
    import time
    start = int(time.time())
    while int(time.time()) <= start + 4:
        time.sleep(0.1)
    send("three")
    replies = lab.sent()
    assert len(replies) == 2 and all("back soon" in d for _, d in replies)
    assert [a[-1] for a, _ in replies] == ["alice@example.org"] * 2
    assert len(list(maildir(u))) == 3


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


def test_redirect_never_loops(lab):
    """The redirected copy carries X-Sieve-Redirected-From; when it comes
    back to the same recipient it is kept, not sent around again."""
    u = lab.user()
    me = "%s@localhost" % u.name
    u.write(".dovecot.sieve", 'redirect "%s";\nredirect "other@example.net";\n' % me)
    r = lab.deliver(u, msg(u, "once"), "-f", "alice@example.org", "-a", me)
    assert r.returncode == 0, r.stderr
    (argv, data), = lab.sent()        # not to itself
    assert argv[-1] == "other@example.net"
    assert data.startswith("X-Sieve-Redirected-From: %s" % me)
    os.unlink(os.path.join(lab.out, os.listdir(lab.out)[0]))
    u.write(".dovecot.sieve", 'redirect "other@example.net";\n')
    r = lab.deliver(u, data.replace("\r\n", "\n"), "-f", "alice@example.org", "-a", me)
    assert r.returncode == 0
    assert lab.sent() == []
    assert b"would loop" in r.stderr
    # the refused redirect to itself kept the first; the looping copy is kept
    assert [m["subject"] for m in maildir(u)] == ["once", "once"]


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
    # a before script that files the message (no keep) ends the chain too,
    # as Pigeonhole's multiscript does; one that keeps lets the next run
    with open(before, "w") as f:
        f.write('require ["fileinto", "copy"];\n'
                'if header :contains "subject" "file" { fileinto "Filed"; }\n'
                'if header :contains "subject" "copy" { fileinto :copy "Copies"; }\n')
    assert lab.deliver(u, msg(u, "file me"), conf=conf).returncode == 0
    assert lab.deliver(u, msg(u, "copy me"), conf=conf).returncode == 0
    assert [m["subject"] for m in maildir(u, "Filed")] == ["file me"]
    assert [m["subject"] for m in maildir(u, "Copies")] == ["copy me"]
    assert sorted(m["subject"] for m in maildir(u, "Personal")) == ["copy me", "hi"]


def test_unknown_user_is_67(lab, bindir):
    r = subprocess.run([os.path.join(bindir, "deliver"), "-c", lab.conf, "-d",
                        "no-such-user-%s" % uuid.uuid4().hex[:6]], input=b"x\n",
                       capture_output=True)
    assert r.returncode == 67


def test_yubin_local_runs_deliver_as_mailbox_command(bindir, run):
    """The MTA side: mail taken by yubin's smtpd, delivered by local(8)
    with mailbox_command = deliver (as Postfix sites run dovecot-lda),
    filed by the user's Sieve script into a Maildir folder."""
    from test_local_delivery import Lab, wait_for
    base = tempfile.mkdtemp(prefix="yubin-local-sieve-", dir="/tmp")
    os.chmod(base, 0o755)
    lab = Lab(base, run)
    try:
        u = lab.useradd()
        conf = os.path.join(base, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("mail_location = maildir:~/Maildir\nlda_mailbox_autocreate = yes\n"
                    "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n")
        os.chmod(conf, 0o644)
        script = os.path.join(u.pw_dir, ".dovecot.sieve")
        with open(script, "w") as f:
            f.write('require "fileinto";\nif header :contains "subject" "work" '
                    '{ fileinto "Work"; }\n')
        os.chown(script, u.pw_uid, u.pw_gid)
        lab.configure('mailbox_command = %s/deliver -c %s -d "$USER" -f "$SENDER" '
                      '-a "$RECIPIENT"\n' % (bindir, conf))
        lab.start()
        rcpt = "%s@local.test" % u.pw_name
        assert lab.send([rcpt], subject="work: the report") == {}
        assert lab.send([rcpt], subject="lunch") == {}
        assert wait_for(lambda: len(re.findall(r"to=<%s>.*status=sent" % re.escape(rcpt),
                                               lab.maillog())) == 2), lab.maillog()
        md = mailbox.Maildir(os.path.join(u.pw_dir, "Maildir"), factory=None, create=False)
        assert os.path.isdir(os.path.join(u.pw_dir, "Maildir", ".Work")), lab.maillog()
        assert [m["subject"] for m in md.get_folder("Work")] == ["work: the report"]
        assert [m["subject"] for m in md] == ["lunch"]
        assert all(m.get_all("return-path") == ["<alice@remote.test>"] for m in md)
    finally:
        lab.close()
        shutil.rmtree(base, ignore_errors=True)


def test_recipient_delimiter_from_dovecot_conf(lab):
    """:detail splits at any character of recipient_delimiter (here "-+")."""
    u = lab.user()
    conf = os.path.join(lab.base, "delim.conf")
    with open(lab.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write("recipient_delimiter = -+\n" + text)
    u.write(".dovecot.sieve", 'require ["envelope", "subaddress", "fileinto", "variables"];\n'
            'if envelope :matches :detail "to" "*" { fileinto "d-${1}"; }\n')
    assert lab.deliver(u, msg(u, "a"), "-a", "%s-lists@localhost" % u.name,
                       conf=conf).returncode == 0
    assert lab.deliver(u, msg(u, "b"), "-a", "%s+news@localhost" % u.name,
                       conf=conf).returncode == 0
    assert [m["subject"] for m in maildir(u, "d-lists")] == ["a"]
    assert [m["subject"] for m in maildir(u, "d-news")] == ["b"]


def test_special_use_from_the_namespace_config(lab):
    """RFC 8579: fileinto :specialuse "\\Junk" goes to the mailbox that has
    the flag in dovecot.conf (here "Spam"), whatever name the script gives."""
    u = lab.user()
    conf = os.path.join(lab.base, "su.conf")
    with open(lab.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text + "namespace inbox {\n  inbox = yes\n"
                "  mailbox Spam {\n    special_use = \\Junk\n  }\n}\n"
                "plugin {\n  sieve_extensions = +special-use\n}\n")
    u.write(".dovecot.sieve", 'require ["special-use", "fileinto"];\n'
            'if specialuse_exists "\\\\Junk" { fileinto :specialuse "\\\\Junk" "Junk"; }\n'
            'if specialuse_exists "\\\\Trash" { fileinto "never"; }\n')
    r = lab.deliver(u, msg(u, "spammy"), conf=conf)
    assert r.returncode == 0, r.stderr
    assert [m["subject"] for m in maildir(u, "Spam")] == ["spammy"]
    assert not os.path.exists(os.path.join(u.home, "Maildir", ".never"))


def test_original_recipient_header_without_a(lab):
    """lda_original_recipient_header: without -a, the original recipient
    (Sieve's envelope "to" here) is the header's address; -a wins over it;
    without the setting the header means nothing"""
    u = lab.user()
    conf = os.path.join(lab.base, "orig.conf")
    with open(lab.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text + "lda_original_recipient_header = X-Original-To\n")
    u.write(".dovecot.sieve", 'require ["envelope", "fileinto"];\n'
            'if envelope :is "to" "list-owner@example.org" { fileinto "Orig"; }\n')

    def with_header(subject):
        return msg(u, subject).replace(
            "Subject:", "X-Original-To: List Owner <list-owner@example.org>\nSubject:")
    assert lab.deliver(u, with_header("via header"), conf=conf).returncode == 0
    assert lab.deliver(u, with_header("dash a"), "-a", "other@example.org",
                       conf=conf).returncode == 0
    assert lab.deliver(u, with_header("no setting")).returncode == 0
    assert [m["subject"] for m in maildir(u, "Orig")] == ["via header"]
    assert sorted(m["subject"] for m in maildir(u)) == ["dash a", "no setting"]
