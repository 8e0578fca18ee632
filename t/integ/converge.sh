# 8 peers on loopback find each other through one seed, and every peer
# receives every other peer's signed resource estimate.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
names=(p0 p1 p2 p3 p4 p5 p6 p7)
start=$(date +%s%N)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 8 "${names[@]}" || fail "not all 8 peers see 8 alive members"
say "8 peers converged in $(elapsed_since "$start") s"

has_all_estimates() {
    for o in "${names[@]}"; do
        n=$(status "$o" | jq '[.members[] | select(.resources != null and .resources.cores > 0)] | length')
        [ "$n" = 8 ] || return 1
    done
}
# the rings' flood brings them within seconds; one it missed waits for a
# push-pull (every 30 s, cluster.conf(5)), which repairs it
missing() {
    for o in "${names[@]}"; do
        echo "$o lacks: $(status "$o" | jq -r '[.members[] | select(.resources == null or .resources.cores == 0) | .name] | join(" ")')"
    done
}
start=$(date +%s%N)
wait_until 35 has_all_estimates || fail "resource estimates did not reach everyone: $(missing)"
took=$(elapsed_since "$start")
say "every estimate everywhere $took s after convergence"
[ "${took%.*}" -lt 15 ] || say "NOTE: an estimate took a push-pull to arrive: look at the flood ($took s)"
status p3 | jq -e '.members[] | select(.name == "p6") | .resources
    | (.mem_total_kb > 0) and (.age_ms < 67000) and (.state == "idle")' >/dev/null \
    || fail "p3's view of p6's estimate is wrong: $(status p3 | jq -c '.members[] | select(.name=="p6")')"
"$GLPEER" status --runtime-dir "$T/p0/run" | grep -q "^p7 " || fail "text status lacks p7"
say "estimates everywhere; nothing dropped: $(status p0 | jq -c .counters.dropped)"
[ "$(status p0 | jq '[.counters.dropped[]] | add')" = 0 ] || fail "p0 dropped messages in a clean cluster"
