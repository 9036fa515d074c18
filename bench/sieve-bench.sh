#!/bin/bash
# sieve-bench.sh - Sieve evaluation throughput: a realistic 50-rule script
# (mailing lists by List-Id, senders by address and domain, subjects by
# :contains, :matches and :regex, flags, variables, size, a body test)
# run over a set of varied messages by yubin's sieve-test beside
# Pigeonhole's sieve-test (Debian's dovecot-sieve), in the same run,
# alternating. Both are one process per message (that is how the tools
# work), so the number includes process start and script loading:
# Pigeonhole loads its compiled .svbin, yubin compiles the text each time.
# Both outputs are compared for every message first, so the two tools are
# measured doing the same work.
#
# Usage (Debian 12 with scripts/bootstrap done and build/ built; as root
# the tools run as nobody, as Pigeonhole's sieve-test refuses root):
#   [RUNS=3] [MSGS=300] bench/sieve-bench.sh [OUT.md]
# Reports messages per second and the yubin/Pigeonhole ratio.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
YUBIN=${YUBIN:-$ROOT/build/bin}
RUNS=${RUNS:-3}
MSGS=${MSGS:-300}
OUT=${1:-}
WORK=$(mktemp -d /tmp/yubin-sieve-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 1777 "$WORK"	# the tools (nobody under root) write .svbin and outputs here

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v sieve-test >/dev/null || { echo "Pigeonhole's sieve-test is not installed" >&2; exit 1; }

# the script: 50 rules
{
	echo 'require ["fileinto", "imap4flags", "variables", "regex", "relational",'
	echo '         "comparator-i;ascii-numeric", "body", "envelope", "subaddress", "copy"];'
	for i in $(seq 1 12); do
		echo "if header :contains \"list-id\" \"list$i.example.org\" { fileinto \"Lists/list$i\"; stop; }"
	done
	for i in $(seq 1 10); do
		echo "if address :is \"from\" \"boss$i@corp.example\" { addflag \"\\\\Flagged\"; fileinto \"Boss\"; }"
	done
	for i in $(seq 1 8); do
		echo "if address :domain :is \"from\" \"vendor$i.example\" { fileinto \"Vendors\"; }"
	done
	for i in $(seq 1 8); do
		echo "if header :matches \"subject\" \"*invoice*$i*\" { set \"n\" \"\${1}\"; fileinto \"Invoices\"; }"
	done
	for i in $(seq 1 5); do
		echo "if header :regex \"subject\" \"^\\\\[(ticket|bug) #$i[0-9]+\\\\]\" { fileinto \"Tickets/\${1}\"; }"
	done
	echo 'if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "5" { fileinto "Junk"; stop; }'
	echo 'if size :over 100K { addflag "big"; }'
	echo 'if envelope :detail "to" "news" { fileinto "News"; }'
	echo 'if body :text :contains "unsubscribe" { addflag "bulk"; }'
	echo 'if anyof (header :contains "precedence" "bulk", exists "list-unsubscribe") { addflag "$bulk"; }'
	echo 'if not exists "date" { addflag "nodate"; }'
	echo 'if header :contains ["to", "cc"] "me@example.com" { addflag "direct"; }'
} > "$WORK/rules.sieve"
rules=$(grep -c '^if ' "$WORK/rules.sieve")
log "script: $rules rules"

# messages: a mix that exercises different rules
for n in $(seq 1 "$MSGS"); do
	k=$((n % 7))
	{
		case $k in
		0) echo "List-Id: List $((n % 12 + 1)) <list$((n % 12 + 1)).example.org>"
		   echo "List-Unsubscribe: <mailto:leave@example.org>";;
		1) echo "From: Boss <boss$((n % 10 + 1))@corp.example>";;
		2) echo "From: sales@vendor$((n % 8 + 1)).example";;
		3) echo "From: billing@shop.example"
		   echo "Subject: Your invoice number $((n % 8 + 1))000";;
		4) echo "Subject: [ticket #$((n % 5 + 1))$n] printer on fire";;
		5) echo "X-Spam-Score: $((n % 10))";;
		*) echo "From: friend$n@example.net";;
		esac
		echo "To: me+news@example.com"
		echo "Date: Mon, 23 Nov 2026 10:00:00 +0100"
		echo "Message-ID: <$n@bench.example>"
		[ $k -ne 3 ] && [ $k -ne 4 ] && echo "Subject: message $n"
		echo
		for l in $(seq 1 $((n % 40 + 5))); do echo "Body line $l of message $n, nothing to see."; done
		[ $((n % 5)) -eq 0 ] && echo "To unsubscribe, reply."
	} > "$WORK/m$n.eml"
done
chmod -R a+rX "$WORK"

as_tool_user() {
	if [ "$(id -u)" = 0 ]; then
		su -s /bin/bash nobody -c "$1"
	else
		bash -c "$1"
	fi
}

# both once per message, compared
log "comparing outputs on $MSGS messages"
as_tool_user "cd $WORK && HOME=$WORK sieve-test rules.sieve m1.eml >/dev/null 2>&1" # compiles .svbin
diffs=$(as_tool_user "cd $WORK && for n in \$(seq 1 $MSGS); do
	HOME=$WORK sieve-test rules.sieve m\$n.eml 2>/dev/null > p.out
	HOME=$WORK $YUBIN/sieve-test rules.sieve m\$n.eml 2>/dev/null > y.out
	cmp -s p.out y.out || echo \$n
done")
ndiff=$(printf '%s' "$diffs" | grep -c . || true)
log "messages with different actions: $ndiff"

run_tool() {	# run_tool CMD -> seconds for all messages
	as_tool_user "cd $WORK && s=\$(date +%s.%N); for n in \$(seq 1 $MSGS); do
		HOME=$WORK $1 rules.sieve m\$n.eml >/dev/null 2>&1; done; e=\$(date +%s.%N)
		awk -v a=\$s -v b=\$e 'BEGIN{printf \"%.3f\", b-a}'"
}

declare -a PR YR
for r in $(seq 1 "$RUNS"); do
	p=$(run_tool sieve-test)
	y=$(run_tool "$YUBIN/sieve-test")
	PR+=("$p"); YR+=("$y")
	log "run $r: pigeonhole ${p}s, yubin ${y}s for $MSGS messages"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
pm=$(median "${PR[@]}"); ym=$(median "${YR[@]}")
prate=$(awk -v n="$MSGS" -v t="$pm" 'BEGIN{printf "%.1f", n/t}')
yrate=$(awk -v n="$MSGS" -v t="$ym" 'BEGIN{printf "%.1f", n/t}')
ratio=$(awk -v a="$yrate" -v b="$prate" 'BEGIN{printf "%.2f", a/b}')
report=$(cat <<EOR
| tool | messages/s (median of $RUNS runs, $MSGS messages, $rules rules) |
| --- | --- |
| Pigeonhole sieve-test $(dpkg-query -W -f '${Version}' dovecot-sieve 2>/dev/null) | $prate |
| yubin sieve-test | $yrate |
| yubin / Pigeonhole | $ratio |

Messages whose printed actions differ between the two: $ndiff of $MSGS.
EOR
)
echo "$report"
[ -n "$OUT" ] && echo "$report" > "$OUT"
[ "$ndiff" -eq 0 ]
