"""sendmail(1) through maildrop and pickup: accepted with the daemons
stopped, delivered after they start; -t (recipients from To/Cc/Bcc, Bcc
removed), -i, -f, -F, the headers pickup adds, -bs, -bi; canonical and
virtual alias rewriting at pickup (orig_to= in the delivery log)."""
import os
import re

import pytest

from test_master import maillog, start, wait_for


@pytest.fixture
def inst(instance_factory, tmp_path):
    """conftest's Instance (stopped by instance_factory), seen as the dict
    these tests use"""
    etc = tmp_path / "i0" / "etc"
    i = instance_factory(
        main_extra="myhostname = mx.example.com\nmydomain = example.com\n"
        "myorigin = $mydomain\ndefault_transport = discard:test\n"
        "mydestination = localhost\nlocal_transport = discard:local\n"
        "alias_maps = hash:%s/aliases\nalias_database = hash:%s/aliases\n"
        "canonical_maps = inline:{ {joe@example.com = Joe.Smith@example.com} }\n"
        "virtual_alias_maps = inline:{ {team@v.test = a@x.org, b@x.org} }\n" % (etc, etc),
        master_extra="pickup    unix  n       -       n       60      1       pickup\n")
    assert i.etc == str(etc)
    (etc / "aliases").write_text("postmaster: root\n")
    return {"etc": i.etc, "spool": i.spool, "log": i.log, "env": {"MAIL_CONFIG": i.etc}}


def committed(d):
    """Queue files in d, not the temporary names of a writer at work."""
    return sorted(f for f in os.listdir(d) if not f.startswith("t.")) if os.path.isdir(d) else []


def maildrop(inst):
    d = os.path.join(inst["spool"], "maildrop")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_t_with_daemons_stopped(run, inst):
    msg = ("From: someone@example.org\nTo: Bob <bob@example.net>, carol@example.net\n"
           "Cc: (copy) dave@example.net\nBcc: secret@example.net\nSubject: hi\n\n"
           "line\n.\nafter dot\n")
    r = run("sendmail", "-t", "-i", "-f", "alice@example.org", env=inst["env"], stdin=msg)
    assert r.rc == 0, r
    files = maildrop(inst)
    assert len(files) == 1, files
    r = run("postcat", "-e", os.path.join(inst["spool"], "maildrop", files[0]),
            env=inst["env"])
    for a in ("bob@example.net", "carol@example.net", "dave@example.net",
              "secret@example.net"):
        assert a in r.out, r
    start(run, inst)
    assert wait_for(lambda: maildrop(inst) == []), maillog(inst)
    m = wait_for(lambda: re.search(r"yubin/pickup\[\d+\]: (\w+): uid=%d from=<alice@example.org>"
                                   % os.getuid(), maillog(inst)))
    assert m, maillog(inst)
    qid = m.group(1)
    assert wait_for(lambda: "%s: removed" % qid in maillog(inst)), maillog(inst)
    log = maillog(inst)
    for a in ("bob@example.net", "carol@example.net", "dave@example.net",
              "secret@example.net"):
        assert re.search(r"yubin/discard\[\d+\]: %s: to=<%s>, .*status=sent" % (qid, a), log)
    assert re.search(r"%s: message-id=<\d{14}\.%s@mx\.example\.com>" % (qid, qid), log), log


def test_headers_added_and_bcc_removed(run, inst):
    # with qmgr not running, pickup's result stays in incoming for postcat
    (open(os.path.join(inst["etc"], "master.cf"), "w")
     .write("pickup    unix  n       -       n       60      1       pickup\n"))
    r = run("sendmail", "-t", "-F", "Joe Q", "-f", "joe", env=inst["env"],
            stdin="To: x@example.net\nBcc: hidden@example.net\nSubject: s\n\nbody\n.\nnot this\n")
    assert r.rc == 0, r
    start(run, inst)
    inc = os.path.join(inst["spool"], "incoming")
    assert wait_for(lambda: committed(inc)), maillog(inst)
    qid = committed(inc)[0]
    r = run("postcat", "-q", qid, env=inst["env"])
    assert r.rc == 0, r
    # canonical_maps rewrote the envelope sender after myorigin
    assert "Joe.Smith@example.com" in r.out, r.out
    assert "Bcc:" not in r.out and "hidden@example.net" not in r.out.split("To:")[1], r.out
    assert re.search(r"Received: by mx\.example\.com \(yubin, from userid %d\)" % os.getuid(),
                     r.out), r.out
    assert re.search(r"Message-Id: <\d{14}\.%s@mx\.example\.com>" % qid, r.out), r.out
    assert "Date: " in r.out
    assert 'From: "Joe Q" <Joe.Smith@example.com>' in r.out, r.out
    assert "not this" not in r.out


def test_virtual_alias_and_orig_to(run, inst):
    r = run("sendmail", "-f", "alice@example.org", "team@v.test", env=inst["env"],
            stdin="Subject: v\n\nx\n")
    assert r.rc == 0, r
    start(run, inst)
    m = wait_for(lambda: re.search(r"pickup\[\d+\]: (\w+): uid=", maillog(inst)))
    assert m, maillog(inst)
    qid = m.group(1)
    assert wait_for(lambda: "%s: removed" % qid in maillog(inst)), maillog(inst)
    log = maillog(inst)
    for a in ("a@x.org", "b@x.org"):
        assert re.search(r"%s: to=<%s>, orig_to=<team@v.test>, .*status=sent" % (qid, a),
                         log), log


def test_no_recipients(run, inst):
    r = run("sendmail", "-t", env=inst["env"], stdin="Subject: none\n\nx\n")
    assert r.rc == 64, r
    assert "No recipient addresses found in message header" in r.err
    assert maildrop(inst) == []


def test_bs_dialogue(run, inst):
    r = run("sendmail", "-bs", env=inst["env"],
            stdin="EHLO client\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n"
                  "DATA\r\nSubject: bs\r\n\r\n..dotted\r\n.\r\nQUIT\r\n")
    assert r.rc == 0, r
    lines = [l.rstrip("\r") for l in r.out.splitlines()]
    assert lines[0] == "220 mx.example.com ESMTP yubin", lines
    assert "250 2.1.0 Ok" in lines and "250 2.1.5 Ok" in lines
    assert "354 End data with <CR><LF>.<CR><LF>" in lines
    assert any(re.match(r"250 2\.0\.0 Ok: queued as \w+$", l) for l in lines), lines
    assert lines[-1] == "221 2.0.0 Bye"
    files = maildrop(inst)
    assert len(files) == 1
    r = run("postcat", "-b", os.path.join(inst["spool"], "maildrop", files[0]), env=inst["env"])
    assert ".dotted" in r.out and "..dotted" not in r.out, r.out


def test_bi_builds_aliases(run, inst):
    r = run("sendmail", "-bi", env=inst["env"])
    assert r.rc == 0, r
    assert os.path.exists(os.path.join(inst["etc"], "aliases.db"))
    r = run("postalias", "-q", "postmaster", "hash:%s/aliases" % inst["etc"], env=inst["env"])
    assert r.out.strip() == "root", r


def test_header_addresses_rewritten_by_canonical_maps(run, inst):
    # canonical_classes includes header_sender and header_recipient: the
    # From, To and Cc of locally submitted mail are rewritten too, display
    # names and comments kept byte for byte
    (open(os.path.join(inst["etc"], "master.cf"), "w")
     .write("pickup    unix  n       -       n       60      1       pickup\n"))
    r = run("sendmail", "-t", "-f", "someone@example.net", env=inst["env"],
            stdin="From: \"Joe (home)\" <joe@example.com>\nTo: joe (Joe), x@example.net\n"
                  "Cc: Team: joe@example.com;\nSubject: joe@example.com\n\nbody\n")
    assert r.rc == 0, r
    start(run, inst)
    inc = os.path.join(inst["spool"], "incoming")
    assert wait_for(lambda: committed(inc)), maillog(inst)
    r = run("postcat", "-h", "-q", committed(inc)[0], env=inst["env"])
    assert r.rc == 0, r
    assert 'From: "Joe (home)" <Joe.Smith@example.com>' in r.out, r.out
    # bare "joe" gets myorigin first, then the canonical mapping
    assert "To: Joe.Smith@example.com (Joe), x@example.net" in r.out, r.out
    assert "Cc: Team: Joe.Smith@example.com;" in r.out, r.out
    assert "Subject: joe@example.com" in r.out, r.out
