# libglunix (glunix(3)): the example program of examples/ built through
# pkg-config against the build tree, run outside and inside jobs: who am
# I, the cluster view from shared memory, a program run elsewhere with its
# exit status and signal, and the requests the agent cannot serve yet.
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
command -v pkg-config > /dev/null || { echo "pkg-config is not installed"; exit 77; }
src=$(cd "$(dirname "$0")/../.." && pwd)
flags=$(PKG_CONFIG_PATH="$BUILD" pkg-config --cflags --libs glunix) || fail "pkg-config finds no glunix in $BUILD"
cc -Wall -Wextra -Werror -o "$T/cluster" "$src/examples/cluster.c" $flags || fail "the example does not build: cc ... $flags"
say "examples/cluster.c builds with $flags"

names=(a b c)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 3 "${names[@]}" || fail "no convergence"
three_idle() { GLUNIX_RUNTIME_DIR="$T/a/run" "$T/cluster" 2>&1 | grep -q "3 alive, 3 idle"; }
wait_until 10 three_idle || fail "the view: $(GLUNIX_RUNTIME_DIR="$T/a/run" "$T/cluster" 2>&1)"

# outside a job: not started by glunix, the cluster as a sees it
out=$(GLUNIX_RUNTIME_DIR="$T/a/run" "$T/cluster") || fail "cluster outside a job: $out"
echo "$out" | grep -q "^I was not started by glunix" || fail "who am I outside a job: $out"
echo "$out" | grep -q "^cluster test seen from a: 3 members, 3 alive" || fail "the view from a: $out"
for n in a b c; do echo "$out" | grep -qE "^  $n +alive +idle" || fail "node $n missing: $out"; done
# peers on one machine share its clock: the offsets are small (less the
# delays of the first packets, which are not asserted), not another clock's
echo "$out" | grep -E "^  [bc] " | grep -qvE "clock [-+][0-9]{1,4} ms" && fail "clock offsets on one machine: $out"
[ "$(echo "$out" | grep -c '^  ')" = 3 ] || fail "a lists more than its members: $out"
echo "$out" | sed -n 2p | grep -q "seen from a" || fail "this node is not first: $out"
say "outside a job: $(echo "$out" | sed -n 2p)"

# as a job on b: who it is, and b's view, which lists the job itself (the
# agent publishes it once the job runs: the job waits a moment for that)
out=$("$GLX" --runtime-dir "$T/a/run" -w b sh -c 'sleep 0.3; exec "$0"' "$T/cluster") \
    || fail "cluster as a job: $out"
echo "$out" | grep -qE "^I am a-[0-9]+-[0-9]+, rank 0 of 1, on b, started from a$" || fail "who am I: $out"
gpid=$(echo "$out" | sed -n 's/^I am \([^,]*\),.*/\1/p')
echo "$out" | grep -q "seen from b: 3 members" || fail "a job reads its own node's view: $out"
echo "$out" | grep -q "  job $gpid (pid [0-9]*) from a: sh -c sleep 0.3" || fail "the job is not in b's table: $out"
out=$("$GLX" --runtime-dir "$T/a/run" -n 2 --local --label "$T/cluster" | grep "I am" | sort)
echo "$out" | grep -q "^0: I am .*, rank 0 of 2" && echo "$out" | grep -q "^1: I am .*, rank 1 of 2" \
    || fail "ranks: $out"
say "as a job: its GPID, rank, node and home; it sees its node's view and itself in it"

# a program run elsewhere: its output, its exit status, its signal
out=$("$GLX" --runtime-dir "$T/a/run" -w b "$T/cluster" run c sh -c 'echo "on $GLUNIX_NODE"; exit 3'); rc=$?
[ "$rc" = 3 ] && [ "$out" = "on c" ] || fail "run on c: exit $rc, output '$out'"
GLUNIX_RUNTIME_DIR="$T/a/run" "$T/cluster" run - sh -c 'kill -TERM $$'; rc=$?
[ "$rc" = 143 ] || fail "a program killed by SIGTERM: exit $rc, expected 143"
out=$(GLUNIX_RUNTIME_DIR="$T/a/run" "$T/cluster" run zz true 2>&1); rc=$?
[ "$rc" != 0 ] || fail "run on a node that is not there succeeded"
say "glunix_run: output, exit status 3, death by SIGTERM"

# requests the agent cannot serve yet say so
out=$("$GLX" --runtime-dir "$T/a/run" -w b "$T/cluster" checkpoint); rc=$?
[ "$rc" = 1 ] && [ "$out" = "checkpoint: checkpoint: not supported" ] || fail "checkpoint: exit $rc, '$out'"
out=$(GLUNIX_RUNTIME_DIR="$T/a/run" "$T/cluster" checkpoint); rc=$?
echo "$out" | grep -q "not started by glunix" || fail "checkpoint outside a job: '$out'"
say "checkpoint: not supported"

# no agent: a clear message
out=$(GLUNIX_RUNTIME_DIR="$T/nowhere" "$T/cluster" 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "no agent publishes a view for $T/nowhere" || fail "no agent: $rc '$out'"
say "no agent: $out"
