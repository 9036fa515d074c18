"""IMAP on mbox (src/imap/imap_mbox_mbox.c): mail_location
`mbox:~/mail:INBOX=<root>/spool/%u`, the spool file as INBOX and files
under ~/mail as folders. Read side: SELECT/EXAMINE/FETCH/STATUS with
Dovecot's mbox headers (X-UID, X-IMAPbase, Status, X-Status,
Content-Length) taken as UIDs and flags and hidden from the client, and
Debian's Dovecot writing an mbox that yubin then serves with the same
UIDs, UIDVALIDITY, flags and keywords, and the other way round. Writing
(STORE, EXPUNGE, APPEND, COPY) rewrites the file as Dovecot reads it."""
import os
import socket
import subprocess

import pytest

from test_imap_layout import login, make_box, real_dovecot, strip

SPOOL_FMT = "mbox:~/mail:INBOX=%s/spool/%%u"

# Dovecot's way: X-IMAPbase (UIDVALIDITY, last UID zero-padded) in the
# first message, X-UID in each, a body line "From " left unescaped and
# Content-Length saying where the message ends
DOVECOT_STYLE = (
    b"From alice@example.org  Thu Nov 19 10:00:00 2026\n"
    b"X-IMAPbase: 1700000000 0000000007\n"
    b"Subject: one\n"
    b"Content-Length: 27\n"
    b"Status: RO\n"
    b"X-UID: 5\n"
    b"X-Keywords:                                  \n"
    b"\n"
    b"line one\n"
    b"From the body too\n"
    b"\n"
    b"From bob@example.org  Fri Nov 20 11:30:00 2026\n"
    b"Subject: two\n"
    b"X-Status: F\n"
    b"X-UID: 7\n"
    b"\n"
    b"body two\n"
    b"\n"
    b"From carol@example.org  Sat Nov 21 12:00:00 2026\n"
    b"Subject: three\n"
    b"\n"
    b">From quoted\n"
    b"body three\n")


@pytest.fixture
def mboxbox(bindir, tmp_path):
    b = make_box(bindir, tmp_path, "mbox:~/mail")
    # the box's root is only known now (a fresh temp dir under root)
    with open(b.conf) as f:
        text = f.read()
    with open(b.conf, "w") as f:
        f.write(text.replace("mail_location = mbox:~/mail\n",
                             "mail_location = %s\n" % (SPOOL_FMT % b.root)))
    b.spool_dir = os.path.join(b.root, "spool")
    b.spool = os.path.join(b.spool_dir, "alice")
    b.mail = os.path.join(b.home, "mail")
    os.makedirs(b.spool_dir, exist_ok=True)
    os.makedirs(b.mail, exist_ok=True)
    for d in (b.spool_dir, b.mail):
        os.chown(d, b.uid, b.gid)
    yield b
    b.cleanup()


def write_spool(box, data, path=None):
    path = path or box.spool
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, box.uid, box.gid)


def test_select_fetch_status_on_spool_inbox(mboxbox):
    write_spool(mboxbox, DOVECOT_STYLE)
    mboxbox.start()
    m = login(mboxbox)
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    assert typ == "OK"
    assert b"MESSAGES 3" in data[0] and b"UIDNEXT 9" in data[0]
    assert b"UIDVALIDITY 1700000000" in data[0] and b"UNSEEN 2" in data[0]
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert m.untagged_responses.get("UIDVALIDITY") == [b"1700000000"]
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS)")
    assert typ == "OK"
    got = [r.decode() for r in data]
    assert "UID 5 FLAGS (\\Seen)" in got[0]
    assert "UID 7 FLAGS (\\Flagged \\Recent)" in got[1]
    # the third had no X-UID: the next after X-IMAPbase's last UID
    assert "UID 8 FLAGS (\\Recent)" in got[2]
    typ, data = m.uid("FETCH", "5", "(BODY.PEEK[] RFC822.SIZE INTERNALDATE)")
    assert typ == "OK"
    body = data[0][1]
    # Content-Length kept the unescaped "From " line inside the message,
    # and the mbox headers are not shown
    assert body == b"Subject: one\r\n\r\nline one\r\nFrom the body too\r\n"
    assert ("RFC822.SIZE %d" % len(body)).encode() in data[0][0]
    assert b'INTERNALDATE "19-Nov-2026 10:00:00 +0000"' in data[0][0]
    typ, data = m.uid("FETCH", "8", "(BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    # the file's last line end is the separator's, as Dovecot reads it
    assert data[0][1] == b">From quoted\r\nbody three"
    assert data[1][1] == b"Subject: three\r\n\r\n"
    typ, data = m.uid("FETCH", "7", "(ENVELOPE)")
    assert typ == "OK" and b'"two"' in data[0]
    typ, data = m.uid("SEARCH", "FLAGGED")
    assert typ == "OK" and data == [b"7"]
    m.logout()


def test_examine_empty_spool_created_and_folders(mboxbox):
    mboxbox.start()
    m = login(mboxbox)
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK" and data == [b"0"]
    assert os.path.isfile(mboxbox.spool)
    write_spool(mboxbox, b"From a@b  Thu Nov 19 10:00:00 2026\nSubject: f\n\nin folder\n",
                os.path.join(mboxbox.mail, "Work"))
    typ, data = m.status("Work", "(MESSAGES UNSEEN)")
    assert typ == "OK" and b"MESSAGES 1" in data[0] and b"UNSEEN 1" in data[0]
    typ, data = m.select("Work", readonly=True)
    assert typ == "OK" and data == [b"1"]
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
    # no separator line at the end: the last line end is taken as it (Dovecot's way)
    assert typ == "OK" and data[0][1] == b"in folder"
    typ, _ = m.select("Nope")
    assert typ == "NO"
    m.logout()


def read_spool(box, path=None):
    with open(path or box.spool, "rb") as f:
        return f.read()


def test_new_uids_written_back_under_x_imapbase(mboxbox):
    write_spool(mboxbox, DOVECOT_STYLE)
    mboxbox.start()
    m = login(mboxbox)
    assert m.select("INBOX", readonly=True)[0] == "OK"
    m.logout()
    text = read_spool(mboxbox)
    # the third message got X-UID 8, the first says the last UID is 8
    assert text.startswith(b"From alice@example.org  Thu Nov 19 10:00:00 2026\n")
    assert b"X-IMAPbase: 1700000000 0000000008\n" in text
    assert text.count(b"X-UID: 8\n") == 1 and text.count(b"X-IMAPbase") == 1
    assert b"\nFrom the body too\n" in text
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    assert m.uid("FETCH", "1:*", "(UID)")[1] == [b"1 (UID 5)", b"2 (UID 7)", b"3 (UID 8)"]
    m.logout()


def test_store_expunge_append_copy(mboxbox):
    write_spool(mboxbox, DOVECOT_STYLE)
    write_spool(mboxbox, b"", os.path.join(mboxbox.mail, "Archive"))
    mboxbox.start()
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    typ, data = m.uid("STORE", "7", "+FLAGS", "(\\Seen \\Answered)")
    assert typ == "OK" and b"UID 7" in data[0] and b"\\Answered" in data[0]
    typ, data = m.uid("STORE", "5", "+FLAGS.SILENT", "(\\Deleted)")
    assert typ == "OK"
    typ, data = m.uid("STORE", "5", "+FLAGS", "(todo)")
    assert typ == "OK" and b"todo" in data[0]
    text = read_spool(mboxbox)
    assert b"X-UID: 7\nStatus: RO\nX-Status: AF\n" in text
    assert b"X-UID: 5\nStatus: RO\nX-Status: D\nX-Keywords: todo\n" in text
    assert b"X-IMAPbase: 1700000000 0000000008 todo\n" in text
    typ, data = m.uid("COPY", "7:8", "Archive")
    assert typ == "OK"
    typ, data = m.expunge()
    assert typ == "OK" and data == [b"1"]
    text = read_spool(mboxbox)
    assert b"Subject: one" not in text and b"From the body too" not in text
    # the first message left carries X-IMAPbase now, with the same numbers
    # and the keyword names (kept, as Dovecot keeps them)
    assert text.startswith(b"From bob@example.org  Fri Nov 20 11:30:00 2026\n")
    assert b"X-IMAPbase: 1700000000 0000000008 todo\n" in text
    typ, data = m.append("INBOX", "(\\Flagged)", None,
                         b"Subject: new\r\n\r\nFrom me\r\nok\r\n")
    assert typ == "OK" and b"[APPENDUID 1700000000 9]" in data[0]
    typ, data = m.uid("FETCH", "9", "(FLAGS BODY.PEEK[TEXT])")
    assert typ == "OK" and b"\\Flagged" in data[0][0]
    # quoted as local delivery quotes, with Content-Length as Dovecot writes
    assert data[0][1] == b">From me\r\nok\r\n"
    assert b"Content-Length: 12\n\n>From me\nok\n" in read_spool(mboxbox)
    typ, data = m.status("Archive", "(MESSAGES UIDNEXT)")
    assert typ == "OK" and b"MESSAGES 2" in data[0] and b"UIDNEXT 3" in data[0]
    assert m.select("Archive")[0] == "OK"
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    assert b"\\Answered" in data[0][0] and data[0][1] == b"Subject: two\r\n\r\n"
    assert data[2][1] == b"Subject: three\r\n\r\n"
    m.logout()


def test_dovecot_written_mbox_served_with_same_uids_and_flags(mboxbox):
    loc = SPOOL_FMT % mboxbox.root
    port, stop = real_dovecot(mboxbox, loc)
    try:
        import imaplib
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        for i in range(4):
            assert d.append("INBOX", None, None,
                            b"Subject: m%d\r\n\r\nFrom here on %d\r\n" % (i, i))[0] == "OK"
        assert d.select("INBOX")[0] == "OK"
        uv = d.untagged_responses["UIDVALIDITY"][0]
        assert d.store("2", "+FLAGS", "(\\Seen \\Answered)")[0] == "OK"
        assert d.store("3", "+FLAGS", "(\\Flagged \\Draft)")[0] == "OK"
        typ, want = d.fetch("1:*", "(UID FLAGS BODY.PEEK[])")
        assert typ == "OK"
        d.close()
        d.logout()
    finally:
        stop()
    mboxbox.start()
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    assert m.untagged_responses["UIDVALIDITY"] == [uv]
    typ, got = m.fetch("1:*", "(UID FLAGS BODY.PEEK[])")
    assert typ == "OK"
    assert strip(got) == strip(want)
    # yubin changes it; Dovecot reads the same UIDs, flags and bytes back
    assert m.uid("STORE", "1", "+FLAGS", "(\\Flagged)")[0] == "OK"
    assert m.uid("STORE", "2", "-FLAGS", "(\\Seen)")[0] == "OK"
    assert m.uid("STORE", "4", "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    typ, data = m.append("INBOX", "(\\Seen)", None, b"Subject: from yubin\r\n\r\nhi\r\n")
    assert typ == "OK" and (b"[APPENDUID %s 5]" % uv) in data[0]
    typ, mine = m.fetch("1:*", "(UID FLAGS BODY.PEEK[])")
    assert typ == "OK" and len([r for r in mine if isinstance(r, tuple)]) == 4
    m.logout()
    port, stop = real_dovecot(mboxbox, loc)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        assert d.select("INBOX")[0] == "OK"
        assert d.untagged_responses["UIDVALIDITY"][0] == uv
        typ, theirs = d.fetch("1:*", "(UID FLAGS BODY.PEEK[])")
        assert typ == "OK"
        assert strip(theirs) == strip(mine)
        d.logout()
    finally:
        stop()


def deliver(box, bindir, text):
    r = subprocess.run([os.path.join(bindir, "deliver"), "-c", box.conf, "-d", "alice"],
                       input=text, capture_output=True, timeout=60)
    assert r.returncode == 0, r


def test_local_delivery_seen_at_noop_and_idle(mboxbox, bindir):
    """yubin's local delivery (deliver, the same mbox append local(8)
    uses: From_ line, >From quoting, dot-lock and fcntl lock) writes the
    spool while a session has it selected: NOOP and IDLE report it, and
    the new message gets its UID written in."""
    mboxbox.start()
    deliver(mboxbox, bindir, b"Subject: first\n\nFrom a line\nbody\n")
    with open(mboxbox.spool, "rb") as f:
        assert b"\n>From a line\n" in f.read()
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    deliver(mboxbox, bindir, b"Subject: second\n\nx\n")
    typ, _ = m.noop()
    assert typ == "OK" and m.untagged_responses.get("EXISTS")[-1] == b"2"
    typ, data = m.fetch("2", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and data[0][1] == b"Subject: second\r\n\r\n"
    uid2 = int(data[0][0].split(b"UID ")[1].split()[0])
    m.logout()
    with open(mboxbox.spool, "rb") as f:
        assert (b"X-UID: %d\n" % uid2) in f.read()

    s = socket.create_connection(("127.0.0.1", mboxbox.imap), timeout=20)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n")
    while not f.readline().startswith(b"+ idling"):
        pass
    deliver(mboxbox, bindir, b"Subject: third\n\ny\n")
    line = f.readline()
    while line.startswith(b"* OK Still"):
        line = f.readline()
    assert line == b"* 3 EXISTS\r\n"
    s.sendall(b"DONE\r\n")
    while True:
        line = f.readline()
        assert line, "connection closed"
        if line.startswith(b"c "):
            break
    assert line.startswith(b"c OK Idle completed")
    s.close()


def test_create_delete_rename_list_folders(mboxbox):
    mboxbox.start()
    m = login(mboxbox)
    assert m.create("Work")[0] == "OK"
    assert os.path.isfile(os.path.join(mboxbox.mail, "Work"))
    assert m.create("Lists.Debian")[0] == "OK"
    assert os.path.isfile(os.path.join(mboxbox.mail, "Lists", "Debian"))
    assert m.create("Work")[0] == "NO"
    typ, rows = m.list('""', "*")
    assert typ == "OK"
    got = sorted(r.decode() for r in rows)
    assert '(\\HasNoChildren) "." Work' in got
    assert '(\\HasNoChildren) "." Lists.Debian' in got
    assert any(r.endswith('"." Lists') and "\\Noselect" in r for r in got), got
    assert any(r.endswith('"." INBOX') for r in got), got
    assert m.append("Work", None, None, b"Subject: w\r\n\r\nw\r\n")[0] == "OK"
    assert m.rename("Work", "Done")[0] == "OK"
    assert not os.path.exists(os.path.join(mboxbox.mail, "Work"))
    typ, data = m.status("Done", "(MESSAGES)")
    assert typ == "OK" and b"MESSAGES 1" in data[0]
    assert m.select("Lists")[0] == "NO"
    assert m.delete("Done")[0] == "OK"
    assert not os.path.exists(os.path.join(mboxbox.mail, "Done"))
    assert m.delete("Done")[0] == "NO"
    assert m.delete("Lists.Debian")[0] == "OK"
    m.logout()


def test_keywords_both_ways_with_dovecot(mboxbox):
    """Keywords live where Dovecot keeps them in an mbox: the names in
    the first message's X-IMAPbase after UIDVALIDITY and the last UID,
    each message's in X-Keywords. Dovecot's are served by yubin, and
    yubin's (STORE, APPEND, COPY) are read back by Dovecot."""
    import imaplib
    loc = SPOOL_FMT % mboxbox.root
    write_spool(mboxbox, b"", os.path.join(mboxbox.mail, "Later"))
    port, stop = real_dovecot(mboxbox, loc)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        for i in range(3):
            assert d.append("INBOX", None, None, b"Subject: k%d\r\n\r\nbody %d\r\n" % (i, i))[0] == "OK"
        assert d.select("INBOX")[0] == "OK"
        assert d.store("1", "+FLAGS", "($Label1 foo)")[0] == "OK"
        assert d.store("2", "+FLAGS", "(bar \\Seen)")[0] == "OK"
        typ, want = d.fetch("1:*", "(UID FLAGS)")
        assert typ == "OK"
        d.logout()
    finally:
        stop()
    assert b"X-Keywords: $Label1 foo" in read_spool(mboxbox)
    mboxbox.start()
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    flags = m.untagged_responses["FLAGS"][-1]
    assert b"$Label1" in flags and b"foo" in flags and b"bar" in flags
    assert b"\\*" in m.untagged_responses["PERMANENTFLAGS"][-1]
    typ, got = m.fetch("1:*", "(UID FLAGS)")
    assert typ == "OK" and strip(got) == strip(want)
    # a new keyword, one taken away, an APPEND and a COPY with keywords
    typ, data = m.store("3", "+FLAGS", "(NewOne $Label1)")
    assert typ == "OK" and b"NewOne" in data[0] and b"$Label1" in data[0]
    assert b"NewOne" in m.untagged_responses["FLAGS"][-1]
    assert m.store("1", "-FLAGS", "(foo)")[0] == "OK"
    typ, data = m.append("INBOX", "(\\Seen Appended)", None, b"Subject: k3\r\n\r\nbody 3\r\n")
    assert typ == "OK"
    assert m.copy("1:2", "Later")[0] == "OK"
    typ, mine = m.fetch("1:*", "(UID FLAGS)")
    assert typ == "OK"
    assert b"Appended" in mine[3] and b"$Label1" in mine[0] and b"foo" not in mine[0]
    assert m.select("Later")[0] == "OK"
    typ, later = m.fetch("1:*", "(UID FLAGS)")
    assert typ == "OK" and b"$Label1" in later[0] and b"bar" in later[1]
    m.logout()
    text = read_spool(mboxbox)
    base = [ln for ln in text.split(b"\n") if ln.startswith(b"X-IMAPbase:")]
    assert len(base) == 1
    for k in (b"$Label1", b"foo", b"bar", b"NewOne", b"Appended"):
        assert k in base[0].split()[3:], base
    port, stop = real_dovecot(mboxbox, loc)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        assert d.select("INBOX")[0] == "OK"
        typ, theirs = d.fetch("1:*", "(UID FLAGS)")
        assert typ == "OK" and strip(theirs) == strip(mine)
        assert d.select("Later")[0] == "OK"
        typ, theirs = d.fetch("1:*", "(UID FLAGS)")
        assert typ == "OK" and strip(theirs) == strip(later)
        d.logout()
    finally:
        stop()


def pop3_stat(box):
    import poplib
    from imap_fixtures import tls_ctx as _ctx
    p = poplib.POP3_SSL("127.0.0.1", box.pop3s, context=_ctx(), timeout=20)
    p.user("alice")
    p.pass_("secret")
    n = p.stat()[0]
    uidl = p.uidl()[1]
    p.quit()
    return n, uidl


def test_expunging_everything_keeps_the_numbers_in_a_pseudo_message(mboxbox):
    """The last message expunged leaves Dovecot's pseudo message (X-IMAP
    in a first message that is no mail): UIDVALIDITY, the last UID and
    the keyword names survive, IMAP, POP3 and doveadm do not count it,
    the next message gets the next UID, and Debian's Dovecot agrees."""
    import imaplib
    write_spool(mboxbox, DOVECOT_STYLE)
    mboxbox.start()
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    assert m.store("1", "+FLAGS", "(kept)")[0] == "OK"
    assert m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    typ, data = m.expunge()
    assert typ == "OK" and len(data) == 3
    text = read_spool(mboxbox)
    assert text.startswith(b"From MAILER_DAEMON  ")
    assert b"\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n" in text
    assert b"\nX-IMAP: 1700000000 0000000008 kept\n" in text
    assert text.count(b"\nFrom ") == 0
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)")
    assert typ == "OK"
    assert b"MESSAGES 0" in data[0] and b"UIDNEXT 9" in data[0]
    assert b"UIDVALIDITY 1700000000" in data[0]
    m.logout()
    assert pop3_stat(mboxbox)[0] == 0
    st = mboxbox.doveadm("mailbox", "status", "-u", "alice", "messages uidnext uidvalidity",
                         "INBOX")
    assert st.returncode == 0, st
    assert "messages=0" in st.stdout and "uidvalidity=1700000000" in st.stdout, st.stdout
    assert "uidnext=9" in st.stdout, st.stdout
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    assert m.untagged_responses["EXISTS"][-1] == b"0"
    assert b"kept" in m.untagged_responses["FLAGS"][-1]
    typ, data = m.append("INBOX", None, None, b"Subject: after\r\n\r\nafter\r\n")
    assert typ == "OK" and b"[APPENDUID 1700000000 9]" in data[0]
    m.logout()
    text = read_spool(mboxbox)
    # the pseudo message stays first, with the new last UID
    assert text.startswith(b"From MAILER_DAEMON  ")
    assert b"\nX-IMAP: 1700000000 0000000009 kept\n" in text
    n, uidl = pop3_stat(mboxbox)
    assert n == 1 and len(uidl) == 1
    loc = SPOOL_FMT % mboxbox.root
    port, stop = real_dovecot(mboxbox, loc)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        assert d.select("INBOX")[0] == "OK"
        assert d.untagged_responses["UIDVALIDITY"][0] == b"1700000000"
        typ, data = d.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK" and b"UID 9 " in data[0][0] and data[0][1] == b"Subject: after\r\n\r\n"
        assert len([r for r in data if isinstance(r, tuple)]) == 1
        # Dovecot expunges everything in turn: yubin reads its pseudo message
        assert d.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
        assert d.expunge()[0] == "OK"
        d.logout()
    finally:
        stop()
    m = login(mboxbox)
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)")
    assert typ == "OK" and b"MESSAGES 0" in data[0] and b"UIDNEXT 10" in data[0]
    assert b"UIDVALIDITY 1700000000" in data[0]
    typ, data = m.append("INBOX", None, None, b"Subject: again\r\n\r\nagain\r\n")
    assert typ == "OK" and b"[APPENDUID 1700000000 10]" in data[0]
    m.logout()


def test_rewrite_keeps_owner_group_and_mode(mboxbox):
    """A rewritten mbox keeps its owner, group and mode: the spool file
    USER:mail 0660 (the user is not in group mail, so the new file could
    not get that group: the file is rewritten in place, as Dovecot does),
    and a folder 0640 in the user's own group (new file, renamed)."""
    import grp
    mail_gid = grp.getgrnam("mail").gr_gid
    write_spool(mboxbox, DOVECOT_STYLE)
    os.chown(mboxbox.spool, mboxbox.uid, mail_gid)
    os.chmod(mboxbox.spool, 0o660)
    folder = os.path.join(mboxbox.mail, "Work")
    write_spool(mboxbox, DOVECOT_STYLE, folder)
    os.chmod(folder, 0o640)
    mboxbox.start()
    m = login(mboxbox)
    for box, path in (("INBOX", mboxbox.spool), ("Work", folder)):
        assert m.select(box)[0] == "OK"
        assert m.uid("STORE", "7", "+FLAGS", "(\\Answered)")[0] == "OK"
        assert m.append(box, None, None, b"Subject: more\r\n\r\nmore\r\n")[0] == "OK"
        assert b"X-Status: AF\n" in read_spool(mboxbox, path)
    m.logout()
    st = os.stat(mboxbox.spool)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (mboxbox.uid, mail_gid, 0o660)
    st = os.stat(folder)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (mboxbox.uid, mboxbox.gid, 0o640)
    # nothing left beside them (.imap holds the offset caches, as Dovecot's indexes)
    assert sorted(os.listdir(mboxbox.spool_dir)) == [".imap", "alice"]
    assert sorted(os.listdir(mboxbox.mail)) == [".imap", "Work"]


def real_dovecot_pop3(box, location):
    """Debian's Dovecot serving POP3 on the box's user, with Dovecot's
    default UIDL format spelled out"""
    from imap_fixtures import real_dovecot as any_dovecot
    return any_dovecot(box, location, "pop3_uidl_format = %08Xu%08Xv\n", protocol="pop3")


def pop3_all(p):
    n = p.stat()[0]
    out = {"stat": p.stat(), "list": p.list()[1], "uidl": p.uidl()[1], "retr": []}
    for i in range(1, n + 1):
        out["retr"].append(p.retr(i)[1])
    return out


def test_pop3_splits_and_numbers_the_mbox_as_imap_and_dovecot(mboxbox):
    """POP3 (storage/mailbox_read.c) reads the mbox with IMAP's splitter
    (storage/mbox_file.c): a "From " body line inside a correct
    Content-Length stays in its message, UIDLs come from X-UID and
    X-IMAPbase, the mbox headers are hidden; all of it equal to what
    Debian's Dovecot's POP3 serves from the same file. Deleting the
    first message (the one with X-IMAPbase) keeps the numbers."""
    import imaplib
    import poplib
    from imap_fixtures import tls_ctx as _ctx
    write_spool(mboxbox, DOVECOT_STYLE)
    mboxbox.start()
    p = poplib.POP3_SSL("127.0.0.1", mboxbox.pop3s, context=_ctx(), timeout=20)
    p.user("alice")
    p.pass_("secret")
    mine = pop3_all(p)
    p.quit()
    assert mine["stat"][0] == 3
    assert b"From the body too" in b"\n".join(mine["retr"][0])
    assert not any(ln.startswith((b"X-UID", b"X-IMAPbase", b"Status", b"Content-Length"))
                   for r in mine["retr"] for ln in r)
    assert mine["uidl"] == [b"1 000000056553f100", b"2 000000076553f100",
                            b"3 000000086553f100"]
    port, stop = real_dovecot_pop3(mboxbox, SPOOL_FMT % mboxbox.root)
    try:
        d = poplib.POP3("127.0.0.1", port, timeout=20)
        d.user("alice")
        d.pass_("secret")
        theirs = pop3_all(d)
        d.quit()
    finally:
        stop()
    assert mine == theirs
    # the first message (with X-IMAPbase) deleted over POP3
    p = poplib.POP3_SSL("127.0.0.1", mboxbox.pop3s, context=_ctx(), timeout=20)
    p.user("alice")
    p.pass_("secret")
    p.dele(1)
    p.quit()
    m = login(mboxbox)
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)")
    assert typ == "OK" and b"MESSAGES 2" in data[0] and b"UIDNEXT 9" in data[0]
    assert b"UIDVALIDITY 1700000000" in data[0]
    assert m.select("INBOX")[0] == "OK"
    assert m.uid("FETCH", "1:*", "(UID)")[1] == [b"1 (UID 7)", b"2 (UID 8)"]
    m.logout()
    port, stop = real_dovecot(mboxbox, SPOOL_FMT % mboxbox.root)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        assert d.select("INBOX")[0] == "OK"
        assert d.untagged_responses["UIDVALIDITY"][0] == b"1700000000"
        assert d.uid("FETCH", "1:*", "(UID)")[1] == [b"1 (UID 7)", b"2 (UID 8)"]
        d.logout()
    finally:
        stop()


def test_copy_and_move_into_mbox_are_all_or_nothing(mboxbox):
    """COPY/MOVE into an mbox takes all the messages in one append under
    one lock: when one source message is gone half-way (expunged by
    another session), the target is left exactly as it was and MOVE
    keeps its originals; a COPY that works is appended in place (the
    same file, X-IMAPbase's last UID changed where it stands)."""
    write_spool(mboxbox, DOVECOT_STYLE)
    archive = os.path.join(mboxbox.mail, "Archive")
    write_spool(mboxbox, b"From a@b  Thu Nov 19 10:00:00 2026\nX-IMAPbase: 42 0000000003\n"
                b"X-UID: 3\nSubject: old\n\nold\n\n", archive)
    mboxbox.start()
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    other = login(mboxbox)
    assert other.select("INBOX")[0] == "OK"
    assert other.uid("STORE", "7", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    assert other.expunge()[0] == "OK"
    before = read_spool(mboxbox, archive)
    for cmd in ("COPY", "MOVE"):
        typ, data = m.uid(cmd, "5:8", "Archive")
        assert typ == "NO" and b"EXPUNGEISSUED" in data[-1], (cmd, data)
        assert read_spool(mboxbox, archive) == before
    # MOVE kept its originals: after the sync, the two left are there
    assert m.noop()[0] == "OK"
    assert m.uid("FETCH", "1:*", "(UID)")[1] == [b"1 (UID 5)", b"2 (UID 8)"]
    ino = os.stat(archive).st_ino
    assert m.uid("COPY", "5:8", "Archive")[0] == "OK"
    assert m.response("COPYUID")[1] == [b"42 5,8 4,5"]
    assert os.stat(archive).st_ino == ino
    text = read_spool(mboxbox, archive)
    assert text.startswith(before.replace(b" 0000000003\n", b" 0000000005\n"))
    assert text.count(b"\nFrom ") == 2
    # the copies: a bare "From " line quoted (docs/compat.md), ">From "
    # not quoted again
    assert m.select("Archive")[0] == "OK"
    typ, data = m.uid("FETCH", "4:5", "(BODY.PEEK[TEXT])")
    assert typ == "OK" and data[0][1] == b"line one\r\n>From the body too\r\n"
    assert data[2][1] == b">From quoted\r\nbody three"
    typ, data = m.status("Archive", "(MESSAGES UIDNEXT)")
    assert typ == "OK" and b"MESSAGES 3" in data[0] and b"UIDNEXT 6" in data[0]
    other.logout()
    m.logout()


def test_store_over_many_messages_at_once(mboxbox):
    """STORE over a range changes every message in one rewrite of the
    mbox; a message expunged by another session meanwhile is left out of
    the replies, the others all change."""
    msgs = b"".join(b"From a@b  Thu Nov 19 10:00:00 2026\nSubject: m%d\n\nbody %d\n\n" % (i, i)
                    for i in range(30))
    write_spool(mboxbox, msgs)
    mboxbox.start()
    m = login(mboxbox)
    assert m.select("INBOX")[0] == "OK"
    other = login(mboxbox)
    assert other.select("INBOX")[0] == "OK"
    assert other.store("5", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    assert other.expunge()[0] == "OK"
    other.logout()
    typ, data = m.store("1:*", "+FLAGS", "(\\Seen Big)")
    assert typ == "OK"
    got = [r for r in data if r is not None and b"FLAGS" in r]
    assert len(got) == 29, data
    assert all(b"\\Seen" in r and b"Big" in r for r in got)
    assert not any(r.startswith(b"5 (") for r in got)
    text = read_spool(mboxbox)
    assert text.count(b"\nX-Keywords: Big\n") == 29 and text.count(b"Subject: m4\n") == 0
    typ, data = m.store("2:3", "-FLAGS", "(Big)")
    assert typ == "OK" and len([r for r in data if r is not None and b"FLAGS" in r]) == 2
    typ, data = m.uid("SEARCH", "KEYWORD", "Big")
    assert typ == "OK" and len(data[0].split()) == 27
    m.logout()


class Raw:
    """A plain IMAP connection: cmd() returns (untagged lines, tagged line)."""

    def __init__(self, box):
        self.s = socket.create_connection(("127.0.0.1", box.imap), timeout=30)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        typ, _ = self.cmd("LOGIN alice secret")
        assert typ.startswith(b"OK"), typ

    def cmd(self, line):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + line.encode() + b"\r\n")
        out = []
        while True:
            got = self.f.readline()
            assert got, "connection closed"
            if got.startswith(tag + b" "):
                return got[len(tag) + 1:].rstrip(), out
            out.append(got.rstrip())

    def close(self):
        self.cmd("LOGOUT")
        self.s.close()


def modseqs(lines):
    """{uid: modseq} from FETCH lines that carry UID and MODSEQ"""
    import re
    got = {}
    for line in lines:
        m = re.search(rb"UID (\d+)", line)
        q = re.search(rb"MODSEQ \((\d+)\)", line)
        if m and q:
            got[int(m.group(1))] = int(q.group(1))
    return got


def highest(lines):
    for line in lines:
        if line.startswith(b"* OK [HIGHESTMODSEQ "):
            return int(line.split()[3].rstrip(b"]"))
    raise AssertionError(lines)


def test_condstore_on_mbox_from_the_offset_cache(mboxbox, bindir):
    """CONDSTORE on an mbox (modseqs kept in its offset cache, as Dovecot
    keeps them in its index): HIGHESTMODSEQ grows on STORE, CHANGEDSINCE
    names exactly what changed, UNCHANGEDSINCE answers [MODIFIED], and the
    modseqs survive a delivery (the cache rebuilt from the changed file)
    and a restart."""
    write_spool(mboxbox, DOVECOT_STYLE)
    mboxbox.start()
    c = Raw(mboxbox)
    typ, r = c.cmd("SELECT INBOX (CONDSTORE)")
    assert typ.startswith(b"OK"), r
    h0 = highest(r)
    assert h0 >= 1
    typ, r = c.cmd("UID FETCH 1:* (MODSEQ)")
    ms = modseqs(r)
    assert sorted(ms) == [5, 7, 8] and max(ms.values()) <= h0
    # STORE: a higher modseq, told in the FETCH reply
    typ, r = c.cmd("UID STORE 5 +FLAGS (\\Answered)")
    assert typ.startswith(b"OK"), r
    m1 = modseqs(r)[5]
    assert m1 > h0
    typ, r = c.cmd("NOOP")
    s2 = Raw(mboxbox)
    typ, r = s2.cmd("STATUS INBOX (HIGHESTMODSEQ)")
    assert typ.startswith(b"OK") and (b"HIGHESTMODSEQ %d" % m1) in r[0], r
    # CHANGEDSINCE: exactly what changed after h0
    typ, r = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
    assert typ.startswith(b"OK") and sorted(modseqs(r)) == [5], r
    # UNCHANGEDSINCE: 7 is unchanged since h0 (stored), 5 is not
    typ, r = c.cmd("UID STORE 7 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % h0)
    assert typ.startswith(b"OK Store completed"), (typ, r)
    m2 = modseqs(r)[7]
    assert m2 > m1
    typ, r = c.cmd("UID STORE 5 (UNCHANGEDSINCE %d) +FLAGS (\\Deleted)" % h0)
    assert typ.startswith(b"OK [MODIFIED 5]"), (typ, r)
    typ, r = c.cmd("UID FETCH 5 (FLAGS)")
    assert b"\\Deleted" not in r[0]
    # another session's STORE is seen with its modseq
    typ, r = s2.cmd("SELECT INBOX (CONDSTORE)")
    assert highest(r) == m2
    typ, r = s2.cmd("UID STORE 8 +FLAGS (\\Flagged)")
    m3 = modseqs(r)[8]
    assert m3 > m2
    s2.close()
    typ, r = c.cmd("NOOP")
    assert modseqs(r) == {8: m3}, r
    # a delivery changes the file: the cache is rebuilt, modseqs stay
    # and the new message gets a higher one
    deliver(mboxbox, bindir, b"Subject: new\n\nfresh\n")
    typ, r = c.cmd("NOOP")
    assert b"* 4 EXISTS" in r, r
    typ, r = c.cmd("UID FETCH 1:* (MODSEQ)")
    after = modseqs(r)
    assert len(after) == 4
    new_uid = max(after)
    assert {u: after[u] for u in (5, 7, 8)} == {5: m1, 7: m2, 8: m3}
    assert after[new_uid] > m3
    typ, r = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m2)
    assert sorted(modseqs(r)) == [8, new_uid], r
    typ, r = c.cmd("UID SEARCH MODSEQ %d" % (m2 + 1))
    assert typ.startswith(b"OK")
    line = [x for x in r if x.startswith(b"* SEARCH")][0]
    assert sorted(int(x) for x in line.split()[2:-2]) == [8, new_uid], line
    c.close()
    # a restart: the same modseqs from the cache on disk
    mboxbox.stop()
    mboxbox.start()
    c = Raw(mboxbox)
    typ, r = c.cmd("SELECT INBOX (CONDSTORE)")
    assert highest(r) == after[new_uid]
    typ, r = c.cmd("UID FETCH 1:* (MODSEQ)")
    assert modseqs(r) == after
    # expunge: the rest keep theirs, HIGHESTMODSEQ still grows
    typ, r = c.cmd("UID STORE 7 +FLAGS.SILENT (\\Deleted)")
    typ, r = c.cmd("EXPUNGE")
    assert typ.startswith(b"OK"), r
    c.close()
    c = Raw(mboxbox)
    typ, r = c.cmd("SELECT INBOX (CONDSTORE)")
    h_end = highest(r)
    assert h_end > after[new_uid]
    typ, r = c.cmd("UID FETCH 1:* (MODSEQ)")
    final = modseqs(r)
    assert final[5] == m1 and final[8] == m3 and 7 not in final
    c.close()


def test_condstore_on_unwritable_spool_is_nomodseq(mboxbox):
    """A spool directory the user cannot write holds no cache: no
    modseqs, NOMODSEQ at SELECT and HIGHESTMODSEQ 0 in STATUS (Dovecot's
    answer without its index)."""
    write_spool(mboxbox, DOVECOT_STYLE.replace(b"Subject: three\n", b"Subject: three\nX-UID: 8\n"))
    os.chown(mboxbox.spool_dir, 0, 0)
    os.chmod(mboxbox.spool_dir, 0o755)
    mboxbox.start()
    c = Raw(mboxbox)
    typ, r = c.cmd("STATUS INBOX (MESSAGES HIGHESTMODSEQ)")
    assert typ.startswith(b"OK") and b"HIGHESTMODSEQ 0" in r[0], r
    typ, r = c.cmd("SELECT INBOX (CONDSTORE)")
    assert typ.startswith(b"OK"), r
    assert b"* OK [NOMODSEQ] No permanent modsequences" in r, r
    assert not [x for x in r if b"HIGHESTMODSEQ" in x], r
    assert not os.path.exists(os.path.join(mboxbox.spool_dir, ".imap"))
    c.close()
    # CONDSTORE enabled with the mailbox already selected says it too
    c = Raw(mboxbox)
    typ, r = c.cmd("SELECT INBOX")
    typ, r = c.cmd("ENABLE CONDSTORE")
    assert typ.startswith(b"OK"), r
    assert b"* OK [NOMODSEQ] No permanent modsequences" in r, r
    # RFC 7162 3.1.2.2: what needs modseqs is refused with BAD there
    for cmd in ("FETCH 1 (FLAGS MODSEQ)", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
                "STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\\Seen)", "SEARCH MODSEQ 1",
                "UID SEARCH OR MODSEQ 1 SEEN"):
        typ, r = c.cmd(cmd)
        assert typ.startswith(b"BAD") and b"no permanent modsequences" in typ, (cmd, typ)
    typ, r = c.cmd("FETCH 1 (FLAGS)")
    assert typ.startswith(b"OK") and not [x for x in r if b"MODSEQ" in x], r
    typ, r = c.cmd("STORE 1 +FLAGS (\\Flagged)")
    assert typ.startswith(b"OK") and r and not [x for x in r if b"MODSEQ" in x], r
    c.close()


def test_folder_files_with_dots_in_their_names(mboxbox):
    """~/mail/lists.debian is the folder "lists.debian" (separator "/",
    Dovecot's default for mbox), as Dovecot serves it; the mbox index
    directory and another mbox's dot-lock are not folders."""
    with open(mboxbox.conf) as f:
        text = f.read()
    with open(mboxbox.conf, "w") as f:
        f.write(text.replace("separator = .\n", "separator = /\n"))
    write_spool(mboxbox, DOVECOT_STYLE)
    os.makedirs(os.path.join(mboxbox.mail, "arch.2025"))
    os.chown(os.path.join(mboxbox.mail, "arch.2025"), mboxbox.uid, mboxbox.gid)
    write_spool(mboxbox, DOVECOT_STYLE, os.path.join(mboxbox.mail, "lists.debian"))
    write_spool(mboxbox, DOVECOT_STYLE, os.path.join(mboxbox.mail, "arch.2025", "q1.old"))
    write_spool(mboxbox, b"", os.path.join(mboxbox.mail, "other.lock"))
    mboxbox.start()
    m = login(mboxbox)
    typ, data = m.list('""', "*")
    names = sorted(x.decode().split(' "/" ')[1] for x in data)
    assert names == ["INBOX", "arch.2025", "arch.2025/q1.old", "lists.debian"], data
    typ, data = m.select("lists.debian")
    assert typ == "OK" and data == [b"3"], data
    typ, data = m.uid("FETCH", "7", "(FLAGS)")
    assert typ == "OK" and b"\\Flagged" in data[0], data
    m.close()
    typ, data = m.status("arch.2025/q1.old", "(MESSAGES)")
    assert typ == "OK" and b"MESSAGES 3" in data[0], data
    assert m.create("new.box")[0] == "OK"
    assert os.path.isfile(os.path.join(mboxbox.mail, "new.box"))
    assert m.rename("new.box", "arch.2025/moved.box")[0] == "OK"
    assert os.path.isfile(os.path.join(mboxbox.mail, "arch.2025", "moved.box"))
    typ, data = m.create("x/..")
    assert typ == "NO" and b"Contains '..' part" in data[0], data
    m.logout()


def test_folder_files_with_dots_under_separator_dot(mboxbox):
    """with "." as the separator a file "a.b" cannot be named: not listed
    (it would read as a/b), and "a.b" is the file a/b"""
    write_spool(mboxbox, DOVECOT_STYLE)
    write_spool(mboxbox, DOVECOT_STYLE, os.path.join(mboxbox.mail, "lists.debian"))
    mboxbox.start()
    m = login(mboxbox)
    typ, data = m.list('""', "*")
    assert [x for x in data if b"lists" in x] == [], data
    assert m.create("a.b")[0] == "OK"
    assert os.path.isfile(os.path.join(mboxbox.mail, "a", "b"))
    m.logout()


def test_mbox_own_file_names_are_not_mailboxes(mboxbox):
    """"X.lock" (a dot-lock: a later lock of X would take it for a stale
    one and unlink it), ".imap" (the index directory) and ".subscriptions"
    (the subscriptions file, Dovecot's name under mbox) are refused with
    Dovecot's text; "subscriptions" is a mailbox like any other, and a
    child "V/x" of a mailbox "V" stays subscribed (only the file's first
    line is the version header)."""
    with open(mboxbox.conf) as f:
        text = f.read()
    with open(mboxbox.conf, "w") as f:
        f.write(text.replace("separator = .\n", "separator = /\n"))
    write_spool(mboxbox, DOVECOT_STYLE)
    mboxbox.start()
    m = login(mboxbox)
    for name in ("Work.lock", "a/b.lock", ".imap", "x/.imap", ".subscriptions"):
        typ, data = m.create(name)
        assert typ == "NO" and data[0].startswith(
            b"[CANNOT] Invalid mailbox name: Contains reserved name"), (name, data)
        typ, data = m.append(name, None, None, b"x\r\n\r\n")
        assert typ == "NO", (name, data)
    assert not os.path.exists(os.path.join(mboxbox.mail, "Work.lock"))
    for name in ("Work", "subscriptions", "V/x", "x.lockx"):
        assert m.create(name)[0] == "OK", name
    assert m.subscribe("V/x")[0] == "OK" and m.subscribe("Work")[0] == "OK"
    with open(os.path.join(mboxbox.mail, ".subscriptions")) as f:
        assert f.read() == "V\t2\n\nV\tx\nWork\n"
    typ, data = m.lsub('""', "*")
    assert sorted(data) == [b'() "/" V/x', b'() "/" Work'], data
    typ, data = m.list('""', "*")
    names = sorted(x.decode().split(' "/" ')[1] for x in data)
    assert names == ["INBOX", "V", "V/x", "Work", "subscriptions", "x.lockx"], data
    m.logout()
