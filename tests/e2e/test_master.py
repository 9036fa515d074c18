"""The master and the queue manager: start/status/stop through `yubin
master` (master_control), a queued message delivered by the discard
transport and removed, recovery after kill -9 of the queue manager, the
line naming the Postfix services done elsewhere, flush, and reload."""
import os
import re
import signal
import socket
import time

import pytest
from conftest import free_port


def wait_for(pred, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


@pytest.fixture
def inst(instance_factory):
    """conftest's Instance (stopped by instance_factory), seen as the dict
    these tests use; its master.cf has a cleanup line this build skips"""
    i = instance_factory(
        main_extra="default_transport = discard:test\nmydestination = localhost\n"
        "local_transport = error:5.1.1 no such user\nrelay_domains = relay.example\n",
        master_extra="cleanup   unix  n       -       n       -       0       cleanup\n")
    return {"etc": i.etc, "spool": i.spool, "log": i.log, "env": {"MAIL_CONFIG": i.etc}}


def maillog(inst):
    try:
        return open(inst["log"]).read()
    except FileNotFoundError:
        return ""


def enqueue(run, inst, *args):
    r = run("yubin", "qtool", "enqueue", *args, env=inst["env"], stdin="Subject: t\n\nx\n")
    assert r.rc == 0, r
    return r.out.strip()


def start(run, inst):
    r = run("yubin", "master", "start", env=inst["env"])
    assert r.rc == 0, r
    assert "yubin/postfix-script: starting the yubin mail system" in r.err
    r = run("yubin", "master", "status", env=inst["env"])
    assert r.rc == 0, r
    m = re.search(r"yubin/postfix-script: the yubin mail system is running: PID: (\d+)", r.err)
    assert m, r
    return int(m.group(1))


def qmgr_pid(master_pid):
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % p).read()
            cmd = open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master_pid and cmd and cmd[0] == b"qmgr":
            return int(p)
    return None


def test_start_deliver_stop(run, inst):
    qid = enqueue(run, inst, "-f", "alice@example.org", "bob@example.net", "u@localhost")
    mpid = start(run, inst)
    assert wait_for(lambda: "%s: removed" % qid in maillog(inst)), maillog(inst)
    log = maillog(inst)
    assert re.search(r"yubin/qmgr\[\d+\]: %s: from=<alice@example.org>, size=\d+, nrcpt=2 "
                     r"\(queue active\)" % qid, log), log
    assert re.search(r"yubin/discard\[\d+\]: %s: to=<bob@example.net>, relay=none, "
                     r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
                     r"status=sent \(test\)" % qid, log), log
    assert re.search(r"yubin/error\[\d+\]: %s: to=<u@localhost>, relay=none, .*dsn=5\.1\.1, "
                     r"status=bounced \(no such user\)" % qid, log), log
    # Postfix's plumbing whose work yubin does elsewhere: one info line,
    # no warning per service
    assert re.search(r"master.cf: Postfix services whose work yubin does inside its other "
                     r"processes, not started: cleanup \(line 5\)", log), log
    assert "service cleanup is not available" not in log
    assert "daemon started -- version" in log
    # a second start refuses
    r = run("yubin", "master", "start", env=inst["env"])
    assert r.rc != 0 and "already running" in r.err
    # new mail is picked up through the FIFO wake-up
    qid2 = enqueue(run, inst, "carol@example.net")
    assert wait_for(lambda: "%s: removed" % qid2 in maillog(inst)), maillog(inst)
    r = run("yubin", "master", "stop", env=inst["env"])
    assert r.rc == 0, r
    assert "stopping the yubin mail system" in r.err
    assert not os.path.exists("/proc/%d" % mpid) or \
        open("/proc/%d/stat" % mpid).read().split()[2] == "Z"
    r = run("yubin", "master", "status", env=inst["env"])
    assert r.rc == 1 and "not running" in r.err
    assert run("yubin", "master", "stop", env=inst["env"]).rc == 1


def test_deferred_mail_and_flush(run, inst):
    qid = enqueue(run, inst, "x@relay.example")
    start(run, inst)
    assert wait_for(lambda: "status=deferred (mail transport unavailable)" in maillog(inst))
    assert re.search(r"%s: to=<x@relay.example>, relay=none, .*dsn=4\.3\.0, "
                     r"status=deferred \(mail transport unavailable\)" % qid, maillog(inst))
    assert wait_for(lambda: os.listdir(os.path.join(inst["spool"], "deferred")) == [qid])
    r = run("mailq", env=inst["env"])
    assert "(mail transport unavailable)" in r.out, r
    n = maillog(inst).count("%s: from=" % qid)
    assert run("postqueue", "-f", env=inst["env"]).rc == 0
    assert run("yubin", "master", "flush", env=inst["env"]).rc == 0
    assert wait_for(lambda: maillog(inst).count("%s: from=" % qid) > n)
    run("postsuper", "-d", "ALL", env=inst["env"])
    assert run("yubin", "master", "stop", env=inst["env"]).rc == 0


def test_qmgr_killed_is_restarted_and_recovers(run, inst):
    mpid = start(run, inst)
    qp = wait_for(lambda: qmgr_pid(mpid))
    assert qp
    # a message left in active/ as by a crash mid-delivery
    qid = enqueue(run, inst, "-q", "active", "bob@example.net")
    os.kill(qp, signal.SIGKILL)
    assert wait_for(lambda: "%s: removed" % qid in maillog(inst)), maillog(inst)
    # the old queue manager may finish the message before the signal lands:
    # the master's line can come after "removed"
    assert wait_for(lambda: re.search(r"warning: process \S+/qmgr pid %d killed by signal 9"
                                      % qp, maillog(inst))), maillog(inst)
    new = wait_for(lambda: qmgr_pid(mpid))
    assert new and new != qp
    # delivered exactly once
    assert maillog(inst).count("%s: to=<bob@example.net>" % qid) == 1
    assert run("yubin", "master", "stop", env=inst["env"]).rc == 0


def test_reload_replaces_workers(run, inst):
    mpid = start(run, inst)
    qp = wait_for(lambda: qmgr_pid(mpid))
    assert run("yubin", "master", "reload", env=inst["env"]).rc == 0
    assert wait_for(lambda: "reload -- version" in maillog(inst))
    new = wait_for(lambda: (lambda p: p if p and p != qp else None)(qmgr_pid(mpid)))
    assert new
    assert run("yubin", "master", "status", env=inst["env"]).rc == 0
    assert run("yubin", "master", "abort", env=inst["env"]).rc == 0
