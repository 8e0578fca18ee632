# A peer frozen (SIGSTOP) for less than the suspicion timeout is not
# declared dead; one frozen much longer is, and comes back when thawed.
. "$(dirname "$0")/lib.sh"
names=(a b c d e)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 5 "${names[@]}" || fail "no convergence"
sleep 2
kill -STOP "${PID[c]}"
sleep 3
kill -CONT "${PID[c]}"
sleep 6
for o in a b d e; do
    grep -q "dead: c " "$T/$o.log" && fail "$o declared c dead after a 3 s pause"
done
all_alive 5 "${names[@]}" || fail "not all alive after the short pause"
say "3 s pause: nobody declared c dead"

kill -STOP "${PID[c]}"
wait_until 60 everyone_sees dead c a b d e || fail "c frozen for long was not declared dead"
say "long pause: c declared dead"
kill -CONT "${PID[c]}"
wait_until 30 all_alive 5 "${names[@]}" || fail "c did not come back after thawing"
inc=$(status a | jq '.members[] | select(.name == "c") | .incarnation')
[ "$inc" -gt 0 ] || fail "c came back without refuting (incarnation $inc)"
say "c refuted its death (incarnation $inc) and is alive everywhere"
