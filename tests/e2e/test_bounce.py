"""Bounces: a recipient routed to error: (transport_maps) produces an RFC
3464 notice to the sender, which Python's email package reads as
multipart/report with the right Status and the original headers; DSN RET
and ENVID from the queue file; never a bounce to the null sender; the
postmaster copy per notify_classes; a delay warning after
delay_warning_time."""
import email
import email.policy
import os
import re

import pytest

from test_master import maillog, start, wait_for


@pytest.fixture
def inst(instance_factory):
    """conftest's Instance (stopped by instance_factory), seen as the dict
    these tests use"""
    # mail back to example.org stays queued (retry), so the notice can be read
    i = instance_factory(main_extra=(
        "myhostname = mx.example.com\nmydomain = example.com\n"
        "default_transport = discard:test\nmydestination = localhost\n"
        "local_transport = discard:local\n"
        "transport_maps = inline:{ {nouser.test = error:5.1.1 no such user}, "
        "{example.org = retry:}, {slow.test = retry:} }\n"),
        master_extra="retry     unix  -       -       n       -       -       retry\n")
    return {"etc": i.etc, "spool": i.spool, "log": i.log, "env": {"MAIL_CONFIG": i.etc}}


ORIGINAL = ("From: Alice <alice@example.org>\nTo: bob@nouser.test\n"
            "Subject: lunch?\nMessage-ID: <orig-1@example.org>\n\nbody line\n")


def enqueue(run, inst, *args, content=ORIGINAL):
    r = run("yubin", "qtool", "enqueue", *args, env=inst["env"], stdin=content)
    assert r.rc == 0, r
    return r.out.strip()


def notice_id(inst, qid, who="sender", kind="non-delivery"):
    m = re.search(r"yubin/bounce\[\d+\]: %s: %s %s notification: (\w+)" % (qid, who, kind),
                  maillog(inst))
    return m.group(1) if m else None


def queue_file_content(run, inst, qid):
    """The message text of a queued notice, as email parses it."""
    r = run("postcat", "-bh", "-q", qid, env=inst["env"])
    assert r.rc == 0, r
    text = r.out
    # postcat frames the content with "*** ... ***" lines, as Postfix's does
    lines = [l for l in text.split("\n") if not l.startswith("*** ")]
    return email.message_from_string("\n".join(lines), policy=email.policy.compat32)


def test_bounce_to_sender(run, inst):
    qid = enqueue(run, inst, "-f", "alice@example.org", "-a", "dsn_envid=ENV-7",
                  "bob@nouser.test", "ok@other.test")
    start(run, inst)
    nid = wait_for(lambda: notice_id(inst, qid))
    assert nid, maillog(inst)
    log = maillog(inst)
    assert re.search(r"yubin/error\[\d+\]: %s: to=<bob@nouser.test>, relay=none, .*"
                     r"dsn=5\.1\.1, status=bounced \(no such user\)" % qid, log), log
    assert wait_for(lambda: "%s: removed" % qid in maillog(inst)), maillog(inst)
    # the notice is mail from <> to the sender
    assert wait_for(lambda: re.search(r"%s: from=<>, size=\d+, nrcpt=1" % nid, maillog(inst)))
    msg = queue_file_content(run, inst, nid)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["From"] == "MAILER-DAEMON@mx.example.com (Mail Delivery System)"
    assert msg["To"] == "alice@example.org"
    assert msg["Auto-Submitted"] == "auto-replied"
    parts = msg.get_payload()
    assert [p.get_content_type() for p in parts] == \
        ["text/plain", "message/delivery-status", "message/rfc822"]
    text = parts[0].get_payload()
    assert "This is the mail system at host mx.example.com." in text
    assert "I'm sorry to have to inform you that your message could not" in text
    assert "<bob@nouser.test>: no such user" in text
    assert "ok@other.test" not in text
    status = parts[1].get_payload()
    assert status[0]["Reporting-MTA"] == "dns; mx.example.com"
    assert status[0]["Original-Envelope-Id"] == "ENV-7"
    assert status[0]["X-Postfix-Queue-ID"] == qid
    assert status[0]["Arrival-Date"]
    assert len(status) == 2
    assert status[1]["Final-Recipient"] == "rfc822; bob@nouser.test"
    assert status[1]["Action"] == "failed"
    assert status[1]["Status"] == "5.1.1"
    assert status[1]["Diagnostic-Code"] == "X-Postfix; no such user"
    orig = parts[2].get_payload()[0]
    assert orig["Subject"] == "lunch?"
    assert orig["Message-ID"] == "<orig-1@example.org>"
    assert "body line" in orig.get_payload()


def test_ret_hdrs_and_notify(run, inst):
    qid = enqueue(run, inst, "-f", "alice@example.org", "-a", "dsn_ret=HDRS",
                  "bob@nouser.test")
    start(run, inst)
    nid = wait_for(lambda: notice_id(inst, qid))
    assert nid, maillog(inst)
    msg = queue_file_content(run, inst, nid)
    parts = msg.get_payload()
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "Subject: lunch?" in parts[2].get_payload()
    assert "body line" not in parts[2].get_payload()


def test_no_bounce_to_null_sender(run, inst):
    qid = enqueue(run, inst, "-f", "", "bob@nouser.test")
    start(run, inst)
    assert wait_for(lambda: "%s: removed" % qid in maillog(inst)), maillog(inst)
    log = maillog(inst)
    assert re.search(r"%s: to=<bob@nouser.test>, .*status=bounced" % qid, log), log
    assert "notification" not in log
    assert os.listdir(os.path.join(inst["spool"], "incoming")) == []
    assert os.listdir(os.path.join(inst["spool"], "deferred")) == []


def test_double_bounce_to_postmaster(run, inst):
    with open(os.path.join(inst["etc"], "main.cf"), "a") as f:
        f.write("notify_classes = bounce, resource, software\n"
                "2bounce_notice_recipient = pm@example.org\n"
                "bounce_notice_recipient = pm@example.org\n")
    qid = enqueue(run, inst, "-f", "", "bob@nouser.test")
    qid2 = enqueue(run, inst, "-f", "carol@example.org", "bob@nouser.test")
    start(run, inst)
    nid = wait_for(lambda: notice_id(inst, qid, "postmaster"))
    assert nid, maillog(inst)
    assert wait_for(lambda: re.search(r"%s: from=<double-bounce@mx.example.com>" % nid,
                                      maillog(inst))), maillog(inst)
    assert notice_id(inst, qid) is None
    # a single bounce: the sender's notice and a headers-only postmaster copy
    assert wait_for(lambda: notice_id(inst, qid2) and notice_id(inst, qid2, "postmaster"))
    pm = notice_id(inst, qid2, "postmaster")
    assert wait_for(lambda: re.search(r"%s: from=<double-bounce@mx.example.com>" % pm,
                                      maillog(inst)))
    msg = queue_file_content(run, inst, pm)
    assert msg["Subject"] == "Postmaster Copy: Undelivered Mail"
    assert msg.get_payload()[2].get_content_type() == "text/rfc822-headers"


def test_delay_warning(run, inst):
    with open(os.path.join(inst["etc"], "main.cf"), "a") as f:
        f.write("delay_warning_time = 1s\n")
    qid = enqueue(run, inst, "-f", "alice@example.org", "bob@slow.test")
    start(run, inst)
    nid = wait_for(lambda: notice_id(inst, qid, "sender", "delay"))
    assert nid, maillog(inst)
    msg = queue_file_content(run, inst, nid)
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    parts = msg.get_payload()
    assert "THIS IS A WARNING ONLY" in parts[0].get_payload()
    status = parts[1].get_payload()
    assert status[1]["Action"] == "delayed"
    assert status[1]["Status"].startswith("4.")
    assert status[1]["Will-Retry-Until"]
    # once only, though the message is tried again
    n = maillog(inst).count("%s: from=<alice@example.org>" % qid)
    assert wait_for(lambda: maillog(inst).count("%s: from=<alice@example.org>" % qid) > n + 1)
    assert maillog(inst).count("%s: sender delay notification" % qid) == 1
    run("postsuper", "-d", "ALL", env=inst["env"])
