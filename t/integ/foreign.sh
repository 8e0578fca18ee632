# Peers with another key, or another cluster name, are never admitted,
# and what they send is counted as dropped (forged / cluster).
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
start_peer a 0
start_peer b 1
wait_until 30 all_alive 2 a b || fail "no convergence"

"$GLPEER" keygen -o "$T/other.key"
sed 's/cluster.key/other.key/' "$T/cluster.conf" > "$T/otherkey.conf"
sed 's/name = "test"/name = "other"/' "$T/cluster.conf" > "$T/othername.conf"
for x in otherkey othername; do
    mkdir -p "$T/$x"
    idx=$([ $x = otherkey ] && echo 5 || echo 6)
    "$GLPEER" join "$T/$x.conf" --name "$x" --bind "tcp://127.0.0.1:$(port_of $idx)" \
        --runtime-dir "$T/$x/run" --state-dir "$T/$x/state" 2>> "$T/$x.log" &
    PID[$x]=$!
    disown "$!"
done
dropped() { [ "$(counter a forged)" -gt 0 ] && [ "$(counter a cluster)" -gt 0 ]; }
wait_until 15 dropped || fail "a did not count the intruders' packets: $(status a | jq -c .counters.dropped)"
sleep 3
for o in a b; do
    for x in otherkey othername; do
        [ -z "$(state $o $x)" ] || fail "$o admitted $x ($(state $o $x))"
    done
done
[ "$(count otherkey alive)" = 1 ] || fail "the intruder with another key learned members"
[ "$(count othername alive)" = 1 ] || fail "the intruder from another cluster learned members"
say "intruders kept out; a dropped $(status a | jq -c .counters.dropped)"
