"""A day of yubin's log through pflogsumm (Debian's package), the way an
administrator summarises Postfix's: yubin's lines have Postfix's shapes, so
pflogsumm counts what happened (with --syslog-name=yubin, as for a Postfix
instance with its own syslog_name)."""
import re
import smtplib
import socket
import subprocess

import pytest

RECEIVED = 12


def pflogsumm(path):
    exe = "/usr/sbin/pflogsumm"
    try:
        p = subprocess.run([exe, "--syslog-name=yubin", path], capture_output=True, text=True,
                           timeout=60)
    except FileNotFoundError:
        pytest.skip("pflogsumm is not installed (scripts/bootstrap installs it)")
    assert p.returncode == 0, p.stderr
    totals = {}
    for m in re.finditer(r"^\s+(\d+)\s+(received|delivered|deferred|bounced|rejected)\b",
                         p.stdout, re.M):
        totals.setdefault(m.group(2), int(m.group(1)))
    return totals, p.stdout


def test_pflogsumm_counts_what_happened(instance_factory):
    inst = instance_factory(
        main_extra="mynetworks = 127.0.0.1/32\nrelay_domains =\n"
                   "smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination\n"
                   "transport_maps =\n",
        master_extra="")
    # one domain routed to the error transport, so one message bounces
    with open(inst.etc + "/main.cf", "a") as f:
        f.write("default_transport = error:5.1.2 host not found\n")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as c:
        for i in range(RECEIVED - 1):
            c.sendmail("sender@test.example", ["user%d@test.example" % i],
                       b"Subject: %d\r\n\r\nhello\r\n" % i)
        c.sendmail("sender@test.example", ["someone@elsewhere.example"],
                   b"Subject: bounce\r\n\r\nhello\r\n")
    # two relay attempts from outside mynetworks (127.0.0.2)
    for i in range(2):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", inst.port))
        c = smtplib.SMTP(timeout=30)
        c.sock = s
        c.file = s.makefile("rb")
        c.getreply()
        c.ehlo("outside.example")
        c.mail("spammer@outside.example")
        code, _ = c.rcpt("victim@elsewhere.example")
        assert code == 554
        c.quit()
    assert inst.wait_log(r"status=(sent|bounced)", RECEIVED), inst.maillog()[-3000:]
    assert inst.wait_log(r": removed$", RECEIVED), inst.maillog()[-3000:]
    totals, text = pflogsumm(inst.log)
    assert totals.get("received") == RECEIVED, text[:1500]
    # 11 messages, and the bounce notice to the sender (a local address)
    assert inst.wait_log(r"sender non-delivery notification", 1)
    assert inst.wait_log(r"status=sent", RECEIVED), inst.maillog()[-3000:]
    totals, text = pflogsumm(inst.log)
    assert totals.get("delivered") == RECEIVED, text[:1500]
    assert totals.get("bounced") == 1, text[:1500]
    assert totals.get("rejected") == 2, text[:1500]
    assert "Relay access denied" in text
