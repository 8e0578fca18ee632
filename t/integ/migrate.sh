# Checkpoints, restarts and moves between real peers: every job finds its
# host's checkpoint socket; what cannot be checkpointed is refused with
# its reason and runs on, its glx unbroken; a restart needs a restorer.
# The moves themselves need the shim's checkpoint and glrestore: without
# them the test says so and ends skipped after the checks above.  Not
# run against the sanitizers' build: its glrestore carries their runtime,
# which a restored program's memory cannot have (the agents' side of moves
# runs under them in t/unit/test_jobs_ckpt and test_jobs_move).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
names=(a b c)
# b's owner has a terminal (touched: they type) and comes back for 2 s at a time
touch -d '1 hour ago' "$T/tty-b"
start_peer a 0
start_peer b 1 --set "idle/activity=$T/tty-b" --set idle/owner_idle_min=2s \
    --set sched/owner_grace=1s
start_peer c 2 --set transport/move_direct=no   # images to c come through the agents
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
# the new node is asked first: without glrestore it refuses before the shim is
why="no checkpoint handler"; [ -x "$BUILD/glrestore" ] || why="no restorer"
echo "$out" | grep -q "$why" || fail "migrate refused without its reason: $out"
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

# The owner of b comes back: a guest that cannot move (no shim) is stopped
# once the grace is over, and goes on when the owner leaves again; its
# output is whole.
"$GLX" -w b --no-shim sh -c 'i=0; while [ $i -lt 30 ]; do echo "n $i"; i=$((i+1)); sleep 0.1; done' \
    > "$T/evict.out" 2>&1 & g=$!
# the job's process: the sh whose command line this is (glx's holds it too)
job_pid() { for p in $(pgrep -f "$1"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = sh ] && echo $p; done | head -1; }
has_job() { [ -n "$(job_pid "$1")" ]; }
wait_until 5 has_job 'echo "n ' || fail "the guest did not start on b"
pid=$(job_pid 'echo "n ')
sleep 0.5
start=$(date +%s%N)
touch -a "$T/tty-b"
stopped() { [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = T ]; }
typing() { touch -a "$T/tty-b"; stopped; }
wait_until 6 typing || fail "the guest still runs on b after its owner came back"
say "b's owner came back: its guest stopped $(elapsed_since "$start") s later (sample 1 s + grace 1 s)"
# the owner stays (b is busy 2 s after each keystroke: on a loaded machine
# a keystroke's effect can come late, so it keeps typing while it asks)
suspended() {
    touch -a "$T/tty-b"
    "$GLPEER" ps --json --runtime-dir "$T/a/run" | jq -e '.jobs[] | select(.state == "suspended")' >/dev/null
}
wait_until 5 suspended \
    || fail "ps does not say the guest is suspended: $("$GLPEER" ps --json --runtime-dir "$T/a/run")"
touch -a "$T/tty-b"
n=$(wc -l < "$T/evict.out")
for i in 1 2 3 4; do sleep 0.25; touch -a "$T/tty-b"; done
[ "$(wc -l < "$T/evict.out")" = "$n" ] && stopped || fail "the stopped guest still writes"
# the owner leaves: 2 s later b is idle and its guest goes on
wait "$g"; rc=$?
[ $rc = 0 ] && [ "$(wc -l < "$T/evict.out")" = 30 ] && [ "$(tail -1 "$T/evict.out")" = "n 29" ] \
    || fail "the guest's glx after the owner left: rc $rc, $(wc -l < "$T/evict.out") lines"
say "the owner left: the guest went on and ended whole"

if [ ! -x "$BUILD/glrestore" ]; then
    # a restart needs the restorer on the node that takes it
    head -c 100 /dev/zero > "$T/zero.img"
    out=$(glx --restart "$T/zero.img" 2>&1); rc=$?
    [ $rc != 0 ] && echo "$out" | grep -q "no restorer" || fail "restart without a restorer: rc $rc, $out"
    say "a restart without a restorer is refused: $out"
    echo "the shim's checkpoint and glrestore are not built: moves not tested"
    exit 77
fi

# ---- moves: the shim's checkpoint, glrestore, and the agents between ----------------------
CK="$BUILD/t/integ/ckjob"

# glpeer checkpoint while it runs (it runs on, whole), glx --restart of
# the image elsewhere: the rest of the same output, from the snapshot on
"$CK" single 30 32 > "$T/ref"
out="$T/ck.out"
"$GLX" -w b "$CK" single 30 32 > "$out" & g=$!
wait_until 10 more_lines "$out" 8 || fail "ckjob did not start"
gpid=$(gpid_of "ckjob single 30 32")
res=$("$GLPEER" checkpoint "$gpid" "$T/ck.img" --runtime-dir "$T/c/run" 2>&1) \
    || fail "checkpoint: $res"
wait "$g"; rc=$?
[ $rc = 0 ] && cmp -s "$T/ref" "$out" || fail "the checkpointed job: rc $rc, $(diff "$T/ref" "$out" | head -3)"
"$GLX" -w c --restart "$T/ck.img" > "$T/rs.out" 2> "$T/rs.err"; rc=$?
first=$(head -1 "$T/rs.out")
at=$(grep -n -x -F "$first" "$T/ref" | cut -d: -f1)
[ $rc = 0 ] && [ -n "$at" ] && tail -n +"$at" "$T/ref" | cmp -s - "$T/rs.out" \
    || fail "glx --restart: rc $rc, from '$first': $(cat "$T/rs.err")"
say "$res; restarted on c from its line $at: the rest of the output, identical"

# a computation with a large heap, one thread, then four, moved mid-run
# three times: the same output, byte for byte, as an undisturbed run
# (the last move at line 12 of 30: the rest of the run leaves time for
# the request to arrive on a loaded machine, where ten steps did not)
for kind in "single 30 64" "threads 4 30 64"; do
    "$CK" $kind > "$T/ref" || fail "ckjob $kind alone"
    out="$T/moved"
    "$GLX" -w b "$CK" $kind > "$out" 2> "$T/moved.err" & g=$!
    wait_until 10 more_lines "$out" 1 || fail "ckjob $kind did not start: $(cat "$T/moved.err")"
    gpid=$(gpid_of "ckjob $kind")
    move_at "$gpid" c 4
    move_at "$gpid" a 8
    move_at "$gpid" b 12
    wait "$g"; rc=$?
    [ $rc = 0 ] || fail "ckjob $kind moved: glx exit $rc: $(cat "$T/moved.err")"
    cmp -s "$T/ref" "$out" || fail "ckjob $kind moved: output differs: $(diff "$T/ref" "$out" | head -5)"
    say "ckjob $kind moved b>c>a>b mid-run: output identical ($(lines "$out") lines, $(tail -1 "$out"))"
done
grep -q "image went straight to [ab]\$" "$T"/*.log || fail "no image went straight to a or b"
! grep -q "image went straight to c\$" "$T"/*.log || fail "an image went straight to c (move_direct = no)"
say "images went straight to a and b, through the agents to c (move_direct = no)"

# a filter in a pipeline, moved mid-stream: every line in, once, in order
seq 1 150 | sed 's/^/line /' | "$CK" filter > "$T/ref"
out="$T/moved"
seq 1 150 | while read -r i; do echo "line $i"; sleep 0.02; done \
    | "$GLX" -w b "$CK" filter | cat > "$out" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the filter did not start"
gpid=$(gpid_of "ckjob filter")
move_at "$gpid" c 30
move_at "$gpid" a 90
wait "$g"
cmp -s "$T/ref" "$out" || fail "the filter moved mid-stream: $(diff "$T/ref" "$out" | head -5)"
say "a filter in a pipeline moved twice mid-stream: output identical"

# a job with a TCP connection cannot move: refused with the reason, it runs on
out="$T/tcp"
"$GLX" -w b "$CK" tcp > "$out" & g=$!
wait_until 10 more_lines "$out" 1 || fail "ckjob tcp did not start"
gpid=$(gpid_of "ckjob tcp")
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) && fail "a TCP job moved: $res"
echo "$res" | grep -qi "tcp" || fail "the TCP job's refusal does not say why: $res"
[ "$(node_of "$gpid")" = b ] || fail "the refused TCP job left b"
"$GLPEER" ps -v --runtime-dir "$T/a/run" | grep -A3 "ckjob tcp" | grep -qi "can move: .*tcp" \
    || fail "ps -v does not say why the TCP job cannot move: $("$GLPEER" ps -v --runtime-dir "$T/a/run")"
kill "$g"; wait "$g" 2>/dev/null
say "a job with a TCP connection stays, refused: $res"

# b's owner comes back: its guest moves to an idle node within the grace
out="$T/evicted"
"$CK" single 40 32 > "$T/ref"
"$GLX" -w b "$CK" single 40 32 > "$out" & g=$!
wait_until 10 more_lines "$out" 5 || fail "the guest did not start"
gpid=$(gpid_of "ckjob single 40 32")
start=$(date +%s%N)
left_b() { touch -a "$T/tty-b"; n=$(node_of "$gpid"); [ -n "$n" ] && [ "$n" != b ]; }
wait_until 8 left_b || fail "the guest did not leave b: ps says $(node_of "$gpid")"
say "b's owner came back: its guest left for $(node_of "$gpid") $(elapsed_since "$start") s later"
wait "$g"
cmp -s "$T/ref" "$out" || fail "the evicted guest's output: $(diff "$T/ref" "$out" | head -5)"
