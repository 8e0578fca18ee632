# A killed peer restarted with the same name and state directory rejoins
# with a higher generation, and is never shadowed by its dead record.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
names=(a b c d)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 4 "${names[@]}" || fail "no convergence"
gen1=$(status a | jq '.members[] | select(.name == "d") | .generation')
kill -9 "${PID[d]}"
wait_until 60 everyone_sees dead d a b c || fail "d not declared dead"
sleep 1.1   # generations count seconds at least
start_peer d 3
wait_until 30 all_alive 4 "${names[@]}" || fail "d did not rejoin"
for o in a b c; do
    gen2=$(status "$o" | jq '.members[] | select(.name == "d") | .generation')
    [ "$gen2" -gt "$gen1" ] || fail "$o sees d at generation $gen2, not above $gen1"
done
say "d rejoined with generation $gen2 > $gen1"
sleep 5
all_alive 4 "${names[@]}" || fail "d was shadowed after rejoining"

# A machine reinstalled in a hurry: d loses its state directory (and so
# its key) and comes back before its old life was declared dead.  It must
# bury that life itself, and be taken with its new key.
kill -9 "${PID[d]}"
rm -rf "$T/d/state"
sleep 1.1
start_peer d 3
new_gen() {
    for o in a b c; do
        g=$(status "$o" | jq '.members[] | select(.name == "d" and .state == "alive") | .generation')
        [ -n "$g" ] && [ "$g" -gt "$gen2" ] || return 1
    done
}
# Left alone, the old life would be declared dead only once the new
# process stops answering its pings, if ever; buried, it goes at once.
start=$(date +%s%N)
wait_until 8 new_gen || fail "d with a new key was not taken within 8 s: $(status a | jq -c '.members[] | select(.name == "d")')"
say "d with a new key taken everywhere in $(elapsed_since "$start") s"

# A job's host restarted before gossip could find it dead: its new
# generation tells the job's home that the job died with the old one, and
# glx says the node was lost (122) instead of waiting for it.
"$BUILD/glx" --runtime-dir "$T/a/run" -w d sleep 107 < /dev/null > "$T/lost.out" 2>&1 &
glx_pid=$!
wait_until 10 pgrep -f "^sleep 107" > /dev/null || fail "the job did not start on d"
kill -9 "${PID[d]}"; pkill -9 -f "^sleep 107" || true
sleep 1.1   # generations count seconds at least
start_peer d 3
rc=0; wait_until 20 sh -c "! kill -0 $glx_pid 2> /dev/null" || fail "glx still waits for a job of d's old life: $(cat "$T/lost.out")"
wait "$glx_pid" || rc=$?
[ "$rc" = 122 ] || fail "glx exited $rc, not 122 (node lost): $(cat "$T/lost.out")"
say "a job of d's old life ended as lost once d came back: $(head -1 "$T/lost.out")"
