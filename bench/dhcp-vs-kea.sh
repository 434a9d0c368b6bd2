#!/bin/bash
# DHCP DORA throughput, Duet against ISC Kea, on one machine, one after the other.
#
#   sudo bench/dhcp-vs-kea.sh [RATES...]     (root: it creates network namespaces)
#
# Each server has a namespace of its own joined by a veth pair to a client namespace where
# perfdhcp (Debian's kea-admin package) sends DISCOVER/REQUEST from unique clients
# (`perfdhcp -4 -l c0 -r RATE -R 4000000 -p SECS`) to a 4M-address pool. Both servers run
# for the whole sweep and each offered rate is measured against Duet, then at once against
# Kea, so that both see the same background load (the machine is shared). For each run the
# script records the achieved 4-way exchange rate, the drops and the longest exchange; the
# sustained rate of a server is the highest achieved rate with < 1% drops in both exchanges
# (perfdhcp counts an answer later than 1 s as a drop) and no exchange over 1 s. `cpu-us` is
# the server's CPU time (all threads, user + system) per achieved exchange during the run: a
# measure of cost that the background load on a shared machine disturbs much less than rates.
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
WORK=$(mktemp -d /tmp/dhcp-bench.XXXXXX)
DUET_PID=
KEA_PID=

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
for tool in perfdhcp kea-dhcp4 ip; do
    command -v "$tool" >/dev/null || { echo "$tool not installed" >&2; exit 2; }
done
[ -x "$DUET" ] || { echo "no $DUET: run cargo build --release first" >&2; exit 2; }

cleanup() {
    for pid in $DUET_PID $KEA_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for ns in dbd$TAG dbk$TAG dbcd$TAG dbck$TAG; do
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# A server namespace dbX and a client namespace dbcX joined by s0 <-> c0.
pair() {
    local s=db$1$TAG c=dbc$1$TAG
    ip netns add "$s"
    ip netns add "$c"
    ip -n "$s" link add s0 type veth peer name c0 netns "$c"
    ip -n "$s" link set lo up
    ip -n "$c" link set lo up
    ip -n "$c" link set c0 up
    ip -n "$c" addr add 10.64.0.2/10 dev c0
}
pair d
pair k

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
    ip netns exec "dbd$TAG" "$DUET" run --net linux --no-console \
        --port GigabitEthernet1/0/1=s0 --data-dir "$WORK/duet/data" \
        --config "$WORK/duet/bench.cfg" >"$WORK/duet/out" 2>&1 &
    DUET_PID=$!
    for _ in $(seq 100); do
        ip -n "dbd$TAG" -4 addr show s0 | grep -q 10.64.0.1 && break
        sleep 0.1
    done
    sleep 0.5
}

start_kea() {
    rm -rf "$WORK/kea"
    mkdir -p "$WORK/kea"
    ip -n "dbk$TAG" addr add 10.64.0.1/10 dev s0
    ip -n "dbk$TAG" link set s0 up
    # Kea opens no socket on an interface without carrier.
    for _ in $(seq 100); do
        ip -n "dbk$TAG" link show s0 | grep -q LOWER_UP && break
        sleep 0.1
    done
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
        ip netns exec "dbk$TAG" kea-dhcp4 -c "$WORK/kea/kea.json" >"$WORK/kea/out" 2>&1 &
    KEA_PID=$!
    sleep 2
}

# One perfdhcp run from client namespace dbc$1 at offered rate $2:
# prints "achieved drops-DO% drops-RA% max-delay-ms".
measure() {
    local out achieved drops max
    out=$(ip netns exec "dbc$1$TAG" perfdhcp -4 -l c0 -r "$2" -R 4000000 -p "$SECS" 2>&1 || true)
    achieved=$(echo "$out" | sed -n 's/.*Rate: \([0-9.]*\) 4-way.*/\1/p' | head -1)
    drops=$(echo "$out" | sed -n 's/^drops ratio: *\([0-9.]*\) %.*/\1/p' | tr '\n' ' ')
    max=$(echo "$out" | sed -n 's/^max delay: *\([0-9.]*\) ms.*/\1/p' | sort -g | tail -1)
    echo "${achieved:-0} ${drops:-100 100} ${max:-99999}"
}

# CPU time (user + system, all threads) a process has used, in clock ticks.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# CPU microseconds per 4-way exchange between two tick counts, at an achieved rate.
us_per_exchange() {
    awk -v a="$1" -v b="$2" -v r="$3" -v s="$SECS" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { if (r > 0) printf "%.0f", (b - a) / hz * 1e6 / (r * s); else print "-" }'
}

# Whether a run is sustained: < 1% drops in both exchanges, no exchange over 1 s.
sustained() {
    awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(a < 1 && b < 1 && m < 1000) }'
}

max_of() {
    awk -v x="$1" -v y="$2" 'BEGIN { print (x > y) ? x : y }'
}

start_duet
start_kea
echo "Duet: journal fdatasync per batch before the ACKs; Kea $(kea-dhcp4 -v): memfile persist=true, single-threaded"
printf '%-5s %8s %10s %9s %9s %12s %8s\n' server offered achieved drop-DO% drop-RA% max-delay-ms cpu-us
DUET_RATE=0
KEA_RATE=0
for rate in "${RATES[@]}"; do
    t0=$(cpu_ticks "$DUET_PID")
    read -r achieved d1 d2 max <<<"$(measure d "$rate")"
    cpu=$(us_per_exchange "$t0" "$(cpu_ticks "$DUET_PID")" "$achieved")
    printf '%-5s %8s %10s %9s %9s %12s %8s\n' duet "$rate" "$achieved" "$d1" "$d2" "$max" "$cpu"
    if sustained "$d1" "$d2" "$max"; then DUET_RATE=$(max_of "$achieved" "$DUET_RATE"); fi
    t0=$(cpu_ticks "$KEA_PID")
    read -r achieved d1 d2 max <<<"$(measure k "$rate")"
    cpu=$(us_per_exchange "$t0" "$(cpu_ticks "$KEA_PID")" "$achieved")
    printf '%-5s %8s %10s %9s %9s %12s %8s\n' kea "$rate" "$achieved" "$d1" "$d2" "$max" "$cpu"
    if sustained "$d1" "$d2" "$max"; then KEA_RATE=$(max_of "$achieved" "$KEA_RATE"); fi
done
JOURNAL=$(stat -c %s "$WORK/duet/data/dhcp/leases.journal" 2>/dev/null || echo 0)
echo "Duet journal after the sweep: $JOURNAL bytes"

echo
echo "Sustained DORA rate (< 1% drops, no exchange over 1 s), ${SECS}s per run:"
printf '  Duet  %8.0f /s   every lease fdatasync'"'"'ed to the journal before its ACK (group commit)\n' "$DUET_RATE"
printf '  Kea   %8.0f /s   memfile CSV append, no fsync\n' "$KEA_RATE"
awk -v d="$DUET_RATE" -v k="$KEA_RATE" 'BEGIN { if (k > 0) printf "  Duet / Kea = %.2f\n", d / k }'

if [ "${SKIP_MEMORY:-0}" != 1 ]; then
    echo
    echo "Memory per lease at a million leases (tests/dhcp_memory.rs, release):"
    (cd "$ROOT" && cargo test --release --test dhcp_memory -- --nocapture 2>&1 | grep -E "^[0-9]+ leases|^resident set" || true)
fi
