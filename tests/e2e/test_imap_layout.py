"""IMAP on mail_location variants (src/storage/mail_location.c,
src/imap/imap_layout.c): Maildir with LAYOUT=fs (folders as ROOT/A/B)
driven by imaplib, and Debian's Dovecot reading the same tree with the
same UIDs and flags, both ways; a location that does not parse refuses
the login instead of serving something else."""
import imaplib
import os
import pathlib
import subprocess

import pytest

from imap_fixtures import ImapBox, login, tls_ctx
from imap_fixtures import real_dovecot as _real_dovecot
from pop3_fixtures import wait_for

FS = "maildir:~/Maildir:LAYOUT=fs"


def make_box(bindir, tmp_path, location):
    b = ImapBox(bindir, tmp_path / "r")
    with open(b.conf) as f:
        text = f.read()
    with open(b.conf, "w") as f:
        # separator "." as in real_dovecot() (LAYOUT=fs defaults to "/",
        # tests/e2e/test_imap_ns.py)
        f.write(text.replace("mail_location = maildir:~/Maildir\n",
                             "mail_location = %s\n" % location)
                + "namespace inbox {\n  inbox = yes\n  separator = .\n}\n")
    return b


@pytest.fixture
def fsbox(bindir, tmp_path):
    b = make_box(bindir, tmp_path, FS)
    b.put("1700000001.M1P1.test", b"Subject: one\n\nbody one\n")
    yield b
    b.cleanup()


def real_dovecot(box, location):
    """Dovecot with "." as the inbox namespace's separator, as yubin's box"""
    return _real_dovecot(box, location, "namespace inbox {\n inbox = yes\n separator = .\n}\n")


def strip(rows):
    """\\Recent belongs to whichever session saw a message first"""
    def one(r):
        return r.replace(b" \\Recent", b"").replace(b"\\Recent ", b"").replace(b"\\Recent", b"")
    return [(one(r[0]),) + r[1:] if isinstance(r, tuple) else one(r) for r in rows]


def names(m, pattern="*"):
    typ, rows = m.list('""', pattern)
    assert typ == "OK"
    return sorted((r.decode() for r in rows if r is not None), key=lambda r: r.rsplit(" ", 1)[1])


def test_layout_fs_folders_are_directories(fsbox):
    fsbox.start()
    m = login(fsbox)
    assert m.create("Work.Sub")[0] == "OK"
    md = pathlib.Path(fsbox.maildir)
    assert (md / "Work" / "Sub" / "cur").is_dir()
    assert not (md / ".Work.Sub").exists()
    # the parent exists only as a directory: \Noselect, with children
    assert names(m) == ['(\\HasNoChildren) "." INBOX', '(\\Noselect \\HasChildren) "." Work',
                        '(\\HasNoChildren) "." Work.Sub']
    assert m.select("Work")[0] == "NO"
    assert m.append("Work.Sub", "(\\Flagged)", None, b"Subject: in sub\r\n\r\nhi\r\n")[0] == "OK"
    assert len(os.listdir(md / "Work" / "Sub" / "cur")) == 1
    typ, data = m.select("Work.Sub")
    assert typ == "OK" and data == [b"1"]
    typ, data = m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"\\Flagged" in data[0][0] and data[0][1].startswith(b"Subject: in sub")
    # COPY from INBOX and STATUS through the layout
    m.select("INBOX")
    assert m.copy("1", "Work.Sub")[0] == "OK"
    assert m.status("Work.Sub", "(MESSAGES)")[1] == [b'Work.Sub (MESSAGES 2)']
    # RENAME moves the subtree with its parent directory
    m.create("Work")
    assert m.rename("Work", "Play.Old")[0] == "OK"
    assert (md / "Play" / "Old" / "Sub" / "cur").is_dir() and not (md / "Work").exists()
    assert m.status("Play.Old.Sub", "(MESSAGES)")[1] == [b'Play.Old.Sub (MESSAGES 2)']
    assert m.subscribe("Play.Old.Sub")[0] == "OK"
    assert m.lsub('""', "*")[1] == [b'() "." Play.Old.Sub']
    # DELETE of a leaf removes it; of a parent with children leaves \Noselect
    assert m.delete("Play.Old.Sub")[0] == "OK"
    assert not (md / "Play" / "Old" / "Sub").exists()
    assert m.delete("Play.Old")[0] == "OK"
    assert not (md / "Play" / "Old").exists()
    assert m.create("A.B")[0] == "OK" and m.create("A")[0] == "OK"
    assert m.delete("A")[0] == "OK"
    assert (md / "A" / "B" / "cur").is_dir() and not (md / "A" / "cur").exists()
    # names that would leave the root are still refused
    assert m.create("../x")[0] == "NO"
    m.logout()


def test_layout_fs_refuses_the_maildirs_own_directories_as_names(fsbox):
    """Under LAYOUT=fs the folder "cur" would be INBOX's own cur/: DELETE
    "cur" must not empty INBOX, and no name part may be cur, new or tmp."""
    fsbox.start()
    m = login(fsbox)
    assert m.create("Work")[0] == "OK"
    for name in ("cur", "new", "tmp", "Work.cur", "Work.new.x"):
        for verb in (m.delete, m.create, m.select):
            typ, data = verb(name)
            assert typ == "NO" and b"Invalid mailbox name" in data[0], (verb, name, data)
        assert m.append(name, None, None, b"Subject: x\r\n\r\nx\r\n")[0] == "NO"
    m.select("INBOX")
    typ, data = m.copy("1", "Work.cur")
    assert typ == "NO", data
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    md = pathlib.Path(fsbox.maildir)
    assert len(os.listdir(md / "cur")) == 1 and not (md / "Work" / "cur" / "cur").exists()
    m.logout()


def test_dovecot_and_yubin_share_a_layout_fs_tree(fsbox):
    """Dovecot (LAYOUT=fs, separator ".") makes folders and mail; yubin
    serves them with the same UIDs, UIDVALIDITY and flags; then yubin
    writes and Dovecot reads back."""
    port, stop = real_dovecot(fsbox, FS)
    items = "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        d.create("Lists.Debian")
        d.append("Lists.Debian", "(\\Seen)", None, b"Subject: d1\r\n\r\none\r\n")
        d.append("Lists.Debian", "(\\Answered $Label1)", None, b"Subject: d2\r\n\r\ntwo\r\n")
        d.select("Lists.Debian")
        d.store("1", "+FLAGS", "(\\Deleted)")
        d.expunge()
        want = d.fetch("1:*", items)[1]
        want_status = d.status("Lists.Debian", "(MESSAGES UIDNEXT UIDVALIDITY)")[1]
        want_list = names(d)
        d.logout()
    finally:
        stop()
    assert (pathlib.Path(fsbox.maildir) / "Lists" / "Debian" / "cur").is_dir()
    fsbox.start()
    m = login(fsbox)
    assert names(m) == want_list
    assert m.status("Lists.Debian", "(MESSAGES UIDNEXT UIDVALIDITY)")[1] == want_status
    m.select("Lists.Debian")
    assert strip(m.fetch("1:*", items)[1]) == strip(want)
    m.create("Lists.Yubin")
    m.append("Lists.Yubin", "(\\Draft)", None, b"Subject: y1\r\n\r\nfrom yubin\r\n")
    m.store("1", "+FLAGS", "(\\Flagged)")
    want2 = m.fetch("1:*", items)[1]
    want_y = m.status("Lists.Yubin", "(MESSAGES UIDNEXT UIDVALIDITY)")[1]
    m.logout()
    fsbox.stop()
    port, stop = real_dovecot(fsbox, FS)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        d.select("Lists.Debian", readonly=True)
        got2 = d.fetch("1:*", items)[1]
        got_y = d.status("Lists.Yubin", "(MESSAGES UIDNEXT UIDVALIDITY)")[1]
        d.select("Lists.Yubin", readonly=True)
        got_flags = d.fetch("1", "(FLAGS)")[1]
        d.logout()
    finally:
        stop()
    assert strip(got2) == strip(want2) and got_y == want_y
    assert b"\\Draft" in got_flags[0]


def test_inbox_elsewhere_and_a_bad_location(bindir, tmp_path):
    """INBOX= puts INBOX apart from the folders' root; a location that
    does not parse refuses the login rather than serve another mailbox."""
    b = make_box(bindir, tmp_path, "maildir:~/Folders:INBOX=~/Maildir:INDEX=~/idx")
    try:
        b.put("1700000001.M1P1.test", b"Subject: one\n\nbody one\n")
        b.start()
        m = login(b)
        assert m.select("INBOX")[1] == [b"1"]
        assert m.create("Work")[0] == "OK"
        assert os.path.isdir(os.path.join(b.home, "Folders", ".Work", "cur"))
        m.logout()
        b.stop()
        with open(b.conf) as f:
            text = f.read()
        with open(b.conf, "w") as f:
            f.write(text.replace("maildir:~/Folders:INBOX=~/Maildir:INDEX=~/idx",
                                 "maildir:~/Maildir:LAYOUT=index"))
        b.start()
        m = imaplib.IMAP4("127.0.0.1", b.imap, timeout=20)
        m.starttls(ssl_context=tls_ctx())
        with pytest.raises(imaplib.IMAP4.error):
            m.login("alice", "secret")
        m.logout()
        assert wait_for(lambda: "unsupported LAYOUT" in b.logtext()), b.logtext()
    finally:
        b.cleanup()


def test_deliver_into_a_layout_fs_folder(fsbox, bindir):
    """dovecot-lda (yubin deliver -m) reads the same mail_location: with
    LAYOUT=fs it stores into ROOT/A/B, which IMAP then serves (the folder
    must exist: -m falls back to INBOX otherwise, as Dovecot's does)."""
    fsbox.start()
    m = login(fsbox)
    assert m.create("Lists.Debian")[0] == "OK"
    r = subprocess.run([os.path.join(bindir, "deliver"), "-c", fsbox.conf, "-d", "alice",
                        "-m", "Lists.Debian"], input=b"Subject: lda\n\nvia deliver\n",
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r
    cur = pathlib.Path(fsbox.maildir) / "Lists" / "Debian"
    assert len(os.listdir(cur / "new")) + len(os.listdir(cur / "cur")) == 1
    assert not (pathlib.Path(fsbox.maildir) / ".Lists.Debian").exists()
    assert names(m, "Lists*")[-1] == '(\\HasNoChildren) "." Lists.Debian'
    m.select("Lists.Debian")
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1].startswith(b"Subject: lda")
    m.logout()
