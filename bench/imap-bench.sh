#!/bin/bash
# imap-bench.sh - yubin's IMAP server beside Debian's Dovecot 2.3, in the
# same run, alternating, on copies of the same generated Maildirs, measured
# the way /work/shared/anchors/dovecot-anchor.sh measured Dovecot (its
# imapload.py and gen_maildir.py), so the figures compare with
# shared/anchors/FIGURES.md.
#
# Usage (as root; both servers switch to the mail user):
#   [BENCH_QUICK=1] [RUNS=3] [NMSG=10000] [NMSG_BIG=100000] [LOGIN_N=3000]
#   [CONC=10] [IDLE_CONNS=300] [IDLE_HIBERNATE=5] [YUBIN=<build>/bin]
#   [SANDBOX=dir] [PIN=...]
#   [YPORT=port] [DPORT=port] (default: free loopback ports)
#   bench/imap-bench.sh [BUILD_DIR] [OUT.md]
# BUILD_DIR (default build) is a yubin build tree: its bin/ is measured
# (YUBIN=<bin dir> does the same, as in the other bench scripts).
# BENCH_QUICK=1: one run on small sizes (under a minute), to try the script.
# NMSG_BIG=0 skips the large mailbox. PARTS (default "fetch search body
# logins idle") picks the measurements below, e.g. PARTS="fetch search".
# LOGINS_ONLY=1: only the logins part (stock and high-performance mode).
# PIN="taskset -c 0" pins servers and
# load generators to one CPU (default: unpinned, see shared/anchors/README.md).
#
# Both servers read one dovecot.conf (bench/lib.sh bench_dovecot_conf):
# IMAP on 127.0.0.1, ssl = no, passwd-file {PLAIN} users, mail owned by
# nobody, Dovecot stock otherwise (high-security login: a login process
# per connection, an imap process per session). Users: "big" (NMSG ~4 KiB
# messages), "huge" (NMSG_BIG), u1..u10 (50 each, for logins and idle).
# Mailboxes are fresh copies of one template each run: messages in new/,
# no dovecot-uidlist, no dovecot.index* (nor any yubin index).
#
# Per run and server (one server up at a time, yubin first):
#   select/fetch: imapload.py fetchall = SELECT INBOX, then
#         FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE); "cold" is the first
#         session after the copy (no index, every file in new/; the page
#         cache is warm: cp just wrote the files, and dropping it would
#         disturb everything else on the machine), "warm" the second one.
#   search: SEARCH on big, each criterion twice in one session, the second
#         time recorded: HEADER SUBJECT "needle" (100 hits per 10,000),
#         BODY "zzqqnotthere" (no hit: reads every body), TEXT "needle",
#         FROM "sender7@".
#   body: UID FETCH n:n+99 BODY.PEEK[] sliding over all of big: MB/s.
#   logins: bench/imap-load (C, built here), CONC clients, LOGIN_N sessions
#         of greeting, LOGIN, LOGOUT as u1..u10; then the anchor's
#         imapload.py logins -c 10 -n LOGIN_N_PY (1000), whose Python
#         client tops out near 1,000/s; both again with both servers in
#         Dovecot's documented high-performance login mode (imap-login
#         service_count = 0, process_min_avail = CPUs, imap service_count =
#         100), the mode of the anchor's 880 logins/s: yubin's login pool
#         (its session processes stay one per login, see docs/compat.md).
#   idle memory: IDLE_CONNS sessions of LOGIN + SELECT INBOX + IDLE held
#         open; PSS (and RSS) summed over the master and all its
#         descendants from /proc/PID/smaps_rollup, minus the same sum
#         before they connected, divided by IDLE_CONNS. yubin runs with
#         imap_hibernate_timeout = IDLE_HIBERNATE secs (default 5; 0 = off,
#         as Dovecot's default), and is sampled that long later, when its
#         sessions are in the imap-hibernate process; Dovecot runs stock
#         (no hibernation) and, as dovecot_hib, with its own imap-hibernate
#         service on the same timeout (idle memory only).
# Output: a TSV of every sample in $SANDBOX/imap.tsv, and a Markdown table
# of medians with ratios on stdout (appended to OUT.md when given). Ratios
# are "yubin better by": Dovecot time / yubin time, yubin rate / Dovecot
# rate, Dovecot memory / yubin memory; above 1 is yubin ahead.
# Everything listens on 127.0.0.1 only; every loop is bounded; both
# masters are stopped by their own pids on exit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-}
OUT=${2:-}
if [ -n "$BUILD" ]; then YUBIN=$(cd "$BUILD" && pwd)/bin; fi
YUBIN=${YUBIN:-$ROOT/build/bin}
ANCHORS=${ANCHORS:-/work/shared/anchors}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RUNS=${RUNS:-1}; NMSG=${NMSG:-500}; NMSG_BIG=${NMSG_BIG:-2000}
	LOGIN_N=${LOGIN_N:-200}; LOGIN_N_PY=${LOGIN_N_PY:-100}; IDLE_CONNS=${IDLE_CONNS:-30}; HOLD=${HOLD:-3}
fi
RUNS=${RUNS:-3}
NMSG=${NMSG:-10000}
NMSG_BIG=${NMSG_BIG:-100000}
LOGIN_N=${LOGIN_N:-3000}
LOGIN_N_PY=${LOGIN_N_PY:-1000}
CONC=${CONC:-10}
IDLE_CONNS=${IDLE_CONNS:-300}
HOLD=${HOLD:-6}
IDLE_HIBERNATE=${IDLE_HIBERNATE:-5}
# the sessions are held until the sample after the hibernation
[ "$HOLD" -lt $((IDLE_HIBERNATE + 6)) ] && HOLD=$((IDLE_HIBERNATE + 6))
SMALL_NMSG=50
PIN=${PIN:-}
PARTS=${PARTS:-fetch search body logins idle}
PASS=benchpass
SANDBOX=${SANDBOX:-$(mktemp -d /tmp/imap-bench.XXXXXX)}
TSV=$SANDBOX/imap.tsv

. "$ROOT/bench/lib.sh"

[ "$(id -u)" = 0 ] || { log "run as root (both servers switch to the mail user)"; exit 1; }
[ -x /usr/sbin/dovecot ] || { log "Debian's dovecot is not installed (scripts/bootstrap)"; exit 1; }
[ -x "$YUBIN/yubin" ] || { log "no yubin in $YUBIN (build it, or pass BUILD_DIR)"; exit 1; }
mkdir -p "$SANDBOX"; chmod 755 "$SANDBOX"
IMAPLOAD="$PIN python3 $ANCHORS/imapload.py --host 127.0.0.1"

# the C login load generator
cc -std=c17 -O2 -Wall -Wextra -Werror -pthread -o "$SANDBOX/imap-load" \
    "$ROOT/bench/imap-load.c" || { log "cannot build bench/imap-load.c"; exit 1; }

# templates, generated once per sandbox
gen() {	# gen NAME COUNT SEED
	[ -d "$SANDBOX/template/$1/new" ] && return 0
	log "generating $2 messages for $1"
	python3 "$ANCHORS/gen_maildir.py" "$SANDBOX/template/$1" "$2" --seed "$3" >/dev/null
}
LOGINS_ONLY=${LOGINS_ONLY:-0}
[ "$LOGINS_ONLY" = 1 ] && NMSG_BIG=0
[ "$LOGINS_ONLY" = 1 ] || gen big "$NMSG" 1
[ "$NMSG_BIG" -gt 0 ] && gen huge "$NMSG_BIG" 1
: > "$SANDBOX/login-users"
for i in $(seq 10); do
	gen "u$i" "$SMALL_NMSG" "$i"
	echo "u$i:$PASS" >> "$SANDBOX/login-users"
done

setup() {	# setup yubin|dovecot PORT
	local d=$SANDBOX/$1 u
	bench_dovecot_conf "$d" imap "$2"
	for u in big huge $(seq -f 'u%g' 10); do bench_dovecot_user "$d" "$u" "$PASS"; done
	# Dovecot's documented high-performance login mode; yubin reads the
	# same settings (its login pool, docs/compat.md)
	cat > "$d/dovecot-perf.conf" <<EOC
!include $d/dovecot.conf
service imap-login {
  service_count = 0
  process_min_avail = $(nproc)
}
service imap {
  service_count = 100
}
EOC
	# yubin's hibernation of IDLE sessions (docs/compat.md), and
	# Dovecot's as its documentation configures it (imap processes run
	# as the mail user and must reach the imap-hibernate socket)
	if [ "$1" = yubin ] && [ "$IDLE_HIBERNATE" -gt 0 ]; then
		echo "imap_hibernate_timeout = $IDLE_HIBERNATE secs" >> "$d/dovecot.conf"
	fi
	cat > "$d/dovecot-hib.conf" <<EOC
!include $d/dovecot.conf
imap_hibernate_timeout = $IDLE_HIBERNATE secs
service imap-hibernate {
  unix_listener imap-hibernate {
    mode = 0666
  }
}
service imap {
  unix_listener imap-master {
    mode = 0666
  }
}
EOC
}

fresh_mail() {	# fresh_mail yubin|dovecot
	local u
	[ "$LOGINS_ONLY" = 1 ] || bench_dovecot_mail "$SANDBOX/$1" big "$SANDBOX/template/big"
	[ "$NMSG_BIG" -gt 0 ] && bench_dovecot_mail "$SANDBOX/$1" huge "$SANDBOX/template/huge"
	for u in $(seq -f 'u%g' 10); do bench_dovecot_mail "$SANDBOX/$1" "$u" "$SANDBOX/template/$u"; done
}

stop_all() { bench_dovecot_stop "$SANDBOX/yubin"; bench_dovecot_stop "$SANDBOX/dovecot"; }

# rec RUN SERVER METRIC VALUE - one sample
rec() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$TSV"; }
# jget JSON EXPR - a field of imapload.py's JSON output
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))' "$1" "$2"; }

fetchall() {	# fetchall RUN SERVER PORT USER TAG
	local out
	out=$($IMAPLOAD fetchall --port "$3" --user "$4" --password "$PASS") || { log "$2: fetchall $4 failed"; return 1; }
	[ "$(jget "$out" fetch_responses)" = "$(jget "$out" exists)" ] ||
		{ log "$2: fetchall $4: $out"; return 1; }
	rec "$1" "$2" "${4}_select_$5_s" "$(jget "$out" select_s)"
	rec "$1" "$2" "${4}_fetch_envelope_$5_s" "$(jget "$out" fetch_s)"
	rec "$1" "$2" "${4}_select_fetch_$5_s" "$(jget "$out" select_fetch_s)"
}

search() {	# search RUN SERVER PORT NAME CRITERIA
	local out
	out=$($IMAPLOAD search --port "$3" --user big --password "$PASS" --criteria "$5" --repeat 2) ||
		{ log "$2: SEARCH $5 failed"; return 1; }
	rec "$1" "$2" "search_$4_s" "$(jget "$out" 'times_s[-1]')"
	rec "$1" "$2" "search_$4_hits" "$(jget "$out" hits)"
}

logins() {	# logins RUN SERVER PORT MODE ("" or _perfmode)
	local out
	out=$($PIN "$SANDBOX/imap-load" 127.0.0.1 "$3" "$SANDBOX/login-users" "$CONC" "$LOGIN_N" 120) ||
		{ log "$2: logins failed"; return 1; }
	rec "$1" "$2" "logins$4_per_s" "$(echo "$out" | cut -d' ' -f3)"
	rec "$1" "$2" "logins$4_p50_ms" "$(echo "$out" | cut -d' ' -f4)"
	rec "$1" "$2" "logins$4_client_cpu_pct" \
	    "$(echo "$out" | awk '{printf "%.0f", 100 * $6 / $2}')"
	# the anchor's own client and count, for comparison with FIGURES.md
	out=$($IMAPLOAD logins --port "$3" --user-file "$SANDBOX/login-users" -c 10 \
	    -n "$LOGIN_N_PY" --max-seconds 60) || { log "$2: imapload.py logins failed"; return 1; }
	rec "$1" "$2" "logins_imapload$4_per_s" "$(jget "$out" logins_per_s)"
}

idle_mem() {	# idle_mem RUN SERVER PORT
	local d=$SANDBOX/${2%_hib} mpid r0 p0 n0 r1 p1 n1 ipid i
	mpid=$(cat "$d/run/master.pid")
	sleep 2	# let the sessions of the login test finish exiting
	read -r r0 p0 n0 < <(bench_tree_mem "$mpid")
	rm -f "$SANDBOX/idle.ready"
	$IMAPLOAD idle --port "$3" --user-file "$SANDBOX/login-users" -c "$IDLE_CONNS" \
	    --hold "$HOLD" --idle --ready-file "$SANDBOX/idle.ready" --max-seconds 120 \
	    > "$SANDBOX/idle.out" & ipid=$!
	for i in $(seq 1200); do
		[ -e "$SANDBOX/idle.ready" ] || ! kill -0 "$ipid" 2>/dev/null && break
		sleep 0.1
	done
	sleep 2
	# hibernation: the sessions go to imap-hibernate after the timeout
	[ "$2" != dovecot ] && [ "$IDLE_HIBERNATE" -gt 0 ] && sleep $((IDLE_HIBERNATE + 1))
	read -r r1 p1 n1 < <(bench_tree_mem "$mpid")
	wait "$ipid" || { log "$2: idle sessions failed"; return 1; }
	[ -e "$SANDBOX/idle.ready" ] || { log "$2: idle sessions never all opened"; return 1; }
	rec "$1" "$2" idle_pss_per_conn_KiB $(((p1 - p0) / IDLE_CONNS))
	rec "$1" "$2" idle_rss_per_conn_KiB $(((r1 - r0) / IDLE_CONNS))
	rec "$1" "$2" idle_pss_total_MiB $((p1 / 1024))
	rec "$1" "$2" idle_nproc "$n1"
	rec "$1" "$2" idle_nproc_before "$n0"
}

part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

one_server() {	# one_server RUN yubin|dovecot PORT
	local run=$1 srv=$2 port=$3 d=$SANDBOX/$2
	fresh_mail "$srv"
	bench_dovecot_start "$srv" "$d" || return 1
	log "run $run: $srv (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	{ ! part fetch || {
		fetchall "$run" "$srv" "$port" big cold &&
		fetchall "$run" "$srv" "$port" big warm &&
		if [ "$NMSG_BIG" -gt 0 ]; then
			fetchall "$run" "$srv" "$port" huge cold &&
			fetchall "$run" "$srv" "$port" huge warm
		fi
	}; } &&
	{ ! part search || {
		search "$run" "$srv" "$port" header_subject 'HEADER SUBJECT "needle"' &&
		search "$run" "$srv" "$port" body_miss 'BODY "zzqqnotthere"' &&
		search "$run" "$srv" "$port" text 'TEXT "needle"' &&
		search "$run" "$srv" "$port" from 'FROM "sender7@"'
	}; } &&
	{ ! part body || {
		out=$($IMAPLOAD body --port "$port" --user big --password "$PASS" --range 1:100 \
		    --iterations $(((NMSG + 99) / 100)) --slide --max-seconds 300) &&
		rec "$run" "$srv" body_MB_per_s "$(jget "$out" MB_per_s)"
	}; } &&
	{ ! part logins || logins "$run" "$srv" "$port" ""; } &&
	{ ! part idle || idle_mem "$run" "$srv" "$port"; }
	local rc=$?
	bench_dovecot_stop "$d"
	[ "$rc" = 0 ] || return 1
	if part logins; then
		# both in the high-performance login mode (yubin's login pool
		# reads the same service settings)
		bench_dovecot_start "$srv" "$d" "$d/dovecot-perf.conf" || return 1
		logins "$run" "$srv" "$port" _perfmode
		rc=$?
		bench_dovecot_stop "$d"
		if [ "$rc" = 0 ] && [ "$IDLE_HIBERNATE" -gt 0 ]; then
			bench_dovecot_start dovecot "$d" "$d/dovecot-hib.conf" || return 1
			idle_mem "$run" dovecot_hib "$port"
			rc=$?
			bench_dovecot_stop "$d"
		fi
	fi
	return "$rc"
}

# logins_only RUN yubin|dovecot PORT - LOGINS_ONLY=1: the login part alone,
# stock and high-performance login mode
logins_only() {
	local run=$1 srv=$2 port=$3 d=$SANDBOX/$2 rc
	fresh_mail "$srv"
	for mode in "" _perfmode; do
		if [ -z "$mode" ]; then bench_dovecot_start "$srv" "$d" || return 1
		else bench_dovecot_start "$srv" "$d" "$d/dovecot-perf.conf" || return 1; fi
		log "run $run: $srv logins$mode (load average $(cut -d' ' -f1-3 /proc/loadavg))"
		logins "$run" "$srv" "$port" "$mode"
		rc=$?
		bench_dovecot_stop "$d"
		[ "$rc" = 0 ] || return 1
	done
}

# the Markdown table: medians of each metric, and the ratio
summary() {
	python3 - "$TSV" <<'EOP'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    run, srv, metric, v = line.rstrip("\n").split("\t")
    vals.setdefault(metric, {}).setdefault(srv, []).append(float(v))
def med(m, s):
    v = vals.get(m, {}).get(s)
    return statistics.median(v) if v else None
def fmt(x):
    return "-" if x is None else ("%.3g" % x if x < 100 else "%.0f" % x)
print("| measurement | yubin | Dovecot | yubin better by |")
print("| --- | ---: | ---: | ---: |")
info = ("_hits", "_client_cpu_pct", "idle_nproc", "idle_nproc_before")
for m in vals:
    if "_perfmode" in m or m.endswith(info):
        continue
    y, d = med(m, "yubin"), med(m, "dovecot")
    if y is None or d is None:
        continue
    higher_better = m.endswith("_per_s")
    ratio = (y / d if higher_better else d / y) if y and d else None
    print("| %s | %s | %s | %s |" % (m, fmt(y), fmt(d), "-" if ratio is None else "%.3g" % ratio))
    pm = None
    for suffix in ("_per_s", "_p50_ms"):
        if m.startswith("logins") and m.endswith(suffix):
            pm = m[:-len(suffix)] + "_perfmode" + suffix
    if pm and med(pm, "dovecot"):
        d = med(pm, "dovecot")
        ratio = y / d if higher_better else d / y
        print("| %s (yubin stock, Dovecot high-performance login) | %s | %s | %.3g |" % (m, fmt(y), fmt(d), ratio))
    if pm and med(pm, "dovecot") and med(pm, "yubin"):
        y, d = med(pm, "yubin"), med(pm, "dovecot")
        ratio = y / d if higher_better else d / y
        print("| %s (both high-performance login: pools) | %s | %s | %.3g |" % (m, fmt(y), fmt(d), ratio))
    dh = med(m, "dovecot_hib")
    if dh is not None:
        print("| %s (Dovecot with imap-hibernate) | %s | %s | %s |" % (m, fmt(y), fmt(dh),
              "%.3g" % (dh / y) if y else "-"))
for m in vals:
    if m.endswith(info):
        print("| %s | %s | %s | |" % (m, fmt(med(m, "yubin")), fmt(med(m, "dovecot"))))
        if med(m, "dovecot_hib") is not None:
            print("| %s (Dovecot with imap-hibernate) | %s | %s | |" % (m, fmt(med(m, "yubin")),
                  fmt(med(m, "dovecot_hib"))))
EOP
}

YPORT=${YPORT:-$(free_port)}
DPORT=${DPORT:-$(free_port)}
for _ in 1 2 3; do [ "$DPORT" != "$YPORT" ] && break; DPORT=$(free_port); done
setup yubin "$YPORT"
setup dovecot "$DPORT"
: > "$TSV"
trap stop_all EXIT
t0=$(date +%s)
failed=0
for run in $(seq "$RUNS"); do
	if [ "$LOGINS_ONLY" = 1 ]; then
		logins_only "$run" yubin "$YPORT" || { failed=1; break; }
		logins_only "$run" dovecot "$DPORT" || { failed=1; break; }
		continue
	fi
	one_server "$run" yubin "$YPORT" || { failed=1; break; }
	one_server "$run" dovecot "$DPORT" || { failed=1; break; }
done
log "imap-bench: $(($(date +%s) - t0)) s; samples in $TSV (RUNS=$RUNS NMSG=$NMSG NMSG_BIG=$NMSG_BIG LOGIN_N=$LOGIN_N CONC=$CONC IDLE_CONNS=$IDLE_CONNS)"
table=$(summary)
echo "$table"
[ -n "$OUT" ] && echo "$table" >> "$OUT"
exit "$failed"
