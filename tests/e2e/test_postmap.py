"""postmap, postalias and newaliases against Debian's real Postfix 3.7: the
same source file must give the same answers. The real tools build Berkeley
DB files and yubin builds its own constant database, both named FILE.db, so
each builds in its own directory; only answers and messages are compared.

DELIBERATE differences: postalias does not add Postfix's NIS entries
(YP_LAST_MODIFIED, YP_MASTER_NAME); -s lists in file order, not hash order
(compared as sets)."""
import os
import subprocess

from conftest import real_tool

POSTMAP_SOURCE = """\
Foo  bar baz
# a comment
k2 v2
  continued
#c
\tmore
k3
k4:  x
foo dup
User@Example.COM  OK
example.net\tREJECT go away
.sub.example.net DUNNO
key\twith  inner   spaces  \n\
"""

ALIASES_SOURCE = """\
Root: a,b ,  c
"x y": z
bad line
user@dom: q
p: |"/bin/cmd arg", /tmp/file, :include:/etc/inc
r:
  s,
  t
empty: ""
: nokey
c,d: e
q: "quoted value"
x2: a(comment)
x4: Name <a@b>
x5: a  ,,  b
x7: a\\,b
x9 : c
"X10": d
y5: a.b . c
y8: a[1.2.3.4]
y12: a\\ b
z1: a"b"
z3: <a> b
postmaster: root
"""

KEYS = ["foo", "FOO", "Foo", "k2", "k3", "k4", "k4:", "user@example.com",
        "USER@EXAMPLE.COM", "example.net", ".sub.example.net", "key", "nope", "bar"]
ALIAS_KEYS = ["root", "Root", "x y", "p", "r", "empty", "q", "x2", "x4", "x5", "x7",
              "x9", "x10", "y5", "y8", "y12", "z1", "z3", "postmaster", "@", "bad",
              "user@dom", "nope", "c,d"]


def build_both(run, run_real, tmp_path, name, text, cmd="postmap", args=()):
    """Write text as NAME in two directories; build it with yubin's and the
    real command. Returns (yubin path, real path, yubin result, real result)."""
    yd, rd = tmp_path / "yubin", tmp_path / "real"
    yd.mkdir(exist_ok=True)
    rd.mkdir(exist_ok=True)
    (yd / "main.cf").write_text("")
    yp, rp = yd / name, rd / name
    yp.write_text(text)
    rp.write_text(text)
    ry = run(cmd, "-c", str(yd), *args, str(yp), cwd=str(yd))
    rr = run_real(cmd, *args, str(rp))
    return yp, rp, ry, rr


def warnings(res, path):
    return [line.replace(str(path), "FILE") for line in res.err.splitlines()]


def test_postmap_answers_like_the_real_one(run, run_real, tmp_path):
    yp, rp, ry, rr = build_both(run, run_real, tmp_path, "access", POSTMAP_SOURCE)
    assert ry.rc == 0 and rr.rc == 0, (ry, rr)
    assert warnings(ry, yp) == warnings(rr, rp)
    for key in KEYS:
        y = run("postmap", "-c", str(yp.parent), "-q", key, str(yp))
        r = run_real("postmap", "-q", key, str(rp))
        assert (y.rc, y.out) == (r.rc, r.out), key
    y = run("postmap", "-c", str(yp.parent), "-q", "-", str(yp), stdin="\n".join(KEYS) + "\n")
    # run_real has no stdin: call the real postmap directly for -q -
    p = subprocess.run([real_tool("postmap"), "-q", "-", str(rp)], input="\n".join(KEYS) + "\n",
                       capture_output=True, text=True)
    assert y.out == p.stdout
    y = run("postmap", "-c", str(yp.parent), "-s", "hash:" + str(yp))
    r = run_real("postmap", "-s", "hash:" + str(rp))
    assert sorted(y.out.splitlines()) == sorted(r.out.splitlines())


def test_postmap_duplicates_and_fold_flags(run, run_real, tmp_path):
    text = "a first\nA second\nb one\n"
    for flags, key in (("-r", "a"), ("-w", "a"), ("-f", "A"), ("-f", "a")):
        d = tmp_path / (flags + key)
        d.mkdir()
        yp, rp, ry, rr = build_both(run, run_real, d, "t", text, args=(flags,))
        assert warnings(ry, yp) == warnings(rr, rp), flags
        qf = ("-f",) if flags == "-f" else ()
        y = run("postmap", "-c", str(yp.parent), *qf, "-q", key, str(yp))
        r = run_real("postmap", *qf, "-q", key, str(rp))
        assert (y.rc, y.out) == (r.rc, r.out), (flags, key)


def test_postalias_answers_like_the_real_one(run, run_real, tmp_path):
    yp, rp, ry, rr = build_both(run, run_real, tmp_path, "aliases", ALIASES_SOURCE,
                                cmd="postalias")
    assert ry.rc == 0 and rr.rc == 0, (ry, rr)
    assert warnings(ry, yp) == warnings(rr, rp)
    for key in ALIAS_KEYS:
        y = run("postalias", "-c", str(yp.parent), "-q", key, str(yp))
        r = run_real("postalias", "-q", key, str(rp))
        assert (y.rc, y.out) == (r.rc, r.out), key
    y = run("postalias", "-c", str(yp.parent), "-s", str(yp))
    r = run_real("postalias", "-s", str(rp))
    real = [x for x in r.out.splitlines() if not x.startswith("YP_")]
    assert sorted(y.out.splitlines()) == sorted(real)


def test_missing_files_fail_like_postfix(run, run_real, tmp_path):
    (tmp_path / "main.cf").write_text("")
    y = run("postmap", "-c", str(tmp_path), "-q", "x", str(tmp_path / "none"))
    r = run_real("postmap", "-q", "x", str(tmp_path / "none"))
    assert y.rc == r.rc == 1
    assert y.err == r.err
    y = run("postmap", "-c", str(tmp_path), str(tmp_path / "none"))
    r = run_real("postmap", str(tmp_path / "none"))
    assert y.rc == r.rc == 1
    assert y.err == r.err


def test_incremental_delete_and_other_types(run, tmp_path):
    (tmp_path / "main.cf").write_text("default_database_type = cdb\n")
    src = tmp_path / "t"
    src.write_text("a 1\nb 2\n")
    c = ("-c", str(tmp_path))
    assert run("postmap", *c, str(src)).rc == 0
    assert (tmp_path / "t.cdb").exists()
    assert run("postmap", *c, "-i", str(src), stdin="c 3\nA 9\n").rc == 0
    assert run("postmap", *c, "-q", "c", str(src)).out == "3\n"
    assert run("postmap", *c, "-q", "a", str(src)).out == "1\n"
    assert run("postmap", *c, "-d", "a", str(src)).rc == 0
    assert run("postmap", *c, "-d", "a", str(src)).rc == 1
    assert run("postmap", *c, "-q", "a", str(src)).rc == 1
    assert run("postmap", *c, "-q", "b", "texthash:" + str(src)).out == "2\n"
    (tmp_path / "re").write_text("/^(.*)@example\\.com$/ user $1\n")
    assert run("postmap", *c, "-q", "Joe@Example.com", "regexp:" + str(tmp_path / "re")).out \
        == "user Joe\n"
    assert run("postmap", *c, "-q", "k", "inline:{k=v}").out == "v\n"
    r = run("postmap", *c, "-q", "k", "nope:x")
    assert r.rc == 1 and "unsupported dictionary type: nope" in r.err


def test_newaliases_builds_alias_database(run, tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "aliases").write_text("postmaster: root\nroot: admin@example.com\n")
    (etc / "main.cf").write_text("alias_database = hash:%s/aliases\n" % etc)
    r = run("newaliases", "-C", str(etc))
    assert r.rc == 0, r
    assert run("postalias", "-c", str(etc), "-q", "postmaster", str(etc / "aliases")).out \
        == "root\n"
    (etc / "aliases").write_text("postmaster: other\n")
    r = run("newaliases", "-C", str(etc / "main.cf"))
    assert r.rc == 0, r
    assert run("postalias", "-c", str(etc), "-q", "postmaster", str(etc / "aliases")).out \
        == "other\n"
    assert run("postalias", "-c", str(etc), "-q", "@", str(etc / "aliases")).out == "@\n"


def test_malformed_sources_warn_with_file_and_line(run, tmp_path):
    (tmp_path / "main.cf").write_text("")
    src = tmp_path / "bad"
    src.write_bytes(b"\x00\xff\xfe garbage\n  lead\nok value\nnovalue\n" + b"k" * 2000000 +
                    b" v\n" + bytes(range(256)) + b"\n")
    r = run("postmap", "-c", str(tmp_path), str(src))
    assert r.rc == 0, r
    assert "%s, line 4: expected format: key whitespace value" % src in r.err
    assert run("postmap", "-c", str(tmp_path), "-q", "ok", str(src)).out == "value\n"
    r = run("postalias", "-c", str(tmp_path), str(src))
    assert r.rc == 0, r
    assert "need name:value pair" in r.err
    # a foreign file where a table should be is an error, not a crash
    (tmp_path / "foreign.db").write_bytes(os.urandom(5000))
    r = run("postmap", "-c", str(tmp_path), "-q", "x", str(tmp_path / "foreign"))
    assert r.rc == 1 and "open database" in r.err
