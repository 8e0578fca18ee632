#!/usr/bin/env bash
# cred.sh -- job credentials with real peers: a member that holds the
# cluster key sends b a RUN in h's name (sealed as h, which it can do);
# b runs it only with a credential signed by h's own node key: not when
# there is none, nor when another key signed it, nor for an altered user.
# The last, signed with h's key read from its state directory (what only
# h holds), runs: the refusals before it are the credential's doing.
# (Sealing as h with newer generations cuts the real h off from b, as
# glpeer(8) says such a member can: so nothing of h's own is tried after.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
FORGE="$BUILD/t/integ/glforge"
start_peer h 0
start_peer b 1
wait_until 20 all_alive 2 h b || fail "h and b did not meet"
gen=$(status h | jq -r .generation)
ran() { test -e "$T/ran.$1"; }

n=0
for how in unsigned random; do
    n=$((n + 1))
    "$FORGE" "tcp://127.0.0.1:$(port_of 1)" "$T/cluster.key" test h $((gen + n)) "$(id -un)" \
        $how -- touch "$T/ran.$how" > /dev/null || fail "glforge $how"
done
n=$((n + 1))
"$FORGE" "tcp://127.0.0.1:$(port_of 1)" "$T/cluster.key" test h $((gen + n)) "$(id -un)" \
    "$T/h/state/node.key" -- touch "$T/ran.signed" > /dev/null || fail "glforge signed"
wait_until 10 ran signed || fail "b did not run the RUN signed with h's key: $(tail -5 "$T/b.log")"
for how in unsigned random; do ran $how && fail "b ran a RUN in h's name, $how"; done
say "b ran only the RUN that h's node key signed"

say "ok"
