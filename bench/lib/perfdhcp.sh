# perfdhcp client and sustained-rate search shared by bench/dhcp-vs-kea.sh and
# bench/hot-backup.sh (sourced; bash 4, under set -euo pipefail).
#
# The caller sets before using it:
#   SECS          seconds perfdhcp sends per run
#   START RUNS TOLERANCE CEILING
#                 the search: first offered rate, most runs, bisection stop in percent, highest
#                 offered rate tried
#   CLIENT_RCVBUF perfdhcp's socket receive buffer in bytes (0: the system default)
#   WORK          a scratch directory (the receive-buffer shim is built there)
#
# The client. perfdhcp sends DISCOVER/REQUEST from unique clients (`-r RATE -R 4000000 -p SECS
# -W 1000000`) from one namespace and interface. Two corrections, the same for every server:
#  - `-W 1000000`: after SECS perfdhcp waits 1 s more for the answers on their way; without it
#    every exchange in flight at the end counts as a drop, which penalises a server in
#    proportion to its latency. Its "Rate" line divides by the wait too, so the rates are
#    computed here from the packet counts over SECS.
#  - Receive buffers: one perfdhcp socket stands for every client, and a burst of replies (Duet
#    sends the ACKs of a group commit together) overflows the system default buffer
#    (net.core.rmem_default, 208 KiB here, not settable per namespace), where real clients each
#    have their own. A small LD_PRELOAD shim built with cc sets SO_RCVBUFFORCE of CLIENT_RCVBUF
#    on perfdhcp's UDP sockets. The overflows that remain are counted per run (`cl-ovf`, from
#    the client namespace's /proc/net/snmp): perfdhcp counts them as drops, though the server
#    sent them.
#
# The pass rule: a run passes when both exchanges drop under 1 % (perfdhcp counts an answer
# later than 1 s as a drop) and no exchange took over 1 s.
#
# The search: from START the offered rate doubles while runs pass, then bisects between the
# highest passing (lo) and the lowest failing (hi) offered rate until hi - lo <= TOLERANCE % of
# lo, at most RUNS runs. When START itself fails the search halves down to 100/s. A run where
# perfdhcp sent under 95 % of the offered rate ("client") is judged by the same rule, but no
# higher rate is tried: the client, not the server, was the limit (CLIENT_LIMITED names such
# searches). The sustained rate is the highest achieved rate of a passing run. Each run's row
# shows the 1-minute load average before it (the machine may be shared) and `cpu-us`, the CPU
# time (user + system, all threads) of the server processes per achieved exchange, a measure of
# cost that background load disturbs much less than rates.
#
# A search runs whole (perf_search) or one run at a time (perf_search_begin, perf_search_step,
# perf_search_end), so that a script can interleave the runs of two servers and both see the
# same background load.

CLIENT_ENV=()
CLIENT_LIMITED=
declare -gA SEARCH_RATE SEARCH_LO SEARCH_HI SEARCH_RUNS SEARCH_BEST SEARCH_NS SEARCH_IF SEARCH_PIDS

# perf_client_setup: builds the receive-buffer shim unless CLIENT_RCVBUF is 0 (the command
# prefix into CLIENT_ENV), then prints the client, its buffers, the cores and the load.
perf_client_setup() {
    CLIENT_ENV=()
    if [ "$CLIENT_RCVBUF" != 0 ]; then
        command -v cc >/dev/null || { echo "cc not installed (or set CLIENT_RCVBUF=0)" >&2; exit 2; }
        cat > "$WORK/rcvbuf.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>
/* socket(2), then SO_RCVBUFFORCE of RCVBUF_BYTES on every IPv4 UDP socket. */
int socket(int domain, int type, int protocol) {
    static int (*real)(int, int, int);
    if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
    int fd = real(domain, type, protocol);
    const char *size = getenv("RCVBUF_BYTES");
    if (fd >= 0 && size && domain == AF_INET && (type & 0xf) == SOCK_DGRAM) {
        int bytes = atoi(size);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
    }
    return fd;
}
C
        cc -shared -fPIC -O2 -o "$WORK/rcvbuf.so" "$WORK/rcvbuf.c" -ldl
        CLIENT_ENV=(env LD_PRELOAD="$WORK/rcvbuf.so" RCVBUF_BYTES="$CLIENT_RCVBUF")
    fi
    echo "perfdhcp $(perfdhcp -v), receive buffers: $([ "$CLIENT_RCVBUF" = 0 ] && echo "system default" ||
        echo "$CLIENT_RCVBUF bytes"); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# perf_client_overflows NS: UDP datagrams namespace NS dropped because a socket's receive
# buffer was full.
perf_client_overflows() {
    ip netns exec "$1" awk '/^Udp:/ { getline; print $6 }' /proc/net/snmp
}

# perf_measure NS IFACE RATE: one perfdhcp run from namespace NS out of IFACE at offered rate
# RATE; prints "sent/s achieved/s drops-DO% drops-RA% max-delay-ms client-overflows".
perf_measure() {
    local ns=$1 iface=$2 rate=$3 out sent acked max ovf
    local -a drops
    ovf=$(perf_client_overflows "$ns")
    out=$(ip netns exec "$ns" "${CLIENT_ENV[@]}" perfdhcp -4 -l "$iface" -r "$rate" -R 4000000 \
        -p "$SECS" -W 1000000 2>&1 || true)
    ovf=$(($(perf_client_overflows "$ns") - ovf))
    # Sent DISCOVERs (first "sent packets") and received ACKs (second "received packets").
    sent=$(echo "$out" | sed -n 's/^sent packets: *\([0-9]*\).*/\1/p' | head -1)
    acked=$(echo "$out" | sed -n 's/^received packets: *\([0-9]*\).*/\1/p' | sed -n 2p)
    # Drop ratios of DISCOVER/OFFER and REQUEST/ACK; one missing (no answer at all) is 100 %.
    read -r -a drops <<<"$(echo "$out" | sed -n 's/^drops ratio: *\([0-9.]*\) %.*/\1/p' | tr '\n' ' ')"
    max=$(echo "$out" | sed -n 's/^max delay: *\([0-9.]*\) ms.*/\1/p' | sort -g | tail -1)
    awk -v s="${sent:-0}" -v a="${acked:-0}" -v t="$SECS" 'BEGIN { printf "%.0f %.0f ", s / t, a / t }'
    echo "${drops[0]:-100} ${drops[1]:-100} ${max:-99999} $ovf"
}

# perf_cpu_ticks PID...: CPU time (user + system, all threads) the processes have used, in
# clock ticks (0 for one that is gone).
perf_cpu_ticks() {
    local p total=0
    for p in "$@"; do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# perf_passes DROPS-DO% DROPS-RA% MAX-DELAY-MS: whether a run passes (see the header).
perf_passes() {
    awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(a < 1 && b < 1 && m < 1000) }'
}

# perf_row FIRST-COLUMN COLUMNS...: one row of a search's table.
perf_row() {
    printf '%-13s %8s %7s %9s %9s %9s %12s %7s %7s %6s %s\n' "$@"
}

# perf_header FIRST-COLUMN: the column names of a search's table.
perf_header() {
    perf_row "$1" offered sent/s achieved drop-DO% drop-RA% max-delay-ms cl-ovf cpu-us load1 run
}

# perf_search_begin NAME NS IFACE PID...: a search called NAME of the servers PID..., with
# perfdhcp in namespace NS on IFACE.
perf_search_begin() {
    local name=$1
    SEARCH_NS[$name]=$2
    SEARCH_IF[$name]=$3
    shift 3
    SEARCH_PIDS[$name]="$*"
    SEARCH_RATE[$name]=$START
    SEARCH_LO[$name]=0
    SEARCH_HI[$name]=0
    SEARCH_RUNS[$name]=0
    SEARCH_BEST[$name]=0
}

# perf_search_step NAME LABEL: the next run of search NAME, printed as a row whose first column
# is LABEL; returns 1 when the search is over.
perf_search_step() {
    local name=$1 label=$2 rate=${SEARCH_RATE[$1]} lo=${SEARCH_LO[$1]} hi=${SEARCH_HI[$1]}
    local load sent achieved d1 d2 max ovf verdict t0 cpu pids
    read -r -a pids <<<"${SEARCH_PIDS[$name]}"
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(perf_cpu_ticks "${pids[@]}")
    read -r sent achieved d1 d2 max ovf <<<"$(perf_measure "${SEARCH_NS[$name]}" "${SEARCH_IF[$name]}" "$rate")"
    cpu=$(awk -v a="$t0" -v b="$(perf_cpu_ticks "${pids[@]}")" -v r="$achieved" -v s="$SECS" \
        -v hz="$(getconf CLK_TCK)" \
        'BEGIN { if (r > 0) printf "%.0f", (b - a) / hz * 1e6 / (r * s); else print "-" }')
    SEARCH_RUNS[$name]=$((SEARCH_RUNS[$name] + 1))
    if perf_passes "$d1" "$d2" "$max"; then
        verdict=pass
        lo=$rate
        SEARCH_BEST[$name]=$(awk -v x="$achieved" -v y="${SEARCH_BEST[$name]}" 'BEGIN { print (x > y) ? x : y }')
    else
        verdict=fail
        hi=$rate
    fi
    if awk -v s="$sent" -v r="$rate" 'BEGIN { exit !(s < 0.95 * r) }'; then
        verdict="$verdict, client"
        hi=$rate
        CLIENT_LIMITED="$CLIENT_LIMITED $name"
    fi
    SEARCH_LO[$name]=$lo
    SEARCH_HI[$name]=$hi
    perf_row "$label" "$rate" "$sent" "$achieved" "$d1" "$d2" "$max" "$ovf" "$cpu" "$load" "$verdict"
    [ "$verdict" != "pass, client" ] || return 1
    if [ "$hi" = 0 ]; then
        rate=$((rate * 2))
        [ "$rate" -le "$CEILING" ] || return 1
    elif [ "$lo" = 0 ]; then
        [ "$hi" -gt 100 ] || return 1
        rate=$((hi / 2))
    else
        ! awk -v l="$lo" -v h="$hi" -v t="$TOLERANCE" 'BEGIN { exit !((h - l) * 100 <= l * t) }' ||
            return 1
        rate=$(((lo + hi) / 2))
    fi
    SEARCH_RATE[$name]=$rate
    [ "${SEARCH_RUNS[$name]}" -lt "$RUNS" ]
}

# perf_search_end NAME LABEL: prints the outcome of search NAME (first column LABEL) and puts
# its sustained rate into SUSTAINED.
perf_search_end() {
    SUSTAINED=${SEARCH_BEST[$1]}
    printf '%-13s sustained %.0f /s after %d runs\n' "$2" "$SUSTAINED" "${SEARCH_RUNS[$1]}"
}

# perf_search NAME NS IFACE PID...: a whole search under a header of its own; the sustained
# rate into SUSTAINED.
perf_search() {
    local name=$1
    perf_search_begin "$@"
    perf_header "$name"
    while perf_search_step "$name" ""; do :; done
    perf_search_end "$name" ""
}

# perf_summary_title: the line above a summary of sustained rates.
perf_summary_title() {
    echo "Sustained DORA rate (< 1% drops, no exchange over 1 s; search to within ${TOLERANCE}%), ${SECS}s per run:"
}

# perf_limited_note NAME: the note after search NAME's sustained rate when the client was the
# limit; nothing otherwise.
perf_limited_note() {
    case " $CLIENT_LIMITED " in *" $1 "*) echo "  (the search reached the rate perfdhcp can send)" ;; esac
}
