# Each peer's idle-resource estimate reaches the others: an owner typing
# (an activity file touched) makes its machine busy in everyone's view.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
touch -d '1 hour ago' "$T/tty-a" "$T/tty-b"
sed -i 's/owner_idle_min = 0/owner_idle_min = 60s/' "$T/cluster.conf"
# each machine's owner has a terminal of its own
start_peer a 0 --set "idle/activity=$T/tty-a"
start_peer b 1 --set "idle/activity=$T/tty-b"
wait_until 30 all_alive 2 a b || fail "no convergence"
res_state() { status "$1" | jq -r --arg n "$2" '.members[] | select(.name == $n) | .resources.state'; }
wait_until 10 bash -c "[ \"\$(\"$GLPEER\" status --json --runtime-dir $T/a/run | jq -r '.members[] | select(.name == \"b\") | .resources.state')\" = idle ]" \
    || fail "b is not idle in a's view: $(res_state a b)"
idle_s=$(status a | jq '.members[] | select(.name == "b") | .resources.owner_idle_s')
[ "$idle_s" -ge 3500 ] || fail "b's owner idle time is $idle_s s, expected about an hour"
say "b idle, owner away ${idle_s} s"
touch -a "$T/tty-b"     # the owner of b types
wait_until 10 bash -c "[ \"\$(\"$GLPEER\" status --json --runtime-dir $T/a/run | jq -r '.members[] | select(.name == \"b\") | .resources.state')\" = busy ]" \
    || fail "b did not turn busy in a's view: $(res_state a b)"
say "b busy in a's view after its owner typed"
[ "$(res_state b a)" = idle ] || fail "a should still be idle"
