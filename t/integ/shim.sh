# The shim (libglshim.so, glunix(7)): preloaded into every job glx starts
# and not into glx --no-shim's; it stays with the job's descendants,
# comes back for a child whose environment was cleared (env -i, a raw
# execve), stays out for one that says GLUNIX_SHIM=0; raw system calls of
# a job's program reach it in every thread, across signals, fork, vfork,
# clone and exec (t/integ/rawsys.c), or the test says why they cannot.
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
