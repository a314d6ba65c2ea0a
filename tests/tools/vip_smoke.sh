#!/bin/bash
# Smoke test of daemon/vip.c and daemon/announce.c against the real kernel.
# Root only. Two network namespaces A and B (unique per-run names, always
# removed) joined by a veth pair; tests/tools/vip_smoke runs in A and is
# driven through a FIFO. Ends with "vip_smoke: N passed, N failed" and a
# non-zero exit status if anything failed.
#
# Environment: CC (default cc), VIP_SMOKE_BUILD (output dir, default build/),
# VIP_SMOKE_SAN=0 to build without ASan/UBSan, VIP_SMOKE_LOG=FILE to keep
# vip_smoke's output.
# shellcheck disable=SC2317	# functions called through check/wait_for
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${VIP_SMOKE_BUILD:-$ROOT/build}
BIN=$BUILD/vip_smoke
LEASE=3
PFX="vsmk$$r$RANDOM"
NA=${PFX}A
NB=${PFX}B
V4=192.0.2.10/24
V6=2001:db8::10/64
BOGUS=02:00:00:00:00:99
PASS=0
FAIL=0
SMOKE_PID=
WORK=

log() { echo "vip_smoke: $*"; }
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }

finish() {
	echo "vip_smoke: $PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit
}

cleanup() {
	local rc=$?
	exec 3>&- 2>/dev/null
	if [ -n "$SMOKE_PID" ] && kill -0 "$SMOKE_PID" 2>/dev/null; then
		kill -CONT "$SMOKE_PID" 2>/dev/null
		kill "$SMOKE_PID" 2>/dev/null
		wait "$SMOKE_PID" 2>/dev/null
	fi
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	if [ -n "$WORK" ]; then
		[ -n "${VIP_SMOKE_LOG:-}" ] && cp "$WORK/out.log" "$VIP_SMOKE_LOG"
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
trap '' PIPE	# a dead vip_smoke makes writes to the FIFO fail, not kill us

if [ "$(id -u)" != 0 ]; then
	log "needs root (network namespaces)"
	exit 1
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for MS COMMAND...: poll every 100 ms until COMMAND succeeds or MS pass.
wait_for() {
	local end=$(($(now_ms) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# Output of vip_smoke since the last mark.
mark() { MARK=$(wc -l <"$LOG"); }
since() { tail -n +$((MARK + 1)) "$LOG"; }
seen() { since | grep -qE -- "$1"; }
not_seen() { ! seen "$1"; }
send() { echo "$*" >&3; }
# ask CMD REGEX: send a command, wait for its answer
ask() { mark; send "$1"; wait_for 3000 seen "$2"; }

# valid_lft of an address on vsA in A: seconds, "forever", or "" if absent.
lft() {
	ip -n "$NA" addr show dev vsA | awk -v a="$1" '
	    $1 == "inet" || $1 == "inet6" { cur = ($2 == a) }
	    cur && $1 == "valid_lft" { v = $2; sub(/sec$/, "", v); print v; exit }'
}
lft_le() { local v; v=$(lft "$1"); [ -n "$v" ] && [ "$v" != forever ] && [ "$v" -le "$2" ]; }
lft_eq() { [ "$(lft "$1")" = "$2" ]; }
absent() { [ -z "$(lft "$1")" ]; }
present_both() { [ -n "$(lft "$V4")" ] && [ -n "$(lft "$V6")" ]; }

neigh_mac() {
	ip -n "$NB" neigh show "$1" dev vsB |
	    awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'
}
neigh_is() { [ "$(neigh_mac "$1")" = "$2" ]; }
ping_b() { ip netns exec "$NB" ping -c 1 -W 1 "$1" >/dev/null 2>&1; }

# --- build ---
mkdir -p "$BUILD" || exit 1
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
[ "${VIP_SMOKE_SAN:-1}" = 0 ] && SAN=
# shellcheck disable=SC2046,SC2086
if ! ${CC:-cc} -std=c11 -D_GNU_SOURCE -O1 -g $SAN \
    -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
    $(pkg-config --cflags libnl-route-3.0) -I"$ROOT/daemon" -o "$BIN" \
    "$ROOT/tests/tools/vip_smoke.c" "$ROOT/daemon/vip.c" \
    "$ROOT/daemon/announce.c" "$ROOT/daemon/log.c" "$ROOT/daemon/loop.c" \
    $(pkg-config --libs libnl-route-3.0); then
	nok "build $BIN"
	finish
fi
ok "build $BIN"

# --- topology ---
WORK=$(mktemp -d /tmp/vip_smoke.XXXXXX) || exit 1
LOG=$WORK/out.log
FIFO=$WORK/in
MARK=0
: >"$LOG"
mkfifo "$FIFO" || exit 1
if ! (
set -e
ip netns add "$NA"
ip netns add "$NB"
ip link add vsA netns "$NA" type veth peer name vsB netns "$NB"
ip -n "$NA" link set lo up
ip -n "$NB" link set lo up
ip -n "$NA" addr add 192.0.2.1/24 dev vsA
ip -n "$NA" addr add 2001:db8::1/64 dev vsA nodad
ip -n "$NB" addr add 192.0.2.2/24 dev vsB
ip -n "$NB" addr add 2001:db8::2/64 dev vsB nodad
ip -n "$NA" link set vsA up
ip -n "$NB" link set vsB up
); then
	nok "topology"
	finish
fi
MAC_A=$(ip -n "$NA" link show vsA | awk '/link\/ether/ { print $2 }')

ip netns exec "$NA" "$BIN" -i vsA -l $LEASE -L vsA:vip -r 1000 $V4 $V6 \
    <"$FIFO" >"$LOG" 2>&1 &
SMOKE_PID=$!
exec 3>"$FIFO"
if ! wait_for 5000 grep -q '^ready$' "$LOG"; then
	nok "vip_smoke starts"
	cat "$LOG"
	finish
fi
ok "vip_smoke starts"
# shellcheck disable=SC2016
check "watch socket receive buffer >= 1 MiB" \
    awk '/^watch_rcvbuf/ { exit !($2 >= 1048576) }' "$LOG"

check "carrier and ifindex of vsA" ask carrier '^carrier vsA 1 ifindex [1-9]'
IFX=$(since | awk '/^carrier vsA/ { print $5 }')
check "no such link: carrier -1, ifindex 0" \
    ask "carrier nosuch0" '^carrier nosuch0 -1 ifindex 0$'

# --- 1: add, present, lifetime, label, nodad, refresh ---
check "absent before add" ask present '^present 2001:db8::10/64 0$'
check "absent before add (v4)" seen '^present 192\.0\.2\.10/24 0$'
check "vip_add both" ask add '^add 2001:db8::10/64 ok$'
check "vip_add v4" seen '^add 192\.0\.2\.10/24 ok$'
check "vip_present both" ask present '^present 2001:db8::10/64 1$'
check "vip_present v4" seen '^present 192\.0\.2\.10/24 1$'
check "ip addr: $V4 valid_lft <= ${LEASE}sec" lft_le $V4 $LEASE
check "ip addr: $V6 valid_lft <= ${LEASE}sec" lft_le $V6 $LEASE
check "ip addr: label vsA:vip" \
    bash -c "ip -n $NA addr show dev vsA label vsA:vip | grep -q 'inet $V4'"
check "ip addr: $V6 nodad" \
    bash -c "ip -n $NA addr show dev vsA | grep -q 'inet6 $V6 .*nodad'"
check "lifetimes run down" wait_for 3000 lft_le $V4 $((LEASE - 1))
check "lifetimes run down (v6)" lft_le $V6 $((LEASE - 1))
ask add '^add 2001:db8::10/64'
check "vip_add again resets valid_lft ($V4)" lft_eq $V4 $LEASE
check "vip_add again resets valid_lft ($V6)" lft_eq $V6 $LEASE
check "present costs little" ask "bench 100" '^bench 100 calls avg_us [0-9]+ not_present 0$'
since | grep '^bench'
check "refresh on" ask "refresh on" '^refresh on$'

# --- 2: gratuitous ARP and unsolicited NA correct a wrong cache ---
ip -n "$NB" neigh replace 192.0.2.10 lladdr $BOGUS dev vsB nud stale
ip -n "$NB" neigh replace 2001:db8::10 lladdr $BOGUS dev vsB nud stale
check "B caches bogus MACs first" \
    bash -c "[ \"\$(ip -n $NB neigh show dev vsB | grep -c $BOGUS)\" = 2 ]"
check "announce both" ask announce '^announce 2001:db8::10/64 ok$'
check "announce v4" seen '^announce 192\.0\.2\.10/24 ok$'
check "gratuitous ARP fixes B's entry for 192.0.2.10" \
    wait_for 2000 neigh_is 192.0.2.10 "$MAC_A"
check "unsolicited NA fixes B's entry for 2001:db8::10" \
    wait_for 2000 neigh_is 2001:db8::10 "$MAC_A"
check "B pings 192.0.2.10" wait_for 5000 ping_b 192.0.2.10
check "B pings 2001:db8::10" wait_for 5000 ping_b 2001:db8::10
check "B's entry for 192.0.2.10 is A's MAC after ping" neigh_is 192.0.2.10 "$MAC_A"
check "B's entry for 2001:db8::10 is A's MAC after ping" neigh_is 2001:db8::10 "$MAC_A"

# --- 3: someone else deletes the VIPs: RTM_DELADDR reaches the callback ---
ask "refresh off" '^refresh off$'
mark
ip -n "$NA" addr del $V4 dev vsA
ip -n "$NA" addr del $V6 dev vsA
check "addr_deleted $V4" \
    wait_for 2000 seen "^event addr_deleted 192\.0\.2\.10/24 ifindex $IFX\$"
check "addr_deleted $V6" \
    wait_for 2000 seen "^event addr_deleted 2001:db8::10/64 ifindex $IFX\$"
check "vip_present after delete" ask present '^present 2001:db8::10/64 0$'
check "vip_present after delete (v4)" seen '^present 192\.0\.2\.10/24 0$'
check "vip_del of an absent address succeeds" ask del '^del 2001:db8::10/64 ok$'
check "vip_del of an absent address succeeds (v4)" seen '^del 192\.0\.2\.10/24 ok$'

# --- 3b: watch overrun: the rescan reports what the lost messages said ---
ask add '^add 2001:db8::10/64'
check "shrink watch buffer" ask "rcvbuf 4096" '^rcvbuf 4096 ok'
kill -STOP "$SMOKE_PID"
for i in $(seq 100 199); do echo "addr add 192.0.2.$i/32 dev vsA"; done >"$WORK/flood"
for i in $(seq 100 199); do echo "addr del 192.0.2.$i/32 dev vsA"; done >>"$WORK/flood"
mark
ip -n "$NA" -batch "$WORK/flood"
ip -n "$NA" addr del $V4 dev vsA	# its notification is dropped
kill -CONT "$SMOKE_PID"
# a line matching $1 came after the overrun warning
overrun_then() {
	since | RE=$1 awk '/overrun/ { o = 1 } o && $0 ~ ENVIRON["RE"] { f = 1 } END { exit !f }'
}
check "overrun is noticed" wait_for 3000 seen 'netlink watch overrun'
check "rescan reports $V4 deleted" \
    wait_for 3000 overrun_then "^event addr_deleted 192\\.0\\.2\\.10/24 ifindex $IFX\$"
check "rescan reports vsA carrier" overrun_then "^event link_changed vsA ifindex $IFX carrier 1\$"
check "rescan does not report $V6 (still there)" \
    not_seen '^event addr_deleted 2001:db8::10/64'

ask "rcvbuf 1048576" '^rcvbuf'

# --- 4: carrier changes ---
mark
ip -n "$NB" link set vsB down
check "peer down: link_changed vsA carrier 0" \
    wait_for 2000 seen "^event link_changed vsA ifindex $IFX carrier 0\$"
check "peer down: vip_link_carrier 0" ask carrier '^carrier vsA 0 '
mark
ip -n "$NB" link set vsB up
check "peer up: link_changed vsA carrier 1" \
    wait_for 2000 seen "^event link_changed vsA ifindex $IFX carrier 1\$"
mark
ip -n "$NA" link set vsA down
check "vsA down: link_changed vsA carrier 0" \
    wait_for 2000 seen "^event link_changed vsA ifindex $IFX carrier 0\$"
check "vsA down: vip_link_carrier 0" ask carrier '^carrier vsA 0 '
mark
send announce
send announce
check "announce on a down link fails" \
    wait_for 3000 bash -c "[ \$(grep -c '^announce 192\.0\.2\.10/24 fail\$' <(tail -n +$((MARK + 1)) $LOG)) = 2 ]"
count_since() { since | grep -c -- "$1"; }
check "... and logs it once, not per packet" \
    [ "$(count_since 'warning: announce 192.0.2.10/24 on vsA')" = 1 ]
since | grep 'warning: announce'
mark
ip -n "$NA" link set vsA up
check "vsA up: link_changed vsA carrier 1" \
    wait_for 2000 seen "^event link_changed vsA ifindex $IFX carrier 1\$"
check "vsA up: vip_link_carrier 1" ask carrier '^carrier vsA 1 '

# --- 5: refreshed, the VIPs outlive the lease; unrefreshed, they expire ---
check "re-add" ask add '^add 2001:db8::10/64 ok$'
ask "refresh on" '^refresh on$'
survived() {
	local end=$(($(now_ms) + LEASE * 1000 + 1500))
	while [ "$(now_ms)" -lt "$end" ]; do
		present_both || return 1
		sleep 0.2
	done
}
check "refreshed VIPs stay past the lease" survived
ask "refresh off" '^refresh off$'
ask add '^add 2001:db8::10/64 ok$'
t0=$(now_ms)
both_gone() { absent "$V4" && absent "$V6"; }
if wait_for $(((LEASE + 3) * 1000)) both_gone; then
	el=$(($(now_ms) - t0))
	ok "unrefreshed VIPs expire by themselves (after ${el} ms)"
	check "... not before the lease (${el} ms >= $((LEASE * 1000 - 500)))" \
	    [ $el -ge $((LEASE * 1000 - 500)) ]
else
	nok "unrefreshed VIPs expire within $((LEASE + 3)) s"
fi
check "expiry reported as addr_deleted ($V4)" \
    wait_for 2000 seen "^event addr_deleted 192\.0\.2\.10/24 ifindex $IFX\$"
check "expiry reported as addr_deleted ($V6)" \
    wait_for 2000 seen "^event addr_deleted 2001:db8::10/64 ifindex $IFX\$"

# --- end ---
send quit
exec 3>&-
exited() {
	local st
	st=$(awk '{ print $3 }' "/proc/$SMOKE_PID/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}
if wait_for 5000 exited; then
	wait "$SMOKE_PID"
	rc=$?
	SMOKE_PID=
	check "vip_smoke exits 0 (sanitizers clean)" [ $rc -eq 0 ]
else
	nok "vip_smoke exits on quit"
fi
check "no sanitizer report" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' $LOG"
if [ "$FAIL" -ne 0 ]; then
	echo "--- vip_smoke output ---"
	tail -n 60 "$LOG"
fi
finish
