#!/usr/bin/env bash
# VRRP takeover time, Duet against keepalived, with the same timers.
#
# In network namespaces: A and B on a bridge in an observer namespace O. A (priority 120)
# becomes master, B (priority 100, the implementation measured) is backup; A is killed
# with SIGKILL and the takeover is the time from A's last advert to B's first, from tshark's
# packet timestamps on the bridge. Both sides run the same implementation (Duet: the debug
# `duet` binary, `duet run --net linux`). VRRPv3, adverts
# every 100, 10 and 1 centiseconds; RUNS runs each; min/median/max side by side.
#
# Expected: Master_Down_Interval = 3 x interval + (256 - 100) / 256 x interval.
#
# Needs root, iproute2, tshark and keepalived. Usage: sudo bench/vrrp-failover.sh
# (RUNS=5 INTERVALS="100 10 1" by default).
set -euo pipefail

RUNS=${RUNS:-5}
INTERVALS=${INTERVALS:-"100 10 1"}
cd "$(dirname "$0")/.."
cargo build --quiet --bin duet
DUET=$PWD/target/debug/duet
TAG=vb$$
A=$TAG-a B=$TAG-b O=$TAG-o
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
    for ns in $A $B $O; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add $O; ip netns add $A; ip netns add $B
ip -n $O link add br0 type bridge
ip -n $O link set br0 type bridge forward_delay 0
for pair in "$A pa 10.9.0.1" "$B pb 10.9.0.2"; do
    set -- $pair
    ip -n $O link add "$2" type veth peer name eth0 netns "$1"
    ip -n $O link set "$2" master br0 up
    ip -n "$1" link set lo up
done
ip -n $O link set br0 up

# start IMPL NS ADDR PRIORITY INTERVAL_CS: runs in its own process group; prints the pid.
start() {
    local impl=$1 ns=$2 addr=$3 prio=$4 cs=$5
    if [ "$impl" = duet ]; then
        printf '#\ninterface GigabitEthernet1/0/1\n ip address %s 255.255.255.0\n vrrp vrid 1 virtual-ip 10.9.0.254\n vrrp vrid 1 priority %s\n vrrp vrid 1 timer advertise %s\n#\nreturn\n' \
            "$addr" "$prio" "$cs" >"$WORK/$ns.cfg"
        rm -rf "$WORK/$ns-data"
        setsid ip netns exec "$ns" "$DUET" run --net linux --port ge1/0/1=eth0 --no-console \
            --config "$WORK/$ns.cfg" --data-dir "$WORK/$ns-data" >"$WORK/$ns.log" 2>&1 &
    else
        ip -n "$ns" addr replace "$addr/24" dev eth0
        ip -n "$ns" link set eth0 up
        local int
        int=$(awk -v c="$cs" 'BEGIN { printf "%.2f", c / 100 }')
        cat >"$WORK/$ns.conf" <<EOF
global_defs {
  router_id $ns
  vrrp_version 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 1
  priority $prio
  advert_int $int
  virtual_ipaddress {
    10.9.0.254/24
  }
}
EOF
        local run=$RANDOM$RANDOM
        setsid ip netns exec "$ns" keepalived -n -l --vrrp -f "$WORK/$ns.conf" \
            -p "$WORK/$ns-$run.pid" -r "$WORK/$ns-$run.vrrp.pid" -c "$WORK/$ns-$run.check.pid" \
            >"$WORK/$ns.log" 2>&1 &
    fi
    echo $!
}

# adverts_from SRC FILE: how many adverts with a non-zero priority SRC sent so far.
adverts_from() { awk -v s="$1" '$2 == s && $3 > 0' "$2" | wc -l; }

# wait_for COUNT SRC FILE SECONDS
wait_for() {
    local deadline=$((SECONDS + $4))
    while [ "$(adverts_from "$2" "$3")" -lt "$1" ]; do
        [ $SECONDS -lt $deadline ] || { echo "timeout waiting for $2" >&2; return 1; }
        sleep 0.05
    done
}

# run IMPL CS: one takeover, in milliseconds.
run() {
    local impl=$1 cs=$2 cap="$WORK/cap.txt"
    : >"$cap"
    ip netns exec $O tshark -i br0 -f "ip proto 112" -l -T fields \
        -e frame.time_epoch -e ip.src -e vrrp.prio >"$cap" 2>/dev/null &
    local tshark=$!
    local a b
    a=$(start "$impl" $A 10.9.0.1 120 "$cs")
    PIDS+=("$a")
    wait_for 3 10.9.0.1 "$cap" 30
    b=$(start "$impl" $B 10.9.0.2 100 "$cs")
    PIDS+=("$b")
    # B is up and hearing A: a few more adverts from A (at least half a second).
    local seen
    seen=$(adverts_from 10.9.0.1 "$cap")
    sleep 0.5
    wait_for $((seen + 3)) 10.9.0.1 "$cap" 30
    kill -KILL -- "-$a"
    wait_for 3 10.9.0.2 "$cap" 30
    kill -KILL -- "-$b"
    kill "$tshark"; wait "$tshark" 2>/dev/null || true
    ip -n $A link del vrrp.1 2>/dev/null || true
    ip -n $A addr flush dev eth0; ip -n $B addr flush dev eth0
    for ns in $A $B; do
        for l in $(ip -n $ns -o link show | awk -F': ' '$2 ~ /^vrrp-/ { sub(/@.*/, "", $2); print $2 }'); do
            ip -n $ns link del "$l"
        done
    done
    awk '$3 > 0 { if ($2 == "10.9.0.1") last = $1; else if ($2 == "10.9.0.2" && last && !done) { printf "%.1f\n", ($1 - last) * 1000; done = 1 } }' "$cap"
}

# stats: min median max of the numbers on stdin.
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%9.1f %9.1f %9.1f", v[1], v[int((NR + 1) / 2)], v[NR] }'; }

printf "VRRPv3 takeover (ms), %s runs: last advert of the old master to the first of the new one\n" "$RUNS"
printf "%-9s %-12s %29s   %29s\n" "interval" "expected" "Duet (min median max)" "keepalived (min median max)"
for cs in $INTERVALS; do
    expected=$(awk -v c="$cs" 'BEGIN { i = c * 10; printf "%.1f", 3 * i + (256 - 100) * i / 256 }')
    line=$(printf "%-9s %-12s" "${cs} cs" "$expected")
    for impl in duet keepalived; do
        results=()
        for _ in $(seq "$RUNS"); do results+=("$(run "$impl" "$cs")"); done
        echo "$impl $cs cs: ${results[*]}" >&2
        line="$line   $(printf '%s\n' "${results[@]}" | stats)"
    done
    echo "$line"
done
