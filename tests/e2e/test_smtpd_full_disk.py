"""smtpd on a full disk: the queue's file system (a small tmpfs) cannot take
the message. As Postfix's smtpd, MAIL FROM is refused with 452 when the
free space is under 1.5 x message_size_limit, under queue_minfree or too
small for the announced SIZE; a message that does not fit after all gets
451 at the end of DATA, never a 250, and leaves no partial queue file for
the queue manager; once there is room the next message is queued and
delivered. Needs root (mount)."""
import os
import smtplib
import subprocess
import time

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tmpfs")


def queue_files(spool):
    out = []
    for q in ("incoming", "active", "deferred", "hold"):
        d = os.path.join(spool, q)
        for dirpath, _, names in os.walk(d):
            out += [os.path.join(dirpath, n) for n in names]
    return out


@pytest.fixture
def small_spool(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(small)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode(errors="replace"))
    yield small
    subprocess.run(["umount", "-l", str(small)], capture_output=True)


def fill(path, leave):
    from conftest import fill_filesystem
    return fill_filesystem(path, leave)


def spool_instance(instance_factory, small_spool, extra=""):
    spool = str(small_spool / "spool")
    inst = instance_factory(main_extra="queue_directory = %s\ndata_directory = %s/data\n%s"
                            % (spool, spool, extra))
    inst.spool = spool
    inst.start()
    return inst, spool


def test_mail_from_gets_452_without_room_for_the_size_limit(instance_factory, small_spool):
    """a 1 MiB queue file system cannot hold 1.5 x the default 10 MB limit"""
    inst, spool = spool_instance(instance_factory, small_spool)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as c:
        c.ehlo("client.test.example")
        assert c.mail("sender@test.example") == (452, b"4.3.1 Insufficient system storage")
    assert inst.wait_log(r"warning: not enough free space in mail queue: \d+ bytes < "
                         r"1\.5\*message size limit"), inst.maillog()
    assert inst.wait_log(r"NOQUEUE: reject: MAIL from unknown\[127\.0\.0\.1\]: 452 4\.3\.1 "
                         r"Insufficient system storage; from=<sender@test\.example> "
                         r"proto=ESMTP helo=<client\.test\.example>"), inst.maillog()


def test_mail_from_gets_452_for_a_size_or_minfree_that_does_not_fit(instance_factory,
                                                                    small_spool):
    inst, spool = spool_instance(instance_factory, small_spool,
                                 "message_size_limit = 100000\n")
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as c:
        c.ehlo("client.test.example")
        # 900 KB announced: under the limit? no: over it, 552 as before
        assert c.mail("sender@test.example", ["SIZE=900000"])[0] == 552
        c.rset()
        # fits the limit, but not the file system's room
        filler = fill(str(small_spool), 120 * 1024)
        assert c.mail("sender@test.example", ["SIZE=90000"])[0] == 452
        c.rset()
        os.unlink(filler)
        assert c.mail("sender@test.example", ["SIZE=90000"])[0] == 250
        c.rset()
    inst.stop()
    inst2, _ = spool_instance(instance_factory, small_spool, "queue_minfree = 2000000\n"
                              "message_size_limit = 1000\n")
    with smtplib.SMTP("127.0.0.1", inst2.port, timeout=30) as c:
        c.ehlo("client.test.example")
        assert c.mail("sender@test.example")[0] == 452


def test_full_queue_disk_gets_4xx_and_leaves_no_partial_file(instance_factory, small_spool):
    # a limit the empty file system has room for, so that MAIL FROM passes
    spool = str(small_spool / "spool")
    inst = instance_factory(main_extra="queue_directory = %s\ndata_directory = %s/data\n"
                            "message_size_limit = 400000\n" % (spool, spool))
    inst.spool = spool
    inst.start()
    big = b"Subject: too big for the disk\r\n\r\n" + (b"y" * 70 + b"\r\n") * 4000  # ~290 KB
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as c:
        c.ehlo("client.test.example")
        assert c.mail("sender@test.example")[0] == 250
        assert c.rcpt("user@test.example")[0] == 250
        # the disk fills up while the client is between MAIL and DATA
        filler = fill(str(small_spool), 32 * 1024)
        code = None
        try:
            code, resp = c.data(big)
        except smtplib.SMTPResponseException as e:
            code, resp = e.smtp_code, e.smtp_error
        assert code is not None and 400 <= code < 500, (code, resp)
        assert (code, resp) == (451, b"4.3.0 Error: queue file write error")
        # nothing half-written is left for the queue manager
        time.sleep(0.5)
        assert queue_files(spool) == [], queue_files(spool)
        # room again: the same session's next message goes through
        os.unlink(filler)
        c.rset()
        assert c.mail("sender@test.example")[0] == 250
        assert c.rcpt("user@test.example")[0] == 250
        code, resp = c.data(b"Subject: small\r\n\r\nfits now\r\n")
        assert code == 250 and b"queued as" in resp, resp
    assert inst.wait_log(r"status=sent", 1), inst.maillog()
    assert "panic" not in inst.maillog() and "fatal" not in inst.maillog()
