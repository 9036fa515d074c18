# lib.sh - what the benchmarks share (sourced, not run): timing and
# counting helpers, and private Postfix and yubin instances on loopback
# configured from one main.cf text, so that the two servers compared in a
# run differ only where they must (paths, mail_owner, the services).

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
# rate N T0 T1 - N per second between two `now` stamps
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN{printf "%.1f", n/(b-a)}'; }
sent_count() { grep -c 'status=sent' "$1" 2>/dev/null || true; }
# free_port - a TCP port on 127.0.0.1 that nothing listens on just now
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# wait_sent MAILLOG BEFORE WANT LIMIT - wait (bounded by LIMIT seconds)
# until WANT more status=sent lines than BEFORE; prints how many came
wait_sent() {
	local n=0 i
	for i in $(seq 1 $(($4 * 10))); do
		n=$(( $(sent_count "$1") - $2 ))
		[ "$n" -ge "$3" ] && break
		sleep 0.1
	done
	echo "$n"
}

# The services a stock Postfix 3.7 needs, beside its smtpd.
PF_MASTER_CF='pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd'

# bench_postfix DIR PORT MAIN_CF [EXTRA_MASTER_CF] - a private Postfix in
# DIR with smtpd on 127.0.0.1:PORT, started; prints its maillog's path
bench_postfix() {
	local d=$1
	rm -rf "$d"; mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/log"
	cat > "$d/etc/main.cf" <<EOC
$3
queue_directory = $d/spool
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $d/log/maillog
maillog_file_prefixes = $d/log
EOC
	printf '127.0.0.1:%s inet n - n - - smtpd\n%s\n%s\n' "$2" "$PF_MASTER_CF" "${4:-}" \
	    > "$d/etc/master.cf"
	chown postfix "$d/data"
	postfix -c "$d/etc" set-permissions >/dev/null 2>&1
	${PIN:-} postfix -c "$d/etc" start >/dev/null 2>&1 || { log "postfix did not start"; return 1; }
	echo "$d/log/maillog"
}

# bench_yubin DIR PORT MAIN_CF MASTER_CF_SERVICES [MAIL_OWNER] - a yubin
# instance in DIR with smtpd on 127.0.0.1:PORT and the given services,
# started; prints its maillog's path
bench_yubin() {
	local d=$1 owner=${5:-$(id -un)}
	rm -rf "$d"; mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/log"
	cat > "$d/etc/main.cf" <<EOC
$3
queue_directory = $d/spool
data_directory = $d/data
mail_owner = $owner
setgid_group = $(id -gn "$owner")
maillog_file = $d/log/maillog
EOC
	printf '127.0.0.1:%s inet n - n - - smtpd\n%s\n' "$2" "$4" > "$d/etc/master.cf"
	${PIN:-} "$YUBIN/postfix" -c "$d/etc" start >/dev/null 2>&1 ||
		{ log "yubin did not start"; return 1; }
	echo "$d/log/maillog"
}

# bench_stop DIR... - stop the Postfix or yubin instance of each DIR
bench_stop() {
	local d
	for d in "$@"; do
		[ -f "$d/etc/main.cf" ] || continue
		if grep -q '^maillog_file_prefixes' "$d/etc/main.cf"; then
			postfix -c "$d/etc" stop >/dev/null 2>&1
		else
			"$YUBIN/postfix" -c "$d/etc" stop >/dev/null 2>&1
		fi
	done
}

# --- Dovecot-side instances (Debian's Dovecot 2.3 and `yubin dovecot`) ---
# Both read the same dovecot.conf: stock settings but for plaintext auth
# on loopback without TLS, a passwd-file of {PLAIN} users whose mail is
# owned by nobody, and the limits that hundreds of sessions from one
# address need (as /work/shared/anchors/dovecot-anchor.sh sets them).

# bench_dovecot_conf DIR PROTOCOL PORT - DIR/dovecot.conf serving
# PROTOCOL (imap or pop3) on 127.0.0.1:PORT from DIR/users (empty; add
# users with bench_dovecot_user); DIR is emptied first
bench_dovecot_conf() {
	local d=$1 proto=$2 port=$3 other=pop3
	[ "$proto" = pop3 ] && other=imap
	rm -rf "$d"; mkdir -p "$d/run" "$d/state" "$d/home"
	: > "$d/users"
	cat > "$d/dovecot.conf" <<EOC
base_dir = $d/run
state_dir = $d/state
log_path = $d/log
protocols = $proto
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_max_userip_connections = 1000
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/users
}
userdb {
  driver = passwd-file
  args = $d/users
}
service $proto-login {
  inet_listener $proto {
    port = $port
  }
  inet_listener ${proto}s {
    port = 0
  }
}
service $other-login {
  inet_listener $other {
    port = 0
  }
  inet_listener ${other}s {
    port = 0
  }
}
service $proto {
  process_limit = 1024
}
EOC
	chmod -R a+rX "$d"
}

# bench_dovecot_user DIR USER PASSWORD - a passwd-file user of DIR's
# instance, home DIR/home/USER, mail owned by nobody
bench_dovecot_user() {
	echo "$2:{PLAIN}$3:$(id -u nobody):$(id -g nobody)::$1/home/$2::" >> "$1/users"
}

# bench_dovecot_mail DIR USER MAILDIR - replace USER's Maildir with a copy
# of MAILDIR: no index, no dovecot-uidlist, messages where MAILDIR has them
bench_dovecot_mail() {
	local h=$1/home/$2
	rm -rf "$h"; mkdir -p "$h"
	cp -a "$3" "$h/Maildir"
	chown -R nobody:nogroup "$h"
}

# bench_dovecot_start yubin|dovecot DIR [CONF] - start the instance's
# master (CONF defaults to DIR/dovecot.conf) and wait (bounded) until it
# has written its pid file
bench_dovecot_start() {
	local conf=${3:-$2/dovecot.conf}
	rm -f "$2/run/master.pid"
	if [ "$1" = yubin ]; then ${PIN:-} "$YUBIN/yubin" dovecot -c "$conf"
	else ${PIN:-} /usr/sbin/dovecot -c "$conf"; fi || { log "$1 did not start"; return 1; }
	for _ in $(seq 50); do [ -s "$2/run/master.pid" ] && break; sleep 0.1; done
	sleep 0.5	# listeners and the auth process
}

# bench_dovecot_stop DIR - stop the instance by its master's own pid (if
# that pid is still a dovecot master, not a reused number) and wait
# (bounded) until it is gone
bench_dovecot_stop() {
	local pidf=$1/run/master.pid pid
	[ -s "$pidf" ] || return 0
	pid=$(cat "$pidf")
	grep -qa dovecot "/proc/$pid/cmdline" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
}

# bench_tree_mem PID - "RSS_KiB PSS_KiB NPROC" summed over PID and all its
# descendants, from /proc/*/smaps_rollup
bench_tree_mem() {
	local pids
	pids=$(ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; order[NR] = $1 }
		END {
			keep[root] = 1; changed = 1
			while (changed) {
				changed = 0
				for (i = 1; i <= NR; i++) {
					p = order[i]
					if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 }
				}
			}
			for (p in keep) print p
		}')
	for p in $pids; do cat "/proc/$p/smaps_rollup" 2>/dev/null; done |
		awk -v n="$(echo $pids | wc -w)" '$1=="Rss:"{r+=$2} $1=="Pss:"{p+=$2} END{print r+0, p+0, n}'
}

# bench_main_cf TRANSPORT-LINES... - the main.cf every SMTP bench starts
# from (mx.bench.test on 127.0.0.1, no aliases, no local recipient
# check), each argument one more line
bench_main_cf() {
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
biff = no
EOC
	printf '%s\n' "$@"
}

# bench_local_main_cf FORMAT SPOOL - main.cf of a local-delivery bench
# (local-bench.sh, delivery-syscalls.sh): bench.test delivered by local(8)
# into each user's Maildir (FORMAT maildir) or an mbox in SPOOL
bench_local_main_cf() {
	local mailbox="mail_spool_directory = $2"
	[ "$1" = maildir ] && mailbox="home_mailbox = Maildir/"
	bench_main_cf "local_transport = local" "default_transport = discard:bench" \
	    "mailbox_size_limit = 0" "$mailbox"
}
