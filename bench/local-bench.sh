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
#   [SESSIONS=10] [FORMATS="mbox maildir"] [FSYNCS=1] [ROLES=1] [YUBIN_BASE=<other build>/bin]
#   bench/local-bench.sh [OUT.md]
# Reports delivered messages per second (from the first byte sent to the
# last status=sent line) and the yubin/Postfix ratio. YUBIN_BASE adds a
# third server, another yubin build (the one before a change), in the same
# rounds: Postfix, base, yubin, each round. FSYNCS=1 adds one
# more run of each under strace -f (attached to every process of the
# instance, children followed) that counts fsync and fdatasync calls per
# message delivered: the durability work each server does (its rate is
# not measured, strace slows it down). ROLES=1 logs each run's CPU per
# message by process title (master, smtpd, qmgr, ...; a process's reaped
# children count in its own). Everything listens on 127.0.0.1
# only; every wait is bounded.
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
BS_PORT=${BS_PORT:-12627}
YUBIN_BASE=${YUBIN_BASE:-}
WAIT_LIMIT=${WAIT_LIMIT:-600}
OUT=${1:-}
PF_USER=ybpfbench$$
YB_USER=ybybbench$$
BS_USER=ybbsbench$$

. "$ROOT/bench/lib.sh"

# common_main FORMAT: main.cf for both servers (bench/lib.sh)
common_main() {
	bench_local_main_cf "$1" "$SANDBOX/spool-mail"
}

setup_postfix() {
	bench_postfix "$SANDBOX/postfix" "$PF_PORT" "$(common_main "$1")" \
	    "local     unix  -       n       n       -       -       local"
}

# as Postfix: the queue manager runs as postfix, its root delivery helper
# becomes each recipient
setup_yubin() {
	local dir=${2:-yubin} port=${3:-$YB_PORT}
	bench_yubin "$SANDBOX/$dir" "$port" "$(common_main "$1")" \
	    "qmgr      unix  n       -       n       300     1       qmgr
local     unix  -       n       n       -       -       local
discard   unix  -       -       n       -       -       discard" postfix
}

stop_all() {
	bench_stop "$SANDBOX/postfix" "$SANDBOX/yubin"
	[ -n "$YUBIN_BASE" ] && YUBIN=$YUBIN_BASE bench_stop "$SANDBOX/base"
	sleep 1
}

cleanup() {
	stop_all
	userdel -r "$PF_USER" >/dev/null 2>&1
	userdel -r "$YB_USER" >/dev/null 2>&1
	userdel -r "$BS_USER" >/dev/null 2>&1
}

# tree_cpu DIR - CPU seconds (user + system, reaped children included) of
# the instance in DIR: its master and every process below it
tree_cpu() {
	local p
	for p in $(descendants "$(tr -d ' \n' < "$1/spool/pid/master.pid")"); do
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null
	done | awk -v hz="$(getconf CLK_TCK)" '{ t += $12 + $13 + $14 + $15 } END { printf "%.2f", t / hz }'
}

# tree_cpu_roles DIR - "role seconds" lines for the instance in DIR: the
# same sums as tree_cpu, by process title (its first word, as ps shows it)
tree_cpu_roles() {
	local p
	for p in $(descendants "$(tr -d ' \n' < "$1/spool/pid/master.pid")"); do
		printf '%s ' "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | awk '{ print $1 }')"
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null
	done | awk -v hz="$(getconf CLK_TCK)" 'NF > 15 { t[$1] += $13 + $14 + $15 + $16 }
	    END { for (r in t) printf "%s %.3f\n", r, t[r] / hz }'
}

# run_one NAME PORT MAILLOG USER [DIR] -> delivered msg/s; with DIR, the
# instance's CPU milliseconds per message go to $SANDBOX/cpu.NAME.$CUR_FMT
run_one() {
	local name=$1 port=$2 maillog=$3 user=$4 dir=${5:-} before t0 t2 n c0 c1
	before=$(sent_count "$maillog")
	[ -n "$dir" ] && c0=$(tree_cpu "$dir")
	[ -n "$dir" ] && [ -n "${ROLES:-}" ] && tree_cpu_roles "$dir" > "$SANDBOX/roles0"
	t0=$(now)
	timeout "$WAIT_LIMIT" smtp-source -s "$SESSIONS" -m "$MSGS" -l "$SIZE" \
	    -t "$user@bench.test" -f sender@bench.test "127.0.0.1:$port" ||
		log "$name: smtp-source exit $?"
	n=$(wait_sent "$maillog" "$before" "$MSGS" "$WAIT_LIMIT")
	t2=$(now)
	if [ -n "$dir" ]; then
		c1=$(tree_cpu "$dir")
		awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN { if (n > 0) printf "%.3f\n", 1000 * (b - a) / n }' \
		    >> "$SANDBOX/cpu.$name.${CUR_FMT:-x}"
		if [ -n "${ROLES:-}" ]; then
			tree_cpu_roles "$dir" | awk -v n="$n" -v who="$name" '
			    NR == FNR { a[$1] = $2; next }
			    { d = $2 - a[$1]; if (n > 0 && d > 0) line = line sprintf(" %s %.3f", $1, 1000 * d / n) }
			    END { print who ", CPU ms per message by process:" line }' "$SANDBOX/roles0" - >&2
		fi
	fi
	[ "$n" -lt "$MSGS" ] && log "$name: only $n of $MSGS delivered"
	rate "$n" "$t0" "$t2"
}

# descendants PID - PID and every process below it, one a line
descendants() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do
		descendants "$c"
	done
}

# instance_pids DIR - every thread of every running process of the
# instance in DIR (its master, from queue_directory/pid/master.pid, and
# everything below it: yubin's delivery helpers are the queue manager's
# children), comma-separated. strace -f then also follows the processes
# and threads made later.
instance_pids() {
	local p t
	for p in $(descendants "$(tr -d ' \n' < "$1/spool/pid/master.pid")"); do
		for t in /proc/"$p"/task/*; do
			printf '%s,' "${t##*/}"
		done
	done | sed 's/,$//'
}

# count_fsyncs NAME PORT MAILLOG USER DIR - the durability and name work
# per delivered message, under strace: fsync and fdatasync calls, renames,
# files created (openat with O_CREAT or O_TMPFILE), unlinks, and how many
# of them failed
count_fsyncs() {
	local name=$1 before n sp try out=$SANDBOX/strace.${1// /.}
	before=$(sent_count "$3")
	# a process that exits between the listing and the attach makes
	# strace give up: list again and retry
	for try in 1 2 3 4 5; do
		strace -f -o "$out" -e signal=none \
		    -e trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat,unlink,unlinkat,openat \
		    -p "$(instance_pids "$5")" 2>/dev/null &
		sp=$!
		sleep 1
		kill -0 "$sp" 2>/dev/null && break
	done
	timeout "$WAIT_LIMIT" smtp-source -s "$SESSIONS" -m "$MSGS" -l "$SIZE" \
	    -t "$4@bench.test" -f sender@bench.test "127.0.0.1:$2" >/dev/null 2>&1
	n=$(wait_sent "$3" "$before" "$MSGS" "$WAIT_LIMIT")
	sleep 1
	kill -INT "$sp" 2>/dev/null
	wait "$sp" 2>/dev/null
	# a call is its first line (complete, or "<unfinished ...>"); its
	# result is on the same line or on its "<... resumed>" line
	awk -v n="$n" -v who="$name" '
	    /<\.\.\. [a-z0-9_]+ resumed>/ {
		split($0, a, "<... "); split(a[2], b, " "); call = b[1]
		if ($0 ~ /= -1 /) fail[call]++
		next
	    }
	    match($0, /^[0-9]+ +[a-z0-9_]+\(/) {
		call = $2; sub(/\(.*/, "", call)
		if (call == "openat" && $0 !~ /O_CREAT|O_TMPFILE/) next
		if (call == "openat") call = "create"
		c[call]++
		if ($0 ~ /= -1 /) fail[call]++
	    }
	    END {
		printf "%s, per message (%d messages):", who, n
		for (k in c) printf " %s %.2f%s", k, c[k] / n,
		    (fail[k] > 0 ? sprintf(" (%.2f failed)", fail[k] / n) : "")
		printf "\n"
	    }' "$out"
}

main() {
	command -v smtp-source >/dev/null || { log "smtp-source (postfix package) missing"; exit 1; }
	[ "$(id -u)" = 0 ] || { log "run as root (useradd, Postfix)"; exit 1; }
	rm -rf "$SANDBOX"; mkdir -p "$SANDBOX/home" "$SANDBOX/spool-mail"
	chmod 755 "$SANDBOX" "$SANDBOX/home"; chmod 1777 "$SANDBOX/spool-mail"
	trap cleanup EXIT
	useradd -m -d "$SANDBOX/home/$PF_USER" -s /bin/sh -U "$PF_USER" || exit 1
	useradd -m -d "$SANDBOX/home/$YB_USER" -s /bin/sh -U "$YB_USER" || exit 1
	if [ -n "$YUBIN_BASE" ]; then
		useradd -m -d "$SANDBOX/home/$BS_USER" -s /bin/sh -U "$BS_USER" || exit 1
		printf '| format | Postfix delivered/s | yubin base delivered/s | ratio | yubin delivered/s | ratio |\n'
		printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
	else
		printf '| format | Postfix delivered/s | yubin delivered/s | ratio |\n'
		printf '| --- | ---: | ---: | ---: |\n'
	fi
	local fmt pf_log yb_log bs_log r line pd yd bd
	for fmt in $FORMATS; do
		stop_all
		pf_log=$(setup_postfix "$fmt") || exit 1
		yb_log=$(setup_yubin "$fmt") || exit 1
		if [ -n "$YUBIN_BASE" ]; then
			bs_log=$(YUBIN=$YUBIN_BASE setup_yubin "$fmt" base "$BS_PORT") || exit 1
		fi
		sleep 1
		: > "$SANDBOX/pf.$fmt"; : > "$SANDBOX/yb.$fmt"; : > "$SANDBOX/bs.$fmt"
		CUR_FMT=$fmt
		for r in $(seq 1 "$RUNS"); do
			run_one postfix "$PF_PORT" "$pf_log" "$PF_USER" "$SANDBOX/postfix" >> "$SANDBOX/pf.$fmt"
			echo >> "$SANDBOX/pf.$fmt"
			if [ -n "$YUBIN_BASE" ]; then
				run_one base "$BS_PORT" "$bs_log" "$BS_USER" "$SANDBOX/base" >> "$SANDBOX/bs.$fmt"
				echo >> "$SANDBOX/bs.$fmt"
			fi
			run_one yubin "$YB_PORT" "$yb_log" "$YB_USER" "$SANDBOX/yubin" >> "$SANDBOX/yb.$fmt"
			echo >> "$SANDBOX/yb.$fmt"
		done
		pd=$(grep . "$SANDBOX/pf.$fmt" | median); yd=$(grep . "$SANDBOX/yb.$fmt" | median)
		if [ -n "$YUBIN_BASE" ]; then
			bd=$(grep . "$SANDBOX/bs.$fmt" | median)
			line=$(awk -v f="$fmt" -v pd="$pd" -v yd="$yd" -v bd="$bd" 'BEGIN{
				printf "| %s | %.0f | %.0f | %.2f | %.0f | %.2f |", f, pd, bd,
				    (pd>0?bd/pd:0), yd, (pd>0?yd/pd:0)}')
		else
			line=$(awk -v f="$fmt" -v pd="$pd" -v yd="$yd" 'BEGIN{
				printf "| %s | %.0f | %.0f | %.2f |", f, pd, yd, (pd>0?yd/pd:0)}')
		fi
		log "$fmt CPU ms per message (median): postfix $(median < "$SANDBOX/cpu.postfix.$fmt")" \
		    "base $( [ -n "$YUBIN_BASE" ] && median < "$SANDBOX/cpu.base.$fmt")" \
		    "yubin $(median < "$SANDBOX/cpu.yubin.$fmt")"
		log "$fmt runs: postfix $(tr '\n' ' ' < "$SANDBOX/pf.$fmt")/ base $(tr '\n' ' ' < "$SANDBOX/bs.$fmt")/ yubin $(tr '\n' ' ' < "$SANDBOX/yb.$fmt")"
		echo "$line"
		[ -n "$OUT" ] && echo "$line" >> "$OUT"
		if [ -n "${FSYNCS:-}" ]; then
			count_fsyncs "postfix $fmt" "$PF_PORT" "$pf_log" "$PF_USER" "$SANDBOX/postfix" >&2
			[ -n "$YUBIN_BASE" ] &&
				count_fsyncs "base $fmt" "$BS_PORT" "$bs_log" "$BS_USER" "$SANDBOX/base" >&2
			count_fsyncs "yubin $fmt" "$YB_PORT" "$yb_log" "$YB_USER" "$SANDBOX/yubin" >&2
		fi
	done
}
main
