#!/bin/bash
# delivery-syscalls.sh - system calls per delivered message, per process
# role, of a yubin instance set up as bench/local-bench.sh sets up its
# Maildir one (a real system user made here and removed at exit,
# home_mailbox = Maildir/, the queue manager as postfix). After a warm-up
# run (spare/ then holds the working set), smtp-source sends MSGS
# messages while `strace -f -c`-like counting runs attached to (1) the
# queue manager and its delivery helpers, children and threads followed,
# then (2) every smtpd; each call is counted per role:
#   qmgr    the queue manager's own thread
#   helper  its delivery helpers
#   child   everything they start: the queue manager's fsync threads,
#           the per-batch delivery children and their threads
#   smtpd   the smtpd processes (the first one's own thread as "qmgr" in
#           the raw file: see the second table's first line)
# (failed calls in parentheses).
#
# Usage (as root, build/ built):
#   [SANDBOX=/tmp/yubin-dsys] [MSGS=1000] [PORT=12629] [YUBIN=<build>/bin]
#   bench/delivery-syscalls.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
YUBIN=${YUBIN:-$ROOT/build/bin}
SANDBOX=${SANDBOX:-/tmp/yubin-dsys}
MSGS=${MSGS:-1000}
PORT=${PORT:-12629}
USER_=ybdsys$$
. "$ROOT/bench/lib.sh"

cleanup() {
	bench_stop "$SANDBOX/yubin"
	userdel -r "$USER_" >/dev/null 2>&1
}

# send N - N messages of 4 KiB over 10 sessions, then wait (bounded) for
# their delivery; prints how many were delivered
send() {
	local before
	before=$(sent_count "$LOG")
	timeout 600 smtp-source -s 10 -m "$1" -l 4096 -f sender@bench.test \
	    -t "$USER_@bench.test" "127.0.0.1:$PORT" >/dev/null 2>&1
	wait_sent "$LOG" "$before" "$1" 600
}

# count ROLE_PIDS_CMD OUT - strace every pid the command prints (first one
# is "qmgr", the rest and everything they start "helper"/"child") while
# MSGS messages go through, then the per-role table
count() {
	local first rest sp n
	first=$1 rest=$2 out=$3
	strace -f -o "$out" -e signal=none -p "$(echo $first $rest | tr ' ' ',')" 2>/dev/null &
	sp=$!
	sleep 1
	n=$(send "$MSGS")
	sleep 1
	kill -INT "$sp"; wait "$sp" 2>/dev/null
	awk -v n="$n" -v first="$first" -v rest=" $rest " '
	    {
		pid = $1
		role = pid == first ? "qmgr" : index(rest, " " pid " ") ? "helper" : "child"
		if ($2 == "<...") { call = $3; if ($0 ~ /= -1 /) fail[role, call]++; next }
		call = $2; sub(/\(.*/, "", call)
		if (call !~ /^[a-z0-9_]+$/) next
		c[role, call]++; tot[role]++
		if ($0 ~ /= -1 /) fail[role, call]++
	    }
	    END {
		split("qmgr helper child", roles, " ")
		for (r = 1; r <= 3; r++) {
			printf "%s: %.2f calls per delivered message (%d messages)\n", roles[r], tot[roles[r]] / n, n
			for (k in c) {
				split(k, p, SUBSEP)
				if (p[1] != roles[r]) continue
				printf "   %-18s %7.3f%s\n", p[2], c[k] / n,
				    (fail[k] > 0 ? sprintf("  (%.3f failed)", fail[k] / n) : "")
			}
		}
	    }' "$out"
}

main() {
	local master qmgr
	command -v strace >/dev/null || { log "strace missing"; exit 1; }
	[ "$(id -u)" = 0 ] || { log "run as root (useradd)"; exit 1; }
	rm -rf "$SANDBOX"; mkdir -p "$SANDBOX/home"
	chmod 755 "$SANDBOX" "$SANDBOX/home"
	trap cleanup EXIT
	useradd -m -d "$SANDBOX/home/$USER_" -s /bin/sh -U "$USER_" || exit 1
	LOG=$(bench_yubin "$SANDBOX/yubin" "$PORT" "$(bench_local_main_cf maildir "$SANDBOX/spool")" "qmgr      unix  n       -       n       300     1       qmgr
local     unix  -       n       n       -       -       local
discard   unix  -       -       n       -       -       discard" postfix) || exit 1
	sleep 1
	log "warm-up: $(send "$MSGS") delivered"
	master=$(tr -d ' \n' < "$SANDBOX/yubin/spool/pid/master.pid")
	qmgr=$(pgrep -P "$master" -f qmgr)
	echo "== queue manager, helpers, their children and threads"
	count "$qmgr" "$(pgrep -P "$qmgr" | tr '\n' ' ')" "$SANDBOX/strace.qmgr"
	echo "== smtpd (all roles together are smtpd's)"
	count "$(pgrep -P "$master" -f smtpd | head -1)" \
	    "$(pgrep -P "$master" -f smtpd | tail -n +2 | tr '\n' ' ')" "$SANDBOX/strace.smtpd"
}
main
