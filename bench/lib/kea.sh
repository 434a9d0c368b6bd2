# kea-dhcp4 as a contestant, shared by bench/dhcp-vs-kea.sh and bench/hot-backup.sh (sourced;
# bash, under set -euo pipefail): the port it serves, its configuration and its start.

# kea_port NS DEV ADDRESS/LEN: give a port an address, bring it up and wait for its carrier
# (Kea opens no socket on an interface without one).
kea_port() {
    ip -n "$1" addr add "$3" dev "$2"
    ip -n "$1" link set "$2" up
    for _ in $(seq 100); do
        ip -n "$1" link show "$2" | grep -q LOWER_UP && return 0
        sleep 0.1
    done
    echo "no carrier on $2 in $1" >&2
    exit 1
}

# kea_config DIR INTERFACE SUBNET POOL THREADS [HOOKS-JSON]: a kea-dhcp4 configuration serving
# SUBNET (a.b.c.d/len) from POOL ("first - last") on INTERFACE, raw sockets, memfile
# persist=true in DIR (a CSV append per lease, no fsync), warnings logged to DIR/kea.log;
# THREADS "off" is single-threaded, a number the size of the packet thread pool (0: Kea's
# default, one per core).
kea_config() {
    local mt='"enable-multi-threading": false'
    [ "$5" = off ] || mt="\"enable-multi-threading\": true, \"thread-pool-size\": $5, \"packet-queue-size\": 64"
    cat <<JSON
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$2" ], "dhcp-socket-type": "raw" },
    "multi-threading": { $mt },
    "lease-database": { "type": "memfile", "persist": true,
                        "name": "$1/leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 86400,
    "subnet4": [ { "id": 1, "subnet": "$3",
                   "pools": [ { "pool": "$4" } ] } ],
    ${6:+\"hooks-libraries\": $6,}
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                   "output_options": [ { "output": "$1/kea.log" } ] } ]
} }
JSON
}

# kea_start NS DIR: kea-dhcp4 on DIR/kea.json in namespace NS, its lock and pid files and its
# output in DIR; its pid into KEA_PID.
kea_start() {
    KEA_LOCKFILE_DIR=$2 KEA_PIDFILE_DIR=$2 \
        ip netns exec "$1" kea-dhcp4 -c "$2/kea.json" >"$2/out" 2>&1 &
    KEA_PID=$!
}
