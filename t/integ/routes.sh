# Answers go back on the connection the question came on (cmd/links.h):
# an agent that others reach first (the seed, a) answers, probes and
# gossips down their links and opens none of its own.  A job's messages still go on links of
# the sender's own, held for the job; and a peer that restarts (its
# connections reset) is reached again on a new link, with no false death.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
names=(a b c)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 3 "${names[@]}" || fail "no convergence"
sleep 6 # several probe rounds each way
cost() { status "$1" | jq -r ".cost.$2"; }
[ "$(cost a links_opened)" = 0 ] || fail "a opened links of its own: $(status a | jq -c .cost)"
[ "$(cost a routed)" -gt 10 ] || fail "a sent little back on routes: $(status a | jq -c .cost)"
# b and c reach a on their own links, and each other on one of theirs
# (two if they happened to open at the same moment)
links=$(($(cost b links) + $(cost c links)))
[ "$links" -ge 3 ] && [ "$links" -le 4 ] || fail "b and c hold $links links: $(status b | jq -c .cost) $(status c | jq -c .cost)"
say "a answered and probed down the others' links, opening none (b, c: $links links)"

# a job from a on b: its messages go on a's own link, held for the job
export GLUNIX_RUNTIME_DIR="$T/a/run"
"$GLX" -w b sh -c 'i=0; while [ $i -lt 10 ]; do i=$((i + 1)); echo "line $i"; sleep 0.2; done' > "$T/slow" &
g=$!
held=0
for _ in $(seq 10); do
    [ "$(cost a links_held)" -ge 1 ] && held=1
    sleep 0.2
done
wait $g || fail "the job failed: $(tail -n 3 "$T/slow")"
[ "$held" = 1 ] || fail "a never held a link for its job: $(status a | jq -c .cost)"
[ "$(wc -l < "$T/slow")" = 10 ] && [ "$(tail -n 1 "$T/slow")" = "line 10" ] || fail "the job's output: $(cat "$T/slow")"
say "the job's messages went on a link of a's own, held"

# c restarts at once (SIGKILL, same address): the others' routes and
# links to it were reset; they reach it again, and nobody dies falsely
# (its death waited for first: a process killed but not yet gone still
# holds its runtime directory, and the new agent refuses to share it)
kill -9 "${PID[c]}"
wait_until 10 sh -c "! kill -0 ${PID[c]} 2> /dev/null" || fail "c survived its SIGKILL"
start_peer c 2
wait_until 30 all_alive 3 "${names[@]}" || fail "c did not come back: $(state a c) $(state b c)"
sleep 5
for n in a b; do
    [ "$(state "$n" c)" = alive ] || fail "$n sees c $(state "$n" c)"
done
for n in a b; do
    [ "$(status "$n" | jq .counters.gossip.deaths)" = 0 ] || fail "$n declared a death: $(grep -h ' dead: ' "$T"/*.log)"
done
say "c restarted and was reached again, no false death"
