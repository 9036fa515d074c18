"""docs/parameters.md is generated from the parameter table: it must be current."""
import os

from conftest import ROOT


def test_parameters_md_is_current(run):
    r = run("yubin", "paramdoc")
    assert r.rc == 0
    with open(os.path.join(ROOT, "docs", "parameters.md")) as f:
        committed = f.read()
    assert committed == r.out, "run: build/bin/yubin paramdoc > docs/parameters.md"
    assert "| myhostname | text | (derived) |" in r.out
    assert "| smtpd_timeout | time (s) |" in r.out
