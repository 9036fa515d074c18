"""The IMAP index's header-fields cache (src/imap/imap_hdr.c,
imap_hdr_cache.c) with imaplib: SEARCH FROM/TO/CC/BCC/SUBJECT/HEADER/SENT*
and FETCH BODY.PEEK[HEADER.FIELDS (...)] give the same answers from the
cache as from the message files (the index deleted in between), are
answered without opening a message file once the cache is warm, take in a
client's own field names after their first use, and never answer for a
file that an outside tool (Debian's Dovecot, a rename, an edited
dovecot-uidlist) changed."""
import glob
import os
import re
import time

import pytest

from imap_fixtures import ImapBox
from test_imap import MSG1, MSG2, MSG3, login, real_dovecot

# headers that test the exact matching rules: folded lines, two fields of
# one name, a field without a space after the colon, bare CRs and CRLFs,
# encoded words (matched raw), a header with no body after it
MSG4 = (b"From: Carol <carol@example.com>\r\nTo: a@x.example,\r\n\tbob@example.net\r\n"
        b"To: second@x.example\r\nCc:nospace@example.org\r\nBcc: hidden@example.org\r\n"
        b"Subject: Re: [list] folded\r\n  subject line\r\n"
        b"Date: Tue, 2 Jan 2024 09:00:00 +0100\r\nMessage-ID: <m4@example.com>\r\n"
        b"In-Reply-To: <x1@example.org>\r\nReferences: <x0@example.org>\r\n <x1@example.org>\r\n"
        b"List-Id: Test list <list.example.com>\r\nX-Custom: Alpha Beta\r\n"
        b"X-Spam-Flag: YES\r\n\r\nbody four needle\r\n")
MSG5 = (b"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\nSubject: =?UTF-8?Q?caf=C3=A9?= time\n"
        b"Date: 3 Feb 2024 12:00:00 -0000\nX-Custom: gamma\rdelta\nTo: team@example.fr\n"
        b"Content-Type: text/plain; charset=utf-8\n")
MSG6 = (b"Subject: no from here\nDate: Sun, 31 Dec 2023 23:59:59 -0800\n"
        b"Date: Mon, 1 Jan 2024 00:00:00 +0000\nReply-To: r@example.org\n\nsubject: in body\n")

SEARCHES = [
    'FROM "alice"', 'FROM "example.org"', 'FROM "carol"', 'FROM "=?ISO-8859-1?Q?Andr"',
    'SUBJECT "cafe"', 'TO "bob"', 'TO "second"', 'TO "x.example"', 'TO "to"', 'CC "nospace"',
    'CC "c@d"', 'BCC "hidden"', 'SUBJECT "folded"', 'SUBJECT "subject line"',
    'SUBJECT "caf"', 'SUBJECT "two"', 'SUBJECT ""', 'HEADER Message-ID "m4@"',
    'HEADER REFERENCES "x1@"', 'HEADER List-Id "list.example"', 'HEADER X-Custom "beta"',
    'HEADER X-Custom "gamma"', 'HEADER X-Custom ""', 'HEADER X-Spam-Flag "yes"',
    'HEADER Reply-To "r@"', 'HEADER Content-Type "multipart"', 'HEADER In-Reply-To ""',
    'SENTSINCE 1-Jan-2024', 'SENTBEFORE 1-Jan-2024', 'SENTON 2-Jan-2024',
    'SENTON 31-Dec-2023', 'OR FROM "carol" SUBJECT "two"', 'NOT FROM "example"',
    'FROM "example" BODY "needle"', 'TEXT "needle" SUBJECT "re:"', 'ALL',
]
FETCHES = [
    "BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]",
    "BODY.PEEK[HEADER.FIELDS (To)]",
    "BODY.PEEK[HEADER.FIELDS (References In-Reply-To List-Id)]<0.20>",
    "BODY.PEEK[HEADER.FIELDS (X-Custom X-Spam-Flag)]",
    "BODY.PEEK[HEADER.FIELDS (DATE FROM)] ENVELOPE",
    "BODY.PEEK[HEADER.FIELDS.NOT (Received)]",
]


def put_all(b):
    for i, msg in enumerate([MSG1, MSG2, MSG3, MSG4, MSG5, MSG6]):
        b.put("17000000%02d.M1P1.test" % (i + 1), msg)


def answers(b):
    """every SEARCH and FETCH above, as the server sent them"""
    m = login(b)
    m.select("INBOX")
    out = {}
    for crit in SEARCHES:
        typ, data = m.uid("SEARCH", crit)
        assert typ == "OK", (crit, data)
        out["S " + crit] = data
    for items in FETCHES:
        typ, data = m.uid("FETCH", "1:*", "(%s)" % items)
        assert typ == "OK", (items, data)
        out["F " + items] = data
    m.logout()
    return out


def index_files(b):
    return glob.glob(os.path.join(b.maildir, "yubin.index*"))


def hdr_records(b):
    """how many header-fields records the cache file holds"""
    path = os.path.join(b.maildir, "yubin.index.cache")
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return f.read().count(b"HCBY")	# "YBCH" in little-endian


@pytest.fixture
def box(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r")
    put_all(b)
    yield b
    b.cleanup()


def test_same_answers_with_and_without_cache(box):
    box.start()
    first = answers(box)		# files read, records written
    assert hdr_records(box) >= 6
    second = answers(box)		# from the cache
    for p in index_files(box):
        os.unlink(p)
    third = answers(box)		# index rebuilt, files read again
    assert first == second == third
    # and the answers are the right ones, not only equal
    uid = {n: str(n).encode() for n in range(1, 7)}
    assert first['S FROM "carol"'] == [uid[4]]
    assert first['S TO "second"'] == [uid[4]]
    assert first['S TO "bob"'] == [b"1 4"]
    assert first['S CC "nospace"'] == [uid[4]]
    assert first['S SUBJECT "subject line"'] == [uid[4]]
    assert first['S SUBJECT "cafe"'] == [b""]	# encoded words are matched raw
    assert first['S FROM "=?ISO-8859-1?Q?Andr"'] == [uid[5]]
    assert first['S HEADER X-Custom ""'] == [b"4 5"]
    assert first['S HEADER X-Custom "gamma"'] == [uid[5]]
    assert first['S SENTON 31-Dec-2023'] == [uid[6]]	# the first Date field
    assert first['S NOT FROM "example"'] == [uid[6]]
    assert first['S FROM "example" BODY "needle"'] == [uid[4]]
    to4 = [x for x in first["F BODY.PEEK[HEADER.FIELDS (To)]"] if isinstance(x, tuple)][3]
    assert to4[1] == (b"To: a@x.example,\r\n\tbob@example.net\r\nTo: second@x.example\r\n\r\n")


def test_warm_cache_opens_no_message_file(box):
    """with the files unreadable to the session (it runs as nobody), header
    SEARCHes and HEADER.FIELDS fetches still answer; BODY cannot"""
    if os.getuid() != 0:
        pytest.skip("needs root: the session must run as another user than the files' owner")
    box.chown()
    box.start()
    first = answers(box)
    time.sleep(1.1)		# let the index trust the directory
    m = login(box)
    m.select("INBOX")
    m.logout()
    cur = os.path.join(box.maildir, "cur")
    for name in os.listdir(cur):
        os.chmod(os.path.join(cur, name), 0)
    m = login(box)
    m.select("INBOX")
    for crit in SEARCHES:
        if "BODY" in crit or "TEXT" in crit:
            continue
        typ, data = m.uid("SEARCH", crit)
        assert typ == "OK" and data == first["S " + crit], crit
    for items in FETCHES[:4]:
        typ, data = m.uid("FETCH", "1:*", "(%s)" % items)
        assert data == first["F " + items], items
    typ, data = m.uid("SEARCH", 'BODY "needle"')
    assert data == [b""]		# the proof that the files are unreadable
    m.logout()


def test_client_field_names_cached_after_first_use(box):
    """a name outside the default set (X-Mailer-Id here) is read from the
    file the first time and from the cache after"""
    if os.getuid() != 0:
        pytest.skip("needs root")
    box.chown()
    box.start()
    item = "(BODY.PEEK[HEADER.FIELDS (FROM X-SPAM-FLAG)])"
    m = login(box)
    m.select("INBOX")
    typ, want = m.uid("FETCH", "1:*", item)
    m.logout()
    time.sleep(1.1)
    m = login(box)
    m.select("INBOX")
    m.logout()
    for name in os.listdir(os.path.join(box.maildir, "cur")):
        os.chmod(os.path.join(box.maildir, "cur", name), 0)
    m = login(box)
    m.select("INBOX")
    typ, data = m.uid("FETCH", "1:*", item)
    assert data == want and b"X-Spam-Flag: YES" in b"".join(
        x[1] for x in data if isinstance(x, tuple))
    # a name never asked for is not in the cache: the file is needed
    typ, data = m.uid("FETCH", "4", "(BODY.PEEK[HEADER.FIELDS (X-NEVER-ASKED)])")
    assert not any(isinstance(x, tuple) for x in data)
    m.logout()


def uidlist(b):
    with open(os.path.join(b.maildir, "dovecot-uidlist")) as f:
        return f.read()


def test_outside_changes_not_answered_from_stale_cache(box):
    box.start()
    answers(box)			# warm
    cur = os.path.join(box.maildir, "cur")
    names = sorted(os.listdir(cur))
    # 1. a tool writes message 4 anew under a new name (a new UID)
    os.unlink(os.path.join(cur, names[3]))
    with open(os.path.join(cur, "1800000001.M9P9.tool:2,S"), "wb") as f:
        f.write(MSG4.replace(b"Carol <carol", b"Dave <dave").replace(b"folded", b"rewritten"))
    # 2. dovecot-uidlist edited so that UID 5 names another file
    ul = uidlist(box)
    old5 = names[4].split(":")[0]
    assert old5 in ul
    os.unlink(os.path.join(cur, names[4]))
    with open(os.path.join(cur, "1800000002.M9P9.edit:2,"), "wb") as f:
        f.write(b"From: eve@example.net\nSubject: swapped\nX-Custom: omega\n\nx\n")
    with open(os.path.join(box.maildir, "dovecot-uidlist.tmp"), "w") as f:
        f.write(ul.replace(old5, "1800000002.M9P9.edit"))
    os.rename(os.path.join(box.maildir, "dovecot-uidlist.tmp"),
              os.path.join(box.maildir, "dovecot-uidlist"))
    m = login(box)
    m.select("INBOX")
    typ, data = m.uid("SEARCH", 'FROM "carol"')
    assert data == [b""]
    typ, data = m.uid("SEARCH", 'FROM "dave"')
    assert data == [b"7"]
    typ, data = m.uid("SEARCH", 'SUBJECT "rewritten"')
    assert data == [b"7"]
    typ, data = m.uid("SEARCH", 'HEADER X-Custom "gamma"')
    assert data == [b""]
    typ, data = m.uid("SEARCH", 'HEADER X-Custom "omega"')
    assert data == [b"5"]
    typ, data = m.uid("FETCH", "5", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: swapped\r\n\r\n"
    m.logout()


def test_dovecot_changes_seen(box):
    """Debian's Dovecot expunges a message and takes a new one on the same
    Maildir after yubin's cache was warm: yubin's answers follow"""
    box.chown()
    box.start()
    answers(box)
    port, stop = real_dovecot(box)
    try:
        import imaplib
        d = imaplib.IMAP4("127.0.0.1", port)
        d.login("alice", "secret")
        d.select("INBOX")
        typ, data = d.uid("SEARCH", 'FROM "carol"')
        assert data == [b"4"]
        d.uid("STORE", "4", "+FLAGS", r"(\Deleted)")
        d.expunge()
        d.append("INBOX", None, None,
                 b"From: Carol Two <carol2@example.com>\r\nSubject: from dovecot\r\n\r\nx\r\n")
        d.logout()
    finally:
        stop()
    m = login(box)
    m.select("INBOX")
    typ, data = m.uid("SEARCH", 'FROM "carol"')
    assert data == [b"7"]
    typ, data = m.uid("SEARCH", 'SUBJECT "dovecot"')
    assert data == [b"7"]
    typ, data = m.uid("FETCH", "7", "(BODY.PEEK[HEADER.FIELDS (FROM)])")
    assert data[0][1] == b"From: Carol Two <carol2@example.com>\r\n\r\n"
    m.logout()
