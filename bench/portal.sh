#!/bin/bash
# Portal: redirects per second and durable logins per second through `duet run --net linux` with
# the portal on, measured with wrk; kernel memory per authorized user at 100,000 users; openNDS's
# availability next to it.
#
#   sudo bench/portal.sh
#
# Topology (as tests/lab_portal.rs, with a switch for many clients):
#   [C0..Cn-1] c0 -- bridge [switch S] -- d0 [device D: duet] d1 -- i0 [internet I]
#   10.1.1.10+k/24                           10.1.1.1   10.2.0.1     10.2.0.2: tests/portal/internet.py
#
# Redirects: wrk in C0 (THREADS threads, CONNS connections, keep-alive) asks http://10.2.0.2/
# (any site): DNAT sends it to the portal, which answers 302 with the original URL.
# Logins: one wrk per client namespace (CLIENTS of them, one connection each: the portal keys
# users by IP) alternates POST logon.cgi Logon and Logoff; every login answered with
# logonSuccess.htm was journaled and installed in the nftables set before the answer (and every
# logoff journaled). Reported: logins/s (successful Logon answers per second) and the answers
# that were not a success.
# Memory: the nftables set auth4 with 100,000 elements loaded into a scratch namespace, kernel
# slab before and after (the user table's own bytes per user are measured by the portal core's
# tests); noisy on a shared machine: three runs, each printed.
#
# Knobs (environment): SECS=10 THREADS=2 CONNS=64 CLIENTS=240 (at most 245) DUET (default target/release/duet)
# Needs: a release build (cargo build --release --bin duet), wrk, curl, nft, python3, iproute2.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DUET=${DUET:-$ROOT/target/release/duet}
SECS=${SECS:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
CLIENTS=${CLIENTS:-240}
[ $# = 0 ] || { echo "usage: sudo bench/portal.sh (knobs in the environment, see the header)" >&2; exit 2; }
[ "$CLIENTS" -ge 1 ] && [ "$CLIENTS" -le 245 ] || { echo "CLIENTS must be 1 to 245 (clients are 10.1.1.10 and up)" >&2; exit 2; }
TAG=$$
ND=pbd$TAG NI=pbi$TAG NS=pbs$TAG NM=pbm$TAG
WORK=$(mktemp -d /tmp/portal-bench.XXXXXX)
PIDS=()
CLIENT_NS=()

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
for tool in wrk curl nft python3 ip; do
    command -v "$tool" >/dev/null || { echo "$tool not installed" >&2; exit 2; }
done
[ -x "$DUET" ] || { echo "no $DUET: run cargo build --release --bin duet first" >&2; exit 2; }

cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    for n in $ND $NI $NS $NM "${CLIENT_NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

for n in $ND $NI $NS; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n "$NS" link add br0 type bridge
ip -n "$NS" link set br0 up
ip -n "$ND" link add d0 type veth peer name sd netns "$NS"
ip -n "$ND" link add d1 type veth peer name i0 netns "$NI"
ip -n "$NS" link set sd master br0 up
ip -n "$NI" addr add 10.2.0.2/24 dev i0
ip -n "$NI" link set i0 up
ip -n "$NI" route add default via 10.2.0.1
for k in $(seq 0 $((CLIENTS - 1))); do
    c=pbc${TAG}x$k
    CLIENT_NS+=("$c")
    ip netns add "$c"
    ip -n "$c" link set lo up
    ip -n "$NS" link add "s$k" type veth peer name c0 netns "$c"
    ip -n "$NS" link set "s$k" master br0 up
    ip -n "$c" addr add "10.1.1.$((10 + k))/24" dev c0
    ip -n "$c" link set c0 up
    ip -n "$c" route add default via 10.1.1.1
done
C0=${CLIENT_NS[0]}

ip netns exec "$NI" python3 "$ROOT/tests/portal/internet.py" >"$WORK/internet.log" 2>&1 &
PIDS+=($!)

mkdir -p "$WORK/data"
cat >"$WORK/cfg" <<'EOF'
#
 sysname PortalBench
#
local-user guest class network
 password simple Guest#2026
 service-type portal
#
portal local-web-server http
#
portal web-server local
 url http://10.1.1.1/portal/
 url-parameter userurl original-url
#
interface GigabitEthernet1/0/1
 ip address 10.1.1.1 255.255.255.0
 portal enable method direct
 portal apply web-server local
#
interface GigabitEthernet1/0/2
 ip address 10.2.0.1 255.255.255.0
#
return
EOF
ip netns exec "$ND" "$DUET" run --net linux --no-console \
    --port "GigabitEthernet1/0/1=d0" --port "GigabitEthernet1/0/2=d1" \
    --data-dir "$WORK/data" --config "$WORK/cfg" >"$WORK/duet.out" 2>&1 &
PIDS+=($!)
DUET_PID=$!

ready=
for _ in $(seq 1 150); do
    if ip netns exec "$C0" curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' \
        http://10.2.0.2/ 2>/dev/null | grep -q 302; then ready=1; break; fi
    sleep 0.1
done
[ -n "$ready" ] || { echo "the portal never redirected; duet said:" >&2; cat "$WORK/duet.out" >&2; exit 1; }

echo "== portal bench: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), ${SECS}s runs"
echo "-- redirects: wrk -t$THREADS -c$CONNS http://10.2.0.2/ (302 to the portal)"
ip netns exec "$C0" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency http://10.2.0.2/ >"$WORK/redirects.txt"
grep -E "Requests/sec|Latency|99%|Non-2xx|Socket errors" "$WORK/redirects.txt" | sed 's/^/   /'

# wrk gives each thread its own Lua state: the counters are that state's globals, and `done`
# (in the main state) reads them through the threads `setup` kept.
cat >"$WORK/login.lua" <<'EOF'
-- Alternate Logon and Logoff on one connection; count the Logon answers that were a success.
threads = {}
setup = function(thread) table.insert(threads, thread) end
n, logons, failed = 0, 0, 0
request = function()
  n = n + 1
  local body = (n % 2 == 1) and "PtUser=guest&PtPwd=Guest%232026&PtButton=Logon" or "PtButton=Logoff"
  return wrk.format("POST", "/portal/logon.cgi",
    {["Content-Type"] = "application/x-www-form-urlencoded", ["Host"] = "10.1.1.1"}, body)
end
response = function(status, headers, body)
  if body:find("You are logged on", 1, true) then logons = logons + 1
  elseif not body:find("You are logged off", 1, true) then failed = failed + 1 end
end
done = function(summary, latency, requests)
  local l, f = 0, 0
  for _, t in ipairs(threads) do l = l + t:get("logons"); f = f + t:get("failed") end
  io.write(string.format("logons %d failed %d\n", l, f))
end
EOF

echo "-- logins: $CLIENTS clients, one wrk connection each, Logon/Logoff alternating"
lpids=()
for c in "${CLIENT_NS[@]}"; do
    ip netns exec "$c" wrk -t1 -c1 -d"${SECS}s" --latency -s "$WORK/login.lua" \
        http://10.1.1.1/portal/logon.cgi >"$WORK/login-$c.txt" 2>&1 &
    lpids+=($!)
done
for p in "${lpids[@]}"; do wait "$p"; done
cpu_ticks=$(awk '{print $14 + $15}' "/proc/$DUET_PID/stat")
total=0 failed=0
for c in "${CLIENT_NS[@]}"; do
    read -r l f < <(awk '/^logons/{print $2, $4}' "$WORK/login-$c.txt")
    total=$((total + ${l:-0})); failed=$((failed + ${f:-0}))
done
echo "   successful logins: $total in ${SECS}s = $((total / SECS))/s (each with a logoff); other answers: $failed"
grep -h -E "^ +99%" "$WORK"/login-*.txt | sort -k2 -h | tail -1 | sed 's/^ */   worst client p99: /'
echo "   duet CPU (user+sys, whole run so far): $((cpu_ticks / $(getconf CLK_TCK))) s"
echo "   duet RSS after the runs: $(awk '/VmRSS/{print $2, $3}' "/proc/$DUET_PID/status")"

echo "-- kernel memory of the authorized set: 100,000 elements (ip . mac)"
python3 - "$WORK/mem.nft" <<'EOF'
import sys
els = []
for i in range(100000):
    els.append("10.%d.%d.%d . 02:01:00:%02x:%02x:%02x" % (64 + (i >> 16), (i >> 8) & 255, i & 255,
                                                          (i >> 16) & 255, (i >> 8) & 255, i & 255))
with open(sys.argv[1], "w") as f:
    f.write("table inet duet_mem {\n set auth4 { type ipv4_addr . ether_addr; elements = {\n")
    f.write(",\n".join(els))
    f.write("\n} }\n}\n")
EOF
for run in 1 2 3; do
    ip netns add "$NM"
    s0=$(awk '/^Slab:/{print $2}' /proc/meminfo)
    t0=$(date +%s%N)
    ip netns exec "$NM" nft -f "$WORK/mem.nft"
    t1=$(date +%s%N)
    s1=$(awk '/^Slab:/{print $2}' /proc/meminfo)
    n=$(ip netns exec "$NM" nft list set inet duet_mem auth4 | grep -c ' \. 02:01:' || true)
    echo "   run $run: $n elements, slab +$((s1 - s0)) KiB = $(((s1 - s0) * 1024 / 100000)) B/user, load $(((t1 - t0) / 1000000)) ms"
    ip netns del "$NM"
    sleep 1
done

echo "-- openNDS"
if command -v opennds >/dev/null; then
    echo "   installed, but not run: it drives iptables and OpenWrt's uci configuration, not a Debian netns"
else
    echo "   not installed ($(apt-cache policy opennds 2>/dev/null | awk '/Candidate/{print "Debian candidate " $2}')): not run, see docs/performance.md"
fi
