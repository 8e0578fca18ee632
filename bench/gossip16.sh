#!/usr/bin/env bash
# bench/gossip16.sh -- the membership figures of a 16-peer loopback cluster
# with default gossip timing, measured with real glpeer processes:
#   - time from the last start until every peer sees all 16 alive;
#   - time from SIGKILL until every survivor marks the peer dead
#     (TRIALS trials, median; the killed peer is restarted between trials);
#   - time from an owner "typing" on one node until every peer shows it busy;
#   - gossip traffic per node in bytes per second at steady state;
#   - false deaths during STEADY seconds of steady state.
#
#   bench/gossip16.sh [--steady SECONDS] [--trials N] [--peers N] [--rings K]
#
# --rings K runs the peers with gossip/probe_rings = K (4 by default: each
# peer probes its successors on 4 rings; 0: every member in turn, SWIM's
# round robin), so that the two probe orders can be run side by side.
#
# memberlist (HashiCorp's Go library, under Serf, Consul and Nomad) is the
# reference; nothing comparable runs here without Go, so the report ends
# with what memberlist and Serf publish, side by side with our figures,
# each with its source.  They publish formulas and a model, not
# measurements of a 16-node LAN, and the report says which is which:
#   - Serf's convergence simulator, serf.io/docs/internals/simulator.html
#     (hashicorp/serf, website/source/javascripts/simulator.js): after x
#     rounds of gossip_interval a fraction 1 / (1 + (n + 1) e^(-fanout x))
#     of n nodes has an update (no loss, no failures); the page shows it
#     up to 99.99 %, and an "estimated max bandwidth" of 1400-byte packets
#     to `fanout` nodes every round, counted twice (sent and received);
#   - memberlist's DefaultLANConfig (hashicorp/memberlist, config.go):
#     probe every 1 s, timeout 0.5 s, gossip to 3 nodes every 200 ms,
#     SuspicionMult 4, SuspicionMaxTimeoutMult 6; the suspicion timeout
#     (util.go, suspicionTimeout) is 4 * max(1, log10 n) probe intervals,
#     up to 6 times that without confirmations;
#   - Lifeguard (Dadgar, Phillips, Currey, "Lifeguard: Local Health
#     Awareness for More Accurate Failure Detection", 2018, and HashiCorp's
#     announcement, "Making Gossip More Robust with Lifeguard"): false
#     positives cut by more than 50 times against SWIM; no absolute rate for
#     a cluster like this one.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
GLPEER=${GLPEER:-$top/build/glpeer}
STEADY=300; TRIALS=5; N=16; RINGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --steady) STEADY=$2; shift 2 ;;
        --trials) TRIALS=$2; shift 2 ;;
        --peers) N=$2; shift 2 ;;
        --rings) RINGS=(--set "gossip/probe_rings=$2"); shift 2 ;;
        *) echo "usage: $0 [--steady S] [--trials N] [--peers N] [--rings K]" >&2; exit 2 ;;
    esac
done
export GLPEER BUILD="$top/build"
. "$top/t/integ/lib.sh"
touch -d '1 hour ago' "$T"/tty-p{0..63} 2>/dev/null || true
sed -i 's/owner_idle_min = 0/owner_idle_min = 60s/' "$T/cluster.conf"

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
names=(); for i in $(seq 0 $((N - 1))); do names+=("p$i"); done
start_one() {  # activity file per peer, so one owner can "type" alone
    start_peer "p$1" "$1" --set "idle/activity=$T/tty-p$1" "${RINGS[@]+"${RINGS[@]}"}"
}

for i in $(seq 0 $((N - 1))); do start_one "$i"; done
last=$(now)
wait_until 60 all_alive "$N" "${names[@]}" || fail "no convergence"
full=$(secs "$last" "$(now)")
echo "full view at all $N peers: $full s after the last start"

# resource-estimate change: p5's owner types
sleep 3
wait_until 20 bash -c "for o in ${names[*]}; do [ \"\$(\"$GLPEER\" status --json --runtime-dir $T/\$o/run | jq -r '.members[] | select(.name == \"p5\") | .resources.state')\" = idle ] || exit 1; done" || fail "p5 not idle everywhere"
touch -a "$T/tty-p5"; t0=$(now)
wait_until 20 bash -c "for o in ${names[*]}; do [ \"\$(\"$GLPEER\" status --json --runtime-dir $T/\$o/run | jq -r '.members[] | select(.name == \"p5\") | .resources.state')\" = busy ] || exit 1; done" || fail "p5 never busy everywhere"
spread=$(secs "$t0" "$(now)")
echo "estimate change (owner typed on p5) visible at every peer: $spread s"

# traffic at steady state
sleep 5
b0=$(for o in "${names[@]}"; do status "$o" | jq '.counters.bytes_out'; done | paste -sd+ | bc)
sleep 60
b1=$(for o in "${names[@]}"; do status "$o" | jq '.counters.bytes_out'; done | paste -sd+ | bc)
traffic=$(( (b1 - b0) / 60 / N ))
echo "gossip traffic: $traffic bytes/s sent per node (same received), 60 s window"

# crash detection trials
times=()
for t in $(seq 1 "$TRIALS"); do
    victim=p$(( (t * 3) % N )); [ "$victim" = p5 ] && victim=p7
    survivors=(); for n in "${names[@]}"; do [ "$n" != "$victim" ] && survivors+=("$n"); done
    kill -9 "${PID[$victim]}"; t0=$(now)
    wait_until 90 everyone_sees dead "$victim" "${survivors[@]}" || fail "$victim not declared dead"
    d=$(secs "$t0" "$(now)"); times+=("$d")
    echo "trial $t: $victim dead at all $((N - 1)) survivors after $d s"
    start_one "${victim#p}"
    wait_until 60 all_alive "$N" "${names[@]}" || fail "$victim did not rejoin"
    sleep 2
done
detect=$(printf '%s\n' "${times[@]}" | median)
echo "crash detection, median of $TRIALS: $detect s"

# steady state: no false deaths
mark=$(for o in "${names[@]}"; do grep -c "dead: " "$T/$o.log" || true; done | paste -sd+ | bc)
sleep "$STEADY"
after=$(for o in "${names[@]}"; do grep -c "dead: " "$T/$o.log" || true; done | paste -sd+ | bc)
susp=$(for o in "${names[@]}"; do status "$o" | jq '.gossip.suspicions'; done | paste -sd+ | bc)
false_deaths=$((after - mark))
echo "steady state ${STEADY} s: $false_deaths false deaths; $susp suspicions raised in the whole run"

# Side by side with what memberlist and Serf publish for N nodes with
# their LAN defaults (sources in the header): computed here from their
# formulas and model, not measured.
ref=$(awk -v n="$N" 'BEGIN {
    fanout = 3; interval = 0.2                        # GossipNodes, GossipInterval
    for (x = 0; 1 / (1 + (n + 1) * exp (-fanout * x)) < 0.999; x++) ;
    for (y = x; 1 / (1 + (n + 1) * exp (-fanout * y)) < 0.9999; y++) ;
    scale = log (n) / log (10); if (scale < 1) scale = 1
    printf "%.1f s to 99.9 %%, %.1f s to 99.99 %% (Serf simulator model, no loss, no failures)\n", x * interval, y * interval
    printf "suspicion timeout %.1f s with confirmations, %.1f s without, after a failed probe (memberlist util.go, config.go)\n", 4 * scale, 24 * scale
    printf "at most %.0f bytes/s sent and received, %.1f kbps (Serf simulator: 1400-byte packets to 3 nodes every 200 ms)\n", 1400 * fanout / interval * 2, 1400 * fanout / interval * 2 * 8 / 1024
}')
model=$(sed -n 1p <<< "$ref"); timeout=$(sed -n 2p <<< "$ref"); bandwidth=$(sed -n 3p <<< "$ref")
none="no measured figure found published"
echo
echo "| $N peers, default timing | glunix (measured here) | memberlist / Serf (published) |"
echo "|---|---|---|"
echo "| full view, after the last start | $full s | $none; $model |"
echo "| estimate change seen by all | $spread s | $none; $model |"
echo "| SIGKILL seen by all, median of $TRIALS | $detect s | $none; $timeout |"
echo "| traffic per node | $traffic bytes/s sent (as many received) | $bandwidth |"
echo "| false deaths in ${STEADY} s | $false_deaths | no absolute figure found published; Lifeguard cut them by more than 50x against SWIM |"
