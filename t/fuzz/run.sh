#!/bin/sh
# run.sh [SECONDS] [BUILD_DIR] -- fuzz the wire codec's decoders.
#
# Builds t/fuzz/fuzz_wire.c with core/wire.c under libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer into BUILD_DIR (default: a temporary
# directory, removed when all went well), writes a seed corpus of valid
# encodings, fuzzes for SECONDS (default 60) and prints one summary line.
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

mkdir -p "$build/seeds" "$build/corpus"
"$build/gen_corpus" "$build/seeds"

# New inputs go to corpus/ (the first directory), which a given BUILD_DIR
# keeps from run to run.  A single allocation over 64 MB counts as a
# failure: no input of at most 8 KB has any business asking for that.
status=0
"$build/fuzz_wire" -max_total_time="$secs" -max_len=8192 -timeout=10 \
    -malloc_limit_mb=64 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/" "$build/corpus" "$build/seeds" \
    >"$build/fuzz.log" 2>&1 || status=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz.log" | tail -n 1)
corpus=$(ls "$build/corpus" | wc -l)
if [ "$status" -ne 0 ]; then
    artifact=$(ls -t "$build"/crash-* "$build"/leak-* "$build"/timeout-* \
                     "$build"/oom-* "$build"/slow-unit-* 2>/dev/null | head -n 1 || true)
    echo "fuzz_wire: FAILED (exit $status) after ${runs:-?} runs: input ${artifact:-none}, log $build/fuzz.log"
    exit 1
fi
echo "fuzz_wire: ok, ${runs:-?} runs in ${secs}s, corpus $corpus inputs, no crash"
[ "$keep" -eq 1 ] || rm -rf "$build"
