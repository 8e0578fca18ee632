#!/usr/bin/env bash
# multiuser.sh -- one agent, every local user: a machine's agent (root's)
# serves each local user through its control socket, knowing who each is
# by SO_PEERCRED, and only root and its own user may make it leave; a
# user's own agent still serves only that user, and another user who
# tries it is told whose agent it is.  Jobs run as their user, mapped by
# name on the host: refused with the reason when the host has no such
# account (a host whose /etc/passwd lacks it, in a mount namespace) or
# its rules exclude the user, and root's refused by default.  Needs root
# (test accounts).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root "creates two test accounts with useradd"
GLX="$BUILD/glx"
ua="glt$$a"; ub="glt$$b"
make_user "$ua"; make_user "$ub"
chmod 755 "$T"   # the users must reach the agents' directories under it
ROOT_JOBS=no write_conf   # the default: no node runs root's jobs

# c's machine knows only root and $ua: its own /etc/passwd, in a mount namespace
grep -v "^$ub:" /etc/passwd > "$T/passwd"
start_peer a 0
start_peer b 1 --set "node/deny_users=nobody, $ub"
mkdir -p "$T/c"
unshare -m sh -c 'mount --bind "$1" /etc/passwd && shift && exec "$@"' sh "$T/passwd" \
    "$GLPEER" join "$T/cluster.conf" --name c --bind "tcp://127.0.0.1:$(port_of 2)" \
    --runtime-dir "$T/c/run" --state-dir "$T/c/state" 2>> "$T/c.log" &
PID[c]=$!
wait_until 10 test -S "$T/a/run/glpeer.sock" || fail "a did not start"
wait_until 20 all_alive 3 a b c || fail "the three peers did not meet"

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

say "each user's job runs as that user, on the home's node and on another"
for u in "$ua" "$ub"; do
    for n in a c; do
        [ $n = c ] && [ $u = "$ub" ] && continue
        out=$(as "$u" "$GLX" --runtime-dir "$T/a/run" --local -w $n sh -c 'id -un; id -u' 2>&1) \
            || fail "$u's job on $n: $out"
        [ "$(echo "$out" | head -1)" = "$u" ] && [ "$(echo "$out" | tail -1)" = "$(id -u "$u")" ] \
            || fail "$u's job on $n ran as $out"
    done
done

say "a host without the user's account refuses the job, saying why"
rc=0; out=$(as "$ub" "$GLX" --runtime-dir "$T/a/run" -w c true 2>&1) || rc=$?
[ $rc -eq 124 ] && echo "$out" | grep -q "c: user $ub has no account here" || fail "$ub on c: $rc $out"
say "and one whose rules deny the user"
rc=0; out=$(as "$ub" "$GLX" --runtime-dir "$T/a/run" -w b true 2>&1) || rc=$?
[ $rc -eq 124 ] && echo "$out" | grep -q "b: user $ub is in node/deny_users here" || fail "$ub on b: $rc $out"
out=$(as "$ua" "$GLX" --runtime-dir "$T/a/run" -w b id -un 2>&1) && [ "$out" = "$ua" ] || fail "$ua on b: $out"

say "root's jobs are refused by every node unless cluster/root_jobs says yes"
for n in a b; do
    rc=0; out=$("$GLX" --runtime-dir "$T/a/run" --local -w $n true 2>&1) || rc=$?
    [ $rc -eq 124 ] && echo "$out" | grep -q "runs no jobs of root (cluster/root_jobs = no)" \
        || fail "root's job on $n: $rc $out"
done

say "a user's own agent serves that user only, and the others are told whose it is"
mkdir -p "$T/own"; cp "$T/cluster.key" "$T/own/"
sed "s|seed = .*|seed = \"tcp://127.0.0.1:$(port_of 5)\"|" "$T/cluster.conf" > "$T/own/cluster.conf"
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
out=$(as "$ua" "$GLX" --runtime-dir "$T/own/run" --local id -un 2>&1) && [ "$out" = "$ua" ] \
    || fail "$ua's job through its own agent: $out"
as "$ua" "$GLPEER" leave --runtime-dir "$T/own/run" > /dev/null || fail "$ua could not stop its own agent"
wait_until 10 sh -c "! kill -0 ${PID[own]} 2>/dev/null" || fail "$ua's agent did not leave"
say "ok"
