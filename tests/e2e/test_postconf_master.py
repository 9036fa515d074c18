"""postconf -M, -Mf and -P against the real Postfix on Debian's master.cf,
with and without the stock submission/smtps entries enabled."""
import re

import pytest

DIST = "/usr/share/postfix/master.cf.dist"


def master_variants():
    try:
        dist = open(DIST).read()
    except OSError:
        pytest.skip("Debian's master.cf.dist is not installed")
    enabled = re.sub(r"(?m)^#(submission|smtps|submissions|  -o)", r"\1", dist)
    hostport = dist + "127.0.0.1:2525 inet n - n - - smtpd\n[::1]:2526 inet n - n - 10 smtpd\n" \
        "  -o { smtpd_banner = $myhostname test banner }\n"
    return {"dist": dist, "enabled": enabled, "hostport": hostport}


@pytest.mark.parametrize("variant", ["dist", "enabled", "hostport"])
@pytest.mark.parametrize("flags", [["-M"], ["-Mf"], ["-P"], ["-M", "smtp/inet", "submission"]])
def test_master_listing_matches_postfix(run, run_real, confdir, variant, flags):
    (confdir / "main.cf").write_text("compatibility_level = 3.6\n")
    (confdir / "master.cf").write_text(master_variants()[variant])
    real = run_real("postconf", "-c", str(confdir), *flags)
    ours = run("postconf", "-c", str(confdir), *flags)
    assert real.rc == 0 and ours.rc == 0, (real, ours)
    assert ours.out == real.out
    if variant == "enabled" and flags == ["-P"]:
        assert "submission/inet/smtpd_tls_security_level = encrypt\n" in ours.out
        assert "submissions/inet/smtpd_tls_wrappermode = yes\n" in ours.out


def test_master_o_reference_makes_parameter_used(run, confdir):
    (confdir / "main.cf").write_text("mua_x = permit_sasl_authenticated, reject\nfoo = 1\n")
    (confdir / "master.cf").write_text(
        "smtp inet n - y - - smtpd\n  -o smtpd_client_restrictions=$mua_x\n")
    r = run("postconf", "-c", str(confdir), "-n")
    assert "mua_x = permit_sasl_authenticated, reject" in r.out
    assert "unused parameter: foo=1" in r.err
    assert "unused parameter: mua_x" not in r.err


def test_missing_master_cf_is_a_warning_for_main_cf_queries(run, confdir):
    (confdir / "main.cf").write_text("relayhost = [x]\n")
    r = run("postconf", "-c", str(confdir), "-n")
    assert r.rc == 0 and "relayhost = [x]" in r.out
    assert "warning: open %s/master.cf: No such file or directory" % confdir in r.err
    m = run("postconf", "-c", str(confdir), "-M")
    assert m.rc != 0 and "master.cf" in m.err
