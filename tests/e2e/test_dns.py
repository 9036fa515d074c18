"""The DNS layer (src/dns) against a DNS server on loopback: records of
every type, TTL-honouring answers, and hostile answers, through
`yubin dnslookup`, which runs the same resolver as smtp(8) and smtpd."""
import time

ZONE = """
example.test.        300 IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
example.test.        300 IN MX  20 mx2.example.test.
example.test.        300 IN MX  10 mx1.example.test.
example.test.        120 IN TXT "v=spf1 -all"
mx1.example.test.    300 IN A   127.0.0.2
mx2.example.test.    300 IN A   127.0.0.3
mx2.example.test.    300 IN AAAA ::1
alias.example.test.  300 IN CNAME mx1.example.test.
2.0.0.127.in-addr.arpa. 300 IN PTR mx1.example.test.
long.example.test.   300 IN TXT "part one " "part two"
"""


def lookup(run, server, typ, *names, timeout=60):
    return run("yubin", "dnslookup", "-s", server.address, typ, *names, timeout=timeout)


def test_record_types(run, dns_server):
    dns_server.set_zone(ZONE)
    r = lookup(run, dns_server, "MX", "example.test")
    assert r.rc == 0, r
    # preference order, whatever order the server sent
    assert r.out.splitlines() == ["example.test MX ttl=300 10 mx1.example.test",
                                  "example.test MX ttl=300 20 mx2.example.test"]
    r = lookup(run, dns_server, "A", "mx1.example.test")
    assert r.out.strip() == "mx1.example.test A ttl=300 127.0.0.2", r
    r = lookup(run, dns_server, "AAAA", "MX2.Example.Test.")
    assert r.out.strip() == "MX2.Example.Test. AAAA ttl=300 ::1", r
    r = lookup(run, dns_server, "TXT", "example.test", "long.example.test")
    assert "example.test TXT ttl=120 v=spf1 -all" in r.out, r
    assert "long.example.test TXT ttl=300 part one part two" in r.out, r
    r = lookup(run, dns_server, "PTR", "2.0.0.127.in-addr.arpa")
    assert r.out.strip() == "2.0.0.127.in-addr.arpa PTR ttl=300 mx1.example.test", r
    # a CNAME is followed
    r = lookup(run, dns_server, "A", "alias.example.test")
    assert r.rc == 0 and "127.0.0.2" in r.out, r


def test_not_found_is_not_a_failure(run, dns_server):
    dns_server.set_zone(ZONE)
    r = lookup(run, dns_server, "MX", "nonexistent.example.test")
    assert r.rc == 1 and "not found" in r.out, r
    # the name exists, the type does not
    r = lookup(run, dns_server, "MX", "mx1.example.test")
    assert r.rc == 1 and "not found" in r.out, r


def test_cache_honours_ttl_within_one_process(run, dns_server):
    dns_server.set_zone(ZONE)
    # the same name twice in one run: the second comes from the cache
    # only after the first answer, so both are asked at once here; ask
    # in sequence through the resolver's own loop instead
    r = lookup(run, dns_server, "A", "mx1.example.test", "mx1.example.test")
    assert r.rc == 0 and r.out.count("127.0.0.2") == 2, r


def test_hostile_answers_are_temporary_failures(run, dns_server):
    dns_server.set_zone(ZONE)
    for how in ("servfail", "garbage", "loop", "wrong_id", "truncate_tcp"):
        name = "%s.example.test" % how.replace("_", "-")
        dns_server.misbehave(name, how)
        t0 = time.time()
        r = lookup(run, dns_server, "A", name)
        assert r.rc == 75 and "temporary failure" in r.out, (how, r)
        assert time.time() - t0 < 30, how


def test_truncated_udp_retries_over_tcp(run, dns_server):
    dns_server.set_zone(ZONE + "big.example.test. 60 IN A 127.0.0.9\n")
    dns_server.misbehave("big.example.test", "truncate")
    r = lookup(run, dns_server, "A", "big.example.test")
    assert r.rc == 0 and "127.0.0.9" in r.out, r
    assert ("big.example.test", "A", "tcp") in dns_server.queries


def test_oversized_answer(run, dns_server):
    dns_server.misbehave("huge.example.test", "oversized")
    r = lookup(run, dns_server, "A", "huge.example.test")
    # c-ares takes the TCP answer; at most 64 addresses are kept
    assert r.rc in (0, 75), r
    assert len(r.out.splitlines()) <= 64, r


def test_cname_loop(run, dns_server):
    dns_server.misbehave("cl.example.test", "cname_loop")
    r = lookup(run, dns_server, "A", "cl.example.test")
    assert r.rc in (1, 75), r


def test_no_answer_times_out(run, dns_server):
    dns_server.misbehave("silent.example.test", "timeout")
    t0 = time.time()
    r = lookup(run, dns_server, "MX", "silent.example.test")
    assert r.rc == 75 and "temporary failure" in r.out, r
    assert time.time() - t0 < 30


def test_dead_server(run):
    import conftest
    port = conftest.free_port()
    r = run("yubin", "dnslookup", "-s", "127.0.0.1:%d" % port, "A", "x.example.test")
    assert r.rc == 75, r


def test_servers_from_main_cf(run, dns_server, confdir):
    dns_server.set_zone(ZONE)
    (confdir / "main.cf").write_text("yubin_dns_servers = %s\n" % dns_server.address)
    (confdir / "master.cf").write_text("")
    r = run("yubin", "dnslookup", "-c", str(confdir), "A", "mx2.example.test")
    assert r.rc == 0 and "127.0.0.3" in r.out, r


def test_bad_server_list(run):
    r = run("yubin", "dnslookup", "-s", "not an address", "A", "x.example.test")
    assert r.rc == 78 and "yubin_dns_servers" in r.err, r
