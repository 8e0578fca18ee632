#!/usr/bin/env bash
# multiuser.sh -- one agent, every local user: a machine's agent (root's)
# serves each local user through its control socket, knowing who each is
# by SO_PEERCRED, and only root and its own user may make it leave; a
# user's own agent still serves only that user, and another user who
# tries it is told whose agent it is.  Everyone's jobs show in ps with
# their user; a user may signal only their own (root any), judged at the
# job's home, and a refusal says why in one line.  Jobs run as their user, mapped by
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

# c's machine knows only root and $ua: its own /etc, in a mount namespace.
# Not a file bound over /etc/passwd: useradd and userdel (any test's, on
# this machine) rename a new /etc/passwd into place, and the kernel then
# detaches every mount on the old one, in every namespace, so c would see
# the machine's accounts again.  c's /etc is a directory of its own: its
# passwd, the machine's symbolic links as they are, and links to the rest
# of the machine's /etc through a bind of it that no rename can detach.
mkdir -p "$T/c/etc" "$T/c/host-etc"
for f in /etc/* /etc/.[!.]*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    if [ -L "$f" ]; then cp -P "$f" "$T/c/etc/"; else ln -s "$T/c/host-etc/${f#/etc/}" "$T/c/etc/"; fi
done
rm "$T/c/etc/passwd"; grep -v "^$ub:" /etc/passwd > "$T/c/etc/passwd"
start_peer a 0
start_peer b 1 --set "node/deny_users=nobody, $ub"
unshare -m sh -c 'mount --bind /etc "$1/host-etc" && mount --bind "$1/etc" /etc && shift && exec "$@"' \
    sh "$T/c" "$GLPEER" join "$T/cluster.conf" --name c --bind "tcp://127.0.0.1:$(port_of 2)" \
    --runtime-dir "$T/c/run" --state-dir "$T/c/state" 2>> "$T/c.log" &
PID[c]=$!
wait_until 10 test -S "$T/a/run/glpeer.sock" || fail "a did not start"
wait_until 20 all_alive 3 a b c || fail "the three peers did not meet"

say "privilege separation: the agent runs unprivileged, its launcher alone as root"
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/${PID[a]}/status)
gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' /proc/${PID[a]}/status)
for u in $uids $gids; do [ "$u" != 0 ] || fail "agent a still has root ids: Uid $uids Gid $gids"; done
[ "$(awk '/^CapEff:/ { print $2 }' /proc/${PID[a]}/status)" = 0000000000000000 ] \
    || fail "agent a has capabilities: $(grep Cap /proc/${PID[a]}/status)"
# every thread of it (ZeroMQ's I/O threads too), not only the first
for task in /proc/${PID[a]}/task/*; do
    awk '/^Uid:|^Gid:/ { for (i = 2; i <= 5; i++) if ($i == 0) bad = 1 } END { exit bad }' "$task/status" \
        || fail "thread $(basename "$task") of agent a has root ids"
done
[ "$(ls /proc/${PID[a]}/task | wc -l)" -gt 1 ] || fail "agent a has no threads to check"

launcher=$(pgrep -P "${PID[a]}" -x glpeer-launch) || fail "agent a has no launcher"
[ "$(awk '/^Uid:/ { print $3 }' /proc/$launcher/status)" = 0 ] || fail "the launcher is not root"
[ "$(stat -c %U "$T/a/state")" = "$(awk '/^Uid:/ { print $2 }' /proc/${PID[a]}/status | xargs getent passwd | cut -d: -f1)" ] \
    || fail "a's state directory was not handed to its agent's account"

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

say "a client that claims to be root gets a job of its real user"
out=$(as "$ua" "$BUILD/t/integ/glclaim" "$T/a/run" b root 0 -- id -un 2>&1) || fail "glclaim as $ua: $out"
[ "$out" = "$ua" ] || fail "a job claimed as root by $ua ran as: $out"

say "a host without the user's account refuses the job, saying why"
nsenter -t "${PID[c]}" -m getent passwd "$ub" > /dev/null && fail "c's namespace has an account $ub"
nsenter -t "${PID[c]}" -m getent passwd "$ua" > /dev/null || fail "c's namespace has no account $ua"
rc=0; out=$(as "$ub" "$GLX" --runtime-dir "$T/a/run" -w c true 2>&1) || rc=$?
[ $rc -eq 124 ] && echo "$out" | grep -q "c: user $ub has no account here" || fail "$ub on c: $rc $out"
say "and one whose rules deny the user"
rc=0; out=$(as "$ub" "$GLX" --runtime-dir "$T/a/run" -w b true 2>&1) || rc=$?
[ $rc -eq 124 ] && echo "$out" | grep -q "b: user $ub is in node/deny_users here" || fail "$ub on b: $rc $out"
out=$(as "$ua" "$GLX" --runtime-dir "$T/a/run" -w b id -un 2>&1) && [ "$out" = "$ua" ] || fail "$ua on b: $out"

say "ps shows everyone's jobs with their user; kill is for one's own, judged at the home"
as "$ua" "$GLX" --runtime-dir "$T/a/run" -w b sleep 300 < /dev/null > "$T/ua_job.out" 2>&1 &
ua_glx=$!
as "$ub" "$GLX" --runtime-dir "$T/b/run" -w a sleep 301 < /dev/null > "$T/ub_job.out" 2>&1 &
ub_glx=$!
jobs_of() { as "$1" "$GLPEER" ps --json --runtime-dir "$T/$2/run" | jq -r --arg u "$3" '.jobs[] | select(.user == $u) | .gpid'; }
for _ in $(seq 50); do
    ga=$(jobs_of "$ub" a "$ua"); gb=$(jobs_of "$ua" a "$ub")
    [ -n "$ga" ] && [ -n "$gb" ] && break
    sleep 0.2
done
[ -n "$ga" ] && [ -n "$gb" ] || fail "ps does not show both users' jobs: $(as "$ua" "$GLPEER" ps --runtime-dir "$T/a/run")"
case "$ga" in a-*) ;; *) fail "$ua's job $ga is not homed at a" ;; esac
rc=0; out=$(as "$ub" "$GLPEER" kill -KILL "$ga" --runtime-dir "$T/b/run" 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] \
    && echo "$out" | grep -q "refused: $ga is $ua's job; only $ua and root may signal it, not $ub" \
    || fail "$ub killing $ua's job: $rc $out"
kill -0 $ua_glx 2>/dev/null || fail "$ua's job ended after $ub's refused kill"
rc=0; out=$(as "$ua" "$GLPEER" kill "$gb" --runtime-dir "$T/a/run" 2>&1) || rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "is $ub's job" || fail "$ua killing $ub's job: $rc $out"
rc=0; out=$(as "$ua" "$GLPEER" kill "a-1-999" --runtime-dir "$T/a/run" 2>&1) || rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "refused: no running job a-1-999 at its home a" || fail "kill of no job: $rc $out"
out=$(as "$ua" "$GLPEER" kill -KILL "$ga" --runtime-dir "$T/c/run" 2>&1) || fail "$ua killing its own job: $out"
echo "$out" | grep -q "signal 9 sent to $ga" || fail "$ua's kill said: $out"
rc=0; wait $ua_glx || rc=$?
[ $rc -eq 137 ] || fail "$ua's job ended with $rc, not by SIGKILL (137)"
"$GLPEER" kill -KILL "$gb" --runtime-dir "$T/c/run" > /dev/null || fail "root could not signal $ub's job"
rc=0; wait $ub_glx || rc=$?
[ $rc -eq 137 ] || fail "$ub's job ended with $rc after root's kill"

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

say "a machine's agent that leaves takes its launcher along, and leaves no files behind"
"$GLPEER" leave --runtime-dir "$T/a/run" > /dev/null || fail "root could not make a leave"
wait_until 10 sh -c "! kill -0 ${PID[a]} 2>/dev/null" || fail "a did not leave"
kill -0 "$launcher" 2>/dev/null && fail "a's launcher outlived it"
[ ! -e "$T/a/run/glpeer.sock" ] && [ ! -e "$T/a/run/glpeer.pid" ] || fail "a left files: $(ls "$T/a/run")"
say "ok"
