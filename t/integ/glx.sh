# glx runs programs on other nodes as if here: stdio (binary, complete,
# separate), exit status, signals, environment and directory; placement
# spreads jobs by slots; a job dies with its glx; a lost node is reported.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e      # exit codes are what this test looks at
names=(a b c d)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 4 "${names[@]}" || fail "no convergence"
has_estimates() { [ "$(status a | jq '[.members[] | select(.resources != null)] | length')" = 4 ]; }
wait_until 10 has_estimates || fail "estimates missing"
glx() { "$GLX" --runtime-dir "$T/a/run" "$@"; }
export GLUNIX_RUNTIME_DIR="$T/a/run"     # for "$GLX" run in the background:
                                         # $! must be glx itself, not a subshell
# options that mean nothing here are refused, naming what is wrong (exit 2)
for o in --label --keep-going --no-gang; do
    out=$(glx $o true 2>&1); rc=$?
    [ $rc = 2 ] && [ "$out" = "glx: $o goes with -n (a parallel job's processes)" ] || fail "glx $o without -n: rc $rc, '$out'"
done
out=$(glx --restart "$T" 2>&1); rc=$?
[ $rc = 2 ] && [ "$out" = "glx: --restart $T: not a regular file (an image glpeer checkpoint wrote)" ] \
    || fail "glx --restart of a directory: rc $rc, '$out'"
say "refused: $(glx --label true 2>&1); $out"

# output, separate streams, exit codes
out=$(glx sh -c 'echo out; echo err >&2; exit 7' 2> "$T/err"); rc=$?
[ "$rc" = 7 ] || fail "exit code $rc, expected 7"
[ "$out" = out ] && [ "$(cat "$T/err")" = err ] || fail "stdout/stderr mixed: '$out' / '$(cat "$T/err")'"
glx false && fail "glx false succeeded"
glx false; [ $? = 1 ] || fail "glx false did not exit 1"
glx true || fail "glx true failed"
out=$(glx no-such-program-here 2>&1); rc=$?
[ "$rc" = 127 ] || fail "missing program: exit $rc, expected 127 ($out)"
echo "$out" | grep -q "program not found" || fail "missing program message: $out"
# a reader that goes away ends glx (and the job) as a pipe would: SIGPIPE
timeout 20 bash -c "\"$GLX\" yes | head -2 > $T/yes; echo \${PIPESTATUS[0]} > $T/yes.rc"
[ "$(cat "$T/yes.rc")" = 141 ] && [ "$(wc -l < "$T/yes")" = 2 ] || fail "glx yes | head: rc $(cat "$T/yes.rc")"
# glx started with its stdio closed: the job starts without it too, and
# fails as it would here, with its own message and status (glx ended by
# SIGPIPE, 141, at the job's first output, and gave it an empty stdin);
# a closed stdout is not the agent's socket
for how in "wc -c <&-" "echo lost >&-" "sh -c 'echo lost >&2; echo out' 2>&-"; do
    eval "timeout 20 $how" > "$T/cl.ref" 2> "$T/cl.referr"; ref=$?
    eval "timeout 20 \"\$GLX\" $how" > "$T/cl.out" 2> "$T/cl.err"; rc=$?
    [ "$rc" = "$ref" ] && cmp -s "$T/cl.ref" "$T/cl.out" && cmp -s "$T/cl.referr" "$T/cl.err" ||
        fail "glx $how: exit $rc, '$(cat "$T/cl.out" "$T/cl.err")'; here: $ref, '$(cat "$T/cl.ref" "$T/cl.referr")'"
done
say "exit codes and streams"

# output in many small writes from another node (40,000 lines, one write
# each, both streams): every byte arrives; the link's queue holds 1024
# messages, far fewer than 4 MiB of flow control in pieces this small
small='BEGIN { for (i = 0; i < 20000; i++) { printf "out line %d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", i; fflush (); printf "err line %d\n", i > "/dev/stderr"; fflush ("/dev/stderr") } }'
awk "$small" > "$T/small.ref" 2> "$T/small.ref2"
for i in 1 2 3; do
    glx -w b awk "$small" > "$T/small.out" 2> "$T/small.err" || fail "small writes: glx failed"
    cmp -s "$T/small.out" "$T/small.ref" && cmp -s "$T/small.err" "$T/small.ref2" ||
        fail "small writes from b: stdout $(wc -c < "$T/small.out")/$(wc -c < "$T/small.ref") bytes, stderr $(wc -c < "$T/small.err")/$(wc -c < "$T/small.ref2")"
done
say "many small writes from another node, whole"

# 50 MB of random bytes through stdin and back, identical
head -c 50000000 /dev/urandom > "$T/in.bin"
glx cat < "$T/in.bin" > "$T/out.bin" || fail "cat through glx failed"
cmp "$T/in.bin" "$T/out.bin" || fail "50 MB came back different"
rm -f "$T/in.bin" "$T/out.bin"
say "50 MB binary stream identical"

# environment, working directory, umask
mkdir -p "$T/work dir"
out=$(cd "$T/work dir" && umask 027 && GLX_TEST_VAR='a b$c' glx sh -c 'echo "$GLX_TEST_VAR"; pwd; umask; echo "$GLUNIX_GPID"')
[ "$(echo "$out" | sed -n 1p)" = 'a b$c' ] || fail "environment: $out"
[ "$(echo "$out" | sed -n 2p)" = "$T/work dir" ] || fail "directory: $out"
[ "$(echo "$out" | sed -n 3p)" = 0027 ] || fail "umask: $out"
echo "$out" | sed -n 4p | grep -qE '^a-[0-9]+-[0-9]+$' || fail "GLUNIX_GPID: $out"
say "environment, directory, umask and GPID arrive"
# any command line exec(2) takes here travels: 100000 arguments (more than
# 65536 strings); one too big for a job (a 6 MiB stack lets exec take 5
# MiB of environment) is refused by glx with what is too big, not sent
out=$(glx sh -c 'echo $# $3' _ $(seq 100000) 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = "100000 3" ] || fail "100000 arguments: exit $rc: $(echo "$out" | head -3)"
out=$(ulimit -s unlimited && for i in $(seq 42); do export "GLX_BIG$i=$(printf %0120000d 0)"; done &&
    glx true 2>&1); rc=$?
[ $rc = 124 ] && echo "$out" | grep -q "the environment (.* bytes) are more than a job carries" \
    || fail "a 5 MiB environment: exit $rc: $out"
# an environment string that is no variable (an empty name), which a
# parent may hand glx through execve, is left out, not a failed job
out=$(perl -e '$ENV{""} = "x"; exec @ARGV' "$GLX" --runtime-dir "$T/a/run" sh -c 'echo ok' 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = ok ] || fail "an environment string without a name: exit $rc: $out"
say "100000 arguments run; 5 MiB of environment refused with the reason; a nameless variable left out"

# resource limits travel as ulimit set them here, each lowered to the
# hard limit of the host's launcher (d's: open files at most 128), never
# raised past it (the launcher is root, and could)
prlimit --pid "$(pgrep -P "${PID[d]}" | head -1)" --nofile=100:128 || fail "prlimit on d's launcher"
lim='echo $(ulimit -Sn) $(ulimit -Hn) $(ulimit -Sc) $(ulimit -Ss)'
out=$(ulimit -Sn 300 && ulimit -Sc 0 && ulimit -Ss 9000 && glx -w b sh -c "$lim")
[ "$out" = "300 $(ulimit -Hn) 0 9000" ] || fail "limits on b: '$out', not '300 $(ulimit -Hn) 0 9000'"
out=$(ulimit -Sn 300 && glx -w d sh -c "$lim")
[ "${out% * *}" = "128 128" ] || fail "open files on d: '$out', not 128 128 (d's hard limit)"
say "resource limits arrive, no higher than the host's ($out)"

# SIGINT to glx reaches the job; glx exits as the shell would (130)
"$GLX" sleep 30 & g=$!
sleep 1.5
kill -INT $g
wait $g; rc=$?
[ "$rc" = 130 ] || fail "SIGINT: glx exited $rc, expected 130"
say "SIGINT forwarded: 130"
# so is a SIGPIPE sent to glx (it ignored it: the job ran on, exit 0)
"$GLX" sleep 30 & g=$!
sleep 1.5
kill -PIPE $g
wait $g; rc=$?
[ "$rc" = 141 ] || fail "SIGPIPE: glx exited $rc, expected 141"

# SIGTSTP stops the job (and glx), SIGCONT lets both go on (the sleep's
# length is unique to this run, so pgrep finds ours, not another test's)
tnap="3.$$"
"$GLX" -w b sh -c 'sleep "$0"; echo woke' "$tnap" > "$T/tstp" & g=$!
wait_until 5 pgrep -f "^sleep $tnap$" >/dev/null || fail "the job did not start"
kill -TSTP $g
stopped() { [ "$(awk '{print $3}' /proc/$(pgrep -f "^sleep $tnap$" | head -1)/stat)" = T ]; }
wait_until 5 stopped || fail "SIGTSTP did not stop the job"
# stopped, it takes no checkpoint's signal: ps -v and migrate say so at
# once (they waited for an answer that could not come, and said no more)
gpid=$("$GLPEER" ps --runtime-dir "$T/a/run" | awk -v n="$tnap" 'index($0, "sleep \"$0\"; echo woke " n) { print $1 }')
"$GLPEER" ps -v --runtime-dir "$T/a/run" | grep -A2 "$tnap" | grep -q "state: stopped; can move: it is stopped" ||
    fail "ps -v of a stopped job: $("$GLPEER" ps -v --runtime-dir "$T/a/run")"
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/a/run" 2>&1) && fail "a stopped job moved: $res"
echo "$res" | grep -q "it is stopped (SIGSTOP or SIGTSTP)" || fail "migrate of a stopped job: $res"
sleep 3.5
# cont_woke WHEN: the stopped job wrote nothing; SIGCONT to glx, which
# ends 0 with the job's "woke"
cont_woke() {
    [ -s "$T/tstp" ] && fail "the job ran on while stopped ($1)"
    kill -CONT $g
    wait $g; local rc=$?
    [ "$rc" = 0 ] && grep -q woke "$T/tstp" || fail "SIGCONT ($1): rc $rc, output '$(cat "$T/tstp")'"
}
cont_woke "SIGTSTP while it ran"
say "SIGTSTP and SIGCONT reach the job"
# Ctrl-Z before the job started (b's agent held stopped: glx asked, and
# has not heard that it runs): glx and the job stop once it starts, and
# go on together
tnap="2.$$"
kill -STOP "${PID[b]}"
"$GLX" -w b sh -c 'sleep "$0"; echo woke' "$tnap" > "$T/tstp" & g=$!
sleep 0.5
kill -TSTP $g
sleep 0.2
kill -CONT "${PID[b]}"
glx_stopped() { [ "$(awk '{print $3}' /proc/$g/stat)" = T ]; }
wait_until 5 glx_stopped || fail "SIGTSTP as the job started: glx did not stop"
sleep 0.5
# (its sh may be stopped before it forked the sleep: none, or stopped)
p=$(pgrep -f "^sleep $tnap$" | head -1)
[ -z "$p" ] || [ "$(awk '{print $3}' /proc/$p/stat)" = T ] || fail "SIGTSTP as the job started: glx stopped, the job runs on"
sleep 2.5
cont_woke "SIGTSTP as it started"
say "SIGTSTP as the job starts stops it too"

# 8 jobs at once on 4 peers of 2 slots (the local one allowed): 2 each
for i in $(seq 8); do glx -v --local sleep 3 2> "$T/place.$i" & done
wait
for n in "${names[@]}"; do
    k=$(cat "$T"/place.* | grep -c "runs on $n as")
    [ "$k" = 2 ] || fail "node $n got $k of 8 jobs: $(cat "$T"/place.*)"
done
say "8 jobs landed 2 per peer"

# more processes than slots: the rest wait for room, as a batch system queues
# (not a gang: gang processes take cores times sched/gang_depth slots)
start=$(date +%s%N)
glx -n 12 --local --no-gang sh -c 'sleep 1; echo "$GLUNIX_RANK"' > "$T/many" || fail "glx -n 12 failed"
[ "$(sort -n "$T/many" | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 9 10 11 " ] || fail "glx -n 12: $(cat "$T/many")"
say "12 processes on 8 slots: the last 4 waited ($(elapsed_since "$start") s)"

# -n: processes spread over the cluster, each knowing its rank
# (each lasts a second, so the six share the nodes' 2 slots at once);
# each line is begun before the second and ended after it: --label
# keeps every rank's line whole, not mixed with the others' begun lines
out=$(glx -n 6 --local --label sh -c 'printf "r=$GLUNIX_RANK s=$GLUNIX_SIZE j=$GLUNIX_JOB n=$GLUNIX_NODE"; sleep 1; echo " end"')
[ $? = 0 ] || fail "glx -n 6 failed: $out"
for r in 0 1 2 3 4 5; do
    grep -q "^$r: r=$r s=6 j=[^ ]* n=[^ ]* end$" <<< "$out" || fail "rank $r missing, unlabelled or mixed: $out"
done
[ "$(echo "$out" | sed 's/.*j=\([^ ]*\).*/\1/' | sort -u | wc -l)" = 1 ] || fail "ranks disagree on GLUNIX_JOB: $out"
[ "$(echo "$out" | sed 's/.* n=\([^ ]*\) end/\1/' | sort -u | wc -l)" -ge 3 ] || fail "6 processes not spread: $out"
# stdin goes to rank 0 only
out=$(echo hello | glx -n 3 --local sh -c 'read x; echo "$GLUNIX_RANK:$x"' | sort)
[ "$out" = "$(printf '0:hello\n1:\n2:')" ] || fail "stdin for -n: $out"
# the first failure is the exit status, and the others are killed...
# (rank 1 fails only once the other two run, so their end is glx's doing;
# the sleep's length is unique to this run, so pgrep counts only ours)
nap="1006.$$"
"$GLX" -n 3 --local sh -c 'if [ "$GLUNIX_RANK" = 1 ]; then
    while [ ! -e "$0/go" ]; do sleep 0.1; done; exit 5; fi; sleep "$1"' "$T" "$nap" & g=$!
wait_until 10 bash -c '[ "$(pgrep -fc "^sleep $0$")" = 2 ]' "$nap" || fail "glx -n: ranks 0 and 2 did not start"
touch "$T/go"; start=$(date +%s)
wait $g; rc=$?
[ "$rc" = 5 ] || fail "glx -n: exit $rc, expected 5"
[ $(( $(date +%s) - start )) -lt 15 ] || fail "glx -n did not return after the first failure"
wait_until 8 bash -c '! pgrep -f "^sleep $0$" >/dev/null' "$nap" \
    || fail "the other processes were not killed: $(pgrep -af "^sleep $nap$")"
# ...unless --keep-going
glx -n 3 --local --keep-going sh -c '[ "$GLUNIX_RANK" = 1 ] && exit 5; sleep 1; echo done' > "$T/kg"; rc=$?
[ "$rc" = 5 ] && [ "$(grep -c done "$T/kg")" = 2 ] || fail "--keep-going: exit $rc, $(cat "$T/kg")"
say "parallel jobs: ranks, labels, spread, stdin, failure"

# glpeer ps, from any node, lists the cluster's jobs; glpeer kill signals one
"$GLX" -w c sleep 1003 & g=$!
wait_until 5 pgrep -f "^sleep 1003" >/dev/null || fail "the job did not start on c"
wait_until 5 bash -c "\"$GLPEER\" ps --runtime-dir $T/d/run | grep -q 'sleep 1003'" \
    || fail "ps on d does not show the job: $("$GLPEER" ps --runtime-dir "$T/d/run")"
job=$("$GLPEER" ps --json --runtime-dir "$T/b/run" | jq -c '.jobs[] | select(.command == "sleep 1003")')
gpid=$(echo "$job" | jq -r .gpid)
[ "$(echo "$job" | jq -r '.node + " " + .home + " " + .user')" = "c a $(id -un)" ] || fail "ps: $job"
# any signal as kill(1) names it (they said "'PIPE' is not a signal")
for s in RTMIN+3 SIGRTMAX PIPE SEGV; do
    out=$("$GLPEER" kill -"$s" a-1-999 --runtime-dir "$T/d/run" 2>&1)
    echo "$out" | grep -q "no running job" || fail "glpeer kill -$s: $out"
done
for s in RTMIN+31 RTMAX+1 rtmin +5 0; do
    out=$("$GLPEER" kill -"$s" "$gpid" --runtime-dir "$T/d/run" 2>&1)
    echo "$out" | grep -qF "'$s' is not a signal" || fail "glpeer kill -$s: $out"
done
"$GLPEER" kill -INT "$gpid" --runtime-dir "$T/d/run" | grep -q "signal 2 sent to $gpid" || fail "kill did not answer"
wait $g; rc=$?
[ "$rc" = 130 ] || fail "glpeer kill -INT: glx exited $rc, expected 130"
out=$("$GLPEER" kill nonsense --runtime-dir "$T/d/run" 2>&1) && fail "kill of a bad GPID succeeded"
say "glpeer ps and kill from other nodes"
# a job whose first process has ended while what it started runs on (and
# holds its output open): kill still reaches its process group, through
# the launcher of the machine's agent too (the agents here run as root)
"$GLX" -w c sh -c 'sleep 1004 & echo started' > "$T/bg" & g=$!
wait_until 5 more_lines "$T/bg" 1 || fail "the job with a child in the background did not start"
gpid=$("$GLPEER" ps --runtime-dir "$T/a/run" | awk '/sleep 1004/ { print $1 }')
"$GLPEER" kill -TERM "$gpid" --runtime-dir "$T/d/run" > /dev/null || fail "kill of $gpid refused"
wait_until 5 bash -c '! pgrep -f "^sleep 1004" > /dev/null' || fail "SIGTERM did not reach the job's child"
wait_until 5 bash -c "! kill -0 $g 2> /dev/null" || fail "glx did not end with the job's child"
say "kill reaches what a job started after its first process ended"

# ps says why a job passed nodes over: c is full, so a job from a goes elsewhere
"$GLX" -w c sleep 1004 & f1=$!
"$GLX" -w c sleep 1004 & f2=$!
wait_until 5 bash -c '[ "$(pgrep -fc "^sleep 1004")" = 2 ]' || fail "the jobs did not start on c"
"$GLX" sleep 1005 & f3=$!
wait_until 5 bash -c "\"$GLPEER\" ps --runtime-dir $T/d/run | grep -q 'sleep 1005'" || fail "ps: no sleep 1005"
why=$("$GLPEER" ps --json --runtime-dir "$T/d/run" | jq -r '.jobs[] | select(.command == "sleep 1005") | .node + " | " + .placement')
case "$why" in
    c\ *) fail "the job went to the full node c: $why" ;;
    *"c: "*) ;;
    *) fail "ps does not say why c was passed over: $why" ;;
esac
"$GLPEER" ps -v --runtime-dir "$T/b/run" | grep -A1 'sleep 1005' | grep -q "passed over: .*c: " \
    || fail "ps -v: $("$GLPEER" ps -v --runtime-dir "$T/b/run")"
kill $f1 $f2 $f3; wait $f1 $f2 $f3 2>/dev/null || true
say "ps says where each job went and why others were passed over ($why)"

# SIGKILL of glx: its job dies within a few seconds
"$GLX" -w b sleep 1001 & g=$!
wait_until 5 pgrep -f "^sleep 1001" >/dev/null || fail "the job did not start"
kill -9 $g
wait_until 8 bash -c '! pgrep -f "^sleep 1001" >/dev/null' || fail "the job outlived its glx"
say "job killed after its glx was"

# the node under a running job dies: glx says so
# (glx -v says when the home has heard that the job started: a job that
# runs but whose start the home has not heard of yet is not running there
# for the home, which asks another node)
"$GLX" -v -w c sleep 1002 2> "$T/lost" & g=$!
wait_until 5 grep -q "runs on c" "$T/lost" || fail "the job did not start on c: $(cat "$T/lost")"
kill -9 "${PID[c]}"
pkill -f "^sleep 1002" || true      # c's jobs die with their machine
wait $g; rc=$?
[ "$rc" = 122 ] || fail "lost node: glx exited $rc, expected 122: $(cat "$T/lost")"
grep -q "node c, which ran the job, was lost" "$T/lost" || fail "lost node message: $(cat "$T/lost")"
say "a lost node is reported (122)"

# the home itself leaves: glx is told, and its job does not outlive it
"$GLX" --runtime-dir "$T/d/run" -w b sleep 1004 2> "$T/homeleft" & g=$!
wait_until 5 pgrep -f "^sleep 1004" >/dev/null || fail "the job did not start on b"
"$GLPEER" leave --runtime-dir "$T/d/run" >/dev/null
wait $g; rc=$?
[ "$rc" = 123 ] || fail "home left: glx exited $rc, expected 123: $(cat "$T/homeleft")"
grep -q "home agent d is leaving" "$T/homeleft" || fail "home left message: $(cat "$T/homeleft")"
wait_until 8 bash -c '! pgrep -f "^sleep 1004" >/dev/null' || fail "the job outlived its home"
say "the home leaving ends its glx (123) and its job"

# no node can take it: pinned to a node that is gone
out=$(glx -w c true 2>&1); rc=$?
[ "$rc" = 121 ] || fail "pinned to a dead node: exit $rc ($out)"
say "no node: 121 ($out)"
