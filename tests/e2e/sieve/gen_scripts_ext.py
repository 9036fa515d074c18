"""gen_scripts_ext.py SEED - a random but deterministic Sieve script over
body, date, index, mime, foreverypart, regex, vacation, enotify, variables
and relational, for the side-by-side comparison with Pigeonhole
(tests/e2e/test_sieve.py). Prints the script."""
import random, sys
R = None
def s(x): return '"%s"' % x
def lst(a):
    k = R.sample(a, R.randint(1,min(3,len(a))))
    return s(k[0]) if len(k)==1 else "[" + ", ".join(s(i) for i in k) + "]"
mt = [":is",":contains",":matches",":regex",":value \"ge\"",":count \"eq\""]
keys = ["*","text","HTML*","money","caf","2026","^[a-z]+$","(.*)@(.*)","1","0","*e*","Body*","x"]
def m(): 
    x = R.choice(mt)
    return x
def test(d=0):
    c = R.randint(0, 11)
    if c == 0: return "body %s %s %s" % (R.choice([":raw",":text",":content \"text\"",":content \"text/html\"",":content \"multipart\"",""]), m(), lst(keys))
    if c == 1: return "date %s %s %s %s" % (R.choice([":originalzone",":zone \"+0000\"",":zone \"-0700\"",""]), m(), s(R.choice(["date","received"])), s(R.choice(["year","month","day","date","julian","hour","minute","second","time","iso8601","std11","zone","weekday"]))) + " " + lst(keys)
    if c == 2: return "header :mime %s %s \"content-type\" %s" % (R.choice([":anychild",""]), R.choice([":type",":subtype",":contenttype",":param \"charset\"",""]), lst(["text","plain","multipart","mixed","utf-8","*","text/plain"]))
    if c == 3: return "exists :mime :anychild %s" % lst(["content-type","content-transfer-encoding","content-disposition"])
    if c == 4: return "header %s \"subject\" %s" % (m(), lst(keys))
    if c == 5: return "address %s %s %s %s" % (R.choice([":all",":localpart",":domain"]), m(), lst(["from","to","cc"]), lst(keys))
    if c == 6: return "string %s \"${v}\" %s" % (m(), lst(keys))
    if c == 7:
        # not :count: Pigeonhole 0.5.19 counts 0 when :index names the last field
        return "header :index %d %s %s \"received\" %s" % (R.randint(1,3), R.choice(["",":last"]), R.choice(mt[:5]), lst(keys))
    if c == 8 and d < 2: return "not " + test(d+1)
    if c == 9 and d < 2: return "anyof (%s, %s)" % (test(d+1), test(d+1))
    if c == 10: return "envelope %s \"from\" %s" % (m(), lst(keys + ["alice@example.org"]))
    return R.choice(["true","false"])
def action():
    c = R.randint(0,8)
    if c == 0: return 'fileinto "f-${1}-${2}";'
    if c == 1: return 'set :%s "v" "${0}";' % R.choice(["lower","upper","length","quotewildcard","upperfirst"])
    if c == 2: return 'set "v" "${1}";'
    if c == 3: return 'vacation :subject "${v}" %s "reason ${1}";' % R.choice(["",":days 2",":mime",":from \"me@example.com\""])
    if c == 4: return 'notify :message "${v}" "mailto:n@example.com";'
    if c == 5: return 'foreverypart { if header :mime :contenttype "content-type" "text/plain" { set "v" "p"; fileinto "part"; } }'
    if c == 6: return 'fileinto :copy "c-${v}";'
    if c == 7: return 'keep;'
    return 'discard;'
def script(seed):
    global R
    R = random.Random(seed)
    out = ['require ["fileinto","copy","variables","relational","comparator-i;ascii-numeric","body","date","index","mime","foreverypart","regex","vacation","enotify","envelope"];', 'set "v" "start";']
    for i in range(R.randint(1,6)):
        out.append("if %s { %s %s }" % (test(), action(), action() if R.random()<0.5 else ""))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(script(int(sys.argv[1])), end="")
