# glx --spread (glx(1), glunix(7)): a job's processes that execute a
# program the pattern names run it on other nodes, and their parents see
# nothing different.  A small C project built with make -j on four peers
# of one machine gives the same output and the same objects as a plain
# make, and glx -v counts the steps each node ran; a step's stdin, stdout,
# exit status, signal and working directory are the local ones; a node
# that cannot take a step leaves it to run here; bad patterns are refused.
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
command -v make > /dev/null && command -v cc > /dev/null || { echo "needs make and cc"; exit 77; }
names=(a b c d)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 4 "${names[@]}" || fail "no convergence"
# every agent's view has the others' estimates: steps may go anywhere
four_idle() {
    for n in "${names[@]}"; do
        "$BUILD/t/integ/viewpoke" read "$T/$n/run" | grep -q " idle=4 " || return 1
    done
}
wait_until 10 four_idle || fail "the views: $("$BUILD/t/integ/viewpoke" read "$T/a/run")"
run() { "$GLX" --runtime-dir "$T/a/run" "$@"; }

# bad patterns, and what does not go together
for p in "" "a||b" "|cc1" "/usr/bin/cc1"; do
    out=$(run --spread "$p" true 2>&1); rc=$?
    [ "$rc" = 2 ] && echo "$out" | grep -q "^glx: --spread '$p': " || fail "pattern '$p': $rc '$out'"
done
out=$(run --spread cc1 --no-shim true 2>&1); rc=$?
[ "$rc" = 2 ] || fail "--spread with --no-shim: $rc '$out'"
say "bad patterns are refused: $(run --spread 'a||b' true 2>&1)"

# a project of eight compile units
mkdir -p "$T/src"
for i in 1 2 3 4 5 6 7; do
    printf 'int f%d (int x) { int s = 0; for (int i = 0; i < x; i++) s += i * %d; return s; }\n' "$i" "$i" > "$T/src/f$i.c"
done
{
    for i in 1 2 3 4 5 6 7; do echo "int f$i (int);"; done
    echo '#include <stdio.h>'
    echo 'int main (void) { printf ("%d\n", f1 (10) + f2 (10) + f3 (10) + f4 (10) + f5 (10) + f6 (10) + f7 (10)); return 0; }'
} > "$T/src/main.c"
printf 'OBJS = main.o f1.o f2.o f3.o f4.o f5.o f6.o f7.o\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n%%.o: %%.c\n\t$(CC) -O2 -c $< -o $@\n' > "$T/src/Makefile"
cp -r "$T/src" "$T/plain"
(cd "$T/plain" && make -j8 > "$T/plain.out" 2>&1) || fail "the plain build: $(cat "$T/plain.out")"

cd "$T/src"
run -v --spread 'cc1|as' make -j8 > "$T/spread.out" 2> "$T/spread.err"; rc=$?
[ "$rc" = 0 ] || fail "the spread build exited $rc: $(cat "$T/spread.out" "$T/spread.err")"
sort "$T/plain.out" > "$T/a1"; sort "$T/spread.out" > "$T/a2"
cmp -s "$T/a1" "$T/a2" || fail "make's output differs: $(diff "$T/a1" "$T/a2")"
for o in main f1 f2 f3 f4 f5 f6 f7; do
    cmp -s "$T/plain/$o.o" "$T/src/$o.o" || fail "$o.o differs from the plain build's"
done
[ "$(./prog)" = "$("$T/plain/prog")" ] || fail "the program built differs"
tally=$(grep "^glx: spread:" "$T/spread.err")
echo "$tally" | grep -q "^glx: spread: 16 steps ran: " || fail "16 steps (8 cc1, 8 as): '$tally' $(cat "$T/spread.err")"
sum=$(echo "$tally" | sed 's/.*ran: //' | tr ',' '\n' | awk '{ s += $2 } END { print s }')
nodes=$(echo "$tally" | sed 's/.*ran: //' | tr ',' '\n' | wc -l)
[ "$sum" = 16 ] && [ "$nodes" -ge 2 ] || fail "the steps by node: '$tally'"
say "make -j8: the same output and objects as plain make; $tally"

# a compile error: the same message and the same exit status as here
printf 'int broken (void) { return nope; }\n' > "$T/src/bad.c"
cp "$T/src/bad.c" "$T/plain/bad.c"
(cd "$T/plain" && make bad.o > "$T/p.out" 2> "$T/p.err"); prc=$?
run --spread 'cc1|as' make bad.o > "$T/s.out" 2> "$T/s.err"; src=$?
[ "$prc" = "$src" ] && [ "$src" != 0 ] || fail "exit status of a failing build: here $prc, spread $src"
cmp -s "$T/p.err" "$T/s.err" || fail "the compiler's error differs: $(diff "$T/p.err" "$T/s.err")"
say "a failing step: exit $src and the compiler's words, as here"

# where the steps run: the view's idle nodes, not only this one
out=$(run --spread printenv sh -c 'for i in $(seq 24); do printenv GLUNIX_NODE; done' | sort -u | wc -l)
[ "$out" -ge 2 ] || fail "24 steps all ran on one node"
# stdin and stdout, the exit status, the working directory, a signal
out=$(printf 'one\ntwo\n' | run --spread cat sh -c 'cat; echo end')
[ "$out" = "$(printf 'one\ntwo\nend')" ] || fail "stdin through a step: '$out'"
out=$(run --spread 'false' sh -c 'false; echo $?')
[ "$out" = 1 ] || fail "a step's exit status: '$out'"
mkdir -p "$T/src/sub dir"
out=$(run --spread pwd sh -c 'cd "sub dir" && /bin/pwd')
[ "$out" = "$T/src/sub dir" ] || fail "a step's working directory: '$out'"
out=$(run --spread sleep sh -c 'sleep 30 & p=$!; sleep 1; kill -TERM $p; wait $p; echo $?')
[ "$out" = 143 ] || fail "a step killed by SIGTERM: '$out'"
say "a step's stdin, stdout, exit status, working directory and signal are the local ones"

# a node that cannot take a step: it runs here, in glx's place
out=$(run --relay --else-here -w nosuchnode sh -c 'echo "here, pid $$"; exit 7' 2>&1); rc=$?
[ "$rc" = 7 ] && echo "$out" | grep -q "^here, pid" || fail "--else-here: $rc '$out'"
say "no node for a step: it runs here ($out)"
