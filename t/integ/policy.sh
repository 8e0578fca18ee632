# Placement policies in sandboxed modules: glpeer loads one (refusing one
# that does not verify, with the verifier's reason), placement follows it,
# and a policy that faults or loops is switched off while the agent goes
# on placing jobs with the built-in policy.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
CC="$BUILD/glsfi-cc --home $BUILD/sfi/home -O2"
SRC=$(dirname "$0")/../policy
for p in avoid_b fault loop; do
    $CC -o "$T/$p.sfi" "$SRC/$p.c" || fail "glsfi-cc $p.c"
done
$CC --no-sandbox -o "$T/unsafe.sfi" "$SRC/fault.c" || fail "glsfi-cc --no-sandbox"

# a module that does not verify is refused, and the agent does not start
mkdir -p "$T/x"
# (exit 1 with the reason, as glpeer(8) says; 124 means timeout had to stop
# an agent that kept running)
rc=0
out=$(timeout 20 "$GLPEER" join "$T/cluster.conf" --name x --bind "tcp://127.0.0.1:$(port_of 9)" \
      --runtime-dir "$T/x/run" --state-dir "$T/x/state" --set "sched/policy=$T/unsafe.sfi" 2>&1) \
    || rc=$?
[ "$rc" = 124 ] && fail "glpeer kept running with an unsafe policy: $out"
[ "$rc" = 1 ] || fail "glpeer with an unsafe policy: exit $rc, expected 1: $out"
echo "$out" | grep -q "sched/policy $T/unsafe.sfi: offset 0x[0-9a-f]*: .*: " \
    || fail "no verifier reason: $out"
say "an unsafe policy is refused: $(echo "$out" | tail -1 | cut -c1-160)"

start_peer a 0 --set "sched/policy=$T/avoid_b.sfi"
start_peer b 1 --set "sched/policy=$T/fault.sfi"
start_peer c 2 --set "sched/policy=$T/loop.sfi" --set sched/policy_budget=50ms
start_peer d 3
wait_until 30 all_alive 4 a b c d || fail "no convergence"
has_estimates() { [ "$(status "$1" | jq '[.members[] | select(.resources != null)] | length')" = 4 ]; }
for n in a b c; do wait_until 10 has_estimates "$n" || fail "estimates missing at $n"; done
grep -q "placement policy $T/avoid_b.sfi loaded" "$T/a.log" || fail "a did not load its policy"

# a's policy never picks b
for i in 1 2 3 4 5 6; do
    "$GLX" -v --runtime-dir "$T/a/run" true 2>> "$T/a.glx" || fail "glx from a failed: $(cat "$T/a.glx")"
done
grep -q "runs on b as" "$T/a.glx" && fail "a's policy was ignored: $(cat "$T/a.glx")"
grep -q "b: policy: scored 0" "$T/a.glx" || fail "glx -v does not say why b was passed over: $(cat "$T/a.glx")"
[ "$(status a | jq -r '.policy.active')" = true ] || fail "a's policy is off"
[ "$(status a | jq -r '.policy.calls')" -gt 0 ] || fail "a's policy was not called"
grep -q "policy says: avoid_b: first call" "$T/a.log" || fail "the policy's host call did not log"
say "a's policy steers its jobs away from b"

# b's policy faults: switched off, and b places jobs all the same
for i in 1 2 3; do
    "$GLX" --runtime-dir "$T/b/run" true || fail "glx from b failed after its policy faulted"
done
grep -q "placement policy $T/fault.sfi switched off: SIG" "$T/b.log" || fail "no log line for the fault: $(tail -3 "$T/b.log")"
[ "$(status b | jq -r '.policy.active')" = false ] || fail "b's faulting policy is still on"
say "a faulting policy is switched off: $(grep -o 'switched off: [^;]*' "$T/b.log" | head -1)"

# c's policy loops: stopped by its budget, switched off, c goes on
start=$(date +%s%N)
"$GLX" --runtime-dir "$T/c/run" true || fail "glx from c failed after its policy looped"
grep -q "placement policy $T/loop.sfi switched off: it ran over its time budget" "$T/c.log" \
    || fail "no log line for the loop: $(tail -3 "$T/c.log")"
"$GLX" --runtime-dir "$T/c/run" true || fail "glx from c failed"
status c > /dev/null || fail "c does not answer"
say "a looping policy is stopped after its budget and switched off ($(elapsed_since "$start") s for the job)"
