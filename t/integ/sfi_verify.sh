# glsfi-verify: accepts the safe modules of t/sfi/pos, refuses each of t/sfi/neg naming its rule; exit codes, -q, --stats and verification speed.
# sanitizers: yes
#
# Each t/sfi/neg/*.s breaks one rule and says which in its "# rule:" line;
# the verdict must name an offset inside the code and contain that text.
# Modules are linked as glsfi-cc links them, with sfi/glsfi.ld.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${BUILD:?BUILD must name the build directory}"
V=$BUILD/glsfi-verify
T=$(mktemp -d /tmp/glunix-sfi.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$V" ] || fail "no $V"
command -v as >/dev/null && command -v ld >/dev/null || { echo "no binutils"; exit 77; }

# link SRC OUT: assemble and link one module
link() {
    as "$1" -o "$T/$2.o" || fail "as $1"
    ld -pie --no-dynamic-linker -z text -z noexecstack -z separate-code \
        -T "$top/sfi/glsfi.ld" "$T/$2.o" -o "$T/$2" || fail "ld $1"
}

# run CMD...: sets out (stdout and stderr) and rc, whatever the exit status
run() { rc=0; out=$("$@" 2>&1) || rc=$?; }

npos=0
for s in "$top"/t/sfi/pos/*.s; do
    m=$(basename "$s" .s); link "$s" "$m"
    run "$V" "$T/$m"
    [ "$rc" -eq 0 ] && [ "$out" = "$T/$m: ok" ] || fail "safe module $m refused (exit $rc): $out"
    npos=$((npos + 1))
done

nneg=0
for s in "$top"/t/sfi/neg/*.s; do
    m=$(basename "$s" .s)
    rule=$(sed -n 's/^# rule: //p' "$s")
    [ -n "$rule" ] || fail "$s has no '# rule:' line"
    link "$s" "$m"
    run "$V" "$T/$m"
    [ "$rc" -eq 1 ] || fail "unsafe module $m: exit $rc, want 1: $out"
    [[ "$out" == "$T/$m: offset 0x"*": "*": "*"$rule"* ]] || fail "$m: verdict '$out' does not name '$rule'"
    off=$(echo "$out" | sed -n 's/.*: offset \(0x[0-9a-f]*\): .*/\1/p')
    [ $((off)) -ge $((0x20000)) ] && [ $((off)) -lt $((0x21000)) ] || fail "$m: offset $off outside the code"
    nneg=$((nneg + 1))
done
[ "$npos" -ge 2 ] && [ "$nneg" -ge 30 ] || fail "too few modules: $npos safe, $nneg unsafe"

# several modules: one line each, exit 1 if any is unsafe; -q says nothing
run "$V" "$T/sequences" "$T/syscall" "$T/simd"
[ "$rc" -eq 1 ] || fail "mixed modules: exit $rc"
[ "$(echo "$out" | grep -c ': ok$')" -eq 2 ] && [ "$(echo "$out" | grep -c 'system calls')" -eq 1 ] \
    || fail "mixed modules: $out"
run "$V" -q "$T/sequences" "$T/ret"
[ "$rc" -eq 1 ] && [ -z "$out" ] || fail "-q: exit $rc, output '$out'"
run "$V" -q "$T/sequences"
[ "$rc" -eq 0 ] && [ -z "$out" ] || fail "-q on a safe module: exit $rc, output '$out'"

# usage, I/O and ELF errors: exit 2, naming the file and the problem
echo "not a module" > "$T/text"
run "$V" "$T/text"
[ "$rc" -eq 2 ] && [[ "$out" == *"$T/text: not an ELF file"* ]] || fail "text file: exit $rc: $out"
run "$V" "$T/missing"
[ "$rc" -eq 2 ] && [[ "$out" == *"$T/missing: No such file"* ]] || fail "missing file: exit $rc: $out"
run "$V" "$T/ret" "$T/text"
[ "$rc" -eq 2 ] || fail "an ELF error must win over an unsafe module: exit $rc"
cp "$T/sequences.o" "$T/object"
run "$V" "$T/object"
[ "$rc" -eq 2 ] && [[ "$out" == *"ET_DYN"* ]] || fail "relocatable object: exit $rc: $out"
run "$V"
[ "$rc" -eq 2 ] && [[ "$out" == *"usage: glsfi-verify"* ]] || fail "no arguments: exit $rc: $out"
run "$V" --frobnicate "$T/sequences"
[ "$rc" -eq 2 ] && [[ "$out" == *"unknown option"* ]] || fail "unknown option: exit $rc: $out"

# --stats and speed: n bundles of 9 typical instructions, then one int3
# padded to a bundle (32 more instructions); the speed is asserted on
# optimised builds only (sanitizers slow everything several times).
n=250000
{
    echo "  .bundle_align_mode 5"
    echo "  .text"
    echo "  .globl f"
    echo "  .p2align 5"
    echo "f:"
    echo "  .rept $n"
    echo "  movl %edi, %r14d; movq 8(%r15,%r14,1), %rax; addq %rsi, %rax"
    echo "  leaq 1(%rax,%rcx,2), %rdx; imulq %rdx, %rax; movq %rax, 16(%rsp)"
    echo "  cmpq %rdx, %rax; jne 2f; xorl %eax, %eax; 2:"
    echo "  .endr"
    echo "  int3"
} > "$T/big.s"
link "$T/big.s" big
best=0
for i in 1 2 3; do
    run "$V" --stats "$T/big"
    [ "$rc" -eq 0 ] || fail "big module: exit $rc: $out"
    line=$(echo "$out" | grep 'MiB/s')
    want="$T/big: $((32 * (n + 1))) bytes, $((9 * n + 32)) instructions, "
    [[ "$line" == "$want"*" MiB/s" ]] || fail "--stats: '$line', want '$want... MiB/s'"
    speed=$(echo "$line" | sed 's/.*instructions, \([0-9.]*\) MiB\/s/\1/')
    best=$(awk -v a="$best" -v b="$speed" 'BEGIN { print (b > a) ? b : a }')
done
echo "verified $((32 * (n + 1))) bytes of code at $best MiB/s (best of 3)"
if ! grep -q -- '-fsanitize' "$BUILD/Makefile" 2>/dev/null; then
    awk -v s="$best" 'BEGIN { exit !(s >= 30) }' || fail "verifier too slow: $best MiB/s, want >= 30"
fi
echo "ok: $npos safe and $nneg unsafe modules"
