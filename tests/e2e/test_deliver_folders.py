"""Where Sieve's fileinto puts mail: deliver (dovecot-lda's role) maps a
folder name the way the IMAP server does (src/imap/imap_ns.c,
imap_layout.c), and both the way Debian's dovecot-lda does: UTF-8 names
stored in modified UTF-7, the inbox namespace's separator, Maildir++
".A.B", LAYOUT=fs and mbox directories with "." inside a level, names
Dovecot refuses kept in INBOX. Each store is compared with the one
Debian's dovecot-lda makes from the same script and messages."""
import os

import pytest

from lda_fixtures import both_ldas

NAMES = ["Work", "A/B", "a.b", "INBOX.sub", "INBOX/sub2", "Entw\u00fcrfe", "lists.debian/x",
         "x/../y", "&bad", "tab\there"]

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
    msgs = [message(i) for i in range(len(NAMES))]
    with both_ldas(bindir, LOCATIONS[kind], script(), msgs) as homes:
        theirs = store(kind, homes["dovecot"])
        ours = store(kind, homes["yubin"])
        assert len(ours) == len(NAMES), ours
        assert sorted(ours) == sorted(theirs)
        # the names that must have found a folder of their own
        where = dict((s, w) for w, s in ours)
        assert where["m0"] in ("Work", ".Work")
        assert where["m5"] in ("Entw&APw-rfe", ".Entw&APw-rfe")
