"""Writes the tests/sieve/rfcNNNN-examples.svtest files that follow one
pattern (a message, a script from rfc/, the actions, folders and sent
messages the RFC states). Run from tests/sieve/rfc: python3 gen.py"""
import os

HEAD = ['require "vnd.dovecot.testsuite";', 'require "envelope";', 'require "body";',
        'require "relational";', 'require "comparator-i;ascii-numeric";', 'require "variables";']


def case(name, script, msg, count=None, actions=(), folders=(), nofolders=(), smtp=(),
         env=None, pre=(), post=(), run_ok=True, compile_ok=True):
    out = ['test "%s" {' % name, '\ttest_result_reset;']
    # a clean store for the folders this test looks at
    for f in sorted(set(list(folders) + list(nofolders) + ["INBOX"])):
        out.append('\ttest_mailbox_delete "%s";' % f)
    out += ['\t' + p for p in pre]
    for k, v in (env or {}).items():
        out.append('\ttest_set "envelope.%s" "%s";' % (k, v))
    out.append('\ttest_set "message" text:\n%s\n.\n;' % msg.strip("\n").replace("\n.", "\n.."))
    if not compile_ok:
        out.append('\tif test_script_compile "rfc/%s.sieve" { test_fail "compiled"; }' % script)
        out.append('}\n')
        return "\n".join(out)
    out.append('\tif not test_script_compile "rfc/%s.sieve" { test_fail "compile"; }' % script)
    if not run_ok:
        out.append('\tif test_script_run { test_fail "ran without error"; }')
        out += ['\t' + p for p in post]
        out.append('}\n')
        return "\n".join(out)
    out.append('\tif not test_script_run { test_fail "run"; }')
    if count is not None:
        out.append('\tif not test_result_action :count "eq" :comparator "i;ascii-numeric" "%d" '
                   '{ test_fail "not %d actions"; }' % (count, count))
    for i, a in actions:
        out.append('\tif not test_result_action :index %d "%s" { test_fail "action %d is not %s"; }'
                   % (i, a, i, a))
    out.append('\tif not test_result_execute { test_fail "execute"; }')
    for f in folders:
        out.append('\tif not test_message :folder "%s" 0 { test_fail "nothing in %s"; }' % (f, f))
    for f in nofolders:
        out.append('\tif test_message :folder "%s" 0 { test_fail "something in %s"; }' % (f, f))
    for i, (to, checks) in enumerate(smtp or ()):
        out.append('\tif not test_message :smtp %d { test_fail "message %d not sent"; }' % (i, i))
        out.append('\tif not envelope :is "to" "%s" { test_fail "message %d not to %s"; }' % (to, i, to))
        out += ['\t' + c for c in checks]
    if smtp is not None:
        out.append('\tif test_message :smtp %d { test_fail "more sent than expected"; }' % len(smtp))
    out += ['\t' + p for p in post]
    out.append('}\n')
    return "\n".join(out)


def write(rfc, comment, cases, extra_head=()):
    with open("../rfc%s-examples.svtest" % rfc, "w") as f:
        f.write("\n".join(HEAD + list(extra_head)) + "\n\n")
        f.write("".join("# %s\n" % l for l in comment.strip().splitlines()))
        f.write("# (written by tests/sieve/rfc/gen.py: edit that, then run it)\n\n")
        f.write("\n".join(cases))


M = "From: %s\nTo: %s\nSubject: %s\n%s\nbody\n"


def msg(frm="someone@example.org", to="me@example.com", subject="hi", extra=""):
    return M % (frm, to, subject, extra + ("\n" if extra and not extra.endswith("\n") else ""))


# RFC 5231 ------------------------------------------------------------
write(5231, """RFC 5231 (relational): the extended example of section 8
(rfc/5231-extended.sieve), one message per branch. The section 7
example evaluations are in relational.svtest.""", [
    case("8: X-Priority below 3 goes to Priority", "5231-extended",
         msg(frm="zed@example.org", to="me@foo.example.com", extra="X-Priority: 1"),
         folders=["Priority", "Only me"], count=2),
    case("8: more than five To recipients is SPAM", "5231-extended",
         msg(to="a@x.example, b@x.example, c@x.example, d@x.example, e@x.example, f@x.example"),
         folders=["SPAM"], count=1),
    case("8: From above M goes to From N-Z", "5231-extended",
         msg(frm="zed@example.org", to="other@example.net"), folders=["From N-Z"], count=1),
    case("8: From below M goes to From A-M, only me adds Only me", "5231-extended",
         msg(frm="alice@example.org", to="me@foo.example.com"),
         folders=["From A-M", "Only me"], count=2),
    case("8: a Cc besides me: not Only me", "5231-extended",
         msg(frm="alice@example.org", to="me@foo.example.com", extra="Cc: other@example.net"),
         folders=["From A-M"], count=1),
])

# RFC 5232 ------------------------------------------------------------
write(5232, """RFC 5232 (imap4flags): the examples of sections 3 and 7
(rfc/5232-*.sieve); the hasflag examples of section 4 inline. The flags
the stored message gets are compared with Pigeonhole's sieve-test in
tests/e2e/test_sieve.py.""", [
    case("3.1: a message over 500K is flagged \\\\Deleted (a small one is not)", "5232-1-deleted",
         msg(), count=0, folders=["INBOX"]),
    case("3.1: mail from the boss is filed into INBOX.From Boss", "5232-2-boss",
         msg(frm="The Boss <boss@frobnitzm.example.edu>"), count=1,
         actions=[(1, "store")], folders=["INBOX.From Boss"], nofolders=["INBOX"]),
    case("3.3: imap list mail goes to INBOX.imap-list", "5232-4-mdn",
         msg(frm="imap@cac.washington.example.edu",
             extra="Disposition-Notification-To: mel@example.com"),
         count=1, folders=["INBOX.imap-list"]),
    case("7: grandma's mail is filed into GrandMa and kept (To is the company)",
         "5232-7-extended", msg(frm="grandma@example.net", to="me@company.example.com"),
         folders=["GrandMa", "INBOX"], count=2),
    case("7: the list is kept with its flags", "5232-7-extended",
         msg(frm="x@example.org", to="me@company.example.com",
             extra="Sender: owner-ietf-mta-filters@example.org"),
         folders=["INBOX"], count=1, actions=[(1, "keep")]),
    case("7: company mail is kept", "5232-7-extended",
         msg(frm="colleague@company.example.com", to="someone@example.net"),
         folders=["INBOX"], count=1, actions=[(1, "keep")]),
    case("7: mail not to me is spam", "5232-7-extended",
         msg(frm="x@example.org", to="someone@example.net"), folders=["spam"], count=1),
    case("7: other mail to me (in Cc) is personal", "5232-7-extended",
         msg(frm="x@example.org", to="friend@example.net", extra="Cc: me@company.example.com"),
         folders=["personal"], nofolders=["INBOX"], count=1),
], extra_head=['require "imap4flags";']) 

with open("../rfc5232-examples.svtest", "a") as f:
    f.write('''
test "4: the hasflag examples" {
	set "MyVar" "NonJunk Junk gnus-forward $Forwarded NotJunk";
	if not hasflag :contains "MyVar" "Junk" { test_fail "Junk"; }
	if not hasflag :contains "MyVar" "forward" { test_fail "forward"; }
	if not hasflag :contains "MyVar" ["label", "forward"] { test_fail "label, forward"; }
	if not hasflag :contains "MyVar" ["junk", "forward"] { test_fail "junk, forward"; }
	if not hasflag :contains "MyVar" "junk forward" { test_fail "junk forward"; }
	if not hasflag :contains "MyVar" "forward junk" { test_fail "forward junk"; }
	if hasflag :contains "MyVar" "label" { test_fail "label"; }
	if hasflag :contains "MyVar" ["label1", "label2"] { test_fail "label1, label2"; }
	set "F" "A B";
	if not hasflag :is "F" "b A" { test_fail ":is b A"; }
	if not hasflag "F" ["b", "A"] { test_fail "[b, A]"; }
	set "MyFlags" "\\\\Answered $MDNSent";
	if not hasflag :count "ge" :comparator "i;ascii-numeric" "MyFlags" "2" { test_fail ":count"; }
}

test "3.2: the addflag examples all give the same two flags" {
	addflag "flagvar" "\\\\Deleted";
	addflag "flagvar" "\\\\Answered";
	if not string :is "${flagvar}" "\\\\Deleted \\\\Answered" { test_fail "1: ${flagvar}"; }
	set "flagvar" "";
	addflag "flagvar" ["\\\\Deleted", "\\\\Answered"];
	if not string :is "${flagvar}" "\\\\Deleted \\\\Answered" { test_fail "2: ${flagvar}"; }
	set "flagvar" "";
	addflag "flagvar" "\\\\Deleted \\\\Answered";
	if not string :is "${flagvar}" "\\\\Deleted \\\\Answered" { test_fail "3: ${flagvar}"; }
	set "flagvar" "";
	addflag "flagvar" "\\\\Answered \\\\Deleted";
	if not hasflag :count "eq" :comparator "i;ascii-numeric" "flagvar" "2" { test_fail "4"; }
}
''')

# RFC 5233 ------------------------------------------------------------
write(5233, """RFC 5233 (subaddress): the example of section 5 (rfc/5233-example.sieve),
one envelope recipient per branch (recipient_delimiter "+").""", [
    case("5: postmaster+x goes to inbox.postmaster and stops", "5233-example", msg(),
         env={"to": "postmaster+x@example.com"}, count=1, folders=["inbox.postmaster"]),
    case("5: ken+mta-filters goes to inbox.ietf-mta-filters", "5233-example", msg(),
         env={"to": "ken+mta-filters@example.com"}, count=1, folders=["inbox.ietf-mta-filters"]),
    case("5: ken+foo is redirected to ken@example.net", "5233-example", msg(),
         env={"to": "ken+foo@example.com"}, count=1, actions=[(1, "redirect")],
         smtp=[("ken@example.net", [])], nofolders=[]),
    case("5: plain ken is kept", "5233-example", msg(), env={"to": "ken@example.com"},
         count=0, folders=["INBOX"]),
], extra_head=['require "subaddress";'])

# RFC 5260 ------------------------------------------------------------
BOSS = "From: boss@example.com\nTo: me@example.com\nSubject: now\nDate: %s\n\nbody\n"
write(5260, """RFC 5260 (date, index): the examples of sections 4, 5 and 6
(rfc/5260-*.sieve). The currentdate examples are checked against the
date the run sees, read with currentdate itself.""", [
    case("4: boss at 10:00 in the original zone goes to urgent", "5260-4-boss",
         BOSS % "Mon, 23 Nov 2026 10:00:00 -0800", count=1, folders=["urgent"]),
    case("4: boss at 18:00 is kept", "5260-4-boss",
         BOSS % "Mon, 23 Nov 2026 18:00:00 +0900", count=0, folders=["INBOX"]),
    case("4: received on a Sunday goes to weekend", "5260-4-weekend",
         "Received: from a by b; Sun, 22 Nov 2026 10:00:00 +0000\nFrom: a@example.org\n"
         "Subject: x\n\nbody\n", count=1, folders=["weekend"]),
    case("4: received on a Wednesday is kept", "5260-4-weekend",
         "Received: from a by b; Wed, 25 Nov 2026 10:00:00 +0000\nFrom: a@example.org\n"
         "Subject: x\n\nbody\n", count=0),
    case("5: out of office hours the pager gets it, else nothing", "5260-5-pager", msg(),
         smtp=None,
         post=['if anyof(currentdate :is "weekday" "0", currentdate :is "weekday" "6",',
               '         currentdate :value "lt" "hour" "09", currentdate :value "ge" "hour" "17") {',
               '\tif not test_message :smtp 0 { test_fail "no page"; }',
               '\tif not envelope :is "to" "pager@example.com" { test_fail "not to the pager"; }',
               '} elsif test_message :smtp 0 { test_fail "paged in office hours"; }']),
    case("5: the July 2007 vacation does not answer today", "5260-5-vacation", msg(),
         count=0, smtp=[]),
    case("5: fileinto month-year of today", "5260-5-month", msg(), count=1,
         post=['if currentdate :matches "month" "*" { set "m" "${1}"; }',
               'if currentdate :matches "year" "*" { set "y" "${1}"; }',
               'if not test_message :folder "${m}-${y}" 0 { test_fail "not in ${m}-${y}"; }']),
    case("5: Processing-date from std11", "5260-5-std11", msg(), count=0,
         post=['if not test_message :folder "INBOX" 0 { test_fail "not kept"; }',
               'if not header :matches "Processing-date" "*, * * * *:*:* *" '
               '{ test_fail "no std11 date header"; }']),
    case("6: the first Received after the cutoff is redirected", "5260-6-index",
         "Received: from b by c; Mon, 26 Feb 2007 15:30:00 +0000\n"
         "Received: from a by b; Mon, 26 Feb 2007 10:00:00 +0000\nFrom: a@example.org\n"
         "Subject: late\n\nbody\n", count=1, smtp=[("aftercutoff@example.org", [])]),
    case("6: received before the cutoff is kept", "5260-6-index",
         "Received: from b by c; Mon, 26 Feb 2007 13:59:00 +0000\n"
         "Received: from a by b; Mon, 26 Feb 2007 16:00:00 +0000\nFrom: a@example.org\n"
         "Subject: early\n\nbody\n", count=0, smtp=[]),
], extra_head=['require "date";', 'test_config_set "sieve_extensions" "+editheader";',
               'test_config_reload;'])

# RFC 5293 ------------------------------------------------------------
write(5293, """RFC 5293 (editheader): the examples (rfc/5293-*.sieve).""", [
    case("8: redirected once with X-Sieve-Filtered added", "5293-redirect-once", msg(),
         count=1, actions=[(1, "redirect")],
         smtp=[("kim@home.example.com",
                ['if not header :is "X-Sieve-Filtered" "<kim@job.example.com>" '
                 '{ test_fail "header not added"; }'])]),
    case("8: a message that was filtered before is not redirected again", "5293-redirect-once",
         msg(extra="X-Sieve-Filtered: <kim@job.example.com>"), count=0, smtp=[]),
    case("5: a test sees the header addheader added", "5293-hello", msg(), count=1,
         folders=["international"],
         post=['if not header :is "X-Hello" "World" { test_fail "stored without X-Hello"; }']),
    case("6: deleteheader :index 1 :contains removes the first Delivered-To only if it matches",
         "5293-delivered-to",
         "Delivered-To: bob@example.com\nDelivered-To: alice@example.com\nFrom: a@example.org\n"
         "Subject: x\n\nbody\n", count=0,
         post=['if not test_message :folder "INBOX" 0 { test_fail "not kept"; }',
               'if header :contains "Delivered-To" "bob@example.com" { test_fail "bob stays"; }',
               'if not header :is "Delivered-To" "alice@example.com" { test_fail "alice went"; }']),
    case("6: keep, addheader, keep: one message is kept", "5293-flavor", msg(),
         post=['if not test_message :folder "INBOX" 0 { test_fail "not kept"; }']),
], extra_head=['require "editheader";'])
with open("../rfc5293-examples.svtest") as f:
    t = f.read()
t = t.replace('require "editheader";\n', '', 1)
t = t.replace('# RFC 5293 (editheader): the examples (rfc/5293-*.sieve).\n',
              '# RFC 5293 (editheader): the examples (rfc/5293-*.sieve); the extension\n'
              '# is off by default, as in Pigeonhole.\n\ntest_config_set "sieve_extensions" "+editheader";\ntest_config_reload;\n')
with open("../rfc5293-examples.svtest", "w") as f:
    f.write(t)

# RFC 5435 ------------------------------------------------------------
write(5435, """RFC 5435 (enotify) with the mailto method of RFC 5436: the examples
of section 8 that use mailto (rfc/5435-*.sieve). Examples 3 and 5 use
the xmpp: and tel: methods, which neither yubin nor Pigeonhole offer:
they do not compile (tested below).""", [
    case("8 example 1: the boss: an important notification, then stop", "5435-ex1",
         msg(frm="boss@example.org", to="sievemailinglist@example.org"), count=1,
         actions=[(1, "notify")], folders=["INBOX"],
         smtp=[("alm@example.com",
                ['if not header :is "subject" "This is probably very important" '
                 '{ test_fail "subject"; }',
                 'if not envelope :is "from" "" { test_fail "not from <>"; }'])]),
    case("8 example 1: the list: a notification with From and Subject, filed", "5435-ex1",
         msg(frm="Carl <carl@example.net>", to="sievemailinglist@example.org", subject="news"),
         count=2, actions=[(1, "notify")], folders=["INBOX.sieve"], nofolders=[],
         smtp=[("alm@example.com",
                ['if not header :is "subject" "[SIEVE] Carl <carl@example.net>: news" '
                 '{ test_fail "subject"; }'])]),
    case("8 example 2: From and envelope sender in the message", "5435-ex2",
         msg(frm="ann@mail.example.org", subject="report"),
         env={"from": "bounce@lists.example.org"}, count=1,
         smtp=[("alm@example.com",
                ['if not header :is "subject" '
                 '"ann@mail.example.org [really: bounce@lists.example.org]: report" '
                 '{ test_fail "subject"; }'])]),
    case("8 example 4: http is not a valid method: stop, keep", "5435-ex4", msg(), count=0,
         smtp=[], folders=["INBOX"]),
    case("8 example 6: :encodeurl keeps the body parameter whole", "5435-ex6", msg(), count=1,
         smtp=[("tim@example.com",
                ['if not body :contains "Safe body&evil=evilbody" { test_fail "body"; }',
                 'if header :contains "evil" "" { test_fail "evil became a header"; }'])]),
], extra_head=['require "enotify";'])
with open("../rfc5435-examples.svtest", "a") as f:
    f.write('''
test "8 examples 3 and 5: xmpp and tel are not offered" {
	if not valid_notify_method "mailto:a@example.com" { test_fail "mailto"; }
	if valid_notify_method "xmpp:tim@example.com?message;subject=SIEVE" { test_fail "xmpp"; }
	if valid_notify_method "tel:+14085551212" { test_fail "tel"; }
}
''')

# RFC 5703 ------------------------------------------------------------
write(5703, """RFC 5703 (mime, foreverypart, extracttext): the examples of sections
3, 4 and 7 that use them (rfc/5703-*.sieve). The replace and enclose
examples (section 7) need extensions yubin does not have.""", [
    case("4.2 as printed: size :over with a string does not compile", "5703-pdf", "From: a@b\n\nx\n",
         compile_ok=False),
    case("4.2: a small important PDF is not filed (size :over 100K is false)", "5703-pdf-fixed",
         "From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nsee\n"
         "--b\nContent-Type: application/pdf\n"
         "Content-Disposition: attachment; filename=\"very-important.pdf\"\n\nPDF\n--b--\n",
         count=0, folders=["INBOX"]),
    case("7: extracttext in the boss example runs without actions", "5703-extracttext",
         "From: boss@example.org\nSubject: hello\nMIME-Version: 1.0\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\n"
         "first words\n--b--\n", count=0, folders=["INBOX"]),
], extra_head=['require "mime";', 'require "foreverypart";'])

# RFC 7352 ------------------------------------------------------------
write(7352, """RFC 7352 (duplicate): examples 1, 2 and 5 of section 5
(rfc/7352-*.sieve); examples 3 and 4 notify by xmpp:, which is not
offered. Each test delivers the same message twice.""", [
    case("5 example 1: the first copy is kept", "7352-ex1",
         msg(extra="Message-ID: <dup-1@example.org>"), count=0, folders=["INBOX"]),
    case("5 example 1: the second copy goes to Trash/Duplicate", "7352-ex1",
         msg(extra="Message-ID: <dup-1@example.org>"), count=1,
         folders=["Trash/Duplicate"]),
    case("5 example 2: the first ALERT is filed in Alerts", "7352-ex2",
         msg(subject="ALERT: disk full", extra="Message-ID: <a1@example.org>"), count=1,
         folders=["Alerts"]),
    case("5 example 2: the same ALERT again is filed too (flagged seen)", "7352-ex2",
         msg(subject="ALERT: disk full", extra="Message-ID: <a2@example.org>"), count=1,
         post=['if not test_message :folder "Alerts" 1 { test_fail "second not in Alerts"; }']),
    case("5 example 5: the first event is kept", "7352-ex5",
         msg(to="support@example.com", subject="fileserver down", extra="X-Event-ID: 17\nX-Ticket-ID: 9"),
         count=0),
    case("5 example 5: the same event again is discarded", "7352-ex5",
         msg(to="support@example.com", subject="fileserver down", extra="X-Event-ID: 17\nX-Ticket-ID: 9"),
         count=1, actions=[(1, "discard")]),
    case("5 example 5: a new event for the same ticket is kept (flagged seen)", "7352-ex5",
         msg(to="support@example.com", subject="fileserver down", extra="X-Event-ID: 18\nX-Ticket-ID: 9"),
         count=0),
], extra_head=['require "duplicate";'])

# RFC 5183, 5235, 8579 -----------------------------------------------
write(5183, """RFC 5183 (environment): the examples of section 4 (rfc/5183-*.sieve).
No item "item" exists; remote-host is not known to the testsuite.""", [
    case("4 example 1: an unknown item does not match, implicit keep", "5183-ex1", msg(),
         count=0, folders=["INBOX"]),
    case("4 example 2: remote-host unknown: not discarded", "5183-ex2", msg(), count=0,
         folders=["INBOX"]),
])
write(5235, """RFC 5235 (spamtest, virustest): the examples of sections 3 and 4
(rfc/5235-*.sieve), with Pigeonhole's settings: X-Spam-Score (0..10) and
X-Virus-Scan (score 0..5).""", [
    case("3.1: no spam header: unclassified", "5235-spamtest", msg(), count=1,
         folders=["INBOX.unclassified"]),
    case("3.1: score 8 of 10 goes to the spam trap", "5235-spamtest",
         msg(extra="X-Spam-Score: 8"), count=1, folders=["INBOX.spam-trap"]),
    case("3.2: :percent 0: not-spam", "5235-spamtestplus",
         msg(extra="X-Spam-Score: 0"), count=1, folders=["INBOX.not-spam"]),
    case("3.2: 3 of 10 is 30 percent: spam trap", "5235-spamtestplus",
         msg(extra="X-Spam-Score: 3"), count=1, folders=["INBOX.spam-trap"]),
    case("3.2: 9 of 10 is discarded", "5235-spamtestplus",
         msg(extra="X-Spam-Score: 9"), count=1, actions=[(1, "discard")]),
    case("4: virus found (4) goes to quarantine", "5235-virustest",
         msg(extra="X-Virus-Scan: 4"), count=1, folders=["INBOX.quarantine"]),
    case("4: virus 5 is discarded", "5235-virustest",
         msg(extra="X-Virus-Scan: 5"), count=1, actions=[(1, "discard")]),
], extra_head=['test_config_set "sieve_extensions" "+spamtest +spamtestplus +virustest";',
               'test_config_set "sieve_spamtest_status_type" "score";',
               'test_config_set "sieve_spamtest_status_header" "X-Spam-Score";',
               'test_config_set "sieve_spamtest_max_value" "10";',
               'test_config_set "sieve_virustest_status_type" "score";',
               'test_config_set "sieve_virustest_status_header" "X-Virus-Scan";',
               'test_config_set "sieve_virustest_max_value" "5";',
               'test_config_reload;'])
write(8579, """RFC 8579 (special-use): examples 2 and 3 of section 4
(rfc/8579-*.sieve); the scratch store has no \\Junk mailbox, so the
message goes to the named one (created with :create). Example 1 needs
imapsieve, which yubin does not have.""", [
    case("4: fileinto :specialuse \\\\Junk Spam, no \\\\Junk mailbox: Spam", "8579-junk-create",
         msg(), count=1, folders=["Spam"]),
], extra_head=['test_config_set "sieve_extensions" "+special-use";', 'test_config_reload;'])

# RFC 6609 ------------------------------------------------------------
GL = ['test_config_set "sieve_global" "${tst.path}/rfc/global";', 'test_config_reload;']
write(6609, """RFC 6609 (include): the examples of sections 3.3, 3.4 and 4
(rfc/6609-*.sieve; the included personal scripts always_allow,
spam_tests, mailing_lists, subject_tests, vacation_on(_ns) sit beside
this file, the global spam_tests in rfc/global/).""", [
    case("4: the boss is kept by always_allow", "6609-4-main",
         msg(frm="boss@example.com", subject="hello"), pre=GL, count=1,
         actions=[(1, "keep")], folders=["INBOX"]),
    case("4: always_allow's keep and a later reject conflict: a run-time error", "6609-4-main",
         msg(frm="boss@example.com", subject="XXXX"), pre=GL, run_ok=False,
         post=['if not test_error :contains "reject" { test_fail "not the reject conflict"; }']),
    case("4: the global spam_tests rejects Make money", "6609-4-main",
         msg(frm="x@example.org", subject="Make money fast"), pre=GL, count=1,
         actions=[(1, "reject")], env={"from": "x@example.org"},
         smtp=[("x@example.org", ['if not body :contains "No thank you." { test_fail "reason"; }'])]),
    case("4: the personal spam_tests rejects money@example.com", "6609-4-main",
         msg(frm="money@example.com", subject="hello"), pre=GL, count=1,
         actions=[(1, "reject")], env={"from": "money@example.com"},
         smtp=[("money@example.com", ['if not body :contains "Mail from this sender is unwelcome." '
                                      '{ test_fail "reason"; }'])]),
    case("4: mailing_lists files the sieve list", "6609-4-main",
         msg(frm="x@example.org", subject="hello", extra="List-ID: sieve.ietf.org"), pre=GL,
         count=1, folders=["lists.sieve"]),
    case("4: other mail: implicit keep", "6609-4-main", msg(), pre=GL, count=0,
         folders=["INBOX"]),
    case("3.3: Make money in the subject: spam-Make money", "6609-3.3-globals",
         msg(subject="Make money now"), count=1, folders=["spam-Make money"]),
    case("3.3: $$ in the subject: spam-$$", "6609-3.3-globals",
         msg(subject="win $$"), count=1, folders=["spam-$$"]),
    case("3.3: neither: kept", "6609-3.3-globals", msg(subject="hello"), count=0,
         folders=["INBOX"]),
    case("3.3: a global set by one script is read by the included one", "6609-3.3-vacation",
         msg(), env={"from": "c1@example.org", "to": "me@example.com"}, count=1,
         actions=[(1, "vacation")],
         smtp=[("c1@example.org", ['if not body :contains "I am on vacation" '
                                   '{ test_fail "reason"; }'])]),
    case("3.4: the global namespace reaches the same variable", "6609-3.4-namespace",
         msg(), env={"from": "c2@example.org", "to": "me@example.com"}, count=1,
         actions=[(1, "vacation")], smtp=[("c2@example.org", [])]),
], extra_head=['require "include";'])
