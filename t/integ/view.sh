# The agent's view in shared memory: every agent publishes the cluster and
# the jobs running on its node, readable by its user alone and written by
# the agent alone; a job that scribbles on its mapping dies of SIGSEGV and
# nothing else notices; a leaving agent closes and removes its view.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
POKE="$BUILD/t/integ/viewpoke"
set +e
names=(a b c)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 3 "${names[@]}" || fail "no convergence"
field() { "$POKE" read "$T/$1/run" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
view_has() { [ "$(field "$1" alive)" = 3 ] && "$POKE" read "$T/$1/run" | grep -q "c:0:res"; }
wait_until 10 view_has a || fail "a's view: $("$POKE" read "$T/a/run" 2>&1)"
out=$("$POKE" read "$T/b/run")
echo "$out" | grep -q "^node=b .* members=3 jobs=0 closed=0 b:0:" \
    || fail "b's view does not list itself first with 3 members: $out"
say "each agent publishes the cluster: $out"

# an idle agent publishes every second (readers date the view by it) but
# rewrites its member table only when a member, an estimate or a clock
# offset changed: not every second.  Just after the start the clocks'
# offsets are still being measured (and on a loaded machine vary more):
# up to three windows of 6 s, one of which must show it
cost() { status "$1" | jq -r ".cost.$2"; }
for try in 1 2 3; do
    p0=$(cost a view_publishes); w0=$(cost a view_member_writes)
    sleep 6
    p1=$(cost a view_publishes); w1=$(cost a view_member_writes)
    echo "a published $((p1 - p0)) times in 6 s, $((w1 - w0)) with the member table" >&2
    [ $((p1 - p0)) -ge 5 ] || fail "a published $((p1 - p0)) times in 6 s"
    [ $((w1 - w0)) -le $(((p1 - p0) / 2)) ] && break
    [ $try = 3 ] && fail "a rewrote its member table $((w1 - w0)) times in $((p1 - p0)) publications (three windows)"
done
say "an idle agent publishes every second, its members $((w1 - w0)) times in $((p1 - p0))"

# only the users the agent serves may read it: its user (0400), or every
# local user for a machine's agent, root's (0444), which runs as its
# node/agent_user, not root; nobody may write through it
agent_user=$(ps -o user= -p "${PID[a]}" | tr -d ' ')
want=400; [ "$(id -u)" = 0 ] && want=444
modes=$(for n in a b c; do
    stat -c '%a %U' "/dev/shm$("$POKE" name "$T/$n/run")" ; done | sort -u)
[ "$modes" = "$want $agent_user" ] || fail "view objects not 0$want $agent_user: $modes"

# a job on b that scribbles on b's view dies of SIGSEGV; b goes on publishing
before=$(field b publishes)
"$GLX" --runtime-dir "$T/a/run" -w b "$POKE" scribble "$T/b/run" > "$T/scribble" 2>&1; rc=$?
[ "$rc" = 139 ] || fail "the scribbling job exited $rc, expected 139 (SIGSEGV): $(cat "$T/scribble")"
grep -q scribbled "$T/scribble" && fail "the write went through"
kill -0 "${PID[b]}" || fail "b died with its job"
wait_until 5 bash -c '[ "$("$0" read "$1" | sed "s/.*publishes=\([0-9]*\).*/\1/")" -gt "$2" ]' \
    "$POKE" "$T/b/run" "$before" || fail "b stopped publishing"
[ "$(field b alive)" = 3 ] || fail "b's view changed: $("$POKE" read "$T/b/run")"
say "a scribbling job faults alone; b publishes on"

# a job running on b is in b's job table while it runs
"$GLX" --runtime-dir "$T/a/run" -w b sleep 5 & g=$!
jobs_on() { [ "$(field "$1" jobs)" = "$2" ]; }
wait_until 5 jobs_on b 1 || fail "b's view does not list its job: $("$POKE" read "$T/b/run")"
kill -INT $g; wait $g
wait_until 5 jobs_on b 0 || fail "b's view still lists the job after it ended"
say "the job table follows jobs"

# a leaving agent marks its view closed and removes it
cview="/dev/shm$("$POKE" name "$T/c/run")"
[ -e "$cview" ] || fail "c's view $cview is not there"
"$GLPEER" leave --runtime-dir "$T/c/run" > /dev/null
wait_until 10 bash -c '! kill -0 $0 2>/dev/null' "${PID[c]}" || fail "c did not leave"
[ ! -e "$cview" ] || fail "c's view $cview is still there"
out=$("$POKE" read "$T/c/run" 2>&1)
echo "$out" | grep -q "no agent publishes a view" || fail "c's view opens after it left: $out"
say "a leaving agent removes its view"

# a killed agent's view stays until the next agent of its user starts
kill -9 "${PID[b]}"
wait_until 5 bash -c '! kill -0 $0 2>/dev/null' "${PID[b]}"
"$POKE" read "$T/b/run" > /dev/null || fail "b's view went with the killed agent"
start_peer d 3
wait_until 10 bash -c '! "$0" read "$1" > /dev/null 2>&1' "$POKE" "$T/b/run" \
    || fail "the next agent did not remove the killed agent's view"
"$POKE" read "$T/a/run" > /dev/null || fail "the next agent removed a live agent's view"
say "the next agent removes a killed agent's view, and only it"
