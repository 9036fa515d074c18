"""gen_scripts.py SEED - a random but deterministic Sieve script over the
base language, variables, imap4flags, copy, relational, subaddress and
envelope, for the side-by-side comparison with Pigeonhole
(tests/e2e/test_sieve.py). Prints the script."""
import random, sys
R = None
hdrs = ["subject","from","to","cc","list-id","x-spam-score","date","received","message-id","x-none","sender","content-type"]
keys = ["money","example.com","*","*a*","?","alice","bob+lists@example.com","me@example.com","*@*","Make*","[*] *","","x","7.5","acme-users*","*<*.*>"]
mt = [":is",":contains",":matches",":value \"gt\"",":count \"ge\"",":value \"lt\""]
cmp = ["",":comparator \"i;octet\"",":comparator \"i;ascii-numeric\""]
ap = ["",":localpart",":domain",":all",":user",":detail"]
def s(x): return '"%s"' % x
def lst(a): 
    k = R.sample(a, R.randint(1,3))
    return s(k[0]) if len(k)==1 else "[" + ", ".join(s(i) for i in k) + "]"
def test(d=0):
    c = R.randint(0, 9 if d < 2 else 6)
    m = R.choice(mt); cm = R.choice(cmp)
    if "numeric" in cm and m in (":contains",":matches"): cm = ""
    if c in (0,1): return "header %s %s %s %s" % (m, cm, lst(hdrs), lst(keys))
    if c in (2,3): return "address %s %s %s %s" % (R.choice(ap), m, cm, lst(["from","to","cc","sender"]), ) + " " + lst(keys)
    if c == 4: return "exists %s" % lst(hdrs)
    if c == 5: return "size :%s %d" % (R.choice(["over","under"]), R.randint(100,900))
    if c == 6: return R.choice(["true","false"])
    if c == 7: return "not " + test(d+1)
    if c == 8: return "anyof (%s, %s)" % (test(d+1), test(d+1))
    return "allof (%s, %s)" % (test(d+1), test(d+1))
def action():
    c = R.randint(0,9)
    if c == 0: return "keep;"
    if c == 1: return "discard;"
    if c == 2: return 'fileinto %s;' % s(R.choice(["A","B","INBOX","m-${1}","v-${0}"]))
    if c == 3: return 'fileinto :copy %s;' % s(R.choice(["A","C"]))
    if c == 4: return 'redirect %s;' % s(R.choice(["a@example.net","b@example.net"]))
    if c == 5: return 'addflag %s;' % s(R.choice(["\\\\Seen","x","\\\\Flagged y"]))
    if c == 6: return 'set "v" "${1}";'
    if c == 7: return "stop;"
    if c == 8: return 'removeflag "x";'
    return 'fileinto :flags "f" "F";'
def script(seed):
    global R
    R = random.Random(seed)
    out = ['require ["fileinto","copy","imap4flags","variables","relational","comparator-i;ascii-numeric","subaddress","envelope"];']
    for i in range(R.randint(1,6)):
        out.append("if %s { %s %s }" % (test(), action(), action() if R.random()<0.5 else ""))
        if R.random() < 0.3: out.append("elsif %s { %s }" % (test(), action()))
        if R.random() < 0.2: out.append("else { %s }" % action())
        if R.random() < 0.3: out.append(action())
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(script(int(sys.argv[1])), end="")
