#!/usr/bin/env bash
# bench/checkpoint.sh -- checkpoint, restart and migration of a running
# process (issue 12's figures), glunix side by side with what a user
# would pick instead, in one run, on this machine:
#   - glunix: `glpeer checkpoint GPID FILE` of a job that glx runs on a
#     peer (the pause the shim reports on its SNAP line, and the command's
#     wall time), the image's size, `glx --restart FILE` to the job's next
#     line of output (and the CPU time the home's agent, the new
#     host's and glx used until then: glx seals the image straight to
#     the restorer, the agents relay it where the new host has no
#     address for it; and `glrestore FILE` alone on this node; the
#     restart again with the job's malloc
#     advising huge pages, GLIBC_TUNABLES=glibc.malloc.hugetlb=1: rows
#     "huge pages"),
#     `glpeer migrate GPID NODE` between two peers on
#     loopback (and the CPU time each of the two agents, and ZeroMQ's I/O
#     thread in each, used for it), and eviction: from the owner's first keystroke (simulated
#     as t/integ/idle.sh does, by touching the activity file) to the last
#     CPU its guests used on that machine, median and p99;
#   - DMTCP (the reference user-level checkpointer, not packaged in
#     Debian 12: built once from ../shared/peers/dmtcp-src.tar.gz into the
#     cache): `dmtcp_command -bc` with its default gzip and with
#     --no-gzip, image size, `dmtcp_restart` to the next line of output;
#   - CRIU (Debian's criu): dump and restore where it runs; where it does
#     not, the line it stops with;
#   - the baseline of a migration: the image's bytes copied over a TCP
#     connection on loopback (socat), the link the peers use.
# The process is bench/ckpt_work.c (built here with cc): MIB of heap
# touched by THREADS threads, then steps of computation over it, a line
# each.  Every restarted run is let finish and its output compared with
# the tail of an undisturbed run's: a restart that resumed the wrong state
# counts as failed, not as a time.  Two columns are the same measure for
# every checkpointer: "gap", the longest time between two steps by the
# job's own clock (ckpt_work -g), and "stall", the longest time its
# output stood still (a 0.5 ms poll of the output file's size).
#
#   bench/checkpoint.sh [--sizes MIB,...] [--runs N] [--gzip-runs N]
#                       [--threads T] [--evictions N] [--build DIR]
#                       [--cache DIR] [--keep DIR] [--only PART,...]
#   (defaults 64,512,2048, 5, 3, 2, 20, build/, bench/.cache; PART: shim,
#   agents, huge, dmtcp, criu, every part by default; a part left out is a
#   row saying so; huge: the huge-page rows, which need shim or agents)
#
# A size is left out, with the reason in its table, when the machine has
# less memory available than twice that size plus 1 GiB.  2048 MiB takes
# most of the time (DMTCP's gzip alone is about a minute a checkpoint
# there): --sizes 64,512 skips it.  Parts of glunix that this tree does not
# have yet (no `glpeer checkpoint`, ...) are rows saying "absent: why".
# Needs cc, perl and jq; socat for the copy baseline; criu is optional.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SIZES=64,512,2048; RUNS=5; GZRUNS=3; THREADS=2; EVICTIONS=20
BUILD=${BUILD:-$top/build}; CACHE=$top/bench/.cache; KEEP=""; ONLY=""
STEPS=3000     # about 1 ms each here: long enough to be stopped mid-run
HUGE_ENV=GLIBC_TUNABLES=glibc.malloc.hugetlb=1   # the "huge pages" rows: malloc advises MADV_HUGEPAGE
WARM=50        # steps done before a checkpoint is asked
GAP=2          # ckpt_work -g: it reports steps later than this (ms) after the one before
usage="usage: $0 [--sizes MIB,...] [--runs N] [--gzip-runs N] [--threads T] [--evictions N] [--build DIR] [--cache DIR] [--keep DIR] [--only PART,...]"
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --gzip-runs) GZRUNS=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --evictions) EVICTIONS=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --keep) KEEP=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
for v in RUNS GZRUNS THREADS EVICTIONS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$0: --${v,,} wants a positive number, not '${!v}'" >&2; exit 2; }
done
[[ -z $ONLY || $ONLY =~ ^(shim|agents|huge|dmtcp|criu)(,(shim|agents|huge|dmtcp|criu))*$ ]] || { echo "$0: --only wants parts among shim,agents,huge,dmtcp,criu, not '$ONLY'" >&2; exit 2; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
NOTRUN="not run (--only $ONLY)"
[[ $SIZES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "$0: --sizes wants MiB,MiB,... (e.g. 64,512), not '$SIZES'" >&2; exit 2; }
for c in cc perl jq; do
    command -v "$c" > /dev/null || { echo "$0: $c is needed" >&2; exit 1; }
done
have() { command -v "$1" > /dev/null 2>&1; }
log() { echo "[$(date +%T)] $*" >&2; }
now() { date +%s%N; }
# stop PID...: end processes started here, and reap them quietly
stop() { local p; for p in "$@"; do kill -9 "$p" 2> /dev/null || true; wait "$p" 2> /dev/null || true; done; }
ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
START=$(date +%s); LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

W=$(mktemp -d /tmp/glunix-ckbench.XXXXXX)
chmod 755 "$W"
PORTS=(); BG=()
# every process started here is ended by its own id; DMTCP coordinators
# by their port
teardown() {
    for p in "${BG[@]}"; do kill -9 "$p" 2> /dev/null || true; done
    for p in "${PORTS[@]}"; do "$DMTCP/bin/dmtcp_command" --port "$p" -q > /dev/null 2>&1 || true; done
    if [ -n "$KEEP" ]; then
        mkdir -p "$KEEP" && find "$W" -name '*.dmtcp' -delete && cp -r "$W/." "$KEEP/" || true
    fi
    rm -rf "$W"
}
trap teardown EXIT     # t/integ/lib.sh's trap calls it too, once the peers are up

# --- the workload ----------------------------------------------------------------
WORK=$W/ckpt_work
cc -O2 -std=c11 -pthread -I"$top" -o "$WORK" "$top/bench/ckpt_work.c" || { echo "$0: bench/ckpt_work.c does not build" >&2; exit 1; }
avail_mib() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

# median / p99 (nearest rank) of the numbers on stdin; "-" when none
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p99() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit } r = int(0.99 * NR + 0.999); print v[r < 1 ? 1 : r] }'; }

# watch FILE LOG: one line "NANOS SIZE" each time FILE's size changes,
# polled every 0.5 ms, until killed; its pid in WATCH
watch_size() {
    perl -MTime::HiRes=time,sleep -e '
        my ($f, $o) = @ARGV; open my $out, ">", $o or die "$o: $!"; select $out; $| = 1;
        my $last = -1;
        while (1) { my $s = -s $f // 0; if ($s != $last) { printf "%.0f %d\n", time * 1e9, $s; $last = $s } sleep 0.0005 }' \
        "$1" "$2" &
    WATCH=$!; BG+=("$WATCH")
}
# stall LOG FROM TO: the longest time (ms) the output stood still across
# [FROM, TO] (nanoseconds): the gap between the last growth before TO and
# the first after FROM that spans it
stall() {
    awk -v a="$2" -v b="$3" 'NR > 1 && $1 > a && prev < b && $1 - prev > m { m = $1 - prev } { prev = $1 }
        END { if (m) printf "%.1f\n", m / 1e6; else print "-" }' "$1"
}
# gap ERR FROM TO: the longest time (ms) between two steps by the job's
# own clock (ckpt_work -g) for a step in [FROM, TO] (ns); GAP where no
# step came later than that (the pause was shorter)
gap() {
    awk -v a="$2" -v b="$3" -v floor="$GAP" '/^ckpt_work: step / { t = $5 + 0; if (t >= a && t <= b && $6 + 0 > m) m = $6 + 0 }
        END { printf "%.1f\n", m ? m : floor }' "$1"
}
# first_output FILE LIMIT_S: the time (ns) FILE first has a byte; fails
# after LIMIT_S seconds
first_output() {
    perl -MTime::HiRes=time,sleep -e '
        my ($f, $lim) = @ARGV; my $end = time + $lim;
        while (time < $end) { if ((-s $f // 0) > 0) { printf "%.0f\n", time * 1e9; exit 0 } sleep 0.0002 }
        exit 1' "$1" "$2"
}
# wait_lines FILE PATTERN N LIMIT_S: until FILE has N lines matching PATTERN
wait_lines() {
    local n end=$(( $(date +%s) + $4 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        n=$(grep -c -- "$2" "$1" 2> /dev/null || true)
        [ "${n:-0}" -ge "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
# wait_grow FILE SIZE LIMIT_S: until FILE is larger than SIZE bytes
wait_grow() {
    local end=$(( $(date +%s%N) + $3 * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        [ "$(stat -c %s "$1")" -gt "$2" ] && return 0
        sleep 0.002
    done
    return 1
}
# resumed_right OUT REF: OUT is the output of a restarted run: it starts
# with a step line and is the tail of the undisturbed run's output REF
resumed_right() {
    local n
    n=$(stat -c %s "$1")
    [ "$n" -gt 0 ] && head -c 5 "$1" | grep -q '^step' && tail -c "$n" "$2" | cmp -s - "$1"
}
free_port() {
    local p
    while :; do
        p=$(( 20000 + RANDOM % 10000 ))
        ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | grep -qx "$p" || { echo "$p"; return; }
    done
}

# the undisturbed runs, one per size: the reference output, and the pace
declare -A REF_MS=() SKIPSIZE=()
for s in ${SIZES//,/ }; do
    need=$(( 2 * s + 1024 )); have_mib=$(avail_mib)
    if [ "$have_mib" -lt "$need" ]; then
        SKIPSIZE[$s]="needs $need MiB available (twice the size and 1 GiB), this machine has $have_mib"
        log "$s MiB: skipped: ${SKIPSIZE[$s]}"
        continue
    fi
    t0=$(now)
    "$WORK" -t "$THREADS" -s "$STEPS" "$s" > "$W/ref-$s" || { echo "$0: ckpt_work $s failed" >&2; exit 1; }
    REF_MS[$s]=$(ms $(( $(now) - t0 )))
    log "$s MiB: undisturbed run ${REF_MS[$s]} ms, $(tail -1 "$W/ref-$s")"
done

# --- DMTCP, built once into the cache -----------------------------------------------
DMTCP=$CACHE/dmtcp
DMTCP_SRC=$(cd "$top/.." && pwd)/shared/peers/dmtcp-src.tar.gz
DMTCP_WHY=""
build_dmtcp() {
    [ -x "$DMTCP/bin/dmtcp_launch" ] && return 0
    [ -r "$DMTCP_SRC" ] || { DMTCP_WHY="absent: no DMTCP in $DMTCP and no source at $DMTCP_SRC"; return 1; }
    mkdir -p "$CACHE"
    [ -e "$CACHE/.gitignore" ] || echo '*' > "$CACHE/.gitignore"    # keep the cache out of git status
    log "building DMTCP once into $DMTCP (about 4 minutes)"
    local b=$CACHE/dmtcp-build
    rm -rf "$b"; mkdir -p "$b"
    tar xzf "$DMTCP_SRC" -C "$b"
    if ! (cd "$b/dmtcp" && ./configure --prefix="$DMTCP" > ../configure.log 2>&1 &&
          make -j"$(nproc)" > ../make.log 2>&1 && make install > ../install.log 2>&1); then
        DMTCP_WHY="absent: DMTCP does not build here (see $b/*.log)"; rm -rf "$DMTCP"; return 1
    fi
}
if want dmtcp; then build_dmtcp || log "$DMTCP_WHY"; else DMTCP_WHY=$NOTRUN; fi

# one DMTCP run: SIZE MODE (raw|gzip) RUN; appends "pause gap stall image restart ok"
# to $W/dmtcp-SIZE-MODE
dmtcp_run() {
    local s=$1 mode=$2 r=$3 d=$W/dmtcp/$1-$2-$3 port rport pid t0 t1 sz img rs ok=0 restart=-
    local gz=(); [ "$mode" = raw ] && gz=(--no-gzip)
    mkdir -p "$d"
    port=$(free_port); PORTS+=("$port")
    "$DMTCP/bin/dmtcp_launch" --new-coordinator --port "$port" --ckptdir "$d" "${gz[@]}" \
        "$WORK" -t "$THREADS" -s "$STEPS" -g "$GAP" "$s" > "$d/out" 2> "$d/err" < /dev/null &
    pid=$!; BG+=("$pid")
    wait_lines "$d/out" "^step" "$WARM" 60 || { log "dmtcp $s $mode: the job never ran ($(head -c 300 "$d/err"))"; stop "$pid"; return 0; }
    watch_size "$d/out" "$d/sizes"
    t0=$(now)
    "$DMTCP/bin/dmtcp_command" --port "$port" -bc > "$d/cmd" 2>&1
    t1=$(now)
    sz=$(stat -c %s "$d/out")
    wait_grow "$d/out" "$sz" 10 || true       # it resumed: the stall is closed
    "$DMTCP/bin/dmtcp_command" --port "$port" -k > /dev/null 2>&1 || true
    wait "$pid" 2> /dev/null || true
    stop "$WATCH"
    img=$(ls "$d"/ckpt_*.dmtcp 2> /dev/null | head -1)
    [ -n "$img" ] || { log "dmtcp $s $mode: no image ($(head -c 300 "$d/cmd"))"; return 0; }
    rport=$(free_port); PORTS+=("$rport")
    rs=$(now)
    "$DMTCP/bin/dmtcp_restart" --new-coordinator --port "$rport" "$img" > "$d/rout" 2> "$d/rerr" < /dev/null &
    pid=$!; BG+=("$pid")
    if t1r=$(first_output "$d/rout" 120); then restart=$(ms $(( t1r - rs ))); fi
    wait "$pid" 2> /dev/null || true
    resumed_right "$d/rout" "$W/ref-$s" && ok=1
    echo "$(ms $(( t1 - t0 ))) $(gap "$d/err" "$t0" "$t1") $(stall "$d/sizes" "$t0" "$t1") $(stat -c %s "$img") $restart $ok" >> "$W/dmtcp-$s-$mode"
    [ "$mode" = raw ] && [ ! -e "$W/img-dmtcp-$s" ] && cp "$img" "$W/img-dmtcp-$s"   # for the copy row when glunix has none
    rm -f "$img"
}

if [ -z "$DMTCP_WHY" ]; then
    DMTCP_V=$("$DMTCP/bin/dmtcp_launch" --version 2>&1 | head -1)
    for s in ${SIZES//,/ }; do
        [ -n "${SKIPSIZE[$s]:-}" ] && continue
        for r in $(seq "$RUNS"); do log "DMTCP $s MiB --no-gzip, run $r"; dmtcp_run "$s" raw "$r"; done
        for r in $(seq "$GZRUNS"); do log "DMTCP $s MiB gzip, run $r"; dmtcp_run "$s" gzip "$r"; done
    done
fi

# --- CRIU --------------------------------------------------------------------------
CRIU_WHY=""; CRIU_V=""
if ! want criu; then
    CRIU_WHY=$NOTRUN
elif ! have criu; then
    CRIU_WHY="absent: criu is not installed (Debian: apt-get install criu)"
elif [ "$(id -u)" != 0 ]; then
    CRIU_WHY="absent: criu needs root (or CAP_CHECKPOINT_RESTORE and more)"
else
    CRIU_V=$(criu --version 2>&1 | awk '/Version/ { print $2 }')
fi
# one CRIU run: SIZE RUN; appends "pause gap stall image restore ok" to $W/criu-SIZE,
# or sets CRIU_WHY to the first error line when criu stops
criu_run() {
    local s=$1 d=$W/criu/$1-$2 pid t0 t1 err ok=0 restore=- rs
    mkdir -p "$d/img"
    # its own session: criu dumps a session leader's tree (--shell-job
    # takes the terminal we may have)
    setsid "$WORK" -t "$THREADS" -s "$STEPS" -g "$GAP" "$s" > "$d/out" 2> "$d/err" < /dev/null &
    pid=$!; BG+=("$pid")
    wait_lines "$d/out" "^step" "$WARM" 60 || { stop "$pid"; return 0; }
    watch_size "$d/out" "$d/sizes"
    t0=$(now)
    if ! criu dump -t "$pid" -D "$d/img" --shell-job --leave-running -o dump.log > "$d/cmd" 2>&1; then
        t1=$(now)
        # its first two errors of its own: the probes' "exited, status"
        # lines come from helpers, the cause follows them
        err=$(grep -h '^Error' "$d/img/dump.log" "$d/cmd" 2> /dev/null | grep -v 'exited, status=' |
              head -2 | sed 's/^Error ([^)]*): //' | paste -sd '|' | sed 's/|/; then /' || true)
        CRIU_WHY="does not run here: criu dump stops with: ${err:-no error line (see its dump.log)}"
        stop "$pid" "$WATCH"
        return 1
    fi
    t1=$(now)
    wait_grow "$d/out" "$(stat -c %s "$d/out")" 10 || true
    stop "$pid" "$WATCH"
    # criu restores the output file at its offset: the restored run
    # rewrites what the killed one wrote after the dump, then goes on
    rs=$(now)
    if criu restore -D "$d/img" --shell-job -d -o restore.log > "$d/rcmd" 2>&1; then
        restore=$(ms $(( $(now) - rs )))
        # it ends by itself: wait for that (at most two minutes)
        local end=$(( $(date +%s) + 120 ))
        while { [ -d "/proc/$pid" ] || pgrep -f "^$WORK -t $THREADS -s $STEPS -g $GAP $s\$" > /dev/null; } &&
              [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
        cmp -s "$d/out" "$W/ref-$s" && ok=1
    fi
    echo "$(ms $(( t1 - t0 ))) $(gap "$d/err" "$t0" "$t1") $(stall "$d/sizes" "$t0" "$t1") $(du -sb "$d/img" | cut -f1) $restore $ok" >> "$W/criu-$s"
}
if [ -n "$CRIU_V" ]; then
    for s in ${SIZES//,/ }; do
        [ -n "${SKIPSIZE[$s]:-}" ] && continue
        for r in $(seq "$RUNS"); do log "CRIU $s MiB, run $r"; criu_run "$s" "$r" || break 2; done
    done
fi
[ -n "$CRIU_WHY" ] && log "CRIU: $CRIU_WHY"

# --- the copy baseline: the image's bytes over TCP on loopback -----------------------
# copy_ms FILE: one copy's milliseconds, from the sender's start to the
# receiver's end (the receiver discards: a migration streams without disk)
copy_ms() {
    local p t0 rpid
    cat "$1" > /dev/null     # from the page cache, as an image just written is
    p=$(free_port)
    socat -u -b 262144 "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" OPEN:/dev/null > /dev/null 2>&1 &
    rpid=$!; BG+=("$rpid")
    local end=$(( $(date +%s) + 5 ))
    until ss -Htln "sport = :$p" | grep -q .; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.01; done
    t0=$(now)
    socat -u -b 262144 "OPEN:$1" "TCP:127.0.0.1:$p" || return 1
    wait "$rpid"
    ms $(( $(now) - t0 ))
}
declare -A COPY=()
copy_row() {   # copy_row SIZE IMAGE: the median of RUNS copies into COPY[SIZE]
    local i v=()
    have socat || { COPY[$1]="absent: socat is not installed (Debian: apt-get install socat)"; return; }
    for i in $(seq "$RUNS"); do v+=("$(copy_ms "$2")") || { COPY[$1]="absent: socat could not copy over loopback"; return; }; done
    COPY[$1]=$(printf '%s\n' "${v[@]}" | median)
}

# --- glunix --------------------------------------------------------------------------
GLPEER=$BUILD/glpeer; GLX=$BUILD/glx
GL_CK="" GL_RS="" GL_MIG="" GL_EV=""     # the reason each part is absent, or ""
if [ ! -x "$GLPEER" ] || [ ! -x "$GLX" ] || [ ! -e "$BUILD/libglshim.so" ]; then
    GL_CK="absent: no glpeer, glx and libglshim.so in $BUILD (build first)"; GL_RS=$GL_CK; GL_MIG=$GL_CK; GL_EV=$GL_CK
else
    "$GLPEER" --help 2>&1 | grep -qw checkpoint || GL_CK="absent: this tree's glpeer has no checkpoint command"
    "$GLX" --help 2>&1 | grep -q -- --restart || GL_RS="absent: this tree's glx has no --restart"
    "$GLPEER" --help 2>&1 | grep -qw migrate || GL_MIG="absent: this tree's glpeer has no migrate command"
    # tried below where checkpoints exist: its row says what happened
    [ -n "$GL_CK" ] && GL_EV="absent: not tried without checkpoints (${GL_CK#absent: })"
fi

# the shim's own figure, as the tests' host sees it
CKHOST=$BUILD/t/ckpt/ckhost; GL_SHIM=""
[ -x "$CKHOST" ] && [ -e "$BUILD/libglshim.so" ] || GL_SHIM="absent: no $CKHOST (make check builds it)"
want shim || GL_SHIM=$NOTRUN
# the huge-page rows: transparent huge pages the job's malloc may advise
GL_HUGE=""
want huge || GL_HUGE=$NOTRUN
thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2> /dev/null || true)
[ -n "$GL_HUGE" ] || [[ $thp == *"[always]"* || $thp == *"[madvise]"* ]] ||
    GL_HUGE="absent: this kernel gives no transparent huge pages on advice (enabled: ${thp:-no such file})"
want agents || { GL_CK=$NOTRUN; GL_RS=$NOTRUN; GL_MIG=$NOTRUN; GL_EV=$NOTRUN; }

# to_ms: "12.5 ms", "830 us", "1.2 s", "4100000 ns" on stdin -> milliseconds
to_ms() { awk '{ v = $1; u = $2; if (u == "ns") v /= 1e6; else if (u == "us" || u == "µs") v /= 1e3; else if (u == "s") v *= 1e3; printf "%.1f\n", v; exit }'; }
# snap_ms CMD_OUTPUT: the pause the shim reported on its SNAP line, as
# `glpeer checkpoint` says it, else as the host's log has it
snap_ms() {
    local v
    v=$(grep -oiE '(pause|paused|stopped|snap)[^0-9]{0,20}[0-9]+(\.[0-9]+)? ?(ns|us|µs|ms|s)\b' "$1" | head -1 |
        sed -E 's/.*[^0-9.]([0-9]+(\.[0-9]+)?) ?(ns|us|µs|ms|s)$/\1 \3/')
    [ -z "$v" ] && v=$(grep -ohE 'SNAP [0-9]+' "$T/p1.log" 2> /dev/null | tail -1 | awk '{ print $2, "ns" }')
    [ -n "$v" ] && echo "$v" | to_ms || echo -
}
declare -A GPID_SEEN=()
# gl_job SIZE DIR [VAR=VALUE]: the workload under glx on p1 (with that
# in its environment), its output in DIR/out, WARM steps done; GJPID its
# glx, GPID its job
gl_job() {
    local end
    env ${3:-} "$GLX" --runtime-dir "$T/p0/run" -w p1 "$WORK" -t "$THREADS" -s "$STEPS" -g "$GAP" "$1" > "$2/out" 2> "$2/err" < /dev/null &
    GJPID=$!; BG+=("$GJPID")
    wait_lines "$2/out" "^step" "$WARM" 60 || { log "glunix $1: the job never ran: $(head -c 300 "$2/err")"; return 1; }
    end=$(( $(date +%s) + 10 )); GPID=""
    while [ -z "$GPID" ] && [ "$(date +%s)" -lt "$end" ]; do
        for g in $("$GLPEER" ps --json --runtime-dir "$T/p0/run" | jq -r --arg c "$WORK" '.jobs[] | select(.command | startswith($c)) | .gpid'); do
            [ -z "${GPID_SEEN[$g]:-}" ] && { GPID=$g; GPID_SEEN[$g]=1; break; }
        done
        [ -n "$GPID" ] || sleep 0.1
    done
    [ -n "$GPID" ] || { log "glunix $1: glpeer ps does not show the job"; return 1; }
}
# gl_run SIZE RUN [hp]: checkpoint to a file, kill, restart on p2; appends
# "snap wall gap stall image restart ok" to $W/gl-SIZE (hp: the job's
# malloc in huge pages, to $W/glhp-SIZE)
gl_run() {
    local s=$1 d=$W/gl${3:-}/$1-$2 t0 t1 sz snap rs t1r restart=- ok=0 ckok=0 e="" c0 c2
    local res=$W/gl${3:-}-$1
    [ -n "${3:-}" ] && e=$HUGE_ENV
    mkdir -p "$d"
    gl_job "$s" "$d" "$e" || { stop "$GJPID"; return 0; }
    watch_size "$d/out" "$d/sizes"
    t0=$(now)
    "$GLPEER" checkpoint --runtime-dir "$T/p0/run" "$GPID" "$d/img" > "$d/ck" 2>&1 && ckok=1
    t1=$(now)
    sz=$(stat -c %s "$d/out")
    wait_grow "$d/out" "$sz" 10 || true
    stop "$WATCH"
    "$GLPEER" kill -KILL --runtime-dir "$T/p0/run" "$GPID" > /dev/null 2>&1 || true
    stop "$GJPID"
    if [ "$ckok" = 0 ] || [ ! -s "$d/img" ]; then
        log "glunix $s: glpeer checkpoint failed: $(head -c 300 "$d/ck")"
        [ -e "$res-why" ] || head -1 "$d/ck" > "$res-why"
        echo "- - - - - - 0" >> "$res"; return 0
    fi
    snap=$(snap_ms "$d/ck")
    ok=1
    if [ -z "$GL_RS" ]; then
        ok=0
        c0=$(agent_cpu p0); c2=$(agent_cpu p2)
        rs=$(now)
        "$GLX" --runtime-dir "$T/p0/run" -w p2 --restart "$d/img" > "$d/rout" 2> "$d/rerr" < /dev/null &
        GJPID=$!; BG+=("$GJPID")
        if t1r=$(first_output "$d/rout" 120); then restart=$(ms $(( t1r - rs ))); fi
        # the image goes from glx straight to the restorer (or, where the
        # new host has no address for it, through the home's agent to the
        # new host's): the agents' CPU and glx's to the first line
        local gx=0 rest
        read -r gx rest < "/proc/$GJPID/schedstat" 2> /dev/null || gx=0
        [ -n "${3:-}" ] || echo "$c0 $c2 $(agent_cpu p0) $(agent_cpu p2) $gx" |
            awk '{ printf "%.1f %.1f %.1f %.1f %.1f\n", ($5 - $1) / 1e6, ($6 - $2) / 1e6, ($7 - $3) / 1e6, ($8 - $4) / 1e6, $9 / 1e6 }' >> "$W/glrscpu-$1"
        wait "$GJPID" 2> /dev/null || true
        resumed_right "$d/rout" "$W/ref-$s" && ok=1
        # the restorer alone: the same image read from the file here, no
        # agent in the way, to the job's first line (then ended)
        if [ -z "${3:-}" ] && [ -x "$BUILD/glrestore" ]; then
            local dpid t2
            rs=$(now)
            "$BUILD/glrestore" "$d/img" > "$d/dout" 2> "$d/derr" < /dev/null &
            dpid=$!; BG+=("$dpid")
            if t2=$(first_output "$d/dout" 60); then echo "$(ms $(( t2 - rs )))" >> "$W/glrsdirect-$s"; fi
            stop "$dpid"
        fi
        if [ "$ok" = 0 ]; then
            log "glunix $s: the restart did not resume right: $(head -c 300 "$d/rerr")"
            [ -e "$res-why" ] || echo "glx --restart did not resume right: $(head -1 "$d/rerr")" > "$res-why"
        fi
    fi
    echo "$snap $(ms $(( t1 - t0 ))) $(gap "$d/err" "$t0" "$t1") $(stall "$d/sizes" "$t0" "$t1") $(stat -c %s "$d/img") $restart $ok" >> "$res"
    [ -n "${3:-}" ] || [ -e "$W/img-gl-$s" ] || mv "$d/img" "$W/img-gl-$s"
    rm -f "$d/img"
}
# gl_shim SIZE RUN [hp]: the shim alone, no agent: t/ckpt/ckhost (the
# host's side of ckpt_proto.h, for the tests) asks for a checkpoint that
# goes on at once (GL_CKPT_GO_ON, as an agent asks for one to a file or
# one its home keeps) after WARM steps and prints the shim's SNAP line; appends "snap gap ok"
# to $W/glshim-SIZE (hp: huge pages, $W/glshimhp-SIZE), the gap being the
# job's step right after the snapshot
gl_shim() {
    local s=$1 d=$W/glshim${3:-}/$1-$2 snap at k g ok=0 e=""
    local res=$W/glshim${3:-}-$1
    [ -n "${3:-}" ] && e=$HUGE_ENV
    mkdir -p "$d"
    env $e "$CKHOST" -r goon -w "step $WARM/" -o "$d/out" -p "$BUILD/libglshim.so" -- \
        "$WORK" -t "$THREADS" -s "$STEPS" -g "$GAP" "$s" > "$d/host" 2> "$d/err" < /dev/null || true
    snap=$(sed -n 's/^SNAP \([0-9]*\) at=.*/\1/p' "$d/host")
    at=$(sed -n 's/^SNAP [0-9]* at=\([0-9]*\).*/\1/p' "$d/host")
    if [ -z "$snap" ] || [ -z "$at" ]; then
        [ -e "$res-why" ] || echo "ckhost saw no SNAP: $(grep -v '^START' "$d/host" | head -2 | paste -sd ' ')" > "$res-why"
        echo "- - 0" >> "$res"; return 0
    fi
    k=$(head -c "$at" "$d/out" | grep -c '^step' || true)
    g=$(awk -v k=$(( k + 1 )) -v floor="$GAP" '$1 == "ckpt_work:" && $3 == k { g = $6 } END { printf "%.1f\n", g ? g : floor }' "$d/err")
    cmp -s "$d/out" "$W/ref-$s" && ok=1
    echo "$(ms "$snap") $g $ok" >> "$res"
}
# agent_cpu NAME: the CPU time (ns) the agent NAME has used so far, as
# "OWN IO": its own threads', and ZeroMQ's I/O thread's (from each
# thread's /proc/PID/task/TID/schedstat)
agent_cpu() {
    local t comm ns rest own=0 io=0
    for t in /proc/"${PID[$1]}"/task/*; do
        read -r comm < "$t/comm" 2> /dev/null || continue
        read -r ns rest < "$t/schedstat" 2> /dev/null || continue
        case "$comm" in ZMQbg/IO/*) io=$(( io + ns )) ;; *) own=$(( own + ns )) ;; esac
    done
    echo "$own $io"
}
# gl_migrate SIZE RUN: p1 -> p2 mid-run, then to the end; appends
# "wall gap stall ok" to $W/glmig-SIZE, and the CPU the two agents used
# for it, "OLD_OWN OLD_IO NEW_OWN NEW_IO" (ms), to $W/glcpu-SIZE
gl_migrate() {
    local s=$1 d=$W/glmig/$1-$2 t0 t1 ok=0 node c1 c2
    mkdir -p "$d"
    gl_job "$s" "$d" || { stop "$GJPID"; return 0; }
    watch_size "$d/out" "$d/sizes"
    c1=$(agent_cpu p1); c2=$(agent_cpu p2)
    t0=$(now)
    if ! "$GLPEER" migrate --runtime-dir "$T/p0/run" "$GPID" p2 > "$d/mig" 2>&1; then
        log "glunix $s: glpeer migrate failed: $(head -c 300 "$d/mig")"
        [ -e "$W/glmig-why-$s" ] || head -1 "$d/mig" > "$W/glmig-why-$s"
        "$GLPEER" kill -KILL --runtime-dir "$T/p0/run" "$GPID" > /dev/null 2>&1; stop "$GJPID" "$WATCH"
        echo "- - - 0" >> "$W/glmig-$s"; return 0
    fi
    t1=$(now)
    # `glpeer migrate` may answer before the job runs on p2: watch for it
    while kill -0 "$GJPID" 2> /dev/null; do
        node=$("$GLPEER" ps --json --runtime-dir "$T/p0/run" | jq -r --arg g "$GPID" '.jobs[] | select(.gpid == $g) | .node')
        [ "$node" = p2 ] && break
        sleep 0.1
    done
    echo "$c1 $c2 $(agent_cpu p1) $(agent_cpu p2)" |
        awk '{ printf "%.1f %.1f %.1f %.1f\n", ($5 - $1) / 1e6, ($6 - $2) / 1e6, ($7 - $3) / 1e6, ($8 - $4) / 1e6 }' >> "$W/glcpu-$s"
    wait "$GJPID" 2> /dev/null || true
    stop "$WATCH"
    # right: it ran on at p2 and its output is the undisturbed run's
    [ "$node" = p2 ] && cmp -s "$d/out" "$W/ref-$s" && ok=1
    if [ "$ok" = 0 ]; then
        log "glunix $s: after the move the job was on '${node:-nowhere}', output $(cmp "$d/out" "$W/ref-$s" 2>&1 | head -1)"
        [ -e "$W/glmig-why-$s" ] || echo "moved to '${node:-nowhere}', output: $(cmp "$d/out" "$W/ref-$s" 2>&1 | head -1 || true)" > "$W/glmig-why-$s"
    fi
    echo "$(ms $(( t1 - t0 ))) $(gap "$d/err" "$t0" "$(( t1 + 10000000000 ))") $(stall "$d/sizes" "$t0" "$t1") $ok" >> "$W/glmig-$s"
}

# guest_still ROOT LIMIT_S: the time (ns) the guests on the agent ROOT
# (its descendants but its own glpeer and glpeer-launch processes) last
# used CPU, once none has used any for half a second or none is left: the
# CPU time of every thread (/proc/PID/task/TID/schedstat, nanoseconds)
# read every millisecond or so.  A parked or stopped process uses none;
# the child that streams a snapshot's image away does.  Fails after
# LIMIT_S seconds, naming what still ran.
guest_still() {
    perl -MTime::HiRes=time,sleep -e '
        my ($root, $lim) = @ARGV; my $end = time + $lim; my (%cpu, @busy);
        my $last = time;
        while (time < $end) {
            my (%kids, %comm);
            opendir my $d, "/proc" or die;
            for my $p (grep { /^\d+$/ } readdir $d) {
                open my $f, "<", "/proc/$p/stat" or next; my $l = <$f>; close $f;
                $l =~ /^\d+ \((.*)\) \S (\d+)/s or next;
                push @{$kids{$2}}, $p; $comm{$p} = $1;
            }
            closedir $d;
            my @q = ($root); my @guests;
            while (@q) {
                for my $c (@{$kids{shift @q} || []}) { push @q, $c; push @guests, $c if $comm{$c} !~ /^glpeer/ }
            }
            my $now = time; my %seen; @busy = ();
            for my $p (@guests) {
                opendir my $t, "/proc/$p/task" or next;
                for my $tid (grep { /^\d+$/ } readdir $t) {
                    open my $f, "<", "/proc/$p/task/$tid/schedstat" or next; my ($ns) = split " ", <$f>; close $f;
                    $seen{$tid} = 1;
                    if (!defined $cpu{$tid} || $ns > $cpu{$tid}) { $last = $now; push @busy, "$p/$tid $comm{$p}" }
                    $cpu{$tid} = $ns;
                }
                closedir $t;
            }
            if (!%seen) { printf "%.0f\n", $now * 1e9; exit 0 }
            if ($now - $last >= 0.5) { printf "%.0f\n", $last * 1e9; exit 0 }
            sleep 0.001;
        }
        print STDERR join(", ", @busy), "\n"; exit 1' "$1" "$2"
}
# resource STATE of NODE in p0's view
res_state() { status p0 2> /dev/null | jq -r --arg n "$1" '.members[] | select(.name == $n) | .resources.state'; }
# gl_evict SIZE RUN: a job on p1, p1's owner types: the time to no guest
# CPU on p1 (ms) appended to $W/evict; then p1's owner leaves again
gl_evict() {
    local s=$1 d=$W/evict-$2 t0 t1
    mkdir -p "$d"
    wait_until 90 bash -c "[ \"\$($GLPEER status --json --runtime-dir $T/p0/run | jq -r '.members[] | select(.name == \"p1\") | .resources.state')\" = idle ]" ||
        { GL_EV="absent: p1 did not turn idle again after its owner left (p0 sees it $(res_state p1))"; return 1; }
    gl_job "$s" "$d" || { stop "$GJPID"; GL_EV="absent: no job could run on p1 for an eviction"; return 1; }
    t0=$(now)
    touch -a "$T/tty-p1"       # the owner's first keystroke
    if ! t1=$(guest_still "${PID[p1]}" 30 2> "$d/busy"); then
        GL_EV="absent: the guest still ran on p1 30 s after its owner's keystroke (not evicted; running there: $(cat "$d/busy"))"
        "$GLPEER" kill -KILL --runtime-dir "$T/p0/run" "$GPID" > /dev/null 2>&1; stop "$GJPID"
        return 1
    fi
    echo "$(ms $(( t1 - t0 )))" >> "$W/evict"
    # how it left, and whether it stayed away while the owner is active
    # (owner_idle_min is 60 s: p1 stays busy for the next 3 s)
    "$GLPEER" ps --json --runtime-dir "$T/p0/run" |
        jq -r --arg g "$GPID" '.jobs[] | select(.gpid == $g) | "\(.state) on \(.node)"' > "$d/how"
    [ -s "$d/how" ] || echo "ended" > "$d/how"
    sleep 3
    if ! guest_still "${PID[p1]}" 0.6 > /dev/null 2> "$d/busy"; then echo "ran again on p1 within 3 s" > "$d/again"; fi
    cat "$d/how" >> "$W/evict-how"; cat "$d/again" >> "$W/evict-again" 2> /dev/null
    "$GLPEER" kill -KILL --runtime-dir "$T/p0/run" "$GPID" > /dev/null 2>&1; stop "$GJPID"
    touch -d '1 hour ago' "$T/tty-p1"    # the owner leaves
}

if [ -z "$GL_SHIM" ]; then
    for s in ${SIZES//,/ }; do
        [ -n "${SKIPSIZE[$s]:-}" ] && continue
        for r in $(seq "$RUNS"); do log "glunix shim alone (ckhost) $s MiB, run $r"; gl_shim "$s" "$r"; done
        [ -z "$GL_HUGE" ] && for r in $(seq "$RUNS"); do log "glunix shim alone (ckhost) $s MiB, huge pages, run $r"; gl_shim "$s" "$r" hp; done
    done
fi
if [ -z "$GL_CK" ] || [ -z "$GL_MIG" ]; then
    export GLPEER BUILD
    EXTRA_CLEANUP=teardown
    . "$top/t/integ/lib.sh"        # its exit trap ends the peers, then runs teardown
    set +e
    # each machine's owner has a terminal of its own, away for an hour:
    # touching one is its owner's keystroke (as t/integ/idle.sh does it)
    sed -i 's/owner_idle_min = 0/owner_idle_min = 60s/' "$T/cluster.conf"
    for i in 0 1 2; do
        touch -d '1 hour ago' "$T/tty-p$i"
        start_peer "p$i" "$i" --set "idle/activity=$T/tty-p$i"
    done
    wait_until 30 all_alive 3 p0 p1 p2 || { echo "$0: the 3 peers did not converge" >&2; exit 1; }
    wait_until 30 bash -c "timeout 10 $GLX --runtime-dir $T/p0/run -w p1 /bin/true < /dev/null" || { echo "$0: glx -w p1 /bin/true never worked" >&2; exit 1; }
    log "glunix: 3 peers up on loopback, home p0, jobs on p1, moved to p2"
    for s in ${SIZES//,/ }; do
        [ -n "${SKIPSIZE[$s]:-}" ] && continue
        if [ -z "$GL_CK" ]; then for r in $(seq "$RUNS"); do log "glunix $s MiB checkpoint, run $r"; gl_run "$s" "$r"; done; fi
        if [ -z "$GL_CK" ] && [ -z "$GL_HUGE" ]; then for r in $(seq "$RUNS"); do log "glunix $s MiB checkpoint, huge pages, run $r"; gl_run "$s" "$r" hp; done; fi
        if [ -z "$GL_MIG" ]; then for r in $(seq "$RUNS"); do log "glunix $s MiB migrate, run $r"; gl_migrate "$s" "$r"; done; fi
    done
    if [ -z "$GL_CK" ]; then
        s=${SIZES%%,*}
        for r in $(seq "$EVICTIONS"); do
            log "glunix eviction from p1, $s MiB, $r of $EVICTIONS"
            gl_evict "$s" "$r" || break
        done
    fi
fi

# --- the tables ------------------------------------------------------------------------
# col FILE N: the median of column N of FILE's lines
col() { [ -s "$1" ] && awk -v n="$2" '$n != "-" { print $n }' "$1" | median || echo -; }
okn() { [ -s "$1" ] && awk '{ n++; ok += $NF } END { printf "%d/%d", ok, n }' "$1" || echo "0/0"; }
mib() { [ "$1" = - ] && echo - || awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
row() { printf '  %-34s %9s %9s %9s %10s %10s %10s %6s\n' "$@"; }
why() { printf '  %-34s %s\n' "$1" "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3f", a / b }'; }
# larger A B: the larger of two figures, "-" ignored
larger() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-") print b; else if (b == "-") print a; else print (a + 0 > b + 0 ? a : b) }'; }
report() {
    local s=$1 f
    echo
    echo "== $s MiB touched, $THREADS threads; medians of $RUNS runs (DMTCP gzip: $GZRUNS); undisturbed run ${REF_MS[$s]:-?} ms =="
    if [ -n "${SKIPSIZE[$s]:-}" ]; then why "(all)" "absent: ${SKIPSIZE[$s]}"; return; fi
    row "" "pause ms" "gap ms" "stall ms" "image MiB" "restart ms" "migrate ms" "ok"
    if [ -n "$GL_SHIM" ]; then why "glunix shim alone (ckhost)" "$GL_SHIM"
    else f=$W/glshim-$s; row "glunix shim alone (ckhost, goon)" "$(col "$f" 1)" "$(col "$f" 2)" "" "" "" "" "$(okn "$f")"
        [ -s "$W/glshim-$s-why" ] && why "  the first that failed:" "$(cat "$W/glshim-$s-why")"
        if [ -n "$GL_HUGE" ]; then why "  huge pages" "$GL_HUGE"
        else f=$W/glshimhp-$s; row "  the same, huge pages" "$(col "$f" 1)" "$(col "$f" 2)" "" "" "" "" "$(okn "$f")"
            [ -s "$W/glshimhp-$s-why" ] && why "  the first that failed:" "$(cat "$W/glshimhp-$s-why")"
        fi
    fi
    if [ -n "$GL_CK" ]; then why "glunix glpeer checkpoint" "$GL_CK"
    else
        f=$W/gl-$s
        row "glunix: SNAP (shim's pause)" "$(col "$f" 1)" "$(col "$f" 3)" "$(col "$f" 4)" "$(mib "$(col "$f" 5)")" "$(col "$f" 6)" "" "$(okn "$f")"
        row "glunix: glpeer checkpoint (wall)" "$(col "$f" 2)" "" "" "" "" "" ""
        [ -s "$W/gl-$s-why" ] && why "  the first that failed:" "$(cat "$W/gl-$s-why")"
        if [ -n "$GL_HUGE" ]; then why "  huge pages" "$GL_HUGE"
        else
            f=$W/glhp-$s
            row "  SNAP, huge pages" "$(col "$f" 1)" "$(col "$f" 3)" "$(col "$f" 4)" "$(mib "$(col "$f" 5)")" "$(col "$f" 6)" "" "$(okn "$f")"
            row "  glpeer checkpoint (wall), huge" "$(col "$f" 2)" "" "" "" "" "" ""
            [ -s "$W/glhp-$s-why" ] && why "  the first that failed:" "$(cat "$W/glhp-$s-why")"
        fi
    fi
    [ -n "$GL_RS" ] && why "glunix glx --restart" "$GL_RS"
    if [ -n "$GL_MIG" ]; then why "glunix glpeer migrate" "$GL_MIG"
    else f=$W/glmig-$s; row "glunix: glpeer migrate p1 -> p2" "" "$(col "$f" 2)" "$(col "$f" 3)" "" "" "$(col "$f" 1)" "$(okn "$f")"
        [ -s "$W/glmig-why-$s" ] && why "  the first that failed:" "$(cat "$W/glmig-why-$s")"
    fi
    if [ -n "$DMTCP_WHY" ]; then why "DMTCP" "$DMTCP_WHY"
    else
        for m in raw gzip; do
            f=$W/dmtcp-$s-$m
            row "DMTCP -bc $([ $m = raw ] && echo "--no-gzip" || echo "(gzip, its default)")" "$(col "$f" 1)" "$(col "$f" 2)" "$(col "$f" 3)" "$(mib "$(col "$f" 4)")" "$(col "$f" 5)" "" "$(okn "$f")"
        done
    fi
    if [ -n "$CRIU_WHY" ]; then why "CRIU ${CRIU_V:-}" "$CRIU_WHY"
    else f=$W/criu-$s; row "CRIU $CRIU_V dump --leave-running" "$(col "$f" 1)" "$(col "$f" 2)" "$(col "$f" 3)" "$(mib "$(col "$f" 4)")" "$(col "$f" 5)" "" "$(okn "$f")"
    fi
    case "${COPY[$s]:-absent: no image to copy}" in
        absent*) why "copy of the image, loopback TCP" "${COPY[$s]:-absent: no image to copy}" ;;
        *) row "copy of ${COPY_WHAT[$s]}" "" "" "" "$(mib "${COPY_BYTES[$s]}")" "" "${COPY[$s]}" "" ;;
    esac
    # the goals of issue 12; "met"/"missed" only where both sides ran
    local goal_pause dm dmg gp gg gm gr cp=${COPY[$s]:--}
    [[ $cp =~ ^[0-9.]+$ ]] || cp=-
    goal_pause=$(awk -v s="$s" 'BEGIN { printf "%.1f", 20 + 20 * s / 1024 }')
    dm=$(col "$W/dmtcp-$s-raw" 1); dmg=$(col "$W/dmtcp-$s-raw" 2)
    gp=-; gg=-
    [ -z "$GL_CK" ] && { gp=$(col "$W/gl-$s" 1); gg=$(col "$W/gl-$s" 3); }
    local src="as the agent reports it"
    if [ "$gp" = - ] && [ -z "$GL_SHIM" ]; then gp=$(col "$W/glshim-$s" 1); src="the shim alone under ckhost: the agents' run gave no figure"; fi
    if [ "$gp" != - ]; then
        echo "  pause (SNAP, $src): $gp ms; goal <= $goal_pause ms (20 ms + 20 ms/GiB): $(judge "$gp" "$goal_pause"); / DMTCP -bc --no-gzip = $(ratio "$gp" "$dm") (goal <= 0.100: $(judge "$(ratio "$gp" "$dm")" 0.1))"
    else
        echo "  pause (SNAP): not measured: neither glpeer checkpoint, p1's log nor ckhost gave the shim's figure (goal <= $goal_pause ms and <= 1/10 of DMTCP's $dm ms)"
    fi
    if [ -z "$GL_CK" ]; then
        if [ "$gg" = - ]; then
            echo "  pause by the job's own clock (gap): not measured: no glunix checkpoint succeeded"
        else
            echo "  pause by the job's own clock (gap), glpeer checkpoint: $gg ms; goal <= $goal_pause ms: $(judge "$gg" "$goal_pause"); / DMTCP --no-gzip's $dmg ms = $(ratio "$gg" "$dmg") (goal <= 0.100: $(judge "$(ratio "$gg" "$dmg")" 0.1)); / DMTCP gzip's = $(ratio "$gg" "$(col "$W/dmtcp-$s-gzip" 2)")"
        fi
    fi
    if [ -z "$GL_CK" ] && [ -z "$GL_HUGE" ]; then
        local hp hg
        hp=$(col "$W/glhp-$s" 1); hg=$(col "$W/glhp-$s" 3)
        echo "  the same, the job's malloc in huge pages ($HUGE_ENV): SNAP $hp ms, gap $hg ms; goal <= $goal_pause ms: $(judge "$hp" "$goal_pause") (SNAP), $(judge "$hg" "$goal_pause") (gap); / DMTCP --no-gzip = $(ratio "$hp" "$dm") (SNAP), $(ratio "$hg" "$dmg") (gap)"
    fi
    if [ -z "$GL_RS" ] && [ -z "$GL_CK" ]; then
        gr=$(col "$W/gl-$s" 6)
        local goal_rs; goal_rs=$(awk -v c="$cp" 'BEGIN { if (c == "-") print "-"; else printf "%.1f", 100 + c }')
        echo "  restart: glunix $gr ms; goal <= 100 ms + the transfer ($cp ms) = $goal_rs ms: $(judge "$gr" "$goal_rs")"
        [ -s "$W/glrsdirect-$s" ] && echo "  the restorer alone (glrestore FILE on this node, no agents): $(col "$W/glrsdirect-$s" 1) ms to the first line"
        local rf=$W/glrscpu-$s
        [ -s "$rf" ] && echo "  CPU of a restart to its first line (ms, medians): the home's agent $(col "$rf" 1) and its ZeroMQ I/O thread $(col "$rf" 2); the new host's agent $(col "$rf" 3) and its I/O thread $(col "$rf" 4); glx $(col "$rf" 5)"
    fi
    if [ -z "$GL_MIG" ]; then
        # the whole move: the command's time, or the job's own gap if longer
        gm=$(larger "$(col "$W/glmig-$s" 1)" "$(col "$W/glmig-$s" 2)")
        echo "  migration ($gm ms, the longer of the command and the job's gap) / copy of its image = $(ratio "$gm" "$cp") (goal <= 1.5: $(judge "$(ratio "$gm" "$cp")" 1.5))"
        local f=$W/glcpu-$s
        echo "  CPU of a move (ms, medians): the old host's agent $(col "$f" 1) and its ZeroMQ I/O thread $(col "$f" 2); the new host's agent $(col "$f" 3) and its I/O thread $(col "$f" 4)"
    fi
}
judge() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || a == "" || b == "-") print "not measured"; else print (a + 0 <= b + 0) ? "met" : "missed" }'; }

# --- the copy rows, then the report ----------------------------------------------------
declare -A COPY_WHAT=() COPY_BYTES=()
for s in ${SIZES//,/ }; do
    [ -n "${SKIPSIZE[$s]:-}" ] && continue
    if [ -e "$W/img-gl-$s" ]; then img=$W/img-gl-$s; COPY_WHAT[$s]="glunix's image, loopback TCP"
    elif [ -e "$W/img-dmtcp-$s" ]; then img=$W/img-dmtcp-$s; COPY_WHAT[$s]="DMTCP's raw image, loopback TCP"
    else continue; fi
    COPY_BYTES[$s]=$(stat -c %s "$img")
    log "copy of ${COPY_WHAT[$s]}: $s MiB"
    copy_row "$s" "$img"
    rm -f "$W/img-gl-$s" "$W/img-dmtcp-$s"
done

echo "bench/checkpoint.sh --sizes $SIZES --runs $RUNS --gzip-runs $GZRUNS --threads $THREADS"
echo "$(date -u '+%F %H:%M UTC'), tree $(git -C "$top" rev-parse --short HEAD 2> /dev/null || echo '?'), $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "load average at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg); took $(( $(date +%s) - START )) s"
echo "DMTCP: ${DMTCP_V:-none} ($DMTCP); CRIU: ${CRIU_V:-none}; workload: ckpt_work -t $THREADS -s $STEPS MIB, checkpointed after $WARM steps"
echo "pause: the checkpointer's own figure (glunix: SNAP, the shim's; DMTCP: dmtcp_command -bc's wall time); gap: the longest time between two of the job's steps by its own clock"
echo "  (a step's work included; $GAP where none was longer); stall: the longest time the job's output file stood still (its delivery included)"
echo "restart: from the restart command's start to the job's first line of output; ok: restarted or migrated runs whose output matched the undisturbed run's"
for s in ${SIZES//,/ }; do report "$s"; done
echo
if [ -n "$GL_EV" ]; then echo "eviction (owner's first keystroke to no guest CPU on that machine): $GL_EV"
else
    echo "eviction (owner's first keystroke to no guest CPU on that machine), $(wc -l < "$W/evict") times: median $(median < "$W/evict") ms, p99 $(p99 < "$W/evict") ms"
    echo "  the guest, once none of it ran on p1: $(sort "$W/evict-how" | uniq -c | awk '{ n = $1; $1 = ""; printf "%s%d%s", (NR > 1 ? ", " : ""), n, $0 }')"
    echo "  3 s later, with its owner still active: $( [ -s "$W/evict-again" ] && echo "it ran on p1 again $(wc -l < "$W/evict-again") times" || echo "none of it ran on p1")"
fi
