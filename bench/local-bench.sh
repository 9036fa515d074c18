#!/bin/bash
# local-bench.sh - local delivery throughput: SMTP in, through the queue,
# local(8) into a real system user's mbox (mail_spool_directory) and
# Maildir (home_mailbox = Maildir/), yubin beside a real Postfix 3.7
# configured the same way, in the same run, alternating. Each server has
# its own user (made here with useradd, removed at exit), so both pay for
# the same fork, setuid, lock, write and fsync per message.
#
# Usage (as root, Debian 12 with scripts/bootstrap done and build/ built):
#   [SANDBOX=/tmp/yubin-local-bench] [RUNS=3] [MSGS=1000] [SIZE=4096]
#   [SESSIONS=10] [FORMATS="mbox maildir"] bench/local-bench.sh [OUT.md]
# Reports delivered messages per second (from the first byte sent to the
# last status=sent line) and the yubin/Postfix ratio. Everything listens
# on 127.0.0.1 only; every wait is bounded.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
YUBIN=${YUBIN:-$ROOT/build/bin}
SANDBOX=${SANDBOX:-/tmp/yubin-local-bench}
RUNS=${RUNS:-3}
MSGS=${MSGS:-1000}
SIZE=${SIZE:-4096}
SESSIONS=${SESSIONS:-10}
FORMATS=${FORMATS:-"mbox maildir"}
PF_PORT=${PF_PORT:-12625}
YB_PORT=${YB_PORT:-12626}
WAIT_LIMIT=${WAIT_LIMIT:-600}
OUT=${1:-}
PF_USER=ybpfbench$$
YB_USER=ybybbench$$

. "$ROOT/bench/lib.sh"

# common_main FORMAT USER
common_main() {
	local mailbox="mail_spool_directory = $SANDBOX/spool-mail"
	[ "$1" = maildir ] && mailbox="home_mailbox = Maildir/"
	cat <<EOC
compatibility_level = 3.6
myhostname = mx.bench.test
mydomain = bench.test
mydestination = bench.test, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = local
default_transport = discard:bench
mailbox_size_limit = 0
biff = no
$mailbox
EOC
}

setup_postfix() {
	bench_postfix "$SANDBOX/postfix" "$PF_PORT" "$(common_main "$1")" \
	    "local     unix  -       n       n       -       -       local"
}

# as Postfix: the queue manager runs as postfix, its root delivery helper
# becomes each recipient
setup_yubin() {
	bench_yubin "$SANDBOX/yubin" "$YB_PORT" "$(common_main "$1")" \
	    "qmgr      unix  n       -       n       300     1       qmgr
local     unix  -       n       n       -       -       local
discard   unix  -       -       n       -       -       discard" postfix
}

stop_all() {
	bench_stop "$SANDBOX/postfix" "$SANDBOX/yubin"
	sleep 1
}

cleanup() {
	stop_all
	userdel -r "$PF_USER" >/dev/null 2>&1
	userdel -r "$YB_USER" >/dev/null 2>&1
}

# run_one NAME PORT MAILLOG USER -> delivered msg/s
run_one() {
	local name=$1 port=$2 maillog=$3 user=$4 before t0 t2 n
	before=$(sent_count "$maillog")
	t0=$(now)
	timeout "$WAIT_LIMIT" smtp-source -s "$SESSIONS" -m "$MSGS" -l "$SIZE" \
	    -t "$user@bench.test" -f sender@bench.test "127.0.0.1:$port" ||
		log "$name: smtp-source exit $?"
	n=$(wait_sent "$maillog" "$before" "$MSGS" "$WAIT_LIMIT")
	t2=$(now)
	[ "$n" -lt "$MSGS" ] && log "$name: only $n of $MSGS delivered"
	rate "$n" "$t0" "$t2"
}

main() {
	command -v smtp-source >/dev/null || { log "smtp-source (postfix package) missing"; exit 1; }
	[ "$(id -u)" = 0 ] || { log "run as root (useradd, Postfix)"; exit 1; }
	rm -rf "$SANDBOX"; mkdir -p "$SANDBOX/home" "$SANDBOX/spool-mail"
	chmod 755 "$SANDBOX" "$SANDBOX/home"; chmod 1777 "$SANDBOX/spool-mail"
	trap cleanup EXIT
	useradd -m -d "$SANDBOX/home/$PF_USER" -s /bin/sh -U "$PF_USER" || exit 1
	useradd -m -d "$SANDBOX/home/$YB_USER" -s /bin/sh -U "$YB_USER" || exit 1
	printf '| format | Postfix delivered/s | yubin delivered/s | ratio |\n'
	printf '| --- | ---: | ---: | ---: |\n'
	local fmt pf_log yb_log r line pd yd
	for fmt in $FORMATS; do
		stop_all
		pf_log=$(setup_postfix "$fmt") || exit 1
		yb_log=$(setup_yubin "$fmt") || exit 1
		sleep 1
		: > "$SANDBOX/pf.$fmt"; : > "$SANDBOX/yb.$fmt"
		for r in $(seq 1 "$RUNS"); do
			run_one postfix "$PF_PORT" "$pf_log" "$PF_USER" >> "$SANDBOX/pf.$fmt"
			echo >> "$SANDBOX/pf.$fmt"
			run_one yubin "$YB_PORT" "$yb_log" "$YB_USER" >> "$SANDBOX/yb.$fmt"
			echo >> "$SANDBOX/yb.$fmt"
		done
		pd=$(grep . "$SANDBOX/pf.$fmt" | median); yd=$(grep . "$SANDBOX/yb.$fmt" | median)
		line=$(awk -v f="$fmt" -v pd="$pd" -v yd="$yd" 'BEGIN{
			printf "| %s | %.0f | %.0f | %.2f |", f, pd, yd, (pd>0?yd/pd:0)}')
		echo "$line"
		[ -n "$OUT" ] && echo "$line" >> "$OUT"
	done
}
main
