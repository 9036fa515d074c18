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
    twice = {q: c for q, c in sent_counts(per_rcpt=True).items() if c > 1}
    assert not missing, "acknowledged but never delivered: %s" % missing[:10]
    assert not twice, "delivered more than once: %s" % list(twice.items())[:10]
    r = run("mailq", "-C", inst["etc"])
    assert r.rc == 0 and "Mail queue is empty" in r.out, r
    for q in ("incoming", "active", "deferred", "corrupt"):
        d = os.path.join(inst["spool"], q)
        left = [f for f in os.listdir(d)] if os.path.isdir(d) else []
        assert not [f for f in left if not f.startswith(".")], (q, left[:5])
