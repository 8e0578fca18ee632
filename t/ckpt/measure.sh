#!/usr/bin/env bash
# measure.sh BUILD [MIB...] -- what a checkpoint costs, for the figures in
# glrestore(8): for each size (default 64 512) and each kind of memory
# (random: incompressible; text: compresses), a process that filled MIB
# MiB is checkpointed with HOLD by t/ckpt/ckhost and restored by
# glrestore; one line each: the pause (SNAP's ns: parking and the fork),
# the image's size, the time from glrestore's start until the restored
# process ran again (CLOCK_MONOTONIC: a virtual machine's wall clock may
# jump); and, to compare with, the time a new process takes to fill the
# same memory (fill_ms): a restore cannot be faster than the machine
# gives a process its pages.  Timing noise is the machine's: run it on a quiet one.
set -eu
build=$(cd "$1" && pwd); shift
[ $# -gt 0 ] || set -- 64 512
t=$(mktemp -d /tmp/ckpt-measure.XXXXXX)
trap 'rm -rf "$t"' EXIT
printf '%-6s %-7s %10s %12s %11s %9s\n' MiB memory pause_ms image_MiB restore_ms fill_ms
for mib in "$@"; do
    for kind in random text; do
        "$build/t/ckpt/ckhost" -p "$build/libglshim.so" -r hold -w ready -i "$t/img" \
            -o /dev/null -- "$build/t/ckpt/ckcompute" idle "$mib" "$kind" > "$t/host"
        pause=$(sed -n 's/^SNAP \([0-9]*\) .*/\1/p' "$t/host")
        size=$(stat -c %s "$t/img")
        "$build/t/ckpt/ckhost" -r none -o "$t/out" -- "$build/glrestore" "$t/img" > "$t/run"
        start=$(sed -n 's/^START //p' "$t/run")
        resumed=$(sed -n 's/^resumed \([0-9]*\) .*/\1/p' "$t/out")
        [ -n "$pause" ] && [ -n "$resumed" ] || { cat "$t/host" "$t/out"; exit 1; }
        TIMEFORMAT=%R
        fill=$( { time "$build/t/ckpt/ckcompute" single "$mib" 0 > /dev/null; } 2>&1 )
        awk -v m="$mib" -v k="$kind" -v p="$pause" -v s="$size" -v a="$start" -v b="$resumed" \
            -v f="$fill" 'BEGIN { printf "%-6s %-7s %10.2f %12.1f %11.1f %9.0f\n", m, k, p / 1e6,
                                  s / 1048576, (b - a) / 1e6, f * 1000 }'
    done
done
