"""yubin and Debian's real Postfix 3.7 exchange mail on loopback: yubin's
smtp client delivers to Postfix's smtpd, and Postfix's smtp client
delivers to yubin's smtpd (which passes it on to a peer)."""
import os
import smtplib
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest  # noqa: E402
from real_postfix import RealPostfix  # noqa: E402
from smtp_peers import Peer  # noqa: E402

MASTER = "smtp      unix  -       -       n       -       -       smtp\n"


@pytest.fixture
def real_postfix():
    conftest.real_tool("postfix")
    made = []

    def start(relay):
        p = RealPostfix(conftest.free_port(), relay)
        made.append(p)
        p.start()
        return p
    yield start
    for p in made:
        p.stop()


def wait_for(pred, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_yubin_delivers_to_postfix(instance_factory, dns_server, real_postfix):
    pf = real_postfix("[127.0.0.1]:9")
    inst = instance_factory(
        main_extra="default_transport = smtp:[127.0.0.1]:%d\nyubin_dns_servers = %s\n"
                   % (pf.port, dns_server.address),
        master_extra=MASTER)
    inst.start()
    body = "Subject: to real postfix\r\n\r\n8-bit: gr\u00fc\u00dfe\r\n..dots\r\n"
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.sendmail("sender@test.example", ["user@realpf.test"], body.encode("utf-8"))
    assert wait_for(lambda: pf.mailbox_files()), inst.maillog() + pf.maillog()
    with open(pf.mailbox_files()[0], "rb") as f:
        got = f.read()
    assert b"Subject: to real postfix" in got
    assert "gr\u00fc\u00dfe".encode() in got and b"\n..dots" in got
    assert inst.wait_log(r"yubin/smtp\[\d+\]: [0-9A-F]+: to=<user@realpf\.test>, "
                         r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*dsn=2\.0\.0, "
                         r"status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)" % pf.port)
    log = pf.maillog()
    assert "client=localhost[127.0.0.1]" in log and "status=sent (delivered to maildir)" in log
    # the pipelined MAIL/RCPT/DATA went through in one session, which ends
    # with QUIT once it has been idle in the connection cache
    assert wait_for(lambda: "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5" in pf.maillog()), \
        pf.maillog()


def test_postfix_delivers_to_yubin(instance_factory, dns_server, real_postfix):
    peer = Peer("127.0.0.1")
    try:
        inst = instance_factory(
            main_extra="default_transport = smtp:[127.0.0.1]:%d\nyubin_dns_servers = %s\n"
                       % (peer.port, dns_server.address),
            master_extra=MASTER)
        inst.start()
        pf = real_postfix("[127.0.0.1]:%d" % inst.port)
        with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
            s.sendmail("someone@realpf.test", ["far@far.test"],
                       "Subject: through postfix and yubin\r\n\r\nhello\r\n")
        assert peer.wait(1), pf.maillog() + inst.maillog()
        mail_from, rcpts, content, _, _ = peer.messages[0]
        assert mail_from == "someone@realpf.test" and rcpts == ["far@far.test"]
        assert b"through postfix and yubin" in content
        # yubin's Received: line names Postfix's HELO, and Postfix logged
        # yubin's reply
        assert b"helo=realpf.test" in content or b"realpf.test" in content
        assert wait_for(lambda: "status=sent (250 2.0.0 Ok: queued as" in pf.maillog())
        assert inst.wait_log(r"yubin/smtpd\[\d+\]: [0-9A-F]+: client=")
    finally:
        peer.stop()
