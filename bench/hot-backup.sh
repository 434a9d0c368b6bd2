#!/bin/bash
# Hot backup: sustained DORA rate with Duet's hot backup synchronous, asynchronous and off,
# next to Kea alone and a Kea HA pair in hot-standby; batch backup time for 100,000 and
# 1,000,000 bindings; time from kill -9 of the master to the first DHCPACK from the backup.
#
#   sudo bench/hot-backup.sh     (root: it creates network namespaces)
#
# Topology (as tests/lab_hotbackup.rs): devices A and B in namespaces, their LAN ports on a
# bridge in the client namespace C, a veth failover link between them (192.168.9.1/30 in A,
# .2 in B); VRRP group 1 (virtual IP 10.1.1.1, advertisement every 0.5 s, A priority 120),
# pool 10.0.0.0/12.
#
# Sustained rate: perfdhcp in C, the client, pass rule and rate search of bench/lib/perfdhcp.sh
# (every contestant gets the same search; -W 1000000, rates from packet counts, 4 MiB receive
# buffers through an LD_PRELOAD shim). Next to each run: the 1-minute load average before it,
# `cpu-us`, the CPU time of the server processes (both devices of a pair) per achieved
# exchange, and `cl-ovf`, the datagrams the client namespace dropped because perfdhcp's receive
# buffer was full. CLIENT_RCVBUF (bytes, default 4 MiB; 0: the system default) sets that buffer;
# the same client for every contestant.
#
# Contestants (CONTESTANTS, default all five, in this order):
#   synchronous, asynchronous, off
#            the Duet pair with that hot-backup mode (off: the DHCP server without hot backup)
#   kea      kea-dhcp4 alone in A's namespace: memfile persist=true, single-threaded, raw sockets
#   kea-ha   kea-dhcp4 in A and in B with libdhcp_ha in hot-standby mode (A primary, B standby)
#            and libdhcp_lease_cmds; lease updates go over the failover link to the HA hook's
#            own HTTP listener (port 8001), memfile persist=true on both. Kea runs that
#            listener only with its multi-threading on (kea-ctrl-agent, the other way, is not
#            installed here): KEA_HA_THREADS packet-processing threads, default 0 = Kea's
#            default, one per core; HTTP listener and client threads at Kea's default too.
#            Measured once A reports the HA state "hot-standby".
#
# Knobs (environment): SECS=5 START=2000 RUNS=8 TOLERANCE=5 CEILING=64000 CONTESTANTS
# CLIENT_RCVBUF=4194304 KEA_HA_THREADS=0 KEA_HOOKS (the directory of libdhcp_ha.so; found when
# unset).
# Needs: a release build (cargo build --release), perfdhcp, kea-dhcp4, python3, iproute2, and
# cc unless CLIENT_RCVBUF=0.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib/perfdhcp.sh
. "$ROOT/bench/lib/perfdhcp.sh"
# shellcheck source=bench/lib/kea.sh
. "$ROOT/bench/lib/kea.sh"
DUET=${DUET:-$ROOT/target/release/duet}
SECS=${SECS:-5}
START=${START:-2000}
RUNS=${RUNS:-8}
TOLERANCE=${TOLERANCE:-5}
CEILING=${CEILING:-64000}
KEA_HA_THREADS=${KEA_HA_THREADS:-0}
CLIENT_RCVBUF=${CLIENT_RCVBUF:-4194304}
read -r -a CONTESTANTS <<<"${CONTESTANTS:-synchronous asynchronous off kea kea-ha}"
[ $# = 0 ] || { echo "usage: sudo bench/hot-backup.sh (knobs in the environment, see the header)" >&2; exit 2; }
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
perf_client_setup

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

# Clear what an earlier contestant left on the ports of A and B: addresses, and the VRRP
# macvlans (vrrp-*) a killed Duet leaves behind; the ports stay up.
reset_ports() {
    local ns dev
    for ns in $NA $NB; do
        for dev in $(ip -n "$ns" -o link show | sed -n 's/^[0-9]*: \(vrrp-[^@:]*\).*/\1/p'); do
            ip -n "$ns" link del "$dev"
        done
    done
    while read -r ns dev; do
        ip -n "$ns" addr flush dev "$dev"
        ip -n "$ns" link set "$dev" up
    done <<<"$NA a0
$NA a1
$NB b0
$NB b1"
}

# start_kea NS DIR: kea_start, the server counted in PIDS.
start_kea() {
    kea_start "$1" "$2"
    PIDS+=("$KEA_PID")
}

# The pool of every contestant.
KEA_SUBNET=10.0.0.0/12
KEA_POOL="10.0.0.10 - 10.15.250.250"

# The hooks-libraries of HA server NAME (A primary, B standby): hot-standby, heartbeat every
# second, partner declared unresponsive after 3 s, lease updates to the peer's own listener
# (listener and client threads: 0, Kea's default of one per core).
kea_ha_hooks() {
    cat <<JSON
[ { "library": "$KEA_HOOKS/libdhcp_lease_cmds.so" },
      { "library": "$KEA_HOOKS/libdhcp_ha.so", "parameters": { "high-availability": [ {
          "this-server-name": "$1", "mode": "hot-standby",
          "heartbeat-delay": 1000, "max-response-delay": 3000,
          "max-ack-delay": 1000, "max-unacked-clients": 0,
          "multi-threading": { "enable-multi-threading": true, "http-dedicated-listener": true,
                               "http-listener-threads": 0, "http-client-threads": 0 },
          "peers": [ { "name": "A", "url": "http://192.168.9.1:8001/", "role": "primary" },
                     { "name": "B", "url": "http://192.168.9.2:8001/", "role": "standby" } ]
      } ] } } ]
JSON
}

# ha_state NS URL: the HA state a Kea server reports to ha-heartbeat on its HTTP listener,
# or why it could not be asked.
ha_state() {
    ip netns exec "$1" python3 -c '
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=b"{\"command\": \"ha-heartbeat\"}",
                             headers={"Content-Type": "application/json"})
try:
    answer = json.load(urllib.request.urlopen(req, timeout=2))[0]
    print(answer.get("arguments", {}).get("state") or answer.get("text", "no state"))
except Exception as e:
    print("no answer: %s" % e)
' "$2"
}

# start_kea_ha: the Kea HA pair; returns 0 once A is in "hot-standby", else sets KEA_HA_WHY.
start_kea_ha() {
    local state=none a b
    if [ -z "${KEA_HOOKS:-}" ]; then
        KEA_HOOKS=$(dirname "$(find /usr/lib /usr/local/lib /opt -name libdhcp_ha.so 2>/dev/null | head -1)")
    fi
    for lib in libdhcp_ha.so libdhcp_lease_cmds.so; do
        [ -f "$KEA_HOOKS/$lib" ] || { KEA_HA_WHY="$lib not found (KEA_HOOKS=$KEA_HOOKS)"; return 1; }
    done
    reset_ports
    kea_port "$NA" a0 10.1.1.2/12
    kea_port "$NA" a1 192.168.9.1/30
    kea_port "$NB" b0 10.1.1.3/12
    kea_port "$NB" b1 192.168.9.2/30
    rm -rf "$WORK/kea-a" "$WORK/kea-b"
    mkdir -p "$WORK/kea-a" "$WORK/kea-b"
    kea_config "$WORK/kea-a" a0 "$KEA_SUBNET" "$KEA_POOL" "$KEA_HA_THREADS" "$(kea_ha_hooks A)" > "$WORK/kea-a/kea.json"
    kea_config "$WORK/kea-b" b0 "$KEA_SUBNET" "$KEA_POOL" "$KEA_HA_THREADS" "$(kea_ha_hooks B)" > "$WORK/kea-b/kea.json"
    start_kea "$NA" "$WORK/kea-a"
    a=$KEA_PID
    start_kea "$NB" "$WORK/kea-b"
    b=$KEA_PID
    for _ in $(seq 120); do
        for p in $a $b; do
            kill -0 "$p" 2>/dev/null && continue
            KEA_HA_WHY="kea-dhcp4 exited: $(cat "$WORK"/kea-[ab]/out "$WORK"/kea-[ab]/kea.log 2>/dev/null |
                grep -E 'ERROR|FATAL' | head -3 || true)"
            return 1
        done
        state=$(ha_state "$NA" http://192.168.9.1:8001/)
        [ "$state" = hot-standby ] && return 0
        sleep 0.5
    done
    KEA_HA_WHY="A not in hot-standby after 60 s (last answer: $state; $(grep -hE 'ERROR' \
        "$WORK/kea-a/kea.log" 2>/dev/null | tail -1 || true))"
    return 1
}

declare -A RATE
KEA_HA_WHY=
for c in "${CONTESTANTS[@]}"; do
    case $c in
    synchronous | asynchronous | off)
        echo "== Duet pair, hot backup $c"
        reset_ports
        start_pair "$c"
        perf_search "$c" "$NC" br0 "${PIDS[@]}"
        RATE[$c]=$SUSTAINED
        stop_all
        ;;
    kea)
        echo "== Kea $(kea-dhcp4 -v) alone (A's namespace), memfile persist=true, single-threaded"
        reset_ports
        kea_port "$NA" a0 10.1.1.2/12
        rm -rf "$WORK/kea"
        mkdir -p "$WORK/kea"
        kea_config "$WORK/kea" a0 "$KEA_SUBNET" "$KEA_POOL" off > "$WORK/kea/kea.json"
        start_kea "$NA" "$WORK/kea"
        sleep 2
        perf_search kea "$NC" br0 "${PIDS[@]}"
        RATE[kea]=$SUSTAINED
        stop_all
        ;;
    kea-ha)
        echo "== Kea $(kea-dhcp4 -v) HA hot-standby (A primary, B standby), memfile persist=true," \
            "packet threads $KEA_HA_THREADS (0: one per core), HA listener on the failover link"
        if start_kea_ha; then
            perf_search kea-ha "$NC" br0 "${PIDS[@]}"
            RATE[kea-ha]=$SUSTAINED
            # Records in each memfile: the standby's count shows the lease updates arrived.
            echo "   lease records written: A $(grep -c '^10\.' "$WORK/kea-a/leases4.csv" || true)," \
                "B $(grep -c '^10\.' "$WORK/kea-b/leases4.csv" || true)"
        else
            echo "   Kea HA not measured: $KEA_HA_WHY"
        fi
        stop_all
        ;;
    *)
        echo "unknown contestant $c" >&2
        exit 2
        ;;
    esac
done
reset_ports

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
# Reap A here, quietly: otherwise bash reports "Killed" when the next wait reaps it.
wait "$APID" 2>/dev/null || true
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
perf_summary_title
# summary KEY LABEL: one line of the summary, "not measured" for a contestant that was not.
summary() {
    if [ -n "${RATE[$1]:-}" ]; then
        printf '  %-48s %8.0f /s%s\n' "$2" "${RATE[$1]}" "$(perf_limited_note "$1")"
    else
        printf '  %-48s not measured%s\n' "$2" "${3:+: $3}"
    fi
}
summary synchronous "Duet pair, synchronous hot backup"
summary asynchronous "Duet pair, asynchronous hot backup"
summary off "Duet pair, hot backup off"
summary kea "Kea alone, single-threaded"
summary kea-ha "Kea HA hot-standby, packet threads $KEA_HA_THREADS (0: per core)" "$KEA_HA_WHY"
for base in kea kea-ha; do
    awk -v s="${RATE[synchronous]:-0}" -v k="${RATE[$base]:-0}" -v b="$base" \
        'BEGIN { if (s > 0 && k > 0) printf "  synchronous / %s = %.2f\n", b, s / k }'
done
echo "Takeover: first ACK from the backup ${TAKEOVER} ms after kill -9 of the master"
