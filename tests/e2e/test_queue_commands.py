"""The queue commands against a queue filled by `yubin qtool enqueue` (a
test-only writer): mailq / postqueue -p / sendmail -bp layout, postqueue -j,
postsuper -d/-h/-H/-r/-s, postcat -q, and queue ID validation."""
import json
import os
import re

import pytest


@pytest.fixture
def inst(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    spool = tmp_path / "spool"
    (etc / "main.cf").write_text("queue_directory = %s\nmail_owner = %s\n"
                                 % (spool, __import__("pwd").getpwuid(os.getuid()).pw_name))
    return {"etc": str(etc), "spool": str(spool), "env": {"MAIL_CONFIG": str(etc)}}


def enqueue(run, inst, *args, body="Subject: test\n\nhello\n"):
    r = run("yubin", "qtool", "enqueue", *args, env=inst["env"], stdin=body)
    assert r.rc == 0, r
    qid = r.out.strip()
    assert re.fullmatch(r"[0-9A-F]{10,}", qid), qid
    return qid


HEADER = "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"


def test_empty_queue(run, inst):
    for cmd, args in (("mailq", ()), ("postqueue", ("-p",)), ("sendmail", ("-bp",))):
        r = run(cmd, *args, env=inst["env"])
        assert r.rc == 0, r
        assert r.out == "Mail queue is empty\n"


def test_listing_layout_and_flags(run, inst):
    a = enqueue(run, inst, "-f", "alice@example.org", "bob@example.net", "carol@example.net")
    d = enqueue(run, inst, "-q", "deferred", "-r", "connect to x[192.0.2.1]:25: refused",
                "dave@example.net")
    h = enqueue(run, inst, "-q", "hold", "-f", "", "x@y.example")
    r = run("postqueue", "-p", env=inst["env"])
    assert r.rc == 0, r
    assert r.out.startswith(HEADER)
    assert re.search(r"^%s!\s+\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  MAILER-DAEMON$" % h,
                     r.out, re.M), r.out
    assert re.search(r"^%s \s+\d+ .*  alice@example.org$" % a, r.out, re.M)
    assert "\n" + " " * 42 + "bob@example.net\n" in r.out
    assert re.search(r"^ +\(connect to x\[192.0.2.1\]:25: refused\)\n {42}dave@example.net$",
                     r.out, re.M), r.out
    assert re.search(r"\n-- \d+ Kbytes in 3 Requests\.\n$", r.out)
    assert d in r.out
    assert run("mailq", env=inst["env"]).out == r.out


def test_json_lines(run, inst):
    qid = enqueue(run, inst, "-q", "deferred", "-r", "try \"later\"", "-f", "a@b.example",
                  "c@d.example")
    r = run("postqueue", "-j", env=inst["env"])
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert len(lines) == 1
    o = json.loads(lines[0])
    assert o["queue_name"] == "deferred" and o["queue_id"] == qid
    assert o["sender"] == "a@b.example" and o["forced_expire"] is False
    assert o["message_size"] == len("Subject: test\n\nhello\n")
    assert isinstance(o["arrival_time"], int)
    assert o["recipients"] == [{"address": "c@d.example", "delay_reason": "try \"later\""}]


def test_hold_release_requeue_delete(run, inst):
    q1 = enqueue(run, inst, "a@example.net")
    q2 = enqueue(run, inst, "-q", "deferred", "b@example.net")
    r = run("postsuper", "-h", "ALL", env=inst["env"])
    assert r.rc == 0, r
    assert "postsuper: Placed on hold: 2 messages" in r.err
    assert sorted(os.listdir(os.path.join(inst["spool"], "hold"))) == sorted([q1, q2])
    assert "%s!" % q1 in run("mailq", env=inst["env"]).out
    r = run("postsuper", "-H", q1, env=inst["env"])
    assert "postsuper: %s: released from hold" % q1 in r.err
    assert "postsuper: Released from hold: 1 message\n" in r.err
    assert os.listdir(os.path.join(inst["spool"], "deferred")) == [q1]
    r = run("postsuper", "-r", "ALL", env=inst["env"])
    assert "postsuper: Requeued: 2 messages" in r.err
    assert sorted(os.listdir(os.path.join(inst["spool"], "incoming"))) == sorted([q1, q2])
    r = run("postsuper", "-d", q2, env=inst["env"])
    assert "postsuper: %s: removed" % q2 in r.err
    assert "postsuper: Deleted: 1 message\n" in r.err
    r = run("postsuper", "-d", "ALL", "incoming", env=inst["env"])
    assert "postsuper: Deleted: 1 message\n" in r.err
    assert run("mailq", env=inst["env"]).out == "Mail queue is empty\n"


def test_ids_are_validated(run, inst):
    enqueue(run, inst, "a@example.net")
    victim = os.path.join(inst["etc"], "main.cf")
    for bad in ("../../etc/main.cf", "../etc", "ALLX", "3F2A1B2C3D/../x"):
        r = run("postsuper", "-d", bad, env=inst["env"])
        assert "invalid mail queue id" in r.err, r
        r = run("postcat", "-q", bad, env=inst["env"])
        assert r.rc != 0
    assert os.path.exists(victim)
    assert run("postqueue", "-i", "../x", env=inst["env"]).rc != 0


def test_postcat(run, inst):
    qid = enqueue(run, inst, "-f", "alice@example.org", "-a", "client_name=localhost",
                  "bob@example.net", body="Subject: hi\nX: y\n\nbody line\n")
    r = run("postcat", "-q", qid, env=inst["env"])
    assert r.rc == 0, r
    name = "incoming/" + qid
    assert r.out.startswith("*** ENVELOPE RECORDS %s ***\n" % name)
    assert "\nsender: alice@example.org\n" in r.out
    assert "\nnamed_attribute: client_name=localhost\n" in r.out
    assert "\nrecipient: bob@example.net\n" in r.out
    assert ("*** MESSAGE CONTENTS %s ***\nSubject: hi\nX: y\n\nbody line\n"
            "*** HEADER EXTRACTED %s ***\n" % (name, name)) in r.out
    assert r.out.endswith("*** MESSAGE FILE END %s ***\n" % name)
    assert run("postcat", "-bq", qid, env=inst["env"]).out.count("body line") == 1
    h = run("postcat", "-hq", qid, env=inst["env"]).out
    assert "Subject: hi" in h and "body line" not in h and "ENVELOPE" not in h


def test_corrupt_file_is_skipped_not_fatal(run, inst):
    qid = enqueue(run, inst, "a@example.net")
    path = os.path.join(inst["spool"], "incoming", qid)
    with open(path, "r+b") as f:
        f.truncate(20)
    r = run("mailq", env=inst["env"])
    assert r.rc == 0 and "warning" in r.err
    assert run("postcat", "-q", qid, env=inst["env"]).rc == 1


def test_structure_check_removes_stale_temporaries(run, inst):
    enqueue(run, inst, "a@example.net")
    tmp = os.path.join(inst["spool"], "incoming", "t.1.2.3")
    open(tmp, "w").close()
    os.utime(tmp, (0, 0))
    fresh = os.path.join(inst["spool"], "incoming", "t.1.2.4")
    open(fresh, "w").close()
    os.chmod(os.path.join(inst["spool"], "hold"), 0o755)
    r = run("postsuper", "-s", env=inst["env"])
    assert r.rc == 0, r
    assert not os.path.exists(tmp) and os.path.exists(fresh)
    assert os.stat(os.path.join(inst["spool"], "hold")).st_mode & 0o777 == 0o700


def test_flush_without_mail_system(run, inst):
    r = run("postqueue", "-f", env=inst["env"])
    assert r.rc == 1 and "mail system is down" in r.err
    # submission works without the mail system (maildrop); no recipients is a usage error
    r = run("sendmail", "-t", env=inst["env"], stdin="x")
    assert r.rc == 64 and "No recipient addresses found in message header" in r.err
