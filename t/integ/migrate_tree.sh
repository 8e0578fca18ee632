# Moves of process trees between real peers (checkpoint/tree.h): a job
# of several processes moves as one image, its glx unbroken.
# - a shell script whose loop pipes through a filter process,
#   checkpointed to a file while it runs, then moved mid-stream b>c>a:
#   the output is byte for byte an undisturbed run's, and the file's
#   image restarted with glx --restart prints the rest from its snapshot;
# - a parent with forked workers moved c>a mid-run: each worker waited
#   for by its pid, the same statuses, the same output;
# - a script whose daemon (a double fork) is no longer its descendant
#   moves without it, and the node it left kills it;
# - a tree with a member that cannot move (a TCP connection) is refused
#   with that member's reason and stays;
# - a script run with glx --checkpoint-every outlives its host (SIGKILLed
#   with its agent): restarted from its kept checkpoint, same output.
# Not run against the sanitizers' build (as integ/migrate: glrestore
# there carries their runtime).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible
grep -q 'vdso' /proc/self/maps || { echo "no vDSO on this kernel: nothing to move"; exit 77; }
# failure detection shortened (probe every 500 ms) for the last part, a
# tree outliving its host
write_conf "gossip" "    probe_interval = 500ms" "    probe_timeout = 300ms" "    suspicion_mult = 2" \
    "sched" "    checkpoint_memory = 64M"
start_abc


# ---- a shell script: a loop piping through a filter ----------------------------------------
script='i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo "line $i"; sleep 0.05; done | sed -u s/line/LINE/'
sh -c "$script" > "$T/ref"
out="$T/pipe.out"
"$GLX" -w b sh -c "$script" > "$out" 2> "$T/pipe.err" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the script did not start: $(cat "$T/pipe.err")"
gpid=$(gpid_of 'sed -u')
[ -n "$gpid" ] || fail "no gpid for the script: $("$GLPEER" ps --runtime-dir "$T/a/run")"
# a checkpoint to a file first (the job runs on; each process's writer of
# that image is then a child of it, which the next checkpoint leaves out)
wait_until 20 more_lines "$out" 4 || fail "the script wrote $(lines "$out") lines, not 4"
res=$("$GLPEER" checkpoint "$gpid" "$T/pipe.img" --runtime-dir "$T/c/run" 2>&1) \
    || fail "checkpoint of the script: $res"
say "checkpointed to a file while it runs: $res"
move_at "$gpid" c 10
move_at "$gpid" a 30
wait "$g"; rc=$?
[ $rc = 0 ] || fail "the moved script: glx exit $rc: $(cat "$T/pipe.err")"
cmp -s "$T/ref" "$out" || fail "the moved script's output: $(diff "$T/ref" "$out" | head -5)"
say "sh, its loop's subshell and sed moved b>c>a mid-stream: output identical ($(lines "$out") lines)"
# the image in the file, restarted on c: the rest of the output from its snapshot
"$GLX" -w c --restart "$T/pipe.img" > "$T/rs.out" 2> "$T/rs.err"; rc=$?
first=$(head -1 "$T/rs.out")
at=$(grep -n -x -F "$first" "$T/ref" | cut -d: -f1)
[ $rc = 0 ] && [ -n "$at" ] && tail -n +"$at" "$T/ref" | cmp -s - "$T/rs.out" \
    || fail "glx --restart of the script: rc $rc, from '$first': $(cat "$T/rs.err")"
say "its image restarted on c (glx --restart): the rest of the output from line $at, identical"

# ---- what a job orphaned stays behind, and ends with the move ---------------------------------
# a daemon's double fork (its own session, its output elsewhere) is no
# longer the job's descendant: the move takes the loop and not it, and
# the keeper on the node the job left kills it once the job has moved
mark="orphan-$$"
orphaning='(setsid bash -c "exec -a '"$mark"' sleep 300" > /dev/null 2>&1 < /dev/null &)
i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo "line $i"; sleep 0.05; done'
out="$T/orphan.out"
"$GLX" -w b sh -c "$orphaning" > "$out" 2> "$T/orphan.err" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the script with an orphan did not start: $(cat "$T/orphan.err")"
gpid=$(gpid_of 'exec -a')
[ -n "$gpid" ] || fail "no gpid for the script with an orphan"
wait_until 5 pgrep -f "^$mark" > /dev/null || fail "the orphan did not start"
move_at "$gpid" c 10
wait_until 5 bash -c "! pgrep -f '^$mark' > /dev/null" || fail "the orphan outlived its job's move from b: $(pgrep -af "^$mark")"
wait "$g"; rc=$?
[ $rc = 0 ] && [ "$(lines "$out")" = 40 ] || fail "the script moved without its orphan: rc $rc, $(lines "$out") lines: $(cat "$T/orphan.err")"
say "a script moved b>c without what it orphaned, which went with the move"

# ---- a parent and its workers --------------------------------------------------------------
TREE="$BUILD/t/ckpt/cktree"
"$TREE" workers 3 30 > "$T/ref" || fail "the undisturbed workers"
out="$T/workers.out"
"$GLX" -w c "$TREE" workers 3 30 > "$out" 2> "$T/workers.err" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the workers did not start: $(cat "$T/workers.err")"
gpid=$(gpid_of 'cktree workers')
move_at "$gpid" a 8
wait "$g"; rc=$?
[ $rc = 0 ] || fail "the moved workers: glx exit $rc: $(cat "$T/workers.err")"
cmp -s "$T/ref" "$out" || fail "the moved workers' output: $(diff "$T/ref" "$out" | head -5)"
say "a parent and 3 workers moved c>a mid-run: $(grep -c 'got the same, kill reached it: yes' "$out") waited for by pid, output identical"

# ---- a member that cannot move ----------------------------------------------------------------
CK="$BUILD/t/integ/ckjob"
out="$T/tcp.out"
"$GLX" -w b sh -c "\"$CK\" tcp; echo after" > "$out" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the tcp tree did not start"
gpid=$(gpid_of 'tcp; echo after')
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) && fail "a tree with a TCP member moved: $res"
echo "$res" | grep -q "process [0-9]* (ckjob): fd [0-9]*: a TCP" || fail "the refusal does not name the member: $res"
[ "$(node_of "$gpid")" = b ] || fail "the refused tree left b"
kill "$g"; wait "$g" 2>/dev/null
say "a tree with a TCP member stays, refused: $res"

# ---- a tree outlives its host (glx --checkpoint-every, glunix(7) Recovery) -------------------
ps_json() { "$GLPEER" ps --json --runtime-dir "$T/a/run"; }
kept() { ps_json | jq -r --arg g "$1" '.jobs[] | select(.gpid == $g) | .checkpoint // ""'; }
has_kept() { kept "$1" | grep -q '^taken '; }
tree_of() {
    local p=$1 c
    echo "$p"
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_of "$c"; done
}
node_dies() { # as a machine dies: its agent and everything under it at once
    local victims
    victims=$(tree_of "${PID[$1]}")
    kill -STOP $victims 2>/dev/null
    kill -9 $victims 2>/dev/null
}
sh -c "$script" > "$T/ref"
out="$T/rec.out"
"$GLX" -w c --checkpoint-every 500ms sh -c "$script" > "$out" 2> "$T/rec.err" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the script did not start: $(cat "$T/rec.err")"
gpid=$(gpid_of 'sed -u')
wait_until 10 has_kept "$gpid" || fail "no checkpoint of the script kept: '$(kept "$gpid")'"
node_dies c
wait "$g"; rc=$?
[ $rc = 0 ] && grep -q "restarted on" "$T/rec.err" || fail "the script after its host died: rc $rc, $(cat "$T/rec.err")"
cmp -s "$T/ref" "$out" || fail "the restarted script's output: $(diff "$T/ref" "$out" | head -5)"
say "its host killed, the script (3 processes) restarted from its kept checkpoint: $(cat "$T/rec.err"); output identical"
exit 0
