#!/bin/bash
# DHCP DORA throughput, Duet against ISC Kea, on one machine.
#
#   sudo bench/dhcp-vs-kea.sh     (root: it creates network namespaces)
#
# Each server has a namespace of its own joined by a veth pair to a client namespace where
# perfdhcp (Debian's kea-admin package) sends DISCOVER/REQUEST from unique clients to a
# 4M-address pool. The client, the pass rule and the rate search are those of
# bench/lib/perfdhcp.sh, as in bench/hot-backup.sh: `-W 1000000` (exchanges in flight at the
# end of a run are not drops), rates from the packet counts, 4 MiB receive buffers for perfdhcp
# through an LD_PRELOAD shim (CLIENT_RCVBUF; 0: the system default), and for each server a
# search from START that doubles the offered rate while runs pass, then bisects to within
# TOLERANCE %. The sustained rate of a server is the highest achieved rate of a passing run
# (< 1% drops in both exchanges, no exchange over 1 s). Both servers run for the whole bench
# and the two searches take turns, one run each, so that both see the same background load
# (the machine is shared). Every row shows the 1-minute load average before the run, `cpu-us`
# (the server's CPU time, all threads, user + system, per achieved exchange: a measure of
# cost that background load disturbs much less than rates) and `cl-ovf` (replies the client
# namespace dropped on a full perfdhcp socket buffer).
#
# Durability, stated for both:
#   Duet: every lease is in the journal (DATA/dhcp/leases.journal) and fdatasync'ed before its
#         ACK is sent; group commit: one fdatasync per batch of up to 256 requests.
#   Kea:  memfile back end with persist=true: the lease is appended to the CSV file (no fsync)
#         before the ACK; single-threaded (multi-threading disabled), raw sockets.
#
# Also prints Duet's memory per lease at a million leases (tests/dhcp_memory.rs, release).
# Knobs (environment): SECS=8 START=2000 RUNS=8 TOLERANCE=5 CEILING=64000 CLIENT_RCVBUF=4194304
# SKIP_MEMORY=0.
# Needs: a release build of duet (cargo build --release), kea-dhcp4, perfdhcp, iproute2, and cc
# unless CLIENT_RCVBUF=0.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib/perfdhcp.sh
. "$ROOT/bench/lib/perfdhcp.sh"
# shellcheck source=bench/lib/kea.sh
. "$ROOT/bench/lib/kea.sh"
DUET=${DUET:-$ROOT/target/release/duet}
SECS=${SECS:-8}
START=${START:-2000}
RUNS=${RUNS:-8}
TOLERANCE=${TOLERANCE:-5}
CEILING=${CEILING:-64000}
CLIENT_RCVBUF=${CLIENT_RCVBUF:-4194304}
[ $# = 0 ] || { echo "usage: sudo bench/dhcp-vs-kea.sh (knobs in the environment, see the header)" >&2; exit 2; }
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
perf_client_setup

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
    kea_port "dbk$TAG" s0 10.64.0.1/10
    kea_config "$WORK/kea" s0 10.64.0.0/10 "10.64.0.10 - 10.127.255.250" off > "$WORK/kea/kea.json"
    kea_start "dbk$TAG" "$WORK/kea"
    sleep 2
}

start_duet
start_kea
echo "Duet: journal fdatasync per batch before the ACKs; Kea $(kea-dhcp4 -v): memfile persist=true, single-threaded"
perf_search_begin duet "dbcd$TAG" c0 "$DUET_PID"
perf_search_begin kea "dbck$TAG" c0 "$KEA_PID"
perf_header server
DUET_MORE=1
KEA_MORE=1
while [ $DUET_MORE = 1 ] || [ $KEA_MORE = 1 ]; do
    if [ $DUET_MORE = 1 ]; then perf_search_step duet duet || DUET_MORE=0; fi
    if [ $KEA_MORE = 1 ]; then perf_search_step kea kea || KEA_MORE=0; fi
done
perf_search_end duet duet
DUET_RATE=$SUSTAINED
perf_search_end kea kea
KEA_RATE=$SUSTAINED
JOURNAL=$(stat -c %s "$WORK/duet/data/dhcp/leases.journal" 2>/dev/null || echo 0)
echo "Duet journal after the bench: $JOURNAL bytes"

echo
perf_summary_title
printf '  Duet  %8.0f /s   every lease fdatasync'"'"'ed to the journal before its ACK (group commit)%s\n' \
    "$DUET_RATE" "$(perf_limited_note duet)"
printf '  Kea   %8.0f /s   memfile CSV append, no fsync%s\n' "$KEA_RATE" "$(perf_limited_note kea)"
awk -v d="$DUET_RATE" -v k="$KEA_RATE" 'BEGIN { if (k > 0) printf "  Duet / Kea = %.2f\n", d / k }'

if [ "${SKIP_MEMORY:-0}" != 1 ]; then
    echo
    echo "Memory per lease at a million leases (tests/dhcp_memory.rs, release):"
    (cd "$ROOT" && cargo test --release --test dhcp_memory -- --nocapture 2>&1 | grep -E "^[0-9]+ leases|^resident set" || true)
fi
