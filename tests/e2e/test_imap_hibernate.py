"""IMAP hibernation (imap_hibernate_timeout, src/imap/imap_hibernate.c): a
session in IDLE past the timeout hands its client to the instance's one
imap-hibernate process and ends; a delivery, another session's EXPUNGE or
the client's DONE brings it back in a new session process that reports
what changed with the client's sequence numbers. Killing the hibernate
process loses no mail; a connection to its socket from a process that is
not one of the service's sessions is refused; TLS clients stay awake.
Raw sockets and imaplib against a real instance."""
import imaplib
import os
import signal
import socket
import ssl
import time

import pytest

from imap_fixtures import ImapBox, login, tls_ctx
from pop3_fixtures import wait_for

MSG = b"From: a@example.org\nSubject: %d\n\nbody %d\n"


@pytest.fixture
def box(tmp_path, bindir):
    b = ImapBox(bindir, tmp_path, extra="imap_hibernate_timeout = 1 secs\n"
                "verbose_proctitle = yes\nmail_max_userip_connections = 100\n")
    for i in range(1, 4):
        b.put("170000000%d.M%dP1.test:2," % (i, i), MSG % (i, i), sub="cur")
    yield b
    b.cleanup()


def deliver(b, name, content):
    """as a delivery agent does: tmp/, then a rename into new/ (a session
    woken by the file's creation may move it on at once)"""
    tmp = os.path.join(b.maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(content)
    os.chown(tmp, b.uid, b.gid)
    os.rename(tmp, os.path.join(b.maildir, "new", name))


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def _descendants(root):
    """every live process under root (root's own pid excluded)"""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            kids.setdefault(_ppid(int(d)), []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


def hibernators(b):
    return [p for p in _descendants(b.master_pid()) if _comm(p) == "imap-hibernate"]


def sessions(b):
    """the logged-in IMAP session processes of the instance (the
    verbose title names the user)"""
    out = []
    for p in _descendants(b.master_pid()):
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if _comm(p) == "imap" and cmd.startswith(b"dovecot/imap [alice "):
            out.append(p)
    return out


def idle_client(b):
    s = socket.create_connection(("127.0.0.1", b.imap), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n")
    while not f.readline().startswith(b"+ idling"):
        pass
    return s, f


def holding(b, n):
    """the hibernate processes (one per listener: imap and imaps) whose
    title says they hold n clients"""
    out = []
    for p in hibernators(b):
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                if ("[%d connections]" % n).encode() in f.read():
                    out.append(p)
        except OSError:
            pass
    return out


def wait_hibernated(b, n=1):
    assert wait_for(lambda: len(holding(b, n)) == 1 and len(sessions(b)) == 0, 30), \
        (hibernators(b), sessions(b), b.logtext())
    return holding(b, n)[0]


def _listening_inodes():
    """the inodes of every listening TCP socket (state 0A)"""
    out = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if p[3] == "0A":
                        out.add(p[9])
        except OSError:
            pass
    return out


def holds_listener(pid):
    """pid has a listening TCP socket among its fds"""
    listening = _listening_inodes()
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            link = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in listening:
            return True
    return False


def read_until(f, prefix):
    lines = []
    while True:
        line = f.readline()
        assert line, lines
        lines.append(line)
        if line.startswith(prefix):
            return lines


def test_delivery_wakes_a_hibernated_session(box):
    box.start()
    s, f = idle_client(box)
    hib = wait_hibernated(box)
    deliver(box, "1700000009.M9P9.test", MSG % (9, 9))
    lines = [f.readline(), f.readline()]
    assert lines[0] == b"* 4 EXISTS\r\n", lines
    assert lines[1].endswith(b" RECENT\r\n")
    # a session process has the client again, under the hibernate process
    assert wait_for(lambda: len(sessions(box)) == 1)
    assert _ppid(sessions(box)[0]) == hib
    # neither holds the service's client listener (nor could accept on it)
    assert not holds_listener(hib) and not holds_listener(sessions(box)[0])
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"c OK Idle completed")
    s.sendall(b"d FETCH 4 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
    got = b"".join(read_until(f, b"d "))
    assert b"* 4 FETCH (UID 4 BODY[HEADER.FIELDS (SUBJECT)] {14}\r\nSubject: 9\r\n\r\n)" in got, got
    assert b"d OK Fetch completed" in got
    s.sendall(b"e STORE 4 +FLAGS (\\Flagged)\r\n")
    got = b"".join(read_until(f, b"e "))
    assert b"* 4 FETCH (FLAGS (\\Flagged" in got and b"e OK Store completed" in got, got
    s.sendall(b"f LOGOUT\r\n")
    assert b"f OK Logout completed" in b"".join(read_until(f, b"f "))
    s.close()
    assert wait_for(lambda: "Disconnected: Logged out" in box.logtext()), box.logtext()


def test_done_while_hibernated_and_expunge_by_another_session(box):
    box.start()
    s, f = idle_client(box)
    wait_hibernated(box)
    # the client's own DONE wakes it with nothing to report
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"c OK Idle completed")
    s.sendall(b"d IDLE\r\n")
    assert f.readline().startswith(b"+ idling")
    wait_hibernated(box)
    # another session expunges message 2: the restored session tells
    # this client "2 EXPUNGE" (its own numbering), nothing else
    m = login(box)
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Deleted)")
    # the flag change wakes it (as it would wake an awake IDLE)
    line = f.readline()
    assert line.startswith(b"* 2 FETCH (FLAGS (") and b"\\Deleted" in line, line
    m.logout()
    wait_hibernated(box)
    m = login(box)
    m.select("INBOX")
    m.expunge()
    m.logout()
    assert f.readline() == b"* 2 EXPUNGE\r\n"
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"d OK Idle completed")
    s.sendall(b"e FETCH 1:* (UID)\r\n")
    got = read_until(f, b"e ")
    assert got[:2] == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n"], got
    s.sendall(b"g LOGOUT\r\n")
    read_until(f, b"g ")
    s.close()


def test_flag_change_while_hibernated_is_reported(box):
    box.start()
    s, f = idle_client(box)
    wait_hibernated(box)
    m = login(box)
    m.select("INBOX")
    m.store("3", "+FLAGS", "(\\Seen)")
    m.logout()
    line = f.readline()
    assert line.startswith(b"* 3 FETCH (FLAGS (") and b"\\Seen" in line, line
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"c OK Idle completed")
    s.close()


def _pss(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def test_many_clients_one_process_small_memory(box):
    box.start()
    assert wait_for(lambda: len(holding(box, 0)) == 2)
    before = {p: _pss(p) for p in hibernators(box)}
    n = 24
    clients = [idle_client(box) for _ in range(n)]
    hib = wait_hibernated(box, n)
    # what the one process for all of them grew by, per client, is a
    # small fraction of a session process's ~110 KiB: its slot, the record
    # and, once, the receive buffer and the slot array
    grown = _pss(hib) - before[hib]
    print("hibernate process PSS %d KiB, grown %d KiB for %d clients" % (_pss(hib), grown, n))
    import conftest
    if conftest.sanitized_build():
        # ASan's allocator keeps freed memory in its quarantine: only a
        # runaway is caught there
        assert grown < 16 * 1024, grown
    else:
        assert grown < 256 + 8 * n, grown
    deliver(box, "1700000010.M10P10.test", MSG % (10, 10))
    for s, f in clients:
        assert f.readline() == b"* 4 EXISTS\r\n"
    for s, f in clients:
        s.close()


def test_kill_hibernate_process_loses_no_mail(box):
    box.start()
    s, f = idle_client(box)
    hib = wait_hibernated(box)
    os.kill(hib, signal.SIGKILL)
    # the client is disconnected, the mail is all there, and the service
    # starts a new hibernate process that takes new clients
    assert f.readline() == b""
    s.close()
    assert wait_for(lambda: len(hibernators(box)) == 2 and hib not in hibernators(box), 30)
    m = login(box)
    m.select("INBOX")
    assert m.fetch("1:*", "(UID)")[1] == [b"1 (UID 1)", b"2 (UID 2)", b"3 (UID 3)"]
    m.logout()
    s, f = idle_client(box)
    wait_hibernated(box)
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"c OK Idle completed")
    s.close()


def test_forged_record_from_outside_is_refused(box):
    box.start()
    s, f = idle_client(box)
    wait_hibernated(box)
    names = [n for n in os.listdir(box.base) if n.startswith("imap-hibernate-imap-")]
    assert len(names) == 1, (os.listdir(box.base), box.logtext())
    path = os.path.join(box.base, names[0])
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c.settimeout(10)
    c.connect(path)
    record = (b"YUBIN-HIB 1\nuser\talice\nsession\tx\nrip\t127.0.0.1\nlip\t127.0.0.1\n"
              b"tag\tc\nmailbox\tINBOX\nuidvalidity\t1\nmodseq\t0\nuids\t1:3\nopts\t\n"
              b"in\t0\nout\t0\n")
    # refused before a record is read: the answer comes first
    reply = c.recv(100)
    assert reply.startswith(b"NO not a session"), reply
    other = socket.socket()
    try:
        c.sendmsg([record], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                              other.fileno().to_bytes(4, "little"))])
        assert c.recv(100) == b""
    except OSError:
        pass
    c.close()
    other.close()
    assert wait_for(lambda: "not a session of this service" in box.logtext())
    # the real client is untouched
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"c OK Idle completed")
    s.close()


def test_tls_client_hibernates_behind_its_login_process(box):
    """imaps: the TLS state stays in the login process (the proxy); the
    session's end of the proxy goes to the hibernate process"""
    box.start()
    raw = socket.create_connection(("127.0.0.1", box.imaps), timeout=20)
    s = tls_ctx().wrap_socket(raw, server_hostname="localhost")
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n")
    while not f.readline().startswith(b"+ idling"):
        pass
    wait_hibernated(box)
    deliver(box, "1700000011.M11P11.test", MSG % (11, 11))
    assert f.readline() == b"* 4 EXISTS\r\n"
    s.sendall(b"DONE\r\n")
    read_until(f, b"c OK Idle completed")
    s.sendall(b"d FETCH 4 (UID)\r\n")
    assert read_until(f, b"d ")[0] == b"* 4 FETCH (UID 4)\r\n"
    s.close()


def test_compress_client_stays_awake(box):
    """COMPRESS=DEFLATE: the deflate state is the session's, so it keeps
    its client"""
    import zlib
    box.start()
    s = socket.create_connection(("127.0.0.1", box.imap), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN alice secret\r\nb COMPRESS DEFLATE\r\n")
    read_until(f, b"b OK")
    comp = zlib.compressobj(wbits=-15)
    dec = zlib.decompressobj(wbits=-15)

    def send(data):
        s.sendall(comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH))

    def recv_until(marker):
        got = b""
        while marker not in got:
            chunk = s.recv(4096)
            assert chunk, got
            got += dec.decompress(chunk)
        return got
    send(b"c SELECT INBOX\r\n")
    recv_until(b"c OK")
    send(b"d IDLE\r\n")
    recv_until(b"+ idling")
    assert wait_for(lambda: len(sessions(box)) == 1)
    pid = sessions(box)[0]
    time.sleep(3)  # three hibernate timeouts: still the same process
    assert sessions(box) == [pid]
    deliver(box, "1700000012.M12P12.test", MSG % (12, 12))
    assert b"* 4 EXISTS" in recv_until(b"EXISTS")
    send(b"DONE\r\n")
    recv_until(b"d OK")
    s.close()


def test_reload_keeps_hibernated_clients(box):
    """doveadm reload: the old service ends and its sessions go on; its
    hibernate process keeps the clients it holds, takes no new ones, and
    ends with its last client; the new service has its own"""
    box.start()
    s, f = idle_client(box)
    old = wait_hibernated(box)
    assert box.doveadm("reload").returncode == 0
    # the old one is no longer the master's descendant (its service ended)
    assert wait_for(lambda: len(hibernators(box)) == 2 and old not in hibernators(box), 30), \
        (hibernators(box), box.logtext())
    assert _comm(old) == "imap-hibernate"
    # the new service's start (its sweep of ended sessions) keeps the old
    # process's client in doveadm who
    assert who_rows(box) == [(1, "imap", "(%d)" % old, "(127.0.0.1)")]
    deliver(box, "1700000013.M13P13.test", MSG % (13, 13))
    assert f.readline() == b"* 4 EXISTS\r\n"
    s.sendall(b"DONE\r\n")
    read_until(f, b"c OK Idle completed")
    s.sendall(b"d LOGOUT\r\n")
    read_until(f, b"d ")
    s.close()
    assert wait_for(lambda: who_rows(box) == [] and entries(box) == []), entries(box)
    # with its last client gone, the old one ends; new clients go to the new
    assert wait_for(lambda: _comm(old) != "imap-hibernate", 30)
    s, f = idle_client(box)
    wait_hibernated(box)
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"c OK Idle completed")
    s.close()


def test_hibernated_client_gets_keepalives(tmp_path, bindir):
    """imap_idle_notify_interval: the hibernate process sends IDLE's
    "* OK Still here" itself, and the client stays hibernated"""
    b = ImapBox(bindir, tmp_path, extra="imap_hibernate_timeout = 1 secs\n"
                "imap_idle_notify_interval = 2 secs\nverbose_proctitle = yes\n")
    try:
        b.start()
        s, f = idle_client(b)
        wait_hibernated(b)
        assert f.readline() == b"* OK Still here\r\n"
        assert f.readline() == b"* OK Still here\r\n"
        assert len(holding(b, 1)) == 1 and sessions(b) == []
        s.sendall(b"DONE\r\n")
        assert f.readline().startswith(b"c OK Idle completed")
        s.close()
    finally:
        b.cleanup()


def test_hibernation_with_the_login_pool(tmp_path, bindir):
    """with pooled login processes (service_count = 0) the session process
    is the service's child too: it hibernates, and a delivery brings it
    back with the client's view"""
    b = ImapBox(bindir, tmp_path, extra="imap_hibernate_timeout = 1 secs\n"
                "verbose_proctitle = yes\nmail_max_userip_connections = 100\n"
                "service imap-login {\n  service_count = 0\n  process_min_avail = 2\n}\n")
    try:
        for i in range(1, 4):
            b.put("170000000%d.M%dP1.test:2," % (i, i), MSG % (i, i), sub="cur")
        b.start()
        s, f = idle_client(b)
        hib = wait_hibernated(b)
        deliver(b, "1700000009.M9P9.test", MSG % (9, 9))
        assert f.readline() == b"* 4 EXISTS\r\n"
        assert wait_for(lambda: len(sessions(b)) == 1)
        assert _ppid(sessions(b)[0]) == hib
        s.sendall(b"DONE\r\nd UID FETCH 4 (UID)\r\ne LOGOUT\r\n")
        got = b"".join(read_until(f, b"e "))
        assert b"c OK Idle completed" in got and b"* 4 FETCH (UID 4)" in got, got
        s.close()
    finally:
        b.cleanup()


# --- hibernated clients in the session registry: doveadm who and kick,
# mail_max_userip_connections ---

def who_rows(b, user="alice"):
    """doveadm who's rows for user: (count, proto, pids, ips)"""
    r = b.doveadm("who")
    assert r.returncode == 0, r
    out = []
    for line in r.stdout.splitlines()[1:]:
        p = line.split(None, 3)
        if p and p[0] == user:
            rest = p[3]
            pids, ips = rest.rsplit(" (", 1)
            out.append((int(p[1]), p[2], pids.strip(), "(" + ips))
    return out


def add_user(b, user):
    """a second passwd-file user with its own Maildir, same uid"""
    home = os.path.join(b.root, "home", user)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(home, "Maildir", sub), exist_ok=True)
    with open(os.path.join(b.root, "users"), "a") as f:
        f.write("%s:{PLAIN}secret:%d:%d::%s::\n" % (user, b.uid, b.gid, home))
    b.chown()


def idle_client_as(b, user):
    s = socket.create_connection(("127.0.0.1", b.imap), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN %s secret\r\nb SELECT INBOX\r\nc IDLE\r\n" % user.encode())
    while True:
        line = f.readline()
        assert line, b.logtext()
        if line.startswith(b"+ idling"):
            return s, f


def entries(b):
    d = os.path.join(b.base, "sessions")
    return sorted(n for n in os.listdir(d) if not n.startswith("."))


def test_who_shows_hibernated_sessions_as_before(box):
    box.start()
    # two sessions of alice, both awake: one row, two connections
    s = socket.create_connection(("127.0.0.1", box.imap), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\n")
    read_until(f, b"b OK")
    m = login(box, "plain")
    assert wait_for(lambda: len(sessions(box)) == 2)
    awake = sorted(sessions(box))
    before = who_rows(box)
    assert len(before) == 1 and before[0][0] == 2 and before[0][1] == "imap", before
    assert before[0][3] == "(127.0.0.1)"
    assert sorted(int(p) for p in before[0][2].strip("()").split()) == awake
    # one goes to sleep: still one row of two connections, its pid now
    # the hibernate process's (as Dovecot shows imap-hibernate's)
    s.sendall(b"c IDLE\r\n")
    assert f.readline().startswith(b"+ idling")
    assert wait_for(lambda: len(holding(box, 1)) == 1 and len(sessions(box)) == 1, 30)
    hib = holding(box, 1)[0]
    after = who_rows(box)
    assert len(after) == 1 and after[0][0] == 2 and after[0][1] == "imap", after
    assert after[0][3] == "(127.0.0.1)"
    assert sorted(int(p) for p in after[0][2].strip("()").split()) == \
        sorted([hib] + sessions(box)), (after, hib, sessions(box))
    assert [n for n in entries(box) if n.startswith("%d." % hib)], entries(box)
    # the awake one hibernates too: one pid for both, two connections
    m.select("INBOX")
    m.send(b"x IDLE\r\n")
    assert m.readline().startswith(b"+ idling")
    assert wait_for(lambda: len(holding(box, 2)) == 1 and sessions(box) == [], 30)
    both = who_rows(box)
    assert both == [(2, "imap", "(%d)" % hib, "(127.0.0.1)")], both
    # woken (DONE): the restored session has the entry back under its pid
    s.sendall(b"DONE\r\n")
    assert f.readline().startswith(b"c OK Idle completed")
    assert wait_for(lambda: len(sessions(box)) == 1)
    woke = who_rows(box)
    assert len(woke) == 1 and woke[0][:2] == (2, "imap"), woke
    assert sorted(int(p) for p in woke[0][2].strip("()").split()) == \
        sorted([hib, sessions(box)[0]]), (woke, hib, sessions(box))
    assert str(sessions(box)[0]) in entries(box)
    # a hibernated client that goes away takes its entry with it
    m.shutdown()
    assert wait_for(lambda: who_rows(box) == [(1, "imap", "(%d)" % sessions(box)[0],
                                               "(127.0.0.1)")]), who_rows(box)
    assert not [n for n in entries(box) if "." in n], entries(box)
    assert wait_for(lambda: "Disconnected: Connection closed (hibernated)" in box.logtext())
    s.sendall(b"d LOGOUT\r\n")
    read_until(f, b"d OK")
    s.close()
    assert wait_for(lambda: who_rows(box) == [] and entries(box) == []), entries(box)


def test_kick_of_a_hibernated_user_closes_its_clients_only(box):
    add_user(box, "bob")
    box.start()
    a1, fa1 = idle_client(box)
    a2, fa2 = idle_client(box)
    b1, fb1 = idle_client_as(box, "bob")
    hib = wait_hibernated(box, 3)
    # and one of alice's sessions awake (selected, not in IDLE)
    a3 = socket.create_connection(("127.0.0.1", box.imap), timeout=20)
    fa3 = a3.makefile("rb")
    assert fa3.readline().startswith(b"* OK")
    a3.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\n")
    read_until(fa3, b"b OK")
    assert wait_for(lambda: len(sessions(box)) == 1)
    assert who_rows(box) == [(3, "imap", "(%d %d)" % tuple(sorted([hib, sessions(box)[0]],
                                                                  key=str)),
                              "(127.0.0.1)")], (who_rows(box), hib, sessions(box))
    assert who_rows(box, "bob") == [(1, "imap", "(%d)" % hib, "(127.0.0.1)")]
    kick = box.doveadm("kick", "alice")
    assert kick.returncode == 0 and kick.stdout.strip() == "alice kicked", kick
    # alice's hibernated connections close as her awake session's does
    # (no BYE: its process ends); bob's stays hibernated in the same process
    assert fa3.readline() == b""
    assert fa1.readline() == b"" and fa2.readline() == b""
    assert wait_for(lambda: who_rows(box) == [])
    assert who_rows(box, "bob") == [(1, "imap", "(%d)" % hib, "(127.0.0.1)")]
    assert wait_for(lambda: holding(box, 1) == [hib]), box.logtext()
    assert box.logtext().count("imap(alice)") and \
        box.logtext().count("Disconnected: Kicked (hibernated)") == 2, box.logtext()
    b1.sendall(b"DONE\r\n")
    assert fb1.readline().startswith(b"c OK Idle completed")
    # kicking nobody hibernated or awake says so
    assert box.doveadm("kick", "alice").stdout.strip() == "no users kicked"
    kick = box.doveadm("kick", "bob")
    assert kick.stdout.strip() == "bob kicked", kick
    assert fb1.readline() == b""
    for s in (a1, a2, a3, b1):
        s.close()
    assert wait_for(lambda: entries(box) == []), entries(box)


def test_kick_of_a_hibernated_tls_client(box):
    """imaps: the hibernate process holds the proxy's socketpair; the kick
    closes it and the login process ends the TLS connection"""
    box.start()
    raw = socket.create_connection(("127.0.0.1", box.imaps), timeout=20)
    s = tls_ctx().wrap_socket(raw, server_hostname="localhost")
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc IDLE\r\n")
    while not f.readline().startswith(b"+ idling"):
        pass
    hib = wait_hibernated(box)
    assert who_rows(box) == [(1, "imap", "(%d)" % hib, "(127.0.0.1)")]
    assert box.doveadm("kick", "127.0.0.1").stdout.strip() == "alice kicked"
    try:
        assert f.readline() == b""
    except (ssl.SSLError, OSError):
        pass	# an unclean TLS end is a closed connection too
    assert wait_for(lambda: who_rows(box) == [] and entries(box) == []), entries(box)
    assert wait_for(lambda: len(holding(box, 0)) == 2)
    s.close()


def _limited(bindir, tmp_path, limit):
    b = ImapBox(bindir, tmp_path, extra="imap_hibernate_timeout = 1 secs\n"
                "verbose_proctitle = yes\nmail_max_userip_connections = %d\n" % limit)
    b.put("1700000001.M1P1.test:2,", MSG % (1, 1), sub="cur")
    return b


def refused(b):
    m = imaplib.IMAP4("127.0.0.1", b.imap, timeout=20)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="Maximum number of connections from "
                           "user\\+IP exceeded"):
            m.login("alice", "secret")
    finally:
        m.shutdown()


def test_userip_limit_counts_hibernated_sessions(tmp_path, bindir):
    b = _limited(bindir, tmp_path, 2)
    try:
        b.start()
        s1, f1 = idle_client(b)
        s2, f2 = idle_client(b)
        wait_hibernated(b, 2)
        # both asleep: a third login is over the limit
        refused(b)
        # waking one is no new login: it is served
        s1.sendall(b"DONE\r\nd NOOP\r\n")
        assert f1.readline().startswith(b"c OK Idle completed")
        assert f1.readline().startswith(b"d OK")
        refused(b)
        # one gone: room for one
        s2.shutdown(socket.SHUT_RDWR)
        s2.close()
        assert wait_for(lambda: len(holding(b, 0)) == 2 and who_rows(b)[0][0] == 1), \
            who_rows(b)
        m = login(b, "plain")
        refused(b)
        m.logout()
        s1.close()
    finally:
        b.cleanup()


def test_kill_of_the_hibernate_process_leaves_no_entry_counted(tmp_path, bindir):
    b = _limited(bindir, tmp_path, 1)
    try:
        b.start()
        s, f = idle_client(b)
        hib = wait_hibernated(b)
        refused(b)
        os.kill(hib, signal.SIGKILL)
        assert f.readline() == b""
        s.close()
        assert wait_for(lambda: who_rows(b) == [] and entries(b) == []), entries(b)
        # under the limit of 1 again: a login is served
        m = login(b, "plain")
        m.select("INBOX")
        m.logout()
    finally:
        b.cleanup()
