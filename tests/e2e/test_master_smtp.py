"""The master with live SMTP sessions: reload does not drop an established
session, stop lets a transaction in flight finish, abort does not."""
import os
import smtplib
import socket
import threading
import time

import pytest


def open_transaction(inst):
    c = smtplib.SMTP("127.0.0.1", inst.port, timeout=30)
    c.ehlo("client.test.example")
    assert c.mail("sender@test.example")[0] == 250
    assert c.rcpt("user@test.example")[0] == 250
    return c


def test_reload_keeps_established_sessions(instance_factory, run):
    inst = instance_factory()
    inst.start()
    c = open_transaction(inst)
    r = run("postfix", "-c", inst.etc, "reload")
    assert r.rc == 0, r
    assert inst.wait_log(r"reload -- version")
    code, resp = c.data(b"Subject: across a reload\r\n\r\nstill here\r\n")
    assert code == 250 and b"queued as" in resp
    c.quit()
    # and the new workers answer new sessions
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as d:
        assert d.noop()[0] == 250
    assert inst.wait_log(r"status=sent", 1)


def smtpd_pids(run, inst):
    """the smtpd workers of inst's master"""
    import re
    r = run("postfix", "-c", inst.etc, "status")
    m = re.search(r"running: PID: (\d+)", r.err)
    assert m, r
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv0 = f.read().split(b"\0")[0]
        except (OSError, ValueError, IndexError):
            continue
        if ppid == int(m.group(1)) and os.path.basename(argv0).startswith(b"smtpd"):
            out.append(int(d))
    return out


def test_reload_keeps_an_idle_session_until_it_quits(instance_factory, run):
    """A session between transactions (only greeted) is not closed by a
    reload: the retired smtpd serves it to its QUIT, then exits; Postfix's
    smtpd does the same. (It used to answer 421 at the next command.)"""
    inst = instance_factory()
    inst.start()
    c = smtplib.SMTP("127.0.0.1", inst.port, timeout=30)
    assert c.ehlo("client.test.example")[0] == 250
    old = smtpd_pids(run, inst)
    assert old
    r = run("postfix", "-c", inst.etc, "reload")
    assert r.rc == 0, r
    assert inst.wait_log(r"reload -- version")

    def old_left():
        return [p for p in smtpd_pids(run, inst) if p in old]
    # the old workers without a session end at once; the one serving us stays
    end = time.time() + 30
    while time.time() < end and (len(old_left()) > 1 or
                                 len(smtpd_pids(run, inst)) == len(old_left())):
        time.sleep(0.05)
    assert len(old_left()) == 1, (old, smtpd_pids(run, inst))
    assert c.noop()[0] == 250
    assert c.mail("sender@test.example")[0] == 250
    assert c.rcpt("user@test.example")[0] == 250
    code, resp = c.data(b"Subject: idle across a reload\r\n\r\nstill here\r\n")
    assert code == 250 and b"queued as" in resp, resp
    c.quit()
    end = time.time() + 30
    while time.time() < end and old_left():
        time.sleep(0.05)
    assert old_left() == []
    assert inst.wait_log(r"status=sent", 1)


def test_stop_lets_the_transaction_in_flight_finish(instance_factory, run):
    inst = instance_factory()
    inst.start()
    c = open_transaction(inst)
    c.putcmd("data")
    assert c.getreply()[0] == 354
    c.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
    stopper = threading.Thread(target=lambda: run("postfix", "-c", inst.etc, "stop",
                                                  timeout=120))
    stopper.start()
    assert inst.wait_log(r"terminating on signal")
    time.sleep(0.3)
    c.send(b"second half\r\n.\r\n")
    code, resp = c.getreply()
    assert code == 250 and b"queued as" in resp, (code, resp)
    qid = resp.decode().split()[-1]
    try:
        c.quit()
    except (smtplib.SMTPException, OSError):
        pass
    stopper.join(timeout=120)
    assert not stopper.is_alive()
    # accepted and on disk: in the queue until the next start delivers it
    spool = [os.path.join(inst.spool, q, qid) for q in ("incoming", "active", "deferred")]
    delivered = "%s: removed" % qid in inst.maillog()
    assert delivered or any(os.path.exists(p) for p in spool)


def test_abort_does_not_wait_for_the_transaction(instance_factory, run):
    inst = instance_factory()
    inst.start()
    c = open_transaction(inst)
    c.putcmd("data")
    assert c.getreply()[0] == 354
    c.send(b"Subject: cut off\r\n\r\nfirst half\r\n")
    r = run("postfix", "-c", inst.etc, "abort", timeout=60)
    assert r.rc == 0, r
    with pytest.raises((smtplib.SMTPException, OSError)):
        c.send(b"second half\r\n.\r\n")
        code, _ = c.getreply()
        if code != 250:
            raise smtplib.SMTPException("no 250")
        raise AssertionError("the aborted server accepted the message")
    # nothing half-written became a message
    for q in ("incoming", "active", "deferred"):
        d = os.path.join(inst.spool, q)
        assert not [f for f in os.listdir(d) if not f.startswith("t.")], q
