# The shim (libglshim.so, glunix(7)): preloaded into every job glx starts
# and not into glx --no-shim's; it stays with the job's descendants,
# comes back for a child whose environment was cleared (env -i, a raw
# execve), stays out for one that says GLUNIX_SHIM=0; raw system calls of
# a job's program reach it in every thread, across signals, fork, vfork,
# clone and exec (t/integ/rawsys.c), or the test says why they cannot;
# system(3) is the shim's and behaves as POSIX says.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
RAW="$BUILD/t/integ/rawsys"
set +e
[ -e "$BUILD/libglshim.so" ] || fail "no $BUILD/libglshim.so"
start_peer a 0
start_peer b 1
wait_until 30 all_alive 2 a b || fail "no convergence"
run() { "$GLX" --runtime-dir "$T/a/run" -w b "$@"; }

# The shim's constructors: the one that takes the checkpoint signal
# (shim_start) runs after those its handler relies on (self_init's
# readlink, pids_init's wait): a checkpoint of a process that has just
# exec'd (a tree's member) must not find them unset.
so="$BUILD/libglshim.so"
read -r off size < <(readelf -SW "$so" | sed -n 's/^ *\[ *[0-9]*\] \.init_array  *[A-Z_]*  *[0-9a-f]*  *\([0-9a-f]*\)  *\([0-9a-f]*\) .*/\1 \2/p')
[ -n "$off" ] || fail "readelf -SW $so shows no .init_array"
order=$(od -An -tx8 -v -j $((16#$off)) -N $((16#$size)) "$so" | tr -s ' ' '\n' | sed '/^$/d; s/^0*//')
at() { local a; a=$(nm "$so" | awk -v n="$1" '$3 == n { sub(/^0*/, "", $1); print $1 }')
    [ -n "$a" ] || fail "nm $so shows no $1"; echo "$order" | grep -nx "$a" | cut -d: -f1; }
s=$(at shim_start) r=$(at self_init) w=$(at pids_init)
[ -n "$s" ] && [ -n "$r" ] && [ -n "$w" ] || fail "constructors not in .init_array: $order"
[ "$r" -lt "$s" ] && [ "$w" -lt "$s" ] || fail "shim_start ($s) runs before self_init ($r) or pids_init ($w)"
say "the constructor that takes the checkpoint signal runs after those its handler uses"

out=$(run sh -c 'echo "$LD_PRELOAD"')
[ "$out" = "$BUILD/libglshim.so" ] || fail "a job's LD_PRELOAD: '$out'"
# (glx itself runs with that LD_PRELOAD: a sanitized glx must let it in)
out=$(LD_PRELOAD=/nonexistent/libglshim.so:libm.so.6 ASAN_OPTIONS=verify_asan_link_order=0 \
    run sh -c 'echo "$LD_PRELOAD"' 2> /dev/null)
[ "$out" = "libm.so.6:$BUILD/libglshim.so" ] || fail "the job's own preloads, then the shim: '$out'"
out=$(run --no-shim sh -c 'echo "[$LD_PRELOAD]"; "$0" who' "$RAW")
[ "$out" = "$(printf '[]\nshim off, 0 raw calls trapped')" ] || fail "--no-shim: '$out'"
say "preloaded into the job; --no-shim leaves it out"

out=$(run sh -c 'sh -c "exec \"\$0\" who" "$0"' "$RAW")
echo "$out" | grep -q "^shim on" || fail "a grandchild: '$out'"
out=$(run sh -c 'env -i "$0" who; env -i sh -c "echo \$GLUNIX_NODE \$GLUNIX_GPID"' "$RAW")
echo "$out" | sed -n 1p | grep -q "^shim on" || fail "after env -i: '$out'"
echo "$out" | sed -n 2p | grep -qE "^b a-[0-9]+-[0-9]+$" || fail "the job's variables after env -i: '$out'"
out=$(run sh -c 'env -i GLUNIX_SHIM=0 "$0" who' "$RAW")
[ "$out" = "shim off, 0 raw calls trapped" ] || fail "GLUNIX_SHIM=0 for one child: '$out'"
say "descendants keep it; a cleared environment gets it back; GLUNIX_SHIM=0 leaves it out"

# system(3) is the shim's (its shell started by the shim's posix_spawn,
# waited for by its waitpid: no move between them), as POSIX has it
out=$(run "$RAW" system) || fail "system(3) in a job: $(echo "$out" | grep FAIL)"
say "system(3): the shim's, with POSIX's statuses and signals ($(echo "$out" | grep -c '^ok') checks)"

out=$(run "$RAW" check); rc=$?
echo "$out"
if [ "$rc" = 77 ]; then
    echo "raw system calls: $out"
    exit 77
fi
[ "$rc" = 0 ] || fail "raw system calls in a job (exit $rc)"
# a raw execve with an environment of A=1: the new program has the shim
# (and has trapped nothing yet: the count is per program)
out=$(run "$RAW" exec "$RAW" who)
[ "$out" = "shim on, 0 raw calls trapped" ] || fail "after a raw execve with A=1 alone: '$out'"
say "raw system calls reach the shim: threads, signals, fork, vfork, clone, exec"
