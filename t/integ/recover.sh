# A job outlives its host: glx --checkpoint-every keeps the job's latest
# checkpoint in its home's memory; when the host dies (its agent and the
# job SIGKILLed, as a machine dies) the home restarts the job on another
# node from it, glx runs on, and its output is byte-identical to an
# undisturbed run: what the job wrote again after the checkpoint is
# skipped, stdin read since is given again.  A job that cannot be
# checkpointed (a TCP connection) runs on, and glx says once why nothing
# is kept.  A job with no checkpoint kept yet is lost as before (122).  Failure detection is shortened here
# (a probe every 500 ms: a few seconds to a death).  Not against the
# sanitizers' build: restarts need glrestore, which never carries their
# runtime (as migrate.sh); the home's bookkeeping runs under them in
# t/unit/test_keep and test_recover.
. "$(dirname "$0")/lib.sh"
set +e
[ -x "$BUILD/glrestore" ] || { echo "glrestore is not built: no restarts to test"; exit 77; }
write_conf "gossip" "    probe_interval = 500ms" "    probe_timeout = 300ms" \
    "sched" "    checkpoint_memory = 256M"
names=(a b c d)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 4 "${names[@]}" || fail "no convergence"
has_estimates() { [ "$(status a | jq '[.members[] | select(.resources != null)] | length')" = 4 ]; }
wait_until 10 has_estimates || fail "estimates missing"
export GLUNIX_RUNTIME_DIR="$T/a/run"
GLX="$BUILD/glx"
CK="$BUILD/t/integ/ckjob"
ps_json() { "$GLPEER" ps --json --runtime-dir "$T/a/run"; }
gpid_of() { "$GLPEER" ps --runtime-dir "$T/a/run" | awk -v p="$1" 'index($0, p) { print $1; exit }'; }
kept() { ps_json | jq -r --arg g "$1" '.jobs[] | select(.gpid == $g) | .checkpoint // ""'; }
has_kept() { kept "$1" | grep -q '^taken '; }
lines() { wc -l < "$1" 2>/dev/null || echo 0; }
more_lines() { [ "$(lines "$1")" -ge "$2" ]; }
# every process under pid $1 (the agent's own launcher and jobs)
tree_of() {
    local p=$1 c
    echo "$p"
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_of "$c"; done
}
# NODE dies as a machine does: its agent and everything under it at once
node_dies() {
    local victims
    victims=$(tree_of "${PID[$1]}")
    kill -STOP $victims 2>/dev/null
    kill -9 $victims 2>/dev/null
    for p in $victims; do
        wait_until 5 sh -c "! kill -0 $p 2>/dev/null" || fail "process $p of $1 survived its SIGKILL"
    done
}

# 1. a deterministic computation with a 64 MiB heap, its host killed
#    after its checkpoint was kept: it ends elsewhere, output identical
#    (250 steps of at least 50 ms: it must still run when b is killed,
#    after all that comes first here, however fast checkpoints are; the
#    undisturbed run meanwhile)
"$CK" single 250 64 > "$T/ref" & ref=$!
out="$T/job.out"
"$GLX" -w b --checkpoint-every 1s "$CK" single 250 64 > "$out" 2> "$T/job.err" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the job did not start: $(cat "$T/job.err")"
gpid=$(gpid_of "ckjob single 250 64")
wait_until 10 has_kept "$gpid" || fail "no checkpoint kept: ps says '$(kept "$gpid")'"
"$GLPEER" ps -v --runtime-dir "$T/a/run" | grep -A4 "$gpid" | grep -q "kept checkpoint: taken .* in a's memory" \
    || fail "ps -v does not say what is kept: $("$GLPEER" ps -v --runtime-dir "$T/a/run")"
# checkpoints to a file back to back meanwhile: a period's that finds one
# of them under way at b is taken a period on, and glx is told nothing
# (it said "no checkpoint kept this time ... would be lost", falsely)
end=$(( $(date +%s) + 3 ))
while [ "$(date +%s)" -lt "$end" ]; do
    "$GLPEER" checkpoint "$gpid" "$T/manual.img" --runtime-dir "$T/c/run" > /dev/null 2>&1
done
rm -f "$T/manual.img"
grep -q "$gpid: no checkpoint kept this time: a checkpoint, a move or a restart of it is under way" "$T/a.log" ||
    say "(no period's checkpoint met one to a file under way this time)"
# stopped by its user, it takes no checkpoint, and glx says which one it
# would restart from (it said the job would be lost); stopped while a
# period's image is under way, which its writer (a fork of the job, in a
# group of its own) finishes: the group's stop stopped it half-way, and
# the home waited a minute for the rest, telling glx nothing
# (the job's process: the ckjob whose parent is not one; a child of it
# is its checkpoint's writer; looked for often, without a fork, for 3 s
# at most: the job must still run when it is stopped)
jp=
for p in $(pgrep -f "ckjob single 250 64"); do
    [ "$p" = "$ref" ] && continue
    [ "$(cat "/proc/$(ps -o ppid= -p "$p" | tr -d ' ')/comm" 2> /dev/null)" = ckjob ] || jp=$p
done
[ -n "$jp" ] || fail "the job's process is not found"
writing() { local c=""; read -r c < "/proc/$jp/task/$jp/children" 2> /dev/null; [ -n "$c" ]; }
end=$((SECONDS + 3))
until writing || [ $SECONDS -ge $end ]; do sleep 0.01; done
writing || say "(no period's image was seen under way: the stop came between two)"
"$GLPEER" kill -STOP "$gpid" > /dev/null || fail "kill -STOP $gpid"
wait_until 12 grep -q "(it is stopped .*; were its node lost, it would restart from its checkpoint of [0-9:]* UTC$" "$T/job.err" ||
    fail "glx did not say what a stopped job would restart from: $(cat "$T/job.err")"
"$GLPEER" kill -CONT "$gpid" > /dev/null || fail "kill -CONT $gpid"
sleep 0.3
what=$(kept "$gpid")
n=$(lines "$out")
start=$(date +%s%N)
node_dies b
say "b killed with its job (its checkpoint: $what), glx had $n lines"
wait_until 30 sh -c "grep -q 'restarted on' '$T/job.err'" || fail "no restart: $(cat "$T/job.err")"
noted=$(elapsed_since "$start")
wait_until 30 more_lines "$out" $((n + 1)) || fail "no new output after the restart"
first=$(elapsed_since "$start")
wait "$g"; rc=$?
[ $rc = 0 ] || fail "glx exited $rc after its host died: $(cat "$T/job.err")"
wait "$ref" || fail "ckjob alone"
cmp -s "$T/ref" "$out" || fail "output differs from an undisturbed run: $(diff "$T/ref" "$out" | head -5)"
[ "$(grep -vc "kept this time" "$T/job.err")" = 1 ] || fail "glx said more than one line: $(cat "$T/job.err")"
say "restarted ${noted} s after b's death, first new line at glx ${first} s: $(cat "$T/job.err")"
say "its output is byte-identical to an undisturbed run ($(lines "$out") lines)"

# 2. a filter reading stdin through a pipe, its host killed mid-stream:
#    every line once, in order
seq 1 120 | sed 's/^/line /' | "$CK" filter > "$T/ref"
out="$T/filter.out"
# (the second half of its input only once its host is dead: it cannot end before)
feed() { for i in $(seq "$1" "$2"); do echo "line $i"; sleep 0.02; done; }
{ feed 1 60; while [ ! -e "$T/go" ]; do sleep 0.1; done; feed 61 120; } \
    | "$GLX" -w c --checkpoint-every 300ms "$CK" filter 2> "$T/filter.err" | cat > "$out" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the filter did not start: $(cat "$T/filter.err")"
gpid=$(gpid_of "ckjob filter")
wait_until 10 has_kept "$gpid" || fail "no checkpoint of the filter kept: '$(kept "$gpid")'"
wait_until 10 more_lines "$out" 40 || fail "the filter is slow: $(lines "$out") lines"
node_dies c
touch "$T/go"
wait "$g"
grep -q "restarted on" "$T/filter.err" || fail "the filter was not restarted: $(cat "$T/filter.err")"
cmp -s "$T/ref" "$out" || fail "the filter restarted mid-stream: $(diff "$T/ref" "$out" | head -5)"
say "a filter whose host died mid-stream: every line once, in order ($(cat "$T/filter.err"))"

# 3. a job that cannot be checkpointed (a TCP connection): glx, which
#    asked for the checkpoints, says so once, with the reason, and the
#    job runs on
"$GLX" -w d --checkpoint-every 300ms "$CK" tcp > "$T/tcp.out" 2> "$T/tcp.err" & g=$!
wait_until 10 sh -c "grep -q 'no checkpoint of .* kept this time' '$T/tcp.err'" \
    || fail "glx did not say that nothing is kept: $(cat "$T/tcp.err")"
grep -q "TCP" "$T/tcp.err" || fail "glx did not say why: $(cat "$T/tcp.err")"
sleep 1
[ "$(grep -c 'kept this time' "$T/tcp.err")" = 1 ] || fail "said more than once: $(cat "$T/tcp.err")"
kill -0 "$g" 2>/dev/null || fail "the job ended: $(cat "$T/tcp.err")"
kill -INT "$g"; wait "$g"
say "a job that cannot be kept: $(cat "$T/tcp.err")"

# 4. no checkpoint kept yet when its host dies: lost, as before
"$GLX" -w d --checkpoint-every 1h "$CK" single 400 8 > /dev/null 2> "$T/lost.err" & g=$!
wait_until 10 sh -c "\"$GLPEER\" ps --runtime-dir \"$T/a/run\" | grep -q 'single 400 8'" \
    || fail "the last job did not start"
node_dies d
wait "$g"; rc=$?
[ $rc = 122 ] && grep -q "node d, which ran the job, was lost" "$T/lost.err" \
    || fail "a job with no checkpoint kept: glx exit $rc, $(cat "$T/lost.err")"
say "a job with no checkpoint kept is lost with its host: $(cat "$T/lost.err")"

