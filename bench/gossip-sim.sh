#!/usr/bin/env bash
# bench/gossip-sim.sh -- the gossip figures of issue 3, from glsim(1): the
# real gossip/ code at 64, 256 and 1,000 nodes with default LAN timing.
#
#   1. N = 64 / 256 / 1000, 5 % loss, nodes started within 5 s and within
#      60 s: time for a fresh update to reach 99.9 % of the nodes (median,
#      p99, max; targets 3 / 3.5 / 4 s, and a p99 of at most 3 s), crash
#      detection by all live nodes (median 12 / 14 / 16 s, p99 50 / 65 /
#      80 s), gossip traffic per node (10 / 25 / 100 KB/s), false deaths
#      (target 0), and the CPU time of each run;
#   2. one simulated hour at N = 1000, 1 % loss, 1,000 random 5 s pauses:
#      no healthy node declared dead, in under 5 minutes of wall time;
#   3. 10,000 nodes, briefly: that it runs, and at what cost.
#
#   bench/gossip-sim.sh [--quick] [--skip-hour] [--skip-10k] [--seed S]
#                       [--start-spread T]
#   bench/gossip-sim.sh --orders [--seeds K]
#   bench/gossip-sim.sh --estimates [--seeds K] [--before GLSIM]
#
# --orders runs, instead, the two probe orders side by side (issue 14):
# the successors on 4 rings (gossip/probe_rings = 4, the default) and
# every member in turn (probe_rings = 0, SWIM's round robin), at 24, 256
# and 1,000 nodes, 1 % and 5 % loss, 12 crashes restarted after 150 s and
# 40 updates a run, seeds 1..K (3): crash detection (median of the runs'
# medians, worst p99, worst), false deaths, 99.9 % reach, links set up
# per node per second, and invariants (about 12 minutes of CPU).
#
# --estimates runs, instead, the estimates' own figures (issue 14): at 24,
# 256 and 1,000 nodes, idle (no loss) and at 1 % loss, 40 fresh estimates
# a run, seeds 1..K (3): 99.9 % reach of an estimate (median of the runs'
# medians / worst p99), every estimate reaching every node, messages and
# KB a node sends a second (all; GOSSIP alone), false deaths and
# invariants.  It checks, and exits 1 when one fails: no estimate that
# never reached a node, no false death, no invariant broken, 99.9 % reach
# p99 within 10 s, and, idle, a node's messages a second at 1,000 nodes
# within 1.25 times those at 24 (the rings' flood of estimates: a node's
# packets do not grow with N).  --before GLSIM runs the same with another
# glsim binary (the tree before) beside each row, unchecked.  About 5
# minutes of CPU, twice that with --before.
#
# Both start spreads are run unless --start-spread names one.  Each node
# refreshes its estimate every minute less or more 10 %, drawn anew each
# time, as glpeer does, so nodes started together refresh together for
# their first several minutes, then drift apart.
#
# The tables print as Markdown, as bench/README.md shows them.  CPU times
# are glsim's own (user and system, host.cpu_s); wall times depend on what
# else the machine runs, so the load average is printed at the start and
# the end.  --quick runs shorter simulations (a few minutes in all).  Each
# run's full report is kept in $OUT (default /tmp/glsim-bench).  Needs jq.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
GLSIM=${GLSIM:-$top/build/glsim}
OUT=${OUT:-/tmp/glsim-bench}
quick=0; hour=1; big=1; seed=1; spreads="5s 60s"; orders=0; seeds=3; estimates=0; before=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1; shift ;;
        --skip-hour) hour=0; shift ;;
        --skip-10k) big=0; shift ;;
        --seed) seed=$2; shift 2 ;;
        --start-spread) spreads=$2; shift 2 ;;
        --orders) orders=1; shift ;;
        --estimates) estimates=1; shift ;;
        --before) before=$(realpath "$2"); shift 2 ;;
        --seeds) seeds=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
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
load() { cut -d' ' -f1-3 /proc/loadavg; }

commit=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
echo "glsim figures, seed $seed, $(date -u '+%F %H:%M UTC'), $(nproc) CPUs, tree $commit"
echo "load average at the start: $(load)"
echo

if [ $orders = 1 ]; then
    printf 'gossip\n    probe_rings = 4\n' > "$OUT/rings4.conf"
    printf 'gossip\n    probe_rings = 0\n' > "$OUT/rings0.conf"
    echo "| N | loss | probe order | crash detection, s: median / p99 / max | false deaths | 99.9 % reach, s: median / p99 | links set up per node per s | invariants violated | CPU, s |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for n in 24 256 1000; do
        dur=10m; [ $n = 1000 ] && dur=6m
        for loss in 0.01 0.05; do
            for order in rings4 rings0; do
                files=()
                for s in $(seq 1 "$seeds"); do
                    f="$OUT/order-$n-$loss-$s-$order.json"
                    echo "+ glsim --nodes $n --loss $loss --duration $dur --updates 40 --crashes 12 --restart-after 150s --seed $s --conf $order.conf --json" >&2
                    "$GLSIM" --nodes $n --loss $loss --duration $dur --updates 40 --crashes 12 \
                        --restart-after 150s --seed "$s" --conf "$OUT/$order.conf" --json > "$f" || [ $? = 1 ]
                    files+=("$f")
                done
                jq -rs --arg n "$n" --arg loss "$loss" --arg order "$([ $order = rings4 ] && echo "4 rings" || echo "round robin")" '
                    def med(a): (a | sort) as $s | $s[(($s | length) - 1) / 2 | floor];
                    def r1: . * 10 | round / 10;
                    def r2: . * 100 | round / 100;
                    "| \($n) | \($loss | tonumber * 100) % | \($order) | \(med(map(.crash_detection.median_s)) | r1) / \(map(.crash_detection.p99_s) | max | r1) / \(map(.crash_detection.max_s) | max | r1) | \(map(.false_deaths) | add) | \(med(map(.spread["99.9"].median_s)) | r2) / \(map(.spread["99.9"].p99_s) | max | r2) | \(map(.links_opened_per_node_s) | add / length | r2) | \(map(.invariants.violations) | add) | \(map(.host.cpu_s) | add | r1) |"' "${files[@]}"
            done
        done
    done
    echo
    echo "(glsim --nodes N --loss L --duration 10m (6m at 1000) --updates 40 --crashes 12 --restart-after 150s --seed 1..$seeds --conf <gossip/probe_rings = 4 or 0>; $(date -u '+%F %H:%M UTC'), tree $commit, load average now $(load))"
    exit 0
fi

if [ $estimates = 1 ]; then
    echo "| N | loss | glsim | 99.9 % reach of an estimate, s: median / p99 | estimates never reaching a node | msgs/s sent per node (GOSSIP) | KB/s sent per node | false deaths | invariants violated | CPU, s |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    failed=0
    declare -A idle_rate
    bins=("this:$GLSIM")
    [ -n "$before" ] && bins+=("before:$before")
    for n in 24 256 1000; do
        dur=5m; [ $n = 1000 ] && dur=4m
        for loss in 0 0.01; do
            for b in "${bins[@]}"; do
                label=${b%%:*}; bin=${b#*:}
                files=()
                for s in $(seq 1 "$seeds"); do
                    f="$OUT/est-$n-$loss-$s-$label.json"
                    echo "+ $bin --nodes $n --loss $loss --duration $dur --updates 40 --seed $s --json" >&2
                    "$bin" --nodes $n --loss $loss --duration $dur --updates 40 --seed "$s" --json > "$f" || [ $? = 1 ]
                    files+=("$f")
                done
                jq -rs --arg n "$n" --arg loss "$loss" --arg which "$label" '
                    def med(a): (a | sort) as $s | $s[(($s | length) - 1) / 2 | floor];
                    def r1: . * 10 | round / 10;
                    def r2: . * 100 | round / 100;
                    "| \($n) | \($loss | tonumber * 100) % | \($which) | \(med(map(.spread["99.9"].median_s)) | r2) / \(map(.spread["99.9"].p99_s) | max | r2) | \(map(.spread["100"].never) | add) | \(med(map(.msgs_per_node_s)) | r2) (\(map(.by_type.gossip.msgs_per_node_s) | if any(. == null) then "?" else (med(.) | r2) end)) | \(med(map(.bytes_per_node_s / 1000)) | r2) | \(map(.false_deaths) | add) | \(map(.invariants.violations) | add) | \(map(.host.cpu_s) | add | r1) |"' "${files[@]}"
                [ "$label" = this ] || continue
                bad=$(jq -rs 'map(select(.spread["100"].never > 0 or .false_deaths > 0 or .invariants.violations > 0 or .spread["99.9"].p99_s > 10)) | length' "${files[@]}")
                [ "$bad" = 0 ] || { echo "CHECK FAILED: $n nodes, loss $loss: $bad run(s) with an estimate never reaching a node, a false death, a broken invariant or 99.9 % reach p99 over 10 s" >&2; failed=1; }
                [ "$loss" = 0 ] && idle_rate[$n]=$(jq -rs 'map(.msgs_per_node_s) | sort | .[(length - 1) / 2 | floor]' "${files[@]}")
            done
        done
    done
    echo
    echo "(glsim --nodes N --loss L --duration 5m (4m at 1000) --updates 40 --seed 1..$seeds; $(date -u '+%F %H:%M UTC'), tree $commit, load average now $(load))"
    if awk -v a="${idle_rate[24]}" -v b="${idle_rate[1000]}" 'BEGIN { exit !(b <= 1.25 * a) }'; then
        echo "idle: ${idle_rate[24]} msgs/s per node at 24 nodes, ${idle_rate[1000]} at 1,000: within 1.25 times"
    else
        echo "CHECK FAILED: idle, ${idle_rate[1000]} msgs/s per node at 1,000 nodes against ${idle_rate[24]} at 24 (more than 1.25 times)" >&2
        failed=1
    fi
    exit $failed
fi

cpu_total=0
rows=""
for spread in $spreads; do
    for n in 64 256 1000; do
        case $n in
            64)   dur=20m; t_up=3;   t_med=12; t_p99=50; t_kb=10 ;;
            256)  dur=20m; t_up=3.5; t_med=14; t_p99=65; t_kb=25 ;;
            1000) dur=12m; t_up=4;   t_med=16; t_p99=80; t_kb=100 ;;
        esac
        [ $quick = 1 ] && dur=$([ $n = 1000 ] && echo 5m || echo 8m)
        name=lan$n-$spread
        run "$name" --nodes $n --loss 0.05 --duration $dur --start-spread "$spread" --updates 40 \
            --crashes 20 --restart-after 150s
        cpu=$(fig "$name" '.host.cpu_s')
        cpu_total=$(awk -v a="$cpu_total" -v b="$cpu" 'BEGIN { print a + b }')
        rows+="| $n | $spread"
        rows+=" | $(fig "$name" '"\(.spread["99.9"] | "\(.median_s) / \(.p99_s) / \(.max_s)")"') ($t_up)"
        rows+=" | $(fig "$name" '"\(.crash_detection | "\(.median_s) / \(.p99_s) / \(.max_s)")"') ($t_med / $t_p99)"
        rows+=" | $(fig "$name" '.bytes_per_node_s / 1000 * 10 | round / 10') ($t_kb)"
        rows+=" | $(fig "$name" '"\(.false_deaths)"')"
        rows+=" | $(fig "$name" '.host.cpu_s * 10 | round / 10') s |"$'\n'
    done
done
echo "N = 64 / 256 / 1000, 5 % loss, 40 updates, 20 crashes restarted after 150 s"
echo "(glsim --nodes N --loss 0.05 --duration $([ $quick = 1 ] && echo '8m (5m at 1000)' || echo '20m (12m at 1000)') --start-spread T --updates 40 --crashes 20 --restart-after 150s --seed $seed):"
echo
echo "| N | nodes start within | 99.9 % reach, s, median / p99 / max (target) | crash detection, s, median / p99 / max (target) | KB/s per node (target) | false deaths | CPU |"
echo "|---|---|---|---|---|---|---|"
printf '%s' "$rows"
echo
echo "CPU of these runs: $(awk -v c="$cpu_total" 'BEGIN { printf "%.1f", c }') s"

if [ $hour = 1 ]; then
    dur=1h; pauses=1000
    [ $quick = 1 ] && { dur=10m; pauses=170; }
    echo
    run hour --nodes 1000 --loss 0.01 --duration $dur --pauses $pauses --pause-len 5s --updates 20
    echo "N=1000, $dur, 1 % loss, $pauses pauses of 5 s (glsim --nodes 1000 --loss 0.01 --duration $dur --pauses $pauses --pause-len 5s --updates 20 --seed $seed):"
    fig hour '"  false deaths \(.false_deaths) (target 0; \(.pause_deaths) more of nodes paused over 5 s), invariants violated \(.invariants.violations), healthy check armed \(.invariants.healthy_armed)"'
    fig hour '"  99.9 % reach, s: median \(.spread["99.9"].median_s), p99 \(.spread["99.9"].p99_s), max \(.spread["99.9"].max_s); \(.bytes_per_node_s / 1000 * 10 | round / 10) KB/s per node"'
    fig hour '"  wall \(.host.wall_s) s, CPU \(.host.cpu_s) s (target < 300 s for the hour), heap \(.host.heap_per_node_bytes / 1024 | round) KB per node, max RSS \(.host.max_rss_kb / 1024 | round) MB"'
fi

if [ $big = 1 ]; then
    echo
    # Every node holds the whole membership (64 bytes of its own per
    # member; names and records are shared), so memory grows as N squared:
    # cap it below the machine's RAM rather than let the kernel decide.
    cap=$(awk '/MemTotal/ { print int($2 * 0.8) }' /proc/meminfo)
    echo "+ glsim --nodes 10000 --duration 10s --start-spread 5s --warmup 5s (memory capped at ${cap} KB)" >&2
    rc=0
    (ulimit -v "$cap"; "$GLSIM" --nodes 10000 --duration 10s --start-spread 5s --warmup 5s \
        --seed "$seed" --json > "$OUT/big.json" 2> "$OUT/big.err") || rc=$?
    if [ $rc -le 1 ] && [ -s "$OUT/big.json" ]; then
        echo "N=10000, 10 s simulated (glsim --nodes 10000 --duration 10s --start-spread 5s --warmup 5s --seed $seed):"
        fig big '"  wall \(.host.wall_s) s, CPU \(.host.cpu_s) s, heap \(.host.heap_per_node_bytes / 1024 | round) KB per node, max RSS \(.host.max_rss_kb / 1024 | round) MB"'
    else
        echo "N=10000: did not run within ${cap} KB: $(tail -n 1 "$OUT/big.err")"
    fi
fi
echo
echo "load average at the end: $(load)"
echo "full reports: $OUT/*.json"
