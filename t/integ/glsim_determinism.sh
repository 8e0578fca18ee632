# glsim: the same seed and scenario give the same run, byte for byte (every
# membership event of every node, and the report); another seed does not.
set -euo pipefail
GLSIM=${GLSIM:-${BUILD:-$(dirname "$0")/../../build}/glsim}
T=$(mktemp -d /tmp/glsim-t.XXXXXX)
trap 'rm -rf "$T"' EXIT
args=(--nodes 48 --duration 150s --warmup 20s --loss 0.03 --crashes 3 --restart-after 40s
      --pauses 5 --updates 4 --json --no-host)
# glsim exits 1 when an invariant broke: these runs must hold them all
# (t/integ/glsim_invariants.sh looks at runs that must not).
sim() { "$GLSIM" "$@" || { echo "FAIL: glsim $* exited $? (1: an invariant broke)"; exit 1; }; }
for run in a b; do
    sim "${args[@]}" --seed 42 --trace "$T/trace.$run" > "$T/report.$run"
done
sim "${args[@]}" --seed 43 --trace "$T/trace.c" > "$T/report.c"
[ -s "$T/trace.a" ] || { echo "FAIL: empty trace"; exit 1; }
cmp "$T/trace.a" "$T/trace.b" || { echo "FAIL: traces differ for one seed"; exit 1; }
cmp "$T/report.a" "$T/report.b" || { echo "FAIL: reports differ for one seed"; exit 1; }
if cmp -s "$T/trace.a" "$T/trace.c"; then echo "FAIL: seeds 42 and 43 gave the same run"; exit 1; fi
# The drawn scenario reads back to the same run.
"$GLSIM" "${args[@]}" --seed 42 --print-scenario > "$T/scen"
sim --scenario "$T/scen" --json --no-host --trace "$T/trace.d" > "$T/report.d"
cmp "$T/trace.a" "$T/trace.d" || { echo "FAIL: a printed scenario does not replay its run"; exit 1; }
echo "ok: $(wc -l < "$T/trace.a") events, identical across runs"
