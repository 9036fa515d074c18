"""IMAP (issue 7): Python's imaplib drives the commands yubin implements
over STARTTLS and imaps; ENVELOPE and BODYSTRUCTURE equal Debian's real
Dovecot's on the same messages; UIDs and UIDVALIDITY are shared with POP3
(dovecot-uidlist); a delivery during IDLE is reported at once; bad input
(unknown commands, a 4 GB literal, 10,000 parentheses, "../" names) gets
Dovecot's replies; mutt, mbsync and curl read the same mailbox."""
import imaplib
import os
import poplib
import shutil
import signal
import socket
import subprocess
import time

import pytest

from imap_fixtures import ImapBox, login, real_dovecot, tls_ctx
from pop3_fixtures import listening, wait_for

MSG1 = (b'From: "Alice A" <a@example.org>\nTo: bob@example.net, "C, D" <c@d.example>\n'
        b'Subject: =?UTF-8?B?aGVsbG8=?=\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n'
        b'Message-ID: <x1@example.org>\n\nbody one\n')
MSG2 = (b'From: b@example.org\nSubject: two\nMIME-Version: 1.0\n'
        b'Content-Type: multipart/mixed; boundary="XX"\n\npre\n--XX\n'
        b'Content-Type: text/plain; charset=utf-8\n\nhello\n--XX\n'
        b'Content-Type: application/octet-stream; name="a.bin"\n'
        b'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="a.bin"\n'
        b'\nAAAA\n--XX--\n')
MSG3 = (b'From: x@example.org\nTo: undisclosed-recipients:;\nCc: (Comment Name) c@d.example\n'
        b'Subject: fwd\nContent-Type: message/rfc822\n\n'
        b'From: "Inner" <in@example.org>\nSubject: inner\nContent-Language: en\n'
        b'Content-Type: text/html; charset="iso-8859-1"\n\n<p>x</p>\n')


@pytest.fixture
def box(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r")
    b.put("1700000001.M1P1.test", MSG1)
    b.put("1700000002.M1P1.test", MSG2)
    b.put("1700000003.M1P1.test", MSG3)
    yield b
    b.cleanup()


def talk(port, chunks, wait=0.3):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    out = s.recv(4096)
    for c in chunks:
        s.sendall(c)
        time.sleep(wait)
        s.settimeout(wait)
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
        except socket.timeout:
            pass
    s.close()
    return out


def test_greeting_login_and_logout_lines(box):
    box.start()
    m = imaplib.IMAP4("127.0.0.1", box.imap, timeout=20)
    assert m.welcome.startswith(b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE "
                                b"IDLE LITERAL+ STARTTLS AUTH=PLAIN")
    assert m.welcome.endswith(b"] Dovecot (Debian) ready.")
    m.starttls(ssl_context=tls_ctx())
    typ, data = m.login("alice", "secret")
    assert typ == "OK" and data[0].endswith(b"] Logged in")
    caps = m.capability()[1][0].split()
    assert b"UIDPLUS" in caps and b"MOVE" in caps and b"IDLE" in caps
    m.logout()
    assert wait_for(lambda: "Disconnected: Logged out in=" in box.logtext())
    log = box.logtext()
    assert "imap-login: Login: user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=" in log
    assert ", TLS, session=<" in log
    # AUTHENTICATE PLAIN with SASL-IR over imaps
    m = imaplib.IMAP4_SSL("127.0.0.1", box.imaps, ssl_context=tls_ctx(), timeout=20)
    typ, _ = m.authenticate("PLAIN", lambda _: b"\0alice\0secret")
    assert typ == "OK"
    m.logout()
    m = imaplib.IMAP4_SSL("127.0.0.1", box.imaps, ssl_context=tls_ctx(), timeout=20)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("alice", "wrong")


def test_select_fetch_store_search_expunge(box):
    box.start()
    m = login(box)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert m.untagged_responses.get("RECENT") == [b"3"]
    typ, data = m.fetch("1:*", "(UID RFC822.SIZE FLAGS)")
    # in the order asked, as Dovecot answers
    assert [d for d in data] == [b"1 (UID 1 RFC822.SIZE 187 FLAGS (\\Recent))",
                                 b"2 (UID 2 RFC822.SIZE 325 FLAGS (\\Recent))",
                                 b"3 (UID 3 RFC822.SIZE %d FLAGS (\\Recent))"
                                 % (len(MSG3) + MSG3.count(b"\n"))]
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<1.3>)")
    assert data[0][0] == b"1 (BODY[HEADER.FIELDS (SUBJECT)] {33}"
    assert data[0][1] == b"Subject: =?UTF-8?B?aGVsbG8=?=\r\n\r\n"
    assert data[1] == (b" BODY[TEXT]<1> {3}", b"ody")
    typ, data = m.fetch("2", "(BODY[1] BODY.PEEK[2.MIME] BODY[5])")
    assert data[0][1] == b"hello"
    assert data[1][1].startswith(b"Content-Type: application/octet-stream")
    typ, data = m.fetch("3", "(BODY.PEEK[1.HEADER.FIELDS.NOT (Content-Type Content-Language)])")
    assert data[0][1] == b'From: "Inner" <in@example.org>\r\nSubject: inner\r\n\r\n'
    typ, data = m.fetch("2", "FLAGS")
    assert data == [b"2 (FLAGS (\\Seen \\Recent))"]    # set by BODY[1]
    typ, data = m.store("1", "+FLAGS", "(\\Flagged $Label1)")
    assert data == [b"1 (FLAGS (\\Flagged \\Recent $Label1))"]
    typ, data = m.uid("STORE", "3", "+FLAGS.SILENT", "(\\Deleted)")
    assert typ == "OK" and data == [None]
    assert m.search(None, "FLAGGED")[1] == [b"1"]
    assert m.search(None, "UNSEEN")[1] == [b"1 3"]
    assert m.search(None, 'OR FROM "b@example" SUBJECT inner')[1] == [b"2"]
    assert m.search(None, "BODY", "hello")[1] == [b"2"]
    assert m.search(None, "KEYWORD", "$Label1", "SENTON", "1-Jan-2024")[1] == [b"1"]
    assert m.search("UTF-8", "LARGER", "300", "NOT", "DELETED")[1] == [b"2"]
    assert m.uid("SEARCH", "2:*")[1] == [b"2 3"]
    # the flags are Dovecot's Maildir letters and keyword file
    names = sorted(os.listdir(os.path.join(box.maildir, "cur")))
    assert names[0].endswith(":2,Fa") and names[1].endswith(":2,S") and names[2].endswith(":2,T")
    with open(os.path.join(box.maildir, "dovecot-keywords")) as f:
        assert f.read() == "0 $Label1\n"
    typ, data = m.expunge()
    assert data == [b"3"]
    assert m.fetch("1:*", "UID")[1] == [b"1 (UID 1)", b"2 (UID 2)"]
    with pytest.raises(imaplib.IMAP4.error, match="Invalid messageset"):
        m.fetch("5", "FLAGS")
    m.close()
    m.logout()


def test_envelope_and_bodystructure_equal_real_dovecots(box):
    """Debian's Dovecot serves the same Maildir first; yubin must give the
    same ENVELOPE, BODYSTRUCTURE, BODY, UIDs and UIDVALIDITY."""
    items = "(UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)"
    port, stop = real_dovecot(box)
    try:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        m.login("alice", "secret")
        m.select("INBOX", readonly=True)
        want = m.fetch("1:*", items)[1]
        want_status = m.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")[1]
        m.logout()
    finally:
        stop()
    box.start()
    m = login(box)
    m.select("INBOX", readonly=True)
    got = m.fetch("1:*", items)[1]
    got_status = m.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")[1]
    m.logout()
    assert got == want
    assert got_status == want_status


def test_real_dovecot_reads_what_yubin_wrote(box):
    """yubin appends, flags, copies into a folder and expunges; Debian's
    Dovecot then shows the same UIDs, flags, keywords and folders."""
    box.start()
    m = login(box)
    m.create("Work")
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Seen $Important)")
    m.store("2", "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.append("INBOX", "(\\Flagged)", None, b"Subject: from yubin\r\n\r\nhi\r\n")
    m.copy("1", "Work")
    items = "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
    want = m.fetch("1:*", items)[1]
    want_work = m.status("Work", "(MESSAGES UIDNEXT UIDVALIDITY)")[1]
    want_status = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)")[1]
    m.logout()
    box.stop()
    port, stop = real_dovecot(box)
    try:
        d = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        d.login("alice", "secret")
        d.select("INBOX", readonly=True)
        got = d.fetch("1:*", items)[1]
        got_status = d.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)")[1]
        got_work = d.status("Work", "(MESSAGES UIDNEXT UIDVALIDITY)")[1]
        d.logout()
    finally:
        stop()
    # \\Recent belongs to whichever session saw a message first
    def strip1(r):
        return r.replace(b" \\Recent", b"").replace(b"\\Recent ", b"").replace(b"\\Recent", b"")

    def strip(rows):
        return [(strip1(r[0]),) + r[1:] if isinstance(r, tuple) else strip1(r) for r in rows]
    assert strip(got) == strip(want)
    assert b"$Important" in want[0][0] and b"\\Flagged" in want[-2][0]
    assert got_status == want_status and got_work == want_work


def test_folders_append_copy_move_status(box):
    box.start()
    m = login(box, "imaps")
    assert m.create("Archive")[0] == "OK"
    assert m.create("Archive.2024")[0] == "OK"
    assert m.create("Archive")[1] == [b"[ALREADYEXISTS] Mailbox already exists (0.001 + 0.000 secs)."] \
        or m.create("Archive")[0] == "NO"
    assert os.path.isdir(os.path.join(box.folder("Archive.2024"), "cur"))
    typ, data = m.list('""', "*")
    assert data == [b'(\\HasChildren) "." Archive', b'(\\HasNoChildren) "." Archive.2024',
                    b'(\\HasNoChildren) "." INBOX']
    assert m.list('""', "%")[1] == [b'(\\HasChildren) "." Archive', b'(\\HasNoChildren) "." INBOX']
    assert m.subscribe("Archive")[0] == "OK"
    assert m.lsub('""', "*")[1] == [b'() "." Archive']
    typ, data = m.append("Archive", "(\\Seen)", imaplib.Time2Internaldate(1700000000),
                         b"Subject: appended\r\n\r\nhi\r\n")
    assert typ == "OK" and data[0].startswith(b"[APPENDUID ") and b" 1] Append completed" in data[0]
    assert m.status("Archive", "(MESSAGES UNSEEN UIDNEXT)")[1] == [
        b"Archive (MESSAGES 1 UIDNEXT 2 UNSEEN 0)"]
    m.select("INBOX")
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK" and b"[COPYUID " in data[0] and b" 1:2 " in data[0] or b" 1,2 2,3]" in data[0]
    typ, data = m.uid("MOVE", "3", "Archive.2024")
    assert typ == "OK"
    assert m.untagged_responses.get("EXPUNGE") == [b"3"]
    assert m.status("Archive.2024", "(MESSAGES)")[1] == [b"Archive.2024 (MESSAGES 1)"]
    assert m.rename("Archive", "Old")[0] == "OK"
    assert os.path.isdir(box.folder("Old.2024"))
    m.select("Old")
    typ, data = m.fetch("1", "(INTERNALDATE BODY[])")
    assert data[0][1] == b"Subject: appended\r\n\r\nhi\r\n"
    assert b'INTERNALDATE "14-Nov-2023 22:13:20 +0000"' in data[0][0]
    m.unselect() if hasattr(m, "unselect") else m.close()
    assert m.delete("Old.2024")[0] == "OK"
    assert not os.path.exists(box.folder("Old.2024"))
    for bad in ("../x", "a/../b", "\"a\x01b\"", ".x", "a..b", "~x"):
        typ, data = m.create(bad)
        assert typ == "NO", bad
    assert m.delete("INBOX")[1][0].startswith(b"INBOX can't be deleted")
    m.logout()
    assert not os.path.exists(os.path.join(box.root, "home", "x"))


def test_uids_shared_with_pop3(box):
    box.start()
    m = login(box)
    m.select("INBOX")
    uids = m.fetch("1:*", "UID")[1]
    validity = m.response("UIDVALIDITY")[1][0]
    m.logout()
    p = poplib.POP3_SSL("127.0.0.1", box.pop3s, context=tls_ctx(), timeout=20)
    p.user("alice")
    p.pass_("secret")
    uidl = p.uidl()[1]
    p.quit()
    assert len(uids) == len(uidl) == 3
    for i, line in enumerate(uidl):
        u = line.split()[1]
        assert int(u[:8], 16) == i + 1 and int(u[8:], 16) == int(validity)


def test_idle_reports_a_delivery_at_once(box):
    box.start()
    s = socket.create_connection(("127.0.0.1", box.imap), timeout=20)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n")
    while not f.readline().startswith(b"+ idling"):
        pass
    box.put("1700000009.M9P9.test", b"Subject: new\n\nnew\n")
    lines = [f.readline(), f.readline()]
    # RECENT counts every message still \\Recent in this session
    assert lines == [b"* 4 EXISTS\r\n", b"* 4 RECENT\r\n"]
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"c OK Idle completed")
    s.close()


def _hold_inotify_instances(uid, gid):
    """A child, as uid, that takes every inotify instance the kernel allows
    that user (max_user_instances) and holds them until killed; its pid once
    the limit is reached."""
    import ctypes
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            libc = ctypes.CDLL(None, use_errno=True)
            for _ in range(100000):
                if libc.inotify_init1(0) < 0:
                    break
            os.write(w, b"x")
            # whatever another process of this user frees is taken too
            for _ in range(24000):
                libc.inotify_init1(0)
                time.sleep(0.005)
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"x"
    os.close(r)
    return pid


def test_idle_without_inotify_still_reports_a_delivery(box):
    """When the user has no inotify instance left, IDLE looks at the mailbox
    every second instead (and says why in the log), so a delivery is still
    reported, not two minutes later at the keepalive."""
    if os.getuid() == 0 and box.uid == 0:
        pytest.skip("the mail owner is root: the limit does not apply")
    box.start()
    holder = _hold_inotify_instances(box.uid, box.gid)
    try:
        s = socket.create_connection(("127.0.0.1", box.imap), timeout=20)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n")
        while not f.readline().startswith(b"+ idling"):
            pass
        box.put("1700000009.M9P9.test", b"Subject: new\n\nnew\n")
        lines = [f.readline(), f.readline()]
        assert lines == [b"* 4 EXISTS\r\n", b"* 4 RECENT\r\n"]
        s.sendall(b"DONE\r\n")
        assert f.readline().startswith(b"c OK Idle completed")
        s.close()
    finally:
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)
    # the line goes through the log pipe: it may land after the session ended
    assert wait_for(lambda: "Inotify instance limit for user %d exceeded" % box.uid
                    in box.logtext()), box.logtext()


def test_copy_and_move_are_all_or_nothing(box):
    """A COPY or MOVE that cannot copy every message answers NO and leaves
    neither copies nor missing originals: clients that COPY, then set
    \\Deleted and EXPUNGE, must never lose the only copy."""
    box.start()
    a = login(box)
    assert a.create("T")[0] == "OK"
    a.select("INBOX")
    # another session expunges message 3 behind a's back: a still names it
    b = login(box)
    b.select("INBOX")
    b.store("3", "+FLAGS", "(\\Deleted)")
    b.expunge()
    b.logout()
    typ, data = a.copy("1:3", "T")
    assert typ == "NO" and b"EXPUNGEISSUED" in data[0], data
    tcur = os.path.join(box.maildir, ".T", "cur")
    assert os.listdir(tcur) == []
    # the target cannot take files at all (a stand-in for EIO or a full disk)
    shutil.rmtree(tcur)
    with open(tcur, "w") as f:
        f.write("not a directory")
    a.noop()
    typ, data = a.copy("1", "T")
    assert typ == "NO" and b"SERVERBUG" in data[0], data
    typ, data = a.uid("MOVE", "1:*", "T")
    assert typ == "NO", data
    typ, data = a.select("INBOX")
    assert typ == "OK" and data == [b"2"]
    a.logout()


def test_other_sessions_changes_are_reported(box):
    box.start()
    a = login(box)
    b = login(box)
    a.select("INBOX")
    b.select("INBOX")
    b.store("1", "+FLAGS", "(\\Deleted)")
    b.expunge()
    b.store("1", "+FLAGS", "(\\Answered)")
    typ, _ = a.noop()
    assert a.untagged_responses.get("EXPUNGE") == [b"1"]
    assert any(b"FLAGS (\\Answered" in x for x in a.untagged_responses.get("FETCH", []))
    a.logout()
    b.logout()


def test_bad_input_gets_dovecots_replies(box):
    box.start()
    out = talk(box.imap, [b"a FOO\r\n", b"b LOGIN \"x\r\n", b"c LOGIN {5}\r\n"])
    assert b"a BAD Error in IMAP command received by server.\r\n" in out
    assert b"b BAD Missing '\"'\r\n" in out
    assert b"+ OK\r\n" in out
    out = talk(box.imap, [b"a LOGIN alice secret\r\n", b"b APPEND INBOX {4294967296}\r\n"])
    assert out.endswith(b"* BYE Literal size too large\r\n")
    out = talk(box.imap, [b"a LOGIN alice secret\r\nb SELECT INBOX\r\n",
                          b"c SEARCH " + b"(" * 10000 + b"\r\n",
                          b"d FETCH 1 (((FLAGS)))\r\n", b"e STORE 1 +FLAGS (\\Foo)\r\n",
                          b"f SEARCH FOO\r\n", b"g XYZZY\r\n", b"+ NOOP\r\n",
                          b"h SELECT ../../etc\r\n", b"i NOOP\r\n"])
    assert b"c BAD Error in IMAP command SEARCH: Too deep nesting of lists" in out
    assert b"d BAD Error in IMAP command FETCH: FETCH list contains non-atoms" in out
    assert b"e BAD Error in IMAP command STORE: Invalid system flag \\FOO" in out
    assert b"f BAD Error in IMAP command SEARCH: Unknown argument FOO" in out
    assert b"g BAD Error in IMAP command XYZZY: Unknown command" in out
    assert b"* BAD Error in IMAP tag: Invalid tag" in out
    assert b"h NO [CANNOT] Invalid mailbox name: Begins with hierarchy separator" in out
    assert b"i OK NOOP completed" in out
    # a literal started and abandoned leaves no partial message
    s = socket.create_connection(("127.0.0.1", box.imap), timeout=10)
    s.recv(4096)
    s.sendall(b"a LOGIN alice secret\r\nb APPEND INBOX {100}\r\n")
    time.sleep(0.3)
    s.sendall(b"Subject: half")
    s.close()
    time.sleep(0.3)
    assert len(os.listdir(os.path.join(box.maildir, "cur"))) + \
        len(os.listdir(os.path.join(box.maildir, "new"))) == 3
    assert os.listdir(os.path.join(box.maildir, "tmp")) == []


def test_plaintext_login_refused_before_tls_when_not_local(box):
    box.start()
    s = socket.create_connection(("127.0.0.1", box.imap), timeout=10,
                                 source_address=("127.0.0.2", 0))
    greet = s.recv(4096)
    assert b"LOGINDISABLED" in greet and b"AUTH=PLAIN" not in greet
    s.sendall(b"a LOGIN alice secret\r\n")
    time.sleep(0.3)
    out = s.recv(4096)
    assert b"a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure " \
        b"(SSL/TLS) connections." in out
    s.close()


def test_mutt_mbsync_and_curl_read_the_mailbox(box, tmp_path):
    box.start()
    # curl: a message by UID
    r = subprocess.run(["curl", "-s", "--insecure", "imaps://127.0.0.1:%d/INBOX;UID=1" % box.imaps,
                        "-u", "alice:secret"], capture_output=True, timeout=60)
    assert r.returncode == 0 and b"body one" in r.stdout
    # mbsync: the whole INBOX into a local Maildir
    local = tmp_path / "sync"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        # plain IMAP on loopback (secured by Dovecot's rule): the test
        # certificate names localhost, which mbsync would check
        "IMAPAccount y\nHost 127.0.0.1\nPort %d\nUser alice\nPass secret\nSSLType None\n"
        "AuthMechs LOGIN\n\nIMAPStore y-remote\nAccount y\n\n"
        "MaildirStore y-local\nPath %s/\nInbox %s/INBOX\n\n"
        "Channel y\nFar :y-remote:\nNear :y-local:\nPatterns INBOX\nCreate Near\nSync Pull\n"
        "SyncState *\n"
        % (box.imap, local, local))
    r = subprocess.run(["mbsync", "-c", str(rc), "y"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = sorted(os.listdir(local / "INBOX" / "cur") + os.listdir(local / "INBOX" / "new"))
    assert len(got) == 3
    # mutt: open the folder (over a pty: mutt needs a terminal), copy
    # every message into a local Maildir, exit
    out = tmp_path / "mutt-out"
    for sub in ("cur", "new", "tmp"):
        (out / sub).mkdir(parents=True)
    muttrc = tmp_path / "muttrc"
    muttrc.write_text("set folder=imap://alice:secret@127.0.0.1:%d/\nset spoolfile=+INBOX\n"
                      "set header_cache=\nset ssl_starttls=no\nset ssl_force_tls=no\n"
                      "set confirmappend=no\nset mbox_type=Maildir\n"
                      "set imap_check_subscribed=no\n" % box.imap)
    cmd = ("TERM=xterm mutt -n -F %s -f imap://alice:secret@127.0.0.1:%d/INBOX -e "
           "'push <tag-pattern>~A<enter><tag-prefix><copy-message>%s<enter><exit>'"
           % (muttrc, box.imap, out))
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-2000:]
    # curl's fetch set \\Seen on the first: mutt files it under cur/
    copied = [open(str(out / d / n), "rb").read() for d in ("new", "cur")
              for n in os.listdir(str(out / d))]
    assert len(copied) == 3 and any(b"body one" in c for c in copied)


def test_dev_demo_reads_over_imap_and_doveadm_who_lists_it(tmp_path, bindir):
    import smtplib
    from test_pop3 import port_base
    d = tmp_path / "dev"
    base = port_base()
    p = subprocess.Popen([os.path.join(bindir, "yubin"), "dev", str(d), "--port-base",
                          str(base)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert wait_for(lambda: listening(base + 25) and listening(base + 143) and
                        listening(base + 993), 30), "dev never listened"
        with smtplib.SMTP("127.0.0.1", base + 25, timeout=20) as s:
            s.sendmail("someone@example.org", ["demo@localhost"],
                       b"Subject: for demo\r\n\r\nhello demo\r\n")
        new = d / "mail" / "localhost" / "demo" / "new"
        assert wait_for(lambda: new.exists() and len(os.listdir(str(new))) >= 1, 30)
        m = imaplib.IMAP4("127.0.0.1", base + 143, timeout=20)
        m.starttls(ssl_context=tls_ctx())
        m.login("demo", "demo")
        n = int(m.select("INBOX")[1][0])
        assert n >= 1
        assert b"Subject: for demo" in m.fetch(str(n), "(BODY.PEEK[HEADER])")[1][0][1]
        m2 = imaplib.IMAP4_SSL("127.0.0.1", base + 993, ssl_context=tls_ctx(), timeout=20)
        m2.login("demo", "demo")
        who = subprocess.run([os.path.join(bindir, "doveadm"), "-c", str(d / "dovecot.conf"),
                              "who"], capture_output=True, text=True, timeout=30)
        assert any(line.split()[:3] == ["demo", "2", "imap"] for line in who.stdout.splitlines()), \
            who.stdout
        m2.logout()
        m.logout()
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_userip_limit_and_proctitle(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r", extra="mail_max_userip_connections = 1\n"
                "verbose_proctitle = yes\n")
    try:
        b.start()
        m = login(b)
        # the session process names its user and address, as Dovecot's does
        found = False
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if f.read().startswith(b"dovecot/imap [alice 127.0.0.1]"):
                        found = True
            except OSError:
                pass
        assert found
        m2 = imaplib.IMAP4("127.0.0.1", b.imap, timeout=20)
        m2.starttls(ssl_context=tls_ctx())
        with pytest.raises(imaplib.IMAP4.error, match="Maximum number of connections from "
                           "user\\+IP exceeded \\(mail_max_userip_connections=1\\)"):
            m2.login("alice", "secret")
        # counted per protocol, as Dovecot counts it (checked against
        # Debian's Dovecot: POP3 logs in beside an IMAP session at the limit)
        p = poplib.POP3("127.0.0.1", b.pop3, timeout=20)
        p.stls(context=tls_ctx()) if hasattr(p, "stls") else None
        p.user("alice")
        assert p.pass_("secret").startswith(b"+OK")
        p.quit()
        m.logout()
    finally:
        b.cleanup()
