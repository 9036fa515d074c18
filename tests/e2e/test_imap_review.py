"""Review findings on the IMAP server (each test failed before its fix):
RENAME of a mailbox under its own child, and others listed per test.
Real clients (imaplib, raw sockets) against a yubin instance; where a
reply text matters it is Dovecot 2.3's, checked side by side."""
import os
import threading
import time

import pytest

from imap_fixtures import ImapBox
from test_imap_ext import Raw, assert_same, side_by_side
from test_imap_layout import FS, make_box


@pytest.fixture
def box(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r")
    b.put("1700000001.M1P1.test", b"From: a@example.org\nSubject: one\n\nbody\n")
    yield b
    b.cleanup()


@pytest.mark.parametrize("location", ["maildir:~/Maildir", FS])
def test_rename_under_own_child_refused(bindir, tmp_path, location):
    """RENAME a a.b: Maildir++ made it a.b.b (the renamed folder was moved
    again with the children), LAYOUT=fs answered SERVERBUG (rename(2)
    into itself); Dovecot refuses it and nothing moves"""
    b = make_box(bindir, tmp_path, location)
    try:
        b.start()
        c = Raw(b.imap)
        assert c.cmd("CREATE a")[-1].split()[1] == b"OK"
        assert c.cmd("CREATE a.x")[-1].split()[1] == b"OK"
        r = c.cmd("RENAME a a.b")
        assert r[-1].split(b" ", 1)[1].startswith(
            b"NO Can't rename mailbox under its own child"), r
        r = c.cmd("RENAME a.x a.x.y")
        assert r[-1].split(b" ", 1)[1].startswith(b"NO Can't rename"), r
        names = sorted(l.rsplit(b" ", 1)[1].strip() for l in c.cmd('LIST "" "a*"')[:-1])
        assert names == [b"a", b"a.x"], names
        # a sibling whose name only starts the same is no child
        assert c.cmd("RENAME a ab")[-1].split()[1] == b"OK"
        names = sorted(l.rsplit(b" ", 1)[1].strip() for l in c.cmd('LIST "" "a*"')[:-1])
        assert names == [b"ab", b"ab.x"], names
        c.close()
    finally:
        b.cleanup()


def test_rename_under_own_child_as_dovecot(bindir, tmp_path):
    rows = side_by_side(bindir, tmp_path, [
        "CREATE a", "CREATE a.x", "RENAME a a.b", "RENAME a.x a.x.y", 'LIST "" "a*"'])
    assert_same(rows)


KEYWORD_CMDS = [
    "SELECT INBOX",
    "STORE 1 +FLAGS (a[b c])", "STORE 1 +FLAGS (a]b)", "STORE 1 -FLAGS (a%b)",
    "STORE 1 +FLAGS (\\Seen ok\\x)", "STORE 1 +FLAGS (" + "k" * 51 + ")",
    "STORE 1 +FLAGS (" + "k" * 50 + ")", "FETCH 1 FLAGS",
    "EXAMINE INBOX", "STORE 1 +FLAGS (a]b)",
]


def test_invalid_keywords_refused_as_dovecot(bindir, tmp_path):
    """A keyword with a space, "]", "%", "*", "\\" or over 50 characters
    was stored (STORE, and APPEND took quoted strings and literals too)
    and then echoed in FLAGS and PERMANENTFLAGS, where a client reads it
    as two flags or as the end of the response code"""
    assert_same(side_by_side(bindir, tmp_path, KEYWORD_CMDS))


def test_append_flags_checked(box):
    """APPEND's flags as Dovecot checks them (its replies; Dovecot answers
    before the continuation, yubin after the literal)"""
    box.start()
    c = Raw(box.imap)
    for flags, want in (('"a b"', b"BAD Error in IMAP command APPEND: Flags list contains "
                                  b"non-atoms"),
                        ("k]", b"NO [CANNOT] Invalid characters in keyword"),
                        ("\\Recent", b"BAD Error in IMAP command APPEND: Invalid system flag "
                                       b"\\RECENT"),
                        ("\\foo", b"BAD Error in IMAP command APPEND: Invalid system flag "
                                    b"\\FOO"),
                        ("k" * 51, b"NO [CANNOT] Keyword length too long")):
        r = c.cmd("APPEND INBOX (%s) {1}" % flags, b"x")
        assert r[-1].split(b" ", 1)[1].startswith(want), r
    r = c.cmd("APPEND INBOX ($Forwarded \\Seen) {1}", b"x")
    assert r[-1].split()[1] == b"OK", r
    c.cmd("SELECT INBOX")
    r = c.cmd("FETCH 1:* FLAGS")
    assert r[:-1] == [b"* 1 FETCH (FLAGS ())\r\n", b"* 2 FETCH (FLAGS (\\Seen $Forwarded))\r\n"], r
    c.close()


def test_no_broken_flags_lists(box):
    # a dovecot-keywords file with names no client could parse (written
    # by an older yubin): they are not shown
    with open(os.path.join(box.maildir, "dovecot-keywords"), "w") as f:
        f.write("0 good\n1 a b\n2 k]\n3 x)y\n")
    os.rename(os.path.join(box.maildir, "new", "1700000001.M1P1.test"),
              os.path.join(box.maildir, "cur", "1700000001.M1P1.test:2,abcd"))
    box.chown()
    box.start()
    c = Raw(box.imap)
    r = c.cmd("SELECT INBOX")
    assert b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft good)\r\n" in r, r
    r = c.cmd("FETCH 1 FLAGS")
    assert r[0] == b"* 1 FETCH (FLAGS (good))\r\n", r
    r = c.cmd("APPEND INBOX ({4}\r\nx\r\ny) {1}", b"z")
    assert r[-1].split()[1] == b"BAD", r
    assert c.cmd("FETCH 1:* FLAGS")[-2:][0].startswith(b"* 1 FETCH"), "one message only"
    c.close()


def test_keywords_of_two_sessions(bindir, tmp_path):
    """Each session kept the keyword names it had read and added a new one
    at its own next index: two sessions that each set a new keyword gave
    both the same letter, and the file the last writer's name, so one
    message showed the other's keyword (and 12 of 24 names were lost with
    concurrent STOREs)"""
    b = ImapBox(bindir, tmp_path / "r")
    try:
        for i in range(24):
            b.put("17000000%02d.M1P1.test" % i, b"Subject: %d\n\nx\n" % i)
        b.start()
        a, c = Raw(b.imap), Raw(b.imap)
        a.cmd("SELECT INBOX")
        c.cmd("SELECT INBOX")
        assert a.cmd("STORE 1 +FLAGS.SILENT (foo)")[-1].split()[1] == b"OK"
        assert c.cmd("STORE 2 +FLAGS.SILENT (bar)")[-1].split()[1] == b"OK"
        # both at once, each pipelining its STOREs
        def run(conn, k):
            conn.send(b"".join(b"s%d STORE %d +FLAGS.SILENT (kw%d_%d)\r\n" % (i, i + 1, k, i)
                               for i in range(k + 2, 24, 2)))
            done = 0
            while done < 11:
                line = conn.f.readline()
                assert line, "connection closed"
                if line.startswith(b"s"):
                    assert line.split()[1] == b"OK", line
                    done += 1
        ts = [threading.Thread(target=run, args=(conn, k)) for k, conn in enumerate((a, c))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        d = Raw(b.imap)
        d.cmd("SELECT INBOX")
        r = d.cmd("FETCH 1:* FLAGS")[:-1]
        want = [b"foo", b"bar"] + [b"kw%d_%d" % (i % 2, i) for i in range(2, 24)]
        assert r == [b"* %d FETCH (FLAGS (%s))\r\n" % (i + 1, w) for i, w in enumerate(want)], r
        for conn in (a, c, d):
            conn.close()
    finally:
        b.cleanup()


def test_subscriptions_of_two_sessions(bindir, tmp_path):
    """SUBSCRIBE read the subscriptions file, changed it and wrote it back
    with no lock: two sessions subscribing at once lost each other's"""
    b = ImapBox(bindir, tmp_path / "r")
    try:
        for i in range(40):
            os.makedirs(os.path.join(b.maildir, ".f%d" % i, "cur"))
        b.chown()
        b.start()
        conns = [Raw(b.imap), Raw(b.imap)]

        def run(conn, k):
            conn.send(b"".join(b"s%d SUBSCRIBE f%d\r\n" % (i, i) for i in range(k, 40, 2)))
            done = 0
            while done < 20:
                line = conn.f.readline()
                assert line, "connection closed"
                if line.startswith(b"s"):
                    assert line.split()[1] == b"OK", line
                    done += 1
        ts = [threading.Thread(target=run, args=(conn, k)) for k, conn in enumerate(conns)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        r = conns[0].cmd('LSUB "" "*"')[:-1]
        assert sorted(l.rsplit(b" ", 1)[1].strip() for l in r) == \
            sorted(b"f%d" % i for i in range(40)), r
        for conn in conns:
            conn.close()
    finally:
        b.cleanup()


def test_largest_number_in_sets_as_dovecot(bindir, tmp_path):
    """4294967295 is a valid nz-number: "UID FETCH 1:4294967295" was BAD"""
    assert_same(side_by_side(bindir, tmp_path, [
        "SELECT INBOX", "UID FETCH 4294967295 FLAGS", "UID FETCH 1:4294967295 UID",
        "UID FETCH 4294967295:* UID", "FETCH 4294967295 FLAGS", "UID SEARCH UID 4294967295",
        "UID SEARCH UID 2:4294967295", "FETCH 4294967296 FLAGS"]))


@pytest.mark.parametrize("enabling", ["FETCH 1 (FLAGS MODSEQ)", "ENABLE QRESYNC",
                                      "SEARCH MODSEQ 1", "STATUS Drafts (HIGHESTMODSEQ)",
                                      "STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)"])
def test_condstore_enabled_while_selected(box, enabling):
    """RFC 7162 3.1 (and Dovecot): the first CONDSTORE enabling command
    with a mailbox selected sends HIGHESTMODSEQ; yubin said nothing, so a
    client that selected without CONDSTORE had no modseq to start from"""
    os.makedirs(os.path.join(box.maildir, ".Drafts", "cur"))
    box.chown()
    box.start()
    c = Raw(box.imap)
    c.cmd("SELECT INBOX")
    r = c.cmd(enabling)
    highest = [l for l in r if l.startswith(b"* OK [HIGHESTMODSEQ ")]
    assert len(highest) == 1 and r[-1].split()[1] == b"OK", r
    # once only; the same number FETCH MODSEQ gives
    r = c.cmd("FETCH 1 MODSEQ")
    assert not [l for l in r if b"HIGHESTMODSEQ" in l], r
    if "STORE" not in enabling:
        assert highest[0].split()[3].rstrip(b"]") == r[0].split(b"(")[-1].split(b")")[0], r
    c.close()


def test_condstore_select_reports_once(box):
    box.start()
    c = Raw(box.imap)
    c.cmd("SELECT INBOX")
    r = c.cmd("SELECT INBOX (CONDSTORE)")
    assert len([l for l in r if l.startswith(b"* OK [HIGHESTMODSEQ ")]) == 1, r
    c.close()


def test_long_utf8_name_is_one_mutf7_run(box):
    """A folder named in UTF-8 (UTF8=ACCEPT) with more than 64 non-ASCII
    characters in a row was stored as "&...-&...-": a client without
    UTF8=ACCEPT (or Dovecot) names the same folder "&...-" and did not
    find it"""
    import base64
    name = "\u00e9" * 70
    mutf7 = "&" + base64.b64encode(name.encode("utf-16-be")).decode().rstrip("=").replace(
        "/", ",") + "-"
    box.start()
    u = Raw(box.imap)
    assert u.cmd("ENABLE UTF8=ACCEPT")[-1].split()[1] == b"OK"
    r = u.cmd(b'CREATE "x' + name.encode() + b'"')
    assert r[-1].split()[1] == b"OK", r
    assert os.path.isdir(os.path.join(box.maildir, ".x" + mutf7))
    plain = Raw(box.imap)
    r = plain.cmd("SELECT x" + mutf7)
    assert r[-1].split()[1] == b"OK", r
    u.close()
    plain.close()


def test_inbox_child_any_case_as_dovecot(bindir, tmp_path):
    """"CREATE inbox.foo" made a second hierarchy ".inbox.foo" beside
    INBOX's children, listed as "inbox.foo" under a \\Noselect "inbox";
    Dovecot takes it as INBOX.foo"""
    assert_same(side_by_side(bindir, tmp_path, [
        "CREATE inbox.foo", "CREATE INBOX.bar", 'LIST "" "*"', "SELECT inbox.foo",
        "SUBSCRIBE inBox.foo", 'LSUB "" "*"', "RENAME inbox.foo inbox.baz", 'LIST "" "*"',
        "DELETE iNbox.baz", 'LIST "" "%"']))


def test_messages_renamed_by_another_session(bindir, tmp_path):
    """Another session (or Dovecot, or a second client) changing a
    message's flags renames its file; until this session synced, FETCH
    answered nothing for it, a non-PEEK FETCH did not set \\Seen, SEARCH
    TEXT missed it, COPY failed with EXPUNGEISSUED, MOVE left the
    original in place and EXPUNGE kept a message still \\Deleted"""
    b = ImapBox(bindir, tmp_path / "r")
    try:
        os.makedirs(os.path.join(b.maildir, ".Drafts", "cur"))
        for i in range(1, 6):
            b.put("170000000%d.M1P1.test" % i, b"Subject: s%d\n\nbody%d word\n" % (i, i))
        b.chown()
        b.start()
        a, o = Raw(b.imap), Raw(b.imap)
        a.cmd("SELECT INBOX")
        o.cmd("SELECT INBOX")
        a.cmd("STORE 5 +FLAGS.SILENT (\\Deleted)")
        o.cmd("NOOP")
        assert o.cmd("STORE 1:5 +FLAGS.SILENT (\\Flagged)")[-1].split()[1] == b"OK"
        r = a.cmd("FETCH 1 BODY.PEEK[]")
        assert r[0].startswith(b"* 1 FETCH (BODY[] {") and b"body1 word" in r[0], r
        r = a.cmd("FETCH 2 BODY[]")
        assert b"\\Seen" in r[0] and b"\\Flagged" in r[0] and b"body2" in r[0], r
        r = a.cmd("SEARCH TEXT body1")
        assert r[0] == b"* SEARCH 1\r\n", r
        r = a.cmd("COPY 3 Drafts")
        assert r[-1].split()[1] == b"OK", r
        r = a.cmd("MOVE 4 Drafts")
        assert r[-1].split()[1] == b"OK", r
        a.cmd("EXPUNGE")
        r = a.cmd("FETCH 1:* (UID FLAGS)")[:-1]
        assert [l.split(b"UID ")[1].split()[0] for l in r] == [b"1", b"2", b"3"], r
        # the other session's \Flagged is kept and is shown
        assert all(b"\\Flagged" in l for l in r), r
        c = Raw(b.imap)
        r = c.cmd("SELECT Drafts")
        assert b"* 2 EXISTS\r\n" in r, r
        for conn in (a, o, c):
            conn.close()
    finally:
        b.cleanup()


def test_uidvalidity_change_ends_selected_session(box):
    """With dovecot-uidlist lost while a mailbox was selected, the session
    reported an EXPUNGE and the same message again as UID 1, below the
    UIDNEXT it had given and under the UIDVALIDITY of its SELECT (a client
    then shows the body it cached for the old UID 1); the session ends
    with BYE, as Dovecot's does"""
    box.put("1700000002.M1P1.test", b"Subject: two\n\nx\n")
    box.start()
    c = Raw(box.imap)
    c.cmd("SELECT INBOX")
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.cmd("EXPUNGE")
    assert c.cmd("FETCH 1:* UID")[0] == b"* 1 FETCH (UID 2)\r\n"
    # UIDVALIDITY is the clock's second when a uidlist is made
    time.sleep(1.1)
    for f in ("dovecot-uidlist", "yubin.index"):
        os.unlink(os.path.join(box.maildir, f))
    os.utime(os.path.join(box.maildir, "cur"), None)
    c.send(b"n NOOP\r\n")
    assert c.f.readline() == b"* BYE Mailbox UIDVALIDITY changed\r\n"
    assert c.f.readline() == b""
    # a new session sees the new UIDVALIDITY and UIDs
    d = Raw(box.imap)
    r = d.cmd("SELECT INBOX")
    assert b"* 1 EXISTS\r\n" in r, r
    d.close()
