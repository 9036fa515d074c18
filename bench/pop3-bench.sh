#!/bin/bash
# pop3-bench.sh - POP3 logins per second and RETR throughput: yubin's
# retrieval half beside Debian's real Dovecot 2.3, in the same run,
# alternating, on copies of the same generated Maildir.
#
# Usage (as root): [RUNS=3] [NMSG=5000] [LOGIN_N=2000] [CONC=10]
#   [YUBIN=<build>/bin] bench/pop3-bench.sh
#
# Both servers: loopback, ssl = no, disable_plaintext_auth = no, one
# passwd-file user "big" ({PLAIN}, mail owned by nobody) with NMSG ~4 KiB
# messages left in new/ as an MTA leaves them, pop3_uidl_format default.
# Dovecot is configured as /work/shared/anchors/dovecot-anchor.sh does
# (stock 2.3, high-security login: a login process per connection);
# yubin likewise forks a login process per connection.
#   logins/s: CONC concurrent clients, LOGIN_N sessions of greeting, USER,
#             PASS, QUIT (a failed login aborts the run)
#   RETR:     imapload.py pop3 (USER/PASS, STAT, LIST, RETR 1..N, QUIT):
#             the first session after a fresh copy (new/ -> cur/, uidlist
#             built), then a second one (warm)
# Results: a TSV on stdout and in $OUT (default bench/results/pop3.tsv).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ANCHORS=${ANCHORS:-/work/shared/anchors}
YUBIN=${YUBIN:-$ROOT/build/bin}
RUNS=${RUNS:-3}
NMSG=${NMSG:-5000}
LOGIN_N=${LOGIN_N:-2000}
CONC=${CONC:-10}
SANDBOX=${SANDBOX:-$(mktemp -d /tmp/pop3-bench.XXXXXX)}
OUT=${OUT:-$ROOT/bench/results/pop3.tsv}
PASS=benchpass

. "$ROOT/bench/lib.sh"
YPORT=${YPORT:-$(free_port)}
DPORT=${DPORT:-$(free_port)}

[ "$(id -u)" = 0 ] || { echo "pop3-bench: run as root (both servers switch to the mail user)" >&2; exit 1; }
[ -x /usr/sbin/dovecot ] || { echo "pop3-bench: Debian's dovecot is not installed (scripts/bootstrap)" >&2; exit 1; }
chmod 755 "$SANDBOX"
mkdir -p "$(dirname "$OUT")"

mkdir -p "$SANDBOX/template"
python3 "$ANCHORS/gen_maildir.py" "$SANDBOX/template/Maildir" "$NMSG" >/dev/null

setup() {	# $1 = yubin | dovecot, $2 = port
	bench_dovecot_conf "$SANDBOX/$1" pop3 "$2"
	bench_dovecot_user "$SANDBOX/$1" big "$PASS"
}

fresh_mail() { bench_dovecot_mail "$SANDBOX/$1" big "$SANDBOX/template/Maildir"; }
start() { bench_dovecot_start "$1" "$SANDBOX/$1"; }
stop() { bench_dovecot_stop "$SANDBOX/$1"; }

logins() {	# $1 = port; prints logins/s
	python3 - "$1" "$LOGIN_N" "$CONC" "$PASS" <<'EOP'
import asyncio, sys, time
port, total, conc, pw = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
left = total
async def one():
    r, w = await asyncio.open_connection("127.0.0.1", port)
    for line in (None, b"USER big\r\n", b"PASS " + pw.encode() + b"\r\n", b"QUIT\r\n"):
        if line:
            w.write(line)
            await w.drain()
        got = await r.readline()
        if not got.startswith(b"+OK"):
            raise SystemExit("login failed: %r" % got)
    w.close()
async def worker():
    global left
    while left > 0:
        left -= 1
        await one()
async def main():
    t = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(conc)))
    print("%.1f" % (total / (time.monotonic() - t)))
asyncio.run(main())
EOP
}

retr() {	# $1 = port; prints "retr_all_s MB/s"
	python3 "$ANCHORS/imapload.py" pop3 --host 127.0.0.1 --port "$1" --user big \
	    --password "$PASS" --max-seconds 600 |
	    python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["retr_all_s"], j["retr_MB_per_s"])'
}

setup yubin "$YPORT"
setup dovecot "$DPORT"
printf "run\tserver\tlogins_per_s\tretr_cold_s\tretr_cold_MB_s\tretr_warm_s\tretr_warm_MB_s\n" | tee "$OUT"
trap 'stop yubin; stop dovecot' EXIT
for run in $(seq "$RUNS"); do
	for srv in yubin dovecot; do
		port=$YPORT; [ "$srv" = dovecot ] && port=$DPORT
		fresh_mail "$srv"
		start "$srv"
		read -r cold cold_mb < <(retr "$port")
		read -r warm warm_mb < <(retr "$port")
		lps=$(logins "$port")
		stop "$srv"
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$run" "$srv" "$lps" "$cold" "$cold_mb" \
		    "$warm" "$warm_mb" | tee -a "$OUT"
	done
done
echo "pop3-bench: sandbox $SANDBOX (NMSG=$NMSG LOGIN_N=$LOGIN_N CONC=$CONC)" >&2
