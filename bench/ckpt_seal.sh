#!/usr/bin/env bash
# bench/ckpt_seal.sh -- a move's image stream with no agent in the way:
# the restorer's own share of a move and of a restart, against copying
# the image over the same link.  One image of MIB touched (bench/
# ckpt_work.c under t/ckpt/ckhost, the shim preloaded), then, RUNS times
# each, in turn:
#   - copy: socat (256 KiB buffers) over loopback TCP into /dev/null,
#     from the page cache (the baseline of checkpoint.sh);
#   - file: `glrestore -n IMAGE` (read, check and stage, no agent);
#   - sealed: bench/ckpt_seal.c starts `glrestore -n` as a new host's
#     agent does for a move and seals the image onto loopback TCP to it
#     in CHUNK-byte pieces (the old host's agent uses 256 KiB), with the
#     sender's and the restorer's CPU time;
#   - sealed first: the same, the stream sealed whole before the
#     restorer starts and then only written (ckpt_seal ... first): the
#     restorer's own pace, as on a new host whose cores are its own.
# Medians of the wall times and CPU times.  The sender is built from
# --src's checkpoint/imgseal.c (default this tree): a build and its
# source go together, for the stream's cipher is theirs.
#
#   bench/ckpt_seal.sh [--mib N] [--runs N] [--chunk BYTES] [--build DIR] [--src DIR]
#   (defaults 512, 5, 262144, build/, this tree)
#
# Needs cc, socat and libcrypto's headers (as the tree's build does).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
MIB=512; RUNS=5; CHUNK=262144; BUILD=$top/build; SRC=$top
usage="usage: $0 [--mib N] [--runs N] [--chunk BYTES] [--build DIR] [--src DIR]"
while [ $# -gt 0 ]; do
    case "$1" in
        --mib) MIB=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --chunk) CHUNK=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        --src) SRC=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
for v in MIB RUNS CHUNK; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$0: --${v,,} wants a positive number, not '${!v}'" >&2; exit 2; }
done
for c in cc socat; do command -v "$c" > /dev/null || { echo "$0: $c is needed" >&2; exit 1; }; done
for f in glrestore libglshim.so t/ckpt/ckhost; do
    [ -e "$BUILD/$f" ] || { echo "$0: no $BUILD/$f (make, then make check to build ckhost)" >&2; exit 1; }
done
[ -e "$SRC/checkpoint/imgseal.c" ] || { echo "$0: no $SRC/checkpoint/imgseal.c" >&2; exit 1; }

W=$(mktemp -d /tmp/glunix-sealbench.XXXXXX)
BG=()
teardown() { for p in "${BG[@]}"; do kill -9 "$p" 2> /dev/null || true; done; rm -rf "$W"; }
trap teardown EXIT
now() { date +%s%N; }
ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cc -O2 -std=c11 -pthread -I"$top" -o "$W/ckpt_work" "$top/bench/ckpt_work.c"
# a tree whose imgseal.c seals on aesgcm.c where the CPU has AES-NI needs
# it linked; an older one links it unused
aes=; [ -e "$SRC/checkpoint/aesgcm.c" ] && aes=$SRC/checkpoint/aesgcm.c
cc -O2 -std=gnu11 -I"$SRC/checkpoint" -o "$W/ckpt_seal" "$top/bench/ckpt_seal.c" \
    "$SRC/checkpoint/imgseal.c" $aes -lcrypto
# the image: the job checkpointed once its memory is touched (step 5)
"$BUILD/t/ckpt/ckhost" -r goon -w "step 5/" -i "$W/img" -o "$W/out" -p "$BUILD/libglshim.so" -- \
    "$W/ckpt_work" -t 2 -s 200 "$MIB" > "$W/host" 2>&1 || true
[ -s "$W/img" ] || { echo "$0: no image: $(head -3 "$W/host")" >&2; exit 1; }
port=$(( 20000 + RANDOM % 20000 ))
copy_ms() {
    local t0 rpid
    socat -u -b 262144 "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" OPEN:/dev/null > /dev/null 2>&1 &
    rpid=$!; BG+=("$rpid")
    local end=$(( $(date +%s) + 5 ))
    until ss -Htln "sport = :$port" | grep -q .; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.01; done
    t0=$(now)
    socat -u -b 262144 "OPEN:$W/img" "TCP:127.0.0.1:$port"
    wait "$rpid"
    ms $(( $(now) - t0 ))
}
: > "$W/copy"; : > "$W/file"; : > "$W/sealed"; : > "$W/first"
for r in $(seq "$RUNS"); do
    cat "$W/img" > /dev/null
    echo "$(copy_ms)" >> "$W/copy"
    t0=$(now)
    "$BUILD/glrestore" -n "$W/img" 2> /dev/null || { echo "$0: glrestore -n refused the image" >&2; exit 1; }
    echo "$(ms $(( $(now) - t0 )))" >> "$W/file"
    "$W/ckpt_seal" "$BUILD/glrestore" "$W/img" "$CHUNK" >> "$W/sealed" 2>> "$W/sealed.err"
    "$W/ckpt_seal" "$BUILD/glrestore" "$W/img" "$CHUNK" first >> "$W/first" 2>> "$W/sealed.err"
done
awk '$4 != 0 { bad = 1 } END { exit bad }' "$W/sealed" "$W/first" || { echo "$0: the restorer refused the sealed stream: $(grep -v 'is whole' "$W/sealed.err" | head -3)" >&2; exit 1; }
col() { awk -v n="$2" '{ print $n }' "$1" | median; }
echo "image $(stat -c %s "$W/img") bytes ($MIB MiB touched), medians of $RUNS, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  copy (socat, loopback TCP)            $(col "$W/copy" 1) ms"
echo "  glrestore -n IMAGE (no agents)        $(col "$W/file" 1) ms"
echo "  sealed stream into glrestore -n       $(col "$W/sealed" 1) ms; CPU: sender $(col "$W/sealed" 2) ms, restorer $(col "$W/sealed" 3) ms"
echo "  the same, sealed first                 $(col "$W/first" 1) ms; CPU: sender $(col "$W/first" 2) ms, restorer $(col "$W/first" 3) ms"
