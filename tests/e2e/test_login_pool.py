"""The login pool (src/login/login_pool.c): with Dovecot's
`service imap-login { service_count = 0; process_min_avail = N }` a login
process serves one client after another (the pids in the Login lines
repeat), each login still gets a fresh session process of its own (mpid),
a killed login process takes only its own client down, and the limits
(mail_max_userip_connections, process_limit) hold. POP3 pools the same
way; ManageSieve keeps a login process per connection."""
import imaplib
import os
import poplib
import re
import signal
import socket

import pytest

from imap_fixtures import ImapBox, tls_ctx
from pop3_fixtures import wait_for

POOL = ("service imap-login {\n  service_count = 0\n  process_min_avail = 2\n}\n"
        "service pop3-login {\n  service_count = 0\n  process_min_avail = 1\n"
        "  process_limit = 1\n}\n")
# one login process only: every client must meet the same one
ONE = ("service imap-login {\n  service_count = 0\n  process_min_avail = 1\n"
       "  process_limit = 1\n}\n")

LOGIN_RE = re.compile(r"dovecot\[(\d+)\]: (imap|pop3)-login: Login: user=<(\w+)>, "
                      r"method=\w+, rip=[\d.]+, lip=[\d.]+, mpid=(\d+)")


def logins(box, proto="imap"):
    """(login pid, user, session pid) of each Login line, in order"""
    return [(int(m.group(1)), m.group(3), int(m.group(4)))
            for m in LOGIN_RE.finditer(box.logtext()) if m.group(2) == proto]


def session_pids(box):
    """the session processes' pids, from their Disconnected lines"""
    return [int(p) for p in re.findall(r"imap\(\w+\)<(\d+)><", box.logtext())]


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if int(proc_status(int(p))["PPid"].strip()) == pid:
                out.append(int(p))
        except (OSError, KeyError, ValueError):
            pass
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


def login_procs(box, title=b"dovecot/imap ["):
    """the pooled login processes of the imap listener's service (not
    imaps's), by their process titles"""
    out = []
    for svc in children(box.master_pid()):
        args = cmdline(svc).split(b"\0")
        if args[0] == b"imap" and b"-s" not in args:
            out += [p for p in children(svc) if cmdline(p).startswith(title)]
    return out


def imap_login(box, user="alice", pw="secret", tls=None):
    if tls == "imaps":
        m = imaplib.IMAP4_SSL("127.0.0.1", box.imaps, ssl_context=tls_ctx(), timeout=20)
    else:
        m = imaplib.IMAP4("127.0.0.1", box.imap, timeout=20)
        if tls == "starttls":
            m.starttls(ssl_context=tls_ctx())
    m.login(user, pw)
    return m


def add_user(box, user, pw, nmsg):
    home = os.path.join(box.root, "home", user)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(home, "Maildir", sub), exist_ok=True)
    for i in range(nmsg):
        with open(os.path.join(home, "Maildir", "new", "17000000%02d.M1P1.%s" % (i, user)),
                  "wb") as f:
            f.write(b"From: x@example.org\nSubject: %s %d\n\nbody\n" % (user.encode(), i))
    with open(os.path.join(box.root, "users"), "a") as f:
        f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (user, pw, box.uid, box.gid, home))
    box.chown()


def make_box(bindir, tmp_path, extra):
    b = ImapBox(bindir, tmp_path / "r", extra=extra)
    b.put("1700000001.M1P1.test", b"From: a@example.org\nSubject: one\n\nbody\n")
    add_user(b, "bob", "bobpw", 2)
    return b


@pytest.fixture
def pool(bindir, tmp_path):
    b = make_box(bindir, tmp_path, POOL)
    yield b
    b.cleanup()


@pytest.fixture
def pool1(bindir, tmp_path):
    b = make_box(bindir, tmp_path, ONE)
    yield b
    b.cleanup()


def test_login_processes_serve_several_clients(pool1):
    pool = pool1
    pool.start()
    for i in range(6):
        user, pw = ("alice", "secret") if i % 2 == 0 else ("bob", "bobpw")
        m = imap_login(pool, user, pw)
        typ, data = m.select("INBOX")
        assert typ == "OK" and int(data[0]) == (1 if user == "alice" else 2)
        m.logout()
    assert wait_for(lambda: len(logins(pool)) == 6), pool.logtext()
    lines = logins(pool)
    lpids = {lp for lp, _, _ in lines}
    mpids = [mp for _, _, mp in lines]
    # six clients, alice and bob in turn, all on the one login process
    assert len(lpids) == 1, lines
    # a fresh session process per login, never a login process
    assert len(set(mpids)) == 6 and not lpids & set(mpids), lines
    assert wait_for(lambda: sorted(session_pids(pool)) == sorted(mpids)), pool.logtext()
    # the login processes are unprivileged and still there for the next one
    alive = login_procs(pool)
    assert lpids & set(alive), (lpids, alive)
    for p in alive:
        assert proc_status(p)["Uid"].split()[0] != "0"


def test_without_pool_settings_one_login_process_per_client(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r")
    try:
        b.start()
        for _ in range(3):
            imap_login(b).logout()
        assert wait_for(lambda: len(logins(b)) == 3), b.logtext()
        assert len({lp for lp, _, _ in logins(b)}) == 3
    finally:
        b.cleanup()


def test_tls_logins_in_the_pool(pool):
    pool.start()
    for tls in ("starttls", "imaps", "starttls", "imaps"):
        m = imap_login(pool, tls=tls)
        assert m.select("INBOX")[0] == "OK"
        assert m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].strip() == \
            b"Subject: one"
        m.logout()
    assert wait_for(lambda: len(logins(pool)) == 4), pool.logtext()
    assert "TLS, session=<" in pool.logtext()


def test_killed_login_process_takes_only_its_client(pool):
    pool.start()
    # a logged-in session first, served by some pooled login process
    m = imap_login(pool, "bob", "bobpw")
    assert m.select("INBOX")[0] == "OK"
    # a client in its login phase: which login process holds it
    s = socket.create_connection(("127.0.0.1", pool.imap), timeout=10)
    assert s.recv(4096).startswith(b"* OK")
    assert wait_for(lambda: len(login_procs(pool, b"dovecot/imap [127.0.0.1]")) == 1)
    victim = login_procs(pool, b"dovecot/imap [127.0.0.1]")[0]
    os.kill(victim, signal.SIGKILL)
    s.settimeout(10)
    assert s.recv(4096) == b""
    s.close()
    # the logged-in session goes on; a new client logs in as itself
    assert m.noop()[0] == "OK"
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) == 2
    m2 = imap_login(pool, "alice", "secret")
    typ, data = m2.select("INBOX")
    assert typ == "OK" and int(data[0]) == 1
    m2.logout()
    m.logout()
    assert wait_for(lambda: victim not in login_procs(pool))
    assert wait_for(lambda: len(logins(pool)) == 2), pool.logtext()
    assert victim not in {lp for lp, _, _ in logins(pool)[1:]}


def test_userip_limit_in_the_pool(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r", extra=POOL + "mail_max_userip_connections = 1\n")
    try:
        b.start()
        m = imap_login(b)
        m2 = imaplib.IMAP4("127.0.0.1", b.imap, timeout=20)
        with pytest.raises(imaplib.IMAP4.error, match=r"\[LIMIT\] Maximum number of "
                           r"connections from user\+IP exceeded"):
            m2.login("alice", "secret")
        # the refused client may try again on the same connection once
        # the first session is gone
        m.logout()
        assert wait_for(lambda: len(session_pids(b)) == 1), b.logtext()
        assert wait_for(lambda: not os.path.exists(
            os.path.join(b.base, "sessions", str(logins(b)[0][2]))))
        m2.login("alice", "secret")
        assert m2.select("INBOX")[0] == "OK"
        m2.logout()
    finally:
        b.cleanup()


def test_process_limit_caps_the_pool(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r", extra="service imap-login {\n  service_count = 0\n"
                "  process_min_avail = 2\n  process_limit = 2\n}\n")
    try:
        b.start()
        held = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", b.imap), timeout=10)
            assert s.recv(4096).startswith(b"* OK")
            held.append(s)
        # both login processes are busy: a third client waits in the backlog
        s3 = socket.create_connection(("127.0.0.1", b.imap), timeout=10)
        s3.settimeout(1.5)
        with pytest.raises(socket.timeout):
            s3.recv(4096)
        assert len(login_procs(b)) == 2
        held.pop().close()
        s3.settimeout(10)
        assert s3.recv(4096).startswith(b"* OK")
        s3.sendall(b"a LOGIN alice secret\r\n")
        assert b"a OK" in s3.recv(4096)
        s3.close()
        held[0].close()
        assert len(login_procs(b)) <= 2
    finally:
        b.cleanup()


def test_service_count_ends_login_processes(bindir, tmp_path):
    b = ImapBox(bindir, tmp_path / "r", extra="service imap-login {\n  service_count = 2\n"
                "  process_min_avail = 1\n}\n")
    try:
        b.start()
        for _ in range(6):
            imap_login(b).logout()
        assert wait_for(lambda: len(logins(b)) == 6), b.logtext()
        counts = {}
        for lp, _, _ in logins(b):
            counts[lp] = counts.get(lp, 0) + 1
        # wait_for's probes of the port count as clients too
        assert max(counts.values()) <= 2 and len(counts) >= 3, counts
    finally:
        b.cleanup()


def test_pop3_pool(pool):
    pool.start()
    for _ in range(4):
        p = poplib.POP3("127.0.0.1", pool.pop3, timeout=20)
        p.user("alice")
        p.pass_("secret")
        assert p.stat()[0] == 1
        p.quit()
    assert wait_for(lambda: len(logins(pool, "pop3")) == 4), pool.logtext()
    lines = logins(pool, "pop3")
    assert len({lp for lp, _, _ in lines}) == 1 and len({mp for _, _, mp in lines}) == 4, lines


def test_reload_ends_idle_pooled_processes(pool):
    pool.start()
    imap_login(pool).logout()
    before = login_procs(pool)
    assert before
    r = pool.doveadm("reload")
    assert r.returncode == 0, r
    assert wait_for(lambda: not set(before) & set(login_procs(pool))), (before,
                                                                         login_procs(pool))
    m = imap_login(pool, "bob", "bobpw")
    assert int(m.select("INBOX")[1][0]) == 2
    m.logout()


def test_who_and_kick_with_reused_session_files(pool):
    pool.start()
    sessions = os.path.join(pool.base, "sessions")
    for _ in range(4):
        imap_login(pool, "bob", "bobpw").logout()
    assert wait_for(lambda: len(session_pids(pool)) == 4), pool.logtext()
    # the ended sessions' files were kept as spares, nothing else stays
    assert wait_for(lambda: not [n for n in os.listdir(sessions) if not n.startswith(".")])
    spares = os.listdir(os.path.join(sessions, ".spare"))
    assert 1 <= len(spares) <= 4, spares
    m = imap_login(pool)
    # the Login line goes through the log pipe: wait for it rather than
    # take whatever line came last (bob's could still be the last one)
    assert wait_for(lambda: [s for _, u, s in logins(pool) if u == "alice"]), pool.logtext()
    mpid = [s for _, u, s in logins(pool) if u == "alice"][-1]
    who = pool.doveadm("who")
    row = [line for line in who.stdout.splitlines() if line.startswith("alice")]
    assert len(row) == 1 and str(mpid) in row[0] and " imap " in row[0], who.stdout
    with open(os.path.join(sessions, str(mpid))) as f:
        assert f.read().startswith("alice\timap\t127.0.0.1\t")
    # a spare was taken for it (a rename, not a new file)
    assert len(os.listdir(os.path.join(sessions, ".spare"))) == len(spares) - 1
    kick = pool.doveadm("kick", "alice")
    assert kick.returncode == 0 and "alice" in kick.stdout
    with pytest.raises((imaplib.IMAP4.abort, OSError, EOFError)):
        m.noop()
        m.noop()
    assert wait_for(lambda: not [line for line in pool.doveadm("who").stdout.splitlines()
                                 if line.startswith("alice")])
