#!/usr/bin/env bash
# bench/shim.sh -- the figures of the shim (glunix(7), THE SHIM), side by
# side with what a user would do instead, in one run, on this machine:
#   1. a cluster-view query through libglunix (shared memory) against the
#      same view asked of the agent over its Unix socket
#   2. what the shim adds to an interposed libc call, to a raw system call
#      it traps (Syscall User Dispatch) and to every other system call
#   3. launch: glx -w p1 /bin/true with the shim, with --no-shim, and
#      srun /bin/true; where glx's milliseconds go (strace timestamps)
#   4. glx --spread 'cc1|as' make -jJ of zlib (the Debian source package's
#      tarball, checked against its .dsc) on 4 peers, against plain
#      make -jJ here: the same objects and output, the steps each peer
#      ran, and the wall-time ratio
#
#   bench/shim.sh [--runs N] [--build-runs N] [--jobs J] [--build DIR]
#   (defaults 30, 3, 8, build/)
#
# It starts a 4-peer glunix cluster on loopback (t/integ/lib.sh) and, when
# slurm-wlm and munge are installed, a single-node Slurm (bench/exec.sh's
# start_slurm), and stops them on exit.  Needs hyperfine, jq, strace, cc,
# make, curl and bzip2; slurm is optional (its rows say why they are
# missing).  Medians from hyperfine -N; the per-call figures from
# bench/shim_bench.c, built here.  Takes about 3 minutes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=30; BRUNS=3; JOBS=8
BUILD=${BUILD:-$top/build}
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --build-runs) BRUNS=$2; shift 2 ;;
        --jobs) JOBS=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "usage: $0 [--runs N] [--build-runs N] [--jobs J] [--build DIR]" >&2; exit 2 ;;
    esac
done
BUILD=$(cd "$BUILD" && pwd)
GLX=$BUILD/glx
export GLPEER=$BUILD/glpeer BUILD
for f in "$GLPEER" "$GLX" "$BUILD/libglshim.so" "$BUILD/libglunix.so"; do
    [ -e "$f" ] || { echo "no $f (build first)" >&2; exit 1; }
done
for c in hyperfine jq strace cc make curl bzip2 sha256sum; do
    command -v "$c" > /dev/null || { echo "$c is needed" >&2; exit 1; }
done
log() { echo "[$(date +%T)] $*" >&2; }
have() { command -v "$1" > /dev/null 2>&1; }
declare -A SKIP=()
START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# Slurm as bench/exec.sh starts it: its functions, not a copy
eval "$(sed -n '/^start_slurm() {/,/^}/p; /^dead() {/p; /^stop_pidfile() {/,/^}/p' "$top/bench/exec.sh")"
teardown_peers() {
    if [ -f "${PEERS:-/nonexistent}/slurm/slurm.conf" ]; then
        SLURM_CONF=$PEERS/slurm/slurm.conf timeout 10 scontrol shutdown > /dev/null 2>&1 || true
        stop_pidfile "$PEERS/slurm/run/slurmctld.pid"; stop_pidfile "$PEERS/slurm/run/slurmd.pid"
    fi
    [ -n "${PEERS:-}" ] && stop_pidfile "$PEERS/munge/run/munged.pid"
    return 0
}

# --- the cluster ----------------------------------------------------------------
EXTRA_CLEANUP=teardown_peers
. "$top/t/integ/lib.sh"
set +e
PEERS=$T/peers; mkdir -p "$PEERS"; chmod 755 "$T" "$PEERS"
RES=$T/res; mkdir -p "$RES"
for i in 0 1 2 3; do start_peer "p$i" "$i"; done
wait_until 30 all_alive 4 p0 p1 p2 p3 || fail "the 4 peers did not converge"
four_idle() { "$BUILD/t/integ/viewpoke" read "$T/p0/run" | grep -q " idle=4 "; }
[ -x "$BUILD/t/integ/viewpoke" ] && { wait_until 15 four_idle || fail "p0's view never had 4 idle members"; }
GLXC=("$GLX" --runtime-dir "$T/p0/run")
wait_until 30 bash -c "timeout 10 ${GLXC[*]} -w p1 /bin/true < /dev/null" || fail "glx -w p1 /bin/true never worked"
log "glunix: 4 peers up, home p0"
start_slurm > /dev/null 2>&1 && log "slurm single node up" || log "SKIP slurm: ${SKIP[slurm]:-}"
SLURM_V=$(have srun && srun --version 2>/dev/null | head -1 || echo "")

# --- 1 and 2: per call -----------------------------------------------------------
SB=$T/shim_bench
cc -O2 -std=c11 -D_GNU_SOURCE -I"$top/core" -I"$top/shim" -o "$SB" "$top/bench/shim_bench.c" \
    "$top/core/ctl_client.c" "$top/core/wire.c" "$top/core/str.c" "$top/core/err.c" \
    "$top/core/fd.c" -lmsgpackc -L"$BUILD" -lglunix -Wl,-rpath,"$BUILD" || fail "shim_bench does not build"
"$SB" view "$T/p0/run" > "$RES/view" || fail "shim_bench view"
"$SB" calls > "$RES/calls.plain"
LD_PRELOAD=$BUILD/libglshim.so "$SB" calls > "$RES/calls.shim"
"$SB" raw > "$RES/raw.plain"
LD_PRELOAD=$BUILD/libglshim.so "$SB" raw > "$RES/raw.shim"
get() { awk -v k="$2" '$1 == k { print $2 }' "$RES/$1"; }
log "per-call figures done"

# --- 3: launch -------------------------------------------------------------------------
hf() {  # hf NAME RUNS CMD...: hyperfine's times (s) added to $RES/NAME.times
    local name=$1 runs=$2; shift 2
    if ! timeout 60 "$@" > /dev/null 2>&1 < /dev/null; then
        echo "fails: $("$@" 2>&1 < /dev/null | head -1)" > "$RES/$name.err"; return 1
    fi
    hyperfine -N -w 2 -r "$runs" --export-json "$RES/$name.json" -- "$(printf '%q ' "$@")" > /dev/null 2>&1 \
        || { echo "hyperfine failed" > "$RES/$name.err"; return 1; }
    jq -r '.results[0].times[]' "$RES/$name.json" >> "$RES/$name.times"
}
summary() {  # summary NAME: "median p90 min" of its times into $RES/NAME
    [ -s "$RES/$1.times" ] || return 0
    sort -g "$RES/$1.times" | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        p = a[int(NR * 9 / 10) > 0 ? int(NR * 9 / 10) : 1]; print m, p, a[1] }' > "$RES/$1"
}
# the three launchers in turn, three rounds: the machine's drift hits all alike
third=$(( RUNS / 3 > 0 ? RUNS / 3 : 1 ))
for round in 1 2 3; do
    hf glx_shim "$third" "${GLXC[@]}" -w p1 /bin/true
    hf glx_noshim "$third" "${GLXC[@]}" --no-shim -w p1 /bin/true
    [ -n "${SKIP[slurm]:-}" ] || hf srun "$third" srun /bin/true || true
done
hf true_local "$RUNS" /bin/true
hf true_env "$RUNS" env /bin/true
hf true_shim "$RUNS" env LD_PRELOAD="$BUILD/libglshim.so" /bin/true
hf glx_help "$RUNS" "$GLX" --help
for n in glx_shim glx_noshim srun true_local true_env true_shim glx_help; do summary $n; done
log "launch figures done"

# where glx's time goes: strace's timestamps of its execve, its connect to
# the agent, the RUN request, STARTED, EXIT and its exit (medians of 15)
for i in $(seq 15); do
    strace -ttt -e trace=execve,connect,write,read,exit_group -o "$RES/st.$i" \
        "${GLXC[@]}" -w p1 /bin/true < /dev/null > /dev/null 2>&1
    awk '
        /execve\(/ && !t0 { t0 = $1 }
        /connect\(.*glpeer.sock/ && !t1 { t1 = $1; fd = $2; sub(/^connect\(/, "", fd); sub(/,.*/, "", fd) }
        t1 && index($2, "read(" fd ",") == 1 && !/EAGAIN/ { if (!t3) t3 = $1; t4 = $1 }
        /exit_group/ { t5 = $1 }
        END { printf "%.3f %.3f %.3f %.3f\n", (t1 - t0) * 1e3, (t3 - t1) * 1e3, (t4 - t3) * 1e3, (t5 - t4) * 1e3 }
    ' "$RES/st.$i" >> "$RES/breakdown"
done
LIBS=$(ldd "$GLX" | grep -vc "linux-vdso")
log "breakdown done"

# --- 4: zlib, plain make against glx --spread -------------------------------------------
ZV=1.2.13.dfsg
ZDIR=$T/zlib
mkdir -p "$ZDIR"
dsc=$(curl -fsS "http://deb.debian.org/debian/pool/main/z/zlib/zlib_$ZV-1.dsc" 2> /dev/null) || SKIP[zlib]="cannot fetch zlib_$ZV-1.dsc from deb.debian.org"
if [ -z "${SKIP[zlib]:-}" ]; then
    sum=$(echo "$dsc" | awk '/^Checksums-Sha256:/ { on = 1; next } on && /orig.tar/ { print $1; exit }')
    curl -fsS -o "$ZDIR/zlib.tar.bz2" "http://deb.debian.org/debian/pool/main/z/zlib/zlib_$ZV.orig.tar.bz2" \
        || SKIP[zlib]="cannot fetch zlib_$ZV.orig.tar.bz2"
fi
if [ -z "${SKIP[zlib]:-}" ]; then
    [ "$(sha256sum < "$ZDIR/zlib.tar.bz2" | cut -d' ' -f1)" = "$sum" ] || SKIP[zlib]="the tarball does not match the .dsc's sha256"
fi
if [ -z "${SKIP[zlib]:-}" ]; then
    for d in plain spread; do
        mkdir -p "$ZDIR/$d" && tar xjf "$ZDIR/zlib.tar.bz2" -C "$ZDIR/$d" --strip-components 1
        (cd "$ZDIR/$d" && ./configure > "$RES/configure.$d" 2>&1) || fail "zlib's configure failed in $d"
    done
    for r in $(seq "$BRUNS"); do
        for d in plain spread; do  # alternately
            make -C "$ZDIR/$d" -s clean > /dev/null 2>&1
            s=$(date +%s%N)
            if [ $d = plain ]; then
                (cd "$ZDIR/$d" && make -j"$JOBS" > "$RES/make.$d.$r" 2> "$RES/err.$d.$r")
            else
                (cd "$ZDIR/$d" && "${GLXC[@]}" -v --local --spread 'cc1|as' make -j"$JOBS" > "$RES/make.$d.$r" 2> "$RES/err.$d.$r")
            fi
            rc=$?
            e=$(date +%s%N)
            [ $rc = 0 ] || fail "zlib $d build $r exited $rc: $(tail -3 "$RES/err.$d.$r")"
            echo "$(( (e - s) / 1000000 ))" >> "$RES/wall.$d"
        done
        # the same objects, archive, libraries and programs, and make's same lines
        for f in $(cd "$ZDIR/plain" && ls *.o *.lo libz.a libz.so.* example minigzip example64 minigzip64 2> /dev/null); do
            cmp -s "$ZDIR/plain/$f" "$ZDIR/spread/$f" || echo "$f" >> "$RES/differ.$r"
        done
        sort "$RES/make.plain.$r" > "$RES/a"; sort "$RES/make.spread.$r" > "$RES/b"
        cmp -s "$RES/a" "$RES/b" || echo "make's output" >> "$RES/differ.$r"
        grep "^glx: spread:" "$RES/err.spread.$r" >> "$RES/tally" || echo "no tally" >> "$RES/tally"
        (cd "$ZDIR/spread" && make -s test > "$RES/test.$r" 2>&1) || echo "make test" >> "$RES/differ.$r"
    done
    NFILES=$(cd "$ZDIR/plain" && ls *.o *.lo libz.a libz.so.* example minigzip example64 minigzip64 2> /dev/null | wc -l)
    NSTEPS=$(grep -c "^cc\|^gcc" "$RES/make.plain.1" || true)
    log "zlib builds done"
fi

# --- report ------------------------------------------------------------------------------
stats() { sort -g "$1" | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m }'; }
col() { awk -v c="$2" '{ print $c }' "$RES/$1" > "$RES/col"; stats "$RES/col"; }
ms() { [ -s "$RES/$1" ] && awk '{ printf "%.1f ms | %.1f ms | %.1f ms", $1 * 1000, $2 * 1000, $3 * 1000 }' "$RES/$1" \
    || echo "skipped: $(cat "$RES/$1.err" 2> /dev/null || echo "${SKIP[slurm]:-?}") | |"; }
med() { [ -s "$RES/$1" ] && awk '{ print $1 }' "$RES/$1" || echo ""; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }' || echo "n/a"; }
ns() { awk -v x="$1" 'BEGIN { printf (x >= 1000 ? "%.2f us" : "%.1f ns"), (x >= 1000 ? x / 1000 : x) }'; }
ELAPSED=$(( $(date +%s) - START ))

echo "bench/shim.sh --runs $RUNS --build-runs $BRUNS --jobs $JOBS, $(date -u '+%Y-%m-%d %H:%M UTC'), tree $(git -C "$top" rev-parse --short HEAD 2> /dev/null || echo '?'), $(nproc) CPUs, kernel $(uname -r); load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; ${ELAPSED} s"
echo
echo "1. The cluster view (4 members), per query; median of 201 batches:"
echo
echo "| query | per call | ratio to the socket |"
echo "|---|---|---|"
sv=$(get view socket_view)
echo "| libglunix \`glunix_cluster\` (shared memory) | $(ns "$(get view view_cluster)") | $(ratio "$(get view view_cluster)" "$sv") |"
echo "| libglunix \`glunix_nodes\`, all 4 members | $(ns "$(get view view_nodes)") | $(ratio "$(get view view_nodes)" "$sv") |"
echo "| the agent's socket, \`view\` (connect, ask, JSON answer) | $(ns "$sv") | 1 |"
echo
echo "2. What the shim adds, per call (median of the per-batch differences, calls alternated batch by batch):"
echo
echo "| call | without the shim | with it | added |"
echo "|---|---|---|---|"
echo "| \`sigprocmask\` (interposed: through the shim's wrapper / libc's own) | $(ns "$(get calls.plain sigprocmask_plt)") | $(ns "$(get calls.shim sigprocmask_plt)") | $(ns "$(get calls.shim sigprocmask_added)") over libc's own in the same process |"
echo "| raw \`getppid\` (a syscall instruction: trapped with the shim) | $(ns "$(get raw.plain getppid_raw)") | $(ns "$(get raw.shim getppid_raw)") | $(ns "$(get raw.shim getppid_raw_added)") over libc's getppid |"
echo "| the trap alone: a SIGSYS handler that only answers, no shim | | $(ns "$(get raw.plain sud_floor)") | |"
echo "| \`getppid\` through libc (not trapped; the dispatch is on in the thread) | $(ns "$(get raw.plain getppid_libc)") | $(ns "$(get raw.shim getppid_libc)") | $(awk -v a="$(get raw.plain getppid_libc)" -v b="$(get raw.shim getppid_libc)" 'BEGIN { printf "%.1f ns", b - a }') |"
echo "| \`pthread_mutex_lock\` + \`pthread_mutex_unlock\` (interposed: the shim's wrappers / libc's own) | $(ns "$(get calls.plain mutex_plt)") | $(ns "$(get calls.shim mutex_plt)") | $(ns "$(get calls.shim mutex_added)") over libc's own in the same process |"
echo "| \`clock_gettime\` (vDSO), for scale | $(ns "$(get calls.plain clock_gettime)") | $(ns "$(get calls.shim clock_gettime)") | |"
echo
echo "3. Launch, hyperfine -N, $RUNS runs each (glx with and without the shim and srun in turn, three rounds of $third; median | p90 | min):"
echo
echo "| command | median | p90 | min |"
echo "|---|---|---|---|"
echo "| \`glx -w p1 /bin/true\` (the shim preloaded on p1) | $(ms glx_shim) |"
echo "| \`glx --no-shim -w p1 /bin/true\` | $(ms glx_noshim) |"
echo "| \`srun /bin/true\` (${SLURM_V:-slurm}) | $(ms srun) |"
echo "| \`/bin/true\` here | $(ms true_local) |"
echo "| \`env /bin/true\` / \`env LD_PRELOAD=libglshim.so /bin/true\` | $(awk '{ printf "%.2f ms", $1 * 1000 }' "$RES/true_env") / $(awk '{ printf "%.2f ms", $1 * 1000 }' "$RES/true_shim") | | |"
echo "| \`glx --help\` (start-up and exit alone) | $(ms glx_help) |"
echo
echo "| ratio (medians) | value | goal |"
echo "|---|---|---|"
echo "| glx with the shim / srun | $(ratio "$(med glx_shim)" "$(med srun)") | <= 0.1 |"
echo "| glx with the shim / glx --no-shim | $(ratio "$(med glx_shim)" "$(med glx_noshim)") | |"
echo
echo "Where \`glx -w p1 /bin/true\` spends its time, under strace (medians of 15 runs; strace slows every system call, so the parts add up to more than the median above): glx maps $LIBS shared objects, the dynamic loader included."
echo
echo "| part | median |"
echo "|---|---|"
echo "| start-up: execve to the connect to the agent (loading the libraries, main) | $(col breakdown 1) ms |"
echo "| the request to STARTED: placement at the home, RUN to p1, p1's fork and exec with the shim, stream set-up | $(col breakdown 2) ms |"
echo "| STARTED to EXIT: /bin/true runs and exits, EXIT relayed | $(col breakdown 3) ms |"
echo "| EXIT to glx's exit | $(col breakdown 4) ms |"
echo
if [ -n "${SKIP[zlib]:-}" ]; then
    echo "4. zlib: skipped: ${SKIP[zlib]}"
else
    echo "4. zlib $ZV (Debian's orig tarball, sha256 checked against zlib_$ZV-1.dsc), ./configure, then \`make -j$JOBS\` here against \`glx -v --local --spread 'cc1|as' make -j$JOBS\` on 4 peers of this machine (p0 home, make on any of them), $BRUNS builds each, alternately, after \`make clean\`:"
    echo
    echo "| build | wall, median | runs |"
    echo "|---|---|---|"
    echo "| \`make -j$JOBS\` | $(stats "$RES/wall.plain") ms | $(tr '\n' ' ' < "$RES/wall.plain")|"
    echo "| \`glx --spread 'cc1|as' make -j$JOBS\` | $(stats "$RES/wall.spread") ms | $(tr '\n' ' ' < "$RES/wall.spread")|"
    echo
    echo "Wall-time ratio, spread / plain: $(ratio "$(stats "$RES/wall.spread")" "$(stats "$RES/wall.plain")")."
    echo "Compile commands per build: $NSTEPS; files compared after each build (objects, libz.a, libz.so, the test programs): $NFILES; differing: $(cat "$RES"/differ.* 2> /dev/null | sort -u | tr '\n' ' ' || true)$(ls "$RES"/differ.* > /dev/null 2>&1 || echo none); make's output (sorted) identical: $(ls "$RES"/differ.* > /dev/null 2>&1 && grep -l "make's output" "$RES"/differ.* > /dev/null 2>&1 && echo no || echo yes); \`make test\` of the spread build: $(grep -q "make test" "$RES"/differ.* 2> /dev/null && echo fails || echo passes)."
    echo "Steps by node (glx -v), one line per spread build:"
    echo
    sed 's/^/    /' "$RES/tally"
fi
