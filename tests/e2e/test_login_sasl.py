"""The SASL exchange every login process shares (src/login/login_client.c
login_sasl_run), through IMAP's and POP3's own framing: a continuation
answered in base64 logs in, "*" aborts, bad base64 is refused, and the
connection stays usable for the next attempt; the replies are Dovecot's.
Plaintext mechanisms are allowed here because the client is the local
address itself (Dovecot's "secured")."""
import base64
import socket

import pytest

from imap_fixtures import ImapBox

CRED = base64.b64encode(b"\0alice\0secret")


@pytest.fixture
def box(tmp_path, bindir):
    b = ImapBox(bindir, tmp_path)
    b.start()
    yield b
    b.cleanup()


def session(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    return s, f


def test_imap_authenticate_continuations(box):
    s, f = session(box.imap)
    s.sendall(b"a AUTHENTICATE PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(b"*\r\n")
    assert f.readline() == b"a BAD Authentication aborted by client.\r\n"
    s.sendall(b"b AUTHENTICATE PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(b"!!notbase64!!\r\n")
    assert f.readline() == b"b BAD Invalid base64 data in continued response\r\n"
    s.sendall(b"c AUTHENTICATE PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(base64.b64encode(b"\0alice\0wrong") + b"\r\n")
    assert f.readline().startswith(b"c NO [AUTHENTICATIONFAILED] Authentication failed.")
    s.sendall(b"d AUTHENTICATE PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(CRED + b"\r\n")
    assert f.readline().startswith(b"d OK [CAPABILITY ")
    s.sendall(b"e LOGOUT\r\n")
    assert f.readline().startswith(b"* BYE")
    s.close()


def test_pop3_auth_continuations(box):
    s = socket.create_connection(("127.0.0.1", box.pop3), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"AUTH PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(b"*\r\n")
    assert f.readline() == b"-ERR [AUTH] Authentication aborted by client.\r\n"
    s.sendall(b"AUTH PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(b"!!notbase64!!\r\n")
    assert f.readline() == b"-ERR [AUTH] Invalid base64 data in continued response\r\n"
    s.sendall(b"AUTH PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(CRED + b"\r\n")
    assert f.readline().startswith(b"+OK Logged in.")
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()


def test_imap_client_gone_in_the_middle(box):
    s, f = session(box.imap)
    s.sendall(b"a AUTHENTICATE PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.close()
    # the next client is served as usual
    s, f = session(box.imap)
    s.sendall(b"a AUTHENTICATE PLAIN " + CRED + b"\r\n")
    assert f.readline().startswith(b"a OK [CAPABILITY ")
    s.close()
