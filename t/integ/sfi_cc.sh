# glsfi-cc: the C modules of t/sfi/c compile into modules that glsfi-verify
# accepts and that, run by glsfi-run, return what the same source returns
# compiled natively.  Also: --no-sandbox modules are refused where they
# touch memory, stray pointers fault inside the region, separate
# compilation and linking, errors that name the step and the file, and
# temporary files that go away.
set -euo pipefail
: "${BUILD:?BUILD must name the build directory}"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/glunix-sfi-cc.XXXXXX)
trap 'rc=$?; rm -rf "$T"; exit $rc' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir "$T/tmp" && export TMPDIR=$T/tmp     # glsfi-cc's temporaries: ours alone

CC=("$BUILD/glsfi-cc" --home "$BUILD/sfi/home")
VERIFY=$BUILD/glsfi-verify
RUN=$BUILD/glsfi-run
[ -x "$BUILD/glsfi-cc" ] || fail "$BUILD/glsfi-cc is not built"
[ -f "$BUILD/sfi/home/libglsfirt.a" ] || fail "the runtime $BUILD/sfi/home/libglsfirt.a is not built"
# built with glsfi-cc: a missing one is a broken build, not a reason to check less
[ -x "$VERIFY" ] || fail "$VERIFY is not built"
[ -x "$RUN" ] || fail "$RUN is not built"

# The native side: each module as a shared object, called by a tiny driver
# that takes the arguments glsfi-run takes and prints the result as it does.
cat > "$T/native_run.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef unsigned long (*fn_t) (unsigned long, unsigned long, unsigned long,
                               unsigned long, unsigned long, unsigned long);
int main (int argc, char **argv)
{
    void *h = dlopen (argv[1], RTLD_NOW);
    if (!h) { fprintf (stderr, "%s\n", dlerror ()); return 2; }
    fn_t f = (fn_t) dlsym (h, argv[2]);
    if (!f) { fprintf (stderr, "no function %s\n", argv[2]); return 2; }
    unsigned long a[6] = { 0 };
    for (int i = 3; i < argc && i < 9; i++)
        a[i - 3] = strncmp (argv[i], "s:", 2) == 0 ? (unsigned long) strdup (argv[i] + 2)
                                                   : strtoull (argv[i], NULL, 0);
    unsigned long r = f (a[0], a[1], a[2], a[3], a[4], a[5]);
    fflush (stdout);
    printf ("%lu\n", r);
    return 0;
}
EOF
gcc -O2 -o "$T/native_run" "$T/native_run.c" -ldl || fail "native driver"

# Every module at the default -O2, then at -O0 (frame pointers, leave,
# everything in memory) and -O3 (vectorized, unrolled).
for opt in "" -O0 -O3; do
    modules=0; calls=0
    for src in "$SRC"/t/sfi/c/*.c; do
        name=$(basename "$src" .c)
        "${CC[@]}" -Wall -Wextra -Werror $opt -o "$T/$name.mod" "$src" || fail "glsfi-cc $opt $name.c"
        [ -f "$T/$name.so" ] || gcc -O2 -shared -fPIC -Wall -I "$SRC/sfi/rt" -o "$T/$name.so" "$src" -lm \
            || fail "native $name.c"
        out=$("$VERIFY" "$T/$name.mod" 2>&1) || fail "glsfi-verify refused $name.mod ($opt): $out"
        modules=$((modules + 1))
        while read -r fn args; do
            # shellcheck disable=SC2086
            want=$("$T/native_run" "$T/$name.so" "$fn" $args 2>&1) || fail "native $name $fn $args: $want"
            # shellcheck disable=SC2086
            got=$("$RUN" "$T/$name.mod" "$fn" $args 2>&1) || fail "glsfi-run $name $fn $args ($opt): $got"
            [ "$got" = "$want" ] || fail "$name $fn $args ($opt): sandboxed '$got', native '$want'"
            calls=$((calls + 1))
        done < <(sed -n 's|^//@ ||p' "$src")
    done
    [ $modules -ge 10 ] && [ $calls -ge 40 ] || fail "only $modules modules, $calls calls"
    echo "${opt:--O2}: $modules modules, $calls calls: same results sandboxed and native"
done

# Stray pointers stay in the region: they fault instead of reaching host memory.
cat > "$T/stray.c" <<'EOF'
#include "glsfi.h"
GLSFI_EXPORT long poke (long addr) { *(volatile long *) addr = 1; return 0; }
GLSFI_EXPORT long peek (long addr) { return *(volatile long *) addr; }
GLSFI_EXPORT long jump (long addr) { return ((long (*) (void)) addr) (); }
EOF
"${CC[@]}" -o "$T/stray.mod" "$T/stray.c" || fail "glsfi-cc stray.c"
host_addr=$(printf '%d' 0x7fff00001000)
for call in "poke 16" "peek $host_addr" "poke $host_addr" "jump $host_addr" "jump 64"; do
    # shellcheck disable=SC2086
    out=$("$RUN" "$T/stray.mod" $call 2>&1) && fail "stray $call returned: $out"
    [ $? = 1 ] || fail "stray $call: want a fault (exit 1): $out"
done

# Separate compilation: -c, then link the objects; calls between files go
# through the GOT in gcc's output and become direct calls.
cat > "$T/part1.c" <<'EOF'
long helper (long x);
long twice (long (*f) (long), long x);
__attribute__ ((used)) long entry (long x) { return helper (x) + twice (helper, x); }
EOF
cat > "$T/part2.c" <<'EOF'
long helper (long x) { return x * 3 + 1; }
long twice (long (*f) (long), long x) { return f (f (x)); }
EOF
(cd "$T" && "${CC[@]}" -c part1.c && "${CC[@]}" -c -o p2.o part2.c) || fail "glsfi-cc -c"
[ -f "$T/part1.o" ] && [ -f "$T/p2.o" ] || fail "-c outputs missing"
"${CC[@]}" -o "$T/parts.mod" "$T/part1.o" "$T/p2.o" || fail "linking objects"
[ "$("$RUN" "$T/parts.mod" entry 5)" = $((16 + 49)) ] || fail "entry 5 across files"

# -S writes the rewritten assembly; --no-sandbox the same code unrewritten.
"${CC[@]}" -S -o "$T/stray.s" "$T/stray.c" || fail "glsfi-cc -S"
head -n 1 "$T/stray.s" | grep -q '\.bundle_align_mode 5' || fail "-S output lacks the bundle mode"
grep -q '(%r15,%r14,1)' "$T/stray.s" || fail "-S output is not sandboxed"
# every ret ends the return sequence (masked, rebased, pushed back)
grep -qw ret "$T/stray.s" || fail "-S output has no return sequence"
awk '$1 == "ret" && p != "pushq %r11" { bad = 1 } { p = $1 " " $2 } END { exit !bad }' "$T/stray.s" \
    && fail "-S output returns with a bare ret"
"${CC[@]}" -S --no-sandbox -o "$T/raw.s" "$T/stray.c" || fail "glsfi-cc -S --no-sandbox"
grep -q '(%rdi)' "$T/raw.s" || fail "--no-sandbox output was rewritten"
head -n 1 "$T/raw.s" | grep -q '\.bundle_align_mode 5' || fail "--no-sandbox output lacks the bundle mode"

# A --no-sandbox module that touches memory through a pointer is refused.
for src in "$T/stray.c" "$SRC/t/sfi/c/loops.c"; do
    "${CC[@]}" --no-sandbox -o "$T/raw.mod" "$src" || fail "glsfi-cc --no-sandbox $src"
    out=$("$VERIFY" "$T/raw.mod" 2>&1) && fail "glsfi-verify accepted a --no-sandbox module: $out"
    [ $? = 1 ] || fail "glsfi-verify: want exit 1 (unsafe): $out"
done
echo "$out" | grep -q 'offset 0x' || fail "verdict does not say where: $out"

# What cannot be sandboxed is refused, naming the file, the line and why.
printf 'long f (long *p) { long r; __asm__ ("syscall" : "=a" (r) : "a" (*p)); return r; }\n' > "$T/sys.c"
out=$("${CC[@]}" -c -o "$T/sys.o" "$T/sys.c" 2>&1) && fail "a syscall was accepted"
echo "$out" | grep -q "rewrite: $T/sys.c: .*line [0-9]*: system call: syscall" || fail "syscall message: $out"
[ ! -e "$T/sys.o" ] || fail "an object was written for a refused file"
printf '\t.text\nf:\n\tmovq\t%%fs:40, %%rax\n\tret\n' > "$T/tls.s"
out=$("${CC[@]}" -c -o "$T/tls.o" "$T/tls.s" 2>&1) && fail "%fs was accepted"
echo "$out" | grep -q "tls.s:3: segment registers cannot be used" || fail "%fs message: $out"
printf 'int f (void) { return 1 }\n' > "$T/broken.c"
out=$("${CC[@]}" -c "$T/broken.c" 2>&1) && fail "a broken file compiled"
echo "$out" | grep -q "glsfi-cc: gcc failed on $T/broken.c" || fail "gcc failure message: $out"
printf 'long g (void);\nlong f (void) { return g (); }\n' > "$T/undef.c"
out=$("${CC[@]}" -o "$T/undef.mod" "$T/undef.c" 2>&1) && fail "an undefined symbol linked"
echo "$out" | grep -q "glsfi-cc: ld failed" || fail "ld failure message: $out"
out=$("${CC[@]}" "$T/native_run" 2>&1) && fail "an unknown file was accepted"
echo "$out" | grep -q "unknown kind of file" || fail "unknown file message: $out"
out=$("${CC[@]}" 2>&1) && fail "no input accepted"
echo "$out" | grep -q "no input files" || fail "no input message: $out"
out=$(GLSFI_HOME=/nonexistent "$BUILD/glsfi-cc" -o "$T/x.mod" "$T/part2.c" 2>&1) && fail "linked without a home"
echo "$out" | grep -q "/nonexistent/glsfi.ld" || fail "missing home message: $out"

# Temporaries live in a private directory that goes away, even on errors;
# -save-temps keeps it.
mkdir "$T/tmp2"
TMPDIR=$T/tmp2 "${CC[@]}" -o "$T/x.mod" "$T/stray.c" || fail "glsfi-cc with TMPDIR"
TMPDIR=$T/tmp2 "${CC[@]}" -c -o "$T/sys.o" "$T/sys.c" 2>/dev/null && fail "syscall accepted"
[ -z "$(ls -A "$T/tmp2")" ] || fail "temporaries left: $(ls "$T/tmp2")"
out=$(TMPDIR=$T/tmp2 "${CC[@]}" -save-temps -o "$T/x.mod" "$T/stray.c" 2>&1) || fail "-save-temps"
ls "$T"/tmp2/glsfi-cc.*/*.sfi.s > /dev/null 2>&1 || fail "-save-temps kept nothing: $out"
echo "ok"
