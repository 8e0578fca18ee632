# glsim: how an update's reach is counted.  A node paused while the update
# spreads takes it when it resumes, and the time it was stopped is not
# counted; a node that can hear nothing and then crashes is not waited for
# until its crash.  Both updates must show the gossip's own time (under a
# second on a quiet network of 20), not the pause (10 s) nor the wait for
# the crash (10 s); the trace shows when the paused node took it.
# sanitizers: yes
set -euo pipefail
GLSIM=${GLSIM:-${BUILD:-$(dirname "$0")/../../build}/glsim}
T=$(mktemp -d /tmp/glsim-t.XXXXXX)
trap 'rm -rf "$T"' EXIT
cat > "$T/reach.scen" << 'EOF'
nodes 20
seed 3
duration 120s
warmup 20s
at 40s pause 5 10s
at 41s update 3
at 59s linkloss 0-19 6 1
at 60s update 4
at 70s crash 6
EOF
"$GLSIM" --scenario "$T/reach.scen" --json --no-host --trace "$T/trace" > "$T/report" ||
    { echo "FAIL: glsim exited $? (1: an invariant broke)"; exit 1; }
fail() { echo "FAIL: $*"; cat "$T/report"; exit 1; }
# The update of n3 reached n5 only once n5 resumed at 50 s ...
line=$(grep " n5 update n3 " "$T/trace" | head -n 1 || true)
[ -n "$line" ] || fail "n5 never took n3's update"
awk -v l="$line" 'BEGIN { split (l, f, " "); exit !(f[1] >= 50) }' || fail "n5 took it while paused: $line"
# ... and counts less than a second for it, as do the levels.
took=$(sed 's/.* took=\([0-9.]*\) .*/\1/' <<< "$line")
awk -v t="$took" 'BEGIN { exit !(t < 1) }' || fail "n5's time counts its pause: $line"
for u in 0 1; do
    all=$(jq ".updates[$u][\"100_s\"]" "$T/report")
    nodes=$(jq ".updates[$u].nodes" "$T/report")
    awk -v t="$all" 'BEGIN { exit !(t >= 0 && t < 1) }' || fail "update $u: 100 % at $all s"
    [ "$nodes" = $((20 - u)) ] || fail "update $u counted $nodes nodes"
done
# n6 heard nothing after 59 s and crashed at 70 s: never reached.
! grep -q " n6 update n4 " "$T/trace" || fail "n6 took n4's update through a dead link"
echo "ok: a paused node's time ($took s) and a crashed node's wait are not counted"
