#!/bin/bash
# DHCP DORA throughput, Duet against ISC Kea, on one machine, one after the other.
#
#   sudo bench/dhcp-vs-kea.sh [RATES...]     (root: it creates network namespaces)
#
# Two namespaces joined by a veth pair: the server (Duet, then Kea) in one, perfdhcp (Debian's
# kea-admin package) in the other, sending DISCOVER/REQUEST from unique clients
# (`perfdhcp -4 -l c0 -r RATE -R 4000000 -p SECS`) to a 4M-address pool. For each offered
# rate the script records the achieved 4-way exchange rate, the drops and the longest exchange;
# the sustained rate of a server is the highest achieved rate with < 1% drops in both
# exchanges (perfdhcp counts an answer later than 1 s as a drop) and no exchange over 1 s.
#
# Durability, stated for both:
#   Duet: every lease is in the journal (DATA/dhcp/leases.journal) and fdatasync'ed before its
#         ACK is sent; group commit: one fdatasync per batch of up to 256 requests.
#   Kea:  memfile back end with persist=true: the lease is appended to the CSV file (no fsync)
#         before the ACK; single-threaded (multi-threading disabled), raw sockets.
#
# Also prints Duet's memory per lease at a million leases (tests/dhcp_memory.rs, release).
# Needs: a release build of duet (cargo build --release), kea-dhcp4, perfdhcp, iproute2.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DUET=${DUET:-$ROOT/target/release/duet}
SECS=${SECS:-8}
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(2000 4000 6000 8000 12000 16000 24000 32000)
TAG=$$
NS_S=dbs$TAG
NS_C=dbc$TAG
WORK=$(mktemp -d /tmp/dhcp-bench.XXXXXX)
SERVER_PID=

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
for tool in perfdhcp kea-dhcp4 ip; do
    command -v "$tool" >/dev/null || { echo "$tool not installed" >&2; exit 2; }
done
[ -x "$DUET" ] || { echo "no $DUET: run cargo build --release first" >&2; exit 2; }

cleanup() {
    stop_server
    ip netns del "$NS_S" 2>/dev/null || true
    ip netns del "$NS_C" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}

ip netns add "$NS_S"
ip netns add "$NS_C"
ip -n "$NS_S" link add s0 type veth peer name c0 netns "$NS_C"
ip -n "$NS_S" link set lo up
ip -n "$NS_C" link set lo up
ip -n "$NS_C" link set c0 up
ip -n "$NS_C" addr add 10.64.0.2/10 dev c0

start_duet() {
    rm -rf "$WORK/duet"
    mkdir -p "$WORK/duet"
    cat > "$WORK/duet/bench.cfg" <<CFG
#
 dhcp enable
#
dhcp server ip-pool bench
 network 10.64.0.0 mask 255.192.0.0
 address range 10.64.0.10 10.127.255.250
#
interface GigabitEthernet1/0/1
 ip address 10.64.0.1 255.192.0.0
 dhcp server apply ip-pool bench
#
return
CFG
    ip netns exec "$NS_S" "$DUET" run --net linux --no-console \
        --port GigabitEthernet1/0/1=s0 --data-dir "$WORK/duet/data" \
        --config "$WORK/duet/bench.cfg" >"$WORK/duet/out" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        ip -n "$NS_S" -4 addr show s0 | grep -q 10.64.0.1 && break
        sleep 0.1
    done
    sleep 0.5
}

start_kea() {
    rm -rf "$WORK/kea"
    mkdir -p "$WORK/kea"
    ip -n "$NS_S" addr flush dev s0
    ip -n "$NS_S" addr add 10.64.0.1/10 dev s0
    ip -n "$NS_S" link set s0 up
    cat > "$WORK/kea/kea.json" <<JSON
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "s0" ], "dhcp-socket-type": "raw" },
    "multi-threading": { "enable-multi-threading": false },
    "lease-database": { "type": "memfile", "persist": true,
                        "name": "$WORK/kea/leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 86400,
    "subnet4": [ { "id": 1, "subnet": "10.64.0.0/10",
                   "pools": [ { "pool": "10.64.0.10 - 10.127.255.250" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                   "output_options": [ { "output": "$WORK/kea/kea.log" } ] } ]
} }
JSON
    KEA_LOCKFILE_DIR=$WORK/kea KEA_PIDFILE_DIR=$WORK/kea \
        ip netns exec "$NS_S" kea-dhcp4 -c "$WORK/kea/kea.json" >"$WORK/kea/out" 2>&1 &
    SERVER_PID=$!
    sleep 2
}

# One perfdhcp run at an offered rate: prints "achieved drops1% drops2% maxdelay_ms".
measure() {
    local rate=$1 out
    out=$(ip netns exec "$NS_C" perfdhcp -4 -l c0 -r "$rate" -R 4000000 -p "$SECS" 2>&1 || true)
    echo "$out" > "$WORK/last-perfdhcp.txt"
    local achieved drops max
    achieved=$(echo "$out" | sed -n 's/.*Rate: \([0-9.]*\) 4-way.*/\1/p' | head -1)
    drops=$(echo "$out" | sed -n 's/^drops ratio: *\([0-9.]*\) %.*/\1/p' | tr '\n' ' ')
    max=$(echo "$out" | sed -n 's/^max delay: *\([0-9.]*\) ms.*/\1/p' | sort -g | tail -1)
    echo "${achieved:-0} ${drops:-100 100} ${max:-99999}"
}

# Run every rate against the running server; print a table; set SUSTAINED.
sweep() {
    local name=$1
    SUSTAINED=0
    printf '%-5s %10s %10s %9s %9s %12s\n' "$name" offered achieved drop-DO% drop-RA% max-delay-ms
    for rate in "${RATES[@]}"; do
        read -r achieved d1 d2 max <<<"$(measure "$rate")"
        printf '%-5s %10s %10s %9s %9s %12s\n' "" "$rate" "$achieved" "$d1" "$d2" "$max"
        if awk -v a="$d1" -v b="$d2" -v m="$max" 'BEGIN { exit !(a < 1 && b < 1 && m < 1000) }'; then
            if awk -v x="$achieved" -v y="$SUSTAINED" 'BEGIN { exit !(x > y) }'; then
                SUSTAINED=$achieved
            fi
        fi
    done
}

echo "== Duet ($(basename "$DUET")), journal fdatasync per batch before the ACKs"
start_duet
sweep duet
DUET_RATE=$SUSTAINED
stop_server
JOURNAL=$(stat -c %s "$WORK/duet/data/dhcp/leases.journal" 2>/dev/null || echo 0)
echo "   journal: $JOURNAL bytes"

echo "== Kea $(kea-dhcp4 -v), memfile persist=true, single-threaded"
start_kea
sweep kea
KEA_RATE=$SUSTAINED
stop_server

echo
echo "Sustained DORA rate (< 1% drops, no exchange over 1 s), ${SECS}s per step:"
printf '  Duet  %8.0f /s   every lease fdatasync'"'"'ed to the journal before its ACK (group commit)\n' "$DUET_RATE"
printf '  Kea   %8.0f /s   memfile CSV append, no fsync\n' "$KEA_RATE"
awk -v d="$DUET_RATE" -v k="$KEA_RATE" 'BEGIN { if (k > 0) printf "  Duet / Kea = %.2f\n", d / k }'

if [ "${SKIP_MEMORY:-0}" != 1 ]; then
    echo
    echo "Memory per lease at a million leases (tests/dhcp_memory.rs, release):"
    (cd "$ROOT" && cargo test --release --test dhcp_memory -- --nocapture 2>&1 | grep -E "^[0-9]+ leases|^resident set" || true)
fi
