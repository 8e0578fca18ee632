# Checkpoints of process trees (checkpoint/tree.h): a job of several
# processes is judged and taken as one, with the host's side of
# ckpt_proto.h played by t/ckpt/ckhost, as an unprivileged user (nobody
# when the suite runs as root).
# - a shell pipeline (a loop piping through a filter): checkpointed with
#   GO it goes on whole, and its image restored after it ended prints the
#   rest; with HOLD it stays parked until its root is killed (the members
#   end too), is restored, checkpointed again and restored again, and the
#   three lives print what an undisturbed run prints, byte for byte;
# - a parent with forked workers, restored, waits for each by its pid
#   (the same pid comes back) and gets the same exit statuses, each
#   worker's getppid() is its parent's pid, kill() reaches them;
# - make with a compile in flight (make, the recipe's shell, cc, cc1),
#   parked, restored: it finishes as an undisturbed make;
# - a parent with two zombies (children that ended, not waited for yet:
#   one exited 7, one killed by SIGUSR1), held and restored: its later
#   waitpid of each gets that pid and that status;
# - a tree with an unmovable member is refused with that member's
#   reason: a TCP socket, a program without the shim.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
set +e
ckpt_progs HOST TREE PROG SHIM GLR
cd "$T" || fail "no $T"
chmod 777 "$T"

unpriv_can -r "$SHIM" -a -x "$TREE"

# refused NAME PATTERN ARGS...: a probe of the program once it said
# ready (or $MARK) refused, its reason matching PATTERN (grep -E)
refused() {
    local name=$1 pat=$2
    shift 2
    unpriv "$HOST" -p "$SHIM" -r probe -w "${MARK:-ready}" -o "$name.out" -- "$@" > "$name.txt" ||
        { cat "$name.txt"; fail "$name: no answer"; }
    grep -Eq "^REFUSE $pat\$" "$name.txt" || fail "$name: $(grep -v '^START' "$name.txt")"
    say "$name: $(grep '^REFUSE' "$name.txt")"
}

# ---- unmovable members: the tree is refused with the member's reason ------------------
refused tcp 'process [0-9]+ \(ckcompute\): fd [0-9]+: a TCP socket to 127\.0\.0\.1:[0-9]+' \
    sh -c "\"$PROG\" socket; true"
refused noshim 'process [0-9]+ \(sleep\) runs without the shim .*' \
    sh -c 'GLUNIX_SHIM=0 sleep 2 & sleep 0.3; echo ready; wait'
# an eventfd a child inherited by fork: one object in two processes
if command -v python3 > /dev/null; then
    refused kobj 'processes [0-9]+ and [0-9]+ share an eventfd, .* which does not move shared' \
        python3 -c 'import os, time
e = os.eventfd(0)
if os.fork() == 0:
    time.sleep(2); os._exit(0)
print("ready", flush=True); os.wait()'
fi

# ---- timeout(1): its POSIX timer moves with it ----------------------------------------
# a loop of 5 s under timeout 2, held at its fifth tick and restored: the
# timer fires where it would have (exit 124), the loop does not end
unpriv "$HOST" -p "$SHIM" -r hold -w "tick 5" -i timg -o trun.out -- \
    timeout 2 sh -c 'for i in $(seq 1 50); do echo "tick $i"; sleep 0.1; done' > thost.txt ||
    { cat thost.txt; fail "checkpoint of timeout and its child"; }
grep -q '^SIGNAL 9$' thost.txt || fail "timeout with HOLD: $(grep -v '^START' thost.txt)"
unpriv "$BUILD/glrestore" timg > trest.out 2> trest.err; rc=$?
[ $rc = 124 ] || fail "restored timeout ended $rc, not 124 (its timer fired): $(cat trest.err)"
n=$(( $(grep -c tick trun.out) + $(grep -c tick trest.out) ))
[ "$n" -lt 50 ] || fail "the loop under timeout ran to its end ($n ticks): the timer was lost"
say "timeout 2 held at tick 5 and restored: its timer fired at tick $n (exit 124)"

# ---- a shell pipeline: a loop piping through a filter process --------------------------
# at FILE: the byte offset ckhost reported at SNAP
at() { sed -n 's/^SNAP [0-9]* at=\([0-9]*\)$/\1/p' "$1"; }
same() { cmp -s "$1" "$2" || { diff "$1" "$2" | head -20; fail "$3"; }; }
loop='i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo "line $i"; sleep 0.05; done'
# the filter's script carries this run's own comment, so that a look for
# its processes finds this run's, not another's running beside it
tag="ckpt_tree$$"
pipeline="$loop | sed -u 's/line/LINE/;#$tag'"
# (asked again after an AGAIN, as a host asks: a sleep of the loop that
# ends while the tree is judged is an instant's refusal, and the loop
# makes one every 50 ms)
for try in 1 2 3; do
    unpriv "$HOST" -p "$SHIM" -r probe -w "LINE 3" -o pipeprobe.out -- sh -c "$pipeline" > pipeprobe.txt ||
        { cat pipeprobe.txt; fail "a probe of the pipeline: no answer"; }
    grep -q '^AGAIN ' pipeprobe.txt || break
done
grep -q '^MOVABLE$' pipeprobe.txt || fail "a probe of the pipeline: $(grep -v '^START' pipeprobe.txt)"
say "a probe of the pipeline (sh, the loop's subshell, sed): MOVABLE"
unpriv sh -c "$pipeline" > pref.out || fail "the undisturbed pipeline"
# snap_tries OUT CMD...: CMD (a ckhost) into OUT, again (3 runs at most)
# while the shim said AGAIN: the loop's sleeps start and end
# processes all the time, and a snapshot that sees one come or go is
# refused for that instant (a move is made again so by the home); then
# the snapshot must have been taken
snap_tries() {
    local out=$1 i; shift
    for i in 1 2 3; do
        "$@" > "$out" || return 1
        grep -q '^AGAIN ' "$out" || break
    done
    grep -q '^SNAP ' "$out" || fail "no snapshot ($*): $(grep -v '^START' "$out")"
}

snap_tries phost1.txt unpriv "$HOST" -p "$SHIM" -r go -w "LINE 5" -i pimg1 -o prun1.out -- sh -c "$pipeline" ||
    { cat phost1.txt; fail "checkpoint of the pipeline with GO"; }
grep -q '^EXIT 0$' phost1.txt || fail "the pipeline after GO: $(tail -1 phost1.txt)"
same prun1.out pref.out "the pipeline went on after GO but its output differs"
pa=$(at phost1.txt)
unpriv "$GLR" pimg1 > prest1.out 2> prest1.err; rc=$?
if grep -q "does not let a process move its vDSO" prest1.err; then
    cat prest1.err
    echo "this kernel does not let a process move its vDSO: nothing can be restored here"
    exit 77
fi
[ $rc = 0 ] || { cat prest1.err; fail "the restored pipeline exited $rc"; }
{ head -c "$pa" prun1.out; cat prest1.out; } > pwhole1.out
same pwhole1.out pref.out "pipeline: before the snapshot + restored != undisturbed"
say "pipeline: GO, went on whole; its image ($(stat -c %s pimg1) bytes, $(grep '^SNAP' phost1.txt | cut -d' ' -f2) ns paused) restored after it ended: the rest, byte for byte"

# HOLD (parked until its root is killed: the members end with it), the
# image restored and checkpointed again with HOLD, that image restored:
# the output of the three lives is the undisturbed run's
snap_tries phost2.txt unpriv "$HOST" -p "$SHIM" -r hold -w "LINE 5" -i pimg2 -o prun2.out -- sh -c "$pipeline" ||
    { cat phost2.txt; fail "checkpoint of the pipeline with HOLD"; }
grep -q '^SIGNAL 9$' phost2.txt || fail "HOLD: the pipeline was not parked until killed: $(tail -1 phost2.txt)"
sleep 0.3
[ "$(at phost2.txt)" = "$(stat -c %s prun2.out)" ] || fail "HOLD: the pipeline wrote after its snapshot"
! pgrep -u "$(id -u nobody)" -f "#$tag" >/dev/null || fail "HOLD: members outlived their root"
snap_tries phost3.txt unpriv "$HOST" -r hold -w "LINE 12" -i pimg3 -o prun3.out -- "$GLR" pimg2 ||
    { cat phost3.txt; fail "checkpoint of the restored pipeline"; }
grep -q '^SIGNAL 9$' phost3.txt || fail "the restored pipeline, HOLD: $(tail -1 phost3.txt)"
unpriv "$GLR" pimg3 > prest3.out 2> prest3.err || { cat prest3.err; fail "the second restore of the pipeline"; }
cat prun2.out prun3.out prest3.out > pwhole3.out
same pwhole3.out pref.out "pipeline: HOLD, restored, HOLD, restored != undisturbed"
say "pipeline: HOLD, restored, checkpointed again with HOLD, restored: byte for byte the undisturbed run"

# ---- a parent and its workers: waited for by pid, their statuses -------------------------
unpriv env LD_PRELOAD="$SHIM" "$TREE" workers 3 8 > wref.out || fail "the undisturbed workers"
grep -q '^parent: pid same$' wref.out || fail "undisturbed workers: $(tail -1 wref.out)"
unpriv "$HOST" -p "$SHIM" -r hold -w "step 2" -i wimg -o wrun.out -- "$TREE" workers 3 8 > whost.txt ||
    { cat whost.txt; fail "checkpoint of the workers"; }
unpriv "$GLR" wimg > wrest.out 2> wrest.err || { cat wrest.err; fail "the restored workers"; }
cat wrun.out wrest.out > wwhole.out
same wwhole.out wref.out "workers: before the snapshot + restored != undisturbed"
say "a parent and 3 workers, restored: each waited for by its pid (the same returned), kill reached it, same statuses, getppid() the parent's"
# ---- zombies: children that ended and were not waited for yet ---------------------------
unpriv "$HOST" -p "$SHIM" -r hold -w ready -i zimg -o zrun.out -- "$TREE" zombie > zhost.txt ||
    { cat zhost.txt; fail "checkpoint of a parent with zombies"; }
grep -q '^SIGNAL 9$' zhost.txt || fail "zombies, HOLD: $(grep -v '^START' zhost.txt)"
unpriv "$GLR" zimg > zrest.out 2> zrest.err || { cat zrest.err; fail "the restored parent of zombies"; }
printf '%s\n' ready 'zombie 1: waited for its pid, got the same, exited 7' \
    'zombie 2: waited for its pid, got the same, killed by signal 10' done > zref.out
cat zrun.out zrest.out > zwhole.out
same zwhole.out zref.out "zombies: the restored parent's waits"
say "a parent with two zombies (exit 7, SIGUSR1), held and restored: each waitpid got its pid and status"

# ---- make and its compilers: make, the recipe's shell, cc and cc1 in flight ----------------
if command -v cc > /dev/null && command -v make > /dev/null; then
    mkdir mk && chmod 777 mk && cd mk || fail "no mk"
    awk 'BEGIN { for (i = 0; i < 800; i++)
                     printf "int g%d(int x){int s=0;for(int i=0;i<x;i++)s+=i*%d^(s>>3);return s;}\n", i, i }' > big.c
    printf 'int main(void){return 0;}\n' > main.c
    printf '%s\n' 'prog: main.o big.o' '	cc -o $@ main.o big.o' '	@echo linked' \
        '%.o: %.c' '	@echo compiling $<' '	@cc -O2 -c $< -o $@ & sleep 0.5; echo midway $<; wait' \
        '	@echo compiled $<' > Makefile
    unpriv make > ../mref.out 2>&1 || fail "the undisturbed make: $(cat ../mref.out)"
    rm -f ./*.o prog
    unpriv "$HOST" -p "$SHIM" -r hold -w "midway big.c" -i ../mimg -o ../mrun.out -- make > ../mhost.txt ||
        { cat ../mhost.txt; fail "checkpoint of make"; }
    grep -q '^SIGNAL 9$' ../mhost.txt || fail "make, HOLD: $(tail -1 ../mhost.txt)"
    sleep 0.3
    unpriv "$GLR" ../mimg > ../mrest.out 2> ../mrest.err || { cat ../mrest.err ../mrest.out; fail "the restored make"; }
    cat ../mrun.out ../mrest.out > ../mwhole.out
    same ../mwhole.out ../mref.out "make: before the snapshot + restored != undisturbed"
    [ -x prog ] || fail "the restored make made no program"
    cd .. || fail "no $T"
    say "make, its recipe's shell, cc and cc1 in flight: HOLD, restored, the compile and the link finished as undisturbed"
else
    say "no cc or make here: make and its compilers not tried"
fi
say "ok"
