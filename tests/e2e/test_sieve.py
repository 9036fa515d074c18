"""Sieve: yubin's sieve-test and sievec side by side with Debian's
Pigeonhole (dovecot-sieve) on the same scripts and messages, and the
testsuite tool's pass/fail reporting.

Pigeonhole's tools refuse to run as root (mail_uid), so under root they run
as nobody in a directory nobody owns. The scripts and messages are in
tests/e2e/sieve/; scripts included with :personal are found in the script's
directory by yubin and in ~/sieve by Pigeonhole, so both get a copy."""
import os
import pwd
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import real_tool

HERE = os.path.dirname(os.path.abspath(__file__))
SIEVE = os.path.join(HERE, "sieve")
SCRIPTS = sorted(f[:-6] for f in os.listdir(os.path.join(SIEVE, "scripts"))
                 if f.endswith(".sieve") and not f.startswith("include_sub"))
MESSAGES = sorted(os.listdir(os.path.join(SIEVE, "messages")))

# Deliberate differences (docs/compat.md): none in the printed actions of
# these scripts; the error texts carry a column that Pigeonhole omits.
COLUMN = re.compile(r" \(column \d+\)\.$")


@pytest.fixture
def wd():
    """A scratch directory nobody can reach (pytest's tmp_path is 0700 root)."""
    import pathlib
    top = tempfile.mkdtemp(prefix="yubin-sieve-")
    os.chmod(top, 0o755)
    yield pathlib.Path(top)
    shutil.rmtree(top, ignore_errors=True)


def _workdir(tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    (d / "sieve").mkdir()
    for f in os.listdir(os.path.join(SIEVE, "scripts")):
        shutil.copy(os.path.join(SIEVE, "scripts", f), d / f)
        shutil.copy(os.path.join(SIEVE, "scripts", f), d / "sieve" / f)
    for f in MESSAGES:
        shutil.copy(os.path.join(SIEVE, "messages", f), d / f)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        for root, dirs, files in os.walk(tmp_path):
            for n in dirs + files:
                os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
        os.chown(tmp_path, pw.pw_uid, pw.pw_gid)
    return d


def _pigeonhole(tool, args, cwd):
    env = {"PATH": "/usr/bin:/bin:/usr/sbin", "HOME": str(cwd), "TZ": "UTC"}
    kw = {}
    if os.geteuid() == 0:
        kw = {"user": "nobody", "group": pwd.getpwnam("nobody").pw_gid}
    return subprocess.run([tool] + args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, **kw)


def _yubin(bindir, tool, args, cwd):
    env = dict(os.environ, TZ="UTC", HOME=str(cwd))
    return subprocess.run([os.path.join(bindir, tool)] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def pigeonhole_sieve_test():
    return real_tool("sieve-test")


@pytest.mark.parametrize("msg", MESSAGES)
@pytest.mark.parametrize("script", SCRIPTS)
def test_sieve_test_prints_the_same_actions_as_pigeonhole(bindir, wd, script, msg,
                                                          pigeonhole_sieve_test):
    d = _workdir(wd)
    args = [script + ".sieve", msg]
    p = _pigeonhole(pigeonhole_sieve_test, args, d)
    y = _yubin(bindir, "sieve-test", args, d)
    assert p.returncode == 0, p.stderr
    assert y.returncode == p.returncode, (y.stderr, p.stderr)
    assert y.stdout == p.stdout, y.stderr
    assert "final result: success" in y.stderr


ENVELOPE = [
    ["-f", "someone@example.net", "-r", "me+work@example.com"],
    ["-f", "someone@example.net", "-r", "rcpt@example.com", "-a", "orig@example.com"],
]


@pytest.mark.parametrize("args", ENVELOPE)
def test_envelope_options_as_pigeonhole(bindir, wd, args, pigeonhole_sieve_test):
    d = _workdir(wd)
    (d / "env.sieve").write_text(
        'require ["envelope", "variables", "fileinto", "subaddress"];\n'
        'if envelope :matches "from" "*" { fileinto "from-${1}"; }\n'
        'if envelope :matches "to" "*" { fileinto "to-${1}"; }\n'
        'if envelope :detail "to" "work" { fileinto "detail"; }\n')
    if os.geteuid() == 0:
        os.chown(d / "env.sieve", pwd.getpwnam("nobody").pw_uid, -1)
    p = _pigeonhole(pigeonhole_sieve_test, args + ["env.sieve", "plain.eml"], d)
    y = _yubin(bindir, "sieve-test", args + ["env.sieve", "plain.eml"], d)
    assert p.returncode == 0, p.stderr
    assert y.stdout == p.stdout, (y.stderr, p.stdout)


# Run-time errors: Pigeonhole prints the error and keeps the message;
# the exit code is 1 for both.
RUNTIME_ERRORS = {
    "conflict": 'require "reject";\nkeep;\nreject "no";\n',
    "redirects": 'redirect "a@b.c";\nredirect "b@b.c";\nredirect "c@b.c";\n'
                 'redirect "d@b.c";\nredirect "e@b.c";\n',
    "vacation-after-reject": 'require ["reject","vacation"];\nreject "no";\nvacation "x";\n',
    "duplicate-reject": 'require "reject";\nreject "a";\nreject "b";\n',
}


@pytest.mark.parametrize("name", sorted(RUNTIME_ERRORS))
def test_runtime_errors_as_pigeonhole(bindir, wd, name, pigeonhole_sieve_test):
    d = _workdir(wd)
    (d / "s.sieve").write_text(RUNTIME_ERRORS[name])
    if os.geteuid() == 0:
        os.chown(d / "s.sieve", pwd.getpwnam("nobody").pw_uid, -1)
    p = _pigeonhole(pigeonhole_sieve_test, ["s.sieve", "plain.eml"], d)
    y = _yubin(bindir, "sieve-test", ["s.sieve", "plain.eml"], d)
    assert p.returncode == 1
    assert y.returncode == 1
    perr = [l for l in p.stderr.splitlines() if l.startswith("s: line")]
    yerr = [l for l in y.stderr.splitlines() if l.startswith("s: line")]
    assert perr and yerr == perr
    assert "resolved with successful implicit keep" in y.stderr


# Broken scripts: sievec names the line as Pigeonhole's does (yubin adds the
# column); both exit 89 and print "validation failed" or "parse failed".
BROKEN = {
    "unknown-command": "keep;\nfoo;\n",
    "missing-arg": 'require "fileinto";\nif header :is "subject" {\n  fileinto "x";\n}\n',
    "unknown-capability": 'require "nosuch";\nkeep;\n',
    "unterminated-block": 'if header :is "subject" "x" {\n',
    "missing-semicolon": "keep\n",
    "unterminated-string": 'keep;\n"abc\n',
    "unknown-tag": 'if header :frob "a" "b" { keep; }\n',
    "require-later": 'keep;\nrequire "fileinto";\n',
    "elsif-alone": 'elsif true { keep; }\n',
    "size-without-tag": 'if size 100 { keep; }\n',
    "unterminated-comment": 'keep;\n/* unterminated\n',
    "stray-brace": 'keep; }\n',
    "bad-regex": 'require "regex";\nif header :regex "a" "(" { keep; }\n',
    "bad-relational": 'require "relational";\nif header :value "xx" "a" "b" { keep; }\n',
    "two-match-types": 'if header :is :contains "a" "b" { keep; }\n',
    "bad-redirect": 'redirect "not an address";\n',
    "anyof-single": 'if anyof true { keep; }\n',
    "else-twice": 'if true { keep; } else { discard; } else { stop; }\n',
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_sievec_errors_name_the_line_like_pigeonhole(bindir, wd, name):
    real = real_tool("sievec")
    d = _workdir(wd)
    (d / "s.sieve").write_text(BROKEN[name])
    if os.geteuid() == 0:
        os.chown(d / "s.sieve", pwd.getpwnam("nobody").pw_uid, -1)
    p = _pigeonhole(real, ["s.sieve"], d)
    y = _yubin(bindir, "sievec", ["s.sieve"], d)
    assert p.returncode != 0 and y.returncode == p.returncode, (p.stderr, y.stderr)
    plines = [l for l in p.stderr.splitlines() if l.startswith("s: ")]
    ylines = [l for l in y.stderr.splitlines() if l.startswith("s: ")]
    # every located yubin error carries a column
    for l in ylines:
        if l.startswith("s: line") and "unknown Sieve capability" not in l:
            assert COLUMN.search(l), l
    # the same lines are blamed, and the same final verdict
    pl = [re.match(r"s: (line \d+: )?error", l).group(0) for l in plines]
    yl = [re.match(r"s: (line \d+: )?error", l).group(0) for l in ylines]
    assert yl[:1] == pl[:1], (p.stderr, y.stderr)
    assert plines[-1] == ylines[-1]


def test_sievec_accepts_every_example_script(bindir):
    for d in (os.path.join(SIEVE, "scripts"), os.path.join(HERE, "..", "sieve")):
        for f in sorted(os.listdir(d)):
            if not f.endswith(".sieve") or f.startswith(("errors-", "regex-b", "ereject",
                                                        "vacation-seconds", "editheader",
                                                        "special-use")):
                continue
            r = _yubin(os.environ.get("YUBIN_BIN", bindir), "sievec", [os.path.join(d, f)], d)
            assert r.returncode == 0, (f, r.stderr)


def test_testsuite_reports_failures_and_exits_nonzero(bindir):
    r = _yubin(bindir, "sieve-testsuite",
               [os.path.join(SIEVE, "svtest-fail", "fails.svtest")], SIEVE)
    assert r.returncode == 1
    assert "Test 'passes' SUCCEEDED" in r.stdout
    assert "Test 'fails on purpose' FAILED: subject differs" in r.stdout
    assert re.search(r"Test 'run-time error fails the test' FAILED: .*redirect actions exceeds",
                     r.stdout)
    assert "FAIL: 3 of 4 tests failed" in r.stdout


def test_testsuite_runs_the_conformance_files(bindir):
    d = os.path.join(HERE, "..", "sieve")
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".svtest"))
    assert len(files) >= 20
    r = _yubin(bindir, "sieve-testsuite", files, d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAILED" not in r.stdout
    assert r.stdout.count("SUCCEEDED") >= 60


def test_hostile_patterns_finish(bindir, tmp_path):
    """:matches with many stars on a long header, and a deep include loop,
    end quickly (bounded time) instead of hanging."""
    d = tmp_path
    star = "*a" * 200 + "b"
    (d / "m.eml").write_text("Subject: " + "a" * 50000 + "\n\nx\n")
    (d / "s.sieve").write_text('if header :matches "subject" "%s" { discard; }\n' % star)
    r = _yubin(bindir, "sieve-test", ["s.sieve", "m.eml"], d)
    assert r.returncode == 0, r.stderr
    assert "Implicit keep:\n\n * store message in folder: INBOX" in r.stdout
    (d / "loop.sieve").write_text('require "include";\ninclude "loop";\n')
    r = _yubin(bindir, "sieve-test", ["loop.sieve", "m.eml"], d)
    assert r.returncode == 1
    assert "nesting depth exceeds the limit" in r.stderr


@pytest.mark.parametrize("seed", range(1, 61))
def test_random_scripts_give_pigeonholes_actions(bindir, wd, seed, pigeonhole_sieve_test):
    """Generated scripts (tests/e2e/sieve/gen_scripts.py, fixed seeds) over
    the base language and common extensions: the same actions as Pigeonhole
    on every message of the set."""
    import sys
    sys.path.insert(0, SIEVE)
    import gen_scripts
    d = _workdir(wd)
    (d / "g.sieve").write_text(gen_scripts.script(seed))
    if os.geteuid() == 0:
        os.chown(d / "g.sieve", pwd.getpwnam("nobody").pw_uid, -1)
    for msg in MESSAGES:
        p = _pigeonhole(pigeonhole_sieve_test, ["g.sieve", msg], d)
        y = _yubin(bindir, "sieve-test", ["g.sieve", msg], d)
        assert (y.returncode, y.stdout) == (p.returncode, p.stdout), (msg, p.stderr, y.stderr)


@pytest.mark.parametrize("seed", range(1, 61))
def test_random_extension_scripts_give_pigeonholes_actions(bindir, wd, seed,
                                                           pigeonhole_sieve_test):
    """The same over body, date/index, mime/foreverypart, regex, vacation,
    enotify and variables (tests/e2e/sieve/gen_scripts_ext.py)."""
    import sys
    sys.path.insert(0, SIEVE)
    import gen_scripts_ext
    d = _workdir(wd)
    (d / "g.sieve").write_text(gen_scripts_ext.script(seed))
    if os.geteuid() == 0:
        os.chown(d / "g.sieve", pwd.getpwnam("nobody").pw_uid, -1)
    for msg in MESSAGES:
        p = _pigeonhole(pigeonhole_sieve_test, ["g.sieve", msg], d)
        y = _yubin(bindir, "sieve-test", ["g.sieve", msg], d)
        assert (y.returncode, y.stdout) == (p.returncode, p.stdout), (msg, p.stderr, y.stderr)


MULTI = {
    "b1": 'require "fileinto";\nfileinto "before";\n',
    "b2": 'require "fileinto";\nif true { fileinto "b2"; stop; }\n',
    "mn": 'require "fileinto";\nfileinto "main";\n',
    "k": "keep;\n",
    "d": "discard;\n",
    "c": 'require ["fileinto", "copy"];\nfileinto :copy "cp";\n',
    "rd": 'redirect "x@example.net";\n',
    "nop": "if false { keep; }\n",
    "fl": 'require "imap4flags";\naddflag "seen1";\n',
}
CHAINS = [["b1", "mn"], ["b2", "mn"], ["b1", "b2", "mn"], ["k", "mn"], ["d", "mn"],
          ["c", "mn"], ["rd", "mn"], ["nop", "mn"], ["fl", "k"], ["nop", "c", "k"],
          ["nop", "fl", "c", "k"]]


@pytest.mark.parametrize("chain", CHAINS, ids=["-".join(c) for c in CHAINS])
def test_several_scripts_as_pigeonholes_multiscript(bindir, wd, chain, pigeonhole_sieve_test):
    """sieve-test -s A -s B MAIN: each script's result is printed; the next
    script runs only while the message is still kept (Pigeonhole's
    multiscript, which sieve_before/after use too)."""
    d = _workdir(wd)
    for name, text in MULTI.items():
        (d / (name + ".sieve")).write_text(text)
        if os.geteuid() == 0:
            os.chown(d / (name + ".sieve"), pwd.getpwnam("nobody").pw_uid, -1)
    args = []
    for name in chain[:-1]:
        args += ["-s", name + ".sieve"]
    args += [chain[-1] + ".sieve", "plain.eml"]
    p = _pigeonhole(pigeonhole_sieve_test, args, d)
    y = _yubin(bindir, "sieve-test", args, d)
    assert p.returncode == 0, p.stderr
    assert (y.returncode, y.stdout) == (p.returncode, p.stdout), y.stderr


# --- issue 8's done-when: the RFC example scripts (tests/sieve/rfc/, run
# with the actions the RFCs state by tests/sieve/rfc*-examples.svtest)
# print the same actions as Pigeonhole's sieve-test on every message ---

RFC_DIR = os.path.join(HERE, "..", "sieve", "rfc")
RFC_SCRIPTS = sorted(f[:-6] for f in os.listdir(RFC_DIR) if f.endswith(".sieve")
                     # Pigeonhole 0.5.19 has no ereject; the RFC's "100K" string
                     # does not compile in either (tested in the .svtest)
                     and f not in ("5429-ereject.sieve", "5703-pdf.sieve"))
RFC_INCLUDED = ["always_allow", "spam_tests", "mailing_lists", "subject_tests",
                "vacation_on", "vacation_on_ns"]
RFC_EXT = "+editheader +spamtest +spamtestplus +virustest +special-use +vacation-seconds"
RFC_MESSAGES = {
    "boss.eml": "Received: from a by b; Sun, 22 Nov 2026 10:00:00 +0000\n"
                "From: boss@example.com\nTo: me@company.example.com\n"
                "Subject: ALERT: cyrus lunch XXXX\nDate: Mon, 23 Nov 2026 10:00:00 -0800\n"
                "Message-ID: <b1@example.com>\nX-Priority: 1\nX-Spam-Score: 3\n"
                "X-Virus-Scan: 4\nX-Event-ID: 17\nX-Ticket-ID: 9\n"
                "Disposition-Notification-To: mel@example.com\n"
                "Accept-Language: en\n\nthe project schedule\n",
    "grandma.eml": "From: grandma@example.net\nTo: friend@example.net\n"
                   "Cc: me@company.example.com, coyote@ACME.Example.COM\n"
                   "Subject: [acme-users] [fwd] version 1.0 is out\n"
                   "Delivered-To: bob@example.com\nDelivered-To: alice@example.com\n"
                   "X-Sieve-Filtered: <kim@job.example.com>\nList-ID: sieve.ietf.org\n"
                   "\nMissile coordinates.\n",
}


def _rfc_workdir(wd):
    d = _workdir(wd)
    sieve = os.path.join(HERE, "..", "sieve")
    for f in os.listdir(RFC_DIR):
        if f.endswith(".sieve"):
            shutil.copy(os.path.join(RFC_DIR, f), d / f)
    for n in RFC_INCLUDED:
        shutil.copy(os.path.join(sieve, n + ".sieve"), d / (n + ".sieve"))
        shutil.copy(os.path.join(sieve, n + ".sieve"), d / "sieve" / (n + ".sieve"))
    (d / "global").mkdir()
    shutil.copy(os.path.join(RFC_DIR, "global", "spam_tests.sieve"), d / "global")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(str(d / "Maildir" / sub))
    # the plugin settings both tools read with -c (Pigeonhole's sieve-test
    # takes no plugin settings from -o)
    (d / "sieve.conf").write_text(
        "mail_location = maildir:%s/Maildir\nplugin {\n  sieve_extensions = %s\n"
        "  sieve_global = %s/global\n"
        "  sieve_spamtest_status_type = score\n  sieve_spamtest_status_header = X-Spam-Score\n"
        "  sieve_spamtest_max_value = 10\n  sieve_virustest_status_type = score\n"
        "  sieve_virustest_status_header = X-Virus-Scan\n  sieve_virustest_max_value = 5\n}\n"
        % (d, RFC_EXT, d))
    for name, text in RFC_MESSAGES.items():
        (d / name).write_text(text)
    # big.eml: over 1M, a PDF part named "important" over 100K
    part = "JVBERi0xLjQK" * 90000
    (d / "big.eml").write_text(
        "From: big@example.org\nTo: me@example.com\nSubject: big\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\n"
        "see the attachment\n--b\nContent-Type: application/pdf\n"
        "Content-Disposition: attachment; filename=\"important.pdf\"\n"
        "Content-Transfer-Encoding: base64\n\n" +
        "\n".join(part[i:i + 76] for i in range(0, len(part), 76)) + "\n--b--\n")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        for root, dirs, files in os.walk(d):
            for n in dirs + files:
                os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
    return d


@pytest.mark.parametrize("msg", sorted(MESSAGES + list(RFC_MESSAGES) + ["big.eml"]))
@pytest.mark.parametrize("script", RFC_SCRIPTS)
def test_rfc_examples_print_pigeonholes_actions(bindir, wd, script, msg, pigeonhole_sieve_test):
    d = _rfc_workdir(wd)
    args = ["-c", "sieve.conf", "-f", "sender@example.org", "-r", "me@company.example.com",
            script + ".sieve", msg]
    p = _pigeonhole(pigeonhole_sieve_test, args, d)
    y = _yubin(bindir, "sieve-test", args, d)
    assert y.returncode == p.returncode, (y.stderr, p.stderr)
    assert y.stdout == p.stdout, (y.stderr, p.stderr)


BIG_EXAMPLES = {
    # RFC 5429 2.2: over 100K, rejected with the example's text
    "5429-size": " * reject message with reason: Your message is too big.",
    # RFC 5232 3.1: over 500K, flagged \\Deleted
    "5232-1-deleted": "        + add IMAP flags: \\deleted",
    # RFC 5232 7: over 1M, filed into "Big messages" flagged Big
    "5232-7-extended": " * store message in folder: Big messages\n        + add IMAP flags: Big",
    # RFC 5703 4.2: an "important" PDF part over 100K
    "5703-pdf-fixed": " * store message in folder: INBOX.important",
}


@pytest.mark.parametrize("script", sorted(BIG_EXAMPLES))
def test_rfc_size_examples_take_the_big_branch(bindir, wd, script):
    """The examples that test size :over act on a message over 1M as their
    RFCs say (the .svtest files cannot hold such a message)."""
    d = _rfc_workdir(wd)
    assert os.path.getsize(d / "big.eml") > 1024 * 1024
    y = _yubin(bindir, "sieve-test", ["-c", "sieve.conf", script + ".sieve", "big.eml"], d)
    assert y.returncode == 0, y.stderr
    assert BIG_EXAMPLES[script] in y.stdout, y.stdout
