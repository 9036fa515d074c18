"""doveadm sieve (issue 8, item 3): list, put [-a], get, activate,
deactivate, delete [-a] and rename -u USER on the user's script storage
(plugin { sieve = file:~/sieve;active=~/.dovecot.sieve }), run as the
user; scripts are compiled before they are stored or made active; exit
codes and output as Pigeonhole's doveadm, which runs the same command
sequence side by side (Debian's Dovecot with no protocols, only its auth
service, on a temp base_dir)."""
import os
import re
import signal
import subprocess
import tempfile

import pytest

from pop3_fixtures import Retrieval, mail_owner, wait_for

PLUGIN = "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n"
GOOD = 'require "fileinto";\nif header :contains "subject" "list" {\n  fileinto "Lists";\n}\n'
GOOD2 = "keep;\n"
BAD_VALIDATE = 'require "fileinto";\nfilento "x";\n'
BAD_PARSE = 'require "fileinto";\nif true {\n  keep\n}\n'


@pytest.fixture
def box(bindir, tmp_path):
    r = Retrieval(bindir, tmp_path / "r", extra=PLUGIN)
    r.start()
    yield r
    r.cleanup()


def ds(r, *args, stdin=None):
    return subprocess.run([os.path.join(r.bindir, "yubin"), "doveadm", "-c", r.conf, "sieve"]
                          + list(args), input=stdin, capture_output=True, text=True,
                          timeout=60)


def sieve_dir(r):
    return os.path.join(r.home, "sieve")


def active_link(r):
    try:
        return os.readlink(os.path.join(r.home, ".dovecot.sieve"))
    except FileNotFoundError:
        return None


def test_each_subcommand(box):
    r = box
    p = ds(r, "put", "-u", "alice", "one", stdin=GOOD)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p
    path = os.path.join(sieve_dir(r), "one.sieve")
    with open(path) as f:
        assert f.read() == GOOD
    # written as the user, private as Pigeonhole keeps them
    st = os.stat(path)
    assert st.st_uid == r.uid and st.st_mode & 0o777 == 0o600
    assert active_link(r) is None
    assert ds(r, "put", "-u", "alice", "-a", "two", stdin=GOOD2).returncode == 0
    assert active_link(r) == "sieve/two.sieve"
    ls = ds(r, "list", "-u", "alice")
    assert ls.returncode == 0 and ls.stdout == "one \ntwo ACTIVE\n", ls
    g = ds(r, "get", "-u", "alice", "one")
    assert g.returncode == 0 and g.stdout == "sieve script:\n" + GOOD, g
    assert ds(r, "activate", "-u", "alice", "one").returncode == 0
    assert active_link(r) == "sieve/one.sieve"
    assert ds(r, "list", "-u", "alice").stdout == "one ACTIVE\ntwo \n"
    # rename: the active link follows its script
    assert ds(r, "rename", "-u", "alice", "one", "uno").returncode == 0
    assert active_link(r) == "sieve/uno.sieve"
    assert not os.path.exists(path)
    assert ds(r, "list", "-u", "alice").stdout == "two \nuno ACTIVE\n"
    assert ds(r, "deactivate", "-u", "alice").returncode == 0
    assert active_link(r) is None
    assert ds(r, "deactivate", "-u", "alice").returncode == 0   # nothing active: fine
    assert ds(r, "delete", "-u", "alice", "two", "uno").returncode == 0
    assert ds(r, "list", "-u", "alice").stdout == ""
    assert os.listdir(sieve_dir(r)) == []


def test_active_script_and_missing_ones(box):
    r = box
    assert ds(r, "put", "-a", "-u", "alice", "main", stdin=GOOD).returncode == 0
    d = ds(r, "delete", "-u", "alice", "main")
    assert d.returncode == 65, d
    assert d.stderr == ("doveadm(alice): Error: Failed to delete Sieve script: Cannot delete "
                        "the active Sieve script.\n")
    assert os.path.exists(os.path.join(sieve_dir(r), "main.sieve"))
    assert active_link(r) == "sieve/main.sieve"
    d = ds(r, "delete", "-a", "-u", "alice", "main")
    assert d.returncode == 0, d
    assert active_link(r) is None and not os.path.exists(os.path.join(r.home, ".dovecot.sieve"))
    assert not os.path.exists(os.path.join(sieve_dir(r), "main.sieve"))
    for sub, what in (("get", "open"), ("activate", "activate"), ("delete", "delete")):
        p = ds(r, sub, "-u", "alice", "nope")
        assert p.returncode == 68, p
        assert p.stderr == ("doveadm(alice): Error: Failed to %s Sieve script: Sieve script "
                            "`nope' not found\n" % what)
    p = ds(r, "rename", "-u", "alice", "nope", "x")
    assert p.returncode == 68 and "`nope' not found" in p.stderr
    assert ds(r, "put", "-u", "alice", "a", stdin=GOOD).returncode == 0
    assert ds(r, "put", "-u", "alice", "b", stdin=GOOD2).returncode == 0
    p = ds(r, "rename", "-u", "alice", "a", "b")
    assert p.returncode == 65 and "already exists" in p.stderr, p
    with open(os.path.join(sieve_dir(r), "b.sieve")) as f:
        assert f.read() == GOOD2


def test_bad_script_refused_with_line_and_column(box):
    r = box
    assert ds(r, "put", "-a", "-u", "alice", "main", stdin=GOOD).returncode == 0
    p = ds(r, "put", "-u", "alice", "main", stdin=BAD_VALIDATE)
    assert p.returncode == 65, p
    lines = p.stderr.splitlines()
    assert re.fullmatch(r"doveadm\(alice\): Error: sieve: main: line 2: unknown command "
                        r"'filento' .*\(column 1\)", lines[0]), p.stderr
    assert lines[-1] == "doveadm(alice): Error: sieve: main: validation failed"
    # the stored script is untouched
    with open(os.path.join(sieve_dir(r), "main.sieve")) as f:
        assert f.read() == GOOD
    p = ds(r, "put", "-u", "alice", "-a", "other", stdin=BAD_PARSE)
    assert p.returncode == 65 and "sieve: other: line 4: " in p.stderr, p
    assert p.stderr.splitlines()[-1] == "doveadm(alice): Error: sieve: other: parse failed"
    assert not os.path.exists(os.path.join(sieve_dir(r), "other.sieve"))
    assert active_link(r) == "sieve/main.sieve"
    # a broken script that reached the directory some other way is not
    # made active
    broken = os.path.join(sieve_dir(r), "broken.sieve")
    with open(broken, "w") as f:
        f.write(BAD_VALIDATE)
    os.chown(broken, r.uid, r.gid)
    p = ds(r, "activate", "-u", "alice", "broken")
    assert p.returncode == 65 and "sieve: broken: line 2: unknown command" in p.stderr, p
    assert active_link(r) == "sieve/main.sieve"


@pytest.mark.parametrize("name", ["a/b", "../x", "a\tb", "a\x01b", "a\x7fb", ""])
def test_bad_names_refused(box, name):
    r = box
    p = ds(r, "put", "-u", "alice", name, stdin=GOOD)
    assert p.returncode == 65, p
    assert p.stderr == "Fatal: Sieve script name not valid: %s\n" % name
    assert not os.path.exists(sieve_dir(r)) or os.listdir(sieve_dir(r)) == []
    assert ds(r, "put", "-u", "alice", "ok", stdin=GOOD).returncode == 0
    for args in (("get", name), ("activate", name), ("delete", name), ("rename", "ok", name)):
        p = ds(r, args[0], "-u", "alice", *args[1:])
        assert p.returncode == 65 and "name not valid" in p.stderr, (args, p)
    assert sorted(os.listdir(sieve_dir(r))) == ["ok.sieve"]


def test_unknown_user_and_usage(box):
    r = box
    p = ds(r, "list", "-u", "nobody-here")
    assert p.returncode == 67, p
    assert p.stderr == "doveadm(nobody-here): Error: User doesn't exist\n"
    p = ds(r, "put", "-u", "nobody-here", "x", stdin=GOOD)
    assert p.returncode == 67
    assert ds(r, "list").returncode == 64
    assert ds(r, "frobnicate", "-u", "alice").returncode == 64
    assert ds(r, "get", "-u", "alice").returncode == 64
    assert ds(r, "rename", "-u", "alice", "x").returncode == 64
    p = subprocess.run([os.path.join(r.bindir, "yubin"), "doveadm", "-c", r.conf, "sieve"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 64 and "rename" in p.stderr


def test_users_below_first_valid_uid_or_without_uid_are_refused(bindir, tmp_path):
    """As root, doveadm touches a user's files only as that user: a userdb
    entry with uid 0 (below first_valid_uid) or with no uid at all is
    refused, as Dovecot refuses it, and nothing is written as root."""
    if os.getuid() != 0:
        pytest.skip("needs root: the refusal is about not staying root")
    r = Retrieval(bindir, tmp_path / "r", extra=PLUGIN)
    try:
        homes = {u: os.path.join(r.root, u) for u in ("rooty", "nouid")}
        for h in homes.values():
            os.makedirs(h)
        with open(os.path.join(r.root, "users"), "a") as f:
            f.write("rooty:{PLAIN}x:0:0::%s::\n" % homes["rooty"])
            f.write("nouid:{PLAIN}x:::::%s::\n" % homes["nouid"])
        r.start()
        p = ds(r, "put", "-u", "rooty", "one", stdin=GOOD)
        assert p.returncode != 0 and "not permitted" in p.stderr and "UID 0" in p.stderr, p
        p = ds(r, "put", "-u", "nouid", "one", stdin=GOOD)
        assert p.returncode != 0 and "missing UID" in p.stderr, p
        for h in homes.values():
            assert os.listdir(h) == [], h
    finally:
        r.cleanup()


def test_put_and_activate_then_lmtp_delivers_through_it(bindir, tmp_path):
    """A script stored and activated with doveadm sieve is the one LMTP
    delivery runs: the message lands in the folder the script names."""
    import smtplib
    from test_lmtp import Box, msg
    b = Box(bindir, tmp_path, PLUGIN)
    try:
        b.start()
        # the folder must exist (lda_mailbox_autocreate = no, Dovecot's default)
        assert b.doveadm("mailbox", "create", "-u", "alice", "Reports").returncode == 0
        p = ds(b, "put", "-a", "-u", "alice", "filer",
               stdin='require "fileinto";\nif header :contains "subject" "report" '
                     '{ fileinto "Reports"; }\n')
        assert p.returncode == 0, p
        c = smtplib.LMTP("127.0.0.1", b.lmtp_port, timeout=30)
        assert c.sendmail("s@example.org", ["alice"], msg("monthly report", "r1")) == {}
        c.quit()
        assert wait_for(lambda: len(b.new("Reports")) == 1), b.logtext()[-2000:]
        assert b.new() == []
        assert ds(b, "deactivate", "-u", "alice").returncode == 0
        c = smtplib.LMTP("127.0.0.1", b.lmtp_port, timeout=30)
        assert c.sendmail("s@example.org", ["alice"], msg("another report", "r2")) == {}
        c.quit()
        assert wait_for(lambda: len(b.new()) == 1), b.logtext()[-2000:]
        assert len(b.new("Reports")) == 1
    finally:
        b.cleanup()


# --- side by side with Pigeonhole's doveadm sieve ---

SEQUENCE = [
    (("put", "one"), GOOD),
    (("put", "-a", "two"), GOOD2),
    (("list",), None),
    (("get", "one"), None),
    (("get", "missing"), None),
    (("put", "three"), BAD_VALIDATE),
    (("put", "two"), BAD_PARSE),
    (("put", "a/b"), GOOD),
    (("put", "a\tb"), GOOD),
    (("delete", "two"), None),
    (("activate", "one"), None),
    (("activate", "missing"), None),
    (("rename", "one", "uno"), None),
    (("rename", "two", "uno"), None),
    (("rename", "missing", "x"), None),
    (("list",), None),
    (("deactivate",), None),
    (("deactivate",), None),
    (("put", "-a", "dots.in.name"), GOOD),
    (("delete", "-a", "dots.in.name"), None),
    (("delete", "missing"), None),
    (("delete", "two"), None),
    (("list",), None),
    # every user of the userdb (alice, bob)
    (("-A", "list"), None),
    (("-A", "put", "common"), GOOD),
    (("-A", "put", "-a", "bad"), BAD_VALIDATE),
    (("-A", "get", "common"), None),
    (("-A", "activate", "common"), None),
    (("-A", "list"), None),
    (("-A", "get", "missing"), None),
    (("-A", "deactivate"), None),
    (("-A", "delete", "common"), None),
]


def state(home):
    """The scripts (name -> text) and the active link's target."""
    d = os.path.join(home, "sieve")
    scripts = {}
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.endswith(".sieve"):
                with open(os.path.join(d, n)) as f:
                    scripts[n] = f.read()
    try:
        link = os.readlink(os.path.join(home, ".dovecot.sieve"))
    except FileNotFoundError:
        link = None
    return scripts, link


def norm(text):
    # yubin adds the column to each error; Pigeonhole 2.3 names the line only
    return re.sub(r" \(column \d+\)", "", text)


def test_same_as_pigeonhole(box):
    if os.getuid() != 0 or not os.path.exists("/usr/bin/doveadm") or \
            not os.path.exists("/usr/sbin/dovecot"):
        pytest.skip("needs root and Debian's dovecot-core and dovecot-sieve")
    r = box
    uid, gid = mail_owner()
    # a second user on both sides, for -A
    r_bob = os.path.join(r.root, "home", "bob")
    os.makedirs(r_bob)
    os.chown(r_bob, uid, gid)
    with open(os.path.join(r.root, "users"), "a") as f:
        f.write("bob:{PLAIN}secret:%d:%d::%s::\n" % (uid, gid, r_bob))
    real = tempfile.mkdtemp(dir=r.root, prefix="real")
    os.chmod(real, 0o755)
    home = os.path.join(real, "home", "alice")
    bob = os.path.join(real, "home", "bob")
    os.makedirs(home)
    os.makedirs(bob)
    for d in (os.path.join(real, "home"), home, bob):
        os.chown(d, uid, gid)
    os.makedirs(os.path.join(real, "run"))
    with open(os.path.join(real, "users"), "w") as f:
        f.write("alice:{PLAIN}secret:%d:%d::%s::\n" % (uid, gid, home))
        f.write("bob:{PLAIN}secret:%d:%d::%s::\n" % (uid, gid, bob))
    conf = os.path.join(real, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("base_dir = %s/run\nstate_dir = %s\nlog_path = %s/log\nprotocols =\n"
                "ssl = no\nfirst_valid_uid = 1\nmail_location = maildir:~/Maildir\n"
                "passdb {\n driver = passwd-file\n args = scheme=PLAIN %s/users\n}\n"
                "userdb {\n driver = passwd-file\n args = %s/users\n}\n%s"
                % (real, real, real, real, real, PLUGIN))
    with open(os.path.join(real, "start.log"), "w") as errf:
        s = subprocess.run(["/usr/sbin/dovecot", "-c", conf], stdin=subprocess.DEVNULL,
                           stdout=errf, stderr=errf, timeout=60)
    assert s.returncode == 0
    pidfile = os.path.join(real, "run", "master.pid")
    try:
        assert wait_for(lambda: os.path.exists(os.path.join(real, "run", "auth-userdb")))
        for args, text in SEQUENCE:
            if args[0] == "-A":
                cmd = [args[1], "-A"] + list(args[2:])
            else:
                cmd = [args[0], "-u", "alice"] + list(args[1:])
            want = subprocess.run(["/usr/bin/doveadm", "-c", conf, "sieve"] + cmd,
                                  input=text or "", capture_output=True, text=True,
                                  timeout=60)
            got = ds(r, *cmd, stdin=text or "")
            assert got.returncode == want.returncode, (cmd, want, got)
            if "list" in args:
                # Pigeonhole lists in directory order, yubin sorted
                assert sorted(got.stdout.splitlines()) == sorted(want.stdout.splitlines()), \
                    (cmd, want, got)
            else:
                assert got.stdout == want.stdout, (cmd, want, got)
            assert norm(got.stderr) == want.stderr, (cmd, want, got)
            assert state(r.home) == state(home), cmd
            assert state(r_bob) == state(bob), cmd
    finally:
        with open(pidfile) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20)
