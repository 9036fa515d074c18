"""The retrieval half's master (issue 6, item 1): `dovecot -c FILE` starts
the auth service and one POP3 service per listener of dovecot.conf, writes
base_dir/master.pid, refuses a second start, `doveadm reload` re-reads the
configuration (new listeners, new certificates) without dropping an
established session, `dovecot stop` / `doveadm stop` stop everything."""
import os
import poplib
import ssl

from pop3_fixtures import Retrieval, listening, wait_for


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def test_start_twice_reload_keeps_sessions_stop(bindir, tmp_path):
    r = Retrieval(bindir, tmp_path / "r")
    r.put("1700000001.M1P1.test", b"Subject: x\n\nx\n")
    try:
        r.start()
        pid = r.master_pid()
        assert pid > 0
        again = r.yubin("dovecot", "-c", r.conf)
        assert again.returncode != 0 and "already running" in again.stderr
        p = poplib.POP3_SSL("127.0.0.1", r.pop3s, context=ctx(), timeout=20)
        p.user("alice")
        p.pass_("secret")
        # a new certificate and a new greeting, taken by reload
        with open(r.conf, "a") as f:
            f.write("login_greeting = Reloaded ready.\n")
        assert r.doveadm("reload").returncode == 0
        assert wait_for(lambda: _greeting(r.pop3) == b"+OK Reloaded ready.")
        # the session from before the reload goes on
        assert p.stat()[0] == 1
        p.quit()
        assert r.master_pid() == pid
        assert r.doveadm("stop").returncode == 0
        assert wait_for(lambda: not os.path.exists("/proc/%d" % pid))
        assert not listening(r.pop3) and not listening(r.pop3s)
        assert r.yubin("dovecot", "-c", r.conf, "stop").returncode != 0
    finally:
        r.cleanup()


def _greeting(port):
    try:
        p = poplib.POP3("127.0.0.1", port, timeout=5)
        w = p.getwelcome()
        p.quit()
        return w
    except (OSError, poplib.error_proto):
        return b""


def test_dash_n_prints_the_configuration(bindir, tmp_path):
    r = Retrieval(bindir, tmp_path / "r")
    try:
        out = r.yubin("dovecot", "-c", r.conf, "-n")
        assert out.returncode == 0, out
        assert "protocols = pop3" in out.stdout
    finally:
        r.cleanup()


def _children(pid):
    """pids whose parent is pid"""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid and fields[0] != "Z":
                    out.append(int(d))
            except OSError:
                pass
    return out


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_services_stop_when_the_master_is_killed(bindir, tmp_path):
    """kill -9 of the master leaves no auth or pop3 service behind (they
    would keep the ports and sockets), and a new start works at once."""
    import signal
    r = Retrieval(bindir, tmp_path / "r")
    try:
        r.start()
        pid = r.master_pid()
        assert wait_for(lambda: len(_children(pid)) >= 2)
        kids = _children(pid)
        os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: not any(_alive(k) for k in kids), 20)
        assert wait_for(lambda: not listening(r.pop3) and not listening(r.pop3s), 20)
        r.start()
        assert _greeting(r.pop3).startswith(b"+OK")
    finally:
        r.cleanup()
