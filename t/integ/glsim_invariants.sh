# glsim: the regression scenarios of t/sim/scenarios/ hold every invariant,
# and a partition that never heals is reported (and minimized) as one.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
GLSIM=${GLSIM:-${BUILD:-$top/build}/glsim}
fails=0
for f in "$top"/t/sim/scenarios/*.scen; do
    name=$(basename "$f" .scen)
    out=$("$GLSIM" --scenario "$f" 2>&1); rc=$?
    if [ "$name" = never-heal ]; then
        if [ $rc = 1 ] && grep -q "VIOLATION converge seed=2 " <<< "$out"; then
            echo "ok: $name fails as it should"
        else
            echo "FAIL: $name: expected a convergence violation (rc $rc)"; echo "$out"; fails=1
        fi
    elif [ $rc = 0 ] && grep -q "convergence checked" <<< "$out"; then
        echo "ok: $name"
    else
        echo "FAIL: $name (rc $rc)"; echo "$out"; fails=1
    fi
done
# The minimizer keeps what breaks it: the partition, nothing else.
T=$(mktemp -d /tmp/glsim-t.XXXXXX)
trap 'rm -rf "$T"' EXIT
{ cat "$top/t/sim/scenarios/never-heal.scen"; echo "at 30s crash 5"; echo "at 25s pause 7 3s"
  echo "at 35s loss 0.02"; } > "$T/noisy.scen"
out=$("$GLSIM" --scenario "$T/noisy.scen" --minimize | sed -n '/^# a minimized/,$p')
grep -q "^at 20s partition 0-3$" <<< "$out" || { echo "FAIL: minimized: $out"; fails=1; }
[ "$(grep -c '^at ' <<< "$out")" = 1 ] || { echo "FAIL: not minimal: $out"; fails=1; }
[ $fails = 0 ] && echo "ok: minimized to the partition alone"
exit $fails
