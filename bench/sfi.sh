#!/usr/bin/env bash
# bench/sfi.sh -- the cost of the glsfi sandbox (sfi/), side by side with
# native code and with WebAssembly through wasm2c, all on this machine:
#   1. run(n) of 8 compute kernels (bench/sfi/k_*.c) and of zlib and bzip2
#      (Debian's sources, bench/sfi/w_*.c) built natively with glsfi-cc's
#      own gcc flags, natively without -ffixed-r14/-r15, as glsfi modules
#      called through the gate, and through wasm2c: ms per call, ratios
#      glsfi/native (goal: geomean <= 1.15), growth of .text, checksums
#   2. wasm2c/native for the same workloads (no goal: the alternative)
#   3. one call of a trivial policy through the gate (goal <= 20 ns, in
#      CPU time like glsfi-run -c; the wall clock is shown too), a plain
#      function call, syscall(SYS_getpid), and a server process asked over
#      a Unix socket (bench/sfi/gate.c)
#   4. glsfi-verify --stats on the two largest modules (goal >= 30 MiB/s),
#      and the same verifier (libglsfiverify.a) timed in CPU time by
#      bench/sfi/vspeed.c, which the goal is judged on: --stats times with
#      the wall clock, which other load on the machine inflates
#
#   bench/sfi.sh [--rounds N] [--calls N] [--batches N] [--verify-runs N] [--build DIR] [--cache DIR] [--keep DIR]
#   (defaults 5, 2, 9, 9, build/, bench/.cache; --keep DIR keeps the builds and raw times there)
#
# Needs the sandbox tools built in DIR (cd build && make glsfi-cc
# glsfi-verify glsfi-run sfi/home/libglsfirt.a libglsfi.a libglsfiverify.a
# libglcore.a).
# As root it first installs the Debian packages it needs (clang-14 lld-14
# wasi-libc libclang-rt-14-dev-wasm32 wabt for wasm2c, dpkg-dev for the
# sources), and fetches the zlib and bzip2 source packages once into the
# cache through a private apt configuration (a deb-src entry of its own;
# the system's sources are not touched).  Each workload is timed in
# rounds: every round runs every workload in its 4 builds one after the
# other and then back in the reverse order (ABCD DCBA, so that a load
# that grows or shrinks meanwhile hits them alike), one process each (a
# warm-up call, then CALLS timed calls in CPU time of the calling thread);
# the order rotates from round to round.  Times are the medians of all
# calls; a ratio is the median over the rounds of that round's ratio.  What cannot be built or run is marked in the table with
# the reason instead of failing the run; a wrong checksum is a failure
# (exit 1).  A default run takes about 5 minutes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=5; CALLS=2; BATCHES=9; VRUNS=9
BUILD=${BUILD:-$top/build}; CACHE=$top/bench/.cache; KEEP=""
usage="usage: $0 [--rounds N] [--calls N] [--batches N] [--verify-runs N] [--build DIR] [--cache DIR] [--keep DIR]"
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --calls) CALLS=$2; shift 2 ;;
        --batches) BATCHES=$2; shift 2 ;;
        --verify-runs) VRUNS=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --keep) KEEP=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
BUILD=$(cd "$BUILD" && pwd)
S=$top/bench/sfi
HOME_DIR=$BUILD/sfi/home
CC_SFI=$BUILD/glsfi-cc; VERIFY=$BUILD/glsfi-verify; GRUN=$BUILD/glsfi-run
for f in "$CC_SFI" "$VERIFY" "$GRUN" "$HOME_DIR/libglsfirt.a" "$HOME_DIR/glsfi.ld" "$BUILD/libglsfi.a" "$BUILD/libglsfiverify.a" "$BUILD/libglcore.a"; do
    [ -e "$f" ] || { echo "missing $f: cd $BUILD && make glsfi-cc glsfi-verify glsfi-run sfi/home/libglsfirt.a libglsfi.a libglsfiverify.a libglcore.a" >&2; exit 1; }
done

declare -A SKIP=()      # what -> why it was not measured
declare -A FAILED=()    # what -> why it counts as a failure
log() { echo "[$(date +%T)] $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
T0=$(date +%s)

# --- packages ---------------------------------------------------------------
PKGS="gcc binutils libzydis-dev clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 wabt dpkg-dev"
if [ "$(id -u)" = 0 ]; then
    missing=""
    for p in $PKGS; do dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        log "installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        timeout 300 apt-get update -qq >/dev/null 2>&1 || true
        if ! timeout 600 apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
            for p in $missing; do timeout 300 apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 || log "could not install $p"; done
        fi
    fi
fi

W=$(mktemp -d /tmp/glsfi-bench.XXXXXX)
cleanup() {
    [ -z "$KEEP" ] || { mkdir -p "$KEEP" && cp -r "$W"/. "$KEEP"/ 2>/dev/null || true; }
    rm -rf "$W"
}
trap cleanup EXIT
RES=$W/res; mkdir -p "$RES"

# --- sources: Debian's zlib and bzip2, cached ---------------------------------
SRC=$CACHE/src
fetch_sources() {
    mkdir -p "$SRC"
    [ -e "$CACHE/.gitignore" ] || echo '*' > "$CACHE/.gitignore"    # keep the cache out of git status
    [ -f "$SRC/zlib/deflate.c" ] && [ -f "$SRC/bzip2/bzlib.c" ] && return 0
    have apt-get && have dpkg-source || { SKIP[sources]="apt-get or dpkg-source (dpkg-dev) missing"; return 1; }
    local a=$SRC/apt; mkdir -p "$a/lists/partial" "$a/archives/partial"
    cat > "$a/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    local A=(-o "Dir::Etc::SourceList=$a/src.sources" -o Dir::Etc::SourceParts=/dev/null
             -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a")
    log "fetching the zlib and bzip2 source packages into $SRC"
    timeout 300 apt-get "${A[@]}" update -qq >"$a/log" 2>&1 || { SKIP[sources]="apt-get update (deb-src): $(tail -1 "$a/log")"; return 1; }
    (cd "$a" && timeout 300 apt-get "${A[@]}" source --download-only zlib bzip2) >>"$a/log" 2>&1 \
        || { SKIP[sources]="apt-get source zlib bzip2: $(tail -1 "$a/log")"; return 1; }
    rm -rf "$SRC/zlib" "$SRC/bzip2"
    (cd "$a" && dpkg-source -x zlib_*.dsc "$SRC/zlib" && dpkg-source -x bzip2_*.dsc "$SRC/bzip2") >>"$a/log" 2>&1 \
        || { SKIP[sources]="dpkg-source -x: $(tail -1 "$a/log")"; return 1; }
}
fetch_sources || log "SKIP zlib/bzip2: ${SKIP[sources]}"
ZLIB_VER=$(sed -n 's/^Version: //p' "$SRC"/apt/zlib_*.dsc 2>/dev/null | head -1)
BZIP2_VER=$(sed -n 's/^Version: //p' "$SRC"/apt/bzip2_*.dsc 2>/dev/null | head -1)

# --- flags --------------------------------------------------------------------
# glsfi-cc's gcc flags, read from glsfi-cc -v so that they follow it.
echo 'int bench_probe;' > "$W/probe.c"
SFI_GCC=$(cd "$W" && { "$CC_SFI" --home "$HOME_DIR" -v -c -o probe.o probe.c 2>&1 || true; } | awk '/^gcc -S/ && !n++')
[ -n "$SFI_GCC" ] || { echo "glsfi-cc -v printed no gcc command line" >&2; exit 1; }
read -r -a words <<<"$SFI_GCC"
NF=(); skip_next=0
for x in "${words[@]:2}"; do        # drop "gcc -S", -o FILE, -I DIR, -D__GLSFI__, the input
    if [ $skip_next = 1 ]; then skip_next=0; continue; fi
    case "$x" in
        -o|-I) skip_next=1 ;;
        -I*|-D__GLSFI__*|*.c) ;;
        *) NF+=("$x") ;;
    esac
done
NFREE=(); for x in "${NF[@]}"; do case "$x" in -ffixed-r14|-ffixed-r15) ;; *) NFREE+=("$x") ;; esac; done
RT=/usr/share/wabt/wasm2c
if have clang-14 && have wasm2c && [ -f "$RT/wasm-rt-impl.c" ] && [ -d /usr/include/wasm32-wasi ]; then
    WCC=(clang-14 --target=wasm32-wasi -nostdinc -isystem "$(clang-14 -print-resource-dir)/include" -isystem /usr/include/wasm32-wasi)
    WLD=(-O2 -mexec-model=reactor -Wl,--stack-first -Wl,-z,stack-size=1048576 -Wl,--export=run)
else
    SKIP[w2c]="clang-14, wabt (wasm2c) or wasi-libc not installed"
fi

# --- workloads ----------------------------------------------------------------
# name: n per call | what | library | extra cflags
WORKLOADS=(matmul sha256 crc32 qsort hash search nbody fib zlib-deflate zlib-inflate bzip2-compress bzip2-decompress)
declare -A WN=( [matmul]=200 [sha256]=16 [crc32]=25 [qsort]=600000 [hash]=700000 [search]=6 [nbody]=500000 [fib]=36
                [zlib-deflate]=1 [zlib-inflate]=6 [bzip2-compress]=1 [bzip2-decompress]=1 )
declare -A WHAT=( [matmul]="n products of 128x128 doubles" [sha256]="n SHA-256 of 1 MiB" [crc32]="n bytewise CRC-32 of 1 MiB"
    [qsort]="quicksort of n pairs, indirect comparator" [hash]="n inserts + 2n lookups, open addressing"
    [search]="n x 8 Horspool searches in 2 MiB" [nbody]="n steps of 5 bodies" [fib]="recursive fib(n)"
    [zlib-deflate]="n x deflate -6 of 4 MiB text" [zlib-inflate]="n x inflate of it" [bzip2-compress]="n x bzip2 -9 of 2 MiB text"
    [bzip2-decompress]="n x bunzip2 of it" )
declare -A WLIB=( [zlib-deflate]=zlib [zlib-inflate]=zlib [bzip2-compress]=bzip2 [bzip2-decompress]=bzip2 )
declare -A WDEF=( [zlib-deflate]=-DZ_DEFLATE [bzip2-compress]=-DBZ_COMPRESS )
LIBFILES_zlib="adler32 crc32 deflate inffast inflate inftrees trees zutil"
LIBFILES_bzip2="blocksort huffman crctable randtable compress decompress bzlib"
LIBDEF_zlib=""; LIBDEF_bzip2="-DBZ_NO_STDIO"
wsrc() { case "$1" in zlib-*) echo "$S/w_zlib.c" ;; bzip2-*) echo "$S/w_bzip2.c" ;; *) echo "$S/k_$1.c" ;; esac; }
libfiles() { local v=LIBFILES_$1; echo "${!v}"; }
libdef() { local v=LIBDEF_$1; echo "${!v}"; }
VARIANTS=(nat nfree sfi w2c)
declare -A VNAME=( [nat]="native" [nfree]="native, r14/r15 free" [sfi]="glsfi" [w2c]="wasm2c" )
for w in "${WORKLOADS[@]}"; do
    [ -z "${WLIB[$w]:-}" ] || [ -z "${SKIP[sources]:-}" ] || for v in "${VARIANTS[@]}"; do SKIP[$w.$v]="no sources: ${SKIP[sources]}"; done
    [ -z "${SKIP[w2c]:-}" ] || SKIP[$w.w2c]=${SKIP[w2c]}
done

# --- build --------------------------------------------------------------------
# Each build step writes its reason for failing to FILE.fail; the table shows it.
firsterr() { grep -m1 -iE 'error|undefined|refus|failed|cannot' "$1" 2>/dev/null | cut -c1-200 || head -c 200 "$1"; }
ccn() {  # ccn VARIANT OUT SRC FLAGS...: native compile
    local v=$1 out=$2 src=$3; shift 3
    if [ "$v" = nat ]; then gcc "${NF[@]}" "$@" -c -o "$out" "$src"; else gcc "${NFREE[@]}" "$@" -c -o "$out" "$src"; fi
}
build_lib() {  # build_lib VARIANT LIB: objects in $W/VARIANT/lib-LIB
    local v=$1 lib=$2 d=$W/$1/lib-$2 f; mkdir -p "$d"
    for f in $(libfiles "$lib"); do
        if [ "$v" = sfi ]; then
            (cd "$d" && "$CC_SFI" --home "$HOME_DIR" $(libdef "$lib") -c -o "$f.o" "$SRC/$lib/$f.c") >"$d/$f.log" 2>&1 \
                || echo "glsfi-cc -c $lib/$f.c: $(firsterr "$d/$f.log")" >> "$d/FAIL"
        else
            ccn "$v" "$d/$f.o" "$SRC/$lib/$f.c" $(libdef "$lib") >"$d/$f.log" 2>&1 \
                || echo "gcc -c $lib/$f.c: $(firsterr "$d/$f.log")" >> "$d/FAIL"
        fi
    done
}
libobjs() { local f; for f in $(libfiles "$2"); do echo "$W/$1/lib-$2/$f.o"; done; }
build_one() {  # build_one WORKLOAD VARIANT -> $W/VARIANT/WORKLOAD/{h or m.so}, or .fail
    local w=$1 v=$2 d=$W/$2/$1 lib=${WLIB[$1]:-} src; src=$(wsrc "$w")
    mkdir -p "$d"
    local inc=(-I"$HOME_DIR/include") def=(${WDEF[$w]:-})
    [ -z "$lib" ] || inc+=(-I"$SRC/$lib" $(libdef "$lib"))
    case $v in
    nat|nfree)
        if [ -n "$lib" ] && [ -s "$W/$v/lib-$lib/FAIL" ]; then head -1 "$W/$v/lib-$lib/FAIL" > "$d/fail"; return; fi
        ccn "$v" "$d/w.o" "$src" "${def[@]}" "${inc[@]}" >"$d/log" 2>&1 || { echo "gcc: $(firsterr "$d/log")" > "$d/fail"; return; }
        gcc -O2 -DMODE_NATIVE -o "$d/h" "$S/harness.c" "$d/w.o" $([ -z "$lib" ] || libobjs "$v" "$lib") -lm >>"$d/log" 2>&1 \
            || echo "link: $(firsterr "$d/log")" > "$d/fail" ;;
    sfi)
        (cd "$d" && "$CC_SFI" --home "$HOME_DIR" "${def[@]}" "${inc[@]}" -c -o w.o "$src") >"$d/log" 2>&1 \
            || { echo "glsfi-cc -c $(basename "$src"): $(firsterr "$d/log")" > "$d/fail"; return; }
        if [ -n "$lib" ] && [ -s "$W/sfi/lib-$lib/FAIL" ]; then head -1 "$W/sfi/lib-$lib/FAIL" > "$d/fail"; return; fi
        (cd "$d" && "$CC_SFI" --home "$HOME_DIR" -o m.so w.o $([ -z "$lib" ] || libobjs sfi "$lib")) >>"$d/log" 2>&1 \
            || echo "glsfi-cc (link): $(firsterr "$d/log")" > "$d/fail" ;;
    w2c)
        local srcs=("$src"); [ -z "$lib" ] || for f in $(libfiles "$lib"); do srcs+=("$SRC/$lib/$f.c"); done
        "${WCC[@]}" "${WLD[@]}" "${def[@]}" "${inc[@]}" -o "$d/m.wasm" "${srcs[@]}" >"$d/log" 2>&1 \
            || { echo "clang-14 wasm32-wasi: $(firsterr "$d/log")" > "$d/fail"; return; }
        if wasm-objdump -x -j Import "$d/m.wasm" 2>/dev/null | grep -q ' <- '; then
            echo "the module imports: $(wasm-objdump -x -j Import "$d/m.wasm" | grep ' <- ' | sed 's/.*<- //' | tr '\n' ' ')" > "$d/fail"; return
        fi
        wasm2c -n m "$d/m.wasm" -o "$d/m_w2c.c" >>"$d/log" 2>&1 || { echo "wasm2c: $(firsterr "$d/log")" > "$d/fail"; return; }
        gcc -O2 -w -DMODE_WASM -I"$RT" -I"$d" -o "$d/h" "$S/harness.c" "$d/m_w2c.c" "$RT/wasm-rt-impl.c" -lm >>"$d/log" 2>&1 \
            || echo "gcc (wasm2c output): $(firsterr "$d/log")" > "$d/fail" ;;
    esac
}
# cmd_of WORKLOAD VARIANT: the harness command line, without N and CALLS
cmd_of() { case $2 in sfi) echo "$W/h_sfi $W/sfi/$1/m.so" ;; *) echo "$W/$2/$1/h" ;; esac; }

log "building: native flags (glsfi-cc's): ${NF[*]}"
gcc -O2 -DMODE_SFI -I"$top/sfi" -o "$W/h_sfi" "$S/harness.c" "$BUILD/libglsfi.a" "$BUILD/libglsfiverify.a" "$BUILD/libglcore.a" \
    -lZydis -lZycore -lpthread >"$W/h_sfi.log" 2>&1 || { echo "cannot build the sandbox harness: $(firsterr "$W/h_sfi.log")" >&2; exit 1; }
JOBS=$(nproc); running=0
bg() { "$@" & running=$((running + 1)); if [ $running -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi; }
for v in nat nfree sfi; do for lib in zlib bzip2; do [ -n "${SKIP[sources]:-}" ] || bg build_lib "$v" "$lib"; done; done
wait; running=0
for w in "${WORKLOADS[@]}"; do for v in "${VARIANTS[@]}"; do
    [ -n "${SKIP[$w.$v]:-}" ] || bg build_one "$w" "$v"
done; done
wait; running=0
for w in "${WORKLOADS[@]}"; do for v in "${VARIANTS[@]}"; do
    [ -z "${SKIP[$w.$v]:-}" ] && [ -s "$W/$v/$w/fail" ] && SKIP[$w.$v]="build failed: $(head -1 "$W/$v/$w/fail")"
done; done
log "built in $(( $(date +%s) - T0 )) s"

# .text bytes of the workload's own objects (its file and its library), native and glsfi
textsize() { size -A "$@" 2>/dev/null | awk '$1 == ".text" { t += $2 } END { print t + 0 }'; }
declare -A TEXT=()
TOBJ_nat=(); TOBJ_sfi=(); TLIBS=" "     # for the total: every object once, a library once
for w in "${WORKLOADS[@]}"; do
    [ -z "${SKIP[$w.nat]:-}" ] && [ -z "${SKIP[$w.sfi]:-}" ] || continue
    lib=${WLIB[$w]:-}
    for v in nat sfi; do TEXT[$w.$v]=$(textsize "$W/$v/$w/w.o" $([ -z "$lib" ] || libobjs "$v" "$lib")); done
    TOBJ_nat+=("$W/nat/$w/w.o"); TOBJ_sfi+=("$W/sfi/$w/w.o")
    if [ -n "$lib" ] && [[ "$TLIBS" != *" $lib "* ]]; then
        TLIBS="$TLIBS$lib "; TOBJ_nat+=($(libobjs nat "$lib")); TOBJ_sfi+=($(libobjs sfi "$lib"))
    fi
done
TN=0; TS=0
[ ${#TOBJ_nat[@]} = 0 ] || { TN=$(textsize "${TOBJ_nat[@]}"); TS=$(textsize "${TOBJ_sfi[@]}"); }

# --- 1 and 2: timing rounds ---------------------------------------------------
declare -A SUM=()
run_one() {  # run_one WORKLOAD VARIANT ROUND: one process; its call times go to $RES/W.V.rROUND and $RES/W.V
    local w=$1 v=$2 r=$3 out=$RES/out
    if ! timeout 300 $(cmd_of "$w" "$v") "${WN[$w]}" "$CALLS" >"$out" 2>"$out.err"; then
        # a build that fails once is not measured at all: no median of the
        # rounds before, no ratio from them
        SKIP[$w.$v]="run failed in round $r: $(head -c 160 "$out.err" | tr '\n' ' ')"; log "SKIP $w $v: ${SKIP[$w.$v]}"
        rm -f "$RES/$w.$v" "$RES/$w.$v".r*; return
    fi
    local c; c=$(awk '$1 == "checksum" { print $2 }' "$out")
    if [ -z "${SUM[$w.$v]:-}" ]; then SUM[$w.$v]=$c
    elif [ "${SUM[$w.$v]}" != "$c" ]; then FAILED[$w.$v]="checksum changed between runs: ${SUM[$w.$v]} then $c"; fi
    awk '$1 == "ns" { for (i = 2; i <= NF; i++) print $i }' "$out" | tee -a "$RES/$w.$v" >> "$RES/$w.$v.r$r"
}
log "timing: $ROUNDS rounds x ${#WORKLOADS[@]} workloads x ${#VARIANTS[@]} builds x 2 (ABCD DCBA), $CALLS calls each after a warm-up call"
nw=${#WORKLOADS[@]}; nv=${#VARIANTS[@]}
for r in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((nw - 1))); do
        w=${WORKLOADS[$(( (i + r) % nw ))]}
        order=()
        for j in $(seq 0 $((nv - 1))); do order+=("${VARIANTS[$(( (j + r + i) % nv ))]}"); done
        for j in $(seq 0 $((nv - 1))) $(seq $((nv - 1)) -1 0); do      # forth and back: a drift of the load cancels
            v=${order[$j]}
            [ -n "${SKIP[$w.$v]:-}" ] || run_one "$w" "$v" "$r"
        done
    done
    log "round $r of $ROUNDS done"
done
for w in "${WORKLOADS[@]}"; do for v in "${VARIANTS[@]}"; do
    [ -n "${SUM[$w.$v]:-}" ] && [ -n "${SUM[$w.nat]:-}" ] && [ "${SUM[$w.$v]}" != "${SUM[$w.nat]}" ] \
        && FAILED[$w.$v]="checksum ${SUM[$w.$v]}, native ${SUM[$w.nat]}"
done; done

# --- 3: the gate ----------------------------------------------------------------
GATE=""
if gcc -O2 -I"$top/sfi" -I"$HOME_DIR/include" -o "$W/gate" "$S/gate.c" "$S/policy.c" "$BUILD/libglsfi.a" "$BUILD/libglsfiverify.a" "$BUILD/libglcore.a" \
       -lZydis -lZycore -lpthread >"$W/gate.log" 2>&1 \
   && (cd "$W" && "$CC_SFI" --home "$HOME_DIR" -o policy.so "$S/policy.c") >>"$W/gate.log" 2>&1; then
    log "gate: $BATCHES batches of gate, plain call, getpid, Unix socket"
    if timeout 300 "$W/gate" "$W/policy.so" "$BATCHES" > "$RES/gate.out" 2>"$RES/gate.err"; then GATE=ok
    else SKIP[gate]="gate run failed: $(head -c 160 "$RES/gate.err")"; fi
    timeout 120 "$GRUN" -c 10000000 "$W/policy.so" policy 1001 > "$RES/grun.out" 2>&1 || SKIP[grun]="glsfi-run -c failed: $(head -c 160 "$RES/grun.out")"
else
    SKIP[gate]="cannot build the gate bench: $(firsterr "$W/gate.log")"
fi

# --- 4: the verifier ------------------------------------------------------------
# The two largest modules: every compression workload in one module, and every kernel in one.
build_big() {  # build_big NAME WORKLOADS...: $W/big/NAME.so or NAME.fail
    local name=$1 d=$W/big/$1 w objs=() libs=""; shift; mkdir -p "$d"
    for w in "$@"; do
        local lib=${WLIB[$w]:-} inc=(-I"$HOME_DIR/include") def=(${WDEF[$w]:-})
        [ -z "$lib" ] || inc+=(-I"$SRC/$lib" $(libdef "$lib"))
        (cd "$d" && "$CC_SFI" --home "$HOME_DIR" "${def[@]}" "${inc[@]}" -DRUN="run_${w//-/_}" -c -o "$w.o" "$(wsrc "$w")") >>"$d/log" 2>&1 \
            || { echo "glsfi-cc -c for $w: $(firsterr "$d/log")" > "$d/fail"; return; }
        objs+=("$d/$w.o")
        if [ -n "$lib" ] && [[ " $libs " != *" $lib "* ]]; then
            [ -s "$W/sfi/lib-$lib/FAIL" ] && { head -1 "$W/sfi/lib-$lib/FAIL" > "$d/fail"; return; }
            libs="$libs $lib"; objs+=($(libobjs sfi "$lib"))
        fi
    done
    (cd "$d" && "$CC_SFI" --home "$HOME_DIR" -o "../$name.so" "${objs[@]}") >>"$d/log" 2>&1 || echo "glsfi-cc (link): $(firsterr "$d/log")" > "$d/fail"
}
KERNELS=(); COMPRESS=()
for w in "${WORKLOADS[@]}"; do if [ -n "${WLIB[$w]:-}" ]; then COMPRESS+=("$w"); else KERNELS+=("$w"); fi; done
BIG=()
[ -n "${SKIP[sources]:-}" ] || { build_big compress "${COMPRESS[@]}"; BIG+=(compress); }
build_big kernels "${KERNELS[@]}"; BIG+=(kernels)
declare -A BIGDESC=( [compress]="zlib + bzip2 (all 4 compression workloads)" [kernels]="all ${#KERNELS[@]} kernels" )
# If zlib does not build for the sandbox, measure bzip2 alone as well, and say so.
if [ -s "$W/big/compress/fail" ] && [ -z "${SKIP[sources]:-}" ]; then
    SKIP[v.compress]="build failed: $(head -1 "$W/big/compress/fail")"
    build_big bzip2 bzip2-compress bzip2-decompress; BIG+=(bzip2); BIGDESC[bzip2]="bzip2 (2 workloads; zlib would not build)"
fi
gcc -O2 -I"$top/sfi" -o "$W/vspeed" "$S/vspeed.c" "$BUILD/libglsfiverify.a" "$BUILD/libglcore.a" -lZydis -lZycore -lpthread >"$W/vspeed.log" 2>&1 \
    || SKIP[vspeed]="cannot build bench/sfi/vspeed.c: $(firsterr "$W/vspeed.log")"
for b in "${BIG[@]}"; do
    [ -z "${SKIP[v.$b]:-}" ] || continue
    [ -s "$W/big/$b/fail" ] && { SKIP[v.$b]="build failed: $(head -1 "$W/big/$b/fail")"; continue; }
    : > "$RES/verify.$b"; : > "$RES/vcpu.$b"; : > "$RES/vfirst.$b"; : > "$RES/verifyproc.$b"
    log "verifier: $VRUNS runs on $b.so"
    for i in $(seq "$VRUNS"); do
        out=$("$VERIFY" --stats "$W/big/$b.so" "$W/big/$b.so" "$W/big/$b.so" 2>&1) || { SKIP[v.$b]="glsfi-verify: $(echo "$out" | head -1)"; break; }
        echo "$out" | sed -n 's/.*: \([0-9]*\) bytes, \([0-9]*\) instructions, \([0-9.]*\) MiB\/s.*/\1 \2 \3/p' >> "$RES/verify.$b"
        s=$EPOCHREALTIME; rc=0; "$VERIFY" -q "$W/big/$b.so" || rc=$?; e=$EPOCHREALTIME
        [ "$rc" = 0 ] || { SKIP[v.$b]="glsfi-verify -q: exit $rc"; break; }
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", e - s }' >> "$RES/verifyproc.$b"
        if [ -z "${SKIP[vspeed]:-}" ] && out=$("$W/vspeed" "$W/big/$b.so" 3 2>&1); then
            echo "$out" | awk '{ print $3 }' >> "$RES/vfirst.$b"
            echo "$out" | awk '{ for (i = 4; i <= NF; i++) print $i }' >> "$RES/vcpu.$b"
        else
            SKIP[vspeed]=${SKIP[vspeed]:-"vspeed: $(echo "$out" | head -1)"}
        fi
    done
    [ -s "$RES/verify.$b" ] || SKIP[v.$b]=${SKIP[v.$b]:-"glsfi-verify --stats printed no figures"}
done
ELAPSED=$(( $(date +%s) - T0 ))

# --- report ---------------------------------------------------------------------
median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) exit; print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
med() { [ -s "$RES/$1" ] && median < "$RES/$1" || true; }
# pratio W A B: median over rounds of (median of A's calls in the round) / (B's)
pratio() {
    local r a b
    for r in $(seq "$ROUNDS"); do
        [ -s "$RES/$1.$2.r$r" ] && [ -s "$RES/$1.$3.r$r" ] || continue
        a=$(median < "$RES/$1.$2.r$r"); b=$(median < "$RES/$1.$3.r$r")
        [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f\n", a / b }'
    done | median
}
ms() { [ -n "$1" ] && awk -v x="$1" 'BEGIN { printf "%.1f", x / 1e6 }'; }
f3() { [ -n "$1" ] && awk -v x="$1" 'BEGIN { printf "%.3f", x }' || echo "n/a"; }
geomean() { awk '$1 > 0 { s += log($1); n++ } END { if (n) printf "%.3f %d\n", exp(s / n), n }'; }
goal() {  # goal VALUE OP LIMIT
    case "$1" in ""|n/a) echo "not measured"; return ;; esac
    awk -v r="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? (r <= l) : (r >= l); print ok ? "**met**" : "not met" }'
}
cell() {  # cell W V: median ms or why not
    if [ -n "${FAILED[$1.$2]:-}" ]; then echo "FAILED: ${FAILED[$1.$2]}"
    elif [ -s "$RES/$1.$2" ]; then ms "$(med "$1.$2")"
    else local why=${SKIP[$1.$2]:-not run}; echo "${why:0:150}"; fi
}
# the version installed, as the tool says it (not the one the results in
# bench/README.md were made with)
W2C_VER=$(wasm2c --version 2>/dev/null | head -1 || true); W2C_VER=${W2C_VER:-"(not installed)"}
: > "$RES/g.sfi"; : > "$RES/g.sfifree"; : > "$RES/g.w2c"; : > "$RES/g.fix"
{
echo
echo "bench/sfi.sh  $(date -u '+%Y-%m-%d %H:%M UTC')  $(hostname -s), $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(uname -r)"
echo "gcc $(gcc -dumpfullversion); clang $(clang-14 -dumpversion 2>/dev/null || echo -); wasm2c $W2C_VER; zlib ${ZLIB_VER:-?}, bzip2 ${BZIP2_VER:-?} (Debian sources); $ROUNDS rounds x $CALLS calls, CPU time of the calling thread; bench time ${ELAPSED} s"
echo "native = gcc ${NF[*]} (glsfi-cc's flags: all apply natively, -ffixed-r14/-r15 too; only -D__GLSFI__ is dropped); \"r14/r15 free\" = the same without -ffixed-r14 -ffixed-r15; wasm2c = clang-14 --target=wasm32-wasi -O2, reactor, wasm2c $W2C_VER, gcc -O2 with wasm-rt-impl.c (guard pages)"
echo
echo "| workload (work per call) | n | native ms | r14/r15 free ms | glsfi ms | wasm2c ms | glsfi / native | glsfi / r14,r15 free | wasm2c / native | .text native -> glsfi | checksum |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for w in "${WORKLOADS[@]}"; do
    rs=""; rf=""; rw=""
    [ -s "$RES/$w.sfi" ] && [ -s "$RES/$w.nat" ] && [ -z "${FAILED[$w.sfi]:-}" ] && rs=$(pratio "$w" sfi nat)
    [ -s "$RES/$w.sfi" ] && [ -s "$RES/$w.nfree" ] && [ -z "${FAILED[$w.sfi]:-}" ] && rf=$(pratio "$w" sfi nfree)
    [ -s "$RES/$w.w2c" ] && [ -s "$RES/$w.nat" ] && [ -z "${FAILED[$w.w2c]:-}" ] && rw=$(pratio "$w" w2c nat)
    [ -s "$RES/$w.nfree" ] && [ -s "$RES/$w.nat" ] && pratio "$w" nat nfree >> "$RES/g.fix"
    [ -z "$rs" ] || echo "$rs" >> "$RES/g.sfi"; [ -z "$rf" ] || echo "$rf" >> "$RES/g.sfifree"; [ -z "$rw" ] || echo "$rw" >> "$RES/g.w2c"
    tx="n/a"
    if [ -n "${TEXT[$w.nat]:-}" ] && [ -n "${TEXT[$w.sfi]:-}" ]; then
        tx=$(awk -v a="${TEXT[$w.nat]}" -v b="${TEXT[$w.sfi]}" 'BEGIN { printf "%d -> %d (%+.0f%%)", a, b, (b / a - 1) * 100 }')
    fi
    sums=""; for v in "${VARIANTS[@]}"; do [ -n "${SUM[$w.$v]:-}" ] && sums="$sums ${SUM[$w.$v]}"; done
    sumcell=$(echo $sums | tr ' ' '\n' | sort -u | wc -l)
    if [ -z "$sums" ]; then sumcell="n/a"
    elif [ "$sumcell" = 1 ]; then sumcell="$(echo $sums | cut -d' ' -f1) (all $(echo $sums | wc -w) equal)"
    else sumcell="**MISMATCH**:$sums"; fi
    printf '| %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$w" "${WHAT[$w]}" "${WN[$w]}" \
        "$(cell "$w" nat)" "$(cell "$w" nfree)" "$(cell "$w" sfi)" "$(cell "$w" w2c)" "$(f3 "$rs")" "$(f3 "$rf")" "$(f3 "$rw")" "$tx" "$sumcell"
done
read -r GS NS <<<"$(geomean < "$RES/g.sfi")" || true
read -r GF NF2 <<<"$(geomean < "$RES/g.sfifree")" || true
read -r GW NW <<<"$(geomean < "$RES/g.w2c")" || true
read -r GX NX <<<"$(geomean < "$RES/g.fix")" || true
GT=$( [ "$TN" -gt 0 ] && awk -v a="$TN" -v b="$TS" 'BEGIN { printf "%d -> %d (%+.0f%%)", a, b, (b / a - 1) * 100 }' || echo n/a)
printf '| **geomean** (%s / %s / %s workloads) | | | | | | **%s** | **%s** | **%s** | %s | |\n' "${NS:-0}" "${NF2:-0}" "${NW:-0}" "${GS:-n/a}" "${GF:-n/a}" "${GW:-n/a}" "$GT"
echo
if [ -n "$GATE" ]; then
    echo "| one call of policy(uid) ($BATCHES batches, interleaved) | median ns, CPU time | / gate | median ns, wall clock | / gate | batches, CPU time (ns) |"
    echo "|---|---|---|---|---|---|"
    gvals() { awk -v k="$1" '$1 == k { for (i = 2; i <= NF; i++) print $i }' "$RES/gate.out"; }
    gm=$(gvals gate.cpu | median); gw=$(gvals gate.wall | median)
    declare -A GLABEL=( [gate]="gate: sfi_module_call, host -> module -> host" [plain]="plain call of the same C, compiled natively"
                        [syscall]="syscall(SYS_getpid)" [socket]="server process over a Unix socket (16-byte request, 8-byte answer; CPU time: the caller's share only)" )
    for k in gate plain syscall socket; do
        mc=$(gvals "$k.cpu" | median); mw=$(gvals "$k.wall" | median)
        printf '| %s | %s | %s | %s | %s | %s |\n' "${GLABEL[$k]}" "$mc" "$(awk -v a="$mc" -v b="$gm" 'BEGIN { printf "%.3g", a / b }')" \
            "$mw" "$(awk -v a="$mw" -v b="$gw" 'BEGIN { printf "%.3g", a / b }')" "$(gvals "$k.cpu" | paste -sd' ')"
    done
    [ -n "${SKIP[grun]:-}" ] || printf '| cross-check: `glsfi-run -c 10000000 policy.so policy 1001` | %s | | | | |\n' "$(sed -n 's/^\([0-9.]*\) ns per call.*/\1/p' "$RES/grun.out")"
else
    echo "gate: not measured: ${SKIP[gate]}"
fi
echo
echo "| verifier ($VRUNS runs) | code bytes | instructions | \`glsfi-verify --stats\` (wall clock), median | CPU time, median (first call in a process) | whole \`glsfi-verify -q\` process, median |"
echo "|---|---|---|---|---|---|"
VGOAL=""
for b in "${BIG[@]}"; do
    if [ -n "${SKIP[v.$b]:-}" ]; then printf '| %s | %s | | | | |\n' "${BIGDESC[$b]}" "${SKIP[v.$b]:0:150}"; continue; fi
    read -r by ins _ < "$RES/verify.$b"
    mv=$(awk '{ print $3 }' "$RES/verify.$b" | median)
    cv=$(med "vcpu.$b"); fv=$(med "vfirst.$b")
    [ -z "${SKIP[vspeed]:-}" ] || { cv=""; fv=""; }     # a run failed: no median of the others
    pm=$(median < "$RES/verifyproc.$b")
    printf '| %s | %s | %s | %s MiB/s | %s | %.1f ms (%.1f MiB/s) |\n' "${BIGDESC[$b]}" "$by" "$ins" "$mv" \
        "$([ -n "$cv" ] && echo "$cv MiB/s ($fv)" || echo "${SKIP[vspeed]:-not run}")" \
        "$(awk -v x="$pm" 'BEGIN { print x * 1000 }')" "$(awk -v x="$pm" -v b="$by" 'BEGIN { print b / x / 1048576 }')"
    # judged on the CPU time only, as the header says: the wall clock is shown, never judged
    VGOAL="$VGOAL| verifier, ${BIGDESC[$b]}: CPU time (--stats, wall clock) | ${cv:-n/a} MiB/s ($mv) | >= 30 MiB/s | $(goal "${cv:-}" '>=' 30) |"$'\n'
done
echo
echo "| goal | value | goal | |"
echo "|---|---|---|---|"
echo "| glsfi / native, geomean of ${NS:-0} workloads | ${GS:-n/a} | <= 1.15 | $(goal "${GS:-}" '<=' 1.15) |"
echo "| glsfi / native with r14, r15 free, geomean | ${GF:-n/a} | (none) | |"
echo "| native / native with r14, r15 free (cost of reserving them), geomean | ${GX:-n/a} | (none) | |"
echo "| wasm2c / native, geomean of ${NW:-0} workloads | ${GW:-n/a} | (none: the alternative) | |"
echo "| .text growth, glsfi / native | $GT | (none) | |"
echo "| gate round trip, CPU time (wall clock) | ${gm:-n/a} ns (${gw:-n/a}) | <= 20 ns | $(goal "${gm:-}" '<=' 20) |"
printf '%s' "${VGOAL:-| verifier | n/a | >= 30 MiB/s | not measured |
}"
echo
for k in "${!FAILED[@]}"; do echo "FAILED: $k: ${FAILED[$k]}"; done | sort
for k in "${!SKIP[@]}"; do echo "not measured: $k: ${SKIP[$k]}"; done | sort
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine count too)"
} | tee "$RES/report.md"
[ ${#FAILED[@]} = 0 ] || exit 1
exit 0
