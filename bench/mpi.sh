#!/usr/bin/env bash
# bench/mpi.sh -- one MPI program (t/mpi/barrier.c, built with Debian's
# MPICH) launched by MPICH's own launcher and by glunix, in one run:
#   mpiexec -n 2 ./barrier I US          hydra, both ranks on this machine
#   glx -n 2 -w p1 ./barrier I US        glunix, both ranks on one peer (as mpiexec)
#   glx -n 2 ./barrier I US              glunix, the ranks wherever placement puts them
# The three alternate, RUNS times each.  For each: the wall time of the
# whole launch (median, p90), the time from the launch to the end of the
# program's first MPI_Barrier (its rank 0 says when, by CLOCK_REALTIME),
# the loop's own time, and the rest of the wall time (launch, MPI_Init,
# MPI_Finalize, the end: what the launcher costs, without the loop's
# noise); then the ratios of the medians to mpiexec's.
#
#   bench/mpi.sh [--runs N] [--iterations I] [--compute-us US] [--build DIR]
#   (defaults 10, 2000, 1000: about 2.5 s a run, 1.5 minutes in all)
#
# It starts a 4-peer glunix cluster on loopback (t/integ/lib.sh; home p0)
# and stops it on exit.  As root it first installs mpich and libmpich-dev
# when mpicc is missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=10; ITER=2000; US=1000
BUILD=${BUILD:-$top/build}
usage="usage: $0 [--runs N] [--iterations I] [--compute-us US] [--build DIR]"
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --iterations) ITER=$2; shift 2 ;;
        --compute-us) US=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
for v in "$RUNS" "$ITER" "$US"; do
    [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || { echo "$usage (positive integers)" >&2; exit 2; }
done
BUILD=$(cd "$BUILD" && pwd)
GLX=$BUILD/glx
export GLPEER=$BUILD/glpeer BUILD
[ -x "$GLPEER" ] && [ -x "$GLX" ] || { echo "no glpeer/glx in $BUILD (build first)" >&2; exit 1; }
log() { echo "[$(date +%T)] $*" >&2; }

if ! command -v mpicc >/dev/null && [ "$(id -u)" = 0 ]; then
    log "installing mpich libmpich-dev"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq >/dev/null 2>&1 || true
    timeout 600 apt-get install -y -qq mpich libmpich-dev >/dev/null 2>&1 || true
fi
command -v mpicc >/dev/null && command -v mpiexec >/dev/null \
    || { echo "mpicc and mpiexec are needed (apt-get install mpich libmpich-dev)" >&2; exit 1; }

. "$top/t/integ/lib.sh"
RES=$T/res; mkdir -p "$RES"
mpicc -O2 -o "$T/barrier" "$top/t/mpi/barrier.c"
for i in 0 1 2 3; do start_peer "p$i" "$i"; done
wait_until 30 all_alive 4 p0 p1 p2 p3 || fail "the 4 peers did not converge"
GLXC=("$GLX" --runtime-dir "$T/p0/run")
wait_until 30 bash -c "timeout 20 ${GLXC[*]} -n 2 -w p1 $T/barrier 1 1 >/dev/null" \
    || fail "glx -n 2 -w p1 barrier never worked"
log "glunix: 4 peers up, home p0"

# one NAME CMD...: one timed launch; wall seconds, launch to first barrier
# (ms) and the loop's seconds appended to $RES/NAME.{wall,first,loop}
one() {
    local name=$1; shift
    local s e rc=0
    s=$(date +%s%N)
    timeout 300 "$@" < /dev/null > "$RES/out" 2> "$RES/err" || rc=$?
    e=$(date +%s%N)
    grep -q "^barrier ok" "$RES/out" && [ $rc = 0 ] \
        || fail "$name: exit $rc: $(cat "$RES/out" "$RES/err" | head -c 400)"
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", (e - s) / 1e9 }' >> "$RES/$name.wall"
    sed -n 's/^first barrier at //p' "$RES/out" \
        | awk -v s="$s" '{ printf "%.3f\n", ($1 - s) / 1e6 }' >> "$RES/$name.first"
    sed -n 's/.* in \([0-9.]*\) s$/\1/p' "$RES/out" >> "$RES/$name.loop"
    # what is not the loop: launch, MPI_Init, MPI_Finalize, the end
    paste -d' ' <(tail -n 1 "$RES/$name.wall") <(tail -n 1 "$RES/$name.loop") \
        | awk '{ printf "%.6f\n", $1 - $2 }' >> "$RES/$name.rest"
}

PROG=("$T/barrier" "$ITER" "$US")
log "$RUNS runs each, alternating: mpiexec -n 2, glx -n 2 -w p1, glx -n 2 (${PROG[*]##*/})"
T0=$(date +%s)
for r in $(seq "$RUNS"); do
    one mpiexec mpiexec -n 2 "${PROG[@]}"
    one glx_one "${GLXC[@]}" -n 2 -w p1 "${PROG[@]}"
    one glx_spread "${GLXC[@]}" -n 2 "${PROG[@]}"
done
ELAPSED=$(( $(date +%s) - T0 ))
# where the spread runs' ranks went (the last run)
spread=$("${GLXC[@]}" -v -n 2 "${PROG[0]}" 1 1 2>&1 >/dev/null | grep -o "runs on [^ ]*" | sort -u | wc -l)

# median and p90 (nearest rank) of a file of numbers
med() { sort -g "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
p90() { sort -g "$1" | awk '{ a[NR] = $1 } END { i = int(0.9 * NR + 0.999); print a[i < 1 ? 1 : i] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
row() {  # row NAME LABEL
    printf '| %s | %.3f s | %.3f s | %.1f ms | %.1f ms | %.3f s | %.1f ms |\n' "$2" \
        "$(med "$RES/$1.wall")" "$(p90 "$RES/$1.wall")" "$(med "$RES/$1.first")" \
        "$(p90 "$RES/$1.first")" "$(med "$RES/$1.loop")" "$(med "$RES/$1.rest" | awk '{ print $1 * 1000 }')"
}
echo
echo "bench/mpi.sh --runs $RUNS --iterations $ITER --compute-us $US  $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$(hostname -s), $(nproc) CPUs, $(uname -r); tree $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?');" \
    "MPICH $(mpichversion 2>/dev/null | sed -n 's/^MPICH Version: *//p' | tr -d '\t'); glunix: 4 peers on loopback;" \
    "glx -n 2 put its ranks on $spread peer(s) in the last run; bench time $ELAPSED s"
echo
echo "| launcher | wall, median | wall, p90 | launch to first barrier, median | p90 | loop, median | wall less loop, median |"
echo "|---|---|---|---|---|---|---|"
row mpiexec "\`mpiexec -n 2\`"
row glx_one "\`glx -n 2 -w p1\`"
row glx_spread "\`glx -n 2\`"
echo
mw=$(med "$RES/mpiexec.wall"); mf=$(med "$RES/mpiexec.first"); mr=$(med "$RES/mpiexec.rest")
echo "| ratio of medians to mpiexec's | wall | launch to first barrier | wall less loop |"
echo "|---|---|---|---|"
for n in glx_one glx_spread; do
    label="\`glx -n 2 -w p1\`"; [ $n = glx_one ] || label="\`glx -n 2\`"
    echo "| $label | $(ratio "$(med "$RES/$n.wall")" "$mw") | $(ratio "$(med "$RES/$n.first")" "$mf") | $(ratio "$(med "$RES/$n.rest")" "$mr") |"
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine count too)"
