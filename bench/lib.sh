# lib.sh - what the benchmarks share (sourced, not run): timing and
# counting helpers, and private Postfix and yubin instances on loopback
# configured from one main.cf text, so that the two servers compared in a
# run differ only where they must (paths, mail_owner, the services).

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
# rate N T0 T1 - N per second between two `now` stamps
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN{printf "%.1f", n/(b-a)}'; }
sent_count() { grep -c 'status=sent' "$1" 2>/dev/null || true; }
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
