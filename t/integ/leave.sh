# glpeer leave (and SIGTERM) make a peer leave gracefully: every other
# peer shows it as left, quickly, and the agent exits.
. "$(dirname "$0")/lib.sh"
names=(a b c d)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 4 "${names[@]}" || fail "no convergence"
start=$(date +%s%N)
"$GLPEER" leave --runtime-dir "$T/b/run" | grep -q leaving || fail "leave did not answer"
wait_until 10 everyone_sees left b a c d || fail "b's leave did not spread: $(state a b) $(state c b) $(state d b)"
say "leave seen by all in $(elapsed_since "$start") s"
wait_until 5 bash -c "! kill -0 ${PID[b]} 2>/dev/null" || fail "b's agent did not exit"
kill -TERM "${PID[c]}"
wait_until 10 everyone_sees left c a d || fail "SIGTERM did not make c leave"
sleep 4
[ "$(state a b)" = left ] || fail "b turned from left to $(state a b)"
