"""Pigeonhole's Sieve settings for editheader, spamtest/virustest
max_header and duplicate, checked two ways: yubin's sieve-test side by
side with Debian's Pigeonhole sieve-test (the same dovecot.conf plugin
settings, the same scripts and messages, the same printed actions), and
deliver storing real mail for a real user (the edited message in Maildir;
duplicate :last over several deliveries, the clock moved by rewriting the
expiry times in the user's ~/.yubin.sieve-track).

Pigeonhole's tools refuse to run as root, so they run as nobody in a
directory nobody can read; deliver needs root (useradd, and deliver
becomes the user)."""
import mailbox
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

import conftest
from conftest import real_tool


@pytest.fixture
def wd():
    """A scratch directory nobody can use (pytest's tmp_path is 0700 root)."""
    import pathlib
    top = tempfile.mkdtemp(prefix="yubin-sieveset-")
    os.chmod(top, 0o755)
    yield pathlib.Path(top)
    shutil.rmtree(top, ignore_errors=True)


def _put(d, name, text):
    p = d / name
    p.write_text(text)
    if os.geteuid() == 0:
        os.chown(p, pwd.getpwnam("nobody").pw_uid, -1)
    return name


def _conf(d, settings):
    """A dovecot.conf both tools read: Pigeonhole needs a mail_location."""
    body = "".join("  %s = %s\n" % kv for kv in settings)
    return _put(d, "dovecot.conf", "mail_location = maildir:%s/Maildir\nplugin {\n%s}\n"
                % (d, body))


def _pigeonhole(args, cwd):
    env = {"PATH": "/usr/bin:/bin:/usr/sbin", "HOME": str(cwd), "TZ": "UTC"}
    kw = {}
    if os.geteuid() == 0:
        if os.stat(cwd).st_uid != pwd.getpwnam("nobody").pw_uid:
            os.chown(cwd, pwd.getpwnam("nobody").pw_uid, -1)
        kw = {"user": "nobody", "group": pwd.getpwnam("nobody").pw_gid}
    return subprocess.run([real_tool("sieve-test")] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, **kw)


def _yubin(bindir, args, cwd):
    env = dict(os.environ, TZ="UTC", HOME=str(cwd))
    return subprocess.run([os.path.join(bindir, "sieve-test")] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


MESSAGE = ("From: a@example.org\nTo: b@example.org\nSubject: hi\n"
           "Message-ID: <m1@example.org>\n"
           "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\n"
           "Auto-Submitted: no\nX-Verified: yes\nX-Spam-Score: 5.5\n\nbody\n")

# Each edit followed by a test that files the message by what the script
# now sees, so the printed actions show which edits were allowed.
EDITS = '''require ["editheader", "fileinto"];
addheader "Received" "added";
if header :is "Received" "added" { fileinto "received-added"; }
deleteheader "Received";
if exists "Received" { fileinto "received-kept"; }
addheader "Auto-Submitted" "yes";
if header :is "Auto-Submitted" "yes" { fileinto "as-added"; }
deleteheader "Auto-Submitted";
if exists "Auto-Submitted" { fileinto "as-kept"; }
addheader "X-Verified" "again";
if header :is "X-Verified" "again" { fileinto "xv-added"; }
deleteheader "X-Verified";
if not exists "X-Verified" { fileinto "xv-deleted"; }
addheader "X-Foo" "1";
if exists "X-Foo" { fileinto "foo-added"; }
deleteheader "X-Spam-Score";
if not exists "X-Spam-Score" { fileinto "xss-deleted"; }
addheader "X-Spam-Score" "9";
if header :is "X-Spam-Score" "9" { fileinto "xss-added"; }
deleteheader "Subject";
if not exists "Subject" { fileinto "subj-deleted"; }
addheader "Subject" "new";
if header :is "Subject" "new" { fileinto "subj-added"; }
'''

EDIT_POLICIES = {
    "none": [],
    "protected": [("sieve_editheader_protected", "X-Verified X-Foo Subject")],
    "forbid": [("sieve_editheader_forbid_add", "X-Foo Subject X-Spam-Score"),
               ("sieve_editheader_forbid_delete", "X-Spam-Score Subject X-Verified")],
    "both": [("sieve_editheader_protected", "x-foo"),
             ("sieve_editheader_forbid_delete", "x-verified")],
}


@pytest.mark.parametrize("policy", sorted(EDIT_POLICIES))
def test_editheader_policies_as_pigeonhole(bindir, wd, policy):
    conf = _conf(wd, EDIT_POLICIES[policy])
    _put(wd, "s.sieve", EDITS)
    _put(wd, "m.eml", MESSAGE)
    args = ["-c", conf, "-x", "+editheader", "s.sieve", "m.eml"]
    p = _pigeonhole(args, wd)
    y = _yubin(bindir, args, wd)
    assert p.returncode == 0, p.stderr
    assert y.returncode == 0, y.stderr
    assert y.stdout == p.stdout, (y.stdout, p.stdout)
    # a refused edit is a warning on both sides, never an error
    assert ("forbidden" in y.stderr) == ("forbidden" in p.stderr)
    assert "error" not in y.stderr


@pytest.mark.parametrize("size,ok", [(2048, True), (2049, False), (1024, True)])
def test_editheader_max_header_size_as_pigeonhole(bindir, wd, size, ok):
    """A value over the limit fails the run (implicit keep) when it comes
    from a variable, and the compile when it is a constant."""
    conf = _conf(wd, [])
    _put(wd, "m.eml", MESSAGE)
    _put(wd, "var.sieve", 'require ["editheader", "variables"];\nset "v" "%s";\n'
         'addheader "X-Big" "${v}";\n' % ("x" * size))
    _put(wd, "const.sieve", 'require "editheader";\naddheader "X-Big" "%s";\n' % ("x" * size))
    for script, fail_rc in (("var.sieve", 1), ("const.sieve", 89)):
        args = ["-c", conf, "-x", "+editheader", script, "m.eml"]
        p = _pigeonhole(args, wd)
        y = _yubin(bindir, args, wd)
        assert p.returncode == (0 if ok else fail_rc), p.stderr
        assert y.returncode == p.returncode, (y.stderr, p.stderr)
        assert y.stdout == p.stdout
        if not ok:
            assert "too large (%d bytes)" % size in y.stderr
    # a smaller limit, down to Pigeonhole's minimum of 1024
    conf = _conf(wd, [("sieve_editheader_max_header_size", "1k")])
    args = ["-c", conf, "-x", "+editheader", "var.sieve", "m.eml"]
    p = _pigeonhole(args, wd)
    y = _yubin(bindir, args, wd)
    assert y.returncode == p.returncode == (0 if size <= 1024 else 1), (y.stderr, p.stderr)


SPAM = '''require ["spamtestplus", "virustest", "variables", "fileinto"];
if spamtest :matches "*" { fileinto "score-${1}"; }
if spamtest :percent :matches "*" { fileinto "percent-${1}"; }
if virustest :matches "*" { fileinto "virus-${1}"; }
'''

# (status value, maximum value): realistic ones and the number syntax's
# edges. Left out on purpose (docs/compat.md): a value with trailing blanks
# (yubin reads header values without them) and a negative maximum.
SCORES = [("5.5", "11"), ("5.5", None), ("5.5", "abc"), ("5.5", "0"), ("30", "20"),
          ("-3", "20"), ("+5", "11"), ("1e1", "11"), ("5", "11abc"), ("5", "1e1"),
          ("5", "+10"), ("5", "10."), ("5", ".5e1"), ("0x5", "11"), ("5", "0x10"),
          ("5", " 10"), ("4", "8.0"), (".5", "1"), ("5", ".5"), ("1.2.3", "10"),
          ("05", "10"), ("0", "10"), ("7", "7")]

SCORE_CONFIGS = {
    "plain": [("sieve_spamtest_status_header", "X-Spam-Score"),
              ("sieve_spamtest_max_header", "X-Spam-Max"),
              ("sieve_virustest_status_header", "X-Spam-Score"),
              ("sieve_virustest_max_header", "X-Spam-Max")],
    "pattern": [("sieve_spamtest_status_header", "X-Spam-Score"),
                ("sieve_spamtest_max_header", "X-Spam-Status: required=([0-9.]+)")],
    "both": [("sieve_spamtest_status_header", "X-Spam-Score"),
             ("sieve_spamtest_max_header", "X-Spam-Max"),
             ("sieve_spamtest_max_value", "10")],
}


@pytest.mark.parametrize("config", sorted(SCORE_CONFIGS))
def test_spamtest_max_header_as_pigeonhole(bindir, wd, config):
    conf = _conf(wd, SCORE_CONFIGS[config])
    _put(wd, "s.sieve", SPAM)
    for i, (score, mx) in enumerate(SCORES):
        m = "From: a@example.org\nSubject: hi\nX-Spam-Score: %s\n" % score
        if mx is not None:
            m += "X-Spam-Max: %s\nX-Spam-Status: Yes, required=%s\n" % (mx, mx)
        _put(wd, "m%d.eml" % i, m + "\nbody\n")
        args = ["-c", conf, "-x", "+spamtest +spamtestplus +virustest", "s.sieve",
                "m%d.eml" % i]
        p = _pigeonhole(args, wd)
        y = _yubin(bindir, args, wd)
        assert p.returncode == 0, p.stderr
        assert y.returncode == 0, y.stderr
        assert y.stdout == p.stdout, (score, mx, y.stdout, p.stdout)



# RFC 5183's items as Pigeonhole's sieve-test gives them ("name" and
# "version" name the product: they differ on purpose); remote-host and
# remote-ip exist in neither. With vnd.dovecot.environment: its items,
# sieve_env_* settings and the env. variables namespace.
ENVIRONMENT = '''require ["environment", "variables", "fileinto"];
if environment :matches "domain" "*" { fileinto "domain-${1}"; }
if environment :matches "host" "*" { fileinto "host-${1}"; }
if environment :matches "location" "*" { fileinto "location-${1}"; }
if environment :matches "phase" "*" { fileinto "phase-${1}"; }
if environment :matches "remote-host" "*" { fileinto "rhost-${1}"; }
if environment :matches "remote-ip" "*" { fileinto "rip-${1}"; }
if environment :matches "vnd.dovecot.default-mailbox" "*" { fileinto "dm-${1}"; }
if environment :matches "vnd.dovecot.config.dept" "*" { fileinto "dept-${1}"; }
'''

VND_ENVIRONMENT = '''require ["vnd.dovecot.environment", "variables", "fileinto"];
if environment :matches "vnd.dovecot.default-mailbox" "*" { fileinto "dm-${1}"; }
if environment :matches "vnd.dovecot.config.dept" "*" { fileinto "dept-${1}"; }
if environment :matches "vnd.dovecot.config.none" "*" { fileinto "none-${1}"; }
if environment :matches "remote-ip" "*" { fileinto "rip-${1}"; }
fileinto "ns-${env.vnd.dovecot.default_mailbox}-${env.phase}-${env.vnd.dovecot.config.dept}-${env.nosuch}";
'''


@pytest.mark.parametrize("script", ["plain", "vnd"])
def test_environment_items_as_pigeonhole(bindir, wd, script):
    conf = _conf(wd, [("sieve_env_dept", "sales and more")])
    _put(wd, "s.sieve", ENVIRONMENT if script == "plain" else VND_ENVIRONMENT)
    _put(wd, "m.eml", MESSAGE)
    for extra in ([], ["-m", "Archive"]):
        args = ["-c", conf, "-x", "+vnd.dovecot.environment"] + extra + ["s.sieve", "m.eml"]
        p = _pigeonhole(args, wd)
        y = _yubin(bindir, args, wd)
        assert p.returncode == 0, p.stderr
        assert y.returncode == 0, y.stderr
        assert y.stdout == p.stdout, (y.stdout, p.stdout)
        assert "rip-" not in y.stdout and "location-MS" in y.stdout or script == "vnd"
    # the user is the one running the tool, for both
    _put(wd, "u.sieve", 'require ["vnd.dovecot.environment", "fileinto", "variables"];\n'
         'fileinto "user-${env.vnd.dovecot.username}";\n')
    y = _yubin(bindir, ["-x", "+vnd.dovecot.environment", "u.sieve", "m.eml"], wd)
    assert "user-%s" % pwd.getpwuid(os.getuid()).pw_name in y.stdout, y.stderr
    # without the extension the script does not compile (exit 89), as there
    args = ["-c", conf, "s.sieve", "m.eml"]
    p = _pigeonhole(args, wd)
    y = _yubin(bindir, args, wd)
    assert y.returncode == p.returncode == (0 if script == "plain" else 89)

def test_duplicate_header_and_uniqueid_conflict_as_pigeonhole(bindir, wd):
    _put(wd, "d.sieve", 'require "duplicate";\n'
         'if duplicate :header "X-A" :uniqueid "y" { discard; }\n')
    real = real_tool("sievec")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(wd)}
    kw = {}
    if os.geteuid() == 0:
        os.chown(wd, pwd.getpwnam("nobody").pw_uid, -1)
        kw = {"user": "nobody", "group": pwd.getpwnam("nobody").pw_gid}
    p = subprocess.run([real, "d.sieve"], cwd=wd, env=env, capture_output=True, text=True,
                       timeout=60, **kw)
    y = subprocess.run([os.path.join(bindir, "sievec"), "d.sieve"], cwd=wd,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == y.returncode == 89, (p.stderr, y.stderr)
    assert "d: line 2: error:" in p.stderr and "d: line 2: error:" in y.stderr


# --- deliver: the settings from dovecot.conf's plugin { } on real mail ---

class User:
    def __init__(self, base):
        self.name = "yt%s" % uuid.uuid4().hex[:8]
        self.home = os.path.join(base, "home", self.name)
        os.makedirs(os.path.dirname(self.home), exist_ok=True)
        conftest.account_tool("useradd", "-m", "-d", self.home, "-s", "/bin/sh", "-U",
                              self.name, check=True)
        self.uid = int(subprocess.run(["id", "-u", self.name], capture_output=True,
                                      text=True).stdout)

    def write(self, rel, text):
        p = os.path.join(self.home, rel)
        with open(p, "w") as f:
            f.write(text)
        os.chown(p, self.uid, -1)

    def inbox(self):
        md = mailbox.Maildir(os.path.join(self.home, "Maildir"), factory=None, create=False)
        return sorted((m for m in md), key=lambda m: m["subject"] or "")

    def remove(self):
        conftest.account_tool("userdel", "-r", self.name)


@pytest.fixture
def lda(bindir):
    if os.geteuid() != 0:
        pytest.skip("needs root for useradd")
    base = tempfile.mkdtemp(prefix="yubin-sieveset-lda-")
    os.chmod(base, 0o755)
    users = []

    class Lda:
        pass
    lda = Lda()

    def setup(settings):
        conf = os.path.join(base, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("mail_location = maildir:~/Maildir\n"
                    "lda_mailbox_autocreate = yes\n"
                    "sendmail_path = /bin/false\n"
                    "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n%s}\n"
                    % "".join("  %s = %s\n" % kv for kv in settings))
        u = User(base)
        users.append(u)
        return u

    def deliver(u, subject, mid="<same@example.org>"):
        m = ("From: alice@example.org\nTo: %s@localhost\nSubject: %s\nMessage-ID: %s\n"
             "Received: from relay by mx; Mon, 1 Jan 2024 00:00:00 +0000\n"
             "X-Verified: yes\n\nHello.\n" % (u.name, subject, mid))
        return subprocess.run([os.path.join(bindir, "deliver"), "-c",
                               os.path.join(base, "dovecot.conf"), "-d", u.name,
                               "-f", "alice@example.org"], input=m.encode(),
                              capture_output=True, timeout=60)
    lda.setup, lda.deliver = setup, deliver
    yield lda
    for u in users:
        u.remove()
    shutil.rmtree(base, ignore_errors=True)


def test_deliver_stores_the_message_as_the_policy_allows(lda):
    u = lda.setup([("sieve_extensions", "+editheader"),
                   ("sieve_editheader_protected", "X-Verified"),
                   ("sieve_editheader_forbid_add", "X-Spam-Flag"),
                   ("sieve_editheader_max_header_size", "1024")])
    u.write(".dovecot.sieve", 'require ["editheader", "variables"];\n'
            'deleteheader "X-Verified";\naddheader "X-Verified" "forged";\n'
            'deleteheader "Received";\naddheader "X-Spam-Flag" "NO";\n'
            'addheader "X-Filtered" "yes";\n'
            'if header :is "subject" "big" {\n'
            '  set "v" "%s";\n  addheader "X-Big" "${v}";\n}\n' % ("b" * 1025))
    r = lda.deliver(u, "small")
    assert r.returncode == 0, r.stderr
    # the edits the policy forbids are skipped, and said so in the log
    # although the run succeeded (Pigeonhole logs its warnings too)
    warns = [line for line in r.stderr.decode().splitlines() if ": Warning: sieve: " in line]
    assert any("X-Verified" in w for w in warns) and any("X-Spam-Flag" in w for w in warns), \
        r.stderr
    r = lda.deliver(u, "big")
    assert r.returncode == 0, r.stderr
    assert b"too large (1025 bytes)" in r.stderr
    big, small = u.inbox()
    assert small["X-Filtered"] == "yes"
    assert small.get_all("X-Verified") == ["yes"]
    assert small["Received"] is not None
    assert small["X-Spam-Flag"] is None
    # the run that failed is not applied: the message is kept as it came
    assert big["subject"] == "big"
    assert big["X-Filtered"] is None and big["X-Big"] is None


TRACK = ".yubin.sieve-track"


def _shift_track(u, seconds):
    """Move the clock: every expiry in the user's record comes seconds
    closer (the record's lines are "EXPIRY KIND KEY")."""
    p = os.path.join(u.home, TRACK)
    with open(p) as f:
        lines = f.read().splitlines()
    with open(p, "w") as f:
        for l in lines:
            exp, rest = l.split(" ", 1)
            f.write("%d %s\n" % (int(exp) - seconds, rest))


def _expiry(u):
    with open(os.path.join(u.home, TRACK)) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1, lines
    return int(lines[0].split()[0])


@pytest.mark.parametrize("last", [False, True])
def test_deliver_duplicate_last_over_deliveries(lda, last):
    u = lda.setup([])
    u.write(".dovecot.sieve", 'require ["duplicate", "fileinto"];\n'
            'if duplicate :seconds 1000%s { fileinto "dups"; }\n' % (" :last" if last else ""))
    t0 = int(time.time())
    assert lda.deliver(u, "first").returncode == 0
    e1 = _expiry(u)
    assert t0 + 1000 <= e1 <= int(time.time()) + 1000
    # 900 seconds later: a duplicate either way
    _shift_track(u, 900)
    assert lda.deliver(u, "second").returncode == 0
    e2 = _expiry(u)
    if last:
        assert e2 >= e1        # restarted: about 1000 s from now again
    else:
        assert e2 == e1 - 900  # untouched: 100 s left
    # another 200 seconds: without :last the period is over
    _shift_track(u, 200)
    assert lda.deliver(u, "third").returncode == 0
    md = mailbox.Maildir(os.path.join(u.home, "Maildir"), factory=None, create=False)
    dups = sorted(m["subject"] for m in md.get_folder("dups"))
    inbox = sorted(m["subject"] for m in md)
    if last:
        assert dups == ["second", "third"] and inbox == ["first"]
    else:
        assert dups == ["second"] and inbox == ["first", "third"]


def test_deliver_duplicate_periods_from_the_settings(lda):
    u = lda.setup([("sieve_duplicate_default_period", "1h"),
                   ("sieve_duplicate_max_period", "2h")])
    u.write(".dovecot.sieve", 'require "duplicate";\n'
            'if header :is "subject" "long" {\n'
            '  if duplicate :seconds 86400 :uniqueid "a" { discard; }\n'
            '} elsif duplicate { discard; }\n')
    t0 = int(time.time())
    assert lda.deliver(u, "default").returncode == 0
    assert t0 + 3600 <= _expiry(u) <= int(time.time()) + 3600
    os.unlink(os.path.join(u.home, TRACK))
    t0 = int(time.time())
    assert lda.deliver(u, "long").returncode == 0
    # :seconds 86400 is capped by sieve_duplicate_max_period
    assert t0 + 7200 <= _expiry(u) <= int(time.time()) + 7200



def test_deliver_vnd_environment_items(lda):
    u = lda.setup([("sieve_extensions", "+vnd.dovecot.environment"),
                   ("sieve_env_dept", "sales")])
    u.write(".dovecot.sieve", 'require ["vnd.dovecot.environment", "variables", '
            '"fileinto", "mailbox"];\n'
            'fileinto :create "${env.vnd.dovecot.username}.${env.vnd.dovecot.config.dept}";\n')
    r = lda.deliver(u, "env")
    assert r.returncode == 0, r.stderr
    md = mailbox.Maildir(os.path.join(u.home, "Maildir"), factory=None, create=False)
    assert [m["subject"] for m in md.get_folder("%s.sales" % u.name)] == ["env"]
