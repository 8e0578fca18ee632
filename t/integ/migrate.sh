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
# and a job on a terminal (glx -t, under script(1)'s): it moves, on a new
# terminal on its new node (script's input stays open: at its end script
# would type a character the job's terminal echoes)
script -qfec "$GLX -t -w b sh -c 'i=0; while [ \$i -lt 30 ]; do echo \"t \$i\"; i=\$((i+1)); sleep 0.1; done'" \
    "$T/tevict.out" > /dev/null 2>&1 < <(exec sleep 60) & gt=$!
# the job's process: the sh whose command line this is (glx's holds it too)
# (script(1) runs its command through $SHELL -c, which, as dash, stays as a
# parent sh with the same words in its command line: the job's is the sh
# whose script is the loop itself, and not a child it forked for a sleep)
job_pid() {
    local p q
    for p in $(pgrep -f "$1"); do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = sh ] || continue
        [ "$(tr '\0' '\n' < /proc/$p/cmdline 2>/dev/null | sed -n 3p | cut -c1-3)" = 'i=0' ] || continue
        q=$(awk '{ print $4 }' /proc/$p/stat 2>/dev/null)
        [ "$(tr '\0' '\n' < /proc/$q/cmdline 2>/dev/null | sed -n 3p | cut -c1-3)" = 'i=0' ] && continue
        echo $p
    done | head -1
}
has_job() { [ -n "$(job_pid "$1")" ]; }
wait_until 5 has_job 'echo "n ' || fail "the guest did not start on b"
wait_until 5 has_job 'echo "t ' || fail "the terminal guest did not start on b"
pid=$(job_pid 'echo "n ')
tgpid=$(gpid_of 'echo "t ')
[ -n "$tgpid" ] || fail "no gpid for the terminal guest"
sleep 0.5
start=$(date +%s%N)
touch -a "$T/tty-b"
stopped() { [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = T ]; }
tmoved() { local n; n=$(node_of "$tgpid"); [ -n "$n" ] && [ "$n" != b ]; }
typing() { touch -a "$T/tty-b"; stopped && tmoved; }
wait_until 6 typing || fail "the guest still runs on b after its owner came back, or the terminal guest was not moved: $("$GLPEER" ps --runtime-dir "$T/a/run")"
say "b's owner came back: its guest stopped $(elapsed_since "$start") s later (sample 1 s + grace 1 s), the terminal guest moved to $(node_of "$tgpid")"
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
wait "$gt"; rc=$?
[ $rc = 0 ] && [ "$(grep -c '^t [0-9]*.$' "$T/tevict.out")" = 30 ] && grep -q '^t 29' "$T/tevict.out" ||
    fail "the terminal guest after the owner left: rc $rc, $(grep -c '^t ' "$T/tevict.out") lines: $(cat -A "$T/tevict.out" | tr '\n' ' ')"
say "the owner left: the guests went on and ended whole"

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
# asked at c, which has no address for images: they came through the agents
! grep -q "checkpoint of $gpid.*went straight" "$T/b.log" \
    || fail "the image of a checkpoint asked at c (move_direct = no) went straight to c"
wait "$g"; rc=$?
[ $rc = 0 ] && cmp -s "$T/ref" "$out" || fail "the checkpointed job: rc $rc, $(diff "$T/ref" "$out" | head -3)"
# restart_on NODE: glx --restart of ck.img there, its output checked; how
# many bytes NODE's agent took in meanwhile in $took
restart_on() {
    local in0; in0=$(status "$1" | jq .counters.bytes_in)
    "$GLX" -w "$1" --restart "$T/ck.img" > "$T/rs.out" 2> "$T/rs.err"; rc=$?
    took=$(( $(status "$1" | jq .counters.bytes_in) - in0 ))
    first=$(head -1 "$T/rs.out")
    at=$(grep -n -x -F "$first" "$T/ref" | cut -d: -f1)
    [ $rc = 0 ] && [ -n "$at" ] && tail -n +"$at" "$T/ref" | cmp -s - "$T/rs.out" \
        || fail "glx --restart on $1: rc $rc, from '$first': $(cat "$T/rs.err")"
}
size=$(stat -c %s "$T/ck.img")
# c has no address for images (move_direct = no): the image comes in
# IMAGEs, through a's agent and c's
restart_on c
[ "$took" -ge "$size" ] || fail "the restart's image ($size bytes) did not come through c's agent ($took)"
grep -q "restart: its image goes through the agents from glx to c's restorer" "$T/a.log" \
    || fail "the home did not say the restart to c goes through the agents"
say "$res; restarted on c from its line $at: the rest of the output, identical (the image through the agents)"
# b has one: glx seals the image straight to b's restorer, b's agent
# relays none of it
restart_on b
[ "$took" -lt $((size / 4)) ] || fail "the restart's image ($size bytes) went through b's agent ($took bytes in)"
grep -q "restart: its image goes straight at 127.0.0.1:[0-9]* from glx to b's restorer" "$T/a.log" \
    || fail "the home did not say the restart to b goes straight"
say "restarted on b from its line $at, the image straight from glx ($took bytes into b's agent meanwhile, the image $size)"
# an image cut short: the restorer says so, by the straight way as by the
# agents', and glx says the job could not start there (124) with its
# reason, once (not 120, which is glx's "no agent")
head -c $((size / 2)) "$T/ck.img" > "$T/cut.img"
for n in b c; do
    "$GLX" -w $n --restart "$T/cut.img" > "$T/rs.out" 2> "$T/rs.err"; rc=$?
    [ $rc = 124 ] && grep -q "^glx: $n: cannot restart: glrestore: " "$T/rs.err" \
        && [ "$(grep -c "glrestore: " "$T/rs.err")" = 1 ] && [ ! -s "$T/rs.out" ] \
        || fail "a cut image restarted on $n: rc $rc, $(cat "$T/rs.err")"
done
say "a cut image is refused on b and c: $(cat "$T/rs.err")"
# a byte of the heap changed in the file (its disk rotted): the seal of
# glx's stream does not vouch for the file, so b's restorer checks the
# records' sums as c's does
cp "$T/ck.img" "$T/rot.img"
printf '\x5a' | dd of="$T/rot.img" bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s "$T/ck.img" "$T/rot.img" && printf '\xa5' | dd of="$T/rot.img" bs=1 seek=$((size / 2)) conv=notrunc status=none
for n in b c; do
    "$GLX" -w $n --restart "$T/rot.img" > "$T/rs.out" 2> "$T/rs.err"; rc=$?
    [ $rc = 124 ] && grep -q "^glx: $n: cannot restart: glrestore: " "$T/rs.err" && [ ! -s "$T/rs.out" ] \
        || fail "an image with a changed byte restarted on $n: rc $rc, $(cat "$T/rs.err"; tail -5 "$T"/*.log)"
done
say "an image with a changed byte is refused on b and c: $(cat "$T/rs.err")"
# not an image at all: the same
head -c 4096 /dev/urandom > "$T/junk.img"
"$GLX" -w b --restart "$T/junk.img" > "$T/rs.out" 2> "$T/rs.err"; rc=$?
[ $rc = 124 ] && grep -q "^glx: b: cannot restart: glrestore: " "$T/rs.err" \
    || fail "a file that is no image restarted on b: rc $rc, $(cat "$T/rs.err")"
say "a file that is no image is refused on b: $(cat "$T/rs.err")"
# a restored job that itself exits 120 as soon as it runs (the filter,
# its stdin at its end at once): glx gives the job's 120, not a failed
# restore's 124; the restorer's status never stands for one
mkfifo "$T/f120"
"$GLX" -w b "$CK" filter 120 < "$T/f120" > "$T/f120.out" 2>&1 & g=$!
exec 7> "$T/f120"
echo one >&7
wait_until 10 more_lines "$T/f120.out" 1 || fail "the filter did not start: $(cat "$T/f120.out")"
gpid=$(gpid_of "ckjob filter 120")
res=$("$GLPEER" checkpoint "$gpid" "$T/f120.img" --runtime-dir "$T/a/run" 2>&1) \
    || fail "checkpoint of the filter: $res"
# asked at a, which has an address: the job's writer sealed it straight
# to glpeer checkpoint, past both agents
grep -q "checkpoint of $gpid (sealed by the job's writer): its image went straight to a\$" "$T/b.log" \
    || fail "the image of a checkpoint asked at a did not go straight to it: $(grep "$gpid" "$T/b.log" | tail -3)"
exec 7>&-
wait "$g"; rc=$?
[ $rc = 120 ] || fail "the filter that exits 120: rc $rc, $(cat "$T/f120.out")"
for n in b c; do
    "$GLX" -w $n --restart "$T/f120.img" < /dev/null > "$T/rs.out" 2> "$T/rs.err"; rc=$?
    [ $rc = 120 ] && [ "$(cat "$T/rs.out")" = "lines 1 bytes 4" ] && [ ! -s "$T/rs.err" ] \
        || fail "a restored job that exits 120 on $n: rc $rc, '$(cat "$T/rs.out")', $(cat "$T/rs.err")"
done
say "a restored job that exits 120 at once gives glx 120 on b and c"
# a restorer glx cannot reach (its connection sent to a port where
# nothing listens, so the kernel refuses it): glx says so and exits 124,
# and the restorer waiting for it goes with glx's stream
if command -v cc > /dev/null; then
    cat > "$T/elsewhere.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int connect (int fd, const struct sockaddr *sa, socklen_t len)
{
    int (*real) (int, const struct sockaddr *, socklen_t) = dlsym (RTLD_NEXT, "connect");
    struct sockaddr_in to;
    if (sa->sa_family != AF_INET)
        return real (fd, sa, len);
    to = *(const struct sockaddr_in *) sa;
    to.sin_port = htons ((unsigned short) atoi (getenv ("ELSEWHERE_PORT")));
    return real (fd, (struct sockaddr *) &to, sizeof to);
}
EOF
    cc -shared -fPIC -o "$T/elsewhere.so" "$T/elsewhere.c" -ldl || fail "the test's preload does not build"
    out=$(ELSEWHERE_PORT=$(port_of 9) LD_PRELOAD="$T/elsewhere.so" "$GLX" -w b --restart "$T/ck.img" 2>&1); rc=$?
    [ $rc = 124 ] && echo "$out" | grep -q "^glx: cannot reach b's restorer at 127.0.0.1:[0-9]*: Connection refused" \
        || fail "a restorer that cannot be reached: rc $rc, $out"
    wait_until 5 sh -c "! pgrep -f '^glrestore $T/ck.img' > /dev/null" || fail "the unreached restorer still waits"
    say "a restorer that cannot be reached: $out (exit 124; the restorer went)"
fi

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

# a filter in a pipeline, moved mid-stream: every line in, once, in order;
# its image sealed by c's agent on the way to a, not by the job's writer
# (GLUNIX_CKPT_SEAL=0, as on a CPU without AES instructions)
seq 1 150 | sed 's/^/line /' | "$CK" filter > "$T/ref"
out="$T/moved"
sealed_c=$(status c | jq .counters.images.bytes_read)
seq 1 150 | while read -r i; do echo "line $i"; sleep 0.02; done \
    | "$GLX" -w b env GLUNIX_CKPT_SEAL=0 "$CK" filter | cat > "$out" & g=$!
wait_until 10 more_lines "$out" 1 || fail "the filter did not start"
gpid=$(gpid_of "ckjob filter")
move_at "$gpid" c 30
move_at "$gpid" a 90
wait "$g"
cmp -s "$T/ref" "$out" || fail "the filter moved mid-stream: $(diff "$T/ref" "$out" | head -5)"
[ "$(status c | jq .counters.images.bytes_read)" -gt "$sealed_c" ] ||
    fail "c's agent did not seal the filter's image (GLUNIX_CKPT_SEAL=0): $(status c | jq -c .counters.images)"
say "a filter in a pipeline moved twice mid-stream: output identical (sealed by c's agent to a)"

# a job that left the directory it started in moves once that is gone:
# the restorer starts in /, and the image says where the job is
mkdir "$T/gone"
(cd "$T/gone" && exec "$GLX" -w b sh -c 'cd /; for i in $(seq 60); do pwd; sleep 0.05; done') \
    > "$T/cwd.out" 2>&1 & g=$!
wait_until 10 more_lines "$T/cwd.out" 1 || fail "the job in $T/gone did not start"
rmdir "$T/gone"
gpid=$(gpid_of "seq 60); do pwd")
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) || fail "a job whose first directory is gone: $res"
wait "$g" || fail "the job that left its first directory: exit $?"
[ "$(sort -u "$T/cwd.out")" = / ] && [ "$(lines "$T/cwd.out")" = 60 ] || fail "after its move: $(sort "$T/cwd.out" | uniq -c)"
say "a job whose first directory was removed moved: $res"

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

# restorer_at NODE: the pid of NODE's restorer (its checkpoint socket is
# NODE's) once it has read 8 MB of an image; nothing after 10 s
restorer_at() {
    local i p
    for i in $(seq 1000); do
        for p in $(pgrep -x glrestore); do
            tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "GLUNIX_CKPT_SOCK=$T/$1/run/ckpt.sock" &&
                [ "$(awk '/^rchar/ { print $2 }' "/proc/$p/io" 2> /dev/null)" -gt 8000000 ] && { echo "$p"; return; }
        done
        sleep 0.01
    done
}

# a move whose restorer is killed while the image comes: the move fails
# saying so, and the job goes on on b, whole (the restorer's death
# closed its descriptor, which was taken for a restore that got through:
# the old process was killed, and the job lost)
"$CK" single 12 256 > "$T/ref" || fail "ckjob single 12 256 alone"
out="$T/cut"
"$GLX" -w b "$CK" single 12 256 > "$out" 2> "$T/cut.err" & g=$!
wait_until 20 more_lines "$out" 2 || fail "ckjob single 12 256 did not start: $(cat "$T/cut.err")"
gpid=$(gpid_of "ckjob single 12 256")
"$GLPEER" migrate "$gpid" a --runtime-dir "$T/a/run" > "$T/cut.mig" 2>&1 & m=$!
r=$(restorer_at a) # once it has read 8 MB of the image
[ -n "$r" ] || fail "no restorer at a read the image: $(cat "$T/cut.mig")"
kill -9 "$r"
wait "$m" && fail "the move whose restorer was killed succeeded: $(cat "$T/cut.mig")"
# the old host may tell first that the restorer closed the image's link
grep -q "killed by signal 9\|closed by the restorer" "$T/cut.mig" || fail "the failed move does not say why: $(cat "$T/cut.mig")"
[ "$(node_of "$gpid")" = b ] || fail "the job whose move failed is on $(node_of "$gpid"), not b"
wait "$g" || fail "the job whose move failed: glx exit $?: $(cat "$T/cut.err")"
cmp -s "$T/ref" "$out" || fail "the job whose move failed: output differs: $(diff "$T/ref" "$out" | head -5)"
say "a move whose restorer was killed mid-image failed ($(cat "$T/cut.mig")); the job went on whole on b"

# glx --restart interrupted (Ctrl-C: SIGINT to glx) while the image
# comes: the job ends by that signal (130), as it would a moment later,
# not as a restart that failed (124)
"$GLX" -w b "$CK" single 12 256 > "$T/int.out" 2>&1 & g=$!
wait_until 20 more_lines "$T/int.out" 2 || fail "ckjob single 12 256 did not start: $(cat "$T/int.out")"
gpid=$(gpid_of "ckjob single 12 256")
res=$("$GLPEER" checkpoint "$gpid" "$T/big.img" --runtime-dir "$T/a/run" 2>&1) || fail "checkpoint: $res"
"$GLPEER" kill "$gpid" --runtime-dir "$T/a/run" > /dev/null
wait "$g"
"$GLX" -w c --restart "$T/big.img" > "$T/int.out" 2> "$T/int.err" & g=$!
r=$(restorer_at c)
[ -n "$r" ] || fail "no restorer at c read the image: $(cat "$T/int.err")"
kill -INT "$g"
wait "$g"; rc=$?
[ $rc = 130 ] || fail "glx --restart interrupted: rc $rc, $(cat "$T/int.err")"
wait_until 5 sh -c "! kill -0 $r 2> /dev/null" || fail "the interrupted restart's restorer still runs"
say "glx --restart interrupted while its image came: exit 130, the restorer gone"
rm -f "$T/big.img"

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

# a guest its user stopped (glx's SIGTSTP: Ctrl-Z) stays stopped on b
# through its owner's coming and going: a move would continue it (they
# did, and it ran on elsewhere while its glx was stopped), so none is
# made, and the owner's leaving does not continue it; the user's SIGCONT
# does, and it ends whole
sleep 2.5 # b idle again after the owner above
out="$T/ustop"
"$GLX" -w b "$CK" single 40 32 > "$out" & g=$!
wait_until 10 more_lines "$out" 5 || fail "the guest to stop did not start"
gpid=$(gpid_of "ckjob single 40 32")
kill -TSTP $g
ustopped() { "$GLPEER" ps --json --runtime-dir "$T/a/run" | jq -e --arg g "$gpid" '.jobs[] | select(.gpid == $g and .state == "stopped")' > /dev/null; }
wait_until 5 ustopped || fail "ps does not say the guest is stopped: $("$GLPEER" ps --runtime-dir "$T/a/run")"
n=$(lines "$out")
for i in $(seq 18); do touch -a "$T/tty-b"; sleep 0.25; done # the owner, 4.5 s: a move, a retry
sleep 3.5 # the owner gone 2 s: b idle, its guests continued
[ "$(node_of "$gpid")" = b ] || fail "the stopped guest moved to $(node_of "$gpid")"
[ "$(lines "$out")" = "$n" ] && ustopped || fail "the stopped guest went on ($(lines "$out") lines, $n before)"
kill -CONT $g
wait "$g"
cmp -s "$T/ref" "$out" || fail "the guest stopped and continued: $(diff "$T/ref" "$out" | head -5)"
say "a guest its user stopped stayed stopped on b through its owner's return and leaving"
