#!/bin/sh
# run.sh [SECONDS] [BUILD_DIR] -- fuzz the wire codec's decoders, the
# sandbox module parser and verifier, and the sandbox itself.
#
# Builds t/fuzz/fuzz_wire.c with core/wire.c, t/fuzz/fuzz_sfi_verify.c
# with sfi/elf.c and sfi/verify.c, and t/fuzz/fuzz_sfi_escape.c (does
# code the verifier accepts stay in its region when run? checked by
# single-stepping it) with those and the loader, under libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer into BUILD_DIR (default:
# a temporary directory, removed when all went well), writes seed corpora
# (valid encodings; the modules of t/sfi linked, and their code with an
# entry point per exported function; the C modules of t/sfi/c too when
# the build tree $GLUNIX_BUILD, default build/, has glsfi-cc), fuzzes for
# SECONDS in all (default 60, a third each) and prints one summary line
# per target.  Exits non-zero when the fuzzer found a crash, a leak, a
# hang or an oversized allocation; the input that did it is kept in
# BUILD_DIR.  Works from any directory.
set -eu

secs=${1:-60}
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

flags="-std=c11 -D_GNU_SOURCE -g -I$top/core $(pkg-config --cflags msgpack)"
libs="$(pkg-config --libs msgpack) -lm"

clang $flags -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    "$top/core/wire.c" "$top/core/str.c" "$here/fuzz_wire.c" $libs -o "$build/fuzz_wire"
gcc $flags -O1 "$top/core/wire.c" "$top/core/str.c" "$here/corpus/gen_corpus.c" $libs -o "$build/gen_corpus"

clang -std=c11 -D_GNU_SOURCE -g -I"$top/sfi" -I"$top/core" -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all "$top/sfi/elf.c" "$top/sfi/verify.c" "$top/core/str.c" "$top/core/err.c" "$here/fuzz_sfi_verify.c" \
    -lZydis -lZycore -o "$build/fuzz_sfi_verify"

# The loader runs in the escape fuzzer's forked children only, under the
# parent's ptrace: no instrumentation there (every instruction of host
# code on the way is a single step), and eager binding (no lazy PLT
# resolution inside a run).
clang -std=c11 -D_GNU_SOURCE -g -O2 -I"$top/sfi" -I"$top/core" -c "$top/sfi/loader.c" -o "$build/esc_loader.o"
clang -c "$top/sfi/gate.S" -o "$build/esc_gate.o"
clang -std=c11 -D_GNU_SOURCE -g -I"$top/sfi" -I"$top/core" -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all "$top/sfi/elf.c" "$top/sfi/verify.c" "$top/core/str.c" "$top/core/err.c" "$here/fuzz_sfi_escape.c" \
    "$build/esc_loader.o" "$build/esc_gate.o" -lZydis -lZycore -lpthread -Wl,-z,now \
    -o "$build/fuzz_sfi_escape"

mkdir -p "$build/seeds" "$build/corpus"
"$build/gen_corpus" "$build/seeds"
# Seeds for the verifier: real modules, safe and not, and their bare code
# (binutils permitting).
mkdir -p "$build/sfi_seeds" "$build/sfi_corpus"
for s in "$top"/t/sfi/pos/*.s "$top"/t/sfi/neg/*.s; do
    m=$build/sfi_seeds/$(basename "$s" .s)
    as "$s" -o "$m.o" 2>/dev/null && ld -pie --no-dynamic-linker -z text -z noexecstack \
        -z separate-code -T "$top/sfi/glsfi.ld" "$m.o" -o "$m" 2>/dev/null \
        && objcopy -O binary -j .text "$m" "$m.text" 2>/dev/null || true
    rm -f "$m.o"
done

# Seeds for the escape fuzzer: a module's code segment after a 4-byte
# header (entry bundle, little-endian; argument mode 3: a heap pointer,
# then small integers; the integer), one per exported function.
mkdir -p "$build/esc_seeds" "$build/esc_corpus"
byte() { printf "\\$(printf %03o $(($1 & 255)))"; }
esc_seeds() {
    local m=$1 name line off vaddr size a i
    name=$(basename "$m")
    line=$(readelf -lW "$m" 2>/dev/null | awk '$1 == "LOAD" && $8 == "E" { print $2, $3, $5; exit }')
    [ -n "$line" ] || return 0
    set -- $line
    off=$(($1)) vaddr=$(($2)) size=$(($3))
    tail -c +$((off + 1)) "$m" | head -c "$size" >"$m.code"
    for a in $(nm --defined-only "$m" | awk '$2 == "T" { print $1 }'); do
        i=$(((0x$a - vaddr) / 32))
        { byte $i; byte $((i >> 8)); byte 3; byte 2; cat "$m.code"; } >"$build/esc_seeds/$name-$a"
    done
    rm -f "$m.code"
}
for s in "$top"/t/sfi/pos/*.s "$top"/t/sfi/mods/*.s; do
    m=$build/esc_seeds/$(basename "$s" .s).mod
    as "$s" -o "$m.o" 2>/dev/null && ld -pie --no-dynamic-linker -z text -z noexecstack \
        -z separate-code -T "$top/sfi/glsfi.ld" "$m.o" -o "$m" 2>/dev/null && esc_seeds "$m" || true
    rm -f "$m" "$m.o"
done
# A dictionary of the sandbox's operand encodings (REX with B/X for r15
# and r14, ModRM/SIB of (%r15,%r14,1), disp8(%r15), (%rsp)), so that
# mutations make memory instructions the verifier lets through.
printf '%s\n' '"\x43\x0f"' '"\x4b\x0f"' '"\x41\x0f"' '"\x49\x0f"' '"\x48\x0f"' '"\x66\x41\x0f"' \
    '"\x04\x37"' '"\x44\x37\x08"' '"\x47\x08"' '"\x07"' '"\x04\x24"' '"\x44\x24\x08"' \
    '"\x4c\x01\xfc"' '"\x83\xe0\xe0\x4c\x01\xf8"' >"$build/esc.dict"
tree=${GLUNIX_BUILD:-$top/build}
if [ -x "$tree/glsfi-cc" ] && [ -f "$tree/sfi/home/libglsfirt.a" ]; then
    for s in "$top"/t/sfi/c/*.c; do
        m=$build/esc_seeds/$(basename "$s" .c).cmod
        "$tree/glsfi-cc" --home "$tree/sfi/home" -O2 -o "$m" "$s" 2>/dev/null && esc_seeds "$m" || true
        rm -f "$m"
    done
else
    echo "fuzz_sfi_escape: no glsfi-cc built in $tree (set GLUNIX_BUILD): seeds from t/sfi/c skipped"
fi

# fuzz NAME SECONDS MAX_LEN CORPUS SEEDS [DICT]: one target; 0 when it found nothing.
# New inputs go to CORPUS (the first directory), which a given BUILD_DIR
# keeps from run to run.  A single allocation over 64 MB counts as a
# failure: no input this small has any business asking for that.
fuzz() {
    local name=$1 secs=$2 status=0 runs corpus artifact
    "$build/$name" -max_total_time="$secs" -max_len="$3" -timeout=10 \
        -malloc_limit_mb=64 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/$name-" ${6:+-dict="$6"} "$4" "$5" \
        >"$build/$name.log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$name.log" | tail -n 1)
    corpus=$(ls "$4" | wc -l)
    if [ "$status" -eq 77 ]; then       # cannot run here (fuzz_sfi_escape: no ptrace)
        echo "$(grep -m 1 'skipped' "$build/$name.log" || echo "$name: skipped")"
        return 0
    fi
    if [ "$status" -ne 0 ]; then
        artifact=$(ls -t "$build/$name"-crash-* "$build/$name"-leak-* "$build/$name"-timeout-* \
                         "$build/$name"-oom-* "$build/$name"-slow-unit-* 2>/dev/null | head -n 1 || true)
        echo "$name: FAILED (exit $status) after ${runs:-?} runs: input ${artifact:-none}, log $build/$name.log"
        return 1
    fi
    echo "$name: ok, ${runs:-?} runs in ${secs}s, corpus $corpus inputs, no crash"
}

# The seconds are shared, so the suite takes no longer than before: a
# third each (escape fuzzing is slow: a fork and a ptrace stop per
# instruction; each of its runs is bounded by 5000 steps and 2 seconds).
status=0
third=$((secs / 3 > 0 ? secs / 3 : 1))
fuzz fuzz_wire $((secs - 2 * (secs / 3) > 0 ? secs - 2 * (secs / 3) : 1)) 8192 "$build/corpus" "$build/seeds" || status=1
fuzz fuzz_sfi_verify $third 16384 "$build/sfi_corpus" "$build/sfi_seeds" || status=1
fuzz fuzz_sfi_escape $third 65540 "$build/esc_corpus" "$build/esc_seeds" "$build/esc.dict" || status=1
[ "$status" -eq 0 ] || exit 1
[ "$keep" -eq 1 ] || rm -rf "$build"
