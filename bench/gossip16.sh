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
#   bench/gossip16.sh [--steady SECONDS] [--trials N] [--peers N]
#
# memberlist (the usual Go library for this) is the reference; its
# published LAN-profile figures are quoted in the report, since nothing
# comparable runs here without Go.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
GLPEER=${GLPEER:-$top/build/glpeer}
STEADY=300; TRIALS=5; N=16
while [ $# -gt 0 ]; do
    case "$1" in
        --steady) STEADY=$2; shift 2 ;;
        --trials) TRIALS=$2; shift 2 ;;
        --peers) N=$2; shift 2 ;;
        *) echo "usage: $0 [--steady S] [--trials N] [--peers N]" >&2; exit 2 ;;
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
    start_peer "p$1" "$1" --set "idle/activity=$T/tty-p$1"
}

for i in $(seq 0 $((N - 1))); do start_one "$i"; done
last=$(now)
wait_until 60 all_alive "$N" "${names[@]}" || fail "no convergence"
echo "full view at all $N peers: $(secs "$last" "$(now)") s after the last start"

# resource-estimate change: p5's owner types
sleep 3
wait_until 20 bash -c "for o in ${names[*]}; do [ \"\$(\"$GLPEER\" status --json --runtime-dir $T/\$o/run | jq -r '.members[] | select(.name == \"p5\") | .resources.state')\" = idle ] || exit 1; done" || fail "p5 not idle everywhere"
touch -a "$T/tty-p5"; t0=$(now)
wait_until 20 bash -c "for o in ${names[*]}; do [ \"\$(\"$GLPEER\" status --json --runtime-dir $T/\$o/run | jq -r '.members[] | select(.name == \"p5\") | .resources.state')\" = busy ] || exit 1; done" || fail "p5 never busy everywhere"
echo "estimate change (owner typed on p5) visible at every peer: $(secs "$t0" "$(now)") s"

# traffic at steady state
sleep 5
b0=$(for o in "${names[@]}"; do status "$o" | jq '.counters.bytes_out'; done | paste -sd+ | bc)
sleep 60
b1=$(for o in "${names[@]}"; do status "$o" | jq '.counters.bytes_out'; done | paste -sd+ | bc)
echo "gossip traffic: $(( (b1 - b0) / 60 / N )) bytes/s sent per node (same received), 60 s window"

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
echo "crash detection, median of $TRIALS: $(printf '%s\n' "${times[@]}" | median) s"

# steady state: no false deaths
mark=$(for o in "${names[@]}"; do grep -c "dead: " "$T/$o.log" || true; done | paste -sd+ | bc)
sleep "$STEADY"
after=$(for o in "${names[@]}"; do grep -c "dead: " "$T/$o.log" || true; done | paste -sd+ | bc)
susp=$(for o in "${names[@]}"; do status "$o" | jq '.gossip.suspicions'; done | paste -sd+ | bc)
echo "steady state ${STEADY} s: $((after - mark)) false deaths; $susp suspicions raised in the whole run"
