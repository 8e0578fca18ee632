# Nothing a job started outlives it on the node that ran it: not what
# left its process group (setsid), nor a daemon's double fork, when the
# job ends by itself, when glpeer kill ends it, or when its glx is gone;
# on another node (the job's keeper is a child of that machine's root
# launcher here) and on the home's own node; a job whose keeper is
# killed ends with it.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e      # exit codes are what this test looks at
names=(a b)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 2 "${names[@]}" || fail "no convergence"
export GLUNIX_RUNTIME_DIR="$T/a/run"     # $! must be glx itself, not a subshell
tag="leftover-$$"
# what a job leaves behind (each its own session, its output elsewhere),
# every process named TAG-K: a setsid'd child, a subshell's double fork,
# and a daemon that forks twice and exits in between (python, if here)
leave='
setsid bash -c "exec -a $1-1 sleep 300" > /dev/null 2>&1 < /dev/null &
(setsid bash -c "exec -a $1-2 sleep 300" > /dev/null 2>&1 < /dev/null &)
if command -v python3 > /dev/null; then python3 -c "
import os, sys
if os.fork(): os._exit(0)
os.setsid()
if os.fork(): os._exit(0)
fd = os.open(os.devnull, os.O_RDWR)
for k in 0, 1, 2: os.dup2(fd, k)
os.execvp(\"sleep\", [sys.argv[1] + \"-3\", \"300\"])
" "$1"; else setsid bash -c "exec -a $1-3 sleep 300" > /dev/null 2>&1 < /dev/null & fi
for i in $(seq 50); do [ "$(pgrep -fc "^$1-")" = 3 ] && break; sleep 0.1; done
echo "running: $(pgrep -fc "^$1-")"
'
left() { pgrep -fc "^$1-" || true; }
none_left() { [ "$(left "$1")" = 0 ]; }

# the job ends by itself: glx returns, and nothing of it is left
for node in b a; do
    m="$tag-end-$node"
    out=$("$GLX" -w "$node" bash -c "$leave" job "$m"); rc=$?
    [ $rc = 0 ] && [ "$out" = "running: 3" ] || fail "the job on $node: rc $rc, '$out'"
    wait_until 3 none_left "$m" || fail "after the job's end on $node, $(left "$m") left: $(pgrep -af "^$m-")"
    say "a job on $node that ended: its setsid child and daemons went with it"
done

# glpeer kill: the job and what it left
m="$tag-kill"
"$GLX" -w b bash -c "$leave"'exec sleep 300' job "$m" > "$T/kill.out" & g=$!
wait_until 10 more_lines "$T/kill.out" 1 || fail "the job to kill did not start"
[ "$(cat "$T/kill.out")" = "running: 3" ] || fail "the job to kill: $(cat "$T/kill.out")"
gpid=$("$GLPEER" ps --json --runtime-dir "$T/a/run" | jq -r '.jobs[0].gpid // empty')   # the only one
[ -n "$gpid" ] || fail "no gpid for the job to kill: $("$GLPEER" ps --runtime-dir "$T/a/run")"
"$GLPEER" kill "$gpid" --runtime-dir "$T/b/run" > /dev/null || fail "glpeer kill $gpid refused"
wait_until 5 bash -c "! kill -0 $g 2> /dev/null" || fail "glx did not end with the killed job"
wait "$g"; rc=$?
[ $rc = 143 ] || fail "glpeer kill (SIGTERM): glx exited $rc, expected 143"
wait_until 3 none_left "$m" || fail "after glpeer kill, $(left "$m") left: $(pgrep -af "^$m-")"
say "glpeer kill: the job and everything it left are gone"

# its glx is gone (SIGKILL): the home ends the job, the host what it left
m="$tag-glx"
"$GLX" -w b bash -c "$leave"'exec sleep 300' job "$m" > "$T/glx.out" & g=$!
wait_until 10 more_lines "$T/glx.out" 1 || fail "the job whose glx goes did not start"
[ "$(cat "$T/glx.out")" = "running: 3" ] || fail "the job whose glx goes: $(cat "$T/glx.out")"
{ kill -9 "$g"; wait "$g"; } 2> /dev/null
wait_until 5 none_left "$m" || fail "after its glx went, $(left "$m") left: $(pgrep -af "^$m-")"
say "glx gone: the job and everything it left are gone"

# a user's own agent (nobody's, when the test runs as root): its keepers
# are that user's; a job's end, and the agent's own end (SIGKILL: its
# keepers see their socket close), end what the job left
if [ "$(id -u)" = 0 ] && unpriv test -x "$GLPEER" -a -r "$BUILD/libglshim.so"; then
    mkdir -p "$T/own"; cp "$T/cluster.key" "$T/own/"
    sed "s|seed = .*|seed = \"tcp://127.0.0.1:$(port_of 5)\"|" "$T/cluster.conf" > "$T/own/cluster.conf"
    chown -R nobody "$T/own"
    unpriv "$GLPEER" join "$T/own/cluster.conf" --name own --bind "tcp://127.0.0.1:$(port_of 5)" \
        --runtime-dir "$T/own/run" --state-dir "$T/own/state" 2>> "$T/own.log" &
    PID[own-setpriv]=$!
    wait_until 10 test -S "$T/own/run/glpeer.sock" || fail "nobody's own agent did not start"
    PID[own]=$(cat "$T/own/run/glpeer.pid")      # the agent, not the shell that started it
    [ "$(cat "/proc/${PID[own]}/comm")" = glpeer ] || fail "nobody's agent is not ${PID[own]}"
    m="$tag-own"
    out=$(unpriv "$GLX" --runtime-dir "$T/own/run" --local bash -c "$leave" job "$m"); rc=$?
    [ $rc = 0 ] && [ "$out" = "running: 3" ] || fail "the job on nobody's agent: rc $rc, '$out'"
    wait_until 3 none_left "$m" || fail "after the job's end on nobody's agent, $(left "$m") left: $(pgrep -af "^$m-")"
    # its user kills a job's keeper (as the OOM killer could): the job
    # ends with it, its status lost (255), and glx is told
    m="$tag-own-keeper"
    unpriv "$GLX" --runtime-dir "$T/own/run" --local bash -c 'echo $PPID; exec -a "$1-0" sleep 300' \
        job "$m" > "$T/own-keeper.out" 2>&1 & g=$!
    wait_until 10 more_lines "$T/own-keeper.out" 1 || fail "the job whose keeper goes did not start"
    k=$(head -1 "$T/own-keeper.out")
    [ "$(cat "/proc/$k/comm" 2> /dev/null)" = glpeer-keep ] || fail "the job's parent '$k' is no keeper"
    wait_until 3 bash -c "[ \"\$(pgrep -fc '^$m-')\" = 1 ]" || fail "the job whose keeper goes is not running"
    unpriv kill -9 "$k"
    wait_until 5 bash -c "! kill -0 $g 2> /dev/null" || fail "glx did not end when its job's keeper was killed"
    wait "$g"; rc=$?
    [ $rc = 255 ] || fail "a job whose keeper was killed: glx exited $rc, expected 255 (status lost)"
    wait_until 3 none_left "$m" || fail "after its keeper was killed, $(left "$m") left: $(pgrep -af "^$m-")"
    say "nobody's own agent: a job whose keeper is killed ends with it"
    m="$tag-own-gone"
    unpriv "$GLX" --runtime-dir "$T/own/run" --local bash -c "$leave"'exec sleep 300' job "$m" > "$T/own.out" 2>&1 & g=$!
    wait_until 10 more_lines "$T/own.out" 1 || fail "the job on nobody's agent did not start"
    [ "$(cat "$T/own.out")" = "running: 3" ] || fail "the job on nobody's agent: $(cat "$T/own.out")"
    kill -9 "${PID[own]}"; { wait "${PID[own-setpriv]}"; } 2> /dev/null
    wait_until 5 none_left "$m" || fail "after nobody's agent was killed, $(left "$m") left: $(pgrep -af "^$m-")"
    pgrep -f "^sleep 300$" -u nobody > /dev/null && fail "the job outlived nobody's agent"
    { wait "$g"; } 2> /dev/null
    say "nobody's own agent: its jobs' leftovers end with the job, and with the agent"
fi

# no zombie under the agents: their launchers' keepers reaped what they took
for n in a b; do
    z=$(ps -eo pid=,ppid=,stat= | awk -v root="${PID[$n]}" '
        { parent[$1] = $2; stat[$1] = $3 }
        END { for (p in parent) { q = p; while (q in parent && q != root) q = parent[q]
                                  if (q == root && stat[p] ~ /^Z/) n++ }
              print n + 0 }')
    [ "$z" = 0 ] || fail "$z zombies under $n's agent"
done
echo "PASS"
