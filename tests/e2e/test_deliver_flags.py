"""Sieve imap4flags (RFC 5232) stored by deliver (dovecot-lda's role) and
by the LMTP server (which delivers through the same code), as Dovecot's
LDA stores them: in a Maildir by the letters of the file name (keywords
a..z named in dovecot-keywords), in an mbox by Status, X-Status and
X-Keywords with the keyword names in the first message's X-IMAPbase.
Python's imaplib sees the FLAGS on yubin's IMAP server and on Debian's
Dovecot reading the same store; keyword names that are not IMAP atoms
are skipped and the message is still delivered; a sender's own Status,
X-Status and X-Keywords headers set nothing.

Needs root (deliver and Debian's Dovecot become the mail owner)."""
import imaplib
import os
import re
import smtplib
import subprocess

import pytest

from conftest import free_port
from imap_fixtures import ImapBox, real_dovecot
from lda_fixtures import both_ldas
from pop3_fixtures import listening, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

SPOOL_FMT = "mbox:~/mail:INBOX=%s/spool/%%u"
LONG = "k" * 51

SCRIPT = r'''require ["imap4flags", "fileinto"];
if header :contains "subject" "noflags" { keep; stop; }
if header :contains "subject" "work" {
  fileinto :flags ["\\Answered", "$Work", "Project_X"] "Work";
  stop;
}
if header :contains "subject" "bad" {
  addflag ["\\Flagged", "x]y", "(paren", "ok_kw", "%s", "%s"];
  keep;
  stop;
}
setflag "\\Seen";
addflag ["\\Flagged", "$Important"];
addflag "\\Deleted \\Draft";
''' % (LONG, "caf\u00e9")

# subject -> (folder, the FLAGS every reader must show)
WANT = [
    ("noflags", "INBOX", set()),
    ("plain", "INBOX", {"\\Seen", "\\Flagged", "$Important", "\\Deleted", "\\Draft"}),
    ("bad", "INBOX", {"\\Flagged", "ok_kw"}),
    ("work", "Work", {"\\Answered", "$Work", "Project_X"}),
]


def message(subject):
    extra = ""
    if subject == "noflags":
        # a sender's mbox fields must not set flags
        extra = "Status: RO\r\nX-Status: AF\r\nX-Keywords: spoofed\r\n"
    return ("From: Sender <sender@example.org>\r\nTo: alice@example.org\r\n"
            "Subject: %s\r\nMessage-ID: <%s@example.org>\r\n%s\r\nbody of %s\r\n"
            % (subject, subject, extra, subject)).encode()


@pytest.fixture(params=["maildir", "mbox"])
def box(request, bindir, tmp_path):
    lmtp = free_port()
    b = ImapBox(bindir, tmp_path / "r")
    b.kind = request.param
    b.lmtp = lmtp
    if b.kind == "mbox":
        b.location = SPOOL_FMT % b.root
        b.spool = os.path.join(b.root, "spool", "alice")
        os.makedirs(os.path.join(b.root, "spool"), exist_ok=True)
        os.makedirs(os.path.join(b.home, "mail"), exist_ok=True)
        os.chown(os.path.join(b.root, "spool"), b.uid, b.gid)
    else:
        b.location = "maildir:~/Maildir"
    with open(b.conf) as f:
        text = f.read()
    text = text.replace("mail_location = maildir:~/Maildir\n",
                        "mail_location = %s\n" % b.location)
    text = text.replace("protocols = imap pop3\n", "protocols = imap pop3 lmtp\n")
    text += ("lda_mailbox_autocreate = yes\n"
             "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n"
             "    port = %d\n  }\n}\n" % lmtp)
    with open(b.conf, "w") as f:
        f.write(text)
    with open(os.path.join(b.home, ".dovecot.sieve"), "w") as f:
        f.write(SCRIPT)
    b.chown()
    b.start()
    assert wait_for(lambda: listening(lmtp)), b.logtext()
    yield b
    b.cleanup()


def deliver_all(box, how):
    for subject, _, _ in WANT:
        if how == "deliver":
            r = subprocess.run([os.path.join(box.bindir, "deliver"), "-c", box.conf,
                                "-d", "alice", "-f", "sender@example.org"],
                               input=message(subject), capture_output=True, timeout=60)
            assert r.returncode == 0, r.stderr
            if subject == "bad":
                err = r.stderr.decode()
                for name in ("x]y", "(paren", LONG):
                    assert "invalid keyword '%s' ignored" % name in err, err
        else:
            c = smtplib.LMTP("127.0.0.1", box.lmtp, timeout=30)
            assert c.sendmail("sender@example.org", ["alice"], message(subject)) == {}
            c.quit()


def flags_of(m):
    """folder -> [(subject, FLAGS set without \\Recent)] in message order"""
    got = {}
    for folder in ("INBOX", "Work"):
        typ, data = m.select(folder, readonly=True)
        assert typ == "OK", data
        typ, rows = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK", rows
        res = []
        for r in rows:
            if not isinstance(r, tuple):
                continue
            fl = re.search(rb"FLAGS \(([^)]*)\)", r[0]).group(1).decode().split()
            subj = r[1].decode().split(":", 1)[1].strip()
            res.append((subj, set(f for f in fl if f != "\\Recent")))
        got[folder] = res
        m.close()
    return got


def want():
    w = {"INBOX": [], "Work": []}
    for subject, folder, fl in WANT:
        w[folder].append((subject, fl))
    return w


def check_store(box):
    """the files themselves: Dovecot's shapes"""
    if box.kind == "mbox":
        with open(box.spool, "rb") as f:
            inbox = f.read()
        # the sender's fields are gone, ours are there
        assert b"spoofed" not in inbox and b"X-Status: AF" not in inbox
        first = inbox.split(b"\n\n", 1)[0]
        base = re.search(rb"\nX-IMAPbase: \d+ \d{10}( [^\n]*)?\n", first)
        assert base and set(base.group(1).split()) >= {b"$Important", b"ok_kw"}, inbox
        assert b"X-Keywords: $Important\n" in inbox
        assert b"X-Status: FTD\n" in inbox and b"Status: R\n" in inbox
        with open(os.path.join(box.home, "mail", "Work"), "rb") as f:
            work = f.read()
        assert re.search(rb"\nX-IMAPbase: \d+ 0000000001 \$Work Project_X\n", work), work
        assert b"X-Keywords: $Work Project_X\n" in work
    else:
        with open(os.path.join(box.maildir, "dovecot-keywords")) as f:
            kw = dict(line.split(" ", 1)[::-1] for line in f.read().split("\n") if line)
        assert set(kw) == {"$Important", "ok_kw"}, kw
        names = os.listdir(os.path.join(box.maildir, "cur"))
        assert len(names) == 2 and len(os.listdir(os.path.join(box.maildir, "new"))) == 1
        letters = {chr(ord("a") + int(kw["$Important"]))}
        assert any(n.endswith(":2,DFST" + "".join(sorted(letters))) for n in names), names
        with open(os.path.join(box.maildir, ".Work", "dovecot-keywords")) as f:
            assert f.read() == "0 $Work\n1 Project_X\n"
        (work,) = os.listdir(os.path.join(box.maildir, ".Work", "cur"))
        assert work.endswith(":2,Rab"), work


@pytest.mark.parametrize("how", ["deliver", "lmtp"])
def test_flags_and_keywords_stored_as_dovecot_reads_them(box, how):
    deliver_all(box, how)
    check_store(box)
    # Debian's Dovecot first, on the store exactly as delivered
    port, stop = real_dovecot(box, box.location)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        assert flags_of(d) == want()
        d.logout()
    finally:
        stop()
    m = imaplib.IMAP4("127.0.0.1", box.imap, timeout=20)
    m.starttls(ssl_context=__import__("imap_fixtures").tls_ctx())
    m.login("alice", "secret")
    assert flags_of(m) == want()
    m.logout()
    if how == "lmtp":
        assert "invalid keyword 'x]y' ignored" in box.logtext(), box.logtext()


def test_yubin_imap_sees_delivered_flags_before_any_other_reader(box):
    """yubin's own IMAP reads what deliver wrote, with no other reader
    having touched the store"""
    deliver_all(box, "deliver")
    m = imaplib.IMAP4("127.0.0.1", box.imap, timeout=20)
    m.starttls(ssl_context=__import__("imap_fixtures").tls_ctx())
    m.login("alice", "secret")
    assert flags_of(m) == want()
    m.logout()


def store_flags(kind, home):
    """{folder: {subject: flags}} read from the files with Python's own
    mailbox module: mbox Status/X-Status/X-Keywords, Maildir letters with
    dovecot-keywords"""
    import mailbox
    names = {"R": "\\Seen", "A": "\\Answered", "F": "\\Flagged", "T": "\\Draft",
             "D": "\\Deleted"}
    md_names = {"S": "\\Seen", "R": "\\Answered", "F": "\\Flagged", "D": "\\Draft",
                "T": "\\Deleted"}
    res = {}
    for folder in ("INBOX", "Work"):
        got = {}
        if kind == "mbox":
            path = os.path.join(home, "mail", "inbox" if folder == "INBOX" else folder)
            for m in mailbox.mbox(path, create=False):
                fl = set(names[c] for c in m.get_flags() if c in names)
                fl |= set((m.get("X-Keywords") or "").split())
                got[m["subject"]] = fl
        else:
            path = os.path.join(home, "Maildir") + ("" if folder == "INBOX" else "/.Work")
            kw = {}
            try:
                with open(os.path.join(path, "dovecot-keywords")) as f:
                    for line in f.read().splitlines():
                        i, name = line.split(" ", 1)
                        kw[chr(ord("a") + int(i))] = name
            except FileNotFoundError:
                pass
            md = mailbox.Maildir(path, factory=None, create=False)
            for key in md.keys():
                m = md[key]
                got[m["subject"]] = set(md_names.get(c) or kw[c] for c in m.get_flags())
        res[folder] = got
    return res


@pytest.mark.parametrize("kind", ["maildir", "mbox"])
def test_same_flags_as_debian_dovecot_lda(bindir, tmp_path, kind):
    """the same script and messages through Debian's dovecot-lda and
    yubin's deliver, each into its own store: the same flags and keywords
    per message (Dovecot's LDA drops all of a message's keywords when one
    is longer than 50 characters, so that name is left out here:
    docs/compat.md)"""
    location = "mbox:~/mail:INBOX=~/mail/inbox" if kind == "mbox" else "maildir:~/Maildir"
    script = SCRIPT.replace('"%s", ' % LONG, "")
    msgs = [message(subject).replace(b"\r\n", b"\n") for subject, _, _ in WANT]
    with both_ldas(bindir, location, script, msgs) as homes:
        theirs = store_flags(kind, homes["dovecot"])
        ours = store_flags(kind, homes["yubin"])
        assert theirs == ours
        assert ours == {f: {s: fl for s, fo, fl in WANT if fo == f} for f in ("INBOX", "Work")}
