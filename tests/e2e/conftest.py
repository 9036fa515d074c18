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
