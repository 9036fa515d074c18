"""Where Sieve's fileinto puts mail: deliver (dovecot-lda's role) maps a
folder name the way the IMAP server does (src/imap/imap_ns.c,
imap_layout.c), and both the way Debian's dovecot-lda does: UTF-8 names
stored in modified UTF-7, the inbox namespace's separator, Maildir++
".A.B", LAYOUT=fs and mbox directories with "." inside a level, names
Dovecot refuses kept in INBOX. Each store is compared with the one
Debian's dovecot-lda makes from the same script and messages."""
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"

NAMES = ["Work", "A/B", "a.b", "INBOX.sub", "INBOX/sub2", "Entw\u00fcrfe", "lists.debian/x",
         "x/../y", "&bad", "tab\there"]

CONF = """base_dir = %(dir)s/run
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

LOCATIONS = {
    "maildir": "maildir:~/Maildir",
    "fs": "maildir:~/Maildir:LAYOUT=fs",
    "mbox": "mbox:~/mail:INBOX=~/mail/inbox",
}


def script():
    out = ['require ["fileinto", "mailbox", "encoded-character"];\n']
    for i, name in enumerate(NAMES):
        out.append('if header :is "subject" "m%d" { fileinto :create "%s"; stop; }\n'
                   % (i, name.replace("\t", "${hex:09}")))
    return "".join(out)


def message(i):
    return ("From: a@example.org\nTo: nobody@example.org\nSubject: m%d\n"
            "Message-ID: <m%d@example.org>\n\nbody %d\n" % (i, i, i)).encode()


def store(kind, home):
    """{(where, subject)}: where is the folder's path under the store's
    root ("" for INBOX)"""
    got = set()
    if kind == "mbox":
        root = os.path.join(home, "mail")
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if x != ".imap"]
            for n in files:
                p = os.path.join(d, n)
                rel = os.path.relpath(p, root)
                if rel == "inbox":
                    rel = ""
                with open(p, "rb") as f:
                    for line in f.read().decode(errors="replace").splitlines():
                        if line.startswith("Subject: "):
                            got.add((rel, line[9:]))
    else:
        root = os.path.join(home, "Maildir")
        for d, dirs, files in os.walk(root):
            if os.path.basename(d) not in ("new", "cur"):
                continue
            rel = os.path.relpath(os.path.dirname(d), root)
            for n in files:
                with open(os.path.join(d, n), "rb") as f:
                    for line in f.read().decode(errors="replace").splitlines():
                        if line.startswith("Subject: "):
                            got.add(("" if rel == "." else rel, line[9:]))
    return got


@pytest.mark.parametrize("kind", sorted(LOCATIONS))
def test_fileinto_folders_as_debian_dovecot_lda(bindir, kind):
    if not os.path.exists(DOVECOT_LDA) or os.getuid() != 0:
        pytest.skip("needs Debian's dovecot-lda and root")
    nobody = pwd.getpwnam("nobody")
    base = tempfile.mkdtemp(prefix="yubin-ldafolders-")
    try:
        os.chmod(base, 0o755)
        conf = os.path.join(base, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(CONF % {"dir": base, "location": LOCATIONS[kind]})
        homes = {}
        for who in ("dovecot", "yubin"):
            home = os.path.join(base, who)
            os.makedirs(os.path.join(home, "mail"))
            with open(os.path.join(home, ".dovecot.sieve"), "w") as f:
                f.write(script())
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
            for i in range(len(NAMES)):
                r = subprocess.run(argv + ["-f", "sender@example.org"], input=message(i),
                                   capture_output=True, timeout=60, env=env,
                                   preexec_fn=as_nobody)
                assert r.returncode == 0, (who, NAMES[i], r.stderr)
        theirs = store(kind, homes["dovecot"])
        ours = store(kind, homes["yubin"])
        assert len(ours) == len(NAMES), ours
        assert sorted(ours) == sorted(theirs)
        # the names that must have found a folder of their own
        where = dict((s, w) for w, s in ours)
        assert where["m0"] in ("Work", ".Work")
        assert where["m5"] in ("Entw&APw-rfe", ".Entw&APw-rfe")
    finally:
        shutil.rmtree(base, ignore_errors=True)
