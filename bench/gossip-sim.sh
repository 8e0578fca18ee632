#!/usr/bin/env bash
# bench/gossip-sim.sh -- the gossip figures of issue 3, from glsim(1): the
# real gossip/ code at 64, 256 and 1,000 nodes with default LAN timing.
#
#   1. N = 64 / 256 / 1000, 5 % loss: time for a fresh update to reach
#      99.9 % of the nodes (targets 3 / 3.5 / 4 s), crash detection by all
#      live nodes (median 12 / 14 / 16 s, p99 50 / 65 / 80 s), gossip
#      traffic per node (10 / 25 / 100 KB/s);
#   2. one simulated hour at N = 1000, 1 % loss, 1,000 random 5 s pauses:
#      no healthy node declared dead, in under 5 minutes of wall time;
#   3. 10,000 nodes, briefly: that it runs, and at what cost.
#
#   bench/gossip-sim.sh [--quick] [--skip-hour] [--skip-10k] [--seed S]
#                       [--start-spread T]
#
# Nodes start within --start-spread (glsim's 5 s by default).  Each node
# refreshes its estimate every minute less or more 10 %, drawn anew each
# time, as glpeer does, so nodes started together drift apart instead of
# refreshing in step (before that jitter, 1,000 nodes started within
# seconds flooded every queue with estimates once a minute, and the
# figures needed --start-spread 60s).
#
# --quick runs shorter simulations (a few minutes of wall time in all).
# Each run's full report is kept in $OUT (default /tmp/glsim-bench).
# Needs jq.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
GLSIM=${GLSIM:-$top/build/glsim}
OUT=${OUT:-/tmp/glsim-bench}
quick=0; hour=1; big=1; seed=1; spread=5s
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1; shift ;;
        --skip-hour) hour=0; shift ;;
        --skip-10k) big=0; shift ;;
        --seed) seed=$2; shift 2 ;;
        --start-spread) spread=$2; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
command -v jq >/dev/null || { echo "bench/gossip-sim.sh needs jq" >&2; exit 2; }
mkdir -p "$OUT"

# run NAME ARGS...: one glsim run, its JSON report in $OUT/NAME.json
run() {
    local name=$1; shift
    echo "+ glsim $* --seed $seed --json" >&2
    "$GLSIM" "$@" --seed "$seed" --json > "$OUT/$name.json" || [ $? = 1 ]
}

fig() { jq -r "$2" "$OUT/$1.json"; }

echo "glsim figures, seed $seed, nodes started within $spread ($(date -u +%F))"
echo
printf '%-6s %-22s %-26s %-26s %-18s %s\n' N "99.9% reach (s)" "crash detection (s)" \
       "  target med/p99" "traffic KB/s" "speed"
printf '%-6s %-22s %-26s %-26s %-18s %s\n' "" "med / max (target)" "median / p99 / max" "" \
       "(target)" "sim s/wall s"
for n in 64 256 1000; do
    case $n in
        64)   dur=20m; t_up=3;   t_med=12; t_p99=50; t_kb=10 ;;
        256)  dur=20m; t_up=3.5; t_med=14; t_p99=65; t_kb=25 ;;
        1000) dur=12m; t_up=4;   t_med=16; t_p99=80; t_kb=100 ;;
    esac
    [ $quick = 1 ] && dur=$([ $n = 1000 ] && echo 5m || echo 8m)
    run "lan$n" --nodes $n --loss 0.05 --duration $dur --start-spread $spread --updates 40 \
        --crashes 20 --restart-after 150s
    printf '%-6s %-22s %-26s %-26s %-18s %s\n' $n \
        "$(fig lan$n '"\(.spread["99.9"].median_s) / \(.spread["99.9"].max_s)"') ($t_up)" \
        "$(fig lan$n '"\(.crash_detection.median_s) / \(.crash_detection.p99_s) / \(.crash_detection.max_s)"')" \
        "  $t_med / $t_p99" \
        "$(fig lan$n '.bytes_per_node_s / 1000 * 100 | round / 100') ($t_kb)" \
        "$(fig lan$n '.host.sim_s_per_wall_s')"
done

if [ $hour = 1 ]; then
    dur=1h; pauses=1000
    [ $quick = 1 ] && { dur=10m; pauses=170; }
    echo
    run hour --nodes 1000 --loss 0.01 --duration $dur --pauses $pauses --pause-len 5s --updates 20
    echo "N=1000, $dur, 1 % loss, $pauses pauses of 5 s:"
    fig hour '"  false deaths \(.false_deaths) (target 0; \(.pause_deaths) more of nodes paused over 5 s), invariants violated \(.invariants.violations), healthy check armed \(.invariants.healthy_armed)"'
    fig hour '"  wall \(.host.wall_s) s (target < 300 s for the hour), \(.host.sim_s_per_wall_s) simulated s per wall s, heap \(.host.heap_per_node_bytes / 1024 | round) KB per node"'
fi

if [ $big = 1 ]; then
    echo
    # Every node holds the whole membership (64 bytes of its own per
    # member; names and records are shared), so memory grows as N squared:
    # cap it below the machine's RAM rather than let the kernel decide.
    cap=$(awk '/MemTotal/ { print int($2 * 0.8) }' /proc/meminfo)
    echo "+ glsim --nodes 10000 --duration 10s --start-spread 5s --warmup 5s (memory capped at ${cap} KB)" >&2
    if (ulimit -v "$cap"; "$GLSIM" --nodes 10000 --duration 10s --start-spread 5s --warmup 5s \
            --seed "$seed" --json > "$OUT/big.json" 2> "$OUT/big.err"); then
        echo "N=10000, 10 s simulated:"
        fig big '"  wall \(.host.wall_s) s, heap \(.host.heap_per_node_bytes / 1024 | round) KB per node, max RSS \(.host.max_rss_kb / 1024 | round) MB"'
    else
        echo "N=10000: did not run within ${cap} KB: $(tail -n 1 "$OUT/big.err")"
    fi
fi
echo
echo "full reports: $OUT/*.json"
