"""The multi-call binary: names, help, install."""
import os
import subprocess

import pytest

NAMES = ["postfix", "postconf", "postqueue", "postsuper", "postmap", "postalias",
         "sendmail", "mailq", "newaliases", "doveadm", "doveconf"]


def test_links_exist_and_dispatch(bindir):
    for name in NAMES:
        p = os.path.join(bindir, name)
        assert os.path.islink(p) and os.readlink(p) == "yubin", name


def test_help_lists_every_command(run):
    r = run("yubin", "help")
    assert r.rc == 0
    for name in NAMES + ["dev"]:
        assert "\n  %s " % name in r.out, name


def test_yubin_cmd_equals_cmd(run, confdir):
    (confdir / "main.cf").write_text("relayhost = [x]:25\n")
    (confdir / "master.cf").write_text("")
    a = run("postconf", "-c", str(confdir), "-n")
    b = run("yubin", "postconf", "-c", str(confdir), "-n")
    assert a.rc == b.rc == 0 and a.out == b.out


def test_unknown_command_fails(run):
    r = run("yubin", "no-such-command")
    assert r.rc != 0 and "unknown command" in r.err


def test_make_install_puts_links_under_prefix(bindir, tmp_path):
    build = os.path.dirname(bindir)
    if not os.path.exists(os.path.join(build, "cmake_install.cmake")):
        pytest.skip("not a CMake build directory")
    p = subprocess.run(["cmake", "--install", build, "--prefix", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    sbin = tmp_path / "sbin"
    assert (sbin / "yubin").exists()
    for name in NAMES:
        assert os.readlink(sbin / name) == "yubin", name
    r = subprocess.run([str(sbin / "postconf"), "-d", "mail_name"], capture_output=True,
                       text=True, env={"MAIL_CONFIG": str(tmp_path)}, timeout=30)
    # No main.cf in tmp_path: -d still needs the file, as Postfix's does.
    assert r.returncode != 0 and "main.cf" in r.stderr
