# Real MPI programs (t/mpi/, built with Debian's MPICH) under glx -n on 4
# peers: glunix serves their PMI, so ranks on different peers find each
# other and talk directly; ranks that share a peer are told so (MPICH
# then uses shared memory between them); MPI_Abort and a dead rank end
# the whole job with the status mpiexec gives, Ctrl-C with 130; ranks
# that wait for one without a slot are told why; what glunix does not
# serve (the name service, spawning) is refused with an error, never a
# hang, and a stream that is not PMI is closed.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
MPI_SRC="$(cd "$(dirname "$0")/../mpi" && pwd)"
command -v mpicc >/dev/null || { echo "mpicc missing: install mpich and libmpich-dev"; exit 77; }
mpicc -show 2>/dev/null | grep -q mpich || { echo "mpicc is not MPICH's: $(mpicc -show 2>&1 | head -1)"; exit 77; }
for p in ring allreduce barrier abort die publish; do
    mpicc -O2 -o "$T/$p" "$MPI_SRC/$p.c" || fail "mpicc $p.c"
done
set +e      # exit codes are what this test looks at
names=(a b c d)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 4 "${names[@]}" || fail "no convergence"
has_estimates() { [ "$(status a | jq '[.members[] | select(.resources != null)] | length')" = 4 ]; }
wait_until 10 has_estimates || fail "estimates missing"
# mpi N PROGRAM ARGS...: glx -n N from a, any peer may run a rank; output
# in $T/out, glx's own words in $T/err; a hang is a failure, not a wait
mpi() {
    local n=$1; shift
    timeout 60 "$GLX" --runtime-dir "$T/a/run" -v -n "$n" --local "$@" > "$T/out" 2> "$T/err"
}
nodes() { grep -o "runs on [^ ]*" "$T/err" | sort -u | wc -l; }
left() { pgrep -f "^$T/" >/dev/null; }   # a rank of ours still running

# a token round a ring and an allreduce, 4 ranks spread over the peers
mpi 4 "$T/ring" 50; rc=$?
[ $rc = 0 ] && grep -q "^ring ok: 4 ranks" "$T/out" || fail "ring: exit $rc: $(cat "$T/out" "$T/err")"
[ "$(nodes)" -ge 2 ] || fail "ring: 4 ranks all on one peer: $(cat "$T/err")"
say "ring and allreduce, 4 ranks on $(nodes) peers"
# one rank alone has no launcher to ask: MPICH starts as a singleton
mpi 1 "$T/ring" 5; rc=$?
[ $rc = 0 ] && grep -q "^ring ok: 1 ranks" "$T/out" || fail "ring alone: exit $rc: $(cat "$T/out" "$T/err")"

# 8 ranks on 4 peers (their 8 slots on 2 cores), so some share a peer:
# MPICH's idea of who shares a node (its shared-memory communicator) is
# glunix's, and sums over it and over all come out right
mpi 8 "$T/allreduce"; rc=$?
[ $rc = 0 ] && grep -q "^allreduce ok: 8 ranks on $(nodes) nodes" "$T/out" \
    || fail "allreduce: exit $rc on $(nodes) peers: $(cat "$T/out" "$T/err")"
[ "$(nodes)" -ge 2 ] || fail "allreduce: 8 ranks all on one peer: $(cat "$T/err")"
say "allreduce, 8 ranks on $(nodes) peers: locality as MPICH sees it is right"

# a bulk-synchronous loop: compute, barrier, 50 times
mpi 4 "$T/barrier" 50 100; rc=$?
[ $rc = 0 ] && grep -q "^barrier ok: 4 ranks, 50 iterations" "$T/out" \
    || fail "barrier: exit $rc: $(cat "$T/out" "$T/err")"
say "barrier loop"

# MPI_Abort(7) on rank 2 while the others wait: all end, glx exits 7
mpi 4 "$T/abort" 2 7; rc=$?
[ $rc = 7 ] || fail "abort: exit $rc, expected 7: $(cat "$T/err")"
grep -q "rank 2 aborted the job (exit code 7); killing the job's other ranks" "$T/err" \
    || fail "abort: glx did not say why: $(cat "$T/err")"
wait_until 10 bash -c "! pgrep -f '^$T/' >/dev/null" || fail "abort: ranks left: $(pgrep -af "^$T/")"
mpi 2 "$T/abort" 0 0; rc=$?
[ $rc = 0 ] && grep -q "rank 0 aborted the job (exit code 0)" "$T/err" || fail "abort 0: exit $rc: $(cat "$T/err")"
say "MPI_Abort ends the job: exit 7, and 0 for MPI_Abort(comm, 0) as mpiexec"

# a rank killed (SIGKILL) or exiting (3) before MPI_Finalize: the others,
# stuck in a barrier, are ended; glx exits 9 and 3, as mpiexec does
mpi 4 "$T/die" 1 kill; rc=$?
[ $rc = 9 ] && grep -q "rank 1 was killed by signal 9" "$T/err" || fail "die kill: exit $rc: $(cat "$T/err")"
wait_until 10 bash -c "! pgrep -f '^$T/' >/dev/null" || fail "die kill: ranks left: $(pgrep -af "^$T/")"
mpi 4 "$T/die" 3 exit; rc=$?
[ $rc = 3 ] && grep -q "rank 3 exited with status 3 before MPI_Finalize" "$T/err" \
    || fail "die exit: exit $rc: $(cat "$T/err")"
wait_until 10 bash -c "! pgrep -f '^$T/' >/dev/null" || fail "die exit: ranks left: $(pgrep -af "^$T/")"
say "a dead rank ends the job: exit 9 (SIGKILL), 3 (exit 3)"

# Ctrl-C: glx passes SIGINT on to every rank, and exits 130 as for any
# job; that is the user's doing, not a rank's failure to report
"$GLX" --runtime-dir "$T/a/run" -n 4 --local "$T/barrier" 1000000 100 > "$T/out" 2> "$T/err" & g=$!
wait_until 20 bash -c "[ \"\$(pgrep -fc '^$T/barrier')\" = 4 ]" || fail "Ctrl-C: 4 ranks did not start"
sleep 1     # past MPI_Init
kill -INT $g
wait $g; rc=$?
[ $rc = 130 ] || fail "Ctrl-C: exit $rc, expected 130: $(cat "$T/err")"
grep -q "killing" "$T/err" && fail "Ctrl-C blamed a rank: $(cat "$T/err")"
wait_until 10 bash -c "! pgrep -f '^$T/' >/dev/null" || fail "Ctrl-C: ranks left: $(pgrep -af "^$T/")"
say "Ctrl-C ends every rank: exit 130"

# more ranks than the cluster has slots: those that run wait in MPI_Init
# for the one that waits for a slot, and glx says so instead of hanging
# in silence (every peer has a slot per core)
n=$(( 4 * $(nproc) + 1 ))
"$GLX" --runtime-dir "$T/a/run" -n $n --local "$T/ring" 5 > "$T/out" 2> "$T/err" & g=$!
said() { grep -q "waits for a free slot, and the .* for it in MPI_Init: an MPI job goes on only once all its $n ranks run" "$T/err"; }
wait_until 20 said || fail "$n ranks on $((n - 1)) slots: glx did not say why: $(cat "$T/err")"
kill -INT $g; wait $g
wait_until 10 bash -c "! pgrep -f '^$T/' >/dev/null" || fail "$n ranks: ranks left: $(pgrep -af "^$T/")"
say "$n ranks on $((n - 1)) slots: glx says why they wait"

# the name service is not served: an error at once, said by glx
mpi 2 "$T/publish"; rc=$?
[ $rc = 0 ] && grep -q "^publish refused" "$T/out" || fail "publish: exit $rc: $(cat "$T/out" "$T/err")"
grep -q "rank 0 asked for publish_name .*glunix serves no name service" "$T/err" \
    || fail "publish: glx did not say what was refused: $(cat "$T/err")"
say "MPI_Publish_name refused with an error, and glx says so"

# spawning, as MPICH's client asks for it (Debian's MPICH, built for
# UCX, refuses MPI_Comm_spawn before it asks: a shell speaks for it),
# gets its error answer at once; a stream that is not PMI is closed
out=$(timeout 20 "$GLX" --runtime-dir "$T/a/run" -n 2 --local sh -c \
    'printf "mcmd=spawn\nnprocs=1\nexecname=x\nendcmd\n" >&3; head -1 <&3' 2> "$T/err"); rc=$?
[ $rc = 0 ] && [ "$(echo "$out" | sort -u)" = "cmd=spawn_result rc=-1 msg=not_served_by_glunix" ] \
    && grep -q "rank 1 asked for spawn (MPI_Comm_spawn)" "$T/err" || fail "spawn: exit $rc: $out $(cat "$T/err")"
out=$(timeout 20 "$GLX" --runtime-dir "$T/a/run" -n 2 --local sh -c 'echo hello >&3; cat <&3; echo closed' \
    2> "$T/err"); rc=$?
[ $rc = 0 ] && [ "$(echo "$out" | sort -u)" = closed ] \
    && grep -q "rank 0 sent not a PMI-1 request (expected cmd= or mcmd=): its PMI connection was closed" "$T/err" \
    || fail "not PMI: exit $rc: $out $(cat "$T/err")"
say "spawn refused at once; a stream that is not PMI closed, and glx says why"
