# Nodes restarted while every seed is down find each other again through
# the peers they remember (state_dir/peers), not only through the seeds.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
start_peer a 0          # the only seed (lib.sh's cluster.conf)
start_peer b 1
start_peer c 2
wait_until 20 all_alive 3 a b c || fail "no convergence"
# (the file is rewritten at most every 5 s: b may come in the second one)
wait_until 15 grep -q "$(port_of 1)" "$T/c/state/peers" || fail "c does not remember b: $(cat "$T/c/state/peers" 2>&1)"
wait_until 15 grep -q "$(port_of 2)" "$T/b/state/peers" || fail "b does not remember c: $(cat "$T/b/state/peers" 2>&1)"
say "c remembers $(grep -c tcp "$T/c/state/peers") peers"

# everyone goes down; b and c come back, the seed a does not
kill -9 "${PID[a]}" "${PID[b]}" "${PID[c]}"
unset 'PID[a]'
sleep 0.5
# FORGET=1 removes the memory first: then this test must fail (they stay apart)
${FORGET:+rm -f "$T/b/state/peers" "$T/c/state/peers"}
start=$(date +%s%N)
start_peer b 1
start_peer c 2
sees() { [ "$("$GLPEER" status --json --runtime-dir "$T/$1/run" | jq -r ".members[] | select(.name==\"$2\") | .state")" = alive ]; }
wait_until 15 sees c b || fail "c did not find b with the seed down: $(status c | jq -c '[.members[] | {name, state}]')"
wait_until 15 sees b c || fail "b did not find c with the seed down"
say "b and c, restarted with their seed down, found each other in $(elapsed_since "$start") s"
