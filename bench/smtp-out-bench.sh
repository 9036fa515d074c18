#!/bin/bash
# smtp-out-bench.sh - outbound SMTP throughput: messages come in over SMTP
# (smtp-source), go through the queue and out through the smtp client to
# Postfix's smtp-sink on loopback; yubin beside a real Postfix 3.7 with the
# same configuration (default_transport = smtp:[127.0.0.1]:SINK), in the
# same run, alternating. Each server has its own sink so that the sink's
# count is its own.
#
# Usage (as root, Debian 12 with scripts/bootstrap done and build/ built):
#   [SANDBOX=/tmp/yubin-out-bench] [RUNS=3] [MSGS=1000] [SIZE=4096]
#   [SESSIONS=10] bench/smtp-out-bench.sh [OUT.md]
# Reports delivered messages per second (from the first byte sent to the
# last status=sent line) and the yubin/Postfix ratio. Everything listens
# on 127.0.0.1 only; every wait is bounded.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
YUBIN=${YUBIN:-$ROOT/build/bin}
SANDBOX=${SANDBOX:-/tmp/yubin-out-bench}
RUNS=${RUNS:-3}
MSGS=${MSGS:-1000}
SIZE=${SIZE:-4096}
SESSIONS=${SESSIONS:-10}
PF_PORT=${PF_PORT:-12725}
YB_PORT=${YB_PORT:-12726}
PF_SINK=${PF_SINK:-12727}
YB_SINK=${YB_SINK:-12728}
WAIT_LIMIT=${WAIT_LIMIT:-600}
OUT=${1:-}
SINK_PIDS=""

. "$ROOT/bench/lib.sh"

# common_main SINKPORT
common_main() {
	bench_main_cf "default_transport = smtp:[127.0.0.1]:$1" "smtp_tls_security_level = none"
}

setup_postfix() {
	bench_postfix "$SANDBOX/postfix" "$PF_PORT" "$(common_main "$PF_SINK")" \
	    "smtp      unix  -       -       n       -       -       smtp"
}

setup_yubin() {
	bench_yubin "$SANDBOX/yubin" "$YB_PORT" "$(common_main "$YB_SINK")" \
	    "qmgr      unix  n       -       n       300     1       qmgr
smtp      unix  -       -       n       -       -       smtp" postfix
}

stop_all() {
	bench_stop "$SANDBOX/postfix" "$SANDBOX/yubin"
	sleep 1
}

cleanup() {
	stop_all
	local p
	for p in $SINK_PIDS; do kill "$p" 2>/dev/null; done
}

# run_one NAME PORT MAILLOG -> delivered msg/s
run_one() {
	local name=$1 port=$2 maillog=$3 before t0 t2 n
	before=$(sent_count "$maillog")
	t0=$(now)
	timeout "$WAIT_LIMIT" smtp-source -s "$SESSIONS" -m "$MSGS" -l "$SIZE" \
	    -t rcpt@remote.test -f sender@bench.test "127.0.0.1:$port" ||
		log "$name: smtp-source exit $?"
	n=$(wait_sent "$maillog" "$before" "$MSGS" "$WAIT_LIMIT")
	t2=$(now)
	[ "$n" -lt "$MSGS" ] && log "$name: only $n of $MSGS delivered"
	rate "$n" "$t0" "$t2"
}

main() {
	command -v smtp-source >/dev/null || { log "smtp-source (postfix package) missing"; exit 1; }
	command -v smtp-sink >/dev/null || { log "smtp-sink (postfix package) missing"; exit 1; }
	[ "$(id -u)" = 0 ] || { log "run as root (Postfix)"; exit 1; }
	rm -rf "$SANDBOX"; mkdir -p "$SANDBOX"; chmod 755 "$SANDBOX"
	trap cleanup EXIT
	smtp-sink -u nobody -c "127.0.0.1:$PF_SINK" 256 >/dev/null 2>&1 & SINK_PIDS="$SINK_PIDS $!"
	smtp-sink -u nobody -c "127.0.0.1:$YB_SINK" 256 >/dev/null 2>&1 & SINK_PIDS="$SINK_PIDS $!"
	stop_all
	local pf_log yb_log r line pd yd
	pf_log=$(setup_postfix) || exit 1
	yb_log=$(setup_yubin) || exit 1
	sleep 1
	: > "$SANDBOX/pf"; : > "$SANDBOX/yb"
	for r in $(seq 1 "$RUNS"); do
		run_one postfix "$PF_PORT" "$pf_log" >> "$SANDBOX/pf"; echo >> "$SANDBOX/pf"
		run_one yubin "$YB_PORT" "$yb_log" >> "$SANDBOX/yb"; echo >> "$SANDBOX/yb"
	done
	pd=$(grep . "$SANDBOX/pf" | median); yd=$(grep . "$SANDBOX/yb" | median)
	printf '| sessions in | Postfix delivered/s | yubin delivered/s | ratio |\n'
	printf '| ---: | ---: | ---: | ---: |\n'
	line=$(awk -v s="$SESSIONS" -v pd="$pd" -v yd="$yd" 'BEGIN{
		printf "| %s | %.0f | %.0f | %.2f |", s, pd, yd, (pd>0?yd/pd:0)}')
	echo "$line"
	[ -n "$OUT" ] && echo "$line" >> "$OUT"
}
main
