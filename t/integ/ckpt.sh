# Checkpoint and restore of single processes (checkpoint/, glrestore(8)),
# with the host's side of ckpt_proto.h played by t/ckpt/ckhost, all as an
# unprivileged user (nobody, when the suite runs as root): the design
# needs no privilege, and this proves it.
# - a computation over 64 MiB, checkpointed mid-run: with GO it goes on
#   and ends as an undisturbed run; its image, restored in a new process
#   after it ended, ends the same (output before the snapshot + the
#   restored process's = the undisturbed run's, byte for byte);
# - with HOLD it stays parked until killed, and its image resumes it; or,
#   when the host closes the connection instead, it goes on;
# - a restored process is checkpointed and restored again;
# - a mapping with untouched holes has its pages present, no more;
# - the same with threads: joins, malloc and free, a thread blocked in
#   read() on a pipe, one in nanosleep();
# - the computation with its memory in huge pages (glibc's malloc told
#   to advise them): the snapshot is still the memory at the fork while
#   the job rewrites it (copy on write of huge pages splits them), the
#   advice travels in the image, the restored process has it again and
#   its own image carries it on;
# - a TCP socket is refused with its reason, and so is a POSIX message
#   queue (not taken for a file of its name), and a named semaphore
#   (others may open it), and a System V semaphore set or message queue
#   (through libc or a raw call), but not one removed before; a probe
#   answers MOVABLE;
# - a corrupted or truncated image is refused by glrestore (exit 120,
#   "glrestore: <reason>") and nothing runs.
# sanitizers: yes
# parallel: no (it reads the restorer's objects in the build tree, which a
# build beside it may be rewriting: once, beside other tests, its check of
# the second stage failed on an object that was whole afterwards)
. "$(dirname "$0")/lib.sh"
set +e
ckpt_progs HOST PROG GLR SHIM STREAM
grep -q '^\[vdso\]\|vdso' /proc/self/maps || { echo "no vDSO on this kernel: nothing to move"; exit 77; }
cd "$T" || fail "no $T"
chmod 777 "$T"

unpriv_can -x "$GLR" -a -r "$SHIM"
# glrestore's second stage runs from a copy of the section glr_blob once
# everything else of the program is unmapped: it may refer to nothing
# outside that section, and have no code or data elsewhere.
obj="$BUILD/checkpoint/libglblob_a-restore_blob.o"
[ -f "$obj" ] || fail "no $obj"
ndx=$(readelf -SW "$obj" | sed -n 's/^ *\[ *\([0-9]*\)\] glr_blob .*/\1/p')
[ -n "$ndx" ] || fail "no section glr_blob in $obj"
defined=$(readelf -sW "$obj" | awk -v n="$ndx" '$7 == n { print $8 }')
[ -n "$defined" ] || fail "readelf -sW $obj shows no symbol in glr_blob (section $ndx): $(readelf -sW "$obj" 2>&1 | tail -n 5)"
for sym in $(readelf -rW "$obj" | awk '/^Relocation section/ { in_blob = ($3 == "'"'"'.relaglr_blob'"'"'") }
                                     in_blob && /R_X86_64/ { print $5 }'); do
    echo "$defined" | grep -qx "$sym" || fail "the second stage refers to $sym, outside its section"
done
readelf -SW "$obj" | sed 's/^ *\[ *[0-9]*\] *//' |
    awk '$1 ~ /^\.(text|rodata|data|bss)/ && $5 ~ /[1-9a-f]/ { bad = bad " " $1 }
         END { if (bad) { print "code or data outside glr_blob:" bad; exit 1 } }' ||
    fail "the second stage is not self-contained"
say "the second stage refers only to itself ($(echo $defined | wc -w) symbols in glr_blob)"

# The programs under checkpoint run with the shim (ckhost -p: not ckhost,
# which may be sanitized); glrestore itself runs without (it becomes the
# image's process, whose shim is in the image).

# at N FILE: the byte offset ckhost reported at SNAP
at() { sed -n 's/^SNAP [0-9]* at=\([0-9]*\)$/\1/p' "$1"; }
# same A B: the files are byte for byte the same, or fail with the diff
same() { cmp -s "$1" "$2" || { diff "$1" "$2" | head -20; fail "$3"; }; }

# ---- one thread --------------------------------------------------------------------
unpriv env LD_PRELOAD="$SHIM" "$PROG" single 64 8 > ref.out || fail "the undisturbed run"
grep -q '^result .* pid same$' ref.out || fail "undisturbed: $(tail -1 ref.out)"

unpriv "$HOST" -p "$SHIM" -r go -w "step 2" -i img1 -o run1.out -- \
    "$PROG" single 64 8 > host1.txt || { cat host1.txt; fail "checkpoint with GO"; }
cat host1.txt
grep -q '^EXIT 0$' host1.txt || fail "the job after GO: $(tail -1 host1.txt)"
same run1.out ref.out "the job went on after GO but its output differs"
a1=$(at host1.txt)
[ -n "$a1" ] && [ -s img1 ] || fail "no SNAP or no image"
say "GO: the job went on and ended as an undisturbed run; image of $(stat -c %s img1) bytes"

unpriv "$GLR" img1 > rest1.out 2> rest1.err; rc=$?
if grep -q "does not let a process move its vDSO" rest1.err; then
    cat rest1.err
    echo "this kernel does not let a process move its vDSO: nothing can be restored here"
    exit 77
fi
[ $rc = 0 ] || { cat rest1.err; fail "restored process exited $rc"; }
{ head -c "$a1" run1.out; cat rest1.out; } > whole1.out
same whole1.out ref.out "before the snapshot + restored != undisturbed"
say "restored in a new process after the job ended: same output, same result, pid unchanged"

# held_restored WHAT ARGS...: ckcompute ARGS held at its "step 1" and
# restored: its output, before the snapshot and after, is an undisturbed
# run's, or fail saying WHAT differs
held_restored() {
    local what=$1 n=$2
    shift
    unpriv env LD_PRELOAD="$SHIM" "$PROG" "$@" > "ref$n.out" || fail "the undisturbed $n run"
    unpriv "$HOST" -p "$SHIM" -r hold -w "step 1" -i "img$n" -o "run$n.out" -- "$PROG" "$@" \
        > "host$n.txt" || { cat "host$n.txt"; fail "checkpoint of $n"; }
    unpriv "$GLR" "img$n" > "rest$n.out" 2> "rest$n.err" || { cat "rest$n.err"; fail "restore of $n"; }
    { head -c "$(at "host$n.txt")" "run$n.out"; cat "rest$n.out"; } > "whole$n.out"
    same "whole$n.out" "ref$n.out" "$what"
}

# what the kernel says of the process travels too: its name and its
# threads', its command line (ps), its break (the heap grows by brk)
held_restored "the restored process's name, command line or break differ" ident 4
say "restored: $(tail -2 restident.out | tr '\n' ' ')"

# an eventfd, a timerfd, a signalfd and an epoll watching two of them
# move with their state (kobj.h); a duplicated one is refused, saying so
held_restored "eventfd, timerfd, signalfd or epoll not as they were after a restore" kobj 5
unpriv "$HOST" -p "$SHIM" -r probe -w ready -o /dev/null -- "$PROG" kobj-dup 2 > hostKd.txt
grep -q '^REFUSE fd [0-9]*: the same kernel object as fd [0-9]* (a duplicate)' hostKd.txt ||
    fail "a duplicated eventfd: $(grep -v '^START' hostKd.txt)"
say "eventfd, timerfd, signalfd, epoll restored with their state; $(grep '^REFUSE' hostKd.txt)"

# pages come only where the image has them: a mapping written in runs
# with untouched holes has as many pages present after its restore as
# before, from the file and from a move's sealed stream (t/ckpt/
# ckstream), where the restorer makes the pages after a record present
# while the record comes and must drop them again where a hole follows
# (its thread for that told to run: on a machine of two cores it would
# not, the sender being here)
held_restored "a restored mapping with holes has other pages present, or other contents" sparse 6
unpriv env GLUNIX_RESTORE_AHEAD=1 "$STREAM" whole "$GLR" imgsparse > srestsparse.out 2> srestsparse.err ||
    { cat srestsparse.err; fail "restore of the mapping with holes from a sealed stream"; }
{ head -c "$(at hostsparse.txt)" runsparse.out; cat srestsparse.out; } > swholesparse.out
same swholesparse.out refsparse.out \
    "a mapping with holes restored from a sealed stream has other pages present, or other contents"
say "a mapping with holes restored, from the file and a sealed stream: $(tail -1 srestsparse.out)"

# a request does not cut short a call the kernel would end with EINTR
# (poll without a limit, a sleep, epoll_wait and poll with one): the shim
# makes it again, a limit in milliseconds less the time it held the call
for how in poll sleep epoll polltimed; do
    unpriv "$HOST" -p "$SHIM" -r probe -w ready -o wait.out -- "$PROG" wait $how > hostW.txt ||
        { cat hostW.txt; fail "probe of a job waiting in $how"; }
    grep -q "^$how: \(the data came\|whole\)$" wait.out || fail "$how after a request: $(cat wait.out)"
    unpriv "$HOST" -p "$SHIM" -r go -w ready -o wait.out -- "$PROG" wait $how > hostW.txt ||
        { cat hostW.txt; fail "checkpoint of a job waiting in $how"; }
    grep -q "^$how: \(the data came\|whole\)$" wait.out || fail "$how after a checkpoint: $(cat wait.out)"
done
say "poll, epoll_wait and nanosleep interrupted by a request go on: $(tail -1 wait.out)"

unpriv "$HOST" -r go -w "step 5" -i img2 -o run2.out -- "$GLR" img1 > host2.txt ||
    { cat host2.txt; fail "checkpoint of a restored process"; }
a2=$(at host2.txt)
unpriv "$GLR" img2 > rest2.out 2> rest2.err || { cat rest2.err; fail "second restore"; }
{ head -c "$a1" run1.out; head -c "$a2" run2.out; cat rest2.out; } > whole2.out
same whole2.out ref.out "restored twice != undisturbed"
say "a restored process checkpointed and restored again: same output"

unpriv "$HOST" -p "$SHIM" -r hold -w "step 3" -i img3 -o run3.out -- \
    "$PROG" single 64 8 > host3.txt || { cat host3.txt; fail "checkpoint with HOLD"; }
grep -q '^SIGNAL 9$' host3.txt || fail "HOLD: the job was not parked until killed: $(tail -1 host3.txt)"
[ "$(at host3.txt)" = "$(stat -c %s run3.out)" ] || fail "HOLD: the job wrote after its snapshot"
unpriv "$GLR" img3 > rest3.out 2> rest3.err || { cat rest3.err; fail "restore after HOLD"; }
cat run3.out rest3.out > whole3.out
same whole3.out ref.out "HOLD, killed, restored != undisturbed"
say "HOLD: parked until killed, resumed from its image"

unpriv "$HOST" -p "$SHIM" -r letgo -w "step 3" -i img4 -o run4.out -- "$PROG" single 64 8 > host4.txt ||
    { cat host4.txt; fail "HOLD, then let go"; }
grep -q '^EXIT 0$' host4.txt || fail "HOLD, then let go: $(tail -1 host4.txt)"
same run4.out ref.out "HOLD, then let go: the job's output differs"
say "HOLD, then the connection closed (a move that failed): the job went on, whole"

# ---- a move's own link: the image sealed by the shim's writer -----------------------------
# ckhost hands the shim a loopback connection and a key, as an old host
# does (ckpt_proto.h, "A move's stream"): the writer seals the image onto
# it, which opens and restores; the image, written raw, holds neither the
# key nor its hex; a connection closed early (a restorer that died) is
# the writer's UNSENT, and the job, let go, ends whole
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
    unpriv env GLUNIX_CKPT_COMPRESS=0 "$HOST" -s whole -p "$SHIM" -r hold -w "step 3" -i img7 \
        -o run7.out -- "$PROG" single 64 8 > host7.txt || { cat host7.txt; fail "sealed by the writer"; }
    grep -q '^SEALED [0-9]* chunks, ended$' host7.txt && grep -q '^END$' host7.txt ||
        fail "sealed by the writer: $(grep -v '^START\|^KEY' host7.txt)"
    # the writer leaves a move's records unsummed (its restorer takes
    # their sums as they stand): img7, the stream opened, restores as the
    # move's stream it is, and as a file, whose sums are checked, not
    unpriv "$STREAM" whole "$GLR" img7 > rest7.out 2> rest7.err ||
        { cat rest7.err; fail "restore of the sealed image"; }
    if unpriv "$GLR" -n img7 2> rest7f.err || ! grep -q 'its sum does not match' rest7f.err; then
        fail "the writer's image of a move read as a file: $(cat rest7f.err)"
    fi
    cat run7.out rest7.out > whole7.out
    same whole7.out ref.out "sealed by the writer, restored != undisturbed"
    key=$(sed -n 's/^KEY //p' host7.txt)
    python3 -c 'import sys; i = open(sys.argv[1], "rb").read(); k = sys.argv[2]
sys.exit(len(k) != 64 or k.encode () in i or bytes.fromhex (k) in i)' img7 "$key" ||
        fail "the move's key (${key:-none printed}) is in the image"
    unpriv "$HOST" -s cut -p "$SHIM" -r letgo -w "step 3" -o run8.out -- "$PROG" single 64 8 \
        > host8.txt || { cat host8.txt; fail "sealed, cut"; }
    grep -q "^UNSENT the image's connection to the new host's restorer was closed by the restorer$" \
        host8.txt || fail "sealed, cut: the writer did not say so: $(grep -v '^START\|^KEY' host8.txt)"
    grep -q '^EXIT 0$' host8.txt || fail "sealed, cut, let go: $(tail -1 host8.txt)"
    same run8.out ref.out "sealed, cut, let go: the job's output differs"
    say "sealed by the writer onto a move's link: restored, records unsummed, no key in the image; cut: $(grep '^UNSENT' host8.txt), the job went on"
else
    say "sealed by the writer: not run: this CPU has no AES-NI and PCLMULQDQ (the agent seals)"
fi

# ---- threads --------------------------------------------------------------------------
unpriv env LD_PRELOAD="$SHIM" "$PROG" threads 64 8 > tref.out || fail "the undisturbed threads"
unpriv "$HOST" -p "$SHIM" -r go -w "step 2" -i timg1 -o trun1.out -- \
    "$PROG" threads 64 8 > thost1.txt || { cat thost1.txt; fail "checkpoint of threads"; }
cat thost1.txt
same trun1.out tref.out "threads: the job went on after GO but its output differs"
t1=$(at thost1.txt)
unpriv "$GLR" timg1 > trest1.out 2> trest1.err || { cat trest1.err; fail "restore of threads"; }
{ head -c "$t1" trun1.out; cat trest1.out; } > twhole1.out
same twhole1.out tref.out "threads: before the snapshot + restored != undisturbed"
say "5 threads (in a barrier, in read() on a pipe, in nanosleep()): GO, restored, joined, same output"

unpriv "$HOST" -r hold -w "step 5" -i timg2 -o trun2.out -- "$GLR" timg1 > thost2.txt ||
    { cat thost2.txt; fail "checkpoint of restored threads"; }
unpriv "$GLR" timg2 > trest2.out 2> trest2.err || { cat trest2.err; fail "second restore of threads"; }
{ head -c "$t1" trun1.out; cat trun2.out trest2.out; } > twhole2.out
same twhole2.out tref.out "threads restored twice != undisturbed"
say "restored threads checkpointed (HOLD) and restored again: same output"

# ---- memory in huge pages ---------------------------------------------------------------------
# glibc.malloc.hugetlb=1: malloc advises MADV_HUGEPAGE on what it maps.
# The job keeps rewriting its memory after GO, so pages written after the
# fork (huge ones split by the copy on write) must not reach the image.
# glibc advises only when the kernel's THP mode is madvise (in "always"
# it need not, in "never" it cannot): elsewhere this part cannot run.
thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo "absent")
if [[ $thp == *"[madvise]"* ]]; then
    HT=glibc.malloc.hugetlb=1
    unpriv env GLIBC_TUNABLES=$HT "$HOST" -p "$SHIM" -r go -w "step 2" -i himg1 -o hrun1.out -- \
        "$PROG" single 64 8 > hhost1.txt || { cat hhost1.txt; fail "checkpoint with GO, huge pages"; }
    grep -q '^EXIT 0$' hhost1.txt || fail "the job in huge pages after GO: $(tail -1 hhost1.txt)"
    same hrun1.out ref.out "huge pages: the job went on after GO but its output differs"
    ha1=$(at hhost1.txt)
    unpriv "$GLR" -n -v himg1 2> hcheck1.txt || { cat hcheck1.txt; fail "huge pages: glrestore -n"; }
    grep -q '([1-9][0-9]* advised to use huge pages)' hcheck1.txt ||
        fail "huge pages: the image does not carry the advice: $(cat hcheck1.txt)"
    unpriv "$HOST" -r go -w "step 5" -i himg2 -o hrun2.out -- "$GLR" himg1 > hhost2.txt ||
        { cat hhost2.txt; fail "huge pages: checkpoint of the restored process"; }
    ha2=$(at hhost2.txt)
    unpriv "$GLR" -n -v himg2 2> hcheck2.txt || { cat hcheck2.txt; fail "huge pages: glrestore -n (2)"; }
    grep -q '([1-9][0-9]* advised to use huge pages)' hcheck2.txt ||
        fail "huge pages: the restored process lost the advice: $(cat hcheck2.txt)"
    unpriv "$GLR" himg2 > hrest2.out 2> hrest2.err || { cat hrest2.err; fail "huge pages: second restore"; }
    { head -c "$ha1" hrun1.out; head -c "$ha2" hrun2.out; cat hrest2.out; } > hwhole2.out
    same hwhole2.out ref.out "huge pages: GO, restored, checkpointed, restored != undisturbed"
    say "memory in huge pages: GO while it is rewritten, restored with the advice, checkpointed and restored again: same output"
else
    say "memory in huge pages: not run: glibc's malloc advises huge pages only in the kernel's madvise THP mode (here: $thp)"
fi

# ---- what cannot move, and the probe ------------------------------------------------------
# refuses WHAT ARGS PATTERN: the program with ARGS, asked for a checkpoint
# once ready, is refused with a REFUSE line matching PATTERN (after
# "REFUSE "), and goes on to its end
refuses() {
    local what=$1 args=$2 want=$3 f=${2%% *}
    unpriv "$HOST" -p "$SHIM" -r go -w ready -o "$f.out" -- "$PROG" $args > "$f.host" ||
        { cat "$f.host"; fail "$what: no answer"; }
    grep -q "^REFUSE $want" "$f.host" || fail "$what: $(grep '^REFUSE\|^MOVED\|^EXIT' "$f.host")"
    grep -q '^done 1$' "$f.out" && grep -q '^EXIT 0$' "$f.host" ||
        fail "$what: refused, but the job did not go on"
    say "refused: $(grep '^REFUSE' "$f.host")"
}
refuses "a TCP socket" socket 'fd [0-9]*: a TCP socket .*127\.0\.0\.1:[0-9]*$'
# a POSIX message queue: a regular file to fstat, named /NAME in /proc,
# refused as what it is, not taken for a file of that path
refuses "a message queue" mqueue 'fd [0-9]*: the POSIX message queue /ckcompute-[0-9]* (kernel objects'
# a named POSIX semaphore, made by glibc as a temporary file linked under
# its name: its mapping reads as deleted, but others may open it
refuses "a named semaphore" semaphore \
    'the mapping at 0x[0-9a-f]*: shared memory that /dev/shm/sem.ckcompute-[0-9]* names'
# System V semaphores and message queues: the kernel's, by ids no other
# node has; noted by the shim as the program uses them (through libc,
# or its own syscall instruction through the dispatch), asked of the
# kernel at the checkpoint: one removed before it is no reason
refuses "a System V semaphore set" "sysv sem" 'it uses System V semaphore set [0-9]* (semget)'
refuses "a System V message queue" "sysv msg" 'it uses System V message queue [0-9]* (msgget)'
unpriv "$HOST" -p "$SHIM" -r go -w ready -o sysvraw.out -- "$PROG" sysv raw > sysvraw.host ||
    { cat sysvraw.host; fail "a raw semget: no answer"; }
if grep -q '^no dispatch' sysvraw.out; then
    say "a raw semget: not checked: $(grep '^no dispatch' sysvraw.out)"
else
    grep -q '^REFUSE it uses System V semaphore set' sysvraw.host ||
        fail "a set made by a raw semget: $(grep '^REFUSE\|^MOVED\|^EXIT' sysvraw.host)"
    say "refused: a set made by a raw semget"
fi
unpriv "$HOST" -p "$SHIM" -r probe -w ready -o sysvgone.out -- "$PROG" sysv gone > sysvgone.host ||
    { cat sysvgone.host; fail "a set removed: no answer"; }
grep -q '^MOVABLE$' sysvgone.host || fail "a set removed before: $(grep -v '^START' sysvgone.host | sed -n 2p)"
say "a System V set removed before the checkpoint: MOVABLE"
unpriv "$HOST" -p "$SHIM" -r probe -w ready -o probe.out -- "$PROG" single 8 3 > phost.txt ||
    { cat phost.txt; fail "probe: no answer"; }
grep -q '^MOVABLE$' phost.txt || fail "probe: $(grep -v '^START' phost.txt | sed -n 2p)"
grep -q '^result ' probe.out || fail "the probed job did not end"
say "a probe of a plain program: MOVABLE, and it went on"

# ---- a corrupted or truncated image ------------------------------------------------------
refused() {  # IMAGE WHAT
    unpriv "$GLR" "$1" > bad.out 2> bad.err; rc=$?
    [ $rc = 120 ] || fail "$2: glrestore exited $rc, not 120"
    [ ! -s bad.out ] || fail "$2: something ran: $(head -3 bad.out)"
    grep -q '^glrestore: ' bad.err || fail "$2: no reason: $(cat bad.err)"
    say "$2: $(cat bad.err)"
}
size=$(stat -c %s img1)
cp img1 bad1
printf '\x55' | dd of=bad1 bs=1 seek=$((size / 2)) conv=notrunc status=none
# (a byte that was 0x55 already is changed otherwise: one image in 256)
cmp -s img1 bad1 && printf '\xaa' | dd of=bad1 bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s img1 bad1 && fail "bad1 is img1"
chmod 644 bad1
refused bad1 "a flipped byte"
head -c $((size / 3)) img1 > bad2
refused bad2 "truncated"
head -c 100 img1 > bad3
refused bad3 "cut in its first records"
: > bad4
refused bad4 "empty"
exit 0
