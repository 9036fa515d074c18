"""doveadm pw: yubin's hashes verify with Debian's real doveadm and the real
one's verify with yubin's, scheme by scheme; options, messages and exit
codes as Dovecot 2.3's."""
import subprocess

import pytest

from conftest import real_tool

SCHEMES = ["CRYPT", "PLAIN", "CLEAR", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT",
           "BLF-CRYPT", "SSHA256", "SSHA512", "SSHA256.hex", "SSHA512.b64", "CRAM-MD5",
           "CRAM-MD5.b64", "SCRAM-SHA-256", "ARGON2ID", "SHA256", "SHA512", "PLAIN-MD5"]
PASSWORD = "p\u00e4ss w:rd"


def real(*args):
    p = subprocess.run([real_tool("doveadm")] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("scheme", SCHEMES)
def test_yubin_hash_verifies_with_real_doveadm(run, scheme):
    r = run("doveadm", "pw", "-s", scheme, "-p", PASSWORD)
    assert r.rc == 0, r
    h = r.out.strip()
    assert h.startswith("{" + scheme.upper() + "}")
    rc, out, err = real("pw", "-t", h, "-p", PASSWORD)
    assert rc == 0, (h, err)
    assert out.strip() == h + " (verified)"
    rc, out, err = real("pw", "-t", h, "-p", PASSWORD + "x")
    assert rc != 0 and "Password mismatch" in err


@pytest.mark.parametrize("scheme", SCHEMES)
def test_real_doveadm_hash_verifies_with_yubin(run, scheme):
    rc, out, err = real("pw", "-s", scheme, "-p", PASSWORD)
    assert rc == 0, err
    h = out.strip()
    r = run("doveadm", "pw", "-t", h, "-p", PASSWORD)
    assert r.rc == 0, r
    assert r.out.strip() == h + " (verified)"
    r = run("doveadm", "pw", "-t", h, "-p", "not " + PASSWORD)
    assert r.rc == 75
    assert "Fatal: reverse password verification check failed: Password mismatch" in r.err


def test_default_scheme_is_the_real_default(run):
    rc, out, err = real("pw", "-p", "x")
    r = run("doveadm", "pw", "-p", "x")
    assert r.rc == 0
    real_prefix = out.strip()[:len("{CRYPT}$2y$05$")]
    assert r.out.strip().startswith(real_prefix), (out, r.out)


def test_rounds_as_real(run):
    r = run("doveadm", "pw", "-s", "SHA512-CRYPT", "-r", "10000", "-p", "x")
    assert r.out.startswith("{SHA512-CRYPT}$6$rounds=10000$"), r
    r = run("doveadm", "pw", "-s", "BLF-CRYPT", "-r", "8", "-p", "x")
    assert r.out.startswith("{BLF-CRYPT}$2y$08$"), r


@pytest.mark.parametrize("args,msg", [
    (["-s", "FOO", "-p", "x"], "Fatal: Unknown scheme: FOO"),
    (["-t", "{FOO}abc", "-p", "x"], "Fatal: reverse decode check failed: Unknown scheme"),
    (["-t", "abc", "-p", "x"], "Fatal: Missing {scheme} prefix from hash"),
])
def test_errors_as_real(run, args, msg):
    rc, out, err = real("pw", *args)
    assert rc == 75 and msg in err
    r = run("doveadm", "pw", *args)
    assert r.rc == 75 and msg in r.err, r


def test_verify_flag_and_usage(run):
    r = run("doveadm", "pw", "-s", "SSHA512", "-p", "x", "-V")
    assert r.rc == 0 and r.out.strip().endswith(" (verified)")
    r = run("doveadm", "pw", "-x")
    assert r.rc == 64
    r = run("doveadm", "pw", "-l")
    assert "SHA512-CRYPT" in r.out and "ARGON2ID" in r.out
