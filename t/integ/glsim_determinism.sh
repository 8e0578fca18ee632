# glsim: the same seed and scenario give the same run, byte for byte (every
# membership event of every node, and the report); another seed does not.
set -euo pipefail
GLSIM=${GLSIM:-${BUILD:-$(dirname "$0")/../../build}/glsim}
T=$(mktemp -d /tmp/glsim-t.XXXXXX)
trap 'rm -rf "$T"' EXIT
args=(--nodes 48 --duration 150s --warmup 20s --loss 0.03 --crashes 3 --restart-after 40s
      --pauses 5 --updates 4 --json --no-host)
for run in a b; do
    "$GLSIM" "${args[@]}" --seed 42 --trace "$T/trace.$run" > "$T/report.$run" || [ $? = 1 ]
done
"$GLSIM" "${args[@]}" --seed 43 --trace "$T/trace.c" > "$T/report.c" || [ $? = 1 ]
[ -s "$T/trace.a" ] || { echo "FAIL: empty trace"; exit 1; }
cmp "$T/trace.a" "$T/trace.b" || { echo "FAIL: traces differ for one seed"; exit 1; }
cmp "$T/report.a" "$T/report.b" || { echo "FAIL: reports differ for one seed"; exit 1; }
if cmp -s "$T/trace.a" "$T/trace.c"; then echo "FAIL: seeds 42 and 43 gave the same run"; exit 1; fi
# The drawn scenario reads back to the same run.
"$GLSIM" "${args[@]}" --seed 42 --print-scenario > "$T/scen"
"$GLSIM" --scenario "$T/scen" --json --no-host --trace "$T/trace.d" > "$T/report.d" || [ $? = 1 ]
cmp "$T/trace.a" "$T/trace.d" || { echo "FAIL: a printed scenario does not replay its run"; exit 1; }
echo "ok: $(wc -l < "$T/trace.a") events, identical across runs"
