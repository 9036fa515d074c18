"""The smtp(8) client: mail that yubin's smtpd accepts for a remote domain
goes out through the MX hosts a DNS server on loopback names (dnslib),
to peer servers on loopback (aiosmtpd, and raw scripted peers), with
Postfix's log lines and outcomes: sent, deferred and retried, bounced with
the remote text, relayhost with STARTTLS and AUTH, hostile peers."""
import os
import re
import smtplib
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_peers import Peer, RawPeer  # noqa: E402
from conftest import free_port

MASTER = ("smtp      unix  -       -       n       -       -       smtp\n"
          "relay     unix  -       -       n       -       -       smtp\n"
          "lmtp      unix  -       -       n       -       -       lmtp\n")

MSG = ("From: sender@origin.test\r\nTo: user@example.test\r\n"
       "Subject: outbound\r\n\r\nhello from yubin\r\n.leading dot\r\n")


def zone(port_hosts="", extra=""):
    return """
example.test.      300 IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
example.test.      300 IN MX 20 mx2.example.test.
example.test.      300 IN MX 10 mx1.example.test.
mx1.example.test.  300 IN A 127.0.0.2
mx2.example.test.  300 IN A 127.0.0.3
origin.test.       300 IN SOA ns.origin.test. admin.origin.test. 1 3600 600 86400 60
origin.test.       300 IN MX 10 mx.origin.test.
mx.origin.test.    300 IN A 127.0.0.4
loop.test.         300 IN SOA ns.loop.test. admin.loop.test. 1 3600 600 86400 60
loop.test.         300 IN MX 10 mx.test.example.
mx.test.example.   300 IN A 127.0.0.1
peer.example.      300 IN A 127.0.0.1
""" + extra


def make(instance_factory, dns_server, port, extra=""):
    inst = instance_factory(
        main_extra="default_transport = smtp\nrelay_transport = relay\n"
                   "yubin_dns_servers = %s\nsmtp_tcp_port = %d\n"
                   "inet_protocols = ipv4\n"
                   "smtp_connect_timeout = 3s\nsmtp_helo_timeout = 3s\n"
                   "smtp_mail_timeout = 3s\nsmtp_rcpt_timeout = 3s\n"
                   "smtp_data_init_timeout = 3s\nsmtp_data_xfer_timeout = 3s\n"
                   "smtp_data_done_timeout = 3s\nsmtp_quit_timeout = 3s\n"
                   % (dns_server.address, port) + extra,
        master_extra=MASTER)
    inst.start()
    return inst


def send(inst, rcpts=("user@example.test",), sender="sender@origin.test", msg=MSG):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.sendmail(sender, list(rcpts), msg)


def queued(inst):
    r = inst.run("mailq", "-C", inst.etc)
    return r.out


@pytest.fixture
def peers():
    made = []

    def start(*a, **kw):
        p = Peer(*a, **kw)
        made.append(p)
        return p
    yield start
    for p in made:
        p.stop()


@pytest.fixture
def raw_peers():
    made = []

    def start(*a, **kw):
        p = RawPeer(*a, **kw)
        made.append(p)
        return p
    yield start
    for p in made:
        p.stop()


def test_lowest_preference_mx_gets_the_mail(instance_factory, dns_server, peers):
    port = free_port("127.0.0.2", "127.0.0.3")
    dns_server.set_zone(zone())
    mx1 = peers("127.0.0.2", port)
    mx2 = peers("127.0.0.3", port)
    inst = make(instance_factory, dns_server, port)
    send(inst)
    assert mx1.wait(1), inst.maillog()
    assert mx2.messages == []
    mail_from, rcpts, content, _, _ = mx1.messages[0]
    assert mail_from == "sender@origin.test" and rcpts == ["user@example.test"]
    # dot-stuffing undone by the peer: the line arrives as it was sent
    assert b"\r\n.leading dot\r\n" in content or b"\n.leading dot" in content
    assert inst.wait_log(
        r"yubin/smtp\[\d+\]: [0-9A-F]+: to=<user@example\.test>, "
        r"relay=mx1\.example\.test\[127\.0\.0\.2\]:%d, delay=[0-9.]+, "
        r"delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, "
        r"status=sent \(250 2\.0\.0 Ok: queued as PEER1\)" % port), inst.maillog()
    assert inst.wait_log(r": removed")


def test_falls_back_when_the_best_mx_refuses(instance_factory, dns_server, peers, raw_peers):
    port = free_port("127.0.0.2", "127.0.0.3")
    dns_server.set_zone(zone())
    bad = raw_peers("5xx_greeting", "127.0.0.2", port)
    mx2 = peers("127.0.0.3", port)
    inst = make(instance_factory, dns_server, port)
    send(inst)
    assert mx2.wait(1), inst.maillog()
    assert bad.connections >= 1
    assert inst.wait_log(r"relay=mx2\.example\.test\[127\.0\.0\.3\]:%d.*status=sent" % port)


def test_falls_back_when_the_best_mx_is_down(instance_factory, dns_server, peers):
    port = free_port("127.0.0.2", "127.0.0.3")
    dns_server.set_zone(zone())
    mx2 = peers("127.0.0.3", port)
    inst = make(instance_factory, dns_server, port)
    send(inst)
    assert mx2.wait(1), inst.maillog()
    assert "connect to mx1.example.test[127.0.0.2]:%d: Connection refused" % port \
        in inst.maillog()


def test_no_mx_falls_back_to_the_address_record(instance_factory, dns_server, peers):
    port = free_port("127.0.0.5")
    dns_server.set_zone(zone(extra="plain.test. 300 IN A 127.0.0.5\n"))
    p = peers("127.0.0.5", port)
    inst = make(instance_factory, dns_server, port)
    send(inst, rcpts=("someone@plain.test",))
    assert p.wait(1), inst.maillog()
    assert inst.wait_log(r"relay=plain\.test\[127\.0\.0\.5\]:%d.*status=sent" % port)


def test_deferred_when_all_are_down_then_flushed(instance_factory, dns_server, peers):
    port = free_port("127.0.0.2", "127.0.0.3")
    dns_server.set_zone(zone())
    # no automatic retry during the test: only postqueue -f brings it back
    inst = make(instance_factory, dns_server, port,
                "minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\nqueue_run_delay = 1h\n")
    send(inst)
    assert inst.wait_log(r"to=<user@example\.test>, relay=mx2\.example\.test\[127\.0\.0\.3\]:%d, "
                         r".*dsn=4\.4\.1, status=deferred \(connect to "
                         r"mx2\.example\.test\[127\.0\.0\.3\]:%d: Connection refused\)"
                         % (port, port)), inst.maillog()
    assert "user@example.test" in queued(inst)
    mx1 = peers("127.0.0.2", port)
    time.sleep(1)
    assert mx1.messages == []          # nothing retries by itself yet
    r = inst.run("postqueue", "-c", inst.etc, "-f")
    assert r.rc == 0, r
    assert mx1.wait(1), inst.maillog()
    assert inst.wait_log(r"status=sent")
    end = time.time() + 30
    while "user@example.test" in queued(inst) and time.time() < end:
        time.sleep(0.2)
    assert "user@example.test" not in queued(inst)


def test_5xx_bounces_with_the_remote_text(instance_factory, dns_server, peers):
    port = free_port("127.0.0.2", "127.0.0.4")
    dns_server.set_zone(zone())
    mx1 = peers("127.0.0.2", port)
    mx1.handler.rcpt_reply = "550 5.1.1 <user@example.test>: Recipient address rejected: no such user"
    origin = peers("127.0.0.4", port)   # where the sender's bounce goes
    inst = make(instance_factory, dns_server, port)
    send(inst)
    text = ("host mx1.example.test[127.0.0.2] said: 550 5.1.1 <user@example.test>: "
            "Recipient address rejected: no such user (in reply to RCPT TO command)")
    assert inst.wait_log(r"dsn=5\.1\.1, status=bounced \(%s\)" % re.escape(text)), inst.maillog()
    # the notice to the sender carries the remote reply
    assert origin.wait(1), inst.maillog()
    mail_from, rcpts, content, _, _ = origin.messages[0]
    assert mail_from in ("", "<>") and rcpts == ["sender@origin.test"]
    body = content.decode(errors="replace")
    assert "no such user" in body and "Status: 5.1.1" in body
    assert "Remote-MTA: dns; mx1.example.test" in body or "mx1.example.test" in body


def test_4xx_on_rcpt_defers(instance_factory, dns_server, peers):
    port = free_port("127.0.0.2", "127.0.0.3")
    dns_server.set_zone(zone())
    mx1 = peers("127.0.0.2", port)
    mx1.handler.rcpt_reply = "451 4.3.0 try later"
    inst = make(instance_factory, dns_server, port)
    send(inst)
    assert inst.wait_log(r"dsn=4\.3\.0, status=deferred \(host mx1\.example\.test\[127\.0\.0\.2\] "
                         r"said: 451 4\.3\.0 try later \(in reply to RCPT TO command\)\)"), \
        inst.maillog()
    assert "user@example.test" in queued(inst)


def test_mx_pointing_at_myself_bounces(instance_factory, dns_server):
    port = free_port("127.0.0.2")
    dns_server.set_zone(zone())
    inst = make(instance_factory, dns_server, port)
    send(inst, rcpts=("user@loop.test",))
    assert inst.wait_log(r"to=<user@loop\.test>, relay=none, .*dsn=5\.4\.6, status=bounced "
                         r"\(mail for loop\.test loops back to myself\)"), inst.maillog()


def test_unknown_domain_bounces_dns_failure_defers(instance_factory, dns_server):
    port = free_port("127.0.0.2")
    dns_server.set_zone(zone())
    dns_server.misbehave("broken.test", "servfail")
    inst = make(instance_factory, dns_server, port)
    send(inst, rcpts=("a@nxdomain.test", "b@broken.test"))
    assert inst.wait_log(r"to=<a@nxdomain\.test>, relay=none, .*dsn=5\.4\.4, status=bounced "
                         r"\(Host or domain name not found\. Name service error for "
                         r"name=nxdomain\.test type=MX: Host not found\)"), inst.maillog()
    assert inst.wait_log(r"to=<b@broken\.test>, relay=none, .*dsn=4\.4\.3, status=deferred "
                         r"\(Host or domain name not found\. Name service error for "
                         r"name=broken\.test type=MX: Host not found, try again\)"), inst.maillog()


def test_transport_maps_nexthop(instance_factory, dns_server, peers, tmp_path):
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    p = peers("127.0.0.1", port)
    tm = tmp_path / "transport"
    tm.write_text("example.test smtp:[127.0.0.1]:%d\n" % port)
    inst = make(instance_factory, dns_server, 1, "transport_maps = texthash:%s\n" % tm)
    send(inst)
    assert p.wait(1), inst.maillog()
    assert inst.wait_log(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*status=sent" % port)


@pytest.mark.parametrize("how,phase", [
    ("silent", "timed out while receiving the initial server greeting"),
    ("slow", "timed out while receiving the initial server greeting"),
    ("endless", "too many reply lines"),
    ("drop_data", "lost connection with"),
])
def test_hostile_peer_keeps_the_message_queued(instance_factory, dns_server, raw_peers,
                                               how, phase):
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    peer = raw_peers(how, "127.0.0.1", port, delay=8)
    inst = make(instance_factory, dns_server, 1,
                "default_transport = smtp:[127.0.0.1]:%d\n"
                "minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\nqueue_run_delay = 1h\n"
                % port)
    send(inst)
    assert inst.wait_log(r"status=deferred \(.*%s" % re.escape(phase), timeout=60), \
        inst.maillog()
    assert peer.connections >= 1
    assert "user@example.test" in queued(inst)
    # the queue manager and the client are still there and working
    assert inst.wait_log(r"\(queue active\)")


def test_relayhost_with_starttls_and_auth(instance_factory, dns_server, peers, tmp_path):
    import ssl
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=peer.example", "-addext", "subjectAltName=DNS:peer.example",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    relay = peers("127.0.0.1", port, tls_context=ctx, users={"relayuser": "s3cret"},
                  require_starttls=True)
    pw = tmp_path / "sasl_passwd"
    pw.write_text("[peer.example]:%d relayuser:s3cret\n" % port)
    inst = make(instance_factory, dns_server, 1,
                "relayhost = [peer.example]:%d\n"
                "smtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = texthash:%s\n"
                "smtp_sasl_security_options = noanonymous\n"
                "smtp_tls_security_level = verify\nsmtp_tls_CAfile = %s\n"
                % (port, pw, cert))
    send(inst)
    assert relay.wait(1), inst.maillog()
    _, _, _, auth, tls = relay.messages[0]
    assert auth == "relayuser" and tls
    assert inst.wait_log(r"relay=peer\.example\[127\.0\.0\.1\]:%d, .*status=sent" % port)
    assert inst.wait_log(r"yubin/smtp\[\d+\]: Verified TLS connection established to "
                         r"peer\.example\[127\.0\.0\.1\]:%d: TLSv1\.[23] with cipher \S+ "
                         r"\(\d+/\d+ bits\)" % port), inst.maillog()


def test_verify_refuses_an_untrusted_certificate(instance_factory, dns_server, peers, tmp_path):
    import ssl
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=peer.example", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    relay = peers("127.0.0.1", port, tls_context=ctx)
    inst = make(instance_factory, dns_server, 1,
                "relayhost = [peer.example]:%d\nsmtp_tls_security_level = verify\n"
                "minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\nqueue_run_delay = 1h\n"
                % port)
    send(inst)
    assert inst.wait_log(r"dsn=4\.7\.5, status=deferred \(Server certificate not verified"), \
        inst.maillog()
    assert relay.messages == []


def test_encrypt_requires_starttls(instance_factory, dns_server, peers):
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    plain = peers("127.0.0.1", port)
    inst = make(instance_factory, dns_server, 1,
                "relayhost = [127.0.0.1]:%d\nsmtp_tls_security_level = encrypt\n"
                "minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\nqueue_run_delay = 1h\n"
                % port)
    send(inst)
    assert inst.wait_log(r"dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered "
                         r"by host 127\.0\.0\.1\[127\.0\.0\.1\]\)"), inst.maillog()
    assert plain.messages == []


def test_may_uses_tls_when_offered(instance_factory, dns_server, peers, tmp_path):
    import ssl
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=peer.example", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    p = peers("127.0.0.1", port, tls_context=ctx)
    inst = make(instance_factory, dns_server, 1,
                "relayhost = [127.0.0.1]:%d\nsmtp_tls_security_level = may\n" % port)
    send(inst)
    assert p.wait(1), inst.maillog()
    assert p.messages[0][4] is True
    assert inst.wait_log(r"Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]")


def test_lmtp_inet_and_unix(instance_factory, dns_server, tmp_path):
    """lmtp:inet:host:port and lmtp:unix:/path, on the same client code"""
    from aiosmtpd.controller import Controller, UnixSocketController
    from aiosmtpd.lmtp import LMTP
    from smtp_peers import Handler

    class LMTPInet(Controller):
        def factory(self):
            return LMTP(self.handler)

    class LMTPUnix(UnixSocketController):
        def factory(self):
            return LMTP(self.handler)

    port = free_port("127.0.0.1")
    h1, h2 = Handler(), Handler()
    sock = str(tmp_path / "lmtp.sock")
    c1 = LMTPInet(h1, hostname="127.0.0.1", port=port)
    c2 = LMTPUnix(h2, unix_socket=sock)
    c1.start()
    c2.start()
    try:
        tm = tmp_path / "transport"
        tm.write_text("inet.test lmtp:inet:127.0.0.1:%d\nunix.test lmtp:unix:%s\n" % (port, sock))
        dns_server.set_zone(zone())
        inst = make(instance_factory, dns_server, 1, "transport_maps = texthash:%s\n" % tm)
        send(inst, rcpts=("a@inet.test", "b@unix.test"))
        assert inst.wait_log(r"yubin/lmtp\[\d+\]: [0-9A-F]+: to=<a@inet\.test>, "
                             r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*status=sent" % port), \
            inst.maillog()
        assert inst.wait_log(r"yubin/lmtp\[\d+\]: [0-9A-F]+: to=<b@unix\.test>, "
                             r"relay=mx\.test\.example\[%s\], .*status=sent" % re.escape(sock)), \
            inst.maillog()
        assert h1.messages[0][1] == ["a@inet.test"] and h2.messages[0][1] == ["b@unix.test"]
    finally:
        c1.stop()
        c2.stop()


def test_no_open_relay_for_clients_outside_mynetworks(instance_factory, dns_server, peers):
    """A client outside mynetworks (from 127.0.0.9, mynetworks 127.0.0.1/32)
    cannot relay to a remote domain; mail for relay_domains is accepted and
    goes out through relay_transport to the domain's MX."""
    port = free_port("127.0.0.2", "127.0.0.3")
    dns_server.set_zone(zone())
    mx1 = peers("127.0.0.2", port)
    inst = make(instance_factory, dns_server, port,
                "mynetworks = 127.0.0.1/32\nrelay_domains = example.test\n")
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30,
                      source_address=("127.0.0.9", 0)) as s:
        s.ehlo("outside.example")
        s.mail("someone@origin.test")
        code, msg = s.rcpt("victim@elsewhere.test")
        # defer_unauth_destination in the 3.6 defaults: 454, as Postfix
        assert code == 454 and b"Relay access denied" in msg, (code, msg)
        code, msg = s.rcpt("user@example.test")
        assert code == 250, (code, msg)
        code, msg = s.data(MSG.encode())
        assert code == 250, (code, msg)
    assert mx1.wait(1), inst.maillog()
    assert mx1.messages[0][1] == ["user@example.test"]
    assert inst.wait_log(r"yubin/smtp\[\d+\]: [0-9A-F]+: to=<user@example\.test>, "
                         r"relay=mx1\.example\.test\[127\.0\.0\.2\]:%d, .*status=sent" % port)


def test_destination_concurrency_limit(instance_factory, dns_server, peers):
    """default_destination_concurrency_limit bounds the deliveries to one
    nexthop in flight at once, and more than one do run in parallel"""
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    p = peers("127.0.0.1", port)
    p.handler.data_delay = 0.5
    inst = make(instance_factory, dns_server, 1,
                "default_transport = smtp:[127.0.0.1]:%d\n"
                "default_destination_concurrency_limit = 3\n" % port)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        for i in range(9):
            s.sendmail("sender@origin.test", ["u%d@example.test" % i], MSG)
    assert p.wait(9, timeout=120), inst.maillog()
    assert 2 <= p.handler.max_active <= 3, p.handler.max_active


def test_many_messages_to_smtp_sink(instance_factory, dns_server, tmp_path):
    """Postfix's smtp-sink as the peer: every message is sent, none stays"""
    import conftest
    sink = conftest.real_tool("smtp-sink")
    port = free_port("127.0.0.1")
    proc = subprocess.Popen([sink, "-u", "nobody", "-c", "127.0.0.1:%d" % port, "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The sink binds after fork/exec; a delivery before that is refused.
        from pop3_fixtures import listening, wait_for
        assert wait_for(lambda: listening(port)), "smtp-sink did not listen"
        dns_server.set_zone(zone())
        inst = make(instance_factory, dns_server, 1,
                    "default_transport = smtp:[127.0.0.1]:%d\n" % port)
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            for i in range(40):
                s.sendmail("sender@origin.test", ["a%d@example.test" % i, "b%d@example.test" % i],
                           MSG)
        assert inst.wait_log(r"status=sent \(250 2\.0\.0 Ok\)", count=80, timeout=120), \
            inst.maillog()
        assert inst.wait_log(r": removed", count=40)
        assert "status=deferred" not in inst.maillog()
    finally:
        proc.kill()
        proc.wait()


def test_connection_cache_reuses_a_session(instance_factory, dns_server, peers):
    """deliveries to one nexthop in a burst share a connection
    (conn_use=N in the log, as Postfix); with the cache off, they do not"""
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    p = peers("127.0.0.1", port)
    inst = make(instance_factory, dns_server, 1,
                "default_transport = smtp:[127.0.0.1]:%d\n"
                "default_destination_concurrency_limit = 1\n"
                "smtp_connection_cache_time_limit = 5s\n" % port)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        for i in range(4):
            s.sendmail("sender@origin.test", ["c%d@example.test" % i], MSG)
    assert p.wait(4), inst.maillog()
    assert inst.wait_log(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, conn_use=[2-4], delay=.*"
                         r"status=sent" % port), inst.maillog()
    off = make(instance_factory, dns_server, 1,
               "default_transport = smtp:[127.0.0.1]:%d\n"
               "smtp_connection_cache_on_demand = no\n" % port)
    with smtplib.SMTP("127.0.0.1", off.port, timeout=30) as s:
        for i in range(3):
            s.sendmail("sender@origin.test", ["d%d@example.test" % i], MSG)
    assert p.wait(7), off.maillog()
    assert off.wait_log(r"status=sent", count=3)
    assert "conn_use=" not in off.maillog()


def test_cached_connection_closed_by_the_peer_is_not_a_failure(instance_factory, dns_server,
                                                              peers):
    """a cached session the server has closed meanwhile: the next delivery
    connects again and is sent, nothing deferred"""
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    p = peers("127.0.0.1", port)
    inst = make(instance_factory, dns_server, 1,
                "default_transport = smtp:[127.0.0.1]:%d\n"
                "smtp_connection_cache_time_limit = 30s\n" % port)
    send(inst, rcpts=("first@example.test",))
    assert p.wait(1)
    assert inst.wait_log(r"to=<first@example\.test>.*status=sent")
    p.stop()            # closes the idle connection
    p2 = peers("127.0.0.1", port)
    send(inst, rcpts=("second@example.test",))
    assert p2.wait(1), inst.maillog()
    assert inst.wait_log(r"to=<second@example\.test>.*status=sent")
    assert "status=deferred" not in inst.maillog()


def test_size_and_smtputf8_limits_of_the_peer(instance_factory, dns_server, peers):
    """a message larger than the peer's SIZE, or a UTF-8 address for a
    peer without SMTPUTF8, bounces with Postfix's texts"""
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    peers("127.0.0.1", port, data_size_limit=100, enable_SMTPUTF8=False)
    inst = make(instance_factory, dns_server, 1,
                "default_transport = smtp:[127.0.0.1]:%d\n" % port)
    send(inst, rcpts=("big@example.test",), msg=MSG + "x" * 500 + "\r\n")
    assert inst.wait_log(r"to=<big@example\.test>, .*dsn=5\.3\.4, status=bounced \(message size "
                         r"\d+ exceeds size limit 100 of server 127\.0\.0\.1\[127\.0\.0\.1\]\)"), \
        inst.maillog()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo()
        s.sendmail("sender@origin.test", ["j\u00fcrgen@example.test"], MSG.encode(),
                   mail_options=["SMTPUTF8"])
    assert inst.wait_log(r"dsn=5\.6\.7, status=bounced \(SMTPUTF8 is required, but was not "
                         r"offered by host 127\.0\.0\.1\[127\.0\.0\.1\]\)"), inst.maillog()


def test_client_process_killed_mid_delivery_loses_nothing(instance_factory, dns_server,
                                                          raw_peers, peers):
    """SIGKILL to the queue manager's delivery processes (the smtp client
    among them) while a delivery hangs: the recipient is deferred, not
    lost, and goes out once a server answers"""
    import signal
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    silent = raw_peers("silent", "127.0.0.1", port)
    inst = make(instance_factory, dns_server, 1,
                "default_transport = smtp:[127.0.0.1]:%d\nsmtp_helo_timeout = 60s\n" % port)
    send(inst)
    end = time.time() + 30
    while silent.connections == 0 and time.time() < end:
        time.sleep(0.05)
    assert silent.connections >= 1
    qmgrs = [p for p in inst.pids()
             if open("/proc/%d/cmdline" % p, "rb").read().split(b"\0")[0].endswith(b"qmgr") or
             b"qmgr" in open("/proc/%d/cmdline" % p, "rb").read().split(b"\0")[:2]]
    killed = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid in qmgrs:
            os.kill(int(d), signal.SIGKILL)
            killed += 1
    assert killed >= 1, qmgrs
    silent.stop()
    good = peers("127.0.0.1", port)
    end = time.time() + 90
    while not good.messages and time.time() < end:
        inst.run("postqueue", "-c", inst.etc, "-f")
        time.sleep(1)
    assert len(good.messages) == 1, inst.maillog()
    assert good.messages[0][1] == ["user@example.test"]


def test_dsn_request_is_passed_on(instance_factory, dns_server, raw_peers):
    """NOTIFY, RET and ENVID given to smtpd go to a server that offers DSN;
    a server without DSN gets plain MAIL and RCPT"""
    port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    peer = raw_peers("dsn", "127.0.0.1", port)
    inst = make(instance_factory, dns_server, 1,
                "default_transport = smtp:[127.0.0.1]:%d\n" % port)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo()
        s.sendmail("sender@origin.test", ["user@example.test"], MSG,
                   mail_options=["RET=HDRS", "ENVID=abc123"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
    assert inst.wait_log(r"status=sent \(250 2\.0\.0 Ok: queued as RAW\)"), inst.maillog()
    mail = [c for c in peer.commands if c.upper().startswith("MAIL")][0]
    rcpt = [c for c in peer.commands if c.upper().startswith("RCPT")][0]
    assert "RET=HDRS" in mail and "ENVID=abc123" in mail, mail
    assert rcpt == "RCPT TO:<user@example.test> NOTIFY=SUCCESS,FAILURE", rcpt


def test_fallback_relay_when_the_mx_hosts_fail(instance_factory, dns_server, peers):
    port = free_port("127.0.0.2", "127.0.0.3")
    relay_port = free_port("127.0.0.1")
    dns_server.set_zone(zone())
    relay = peers("127.0.0.1", relay_port)
    inst = make(instance_factory, dns_server, port,
                "smtp_fallback_relay = [127.0.0.1]:%d\n" % relay_port)
    send(inst)
    assert relay.wait(1), inst.maillog()
    assert inst.wait_log(r"to=<user@example\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, "
                         r".*status=sent" % relay_port), inst.maillog()
    log = inst.maillog()
    assert "connect to mx1.example.test[127.0.0.2]:%d: Connection refused" % port in log


def test_mx_on_my_own_address_bounces(instance_factory, dns_server):
    """an MX whose address is one of this host's (inet_interfaces = all),
    at port 25: the mail would come back to us"""
    dns_server.set_zone(zone(extra="selfaddr.test. 300 IN MX 10 other-name.test.\n"
                                   "other-name.test. 300 IN A 127.0.0.1\n"))
    inst = make(instance_factory, dns_server, 1, "smtp_tcp_port = smtp\n")
    send(inst, rcpts=("user@selfaddr.test",))
    assert inst.wait_log(r"to=<user@selfaddr\.test>, relay=none, .*dsn=5\.4\.6, status=bounced "
                         r"\(mail for selfaddr\.test loops back to myself\)"), inst.maillog()


def test_postqueue_s_site_retries_only_that_site(instance_factory, dns_server, peers):
    port = free_port("127.0.0.2", "127.0.0.4")
    dns_server.set_zone(zone())
    inst = make(instance_factory, dns_server, port,
                "minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\nqueue_run_delay = 1h\n")
    send(inst, rcpts=("user@example.test",))
    send(inst, rcpts=("other@origin.test",))
    assert inst.wait_log(r"to=<other@origin\.test>.*status=deferred")
    assert inst.wait_log(r"to=<user@example\.test>.*status=deferred")
    mx1 = peers("127.0.0.2", port)
    origin = peers("127.0.0.4", port)
    r = inst.run("postqueue", "-c", inst.etc, "-s", "example.test")
    assert r.rc == 0, r
    assert mx1.wait(1), inst.maillog()
    time.sleep(1)
    assert origin.messages == []        # not that site: still waiting
    assert "other@origin.test" in queued(inst)
    r = inst.run("postqueue", "-c", inst.etc, "-f")
    assert r.rc == 0, r
    assert origin.wait(1), inst.maillog()
