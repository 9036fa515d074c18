"""doveadm (issue 6, item 7): who lists an open POP3 session with its pid
and address, kick ends it, mailbox create/list/rename/status/delete work on
the user's Maildir as the user."""
import os
import poplib
import ssl

from pop3_fixtures import Retrieval, wait_for


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def test_who_lists_a_session_and_kick_ends_it(bindir, tmp_path):
    r = Retrieval(bindir, tmp_path / "r")
    try:
        r.start()
        p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=ctx(), timeout=20)
        p.user("alice")
        p.pass_("secret")
        who = r.doveadm("who")
        assert who.returncode == 0, who
        lines = who.stdout.splitlines()
        assert lines[0].split() == ["username", "#", "proto", "(pids)", "(ips)"]
        row = [l for l in lines[1:] if l.startswith("alice")]
        assert len(row) == 1 and " pop3 " in row[0] and "(127.0.0.1)" in row[0], who.stdout
        kick = r.doveadm("kick", "alice")
        assert kick.returncode == 0 and "alice" in kick.stdout
        assert wait_for(lambda: len(r.doveadm("who").stdout.splitlines()) == 1)
        try:
            p.stat()
            assert False, "the kicked session still answers"
        except (poplib.error_proto, OSError, EOFError):
            pass
    finally:
        r.cleanup()


def test_mailbox_commands(bindir, tmp_path):
    r = Retrieval(bindir, tmp_path / "r")
    r.put("1700000001.M1P1.test", b"Subject: x\n\nx\n")
    try:
        r.start()
        assert r.doveadm("mailbox", "create", "-u", "alice", "Sent").returncode == 0
        assert r.doveadm("mailbox", "create", "-u", "alice", "Sent").returncode != 0
        assert os.stat(os.path.join(r.maildir, ".Sent", "cur")).st_uid == r.uid
        assert r.doveadm("mailbox", "list", "-u", "alice").stdout.split() == ["INBOX", "Sent"]
        assert r.doveadm("mailbox", "rename", "-u", "alice", "Sent", "Old").returncode == 0
        st = r.doveadm("mailbox", "status", "-u", "alice", "messages vsize", "INBOX")
        assert st.returncode == 0 and st.stdout.strip() == "INBOX messages=1 vsize=17", st
        assert r.doveadm("mailbox", "delete", "-u", "alice", "Old").returncode == 0
        assert r.doveadm("mailbox", "list", "-u", "alice").stdout.split() == ["INBOX"]
        assert r.doveadm("mailbox", "list", "-u", "nobody-here").returncode == 67
    finally:
        r.cleanup()
