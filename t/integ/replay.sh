# A captured packet replayed is dropped as a replay (or, later, as stale);
# a packet with one flipped byte is dropped as forged.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLPKT="$BUILD/t/integ/glpkt"
cap="tcp://127.0.0.1:$(port_of 9)"
# b's only seed is the capture tool: it catches b's first real packet.
"$GLPKT" capture "$cap" "$T/pkt" 15 > "$T/glpkt.log" 2>&1 &
cap_pid=$!
sleep 0.3
start_peer b 1 --seed "$cap" --set cluster/clock_window=3s
wait $cap_pid || fail "nothing captured: $(cat "$T/glpkt.log")"
start_peer a 0 --set cluster/clock_window=3s
a="tcp://127.0.0.1:$(port_of 0)"

# a has never heard from b: the first copy is genuine and accepted...
"$GLPKT" send "$a" "$T/pkt"
sleep 0.5
[ "$(counter a replay)" = 0 ] || fail "the first copy was taken as a replay"
# ...the second is a replay.
"$GLPKT" send "$a" "$T/pkt"
wait_until 5 bash -c "[ \$(\"$GLPEER\" status --json --runtime-dir $T/a/run | jq .counters.dropped.replay) -ge 1 ]" \
    || fail "replayed packet not dropped as replay: $(status a | jq -c .counters.dropped)"
say "replay dropped"
# one flipped byte, at several offsets in the header and the ciphertext
size=$(stat -c %s "$T/pkt")
for off in 3 20 $((size / 2)) $((size - 1)); do
    "$GLPKT" send "$a" "$T/pkt" --flip "$off"
done
sleep 1
bad=$(status a | jq '.counters.dropped | .forged + .malformed + .cluster + .version')
[ "$bad" -ge 4 ] || fail "flipped packets not all dropped: $(status a | jq -c .counters.dropped)"
say "4 flipped packets dropped: $(status a | jq -c .counters.dropped)"
# replayed later, outside the 3 s clock window: stale
sleep 4
before=$(counter a stale)
"$GLPKT" send "$a" "$T/pkt"
wait_until 5 bash -c "[ \$(\"$GLPEER\" status --json --runtime-dir $T/a/run | jq .counters.dropped.stale) -gt $before ]" \
    || fail "an old packet was not dropped as stale: $(status a | jq -c .counters.dropped)"
say "late replay dropped as stale"
