"""smtpd's header address rewriting, as Postfix's cleanup does it for mail
received over SMTP: clients in local_header_rewrite_clients (default
permit_inet_interfaces: 127.0.0.1 is one of this host's addresses) get
canonical_maps and $myorigin on the address fields of the header; other
clients get nothing, or remote_header_rewrite_domain for incomplete
addresses when that is set. Messages stay queued (a retry transport) so
that postcat shows what was stored. Field boundaries split across TCP
segments, folded fields, BDAT and body lines that look like fields are
covered."""
import re
import smtplib
import socket
import time

import pytest

RETRY = "retry     unix  -       -       n       -       -       retry\n"
BASE = ("local_transport = retry:\ndefault_transport = retry:\n"
        "canonical_maps = inline:{ {joe@test.example = Joe.Smith@test.example} }\n"
        "myorigin = test.example\n")

HEADER = ("From: Joe <joe@test.example>\r\n"
          "To: bare, \"Some One\" <other@elsewhere.test>,\r\n"
          "\tfolded (a comment)\r\n"
          "Cc: undisclosed-recipients:;\r\n"
          "Subject: joe@test.example stays\r\n"
          "Message-ID: <hr-%s@test>\r\n"
          "\r\n"
          "To: bare\r\n"
          "body by joe@test.example\r\n")


def queued(run, inst, qid):
    r = run("postcat", "-bh", "-q", qid, env={"MAIL_CONFIG": inst.etc})
    assert r.rc == 0, r
    return "\n".join(l for l in r.out.split("\n") if not l.startswith("*** "))


def send_smtplib(inst, text):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=20) as s:
        s.ehlo("client.test")
        s.mail("sender@remote.test")
        s.rcpt("user@test.example")
        code, reply = s.data(text.encode())
    assert code == 250, reply
    return re.search(rb"queued as (\w+)", reply).group(1).decode()


def send_dribbled(inst, text, piece=3, bdat=False):
    """The message in pieces of a few bytes, each its own segment, so that
    field boundaries and continuation lines fall between reads."""
    with socket.create_connection(("127.0.0.1", inst.port), timeout=20) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")

        def cmd(line):
            s.sendall(line + b"\r\n")
            while True:
                r = f.readline()
                if r[3:4] != b"-":
                    return r
        assert f.readline().startswith(b"220")
        assert cmd(b"EHLO client.test").startswith(b"250")
        assert cmd(b"MAIL FROM:<sender@remote.test>").startswith(b"250")
        assert cmd(b"RCPT TO:<user@test.example>").startswith(b"250")
        data = text.encode()
        if bdat:
            half = len(data) // 2
            for chunk, last in ((data[:half], False), (data[half:], True)):
                s.sendall(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b""))
                for i in range(0, len(chunk), piece):
                    s.sendall(chunk[i:i + piece])
                    time.sleep(0.001)
                r = f.readline()
                assert r.startswith(b"250"), r
        else:
            assert cmd(b"DATA").startswith(b"354")
            data += b".\r\n"
            for i in range(0, len(data), piece):
                s.sendall(data[i:i + piece])
                time.sleep(0.001)
            r = f.readline()
            assert r.startswith(b"250"), r
        cmd(b"QUIT")
    return re.search(rb"queued as (\w+)", r).group(1).decode()


def assert_local_rewriting(text):
    assert "\nFrom: Joe <Joe.Smith@test.example>\n" in text, text
    assert ("\nTo: bare@test.example, \"Some One\" <other@elsewhere.test>,\n"
            "\tfolded@test.example (a comment)\n") in text, text
    assert "\nCc: undisclosed-recipients:;\n" in text
    assert "\nSubject: joe@test.example stays\n" in text
    # the body is never rewritten, even where it looks like a header
    assert "\n\nTo: bare\nbody by joe@test.example\n" in text


@pytest.mark.parametrize("how", ["smtplib", "dribbled-data", "dribbled-bdat"])
def test_local_client_headers_get_canonical_maps_and_myorigin(run, instance_factory, how):
    inst = instance_factory(main_extra=BASE, master_extra=RETRY)
    inst.start()
    text = HEADER % how
    if how == "smtplib":
        qid = send_smtplib(inst, text)
    else:
        qid = send_dribbled(inst, text, bdat=how.endswith("bdat"))
    assert_local_rewriting(queued(run, inst, qid))


def test_remote_client_headers_are_left_alone_by_default(run, instance_factory):
    inst = instance_factory(main_extra=BASE + "local_header_rewrite_clients =\n",
                            master_extra=RETRY)
    inst.start()
    qid = send_smtplib(inst, HEADER % "remote")
    text = queued(run, inst, qid)
    assert "\nFrom: Joe <joe@test.example>\n" in text, text
    assert "\nTo: bare, \"Some One\" <other@elsewhere.test>,\n\tfolded (a comment)\n" in text


def test_remote_header_rewrite_domain_completes_remote_addresses(run, instance_factory):
    inst = instance_factory(main_extra=BASE + "local_header_rewrite_clients =\n"
                            "remote_header_rewrite_domain = domain.invalid\n",
                            master_extra=RETRY)
    inst.start()
    qid = send_smtplib(inst, HEADER % "remote-domain")
    text = queued(run, inst, qid)
    assert "\nFrom: Joe <Joe.Smith@test.example>\n" in text, text
    assert ("\nTo: bare@domain.invalid, \"Some One\" <other@elsewhere.test>,\n"
            "\tfolded@domain.invalid (a comment)\n") in text, text


def test_permit_mynetworks_and_a_client_outside_it(run, instance_factory):
    inside = instance_factory(main_extra=BASE + "local_header_rewrite_clients = "
                              "permit_mynetworks\n", master_extra=RETRY)
    inside.start()
    assert_local_rewriting(queued(run, inside, send_smtplib(inside, HEADER % "mynet")))
    # check_address_map with a table that does not list 127.0.0.1
    outside = instance_factory(main_extra=BASE + "local_header_rewrite_clients = "
                               "check_address_map inline:{ 192.0.2.1=OK }\n",
                               master_extra=RETRY)
    outside.start()
    text = queued(run, outside, send_smtplib(outside, HEADER % "table"))
    assert "\nFrom: Joe <joe@test.example>\n" in text, text


def test_a_field_past_header_size_limit_is_passed_on_whole(run, instance_factory):
    inst = instance_factory(main_extra=BASE + "header_size_limit = 2048\n",
                            master_extra=RETRY)
    inst.start()
    long_to = "To: " + ",\r\n ".join("u%d" % i for i in range(1500)) + "\r\n"
    text = "From: joe\r\n" + long_to + "Cc: bare\r\nSubject: big\r\n\r\nbody\r\n"
    qid = send_smtplib(inst, text)
    out = queued(run, inst, qid)
    assert "\nFrom: Joe.Smith@test.example\n" in out, out[:500]
    # the oversized field and what follows it go in unchanged
    assert "\nTo: u0,\n u1,\n" in out and "\nCc: bare\n" in out
    assert "\nSubject: big\n\nbody\n" in out


def test_masquerade_domains_on_headers_and_envelope_sender(run, instance_factory):
    inst = instance_factory(main_extra=BASE + "masquerade_domains = test.example\n"
                            "masquerade_exceptions = root\n", master_extra=RETRY)
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=20) as s:
        s.ehlo("client.test")
        s.mail("ann@build.test.example")
        s.rcpt("user@host.test.example")
        code, reply = s.data(b"From: Ann <ann@build.test.example>\r\n"
                             b"Cc: root@build.test.example, x@a.b.test.example\r\n\r\nbody\r\n")
    assert code == 250, reply
    qid = re.search(rb"queued as (\w+)", reply).group(1).decode()
    text = queued(run, inst, qid)
    assert "\nFrom: Ann <ann@test.example>\n" in text, text
    assert "\nCc: root@build.test.example, x@test.example\n" in text, text
    assert inst.wait_log(r"%s: from=<ann@test\.example>" % qid), inst.maillog()
    # envelope recipients are not masqueraded by default
    assert "\tfor <user@host.test.example>;" in text
