"""yubin's procmail and formail side by side with Debian's /usr/bin/procmail
and /usr/bin/formail: the same .procmailrc files (tests/e2e/data/procmail/
*.rc) and the same messages (*.eml), each implementation in its own temp
directory, must give the same mailboxes, the same forwarded copies (a
SENDMAIL script that records its arguments and input) and the same LOGFILE
lines.

Both run as the current user, as `procmail -m VAR=value... rcfile`; the rc
files find their directory, formail and sendmail in $DIR, $FORMAIL and
$SENDMAIL, so that each procmail uses its own formail.

Normalised, and only these, because they must differ between two runs:
- the time in From_ lines ("From addr  Mon Nov 23 09:15:02 2026"), which
  procmail makes itself with -f: TIME, in folders and in LOGFILE (the
  sender in them is compared);
- Maildir file names (TIME.PID_N.HOST) and procmail's msg.XXXX names in plain
  directories: a directory's files are compared as the sorted list of their
  contents, and in LOGFILE "Folder:" lines the unique part of the name is
  replaced by NAME and the tab padding before the size (which depends on the
  name's length) by one space;
- the temp directory of each run (".../real", ".../ours", names of the same
  length) is $DIR in LOGFILE lines;
- the path of formail where procmail names it in a "Folder:" line (each
  procmail runs its own formail): $FORMAIL, and the padding as above;
- yubin adds where a broken recipe is (" (rcfile, line N)") to procmail's
  own error text; the suffix is checked, then removed (ERROR_PLACE).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "procmail")
YBIN = os.environ.get("YUBIN_BIN", os.path.join(HERE, "..", "..", "build", "bin"))
REAL_PROCMAIL = "/usr/bin/procmail"
REAL_FORMAIL = "/usr/bin/formail"

ERROR_PLACE = re.compile(r" \(([^,()]+), line (\d+)\)$")
MAILDIR_NAME = re.compile(r"/(new|cur|tmp)/\d+\.\d+_\d+\.[^\s/]+")
MSG_NAME = re.compile(r"/msg\.[A-Za-z0-9_-]{4}")
FOLDER_LINE = re.compile(r"^(  Folder: .*?)\t+ *(\d+)$")
FROM_TIME = re.compile(rb"^(From \S+  )[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$",
                       re.M)

pytestmark = pytest.mark.skipif(not os.path.exists(REAL_PROCMAIL),
                                reason="Debian's procmail is not installed")

SENDMAIL_SCRIPT = """#!/bin/sh
{ echo "ARGS: $*"; cat; echo "--"; } >> "%s/sent"
"""


def messages():
    return sorted(f for f in os.listdir(DATA) if f.endswith(".eml"))


def setup_dir(base):
    os.makedirs(os.path.join(base, "mail", "saved"))
    os.makedirs(os.path.join(base, "inc"))
    for rc in ("sub.rc", "bulk.rc"):
        shutil.copy(os.path.join(DATA, "inc", rc), os.path.join(base, "inc", rc))
    sm = os.path.join(base, "sendmail.sh")
    with open(sm, "w") as f:
        f.write(SENDMAIL_SCRIPT % base)
    os.chmod(sm, 0o755)
    return sm


def run_impl(procmail, formail, rc, msgs, base, extra_args=(), args_after=(), opts=()):
    sm = setup_dir(base)
    codes = []
    for m in msgs:
        with open(os.path.join(DATA, m), "rb") as f:
            data = f.read()
        env = {"PATH": "/usr/bin:/bin", "HOME": base, "TZ": "UTC"}
        r = subprocess.run([procmail, *opts, "-m", "DIR=" + base, "FORMAIL=" + formail,
                            "SENDMAIL=" + sm, *extra_args, os.path.join(DATA, rc),
                            *args_after],
                           input=data, env=env, capture_output=True, timeout=60, cwd=base)
        codes.append((m, r.returncode, r.stderr.decode(errors="replace")))
    return codes


def norm_from(b):
    """the time in a From_ line procmail made (-f): TIME"""
    return FROM_TIME.sub(rb"\1TIME", b)


def norm_text(s):
    s = MAILDIR_NAME.sub(r"/\1/NAME", s)
    return MSG_NAME.sub("/msg.NAME", s)


def snapshot(base):
    """{path: content or sorted contents for Maildir/msg. directories}"""
    out = {}
    for root, dirs, files in os.walk(base):
        rel = os.path.relpath(root, base)
        if rel == "inc":
            continue
        unique = [f for f in files if re.match(r"^\d+\.\d+_\d+\.", f) or re.match(r"^msg\.", f)]
        if unique:
            contents = []
            for f in unique:
                with open(os.path.join(root, f), "rb") as fh:
                    contents.append(norm_from(fh.read()))
            out[rel + "/*"] = sorted(contents)
        for f in files:
            if f in unique or (rel == "." and f in ("log", "sendmail.sh")):
                continue
            with open(os.path.join(root, f), "rb") as fh:
                out[os.path.join(rel, f)] = norm_from(fh.read())
        for d in dirs:
            out.setdefault(os.path.join(rel, d) + "/", b"(dir)")
    return out


def log_lines(base, strip_place=False, formail=None):
    try:
        with open(os.path.join(base, "log"), errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    lines = []
    for line in text.split("\n"):
        # a pipe to a command that exits without reading ("/bin/false")
        # fails the write or not depending on which runs first: that line
        # is timing, not behaviour, on either side
        if line.startswith("procmail: Error while writing to "):
            continue
        line = norm_from(line.replace(base, "$DIR").encode()).decode()
        if strip_place and line.startswith("procmail: "):
            line = ERROR_PLACE.sub("", line)
        m = FOLDER_LINE.match(line)
        if m and formail and formail in m.group(1):
            line = "%s %s" % (m.group(1).replace(formail, "$FORMAIL"), m.group(2))
        elif m and (MAILDIR_NAME.search(m.group(1)) or MSG_NAME.search(m.group(1))):
            line = "%s %s" % (norm_text(m.group(1)), m.group(2))
        lines.append(line)
    return lines


def differential(tmp_path, rc, msgs=None, extra_args=(), args_after=(), opts=()):
    msgs = msgs or messages()
    real = str(tmp_path / "real")
    ours = str(tmp_path / "ours")     # as long as "real": Folder: names cut at 60
    rcodes = run_impl(REAL_PROCMAIL, REAL_FORMAIL, rc, msgs, real, extra_args, args_after, opts)
    ycodes = run_impl(os.path.join(YBIN, "procmail"), os.path.join(YBIN, "formail"), rc, msgs,
                      ours, extra_args, args_after, opts)
    assert [c[:2] for c in ycodes] == [c[:2] for c in rcodes], (ycodes, rcodes)
    rsnap, ysnap = snapshot(real), snapshot(ours)
    assert sorted(ysnap) == sorted(rsnap)
    for k in rsnap:
        assert ysnap[k] == rsnap[k], k
    yformail = os.path.join(YBIN, "formail")
    rlog = log_lines(real, formail=REAL_FORMAIL)
    ylog_raw = log_lines(ours, formail=yformail)
    ylog = log_lines(ours, strip_place=True, formail=yformail)
    assert ylog == rlog, "\n".join(ylog_raw) + "\n---- procmail:\n" + "\n".join(rlog)
    return real, ours, ylog_raw


def test_spam_tagging_with_formail_edits(tmp_path):
    real, ours, _ = differential(tmp_path, "spam.rc")
    spam = open(os.path.join(ours, "mail", "spam"), "rb").read()
    assert b"X-Spam-Flag: YES\n" in spam and b"Subject: [SPAM] You are a lottery WINNER" in spam
    assert b"Old-Subject: You are a lottery WINNER" in spam
    assert os.path.exists(os.path.join(ours, "mail", "spam.lock")) is False


def test_mailing_lists_into_maildir_folders(tmp_path):
    real, ours, _ = differential(tmp_path, "lists.rc")
    new = os.path.join(ours, "mail", ".debian.debian-user", "new")
    assert len(os.listdir(new)) == 1
    assert sorted(os.listdir(os.path.join(ours, "mail", "bounces"))) == ["1", "2"]
    assert len(os.listdir(os.path.join(ours, "mail", "reports", "new"))) == 1


def test_copies_forwarded_through_sendmail(tmp_path):
    real, ours, _ = differential(tmp_path, "forward.rc")
    sent = open(os.path.join(ours, "sent")).read()
    assert "ARGS: -oi assistant@example.org backup@example.net" in sent
    assert "ARGS: -oi -oi offers@example.com" in sent
    assert "\nFrom boss@example.org  " not in sent   # the From_ line is not forwarded


def test_autoreply_with_duplicate_suppression(tmp_path):
    real, ours, _ = differential(tmp_path, "vacation.rc")
    sent = open(os.path.join(ours, "sent")).read()
    # the prize mail, the boss, the friend (once: the second copy is a
    # duplicate), the report; not the list, the bounce or the bulk mail
    assert sent.count("I am away until Monday.") == 4, sent
    assert "To: friend.home@example.com" in sent and "X-Loop: me@example.org" in sent
    # the second copy of the friend's mail went into formail -D, not the inbox
    inbox = open(os.path.join(ours, "mail", "inbox"), "rb").read()
    assert inbox.count(b"Message-ID: <lunch-42@example.com>") == 1
    assert b"<lunch-42@example.com>\0" in open(os.path.join(ours, "mail", "msgid.cache"), "rb").read()


def test_scoring_nested_blocks_and_exit_codes(tmp_path):
    real, ours, _ = differential(tmp_path, "score.rc")
    assert os.path.exists(os.path.join(ours, "mail", "long"))
    assert os.path.exists(os.path.join(ours, "mail", "order-12345"))
    assert b"urgent" in open(os.path.join(ours, "mail", "priority"), "rb").read()


def test_includerc_and_broken_recipe_reaches_default(tmp_path):
    real, ours, ylog = differential(tmp_path, "include.rc")
    errors = [line for line in ylog if line.startswith("procmail: Skipped")]
    assert errors, ylog
    rcpath = os.path.join(DATA, "include.rc")
    for e in errors:
        m = ERROR_PLACE.search(e)
        assert m and m.group(1) == rcpath and m.group(2) == "7", e
    inbox = open(os.path.join(ours, "mail", "inbox"), "rb").read()
    assert b"Subject: urgent: meeting moved" in inbox


def test_expansion_and_arguments(tmp_path):
    real, ours, ylog = differential(tmp_path, "expand.rc", msgs=["05-friend.eml"],
                                    args_after=("a1", "a 2", "a3"))
    assert "after shift: 2 [a 2] []" in ylog, ylog
    # a line with a SHELLMETAS character ('[') is the shell's: its "$@" is empty
    assert open(os.path.join(ours, "argv-split")).read() == "[one][two][one  two][$A][xone][twoy]"
    # a line without is procmail's: "$@" is the arguments after SHIFT
    assert "ARGS=[one:two:a 2:a3:xone:two:]" in ylog, ylog
    # "$1" unquoted splits: the folder is "mail/a", "2-folder" is skipped
    assert 'procmail: Skipped "2-folder"' in ylog
    assert b"Subject: lunch?" in open(os.path.join(ours, "mail", "a"), "rb").read()


def test_unusual_mail(tmp_path):
    msgs = sorted("odd/" + f for f in os.listdir(os.path.join(DATA, "odd")) if f.endswith(".eml"))
    real, ours, ylog = differential(tmp_path, "odd/odd.rc", msgs=msgs)
    inbox = open(os.path.join(ours, "inbox"), "rb").read()
    assert b"\r\n>From here\r\n" in inbox     # CRLF mail: its body is still escaped
    assert 'procmail: Skipped "header only"' in ylog


def test_parts_raw_mode_and_filters_then_folders(tmp_path):
    real, ours, _ = differential(tmp_path, "parts.rc")
    body = open(os.path.join(ours, "mail", "bodies"), "rb").read()
    assert b"Return-Path" not in body and b"PLEASE BE THERE" not in body


def test_trap_exitcode_switchrc_and_every_abstract(tmp_path):
    real, ours, ylog = differential(tmp_path, "trap.rc")
    assert "trap saw exit code 0" in ylog and "in bulk.rc" in ylog
    assert os.path.exists(os.path.join(ours, "mail", "friends"))
    assert os.path.exists(os.path.join(ours, "mail", "urgent-copy"))
    saved = os.listdir(os.path.join(ours, "mail", "saved"))
    assert len(saved) == 2 and all(n.startswith("msg.") for n in saved), saved
    assert any(re.match(r"  Folder: saved/msg\.NAME \d+$", line) for line in ylog), ylog


REGEXPS = [
    r"^Subject: lunch\?", r"^subject: LUNCH", r"^From:.*friend", r"^TO_me@example\.org", r"^TOme",
    r"^FROM_DAEMON", r"^FROM_MAILER", r"lunch$", r"^Reply-To:.*home$", r"example\.(com|org)",
    r"^(From|To):", r"[^a-z]friend", r"\<friend\>", r"^Subj(ect)?:", r"^X-Nope:", r"a{2}",
    r"^Message-ID: <[a-z]+-[0-9]+@", r"^^From friend", r"^^Return", r"()", r".*", r"^$",
    r"^To:.*$^Subject", r"^To: Me <me@example\.org>$", r"friend\.home", r"ple\.c+om",
    r"^Subject:.*\/[a-z]+", r"^Reply-To: *\/[^@]+", r"^From: \/[^<]*", r"^Message-ID:.*@\/.*",
    r"^Subject: \/lunch\?", r"^To:.*<\/[^>]+", r"^Subject:.*moved to", r"^Cc:.*\/team",
    r"^TO_team@", r"^Subject:\/.*$", r"Thursday$", r"(^|[^a-z])urgent", r"^Return-Path: <>",
]
WEIGHTS = [r"2^1 o", r"1^0.5 e", r"-1^1 ^.*$", r"3^0 ^From", r"1^2 [aeiou]", r"10^-1 [a-z]+",
           r"5^3 ? /bin/true", r"5^3 ? /bin/false", r"2^1 ! ? /bin/false", r"4^1 ! ^X-Nope",
           r"4^1 ! ^From", r"2^1 > 100", r"2^1 < 1000", r"1^3 > 200", r"-7^0 \<the\>",
           r"1^1 $ ^From:.*$\\MATCHX"]


def test_regexp_dialect_battery(tmp_path):
    """each expression, case rule, macro, anchor, \\/ extraction and weight,
    on three messages: the same MATCH, the same yes/no, the same $="""
    rc = ["LOGFILE=$DIR/log", "DEFAULT=/dev/null"]
    for i, p in enumerate(REGEXPS):
        rc += [":0", "* " + p, '{ LOG="%d yes [$MATCH]\n" }' % i, ":0 E",
               '{ LOG="%d no\n" }' % i, "MATCH="]
    for i, p in enumerate([r"^Lunch", r"^From my", r"works\.$", r"^^Lunch", r"side any", r"^$"]):
        rc += [":0 B", "* " + p, '{ LOG="B%d yes\n" }' % i, ":0 E", '{ LOG="B%d no\n" }' % i]
    for i, w in enumerate(WEIGHTS):
        rc += [":0 HB", "* " + w, '{ }', 'LOG="W%d $=\n"' % i]
    path = tmp_path / "regexps.rc"
    path.write_text("\n".join(rc) + "\n")
    global DATA
    saved = DATA
    try:
        DATA = str(tmp_path)
        for m in ("03-boss.eml", "04-bounce.eml", "05-friend.eml"):
            shutil.copy(os.path.join(saved, m), tmp_path / m)
        os.makedirs(tmp_path / "inc")
        for rcf in ("sub.rc", "bulk.rc"):
            shutil.copy(os.path.join(saved, "inc", rcf), tmp_path / "inc" / rcf)
        real, ours, ylog = differential(tmp_path, "regexps.rc",
                                        msgs=["03-boss.eml", "04-bounce.eml", "05-friend.eml"])
    finally:
        DATA = saved
    assert "0 yes []" in ylog and "29 yes [example.com>]" in ylog, ylog


def test_errors_are_logged_and_the_mail_still_delivered(tmp_path):
    real, ours, ylog = differential(tmp_path, "errors.rc")
    rcpath = os.path.join(DATA, "errors.rc")
    assert 'procmail: Invalid regexp "(abc" (%s, line 10)' % rcpath in ylog, ylog
    assert 'procmail: Skipped "@@@ garbage line" (%s, line 12)' % rcpath in ylog
    assert 'procmail: Skipped "Q" (%s, line 13)' % rcpath in ylog
    assert 'procmail: Program failure (1) of "/bin/false"' in ylog
    boss = open(os.path.join(ours, "mail", "after-failure"), "rb").read()
    assert b"Subject: urgent" in boss
    # every message is somewhere: the inbox, "after-failure" or "}"
    total = sum(open(os.path.join(ours, "mail", f), "rb").read().count(b"\nMessage-ID: ")
                for f in ("inbox", "after-failure", "}"))
    assert total == len(messages())


def test_from_option_makes_the_from_line(tmp_path):
    for opts in (("-f", "bounces+x@example.net"), ("-f", "-")):
        d = tmp_path / opts[1].replace("+", "_").replace("@", "_")
        d.mkdir()
        real, ours, ylog = differential(d, "spam.rc", opts=opts)
        head = open(os.path.join(ours, "mail", "spam"), "rb").read().split(b"\n")[0]
        if opts[1] == "-":
            assert re.match(rb"From lucky@prizes\.example  [A-Z]", head), head
        else:
            assert head.startswith(b"From bounces+x@example.net  "), head
        assert "From %s  TIME" % ("lucky@prizes.example" if opts[1] == "-" else opts[1]) in ylog


def test_stale_lockfile_is_forced_and_global_lockfile_released(tmp_path):
    msg = open(os.path.join(DATA, "05-friend.eml"), "rb").read()
    out = {}
    for name, prog in (("real", REAL_PROCMAIL), ("ours", os.path.join(YBIN, "procmail"))):
        d = tmp_path / name
        d.mkdir()
        lock = d / "box.lock"
        lock.write_text("")
        os.utime(lock, (os.path.getmtime(lock) - 3600,) * 2)
        rc = d / "rc"
        # SUSPEND: Debian's procmail pauses that long after forcing a lock
        rc.write_text("SUSPEND=1\nLOGFILE=%s/log\nLOCKTIMEOUT=60\nLOCKFILE=%s/global.lock\n"
                      ":0:\n%s/box\n"
                      % (d, d, d))
        r = subprocess.run([prog, "-m", str(rc)], input=msg, env={"PATH": "/usr/bin:/bin"},
                           capture_output=True, timeout=60)
        out[name] = (r.returncode, sorted(os.listdir(d)), open(d / "box", "rb").read(),
                     log_lines(str(d)))
    assert out["ours"] == out["real"]
    assert 'procmail: Forcing lock on "$DIR/box.lock"' in out["ours"][3]


def test_held_lockfile_is_waited_for(tmp_path):
    msg = open(os.path.join(DATA, "05-friend.eml"), "rb").read()
    lock = tmp_path / "box.lock"
    lock.write_text("")
    rc = tmp_path / "rc"
    rc.write_text("LOCKSLEEP=1\n:0:\n%s/box\n" % tmp_path)
    p = subprocess.Popen([os.path.join(YBIN, "procmail"), "-m", str(rc)], stdin=subprocess.PIPE,
                         env={"PATH": "/usr/bin:/bin"})
    p.stdin.write(msg)
    p.stdin.close()
    try:
        # while the lock is held nothing is written and procmail waits
        for _ in range(10):
            assert p.poll() is None and not (tmp_path / "box").exists()
            time.sleep(0.1)
        lock.unlink()
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
    # the body's "From " line gets its '>' in an mbox
    assert open(tmp_path / "box", "rb").read() == msg.replace(b"\nFrom my", b"\n>From my") + b"\n"
    assert not lock.exists()


def test_exit_code_when_nothing_can_be_written(tmp_path):
    """73 (EX_CANTCREAT: the MTA bounces), 75 with -t (EX_TEMPFAIL: it
    defers), and the abstract says so; the retry settings only make
    Debian's procmail give up sooner."""
    afile = tmp_path / "afile"
    afile.write_text("")
    msg = open(os.path.join(DATA, "05-friend.eml"), "rb").read()
    results = {}
    for name, prog in (("real", REAL_PROCMAIL), ("yubin", os.path.join(YBIN, "procmail"))):
        for flags in ((), ("-t",)):
            d = tmp_path / ("%s%s" % (name, "".join(flags)))
            d.mkdir()
            rc = d / "rc"
            rc.write_text("NORESRETRY=0\nSUSPEND=1\nLOCKSLEEP=1\nDEFAULT=%s/box\n"
                          "LOGFILE=%s/log\n" % (afile, d))
            r = subprocess.run([prog, *flags, "-m", str(rc)], input=msg,
                               env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                               capture_output=True, timeout=120)
            results[(name, flags)] = (r.returncode, log_lines(str(d), strip_place=True))
    assert results[("yubin", ())] == results[("real", ())]
    assert results[("yubin", ())][0] == 73
    assert "  Folder: **Bounced**\t\t\t\t\t\t\t      0" in results[("yubin", ())][1]
    assert results[("yubin", ("-t",))] == results[("real", ("-t",))]
    assert results[("yubin", ("-t",))][0] == 75


def test_formail_matches_debian_formail():
    msg = open(os.path.join(DATA, "03-boss.eml"), "rb").read()
    for args in (["-r"], ["-rt"], ["-x", "Subject:"], ["-X", "Subject:", "-x", "To:"],
                 ["-A", "X-A: 1", "-I", "Subject: new", "-i", "To: you", "-a", "X-New: y"],
                 ["-c", "-rk"], ["-f", "-I", "Cc:"], ["-rt", "-I", "Precedence: junk"]):
        real = subprocess.run([REAL_FORMAIL, *args], input=msg, capture_output=True)
        ours = subprocess.run([os.path.join(YBIN, "formail"), *args], input=msg,
                              capture_output=True)
        assert (ours.returncode, ours.stdout) == (real.returncode, real.stdout), args
    # a mailbox of three: split, quoting prefixes, escaping
    box = b"".join(open(os.path.join(DATA, m), "rb").read() for m in messages()[:3]) + b"\n"
    for args in (["-s"], ["-s", "cat"], ["-f", "-A", "X-Y: z", "-s"], ["-k", "-r"],
                 ["-k", "-r", "-b"], ["-rk", "-p", "| "], ["-p", "| "], ["-b"], ["-c"],
                 ["-rtzxTo:"], ["-zxSubject:"]):
        real = subprocess.run([REAL_FORMAIL, *args], input=box, capture_output=True)
        ours = subprocess.run([os.path.join(YBIN, "formail"), *args], input=box,
                              capture_output=True)
        assert (ours.returncode, ours.stdout) == (real.returncode, real.stdout), args


def test_world_writable_rcfile_is_not_run(tmp_path):
    """an rcfile others could have written is skipped (and said so), the
    mail goes to DEFAULT: the same as procmail"""
    msg = open(os.path.join(DATA, "05-friend.eml"), "rb").read()
    out = {}
    for name, prog in (("real", REAL_PROCMAIL), ("yubin", os.path.join(YBIN, "procmail"))):
        d = tmp_path / name
        d.mkdir()
        rc = d / "rc"
        rc.write_text(":0\n%s/other\n" % d)
        os.chmod(rc, 0o666)
        r = subprocess.run([prog, "DEFAULT=%s/box" % d, str(rc)], input=msg,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(d)}, capture_output=True,
                           timeout=60)
        out[name] = (r.returncode, sorted(os.listdir(d)), open(d / "box", "rb").read(),
                     r.stderr.decode().replace(str(d), "D"))
    assert out["yubin"] == out["real"]
    assert "Suspicious rcfile" in out["yubin"][3]


def test_delivery_mode_as_root_becomes_the_user(run):
    """procmail -d USER as root: the rcfile, the programs and the folders
    all run as USER"""
    if os.geteuid() != 0:
        pytest.skip("needs root for useradd")
    from test_local_delivery import Lab
    base = tempfile.mkdtemp(prefix="yubin-pmd-", dir="/tmp")
    os.chmod(base, 0o755)
    lab = Lab(base, run)
    try:
        u = lab.useradd()
        rc = os.path.join(u.pw_dir, ".procmailrc")
        with open(rc, "w") as f:
            f.write("MAILDIR=$HOME/Mail\nLOGFILE=$HOME/pm.log\n"
                    ":0 c\n| id -u > $HOME/uid\n:0:\ninbox\n")
        os.chown(rc, u.pw_uid, u.pw_gid)
        os.mkdir(os.path.join(u.pw_dir, "Mail"))
        os.chown(os.path.join(u.pw_dir, "Mail"), u.pw_uid, u.pw_gid)
        msg = open(os.path.join(DATA, "03-boss.eml"), "rb").read()
        r = subprocess.run([os.path.join(YBIN, "procmail"), "-d", u.pw_name], input=msg,
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r
        inbox = os.path.join(u.pw_dir, "Mail", "inbox")
        assert os.stat(inbox).st_uid == u.pw_uid
        assert open(inbox, "rb").read() == msg + b"\n"
        assert open(os.path.join(u.pw_dir, "uid")).read().strip() == str(u.pw_uid)
        assert "  Folder: inbox" in open(os.path.join(u.pw_dir, "pm.log")).read()
        r = subprocess.run([os.path.join(YBIN, "procmail"), "-d", "no-such-user-here"],
                           input=msg, capture_output=True, timeout=60)
        assert r.returncode == 67, r
    finally:
        lab.close()
        shutil.rmtree(base, ignore_errors=True)


def test_yubin_procmail_as_mailbox_command(run):
    """yubin's local delivery runs yubin's procmail as mailbox_command, as
    the recipient, with $1 from -a "$EXTENSION"."""
    if os.geteuid() != 0:
        pytest.skip("needs root for useradd")
    from test_local_delivery import Lab, wait_for
    base = tempfile.mkdtemp(prefix="yubin-pm-", dir="/tmp")
    os.chmod(base, 0o755)
    lab = Lab(base, run)
    try:
        u = lab.useradd()
        rc = os.path.join(u.pw_dir, ".procmailrc")
        with open(rc, "w") as f:
            f.write("MAILDIR=$HOME/pm\nLOGFILE=$HOME/pm.log\nEXT=$1\n"
                    ":0\n* EXT ?? ^tag$\n* ^Subject: .*sorted\nsorted-$EXT/\n")
        os.chown(rc, u.pw_uid, u.pw_gid)
        os.chmod(rc, 0o644)
        os.mkdir(os.path.join(u.pw_dir, "pm"))
        os.chown(os.path.join(u.pw_dir, "pm"), u.pw_uid, u.pw_gid)
        pm = os.path.abspath(os.path.join(YBIN, "procmail"))
        lab.configure("mailbox_command = %s -a \"$EXTENSION\"\n" % pm)
        lab.start()
        assert lab.send(["%s+tag@local.test" % u.pw_name], subject="to be sorted") == {}
        assert lab.delivered(r"to=<%s\+tag@local.test>, relay=local, .*status=sent "
                             r"\(delivered to command: " % u.pw_name), lab.maillog()
        new = os.path.join(u.pw_dir, "pm", "sorted-tag", "new")
        assert wait_for(lambda: os.path.isdir(new) and os.listdir(new))
        f = os.path.join(new, os.listdir(new)[0])
        assert os.stat(f).st_uid == u.pw_uid
        assert "Subject: to be sorted" in open(f).read()
        log = open(os.path.join(u.pw_dir, "pm.log")).read()
        assert re.search(r"  Folder: sorted-tag/new/\S+\t+ *\d+\n", log), log
    finally:
        lab.close()
        shutil.rmtree(base, ignore_errors=True)
