#!/usr/bin/env bash
# multiuser.sh -- one agent, every local user: a machine's agent (root's)
# serves each local user through its control socket, knowing who each is
# by SO_PEERCRED, and only root and its own user may make it leave; a
# user's own agent still serves only that user, and another user who
# tries it is told whose agent it is.  Needs root (test accounts).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root "creates two test accounts with useradd"
GLX="$BUILD/glx"
ua="glt$$a"; ub="glt$$b"
make_user "$ua"; make_user "$ub"
chmod 755 "$T"   # the users must reach the agents' directories under it

start_peer a 0
wait_until 10 test -S "$T/a/run/glpeer.sock" || fail "a did not start"

say "a machine's agent: its directory and socket let every local user in, no more"
[ "$(stat -c %a "$T/a/run")" = 755 ] || fail "runtime dir mode $(stat -c %a "$T/a/run")"
[ "$(stat -c %a "$T/a/run/glpeer.sock")" = 666 ] || fail "socket mode $(stat -c %a "$T/a/run/glpeer.sock")"

say "every local user is served"
as "$ua" "$GLPEER" status --runtime-dir "$T/a/run" | grep -q "node a (" \
    || fail "$ua not served: $(as "$ua" "$GLPEER" status --runtime-dir "$T/a/run" 2>&1)"
as "$ub" "$GLPEER" ps --runtime-dir "$T/a/run" > /dev/null || fail "$ub: ps refused"

say "only root and the agent's user may make it leave; the refusal says why"
rc=0; out=$(as "$ua" "$GLPEER" leave --runtime-dir "$T/a/run" 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "$ua made the machine's agent leave"
[ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "refused: only root and this agent's user" \
    || fail "leave refusal: $out"
kill -0 "${PID[a]}" || fail "a is gone after a refused leave"

say "a user's own agent serves that user only, and the others are told whose it is"
mkdir -p "$T/own"; cp "$T/cluster.key" "$T/cluster.conf" "$T/own/"
chown -R "$ua" "$T/own"
as "$ua" "$GLPEER" join "$T/own/cluster.conf" --name own --bind "tcp://127.0.0.1:$(port_of 5)" \
    --runtime-dir "$T/own/run" --state-dir "$T/own/state" 2>> "$T/own.log" &
PID[own]=$!
wait_until 10 test -S "$T/own/run/glpeer.sock" || fail "$ua's own agent did not start"
[ "$(stat -c %a "$T/own/run")" = 700 ] || fail "a user's agent's directory is $(stat -c %a "$T/own/run")"
as "$ua" "$GLPEER" status --runtime-dir "$T/own/run" | grep -q "node own (" || fail "$ua not served by its own agent"
rc=0; out=$(as "$ub" "$GLPEER" status --runtime-dir "$T/own/run" 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "$ub reached $ua's agent"
echo "$out" | grep -q "no agent is running" && fail "wrong cause: $out"
echo "$out" | grep -q "permission denied: it is the agent of user $ua" || fail "refusal: $out"
rc=0; out=$(as "$ub" "$GLX" --runtime-dir "$T/own/run" true 2>&1) || rc=$?
[ $rc -eq 120 ] && echo "$out" | grep -q "agent of user $ua" || fail "glx as $ub: $rc $out"
as "$ua" "$GLPEER" leave --runtime-dir "$T/own/run" > /dev/null || fail "$ua could not stop its own agent"
wait_until 10 sh -c "! kill -0 ${PID[own]} 2>/dev/null" || fail "$ua's agent did not leave"
say "ok"
