#!/usr/bin/env bash
# bench/gang.sh -- coscheduling: two fine-grained bulk-synchronous programs
# sharing two peers, side by side in one run:
#   1. each alone (dedicated): glx -n 2 -w a,b, and mpiexec -n 2 -bind-to core
#      (MPICH's own launcher) for the same program: run time and
#      launch-to-first-barrier
#   2. both at once as gangs (coscheduled: the peers take turns, 100 ms slices)
#   3. both at once with coscheduling off (uncoordinated: Linux alone), on
#      two more peers c and d pinned to the same cores, whose gang processes
#      are never stopped (sched/gang_stop = none; --no-gang would not do:
#      a node takes one job that is not a gang per core, so the second
#      program would wait for the first)
#   4. the switch skew between the two peers, from their timestamped logs
#
#   bench/gang.sh [--program mpi|bsp] [--runs N] [--steps N] [--slice DURATION]
#                 [--build DIR] [--keep DIR]
#   (defaults mpi where glx runs MPI programs, 3, 3000, 100ms, build/;
#   --keep DIR copies the peers' logs and the raw times there)
#
# The program: a step is about 1 ms of work, a fixed number of loops
# (calibrated here), then a barrier; one rank on each peer.  mpi is
# bench/bsp_mpi.c, built with Debian's MPICH (mpicc), whose MPI_Barrier
# polls; bsp is bench/bsp.c, the same with a barrier of its own that polls
# for a UDP message from the other rank, for a tree or a machine where
# glx cannot run MPI programs.  Peers a and c run on core 0, b and d on core 1
# (taskset: the peers and their jobs), so the two programs' ranks share a
# core on each peer.  Each configuration runs N times; the table has medians and
# ratios to the dedicated glx run.  Needs jq, gcc and (for the mpiexec
# row) MPICH.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=3; STEPS=3000; SLICE=100ms; BUILD=${BUILD:-$top/build}; KEEP=""; PROGRAM=""
while [ $# -gt 0 ]; do
    case "$1" in
        --program) PROGRAM=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --steps) STEPS=$2; shift 2 ;;
        --slice) SLICE=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        --keep) KEEP=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "usage: $0 [--program mpi|bsp] [--runs N] [--steps N] [--slice DURATION] [--build DIR] [--keep DIR]" >&2; exit 2 ;;
    esac
done
BUILD=$(cd "$BUILD" && pwd)
GLX=$BUILD/glx
REAL_GLPEER=$BUILD/glpeer
[ -x "$REAL_GLPEER" ] && [ -x "$GLX" ] || { echo "no glpeer/glx in $BUILD (build first)" >&2; exit 1; }
command -v jq > /dev/null && command -v gcc > /dev/null || { echo "jq and gcc are needed" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "two cores are needed" >&2; exit 1; }
log() { echo "[$(date +%T)] $*" >&2; }

# Each peer starts pinned to its core through this wrapper (its jobs
# inherit the affinity; the agent counts the cores it may use).
W=$(mktemp -d /tmp/glunix-gangbench.XXXXXX)
cat > "$W/glpeer" <<EOF
#!/bin/sh
[ -n "\${BENCH_CORE:-}" ] && exec taskset -c "\$BENCH_CORE" "$REAL_GLPEER" "\$@"
exec "$REAL_GLPEER" "\$@"
EOF
chmod +x "$W/glpeer"
export GLPEER=$W/glpeer BUILD
# On a shared machine other processes take turns on our cores too, and
# Linux shares a core by task: two ranks uncoordinated would get two
# shares where a coscheduled or dedicated one gets one.  As root the bench
# runs in a cpu cgroup of the greatest weight, so that everything it
# starts has the cores nearly to itself (said in the output either way).
CG=""
for d in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct; do
    if [ "$(id -u)" = 0 ] && [ -w "$d/cpu.shares" ] && mkdir "$d/glunix-bench.$$" 2> /dev/null; then
        CG=$d/glunix-bench.$$
        echo 262144 > "$CG/cpu.shares" && echo $$ > "$CG/tasks" || CG=""
        break
    fi
done
teardown_cg() {
    [ -n "$CG" ] || return 0
    echo $$ > "$(dirname "$CG")/tasks"
    for i in 1 2 3 4 5 6 7 8 9 10; do rmdir "$CG" 2> /dev/null && return 0; sleep 0.5; done
}
EXTRA_CLEANUP='rm -rf "$W"; teardown_cg'
. "$top/t/integ/lib.sh"
write_conf "sched" "    gang_slice = $SLICE" "log" "    level = \"debug\""
BENCH_CORE=0 start_peer a 0
BENCH_CORE=1 start_peer b 1
BENCH_CORE=0 start_peer c 2 --set sched/gang_stop=none
BENCH_CORE=1 start_peer d 3 --set sched/gang_stop=none
wait_until 30 all_alive 4 a b c d || fail "the peers did not converge"
export GLUNIX_RUNTIME_DIR=$T/a/run
gcc -O2 -o "$T/bsp" "$top/bench/bsp.c"
LOOPS=$(taskset -c 0 "$T/bsp" calibrate)
# mpi where glx serves MPI programs (a 2-rank run through glx works)
why_bsp=""
if [ "$PROGRAM" != bsp ]; then
    if ! command -v mpicc > /dev/null || ! command -v mpiexec > /dev/null; then
        why_bsp="no MPICH (mpicc, mpiexec) here"
    elif ! mpicc -O2 -o "$T/bsp_mpi" "$top/bench/bsp_mpi.c" 2> "$T/mpicc.err"; then
        why_bsp="mpicc failed: $(head -1 "$T/mpicc.err")"
    elif ! timeout 30 "$GLX" -n 2 -w a,b "$T/bsp_mpi" 10 1000 > "$T/probe.out" 2> "$T/probe.err" ||
        [ "$(grep -c ' ranks 2$' "$T/probe.out")" != 1 ]; then
        why_bsp="glx -n 2 does not run an MPI program as one job of 2 ranks in this tree (no PMI)"
    fi
    [ -z "$why_bsp" ] || [ "$PROGRAM" != mpi ] || fail "--program mpi: $why_bsp"
fi
PROGRAM=${why_bsp:+bsp}; PROGRAM=${PROGRAM:-mpi}
[ -z "$why_bsp" ] || log "the program is bsp: $why_bsp"
log "4 peers up (a, c on core 0, b, d on core 1), stop method: $(status a | jq -r .gangs.stop), on c: $(status c | jq -r .gangs.stop); $LOOPS loops a millisecond"
wait_until 30 bash -c "timeout 10 '$GLX' -n 2 -w a,b /bin/true" || fail "glx -n 2 -w a,b /bin/true never worked"

# one TAG PORT [glx options | mpiexec]: a program of STEPS steps (on a and b
# unless the options say otherwise), its ranks
# on UDP ports PORT and PORT + 1; "time first-barrier-delay total" into $T/TAG
one() {
    local tag=$1 port=$2; shift 2
    local t0; t0=$(date +%s.%N)
    local prog=("$T/bsp" "$STEPS" "$LOOPS" "$port")
    [ "$PROGRAM" = bsp ] || prog=("$T/bsp_mpi" "$STEPS" "$LOOPS")
    if [ "${1:-}" = mpiexec ]; then
        mpiexec -n 2 -bind-to core "${prog[@]}" > "$T/$tag.out" 2> "$T/$tag.err"
    else
        "$GLX" -n 2 "${@:--wa,b}" "${prog[@]}" > "$T/$tag.out" 2> "$T/$tag.err"
    fi || { log "$tag failed: $(cat "$T/$tag.err")"; return 1; }
    local t1; t1=$(date +%s.%N)
    awk -v t0="$t0" -v t1="$t1" '/^first_barrier/ { printf "%.6f %.6f %.6f\n", $6, $2 - t0, t1 - t0 }' "$T/$tag.out" >> "$T/$tag"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$2" '{ print $c }' "$T/$1" | median; }

HAVE_MPI=1
command -v mpiexec > /dev/null || HAVE_MPI=0
for r in $(seq "$RUNS"); do
    log "round $r of $RUNS"
    p=$((20000 + 16 * r))
    one dedicated $p
    [ $HAVE_MPI = 0 ] || one mpiexec $((p + 2)) mpiexec || HAVE_MPI=0
    one cosched1 $((p + 4)) & p1=$!
    one cosched2 $((p + 6)) & p2=$!
    wait $p1; wait $p2
    one uncoord1 $((p + 8)) -wc,d & p1=$!
    one uncoord2 $((p + 10)) -wc,d & p2=$!
    wait $p1; wait $p2
done

# switch skew: the same slice's switch on a and on b, from their logs
# ("gang switch: slice S ... woke T1 switched T2 done T3", wall-clock
# seconds): T1 when the slice timer woke the agent, T2 when the last
# row's processes were still and the new row's were continued (the
# switch as the jobs see it), T3 when the agent was done
switches() {
    sed -n 's/.*gang switch: slice \([0-9]*\) .* woke \([0-9.]*\) switched \([0-9.]*\) done \([0-9.]*\).*/\1 \2 \3 \4/p' "$T/$1.log"
}
switches a | sort -k1,1 > "$T/sw.a"
switches b | sort -k1,1 > "$T/sw.b"
# per slice on both: |woke skew| |switched skew| a's and b's woke-to-switched, us
join "$T/sw.a" "$T/sw.b" | awk '{ w = ($2 - $5) * 1e6; x = ($3 - $6) * 1e6;
    print (w < 0 ? -w : w), (x < 0 ? -x : x), ($3 - $2) * 1e6, ($6 - $5) * 1e6 }' > "$T/skew"
pct() {  # pct COLUMN P: the P-th percentile of a column of $T/skew
    awk -v c="$1" '{ print $c }' "$T/skew" | sort -g | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.0f", v[i] }'
}
n_sw=$(wc -l < "$T/skew")
[ -z "$KEEP" ] || { mkdir -p "$KEEP" && cp "$T"/a.log "$T"/b.log "$T"/skew "$T"/sw.a "$T"/sw.b "$KEEP"/ &&
    for g in dedicated mpiexec cosched1 cosched2 uncoord1 uncoord2; do [ ! -f "$T/$g" ] || cp "$T/$g" "$KEEP/$g.times"; done; }

ded=$(col dedicated 1)
row() {  # row LABEL TAG...: median run time of TAGs, the ratio, launch-to-first-barrier
    local label=$1; shift
    local t l
    t=$(for g in "$@"; do awk '{ print $1 }' "$T/$g"; done | median)
    l=$(for g in "$@"; do awk '{ print $2 }' "$T/$g"; done | median)
    printf '| %s | %.3f | %.2f | %.0f |\n' "$label" "$t" "$(echo "$t / $ded" | bc -l)" "$(echo "$l * 1000" | bc -l)"
}
echo
echo "bench/gang.sh --runs $RUNS --steps $STEPS --slice $SLICE: $(date -u '+%Y-%m-%d %H:%M') UTC, tree $(git -C "$top" describe --always --dirty), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$PROGRAM" = mpi ]; then
    echo "program: bench/bsp_mpi.c (MPICH $(mpichversion 2> /dev/null | sed -n 's/^MPICH Version:[[:space:]]*//p'), MPI_Barrier)"
else
    echo "program: bench/bsp.c (its own UDP barrier, polling)${why_bsp:+; not MPI: $why_bsp}"
fi
echo "stop method: $(status a | jq -r .gangs.stop); $STEPS steps of $LOOPS loops (1 ms) and a barrier; medians of $RUNS runs"
if [ -n "$CG" ]; then
    echo "the bench and all it starts ran in the cpu cgroup $CG of weight 262144 (other processes: 1024 each)"
else
    echo "not in a cpu cgroup of its own (not root, or no cgroup v1 cpu hierarchy): other processes on the machine share its cores"
fi
echo
echo "| configuration | run time, s | ratio to dedicated | launch to first barrier, ms |"
echo "|---|---|---|---|"
row "dedicated: glx -n 2 (alone)" dedicated
[ $HAVE_MPI = 1 ] && row "dedicated: mpiexec -n 2 -bind-to core (alone)" mpiexec
row "two at once, coscheduled (gangs)" cosched1 cosched2
row "two at once, uncoordinated (coscheduling off)" uncoord1 uncoord2
echo
echo "slice switches seen on both peers: $n_sw; skew between the two peers, us: timer woke p50 $(pct 1 50), p99 $(pct 1 99), max $(pct 1 100); new row continued p50 $(pct 2 50), p99 $(pct 2 99), max $(pct 2 100)"
echo "a switch (timer to new row continued: stop, confirm still, continue), us: on a p50 $(pct 3 50), p99 $(pct 3 99); on b p50 $(pct 4 50), p99 $(pct 4 99)"
