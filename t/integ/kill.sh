# A SIGKILLed peer is declared dead by every other peer.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
names=(a b c d e)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 5 "${names[@]}" || fail "no convergence"
kill -9 "${PID[c]}"
start=$(date +%s%N)
wait_until 60 everyone_sees dead c a b d e || fail "c not declared dead by all: $(for o in a b d e; do echo -n "$o:$(state $o c) "; done)"
say "c declared dead by all 4 others in $(elapsed_since "$start") s"
all_alive 4 a b d e || fail "a live peer is not alive everywhere"
