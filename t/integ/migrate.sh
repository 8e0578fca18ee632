# Checkpoints, restarts and moves between real peers: every job finds its
# host's checkpoint socket; what cannot be checkpointed is refused with
# its reason and runs on, its glx unbroken; a restart needs a restorer.
# The moves themselves need the shim's checkpoint and glrestore: without
# them the test says so and ends skipped after the checks above.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
names=(a b c)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 3 "${names[@]}" || fail "no convergence"
has_estimates() { [ "$(status a | jq '[.members[] | select(.resources != null)] | length')" = 3 ]; }
wait_until 10 has_estimates || fail "estimates missing"
glx() { "$GLX" --runtime-dir "$T/a/run" "$@"; }
export GLUNIX_RUNTIME_DIR="$T/a/run"

# the job's environment names its host's socket, which is there
sock=$(glx -w b sh -c 'test -S "$GLUNIX_CKPT_SOCK" && echo "$GLUNIX_CKPT_SOCK"')
[ "$sock" = "$T/b/run/ckpt.sock" ] || fail "GLUNIX_CKPT_SOCK on b: '$sock'"
say "every job finds its host's checkpoint socket ($sock)"

# a job whose process has no checkpoint handler: refused, and it runs on
(sleep 3; printf 'two\n') | "$GLX" -w b --no-shim sh -c 'while read l; do echo "got $l"; done' \
    > "$T/noshim.out" 2>&1 & g=$!
wait_until 5 sh -c "\"$GLPEER\" ps --runtime-dir \"$T/a/run\" | grep -q 'while read'" \
    || fail "the job did not start"
gpid=$("$GLPEER" ps --runtime-dir "$T/a/run" | awk '/while read/ { print $1 }')
out=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1); rc=$?
[ $rc != 0 ] || fail "migrate of a job without the shim succeeded: $out"
echo "$out" | grep -q "no checkpoint handler" || fail "migrate refused without its reason: $out"
out=$("$GLPEER" checkpoint "$gpid" "$T/img" --runtime-dir "$T/c/run" 2>&1); rc=$?
[ $rc != 0 ] && [ ! -e "$T/img" ] || fail "checkpoint of a job without the shim: rc $rc, $out"
echo "$out" | grep -q "no checkpoint handler" || fail "checkpoint refused without its reason: $out"
"$GLPEER" ps --runtime-dir "$T/a/run" | grep "$gpid" | grep -q " b " \
    || fail "the refused job is not on b any more: $("$GLPEER" ps --runtime-dir "$T/a/run")"
wait "$g"; rc=$?
[ $rc = 0 ] && [ "$(cat "$T/noshim.out")" = "got two" ] || fail "the refused job's glx: rc $rc, $(cat "$T/noshim.out")"
say "a job without the shim is refused with its reason and runs on: $out"

# another user's job cannot be moved by a stranger, nor a job that is not there
out=$("$GLPEER" migrate a-1-999 --runtime-dir "$T/c/run" 2>&1)
echo "$out" | grep -q "no running job" || fail "migrate of no job: $out"
out=$("$GLPEER" migrate not/a/gpid --runtime-dir "$T/c/run" 2>&1); [ $? = 2 ] || fail "bad GPID: $out"

if [ ! -x "$BUILD/glrestore" ]; then
    # a restart needs the restorer on the node that takes it
    head -c 100 /dev/zero > "$T/zero.img"
    out=$(glx --restart "$T/zero.img" 2>&1); rc=$?
    [ $rc != 0 ] && echo "$out" | grep -q "no restorer" || fail "restart without a restorer: rc $rc, $out"
    say "a restart without a restorer is refused: $out"
    echo "the shim's checkpoint and glrestore are not built: moves not tested"
    exit 77
fi
