"""Nothing acknowledged is ever lost: a load of 1,000 messages over SMTP while
every yubin process of the instance is killed with SIGKILL at random moments,
in a bounded number of rounds. Every message that got "250 ... queued as ID"
must be delivered exactly once afterwards (the discard transport logs each
delivery), and the queue must end empty."""
import os
import random
import re
import signal
import smtplib
import socket
import threading
import time

import pytest

MESSAGES = 1000
SESSIONS = 4
KILL_ROUNDS = 6


@pytest.fixture
def inst(instance_factory):
    i = instance_factory()
    return {"etc": i.etc, "spool": i.spool, "log": i.log, "port": i.port, "obj": i}


def start(run, inst):
    inst["obj"].start()


def send_all(inst, acked, stop, errors):
    """SESSIONS threads share the message numbers; each retries on any
    connection trouble with a new attempt (a new queue ID if it lands)."""
    counter = iter(range(MESSAGES))
    lock = threading.Lock()

    def worker():
        conn = None
        while not stop.is_set():
            with lock:
                n = next(counter, None)
            if n is None:
                break
            for attempt in range(400):
                if stop.is_set():
                    return
                try:
                    if conn is None:
                        conn = smtplib.SMTP("127.0.0.1", inst["port"], timeout=20)
                        conn.ehlo("client.crash.test")
                    code, _ = conn.mail("sender@crash.test")
                    if code != 250:
                        raise smtplib.SMTPException("MAIL %d" % code)
                    code, _ = conn.rcpt("user%d@crash.test" % n)
                    if code != 250:
                        raise smtplib.SMTPException("RCPT %d" % code)
                    code, resp = conn.data(b"Subject: crash %d/%d\r\n\r\nbody %d\r\n"
                                           % (n, attempt, n))
                    if code == 250:
                        m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
                        with lock:
                            acked.append(m.group(1).decode())
                        break
                    conn.rset()
                except (OSError, smtplib.SMTPException):
                    try:
                        if conn is not None:
                            conn.close()
                    except OSError:
                        pass
                    conn = None
                    time.sleep(0.05)
            else:
                errors.append("message %d never accepted" % n)
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                pass

    threads = [threading.Thread(target=worker) for _ in range(SESSIONS)]
    for t in threads:
        t.start()
    return threads


def test_kill_9_during_load_loses_nothing_and_delivers_once(run, inst):
    start(run, inst)
    acked, errors = [], []
    stop = threading.Event()
    threads = send_all(inst, acked, stop, errors)
    rng = random.Random(int(os.environ.get("YUBIN_CRASH_SEED", "0")) or None)
    kills = 0
    try:
        for _ in range(KILL_ROUNDS):
            # Soon and often: 1,000 small messages take about a second
            # between kills on this kind of machine.
            time.sleep(rng.uniform(0.02, 0.4))
            if not any(t.is_alive() for t in threads):
                break
            pids = inst["obj"].pids()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            kills += 1
            deadline = time.time() + 10
            while inst["obj"].pids() and time.time() < deadline:
                time.sleep(0.05)
            start(run, inst)
        for t in threads:
            t.join(timeout=600)
    finally:
        stop.set()
    assert not errors, errors[:5]
    print("kill rounds: %d, acknowledged: %d" % (kills, len(acked)))
    assert len(acked) >= MESSAGES and kills > 0

    # Every acknowledged message is delivered, exactly once. A short queue
    # ID is the microseconds and the inode (Postfix's), so it is unique
    # among the files in the queue, not over time: once a message is
    # removed, a later one may get its inode and, one time in a million,
    # the same microseconds. Deliveries are therefore counted per queue ID
    # and recipient (every message of the load has its own recipient).
    def sent_counts(per_rcpt=False):
        counts = {}
        try:
            text = open(inst["log"]).read()
        except FileNotFoundError:
            text = ""
        for m in re.finditer(r"\]: ([0-9A-Za-z]+): to=<([^>]*)>.*status=sent", text):
            key = (m.group(1), m.group(2)) if per_rcpt else m.group(1)
            counts[key] = counts.get(key, 0) + 1
        return counts

    deadline = time.time() + 180
    while time.time() < deadline:
        counts = sent_counts()
        if all(counts.get(q, 0) >= 1 for q in acked):
            break
        time.sleep(0.5)
    time.sleep(2)  # let anything that would wrongly repeat show itself
    counts = sent_counts()
    missing = [q for q in acked if counts.get(q, 0) == 0]
    assert not missing, "acknowledged but never delivered: %s" % missing[:10]
    # A delivery is logged, then marked done on disk (src/qmgr/qmgr.c): a
    # kill -9 between the two repeats it after the restart, as Postfix
    # may, and never loses it. So a second "sent" of one queue ID and
    # recipient is allowed only with a restart of the instance between
    # the two; a repeat within one run of the queue manager is a bug.
    text = open(inst["log"]).read()
    restarts = [m.start() for m in re.finditer(r"daemon started", text)]
    seen = {}
    for m in re.finditer(r"\]: ([0-9A-Za-z]+): to=<([^>]*)>.*status=sent", text):
        seen.setdefault((m.group(1), m.group(2)), []).append(m.start())
    twice = {k: v for k, v in seen.items() if len(v) > 1}
    unexplained = [k for k, v in twice.items()
                   if any(not [r for r in restarts if a < r < b] for a, b in zip(v, v[1:]))]
    assert not unexplained, "delivered twice within one run: %s" % unexplained[:10]
    print("repeated across a restart: %d" % len(twice))
    r = run("mailq", "-C", inst["etc"])
    assert r.rc == 0 and "Mail queue is empty" in r.out, r
    for q in ("incoming", "active", "deferred", "corrupt"):
        d = os.path.join(inst["spool"], q)
        left = [f for f in os.listdir(d)] if os.path.isdir(d) else []
        assert not [f for f in left if not f.startswith(".")], (q, left[:5])


def test_kill_9_of_smtpd_writing_into_a_reused_file_delivers_nothing_of_it(run, inst):
    """A receiver killed while it writes into a reused queue file (one the
    queue manager kept in spare/ after an earlier delivery) leaves only its
    temporary name: the queue manager removes it, nothing of it is ever
    delivered, and the next message goes through whole."""
    start(run, inst)
    obj = inst["obj"]
    for n in range(5):
        with smtplib.SMTP("127.0.0.1", inst["port"], timeout=20) as s:
            s.sendmail("sender@crash.test", ["first%d@crash.test" % n],
                       b"Subject: first %d\r\n\r\n%s\r\n" % (n, b"f" * 5000))
    assert obj.wait_log(r": removed$", count=5, timeout=60), obj.maillog()[-2000:]
    spare = os.path.join(inst["spool"], "spare")
    # a kept file is claimable once published (after the fsync of active/;
    # hidden ".k." names until then), and a receiver that found spare/
    # empty looks again only after QSPARE_RELIST_MS (100 ms)
    deadline = time.time() + 10
    while time.time() < deadline and [n for n in os.listdir(spare) if n.startswith(".")]:
        time.sleep(0.05)
    time.sleep(0.3)
    kept = {os.stat(os.path.join(spare, n)).st_ino for n in os.listdir(spare)
            if not n.startswith(".")}
    assert kept
    incoming = os.path.join(inst["spool"], "incoming")
    # a receiver that found spare/ empty looks again after 100 ms
    time.sleep(0.5)
    s = socket.create_connection(("127.0.0.1", inst["port"]), timeout=20)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO client.crash.test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    for cmd in (b"MAIL FROM:<sender@crash.test>", b"RCPT TO:<victim@crash.test>", b"DATA"):
        s.sendall(cmd + b"\r\n")
        assert f.readline()[:1] in (b"2", b"3")
    s.sendall(b"Subject: never\r\n\r\n" + b"v" * 3000 + b"\r\n")
    deadline = time.time() + 10
    while time.time() < deadline and not [n for n in os.listdir(incoming)
                                          if n.startswith("t.")]:
        time.sleep(0.05)
    temps = [n for n in os.listdir(incoming) if n.startswith("t.")]
    assert temps, os.listdir(incoming)
    # the receiver writes into a kept file, not a new one
    assert os.stat(os.path.join(incoming, temps[0])).st_ino in kept
    smtpd = [p for p in obj.pids()
             if open("/proc/%d/cmdline" % p, "rb").read().startswith(b"smtpd\0")]
    assert smtpd
    for pid in smtpd:
        os.kill(pid, signal.SIGKILL)
    s.close()
    # the queue manager removes what a dead receiver left (queue_run_delay)
    deadline = time.time() + 30
    while time.time() < deadline and set(temps) & set(os.listdir(incoming)):
        time.sleep(0.1)
    assert not set(temps) & set(os.listdir(incoming)), os.listdir(incoming)
    assert "removed a partial queue file of a receiver that died" in obj.maillog()
    # a new smtpd (the master starts one) takes the next message whole
    deadline = time.time() + 20
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", inst["port"], timeout=20) as c:
                c.sendmail("sender@crash.test", ["after@crash.test"],
                           b"Subject: after\r\n\r\nafter\r\n")
            break
        except (OSError, smtplib.SMTPException):
            assert time.time() < deadline
            time.sleep(0.2)
    assert obj.wait_log(r"to=<after@crash\.test>.*status=sent", timeout=30), obj.maillog()
    time.sleep(1.5)
    log = obj.maillog()
    assert "victim@crash.test" not in log, log[-2000:]
    assert len(re.findall(r"status=sent", log)) == 6, log[-2000:]
    assert not os.listdir(os.path.join(inst["spool"], "corrupt"))
