"""yubin dev's demo user (issue 4, item 8): mail for demo@localhost, and
for postmaster@ and root@ through DIR/aliases, lands in the Maildir
DIR/mail/localhost/demo/ through local(8) and virtual(8), as the invoking
user, with no root needed."""
import os
import re
import signal
import smtplib
import socket
import subprocess
import time

from conftest import dev_port_base


def wait_for(pred, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def port_base():
    return dev_port_base()


def test_demo_user_gets_mail_for_itself_postmaster_and_root(tmp_path, bindir):
    d = tmp_path / "dev"
    base = port_base()
    p = subprocess.Popen([os.path.join(bindir, "yubin"), "dev", str(d), "--port-base",
                          str(base)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", base + 25), timeout=1).close()
                return True
            except OSError:
                return False
        assert wait_for(up), "smtpd never listened"
        with smtplib.SMTP("127.0.0.1", base + 25, timeout=20) as s:
            for rcpt in ("demo", "postmaster", "root"):
                s.sendmail("someone@example.org", ["%s@localhost" % rcpt],
                           b"Subject: to %s\r\n\r\nhello\r\n" % rcpt.encode())
        log = d / "log" / "maillog"
        new = d / "mail" / "localhost" / "demo" / "new"
        assert wait_for(lambda: new.is_dir() and len(os.listdir(new)) == 3), \
            log.read_text() if log.exists() else "no maillog"
        # the file lands before the queue manager logs the delivery
        assert wait_for(lambda: len(re.findall(r"status=sent", log.read_text())) >= 3), \
            log.read_text()
        text = log.read_text()
        # the canonical hand-off: local(8) passes the mailbox to LMTP
        lmtp = re.escape("[%s]" % (d / "run" / "lmtp"))
        assert re.search(r"yubin/lmtp\[\d+\]: \w+: to=<demo@localhost>, relay=[^,]*%s, "
                         r".*dsn=2\.0\.0, status=sent \(250 2\.0\.0 <demo@localhost> \S+ "
                         r"Saved\)" % lmtp, text), text
        for alias in ("postmaster", "root"):
            assert re.search(r"to=<demo@localhost>, orig_to=<%s@localhost>, relay=[^,]*%s, "
                             r".*status=sent \(250 " % (alias, lmtp), text), text
        subjects = sorted(re.search(r"Subject: (.*)", (new / n).read_text()).group(1)
                          for n in os.listdir(new))
        assert subjects == ["to demo", "to postmaster", "to root"]
        for n in os.listdir(new):
            assert (new / n).stat().st_uid == os.getuid()
            assert (new / n).read_text().startswith("Return-Path: <someone@example.org>\n")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
