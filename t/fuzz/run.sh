#!/bin/sh
# run.sh [SECONDS] [BUILD_DIR] -- fuzz the wire codec's decoders and the
# sandbox module parser and verifier.
#
# Builds t/fuzz/fuzz_wire.c with core/wire.c, and t/fuzz/fuzz_sfi_verify.c
# with sfi/elf.c and sfi/verify.c, under libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer into BUILD_DIR (default: a temporary
# directory, removed when all went well), writes seed corpora (valid
# encodings; the modules of t/sfi linked), fuzzes for SECONDS in all
# (default 60, half each) and prints one summary line per target.
# Exits non-zero when the fuzzer found a crash, a leak, a hang or an
# oversized allocation; the input that did it is kept in BUILD_DIR.
# Works from any directory.
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
    "$top/core/wire.c" "$here/fuzz_wire.c" $libs -o "$build/fuzz_wire"
gcc $flags -O1 "$top/core/wire.c" "$here/corpus/gen_corpus.c" $libs -o "$build/gen_corpus"

clang -std=c11 -D_GNU_SOURCE -g -I"$top/sfi" -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all "$top/sfi/elf.c" "$top/sfi/verify.c" "$here/fuzz_sfi_verify.c" \
    -lZydis -lZycore -o "$build/fuzz_sfi_verify"

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

# fuzz NAME SECONDS MAX_LEN CORPUS SEEDS: one target; 0 when it found nothing.
# New inputs go to CORPUS (the first directory), which a given BUILD_DIR
# keeps from run to run.  A single allocation over 64 MB counts as a
# failure: no input this small has any business asking for that.
fuzz() {
    local name=$1 secs=$2 status=0 runs corpus artifact
    "$build/$name" -max_total_time="$secs" -max_len="$3" -timeout=10 \
        -malloc_limit_mb=64 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/$name-" "$4" "$5" \
        >"$build/$name.log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$name.log" | tail -n 1)
    corpus=$(ls "$4" | wc -l)
    if [ "$status" -ne 0 ]; then
        artifact=$(ls -t "$build/$name"-crash-* "$build/$name"-leak-* "$build/$name"-timeout-* \
                         "$build/$name"-oom-* "$build/$name"-slow-unit-* 2>/dev/null | head -n 1 || true)
        echo "$name: FAILED (exit $status) after ${runs:-?} runs: input ${artifact:-none}, log $build/$name.log"
        return 1
    fi
    echo "$name: ok, ${runs:-?} runs in ${secs}s, corpus $corpus inputs, no crash"
}

# The seconds are shared, so the suite takes no longer than before.
status=0
fuzz fuzz_wire $((secs - secs / 2)) 8192 "$build/corpus" "$build/seeds" || status=1
fuzz fuzz_sfi_verify $((secs / 2 > 0 ? secs / 2 : 1)) 16384 "$build/sfi_corpus" "$build/sfi_seeds" || status=1
[ "$status" -eq 0 ] || exit 1
[ "$keep" -eq 1 ] || rm -rf "$build"
