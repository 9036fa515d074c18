"""IMAP index, CONDSTORE and QRESYNC (issue 7, RFC 7162) with imaplib:
HIGHESTMODSEQ, FETCH MODSEQ / CHANGEDSINCE, STORE UNCHANGEDSINCE and
[MODIFIED], SEARCH MODSEQ, ENABLE, SELECT (QRESYNC ...) with VANISHED
(EARLIER) and changed flags, UID FETCH (CHANGEDSINCE n VANISHED), VANISHED
instead of EXPUNGE; a flag set by renaming the file directly gets a new
modseq; a Maildir that Debian's Dovecot wrote keeps its UIDs with an index
and after `doveadm force-resync`; `doveadm mailbox status` reads the
index; with a warm index, SELECT and FETCH ENVELOPE of 20,000 messages
neither read the directory nor open a message file."""
import imaplib
import os
import re
import subprocess
import sys
import time

import pytest

from imap_fixtures import ImapBox
from test_imap import MSG1, MSG2, MSG3, login, real_dovecot, tls_ctx

GEN = "/work/shared/anchors/gen_maildir.py"


@pytest.fixture
def box(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r")
    b.put("1700000001.M1P1.test", MSG1)
    b.put("1700000002.M1P1.test", MSG2)
    b.put("1700000003.M1P1.test", MSG3)
    yield b
    b.cleanup()


def cmd(m, text):
    """one raw command; (status, untagged lines, tagged text)"""
    tag = m._new_tag()
    m.send(tag + b" " + text.encode() + b"\r\n")
    lines = []
    while True:
        line = m._get_line()
        if line.startswith(tag + b" "):
            rest = line[len(tag) + 1:].decode()
            return rest.split(" ", 1)[0], lines, rest
        lines.append(line.decode(errors="replace"))


def modseqs(lines):
    """{uid: modseq} from untagged FETCH lines"""
    out = {}
    for ln in lines:
        u = re.search(r"UID (\d+)", ln)
        ms = re.search(r"MODSEQ \((\d+)\)", ln)
        if u and ms:
            out[int(u.group(1))] = int(ms.group(1))
    return out


def highest(lines):
    for ln in lines:
        mo = re.search(r"\[HIGHESTMODSEQ (\d+)\]", ln)
        if mo:
            return int(mo.group(1))
    return None


def test_condstore_fetch_store_search_status(box):
    box.start()
    m = login(box)
    st, lines, _ = cmd(m, "CAPABILITY")
    assert " CONDSTORE QRESYNC" in lines[0], lines
    st, lines, _ = cmd(m, "ENABLE CONDSTORE")
    assert st == "OK" and "* ENABLED CONDSTORE" in lines
    st, lines, _ = cmd(m, "SELECT INBOX")
    assert st == "OK"
    hms = highest(lines)
    assert hms is not None and hms > 0
    st, lines, _ = cmd(m, "UID FETCH 1:* (FLAGS MODSEQ)")
    before = modseqs(lines)
    assert sorted(before) == [1, 2, 3] and max(before.values()) <= hms
    # a STORE gives a new, higher modseq, shown in its FETCH reply
    st, lines, _ = cmd(m, "UID STORE 2 +FLAGS (\\Flagged)")
    assert st == "OK"
    after = modseqs(lines)
    assert after[2] > hms
    # CHANGEDSINCE returns only what changed
    st, lines, _ = cmd(m, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms)
    assert st == "OK" and sorted(modseqs(lines)) == [2]
    # UNCHANGEDSINCE below message 2's modseq fails for it only
    st, lines, text = cmd(m, "UID STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % hms)
    assert st == "OK" and "[MODIFIED 2]" in text, text
    assert sorted(modseqs(lines)) == [1]
    # SEARCH MODSEQ and its "(MODSEQ n)" ending
    st, lines, _ = cmd(m, "UID SEARCH MODSEQ %d" % (hms + 1))
    found = [ln for ln in lines if ln.startswith("* SEARCH")][0]
    nums = re.match(r"\* SEARCH ([\d ]+) \(MODSEQ (\d+)\)", found)
    assert nums, found
    assert sorted(int(x) for x in nums.group(1).split()) == [1, 2]
    top = int(nums.group(2))
    # the same as ESEARCH: MODSEQ is one more return item (RFC 7162 3.1.5)
    st, lines, _ = cmd(m, "UID SEARCH RETURN (ALL COUNT) MODSEQ %d" % (hms + 1))
    found = [ln for ln in lines if ln.startswith("* ESEARCH")]
    assert st == "OK" and len(found) == 1, lines
    assert re.fullmatch(r'\* ESEARCH \(TAG "[^"]+"\) UID (ALL 1:2 COUNT 2|COUNT 2 ALL 1:2) '
                        r'MODSEQ %d' % top, found[0]), found
    # STATUS HIGHESTMODSEQ from another mailbox view agrees
    st, lines, _ = cmd(m, "STATUS INBOX (MESSAGES HIGHESTMODSEQ)")
    assert any("HIGHESTMODSEQ %d" % top in ln for ln in lines), lines
    m.logout()
    # modseqs persist in the index: a new session sees the same
    m = login(box)
    st, lines, _ = cmd(m, "SELECT INBOX (CONDSTORE)")
    assert highest(lines) == top
    st, lines, _ = cmd(m, "UID FETCH 1:* (MODSEQ)")
    again = modseqs(lines)
    assert again[2] == after[2] and again[3] == before[3]
    m.logout()


def test_qresync_select_vanished_and_fetch(box):
    box.start()
    m = login(box)
    cmd(m, "ENABLE QRESYNC")
    st, lines, _ = cmd(m, "SELECT INBOX")
    uv = int(re.search(r"UIDVALIDITY (\d+)", " ".join(lines)).group(1))
    hms = highest(lines)
    m.logout()
    # meanwhile another client flags 2 and expunges 1
    o = login(box)
    o.select("INBOX")
    o.store("2", "+FLAGS", "(\\Answered)")
    o.store("1", "+FLAGS", "(\\Deleted)")
    o.expunge()
    o.logout()
    m = login(box)
    st, lines, _ = cmd(m, "SELECT INBOX (QRESYNC (%d %d))" % (uv, hms))
    assert st == "BAD"      # QRESYNC must be enabled first
    st, _, _ = cmd(m, "ENABLE QRESYNC")
    st, lines, _ = cmd(m, "SELECT INBOX (QRESYNC (%d %d 1:3))" % (uv, hms))
    assert st == "OK", lines
    assert "* VANISHED (EARLIER) 1" in lines, lines
    changed = modseqs(lines)
    assert sorted(changed) == [2] and changed[2] > hms
    assert any("\\Answered" in ln for ln in lines if "FETCH" in ln)
    # UID FETCH ... (CHANGEDSINCE n VANISHED)
    st, lines, _ = cmd(m, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hms)
    assert st == "OK" and lines[0] == "* VANISHED (EARLIER) 1", lines
    assert sorted(modseqs(lines)) == [2]
    # with QRESYNC on, an expunge is reported as VANISHED
    cmd(m, "UID STORE 3 +FLAGS (\\Deleted)")
    st, lines, _ = cmd(m, "EXPUNGE")
    assert "* VANISHED 3" in lines and not any("EXPUNGE" in ln for ln in lines), lines
    # and so is a MOVE's (RFC 6851 with QRESYNC)
    cmd(m, "CREATE Moved")
    st, lines, _ = cmd(m, "UID MOVE 2 Moved")
    assert st == "OK" and "* VANISHED 2" in lines, lines
    assert not any(ln.endswith("EXPUNGE") for ln in lines), lines
    m.logout()


def test_outside_rename_gets_new_modseq(box):
    box.start()
    m = login(box)
    cmd(m, "ENABLE CONDSTORE")
    st, lines, _ = cmd(m, "SELECT INBOX")
    hms = highest(lines)
    st, lines, _ = cmd(m, "UID FETCH 1:* (MODSEQ)")
    before = modseqs(lines)
    # set \Seen by renaming the file, as Dovecot or a user's mv would
    cur = os.path.join(box.maildir, "cur")
    name = [n for n in os.listdir(cur) if n.startswith("1700000002.")][0]
    base = name.split(":2,")[0]
    os.rename(os.path.join(cur, name), os.path.join(cur, base + ":2,S"))
    st, lines, _ = cmd(m, "NOOP")
    seen = [ln for ln in lines if "FETCH" in ln]
    assert len(seen) == 1 and "\\Seen" in seen[0], lines
    ms = modseqs(seen)
    assert ms[2] > hms and ms[2] > before[2]
    m.logout()
    m = login(box)
    st, lines, _ = cmd(m, "SELECT INBOX (CONDSTORE)")
    assert highest(lines) == ms[2]
    st, lines, _ = cmd(m, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms)
    assert sorted(modseqs(lines)) == [2]
    m.logout()


def doveadm_status(box, fields):
    r = box.doveadm("mailbox", "status", "-u", "alice", fields, "INBOX")
    assert r.returncode == 0, r
    return dict(kv.split("=") for kv in r.stdout.split()[1:])


def test_dovecot_maildir_uids_kept_with_index_and_force_resync(box):
    """Debian's Dovecot serves the Maildir first (an expunge and an APPEND
    leave UIDs 2 3 4); yubin serves the same UIDs with its index and after
    force-resync; doveadm mailbox status reads the index."""
    port, stop = real_dovecot(box)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        d.select("INBOX")
        d.store("1", "+FLAGS", "(\\Deleted)")
        d.expunge()
        d.append("INBOX", "(\\Seen)", None, b"Subject: by dovecot\r\n\r\nx\r\n")
        d.select("INBOX", readonly=True)
        want = d.fetch("1:*", "(UID FLAGS RFC822.SIZE)")[1]
        want_st = d.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")[1]
        d.logout()
    finally:
        stop()
    box.start()
    for round_ in range(3):
        if round_ == 2:
            r = box.doveadm("force-resync", "-u", "alice", "INBOX")
            assert r.returncode == 0, r
        m = login(box)
        m.select("INBOX", readonly=True)
        got = m.fetch("1:*", "(UID FLAGS RFC822.SIZE)")[1]
        got_st = m.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")[1]
        m.logout()
        strip = [x.replace(b" \\Recent", b"").replace(b"\\Recent ", b"").replace(b"\\Recent", b"")
                 for x in got]
        wstrip = [x.replace(b" \\Recent", b"").replace(b"\\Recent ", b"").replace(b"\\Recent", b"")
                  for x in want]
        assert strip == wstrip and got_st == want_st
        assert os.path.exists(os.path.join(box.maildir, "yubin.index"))
    assert [int(u) for u in re.findall(rb"UID (\d+)", b" ".join(got))] == [2, 3, 4]
    st = doveadm_status(box, "messages unseen uidnext uidvalidity highestmodseq vsize")
    uv = re.search(rb"UIDVALIDITY (\d+)", want_st[0]).group(1).decode()
    assert st["messages"] == "3" and st["uidnext"] == "5" and st["uidvalidity"] == uv
    assert st["unseen"] == "2" and int(st["highestmodseq"]) > 0 and int(st["vsize"]) > 0
    # Dovecot 2.3's answers for a missing mailbox: force-resync is
    # silent (exit 0), status fails with 68
    r = box.doveadm("force-resync", "-u", "alice", "Nope")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert not os.path.exists(os.path.join(box.maildir, ".Nope"))
    r = box.doveadm("mailbox", "status", "-u", "alice", "messages", "Nope")
    assert r.returncode == 68 and "Mailbox doesn't exist: Nope" in r.stderr
    # all fields in Dovecot's order
    r = box.doveadm("mailbox", "status", "-u", "alice", "vsize highestmodseq unseen uidvalidity "
                    "uidnext messages", "INBOX")
    assert re.fullmatch(r"INBOX messages=3 uidnext=5 uidvalidity=\d+ unseen=2 "
                        r"highestmodseq=\d+ vsize=\d+\n", r.stdout), r.stdout
    # and Dovecot still reads the Maildir yubin served (index files ignored)
    port, stop = real_dovecot(box)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        d.select("INBOX", readonly=True)
        again = d.fetch("1:*", "(UID)")[1]
        d.logout()
    finally:
        stop()
    assert [int(u) for u in re.findall(rb"UID (\d+)", b" ".join(again))] == [2, 3, 4]


def slow_login(box):
    """login() with room for a sanitizer build's first scan of 20,000 files"""
    m = imaplib.IMAP4("127.0.0.1", box.imap, timeout=600)
    m.starttls(ssl_context=tls_ctx())
    m.login("alice", "secret")
    return m


def test_warm_index_select_fetch_without_message_files(bindir, tmp_path):
    """5,000 messages (the 100,000-message timings are bench/imap-bench.sh's):
    after the index is warm, the message files are made unreadable (chmod
    000; the mail process runs as nobody) and a file is slipped into cur/
    with the directory's mtime put back. SELECT still counts all of them
    (no readdir) and FETCH ENVELOPE answers every message from the cache
    (no open)."""
    if os.getuid() != 0:
        pytest.skip("needs root: the session must run as another user than the files' owner")
    n = 5000
    b = ImapBox(bindir, tmp_path / "r")
    try:
        subprocess.run([sys.executable, GEN, b.maildir, str(n), "--size", "600", "--sub", "new"],
                       check=True, timeout=300)
        b.chown()
        b.start()
        m = slow_login(b)
        typ, data = m.select("INBOX")
        assert int(data[0]) == n
        typ, data = m.uid("FETCH", "1:*", "(ENVELOPE)")
        assert typ == "OK" and len(data) == n
        m.logout()
        # the first SELECT moved new/ to cur/: a second session, a second
        # later, finds the directories settled and marks the index trusted
        time.sleep(1.1)
        m = slow_login(b)
        m.select("INBOX")
        m.logout()
        cur = os.path.join(b.maildir, "cur")
        st = os.stat(cur)
        names = os.listdir(cur)
        for name in names:
            os.chmod(os.path.join(cur, name), 0)
        with open(os.path.join(cur, "1800000000.M1P1.hidden:2,"), "wb") as f:
            f.write(b"Subject: hidden\n\nx\n")
        os.utime(cur, ns=(st.st_atime_ns, st.st_mtime_ns))
        m = slow_login(b)
        typ, data = m.select("INBOX")
        assert int(data[0]) == n
        typ, data = m.uid("FETCH", "1:*", "(ENVELOPE)")
        assert typ == "OK" and len(data) == n
        subjects = [re.search(rb'"[^"]*#(\d+)"', x).group(1) for x in data]
        assert sorted(int(s) for s in subjects) == list(range(1, n + 1))
        # a body fetch really needs the file: the proof that it is unreadable
        typ, data = m.uid("FETCH", "1", "(BODY.PEEK[])")
        assert data == [None] or data[0] is None or b"BODY" not in data[0][0]
        m.logout()
        st2 = doveadm_status(b, "messages")
        assert st2["messages"] == str(n)
    finally:
        b.cleanup()


def test_cached_structures_equal_fresh_ones(box):
    """ENVELOPE, BODY and BODYSTRUCTURE served from the index's cache (filled
    a piece at a time by earlier FETCHes) equal the ones made from the file
    (a FETCH that also asks for a section reads the file)."""
    box.start()
    m = login(box)
    m.select("INBOX")
    first = m.fetch("1:*", "(ENVELOPE)")[1]
    m.fetch("1:*", "(BODYSTRUCTURE)")
    m.logout()
    m = login(box)
    m.select("INBOX")
    cached = m.fetch("1:*", "(ENVELOPE BODY BODYSTRUCTURE)")[1]
    fresh = m.fetch("1:*", "(ENVELOPE BODY BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (X-NONE)])")[1]
    m.logout()
    fresh = [x for x in fresh if isinstance(x, tuple)]
    assert len(cached) == 3 and len(fresh) == 3 and cached[0].startswith(b"1 (ENVELOPE (")
    for c, f in zip(cached, fresh):
        assert c.endswith(b")") and f[0].startswith(c[:-1] + b" BODY[HEADER.FIELDS (X-NONE)] {"), (c, f)
    assert first[0] == cached[0].split(b" BODY (")[0] + b")"
    assert os.path.getsize(os.path.join(box.maildir, "yubin.index.cache")) > 8


def test_two_sessions_modseqs_only_grow(box):
    """Two sessions change flags in turn: every change gets a modseq above
    all before it, whichever session made it, and both agree at the end."""
    box.start()
    a, b = login(box), login(box)
    for m in (a, b):
        cmd(m, "ENABLE CONDSTORE")
        cmd(m, "SELECT INBOX")
    seen = []
    flags = ["\\Seen", "\\Flagged", "\\Answered", "$Work"]
    for i in range(8):
        m = (a, b)[i % 2]
        st, lines, _ = cmd(m, "UID STORE %d +FLAGS (%s)" % (i % 3 + 1, flags[i % 4]))
        ms = modseqs([ln for ln in lines if "FETCH" in ln])
        if ms:
            seen.append(max(ms.values()))
    assert len(seen) >= 6 and seen == sorted(seen) and len(set(seen)) == len(seen), seen
    highs = []
    for m in (a, b):
        cmd(m, "NOOP")
        st, lines, _ = cmd(m, "STATUS INBOX (HIGHESTMODSEQ)")
        highs.append(int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(lines)).group(1)))
        m.logout()
    assert highs[0] == highs[1] == seen[-1]


def test_flag_change_by_real_dovecot_gets_new_modseq(box):
    """Debian's Dovecot and yubin serve the same Maildir at once: a flag
    that a Dovecot client sets is seen by the yubin session at its next
    NOOP, with a modseq above the one it had."""
    box.start()
    m = login(box)
    cmd(m, "ENABLE CONDSTORE")
    st, lines, _ = cmd(m, "SELECT INBOX")
    hms = highest(lines)
    port, stop = real_dovecot(box)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        d.select("INBOX")
        d.uid("STORE", "3", "+FLAGS", "(\\Flagged)")
        d.logout()
    finally:
        stop()
    st, lines, _ = cmd(m, "NOOP")
    got = [ln for ln in lines if "FETCH" in ln]
    assert len(got) == 1 and "UID 3 " in got[0] and "\\Flagged" in got[0], lines
    assert modseqs(got)[3] > hms
    st, lines, _ = cmd(m, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms)
    assert sorted(modseqs(lines)) == [3]
    m.logout()


def test_vanished_earlier_exact_from_expunge_history(bindir, tmp_path):
    """the index keeps which UIDs went at which modseq: a client that
    synced after some expunges hears only of the later ones (RFC 7162
    3.2.5.1 allows more, yubin used to send every missing UID); a client
    older than the history (here: the index deleted and rebuilt) hears of
    every missing UID; the history survives a restart and Dovecot's
    expunges are in it too"""
    b = ImapBox(bindir, tmp_path / "r")
    try:
        for i in range(1, 11):
            b.put("17000000%02d.M1P1.test" % i, MSG1.replace(b"hello", b"m%d" % i))
        b.chown()
        b.start()

        def expunge(uids):
            o = login(b)
            o.select("INBOX")
            o.uid("STORE", uids, "+FLAGS", "(\\Deleted)")
            o.expunge()
            o.logout()

        def sync(uv, ms, known="1:10"):
            m = login(b)
            cmd(m, "ENABLE QRESYNC")
            st, lines, _ = cmd(m, "SELECT INBOX (QRESYNC (%d %d %s))" % (uv, ms, known))
            assert st == "OK", lines
            van = [ln for ln in lines if ln.startswith("* VANISHED")]
            hms = highest(lines)
            st, lines, _ = cmd(m, "UID FETCH %s (FLAGS) (CHANGEDSINCE %d VANISHED)" % (known, ms))
            van2 = [ln for ln in lines if ln.startswith("* VANISHED")]
            m.logout()
            assert van == van2, (van, van2)
            return van, hms

        m = login(b)
        cmd(m, "ENABLE QRESYNC")
        st, lines, _ = cmd(m, "SELECT INBOX")
        uv = int(re.search(r"UIDVALIDITY (\d+)", " ".join(lines)).group(1))
        ms0 = highest(lines)
        m.logout()
        expunge("2:3")
        van, ms1 = sync(uv, ms0)
        assert van == ["* VANISHED (EARLIER) 2:3"]
        expunge("7")
        expunge("5")
        # a client at ms1 knew of 2:3 already
        van, ms2 = sync(uv, ms1)
        assert van == ["* VANISHED (EARLIER) 5,7"]
        van, _ = sync(uv, ms0)
        assert van == ["* VANISHED (EARLIER) 2:3,5,7"]
        van, _ = sync(uv, ms2)
        assert van == []
        # the client's known range limits the answer
        van, _ = sync(uv, ms0, "4:6")
        assert van == ["* VANISHED (EARLIER) 5"]
        # a restart keeps the history (it is in yubin.index)
        b.stop()
        b.start()
        van, _ = sync(uv, ms1)
        assert van == ["* VANISHED (EARLIER) 5,7"]
        # Dovecot expunges 9 behind yubin's back: the next sync records it
        port, stop = real_dovecot(b)
        try:
            d = imaplib.IMAP4("127.0.0.1", port)
            d.login("alice", "secret")
            d.select("INBOX")
            d.uid("STORE", "9", "+FLAGS", "(\\Deleted)")
            d.expunge()
            d.logout()
        finally:
            stop()
        van, ms3 = sync(uv, ms2)
        assert van == ["* VANISHED (EARLIER) 9"]
        # a session that has not seen an expunge yet hands out a higher
        # modseq (RFC 7162 erratum 1810): a client at that modseq must
        # still hear of the expunge
        c = login(b)
        cmd(c, "ENABLE QRESYNC")
        cmd(c, "SELECT INBOX")
        expunge("10")
        st, lines, _ = cmd(c, "STORE 1 +FLAGS (\\Flagged)")
        mc = max(int(x) for x in re.findall(r"MODSEQ \((\d+)\)", " ".join(lines)))
        c.logout()
        van, _ = sync(uv, mc)
        assert len(van) == 1 and "10" in re.split(r"[ ,:]", van[0]), van
        # no history before the index's: every missing UID
        for name in os.listdir(b.maildir):
            if name.startswith("yubin.index"):
                os.unlink(os.path.join(b.maildir, name))
        van, _ = sync(uv, ms3)
        assert van == ["* VANISHED (EARLIER) 2:3,5,7,9:10"]
    finally:
        b.cleanup()
