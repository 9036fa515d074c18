"""Debian's dovecot-lda beside yubin's deliver: the same dovecot.conf,
Sieve script and messages, each into its own home, both run as nobody
(tests/e2e/test_deliver_flags.py, test_deliver_folders.py)."""
import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"

LDA_CONF = """base_dir = %(dir)s/run
state_dir = %(dir)s
log_path = /dev/stderr
first_valid_uid = 1
ssl = no
mail_location = %(location)s
lda_mailbox_autocreate = yes
protocol lda {
  mail_plugins = sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
"""


@contextlib.contextmanager
def both_ldas(bindir, location, script, messages):
    """{"dovecot": home, "yubin": home} once every message (bytes) went
    through both with exit 0; the temporary tree goes afterwards"""
    if not os.path.exists(DOVECOT_LDA) or os.getuid() != 0:
        pytest.skip("needs Debian's dovecot-lda and root")
    nobody = pwd.getpwnam("nobody")
    base = tempfile.mkdtemp(prefix="yubin-lda-")
    try:
        os.chmod(base, 0o755)
        conf = os.path.join(base, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(LDA_CONF % {"dir": base, "location": location})
        homes = {}
        for who in ("dovecot", "yubin"):
            home = os.path.join(base, who)
            os.makedirs(os.path.join(home, "mail"))
            with open(os.path.join(home, ".dovecot.sieve"), "w") as f:
                f.write(script)
            homes[who] = home
        os.makedirs(os.path.join(base, "run"))
        for d, dirs, files in os.walk(base):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
            for n in files:
                os.chown(os.path.join(d, n), nobody.pw_uid, nobody.pw_gid)

        def as_nobody():
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        for who, argv in (("dovecot", [DOVECOT_LDA, "-c", conf]),
                          ("yubin", [os.path.join(bindir, "deliver"), "-c", conf])):
            env = {"HOME": homes[who], "USER": "nobody", "PATH": "/usr/bin:/bin"}
            env.update((k, v) for k, v in os.environ.items() if k.endswith("SAN_OPTIONS"))
            for msg in messages:
                r = subprocess.run(argv + ["-f", "sender@example.org"], input=msg,
                                   capture_output=True, timeout=60, env=env,
                                   preexec_fn=as_nobody)
                assert r.returncode == 0, (who, msg[:80], r.stderr)
        yield homes
    finally:
        shutil.rmtree(base, ignore_errors=True)
