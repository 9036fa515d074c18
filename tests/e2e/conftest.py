"""Shared fixtures for yubin's end-to-end tests.

The tests run the real binary (YUBIN_BIN, the build's bin/ directory, set by
`make e2e`) and compare it with Debian's real Postfix and Dovecot tools where
those are installed (scripts/bootstrap installs them; their services are
never started)."""
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _bin_dir():
    d = os.environ.get("YUBIN_BIN") or os.path.join(ROOT, "build", "bin")
    if not os.path.exists(os.path.join(d, "yubin")):
        pytest.exit("yubin binary not found in %s (run make build)" % d, 2)
    return d


@pytest.fixture(scope="session")
def bindir():
    return _bin_dir()


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r)" % (self.rc, self.out[:2000], self.err[:2000])


@pytest.fixture(scope="session")
def run(bindir):
    """run("postconf", "-n", env={...}, stdin=...) runs a yubin command by
    its multi-call name and returns Result(rc, out, err)."""
    def _run(cmd, *args, env=None, stdin=None, timeout=60, cwd=None):
        e = dict(os.environ)
        e.pop("MAIL_CONFIG", None)
        if env:
            e.update(env)
        p = subprocess.run([os.path.join(bindir, cmd)] + list(args), input=stdin,
                           capture_output=True, text=True, env=e, timeout=timeout,
                           cwd=cwd, errors="replace")
        return Result(p)
    return _run


def real_tool(name):
    """Path of Debian's real tool (postconf, doveconf), or skip when absent.
    Under CI scripts/bootstrap installs them, so a skip there is a defect."""
    for d in ("/usr/sbin", "/usr/bin"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    if os.environ.get("CI"):
        pytest.fail("%s is not installed; scripts/bootstrap should have done it" % name)
    pytest.skip("%s is not installed" % name)


@pytest.fixture
def run_real():
    """run_real("postconf", "-c", dir, "-n") runs Debian's real tool."""
    def _run(cmd, *args, env=None, timeout=60):
        path = real_tool(cmd)
        e = dict(os.environ)
        if env:
            e.update(env)
        p = subprocess.run([path] + list(args), capture_output=True, text=True,
                           env=e, timeout=timeout, errors="replace")
        return Result(p)
    return _run


@pytest.fixture
def confdir(tmp_path):
    """An empty instance directory."""
    d = tmp_path / "etc"
    d.mkdir()
    return d


# every port `yubin dev --port-base N` listens on, as offsets from N
DEV_PORT_OFFSETS = (24, 25, 110, 143, 465, 587, 993, 995, 4190)


def dev_port_base():
    """A port base for `yubin dev` whose every port is free now and below
    Linux's ephemeral range (32768 and up by default), so that no client
    connection of this or another test can be holding one of them."""
    import random
    import socket
    for _ in range(100):
        base = random.randrange(20000, 32768 - max(DEV_PORT_OFFSETS), 100)
        ok = True
        for off in DEV_PORT_OFFSETS:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", base + off))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise RuntimeError("no free port base")


def account_tool(*argv, check=False):
    """Run useradd/userdel/groupdel: one at a time across the parallel test
    workers (the shadow tools refuse to run while another holds
    /etc/passwd's lock), retried for a while if the lock is held anyway
    (exit 10 = cannot lock /etc/group, 1 = cannot update password file)."""
    import fcntl
    import time
    with open("/tmp/yubin-tests-accounts.lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            for _ in range(50):
                r = subprocess.run(list(argv), capture_output=True)
                if r.returncode == 0 or b"lock" not in r.stderr:
                    break
                time.sleep(0.1)
        finally:
            fcntl.flock(lk, fcntl.LOCK_UN)
    if check and r.returncode != 0:
        raise subprocess.CalledProcessError(r.returncode, argv, r.stdout, r.stderr)
    return r


def fill_filesystem(path, leave):
    """fill the file system of directory path with one file, then give
    back `leave` bytes; returns the file (unlink it to free the space)"""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"x" * 4096) > 0:
            pass
    except OSError:
        pass
    os.close(fd)
    os.truncate(filler, max(0, os.path.getsize(filler) - leave))
    return filler


# Ports for test servers come from below the kernel's ephemeral range
# (32768-60999 on Debian), so that no client connection made meanwhile can
# take one between the check here and the server's bind; each pytest-xdist
# worker has its own slice and walks it in order, so workers never hand out
# the same port and a process does not reuse one soon. (dev_port_base
# takes its ports from 20000 up.)
_PORT_LOW, _PORT_HIGH = 10000, 20000
_port_next = None


def _port_slice():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    try:
        n = int(worker.lstrip("gw"))
    except ValueError:
        n = 0
    count = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    size = (_PORT_HIGH - _PORT_LOW) // max(count, 8)
    low = _PORT_LOW + (n % max(count, 8)) * size
    return low, low + size


def _port_is_free(port, hosts):
    import socket
    for h in hosts:
        family = socket.AF_INET6 if ":" in h else socket.AF_INET
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(family, kind)
            try:
                s.bind((h, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def free_port(*hosts):
    """A port free for TCP and UDP on every host (default 127.0.0.1)."""
    global _port_next
    hosts = hosts or ("127.0.0.1",)
    low, high = _port_slice()
    if _port_next is None or not low <= _port_next < high:
        _port_next = low + os.getpid() % (high - low)
    for _ in range(high - low):
        port = _port_next
        _port_next = _port_next + 1 if _port_next + 1 < high else low
        if _port_is_free(port, hosts):
            return port
    raise RuntimeError("no free port in %d-%d" % (low, high))


class Instance:
    """A yubin instance in a temporary directory: main.cf and master.cf
    written from the given text, started with `postfix -c DIR start` and
    stopped (then killed if need be) by the PIDs whose command line names it."""

    def __init__(self, run, root, main_extra="", master_extra="", smtpd_args=""):
        import grp
        import pwd
        self.run = run
        self.etc = str(root / "etc")
        self.spool = str(root / "spool")
        self.log = str(root / "maillog")
        self.port = free_port()
        os.makedirs(self.etc)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("compatibility_level = 3.6\nmyhostname = mx.test.example\n"
                    "mydestination = test.example, localhost\nmynetworks = 127.0.0.0/8\n"
                    "queue_directory = %s\ndata_directory = %s/data\nmaillog_file = %s\n"
                    "mail_owner = %s\nsetgid_group = %s\nalias_maps =\n"
                    "local_recipient_maps =\nlocal_transport = discard:local\n"
                    "default_transport = discard:remote\n"
                    "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n"
                    "queue_run_delay = 1s\n"
                    % (self.spool, self.spool, self.log, pwd.getpwuid(os.getuid())[0],
                       grp.getgrgid(os.getgid())[0]))
            f.write(main_extra)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("127.0.0.1:%d inet n - n - - smtpd%s\n"
                    "qmgr      unix  n       -       n       300     1       qmgr\n"
                    "discard   unix  -       -       n       -       -       discard\n"
                    "error     unix  -       -       n       -       -       error\n"
                    % (self.port, (" " + smtpd_args) if smtpd_args else ""))
            f.write(master_extra)

    def start(self):
        r = self.run("postfix", "-c", self.etc, "start", timeout=60)
        assert r.rc == 0, r

    def pids(self):
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if self.etc.encode() in argv and os.path.basename(argv[0]) in (
                    b"yubin", b"postfix", b"master", b"smtpd", b"qmgr", b"pickup"):
                pids.append(int(d))
        return pids

    def stop(self):
        import signal
        import time
        self.run("postfix", "-c", self.etc, "stop", timeout=90)
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def maillog(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, count=1, timeout=60):
        import re
        import time
        end = time.time() + timeout
        while time.time() < end:
            if len(re.findall(pattern, self.maillog(), re.M)) >= count:
                return True
            time.sleep(0.1)
        return False


@pytest.fixture
def instance_factory(run, tmp_path):
    made = []

    def make(**kw):
        inst = Instance(run, tmp_path / ("i%d" % len(made)), **kw)
        made.append(inst)
        return inst
    yield make
    for inst in made:
        inst.stop()


def sanitized_build():
    """True when YUBIN_BIN holds an AddressSanitizer build (its allocator
    keeps freed memory in a quarantine, so RSS bounds must be looser)."""
    path = os.path.join(_bin_dir(), "yubin")
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


@pytest.fixture
def dns_server():
    """A DNS server on a random loopback port (tests/e2e/dns_server.py):
    dns_server.set_zone(text), dns_server.misbehave(name, how),
    dns_server.address for yubin_dns_servers."""
    import sys
    sys.path.insert(0, HERE)
    from dns_server import DNSServer
    srv = DNSServer()
    yield srv
    srv.stop()
