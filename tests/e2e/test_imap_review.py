"""Review findings on the IMAP server (each test failed before its fix):
RENAME of a mailbox under its own child, and others listed per test.
Real clients (imaplib, raw sockets) against a yubin instance; where a
reply text matters it is Dovecot 2.3's, checked side by side."""
import os

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
