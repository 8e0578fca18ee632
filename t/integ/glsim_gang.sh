# glsim: the gang plane (sched/gang.c, sched/matrix.c on every simulated
# node) holds its invariants under a leader's crash and restart, a
# leader's long pause, partitions that heal and churn (t/sim/scenarios/
# gangs/), each scenario showing what it is there for; a partition that
# never heals breaks the one-matrix check; and a gang run is the same
# from run to run for one seed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
GLSIM=${GLSIM:-${BUILD:-$top/build}/glsim}
dir=$top/t/sim/scenarios/gangs
fails=0
fail() { echo "FAIL: $*"; fails=1; }

# scenario, then what its report must show (extended regular expressions)
expect() {
    local name=$1; shift
    local out rc
    out=$("$GLSIM" --scenario "$dir/$name.scen" --no-host 2>&1); rc=$?
    if [ $rc != 0 ]; then
        fail "$name (rc $rc: 1 is a violated invariant)"; echo "$out"; return
    fi
    for want in "$@"; do
        grep -Eq -- "$want" <<< "$out" || { fail "$name: no '$want' in"; echo "$out"; return; }
    done
    echo "ok: $name"
}
# two leaders crash (one restarts at once): others take over
expect leader-crash "^gangs: 4 started" "crashed \(2\): +median [0-9.]+ s" "restarted \(1\)"
# a leader stops longer than any suspicion: a new one, and the old is fenced
expect leader-pause "^gangs: 3 started" "fenced by a higher term [1-9]"
# partitions heal: one matrix again
expect partition "^gangs: 4 started" "one matrix after a heal \(2\)"
# churn: gangs come and go, nodes crash, restart and pause
expect churn "^gangs: [0-9]{2,} started" "crashed \([1-9]"

# the check can fail: each side of a partition that never heals keeps a
# matrix of its own
out=$("$GLSIM" --scenario "$dir/never-heal.scen" --no-host 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "VIOLATION gang-matrix seed=25 " <<< "$out"; then
    echo "ok: never-heal fails as it should"
else
    fail "never-heal: expected a gang-matrix violation (rc $rc)"; echo "$out"
fi

# the same seed gives the same run, gang events and all; another does not
T=$(mktemp -d /tmp/glsim-gang.XXXXXX)
trap 'rm -rf "$T"' EXIT
for run in a b; do
    "$GLSIM" --scenario "$dir/partition.scen" --json --no-host --trace "$T/trace.$run" > "$T/report.$run"
done
"$GLSIM" --scenario "$dir/partition.scen" --seed 24 --json --no-host --trace "$T/trace.c" > "$T/report.c"
if ! grep -q " gang g[0-9]* elected " "$T/trace.a"; then
    fail "no gang events in the trace"
elif ! cmp -s "$T/trace.a" "$T/trace.b" || ! cmp -s "$T/report.a" "$T/report.b"; then
    fail "two runs of one seed differ"
elif cmp -s "$T/trace.a" "$T/trace.c"; then
    fail "seeds 23 and 24 gave the same run"
else
    echo "ok: $(grep -c ' gang ' "$T/trace.a") gang events, identical across runs"
fi
# drawn gangs print as events that replay the run
short=(--scenario "$dir/churn.scen" --duration 100s)
"$GLSIM" "${short[@]}" --json --no-host --trace "$T/trace.e" > "$T/report.e"
"$GLSIM" "${short[@]}" --print-scenario > "$T/scen"
grep -q "^at [0-9.]*[mu]*s gang g0 " "$T/scen" || fail "printed scenario without its gangs"
"$GLSIM" --scenario "$T/scen" --json --no-host --trace "$T/trace.d" > "$T/report.d"
if cmp -s "$T/trace.e" "$T/trace.d"; then
    echo "ok: drawn gangs replay from the printed scenario"
else
    fail "a printed scenario does not replay its run"
fi
exit $fails
