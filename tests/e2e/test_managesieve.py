"""The ManageSieve server (RFC 5804) as Pigeonhole 2.3's managesieve:
Debian's sieve-connect uploads, lists and activates a script, and a
message delivered over LMTP is then filed by it into a folder that
imaplib sees; every command driven with a raw client (quoted strings,
{N+} and {N} literals, response codes, a broken script refused with its
line, quotas, STARTTLS then AUTHENTICATE, plaintext refused off
loopback, UNAUTHENTICATE and another login, bad input); and the replies to one fixed dialogue compared
with Debian's Pigeonhole managesieved run from a temp dir on loopback."""
import base64
import imaplib
import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import free_port
from managesieve_fixtures import Client, SieveBox
from pop3_fixtures import listening, wait_for

PLAIN = base64.b64encode(b"\0alice\0secret").decode()
MSG = (b"From: Sender <sender@example.org>\r\nTo: alice@example.org\r\n"
       b"Subject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\nbody\r\n")


@pytest.fixture
def box(bindir, tmp_path):
    b = SieveBox(bindir, tmp_path)
    yield b
    b.cleanup()


def logged(box, pattern):
    """the log gets pattern (a line is written as its process ends, which
    may be after the client saw the reply)"""
    return wait_for(lambda: re.search(pattern, box.logtext()) is not None)


def login(box, **kw):
    c = Client(box.sieve_port, **kw)
    greeting = c.response()
    assert greeting.endswith(b'OK "Dovecot (Debian) ready."\r\n'), greeting
    assert c.cmd('AUTHENTICATE "PLAIN" "%s"\r\n' % PLAIN) == b'OK "Logged in."\r\n'
    return c


def sieve_connect(box, *args, stdin="secret\n"):
    return subprocess.run(["sieve-connect", "-s", "127.0.0.1", "-p", str(box.sieve_port),
                           "-u", "alice", "--passwordfd", "0", "--notlsverify"] + list(args),
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_sieve_connect_script_files_lmtp_mail_into_a_folder_imaplib_sees(box, tmp_path):
    if shutil.which("sieve-connect") is None:
        pytest.skip("Debian's sieve-connect is not installed")
    box.start()
    script = tmp_path / "lists.sieve"
    script.write_text('require ["fileinto"];\n'
                      'if header :contains "subject" "[list]" { fileinto "Lists"; stop; }\n')
    r = sieve_connect(box, "--upload", "--localsieve", str(script), "--remotesieve", "lists")
    assert r.returncode == 0, r.stderr + box.logtext()
    r = sieve_connect(box, "--activate", "--remotesieve", "lists")
    assert r.returncode == 0, r.stderr
    r = sieve_connect(box, "--list")
    assert r.returncode == 0 and r.stdout.split() == ['"lists"', "ACTIVE"], r
    r = sieve_connect(box, "--download", "--remotesieve", "lists", "--localsieve",
                      str(tmp_path / "back.sieve"))
    assert r.returncode == 0 and (tmp_path / "back.sieve").read_text() == script.read_text()
    # Pigeonhole's layout: ~/sieve/NAME.sieve, ~/.dovecot.sieve a relative link
    assert os.readlink(os.path.join(box.home, ".dovecot.sieve")) == "sieve/lists.sieve"
    # sieve-connect went through STARTTLS (the server offers it): the log says TLS
    assert logged(box, r"managesieve-login: Login: user=<alice>, method=PLAIN, "
                  r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, TLS, session=<"), box.logtext()
    assert logged(box, r"managesieve\(alice\)<\d+><[^>]+>: Disconnected: Logged out "
                  r"bytes=\d+/\d+"), box.logtext()
    lm = smtplib.LMTP("127.0.0.1", box.lmtp_port)
    assert lm.sendmail("s@example.org", ["alice"], MSG % (b"[list] news", b"m1")) == {}
    assert lm.sendmail("s@example.org", ["alice"], MSG % (b"personal", b"m2")) == {}
    lm.quit()
    m = imaplib.IMAP4("127.0.0.1", box.imap)
    m.login("alice", "secret")
    typ, boxes = m.list()
    assert any(b'"Lists"' in x or x.endswith(b" Lists") for x in boxes), boxes
    typ, data = m.select("Lists")
    assert typ == "OK" and data == [b"1"]
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"Subject: [list] news" in data[0][1]
    typ, data = m.select("INBOX")
    assert data == [b"1"]
    m.logout()


def test_every_command_with_a_raw_client(box):
    box.start()
    c = Client(box.sieve_port)
    greeting = c.response()
    lines = greeting.split(b"\r\n")
    assert lines[0] == b'"IMPLEMENTATION" "Dovecot (Debian) Pigeonhole"'
    assert lines[1].startswith(b'"SIEVE" "fileinto reject envelope encoded-character vacation')
    assert b'"NOTIFY" "mailto"' in lines and b'"SASL" "PLAIN LOGIN"' in lines
    assert b'"STARTTLS"' in lines and b'"VERSION" "1.0"' in lines
    assert c.cmd("NOOP\r\n") == b'OK "NOOP Completed"\r\n'
    assert c.cmd('NOOP "t1"\r\n') == b'OK (TAG "t1") "Done"\r\n'
    assert c.cmd("LISTSCRIPTS\r\n") == b'NO "Error in MANAGESIEVE command received by server."\r\n'
    # SASL-IR in a literal
    assert c.cmd('AUTHENTICATE "PLAIN" {%d+}\r\n%s\r\n' % (len(PLAIN), PLAIN)) == \
        b'OK "Logged in."\r\n'
    caps = c.cmd("CAPABILITY\r\n")
    assert b'"MAXREDIRECTS" "4"\r\n' in caps and b"SASL" not in caps and b"STARTTLS" not in caps
    assert caps.endswith(b'OK "Capability completed."\r\n')
    assert c.cmd("LISTSCRIPTS\r\n") == b'OK "Listscripts completed."\r\n'
    # quoted string with escapes, {N+} and {N} literals
    assert c.cmd('PUTSCRIPT "a" "keep;"\r\n') == b'OK "PUTSCRIPT completed."\r\n'
    body = b'require "fileinto";\r\nfileinto "x";\r\n'
    assert c.cmd(b'PUTSCRIPT "b" {%d+}\r\n%s\r\n' % (len(body), body)) == \
        b'OK "PUTSCRIPT completed."\r\n'
    assert c.cmd(b'PUTSCRIPT "q\\"uote" {5}\r\nkeep;\r\n') == b'OK "PUTSCRIPT completed."\r\n'
    assert c.cmd("LISTSCRIPTS\r\n") == b'"a"\r\n"b"\r\n"q\\"uote"\r\nOK "Listscripts completed."\r\n'
    assert c.cmd('GETSCRIPT "b"\r\n') == b"{%d}\r\n%s\r\nOK \"Getscript completed.\"\r\n" % (
        len(body), body)
    assert c.cmd('SETACTIVE "b"\r\n') == b'OK "Setactive completed."\r\n'
    assert c.cmd('SETACTIVE "b"\r\n') == b'OK "Script is already active."\r\n'
    assert c.cmd("LISTSCRIPTS\r\n") == \
        b'"a"\r\n"b" ACTIVE\r\n"q\\"uote"\r\nOK "Listscripts completed."\r\n'
    assert c.cmd('DELETESCRIPT "b"\r\n') == \
        b'NO (ACTIVE) "Cannot delete the active Sieve script."\r\n'
    assert c.cmd('RENAMESCRIPT "b" "a"\r\n') == \
        b'NO (ALREADYEXISTS) "A sieve script with that name already exists."\r\n'
    assert c.cmd('RENAMESCRIPT "b" "c"\r\n') == b'OK "Renamescript completed."\r\n'
    assert os.readlink(os.path.join(box.home, ".dovecot.sieve")) == "sieve/c.sieve"
    assert c.cmd('GETSCRIPT "b"\r\n') == b'NO (NONEXISTENT) "Sieve script `b\' not found"\r\n'
    assert c.cmd('DELETESCRIPT "zz"\r\n') == b'NO (NONEXISTENT) "Sieve script `zz\' not found"\r\n'
    assert c.cmd('SETACTIVE "zz"\r\n') == b'NO (NONEXISTENT) "Sieve script `zz\' not found"\r\n'
    assert c.cmd('SETACTIVE ""\r\n') == b'OK "Active script is now deactivated."\r\n'
    assert not os.path.lexists(os.path.join(box.home, ".dovecot.sieve"))
    assert c.cmd('SETACTIVE ""\r\n') == b'OK "No scripts currently active."\r\n'
    assert c.cmd('DELETESCRIPT "c"\r\n') == b'OK "Deletescript completed."\r\n'
    # a broken script is refused with its line; nothing is stored
    bad = b"keep;\r\nfrobnicate;\r\n"
    r = c.cmd(b'PUTSCRIPT "broken" {%d+}\r\n%s\r\n' % (len(bad), bad))
    m = re.match(rb"NO \{(\d+)\}\r\n", r)
    assert m and b"broken: line 2: error: unknown command 'frobnicate'" in r, r
    assert r.endswith(b"broken: error: validation failed.\r\n\r\n")
    assert int(m.group(1)) == len(r) - len(m.group(0)) - 2
    assert not os.path.exists(os.path.join(box.home, "sieve", "broken.sieve"))
    r = c.cmd(b'CHECKSCRIPT {%d+}\r\n%s\r\n' % (len(bad), bad))
    assert r.startswith(b"NO {") and b"\r\nline 2: error: unknown command 'frobnicate'" in r, r
    assert c.cmd('CHECKSCRIPT "keep;"\r\n') == b'OK "Script checked successfully."\r\n'
    # names that could leave the directory or hold control characters
    assert c.cmd('PUTSCRIPT "a/b" "keep;"\r\n') == b'NO "Invalid Sieve script name `a/b\'."\r\n'
    assert c.cmd('PUTSCRIPT "x\x01y" "keep;"\r\n') == b'NO "Invalid Sieve script name `x?y\'."\r\n'
    assert c.cmd('PUTSCRIPT ".." "keep;"\r\n') == b'NO "Invalid Sieve script name `..\'."\r\n'
    assert c.cmd('PUTSCRIPT "" "keep;"\r\n') == b'NO "Invalid Sieve script name `\'."\r\n'
    assert sorted(os.listdir(os.path.join(box.home, "sieve"))) == ["a.sieve", 'q"uote.sieve']
    assert c.cmd('HAVESPACE "x" 1000\r\n') == b'OK "Putscript would succeed."\r\n'
    assert c.cmd('HAVESPACE "x" 0\r\n') == b'NO "Cannot upload empty script."\r\n'
    assert c.cmd('HAVESPACE "x" "12"\r\n') == b'NO "Invalid scriptsize argument."\r\n'
    assert c.cmd('HAVESPACE "a/b" 12\r\n') == b'NO "Invalid script name."\r\n'
    assert c.cmd('HAVESPACE "x" 100000000\r\n') == \
        b'NO (QUOTA/MAXSIZE) "Script is too large (max 1048576 bytes)."\r\n'
    assert c.cmd("GETSCRIPT\r\n") == \
        b'NO "Error in MANAGESIEVE command GETSCRIPT: Missing arguments."\r\n'
    assert c.cmd('NOOP "a" "b"\r\n') == \
        b'NO "Error in MANAGESIEVE command NOOP: Too many arguments."\r\n'
    assert c.cmd("BLAH\r\n") == b'NO "Error in MANAGESIEVE command BLAH: Unknown command."\r\n'
    assert c.cmd('AUTHENTICATE "PLAIN"\r\n') == \
        b'NO "Error in MANAGESIEVE command AUTHENTICATE: Unknown command."\r\n'
    assert c.cmd("UNAUTHENTICATE x\r\n") == \
        b'NO "Error in MANAGESIEVE command UNAUTHENTICATE: Too many arguments."\r\n'
    assert c.cmd("LOGOUT\r\n") == b'OK "Logout completed."\r\n'
    c.close()


def test_authenticate_continuations_abort_and_failures(box):
    box.start()
    c = Client(box.sieve_port)
    c.response()
    c.send('AUTHENTICATE "PLAIN"\r\n')
    assert c.cont() == b'""\r\n'
    assert c.cmd('"*"\r\n') == b'NO "Authentication aborted by client."\r\n'
    assert c.cmd('AUTHENTICATE "FOO"\r\n') == b'NO "Unsupported authentication mechanism."\r\n'
    wrong = base64.b64encode(b"\0alice\0wrong").decode()
    assert c.cmd('AUTHENTICATE "PLAIN" "%s"\r\n' % wrong) == b'NO "Authentication failed."\r\n'
    # LOGIN: two challenges, the answers as a quoted string and a literal
    c.send('AUTHENTICATE "LOGIN"\r\n')
    assert c.cont() == b'"VXNlcm5hbWU6"\r\n'
    c.send('"%s"\r\n' % base64.b64encode(b"alice").decode())
    assert c.cont() == b'"UGFzc3dvcmQ6"\r\n'
    pw = base64.b64encode(b"secret").decode()
    assert c.cmd("{%d+}\r\n%s\r\n" % (len(pw), pw)) == b'OK "Logged in."\r\n'
    assert c.cmd("LOGOUT\r\n") == b'OK "Logout completed."\r\n'
    c.close()
    # three bad commands before login: BYE, as Pigeonhole's login process
    c = Client(box.sieve_port)
    c.response()
    assert c.cmd("FOO\r\n").startswith(b"NO ")
    assert c.cmd("BAR baz\r\n").startswith(b"NO ")
    assert c.cmd('"unterminated\r\n') == (b'NO "Error in MANAGESIEVE command received by '
                                          b'server."\r\nBYE "Too many invalid MANAGESIEVE '
                                          b'commands."\r\n')[:-len(b'BYE "Too many invalid '
                                                               b'MANAGESIEVE commands."\r\n')]
    assert c.response() == b'BYE "Too many invalid MANAGESIEVE commands."\r\n'
    with pytest.raises((EOFError, OSError)):
        c.response()
    assert logged(box, r"managesieve-login: Disconnected \(Too many invalid commands\.\): "
                  r"user=<>, rip=127\.0\.0\.1, lip=127\.0\.0\.1, secured, session=<"), \
        box.logtext()


def test_plaintext_refused_before_tls_off_loopback_then_starttls(box):
    """rip != lip (127.0.0.2 talks to 127.0.0.1): no plaintext mechanism
    is offered or accepted until STARTTLS, as disable_plaintext_auth = yes
    makes POP3 and IMAP behave"""
    box.start()
    c = Client(box.sieve_port, source="127.0.0.2")
    greeting = c.response()
    assert b'"SASL" ""\r\n' in greeting and b'"STARTTLS"\r\n' in greeting
    assert c.cmd('AUTHENTICATE "PLAIN" "%s"\r\n' % PLAIN) == \
        b'NO "Plaintext authentication disabled."\r\n'
    assert c.cmd("STARTTLS\r\n") == b'OK "Begin TLS negotiation now."\r\n'
    c.starttls()
    caps = c.response()
    assert b'"SASL" "PLAIN LOGIN"\r\n' in caps and b"STARTTLS" not in caps
    assert caps.endswith(b'OK "TLS negotiation successful."\r\n')
    assert c.cmd("STARTTLS\r\n") == b'NO "TLS is already active."\r\n'
    assert c.cmd('AUTHENTICATE "PLAIN" "%s"\r\n' % PLAIN) == b'OK "Logged in."\r\n'
    assert c.cmd('PUTSCRIPT "t" "keep;"\r\n') == b'OK "PUTSCRIPT completed."\r\n'
    assert c.cmd("LISTSCRIPTS\r\n") == b'"t"\r\nOK "Listscripts completed."\r\n'
    assert c.cmd("LOGOUT\r\n") == b'OK "Logout completed."\r\n'
    c.close()
    assert logged(box, r"managesieve-login: Login: user=<alice>, method=PLAIN, "
                  r"rip=127\.0\.0\.2, lip=127\.0\.0\.1, mpid=\d+, TLS, session=<"), box.logtext()


def test_unauthenticate_then_a_new_login(bindir, tmp_path):
    """UNAUTHENTICATE (RFC 5804 2.14): back to the non-authenticated state
    on the same connection, TLS kept; the next login may be another user,
    and commands pipelined after UNAUTHENTICATE are read by the login
    process, in clear and under TLS"""
    b = SieveBox(bindir, tmp_path)
    bob = os.path.join(b.root, "home", "bob")
    os.makedirs(bob)
    with open(os.path.join(b.root, "users"), "a") as f:
        f.write("bob:{PLAIN}secret2:%d:%d::%s::\n" % (b.uid, b.gid, bob))
    b.chown()
    bob_plain = base64.b64encode(b"\0bob\0secret2").decode()
    try:
        b.start()
        for tls in (False, True):
            c = Client(b.sieve_port, source="127.0.0.2" if tls else "127.0.0.1")
            c.response()
            if tls:
                assert c.cmd("STARTTLS\r\n") == b'OK "Begin TLS negotiation now."\r\n'
                c.starttls()
                c.response()
            assert c.cmd('AUTHENTICATE "PLAIN" "%s"\r\n' % PLAIN) == b'OK "Logged in."\r\n'
            caps = c.cmd("CAPABILITY\r\n")
            assert b'"UNAUTHENTICATE"\r\n' in caps
            assert c.cmd('PUTSCRIPT "alice%d" "keep;"\r\n' % tls) == \
                b'OK "PUTSCRIPT completed."\r\n'
            # UNAUTHENTICATE with a login and a command pipelined behind it
            c.send('UNAUTHENTICATE\r\nAUTHENTICATE "PLAIN" "%s"\r\nLISTSCRIPTS\r\n' % bob_plain)
            assert c.response() == b'OK "Unauthenticate completed."\r\n'
            assert c.response() == b'OK "Logged in."\r\n'
            # bob's scripts (the first round's, if any), never alice's
            assert c.response() == (b'"bob0"\r\n' if tls else b"") + \
                b'OK "Listscripts completed."\r\n'

            assert c.cmd('PUTSCRIPT "bob%d" "discard;"\r\n' % tls) == \
                b'OK "PUTSCRIPT completed."\r\n'
            assert c.cmd("UNAUTHENTICATE\r\n") == b'OK "Unauthenticate completed."\r\n'
            # not logged in now: script commands are refused, STARTTLS too under TLS
            assert c.cmd("LISTSCRIPTS\r\n") == \
                b'NO "Error in MANAGESIEVE command received by server."\r\n'
            if tls:
                assert c.cmd("STARTTLS\r\n") == b'NO "TLS is already active."\r\n'
            assert c.cmd('AUTHENTICATE "PLAIN" "%s"\r\n' % PLAIN) == b'OK "Logged in."\r\n'
            r = c.cmd("LISTSCRIPTS\r\n")
            assert b'"alice%d"' % tls in r and b"bob" not in r, r
            assert c.cmd("LOGOUT\r\n") == b'OK "Logout completed."\r\n'
            c.close()
        assert sorted(os.listdir(os.path.join(bob, "sieve"))) == ["bob0.sieve", "bob1.sieve"]
        assert sorted(os.listdir(os.path.join(b.home, "sieve"))) == \
            ["alice0.sieve", "alice1.sieve"]
        assert logged(b, r"managesieve\(alice\)<\d+><[^>]+>: Disconnected: Unauthenticated "
                      r"bytes=\d+/\d+"), b.logtext()
        assert logged(b, r"managesieve-login: Login: user=<bob>, method=PLAIN, "
                      r"rip=127\.0\.0\.2, lip=127\.0\.0\.1, mpid=\d+, TLS"), b.logtext()
    finally:
        b.cleanup()


def test_doveadm_who_lists_the_session_and_kick_ends_it(box):
    box.start()
    for source in ("127.0.0.1", "127.0.0.2"):    # in clear, then under TLS
        c = Client(box.sieve_port, source=source)
        c.response()
        if source != "127.0.0.1":
            c.cmd("STARTTLS\r\n")
            c.starttls()
            c.response()
        assert c.cmd('AUTHENTICATE "PLAIN" "%s"\r\n' % PLAIN) == b'OK "Logged in."\r\n'
        who = box.doveadm("who")
        row = [x for x in who.stdout.splitlines() if x.startswith("alice")]
        assert len(row) == 1 and " managesieve " in row[0], who.stdout
        kick = box.doveadm("kick", "alice")
        assert kick.returncode == 0 and "alice" in kick.stdout, kick
        assert wait_for(lambda: len(box.doveadm("who").stdout.splitlines()) == 1)
        # the user's process went with the session: nothing answers
        with pytest.raises((EOFError, OSError)):
            c.cmd("NOOP\r\n")
        c.close()


def test_quotas_and_sizes(bindir, tmp_path):
    b = SieveBox(bindir, tmp_path, plugin="  sieve_quota_max_scripts = 2\n"
                 "  sieve_quota_max_storage = 100\n  sieve_max_script_size = 60\n")
    try:
        b.start()
        c = login(b)
        assert c.cmd('HAVESPACE "x" 61\r\n') == \
            b'NO (QUOTA/MAXSIZE) "Script is too large (max 60 bytes)."\r\n'
        # a literal over the limit is refused from its header and skipped
        big = b"#" * 2000000
        assert c.cmd(b'PUTSCRIPT "big" {%d+}\r\n%s\r\n' % (len(big), big)) == \
            b'NO (QUOTA/MAXSIZE) "Script is too large (max 60 bytes)."\r\n'
        assert c.cmd("NOOP\r\n") == b'OK "NOOP Completed"\r\n'
        s50 = b"#" * 48 + b"\r\n"
        assert c.cmd(b'PUTSCRIPT "a" {50+}\r\n%s\r\n' % s50) == b'OK "PUTSCRIPT completed."\r\n'
        assert c.cmd(b'HAVESPACE "b" 51\r\n') == \
            b'NO (QUOTA/MAXSTORAGE) "Script storage quota exceeded (max 100 bytes)."\r\n'
        assert c.cmd(b'HAVESPACE "b" 50\r\n') == b'OK "Putscript would succeed."\r\n'
        assert c.cmd(b'PUTSCRIPT "b" "keep;"\r\n') == b'OK "PUTSCRIPT completed."\r\n'
        assert c.cmd(b'HAVESPACE "c" 5\r\n') == \
            b'NO (QUOTA/MAXSCRIPTS) "Script count quota exceeded (max 2 scripts)."\r\n'
        assert c.cmd(b'PUTSCRIPT "c" "keep;"\r\n') == \
            b'NO (QUOTA/MAXSCRIPTS) "Script count quota exceeded (max 2 scripts)."\r\n'
        # replacing a script counts its new size, not its old one
        assert c.cmd(b'HAVESPACE "b" 50\r\n') == b'OK "Putscript would succeed."\r\n'
        assert c.cmd(b'PUTSCRIPT "b" {50+}\r\n%s\r\n' % s50) == b'OK "PUTSCRIPT completed."\r\n'
        assert sorted(os.listdir(os.path.join(b.home, "sieve"))) == ["a.sieve", "b.sieve"]
        assert c.cmd("LOGOUT\r\n") == b'OK "Logout completed."\r\n'
    finally:
        b.cleanup()


def test_bad_input_never_crashes(box):
    box.start()
    # an endless line before login: BYE and the connection ends
    c = Client(box.sieve_port)
    c.response()
    c.send(b"NOOP " + b"x" * 20000)
    r = c.response()
    assert r.startswith(b"BYE "), r
    c.close()
    # after login: NULs, stray literals, broken quoting, a huge literal header
    c = login(box)
    for junk in (b"\x00\x01\x02\r\n", b'PUTSCRIPT "a\r\n', b"{5+}\r\nabcde\r\n",
                 b'PUTSCRIPT "a" {99999999999999999999999+}\r\n',
                 b'GETSCRIPT {3+}\r\na\x00b\r\n', b"  \r\n", b"\r\n"):
        r = c.cmd(junk)
        assert r.startswith(b"NO ") or r.startswith(b"BYE "), (junk, r)
        if r.startswith(b"BYE"):
            break
    c.close()
    # a burst of random bytes from a fixed seed, bounded
    import random
    rnd = random.Random(5804)
    for _ in range(20):
        c = Client(box.sieve_port)
        c.response()
        c.send(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 3000))) + b"\r\n")
        c.close()
    # still serving, and every session process ended cleanly
    c = login(box)
    assert c.cmd("LOGOUT\r\n") == b'OK "Logout completed."\r\n'
    c.close()
    assert "Panic" not in box.logtext() and "signal" not in box.logtext()


# --- side by side with Debian's Pigeonhole -------------------------------

DIALOGUE = [
    "CAPABILITY\r\n", "NOOP\r\n", 'NOOP "tag"\r\n', "LISTSCRIPTS\r\n", "STARTTLS\r\n",
    "UNAUTHENTICATE\r\n", 'AUTHENTICATE "PLAIN"\r\n', '"%s"\r\n' % PLAIN,
    "CAPABILITY\r\n", "LISTSCRIPTS\r\n",
    'PUTSCRIPT "a" {11+}\r\nkeep;\r\nx;\r\n\r\n', 'PUTSCRIPT "a" {7+}\r\nkeep;\r\n\r\n',
    'PUTSCRIPT "b" "discard;"\r\n', 'PUTSCRIPT "q\\"x" {5}\r\nkeep;\r\n',
    'SETACTIVE "a"\r\n', 'SETACTIVE "a"\r\n', "LISTSCRIPTS\r\n", 'GETSCRIPT "a"\r\n',
    'GETSCRIPT "zz"\r\n', 'DELETESCRIPT "a"\r\n', 'DELETESCRIPT "zz"\r\n',
    'RENAMESCRIPT "a" "b"\r\n', 'RENAMESCRIPT "a" "c"\r\n', 'RENAMESCRIPT "q" "d"\r\n',
    "LISTSCRIPTS\r\n", 'SETACTIVE ""\r\n', 'SETACTIVE ""\r\n', 'DELETESCRIPT "c"\r\n',
    'HAVESPACE "x" 50\r\n', 'HAVESPACE "x" 0\r\n', 'HAVESPACE "x" "12"\r\n',
    'HAVESPACE "a/b" 12\r\n', 'HAVESPACE "x" 100000000\r\n',
    'CHECKSCRIPT {14+}\r\nfoo bar;\r\nx;\r\n\r\n', 'CHECKSCRIPT "keep;"\r\n',
    'PUTSCRIPT "a/b" "keep;"\r\n', 'PUTSCRIPT "\x01" "keep;"\r\n', 'PUTSCRIPT "" "keep;"\r\n',
    'PUTSCRIPT "big" {2000000+}\r\n' + "#" * 2000000 + "\r\n", "NOOP\r\n",
    "GETSCRIPT\r\n", 'NOOP "a" "b"\r\n', "BLAH\r\n", "STARTTLS\r\n", "LISTSCRIPTS\r\n",
    "CAPABILITY\r\n",
    "logout\r\n",
]


def run_dialogue(port):
    c = Client(port)
    out = [c.response()]
    for line in DIALOGUE:
        c.send(line)
        r = c.cont() if line.startswith("AUTHENTICATE") else c.response()
        if line == "LISTSCRIPTS\r\n":
            # Pigeonhole lists in directory order, yubin sorted
            lines = r.split(b"\r\n")
            r = b"\r\n".join(sorted(lines[:-2]) + lines[-2:])
        out.append(r)
    c.close()
    text = b"".join(out)
    # yubin's compile errors also name the column: "(column 1)"
    text = re.sub(rb" \(column \d+\)", b"", text)
    text = re.sub(rb"NO \{\d+\}\r\n", b"NO {N}\r\n", text)
    text = re.sub(rb'"IMPLEMENTATION" "[^"]*"', b'"IMPLEMENTATION" "X"', text)
    # yubin offers UNAUTHENTICATE after login, Pigeonhole 2.3 does not
    text = text.replace(b'"UNAUTHENTICATE"\r\n', b"")
    return text


def test_replies_equal_debian_pigeonhole(box, tmp_path):
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists("/usr/lib/dovecot/managesieve"):
        if os.environ.get("CI"):
            pytest.fail("Debian's dovecot-managesieved is not installed")
        pytest.skip("Debian's dovecot-managesieved is not installed")
    if os.getuid() != 0:
        pytest.skip("the real Dovecot needs root here")
    real = tempfile.mkdtemp(dir=box.root, prefix="real")
    os.makedirs(os.path.join(real, "run"))
    os.makedirs(os.path.join(real, "home"))
    os.chown(os.path.join(real, "home"), box.uid, box.gid)
    os.chmod(real, 0o755)
    with open(os.path.join(real, "users"), "w") as f:
        f.write("alice:{PLAIN}secret:%d:%d::%s/home::\n" % (box.uid, box.gid, real))
    port = free_port()
    conf = os.path.join(real, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("base_dir = %s/run\nstate_dir = %s\nlog_path = %s/log\nprotocols = sieve\n"
                "listen = 127.0.0.1\nssl = no\nfirst_valid_uid = 1\n"
                "auth_mechanisms = plain login\nmail_location = maildir:~/Maildir\n"
                "passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n}\n"
                "userdb {\n driver = passwd-file\n args = %s/users\n}\n"
                "service managesieve-login {\n inet_listener sieve {\n  port = %d\n }\n}\n"
                "service imap-login {\n inet_listener imap {\n  port = 0\n }\n"
                " inet_listener imaps {\n  port = 0\n }\n}\n"
                "service pop3-login {\n inet_listener pop3 {\n  port = 0\n }\n"
                " inet_listener pop3s {\n  port = 0\n }\n}\n"
                "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n"
                % (real, real, real, real, real, port))
    with open(os.path.join(real, "start.log"), "w") as out:
        r = subprocess.run([dovecot, "-c", conf], stdin=subprocess.DEVNULL, stdout=out,
                           stderr=subprocess.STDOUT, timeout=60)
    assert r.returncode == 0
    try:
        assert wait_for(lambda: listening(port))
        want = run_dialogue(port)
    finally:
        with open(os.path.join(real, "run", "master.pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20)
    # the same settings on yubin's side: no TLS, so no STARTTLS either
    with open(box.conf) as f:
        text = f.read()
    with open(box.conf, "w") as f:
        f.write(text.replace("ssl = yes\n", "ssl = no\n"))
    box.start()
    got = run_dialogue(box.sieve_port)
    assert got.decode(errors="replace") == want.decode(errors="replace")


# --- yubin dev: ManageSieve on N+4190 for demo/demo ------------------------

def test_dev_managesieve_script_files_smtp_mail_for_demo(bindir, tmp_path):
    """the banner's sieve-connect commands work as printed (with the
    password on a file descriptor), and SMTP mail for demo then passes
    through the uploaded script into a folder that imaplib sees"""
    if shutil.which("sieve-connect") is None:
        pytest.skip("Debian's sieve-connect is not installed")
    from test_lmtp_dev import Dev
    from test_local_dev import wait_for as dev_wait
    dev = Dev(bindir, as_nobody=False)
    try:
        dev.start()
        assert dev_wait(lambda: listening(dev.base + 4190) and listening(dev.base + 143), 90), \
            dev.dovecot_log()
        maildir = os.path.join(dev.dir, "mail", "localhost", "demo")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, ".Lists", sub), exist_ok=True)
        script = tmp_path / "my.sieve"
        script.write_text('require "fileinto";\n'
                          'if header :contains "subject" "[list]" { fileinto "Lists"; }\n')
        base = ["sieve-connect", "-s", "127.0.0.1", "-p", str(dev.base + 4190), "-u", "demo",
                "--notlsverify", "--passwordfd", "0"]
        for args in (["--upload", "--localsieve", str(script), "--remotesieve", "main"],
                     ["--activate", "--remotesieve", "main"]):
            r = subprocess.run(base + args, input="demo\n", capture_output=True, text=True,
                               timeout=60, cwd=str(tmp_path))
            assert r.returncode == 0, (r.stderr, dev.dovecot_log())
        r = subprocess.run(base + ["--list"], input="demo\n", capture_output=True, text=True,
                           timeout=60)
        assert r.stdout.split() == ['"main"', "ACTIVE"], r
        with smtplib.SMTP("127.0.0.1", dev.base + 25, timeout=30) as s:
            s.sendmail("someone@example.org", ["demo@localhost"],
                       b"Subject: [list] via smtp\r\n\r\nnews\r\n")

        def filed():
            d = os.path.join(maildir, ".Lists", "new")
            return os.path.isdir(d) and len(os.listdir(d)) == 1
        assert dev_wait(filed, 120), "not filed: " + dev.maillog() + dev.dovecot_log()
        m = imaplib.IMAP4("127.0.0.1", dev.base + 143)
        m.login("demo", "demo")
        typ, data = m.select("Lists")
        assert typ == "OK" and data == [b"1"], data
        m.logout()
        assert dev_wait(lambda: re.search(r"managesieve-login: Login: user=<demo>, "
                                          r"method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, "
                                          r"mpid=\d+, TLS", dev.dovecot_log()), 30), \
            dev.dovecot_log()
    finally:
        dev.stop()
