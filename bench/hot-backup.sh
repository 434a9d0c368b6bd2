#!/bin/bash
# Hot backup: DORA rate with hot backup synchronous, asynchronous and off, next to Kea alone;
# batch backup time for 100,000 and 1,000,000 bindings; time from kill -9 of the master to
# the first DHCPACK from the backup.
#
#   sudo bench/hot-backup.sh [RATES...]     (root: it creates network namespaces)
#
# Topology (as tests/lab_hotbackup.rs): devices A and B in namespaces, their LAN ports on a
# bridge in the client namespace C, a veth failover link between them; VRRP group 1 (virtual
# IP 10.1.1.1, advertisement every 0.5 s, A priority 120), pool 10.0.0.0/12. perfdhcp in C
# sends DISCOVER/REQUEST from unique clients (`-r RATE -R 4000000 -p SECS`); the sustained
# rate is the highest achieved rate with < 1% drops in both exchanges and no exchange over 1 s
# (the same rule as bench/dhcp-vs-kea.sh). Kea: kea-dhcp4 alone in A's namespace, memfile
# persist=true, single-threaded, raw sockets. Kea's HA hook (libdhcp_ha, hot-standby) is not
# measured: see docs/performance.md.
#
# Needs: a release build (cargo build --release), perfdhcp, kea-dhcp4, python3, iproute2.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DUET=${DUET:-$ROOT/target/release/duet}
SECS=${SECS:-5}
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(1000 2000 4000 8000 12000)
TAG=$$
NA=hba$TAG NB=hbb$TAG NC=hbc$TAG
WORK=$(mktemp -d /tmp/hb-bench.XXXXXX)
PIDS=()

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
for tool in perfdhcp kea-dhcp4 python3 ip; do
    command -v "$tool" >/dev/null || { echo "$tool not installed" >&2; exit 2; }
done
[ -x "$DUET" ] || { echo "no $DUET: run cargo build --release first" >&2; exit 2; }

stop_all() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_all
    for n in $NA $NB $NC; do ip netns del "$n" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

for n in $NA $NB $NC; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n "$NC" link add br0 type bridge
ip -n "$NA" link add a0 type veth peer name ca netns "$NC"
ip -n "$NB" link add b0 type veth peer name cb netns "$NC"
for p in ca cb; do ip -n "$NC" link set "$p" master br0 up; done
ip -n "$NC" link set br0 up
ip -n "$NC" addr add 10.15.255.250/12 dev br0
ip -n "$NA" link add a1 type veth peer name b1 netns "$NB"

# config NAME LAN-IP PRIORITY SOURCE PEER MODE(synchronous|asynchronous|off)
config() {
    cat <<CFG
#
 sysname $1
#
 dhcp enable
$( [ "$6" = off ] || echo " dhcp server hot-backup" )
#
dhcp server ip-pool lan
 gateway-list 10.1.1.1
 network 10.0.0.0 mask 255.240.0.0
 address range 10.0.0.10 10.15.250.250
#
hot-backup
 peer $5 source $4
 track vrrp vrid 1 interface GigabitEthernet1/0/1
$( [ "$6" = asynchronous ] && echo " backup-mode asynchronous" )
$( [ "$6" = off ] || echo " hot-backup enable" )
#
interface GigabitEthernet1/0/1
 ip address $2 255.240.0.0
 vrrp vrid 1 virtual-ip 10.1.1.1
 vrrp vrid 1 priority $3
 vrrp vrid 1 timer advertise 50
 dhcp server apply ip-pool lan
#
interface GigabitEthernet1/0/2
 ip address $4 255.255.255.252
#
return
CFG
}

# start_pair MODE: both devices, fresh data directories; waits for A as master (and, with
# hot backup, real-time backup).
start_pair() {
    local mode=$1
    rm -rf "$WORK/a" "$WORK/b"; mkdir -p "$WORK/a" "$WORK/b"
    config A 10.1.1.2 120 192.168.9.1 192.168.9.2 "$mode" > "$WORK/a/cfg"
    config B 10.1.1.3 100 192.168.9.2 192.168.9.1 "$mode" > "$WORK/b/cfg"
    for d in a b; do
        local ns=$NA; [ $d = b ] && ns=$NB
        ip netns exec "$ns" "$DUET" run --net linux --no-console \
            --port "GigabitEthernet1/0/1=${d}0" --port "GigabitEthernet1/0/2=${d}1" \
            --data-dir "$WORK/$d/data" --config "$WORK/$d/cfg" >"$WORK/$d/out" 2>&1 &
        PIDS+=($!)
        [ $d = a ] && APID=$!
    done
    for _ in $(seq 300); do
        local s
        s=$("$DUET" connect --data-dir "$WORK/a/data" -c "display vrrp verbose" -c "display hot-backup" 2>/dev/null || true)
        if echo "$s" | grep -q "State        : Master"; then
            if [ "$mode" = off ] || echo "$s" | grep -q "Real-time backup"; then return 0; fi
        fi
        sleep 0.1
    done
    echo "pair did not come up ($mode)" >&2; cat "$WORK/a/out" "$WORK/b/out" >&2; exit 1
}

measure() {
    local rate=$1 out achieved drops max
    out=$(ip netns exec "$NC" perfdhcp -4 -l br0 -r "$rate" -R 4000000 -p "$SECS" 2>&1 || true)
    achieved=$(echo "$out" | sed -n 's/.*Rate: \([0-9.]*\) 4-way.*/\1/p' | head -1)
    drops=$(echo "$out" | sed -n 's/^drops ratio: *\([0-9.]*\) %.*/\1/p' | tr '\n' ' ')
    max=$(echo "$out" | sed -n 's/^max delay: *\([0-9.]*\) ms.*/\1/p' | sort -g | tail -1)
    echo "${achieved:-0} ${drops:-100 100} ${max:-99999}"
}

sweep() {
    local name=$1
    SUSTAINED=0
    printf '%-13s %9s %9s %9s %9s %12s\n' "$name" offered achieved drop-DO% drop-RA% max-delay-ms
    for rate in "${RATES[@]}"; do
        read -r achieved d1 d2 max <<<"$(measure "$rate")"
        printf '%-13s %9s %9s %9s %9s %12s\n' "" "$rate" "$achieved" "$d1" "$d2" "$max"
        if awk -v a="$d1" -v b="$d2" -v m="$max" 'BEGIN { exit !(a < 1 && b < 1 && m < 1000) }' &&
           awk -v x="$achieved" -v y="$SUSTAINED" 'BEGIN { exit !(x > y) }'; then
            SUSTAINED=$achieved
        fi
    done
}

declare -A RATE
for mode in synchronous asynchronous off; do
    echo "== Duet pair, hot backup $mode"
    start_pair "$mode"
    sweep "$mode"
    RATE[$mode]=$SUSTAINED
    stop_all
done

echo "== Kea $(kea-dhcp4 -v) alone (A's namespace), memfile persist=true, single-threaded"
mkdir -p "$WORK/kea"
ip -n "$NA" addr flush dev a0
ip -n "$NA" addr add 10.1.1.2/12 dev a0
ip -n "$NA" link set a0 up
cat > "$WORK/kea/kea.json" <<JSON
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "a0" ], "dhcp-socket-type": "raw" },
    "multi-threading": { "enable-multi-threading": false },
    "lease-database": { "type": "memfile", "persist": true,
                        "name": "$WORK/kea/leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 86400,
    "subnet4": [ { "id": 1, "subnet": "10.0.0.0/12",
                   "pools": [ { "pool": "10.0.0.10 - 10.15.250.250" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                   "output_options": [ { "output": "$WORK/kea/kea.log" } ] } ]
} }
JSON
KEA_LOCKFILE_DIR=$WORK/kea KEA_PIDFILE_DIR=$WORK/kea \
    ip netns exec "$NA" kea-dhcp4 -c "$WORK/kea/kea.json" >"$WORK/kea/out" 2>&1 &
PIDS+=($!)
sleep 2
sweep kea
RATE[kea]=$SUSTAINED
stop_all
ip -n "$NA" addr flush dev a0

echo "== kill -9 of the master to the first DHCPACK from the backup (synchronous)"
# A client in C runs DORA after DORA (fresh MAC each, 5 ms apart, broadcast flag) and writes
# the time of every ACK with the address that sent it.
cat > "$WORK/client.py" <<'PY'
import random, socket, struct, sys, time
def pkt(t, mac, xid, req=None):
    p = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0"*4, b"\0"*4,
                    b"\0"*4, b"\0"*4, mac + b"\0"*10, b"\0"*64, b"\0"*128)
    p += b"\x63\x82\x53\x63" + bytes([53, 1, t])
    if req: p += bytes([50, 4]) + req + bytes([54, 4]) + socket.inet_aton("10.1.1.1")
    return p + b"\xff"
def kind(d):
    i = 240
    while i + 1 < len(d) and d[i] != 255:
        if d[i] == 0: i += 1; continue
        if d[i] == 53: return d[i + 2]
        i += 2 + d[i + 1]
    return 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, 25, b"br0")
s.bind(("0.0.0.0", 68)); s.settimeout(0.02)
out = open(sys.argv[1], "w", buffering=1)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    mac = bytes([2, 0x77] + [random.randrange(256) for _ in range(4)]); xid = random.getrandbits(32)
    s.sendto(pkt(1, mac, xid), ("255.255.255.255", 67))
    try:
        while True:
            d, src = s.recvfrom(1500)
            if d[4:8] == struct.pack("!I", xid) and kind(d) == 2:
                s.sendto(pkt(3, mac, xid, d[16:20]), ("255.255.255.255", 67))
            elif d[4:8] == struct.pack("!I", xid) and kind(d) == 5:
                out.write("%.6f %s\n" % (time.time(), src[0])); break
    except socket.timeout:
        pass
    time.sleep(0.005)
PY
start_pair synchronous
ip netns exec "$NC" python3 "$WORK/client.py" "$WORK/acks" 12 &
CLIENT=$!
sleep 2
KILLED=$(date +%s.%N)
kill -9 "$APID"
wait "$CLIENT" || true
FIRST=$(awk -v k="$KILLED" '$1 > k && $2 == "10.1.1.3" { print $1; exit }' "$WORK/acks")
TAKEOVER=$(awk -v f="${FIRST:-0}" -v k="$KILLED" 'BEGIN { if (f > 0) printf "%.0f", (f - k) * 1000; else print "none" }')
# Master_Down_Interval = 3 x 0.5 s + Skew_Time (256 - 100) / 256 x 0.5 s.
echo "   first ACK from B ${TAKEOVER} ms after kill -9 of A (Master_Down_Interval 1805 ms)"
stop_all

echo "== Batch backup through the engine over loopback (tests/hotbackup_batch.rs, release, 3 runs each;"
echo "   a client does DORA after DORA with the sending device meanwhile)"
for n in 100000 1000000; do
    for run in 1 2 3; do
        (cd "$ROOT" && HOTBACKUP_ENGINE_BATCH=$n cargo test --release -q --test hotbackup_batch -- --nocapture 2>&1 |
            grep -E "engine batch|DORA with A" || echo "   batch of $n failed (run $run)")
    done
done

echo
echo "Sustained DORA rate (< 1% drops, no exchange over 1 s), ${SECS}s per step:"
printf '  Duet pair, synchronous hot backup   %8.0f /s\n' "${RATE[synchronous]}"
printf '  Duet pair, asynchronous hot backup  %8.0f /s\n' "${RATE[asynchronous]}"
printf '  Duet pair, hot backup off           %8.0f /s\n' "${RATE[off]}"
printf '  Kea alone, single-threaded          %8.0f /s\n' "${RATE[kea]}"
echo "Takeover: first ACK from the backup ${TAKEOVER} ms after kill -9 of the master"
