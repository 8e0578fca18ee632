# A move's own stream into the restorer (ckpt_proto.h, "A move's
# stream"; checkpoint/imgseal.h), played by t/ckpt/ckstream against
# glrestore -n (read and check the image, restore nothing) with an image
# of t/ckpt/ckcompute:
# - sent whole, the image is read and found whole;
# - a connection that says nothing (heard beside the others, not before
#   them), one that sends no chunk, and one that sends a whole stream
#   under another key, all made before the real one, are dropped
#   unheard: the image that follows is read;
# - restored for real (not -n), an image of ckcompute's threads held at
#   its first step becomes the process again: before the snapshot + the
#   restored process's output = an undisturbed run's, byte for byte, and
#   while it runs it has its own 5 threads, none of the restorer's;
# - a stream cut in a chunk, or missing its last chunk, with a bit
#   flipped, a chunk replayed, or bytes after its end: refused (exit
#   120, "glrestore: <reason>" naming what), and said to the agent by
#   its code on the descriptor: C (GL_RESTORE_CUT) for the two cut
#   ones, F (GL_RESTORE_REFUSED) for the others;
# - a stream whole but of an image that ends in its capture's FAIL
#   record: refused with the capture's reason, said as F, or as A
#   (GL_RESTORE_AGAIN) when the FAIL is marked for an instant
#   (IMG_FAIL_AGAIN: the move is made again).
# sanitizers: no (glrestore is never built with them)
. "$(dirname "$0")/lib.sh"
set +e
ckpt_progs HOST PROG GLR SHIM STREAM
grep -q 'vdso' /proc/self/maps || { echo "no vDSO on this kernel: nothing to move"; exit 77; }
cd "$T" || fail "no $T"

"$HOST" -p "$SHIM" -r go -w "step 2" -i img -o run.out -- "$PROG" single 16 40 > host.txt ||
    { cat host.txt; fail "checkpoint"; }
[ -s img ] || fail "no image"
say "an image of $(stat -c %s img) bytes"

"$STREAM" whole "$GLR" img -n 2> whole.err; rc=$?
[ $rc = 0 ] || { cat whole.err; fail "whole: glrestore exited $rc"; }
grep -q 'the image is whole' whole.err || fail "whole: $(cat whole.err)"
say "whole: $(cat whole.err)"

"$STREAM" intruders "$GLR" img -n 2> intr.err; rc=$?
[ $rc = 0 ] || { cat intr.err; fail "intruders first: glrestore exited $rc"; }
grep -q 'the image is whole' intr.err || fail "intruders first: $(cat intr.err)"
say "three intruders first (one silent), dropped: $(cat intr.err)"

env LD_PRELOAD="$SHIM" "$PROG" threads 16 40 > tref.out || fail "the undisturbed threads run"
"$HOST" -p "$SHIM" -r hold -w "step 1" -i timg -o trun.out -- "$PROG" threads 16 40 > thost.txt ||
    { cat thost.txt; fail "checkpoint of threads"; }
"$STREAM" whole "$GLR" timg > trest.out 2> trest.err &
spid=$!
wait_until 20 grep -q "^step 20 " trest.out || { cat trest.err; fail "the restored threads did not run"; }
rpid=$(pgrep -P "$spid")
ntask=$(ls "/proc/$rpid/task" 2> /dev/null | wc -l)
wait "$spid"; rc=$?
[ $rc = 0 ] || { cat trest.err; fail "threads from the stream: glrestore exited $rc"; }
[ "$ntask" = 5 ] || fail "the process restored from the stream had $ntask threads, not its 5"
at=$(sed -n 's/^SNAP [0-9]* at=\([0-9]*\)$/\1/p' thost.txt)
{ head -c "$at" trun.out; cat trest.out; } > twhole.out
cmp -s twhole.out tref.out || { diff twhole.out tref.out | head; fail "threads restored from the stream != undisturbed"; }
say "restored from the stream: the threads' output is an undisturbed run's, $ntask threads"

refused() {  # MODE WHAT PATTERN CODE
    "$STREAM" "$1" "$GLR" img -n 2> bad.err; rc=$?
    [ $rc = 120 ] || { cat bad.err; fail "$2: glrestore exited $rc, not 120"; }
    grep -q "^glrestore: .*$3" bad.err || fail "$2: not the reason expected ($3): $(cat bad.err)"
    grep -qx "ckstream: glrestore said $4" bad.err || fail "$2: not said to the agent as $4: $(cat bad.err)"
    say "$2: $(cat bad.err)"
}
refused cut "cut in a chunk" "cut before its end" C
refused nolast "without its last chunk" "cut before its end" C
refused flip "a bit flipped" "does not open under the move's key" F
refused replay "a chunk replayed" "does not open under the move's key" F
refused extra "bytes after its end" "bytes follow the image's stream's last chunk" F
refused failed "an image that ends in its capture's failure" "failed while its image was written: fd 7" F
refused failagain "the same, the failure for an instant" "failed while its image was written: fd 7" A
exit 0
