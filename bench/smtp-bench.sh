#!/bin/bash
# smtp-bench.sh - SMTP in, through the queue, to the discard transport:
# yubin and a real Postfix 3.7 configured the same way, in the same run,
# driven by Postfix's own smtp-source. Reports accepted and delivered
# messages per second at 1, 10 and 50 sessions, and yubin/Postfix ratios.
#
# Usage (as root, Debian 12 with scripts/bootstrap done and build/ built):
#   [SANDBOX=/tmp/yubin-bench] [RUNS=3] [MSGS=2000] [SIZE=4096]
#   [SESSIONS="1 10 50"] [PIN=""] bench/smtp-bench.sh [OUT.md]
# PIN="taskset -c 0" runs servers and load generator on one CPU (see
# shared/anchors/README.md on CPU placement); default: unpinned.
# Everything listens on 127.0.0.1 only; every loop is bounded.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
YUBIN=${YUBIN:-$ROOT/build/bin}
SANDBOX=${SANDBOX:-/tmp/yubin-bench}
RUNS=${RUNS:-3}
MSGS=${MSGS:-2000}
SIZE=${SIZE:-4096}
SESSIONS=${SESSIONS:-"1 10 50"}
PIN=${PIN:-}
PF_PORT=${PF_PORT:-12525}
YB_PORT=${YB_PORT:-12526}
WAIT_LIMIT=${WAIT_LIMIT:-600}
OUT=${1:-}

. "$ROOT/bench/lib.sh"

COMMON_MAIN=$(bench_main_cf "local_transport = discard:bench" \
    "default_transport = discard:bench" "smtpd_banner = \$myhostname ESMTP")

setup_postfix() { bench_postfix "$SANDBOX/postfix" "$PF_PORT" "$COMMON_MAIN"; }

setup_yubin() {
	bench_yubin "$SANDBOX/yubin" "$YB_PORT" "$COMMON_MAIN" \
	    "qmgr      unix  n       -       n       300     1       qmgr
discard   unix  -       -       n       -       -       discard"
}

stop_all() { bench_stop "$SANDBOX/postfix" "$SANDBOX/yubin"; }

# run_one NAME PORT MAILLOG SESSIONS -> "accepted delivered" msg/s
run_one() {
	local name=$1 port=$2 maillog=$3 s=$4 before t0 t1 t2 n
	before=$(sent_count "$maillog")
	t0=$(now)
	timeout "$WAIT_LIMIT" $PIN smtp-source -s "$s" -m "$MSGS" -l "$SIZE" \
	    -t user1@bench.test -f sender@bench.test "127.0.0.1:$port" ||
		log "$name: smtp-source exit $?"
	t1=$(now)
	n=$(wait_sent "$maillog" "$before" "$MSGS" "$WAIT_LIMIT")
	t2=$(now)
	[ "$n" -lt "$MSGS" ] && log "$name: only $n of $MSGS delivered"
	echo "$(rate "$MSGS" "$t0" "$t1") $(rate "$n" "$t0" "$t2")"
}

main() {
	command -v smtp-source >/dev/null || { log "smtp-source (postfix package) missing"; exit 1; }
	[ "$(id -u)" = 0 ] || { log "run as root (Postfix needs it)"; exit 1; }
	mkdir -p "$SANDBOX"
	trap stop_all EXIT
	local pf_log yb_log s r line
	pf_log=$(setup_postfix) || exit 1
	yb_log=$(setup_yubin) || exit 1
	sleep 1
	printf '| sessions | Postfix accepted | yubin accepted | ratio | Postfix delivered | yubin delivered | ratio |\n'
	printf '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
	for s in $SESSIONS; do
		: > "$SANDBOX/pf.$s"; : > "$SANDBOX/yb.$s"
		# Alternate the two servers run by run, so drift hits both alike.
		for r in $(seq 1 "$RUNS"); do
			run_one postfix "$PF_PORT" "$pf_log" "$s" >> "$SANDBOX/pf.$s"
			run_one yubin "$YB_PORT" "$yb_log" "$s" >> "$SANDBOX/yb.$s"
		done
		local pa pd ya yd
		pa=$(cut -d' ' -f1 "$SANDBOX/pf.$s" | median); pd=$(cut -d' ' -f2 "$SANDBOX/pf.$s" | median)
		ya=$(cut -d' ' -f1 "$SANDBOX/yb.$s" | median); yd=$(cut -d' ' -f2 "$SANDBOX/yb.$s" | median)
		line=$(awk -v s="$s" -v pa="$pa" -v ya="$ya" -v pd="$pd" -v yd="$yd" 'BEGIN{
			printf "| %d | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |", s, pa, ya, ya/pa, pd, yd, (pd>0?yd/pd:0)}')
		echo "$line"
		[ -n "$OUT" ] && echo "$line" >> "$OUT"
	done
}
main
