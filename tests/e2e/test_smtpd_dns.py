"""smtpd's DNS-based restrictions against a DNS server on loopback:
DNSBL and RHSBL lists with result filters, unknown sender/recipient
domains, unknown client hostnames, Postfix's reply texts; a failing DNS
server gives 4xx (never an accept), and one session waiting for DNS does
not hold up another."""
import smtplib
import threading

ZONE = """
zen.example.            60 IN SOA ns.zen.example. a.zen.example. 1 60 60 60 60
1.0.0.127.zen.example.  60 IN A   127.0.0.2
1.0.0.127.zen.example.  60 IN TXT "listed for testing"
1.0.0.127.other.example. 60 IN A  127.0.0.4
dbl.example.            60 IN SOA ns.dbl.example. a.dbl.example. 1 60 60 60 60
bad.test.dbl.example.   60 IN A   127.0.1.2
origin.test.            60 IN SOA ns.origin.test. a.origin.test. 1 60 60 60 60
origin.test.            60 IN MX  10 mx.origin.test.
aonly.test.             60 IN A   192.0.2.9
bad.test.               60 IN MX  10 mx.origin.test.
"""


def make(instance_factory, dns_server, restrictions):
    inst = instance_factory(main_extra="yubin_dns_servers = %s\n%s\n"
                            % (dns_server.address, restrictions))
    inst.start()
    return inst


def rcpt(inst, sender="someone@origin.test", to="user@test.example"):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=60) as s:
        s.ehlo("client.example")
        code, msg = s.mail(sender)
        if code != 250:
            return code, msg.decode()
        code, msg = s.rcpt(to)
        return code, msg.decode()


def test_rbl_client_listed_and_unlisted(instance_factory, dns_server):
    dns_server.set_zone(ZONE)
    inst = make(instance_factory, dns_server,
                "smtpd_client_restrictions = reject_rbl_client zen.example=127.0.0.2")
    code, msg = rcpt(inst)
    assert code == 554, msg
    assert msg == ("5.7.1 Service unavailable; Client host [127.0.0.1] blocked using "
                   "zen.example; listed for testing"), msg
    assert inst.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 "
                         r"Service unavailable; Client host \[127\.0\.0\.1\] blocked using "
                         r"zen\.example; listed for testing;"), inst.maillog()


def test_rbl_unlisted_and_filtered(instance_factory, dns_server):
    dns_server.set_zone(ZONE)
    # not in clean.example; in other.example with 127.0.0.4, which the
    # filter does not match
    inst = make(instance_factory, dns_server,
                "smtpd_client_restrictions = reject_rbl_client clean.example, "
                "reject_rbl_client other.example=127.0.0.[2..3]")
    code, msg = rcpt(inst)
    assert code == 250, msg


def test_rbl_without_filter_matches_any_127(instance_factory, dns_server):
    dns_server.set_zone(ZONE)
    inst = make(instance_factory, dns_server,
                "smtpd_client_restrictions = reject_rbl_client other.example")
    code, msg = rcpt(inst)
    assert code == 554 and "blocked using other.example" in msg, msg


def test_failing_dns_gives_4xx(instance_factory, dns_server):
    dns_server.set_zone(ZONE)
    dns_server.misbehave("1.0.0.127.zen.example", "servfail")
    inst = make(instance_factory, dns_server,
                "smtpd_client_restrictions = reject_rbl_client zen.example")
    code, msg = rcpt(inst)
    assert 400 <= code < 500, (code, msg)


def test_silent_dns_gives_4xx_and_other_sessions_go_on(instance_factory, dns_server):
    dns_server.set_zone(ZONE)
    dns_server.misbehave("1.0.0.127.zen.example", "timeout")
    inst = make(instance_factory, dns_server,
                "smtpd_client_restrictions = reject_rbl_client zen.example")
    order = []
    result = {}

    def waiting():
        result["slow"] = rcpt(inst)
        order.append("slow")

    t = threading.Thread(target=waiting)
    t.start()
    # wait until the first session has asked the DNS server
    import time
    end = time.time() + 30
    while not any(q[0] == "1.0.0.127.zen.example" for q in dns_server.queries) and \
            time.time() < end:
        time.sleep(0.05)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=60) as s:
        code, _ = s.ehlo("other.example")
        assert code == 250
        code, _ = s.noop()
        assert code == 250
    order.append("other")
    t.join(60)
    assert order == ["other", "slow"]
    code, msg = result["slow"]
    assert 400 <= code < 500, (code, msg)


def test_rhsbl_sender(instance_factory, dns_server):
    dns_server.set_zone(ZONE)
    inst = make(instance_factory, dns_server,
                "smtpd_sender_restrictions = reject_rhsbl_sender dbl.example=127.0.1.2")
    code, msg = rcpt(inst, sender="x@bad.test")
    assert code == 554, msg
    assert msg == "5.7.1 Service unavailable; Sender address [bad.test] blocked using dbl.example"
    code, msg = rcpt(inst, sender="x@origin.test")
    assert code == 250, msg


def test_unknown_sender_and_recipient_domain(instance_factory, dns_server):
    dns_server.set_zone(ZONE)
    inst = make(instance_factory, dns_server,
                "smtpd_sender_restrictions = reject_unknown_sender_domain\n"
                "smtpd_recipient_restrictions = reject_unknown_recipient_domain, "
                "permit_mynetworks, reject_unauth_destination")
    code, msg = rcpt(inst, sender="x@nowhere.test")
    assert code == 450 and msg == "4.1.8 <x@nowhere.test>: Sender address rejected: Domain not found"
    # an A record is enough, as is an MX
    assert rcpt(inst, sender="x@aonly.test")[0] == 250
    code, msg = rcpt(inst, to="y@nowhere.test")
    assert code == 450 and msg == ("4.1.2 <y@nowhere.test>: Recipient address rejected: "
                                   "Domain not found"), msg
    # our own domain needs no DNS
    assert rcpt(inst, to="user@test.example")[0] == 250


def test_unknown_client_hostname(instance_factory, dns_server):
    dns_server.set_zone(ZONE)
    inst = make(instance_factory, dns_server,
                "smtpd_client_restrictions = reject_unknown_client_hostname")
    code, msg = rcpt(inst)
    assert code == 450 and msg == ("4.7.25 Client host rejected: cannot find your hostname, "
                                   "[127.0.0.1]"), msg
    dns_server.set_zone(ZONE + "1.0.0.127.in-addr.arpa. 60 IN PTR host.test.\n"
                        "host.test. 60 IN A 127.0.0.1\n")
    inst2 = make(instance_factory, dns_server,
                 "smtpd_client_restrictions = reject_unknown_client_hostname")
    assert rcpt(inst2)[0] == 250


def test_many_recipients_each_get_their_lookups(instance_factory, dns_server):
    """the bound on answers is per RCPT, not per session: 60 recipients in
    60 domains are all looked up and accepted"""
    zone = ZONE + "".join("d%d.test. 60 IN A 192.0.2.%d\n" % (i, i + 1) for i in range(60))
    dns_server.set_zone(zone)
    inst = make(instance_factory, dns_server,
                "smtpd_recipient_restrictions = reject_unknown_recipient_domain, "
                "permit_mynetworks, reject_unauth_destination")
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=60) as s:
        s.ehlo("client.example")
        s.mail("someone@origin.test")
        for i in range(60):
            code, msg = s.rcpt("u@d%d.test" % i)
            assert code == 250, (i, code, msg)
        code, msg = s.rcpt("u@missing.test")
        assert code == 450, msg
