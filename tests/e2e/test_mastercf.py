"""master.cf parsing against the real Postfix: option forms, continuation
and comment lines, host:port names, and the wording of malformed entries,
seen through yubin's postconf -M and postfix check."""
import pytest

GOOD_MAIN = "compatibility_level = 3.6\n"

# Entries whose postconf -M / -Mf rendering exercises the normalization:
# braces, "-oname=value", "-vo", "--", arguments with blanks, comments and
# blank lines inside an entry, CR LF line ends, a missing final newline.
TRICKY = [
    "smtp inet n - n - - smtpd\n  -o a=b\n  -o { c = d e }\n -oe=f -v -o{ g = h }\n"
    "  x {y z} -o i=j\n",
    "s unix - - - - - cmd -voa=b {p q} {r s}\n",
    "smtp inet n - n - - smtpd\n\n# comment inside\n  -o a=b\n\t-o c=d\n",
    "smtp inet n - n - - smtpd -o { c = d e \n",
    "smtp inet n - n - - smtpd -o {a=b}x -- -o x=y\n",
    "smtp inet n - n - - smtpd\r\n  -o a=b\r\n",
    "127.0.0.1:2525 inet n - n - - smtpd",
    "[::1]:2525 inet n - n 0 1 smtpd -o smtpd_tls_wrappermode=yes\n",
    "a-very-long-service-name-here unix-dgram n - n 1000? 0 postlogd\n",
    "maildrop  unix  -       n       n       -       -       pipe\n"
    "  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient} and some more "
    "arguments to wrap the line several times over\n",
]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("flag", ["-M", "-Mf", "-P"])
def test_tricky_entries_print_like_postfix(run, run_real, confdir, text, flag):
    (confdir / "main.cf").write_text(GOOD_MAIN)
    (confdir / "master.cf").write_text(text)
    real = run_real("postconf", "-c", str(confdir), flag)
    ours = run("postconf", "-c", str(confdir), flag)
    assert real.rc == 0 and ours.rc == 0, (real, ours)
    assert ours.out == real.out


def test_stray_continuation_line_is_skipped_with_a_warning(run, run_real, confdir):
    (confdir / "main.cf").write_text(GOOD_MAIN)
    (confdir / "master.cf").write_text("  -o stray=1\nsmtp inet n - n - - smtpd\n")
    real = run_real("postconf", "-c", str(confdir), "-M")
    ours = run("postconf", "-c", str(confdir), "-M")
    assert ours.out == real.out == "smtp       inet  n       -       n       -       -       smtpd\n"
    assert 'logical line must not start with whitespace: "  -o stray=1"' in real.err
    assert 'line 1: logical line must not start with whitespace: "  -o stray=1"' in ours.err


# (master.cf text, the line it is on, what real postconf -M says)
MALFORMED = [
    ("smtp inet n - n - - smtpd\nfoo bar\n", 2, "bad field count"),
    ("smtp inet n - n - - smtpd\n\n# c\nfoo\n  bar baz\n", 4, "bad field count"),
    ("smtp xinet n - n - - smtpd\n", 1,
     'invalid type field "xinet" in "smtp xinet n - n - - smtpd"'),
    ("smtp inet x - n - - smtpd\n", 1,
     'invalid private field "x" in "smtp inet x - n - - smtpd"'),
    ("smtp inet n yy n - - smtpd\n", 1,
     'invalid unprivileged field "yy" in "smtp inet n yy n - - smtpd"'),
    ("smtp inet n - Y - - smtpd\n", 1,
     'invalid chroot field "Y" in "smtp inet n - Y - - smtpd"'),
    ("# x\nsmtp inet n - n 1x - smtpd\n", 2,
     'invalid wakeup field "1x" in "smtp inet n - n 1x - smtpd"'),
    ("smtp inet n - n 0 -1 smtpd\n", 1,
     'invalid process_limit field "-1" in "smtp inet n - n 0 -1 smtpd"'),
    ("x unix n - n - bad\n  cmd\n", 1,
     'invalid process_limit field "bad" in "x unix n - n - bad  cmd"'),
]


@pytest.mark.parametrize("text,line,message", MALFORMED)
def test_malformed_entries_use_postfix_wording(run, run_real, confdir, text, line, message):
    (confdir / "main.cf").write_text(GOOD_MAIN)
    (confdir / "master.cf").write_text(text)
    real = run_real("postconf", "-c", str(confdir), "-M")
    assert real.rc == 1 and ("fatal: " in real.err) and message in real.err, real
    want = "file %s/master.cf: line %d: %s" % (confdir, line, message)
    ours = run("postconf", "-c", str(confdir), "-M")
    assert ours.rc == 1 and want in ours.err, ours
    check = run("postfix", "-c", str(confdir), "check")
    assert check.rc == 1 and ("postfix: fatal: " + want) in check.err, check


def test_master_start_up_problems_fail_postfix_check(run, confdir):
    (confdir / "main.cf").write_text(GOOD_MAIN + "queue_directory = %s/q\n" % confdir)
    (confdir / "master.cf").write_text(
        "smtp inet n - n - - smtpd\n"
        "smtp inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n"
        "127.0.0.1:2525 inet y - n - - smtpd\n"
        "nosuchport inet n - n - - smtpd\n"
        "submission inet n - n - - smtpd -o smtpd_sasl_auth_enable=perhaps\n")
    r = run("postfix", "-c", str(confdir), "check")
    path = "%s/master.cf" % confdir
    assert r.rc == 1, r
    assert ('postfix: warning: %s: line 2: duplicate master.cf entry for service "smtp" (inet)'
            ' -- using the last entry' % path) in r.err
    assert "postfix: fatal: %s: line 3: inet service cannot be private" % path in r.err
    assert "postfix: fatal: %s: line 4: unknown service: nosuchport/tcp" % path in r.err
    assert ("postfix: fatal: %s: line 5: bad boolean configuration: "
            "smtpd_sasl_auth_enable = perhaps" % path) in r.err


def test_garbage_master_cf_fails_cleanly(run, confdir):
    (confdir / "main.cf").write_text(GOOD_MAIN)
    (confdir / "master.cf").write_bytes(bytes(range(256)) * 64 + b"\0\n" + b"x" * 2000000)
    r = run("postfix", "-c", str(confdir), "check", timeout=30)
    assert r.rc == 1 and "master.cf: line" in r.err
    assert "AddressSanitizer" not in r.err and "runtime error" not in r.err
