"""The inbox namespace's separator and prefix (src/imap/imap_ns.c): the
NAMESPACE reply, LIST/LSUB lines, '%' stopping at the separator, and
mailbox-name arguments translated to the on-disk Maildir++ / LAYOUT=fs
names; side by side with Debian's Dovecot on the same configuration."""
import imaplib
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import free_port
from imap_fixtures import ImapBox, login
from pop3_fixtures import listening, wait_for

SLASH = "namespace inbox {\n  inbox = yes\n  separator = /\n}\n"
PREFIX = "namespace inbox {\n  inbox = yes\n  separator = .\n  prefix = INBOX.\n}\n"
FS = "maildir:~/Maildir:LAYOUT=fs"


def make_box(bindir, tmp_path, extra, location=None):
    b = ImapBox(bindir, tmp_path / "r", extra=extra)
    if location is not None:
        with open(b.conf) as f:
            text = f.read()
        with open(b.conf, "w") as f:
            f.write(text.replace("mail_location = maildir:~/Maildir\n",
                                 "mail_location = %s\n" % location))
    b.start()
    return b


def run(m, *args):
    """one command: (status, untagged lines, tagged text without timing)"""
    m.untagged_responses.clear()
    typ, dat = m._simple_command(*args)
    lines = []
    for k, v in m.untagged_responses.items():
        if k in ("LIST", "LSUB", "NAMESPACE", "STATUS"):
            lines += [k + " " + x.decode() for x in v if x is not None]
    text = dat[-1].decode() if dat and dat[-1] is not None else ""
    return typ, sorted(lines), re.sub(r" \([0-9.+ ]+ secs\)\.?$", "", text)


def test_separator_slash_on_maildirpp(bindir, tmp_path):
    b = make_box(bindir, tmp_path, SLASH)
    try:
        m = login(b)
        assert run(m, "NAMESPACE")[1] == ['NAMESPACE (("" "/")) NIL NIL']
        assert run(m, "LIST", '""', '""')[1] == ['LIST (\\Noselect) "/" ""']
        assert run(m, "CREATE", '"A/B"')[0] == "OK"
        assert os.path.isdir(b.folder("A.B"))
        typ, _, text = run(m, "CREATE", '"a.b"')
        assert (typ, text) == ("NO", "[CANNOT] Character not allowed in mailbox name: '.'")
        assert not os.path.exists(b.folder("a.b"))
        assert run(m, "SUBSCRIBE", '"A/B"')[0] == "OK"
        with open(os.path.join(b.maildir, "subscriptions")) as f:
            assert f.read() == "V\t2\n\nA\tB\n"
        assert run(m, "LIST", '""', '"*"')[1] == [
            'LIST (\\HasNoChildren) "/" A/B', 'LIST (\\HasNoChildren) "/" INBOX',
            'LIST (\\Noselect \\HasChildren) "/" A']
        assert run(m, "LIST", '""', '"%"')[1] == [
            'LIST (\\HasNoChildren) "/" INBOX', 'LIST (\\Noselect \\HasChildren) "/" A']
        assert run(m, "LIST", '"A/"', '"%"')[1] == ['LIST (\\HasNoChildren) "/" A/B']
        assert run(m, "LSUB", '""', '"*"')[1] == ['LSUB () "/" A/B']
        m.append("A/B", None, None, b"Subject: x\r\n\r\nbody\r\n")
        assert run(m, "STATUS", '"A/B"', "(MESSAGES)")[1] == ['STATUS A/B (MESSAGES 1)']
        assert m.select("A/B")[0] == "OK"
        assert m.copy("1", "INBOX")[0] == "OK"
        m.close()
        assert run(m, "RENAME", '"A/B"', '"C/D"')[0] == "OK"
        assert os.path.isdir(b.folder("C.D")) and not os.path.exists(b.folder("A.B"))
        assert m.select("C/D")[0] == "OK"
        assert run(m, "DELETE", '"C/D"')[0] == "OK"
        m.logout()
    finally:
        b.cleanup()


def test_prefix_inbox_dot(bindir, tmp_path):
    b = make_box(bindir, tmp_path, PREFIX)
    try:
        m = login(b)
        assert run(m, "NAMESPACE")[1] == ['NAMESPACE (("INBOX." ".")) NIL NIL']
        typ, _, text = run(m, "CREATE", '"Sent"')
        assert (typ, text) == ("NO", "Client tried to access nonexistent namespace. (Mailbox "
                               "name should probably be prefixed with: INBOX.)")
        assert run(m, "CREATE", '"INBOX.Sent"')[0] == "OK"
        assert os.path.isdir(b.folder("Sent"))
        assert run(m, "SUBSCRIBE", '"INBOX.Sent"')[0] == "OK"
        with open(os.path.join(b.maildir, "subscriptions")) as f:
            assert f.read() == "V\t2\n\nSent\n"
        assert run(m, "LIST", '""', '"*"')[1] == [
            'LIST (\\HasChildren) "." INBOX', 'LIST (\\HasNoChildren) "." INBOX.Sent']
        assert run(m, "LIST", '""', '"%"')[1] == ['LIST (\\HasChildren) "." INBOX']
        assert run(m, "LSUB", '""', '"*"')[1] == ['LSUB () "." INBOX.Sent']
        assert run(m, "SELECT", '"Sent"')[0] == "NO"
        assert m.select("INBOX.Sent")[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
        m.logout()
    finally:
        b.cleanup()


def test_layout_fs_default_separator(bindir, tmp_path):
    b = make_box(bindir, tmp_path, "", location=FS)
    try:
        m = login(b)
        assert run(m, "NAMESPACE")[1] == ['NAMESPACE (("" "/")) NIL NIL']
        assert run(m, "CREATE", '"c/d"')[0] == "OK"
        # a "." inside a level is the directory's own (Dovecot's LAYOUT=fs)
        assert run(m, "CREATE", '"a.b/x.y"')[0] == "OK"
        assert os.path.isdir(os.path.join(b.maildir, "c", "d", "cur"))
        assert os.path.isdir(os.path.join(b.maildir, "a.b", "x.y", "cur"))
        assert run(m, "LIST", '""', '"*"')[1] == [
            'LIST (\\HasNoChildren) "/" INBOX', 'LIST (\\HasNoChildren) "/" a.b/x.y',
            'LIST (\\HasNoChildren) "/" c/d', 'LIST (\\Noselect \\HasChildren) "/" a.b',
            'LIST (\\Noselect \\HasChildren) "/" c']
        m.append("a.b/x.y", "(\\Seen)", None, b"Subject: dots\r\n\r\nbody\r\n")
        assert m.select("a.b/x.y")[1] == [b"1"]
        assert run(m, "SUBSCRIBE", '"a.b/x.y"')[0] == "OK"
        with open(os.path.join(b.maildir, "subscriptions")) as f:
            assert f.read() == "V\t2\n\na.b\tx.y\n"
        assert run(m, "LSUB", '""', '"*"')[1] == ['LSUB () "/" a.b/x.y']
        # "." and ".." levels would be paths' (Dovecot's texts)
        assert run(m, "CREATE", '"a/../b"')[2] == "[CANNOT] Invalid mailbox name: Contains '..' part"
        assert run(m, "CREATE", '"../b"')[2] == "[CANNOT] Invalid mailbox name: Contains '..' part"
        assert run(m, "CREATE", '"a/."')[2] == "[CANNOT] Invalid mailbox name: Contains '.' part"
        assert run(m, "RENAME", '"c/d"', '"c/.."')[0] == "NO"
        assert sorted(os.listdir(b.maildir)).count("b") == 0
        m.logout()
    finally:
        b.cleanup()


def test_maildirpp_default_separator(bindir, tmp_path):
    b = make_box(bindir, tmp_path, "")
    try:
        m = login(b)
        assert run(m, "NAMESPACE")[1] == ['NAMESPACE (("" ".")) NIL NIL']
        assert run(m, "LIST", '""', '""')[1] == ['LIST (\\Noselect) "." ""']
        m.logout()
    finally:
        b.cleanup()


SCRIPT = [("NAMESPACE",), ("LIST", '""', '""'), ("CREATE", '"a.b"'), ("CREATE", '"A/B"'),
          ("CREATE", '"Sent"'), ("CREATE", '"INBOX.Sent"'), ("SUBSCRIBE", '"A/B"'),
          ("SUBSCRIBE", '"INBOX.Sent"'), ("LIST", '""', '"*"'), ("LIST", '""', '"%"'),
          ("LSUB", '""', '"*"'), ("RENAME", '"A/B"', '"C/D"'), ("LIST", '""', '"*"'),
          ("SELECT", '"Q/R"'), ("SELECT", '"INBOX.Q"')]


def dovecot_lines(location, ns, script):
    """the SCRIPT's replies from Debian's Dovecot on a fresh tree"""
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(dovecot) or os.getuid() != 0:
        pytest.skip("needs Debian's dovecot and root")
    # outside pytest's tmp (root-only): Dovecot's auth process reads users
    root = pathlib.Path(tempfile.mkdtemp(prefix="yubin-ns-real"))
    os.chmod(str(root), 0o755)
    home = root / "home"
    home.mkdir()
    os.chown(str(home), 1, 1)
    (root / "users").write_text("alice:{PLAIN}secret:1:1::%s::\n" % home)
    (root / "run").mkdir()
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(
        "base_dir = %s/run\nstate_dir = %s\nlog_path = %s/log\nprotocols = imap\n"
        "listen = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\nfirst_valid_uid = 1\n"
        "mail_location = %s\n%s"
        "passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n}\n"
        "userdb {\n driver = passwd-file\n args = %s/users\n}\n"
        "service imap-login {\n inet_listener imap {\n  port = %d\n }\n"
        " inet_listener imaps {\n  port = 0\n }\n}\n"
        % (root, root, root, location, ns, root, root, port))
    r = subprocess.run([dovecot, "-c", str(conf)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0
    try:
        assert wait_for(lambda: listening(port))
        m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        m.login("alice", "secret")
        out = [run(m, *c) for c in script]
        m.logout()
    finally:
        with open(str(root / "run" / "master.pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20)
        shutil.rmtree(str(root), ignore_errors=True)
    return out


DEFAULT = "namespace inbox {\n  inbox = yes\n}\n"
# LAYOUT=fs: "a.b" is one level, as Dovecot takes it (yubin's internal
# separator is "."; the level's dot travels as IMAP_NAME_DOT), and levels
# that would be ".", ".." or hidden files
FS_SCRIPT = SCRIPT + [
    ("CREATE", '"x.y/z"'), ("CREATE", '"p/.q"'), ("CREATE", '".."'), ("CREATE", '"a/../b"'),
    ("CREATE", '"a/./b"'), ("CREATE", '".hidden"'), ("CREATE", '"k/l..m"'),
    ("SUBSCRIBE", '"x.y/z"'), ("LSUB", '""', '"*"'), ("LIST", '""', '"*"'),
    ("LIST", '""', '"x.y/%"'), ("LIST", '""', '"x%"'), ("RENAME", '"x.y/z"', '"m.n"'),
    ("LIST", '""', '"*"'), ("SELECT", '"m.n"'), ("SELECT", "INBOX"), ("STATUS", '"a.b"', "(MESSAGES)"),
    ("DELETE", '"m.n"'), ("DELETE", '"k/l..m"'), ("LIST", '""', '"*"'), ("LSUB", '""', '"*"')]


@pytest.mark.parametrize("ns,location,script", [
    (SLASH, "maildir:~/Maildir", SCRIPT), (PREFIX, "maildir:~/Maildir", SCRIPT),
    (DEFAULT, FS, FS_SCRIPT), (DEFAULT, "maildir:~/Maildir", SCRIPT)])
def test_same_replies_as_dovecot(bindir, tmp_path, ns, location, script):
    want = dovecot_lines(location, ns, script)
    b = make_box(bindir, tmp_path, ns, location=location)
    try:
        m = login(b)
        got = [run(m, *c) for c in script]
        m.logout()
    finally:
        b.cleanup()
    for c, w, g in zip(script, want, got):
        assert (c, w[0], w[1]) == (c, g[0], g[1])
        # yubin checks a Maildir++ name for "/" before looking it up
        # (Dovecot: "Mailbox doesn't exist"); the status is the same
        if w[0] == "NO" and not (ns == DEFAULT and c == ("SUBSCRIBE", '"A/B"')):
            assert (c, w[2]) == (c, g[2])


def test_slash_with_utf8_and_list_extended(bindir, tmp_path):
    b = make_box(bindir, tmp_path, SLASH)
    try:
        m = login(b)
        assert run(m, "CREATE", '"&AMQ-/B"')[0] == "OK"
        assert os.path.isdir(b.folder("&AMQ-.B"))
        assert run(m, "SUBSCRIBE", '"&AMQ-/B"')[0] == "OK"
        assert run(m, "LIST", '(SUBSCRIBED)', '""', '"*"', "RETURN", "(STATUS (MESSAGES))")[1] \
            == ['LIST (\\Subscribed) "/" &AMQ-/B', 'STATUS &AMQ-/B (MESSAGES 0)']
        assert run(m, "ENABLE", "UTF8=ACCEPT")[0] == "OK"
        m._encoding = "utf-8"
        assert run(m, "LIST", '""', '"%/B"')[1] == ['LIST (\\HasNoChildren) "/" "Ä/B"']
        assert run(m, "CREATE", '"Ö/C"')[0] == "OK"
        assert os.path.isdir(b.folder("&ANY-.C"))
        m.logout()
    finally:
        b.cleanup()
