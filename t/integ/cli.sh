# The commands a user types: help, errors that name what is wrong, keygen,
# one agent per runtime directory, detached agents, status without agent.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
for c in "" keygen join status leave; do
    "$GLPEER" $c --help | grep -q "usage: glpeer" || fail "glpeer $c --help"
done
"$GLPEER" 2>/dev/null && fail "glpeer without a command succeeded"
out=$("$GLPEER" frobnicate 2>&1) && fail "an unknown command succeeded"
echo "$out" | grep -q "unknown command 'frobnicate'" || fail "unknown command: $out"

# keygen: 64 hex digits; -o makes a 0600 file and never overwrites
"$GLPEER" keygen | grep -qE '^[0-9a-f]{64}$' || fail "keygen output"
[ "$(stat -c %a "$T/cluster.key")" = 600 ] || fail "key file mode"
out=$("$GLPEER" keygen -o "$T/cluster.key" 2>&1) && fail "keygen overwrote a key"
echo "$out" | grep -q "File exists" || fail "keygen message: $out"

# configuration errors name the file, the line and the field
printf 'cluster\n    name = "x"\n    colour = "red"\n' > "$T/bad.conf"
out=$("$GLPEER" join "$T/bad.conf" 2>&1) && fail "bad config accepted"
echo "$out" | grep -q "bad.conf:3: cluster/colour: unknown field" || fail "bad field message: $out"
printf 'gossip\n    probe_interval = fast\n' > "$T/bad2.conf"
out=$("$GLPEER" join "$T/bad2.conf" 2>&1) && fail "bad duration accepted"
echo "$out" | grep -q "bad2.conf:2: gossip/probe_interval: 'fast' is not a duration" || fail "duration message: $out"
out=$("$GLPEER" join "$T/missing.conf" 2>&1) && fail "missing file accepted"
echo "$out" | grep -q "missing.conf: No such file" || fail "missing file message: $out"
out=$("$GLPEER" join "$T/cluster.conf" --bind "nonsense" 2>&1) && fail "bad --bind accepted"
echo "$out" | grep -q "node/bind" || fail "bad --bind message: $out"

# status with no agent says so
out=$("$GLPEER" status --runtime-dir "$T/nobody" 2>&1) && fail "status without agent succeeded"
echo "$out" | grep -q "no agent is running" || fail "no-agent message: $out"

# a detached agent: starts, answers, refuses a second agent, leaves
out=$("$GLPEER" join "$T/cluster.conf" -d --name a --bind "tcp://127.0.0.1:$(port_of 0)" \
      --runtime-dir "$T/a/run" --state-dir "$T/a/state" 2>&1) || fail "join -d: $out"
pid=$(cat "$T/a/run/glpeer.pid"); PID[a]=$pid
# a user's agent keeps them private; the machine's agent (root's) lets
# every local user reach its socket (integ/multiuser tests that side)
if [ "$(id -u)" = 0 ]; then want_dir=755; want_sock=666; else want_dir=700; want_sock=600; fi
[ "$(stat -c %a "$T/a/run")" = $want_dir ] || fail "runtime dir mode $(stat -c %a "$T/a/run"), not $want_dir"
[ "$(stat -c %a "$T/a/run/glpeer.sock")" = $want_sock ] || fail "socket mode $(stat -c %a "$T/a/run/glpeer.sock"), not $want_sock"
[ "$(state a a)" = alive ] || fail "detached agent does not answer"
# (in the foreground: a second agent that wrongly started would run on, so
# timeout stops it, and its 124 is a failure like a 0)
rc=0
out=$(timeout 20 "$GLPEER" join "$T/cluster.conf" --name a2 --bind "tcp://127.0.0.1:$(port_of 1)" \
      --runtime-dir "$T/a/run" --state-dir "$T/a2/state" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "second agent on the same runtime directory: exit $rc, expected 1: $out"
echo "$out" | grep -q "another agent (pid $pid)" || fail "second agent message: $out"
# a port already taken is reported
out=$("$GLPEER" join "$T/cluster.conf" -d --name z --bind "tcp://127.0.0.1:$(port_of 0)" \
      --runtime-dir "$T/z/run" --state-dir "$T/z/state" 2>&1) && fail "bound a busy port"
echo "$out" | grep -q "cannot bind" || fail "busy port message: $out"
grep -q "listening on" "$T/a/run/glpeer.log" || fail "detached agent has no log"
"$GLPEER" leave --runtime-dir "$T/a/run" >/dev/null || fail "leave"
wait_until 5 bash -c "! kill -0 $pid 2>/dev/null" || fail "detached agent did not exit"
[ ! -e "$T/a/run/glpeer.sock" ] || fail "socket left behind"
