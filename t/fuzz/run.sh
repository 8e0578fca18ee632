#!/bin/sh
# run.sh [--target NAME]... [SECONDS] [BUILD_DIR] -- fuzz the wire codec's
# decoders, the sandbox module parser and verifier, and the sandbox itself.
#
# The targets (NAME): wire (t/fuzz/fuzz_wire.c with core/wire.c), launch
# (t/fuzz/fuzz_launch.c with sched/launch_msg.c, the root launcher's
# request decoder), image (t/fuzz/fuzz_image.c with checkpoint/image.c,
# the checkpoint image's decoder, which glrestore runs on an image from
# another node), pmi (t/fuzz/fuzz_pmi.c with sched/pmi_wire.c, the PMI-1
# framer and parser that read what a job's MPI ranks write), conf
# (t/fuzz/fuzz_conf.c with core/conf.c, the cluster.conf reader, its
# accepted files judged against cluster.conf(5)),
# sfi_verify (t/fuzz/fuzz_sfi_verify.c with sfi/elf.c and sfi/verify.c)
# and sfi_escape (t/fuzz/fuzz_sfi_escape.c, with those and the loader:
# does code the verifier accepts stay in its region when run? checked by
# single-stepping it).  Each is built under libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer into BUILD_DIR (default: a temporary
# directory, removed unless something failed), with its seed corpus:
#   wire        valid encodings of every message (t/fuzz/corpus/gen_corpus.c);
#   launch      one valid encoding of every launcher message
#               (t/fuzz/corpus/gen_launch.c);
#   image       whole images with every kind of record, pages packed and
#               raw (t/fuzz/corpus/gen_image.c);
#   pmi         a request of every kind MPICH sends, a spawn block, a rank's
#               whole session, a PMI-2 request (t/fuzz/corpus/pmi/);
#   conf        the smallest file, t/integ's, every field at both ends of
#               its range and past them, errors (t/fuzz/corpus/conf/);
#   sfi_verify  the modules of t/sfi/pos and t/sfi/neg, linked, and their
#               bare code;
#   sfi_escape  the code of the modules of t/sfi/pos and t/sfi/mods with an
#               entry point per exported function, and of the C modules of
#               t/sfi/c when the build tree $GLUNIX_BUILD (default build/)
#               has glsfi-cc (without it, those seeds are left out, and
#               this says so).
# A seed step that fails is a failure, and so is an empty seed corpus; the
# number of seeds is printed.  Without --target, all seven run, sharing
# SECONDS (default 84) a seventh each; with --target, the targets named
# share them the same way.  One line per target: ok, FAILED or skipped.
#
# Exit status: 1 when a target failed (a crash, a leak, a hang or an
# allocation over 64 MB, whose input is kept in BUILD_DIR; or a build or
# seed step); else 77 when a target was skipped (clang, or the binutils the
# sfi seeds need, not installed; fuzz_sfi_escape without ptrace), with the
# reason on the last line; else 0.  Works from any directory.
set -eu

targets=""
while [ $# -gt 0 ]; do
    case "$1" in
        --target) [ $# -ge 2 ] || { echo "run.sh: --target needs a NAME" >&2; exit 2; }
                  targets="$targets $2"; shift 2 ;;
        -h|--help) sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ -n "$targets" ] || targets="wire launch sfi_verify sfi_escape image pmi conf"
for t in $targets; do
    case "$t" in
        wire|launch|sfi_verify|sfi_escape|image|pmi|conf) ;;
        *) echo "run.sh: no fuzz target '$t' (wire, launch, sfi_verify, sfi_escape, image, pmi or conf)" >&2; exit 2 ;;
    esac
done
secs=${1:-84}
case "$secs" in
    ''|*[!0-9]*|0) echo "run.sh: SECONDS must be a whole number above 0, not '$secs'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ -n "${2:-}" ]; then
    build=$2
    mkdir -p "$build"
    keep=1
else
    build=$(mktemp -d "${TMPDIR:-/tmp}/glunix-fuzz.XXXXXX")
    keep=0
fi
build=$(cd "$build" && pwd)

# step WHAT COMMAND...: runs COMMAND (its messages go to our output); when
# it fails, says which step failed and returns 1.
step() {
    local what=$1; shift
    "$@" && return 0
    echo "$label: $what failed (exit $?): $*"
    return 1
}

# need TOOL...: 0 when all are installed; else prints the skip line and
# returns 77.  Only a missing tool is a reason to skip, never a tool that
# fails.
need() {
    local tool
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$label: skipped: no '$tool' installed"
            return 77
        fi
    done
}

sfi_cflags="-std=c11 -D_GNU_SOURCE -g -I$top/sfi -I$top/core"
fuzz_flags="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

# link_module SOURCE.s OUT: as SCHEME.md links a module.
link_module() {
    step "assembling $1" as "$1" -o "$2.o" || return 1
    step "linking $1" ld -pie --no-dynamic-linker -z text -z noexecstack -z separate-code \
        -T "$top/sfi/glsfi.ld" "$2.o" -o "$2" || return 1
    rm -f "$2.o"
}

prepare_wire() {
    need clang gcc pkg-config || return $?
    wflags="-std=c11 -D_GNU_SOURCE -g -I$top/core $(pkg-config --cflags msgpack)"
    wlibs="$(pkg-config --libs msgpack) -lm"
    step "building fuzz_wire" clang $wflags -O1 $fuzz_flags "$top/core/wire.c" "$top/core/str.c" \
        "$here/fuzz_wire.c" $wlibs -o "$build/fuzz_wire" || return 1
    step "building gen_corpus" gcc $wflags -O1 "$top/core/wire.c" "$top/core/str.c" \
        "$here/corpus/gen_corpus.c" $wlibs -o "$build/gen_corpus" || return 1
    mkdir -p "$build/seeds" "$build/corpus" || return 1
    step "writing the seeds" "$build/gen_corpus" "$build/seeds" || return 1
}

prepare_launch() {
    need clang gcc || return $?
    lflags="-std=c11 -D_GNU_SOURCE -g -I$top/core -I$top/sched"
    lsrc="$top/sched/launch_msg.c $top/core/str.c $top/core/err.c"
    step "building fuzz_launch" clang $lflags -O1 $fuzz_flags $lsrc "$here/fuzz_launch.c" \
        -o "$build/fuzz_launch" || return 1
    step "building gen_launch" gcc $lflags -O1 $lsrc "$here/corpus/gen_launch.c" \
        -o "$build/gen_launch" || return 1
    mkdir -p "$build/launch_seeds" "$build/launch_corpus" || return 1
    step "writing the launch seeds" "$build/gen_launch" "$build/launch_seeds" || return 1
}

# The seeds are files: one valid request of every kind the parser knows
# (MPICH's simple PMI client's), a spawn block, a whole rank's session and
# a PMI-2 request it must refuse by name.
prepare_pmi() {
    need clang || return $?
    step "building fuzz_pmi" clang -std=c11 -D_GNU_SOURCE -g -I"$top/core" -I"$top/sched" -O1 \
        $fuzz_flags "$top/sched/pmi_wire.c" "$here/fuzz_pmi.c" -o "$build/fuzz_pmi" || return 1
    mkdir -p "$build/pmi_seeds" "$build/pmi_corpus" || return 1
    step "copying the pmi seeds" cp "$here"/corpus/pmi/* "$build/pmi_seeds/" || return 1
    printf '%s\n' '"cmd="' '"mcmd="' '"\x0aendcmd\x0a"' '"\x0a"' '" "' '"="' '"key="' \
        '"value="' '"kvsname="' >"$build/pmi.dict"
}

# The seeds are files: the smallest usable file, the one t/integ writes,
# conf.h's example, every field at the low and at the high end of what
# cluster.conf(5) allows, values just past it, and errors of every kind.
# The reader is built from its sources with the ones it calls, under the
# sanitizers; czmq, libzmq, libsodium, OpenSSL and msgpack are the system's.
prepare_conf() {
    need clang pkg-config || return $?
    local cflags libs
    cflags="-std=c11 -D_GNU_SOURCE -g -I$top/core $(pkg-config --cflags libczmq libsodium msgpack)"
    libs="$(pkg-config --libs libczmq libzmq libsodium libcrypto msgpack) -lm"
    step "building fuzz_conf" clang $cflags -O1 $fuzz_flags "$top/core/conf.c" "$top/core/str.c" \
        "$top/core/err.c" "$top/core/wire.c" "$top/core/seal.c" "$top/core/rundir.c" \
        "$here/fuzz_conf.c" $libs -o "$build/fuzz_conf" || return 1
    mkdir -p "$build/conf_seeds" "$build/conf_corpus" || return 1
    step "copying the conf seeds" cp "$here"/corpus/conf/* "$build/conf_seeds/" || return 1
    printf '%s\n' '"\x0a    "' '" = "' '"cluster"' '"node"' '"gossip"' '"idle"' '"transport"' \
        '"sched"' '"log"' '"ms"' '"tcp://"' '"ipc://"' '"\x22"' "\"'\"" '"#"' >"$build/conf.dict"
}

prepare_image() {
    need clang gcc pkg-config || return $?
    iflags="-std=c11 -D_GNU_SOURCE -g -I$top/core -I$top/checkpoint $(pkg-config --cflags liblz4)"
    ilibs="$(pkg-config --libs liblz4)"
    step "building fuzz_image" clang $iflags -O1 $fuzz_flags "$top/checkpoint/image.c" \
        "$here/fuzz_image.c" $ilibs -o "$build/fuzz_image" || return 1
    step "building gen_image" gcc $iflags -O1 "$top/checkpoint/image.c" \
        "$here/corpus/gen_image.c" $ilibs -o "$build/gen_image" || return 1
    mkdir -p "$build/image_seeds" "$build/image_corpus" || return 1
    step "writing the image seeds" "$build/gen_image" "$build/image_seeds" || return 1
}

# Seeds for the verifier: real modules, safe and not, and their bare code.
prepare_sfi_verify() {
    need clang as ld objcopy || return $?
    step "building fuzz_sfi_verify" clang $sfi_cflags -O1 $fuzz_flags "$top/sfi/elf.c" \
        "$top/sfi/verify.c" "$top/core/str.c" "$top/core/err.c" "$here/fuzz_sfi_verify.c" \
        -lZydis -lZycore -o "$build/fuzz_sfi_verify" || return 1
    mkdir -p "$build/sfi_seeds" "$build/sfi_corpus" || return 1
    local s m
    for s in "$top"/t/sfi/pos/*.s "$top"/t/sfi/neg/*.s; do
        m=$build/sfi_seeds/$(basename "$s" .s)
        link_module "$s" "$m" || return 1
        step "taking the code of $s" objcopy -O binary -j .text "$m" "$m.text" || return 1
    done
}

# Seeds for the escape fuzzer: a module's code segment after a 4-byte
# header (entry bundle, little-endian; argument mode 3: a heap pointer,
# then small integers; the integer), one per exported function.
byte() { printf "\\$(printf %03o $(($1 & 255)))"; }
esc_seeds() {
    local m=$1 name line off vaddr size funcs a i
    name=$(basename "$m")
    line=$(readelf -lW "$m" | awk '$1 == "LOAD" && $8 == "E" { print $2, $3, $5; exit }')
    [ -n "$line" ] || { echo "$label: $m has no executable segment"; return 1; }
    set -- $line
    off=$(($1)) vaddr=$(($2)) size=$(($3))
    tail -c +$((off + 1)) "$m" | head -c "$size" >"$m.code"
    [ -s "$m.code" ] || { echo "$label: cannot take the code of $m"; return 1; }
    funcs=$(nm --defined-only "$m" | awk '$2 == "T" { print $1 }')
    [ -n "$funcs" ] || { echo "$label: $m exports no function"; return 1; }
    for a in $funcs; do
        i=$(((0x$a - vaddr) / 32))
        { byte $i; byte $((i >> 8)); byte 3; byte 2; cat "$m.code"; } >"$build/esc_seeds/$name-$a"
    done
    rm -f "$m.code"
}

prepare_sfi_escape() {
    need clang as ld readelf nm || return $?
    # The loader runs in the escape fuzzer's forked children only, under
    # the parent's ptrace: no instrumentation there (every instruction of
    # host code on the way is a single step), and eager binding (no lazy
    # PLT resolution inside a run).
    step "building the loader" clang $sfi_cflags -O2 -c "$top/sfi/loader.c" \
        -o "$build/esc_loader.o" || return 1
    step "building the gate" clang -c "$top/sfi/gate.S" -o "$build/esc_gate.o" || return 1
    step "building fuzz_sfi_escape" clang $sfi_cflags -O1 $fuzz_flags "$top/sfi/elf.c" \
        "$top/sfi/verify.c" "$top/core/str.c" "$top/core/err.c" "$here/fuzz_sfi_escape.c" \
        "$build/esc_loader.o" "$build/esc_gate.o" -lZydis -lZycore -lpthread -Wl,-z,now \
        -o "$build/fuzz_sfi_escape" || return 1
    mkdir -p "$build/esc_seeds" "$build/esc_corpus" || return 1
    local s m tree
    for s in "$top"/t/sfi/pos/*.s "$top"/t/sfi/mods/*.s; do
        m=$build/esc_seeds/$(basename "$s" .s).mod
        link_module "$s" "$m" || return 1
        esc_seeds "$m" || return 1
        rm -f "$m"
    done
    tree=${GLUNIX_BUILD:-$top/build}
    if [ -x "$tree/glsfi-cc" ] && [ -f "$tree/sfi/home/libglsfirt.a" ]; then
        for s in "$top"/t/sfi/c/*.c; do
            m=$build/esc_seeds/$(basename "$s" .c).cmod
            step "compiling $s" "$tree/glsfi-cc" --home "$tree/sfi/home" -O2 -o "$m" "$s" \
                || return 1
            esc_seeds "$m" || return 1
            rm -f "$m"
        done
    else
        echo "$label: no glsfi-cc built in $tree (set GLUNIX_BUILD): seeds from t/sfi/c left out"
    fi
    # A dictionary of the sandbox's operand encodings (REX with B/X for
    # r15 and r14, ModRM/SIB of (%r15,%r14,1), disp8(%r15), (%rsp)), so
    # that mutations make memory instructions the verifier lets through.
    printf '%s\n' '"\x43\x0f"' '"\x4b\x0f"' '"\x41\x0f"' '"\x49\x0f"' '"\x48\x0f"' \
        '"\x66\x41\x0f"' '"\x04\x37"' '"\x44\x37\x08"' '"\x47\x08"' '"\x07"' '"\x04\x24"' \
        '"\x44\x24\x08"' '"\x4c\x01\xfc"' '"\x83\xe0\xe0\x4c\x01\xf8"' >"$build/esc.dict"
}

# fuzz NAME SECONDS MAX_LEN CORPUS SEEDS [DICT]: one target; 0 when it
# found nothing, 77 when it cannot run here, 1 otherwise.  New inputs go
# to CORPUS (the first directory), which a given BUILD_DIR keeps from run
# to run.  A single allocation over 64 MB counts as a failure: no input
# this small has any business asking for that.
fuzz() {
    local name=$1 fsecs=$2 status=0 seeds runs artifact
    seeds=$(ls "$5" | wc -l)
    if [ "$seeds" -eq 0 ]; then
        echo "$name: FAILED: no seed inputs in $5"
        return 1
    fi
    echo "$name: $seeds seed inputs, $(ls "$4" | wc -l) in the corpus kept from earlier runs"
    "$build/$name" -max_total_time="$fsecs" -max_len="$3" -timeout=10 \
        -malloc_limit_mb=64 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/$name-" ${6:+-dict="$6"} "$4" "$5" \
        >"$build/$name.log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$name.log" | tail -n 1)
    # only the documented refusal to run (fuzz_sfi_escape without ptrace)
    # is a skip: any other exit 77 is a failure like the rest
    if [ "$status" -eq 77 ] && grep -q "^$name: skipped: " "$build/$name.log"; then
        grep -m 1 "^$name: skipped: " "$build/$name.log"
        return 77
    fi
    if [ "$status" -ne 0 ]; then
        artifact=$(ls -t "$build/$name"-crash-* "$build/$name"-leak-* "$build/$name"-timeout-* \
                         "$build/$name"-oom-* "$build/$name"-slow-unit-* 2>/dev/null | head -n 1 || true)
        echo "$name: FAILED (exit $status) after ${runs:-?} runs: input ${artifact:-none}, log $build/$name.log"
        tail -n 20 "$build/$name.log"
        return 1
    fi
    if [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
        echo "$name: FAILED: no input was run (log $build/$name.log)"
        return 1
    fi
    echo "$name: ok, $runs runs in ${fsecs}s, corpus $(ls "$4" | wc -l) inputs, no crash"
}

# run_target NAME SECONDS: prepare, then fuzz; 0, 1 or 77.
run_target() {
    local target=$1 rc=0
    label=fuzz_$target
    prepare_$target || rc=$?
    if [ "$rc" -ne 0 ]; then
        [ "$rc" -eq 77 ] || echo "$label: FAILED before fuzzing (see above)"
        return "$rc"
    fi
    case "$target" in
        wire) fuzz fuzz_wire "$2" 8192 "$build/corpus" "$build/seeds" ;;
        launch) fuzz fuzz_launch "$2" 8192 "$build/launch_corpus" "$build/launch_seeds" ;;
        image) fuzz fuzz_image "$2" 262144 "$build/image_corpus" "$build/image_seeds" ;;
        conf) fuzz fuzz_conf "$2" 8192 "$build/conf_corpus" "$build/conf_seeds" "$build/conf.dict" ;;
        pmi) fuzz fuzz_pmi "$2" 16384 "$build/pmi_corpus" "$build/pmi_seeds" "$build/pmi.dict" ;;
        sfi_verify) fuzz fuzz_sfi_verify "$2" 16384 "$build/sfi_corpus" "$build/sfi_seeds" ;;
        sfi_escape) fuzz fuzz_sfi_escape "$2" 65540 "$build/esc_corpus" "$build/esc_seeds" \
                         "$build/esc.dict" ;;
    esac
}

# The seconds are shared, so the suite takes no longer than with one
# target: equal parts, the first taking what the division leaves (escape
# fuzzing is slow: a fork and a ptrace stop per instruction; each of its
# runs is bounded by 5000 steps and 2 seconds).
n=$(echo $targets | wc -w)
part=$((secs / n > 0 ? secs / n : 1))
first=$((secs - (n - 1) * part > 0 ? secs - (n - 1) * part : 1))
failed=0 skipped="" t_secs=$first
for t in $targets; do
    rc=0
    run_target "$t" "$t_secs" || rc=$?
    t_secs=$part
    case "$rc" in
        0) ;;
        77) skipped="$skipped $t" ;;
        *) failed=1 ;;
    esac
done
[ "$failed" -eq 0 ] || exit 1
[ "$keep" -eq 1 ] || rm -rf "$build"
if [ -n "$skipped" ]; then
    [ "$n" -eq 1 ] || echo "run.sh: skipped:$skipped"
    exit 77
fi
